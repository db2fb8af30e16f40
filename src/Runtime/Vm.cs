using System.Runtime.ExceptionServices;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Verification;

namespace Hlvm.Runtime;

/// <summary>Everything that configures a virtual machine.</summary>
public sealed record VmOptions
{
    public HeapOptions Heap { get; init; } = new();
    public ExecutionOptions Execution { get; init; } = new();
    // The console's streams by default, looked up only when no other is given: an initialiser would make them at
    // every VM's creation, and making Console.In sets up the console for a terminal (about 4 ms of a run's start).
    public TextWriter Out { get => field ?? Console.Out; init; }
    public TextWriter Error { get => field ?? Console.Error; init; }
    public TextReader In { get => field ?? new Host.ConsoleInput(); init; }

    /// <summary>The host functions modules may import: the whole native table unless the host narrows it (a module
    /// importing one that is not here fails verification).</summary>
    public IReadOnlyList<Natives.NativeDef> Natives { get; init; } = DefaultNatives;

    /// <summary>The natives a VM has unless its options say otherwise: every one of the standard library.</summary>
    public static IReadOnlyList<Natives.NativeDef> DefaultNatives => Hlvm.Runtime.Natives.NativeTable.All;

    /// <summary>Files, environment and network, and who may reach them: by default nothing that needs a permission
    /// (<see cref="Host.HostAccess"/>; the sandbox gives a program what its user granted).</summary>
    public Host.IHost Host { get; init; } = Hlvm.Runtime.Host.HostAccess.None;

    /// <summary>Cancelled to stop the program while it is blocked in a host call (see <see cref="Vm.Interrupt"/>).</summary>
    public CancellationToken Cancellation { get; init; }
}

/// <summary>
/// The embedding API: one virtual machine with its own heap. Load modules (each is verified), then run one.
/// <code>
///   var vm = new Vm(new VmOptions { Heap = new HeapOptions { MaxBytes = 64 &lt;&lt; 20 } });
///   var module = vm.Load(File.ReadAllBytes("app.hlc"));
///   int code = vm.RunMain(module, []);
/// </code>
/// </summary>
public sealed class Vm(VmOptions? options = null)
{
    public VmOptions Options { get; } = options ?? new VmOptions();

    public Heap Heap { get; } = new((options ?? new VmOptions()).Heap);

    /// <summary>Reads and verifies a module file's bytes.</summary>
    /// <exception cref="ModuleFormatException">the bytes are not a well-formed module</exception>
    /// <exception cref="VerifyException">the module is well formed but unsafe</exception>
    public LoadedModule Load(ReadOnlySpan<byte> bytes) => Load(ModuleFormat.Read(bytes));

    /// <summary>Verifies a module and makes it ready to run on this VM's heap.</summary>
    public LoadedModule Load(Module module) => Load(Verifier.Verify(module, Options.Natives));

    /// <summary>
    /// Makes a module that <see cref="Verifier.Verify"/> checked, with this VM's natives, ready to run on this VM's
    /// heap: a host may verify a module while it makes the VM (the command line does, on two threads).
    /// </summary>
    /// <exception cref="ArgumentException">the module's natives are not this VM's</exception>
    /// <exception cref="InvalidOperationException">the module is loaded into a VM already</exception>
    public LoadedModule Load(LoadedModule verified)
    {
        foreach (var native in verified.Natives)
            if (!ReferenceEquals(Verifier.Find(Options.Natives, native.Name), native))
                throw new ArgumentException($"module '{verified.Def.Name}' was verified with a native '{native.Name}' that this VM does not have");
        verified.Attach(Heap);
        return verified;
    }

    /// <summary>
    /// Runs the module's entry function with the program's arguments and returns its result: the value of an
    /// <c>int</c>-returning main, otherwise 0; or the code the program gave <c>env.exit</c>.
    /// </summary>
    /// <exception cref="VmError">an uncaught runtime error or an exceeded limit</exception>
    /// <exception cref="InvalidOperationException">the module is not loaded into this VM, or the VM is running a
    /// program already (one heap serves one run at a time)</exception>
    public long RunMain(LoadedModule module, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(args);
        // Two runs at once on one heap corrupted it (each interpreter moved the other's objects).
        if (Interlocked.Exchange(ref _runs, 1) != 0) throw new InvalidOperationException("this VM is running a program already; a VM runs one at a time");
        try
        {
            return RunMainOnThread(module, args);
        }
        finally
        {
            Volatile.Write(ref _runs, 0);
        }
    }

    private int _runs;

    private long RunMainOnThread(LoadedModule module, IReadOnlyList<string> args)
    {
        if (Options.Execution.Compiler is null) return RunMain(module, args, nativeStackBudget: 0);
        // Compiled code recurses on the native stack: it runs on a thread with a large one, of which it may use
        // all but a margin; past that, calls go on in the interpreter, which takes none (see Interpreter.EnterFrame).
        long result = 0;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = RunMain(module, args, CompiledStackBytes - (16 << 20));
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }, CompiledStackBytes) { Name = "hlvm main" };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <summary>The native stack of the thread compiled code runs on.</summary>
    public const int CompiledStackBytes = 512 << 20;

    private long RunMain(LoadedModule module, IReadOnlyList<string> args, long nativeStackBudget)
    {
        var entry = module.Entry ?? throw new InvalidOperationException($"module '{module.Def.Name}' has no main function");
        // Its class ids and string constants are those of the heap it was loaded into: run on another, they named
        // that heap's objects, and the collector found the heap corrupt.
        if (module.AttachedTo != Heap)
            throw new InvalidOperationException(module.AttachedTo is null
                ? $"module '{module.Def.Name}' is not loaded into this VM: run what Load returned"
                : $"module '{module.Def.Name}' is loaded into another VM: run it there, or verify it again and load it into this one");
        var interpreter = new Interpreter(module, Heap, Options.Out, Options.Execution)
        {
            In = Options.In, Error = Options.Error, Args = args, Host = Options.Host, Cancellation = Options.Cancellation,
            NativeStackBudget = nativeStackBudget,
        };
        // Published with a full fence, as Interrupt publishes its reason: each side then reads the other's write
        // (a volatile write followed by a volatile read may pass it, and a stop that came as the run began was lost).
        Interlocked.Exchange(ref _running, interpreter);
        if (_interrupt is { } early) interpreter.Interrupt(early);
        try
        {
            if (entry.ParamCount == 0) return interpreter.Run(entry);
            var argv = new ArgumentRoots(args.Count);
            Heap.AddRoots(argv);
            try
            {
                for (int i = 0; i < args.Count; i++) argv.Slots[i] = Heap.NewString(args[i]);
                Heap.Reserve(Heap.ArrayWords + Heap.DataWords(Math.Max(args.Count, 4)));
                int array = Heap.NewArray(TypeKind.String, args.Count, Math.Max(args.Count, 4));
                new ReadOnlySpan<long>(argv.Slots).CopyTo(Heap.ArrayElements(array));
                return interpreter.Run(entry, array);
            }
            finally
            {
                Heap.RemoveRoots(argv);
            }
        }
        catch (ProgramExit exit)
        {
            return exit.Code;
        }
        finally
        {
            _running = null;
            Heap.RemoveRoots(interpreter);
            // However the run ended (returned, a limit, an error, a stop), its compiles end with it.
            Options.Execution.Compiler?.End(module);
        }
    }

    private volatile Interpreter? _running;
    private volatile LimitExceededError? _interrupt;

    /// <summary>
    /// Stops the program this VM runs (or will run), from any thread, with <paramref name="reason"/>: it ends with
    /// that error at its next backward branch or call, and at once when it is blocked in a host call and
    /// <see cref="VmOptions.Cancellation"/> is cancelled too.
    /// </summary>
    public void Interrupt(LimitExceededError reason)
    {
        Interlocked.CompareExchange(ref _interrupt, reason, null);
        _running?.Interrupt(reason);
    }

    /// <summary>Keeps the argument strings alive while the argument array is built.</summary>
    private sealed class ArgumentRoots(int count) : IRootSource
    {
        public readonly long[] Slots = new long[count];

        public void VisitRoots(Heap heap)
        {
            for (int i = 0; i < Slots.Length; i++) heap.Relocate(ref Slots[i]);
        }
    }
}
