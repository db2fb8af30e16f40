using System.Globalization;
using System.Text;
using Antlr4.Runtime;
using Antlr4.Runtime.Tree;
using Hlvm.Compiler.Diagnostics;
using Hlvm.Compiler.Syntax;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Natives;
using static Hlvm.Compiler.Syntax.HlParser;

namespace Hlvm.Compiler.Binding;

/// <summary>
/// Resolves names and checks types over the parse tree, producing the bound tree. It reports every error it
/// finds and keeps going: an expression that fails to bind gets the error type, and operations on the error type
/// report nothing more, so one mistake gives one message.
/// </summary>
public sealed partial class Binder
{
    private SourceText _source = null!;
    private readonly DiagnosticBag _diagnostics;
    private List<Dictionary<string, LocalSymbol>> _scopes = [];
    private FunctionSymbol? _function;
    private int _loopDepth;

    /// <summary>Functions the language provides without an import; they compile to natives.</summary>
    private static readonly HashSet<string> Builtins = ["print", "println", "eprint", "eprintln", "readLine", "readAll"];

    private Binder(DiagnosticBag diagnostics)
    {
        _diagnostics = diagnostics;
    }

    /// <summary>
    /// Binds a whole program: its root module (the first of <paramref name="modules"/>, whose main runs) and the
    /// modules it imports. The result is meaningful only when no error was reported.
    /// </summary>
    /// <param name="templates">the array methods written in the language (stdlib/array.hl)</param>
    public static BoundProgram BindProgram(SourceModule prelude, SourceModule templates, IReadOnlyList<SourceModule> modules, DiagnosticBag diagnostics)
    {
        var binder = new Binder(diagnostics);
        return binder.Bind(prelude, templates, modules);
    }

    // -------------------------------------------------------------------------------------------- reporting

    private void Error(IToken token, string message, int length = 0) =>
        _diagnostics.Add(new Diagnostic(Severity.Error, _source, token.Line, token.Column + 1, message,
            length > 0 ? length : Math.Max(1, token.Text?.Length ?? 1)));

    private void Error(ParserRuleContext ctx, string message)
    {
        int length = ctx.Stop != null && ctx.Stop.Line == ctx.Start.Line ? ctx.Stop.StopIndex - ctx.Start.StartIndex + 1 : ctx.Start.Text.Length;
        Error(ctx.Start, message, length);
    }

    private static int LineOf(ParserRuleContext ctx) => ctx.Start.Line;

    /// <summary>The expression as a bare name, or null.</summary>
    private static NameExprContext? AsName(ExprContext e) => (e as PrimaryExprContext)?.primary() as NameExprContext;

    /// <summary>The object of a field access or method call: `self` there is not a use of self as a value.</summary>
    private BoundExpr BindTarget(ExprContext e) => IsSelf(e) && InMethod ? SelfExpr(LineOf(e)) : BindValue(e, null);

    // -------------------------------------------------------------------------------------------- declarations

    private BoundProgram Bind(SourceModule prelude, SourceModule templates, IReadOnlyList<SourceModule> modules)
    {
        var preludeUnit = new Unit(prelude);
        _templates = new Unit(templates);
        var units = modules.Select(m => new Unit(m)).ToList();
        _root = units[0];
        // The prelude's classes (Error and its subclasses) come first, so every program numbers them alike; every
        // module sees them.
        DeclareClasses(preludeUnit);
        foreach (var (name, c) in preludeUnit.Classes) _templates.Classes[name] = c;
        foreach (var unit in units)
        {
            foreach (var (name, c) in preludeUnit.Classes) unit.Classes[name] = c;
            DeclareClasses(unit);
        }
        // Imports before functions and constants: their signatures and types may name an imported class.
        BindImports(units);
        var bodies = new List<Func<BoundFunction>>();
        foreach (var unit in units)
        {
            Switch(unit);
            foreach (var decl in unit.Module.Tree.topDecl().Select(d => d.functionDecl()).Where(f => f is not null))
            {
                if (DeclareFunction(decl) is { } symbol) bodies.Add(InUnit(unit, () => BindFunction(decl, symbol, null)));
            }
        }
        foreach (var unit in units)
        {
            Switch(unit);
            foreach (var decl in unit.Module.Tree.topDecl().Select(d => d.constDecl()).Where(c => c is not null)) DeclareConstant(decl);
        }
        foreach (var c in _classList.ToList()) ResolveClass(c, bodies);
        Switch(units[0]);
        CheckMain(units[0].Module.Tree.topDecl().Select(d => d.functionDecl()).Where(f => f is not null).ToList());
        var result = bodies.Select(bind => bind()).ToList();
        BindInstances(result);
        result.AddRange(_lambdas); // bound along with the functions that contain them
        result.Sort((a, b) => a.Symbol.Index.CompareTo(b.Symbol.Index));
        return new BoundProgram(result, _classList);
    }

    private void DeclareClasses(Unit unit)
    {
        Switch(unit);
        foreach (var d in unit.Module.Tree.topDecl())
        {
            if (d.classDecl() is { } c) DeclareClass(c.name, c.PUB(), isInterface: false, c);
            if (d.interfaceDecl() is { } i) DeclareClass(i.name, i.PUB(), isInterface: true, i);
        }
    }

    /// <summary>A binding step that runs in <paramref name="unit"/>'s names, whatever the current module is then.</summary>
    private Func<T> InUnit<T>(Unit unit, Func<T> step) => () =>
    {
        Switch(unit);
        return step();
    };

    private void CheckMain(List<FunctionDeclContext> decls)
    {
        if (!_functions.TryGetValue("main", out var main))
        {
            // A function spelled nearly so (Main, mian) is named: names are case-sensitive.
            string near = Suggest("main", decls.Select(d => d.name.Text));
            _diagnostics.Add(new Diagnostic(Severity.Error, _source, 1, 1,
                near != "" ? $"the program has no 'main' function{near}" : "the program has no 'main' function; add `fn main() { ... }`"));
            return;
        }
        var decl = decls.First(d => d.name.Text == "main");
        bool okParams = main.Parameters.Length == 0 || (main.Parameters.Length == 1 && main.Parameters[0] == VmType.ArrayOf(VmType.String));
        bool okReturn = main.Return == VmType.Void || main.Return == VmType.Int;
        if (!okParams || !okReturn)
            Error(decl.name, "'main' must be declared as `fn main()` or `fn main(args: [string])`, optionally returning int");
    }

    /// <summary>Every function of the program in index order: top-level functions, constructors and methods.</summary>
    private readonly List<FunctionSymbol> _allFunctions = [];

    private FunctionSymbol NewFunction(string name, VmType[] parameters, string[] names, VmType ret)
    {
        var f = new FunctionSymbol(name, parameters, names, ret, _allFunctions.Count) { SourceFile = _unit == _root ? null : _unit.Module.File };
        _allFunctions.Add(f);
        return f;
    }

    /// <summary>The parameters of a declaration, bound, with duplicates reported.</summary>
    private (VmType[] types, string[] names) BindParams(ParamListContext? list)
    {
        var ps = list?.param() ?? [];
        var types = ps.Select(p => BindType(p.type())).ToArray();
        var names = ps.Select(p => p.ID().GetText()).ToArray();
        for (int i = 0; i < names.Length; i++)
        {
            if (Array.IndexOf(names, names[i]) != i) Error(ps[i].ID().Symbol, $"parameter '{names[i]}' is declared twice");
            if (names[i] == "self") Error(ps[i].ID().Symbol, "'self' is the receiver of a method and cannot name a parameter");
        }
        return (types, names);
    }

    private FunctionSymbol? DeclareFunction(FunctionDeclContext decl)
    {
        string name = decl.name.Text;
        if (decl.PUB() != null) _unit.Public.Add(name);
        if (Builtins.Contains(name)) { Error(decl.name, $"'{name}' is a built-in function and cannot be redefined"); return null; }
        if (_functions.ContainsKey(name)) { Error(decl.name, $"function '{name}' is already defined"); return null; }
        if (_unit.Imports.ContainsKey(name)) { Error(decl.name, $"'{name}' is already the name of an imported module"); return null; }
        if (_classes.ContainsKey(name)) { Error(decl.name, $"'{name}' is already the name of a class"); return null; }
        var (types, names) = BindParams(decl.paramList());
        var ret = decl.returnType is null ? VmType.Void : BindType(decl.returnType);
        var symbol = NewFunction(_unit.Prefix + name, types, names, ret);
        _functions[name] = symbol;
        _functionUnit[symbol] = _unit;
        return symbol;
    }

    /// <summary>Binds the body of a function, a method (<paramref name="owner"/> set) or a constructor.</summary>
    private BoundFunction BindFunction(ParserRuleContext decl, FunctionSymbol symbol, ClassSymbol? owner, BlockContext? block = null, Func<BoundStmt[]>? prologue = null, int prologueAt = 0)
    {
        _function = symbol;
        _class = owner;
        _scopes.Clear();
        _scopes.Add([]);
        _narrowed.Clear();
        _assignedByLambdas = NamesAssignedInLambdas(decl);
        for (int i = 0; i < symbol.Parameters.Length; i++)
        {
            var local = NewLocal(symbol.ParameterNames[i], symbol.Parameters[i], mutable: false, VariableRole.Parameter);
            _scopes[0].TryAdd(local.Name, local);
        }
        _self = owner is not null && symbol.ParameterNames is ["self", ..] ? symbol.Locals[0] : null;
        block ??= ((FunctionDeclContext)decl).block();
        var before = prologue?.Invoke() ?? [];
        var body = BindBlock(block);
        if (before.Length > 0) body = body with { Statements = [.. body.Statements.Take(prologueAt), .. before, .. body.Statements.Skip(prologueAt)] };
        if (symbol.Return != VmType.Void && !symbol.Return.IsError() && !AlwaysReturns(body))
            Error(block.Stop, $"function '{symbol.Name}' must return {N(symbol.Return)}, but its end can be reached without a return");
        _function = null;
        _class = null;
        _self = null;
        return new BoundFunction(symbol, body, LineOf(decl));
    }

    private LocalSymbol NewLocal(string name, VmType type, bool mutable, VariableRole role = VariableRole.Hidden)
    {
        var local = new LocalSymbol(name, type, mutable, _function!.Locals.Count, _function) { Role = role };
        _function.Locals.Add(local);
        return local;
    }

    private LocalSymbol Declare(IToken nameToken, VmType type, bool mutable, VariableRole role)
    {
        string name = nameToken.Text;
        var local = NewLocal(name, type, mutable, role);
        if (!_scopes[^1].TryAdd(name, local)) Error(nameToken, $"'{name}' is already declared in this scope");
        return local;
    }

    /// <summary>True when no path through the statement reaches its end: the rule the verifier will enforce.</summary>
    private static bool AlwaysReturns(BoundStmt stmt) => stmt switch
    {
        BoundReturn or BoundThrow => true,
        BoundBlock b => b.Statements.Any(AlwaysReturns),
        // A finally that always throws ends every path through the try (it can't return: that is an error).
        BoundTry t => (AlwaysReturns(t.Body) && t.Catches.All(c => AlwaysReturns(c.Body))) || (t.Finally is not null && AlwaysReturns(t.Finally)),
        BoundIf i => i.Else is not null && AlwaysReturns(i.Then) && AlwaysReturns(i.Else),
        BoundWhile w => IsTrue(w.Condition) && !ContainsBreak(w.Body),
        _ => false,
    };

    internal static bool IsTrue(BoundExpr e) => e is BoundConst { Type.Kind: TypeKind.Bool, Bits: 1 };

    private static bool ContainsBreak(BoundStmt stmt) => stmt switch
    {
        BoundBreak => true,
        BoundBlock b => b.Statements.Any(ContainsBreak),
        BoundIf i => ContainsBreak(i.Then) || (i.Else is not null && ContainsBreak(i.Else)),
        BoundTry t => ContainsBreak(t.Body) || t.Catches.Any(c => ContainsBreak(c.Body)) || (t.Finally is not null && ContainsBreak(t.Finally)),
        _ => false, // a break inside a nested loop belongs to that loop
    };

    // -------------------------------------------------------------------------------------------- types

    private VmType BindType(TypeContext ctx, int depth = 0)
    {
        switch (ctx)
        {
            case NamedTypeContext named when _typeArguments is not null && named.typeName().module is null
                && _typeArguments.TryGetValue(named.typeName().name.Text, out var argument):
                return argument;
            case NamedTypeContext named:
                switch (named.typeName().module is null ? named.typeName().name.Text : null)
                {
                    case "int": return VmType.Int;
                    case "float": return VmType.Float;
                    case "bool": return VmType.Bool;
                    case "string": return VmType.String;
                    default:
                        return ClassNamed(named.typeName())?.Type ?? Types.Error;
                }
            case MapTypeContext map:
                {
                    var key = BindType(map.key, depth + 1);
                    var value = BindType(map.value, depth + 1);
                    if (key.IsError() || value.IsError()) return Types.Error;
                    if (!VmType.IsMapKey(key))
                    {
                        Error(map.key, $"a map cannot be keyed by {N(key)}: keys are int, bool or string");
                        return Types.Error;
                    }
                    return VmType.MapOf(key, value);
                }
            case NullableTypeContext nullable:
                {
                    var inner = BindType(nullable.type(), depth + 1);
                    if (inner.IsError()) return inner;
                    if (!inner.IsReference)
                    {
                        Error(nullable, $"{N(inner)} cannot be nullable: only strings, arrays, maps, functions and objects can be null");
                        return Types.Error;
                    }
                    if (inner.Nullable) Error(nullable.QUESTION().Symbol, "the type is already nullable");
                    return inner.AsNullable();
                }
            case ParenTypeContext paren: return BindType(paren.type(), depth);
            case FuncTypeContext fn:
                {
                    if (depth >= VmType.MaxDepth)
                    {
                        Error(fn, $"types may nest at most {VmType.MaxDepth} deep");
                        return Types.Error;
                    }
                    var types = fn.type();
                    var ps = (fn.returnType is null ? types : types[..^1]).Select(t => BindType(t, depth + 1)).ToArray();
                    var ret = fn.returnType is null ? VmType.Void : BindType(fn.returnType, depth + 1);
                    if (ps.Length > VmType.MaxParams) Error(fn, $"a function type may have at most {VmType.MaxParams} parameters");
                    return ps.Any(p => p.IsError()) || ret.IsError() || ps.Length > VmType.MaxParams ? Types.Error : VmType.FuncOf(ps, ret);
                }
            case ArrayTypeContext array:
                if (depth >= VmType.MaxDepth)
                {
                    Error(array, $"array types may nest at most {VmType.MaxDepth} deep");
                    return Types.Error;
                }
                var element = BindType(array.type(), depth + 1);
                return element.IsError() ? Types.Error : VmType.ArrayOf(element);
            default:
                return Types.Error;
        }
    }

    // -------------------------------------------------------------------------------------------- statements

    private BoundBlock BindBlock(BlockContext block)
    {
        _scopes.Add([]);
        var statements = new List<BoundStmt>();
        BindStatements(block.statement(), 0, statements);
        CheckUnused(_scopes[^1]);
        _scopes.RemoveAt(_scopes.Count - 1);
        return new BoundBlock(LineOf(block), [.. statements]);
    }

    /// <summary>
    /// Binds statements from <paramref name="start"/> on. After `if x == null { return }` (a branch that always
    /// leaves), x is not null in the statements that follow, unless they assign it.
    /// </summary>
    private void BindStatements(StatementContext[] statements, int start, List<BoundStmt> into)
    {
        for (int k = start; k < statements.Length; k++)
        {
            var bound = BindStatement(statements[k]);
            into.Add(bound);
            if (bound is BoundIf { Else: null } guard && AlwaysExits(guard.Then) && NonNullWhenFalse(guard.Condition).Any())
            {
                int next = k + 1;
                var assigned = LastAssignments(statements);
                WithNarrowed(NonNullWhenFalse(guard.Condition), name => assigned.TryGetValue(name, out int last) && last >= next, () =>
                {
                    BindStatements(statements, next, into);
                    return 0;
                });
                return;
            }
        }
    }

    private BoundStmt BindStatement(StatementContext ctx)
    {
        int line = LineOf(ctx);
        switch (ctx)
        {
            case LetStmtContext let:
                {
                    VmType? declared = let.type() is { } t ? BindType(t) : null;
                    var outerDeclaring = _declaring;
                    _declaring = let.ID().GetText();
                    var value = BindValue(let.expr(), declared);
                    _declaring = outerDeclaring;
                    if (declared is not null) value = Check(value, declared, let.expr(), "the variable's declared type is");
                    var type = declared ?? value.Type;
                    if (type.Kind == TypeKind.Null)
                    {
                        Error(let.expr(), $"cannot tell the variable's type from `null`; declare it, as in `{let.Start.Text} {let.ID().GetText()}: string? = null`");
                        type = Types.Error;
                    }
                    var local = Declare(let.ID().Symbol, type, let.Start.Type == HlLexer.VAR, VariableRole.Let);
                    _unusedCandidates[local] = let.ID().Symbol;
                    return new BoundStore(line, local, value, Declares: true);
                }
            case IfStmtContext ifs:
                {
                    var cond = BindCondition(ifs.expr(), "if");
                    var then = WithNarrowed(NonNullWhenTrue(cond), [ifs.body()], () => BindBody(ifs.body(), "if"));
                    BoundStmt? otherwise = null;
                    var whenFalse = NonNullWhenFalse(cond);
                    if (ifs.elseBody is BlockStmtContext elseBlock) otherwise = WithNarrowed(whenFalse, [elseBlock], () => BindBlock(elseBlock.block()));
                    else if (ifs.elseBody is IfStmtContext elseIf) otherwise = WithNarrowed(whenFalse, [elseIf], () => BindStatement(elseIf));
                    else if (ifs.elseBody is not null) Error(ifs.elseBody, "expected 'if' or '{' after 'else'");
                    return new BoundIf(line, cond, then, otherwise);
                }
            case WhileStmtContext w:
                {
                    ForgetNarrowingsAssignedIn(w);
                    var cond = BindCondition(w.expr(), "while");
                    _loopDepth++;
                    var body = InLoopBody(w.body(), NonNullWhenTrue(cond), () => BindBody(w.body(), "while"));
                    _loopDepth--;
                    return new BoundWhile(line, cond, body);
                }
            case ForStmtContext f: return BindFor(f);
            case BreakStmtContext b:
                if (_loopDepth == 0) Error(b, "'break' outside of a loop");
                else if (_finallyLoopDepth.Count > 0 && _finallyLoopDepth.Peek() == _loopDepth) Error(b, "'break' cannot leave a finally block");
                return new BoundBreak(line);
            case ContinueStmtContext c:
                if (_loopDepth == 0) Error(c, "'continue' outside of a loop");
                else if (_finallyLoopDepth.Count > 0 && _finallyLoopDepth.Peek() == _loopDepth) Error(c, "'continue' cannot leave a finally block");
                return new BoundContinue(line);
            case ReturnStmtContext r:
                if (_finallyDepth > 0) Error(r, "a finally block cannot return: it runs while the program is already leaving the try");
                return BindReturn(r);
            case TryStmtContext t: return BindTry(t);
            case ThrowStmtContext th:
                {
                    var value = BindValue(th.expr(), null);
                    var error = _classes["Error"].Type;
                    if (!value.Type.IsError() && !IsAssignable(value.Type, error))
                        Error(th.expr(), IsAssignable(value.Type.AsNonNullable(), error)
                            ? $"this error may be null ({N(value.Type)}); check it with `if e != null` first"
                            : $"only errors can be thrown: this is {N(value.Type)}, which does not derive from Error");
                    return new BoundThrow(line, value);
                }
            case BlockStmtContext b: return BindBlock(b.block());
            case AssignStmtContext a: return BindAssign(a);
            case ExprStmtContext e: return BindExprStatement(e.expr());
            default:
                Error(ctx, "unsupported statement");
                return new BoundBlock(line, []);
        }
    }

    /// <summary>The body of an if, while or for: a block, or (an error) a statement without braces.</summary>
    private BoundBlock BindBody(BodyContext body, string keyword)
    {
        if (body.statement() is BlockStmtContext block) return BindBlock(block.block());
        Error(body.Start, $"expected '{{' before {SyntaxParser.Describe(body.Start)}: the body of '{keyword}' is a block in braces, as in `{keyword} ... {{ ... }}`");
        _scopes.Add([]);
        var statement = BindStatement(body.statement());
        _scopes.RemoveAt(_scopes.Count - 1);
        return new BoundBlock(LineOf(body), [statement]);
    }

    private int _finallyDepth;

    /// <summary>The loop depth at each enclosing finally block: a break or continue there would leave it.</summary>
    private Stack<int> _finallyLoopDepth = new();

    private BoundStmt BindTry(TryStmtContext t)
    {
        int line = LineOf(t);
        var body = BindBlock(t.block(0));
        var errorClass = _classes["Error"];
        var catches = new List<BoundCatch>();
        foreach (var c in t.catchClause())
        {
            var type = c.type() is { } tc ? BindType(tc) : errorClass.Type;
            var cls = errorClass;
            if (!type.IsError())
            {
                if (type.Kind == TypeKind.Object && _classList[type.ClassIndex].IsInterface)
                    Error(c.type()!, $"'{N(type)}' is an interface: a catch names a class that derives from Error");
                else if (type.Kind == TypeKind.Object && type.Nullable && _classList[type.ClassIndex].IsA(errorClass))
                    Error(c.type()!, $"a caught error is never null: write `catch e: {N(type.AsNonNullable())}`");
                else if (type.Kind != TypeKind.Object || type.Nullable || !_classList[type.ClassIndex].IsA(errorClass))
                    Error(c.type()!, $"only errors can be caught: {N(type)} does not derive from Error");
                else cls = _classList[type.ClassIndex];
            }
            _scopes.Add([]);
            var variable = Declare(c.ID().Symbol, cls.Type, mutable: false, VariableRole.CaughtError);
            var handler = BindBlock(c.block());
            _scopes.RemoveAt(_scopes.Count - 1);
            catches.Add(new BoundCatch(variable, cls, handler));
        }
        BoundBlock? fin = null;
        if (t.finallyBlock is { } fb)
        {
            _finallyDepth++;
            _finallyLoopDepth.Push(_loopDepth);
            fin = BindBlock(fb);
            _finallyLoopDepth.Pop();
            _finallyDepth--;
        }
        if (catches.Count == 0 && fin is null) Error(t.TRY().Symbol, "a try needs at least one catch or a finally");
        return new BoundTry(line, body, [.. catches], fin);
    }

    private BoundStmt BindFor(ForStmtContext f)
    {
        int line = LineOf(f);
        var source = BindValue(f.expr(0), null);
        _scopes.Add([]);
        BoundStmt result;
        if (f.rangeEnd is not null)
        {
            source = Check(source, VmType.Int, f.expr(0), "a range's start must be");
            var end = Check(BindValue(f.rangeEnd, VmType.Int), VmType.Int, f.rangeEnd, "a range's end must be");
            var endLocal = NewLocal("$end", VmType.Int, mutable: false);
            var variable = Declare(f.ID().Symbol, VmType.Int, mutable: false, VariableRole.LoopVariable);
            result = new BoundForRange(line, variable, endLocal, source, end, BindLoopBody(f.body()));
        }
        else
        {
            if (source.Type.Kind == TypeKind.Map && !source.Type.Nullable)
                source = new BoundOp(source.Line, VmType.ArrayOf(source.Type.Key!), Opcode.MapKeys, source, null); // over its keys
            var elementType = Types.Error;
            if (source.Type.Kind is TypeKind.Array or TypeKind.Map && source.Type.Nullable)
                Error(f.expr(0), $"cannot loop over this: the value may be null ({N(source.Type)}); {CheckItFirst(f.expr(0))}");
            else if (source.Type.Kind == TypeKind.Array) elementType = source.Type.Element!;
            else if (!source.Type.IsError())
                Error(f.expr(0), $"'for ... in' needs an array, a map or a range `a..b`, but this is {N(source.Type)}"
                    + (source.Type.Kind == TypeKind.String ? $"; go over a string's characters by index: `for i in 0..{StringName(f.expr(0))}.len() {{ ... }}`, each `{StringName(f.expr(0))}[i]`" : ""));
            var arrayLocal = NewLocal("$array", source.Type.IsError() ? VmType.ArrayOf(VmType.Int) : source.Type, mutable: false);
            var indexLocal = NewLocal("$index", VmType.Int, mutable: true);
            var variable = Declare(f.ID().Symbol, elementType, mutable: false, VariableRole.LoopVariable);
            result = new BoundForEach(line, variable, arrayLocal, indexLocal, source, BindLoopBody(f.body()));
        }
        _scopes.RemoveAt(_scopes.Count - 1);
        return result;
    }

    private BoundBlock BindLoopBody(BodyContext block)
    {
        _loopDepth++;
        var body = InLoopBody(block, [], () => BindBody(block, "for"));
        _loopDepth--;
        return body;
    }

    private BoundStmt BindReturn(ReturnStmtContext r)
    {
        var fn = _function!;
        if (r.expr() is null)
        {
            if (fn.Return != VmType.Void && !fn.Return.IsError())
                Error(r, $"'{fn.Name}' must return {N(fn.Return)}; this return has no value");
            return new BoundReturn(LineOf(r), null);
        }
        if (fn.Return == VmType.Void)
        {
            Error(r.expr(), $"'{fn.Name}' returns nothing, so its return cannot have a value; declare `-> type` to return one");
            return new BoundReturn(LineOf(r), null);
        }
        var value = Check(BindValue(r.expr(), fn.Return), fn.Return, r.expr(), $"'{fn.Name}' returns");
        return new BoundReturn(LineOf(r), value);
    }

    private BoundStmt BindAssign(AssignStmtContext a)
    {
        int line = LineOf(a);
        string op = a.op.Text;
        var target = a.target;
        if (AsName(target) is { } name)
        {
            var local = Lookup(name.GetText());
            if (local is null && FieldOfSelf(name.GetText()) is { } selfField)
                return BindFieldAssign(a, SelfExpr(line), selfField, name.Start);
            if (local is null)
            {
                Error(name, NotAssignable(name.GetText()));
                BindValue(a.value, null);
                return new BoundBlock(line, []);
            }
            if (!local.Mutable)
            {
                Error(name, local.Role == VariableRole.Let
                    ? $"cannot assign to '{local.Name}': it is declared with 'let'; declare it with 'var' to change it"
                    : $"cannot assign to {local.Role.Describe()} '{local.Name}'; copy it into a `var` to change it");
                BindValue(a.value, local.Type);
                return new BoundBlock(line, []);
            }
            var value = BindValue(a.value, local.Type);
            if (op != "=") value = BindBinary(op[..^1], ReadVariable(local, line), value, a, a.value);
            // From here on the variable holds the new value, which a check before did not see.
            _narrowed.Remove(local);
            return WriteVariable(local, Check(value, local.Type, a.value, $"'{local.Name}' has type"), line);
        }
        if (target is IndexExprContext index)
        {
            var array = BindValue(index.expr(0), null);
            if (array.Type.Kind == TypeKind.Map) return BindMapAssign(a, array, index);
            if (array.Type.IsError())
            {
                BindValue(index.expr(1), null);
                BindValue(a.value, null);
                return new BoundBlock(line, []);
            }
            var idx = Check(BindValue(index.expr(1), VmType.Int), VmType.Int, index.expr(1), "an index must be");
            var elementType = ElementType(array, index.expr(0));
            var value = BindValue(a.value, elementType);
            if (op != "=" && array is BoundLocal && idx is BoundLocal or BoundConst)
            {
                // a[i] op= v where a and i are variables or i a constant: read them twice, both before v (which
                // can't change what the stack already holds), without hidden locals.
                var current = new BoundIndex(line, elementType, array, idx);
                var combined = Check(BindBinary(op[..^1], current, value, a, a.value), elementType, a.value, "the element type is");
                return new BoundIndexStore(line, array, idx, combined);
            }
            if (op != "=")
            {
                // a[i] op= v evaluates a and i once: keep them in hidden locals.
                var arrayTemp = NewLocal("$a", array.Type.IsError() ? VmType.ArrayOf(VmType.Int) : array.Type, false);
                var indexTemp = NewLocal("$i", VmType.Int, false);
                var current = new BoundIndex(line, elementType, new BoundLocal(line, arrayTemp), new BoundLocal(line, indexTemp));
                var combined = Check(BindBinary(op[..^1], current, value, a, a.value), elementType, a.value, "the element type is");
                return new BoundBlock(line,
                [
                    new BoundStore(line, arrayTemp, array),
                    new BoundStore(line, indexTemp, idx),
                    new BoundIndexStore(line, new BoundLocal(line, arrayTemp), new BoundLocal(line, indexTemp), combined),
                ]);
            }
            return new BoundIndexStore(line, array, idx, Check(value, elementType, a.value, "the element type is"));
        }
        if (target is MemberExprContext member)
        {
            if (ImportedModule(member.expr()) is { } module)
            {
                Error(member.ID().Symbol, $"cannot assign to '{member.GetText()}': a module's members are its functions, classes and constants, which no program changes");
                BindValue(a.value, null);
                return new BoundBlock(line, []);
            }
            var obj = BindTarget(member.expr());
            if (obj.Type.IsError())
            {
                BindValue(a.value, null);
                return new BoundBlock(line, []);
            }
            if (FieldOf(obj, member.ID().Symbol) is { } field) return BindFieldAssign(a, obj, field, member.ID().Symbol);
            BindValue(a.value, null);
            return new BoundBlock(line, []);
        }
        Error(target, "cannot assign to this expression; only variables, fields and array elements can be assigned");
        BindValue(a.value, null);
        return new BoundBlock(line, []);
    }

    private BoundStmt BindFieldAssign(AssignStmtContext a, BoundExpr target, FieldSymbol field, IToken at)
    {
        int line = LineOf(a);
        bool selfInInit = _inInit && _class == field.Owner && target is BoundLocal { Local.Name: "self" };
        bool ofSelf = _self is not null && target is BoundLocal { Local: var l } && l == _self;
        if (ofSelf && a.op.Text != "=") CheckFieldRead(field, at);
        if (!field.Mutable && !selfInInit)
            Error(at, _inInit && _class == field.Owner
                ? $"cannot assign to field '{field.Name}' of another reference: it is declared with 'let', so the init of '{field.Owner.Name}' sets it on `self` only (`self.{field.Name} = ...`)"
                : $"cannot assign to field '{field.Name}': it is declared with 'let', so only the init of '{field.Owner.Name}' can set it");
        var cls = _classList[target.Type.ClassIndex];
        var value = BindValue(a.value, field.Type);
        string op = a.op.Text;
        if (ofSelf) FieldAssigned(a, field);
        if (op == "=") return new BoundSetField(line, target, cls, field.Index, Check(value, field.Type, a.value, $"field '{field.Name}' has type"));
        if (target is BoundLocal)
        {
            // x.f op= v where x is a variable: x is read twice, both times before v (which can't change what the
            // stack already holds), without a hidden local.
            var read = new BoundGetField(line, field.Type, target, cls, field.Index);
            return new BoundSetField(line, target, cls, field.Index, Check(BindBinary(op[..^1], read, value, a, a.value), field.Type, a.value, $"field '{field.Name}' has type"));
        }
        // obj.f op= v evaluates obj once.
        var temp = NewLocal("$obj", target.Type, false);
        var current = new BoundGetField(line, field.Type, new BoundLocal(line, temp), cls, field.Index);
        var combined = Check(BindBinary(op[..^1], current, value, a, a.value), field.Type, a.value, $"field '{field.Name}' has type");
        return new BoundBlock(line, [new BoundStore(line, temp, target), new BoundSetField(line, new BoundLocal(line, temp), cls, field.Index, combined)]);
    }

    private BoundStmt BindExprStatement(ExprContext e)
    {
        int line = LineOf(e);
        // `a.push(x)` as a statement may be the array built-in; not on `super` or `self` (an object's own method,
        // checked as a method call, for the messages of construction too) or on a module (its function `push`).
        if (e is MethodCallExprContext m && m.ID().GetText() == "push"
            && !(m.expr() is PrimaryExprContext sp && sp.primary() is SuperExprContext or SelfExprContext)
            && ImportedModule(m.expr()) is null)
        {
            var array = BindValue(m.expr(), null);
            var args = m.argList()?.expr() ?? [];
            // `push` is the array built-in only on arrays: on an object it is the object's own method.
            if (array.Type.Kind == TypeKind.Object) return new BoundExprStmt(line, BindMethodCallOn(array, m));
            var elementType = ElementType(array, m.expr());
            if (args.Length != 1)
            {
                Error(m.ID().Symbol, $"'push' takes 1 argument but {args.Length} were given");
                return new BoundBlock(line, []);
            }
            var value = Check(BindValue(args[0], elementType), elementType, args[0], "the array's elements are");
            return new BoundPush(line, array, value);
        }
        if (e is not (CallExprContext or MethodCallExprContext or SafeMethodCallExprContext))
        {
            var bound = BindExpr(e, null);
            if (!bound.Type.IsError())
                Error(e, EndsAFunctionReturningAValue(e) && IsAssignable(bound.Type, _function!.Return)
                    ? $"this expression's value is unused: a function gives its value with `return`{(ExcerptOf(e) is { } text ? $", as in `return {text}`" : "")}"
                    : "this expression's value is unused; only calls can stand alone as statements");
            return new BoundExprStmt(line, bound);
        }
        return new BoundExprStmt(line, BindExpr(e, null));
    }

    /// <summary>Whether <paramref name="e"/> is the last statement of the body of a function (or function value)
    /// that returns a value: written as that value, as Rust and Ruby take it.</summary>
    private bool EndsAFunctionReturningAValue(ExprContext e)
    {
        if (_function is not { } function || function.Return == VmType.Void || function.Return.IsError()) return false;
        if (e.Parent is not ExprStmtContext statement || statement.Parent is not BlockContext { Parent: FunctionDeclContext or LambdaExprContext } block) return false;
        // The block's last statement, from its end (past any ';'): asking for all of them at each unused expression
        // made a function of 16,000 of them take seconds.
        for (int i = block.ChildCount - 1; i >= 0; i--)
            if (block.GetChild(i) is StatementContext last) return last == statement;
        return false;
    }

    /// <summary>The source text of <paramref name="ctx"/> when it is one short line, else null.</summary>
    private static string? ExcerptOf(ParserRuleContext ctx) =>
        ctx.Stop is { } stop && stop.Line == ctx.Start.Line && stop.StopIndex - ctx.Start.StartIndex < 40
            ? ctx.Start.InputStream.GetText(Antlr4.Runtime.Misc.Interval.Of(ctx.Start.StartIndex, stop.StopIndex))
            : null;

    /// <summary>How a message's example names the string <paramref name="ctx"/>: its text when that is a name, a
    /// field or a call (which `.len()` and `[i]` can follow as they are), else `s`.</summary>
    private static string StringName(ExprContext ctx)
    {
        bool plain = ctx is MemberExprContext or MethodCallExprContext or CallExprContext || (ctx is PrimaryExprContext p && p.primary() is NameExprContext);
        return plain && ExcerptOf(ctx) is { } text ? text : "s";
    }

    private BoundExpr BindCondition(ExprContext ctx, string keyword) =>
        Check(BindValue(ctx, VmType.Bool), VmType.Bool, ctx, $"the condition of '{keyword}' must be");

    private VmType ElementType(BoundExpr array, ExprContext ctx)
    {
        if (array.Type.Kind == TypeKind.Array && array.Type.Nullable)
        {
            Error(ctx, $"cannot use the elements of this array: the value may be null ({N(array.Type)}); {CheckItFirst(ctx)}");
            return Types.Error;
        }
        if (array.Type.Kind == TypeKind.Array) return array.Type.Element!;
        if (!array.Type.IsError()) Error(ctx, $"this is {N(array.Type)}, not an array");
        return Types.Error;
    }

    /// <summary>Reports a type mismatch unless the expression has <paramref name="expected"/> (or an error) type.</summary>
    private BoundExpr Check(BoundExpr value, VmType expected, ParserRuleContext ctx, string what)
    {
        if (value.Type.IsError() || expected.IsError() || IsAssignable(value.Type, expected)) return value;
        string hint = (value.Type.Kind, expected.Kind) switch
        {
            (TypeKind.Int, TypeKind.Float) => "; convert with `as float`",
            (TypeKind.Float, TypeKind.Int) => "; convert with `as int` (truncates)",
            (TypeKind.Null, _) when !expected.IsReference => $"; {N(expected)} can't be null (only strings, arrays, maps, functions and objects can, in a nullable type such as string?)",
            (TypeKind.Null, _) => $"; only a nullable type ({N(expected.AsNullable())}) can hold null",
            _ when value.Type.Nullable && IsAssignable(value.Type.AsNonNullable(), expected) => "; it may be null: check it with `if x != null` or give a default with `??`",
            (_, TypeKind.String) => "; make a string with interpolation, e.g. \"{x}\"",
            _ => "",
        };
        Error(ctx, $"type mismatch: {what} {N(expected)}, but this is {N(value.Type)}{hint}");
        return new BoundError(value.Line);
    }

    // -------------------------------------------------------------------------------------------- expressions

    /// <summary>Binds an expression that must produce a value (not a call of a void function).</summary>
    private BoundExpr BindValue(ExprContext ctx, VmType? expected)
    {
        var e = BindExpr(ctx, expected);
        if (e.Type == VmType.Void)
        {
            Error(ctx, "this call returns nothing, so it has no value to use");
            return new BoundError(e.Line);
        }
        return e;
    }

    /// <summary>
    /// Deepest nesting of operations the binder accepts (a long chain like 1 + 1 + ... nests one level per operator).
    /// Brackets are not counted: the parser limits how many are open at once (<see cref="SyntaxParser.MaxNesting"/>),
    /// so an operand inside a call's parentheses, an index, parentheses, an array or map literal or an interpolation
    /// is as deep as the operation around the brackets, and a chain of the limit's length compiles there as it does
    /// alone. The binder's recursion stays within the limit plus the parser's.
    /// </summary>
    public const int MaxExpressionDepth = 10_000;

    /// <summary>Operations around the expression being bound (see <see cref="MaxExpressionDepth"/>).</summary>
    private int _exprDepth;

    /// <summary>Whether the outermost expression being bound was reported too deep: one error for it, not one per operand.</summary>
    private bool _reportedTooDeep;

    private BoundExpr BindExpr(ExprContext ctx, VmType? expected)
    {
        int step = InBrackets(ctx) ? 0 : 1;
        // The operand at the end of a chain of MaxExpressionDepth operations is one level deeper still.
        if (_exprDepth + step > MaxExpressionDepth + 1)
        {
            if (!_reportedTooDeep) Error(ctx.Start, $"this expression nests more than {MaxExpressionDepth} operations deep; split it into several statements");
            _reportedTooDeep = true;
            return new BoundError(LineOf(ctx));
        }
        _exprDepth += step;
        try
        {
            return BindExprUnchecked(ctx, expected);
        }
        finally
        {
            _exprDepth -= step;
            if (_exprDepth == 0) _reportedTooDeep = false;
        }
    }

    /// <summary>
    /// True when the expression stands inside brackets of the expression around it: a call's argument, an index, the
    /// inside of parentheses, an element of an array or map literal, an interpolation.
    /// </summary>
    private static bool InBrackets(ExprContext ctx) => ctx.Parent switch
    {
        ArgListContext or ParenExprContext or ArrayLitContext or MapEntryContext or InterpPartContext => true,
        IndexExprContext index => index.expr(1) == ctx,
        _ => false,
    };

    private BoundExpr BindExprUnchecked(ExprContext ctx, VmType? expected)
    {
        int line = LineOf(ctx);
        switch (ctx)
        {
            case PrimaryExprContext p: return BindPrimary(p.primary(), expected);
            case UnaryExprContext u: return BindUnary(u);
            case BinaryExprContext b:
                {
                    string op = b.op.Text;
                    if (op is "&&" or "||") return BindLogicalChain(b, op == "&&");
                    var left = BindValue(b.expr(0), null);
                    var right = BindValue(b.expr(1), left.Type.IsError() ? null : left.Type);
                    return BindBinary(op, left, right, b, b);
                }
            case CastExprContext c:
                {
                    var value = BindValue(c.expr(), null);
                    var target = BindType(c.type());
                    if (value.Type.IsError() || target.IsError()) return new BoundError(line);
                    if (value.Type == target) return value;
                    if (value.Type == VmType.Int && target == VmType.Float) return new BoundOp(line, VmType.Float, Opcode.IToF, value, null);
                    if (value.Type == VmType.Float && target == VmType.Int) return new BoundOp(line, VmType.Int, Opcode.FToI, value, null);
                    if (target.Kind == TypeKind.Object) return BindClassCast(value, target, c);
                    // `x as T` with x a T?: the value, checked not to be null (NullError when it is).
                    if (value.Type.Nullable && value.Type.AsNonNullable() == target) return new BoundNonNull(line, target, value);
                    // `"5" as int` and `n as string`: what converts them, as for `int("5")` and `str(n)`.
                    string instead = (value.Type, target) switch
                    {
                        ({ Kind: TypeKind.String, Nullable: false }, { Kind: TypeKind.Int }) => HabitHint("int", call: true),
                        ({ Kind: TypeKind.String, Nullable: false }, { Kind: TypeKind.Float }) => HabitHint("float", call: true),
                        (_, { Kind: TypeKind.String, Nullable: false }) => HabitHint("str"),
                        _ => "; 'as' converts between int and float, and between related classes",
                    };
                    Error(c, $"cannot convert {N(value.Type)} to {N(target)} with 'as'{instead}");
                    return new BoundError(line);
                }
            case CallExprContext call: return BindCall(call);
            case MethodCallExprContext m: return BindMethodCall(m);
            case MemberExprContext member:
                {
                    if (member.expr() is PrimaryExprContext { } sp && sp.primary() is SuperExprContext)
                    {
                        string m = member.ID().GetText();
                        bool method = _self?.Type is { Kind: TypeKind.Object } st && _classList[st.ClassIndex].Super is { } sup && sup.VTable.Any(x => x.Name == m);
                        Error(member.ID().Symbol, method
                            ? $"'{m}' is a method: call it, as in `super.{m}(...)`; a method is not a value (a lambda can make the call)"
                            : "fields are inherited: write `self.name` rather than `super.name`");
                        return new BoundError(line);
                    }
                    if (ImportedModule(member.expr()) is { } module) return BindModuleMember(module, member.expr().GetText(), member.ID().Symbol, line);
                    var target = BindTarget(member.expr());
                    var field = FieldOf(target, member.ID().Symbol);
                    if (field is not null && IsSelf(member.expr())) CheckFieldRead(field, member.ID().Symbol);
                    return field is null ? new BoundError(line) : new BoundGetField(line, field.Type, target, _classList[target.Type.ClassIndex], field.Index);
                }
            case SafeMemberExprContext sm: return BindSafe(sm.expr(), sm.ID().Symbol, null, line);
            case SafeMethodCallExprContext sc: return BindSafe(sc.expr(), sc.ID().Symbol, sc.argList()?.expr() ?? [], line);
            case CoalesceExprContext co: return BindCoalesce(co, expected);
            case IndexExprContext index:
                {
                    var array = BindValue(index.expr(0), null);
                    if (array.Type.Kind == TypeKind.Map) return BindMapGet(array, index);
                    if (array.Type.IsError())
                    {
                        // Said already: whether the index suits it can't be told (a map's key, an array's int).
                        BindValue(index.expr(1), null);
                        return new BoundError(line);
                    }
                    var idx = Check(BindValue(index.expr(1), VmType.Int), VmType.Int, index.expr(1), "an index must be");
                    if (array.Type == VmType.String)
                    {
                        // s[i]: the character at i, as a string of one character
                        var at = NativeTable.Find("string.at")!;
                        return idx.Type.IsError() ? new BoundError(line) : new BoundNativeCall(line, at.Name, at.Params, at.Return, [array, idx]);
                    }
                    var elementType = ElementType(array, index.expr(0));
                    return elementType.IsError() ? new BoundError(line) : new BoundIndex(line, elementType, array, idx);
                }
            default:
                Error(ctx, "unsupported expression");
                return new BoundError(line);
        }
    }

    private BoundExpr BindUnary(UnaryExprContext u)
    {
        int line = LineOf(u);
        string op = u.op.Text;
        // The one int literal that only exists negated.
        if (op == "-" && (u.expr() as PrimaryExprContext)?.primary() is IntLitContext lit && lit.GetText().Replace("_", "") == "9223372036854775808")
            return new BoundConst(line, VmType.Int, long.MinValue);
        var operand = BindValue(u.expr(), null);
        if (operand.Type.IsError()) return new BoundError(line);
        Opcode? code = (op, operand.Type.Kind) switch
        {
            ("-", TypeKind.Int) => Opcode.INeg,
            ("-", TypeKind.Float) => Opcode.FNeg,
            ("!", TypeKind.Bool) => Opcode.BNot,
            ("~", TypeKind.Int) => Opcode.INot,
            _ => null,
        };
        if (code is null)
        {
            Error(u.op, $"operator '{op}' cannot be applied to {N(operand.Type)}");
            return new BoundError(line);
        }
        return new BoundOp(line, operand.Type, code.Value, operand, null);
    }

    private BoundExpr BindBinary(string op, BoundExpr left, BoundExpr right, ParserRuleContext ctx, ParserRuleContext at)
    {
        int line = left.Line;
        if (left.Type.IsError() || right.Type.IsError()) return new BoundError(line);
        VmType l = left.Type, r = right.Type;
        (Opcode code, VmType type)? resolved = null;
        // References other than strings compare by identity; a string compares by content, except with null.
        if (op is "==" or "!=" && l.IsReference && r.IsReference)
        {
            bool withNull = l.Kind == TypeKind.Null || r.Kind == TypeKind.Null;
            bool related = withNull || IsAssignable(l, r.AsNullable()) || IsAssignable(r, l.AsNullable())
                || (l.Kind == TypeKind.Object && r.Kind == TypeKind.Object);
            if (!related)
            {
                Error(ctx is BinaryExprContext be ? be.op : ctx.Start, $"operator '{op}' cannot compare {N(l)} and {N(r)}");
                return new BoundError(line);
            }
            if (!withNull && l.Kind == TypeKind.Func)
            {
                // Each use of a named function makes a new value, so identity would say `f == f` is false.
                Error(ctx is BinaryExprContext bf ? bf.op : ctx.Start, $"function values cannot be compared; only whether one is null (`f {op} null`)");
                return new BoundError(line);
            }
            if (withNull && (l.Kind == TypeKind.Null ? r : l) is { Nullable: false, Kind: not TypeKind.Null } never)
            {
                Error(ctx is BinaryExprContext be2 ? be2.op : ctx.Start, $"{N(never)} is never null, so this comparison is always {(op == "==" ? "false" : "true")}");
                return new BoundError(line);
            }
            if (!withNull && l.Kind == TypeKind.String)
            {
                if (l.Nullable || r.Nullable)
                {
                    Error(ctx is BinaryExprContext be3 ? be3.op : ctx.Start, $"compare strings that may be null with null first: `s != null && s {op} t`");
                    return new BoundError(line);
                }
            }
            else return new BoundOp(line, VmType.Bool, op == "==" ? Opcode.RefEq : Opcode.RefNe, left, right);
        }
        // Both sides of one type, not nullable: a `string?` joined with a `string?` made an sconcat the verifier
        // refuses (it takes strings), where the program had been accepted.
        if (l == r && !l.Nullable)
        {
            resolved = (op, l.Kind) switch
            {
                ("+", TypeKind.Int) => (Opcode.IAdd, l),
                ("-", TypeKind.Int) => (Opcode.ISub, l),
                ("*", TypeKind.Int) => (Opcode.IMul, l),
                ("/", TypeKind.Int) => (Opcode.IDiv, l),
                ("%", TypeKind.Int) => (Opcode.IRem, l),
                ("&", TypeKind.Int) => (Opcode.IAnd, l),
                ("|", TypeKind.Int) => (Opcode.IOr, l),
                ("^", TypeKind.Int) => (Opcode.IXor, l),
                ("<<", TypeKind.Int) => (Opcode.IShl, l),
                (">>", TypeKind.Int) => (Opcode.IShr, l),
                ("+", TypeKind.Float) => (Opcode.FAdd, l),
                ("-", TypeKind.Float) => (Opcode.FSub, l),
                ("*", TypeKind.Float) => (Opcode.FMul, l),
                ("/", TypeKind.Float) => (Opcode.FDiv, l),
                ("%", TypeKind.Float) => (Opcode.FRem, l),
                ("+", TypeKind.String) => (Opcode.SConcat, l),
                ("==", TypeKind.Int) => (Opcode.IEq, VmType.Bool),
                ("!=", TypeKind.Int) => (Opcode.INe, VmType.Bool),
                ("<", TypeKind.Int) => (Opcode.ILt, VmType.Bool),
                ("<=", TypeKind.Int) => (Opcode.ILe, VmType.Bool),
                (">", TypeKind.Int) => (Opcode.IGt, VmType.Bool),
                (">=", TypeKind.Int) => (Opcode.IGe, VmType.Bool),
                ("==", TypeKind.Float) => (Opcode.FEq, VmType.Bool),
                ("!=", TypeKind.Float) => (Opcode.FNe, VmType.Bool),
                ("<", TypeKind.Float) => (Opcode.FLt, VmType.Bool),
                ("<=", TypeKind.Float) => (Opcode.FLe, VmType.Bool),
                (">", TypeKind.Float) => (Opcode.FGt, VmType.Bool),
                (">=", TypeKind.Float) => (Opcode.FGe, VmType.Bool),
                ("==", TypeKind.Bool) => (Opcode.BEq, VmType.Bool),
                ("!=", TypeKind.Bool) => (Opcode.BNe, VmType.Bool),
                ("==", TypeKind.String) => (Opcode.SEq, VmType.Bool),
                ("!=", TypeKind.String) => (Opcode.SNe, VmType.Bool),
                _ => null,
            };
        }
        if (resolved is null)
        {
            // The operands' syntax, where the operator has them (`a + b`, `a += b`), to name a string that may be null
            // (the only operands of '+' that fail for a null: both strings, one nullable, or it would have resolved).
            var (leftSyntax, rightSyntax) = ctx switch
            {
                BinaryExprContext be => (be.expr(0), be.expr(1)),
                AssignStmtContext ae => (ae.target, ae.value),
                _ => ((ExprContext?)null, (ExprContext?)null),
            };
            string hint = (l.Kind, r.Kind) switch
            {
                (TypeKind.String, TypeKind.String) when op == "+" && (l.Nullable ? leftSyntax : rightSyntax) is { } maybeNull =>
                    $"; {(l.Nullable ? "the left" : "the right")} side may be null: {CheckItFirst(maybeNull)}, or give a default with `??`",
                (TypeKind.Int, TypeKind.Float) or (TypeKind.Float, TypeKind.Int) => "; convert one side with `as float` or `as int`",
                (TypeKind.String, _) or (_, TypeKind.String) when op == "+" => "; build strings with interpolation, e.g. \"{a}{b}\"",
                _ => "",
            };
            var token = ctx is BinaryExprContext b ? b.op : ctx is AssignStmtContext a ? a.op : ctx.Start;
            Error(token, $"operator '{op}' cannot be applied to {N(l)} and {N(r)}{hint}");
            return new BoundError(line);
        }
        return new BoundOp(line, resolved.Value.type, resolved.Value.code, left, right);
    }

    private BoundExpr BindCall(CallExprContext call)
    {
        int line = LineOf(call);
        var args = call.argList()?.expr() ?? [];
        if (call.expr() is PrimaryExprContext sp && sp.primary() is SuperExprContext) return BindSuperCall(sp.Start, null, args, line);
        if (AsName(call.expr()) is not { } nameCtx)
        {
            var callee = BindValue(call.expr(), null);
            if (callee.Type.Kind == TypeKind.Func && RequireNonNull(callee, call.expr().Start, "call it")) return BindClosureCall(callee, call.expr().Start, "the function value", args, line);
            if (!callee.Type.IsError() && callee.Type.Kind != TypeKind.Func) Error(call.expr(), $"a value of type {N(callee.Type)} cannot be called");
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        string name = nameCtx.GetText();
        if (Lookup(name) is { } local)
        {
            var value = ReadVariable(local, line);
            if (_narrowed.ContainsKey(local)) value = new BoundNonNull(line, local.Type.AsNonNullable(), value);
            if (local.Type.Kind == TypeKind.Func && RequireNonNull(value, nameCtx.Start, $"call '{name}'")) return BindClosureCall(value, nameCtx.Start, $"'{name}'", args, line);
            if (local.Type.Kind != TypeKind.Func && !local.Type.IsError()) Error(nameCtx, $"'{name}' is a variable of type {N(local.Type)}, not a function");
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        if (Builtins.Contains(name)) return BindPrint(call, name, args);
        // Inside a method, a bare call of one of the class's methods calls it on self.
        if (InMethod && _class!.VTable.Any(m => m.Name == name))
        {
            CheckSelfEscape(nameCtx.Start, $"calling method '{name}'");
            return BindMethodOn(SelfExpr(line), nameCtx.Start, args, line);
        }
        if (_classes.TryGetValue(name, out var cls)) return BindNew(cls, nameCtx.Start, args, line);
        if (FieldOfSelf(name) is { Type.Kind: TypeKind.Func } fnField)
        {
            CheckFieldRead(fnField, nameCtx.Start);
            var value = new BoundGetField(line, fnField.Type, SelfExpr(line), _class!, fnField.Index);
            return RequireNonNull(value, nameCtx.Start, $"call '{name}'") ? BindClosureCall(value, nameCtx.Start, $"'{name}'", args, line) : new BoundError(line);
        }
        if (!_functions.TryGetValue(name, out var fn))
        {
            Error(nameCtx, name == _declaring && Lookup(name) is null
                    ? $"'{name}' is the variable being declared, which its own value can't use: a function that calls itself must be a named one (`fn {name}(...) {{ ... }}`)"
                : _unit.Constants.ContainsKey(name) ? $"'{name}' is a constant of the file, not a function; use it without ( )"
                : _unit.Imports.ContainsKey(name) ? $"'{name}' is a module, not a function; call one of its functions, as in `{name}.name(...)`"
                : UndefinedName(name, function: true));
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        var bound = BindArgs($"'{name}'", nameCtx.Start, fn.Parameters, fn.ParameterNames, args);
        if (bound is null || fn.Return.IsError()) return new BoundError(line);
        return new BoundCall(line, fn, bound);
    }

    private BoundExpr BindPrint(ParserRuleContext call, string name, ExprContext[] args)
    {
        int line = LineOf(call);
        if (name is "readLine" or "readAll")
        {
            var def = NativeTable.Find(name)!;
            if (args.Length != 0)
            {
                Error(call, $"'{name}' takes no arguments but {args.Length} {(args.Length == 1 ? "was" : "were")} given");
                foreach (var a in args) BindValue(a, null);
                return new BoundError(line);
            }
            return new BoundNativeCall(line, name, def.Params, def.Return, []);
        }
        bool plain = name is "print" or "eprint";
        if (args.Length > 1 || (args.Length == 0 && plain))
        {
            Error(call, $"'{name}' takes {(plain ? "1 argument" : "0 or 1 arguments")} but {args.Length} were given");
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        BoundExpr text = args.Length == 0 ? new BoundString(line, "") : ToStr(BindValue(args[0], null), args[0]);
        if (text.Type.IsError()) return new BoundError(line);
        return new BoundNativeCall(line, name, [VmType.String], VmType.Void, [text]);
    }

    private BoundExpr BindMethodCall(MethodCallExprContext m)
    {
        int line = LineOf(m);
        string name = m.ID().GetText();
        var args = m.argList()?.expr() ?? [];
        if (m.expr() is PrimaryExprContext sp && sp.primary() is SuperExprContext) return BindSuperCall(m.ID().Symbol, name, args, line);
        if (ImportedModule(m.expr()) is { } module) return BindModuleCall(module, m);
        if (IsSelf(m.expr()) && InMethod) CheckSelfEscape(m.ID().Symbol, $"calling method '{name}' on 'self'");
        return BindMethodCallOn(BindTarget(m.expr()), m);
    }

    private static readonly string[] StringMethods =
        NativeTable.All.Where(n => n.Name.StartsWith("string.", StringComparison.Ordinal)).Select(n => n.Name["string.".Length..]).ToArray();

    /// <summary>The native implementing method <paramref name="name"/> of a type, or null.</summary>
    private static NativeDef? NativeMethod(VmType type, string name) => NativeTable.Find(type.Kind switch
    {
        TypeKind.String => "string." + name,
        TypeKind.Float => "float." + name,
        TypeKind.Array when type.Element == VmType.String && name == "join" => "array.join",
        _ => "",
    });

    /// <summary>A method implemented by a native that takes the target as its first argument.</summary>
    private BoundExpr BindNativeMethod(NativeDef def, BoundExpr target, IToken nameToken, ExprContext[] args, int line)
    {
        var parameters = def.Params[1..];
        var bound = BindArgs($"'{nameToken.Text}'", nameToken, parameters, parameters.Select((_, i) => $"#{i + 1}").ToArray(), args);
        if (bound is null) return new BoundError(line);
        return new BoundNativeCall(line, def.Name, def.Params, def.Return, [target, .. bound]);
    }

    private const string ArrayMethods = "len(), push(v), pop(), insert(i, v), remove(i), slice(from, to), contains(v), indexOf(v), reverse(), sort(), sort(cmp), map(f), filter(f), reduce(initial, f) and repeat(n)";

    /// <summary>The methods of arrays other than len and push; null when the name is none of them.</summary>
    private BoundExpr? BindArrayMethod(BoundExpr array, IToken nameToken, ExprContext[] args, int line)
    {
        var element = array.Type.Element!;
        (Opcode op, VmType[] parameters, VmType result)? shape = nameToken.Text switch
        {
            "pop" => (Opcode.APop, [], element),
            "insert" => (Opcode.AInsert, [VmType.Int, element], VmType.Void),
            "remove" => (Opcode.ARemoveAt, [VmType.Int], element),
            "slice" => (Opcode.ASlice, [VmType.Int, VmType.Int], array.Type),
            "indexOf" or "contains" => (Opcode.AIndexOf, [element], VmType.Int),
            "reverse" => (Opcode.AReverse, [], VmType.Void),
            "repeat" => (Opcode.ARepeat, [VmType.Int], array.Type.AsNonNullable()),
            _ => null,
        };
        if (shape is not { } s) return null;
        string[] names = nameToken.Text switch { "insert" => ["index", "value"], "remove" => ["index"], "slice" => ["from", "to"], "repeat" => ["count"], _ => ["value"] };
        var bound = BindArgs($"'{nameToken.Text}'", nameToken, s.parameters, names, args);
        if (bound is null) return new BoundError(line);
        BoundExpr call = new BoundOpN(line, s.result, s.op, [array, .. bound]);
        // contains(v) is indexOf(v) >= 0
        return nameToken.Text == "contains" ? new BoundOp(line, VmType.Bool, Opcode.IGe, call, new BoundConst(line, VmType.Int, 0)) : call;
    }

    /// <summary>A method call on a target already bound.</summary>
    private BoundExpr BindMethodCallOn(BoundExpr target, MethodCallExprContext m)
    {
        int line = LineOf(m);
        string name = m.ID().GetText();
        var args = m.argList()?.expr() ?? [];
        if (target.Type.IsError())
        {
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        if (!RequireNonNull(target, m.ID().Symbol, $"call '{name}'"))
        {
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        if (target.Type.Kind == TypeKind.Object) return BindMethodOn(target, m.ID().Symbol, args, line);
        if (target.Type.Kind == TypeKind.Map) return BindMapMethod(target, m.ID().Symbol, args, line);
        if (NativeMethod(target.Type, name) is { } def) return BindNativeMethod(def, target, m.ID().Symbol, args, line);
        if (target.Type.Kind == TypeKind.String)
        {
            string hint = HabitHint(name) is { Length: > 0 } habit ? habit : Suggest(name, StringMethods);
            Error(m.ID().Symbol, $"string has no method '{name}'{hint}; strings have {string.Join(", ", StringMethods)}");
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        if (target.Type.Kind == TypeKind.Array && name == "len")
        {
            if (args.Length != 0) Error(m.ID().Symbol, $"'len' takes no arguments but {args.Length} were given");
            return new BoundOp(line, VmType.Int, Opcode.ALen, target, null);
        }
        if (target.Type.Kind == TypeKind.Array && name == "push")
        {
            Error(m, "'push' returns nothing; call it as a statement of its own");
            return new BoundError(line);
        }
        if (target.Type.Kind == TypeKind.Array && BindArrayMethod(target, m.ID().Symbol, args, line) is { } arrayCall) return arrayCall;
        if (target.Type.Kind == TypeKind.Array && BindTemplateMethod(target, m.ID().Symbol, args, line) is { } templateCall) return templateCall;
        string known = target.Type.Kind == TypeKind.Array ? $"; arrays have {ArrayMethods}" : "";
        Error(m.ID().Symbol, $"{N(target.Type)} has no method '{name}'{HabitHint(name)}{known}");
        foreach (var a in args) BindValue(a, null);
        return new BoundError(line);
    }

    /// <summary>
    /// Converts any value to its string form, as print and interpolation show it: an object by its
    /// <c>toString()</c> method, a null as "null".
    /// </summary>
    private BoundExpr ToStr(BoundExpr e, ParserRuleContext at)
    {
        if (e.Type.Kind == TypeKind.Null) return new BoundString(e.Line, "null");
        if (e.Type.Nullable)
        {
            var inner = ToStr(new BoundStackValue(e.Line, e.Type.AsNonNullable()), at);
            return inner.Type.IsError() ? inner : new BoundIfNotNull(e.Line, VmType.String, e, inner, new BoundString(e.Line, "null"));
        }
        switch (e.Type.Kind)
        {
            case TypeKind.String: return e;
            case TypeKind.Int: return new BoundOp(e.Line, VmType.String, Opcode.IToS, e, null);
            case TypeKind.Float: return new BoundOp(e.Line, VmType.String, Opcode.FToS, e, null);
            case TypeKind.Bool: return new BoundOp(e.Line, VmType.String, Opcode.BToS, e, null);
            case TypeKind.Array:
            case TypeKind.Map:
                {
                    if (WhyNotShown(e.Type) is { } why)
                    {
                        Error(at, $"cannot show {N(e.Type)} as text: {why}");
                        return new BoundError(e.Line);
                    }
                    // The VM shows collections of values; objects show by their toString(), program code, so a
                    // collection that holds them is shown by a template (stdlib/array.hl) that interpolates each.
                    if (HoldsObjects(e.Type))
                    {
                        var show = e.Type.Kind == TypeKind.Array
                            ? Instance("show", ("T", e.Type.Element!))
                            : Instance("showMap", ("K", e.Type.Key!), ("V", e.Type.Element!));
                        return new BoundCall(e.Line, show, [e]);
                    }
                    return new BoundOp(e.Line, VmType.String, e.Type.Kind == TypeKind.Array ? Opcode.AToS : Opcode.MToS, e, null);
                }
            case TypeKind.Object:
                {
                    var cls = _classList[e.Type.ClassIndex];
                    int slot = ToStringSlot(cls);
                    if (slot < 0)
                    {
                        Error(at, $"cannot show {A(cls.Name)} as text: give it a method `fn toString() -> string`");
                        return new BoundError(e.Line);
                    }
                    return new BoundCallMethod(e.Line, VmType.String, e, cls, slot, []);
                }
            case TypeKind.Func:
                Error(at, e is BoundLambda { IsLambda: false } f
                    ? $"'{f.Function.Name}' is a function; call it with ( )"
                    : $"cannot show a function value ({N(e.Type)}) as text");
                return new BoundError(e.Line);
            default:
                return new BoundError(e.Line);
        }
    }

    /// <summary>The slot of a class's <c>fn toString() -> string</c>, or -1.</summary>
    private static int ToStringSlot(ClassSymbol cls)
    {
        int slot = cls.IsInterface ? cls.Signatures.FindIndex(s => s.Name == "toString") : cls.VTable.FindIndex(m => m.Name == "toString");
        bool fits = slot >= 0 && (cls.IsInterface
            ? cls.Signatures[slot].Params.Length == 0 && cls.Signatures[slot].Return == VmType.String
            : cls.VTable[slot].Function.Parameters.Length == 1 && cls.VTable[slot].Function.Return == VmType.String);
        return fits ? slot : -1;
    }

    /// <summary>Why a value of a type can't be shown as text (a function, or an object without toString, at any depth), or null.</summary>
    private string? WhyNotShown(VmType t) => t.Kind switch
    {
        TypeKind.Func => "a function value can't be shown",
        TypeKind.Object when ToStringSlot(_classList[t.ClassIndex]) < 0 => $"{A(_classList[t.ClassIndex].Name)} can't be shown: give it a method `fn toString() -> string`",
        TypeKind.Array => WhyNotShown(t.Element!),
        TypeKind.Map => WhyNotShown(t.Key!) ?? WhyNotShown(t.Element!),
        _ => null,
    };

    /// <summary>True when values of the type hold objects, at any depth.</summary>
    private static bool HoldsObjects(VmType t) => t.Kind switch
    {
        TypeKind.Object => true,
        TypeKind.Array => HoldsObjects(t.Element!),
        TypeKind.Map => HoldsObjects(t.Key!) || HoldsObjects(t.Element!),
        _ => false,
    };

    private BoundExpr BindPrimary(PrimaryContext ctx, VmType? expected)
    {
        int line = LineOf(ctx);
        switch (ctx)
        {
            case IntLitContext i: return BindInt(i.INT().Symbol);
            case FloatLitContext f:
                {
                    double value = Runtime.Execution.NumberText.ParseFloatLiteral(f.GetText());
                    if (double.IsInfinity(value)) Error(f, $"float literal {f.GetText()} is too large for a float");
                    return new BoundConst(line, VmType.Float, BitConverter.DoubleToInt64Bits(value));
                }
            case BoolLitContext b: return new BoundConst(line, VmType.Bool, b.TRUE() != null ? 1 : 0);
            case StringLitExprContext s: return BindString(s.stringLit());
            case NullLitContext: return new BoundNull(line);
            case SelfExprContext self:
                if (!InMethod)
                {
                    Error(self, "'self' is only meaningful in the methods and init of a class");
                    return new BoundError(line);
                }
                CheckSelfEscape(self.Start, "using 'self' as a value");
                return SelfExpr(line);
            case SuperExprContext sup:
                Error(sup, "'super' must be followed by `(...)` (in an init) or `.method(...)`");
                return new BoundError(line);
            case NameExprContext n:
                {
                    string name = n.GetText();
                    if (Lookup(name) is { } local)
                    {
                        var value = ReadVariable(local, line);
                        return _narrowed.ContainsKey(local) ? new BoundNonNull(line, local.Type.AsNonNullable(), value) : value;
                    }
                    if (FieldOfSelf(name) is { } field)
                    {
                        CheckFieldRead(field, n.Start);
                        return new BoundGetField(line, field.Type, SelfExpr(line), _class!, field.Index);
                    }
                    if (InMethod && _class!.VTable.Any(m => m.Name == name))
                    {
                        Error(n, $"'{name}' is a method: call it with ( ), or wrap the call in a function value, as in `fn(x: int) => {name}(x)`");
                        return new BoundError(line);
                    }
                    if (_functions.TryGetValue(name, out var fn))
                        return new BoundLambda(line, VmType.FuncOf(fn.Parameters, fn.Return), fn, IsLambda: false, []);
                    if (_unit.Constants.TryGetValue(name, out var constant)) return constant with { Line = line };
                    if (_unit.Imports.TryGetValue(name, out var imported))
                    {
                        Error(n, $"'{name}' is a module; use its members, as in `{name}.name`");
                        return new BoundError(line);
                    }
                    Error(n, Builtins.Contains(name)
                        ? $"'{name}' is a built-in function; call it with ( ), or wrap it: `{(name is "readLine" or "readAll" ? $"fn() => {name}()" : $"fn(s: string) => {name}(s)")}`"
                        : _classes.ContainsKey(name) ? $"'{name}' is a class; create one with `{name}(...)`" : UndefinedName(name));
                    return new BoundError(line);
                }
            case ParenExprContext p: return BindExpr(p.expr(), expected);
            case LambdaExprContext lambda: return BindLambda(lambda, expected);
            case MapLitContext ml: return BindMapLiteral(ml, expected);
            case ArrayLitContext a:
                {
                    var elems = a.expr();
                    VmType? elementType = expected?.Kind == TypeKind.Array ? expected.Element : null;
                    if (elems.Length == 0)
                    {
                        if (expected is not null && expected.IsError()) return new BoundError(line); // already reported
                        if (elementType is null)
                        {
                            Error(a, "cannot tell the type of an empty array; give it one, as in `let xs: [int] = []`");
                            return new BoundError(line);
                        }
                        return new BoundArrayLiteral(line, VmType.ArrayOf(elementType), []);
                    }
                    if (elems.Length > ModuleFormat.MaxStackLimit - 16)
                    {
                        Error(a, $"an array literal may have at most {ModuleFormat.MaxStackLimit - 16} elements; build larger arrays with push");
                        return new BoundError(line);
                    }
                    var bound = new BoundExpr[elems.Length];
                    bound[0] = BindValue(elems[0], elementType);
                    elementType ??= bound[0].Type;
                    if (elementType.IsError()) return new BoundError(line);
                    if (elementType.Kind == TypeKind.Null)
                    {
                        Error(elems[0], "cannot tell the array's element type from `null`; give the array a type, as in `let xs: [string?] = [null]`");
                        return new BoundError(line);
                    }
                    bound[0] = Check(bound[0], elementType, elems[0], "the array's elements are");
                    for (int i = 1; i < elems.Length; i++)
                        bound[i] = Check(BindValue(elems[i], elementType), elementType, elems[i], "the array's elements are");
                    if (bound.Any(e => e.Type.IsError())) return new BoundError(line);
                    if (VmType.ArrayOf(elementType).Depth() > VmType.MaxDepth)
                    {
                        Error(a, $"array types may nest at most {VmType.MaxDepth} deep");
                        return new BoundError(line);
                    }
                    return new BoundArrayLiteral(line, VmType.ArrayOf(elementType), bound);
                }
            default:
                Error(ctx, "unsupported expression");
                return new BoundError(line);
        }
    }

    private BoundExpr BindInt(IToken token)
    {
        bool ok = Runtime.Execution.NumberText.TryParseIntLiteral(token.Text, out long value);
        if (!ok) Error(token, $"integer literal {token.Text} does not fit in 64 bits");
        return new BoundConst(token.Line, VmType.Int, value);
    }

    /// <summary>An escape as a message shows it: a character that would not show (a tab, a control character) is named.</summary>
    private static string ShownEscape(string escape)
    {
        if (escape.Length < 2 || !(char.IsControl(escape[1]) || char.IsWhiteSpace(escape[1]))) return $"'{escape}'";
        char c = escape[1];
        return $"'\\' followed by {(c == '\t' ? "a tab" : c == ' ' ? "a space" : $"U+{(int)c:X4}")}";
    }

    private BoundExpr BindString(StringLitContext s)
    {
        int line = LineOf(s);
        var parts = new List<BoundExpr>();
        var text = new StringBuilder();
        foreach (var part in s.stringPart())
        {
            switch (part)
            {
                case TextPartContext t: text.Append(t.GetText()); break;
                case EscapePartContext e:
                    {
                        string esc = e.GetText();
                        if (esc.StartsWith("\\u{", StringComparison.Ordinal))
                        {
                            AppendUnicodeEscape(text, esc, e.Start);
                            break;
                        }
                        char? c = esc.Length < 2 ? null : esc[1] switch
                        {
                            'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', '\\' => '\\', '"' => '"', '{' => '{', '}' => '}',
                            _ => null,
                        };
                        if (esc == "\\u") Error(e.Start, "a \\u escape is written \\u{X}, with 1 to 6 hex digits");
                        else if (c is null) Error(e.Start, $"unknown escape sequence {ShownEscape(esc)}; the escapes are \\n \\t \\r \\0 \\\\ \\\" \\{{ \\}} and \\u{{X}}");
                        else text.Append(c.Value);
                        break;
                    }
                case InterpPartContext i:
                    {
                        if (text.Length > 0) parts.Add(new BoundString(line, text.ToString()));
                        text.Clear();
                        if (i.expr() is null)
                        {
                            Error(i.INTERP_END().Symbol, "unexpected '}': an interpolation needs an expression between its braces (write \\{ for a brace)");
                            parts.Add(new BoundError(line));
                        }
                        else parts.Add(ToStr(BindValue(i.expr(), null), i.expr()));
                        break;
                    }
            }
        }
        if (text.Length > 0 || parts.Count == 0) parts.Add(new BoundString(line, text.ToString()));
        if (parts.Any(p => p.Type.IsError())) return new BoundError(line);
        return parts.Count == 1 ? parts[0] : new BoundConcat(line, [.. parts]);
    }

    /// <summary>
    /// <c>\u{X}</c>: the code point X (1 to 6 hex digits, at most 10FFFF). Strings are UTF-16, so X up to FFFF is
    /// one code unit, a lone surrogate included (as the text of <c>s[i]</c> may be), and a larger X two.
    /// </summary>
    private void AppendUnicodeEscape(StringBuilder text, string esc, IToken at)
    {
        var digits = esc.AsSpan(3, esc.Length - 4);
        if (digits.Length > 6)
        {
            Error(at, "a \\u escape is written \\u{X}, with 1 to 6 hex digits", esc.Length);
            return;
        }
        int value = int.Parse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        if (value > 0x10FFFF)
        {
            Error(at, $"'{esc}' is past the last code point, \\u{{10ffff}}", esc.Length);
            return;
        }
        if (value <= 0xFFFF) text.Append((char)value);
        else text.Append(char.ConvertFromUtf32(value));
    }

    // -------------------------------------------------------------------------------------------- suggestions

    /// <summary>The variable whose value is being bound (`let f = ...`), which that value can't name yet.</summary>
    private string? _declaring;

    /// <summary>Why a bare name that is no variable or field can't be assigned: what it names, or that it names nothing.</summary>
    private string NotAssignable(string name) =>
        _unit.Constants.ContainsKey(name) ? $"cannot assign to '{name}': it is a constant of the file (a top-level `let`); keep a value that changes in a `var` or a field"
        : _functions.ContainsKey(name) ? $"cannot assign to '{name}': it is a function; keep a function value in a `var` to change it"
        : _unit.Imports.ContainsKey(name) ? $"cannot assign to '{name}': it is an imported module"
        : _classes.ContainsKey(name) ? $"cannot assign to '{name}': it is a class"
        : UndefinedName(name);

    private string UndefinedName(string name, bool function = false)
    {
        // Past the errors reported, the message is dropped: its search for a near name (every name in scope, for
        // each error) made a file of 8,000 locals and 8,000 misspellings take 14 s.
        if (_diagnostics.Full) return "";
        var candidates = function
            ? _functions.Keys.Concat(Builtins)
            : _scopes.SelectMany(s => s.Keys).Where(k => !k.StartsWith('$')).Concat(_functions.Keys).Concat(Builtins);
        string hint = function ? HabitHint(name, call: true) : NameHabitHint(name);
        if (hint.Length == 0 && !function && StdModuleNames.Contains(name) && !_unit.Imports.ContainsKey(name))
            hint = $"; '{name}' is a module of the standard library: write `import std.{name}` at the top of the file";
        return $"undefined {(function ? "function" : "name")} '{name}'{(hint.Length > 0 ? hint : Suggest(name, candidates))}";
    }

    /// <summary>The modules of the standard library, by the names a program uses them with.</summary>
    private static readonly HashSet<string> StdModuleNames = ["io", "math", "time", "fs", "net", "env"];

    /// <summary>
    /// What a name from another language's habits is called here: `length`, `size` and `count` are `len()`,
    /// `toString()` and `str(x)` are interpolation, `int("42")` is `toInt()`, `append` and `add` are `push`. Empty
    /// when the name is none of those; <paramref name="call"/> for a bare function call.
    /// </summary>
    private static string HabitHint(string name, bool call = false) => (name, call) switch
    {
        ("length" or "size" or "count" or "length_", false) => "; the length of a string, array or map is `len()`",
        ("len", true) => "; the length is a method: `xs.len()`",
        ("toString" or "to_string" or "str", _) => "; make a string of any value with interpolation: \"{x}\"",
        ("int", true) => "; read an int from a string with `s.toInt()`; convert a float with `f as int`",
        ("float", true) => "; read a float from a string with `s.toFloat()`; convert an int with `n as float`",
        ("append" or "add", false) => "; add an element to an array with `push(v)`",
        ("printf" or "puts", true) => "; write with `println(x)` (or `print(x)` without a line break)",
        ("input" or "readline" or "gets" or "scanf", true) => "; read a line of standard input with `readLine()`",
        _ => "",
    };

    /// <summary>What a bare name from another language's habits is written as here (`new`, `and`, `nil`, `this`,
    /// `switch`, `elif`, `except`, and inside a function, where `const x = 3` reads as the name `const` and an
    /// assignment, `const` and `def`); empty for any other name.</summary>
    private static string NameHabitHint(string name) => name switch
    {
        "new" => "; an object is made by calling its class, without `new`, as in `Point(1, 2)`",
        "and" or "or" or "not" => "; the logical operators are `&&`, `||` and `!`",
        "nil" or "None" or "undefined" or "nullptr" or "NULL" => "; the value that is no value is `null`",
        "True" or "False" => "; the booleans are `true` and `false`",
        "this" => "; a method reaches its object as `self`",
        "switch" or "match" or "when" => "; there is no switch: test the cases with `if` and `else if`",
        "const" => "; a constant is declared with `let`, as in `let n = 3`",
        "def" or "function" or "func" => "; a function is declared with `fn`, at the top level of a file",
        "elif" or "elsif" or "elseif" => "; a second condition is written `else if`, as in `} else if x > 1 {`",
        "except" or "rescue" => "; an error is caught with `catch`, as in `try { ... } catch e: Error { ... }`",
        _ => "",
    };

    /// <summary>What a type's name from another language is called here; empty for any other name.</summary>
    internal static string TypeHabitHint(string name) => name switch
    {
        "boolean" or "Boolean" => "; did you mean 'bool'?",
        "integer" or "Integer" or "long" or "Long" or "i64" or "i32" or "int64" or "Int" => "; did you mean 'int'? (an int is 64 bits)",
        "double" or "Double" or "f64" or "number" or "Float" => "; did you mean 'float'? (a float is 64 bits)",
        "char" or "Char" or "rune" => "; a character is a one-character string",
        "str" or "String" => "; did you mean 'string'?",
        "void" => "; a function that returns nothing leaves out `-> type`",
        "list" or "List" or "Array" or "Vec" or "vector" => "; an array type is written `[T]`, as in `[int]`",
        "dict" or "Dict" or "Map" or "HashMap" => "; a map type is written `{K: V}`, as in `{string: int}`",
        _ => "",
    };

    private static string Suggest(string name, IEnumerable<string> candidates) =>
        Runtime.Spelling.Nearest(name, candidates.Where(c => c != name)) is { } best ? $"; did you mean '{best}'?" : "";

    private static string Plural(int n, string word) => n == 1 ? $"1 {word}" : $"{n} {word}s";

    /// <summary>A class's name with its article, by the letter it starts with: "an Account", "a Point".</summary>
    private static string A(string name) => (name.Length > 0 && "AEIOUaeiou".Contains(name[0]) ? "an " : "a ") + name;

    /// <summary>How to make sure a value that may be null is not, naming the variable when the value is one.</summary>
    private static string CheckItFirst(ExprContext e) =>
        AsName(e) is { } n ? $"check it with `if {n.GetText()} != null` first" : "keep it in a variable and check it with `if x != null` first";
}

internal static class VmTypeExtensions
{
    public static int Depth(this VmType t) => t.Kind == TypeKind.Array ? 1 + t.Element!.Depth() : 0;
}
