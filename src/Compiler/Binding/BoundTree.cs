using Hlvm.Runtime.Bytecode;

namespace Hlvm.Compiler.Binding;

// The bound tree: the program after names are resolved and types checked. Every expression carries its type;
// operators are already resolved to the opcode that implements them. A tree with errors is never emitted.

/// <summary>Types the compiler uses beyond the VM's: the type of an expression that already has an error.</summary>
public static class Types
{
    /// <summary>Given to expressions that failed to bind, so that one error does not cascade into many.</summary>
    public static readonly VmType Error = new((TypeKind)0xFF);

    public static bool IsError(this VmType t) => (int)t.Kind == 0xFF || (t.Element?.IsError() ?? false);
}

/// <summary>A local variable or parameter, with the slot the emitter gives it.</summary>
public sealed class LocalSymbol(string name, VmType type, bool mutable, int slot)
{
    public string Name { get; } = name;
    public VmType Type { get; } = type;
    public bool Mutable { get; } = mutable;
    public int Slot { get; } = slot;
}

/// <summary>A function of the program.</summary>
public sealed class FunctionSymbol(string name, VmType[] parameters, string[] parameterNames, VmType returnType, int index)
{
    public string Name { get; } = name;
    public VmType[] Parameters { get; } = parameters;
    public string[] ParameterNames { get; } = parameterNames;
    public VmType Return { get; } = returnType;
    public int Index { get; } = index;
    public List<LocalSymbol> Locals { get; } = [];
}

public abstract record BoundNode(int Line);

// ------------------------------------------------------------------------------------------------ expressions

public abstract record BoundExpr(int Line, VmType Type) : BoundNode(Line);

public sealed record BoundConst(int Line, VmType Type, long Bits) : BoundExpr(Line, Type);

public sealed record BoundString(int Line, string Value) : BoundExpr(Line, VmType.String);

public sealed record BoundLocal(int Line, LocalSymbol Local) : BoundExpr(Line, Local.Type);

/// <summary>An operator implemented by one opcode: unary when <paramref name="Right"/> is null.</summary>
public sealed record BoundOp(int Line, VmType Type, Opcode Op, BoundExpr Left, BoundExpr? Right) : BoundExpr(Line, Type);

/// <summary><c>&amp;&amp;</c> or <c>||</c>: the right side runs only when needed.</summary>
public sealed record BoundLogical(int Line, bool IsAnd, BoundExpr Left, BoundExpr Right) : BoundExpr(Line, VmType.Bool);

public sealed record BoundCall(int Line, FunctionSymbol Function, BoundExpr[] Args) : BoundExpr(Line, Function.Return);

public sealed record BoundNativeCall(int Line, string Native, VmType[] Params, VmType Return, BoundExpr[] Args) : BoundExpr(Line, Return);

public sealed record BoundIndex(int Line, VmType Type, BoundExpr Array, BoundExpr Index) : BoundExpr(Line, Type);

public sealed record BoundArrayLiteral(int Line, VmType Type, BoundExpr[] Elements) : BoundExpr(Line, Type);

/// <summary>String interpolation: the parts, each already a string, joined in order.</summary>
public sealed record BoundConcat(int Line, BoundExpr[] Parts) : BoundExpr(Line, VmType.String);

public sealed record BoundError(int Line) : BoundExpr(Line, Types.Error);

// ------------------------------------------------------------------------------------------------ statements

public abstract record BoundStmt(int Line) : BoundNode(Line);

public sealed record BoundBlock(int Line, BoundStmt[] Statements) : BoundStmt(Line);

public sealed record BoundExprStmt(int Line, BoundExpr Expr) : BoundStmt(Line);

/// <summary>Writes a local: a <c>let</c>/<c>var</c> initializer or an assignment.</summary>
public sealed record BoundStore(int Line, LocalSymbol Local, BoundExpr Value) : BoundStmt(Line);

public sealed record BoundIndexStore(int Line, BoundExpr Array, BoundExpr Index, BoundExpr Value) : BoundStmt(Line);

public sealed record BoundPush(int Line, BoundExpr Array, BoundExpr Value) : BoundStmt(Line);

public sealed record BoundIf(int Line, BoundExpr Condition, BoundStmt Then, BoundStmt? Else) : BoundStmt(Line);

public sealed record BoundWhile(int Line, BoundExpr Condition, BoundStmt Body) : BoundStmt(Line);

/// <summary><c>for v in from..to</c>: <paramref name="End"/> holds the bound, evaluated once.</summary>
public sealed record BoundForRange(int Line, LocalSymbol Variable, LocalSymbol End, BoundExpr From, BoundExpr To, BoundStmt Body) : BoundStmt(Line);

/// <summary><c>for v in array</c>: iterates by index over the array held in <paramref name="Array"/>.</summary>
public sealed record BoundForEach(int Line, LocalSymbol Variable, LocalSymbol Array, LocalSymbol Index, BoundExpr Source, BoundStmt Body) : BoundStmt(Line);

public sealed record BoundBreak(int Line) : BoundStmt(Line);

public sealed record BoundContinue(int Line) : BoundStmt(Line);

public sealed record BoundReturn(int Line, BoundExpr? Value) : BoundStmt(Line);

public sealed record BoundFunction(FunctionSymbol Symbol, BoundBlock Body, int Line);
