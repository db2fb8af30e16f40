using Antlr4.Runtime;
using Hlvm.Runtime.Bytecode;
using static Hlvm.Compiler.Syntax.HlParser;

namespace Hlvm.Compiler.Binding;

// Lambdas, captured variables and calls of function values.
//
// A lambda becomes a function of its own whose first parameter is its environment: an object of a class made for
// the lambda, with one field per variable of an enclosing function that the lambda uses. An immutable variable is
// copied into the environment when the closure is created. A mutable one lives in a cell (an object with one
// field) from its declaration on, and the function and every closure that captured it share the cell, so an
// assignment on either side is seen by the other. A lambda that captures nothing gets a null environment.
// Variables of a function two or more levels out are captured through each lambda in between.
public sealed partial class Binder
{
    /// <summary>The state of each function whose body is being bound around the current lambda, outermost first.</summary>
    private readonly List<FunctionState> _outer = [];

    private sealed record FunctionState(
        FunctionSymbol Function,
        List<Dictionary<string, LocalSymbol>> Scopes,
        Dictionary<LocalSymbol, int> Narrowed,
        int LoopDepth,
        int FinallyDepth,
        Stack<int> FinallyLoopDepth);

    /// <summary>The bodies of every lambda of the program.</summary>
    private readonly List<BoundFunction> _lambdas = [];

    /// <summary>The receiver of the method being bound (lambdas inside it capture it), or null outside methods.</summary>
    private LocalSymbol? _self;

    /// <summary>Cell classes by the type of value they hold, and the class of the environment nobody captures into.</summary>
    private readonly Dictionary<VmType, ClassSymbol> _cells = [];
    private ClassSymbol? _noEnv;

    private ClassSymbol NewHiddenClass(string name)
    {
        var c = new ClassSymbol(name, _classList.Count, isInterface: false) { Resolved = true };
        _classList.Add(c);
        return c;
    }

    private ClassSymbol CellOf(VmType type)
    {
        if (_cells.TryGetValue(type, out var cell)) return cell;
        cell = NewHiddenClass($"$cell:{N(type)}");
        cell.Fields.Add(new FieldSymbol("value", type, 0, true, cell, false));
        _cells[type] = cell;
        return cell;
    }

    /// <summary>A variable's current value, wherever it lives: the function's own slot (through its cell, the
    /// emitter's business) or, from a lambda, the lambda's environment.</summary>
    private BoundExpr ReadVariable(LocalSymbol local, int line)
    {
        local.Used = true;
        if (local.Owner == _function) return new BoundLocal(line, local);
        var raw = CapturedSlot(local, line);
        return local.Cell is { } cell ? new BoundGetField(line, local.Type, raw, cell, 0) : raw;
    }

    /// <summary>Assigns a variable (which must be mutable) wherever it lives.</summary>
    private BoundStmt WriteVariable(LocalSymbol local, BoundExpr value, int line)
    {
        if (local.Owner == _function) return new BoundStore(line, local, value);
        return new BoundSetField(line, CapturedSlot(local, line), local.Cell!, 0, value);
    }

    /// <summary>What a variable's slot holds (its value or its cell), as the current function reaches it.</summary>
    private BoundExpr RawVariable(LocalSymbol local, int line) =>
        local.Owner == _function ? new BoundSlot(line, local) : CapturedSlot(local, line);

    /// <summary>The environment field of the current lambda holding a variable of an enclosing function.</summary>
    private BoundExpr CapturedSlot(LocalSymbol local, int line)
    {
        var lambda = _function!;
        if (local.Mutable) local.Cell ??= CellOf(local.Type);
        int index = lambda.Captures.IndexOf(local);
        if (index < 0)
        {
            if (lambda.Env is null)
            {
                lambda.Env = NewHiddenClass($"$env:{lambda.Name}");
                lambda.Parameters[0] = lambda.Env.Type;
                lambda.Locals[0].Type = lambda.Env.Type;
            }
            index = lambda.Captures.Count;
            lambda.Captures.Add(local);
            lambda.Env.Fields.Add(new FieldSymbol(local.Name, local.SlotType, index, false, lambda.Env, false));
        }
        return new BoundGetField(line, local.SlotType, new BoundLocal(line, lambda.Locals[0]), lambda.Env!, index);
    }

    /// <summary>Finds a variable in the current function's scopes, then in the enclosing functions'.</summary>
    private LocalSymbol? Lookup(string name)
    {
        for (int i = _scopes.Count - 1; i >= 0; i--)
        {
            if (_scopes[i].TryGetValue(name, out var local)) return local;
        }
        for (int k = _outer.Count - 1; k >= 0; k--)
        {
            var scopes = _outer[k].Scopes;
            for (int i = scopes.Count - 1; i >= 0; i--)
            {
                if (scopes[i].TryGetValue(name, out var local)) return local;
            }
        }
        return null;
    }

    private int _lambdaCount;

    private BoundExpr BindLambda(LambdaExprContext ctx, VmType? expected)
    {
        int line = LineOf(ctx);
        var ps = ctx.lambdaParams()?.lambdaParam() ?? [];
        var expectedFn = expected is { Kind: TypeKind.Func } e && e.Params!.Length == ps.Length ? e : null;
        var types = new VmType[ps.Length];
        var names = new string[ps.Length];
        bool failed = false;
        for (int i = 0; i < ps.Length; i++)
        {
            names[i] = ps[i].ID().GetText();
            if (ps[i].type() is { } t) types[i] = BindType(t);
            else if (expectedFn is not null) types[i] = expectedFn.Params![i];
            else
            {
                Error(ps[i].ID().Symbol, $"cannot tell the type of parameter '{names[i]}'; write it, as in `fn({names[i]}: int) ...`");
                types[i] = Types.Error;
            }
            if (Array.IndexOf(names, names[i]) != i) Error(ps[i].ID().Symbol, $"parameter '{names[i]}' is declared twice");
            failed |= types[i].IsError();
        }
        if (ps.Length > VmType.MaxParams)
        {
            Error(ctx, $"a function value may take at most {VmType.MaxParams} parameters");
            return new BoundError(line);
        }
        VmType? declaredReturn = ctx.returnType is { } rt ? BindType(rt) : null;
        // A block body returns nothing unless '->' (or the context) says what; an expression body returns its value.
        // A context that leaves the return type open (map's function) passes Infer.
        var expectedReturn = expectedFn?.Element == Infer ? null : expectedFn?.Element;
        VmType? ret = declaredReturn ?? (ctx.block() is not null ? expectedReturn ?? VmType.Void : expectedReturn);

        // Named after the named function it is written in, however deep in other lambdas: a name built on the
        // enclosing lambda's grew with each level (main$lambda1$lambda2...), so that 4,000 lambdas nested in one
        // another took 400 MB of names to compile, and wrote them into the module.
        var outerName = (_outer.Count > 0 ? _outer[0].Function : _function!).Name;
        var symbol = NewFunction($"{outerName}$lambda{++_lambdaCount}", [Types.Error, .. types], ["$env", .. names], ret ?? Types.Error);
        Enter(symbol);
        var env = NewLocal("$env", Types.Error, mutable: false);
        for (int i = 0; i < types.Length; i++)
        {
            var local = NewLocal(names[i], types[i], mutable: false, VariableRole.Parameter);
            local.Used = true; // a lambda's parameters are dictated by its type; an unused one is no mistake
            _scopes[0].TryAdd(names[i], local);
        }
        BoundBlock body;
        if (ctx.block() is { } block)
        {
            body = BindBlock(block);
            if (!symbol.Return.IsError() && symbol.Return != VmType.Void && !AlwaysReturns(body))
                Error(block.Stop, $"the function value must return {N(symbol.Return)}, but its end can be reached without a return");
        }
        else
        {
            // An expression body of a function returning nothing may be a call returning nothing.
            var value = ret is null || ret == VmType.Void ? BindExpr(ctx.expr(), ret) : BindValue(ctx.expr(), ret);
            if (ret is null)
            {
                ret = value.Type.Kind == TypeKind.Null ? Types.Error : value.Type;
                if (value.Type.Kind == TypeKind.Null) Error(ctx.expr(), "cannot tell the type of `null`; declare the return type, as in `fn() -> string? => null`");
                symbol.Return = ret;
            }
            else if (ret != VmType.Void) value = Check(value, ret, ctx.expr(), "the function value returns");
            body = new BoundBlock(line, [ret == VmType.Void || value.Type == VmType.Void ? new BoundExprStmt(line, value) : new BoundReturn(line, value)]);
        }
        Leave();
        if (symbol.Env is null)
        {
            _noEnv ??= NewHiddenClass("$noenv");
            symbol.Parameters[0] = _noEnv.Type.AsNullable();
            env.Type = symbol.Parameters[0];
        }
        _lambdas.Add(new BoundFunction(symbol, body, line));
        CheckSelfCapture(symbol, _self, ctx);
        if (failed || symbol.Return.IsError()) return new BoundError(line);
        // The environment's values, as this (enclosing) function sees the captured variables.
        var captured = symbol.Captures.Select(c => RawVariable(c, line)).ToArray();
        return new BoundLambda(line, VmType.FuncOf(types, symbol.Return), symbol, IsLambda: true, captured);
    }

    /// <summary>Saves the current function's state and starts binding <paramref name="lambda"/> inside it.</summary>
    private void Enter(FunctionSymbol lambda)
    {
        _outer.Add(new FunctionState(_function!, _scopes, _narrowed, _loopDepth, _finallyDepth, _finallyLoopDepth));
        _function = lambda;
        _scopes = [[]];
        // A `let` or a parameter checked not null stays so in a function value made where the check holds: the
        // function takes a copy of it then, which nothing changes. (A `var` lives in a cell the function shares, so
        // its check ends here; the error's advice, to copy it into a `let` and check that, was also refused before.)
        _narrowed = _narrowed.Where(n => !n.Key.Mutable).ToDictionary(n => n.Key, n => 1);
        _loopDepth = 0;
        _finallyDepth = 0;
        _finallyLoopDepth = new Stack<int>();
    }

    private void Leave()
    {
        var s = _outer[^1];
        _outer.RemoveAt(_outer.Count - 1);
        CheckUnused(_scopes[0]);
        (_function, _scopes, _narrowed, _loopDepth, _finallyDepth, _finallyLoopDepth) =
            (s.Function, s.Scopes, s.Narrowed, s.LoopDepth, s.FinallyDepth, s.FinallyLoopDepth);
    }

    /// <summary>The variables declared with let or var, with where: one never read gets a warning.</summary>
    private readonly Dictionary<LocalSymbol, IToken> _unusedCandidates = [];

    /// <summary>Warns of the variables of a scope being closed that were declared but never read.</summary>
    private void CheckUnused(Dictionary<string, LocalSymbol> scope)
    {
        foreach (var local in scope.Values)
        {
            if (local.Used || local.Name.StartsWith('_') || !_unusedCandidates.Remove(local, out var at)) continue;
            _diagnostics.Add(new Diagnostics.Diagnostic(Diagnostics.Severity.Warning, _source, at.Line, at.Column + 1,
                $"variable '{local.Name}' is never used; remove it, or start its name with '_' if it is meant to be unused", local.Name.Length));
        }
    }

    /// <summary>Calls a value of a function type with the arguments of a call expression.</summary>
    private BoundExpr BindClosureCall(BoundExpr callee, IToken at, string what, ExprContext[] args, int line)
    {
        var type = callee.Type;
        var names = type.Params!.Select((_, i) => $"#{i + 1}").ToArray();
        var bound = BindArgs(what, at, type.Params!, names, args);
        if (bound is null) return new BoundError(line);
        return new BoundCallClosure(line, type.Element!, type.AsNonNullable(), callee, bound);
    }
}
