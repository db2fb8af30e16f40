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

    /// <summary>Classes and interfaces, referenced by <see cref="VmType.ClassIndex"/> and class operands.</summary>
    public List<ClassDef> Classes { get; } = [];

    /// <summary>
    /// Most superclasses a class may have above it. The verifier rejects a deeper chain and the compiler a deeper
    /// hierarchy, so that what each class inherits (fields, methods, the set of its ancestors) stays bounded.
    /// </summary>
    public const int MaxInheritanceDepth = 1000;

    /// <summary>The chain of a class and its superclasses, root first (a cycle, a bad index or the depth limit ends it).</summary>
    private List<ClassDef> Chain(int c)
    {
        var chain = new List<ClassDef>();
        for (int k = c; k >= 0 && k < Classes.Count && chain.Count <= Math.Min(Classes.Count, MaxInheritanceDepth); k = Classes[k].Super) chain.Add(Classes[k]);
        chain.Reverse();
        return chain;
    }

    /// <summary>The fields of class <paramref name="c"/> in layout order: inherited ones first.</summary>
    public List<FieldDef> FieldLayout(int c) => Chain(c).SelectMany(x => x.Fields).ToList();

    /// <summary>
    /// The method slots of class <paramref name="c"/>: inherited slots first, an override in the slot it overrides
    /// (what the verifier builds, without its checks; for tools that read unverified modules).
    /// </summary>
    public List<MethodDef> MethodTable(int c)
    {
        var slots = new List<MethodDef>();
        foreach (var m in Chain(c).SelectMany(x => x.Methods))
        {
            int i = slots.FindIndex(x => x.Name == m.Name);
            if (i >= 0) slots[i] = m;
            else slots.Add(m);
        }
        return slots;
    }

    /// <summary>A type as source code spells it, with this module's class names.</summary>
    public string TypeName(VmType t) => t.Format(i => i >= 0 && i < Classes.Count ? Classes[i].Name : $"class#{i}");

    /// <summary>Index of the function to run, or -1 for a module without an entry point.</summary>
    public int EntryFunction { get; set; } = -1;
}

/// <summary>
/// A class or an interface. A class's instances hold its superclass's fields, then its own; its methods are
/// functions whose first parameter is the receiver. A method with the name of an inherited one overrides it
/// (same parameters and return type). An interface lists method signatures, receiver not included.
/// </summary>
public sealed class ClassDef
{
    public string Name { get; set; } = "";
    public bool IsInterface { get; set; }

    /// <summary>Index of the superclass, or -1.</summary>
    public int Super { get; set; } = -1;

    /// <summary>Indexes of the interfaces the class declares it implements.</summary>
    public int[] Interfaces { get; set; } = [];

    /// <summary>The class's own fields, after its superclass's.</summary>
    public List<FieldDef> Fields { get; } = [];

    /// <summary>A class's own methods (new ones and overrides).</summary>
    public List<MethodDef> Methods { get; } = [];

    /// <summary>An interface's method signatures.</summary>
    public List<InterfaceMethod> Signatures { get; } = [];
}

public sealed record FieldDef(string Name, VmType Type);

/// <summary>A method of a class: its name and the function that implements it.</summary>
public sealed record MethodDef(string Name, int Function);

/// <summary>A method an interface requires: its name, parameters after the receiver, and return type.</summary>
public sealed record InterfaceMethod(string Name, VmType[] Params, VmType Return);

/// <summary>A host function as a module declares it.</summary>
public sealed record NativeImport(string Name, VmType[] Params, VmType Return);

/// <summary>One entry of a function's exception table (byte offsets).</summary>
public readonly record struct ExceptionHandler(int Start, int End, int Handler, int Class);

/// <summary>One entry of a function's line table: code from <paramref name="Offset"/> on came from <paramref name="Line"/>.</summary>
public readonly record struct LineEntry(int Offset, int Line);

/// <summary>A function's signature, local slots and code.</summary>
public sealed class FunctionDef
{
    public string Name { get; set; } = "";

    /// <summary>The source file the function comes from when it is not the module's own (a module linked from
    /// several files); null for the module's file.</summary>
    public string? SourceFile { get; set; }

    public VmType[] Params { get; set; } = [];
    public VmType Return { get; set; } = VmType.Void;

    /// <summary>Every local slot's type; the first <see cref="Params"/>.Length slots are the parameters.</summary>
    public VmType[] Locals { get; set; } = [];

    /// <summary>The most values the operand stack holds at once, as the emitter computed it.</summary>
    public int MaxStack { get; set; }

    public byte[] Code { get; set; } = new byte[0]; // not []: see Lines

    /// <summary>Line table, ordered by offset.</summary>
    // Not []: Array.Empty of a value type is compiled by .NET at run time (ReadyToRun can't hold it), at every start.
    public LineEntry[] Lines { get; set; } = new LineEntry[0];

    /// <summary>
    /// The exception table, searched in order: an error of class <see cref="ExceptionHandler.Class"/> (or a subclass)
    /// raised by an instruction at an offset in [Start, End) transfers control to Handler with the stack holding only
    /// the error.
    /// </summary>
    public ExceptionHandler[] Handlers { get; set; } = new ExceptionHandler[0]; // not []: see Lines

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
