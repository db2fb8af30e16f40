namespace Hlvm.Runtime.Bytecode;

/// <summary>
/// A compiled module as it is stored in a <c>.hlc</c> file: what the compiler writes and the loader reads. It is
/// plain data and trusts nothing; <see cref="Verification.Verifier"/> decides whether it may run.
/// </summary>
public sealed class Module
{
    /// <summary>The module's name (for a program compiled from <c>hello.hl</c>, <c>hello</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary>The source file name shown in stack traces.</summary>
    public string SourceFile { get; set; } = "";

    /// <summary>String constants, referenced by <see cref="OperandKind.String"/> operands.</summary>
    public List<string> Strings { get; } = [];

    /// <summary>Types referenced by <see cref="OperandKind.Type"/> operands.</summary>
    public List<VmType> Types { get; } = [];

    /// <summary>Host functions the module calls, resolved by name and signature when it loads.</summary>
    public List<NativeImport> Natives { get; } = [];

    public List<FunctionDef> Functions { get; } = [];

    /// <summary>Index of the function to run, or -1 for a module without an entry point.</summary>
    public int EntryFunction { get; set; } = -1;
}

/// <summary>A host function as a module declares it.</summary>
public sealed record NativeImport(string Name, VmType[] Params, VmType Return);

/// <summary>One entry of a function's line table: code from <paramref name="Offset"/> on came from <paramref name="Line"/>.</summary>
public readonly record struct LineEntry(int Offset, int Line);

/// <summary>A function's signature, local slots and code.</summary>
public sealed class FunctionDef
{
    public string Name { get; set; } = "";
    public VmType[] Params { get; set; } = [];
    public VmType Return { get; set; } = VmType.Void;

    /// <summary>Every local slot's type; the first <see cref="Params"/>.Length slots are the parameters.</summary>
    public VmType[] Locals { get; set; } = [];

    /// <summary>The most values the operand stack holds at once, as the emitter computed it.</summary>
    public int MaxStack { get; set; }

    public byte[] Code { get; set; } = [];

    /// <summary>Line table, ordered by offset.</summary>
    public LineEntry[] Lines { get; set; } = [];

    /// <summary>The source line of the instruction at a byte offset, or 0 when unknown.</summary>
    public int LineAt(int offset)
    {
        int line = 0;
        foreach (var entry in Lines)
        {
            if (entry.Offset > offset) break;
            line = entry.Line;
        }
        return line;
    }
}
