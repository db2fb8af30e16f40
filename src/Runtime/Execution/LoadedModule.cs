using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Natives;

namespace Hlvm.Runtime.Execution;

/// <summary>
/// One pre-decoded instruction. Operands are resolved at load time: <see cref="A"/> is a local slot, a string
/// constant, a function, a native, an instruction index (branches) or an element kind (newarray);
/// <see cref="B"/> is a constant's bits or an element count.
/// </summary>
public struct Instr
{
    public Opcode Op;

    /// <summary>Fused instructions only: the operator they apply (see <see cref="Superinstructions"/>).</summary>
    public byte Sub;

    /// <summary>Fused instructions only: a local slot.</summary>
    public ushort C;

    public int A;
    public long B;
}

/// <summary>A verified function, ready to run.</summary>
public sealed class LoadedFunction
{
    public required FunctionDef Def
    {
        get => _def;
        init
        {
            _def = value;
            ParamCount = value.Params.Length;
            LocalCount = value.Locals.Length;
            FrameSize = value.Locals.Length + value.MaxStack;
            ReturnsValue = value.Return.Kind != TypeKind.Void;
        }
    }

    private readonly FunctionDef _def = null!;
    public required int Index { get; init; }
    public required Instr[] Code { get; init; }

    /// <summary>The code with common sequences fused (<see cref="Superinstructions"/>), for the fast mode: as long
    /// as <see cref="Code"/>, indexed alike. A field, so that the dispatch loop reads it without a call.</summary>
    public required Instr[] Fused;

    /// <summary>Byte offset in <see cref="FunctionDef.Code"/> of each instruction, for line numbers and errors.</summary>
    public required int[] Offsets { get; init; }

    public required bool[] LocalIsRef { get; init; }

    /// <summary>Whether each instruction can run at all (the verifier found a path to it).</summary>
    public required bool[] Reachable { get; init; }

    /// <summary>
    /// The verifier's operand-stack types before each instruction (null: the stack is empty). The collector reads
    /// them as stack maps (which entries are references) and checked mode compares the running program with them.
    /// </summary>
    public required Verification.TypeStack?[] StackTypes { get; init; }

    /// <summary>The exception table with instruction indexes: [Start, End) is protected, Handler is where it goes.</summary>
    public required (int Start, int End, int Handler, int Class)[] Handlers { get; init; }

    // Read at every call: fields, so that the dispatch loop reads them without a call.
    public readonly int ParamCount;
    public readonly int LocalCount;

    /// <summary>Slots a frame of this function needs: its locals and its deepest operand stack.</summary>
    public readonly int FrameSize;

    public string Name => Def.Name;

    /// <summary>False for a void function.</summary>
    public readonly bool ReturnsValue;

    /// <summary>The function compiled by the second engine (see <see cref="ICompiler"/>), or null: then it is
    /// interpreted. Set once, by the compiler: on the VM's thread, or on the JIT's when .NET compiles there
    /// (<see cref="Compiling"/>); the interpreter reads it at calls and backward branches, and a function whose
    /// code arrives while it runs continues in it at its next call or loop iteration.</summary>
    public CompiledCode? Compiled;

    /// <summary>Calls of the function, counted in both engines while a profiler runs: its element of the module's
    /// <see cref="LoadedModule.CallCounts"/>.</summary>
    public ref long Calls => ref Module!.CallCounts[Index];

    /// <summary>The module the function belongs to (set by the module).</summary>
    internal LoadedModule? Module;

    /// <summary>Tiering: calls and backward branches counted while interpreted.</summary>
    public int Hotness;

    /// <summary>Tiering: the compiler declined the function (too large, or it holds what it can't compile).</summary>
    public bool NotCompiled;

    /// <summary>Tiering: the function's code passed its bound of CIL in the batch of another function that calls
    /// it, a batch that had left out other functions (which its callers then call through the interpreter's entry,
    /// longer CIL). It is left out of other functions' batches, and compiled in a batch of its own when it is hot.</summary>
    public bool TooLargeAsCallee;

    /// <summary>Tiering: emitted, and being compiled to machine code on another thread; it keeps running in the
    /// interpreter until <see cref="Compiled"/> is set, and is not compiled again meanwhile.</summary>
    public volatile bool Compiling;

    public int LineOf(int pc) => pc >= 0 && pc < Offsets.Length ? Def.LineAt(Offsets[pc]) : 0;
}

/// <summary>A verified module: its functions decoded, its natives bound, its string constants on the heap.</summary>
public sealed class LoadedModule : IRootSource
{
    internal LoadedModule(Module def, LoadedFunction[] functions, NativeDef[] natives, RuntimeClass[] classes)
    {
        Def = def;
        Functions = functions;
        Natives = natives;
        Classes = classes;
        foreach (var f in functions) f.Module = this;
    }

    /// <summary>
    /// Each function's calls (<see cref="LoadedFunction.Calls"/>), in an array that never moves: compiled code adds
    /// to its function's count at that count's address, one instruction, where reading the count through the
    /// function took a load, a bounds check and another load at every call (a profiled fib spent 12% more). Made
    /// when a profiler first counts: .NET compiles the pinned allocation at run time, which a run without one
    /// need not wait for.
    /// </summary>
    public long[] CallCounts => _callCounts ??= Pinned.NewArray(Math.Max(1, Functions.Length));

    private long[]? _callCounts;

    public RuntimeClass[] Classes { get; }

    /// <summary>
    /// The class the VM instantiates for a runtime fault of the given name (IndexError, ...), with the index of its
    /// string field <c>message</c>: a class of that name with such a field, or null (then the fault can't be caught).
    /// </summary>
    internal (RuntimeClass Class, int MessageField)? ErrorClass(string name)
    {
        foreach (var c in Classes)
        {
            if (c.Name != name || c.IsInterface) continue;
            if (c.MessageField >= 0) return (c, c.MessageField);
        }
        return null;
    }

    /// <summary>
    /// What a method call can run, from the module's closed set of classes: for slot <paramref name="method"/> of
    /// class <paramref name="cls"/> (or method <paramref name="method"/> of interface <paramref name="cls"/>), each
    /// class whose instances the receiver can be and the function it runs, in class order. Every class of a
    /// program is in its module, so a receiver of any other class can't reach the call.
    /// </summary>
    public IReadOnlyList<(RuntimeClass Class, LoadedFunction Target)> Implementations(int cls, int method)
    {
        bool iface = Classes[cls].IsInterface;
        var found = new List<(RuntimeClass, LoadedFunction)>();
        foreach (var c in Classes)
        {
            if (c.IsInterface || !c.Is(cls)) continue;
            found.Add((c, iface ? c.ITableFunctions[cls][method] : c.VTableFunctions[method]));
        }
        return found;
    }

    public Module Def { get; }
    public LoadedFunction[] Functions { get; }
    public NativeDef[] Natives { get; }

    /// <summary>The heap id of function 0 (closures name their function by heap id).</summary>
    internal int FunctionBase { get; private set; }

    /// <summary>Heap references of the string constants: roots, since constants live as long as the module.</summary>
    internal long[] StringRefs { get; private set; } = [];

    /// <summary>The heap the module is on (its classes, functions and strings are registered with it), or null
    /// before it is loaded into a VM.</summary>
    internal Heap? AttachedTo { get; private set; }

    public LoadedFunction? Entry => Def.EntryFunction >= 0 ? Functions[Def.EntryFunction] : null;

    /// <summary>Allocates the string constants on <paramref name="heap"/> and makes them roots of it.</summary>
    internal void Attach(Heap heap)
    {
        if (AttachedTo is not null) throw new InvalidOperationException($"module '{Def.Name}' is loaded into a VM already; verify it again for another");
        AttachedTo = heap;
        StringRefs = new long[Def.Strings.Count];
        foreach (var c in Classes) c.HeapId = heap.RegisterClass(c);
        FunctionBase = heap.RegisterFunctions(Functions);
        heap.AddRoots(this);
        for (int i = 0; i < StringRefs.Length; i++) StringRefs[i] = heap.NewString(Def.Strings[i]);
    }

    void IRootSource.VisitRoots(Heap heap)
    {
        for (int i = 0; i < StringRefs.Length; i++) heap.Relocate(ref StringRefs[i]);
    }
}
