using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// A host function. Its arguments arrive as a span over the caller's operand stack; a native that allocates
/// must re-read any reference argument afterwards, since the collector may have moved it (the span itself stays
/// valid: the collector updates stack slots in place).
/// </summary>
public delegate long NativeFn(Interpreter vm, ReadOnlySpan<long> args);

/// <summary>What a call of a native that needs a permission acts on, for the host's decision and its audit log.</summary>
public delegate string NativeTarget(Interpreter vm, ReadOnlySpan<long> args);

/// <summary>One entry of the native table: what a module may import and how the host implements it.</summary>
/// <param name="Permission">the permission the call needs, or null when it needs none</param>
public sealed record NativeDef(string Name, VmType[] Params, VmType Return, string? Permission, string Doc, NativeFn Fn)
{
    /// <summary>True when a module's import of this native declares exactly its signature.</summary>
    /// <remarks>Spans compared, as <see cref="VmType.Equals(VmType?)"/> compares parameter lists, not LINQ's
    /// SequenceEqual: verifying is on the way to every program's main, where nothing else loads LINQ (about 2 ms of a
    /// short run's start).</remarks>
    public bool Matches(NativeImport import) =>
        import.Name == Name && import.Return == Return && import.Params.AsSpan().SequenceEqual(Params);

    /// <summary>
    /// The native as a plain function of its float arguments to a float (a <c>Func&lt;double, double&gt;</c> or
    /// <c>Func&lt;double, double, double&gt;</c>) when it is nothing more: no heap, no fuel, no permission. Compiled
    /// code calls it directly (a static method: .NET may make it one instruction) instead of through <see cref="Fn"/>,
    /// which calls the same function.
    /// </summary>
    public Delegate? Pure { get; init; }

    /// <summary>
    /// The common case of a call, answered without the interpreter: a static method of the heap and the native's
    /// arguments (a <c>Func&lt;Heap, long, ..., long&gt;</c>) that returns the result, or a negative number when the
    /// call must run <see cref="Fn"/>, which raises the error, collects or charges. Only for a native that needs no
    /// permission and whose results are never negative. It charges no fuel and allocates only as
    /// <c>Heap.TryBumpObject</c> does (never a collection: it declines when the heap has work to do), so compiled
    /// code calls it first, with the arguments where they are.
    /// </summary>
    public Delegate? Fast { get; init; }

    /// <summary>
    /// <see cref="Fast"/> answers calls for which <see cref="Fn"/> charges fuel (a search charges the characters
    /// it reads). Compiled code calls it only without a fuel budget, where nothing reads the charge; with
    /// <c>--fuel</c> every call runs <see cref="Fn"/>.
    /// </summary>
    public bool FastSkipsCharge { get; init; }

    /// <summary>
    /// <see cref="Fast"/> only reads the heap: it never allocates (not even a shared string), charges or changes
    /// anything, so a call of it can be undone by forgetting its answer. Compiled code runs such a call in a
    /// function's start compiled in place, which gives up to the function's call when the fast path declines.
    /// </summary>
    public bool FastOnlyReads { get; init; }

    /// <summary>The fast path compiled code may call (<see cref="Fast"/>), with or without a fuel budget.</summary>
    public System.Reflection.MethodInfo? FastMethod(bool metered) =>
        Fast is { Method.IsStatic: true } fast && !(metered && FastSkipsCharge) ? fast.Method : null;

    /// <summary>What the call acts on (by default its first argument, a string: a path, a variable's name).</summary>
    public NativeTarget? Target { get; init; }

    public string TargetOf(Interpreter vm, ReadOnlySpan<long> args) =>
        Target is not null ? Target(vm, args) : args.Length > 0 && args[0] != 0 ? vm.Heap.StringChars((int)args[0]).ToString() : "";
}

/// <summary>
/// Every host function a module can call, declared in one place. Every call from a program to the host passes
/// through <see cref="Interpreter"/>'s <c>callnative</c>, which finds its target here.
/// </summary>
public static class NativeTable
{
    public static readonly NativeDef[] All =
    [
        new("print", [VmType.String], VmType.Void, null, "writes a string to standard output",
            (vm, args) => { vm.Out.Write(vm.Heap.StringChars((int)args[0])); return 0; }),
        new("println", [VmType.String], VmType.Void, null, "writes a string and a line break to standard output",
            (vm, args) => { vm.Out.Write(vm.Heap.StringChars((int)args[0])); vm.Out.Write('\n'); return 0; }),
        new("eprint", [VmType.String], VmType.Void, null, "writes a string to standard error",
            (vm, args) => { vm.Error.Write(vm.Heap.StringChars((int)args[0])); return 0; }),
        new("eprintln", [VmType.String], VmType.Void, null, "writes a string and a line break to standard error",
            (vm, args) => { vm.Error.Write(vm.Heap.StringChars((int)args[0])); vm.Error.Write('\n'); return 0; }),
        new("readLine", [], VmType.String.AsNullable(), null, "the next line of standard input without its line break, or null at its end",
            (vm, args) => vm.Input.ReadLine(vm, vm.Heap.MaxStringChars) is { } line ? vm.Heap.NewString(line) : 0),
        new("readAll", [], VmType.String, null, "the rest of standard input",
            (vm, args) => vm.Heap.NewString(vm.Input.ReadAll(vm, vm.Heap.MaxStringChars))),
        .. StringNatives.All,
        .. ArrayNatives.All,
        .. MathNatives.All,
        .. TimeNatives.All,
        .. FsNatives.All,
        .. EnvNatives.All,
        .. NetNatives.All,
    ];

    private static readonly Dictionary<string, NativeDef> ByName = NamesOf(All);

    private static Dictionary<string, NativeDef> NamesOf(NativeDef[] natives)
    {
        var byName = new Dictionary<string, NativeDef>(natives.Length);
        foreach (var native in natives) byName.Add(native.Name, native);
        return byName;
    }

    public static NativeDef? Find(string name) => ByName.GetValueOrDefault(name);
}
