using Antlr4.Runtime;
using static Hlvm.Compiler.Syntax.HlParser;

namespace Hlvm.Compiler.Binding;

// Construction: no field is read before it is set.
//
// An object is built in a fixed order: the superclass's part first (its constructor, with `super(...)` or
// implicitly), then this class's part. In an implicit constructor that part is the fields the constructor takes
// (in declaration order), then the fields with defaults (in declaration order); in an `init`, the defaults, then
// the init's block. While a constructor is being bound the binder knows which of the class's own fields are not
// set yet at each point, and rejects
//   - a read of such a field (by its bare name or as `self.name`): a default reading a later default, a default
//     reading a field the init assigns, an init reading a field before its assignment;
//   - any use of `self` other than reading and writing its fields while such a field exists: calling a method on
//     it, passing it on, storing it, capturing it in a function value, `super.m()`. The method or the code self
//     reaches could read the unset field;
//   - any use of `self` in the arguments of `super(...)`, when none of the object is built.
// An init's field counts as set after an assignment among the init's own statements (not one inside a branch,
// a loop or a function value); a field the init assigns only inside branches holds its zero value from the start.
//
// What the binder can't see is a superclass's constructor calling a method that a subclass overrides, which then
// reads the subclass's field before the subclass's part is built. The VM closes that case: reading a field of a
// non-nullable reference type that holds null is a NullError naming the field (docs/runtime.md), so a value of a
// non-nullable type is never observed null, whatever the compiler concluded.
public sealed partial class Binder
{
    /// <summary>The constructor being bound and the own fields it has not set yet, or null outside constructors.</summary>
    private Construction? _construction;

    private sealed class Construction(FunctionSymbol function, ClassSymbol owner)
    {
        public FunctionSymbol Function { get; } = function;
        public ClassSymbol Owner { get; } = owner;

        /// <summary>The class's own fields not set at the point being bound.</summary>
        public HashSet<FieldSymbol> Unset { get; } = [];

        /// <summary>The init's block, whose direct assignments set fields (null in an implicit constructor).</summary>
        public BlockContext? Block { get; init; }

        /// <summary>The field whose default is being bound, or null.</summary>
        public FieldSymbol? Default { get; set; }

        /// <summary>True while the arguments of <c>super(...)</c> are bound: not even inherited fields are set.</summary>
        public bool InSuperArgs { get; set; }

        /// <summary>The first unset field in declaration order.</summary>
        public FieldSymbol? FirstUnset => Unset.MinBy(f => f.Index);
    }

    /// <summary>Binds <paramref name="bind"/> as constructor <paramref name="ctor"/> of <paramref name="c"/>, tracking which fields are set.</summary>
    private T Constructing<T>(FunctionSymbol ctor, ClassSymbol c, IEnumerable<FieldSymbol> unset, BlockContext? block, Func<T> bind)
    {
        var outer = _construction;
        _construction = new Construction(ctor, c) { Block = block };
        _construction.Unset.UnionWith(unset);
        try
        {
            return bind();
        }
        finally
        {
            _construction = outer;
        }
    }

    /// <summary>True when the code being bound is the constructor's own (not a function value made inside it).</summary>
    private bool InConstructorBody => _construction is { } c && c.Function == _function;

    /// <summary>Reports a read of a field of self that is not set yet at this point of a constructor.</summary>
    private void CheckFieldRead(FieldSymbol field, IToken at)
    {
        if (!InConstructorBody) return;
        var c = _construction!;
        if (c.InSuperArgs)
            Error(at, $"field '{field.Name}' is read before it is set: the arguments of `super(...)` are computed before any part of the object is built");
        else if (c.Unset.Contains(field))
            Error(at, $"field '{field.Name}' is read before it is set: {WhenSet(field)}");
    }

    /// <summary>Reports a use of self that lets code read fields (a method call, self as a value) while one is unset.</summary>
    private void CheckSelfEscape(IToken at, string what)
    {
        if (SelfEscape(what) is { } message) Error(at, message);
    }

    /// <summary>Reports a function value made in a constructor that captures self while a field is unset.</summary>
    private void CheckSelfCapture(FunctionSymbol lambda, LocalSymbol? self, ParserRuleContext at)
    {
        if (self is not null && lambda.Captures.Contains(self) && SelfEscape("this function value captures 'self'") is { } message) Error(at, message);
    }

    /// <summary>Why <paramref name="what"/>, a use of self, is an error at this point of a constructor, or null.</summary>
    private string? SelfEscape(string what)
    {
        if (!InConstructorBody) return null;
        var c = _construction!;
        if (c.InSuperArgs) return $"{what} in the arguments of `super(...)`, before any part of the object is built";
        return c.FirstUnset is { } field
            ? $"{what} before every field of '{c.Owner.Name}' is set: field '{field.Name}' is not set yet, and {WhenSet(field)}"
            : null;
    }

    /// <summary>Where an unset field gets its value, for the messages above.</summary>
    private string WhenSet(FieldSymbol field)
    {
        var current = _construction!.Default;
        if (field == current) return $"this is its own default";
        if (current is not null && field.HasInitializer)
            return $"defaults are computed in the order the fields are declared, and '{field.Name}' comes after '{current.Name}'";
        if (current is not null) return $"defaults are computed before the init's block, which sets '{field.Name}'";
        return $"the init's block sets it later";
    }

    /// <summary>Marks a field set by an assignment that is a statement of the init's own block.</summary>
    private void FieldAssigned(AssignStmtContext a, FieldSymbol field)
    {
        if (InConstructorBody && _construction!.Block is { } block && a.Parent == block && field.Owner == _construction.Owner)
            _construction.Unset.Remove(field);
    }

    /// <summary>The own fields an init's block assigns with statements of its own (the fields it sets in order).</summary>
    private static IEnumerable<FieldSymbol> FieldsAssignedBy(BlockContext block, ClassSymbol c) =>
        block.statement().OfType<AssignStmtContext>()
            .Select(a => AssignedField(a.target))
            .Select(n => c.Fields.FirstOrDefault(f => f.Name == n && f.Owner == c))
            .OfType<FieldSymbol>();

    /// <summary>True when an expression is the bare <c>self</c>.</summary>
    private static bool IsSelf(ExprContext e) => e is PrimaryExprContext p && p.primary() is SelfExprContext;
}
