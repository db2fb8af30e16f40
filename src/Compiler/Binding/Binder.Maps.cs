using Antlr4.Runtime;
using Hlvm.Runtime.Bytecode;
using static Hlvm.Compiler.Syntax.HlParser;

namespace Hlvm.Compiler.Binding;

// Maps: {K: V} literals, m[k] reads (KeyError when k is missing) and writes, and the map methods.
public sealed partial class Binder
{
    private BoundExpr BindMapLiteral(MapLitContext ml, VmType? expected)
    {
        int line = LineOf(ml);
        var entries = ml.mapEntry();
        VmType? key = expected?.Kind == TypeKind.Map ? expected.Key : null;
        VmType? value = expected?.Kind == TypeKind.Map ? expected.Element : null;
        if (entries.Length == 0)
        {
            if (expected is not null && expected.IsError()) return new BoundError(line);
            if (key is null)
            {
                Error(ml, "cannot tell the type of an empty map; give it one, as in `let ages: {string: int} = {}`");
                return new BoundError(line);
            }
            return new BoundMapLiteral(line, VmType.MapOf(key, value!), []);
        }
        if (entries.Length > ModuleFormat.MaxStackLimit / 2 - 16)
        {
            Error(ml, $"a map literal may have at most {ModuleFormat.MaxStackLimit / 2 - 16} entries; add more with m[k] = v");
            return new BoundError(line);
        }
        var bound = new (BoundExpr, BoundExpr)[entries.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            var k = BindValue(entries[i].key, key);
            var v = BindValue(entries[i].value, value);
            key ??= k.Type;
            value ??= v.Type;
            bound[i] = (Check(k, key, entries[i].key, "the map's keys are"), Check(v, value, entries[i].value, "the map's values are"));
        }
        if (key is null || value is null || key.IsError() || value.IsError() || bound.Any(e => e.Item1.Type.IsError() || e.Item2.Type.IsError())) return new BoundError(line);
        if (value.Kind == TypeKind.Null)
        {
            Error(entries[0].value, "cannot tell the map's value type from `null`; give the map a type, as in `let m: {int: string?} = {1: null}`");
            return new BoundError(line);
        }
        if (!VmType.IsMapKey(key))
        {
            Error(entries[0].key, $"a map cannot be keyed by {N(key)}: keys are int, bool or string");
            return new BoundError(line);
        }
        return new BoundMapLiteral(line, VmType.MapOf(key, value), bound);
    }

    private bool RequireMap(BoundExpr map, ExprContext at)
    {
        if (!map.Type.Nullable) return true;
        Error(at, $"cannot use this map: the value may be null ({N(map.Type)}); {CheckItFirst(at)}");
        return false;
    }

    /// <summary><c>m[k]</c>: the value of k; a KeyError when the map does not hold it.</summary>
    private BoundExpr BindMapGet(BoundExpr map, IndexExprContext index)
    {
        int line = LineOf(index);
        var key = Check(BindValue(index.expr(1), map.Type.Key), map.Type.Key!, index.expr(1), "the map's keys are");
        if (!RequireMap(map, index.expr(0)) || key.Type.IsError()) return new BoundError(line);
        return new BoundOp(line, map.Type.Element!, Opcode.MapGet, map, key);
    }

    /// <summary><c>m[k] = v</c> and <c>m[k] op= v</c> (which reads k first: a KeyError when it is missing).</summary>
    private BoundStmt BindMapAssign(AssignStmtContext a, BoundExpr map, IndexExprContext index)
    {
        int line = LineOf(a);
        var valueType = map.Type.Element!;
        var key = Check(BindValue(index.expr(1), map.Type.Key), map.Type.Key!, index.expr(1), "the map's keys are");
        var value = BindValue(a.value, valueType);
        if (!RequireMap(map, index.expr(0))) return new BoundBlock(line, []);
        string op = a.op.Text;
        if (op == "=") return new BoundMapSet(line, map, key, Check(value, valueType, a.value, "the map's values are"));
        var mapTemp = NewLocal("$m", map.Type, false);
        var keyTemp = NewLocal("$k", map.Type.Key!, false);
        var current = new BoundOp(line, valueType, Opcode.MapGet, new BoundLocal(line, mapTemp), new BoundLocal(line, keyTemp));
        var combined = Check(BindBinary(op[..^1], current, value, a, a.value), valueType, a.value, "the map's values are");
        return new BoundBlock(line,
        [
            new BoundStore(line, mapTemp, map),
            new BoundStore(line, keyTemp, key),
            new BoundMapSet(line, new BoundLocal(line, mapTemp), new BoundLocal(line, keyTemp), combined),
        ]);
    }

    private static readonly string MapMethods = "len(), has(k), get(k, default), get(k) (for string, array, object and map values), remove(k), keys() and values(); write m[k] = v to set a key";

    private BoundExpr BindMapMethod(BoundExpr map, IToken nameToken, ExprContext[] args, int line)
    {
        string name = nameToken.Text;
        var keyType = map.Type.Key!;
        var valueType = map.Type.Element!;
        int expected = name switch { "len" or "keys" or "values" => 0, "has" or "remove" => 1, "set" => 2, "get" => args.Length is 1 or 2 ? args.Length : 2, _ => -1 };
        if (expected < 0)
        {
            Error(nameToken, $"{N(map.Type)} has no method '{name}'; maps have {MapMethods}");
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        if (args.Length != expected)
        {
            Error(nameToken, $"'{name}' takes {(expected == 1 ? "1 argument" : $"{expected} arguments")} but {args.Length} {(args.Length == 1 ? "was" : "were")} given");
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        BoundExpr Key() => Check(BindValue(args[0], keyType), keyType, args[0], "the map's keys are");
        BoundExpr Value(int i) => Check(BindValue(args[i], valueType), valueType, args[i], "the map's values are");
        switch (name)
        {
            case "len": return new BoundOp(line, VmType.Int, Opcode.MapLen, map, null);
            case "keys": return new BoundOp(line, VmType.ArrayOf(keyType), Opcode.MapKeys, map, null);
            case "values": return new BoundOp(line, VmType.ArrayOf(valueType), Opcode.MapValues, map, null);
            case "has": return Valid(new BoundOp(line, VmType.Bool, Opcode.MapHas, map, Key()));
            case "remove": return Valid(new BoundOp(line, VmType.Bool, Opcode.MapRemove, map, Key()));
            case "set":
                Error(nameToken, "write `m[k] = v` to set a key");
                return new BoundError(line);
            default:
                if (args.Length == 2)
                {
                    var key = Key();
                    return Valid(new BoundMapGetOr(line, valueType, map, key, Value(1)));
                }
                if (!valueType.IsReference)
                {
                    Error(nameToken, $"the values are {N(valueType)}, which can't be null: use `get(k, default)`, or `m[k]` (a KeyError when k is missing)");
                    BindValue(args[0], null);
                    return new BoundError(line);
                }
                return Valid(new BoundMapGetOr(line, valueType.AsNullable(), map, Key(), new BoundNull(line)));
        }
    }

    /// <summary>The node, or an error node when one of its parts failed to bind (already reported).</summary>
    private static BoundExpr Valid(BoundExpr e)
    {
        bool failed = e switch
        {
            BoundOp op => op.Left.Type.IsError() || (op.Right?.Type.IsError() ?? false),
            BoundMapGetOr g => g.Key.Type.IsError() || g.Default.Type.IsError(),
            _ => false,
        };
        return failed ? new BoundError(e.Line) : e;
    }
}
