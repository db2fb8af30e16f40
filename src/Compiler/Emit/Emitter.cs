using Hlvm.Compiler.Binding;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Natives;

namespace Hlvm.Compiler.Emit;

/// <summary>Turns a bound program (free of errors) into a module.</summary>
public sealed class Emitter
{
    private readonly Module _module = new();
    private readonly Dictionary<string, int> _strings = [];
    private readonly Dictionary<VmType, int> _types = [];
    private readonly Dictionary<string, int> _natives = [];
    // The enclosing loops' targets. (A class, not a tuple: the framework's collections over a value type are its
    // generic code, which ReadyToRun can't hold and .NET compiles at every compile; likewise the loops below.)
    private sealed record LoopTargets(Label BreakTo, Label ContinueTo, int TryDepth);

    private readonly Stack<LoopTargets> _loops = new();
    private CodeBuilder _code = new();
    private FunctionSymbol _function = null!;

    /// <summary>
    /// A try being emitted. Its protected code is a list of segments, because code that leaves the try (the copy of
    /// a finally block run by a return, break or continue) must not be protected by it.
    /// </summary>
    private sealed class TryContext(BoundTry t)
    {
        public BoundTry Try { get; } = t;
        public List<(int Start, int End)> Body { get; } = [];
        public List<(int Start, int End)> CatchCode { get; } = [];
        public bool InCatch { get; set; }
        public int? OpenAt { get; set; }

        // A try with a finally emits its finally once, at Finally; every way into it (the body's or a catch's end,
        // an error, a break, continue or return leaving the try) sets Selector first, to 0, -1, or the number of
        // its entry in Exits (from 1), and the code after the finally goes on by it: on after the try, the error
        // thrown again, or the exit's own way (Exits' action, emitted after the finally).
        public Label? Finally { get; init; }
        public int Selector { get; init; }
        public List<(object To, Label At, Action Then)> Exits { get; } = [];
        public bool FallsThrough { get; set; }

        // The local a return through this try's finally (and those inside it) keeps its value in, when this is the
        // outermost try with a finally of a function that returns a value; else -1.
        public int ReturnValue { get; set; } = -1;
    }

    private readonly List<TryContext> _tries = [];

    public static Module Emit(string name, string sourceFile, BoundProgram program)
    {
        var e = new Emitter();
        e._module.Name = name;
        e._module.SourceFile = sourceFile;
        foreach (var c in program.Classes) e._module.Classes.Add(ClassDefOf(c));
        e._errorClass = program.Classes.FindIndex(c => c.Name == "Error");
        // A module's function names are unique (the reader refuses two of one name), but a program's may not be: a
        // method m of the main file's class C and the function m of a module C it imports are both 'C.m'. The later
        // one takes a number, 'C.m#2', which its traces show (with its file).
        var names = new HashSet<string>();
        for (int i = 0; i < program.Functions.Count; i++)
        {
            var f = program.Functions[i];
            if (f.Symbol.Index != i) throw new InvalidOperationException($"emitter bug: function {f.Symbol.Name} has index {f.Symbol.Index}, expected {i}");
            var def = e.EmitFunction(f);
            if (!names.Add(def.Name))
            {
                int n = 2;
                while (!names.Add($"{def.Name}#{n}")) n++;
                def.Name = $"{def.Name}#{n}";
            }
            e._module.Functions.Add(def);
        }
        e._module.EntryFunction = program.Functions.FirstOrDefault(f => f.Symbol.Name == "main")?.Symbol.Index ?? -1;
        return e._module;
    }

    private static ClassDef ClassDefOf(ClassSymbol c)
    {
        var def = new ClassDef
        {
            Name = c.Name,
            IsInterface = c.IsInterface,
            Super = c.Super?.Index ?? -1,
            Interfaces = new int[c.Interfaces.Count],
        };
        for (int i = 0; i < def.Interfaces.Length; i++) def.Interfaces[i] = c.Interfaces[i].Index;
        def.Fields.AddRange(c.Fields.Where(f => f.Owner == c).Select(f => new FieldDef(f.Name, f.Type)));
        def.Methods.AddRange(c.OwnMethods.Select(m => new MethodDef(m.Name, m.Function.Index)));
        foreach (var sig in c.Signatures) def.Signatures.Add(new InterfaceMethod(sig.Name, sig.Params, sig.Return));
        return def;
    }

    private FunctionDef EmitFunction(BoundFunction f)
    {
        _code = new CodeBuilder();
        _function = f.Symbol;
        // Before the code, whose instructions name the locals in 16 bits: past the limit, an operand overflowed.
        _code.MarkLine(f.Line);
        CheckLocals(f.Symbol.Locals.Count);
        try
        {
            EmitStatement(f.Body);
            if (_code.Reachable)
            {
                if (f.Symbol.Return != VmType.Void)
                    throw new InvalidOperationException($"emitter bug: the end of '{f.Symbol.Name}' is reachable but it must return {f.Symbol.Return}");
                _code.Emit(Opcode.RetVoid);
            }
        }
        catch (CodeTooLongException)
        {
            throw Limit($"function '{_function.Name}' has more than {ModuleFormat.MaxCodeLength} bytes of code, the most a module's function may have; split it into functions");
        }
        // The module reader's bound: past it, the function compiled and ran from source, but its .hlc did not load.
        if (_code.MaxStack > ModuleFormat.MaxStackLimit)
            throw Limit($"function '{_function.Name}' needs a stack of {_code.MaxStack} values, more than the {ModuleFormat.MaxStackLimit} a module's function may have; build the largest array and map literals in steps (`push`)", f.Line);
        return new FunctionDef
        {
            Name = f.Symbol.Name,
            SourceFile = f.Symbol.SourceFile,
            Params = f.Symbol.Parameters,
            Return = f.Symbol.Return,
            Locals = f.Symbol.Locals.Select(l => l.SlotType).ToArray(),
            MaxStack = _code.MaxStack,
            Code = _code.ToArray(),
            Lines = _code.Lines,
            Handlers = _code.Handlers,
        };
    }

    // -------------------------------------------------------------------------------------------- statements

    private void EmitStatement(BoundStmt s)
    {
        if (!_code.Reachable) return; // after a return, break or continue: dead code, checked but not emitted
        _code.MarkLine(s.Line);
        switch (s)
        {
            case BoundBlock b:
                foreach (var inner in b.Statements) EmitStatement(inner);
                break;
            case BoundExprStmt e:
                EmitExpr(e.Expr);
                if (e.Expr.Type != VmType.Void) _code.Emit(Opcode.Pop);
                break;
            case BoundStore { Local.Cell: { } cell } st:
                // A captured mutable variable: its declaration makes a new cell (one per execution, so each
                // iteration of a loop has its own); every store goes into the cell.
                if (st.Declares)
                {
                    _code.Emit(Opcode.NewObject, cell.Index);
                    _code.Emit(Opcode.Store, st.Local.Slot);
                }
                _code.Emit(Opcode.Load, st.Local.Slot);
                EmitExpr(st.Value);
                _code.Emit(Opcode.SetField, cell.Index, 0);
                break;
            case BoundStore st:
                EmitExpr(st.Value);
                _code.Emit(Opcode.Store, st.Local.Slot);
                break;
            case BoundSetField sf:
                EmitExpr(sf.Target);
                EmitExpr(sf.Value);
                _code.Emit(Opcode.SetField, sf.Class.Index, sf.Field);
                break;
            case BoundIndexStore ist:
                EmitExpr(ist.Array);
                EmitExpr(ist.Index);
                EmitExpr(ist.Value);
                _code.Emit(Opcode.AStore);
                break;
            case BoundMapSet ms:
                EmitExpr(ms.Map);
                EmitExpr(ms.Key);
                EmitExpr(ms.Value);
                _code.Emit(Opcode.MapSet);
                break;
            case BoundPush p:
                EmitExpr(p.Array);
                EmitExpr(p.Value);
                _code.Emit(Opcode.APush);
                break;
            case BoundIf i:
                {
                    var otherwise = new Label();
                    var end = new Label();
                    EmitBranch(i.Condition, otherwise, whenTrue: false);
                    EmitStatement(i.Then);
                    if (i.Else is not null) _code.Jump(Opcode.Jmp, end);
                    _code.Mark(otherwise);
                    if (i.Else is not null) EmitStatement(i.Else);
                    _code.Mark(end);
                    break;
                }
            case BoundWhile w:
                {
                    var top = new Label();
                    var test = new Label();
                    var end = new Label();
                    if (Binder.IsTrue(w.Condition))
                    {
                        _code.Mark(top);
                        EmitLoopBody(w.Body, end, top);
                        _code.Jump(Opcode.Jmp, top);
                    }
                    else
                    {
                        // The test at the bottom: one jump per iteration instead of two.
                        _code.Jump(Opcode.Jmp, test);
                        _code.Mark(top, targetedLater: true);
                        EmitLoopBody(w.Body, end, test);
                        _code.Mark(test);
                        _code.MarkLine(w.Line);
                        EmitBranch(w.Condition, top, whenTrue: true);
                    }
                    _code.Mark(end);
                    break;
                }
            case BoundForRange f:
                {
                    EmitExpr(f.From);
                    _code.Emit(Opcode.Store, f.Variable.Slot);
                    EmitExpr(f.To);
                    _code.Emit(Opcode.Store, f.End.Slot);
                    EmitCountedLoop(f.Line, f.Variable.Slot, () =>
                    {
                        _code.Emit(Opcode.Load, f.End.Slot);
                    }, () => { }, f.Body);
                    break;
                }
            case BoundForEach f:
                {
                    EmitExpr(f.Source);
                    _code.Emit(Opcode.Store, f.Array.Slot);
                    _code.Emit(Opcode.IConst, 0);
                    _code.Emit(Opcode.Store, f.Index.Slot);
                    EmitCountedLoop(f.Line, f.Index.Slot, () =>
                    {
                        _code.Emit(Opcode.Load, f.Array.Slot);
                        _code.Emit(Opcode.ALen);
                    }, () =>
                    {
                        _code.Emit(Opcode.Load, f.Array.Slot);
                        _code.Emit(Opcode.Load, f.Index.Slot);
                        _code.Emit(Opcode.ALoad);
                        _code.Emit(Opcode.Store, f.Variable.Slot);
                    }, f.Body);
                    break;
                }
            case BoundBreak:
                {
                    var loop = _loops.Peek();
                    LeaveTries(loop.TryDepth, loop.BreakTo, () => _code.Jump(Opcode.Jmp, loop.BreakTo));
                }
                break;
            case BoundContinue:
                {
                    var loop = _loops.Peek();
                    LeaveTries(loop.TryDepth, loop.ContinueTo, () => _code.Jump(Opcode.Jmp, loop.ContinueTo));
                }
                break;
            case BoundReturn r:
                if (r.Value is null) LeaveTries(0, ReturnsVoid, () => _code.Emit(Opcode.RetVoid));
                else if (!_tries.Any(t => t.Try.Finally is not null))
                {
                    EmitExpr(r.Value);
                    _code.Emit(Opcode.Ret);
                }
                else
                {
                    // The value is computed inside the try; the finally blocks run after it, before the return.
                    EmitExpr(r.Value);
                    int value = _tries.First(t => t.Finally is not null).ReturnValue;
                    _code.Emit(Opcode.Store, value);
                    LeaveTries(0, Returns, () =>
                    {
                        _code.Emit(Opcode.Load, value);
                        // Kept in a local that may hold null (see EmitTry); what was stored is of the return type.
                        if (_function.Return.IsReference && !_function.Return.Nullable) _code.Emit(Opcode.NonNull);
                        _code.Emit(Opcode.Ret);
                    });
                }
                break;
            case BoundTry t:
                EmitTry(t);
                break;
            case BoundThrow th:
                EmitExpr(th.Value);
                _code.Emit(Opcode.Throw);
                break;
            default:
                throw new InvalidOperationException($"cannot emit {s.GetType().Name}");
        }
    }

    /// <summary>
    /// <c>while counter &lt; limit { prologue; body; counter += 1 }</c>, where <paramref name="limit"/> pushes the
    /// bound; <c>continue</c> goes to the increment.
    /// </summary>
    private void EmitCountedLoop(int line, int counter, Action limit, Action prologue, BoundStmt body)
    {
        var top = new Label();
        var next = new Label();
        var test = new Label();
        var end = new Label();
        // The test at the bottom: one jump per iteration instead of two.
        _code.Jump(Opcode.Jmp, test);
        _code.Mark(top, targetedLater: true);
        prologue();
        EmitLoopBody(body, end, next);
        _code.Mark(next);
        _code.Emit(Opcode.Load, counter);
        _code.Emit(Opcode.IConst, 1);
        _code.Emit(Opcode.IAdd);
        _code.Emit(Opcode.Store, counter);
        _code.Mark(test);
        _code.MarkLine(line);
        _code.Emit(Opcode.Load, counter);
        limit();
        _code.Emit(Opcode.ILt);
        _code.Jump(Opcode.JmpIf, top);
        _code.Mark(end);
    }

    /// <summary>
    /// Jumps to <paramref name="target"/> when <paramref name="condition"/> is <paramref name="whenTrue"/>, falling
    /// through otherwise. `&&`, `||` and `!` become jumps rather than bool values, so a condition such as
    /// <c>i &lt; n &amp;&amp; ok</c> costs one test and one jump per operand.
    /// </summary>
    private void EmitBranch(BoundExpr condition, Label target, bool whenTrue)
    {
        switch (condition)
        {
            case BoundConst { Type.Kind: TypeKind.Bool } c:
                if ((c.Bits != 0) == whenTrue) _code.Jump(Opcode.Jmp, target);
                break;
            case BoundOp { Op: Opcode.BNot, Right: null } not:
                EmitBranch(not.Left, target, !whenTrue);
                break;
            case BoundOp { Op: Opcode.RefEq or Opcode.RefNe, Right: { } right } cmp when cmp.Left is BoundNull || right is BoundNull:
                {
                    // x == null: one test of x rather than pushing null and comparing.
                    EmitExpr(cmp.Left is BoundNull ? right : cmp.Left);
                    bool jumpIfNull = (cmp.Op == Opcode.RefEq) == whenTrue;
                    _code.Jump(jumpIfNull ? Opcode.JmpIfNull : Opcode.JmpIfNotNull, target);
                    break;
                }
            case BoundLogical lg when lg.IsAnd != whenTrue:
                // a && b is false when either is; a || b is true when either is.
                EmitBranch(lg.Left, target, whenTrue);
                EmitBranch(lg.Right, target, whenTrue);
                break;
            case BoundLogical lg:
                {
                    // a && b is true when both are; a || b is false when both are.
                    var skip = new Label();
                    EmitBranch(lg.Left, skip, !whenTrue);
                    EmitBranch(lg.Right, target, whenTrue);
                    _code.Mark(skip);
                    break;
                }
            default:
                EmitExpr(condition);
                _code.Jump(whenTrue ? Opcode.JmpIf : Opcode.JmpIfNot, target);
                break;
        }
    }

    private void EmitLoopBody(BoundStmt body, Label breakTo, Label continueTo)
    {
        _loops.Push(new LoopTargets(breakTo, continueTo, _tries.Count));
        EmitStatement(body);
        _loops.Pop();
    }

    // -------------------------------------------------------------------------------------------- try

    /// <summary>A function may have at most <see cref="ModuleFormat.MaxLocals"/> local slots, its hidden ones included.</summary>
    /// <remarks>Past the limit, an error at the line being emitted: the function's own, for the locals it declares,
    /// and for the hidden ones the compiler adds, the statement that needed one more.</remarks>
    private void CheckLocals(int count)
    {
        if (count > ModuleFormat.MaxLocals)
            throw Limit($"function '{_function.Name}' needs {count} local slots (at most {ModuleFormat.MaxLocals})");
    }

    /// <summary>A limit passed at <paramref name="line"/> (else the line being emitted), in the file being compiled (a
    /// line of an imported module's would point into that module).</summary>
    private CompileLimitException Limit(string message, int? line = null) =>
        new(message) { Line = _function.SourceFile is null ? line ?? _code.CurrentLine : 0 };

    /// <summary>A hidden local of the function being emitted.</summary>
    private int Temp(VmType type)
    {
        CheckLocals(_function.Locals.Count + 1);
        var local = new LocalSymbol("$t", type, true, _function.Locals.Count, _function);
        _function.Locals.Add(local);
        return local.Slot;
    }

    private void Pause(TryContext t)
    {
        if (t.OpenAt is not { } start) return;
        (t.InCatch ? t.CatchCode : t.Body).Add((start, _code.Offset));
        t.OpenAt = null;
    }

    private void Resume(TryContext t) => t.OpenAt = _code.Offset;

    /// <summary>
    /// Leaves the tries nested deeper than <paramref name="depth"/> (a return leaves them all, a break those inside
    /// its loop): goes through their finally blocks, innermost first, then <paramref name="exit"/>. Each finally is
    /// entered with this exit's number, and the way on from it (into the next finally out, or the exit) is emitted
    /// after it (<see cref="EmitTry"/>), outside the protection of the tries it leaves.
    /// </summary>
    /// <remarks>Exits to one place (<paramref name="to"/>: a loop's break or continue label, or a return) share their
    /// way on from each finally they go through, so that the ways a finally tells apart are its try's exits' places,
    /// not its exits: each of the exits of nested tries had ways of its own through every finally outside it.</remarks>
    private void LeaveTries(int depth, object to, Action exit)
    {
        var left = _tries.Skip(depth).Reverse().ToList();
        foreach (var t in left) Pause(t);
        Through(left, 0, to, exit);
        foreach (var t in left) Resume(t);
    }

    /// <summary>Goes into the next finally of <paramref name="left"/> from <paramref name="next"/> on, or, past the
    /// last, out by <paramref name="exit"/>.</summary>
    private void Through(List<TryContext> left, int next, object to, Action exit)
    {
        while (next < left.Count && left[next].Finally is null) next++;
        if (next == left.Count)
        {
            exit();
            return;
        }
        var t = left[next];
        int way = t.Exits.FindIndex(e => e.To == to) + 1;
        if (way == 0)
        {
            int after = next + 1;
            t.Exits.Add((to, new Label(), () => Through(left, after, to, exit)));
            way = t.Exits.Count;
        }
        EnterFinally(t, way);
    }

    /// <summary>The places of <see cref="LeaveTries"/> for a return without and with a value (a loop's are its labels).</summary>
    private static readonly object ReturnsVoid = new(), Returns = new();

    /// <summary>Goes into the finally of <paramref name="t"/> to go on by <paramref name="way"/> after it.</summary>
    private void EnterFinally(TryContext t, int way)
    {
        if (way == 0) t.FallsThrough = true;
        _code.Emit(Opcode.IConst, way);
        _code.Emit(Opcode.Store, t.Selector);
        _code.Jump(Opcode.Jmp, t.Finally!);
    }

    /// <summary>The selector of a finally entered by an error, which is thrown again after it.</summary>
    private const int ByError = -1;

    private void EmitTry(BoundTry t)
    {
        // The catch-all of a finally takes what the catches take, or anything.
        int errorClass = t.Catches.Length > 0 ? RootClass(t.Catches[0].Class) : _errorClass;
        int error = 0;
        TryContext ctx;
        if (t.Finally is not null)
        {
            ctx = new TryContext(t) { Finally = new Label(), Selector = Temp(VmType.Int) };
            // The error a finally throws again, and the value a return through it returns, are read after it, where
            // every way into it meets: each must have been set on every one (the verifier's rule for locals).
            error = Temp(VmType.ObjectOf(errorClass).AsNullable());
            _code.Emit(Opcode.AConstNull);
            _code.Emit(Opcode.Store, error);
            // One local for the returns through this try and the tries inside it, set here, where it is set on every
            // way in (an inner try's start is no place: a return's value may wait in it while a finally block, and a
            // try inside that, runs). It may hold null whatever the return type, so a non-nullable reference is
            // checked again as it is returned.
            var type = _function.Return;
            if (type != VmType.Void && !_tries.Any(o => o.Finally is not null))
            {
                ctx.ReturnValue = Temp(type.IsReference ? type.AsNullable() : type);
                if (type.IsReference) _code.Emit(Opcode.AConstNull);
                else EmitExpr(new BoundConst(t.Line, type, 0)); // 0, 0.0 or false
                _code.Emit(Opcode.Store, ctx.ReturnValue);
            }
        }
        else ctx = new TryContext(t);
        _tries.Add(ctx);
        var end = new Label();
        Resume(ctx);
        EmitStatement(t.Body);
        Pause(ctx);
        _tries.RemoveAt(_tries.Count - 1);
        if (_code.Reachable)
        {
            if (ctx.Finally is not null) EnterFinally(ctx, 0);
            else _code.Jump(Opcode.Jmp, end);
        }
        foreach (var c in t.Catches)
        {
            var handler = new Label();
            _code.MarkHandler(handler);
            foreach (var (start, stop) in ctx.Body) _code.AddHandler(start, stop, handler.Offset, c.Class.Index);
            _code.Emit(Opcode.Store, c.Variable.Slot);
            if (ctx.Finally is not null)
            {
                // A catch block is protected by the finally (its catch-all below), not by the catches.
                ctx.InCatch = true;
                _tries.Add(ctx);
                Resume(ctx);
                EmitStatement(c.Body);
                Pause(ctx);
                _tries.RemoveAt(_tries.Count - 1);
                if (_code.Reachable) EnterFinally(ctx, 0);
            }
            else
            {
                EmitStatement(c.Body);
                if (_code.Reachable) _code.Jump(Opcode.Jmp, end);
            }
        }
        if (t.Finally is { } fin)
        {
            // Any error raised in the try or a catch runs the finally block, then goes on.
            var handler = new Label();
            _code.MarkHandler(handler);
            foreach (var (start, stop) in ctx.Body.Concat(ctx.CatchCode)) _code.AddHandler(start, stop, handler.Offset, errorClass);
            _code.Emit(Opcode.Store, error);
            EnterFinally(ctx, ByError);
            // The finally block, once: it was emitted again for every way out of the try, so that nested ones
            // multiplied (15 levels of 1,000 statements took 17.5 s and 1.9 GB to compile).
            _code.Mark(ctx.Finally!);
            EmitStatement(fin);
            if (_code.Reachable)
            {
                void GoOn(int way, Label to)
                {
                    _code.Emit(Opcode.Load, ctx.Selector);
                    _code.Emit(Opcode.IConst, way);
                    _code.Emit(Opcode.IEq);
                    _code.Jump(Opcode.JmpIf, to);
                }
                // (Only ways some path takes: the end of a try that always leaves another way is not reached.)
                if (ctx.FallsThrough) GoOn(0, end);
                for (int way = 1; way <= ctx.Exits.Count; way++) GoOn(way, ctx.Exits[way - 1].At);
                _code.Emit(Opcode.Load, error);
                _code.Emit(Opcode.Throw);
                // An exit's way on may leave more tries, and so add exits to theirs, never to this one's.
                foreach (var (_, at, then) in ctx.Exits)
                {
                    _code.Mark(at);
                    then();
                }
            }
        }
        _code.Mark(end);
    }

    private static int RootClass(ClassSymbol c)
    {
        while (c.Super is not null) c = c.Super;
        return c.Index;
    }

    /// <summary>The index of the prelude's Error class, the root of everything a program can throw.</summary>
    private int _errorClass;

    // -------------------------------------------------------------------------------------------- expressions

    private void EmitExpr(BoundExpr e)
    {
        switch (e)
        {
            case BoundConst c:
                _code.Emit(c.Type.Kind switch
                {
                    TypeKind.Int => Opcode.IConst,
                    TypeKind.Float => Opcode.FConst,
                    _ => Opcode.BConst,
                }, c.Bits);
                break;
            case BoundString s:
                _code.Emit(Opcode.SConst, StringIndex(s.Value));
                break;
            case BoundLocal l:
                _code.Emit(Opcode.Load, l.Local.Slot);
                if (l.Local.Cell is { } cellOf) _code.Emit(Opcode.GetField, cellOf.Index, 0);
                break;
            case BoundSlot slot:
                _code.Emit(Opcode.Load, slot.Local.Slot);
                break;
            case BoundLambda { IsLambda: false } fref:
                _code.Emit(Opcode.FuncRef, fref.Function.Index);
                break;
            case BoundLambda lambda:
                if (lambda.Function.Env is { } env)
                {
                    _code.Emit(Opcode.NewObject, env.Index);
                    for (int k = 0; k < lambda.Captured.Length; k++)
                    {
                        _code.Emit(Opcode.Dup);
                        EmitExpr(lambda.Captured[k]);
                        _code.Emit(Opcode.SetField, env.Index, k);
                    }
                }
                else _code.Emit(Opcode.AConstNull);
                _code.Emit(Opcode.Closure, lambda.Function.Index);
                break;
            case BoundCallClosure cc:
                EmitExpr(cc.Callee);
                foreach (var a in cc.Args) EmitExpr(a);
                _code.EmitWithEffect(Opcode.CallClosure, cc.Args.Length + 1, cc.Type == VmType.Void ? 0 : 1, TypeIndex(cc.FuncType));
                break;
            case BoundOp op:
                EmitExpr(op.Left);
                if (op.Right is not null) EmitExpr(op.Right);
                _code.Emit(op.Op);
                break;
            case BoundOpN opn:
                foreach (var operand in opn.Operands) EmitExpr(operand);
                _code.Emit(opn.Op);
                break;
            case BoundLogical lg:
                {
                    var shortCircuit = new Label();
                    var end = new Label();
                    EmitExpr(lg.Left);
                    _code.Jump(lg.IsAnd ? Opcode.JmpIfNot : Opcode.JmpIf, shortCircuit);
                    EmitExpr(lg.Right);
                    _code.Jump(Opcode.Jmp, end);
                    _code.Mark(shortCircuit);
                    _code.Emit(Opcode.BConst, lg.IsAnd ? 0 : 1);
                    _code.Mark(end);
                    break;
                }
            case BoundCall call:
                foreach (var a in call.Args) EmitExpr(a);
                _code.EmitWithEffect(Opcode.Call, call.Args.Length, call.Type == VmType.Void ? 0 : 1, call.Function.Index);
                break;
            case BoundNativeCall nc:
                foreach (var a in nc.Args) EmitExpr(a);
                _code.EmitWithEffect(Opcode.CallNative, nc.Args.Length, nc.Return == VmType.Void ? 0 : 1, NativeIndex(nc));
                break;
            case BoundIndex ix:
                EmitExpr(ix.Array);
                EmitExpr(ix.Index);
                _code.Emit(Opcode.ALoad);
                break;
            case BoundArrayLiteral a:
                foreach (var el in a.Elements) EmitExpr(el);
                _code.EmitWithEffect(Opcode.NewArray, a.Elements.Length, 1, TypeIndex(a.Type), a.Elements.Length);
                break;
            case BoundNull:
                _code.Emit(Opcode.AConstNull);
                break;
            case BoundNew n:
                _code.Emit(Opcode.NewObject, n.Class.Index);
                _code.Emit(Opcode.Dup);
                foreach (var a in n.Args) EmitExpr(a);
                _code.EmitWithEffect(Opcode.Call, 1 + n.Args.Length, 0, n.Class.Constructor!.Index);
                break;
            case BoundGetField gf:
                EmitExpr(gf.Target);
                _code.Emit(Opcode.GetField, gf.Class.Index, gf.Field);
                break;
            case BoundCallMethod cm:
                EmitExpr(cm.Receiver);
                foreach (var a in cm.Args) EmitExpr(a);
                _code.EmitWithEffect(cm.Class.IsInterface ? Opcode.CallIface : Opcode.CallVirt, 1 + cm.Args.Length, cm.Type == VmType.Void ? 0 : 1, cm.Class.Index, cm.Slot);
                break;
            case BoundNonNull nn:
                EmitExpr(nn.Operand);
                _code.Emit(Opcode.NonNull);
                break;
            case BoundCast cast:
                EmitExpr(cast.Operand);
                _code.Emit(Opcode.CheckCast, cast.Class.Index);
                if (cast.Operand.Type.Nullable && !cast.Type.Nullable) _code.Emit(Opcode.NonNull);
                break;
            case BoundStackValue:
                break; // already on the stack: see BoundIfNotNull
            case BoundIfNotNull inn:
                {
                    var isNull = new Label();
                    var end = new Label();
                    EmitExpr(inn.Target);
                    _code.Emit(Opcode.Dup);
                    _code.Jump(Opcode.JmpIfNull, isNull);
                    _code.Emit(Opcode.NonNull);
                    EmitExpr(inn.Access);
                    _code.Jump(Opcode.Jmp, end);
                    _code.Mark(isNull);
                    _code.Emit(Opcode.Pop);
                    if (inn.Fallback is not null) EmitExpr(inn.Fallback);
                    else if (inn.Type != VmType.Void) _code.Emit(Opcode.AConstNull);
                    _code.Mark(end);
                    break;
                }
            case BoundMapLiteral ml:
                foreach (var (k, v) in ml.Entries)
                {
                    EmitExpr(k);
                    EmitExpr(v);
                }
                _code.EmitWithEffect(Opcode.NewMap, 2 * ml.Entries.Length, 1, TypeIndex(ml.Type), ml.Entries.Length);
                break;
            case BoundMapGetOr g:
                EmitExpr(g.Map);
                EmitExpr(g.Key);
                EmitExpr(g.Default);
                _code.Emit(Opcode.MapGetOr);
                break;
            case BoundConcat cc:
                EmitExpr(cc.Parts[0]);
                foreach (var part in cc.Parts.Skip(1))
                {
                    EmitExpr(part);
                    _code.Emit(Opcode.SConcat);
                }
                break;
            default:
                throw new InvalidOperationException($"cannot emit {e.GetType().Name}");
        }
    }

    private int StringIndex(string s)
    {
        if (!_strings.TryGetValue(s, out int i))
        {
            i = _module.Strings.Count;
            _module.Strings.Add(s);
            _strings[s] = i;
        }
        return i;
    }

    private int TypeIndex(VmType t)
    {
        if (!_types.TryGetValue(t, out int i))
        {
            i = _module.Types.Count;
            _module.Types.Add(t);
            _types[t] = i;
        }
        return i;
    }

    private int NativeIndex(BoundNativeCall call)
    {
        if (!_natives.TryGetValue(call.Native, out int i))
        {
            var def = NativeTable.Find(call.Native) ?? throw new InvalidOperationException($"no native '{call.Native}'");
            i = _module.Natives.Count;
            _module.Natives.Add(new NativeImport(def.Name, def.Params, def.Return));
            _natives[call.Native] = i;
        }
        return i;
    }
}

/// <summary>A program exceeds one of the bytecode's limits (locals, stack or code of a function).</summary>
public sealed class CompileLimitException(string message) : Exception(message)
{
    /// <summary>The line of the compiled file where the limit was passed, or 0 when it is not known or in another file.</summary>
    public int Line { get; init; }
}
