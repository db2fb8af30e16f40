using Antlr4.Runtime;
using Antlr4.Runtime.Tree;
using Hlvm.Compiler.Diagnostics;
using Hlvm.Runtime.Bytecode;
using static Hlvm.Compiler.Syntax.HlParser;

namespace Hlvm.Compiler.Binding;

// Classes, interfaces and nullable types: declaring classes, laying them out as the VM will (fields of the
// superclass first, method slots inherited then new), checking overrides and interface implementations, and the
// type relation (subclass to superclass, class to interface, T and null to T?).
public sealed partial class Binder
{
    private readonly List<ClassSymbol> _classList = [];
    private readonly Dictionary<ClassSymbol, ParserRuleContext> _classDecls = [];
    private readonly HashSet<ClassSymbol> _resolving = [];
    private readonly HashSet<ClassSymbol> _brokenHierarchy = [];

    /// <summary>Classes past <see cref="Runtime.Bytecode.Module.MaxInheritanceDepth"/>, and those below them.</summary>
    private readonly HashSet<ClassSymbol> _tooDeep = [];


    /// <summary>The class whose method or constructor is being bound, or null.</summary>
    private ClassSymbol? _class;

    /// <summary>True while binding a constructor: the only place a `let` field may be assigned.</summary>
    private bool _inInit;

    /// <summary>While binding a constructor, the `super` of its first statement when that is `super(...)`: the one
    /// call of the superclass's init it may make.</summary>
    private IToken? _superCall;

    /// <summary>Locals known not to be null at this point (flow-sensitive narrowing), with a nesting count.</summary>
    private Dictionary<LocalSymbol, int> _narrowed = [];

    /// <summary>A type as the program spells it.</summary>
    private string N(VmType t) => t.IsError() ? "<error>" : t.Format(i => i >= 0 && i < _classList.Count ? _classList[i].Name : "?");

    private void DeclareClass(IToken name, ITerminalNode? pub, bool isInterface, ParserRuleContext decl)
    {
        string n = name.Text;
        if (pub is not null) _unit.Public.Add(n);
        if (_classes.TryGetValue(n, out var existing))
        {
            // The one class of another unit a module sees unqualified is the prelude's.
            Error(name, _classUnit.TryGetValue(existing, out var owner) && owner != _unit
                ? $"'{n}' is a class of the prelude, which every module sees (the error classes); name yours otherwise"
                : $"'{n}' is already defined");
            return;
        }
        if (n is "int" or "float" or "bool" or "string" || Builtins.Contains(n)) { Error(name, $"'{n}' is a built-in name"); return; }
        var c = new ClassSymbol(_unit.Prefix + n, _classList.Count, isInterface);
        _classes[n] = c;
        _classUnit[c] = _unit;
        _classList.Add(c);
        _classDecls[c] = decl;
    }

    /// <summary>Lays out a class (after its superclass) and queues the binding of its constructor and methods.</summary>
    private void ResolveClass(ClassSymbol c, List<Func<BoundFunction>> bodies)
    {
        if (c.Resolved || !_classUnit.TryGetValue(c, out var unit)) return; // hidden classes are made resolved
        var outer = _unit;
        int first = bodies.Count;
        Switch(unit);
        ResolveClassHere(c, bodies);
        // The bodies this class declared are bound in its unit; a superclass resolved on the way placed its own.
        for (int i = first; i < bodies.Count; i++)
        {
            if (_placedBodies.Contains(bodies[i])) continue;
            var placed = InUnit(unit, bodies[i]);
            _placedBodies.Add(placed);
            bodies[i] = placed;
        }
        Switch(outer);
    }

    /// <summary>The body binders <see cref="ResolveClass"/> has already put in their class's unit.</summary>
    private readonly HashSet<Func<BoundFunction>> _placedBodies = [];

    private void ResolveClassHere(ClassSymbol c, List<Func<BoundFunction>> bodies)
    {
        if (c.Resolved || !_resolving.Add(c)) return;
        if (_classDecls[c] is InterfaceDeclContext iface)
        {
            foreach (var sig in iface.signature())
            {
                var (types, names) = BindParams(sig.paramList());
                var ret = sig.returnType is null ? VmType.Void : BindType(sig.returnType);
                if (c.Signatures.Any(s => s.Name == sig.name.Text)) Error(sig.name, $"interface '{c.Name}' already has a method '{sig.name.Text}'");
                else c.Signatures.Add(new SignatureSymbol(sig.name.Text, types, names, ret));
            }
            c.Resolved = true;
            return;
        }
        var decl = (ClassDeclContext)_classDecls[c];
        foreach (var superName in decl._supers)
        {
            if (ClassNamed(superName, "class or interface") is not { } super) continue;
            if (super.IsInterface)
            {
                // Its signatures first, wherever it is declared (later in the file, or in another module), so that
                // the class is checked against them; unresolved, it had none, and the verifier refused the module.
                ResolveClass(super, bodies);
                if (c.Interfaces.Contains(super)) Error(superName, $"'{super.Name}' is listed twice");
                else c.Interfaces.Add(super);
            }
            else if (c.Super is not null) Error(superName, $"'{c.Name}' already extends '{c.Super.Name}'; a class has at most one superclass");
            else if (superName != decl._supers[0]) Error(superName, $"the superclass must come first: `class {c.Name} : {super.Name}, ...`");
            else if (_resolving.Contains(super))
            {
                // A cycle: report it once, at the class where it was entered, and let every class in it be free of
                // the errors its missing superclass would cause.
                // (At the class being bound when the cycle's first class is another module's: an error is reported
                // in the file being bound, and the other class's position would point into this one.)
                var first = ((ClassDeclContext)_classDecls[super]).name;
                if (_brokenHierarchy.Add(super))
                {
                    if (first.InputStream == superName.Start.InputStream) Error(first, $"class '{super.Name}' inherits from itself");
                    else Error(superName, $"class '{c.Name}' inherits from itself, through '{super.Name}'");
                }
                _brokenHierarchy.UnionWith(_resolving);
            }
            else
            {
                ResolveClass(super, bodies);
                if (_brokenHierarchy.Contains(c)) continue;
                if (super.Depth >= Runtime.Bytecode.Module.MaxInheritanceDepth || _tooDeep.Contains(super))
                {
                    // Reported once, at the first class past the limit; the classes below it are left without
                    // a superclass too (and so free of the errors a missing one would cause).
                    if (_tooDeep.Add(c) && !_tooDeep.Contains(super))
                        Error(superName, $"class '{c.Name}' would have more than {Runtime.Bytecode.Module.MaxInheritanceDepth} superclasses above it; flatten the hierarchy");
                    _brokenHierarchy.Add(c);
                    continue;
                }
                c.Super = super;
                c.Depth = super.Depth + 1;
            }
        }
        _resolving.Remove(c);
        if (c.Super is { } parent)
        {
            c.Fields.AddRange(parent.Fields);
            c.VTable.AddRange(parent.VTable);
        }

        // Fields.
        var members = decl.classMember();
        foreach (var f in members.Select(m => m.fieldDecl()).Where(f => f is not null))
        {
            string name = f.name.Text;
            if (c.Fields.Any(x => x.Name == name))
            {
                Error(f.name, c.Fields.First(x => x.Name == name).Owner == c ? $"field '{name}' is declared twice" : $"field '{name}' is already inherited from '{c.Fields.First(x => x.Name == name).Owner.Name}'");
                continue;
            }
            // A field and a method of one name would leave `x.f()` calling the method, whichever was meant; a class's
            // own method of an inherited field's name is refused below.
            if (c.VTable.FirstOrDefault(x => x.Name == name) is { } inherited)
            {
                Error(f.name, $"'{name}' is already a method of '{inherited.Owner.Name}'");
                continue;
            }
            c.Fields.Add(new FieldSymbol(name, BindType(f.type()), c.Fields.Count, f.LET() is null, c, f.expr() is not null));
        }

        // The prelude's Error (always class 0) has one more field, which no program can name: the id of the stack
        // trace the VM keeps for the error, so that an error caught and thrown again (as a finally block does)
        // still reports where it was first raised.
        if (c.Index == 0 && c.Name == "Error" && c.Super is null)
            c.Fields.Add(new FieldSymbol(Runtime.Execution.RuntimeClass.TraceFieldName, VmType.Int, c.Fields.Count, true, c, HasInitializer: true));

        // Methods: a slot each, or the inherited slot they override.
        foreach (var m in members.Select(m => m.methodDecl()).Where(m => m is not null))
        {
            var fd = m.functionDecl();
            string name = fd.name.Text;
            if (fd.PUB() != null) Error(fd.PUB().Symbol, "'pub' marks what a module exports, at its top level; a method is public wherever its class is: remove 'pub' here (and write it before the class)");
            if (c.OwnMethods.Any(x => x.Name == name)) { Error(fd.name, $"method '{name}' is declared twice"); continue; }
            if (c.Fields.FirstOrDefault(x => x.Name == name) is { } clash)
            {
                Error(fd.name, clash.Owner == c ? $"'{name}' is already a field of '{c.Name}'" : $"'{name}' is a field '{c.Name}' inherits from '{clash.Owner.Name}'");
                continue;
            }
            var (types, names) = BindParams(fd.paramList());
            var ret = fd.returnType is null ? VmType.Void : BindType(fd.returnType);
            var fn = NewFunction($"{c.Name}.{name}", [c.Type, .. types], ["self", .. names], ret);
            int slot = c.VTable.FindIndex(x => x.Name == name);
            if (slot >= 0)
            {
                var old = c.VTable[slot].Function;
                if (m.OVERRIDE() is null)
                    Error(fd.name, $"'{name}' overrides the method inherited from '{c.VTable[slot].Owner.Name}'; write `override fn {name}`");
                else if (!old.Parameters.Skip(1).SequenceEqual(types) || old.Return != ret)
                    Error(fd.name, $"'{name}' must keep the signature of the method it overrides: ({string.Join(", ", old.Parameters.Skip(1).Select(N))}) -> {N(old.Return)}");
            }
            else if (m.OVERRIDE() is not null && !_brokenHierarchy.Contains(c))
            {
                Error(m.OVERRIDE().Symbol, $"'{name}' overrides nothing: no superclass of '{c.Name}' has a method '{name}'");
            }
            var method = new MethodSymbol(name, fn, slot >= 0 ? slot : c.VTable.Count, c);
            if (slot >= 0) c.VTable[slot] = method;
            else c.VTable.Add(method);
            c.OwnMethods.Add(method);
            bodies.Add(() => BindFunction(fd, fn, c));
        }

        // Interfaces: every signature needs a method of exactly that signature.
        foreach (var i in AllInterfaces(c))
        {
            foreach (var sig in i.Signatures)
            {
                var m = c.VTable.FirstOrDefault(x => x.Name == sig.Name);
                if (m is null)
                    Error(decl.name, $"class '{c.Name}' does not implement method '{sig.Name}' of interface '{i.Name}'");
                else if (!m.Function.Parameters.Skip(1).SequenceEqual(sig.Params) || m.Function.Return != sig.Return)
                    Error(decl.name, $"method '{sig.Name}' of class '{c.Name}' does not have the signature interface '{i.Name}' requires: ({string.Join(", ", sig.Params.Select(N))}) -> {N(sig.Return)}");
            }
        }

        DeclareConstructor(c, decl, bodies);
        c.Resolved = true;
    }

    /// <summary>The interfaces a class implements, its own and its superclasses'.</summary>
    private static IEnumerable<ClassSymbol> AllInterfaces(ClassSymbol c)
    {
        var seen = new HashSet<ClassSymbol>();
        for (var k = c; k is not null; k = k.Super)
            foreach (var i in k.Interfaces)
                if (seen.Add(i)) yield return i;
    }

    /// <summary>
    /// Every class has a constructor: its <c>init</c>, or an implicit one taking, in order, the fields without an
    /// initializer (inherited ones first when the superclass's constructor is implicit too).
    /// </summary>
    private void DeclareConstructor(ClassSymbol c, ClassDeclContext decl, List<Func<BoundFunction>> bodies)
    {
        var inits = decl.classMember().Select(m => m.initDecl()).Where(i => i is not null).ToList();
        foreach (var extra in inits.Skip(1)) Error(extra.INIT().Symbol, $"class '{c.Name}' already has an init");
        var superCtor = c.Super?.Constructor;
        var own = c.Fields.Where(f => f.Owner == c).ToList();
        if (inits.Count > 0)
        {
            var init = inits[0];
            var (types, names) = BindParams(init.paramList());
            var fn = NewFunction($"{c.Name}.init", [c.Type, .. types], ["self", .. names], VmType.Void);
            c.Constructor = fn;
            bodies.Add(() => BindConstructor(c, fn, init, own));
            return;
        }
        if (superCtor is not null && superCtor.Parameters.Length > 1 && !_implicitConstructors.Contains(superCtor))
        {
            Error(decl.name, $"class '{c.Name}' needs an init that calls `super(...)`: the init of '{c.Super!.Name}' takes arguments");
        }
        var inherited = superCtor is not null && _implicitConstructors.Contains(superCtor) ? superCtor.Parameters.Skip(1).ToArray() : [];
        var inheritedNames = superCtor is not null && _implicitConstructors.Contains(superCtor) ? superCtor.ParameterNames.Skip(1).ToArray() : [];
        var assigned = own.Where(f => !f.HasInitializer).ToList();
        var ctor = NewFunction($"{c.Name}.init", [c.Type, .. inherited, .. assigned.Select(f => f.Type)],
            ["self", .. inheritedNames, .. assigned.Select(f => f.Name)], VmType.Void);
        c.Constructor = ctor;
        _implicitConstructors.Add(ctor);
        bodies.Add(() => BindImplicitConstructor(c, ctor, decl, inherited.Length, assigned));
    }

    private readonly HashSet<FunctionSymbol> _implicitConstructors = [];

    private BoundFunction BindImplicitConstructor(ClassSymbol c, FunctionSymbol ctor, ClassDeclContext decl, int inherited, List<FieldSymbol> assigned)
    {
        _function = ctor;
        _class = c;
        _scopes.Clear();
        _scopes.Add([]);
        var locals = ctor.Parameters.Select((t, i) => NewLocal(ctor.ParameterNames[i], t, mutable: false)).ToList();
        _self = locals[0];
        int line = LineOf(decl);
        var self = new BoundLocal(line, locals[0]);
        var statements = new List<BoundStmt>();
        if (c.Super?.Constructor is { } superCtor)
            statements.Add(new BoundExprStmt(line, new BoundCall(line, superCtor, [self, .. locals.Skip(1).Take(inherited).Select(l => (BoundExpr)new BoundLocal(line, l))])));
        // The fields the constructor takes are set first, so that every default can read them.
        for (int i = 0; i < assigned.Count; i++)
            statements.Add(new BoundSetField(line, self, c, assigned[i].Index, new BoundLocal(line, locals[1 + inherited + i])));
        var defaulted = c.Fields.Where(f => f.Owner == c && f.HasInitializer);
        statements.AddRange(Constructing(ctor, c, defaulted, null, () => FieldInitializers(c, decl, self)));
        _function = null;
        _class = null;
        _self = null;
        return new BoundFunction(ctor, new BoundBlock(line, [.. statements]), line);
    }

    /// <summary>Assignments of the fields declared with `= value`, which every constructor runs first.</summary>
    private List<BoundStmt> FieldInitializers(ClassSymbol c, ClassDeclContext decl, BoundExpr self)
    {
        var result = new List<BoundStmt>();
        foreach (var f in decl.classMember().Select(m => m.fieldDecl()).Where(f => f?.expr() is not null))
        {
            var field = c.Fields.FirstOrDefault(x => x.Name == f.name.Text && x.Owner == c);
            if (field is null) continue;
            _construction!.Default = field;
            var outerAssigned = _assignedByLambdas;
            _assignedByLambdas = NamesAssignedInLambdas(f.expr());
            var value = Check(BindValue(f.expr(), field.Type), field.Type, f.expr(), $"field '{field.Name}' has type");
            _assignedByLambdas = outerAssigned;
            _construction.Default = null;
            _construction.Unset.Remove(field);
            result.Add(new BoundSetField(LineOf(f), self, c, field.Index, value));
        }
        return result;
    }

    private BoundFunction BindConstructor(ClassSymbol c, FunctionSymbol ctor, InitDeclContext init, List<FieldSymbol> own)
    {
        var decl = (ClassDeclContext)_classDecls[c];
        var statements = init.block().statement();
        bool callsSuper = statements.Length > 0 && statements[0] is ExprStmtContext { } first && IsSuperCall(first.expr());
        // The one `super(...)` an init may make; any other (a later statement, one in a block, a loop or a lambda)
        // is refused where it is bound: one in a lambda ran the superclass's init again after construction, and
        // set its `let` fields anew.
        _superCall = callsSuper ? ((ExprStmtContext)statements[0]).expr().Start : null;
        _inInit = true;
        var unset = own.Where(f => f.HasInitializer).Concat(FieldsAssignedBy(init.block(), c));
        var bound = Constructing(ctor, c, unset, init.block(), () => BindFunction(init, ctor, c, init.block(), () =>
        {
            var self = new BoundLocal(LineOf(init), _function!.Locals[0]);
            var pre = new List<BoundStmt>();
            if (!callsSuper && c.Super?.Constructor is { } superCtor)
            {
                if (superCtor.Parameters.Length > 1)
                    Error(init.INIT().Symbol, $"init must begin with `super(...)`: the init of '{c.Super.Name}' takes ({string.Join(", ", superCtor.Parameters.Skip(1).Select(N))})");
                else pre.Add(new BoundExprStmt(LineOf(init), new BoundCall(LineOf(init), superCtor, [self])));
            }
            pre.AddRange(FieldInitializers(c, decl, self));
            return [.. pre];
        }, prologueAt: callsSuper ? 1 : 0)); // the superclass's part is built first, then this class's defaults
        _inInit = false;
        _superCall = null;
        // Every field of a non-nullable reference type must be given a value: by its initializer, or by a
        // statement of the init's own block (not one inside a branch) that runs whenever the init returns: one
        // before any statement that may return, and, for a bare name, not after a local of that name (`var s = ...`
        // then `s = ...` sets the local).
        var assignedHere = new HashSet<string>();
        var locals = new HashSet<string>();
        foreach (var statement in statements)
        {
            if (statement is LetStmtContext let) locals.Add(let.ID().GetText());
            else if (statement is AssignStmtContext a && AssignedField(a.target) is { } name && (a.target is MemberExprContext || !locals.Contains(name)))
                assignedHere.Add(name);
            if (MayReturn(statement)) break;
        }
        foreach (var f in own.Where(f => f.Type.IsReference && !f.Type.Nullable && !f.HasInitializer && !f.Type.IsError()))
        {
            if (!assignedHere.Contains(f.Name))
                Error(init.INIT().Symbol, $"init must give field '{f.Name}' ({N(f.Type)}) a value: assign it in the init's block (before any statement that may return), or declare it with a default (`{f.Name}: {N(f.Type)} = ...`) or as nullable");
        }
        return bound;
    }

    /// <summary>Whether a statement has a `return` (one of its own: a lambda's is the lambda's).</summary>
    private static bool MayReturn(Antlr4.Runtime.Tree.IParseTree tree) => tree switch
    {
        ReturnStmtContext => true,
        LambdaExprContext => false,
        _ => Enumerable.Range(0, tree.ChildCount).Any(i => MayReturn(tree.GetChild(i))),
    };

    /// <summary>The field an assignment target names (`f` or `self.f`), or null.</summary>
    private static string? AssignedField(ExprContext target) => target switch
    {
        PrimaryExprContext p when p.primary() is NameExprContext n => n.GetText(),
        MemberExprContext m when m.expr() is PrimaryExprContext p && p.primary() is SelfExprContext => m.ID().GetText(),
        _ => null,
    };

    private static bool IsSuperCall(ExprContext e) =>
        e is CallExprContext call && call.expr() is PrimaryExprContext p && p.primary() is SuperExprContext;

    // -------------------------------------------------------------------------------------------- types

    /// <summary>True when a value of type <paramref name="from"/> may be used where <paramref name="to"/> is expected.</summary>
    private bool IsAssignable(VmType from, VmType to) =>
        VmType.IsAssignable(from, to, (a, b) => _classList[a].IsA(_classList[b]));

    /// <summary>The type both branches of `a ?? b` or an `if` can be seen as, or null.</summary>
    private VmType? CommonType(VmType a, VmType b)
    {
        if (IsAssignable(a, b)) return b;
        if (IsAssignable(b, a)) return a;
        if (a.Kind == TypeKind.Null && b.IsReference) return b.AsNullable();
        if (b.Kind == TypeKind.Null && a.IsReference) return a.AsNullable();
        if (a.Kind == TypeKind.Object && b.Kind == TypeKind.Object)
        {
            for (var c = _classList[a.ClassIndex]; c is not null; c = c.Super)
                if (_classList[b.ClassIndex].IsA(c)) return c.Type with { Nullable = a.Nullable || b.Nullable };
        }
        return null;
    }
}

// Member access, method calls, constructors, null handling.
public sealed partial class Binder
{
    /// <summary>The receiver inside a method or constructor.</summary>
    private BoundExpr SelfExpr(int line) => ReadVariable(_self!, line);

    private bool InMethod => _self is not null;

    /// <summary>A field of the class whose method is being bound, reachable by its bare name.</summary>
    private FieldSymbol? FieldOfSelf(string name) => InMethod ? _class!.Fields.FirstOrDefault(f => f.Name == name) : null;

    /// <summary>The field <paramref name="name"/> of an object expression, or null after reporting why not.</summary>
    private FieldSymbol? FieldOf(BoundExpr obj, IToken name)
    {
        if (obj.Type.IsError()) return null;
        if (!RequireNonNull(obj, name, $"read '{name.Text}'")) return null;
        if (obj.Type.Kind != TypeKind.Object)
        {
            string hint = obj.Type.Kind == TypeKind.Array && name.Text == "len" ? "; did you mean `len()`?" : HabitHint(name.Text);
            Error(name, $"{N(obj.Type)} has no field '{name.Text}'{hint}");
            return null;
        }
        var cls = _classList[obj.Type.ClassIndex];
        var field = cls.Fields.FirstOrDefault(f => f.Name == name.Text);
        if (field is null)
        {
            string what = cls.VTable.Any(m => m.Name == name.Text) ? $"; '{name.Text}' is a method: call it with ( )" : Suggest(name.Text, cls.Fields.Select(f => f.Name));
            Error(name, $"{(cls.IsInterface ? "interface" : "class")} '{cls.Name}' has no field '{name.Text}'{what}");
        }
        return field;
    }

    /// <summary>Reports a use of a maybe-null value where null would fail; true when the value is not nullable.</summary>
    private bool RequireNonNull(BoundExpr e, IToken at, string what)
    {
        if (!e.Type.Nullable) return true;
        // The advice names the variable when the value is one; otherwise a value must go into a `let` to be checked.
        string check = e is BoundLocal { Local: var local } ? $"check it with `if {local.Name} != null` first" : "put it in a `let` and check that with `if ... != null`";
        string advice = e.Type.Kind == TypeKind.Func ? check : $"use `?.`, or {check}";
        if (e is BoundLocal { Local: var l } && _assignedByLambdas.Contains(l.Name))
            advice = $"'{l.Name}' is not narrowed by a check because a function value assigns it, and a call could run that function and set it to null; copy it into a `let` and check that";
        Error(at, $"cannot {what}: the value may be null ({N(e.Type)}); {advice}");
        return false;
    }

    /// <summary><c>receiver.name(args)</c> on an object: a virtual or interface call.</summary>
    private BoundExpr BindMethodOn(BoundExpr receiver, IToken name, ExprContext[] args, int line)
    {
        var cls = _classList[receiver.Type.ClassIndex];
        VmType[] parameters;
        string[] names;
        VmType ret;
        int slot;
        if (cls.IsInterface)
        {
            slot = cls.Signatures.FindIndex(s => s.Name == name.Text);
            if (slot < 0) return NoMethod(cls, name, args);
            (_, parameters, names, ret) = cls.Signatures[slot];
        }
        else
        {
            slot = cls.VTable.FindIndex(m => m.Name == name.Text);
            // obj.f(x) where f is a field holding a function value calls that value.
            if (slot < 0 && cls.Fields.FirstOrDefault(f => f.Name == name.Text) is { Type.Kind: TypeKind.Func } field)
            {
                var value = new BoundGetField(line, field.Type, receiver, cls, field.Index);
                return RequireNonNull(value, name, $"call '{name.Text}'") ? BindClosureCall(value, name, $"'{name.Text}'", args, line) : new BoundError(line);
            }
            if (slot < 0) return NoMethod(cls, name, args);
            var fn = cls.VTable[slot].Function;
            parameters = fn.Parameters[1..];
            names = fn.ParameterNames[1..];
            ret = fn.Return;
        }
        var bound = BindArgs($"'{cls.Name}.{name.Text}'", name, parameters, names, args);
        if (bound is null) return new BoundError(line);
        return new BoundCallMethod(line, ret, receiver, cls, slot, bound);
    }

    private BoundExpr NoMethod(ClassSymbol cls, IToken name, ExprContext[] args)
    {
        string hint = cls.Fields.Any(f => f.Name == name.Text)
            ? $"; '{name.Text}' is a field"
            : Suggest(name.Text, cls.IsInterface ? cls.Signatures.Select(s => s.Name) : cls.VTable.Select(m => m.Name));
        Error(name, $"{(cls.IsInterface ? "interface" : "class")} '{cls.Name}' has no method '{name.Text}'{hint}");
        foreach (var a in args) BindValue(a, null);
        return new BoundError(name.Line);
    }

    /// <summary>Reports a call with the wrong number of arguments (still binding them, for their own errors).</summary>
    private void CountError(IToken at, string callee, int expected, ExprContext[] args)
    {
        Error(at, $"{callee} takes {Plural(expected, "argument")} but {args.Length} {(args.Length == 1 ? "was" : "were")} given");
        foreach (var a in args) BindValue(a, null);
    }

    /// <summary>Binds call arguments against parameters; null (after reporting) when they do not match.</summary>
    private BoundExpr[]? BindArgs(string callee, IToken at, VmType[] parameters, string[] names, ExprContext[] args)
    {
        if (args.Length != parameters.Length)
        {
            CountError(at, callee, parameters.Length, args);
            return null;
        }
        var bound = new BoundExpr[args.Length];
        for (int i = 0; i < args.Length; i++)
            bound[i] = Check(BindValue(args[i], parameters[i]), parameters[i], args[i],
                names[i].StartsWith('#') ? $"argument {names[i][1..]} of {callee} must be" : $"parameter '{names[i]}' of {callee} is");
        if (bound.Any(b => b.Type.IsError()) || parameters.Any(p => p.IsError())) return null;
        return bound;
    }

    /// <summary><c>Name(args)</c>: a new instance.</summary>
    private BoundExpr BindNew(ClassSymbol cls, IToken at, ExprContext[] args, int line)
    {
        if (cls.IsInterface)
        {
            Error(at, $"'{cls.Name}' is an interface: only classes can be created");
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        var ctor = cls.Constructor;
        if (ctor is null) return new BoundError(line);
        var bound = BindArgs($"'{cls.Name}'", at, ctor.Parameters[1..], ctor.ParameterNames[1..], args);
        return bound is null ? new BoundError(line) : new BoundNew(line, cls, bound);
    }

    /// <summary><c>super(args)</c> in an init, or <c>super.m(args)</c> in a method: direct calls of the superclass's code.</summary>
    private BoundExpr BindSuperCall(IToken at, string? method, ExprContext[] args, int line)
    {
        var super = _class?.Super;
        if (!InMethod || super is null)
        {
            Error(at, _class is null ? "'super' is only meaningful in the methods of a class" : $"class '{_class.Name}' has no superclass");
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        FunctionSymbol fn;
        if (method is null)
        {
            if (!_inInit || at != _superCall)
            {
                Error(at, _inInit
                    ? "`super(...)` must be the first statement of the init, and not in a block, a loop or a function value"
                    : "`super(...)` calls the superclass's init, and only an init may do that");
                foreach (var a in args) BindValue(a, null);
                return new BoundError(line);
            }
            fn = super.Constructor!;
        }
        else
        {
            var m = super.VTable.FirstOrDefault(x => x.Name == method);
            if (m is null) return NoMethod(super, at, args);
            fn = m.Function;
            CheckSelfEscape(at, $"calling '{method}' on 'super'");
        }
        if (method is null && InConstructorBody) _construction!.InSuperArgs = true;
        var bound = BindArgs(method is null ? $"the init of '{super.Name}'" : $"'{super.Name}.{method}'", at, fn.Parameters[1..], fn.ParameterNames[1..], args);
        if (InConstructorBody) _construction!.InSuperArgs = false;
        return bound is null ? new BoundError(line) : new BoundCall(line, fn, [SelfExpr(line), .. bound]);
    }

    /// <summary><c>target?.access</c>: the access runs only when the target is not null; the result is nullable.</summary>
    private BoundExpr BindSafe(ExprContext targetCtx, IToken name, ExprContext[]? callArgs, int line, ExprContext? fallback = null)
    {
        var target = BindValue(targetCtx, null);
        if (target.Type.IsError()) return new BoundError(line);
        if (!target.Type.Nullable || target.Type.Kind == TypeKind.Null)
        {
            Error(name, target.Type.Kind == TypeKind.Null
                ? "'?.' on null: the result would always be null"
                : $"'?.' needs a value that may be null, but this is {N(target.Type)}, which never is; use '.'");
            return new BoundError(line);
        }
        var value = new BoundStackValue(line, target.Type.AsNonNullable());
        BoundExpr access;
        if (callArgs is null)
        {
            var field = value.Type.Kind == TypeKind.Object ? FieldOf(value, name) : null;
            if (field is null)
            {
                if (value.Type.Kind != TypeKind.Object) Error(name, $"{N(value.Type)} has no field '{name.Text}'");
                return new BoundError(line);
            }
            access = new BoundGetField(line, field.Type, value, _classList[value.Type.ClassIndex], field.Index);
        }
        else if (value.Type.Kind == TypeKind.Object) access = BindMethodOn(value, name, callArgs, line);
        else if (value.Type.Kind == TypeKind.Map) access = BindMapMethod(value, name, callArgs, line);
        else if (NativeMethod(value.Type, name.Text) is { } native) access = BindNativeMethod(native, value, name, callArgs, line);
        else if (value.Type.Kind == TypeKind.Array && name.Text == "len" && callArgs.Length == 0) access = new BoundOp(line, VmType.Int, Opcode.ALen, value, null);
        else if (value.Type.Kind == TypeKind.Array && name.Text != "push"
                 && (BindArrayMethod(value, name, callArgs, line) ?? BindTemplateMethod(value, name, callArgs, line)) is { } arrayCall)
            access = arrayCall;
        else
        {
            Error(name, value.Type.Kind == TypeKind.Array && name.Text == "push"
                ? $"'?.' can't call push, a statement of its own: write `if a != null {{ a.push(v) }}`"
                : $"{N(value.Type)} has no method '{name.Text}' that '?.' can call");
            return new BoundError(line);
        }
        if (access.Type.IsError()) return access;
        if (fallback is not null && access.Type.Nullable)
        {
            // a?.b ?? c with b nullable: null can come from a or from b, and the fallback stands in for both, so
            // this is the plain `??` of the safe access's (nullable) result.
            var safe = new BoundIfNotNull(line, access.Type, target, access, null);
            return Coalesce(safe, fallback, line);
        }
        if (fallback is not null)
        {
            // a?.b ?? c with b never null (an int, say): the fallback stands in for a null a, so b may be of any type.
            var other = BindValue(fallback, access.Type.AsNonNullable());
            if (other.Type.IsError()) return other;
            var common = CommonType(access.Type, other.Type);
            if (common is null || access.Type == VmType.Void)
            {
                Error(fallback, $"type mismatch: '?.' gives {N(access.Type)}, but the value after '??' is {N(other.Type)}");
                return new BoundError(line);
            }
            return new BoundIfNotNull(line, common, target, access, other);
        }
        if (access.Type != VmType.Void && !access.Type.IsReference)
        {
            Error(name, $"'?.' gives null when the value is null, but '{name.Text}' is {N(access.Type)}, which cannot be null; check for null with `if` instead");
            return new BoundError(line);
        }
        var type = access.Type == VmType.Void ? VmType.Void : access.Type.AsNullable();
        return new BoundIfNotNull(line, type, target, access, null);
    }

    /// <summary><c>a ?? b</c>: a unless it is null, else b.</summary>
    private BoundExpr BindCoalesce(CoalesceExprContext c, VmType? expected)
    {
        int line = LineOf(c);
        if (c.expr(0) is SafeMemberExprContext sm) return BindSafe(sm.expr(), sm.ID().Symbol, null, line, c.expr(1));
        if (c.expr(0) is SafeMethodCallExprContext sc) return BindSafe(sc.expr(), sc.ID().Symbol, sc.argList()?.expr() ?? [], line, c.expr(1));
        var left = BindValue(c.expr(0), expected?.AsNullable());
        if (left.Type.IsError()) { BindValue(c.expr(1), null); return new BoundError(line); }
        if (!left.Type.Nullable || left.Type.Kind == TypeKind.Null)
        {
            Error(c.op, left.Type.Kind == TypeKind.Null
                ? "the left side of '??' is always null, so '??' always gives its right side: write that alone"
                : $"the left side of '??' is {N(left.Type)}, which is never null");
            BindValue(c.expr(1), null);
            return new BoundError(line);
        }
        return Coalesce(left, c.expr(1), line);
    }

    /// <summary><c>left ?? right</c> for a left side of a nullable type: left's value unless it is null.</summary>
    private BoundExpr Coalesce(BoundExpr left, ExprContext rightCtx, int line)
    {
        var nonNull = left.Type.AsNonNullable();
        var right = BindValue(rightCtx, nonNull);
        if (right.Type.IsError()) return new BoundError(line);
        var type = CommonType(nonNull, right.Type);
        if (type is null)
        {
            Error(rightCtx, $"type mismatch: the left side of '??' is {N(nonNull)}, but this is {N(right.Type)}");
            return new BoundError(line);
        }
        return new BoundIfNotNull(line, type, left, new BoundStackValue(line, nonNull), right);
    }

    /// <summary><c>e as T</c> between classes: an upcast, or a downcast the VM checks (CastError).</summary>
    private BoundExpr BindClassCast(BoundExpr value, VmType target, CastExprContext c)
    {
        int line = LineOf(c);
        bool related = value.Type.Kind == TypeKind.Null
            || (value.Type.Kind == TypeKind.Object && target.Kind == TypeKind.Object
                && (IsAssignable(value.Type.AsNonNullable(), target.AsNonNullable()) || IsAssignable(target.AsNonNullable(), value.Type.AsNonNullable())
                    || _classList[target.ClassIndex].IsInterface || _classList[value.Type.ClassIndex].IsInterface));
        if (!related)
        {
            Error(c, $"cannot convert {N(value.Type)} to {N(target)} with 'as'");
            return new BoundError(line);
        }
        // `x as T` with x null fails (NullError); `x as T?` lets null through.
        return new BoundCast(line, target, value, _classList[target.ClassIndex]);
    }

    // -------------------------------------------------------------------------------------------- narrowing

    /// <summary>Locals a condition proves not null when it is true: <c>x != null</c>, joined by <c>&amp;&amp;</c>.</summary>
    private static List<LocalSymbol> NonNullWhenTrue(BoundExpr cond) => Proven(cond, Opcode.RefNe, isAnd: true, []);

    /// <summary>Locals a condition proves not null when it is false: <c>x == null</c>, joined by <c>||</c>.</summary>
    private static List<LocalSymbol> NonNullWhenFalse(BoundExpr cond) => Proven(cond, Opcode.RefEq, isAnd: false, []);

    /// <summary>
    /// A chain of one logical operator, <c>a &amp;&amp; b &amp;&amp; c</c> (parsed as <c>(a &amp;&amp; b) &amp;&amp; c</c>), bound
    /// operand by operand: each runs only when the ones before it were true (<c>&amp;&amp;</c>) or false (<c>||</c>), so
    /// what they prove not null is narrowed in it, unless it assigns the variable (in a function value). The
    /// narrowings grow by each operand's own, where binding each level anew narrowed every test before it again
    /// (a chain of 4,000 null tests took 2.3 s to compile, 27 s before that).
    /// </summary>
    private BoundExpr BindLogicalChain(BinaryExprContext top, bool isAnd)
    {
        string op = isAnd ? "&&" : "||";
        var levels = new List<BinaryExprContext>();
        ExprContext e = top;
        for (; e is BinaryExprContext level && level.op.Text == op; e = level.expr(0)) levels.Add(level);
        levels.Reverse(); // innermost (leftmost) first
        var ours = new Dictionary<LocalSymbol, int>();
        BoundExpr Operand(ExprContext operand) => Check(BindValue(operand, VmType.Bool), VmType.Bool, operand, $"the operands of '{op}' must be");
        void Narrow(BoundExpr bound)
        {
            foreach (var l in isAnd ? NonNullWhenTrue(bound) : NonNullWhenFalse(bound))
            {
                if (_assignedByLambdas.Contains(l.Name)) continue;
                _narrowed[l] = _narrowed.GetValueOrDefault(l) + 1;
                ours[l] = ours.GetValueOrDefault(l) + 1;
            }
        }
        void Release(LocalSymbol l, int count)
        {
            // An assignment may have ended a narrowing already.
            if (_narrowed.TryGetValue(l, out int held) && (_narrowed[l] = held - count) <= 0) _narrowed.Remove(l);
        }
        try
        {
            BoundExpr result = Operand(e), last = result;
            foreach (var level in levels)
            {
                Narrow(last);
                // What this operand assigns is not narrowed in it by the operands before it.
                var assigned = new HashSet<string>();
                ForEachAssigned(level.expr(1), n => assigned.Add(n));
                var suspended = ours.Where(kv => assigned.Contains(kv.Key.Name)).ToList();
                foreach (var (l, count) in suspended) Release(l, count);
                last = Operand(level.expr(1));
                foreach (var (l, count) in suspended) _narrowed[l] = _narrowed.GetValueOrDefault(l) + count;
                result = new BoundLogical(LineOf(level), isAnd, result, last);
            }
            return result;
        }
        finally
        {
            foreach (var (l, count) in ours) Release(l, count);
        }
    }

    /// <summary>The locals a chain of null tests (<paramref name="test"/>) joined by one operator proves not null,
    /// added to <paramref name="into"/>: collected in one walk (lazily joined sequences, enumerated again at each
    /// level of a chain of 4,000 tests, took 28 s to compile).</summary>
    private static List<LocalSymbol> Proven(BoundExpr cond, Opcode test, bool isAnd, List<LocalSymbol> into)
    {
        switch (cond)
        {
            case BoundOp { Left: var l, Right: { } r } op when op.Op == test:
                if (l is BoundLocal a && r is BoundNull && a.Local.Type.Nullable) into.Add(a.Local);
                if (r is BoundLocal b && l is BoundNull && b.Local.Type.Nullable) into.Add(b.Local);
                break;
            case BoundLogical logical when logical.IsAnd == isAnd:
                Proven(logical.Left, test, isAnd, into);
                Proven(logical.Right, test, isAnd, into);
                break;
        }
        return into;
    }

    /// <summary>
    /// The names some lambda of the declaration being bound assigns. A variable of that name is never narrowed: the
    /// lambda may run during any call inside the narrowed region (it shares the variable's cell) and set it to
    /// null behind the narrowed name. The set is by name, so a lambda's own variable of the same name counts too;
    /// that only loses a narrowing, never soundness.
    /// </summary>
    private HashSet<string> _assignedByLambdas = [];

    /// <summary>The names assigned inside the lambdas of a syntax tree (at any depth).</summary>
    private static HashSet<string> NamesAssignedInLambdas(IParseTree tree)
    {
        var names = new HashSet<string>();
        void Walk(IParseTree t, bool inLambda)
        {
            inLambda |= t is LambdaExprContext;
            if (inLambda && t is AssignStmtContext a && AsName(a.target) is { } n) names.Add(n.GetText());
            for (int i = 0; i < t.ChildCount; i++) Walk(t.GetChild(i), inLambda);
        }
        Walk(tree, false);
        return names;
    }

    /// <summary>Narrows locals while <paramref name="bind"/> runs, except those the region or a lambda may assign.</summary>
    private T WithNarrowed<T>(IEnumerable<LocalSymbol> locals, IEnumerable<IParseTree> region, Func<T> bind)
    {
        // The region's assigned names are gathered once, when a local is first asked about (walked for each local,
        // the right operands of a chain of 4,000 `&&` took seconds).
        HashSet<string>? assigned = null;
        return WithNarrowed(locals, name =>
        {
            if (assigned is null)
            {
                assigned = [];
                foreach (var tree in region) ForEachAssigned(tree, n => assigned.Add(n));
            }
            return assigned.Contains(name);
        }, bind);
    }

    /// <summary>Narrows locals while <paramref name="bind"/> runs, except those <paramref name="assignedInRegion"/>
    /// says the region assigns, or a lambda may.</summary>
    private T WithNarrowed<T>(IEnumerable<LocalSymbol> locals, Func<string, bool> assignedInRegion, Func<T> bind)
    {
        var added = locals.Where(l => !_assignedByLambdas.Contains(l.Name) && !assignedInRegion(l.Name)).Distinct().ToList();
        foreach (var l in added) _narrowed[l] = _narrowed.GetValueOrDefault(l) + 1;
        try
        {
            return bind();
        }
        finally
        {
            // An assignment may have ended a narrowing already.
            foreach (var l in added)
            {
                if (_narrowed.TryGetValue(l, out int count) && (_narrowed[l] = count - 1) == 0) _narrowed.Remove(l);
            }
        }
    }

    /// <summary>
    /// Binds a loop's body. A variable narrowed outside the loop that the body assigns is not narrowed in it (a
    /// later iteration sees the assignment); <paramref name="condition"/>'s locals (a `while x != null`) are, since
    /// the condition is checked again before each iteration, from the start of the body up to an assignment to
    /// them in it.
    /// </summary>
    private T InLoopBody<T>(IParseTree body, IEnumerable<LocalSymbol> condition, Func<T> bind)
    {
        ForgetNarrowingsAssignedIn(body);
        return WithNarrowed(condition, [], bind);
    }

    /// <summary>Ends the narrowing of every variable that <paramref name="tree"/> assigns. A loop's condition is
    /// bound after this too: it runs again after the body, so a narrowing from outside the loop (an outer `while x
    /// != null`) does not hold in it when the body assigns x.</summary>
    private void ForgetNarrowingsAssignedIn(IParseTree tree)
    {
        if (_narrowed.Count == 0) return;
        var assigned = new HashSet<string>();
        ForEachAssigned(tree, n => assigned.Add(n));
        foreach (var l in _narrowed.Keys.Where(l => assigned.Contains(l.Name)).ToList()) _narrowed.Remove(l);
    }

    /// <summary>
    /// For a block's statements, each name some statement assigns (at any depth) and the last such statement's
    /// index: whether the statements after a guard assign its variable, without walking them again for each guard
    /// (a block of 16,000 guards took 53 s to compile). Made once per block.
    /// </summary>
    private Dictionary<string, int> LastAssignments(StatementContext[] statements)
    {
        if (_lastAssignments.TryGetValue(statements, out var known)) return known;
        var last = new Dictionary<string, int>();
        for (int i = 0; i < statements.Length; i++)
        {
            int at = i;
            ForEachAssigned(statements[i], name => last[name] = at);
        }
        _lastAssignments[statements] = last;
        return last;
    }

    /// <summary>Calls <paramref name="found"/> with the name of each variable the syntax tree assigns (at any depth).</summary>
    private static void ForEachAssigned(IParseTree tree, Action<string> found)
    {
        if (tree is AssignStmtContext a && AsName(a.target)?.GetText() is { } name) found(name);
        for (int c = 0; c < tree.ChildCount; c++) ForEachAssigned(tree.GetChild(c), found);
    }

    private readonly Dictionary<StatementContext[], Dictionary<string, int>> _lastAssignments = new(ReferenceEqualityComparer.Instance);

    /// <summary>True when no path through the statement reaches its end (return, break, continue).</summary>
    private static bool AlwaysExits(BoundStmt stmt) => stmt switch
    {
        BoundReturn or BoundBreak or BoundContinue or BoundThrow => true,
        BoundBlock b => b.Statements.Any(AlwaysExits),
        BoundTry t => (AlwaysExits(t.Body) && t.Catches.All(c => AlwaysExits(c.Body))) || (t.Finally is not null && AlwaysExits(t.Finally)),
        BoundIf i => i.Else is not null && AlwaysExits(i.Then) && AlwaysExits(i.Else),
        _ => false,
    };
}
