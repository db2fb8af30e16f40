using Antlr4.Runtime;
using Hlvm.Runtime.Bytecode;
using static Hlvm.Compiler.Syntax.HlParser;

namespace Hlvm.Compiler.Binding;

// The array methods written in the language (stdlib/array.hl): sort with a comparator, map, filter and reduce.
// Each is a template over the type names T (the element type) and U (what a function makes); a use
// instantiates it for its types: the function is declared with the types substituted and its body is bound once
// every other body has been, like any function's.
public sealed partial class Binder
{
    /// <summary>The templates' module (stdlib/array.hl), or null when the compiler was given none.</summary>
    private Unit? _templates;

    /// <summary>While a template's signature or body is bound: what its type names stand for.</summary>
    private Dictionary<string, VmType>? _typeArguments;

    private readonly Dictionary<string, FunctionSymbol> _instances = [];
    private readonly Queue<Func<BoundFunction>> _pendingInstances = new();

    /// <summary>Marks a lambda parameter's expected return type as "whatever the body makes".</summary>
    private static readonly VmType Infer = new((TypeKind)0xFE);

    /// <summary>The copy of template <paramref name="name"/> for the given type arguments, declared on first use.</summary>
    private FunctionSymbol Instance(string name, params (string Name, VmType Type)[] arguments)
    {
        string key = $"array.{name}<{string.Join(", ", arguments.Select(a => N(a.Type)))}>";
        if (_instances.TryGetValue(key, out var known)) return known;
        var unit = _templates ?? throw new InvalidOperationException("the compiler was built without stdlib/array.hl");
        var decl = unit.Module.Tree.topDecl().Select(d => d.functionDecl()).First(f => f?.name.Text == name);
        var typeArguments = arguments.ToDictionary(a => a.Name, a => a.Type);
        var outerUnit = _unit;
        var outerArguments = _typeArguments;
        Switch(unit);
        _typeArguments = typeArguments;
        var (types, names) = BindParams(decl.paramList());
        var ret = decl.returnType is null ? VmType.Void : BindType(decl.returnType);
        var symbol = NewFunction(key, types, names, ret);
        _typeArguments = outerArguments;
        Switch(outerUnit);
        _instances[key] = symbol;
        _pendingInstances.Enqueue(InUnit(unit, () =>
        {
            _typeArguments = typeArguments;
            var bound = BindFunction(decl, symbol, null);
            _typeArguments = null;
            return bound;
        }));
        return symbol;
    }

    /// <summary>Binds the bodies of the instances made so far, and of those they make in turn.</summary>
    private void BindInstances(List<BoundFunction> into)
    {
        while (_pendingInstances.Count > 0) into.Add(_pendingInstances.Dequeue()());
    }

    /// <summary>The array methods that take functions; null when the name is none of them.</summary>
    private BoundExpr? BindTemplateMethod(BoundExpr array, IToken nameToken, ExprContext[] args, int line)
    {
        var t = array.Type.Element!;
        string name = nameToken.Text;
        switch (name)
        {
            case "sort" when args.Length == 0:
                {
                    string? native = t == VmType.Int ? "array.sortInt" : t == VmType.Float ? "array.sortFloat" : t == VmType.String ? "array.sortString" : null;
                    if (native is null)
                    {
                        Error(nameToken, $"sort() without a comparator sorts [int], [float] and [string]; give {N(array.Type)} one: `xs.sort(fn(a, b) => ...)`, negative when a comes first");
                        return new BoundError(line);
                    }
                    return new BoundNativeCall(line, native, [array.Type], VmType.Void, [array]);
                }
            case "sort":
                return CallInstance(Instance("sortBy", ("T", t)), array, nameToken, args, ["comparator"], line);
            case "filter":
                return CallInstance(Instance("filter", ("T", t)), array, nameToken, args, ["keep"], line);
            case "map":
                {
                    if (args.Length != 1)
                    {
                        CountError(nameToken, $"'{name}'", 1, args);
                        return new BoundError(line);
                    }
                    // The function's parameter is the element type; what it returns decides the new array's type.
                    var f = BindValue(args[0], VmType.FuncOf([t], Infer));
                    if (f.Type.IsError()) return new BoundError(line);
                    if (f.Type.Kind != TypeKind.Func || f.Type.Nullable || f.Type.Params!.Length != 1 || f.Type.Element == VmType.Void)
                    {
                        Error(args[0], $"map takes a function from {N(t)} to a value, as in `xs.map(fn(x) => ...)`, but this is {N(f.Type)}");
                        return new BoundError(line);
                    }
                    var u = f.Type.Element!;
                    f = Check(f, VmType.FuncOf([t], u), args[0], "map's function must be");
                    if (f.Type.IsError()) return new BoundError(line);
                    return new BoundCall(line, Instance("map", ("T", t), ("U", u)), [array, f]);
                }
            case "reduce":
                {
                    if (args.Length != 2)
                    {
                        CountError(nameToken, $"'{name}'", 2, args);
                        return new BoundError(line);
                    }
                    var initial = BindValue(args[0], null);
                    // Without the initial value's type the function can't be checked (its parameters may need it).
                    if (initial.Type.IsError()) return new BoundError(line);
                    if (initial.Type.Kind == TypeKind.Null)
                    {
                        Error(args[0], "cannot tell the type of `null`; start from a typed value, or a variable declared `T?`");
                        return new BoundError(line);
                    }
                    var u = initial.Type;
                    var f = Check(BindValue(args[1], VmType.FuncOf([u, t], u)), VmType.FuncOf([u, t], u), args[1], "reduce's function must be");
                    if (f.Type.IsError()) return new BoundError(line);
                    return new BoundCall(line, Instance("reduce", ("T", t), ("U", u)), [array, initial, f]);
                }
            default:
                return null;
        }
    }

    private BoundExpr CallInstance(FunctionSymbol instance, BoundExpr array, IToken nameToken, ExprContext[] args, string[] names, int line)
    {
        var bound = BindArgs($"'{nameToken.Text}'", nameToken, instance.Parameters[1..], names, args);
        return bound is null ? new BoundError(line) : new BoundCall(line, instance, [array, .. bound]);
    }
}
