using System.Globalization;
using System.Text;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Memory;

namespace Hlvm.Runtime.Execution;

/// <summary>
/// How values print, in one place for every engine (docs/language.md, "How values print"). One rule holds at
/// every depth: an int, float or bool prints as at the top level; null as <c>null</c>; an array as
/// <c>[a, b]</c> and a map as <c>{k: v}</c>, their elements by this same rule, nested arrays and maps included;
/// a string inside an array or map as the literal that makes it (<see cref="Disassembler.QuoteLiteral"/>).
/// Objects print by their <c>toString()</c>, which is program code: the compiler shows an array or map that holds
/// objects with code of its own (the <c>show</c> templates of <c>stdlib/array.hl</c>), so what reaches the VM
/// holds none. Only hand-written bytecode can ask the VM to show one, and gets <c>&lt;Class&gt;</c>.
///
/// The text becomes a string on the heap, so it can't be longer than the heap holds; sharing lets the text of
/// nested arrays grow much faster than the arrays, so the length is checked as the text grows, and a text past
/// the budget is an <c>OutOfMemoryError</c>.
/// </summary>
public static class ValueText
{
    /// <summary>A float as the language prints it: the shortest text that reads back as the same float.</summary>
    public static string FormatFloat(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        string s = value.ToString("R", CultureInfo.InvariantCulture);
        if (s.Contains('E')) return s.Replace("E", "e");
        return s.Contains('.') ? s : s + ".0";
    }

    /// <summary>The most characters the text of a collection may have: as many as a string can.</summary>
    private static long Budget(Heap heap) => heap.MaxStringChars;

    /// <summary>The text of an array (or null).</summary>
    public static string FormatArray(Heap heap, int array)
    {
        var sb = new StringBuilder();
        AppendArray(heap, sb, array, 0, Budget(heap));
        return sb.ToString();
    }

    /// <summary>The text of a map (or null).</summary>
    public static string FormatMap(Heap heap, int map)
    {
        var sb = new StringBuilder();
        AppendMap(heap, sb, map, 0, Budget(heap));
        return sb.ToString();
    }

    /// <summary>
    /// A map key as a KeyError names it: as it prints inside a map, but a string key longer than
    /// <paramref name="max"/> characters shows its two ends and how many characters are left out between them.
    /// </summary>
    public static string FormatKey(Heap heap, TypeKind kind, long key, int max)
    {
        if (kind == TypeKind.String && key != 0 && heap.StringLength((int)key) > max)
        {
            var chars = heap.StringChars((int)key);
            int head = max * 2 / 3, tail = max - head;
            string first = Disassembler.QuoteLiteral(chars[..head].ToString()), last = Disassembler.QuoteLiteral(chars[^tail..].ToString());
            return $"{first[..^1]}… ({chars.Length - head - tail} characters left out) …{last[1..]}";
        }
        var sb = new StringBuilder();
        AppendValue(heap, sb, kind, key, 0, Budget(heap));
        return sb.ToString();
    }

    /// <summary>
    /// Appends a value of the given kind as it prints inside an array or map. Nesting deeper than the type system
    /// allows (only hand-written bytecode can reach it) shows as <c>...</c>.
    /// </summary>
    private static void AppendValue(Heap heap, StringBuilder sb, TypeKind kind, long v, int depth, long budget)
    {
        if (v == 0 && kind is TypeKind.String or TypeKind.Array or TypeKind.Map or TypeKind.Object or TypeKind.Func)
        {
            sb.Append("null");
            return;
        }
        switch (kind)
        {
            case TypeKind.Int: sb.Append(v.ToString(CultureInfo.InvariantCulture)); break;
            case TypeKind.Float: sb.Append(FormatFloat(BitConverter.Int64BitsToDouble(v))); break;
            case TypeKind.Bool: sb.Append(v != 0 ? "true" : "false"); break;
            case TypeKind.String:
                if (!Disassembler.AppendLiteral(sb, heap.StringChars((int)v), budget)) throw TooLong(budget);
                break;
            case TypeKind.Array: AppendArray(heap, sb, (int)v, depth + 1, budget); break;
            case TypeKind.Map: AppendMap(heap, sb, (int)v, depth + 1, budget); break;
            case TypeKind.Object: sb.Append('<').Append(heap.ClassOf((int)v).Name).Append('>'); break;
            default: sb.Append("<function>"); break;
        }
        if (sb.Length > budget) throw TooLong(budget);
    }

    private static void AppendArray(Heap heap, StringBuilder sb, int r, int depth, long budget)
    {
        if (r == 0)
        {
            sb.Append("null");
            return;
        }
        if (depth > VmType.MaxDepth)
        {
            sb.Append("[...]");
            return;
        }
        var kind = heap.ArrayElementKind(r);
        int n = heap.ArrayLength(r);
        sb.Append('[');
        for (int i = 0; i < n; i++)
        {
            if (i > 0) sb.Append(", ");
            AppendValue(heap, sb, kind, heap.ArrayGet(r, i), depth, budget);
        }
        sb.Append(']');
    }

    private static void AppendMap(Heap heap, StringBuilder sb, int m, int depth, long budget)
    {
        if (m == 0)
        {
            sb.Append("null");
            return;
        }
        if (depth > VmType.MaxDepth)
        {
            sb.Append("{...}");
            return;
        }
        int n = heap.MapCount(m);
        var keys = new long[n];
        var values = new long[n];
        heap.MapCopy(m, false, keys);
        heap.MapCopy(m, true, values);
        sb.Append('{');
        for (int i = 0; i < n; i++)
        {
            if (i > 0) sb.Append(", ");
            AppendValue(heap, sb, heap.MapKeyKind(m), keys[i], depth, budget);
            sb.Append(": ");
            AppendValue(heap, sb, heap.MapValueKind(m), values[i], depth, budget);
        }
        sb.Append('}');
    }

    private static VmError TooLong(long budget) =>
        new(ErrorClasses.OutOfMemory, $"the text would take more than {budget} characters, the most a string can have within the heap's limit");
}
