using System.Reflection;
using System.Runtime.CompilerServices;

namespace Hlvm.Runtime.Memory;

/// <summary>
/// Compiles the runtime's methods marked <see cref="MethodImplOptions.AggressiveOptimization"/> on a thread of its
/// own once a program has allocated a quarter of the heap's first space (<see cref="Heap"/> starts it). ReadyToRun
/// holds no code for them: .NET compiles each, fully optimised, at its first call, on the caller's thread. Those
/// calls came in the middle of a program: the first collection's call to <see cref="Heap.Collect"/> alone took
/// some 20 ms of the program's thread to compile, and the first map look-ups a few more (26 ms in all for json,
/// scheduler and interp of bench/programs, in every engine). Compiled here meanwhile, a program finds them ready,
/// or waits only for what is left of a compile in progress (.NET compiles a method once, and a second caller waits
/// for the first). A program that allocates less than that starts nothing, and compiles what it calls as before.
/// </summary>
internal static class Warmup
{
    private static int _started;

    /// <summary>Starts the compiles, once a process (the first heap to reach the point starts them for all).</summary>
    public static void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) return;
        try
        {
            new Thread(CompileAll) { IsBackground = true, Name = "hlvm warm-up" }.Start();
        }
        catch (Exception e) when (e is ThreadStartException or OutOfMemoryException)
        {
            // No thread to spare (it is asked for in the middle of an allocation): the first calls compile them.
        }
    }

    private static void CompileAll()
    {
        // Only a speed-up: whatever fails here (a type that does not load, a method that can't be compiled ahead of
        // its call) leaves the compiles to the first calls, as without this thread, and never ends the process.
        try
        {
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            // The largest first: Heap.Collect is the one a program most likely reaches first and the longest to compile.
            var methods = typeof(Warmup).Assembly.GetTypes()
                .SelectMany(t => t.GetMethods(all))
                .Where(m => (m.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0 && !m.ContainsGenericParameters && !m.DeclaringType!.ContainsGenericParameters)
                .OrderByDescending(m => m.GetMethodBody()?.GetILAsByteArray()?.Length ?? 0)
                .ToList();
            foreach (var method in methods)
            {
                try
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                }
                catch (Exception)
                {
                    // That one is compiled at its first call.
                }
            }
        }
        catch (Exception)
        {
            // The rest are compiled at their first calls.
        }
    }
}
