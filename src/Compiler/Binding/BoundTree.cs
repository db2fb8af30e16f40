using Hlvm.Runtime.Bytecode;

namespace Hlvm.Compiler.Binding;

// The bound tree: the program after names are resolved and types checked. Every expression carries its type;
// operators are already resolved to the opcode that implements them. A tree with errors is never emitted.

/// <summary>Types the compiler uses beyond the VM's: the type of an expression that already has an error.</summary>
public static class Types
{
    /// <summary>Given to expressions that failed to bind, so that one error does not cascade into many.</summary>
    public static readonly VmType Error = new((TypeKind)0xFF);

    public static bool IsError(this VmType t) =>
        (int)t.Kind == 0xFF || (t.Element?.IsError() ?? false) || (t.Params?.Any(p => p.IsError()) ?? false);
}

/// <summary>What declared a variable, for messages about assigning it.</summary>
public enum VariableRole { Let, Parameter, LoopVariable, CaughtError, Hidden }

public static class VariableRoles
{
    public static string Describe(this VariableRole role) => role switch
    {
        VariableRole.Parameter => "the parameter",
        VariableRole.LoopVariable => "the loop variable",
        VariableRole.CaughtError => "the caught error",
        _ => "the variable",
    };
}

/// <summary>A local variable or parameter, with the slot the emitter gives it.</summary>
public sealed class LocalSymbol(string name, VmType type, bool mutable, int slot, FunctionSymbol owner)
{
    public string Name { get; } = name;

    /// <summary>The variable's type. Only a lambda's environment parameter has its type set late, when the first
    /// variable is captured (or at the end of the lambda, when none is).</summary>
    public VmType Type { get; set; } = type;

    public bool Mutable { get; } = mutable;
    public int Slot { get; } = slot;

    /// <summary>What declared it (immutable variables other than `let` ones are described by their role).</summary>
    public VariableRole Role { get; init; }

    /// <summary>The function whose frame holds the variable.</summary>
    public FunctionSymbol Owner { get; } = owner;

    /// <summary>
    /// Set when a lambda captures this variable and it is mutable: the slot then holds a cell (an object of this
    /// class with one field, the value), shared by the function and every closure that captured it. Immutable
    /// variables are captured by copying their value.
    /// </summary>
    public ClassSymbol? Cell { get; set; }

    /// <summary>True once the variable is read (a variable never read gets a warning).</summary>
    public bool Used { get; set; }

    /// <summary>The type of the slot: the cell's when there is one.</summary>
    public VmType SlotType => Cell?.Type ?? Type;
}

/// <summary>A class or an interface of the program, with its layout as the VM will compute it.</summary>
public sealed class ClassSymbol(string name, int index, bool isInterface)
{
    public string Name { get; } = name;
    public int Index { get; } = index;
    public bool IsInterface { get; } = isInterface;
    public ClassSymbol? Super { get; set; }

    /// <summary>How many superclasses are above this class (0 for a class without one).</summary>
    public int Depth { get; set; }
    public List<ClassSymbol> Interfaces { get; } = [];

    /// <summary>Every field, inherited ones first; a field's index in this list is its index in the layout.</summary>
    public List<FieldSymbol> Fields { get; } = [];

    /// <summary>Every method slot, inherited ones first (an override takes its slot).</summary>
    public List<MethodSymbol> VTable { get; } = [];

    /// <summary>The methods this class declares (new ones and overrides).</summary>
    public List<MethodSymbol> OwnMethods { get; } = [];

    /// <summary>An interface's methods: signatures only.</summary>
    public List<SignatureSymbol> Signatures { get; } = [];

    public FunctionSymbol? Constructor { get; set; }

    /// <summary>True once fields, methods and the constructor are declared.</summary>
    public bool Resolved { get; set; }

    public VmType Type => VmType.ObjectOf(Index);

    /// <summary>True when this class is <paramref name="other"/>, derives from it, or implements it.</summary>
    public bool IsA(ClassSymbol other)
    {
        for (var c = this; c is not null; c = c.Super)
        {
            if (c == other || c.Interfaces.Contains(other)) return true;
        }
        return false;
    }
}

public sealed record FieldSymbol(string Name, VmType Type, int Index, bool Mutable, ClassSymbol Owner, bool HasInitializer);

public sealed record MethodSymbol(string Name, FunctionSymbol Function, int Slot, ClassSymbol Owner);

/// <summary>A function of the program.</summary>
public sealed class FunctionSymbol(string name, VmType[] parameters, string[] parameterNames, VmType returnType, int index)
{
    public string Name { get; } = name;
    public VmType[] Parameters { get; } = parameters;
    public string[] ParameterNames { get; } = parameterNames;
    /// <summary>The return type; a lambda with an expression body gets it once the body is bound.</summary>
    public VmType Return { get; set; } = returnType;
    public int Index { get; } = index;
    public List<LocalSymbol> Locals { get; } = [];

    /// <summary>The file the function comes from, when it is not the program's root file.</summary>
    public string? SourceFile { get; init; }

    /// <summary>For a lambda: the class of its environment (the captured variables), once it captures one.</summary>
    public ClassSymbol? Env { get; set; }

    /// <summary>For a lambda: the variables of enclosing functions it captured, in the order of its environment's
    /// fields.</summary>
    public List<LocalSymbol> Captures { get; } = [];
}

public abstract record BoundNode(int Line);

// ------------------------------------------------------------------------------------------------ expressions

public abstract record BoundExpr(int Line, VmType Type) : BoundNode(Line);

public sealed record BoundConst(int Line, VmType Type, long Bits) : BoundExpr(Line, Type);

public sealed record BoundString(int Line, string Value) : BoundExpr(Line, VmType.String);

public sealed record BoundLocal(int Line, LocalSymbol Local) : BoundExpr(Line, Local.Type);

/// <summary>The raw contents of a local's slot: the cell itself for a captured mutable variable.</summary>
public sealed record BoundSlot(int Line, LocalSymbol Local) : BoundExpr(Line, Local.SlotType);

/// <summary>
/// A function value: a reference to <paramref name="Function"/>, which is a top-level function (no environment)
/// or a lambda, whose environment is a new object of its <see cref="FunctionSymbol.Env"/> class holding
/// <paramref name="Captured"/> (or null when it captures nothing).
/// </summary>
public sealed record BoundLambda(int Line, VmType Type, FunctionSymbol Function, bool IsLambda, BoundExpr[] Captured) : BoundExpr(Line, Type);

/// <summary>A call of a function value of type <paramref name="FuncType"/>.</summary>
public sealed record BoundCallClosure(int Line, VmType Type, VmType FuncType, BoundExpr Callee, BoundExpr[] Args) : BoundExpr(Line, Type);

/// <summary>An operator implemented by one opcode: unary when <paramref name="Right"/> is null.</summary>
public sealed record BoundOp(int Line, VmType Type, Opcode Op, BoundExpr Left, BoundExpr? Right) : BoundExpr(Line, Type);

/// <summary>An operation implemented by one opcode, with any number of operands pushed in order.</summary>
public sealed record BoundOpN(int Line, VmType Type, Opcode Op, BoundExpr[] Operands) : BoundExpr(Line, Type);

/// <summary><c>&amp;&amp;</c> or <c>||</c>: the right side runs only when needed.</summary>
public sealed record BoundLogical(int Line, bool IsAnd, BoundExpr Left, BoundExpr Right) : BoundExpr(Line, VmType.Bool);

public sealed record BoundCall(int Line, FunctionSymbol Function, BoundExpr[] Args) : BoundExpr(Line, Function.Return);

public sealed record BoundNativeCall(int Line, string Native, VmType[] Params, VmType Return, BoundExpr[] Args) : BoundExpr(Line, Return);

public sealed record BoundIndex(int Line, VmType Type, BoundExpr Array, BoundExpr Index) : BoundExpr(Line, Type);

public sealed record BoundMapLiteral(int Line, VmType Type, (BoundExpr Key, BoundExpr Value)[] Entries) : BoundExpr(Line, Type);

/// <summary><c>m.get(k, d)</c> (or <c>m.get(k)</c> with a null default): the value of k, or the default.</summary>
public sealed record BoundMapGetOr(int Line, VmType Type, BoundExpr Map, BoundExpr Key, BoundExpr Default) : BoundExpr(Line, Type);

public sealed record BoundArrayLiteral(int Line, VmType Type, BoundExpr[] Elements) : BoundExpr(Line, Type);

/// <summary>String interpolation: the parts, each already a string, joined in order.</summary>
public sealed record BoundConcat(int Line, BoundExpr[] Parts) : BoundExpr(Line, VmType.String);

public sealed record BoundError(int Line) : BoundExpr(Line, Types.Error);

public sealed record BoundNull(int Line) : BoundExpr(Line, VmType.Null);

/// <summary><c>Name(args)</c>: a new instance, initialized by the class's constructor.</summary>
public sealed record BoundNew(int Line, ClassSymbol Class, BoundExpr[] Args) : BoundExpr(Line, Class.Type);

public sealed record BoundGetField(int Line, VmType Type, BoundExpr Target, ClassSymbol Class, int Field) : BoundExpr(Line, Type);

/// <summary>A call chosen by the receiver's class: through the method table, or an interface's.</summary>
public sealed record BoundCallMethod(int Line, VmType Type, BoundExpr Receiver, ClassSymbol Class, int Slot, BoundExpr[] Args) : BoundExpr(Line, Type);

/// <summary>A value of a nullable type known not to be null here (the VM checks it).</summary>
public sealed record BoundNonNull(int Line, VmType Type, BoundExpr Operand) : BoundExpr(Line, Type);

/// <summary>A downcast (or upcast) to a class or interface, checked at run time.</summary>
public sealed record BoundCast(int Line, VmType Type, BoundExpr Operand, ClassSymbol Class) : BoundExpr(Line, Type);

/// <summary>The value on top of the stack, inside <see cref="BoundIfNotNull"/>'s <c>Access</c>.</summary>
public sealed record BoundStackValue(int Line, VmType Type) : BoundExpr(Line, Type);

/// <summary>
/// Evaluates <paramref name="Target"/>; when it is not null, <paramref name="Access"/> with it (as a
/// <see cref="BoundStackValue"/>); otherwise <paramref name="Fallback"/>, or null, or nothing when the type is void.
/// <c>a?.b</c>, <c>a ?? b</c> and the printing of nullable values are all this.
/// </summary>
public sealed record BoundIfNotNull(int Line, VmType Type, BoundExpr Target, BoundExpr Access, BoundExpr? Fallback) : BoundExpr(Line, Type);

// ------------------------------------------------------------------------------------------------ statements

public abstract record BoundStmt(int Line) : BoundNode(Line);

public sealed record BoundBlock(int Line, BoundStmt[] Statements) : BoundStmt(Line);

public sealed record BoundExprStmt(int Line, BoundExpr Expr) : BoundStmt(Line);

/// <summary>Writes a local: a <c>let</c>/<c>var</c> initializer or an assignment.</summary>
public sealed record BoundStore(int Line, LocalSymbol Local, BoundExpr Value, bool Declares = false) : BoundStmt(Line);

public sealed record BoundSetField(int Line, BoundExpr Target, ClassSymbol Class, int Field, BoundExpr Value) : BoundStmt(Line);

public sealed record BoundIndexStore(int Line, BoundExpr Array, BoundExpr Index, BoundExpr Value) : BoundStmt(Line);

public sealed record BoundMapSet(int Line, BoundExpr Map, BoundExpr Key, BoundExpr Value) : BoundStmt(Line);

public sealed record BoundPush(int Line, BoundExpr Array, BoundExpr Value) : BoundStmt(Line);

public sealed record BoundIf(int Line, BoundExpr Condition, BoundStmt Then, BoundStmt? Else) : BoundStmt(Line);

public sealed record BoundWhile(int Line, BoundExpr Condition, BoundStmt Body) : BoundStmt(Line);

/// <summary><c>for v in from..to</c>: <paramref name="End"/> holds the bound, evaluated once.</summary>
public sealed record BoundForRange(int Line, LocalSymbol Variable, LocalSymbol End, BoundExpr From, BoundExpr To, BoundStmt Body) : BoundStmt(Line);

/// <summary><c>for v in array</c>: iterates by index over the array held in <paramref name="Array"/>.</summary>
public sealed record BoundForEach(int Line, LocalSymbol Variable, LocalSymbol Array, LocalSymbol Index, BoundExpr Source, BoundStmt Body) : BoundStmt(Line);

public sealed record BoundBreak(int Line) : BoundStmt(Line);

/// <summary>One <c>catch v: Class { ... }</c> of a try.</summary>
public sealed record BoundCatch(LocalSymbol Variable, ClassSymbol Class, BoundBlock Body);

public sealed record BoundTry(int Line, BoundBlock Body, BoundCatch[] Catches, BoundBlock? Finally) : BoundStmt(Line);

public sealed record BoundThrow(int Line, BoundExpr Value) : BoundStmt(Line);

public sealed record BoundContinue(int Line) : BoundStmt(Line);

public sealed record BoundReturn(int Line, BoundExpr? Value) : BoundStmt(Line);

public sealed record BoundFunction(FunctionSymbol Symbol, BoundBlock Body, int Line);

/// <summary>The bound program: its functions (in index order) and its classes (in index order).</summary>
public sealed record BoundProgram(List<BoundFunction> Functions, List<ClassSymbol> Classes);

/// <summary>A method an interface declares. (A class rather than a tuple: the framework's collections over a value
/// type are its generic code, which ReadyToRun can't hold and .NET compiled at every compile.)</summary>
public sealed record SignatureSymbol(string Name, VmType[] Params, string[] ParamNames, VmType Return);
