using System.Buffers.Binary;

namespace Hlvm.Runtime.Bytecode;

// ============================================================================================================
// The instruction set, defined once.
//
// Hlvm bytecode is a typed stack machine. Each function has numbered local slots (parameters first) and an
// operand stack; every slot holds one 8-byte value: an int, a float (IEEE bits), a bool (0 or 1) or a heap
// reference (0 is null). An instruction is one opcode byte followed by its operands, whose widths are fixed by
// the operand kinds below:
//
//   +--------+-----------+-----------+
//   | opcode | operand 1 | operand 2 |      Local: u16   Int64/Float64: 8 bytes LE   everything else: u32 LE
//   +--------+-----------+-----------+      Target: byte offset of an instruction in the same function
//
// The table in OpcodeInfo.All is the single source of truth: the emitter's stack tracking, the reader's
// decoder, the disassembler and the verifier read it, and a test fails when an opcode lacks an interpreter case
// or a verifier rule. The notation in the docs: S[-1] is the top of the stack, L[a] a local, K[a] a constant.
// ============================================================================================================

/// <summary>The opcodes. Their numeric values are part of the module format.</summary>
public enum Opcode : byte
{
    Nop, IConst, FConst, BConst, SConst, Load, Store, Pop, Dup,
    IAdd, ISub, IMul, IDiv, IRem, INeg, IAnd, IOr, IXor, IShl, IShr, INot,
    FAdd, FSub, FMul, FDiv, FRem, FNeg,
    IEq, INe, ILt, ILe, IGt, IGe,
    FEq, FNe, FLt, FLe, FGt, FGe,
    BEq, BNe, BNot, SEq, SNe,
    SConcat, IToS, FToS, BToS, AToS, IToF, FToI,
    Jmp, JmpIf, JmpIfNot,
    Call, CallNative, Ret, RetVoid,
    NewArray, ALoad, AStore, ALen, APush,
    AConstNull, RefEq, RefNe, JmpIfNull, JmpIfNotNull,
    NewObject, GetField, SetField, CallVirt, CallIface, InstanceOf, CheckCast, NonNull, Throw,
    NewMap, MapGet, MapGetOr, MapSet, MapHas, MapRemove, MapLen, MapKeys, MapValues, MToS,
    APop, AInsert, ARemoveAt, ASlice, AIndexOf, AReverse,
    FuncRef, Closure, CallClosure, ARepeat,
}

/// <summary>How an operand is encoded and what it refers to.</summary>
public enum OperandKind : byte
{
    /// <summary>u16 index of a local slot.</summary>
    Local,
    /// <summary>8-byte signed integer.</summary>
    Int64,
    /// <summary>8-byte IEEE double.</summary>
    Float64,
    /// <summary>u32: 0 or 1.</summary>
    Bool,
    /// <summary>u32 index into the module's string constants.</summary>
    String,
    /// <summary>u32 byte offset of the target instruction within the function's code.</summary>
    Target,
    /// <summary>u32 index into the module's functions.</summary>
    Function,
    /// <summary>u32 index into the module's native imports.</summary>
    Native,
    /// <summary>u32 index into the module's type table.</summary>
    Type,
    /// <summary>u32 count of values.</summary>
    Count,
    /// <summary>u32 index into the module's classes (and interfaces).</summary>
    Class,
    /// <summary>u32 index of a field in the class's layout: its superclass's fields first, then its own.</summary>
    Field,
    /// <summary>u32 index of a method: a slot of the class's method table (inherited methods first), or of an
    /// interface's signatures.</summary>
    Method,
}

/// <summary>Where control goes after an instruction.</summary>
public enum ControlFlow : byte
{
    /// <summary>To the next instruction.</summary>
    Next,
    /// <summary>To its target (its one <see cref="OperandKind.Target"/> operand), always.</summary>
    Jump,
    /// <summary>To its target or to the next instruction.</summary>
    Branch,
    /// <summary>Back to the caller.</summary>
    Return,
    /// <summary>To a handler, in this frame or a caller's.</summary>
    Throw,
}

/// <summary>One row of the instruction table.</summary>
/// <param name="Pops">values popped, or -1 when the operands decide (calls, array literals)</param>
/// <param name="Pushes">values pushed, or -1 when the operands decide</param>
/// <param name="GcPoint">true when the instruction may allocate or call, so the collector may run during it</param>
public sealed record OpcodeInfo(Opcode Op, OperandKind[] Operands, int Pops, int Pushes, bool GcPoint, string Doc)
{
    private static readonly OperandKind[] None = new OperandKind[0]; // not []: see FunctionDef.Lines

    /// <summary>The mnemonic (the disassembler's spelling): the opcode's name in lower case. Made at its first use,
    /// not with the table, which every run loads: the names of the enum are read through reflection.</summary>
    public string Name => field ??= Op.ToString().ToLowerInvariant();

    // A row's operands, none, one or two (overloads rather than params: an empty params array is Array.Empty of a
    // value type, which .NET compiles at run time at every start; see FunctionDef.Lines).
    private static OpcodeInfo I(Opcode op, int pops, int pushes, string doc) => new(op, None, pops, pushes, false, doc);

    private static OpcodeInfo I(Opcode op, int pops, int pushes, string doc, OperandKind a) => new(op, [a], pops, pushes, false, doc);

    private static OpcodeInfo I(Opcode op, int pops, int pushes, string doc, OperandKind a, OperandKind b) =>
        new(op, [a, b], pops, pushes, false, doc);

    private static OpcodeInfo G(Opcode op, int pops, int pushes, string doc) => I(op, pops, pushes, doc) with { GcPoint = true };

    private static OpcodeInfo G(Opcode op, int pops, int pushes, string doc, OperandKind a) =>
        I(op, pops, pushes, doc, a) with { GcPoint = true };

    private static OpcodeInfo G(Opcode op, int pops, int pushes, string doc, OperandKind a, OperandKind b) =>
        I(op, pops, pushes, doc, a, b) with { GcPoint = true };

    /// <summary>Where control goes after the instruction.</summary>
    public ControlFlow Flow { get; private init; }

    /// <summary>True for the jumps and branches: their first operand is the target.</summary>
    public bool HasTarget => Flow is ControlFlow.Jump or ControlFlow.Branch;

    /// <summary>False when control never reaches the next instruction from this one (jmp, ret, retvoid, throw).</summary>
    public bool FallsThrough => Flow is ControlFlow.Next or ControlFlow.Branch;

    /// <summary>The row of an opcode.</summary>
    public static OpcodeInfo Of(Opcode op) => All[(int)op];

    /// <summary>Every opcode, indexed by its numeric value.</summary>
    public static readonly OpcodeInfo[] All =
    [
        I(Opcode.Nop, 0, 0, "nothing"),
        I(Opcode.IConst, 0, 1, "push int a", OperandKind.Int64),
        I(Opcode.FConst, 0, 1, "push float a", OperandKind.Float64),
        I(Opcode.BConst, 0, 1, "push bool a", OperandKind.Bool),
        I(Opcode.SConst, 0, 1, "push string K[a] (allocated once, when the module loads)", OperandKind.String),
        I(Opcode.Load, 0, 1, "push L[a]; L[a] must have been written on every path", OperandKind.Local),
        I(Opcode.Store, 1, 0, "L[a] := pop; the value must have the local's declared type", OperandKind.Local),
        I(Opcode.Pop, 1, 0, "drop S[-1]"),
        I(Opcode.Dup, 1, 2, "push S[-1] again"),

        I(Opcode.IAdd, 2, 1, "int: S[-2] + S[-1], wrapping"),
        I(Opcode.ISub, 2, 1, "int: S[-2] - S[-1], wrapping"),
        I(Opcode.IMul, 2, 1, "int: S[-2] * S[-1], wrapping"),
        I(Opcode.IDiv, 2, 1, "int: S[-2] / S[-1] rounded toward zero; DivisionByZeroError when S[-1] = 0"),
        I(Opcode.IRem, 2, 1, "int: S[-2] % S[-1] with the sign of S[-2]; DivisionByZeroError when S[-1] = 0"),
        I(Opcode.INeg, 1, 1, "int: -S[-1], wrapping"),
        I(Opcode.IAnd, 2, 1, "int: S[-2] & S[-1]"),
        I(Opcode.IOr, 2, 1, "int: S[-2] | S[-1]"),
        I(Opcode.IXor, 2, 1, "int: S[-2] ^ S[-1]"),
        I(Opcode.IShl, 2, 1, "int: S[-2] << (S[-1] & 63)"),
        I(Opcode.IShr, 2, 1, "int: S[-2] >> (S[-1] & 63), arithmetic"),
        I(Opcode.INot, 1, 1, "int: ~S[-1]"),

        I(Opcode.FAdd, 2, 1, "float: S[-2] + S[-1]"),
        I(Opcode.FSub, 2, 1, "float: S[-2] - S[-1]"),
        I(Opcode.FMul, 2, 1, "float: S[-2] * S[-1]"),
        I(Opcode.FDiv, 2, 1, "float: S[-2] / S[-1] (IEEE: x/0 is an infinity or NaN)"),
        I(Opcode.FRem, 2, 1, "float: IEEE remainder with the sign of S[-2], as C's fmod"),
        I(Opcode.FNeg, 1, 1, "float: -S[-1]"),

        I(Opcode.IEq, 2, 1, "bool: int S[-2] == S[-1]"),
        I(Opcode.INe, 2, 1, "bool: int S[-2] != S[-1]"),
        I(Opcode.ILt, 2, 1, "bool: int S[-2] < S[-1]"),
        I(Opcode.ILe, 2, 1, "bool: int S[-2] <= S[-1]"),
        I(Opcode.IGt, 2, 1, "bool: int S[-2] > S[-1]"),
        I(Opcode.IGe, 2, 1, "bool: int S[-2] >= S[-1]"),
        I(Opcode.FEq, 2, 1, "bool: float S[-2] == S[-1] (NaN is unequal to everything)"),
        I(Opcode.FNe, 2, 1, "bool: float S[-2] != S[-1]"),
        I(Opcode.FLt, 2, 1, "bool: float S[-2] < S[-1]"),
        I(Opcode.FLe, 2, 1, "bool: float S[-2] <= S[-1]"),
        I(Opcode.FGt, 2, 1, "bool: float S[-2] > S[-1]"),
        I(Opcode.FGe, 2, 1, "bool: float S[-2] >= S[-1]"),
        I(Opcode.BEq, 2, 1, "bool: bool S[-2] == S[-1]"),
        I(Opcode.BNe, 2, 1, "bool: bool S[-2] != S[-1]"),
        I(Opcode.BNot, 1, 1, "bool: !S[-1]"),
        I(Opcode.SEq, 2, 1, "bool: string S[-2] and S[-1] hold the same characters"),
        I(Opcode.SNe, 2, 1, "bool: string S[-2] and S[-1] differ"),

        G(Opcode.SConcat, 2, 1, "string: S[-2] followed by S[-1]"),
        G(Opcode.IToS, 1, 1, "string: decimal form of int S[-1]"),
        G(Opcode.FToS, 1, 1, "string: shortest round-trip form of float S[-1], always with a '.' or exponent"),
        G(Opcode.BToS, 1, 1, "string: \"true\" or \"false\""),
        G(Opcode.AToS, 1, 1, "string: \"[e1, e2, ...]\" for array S[-1], elements formatted as by the ops above"),
        I(Opcode.IToF, 1, 1, "float: int S[-1] converted (rounded to nearest)"),
        I(Opcode.FToI, 1, 1, "int: float S[-1] truncated toward zero, saturating; NaN gives 0"),

        I(Opcode.Jmp, 0, 0, "pc := a", OperandKind.Target) with { Flow = ControlFlow.Jump },
        I(Opcode.JmpIf, 1, 0, "if pop (bool) then pc := a", OperandKind.Target) with { Flow = ControlFlow.Branch },
        I(Opcode.JmpIfNot, 1, 0, "if not pop (bool) then pc := a", OperandKind.Target) with { Flow = ControlFlow.Branch },

        G(Opcode.Call, -1, -1, "call function a: pop its arguments (last on top), push its result unless void", OperandKind.Function),
        G(Opcode.CallNative, -1, -1, "call native import a, like call", OperandKind.Native),
        I(Opcode.Ret, 1, 0, "return pop to the caller; the value must have the function's return type") with { Flow = ControlFlow.Return },
        I(Opcode.RetVoid, 0, 0, "return from a void function") with { Flow = ControlFlow.Return },

        G(Opcode.NewArray, -1, 1, "pop b elements (first pushed first) into a new array of type T[a]", OperandKind.Type, OperandKind.Count),
        I(Opcode.ALoad, 2, 1, "push array S[-2] element S[-1]; IndexError when out of range"),
        I(Opcode.AStore, 3, 0, "array S[-3] element S[-2] := S[-1]; IndexError when out of range"),
        I(Opcode.ALen, 1, 1, "int: length of array S[-1]"),
        G(Opcode.APush, 2, 0, "append S[-1] to array S[-2], growing its storage"),

        I(Opcode.AConstNull, 0, 1, "push null"),
        I(Opcode.RefEq, 2, 1, "bool: references S[-2] and S[-1] are the same object (or both null)"),
        I(Opcode.RefNe, 2, 1, "bool: references S[-2] and S[-1] differ"),
        I(Opcode.JmpIfNull, 1, 0, "if pop (a reference) is null then pc := a", OperandKind.Target) with { Flow = ControlFlow.Branch },
        I(Opcode.JmpIfNotNull, 1, 0, "if pop (a reference) is not null then pc := a", OperandKind.Target) with { Flow = ControlFlow.Branch },
        G(Opcode.NewObject, 0, 1, "push a new instance of class a, every field zero, false or null", OperandKind.Class),
        I(Opcode.GetField, 1, 1, "push field b of object S[-1] (of class a or a subclass); NullError when the object is null, or when the field, of a non-nullable reference type, is (not set yet by a constructor)", OperandKind.Class, OperandKind.Field),
        I(Opcode.SetField, 2, 0, "field b of object S[-2] := S[-1]; NullError when null", OperandKind.Class, OperandKind.Field),
        G(Opcode.CallVirt, -1, -1, "call method slot b of class a on the receiver below the arguments, chosen by the receiver's class", OperandKind.Class, OperandKind.Method),
        G(Opcode.CallIface, -1, -1, "call method b of interface a on the receiver below the arguments, as its class implements it", OperandKind.Class, OperandKind.Method),
        I(Opcode.InstanceOf, 1, 1, "bool: S[-1] is not null and its class is a or derives from or implements a", OperandKind.Class),
        I(Opcode.CheckCast, 1, 1, "S[-1] unchanged if null or an instance of a; otherwise CastError", OperandKind.Class),
        I(Opcode.NonNull, 1, 1, "S[-1] unchanged, now of its non-nullable type; NullError when it is null"),
        G(Opcode.Throw, 1, 0, "raise object S[-1] as an error: the first handler of the exception table that covers the instruction and matches its class runs, in this frame or a caller's; NullError when it is null") with { Flow = ControlFlow.Throw },
        G(Opcode.NewMap, -1, 1, "pop b key-value pairs (first pushed first; a repeated key keeps its last value) into a new map of type T[a]", OperandKind.Type, OperandKind.Count),
        I(Opcode.MapGet, 2, 1, "push the value of key S[-1] in map S[-2]; KeyError when it has none"),
        I(Opcode.MapGetOr, 3, 1, "push the value of key S[-2] in map S[-3], or S[-1] when it has none (a null default makes the result nullable)"),
        G(Opcode.MapSet, 3, 0, "map S[-3] key S[-2] := S[-1], adding the key at the end of the order if it is new"),
        I(Opcode.MapHas, 2, 1, "bool: map S[-2] holds key S[-1]"),
        I(Opcode.MapRemove, 2, 1, "bool: remove key S[-1] from map S[-2]; false when it was not there"),
        I(Opcode.MapLen, 1, 1, "int: the number of keys in map S[-1]"),
        G(Opcode.MapKeys, 1, 1, "a new array of the keys of map S[-1], in insertion order"),
        G(Opcode.MapValues, 1, 1, "a new array of the values of map S[-1], in the order of their keys"),
        G(Opcode.MToS, 1, 1, "string: \"{k1: v1, ...}\" for map S[-1], formatted as atos formats elements"),
        I(Opcode.APop, 1, 1, "remove and push the last element of array S[-1]; IndexError when it is empty"),
        G(Opcode.AInsert, 3, 0, "insert S[-1] into array S[-3] at index S[-2] (0..length), moving the rest up; IndexError outside"),
        I(Opcode.ARemoveAt, 2, 1, "remove and push element S[-1] of array S[-2], moving the rest down; IndexError outside"),
        G(Opcode.ASlice, 3, 1, "a new array of the elements of array S[-3] from index S[-2] up to (not including) S[-1]; IndexError outside"),
        I(Opcode.AIndexOf, 2, 1, "int: the first index of S[-1] in array S[-2], or -1 (strings by content, floats by ==, references by identity)"),
        I(Opcode.AReverse, 1, 0, "reverse array S[-1] in place"),
        G(Opcode.FuncRef, 0, 1, "push a function value (a closure without environment) calling function a, of type fn(a's parameters) -> a's return", OperandKind.Function),
        G(Opcode.Closure, 1, 1, "pop an environment of a's first parameter type and push a closure calling a with it, of type fn(a's other parameters) -> a's return", OperandKind.Function),
        G(Opcode.CallClosure, -1, -1, "call the function value below the arguments, of function type T[a]: pop the arguments and the closure, push the result unless void; NullError when it is null", OperandKind.Type),
        G(Opcode.ARepeat, 2, 1, "a new array of the elements of array S[-2], S[-1] times over; ValueError when S[-1] is negative, OutOfMemoryError when it is too large"),
    ];

    /// <summary>The bytes an operand of this kind takes in the encoding.</summary>
    public static int Width(OperandKind kind) => kind switch
    {
        OperandKind.Local => 2,
        OperandKind.Int64 or OperandKind.Float64 => 8,
        _ => 4,
    };

    /// <summary>Encoded size of an instruction with this opcode, opcode byte included.</summary>
    public int Size { get; } = EncodedSize(Operands);

    /// <summary>The byte offset of operand <paramref name="k"/> from the instruction's opcode byte.</summary>
    public int OperandOffset(int k)
    {
        int offset = 1;
        for (int i = 0; i < k; i++) offset += Width(Operands[i]);
        return offset;
    }

    /// <summary>Reads an operand of this kind at <paramref name="at"/>: a local and every u32 kind zero-extended,
    /// an int or float's 8 bytes as they are.</summary>
    public static long ReadOperand(ReadOnlySpan<byte> code, int at, OperandKind kind) => Width(kind) switch
    {
        2 => BinaryPrimitives.ReadUInt16LittleEndian(code[at..]),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(code[at..]),
        _ => BinaryPrimitives.ReadInt64LittleEndian(code[at..]),
    };

    /// <summary>Writes an operand of this kind at <paramref name="at"/>; a value that does not fit its width is an
    /// <see cref="OverflowException"/> (a bug of the code that emits it).</summary>
    public static void WriteOperand(Span<byte> code, int at, OperandKind kind, long value)
    {
        switch (Width(kind))
        {
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(code[at..], checked((ushort)value)); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(code[at..], checked((uint)value)); break;
            default: BinaryPrimitives.WriteInt64LittleEndian(code[at..], value); break;
        }
    }

    private static int EncodedSize(OperandKind[] operands)
    {
        int size = 1;
        foreach (var kind in operands) size += Width(kind);
        return size;
    }

    /// <summary>Looks an opcode up by its mnemonic (the disassembler's spelling).</summary>
    public static OpcodeInfo? ByName(string name) => ByNameTable.Value.GetValueOrDefault(name);

    private static readonly Lazy<Dictionary<string, OpcodeInfo>> ByNameTable = new(() => All.ToDictionary(i => i.Name));

    /// <summary>The row for an opcode byte, or null when the byte is no opcode.</summary>
    public static OpcodeInfo? Of(byte op) => op < All.Length ? All[op] : null;

    static OpcodeInfo()
    {
        for (int i = 0; i < All.Length; i++)
        {
            if ((int)All[i].Op != i) throw new InvalidOperationException($"opcode table out of order at {All[i].Op}");
            // (A loop: LINQ over the enum would be compiled at run time, at every start.)
            var operands = All[i].Operands;
            bool later = false;
            for (int k = 1; k < operands.Length; k++) later |= operands[k] == OperandKind.Target;
            bool target = operands.Length > 0 && operands[0] == OperandKind.Target;
            if (target != All[i].HasTarget || later)
                throw new InvalidOperationException($"opcode table: {All[i].Op} has a target operand but no jump's flow, or the reverse");
        }
    }
}
