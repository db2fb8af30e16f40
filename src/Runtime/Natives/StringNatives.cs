using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// The methods of strings (<c>s.len()</c>, <c>s.split(",")</c>, ...), of <c>[string]</c> (<c>join</c>) and of
/// floats (<c>format</c>), as natives: the compiler turns <c>s.m(args)</c> into a call of <c>string.m(s, args)</c>.
/// Strings are UTF-16; lengths and indexes count UTF-16 code units. A result too large for the heap is an
/// OutOfMemoryError before anything is built.
/// </summary>
internal static class StringNatives
{
    private static readonly VmType S = VmType.String, I = VmType.Int, B = VmType.Bool, F = VmType.Float;

    internal static string Str(Interpreter vm, long r) => r == 0 ? throw Null() : vm.Heap.GetString((int)r);

    /// <summary>A string's characters in place, without a copy: valid until the next allocation.</summary>
    private static ReadOnlySpan<char> Chars(Interpreter vm, long r) => r == 0 ? throw Null() : vm.Heap.StringChars((int)r);

    private static VmError Null() => new(ErrorClasses.Null, "cannot use the string: the value is null");

    internal static long NewString(Interpreter vm, string s)
    {
        vm.Heap.CheckStringLength(s.Length, "the result");
        return vm.Heap.NewString(s);
    }

    private static VmError Index(string what) => new(ErrorClasses.Index, what);

    // The fast paths of string.len and string.at (NativeDef.Fast): -1 for a null string, an index outside it, or a
    // character whose shared string is not made yet.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long LengthFast(Heap heap, long s) => s == 0 ? -1 : heap.StringLength((int)s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long AtFast(Heap heap, long s, long index) => s == 0 ? -1 : heap.SharedCharAt((int)s, index);

    // The fast path of string.substring (NativeDef.Fast), without the fuel charge (FastSkipsCharge): -1 for a null
    // string, a range outside it, or a heap that must do work before it allocates.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long SubstringFast(Heap heap, long s, long start, long end) =>
        s == 0 ? -1 : heap.TrySubstring((int)s, start, end) is var r and > 0 ? r : -1;

    // The fast paths of string.contains, startsWith and endsWith, without the fuel charge (NativeDef.FastSkipsCharge):
    // -1 for a null string, or a pattern long enough for the linear search of Search.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long ContainsFast(Heap heap, long s, long pattern) =>
        s == 0 || pattern == 0 || heap.StringLength((int)pattern) > TextSearch.ShortPattern ? -1
        : heap.StringChars((int)s).IndexOf(heap.StringChars((int)pattern), StringComparison.Ordinal) >= 0 ? 1 : 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long StartsWithFast(Heap heap, long s, long prefix) =>
        s == 0 || prefix == 0 ? -1 : heap.StringChars((int)s).StartsWith(heap.StringChars((int)prefix), StringComparison.Ordinal) ? 1 : 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long EndsWithFast(Heap heap, long s, long suffix) =>
        s == 0 || suffix == 0 ? -1 : heap.StringChars((int)s).EndsWith(heap.StringChars((int)suffix), StringComparison.Ordinal) ? 1 : 0;

    public static readonly NativeDef[] All =
    [
        new("string.len", [S], I, null, "the number of UTF-16 code units", (vm, a) => a[0] == 0 ? throw Null() : vm.Heap.StringLength((int)a[0]))
        {
            Fast = (Func<Heap, long, long>)LengthFast,
            FastOnlyReads = true,
        },
        new("string.at", [S, I], S, null, "the character at an index, as a string; IndexError outside the string", (vm, a) =>
        {
            var s = Chars(vm, a[0]);
            if ((ulong)a[1] >= (ulong)s.Length) throw Index($"index {a[1]} is out of range for a string of length {s.Length}");
            return vm.Heap.CharString(s[(int)a[1]]);
        })
        {
            Fast = (Func<Heap, long, long, long>)AtFast,
            FastOnlyReads = true,
        },
        new("string.substring", [S, I, I], S, null, "the characters from start up to (not including) end", (vm, a) =>
        {
            int length = Chars(vm, a[0]).Length;
            long start = a[1], end = a[2];
            if (!Heap.IsRange(length, start, end))
                throw Index($"substring({start}, {end}) is out of range for a string of length {length}");
            vm.Charge(end - start);
            return Piece(vm, a, (int)start, (int)(end - start));
        })
        {
            Fast = (Func<Heap, long, long, long, long>)SubstringFast,
            FastSkipsCharge = true,
        },
        new("string.indexOf", [S, S], I, null, "the first index of a substring, or -1", (vm, a) => Search(vm, a[0], a[1])),
        new("string.contains", [S, S], B, null, "whether a substring occurs", (vm, a) => Search(vm, a[0], a[1]) >= 0 ? 1 : 0)
        {
            Fast = (Func<Heap, long, long, long>)ContainsFast,
            FastOnlyReads = true,
            FastSkipsCharge = true,
        },
        new("string.startsWith", [S, S], B, null, "whether the string starts with a prefix", (vm, a) =>
        {
            vm.Charge(Math.Min(Chars(vm, a[0]).Length, Chars(vm, a[1]).Length));
            return Chars(vm, a[0]).StartsWith(Chars(vm, a[1]), StringComparison.Ordinal) ? 1 : 0;
        })
        {
            Fast = (Func<Heap, long, long, long>)StartsWithFast,
            FastOnlyReads = true,
            FastSkipsCharge = true,
        },
        new("string.endsWith", [S, S], B, null, "whether the string ends with a suffix", (vm, a) =>
        {
            vm.Charge(Math.Min(Chars(vm, a[0]).Length, Chars(vm, a[1]).Length));
            return Chars(vm, a[0]).EndsWith(Chars(vm, a[1]), StringComparison.Ordinal) ? 1 : 0;
        })
        {
            Fast = (Func<Heap, long, long, long>)EndsWithFast,
            FastOnlyReads = true,
            FastSkipsCharge = true,
        },
        new("string.trim", [S], S, null, "without leading and trailing white space", (vm, a) =>
        {
            var s = Chars(vm, a[0]);
            vm.Charge(s.Length);
            var rest = s.TrimStart();
            int start = s.Length - rest.Length, length = rest.TrimEnd().Length;
            // Nothing to trim: the string itself, which no program can tell from a copy (strings don't change).
            return length == s.Length ? a[0] : Piece(vm, a, start, length);
        }),
        new("string.upper", [S], S, null, "in upper case (invariant culture)", (vm, a) => Cased(vm, a, upper: true)),
        new("string.lower", [S], S, null, "in lower case (invariant culture)", (vm, a) => Cased(vm, a, upper: false)),
        new("string.replace", [S, S, S], S, null, "every occurrence of a substring replaced; an empty one is an error", (vm, a) =>
        {
            if (a[0] == 0 || a[1] == 0 || a[2] == 0) throw Null();
            var heap = vm.Heap;
            string from = heap.GetString((int)a[1]);
            if (from.Length == 0) throw new VmError("ValueError", "replace of an empty string");
            // Counted first, so that nothing is built for a result that can't fit.
            long count = Occurrences(vm, Chars(vm, a[0]), from, null);
            long length = heap.StringLength((int)a[0]) + count * (heap.StringLength((int)a[2]) - (long)from.Length);
            heap.CheckStringLength(length, $"replacing {count} occurrences");
            vm.Charge(length);
            // Nothing to replace: the string itself, which no program can tell from a copy (strings don't change).
            if (count == 0) return a[0];
            // A long pattern's places come from the search whose comparisons are bounded (TextSearch), in a second
            // pass; a short one's from .NET's search as the result is written, linear for a short pattern.
            List<int>? places = null;
            if (from.Length > TextSearch.ShortPattern) Occurrences(vm, Chars(vm, a[0]), from, places = new List<int>((int)count));
            // Written straight into the heap's string, allocated first: the collector may move the string and the
            // replacement, and updates a[0] and a[2] when it does.
            heap.Reserve(Heap.StringWords(length));
            int result = heap.NewString((int)length);
            var source = heap.StringChars((int)a[0]);
            var with = heap.StringChars((int)a[2]);
            var into = heap.StringChars(result);
            int done = 0, written = 0;
            for (int k = 0; k < count; k++)
            {
                int at = places?[k] ?? done + source[done..].IndexOf(from);
                source[done..at].CopyTo(into[written..]);
                written += at - done;
                with.CopyTo(into[written..]);
                written += with.Length;
                done = at + from.Length;
            }
            source[done..].CopyTo(into[written..]);
            return result;
        }),
        new("string.repeat", [S, I], S, null, "the string n times", (vm, a) =>
        {
            var s = Str(vm, a[0]);
            if (a[1] < 0) throw new VmError("ValueError", $"repeat: the count {a[1]} is negative");
            if (s.Length == 0) return NewString(vm, "");
            // The length itself, past a long's range too (a count near 2^63), as the error says it.
            Int128 product = (Int128)a[1] * s.Length;
            vm.Heap.CheckStringLength(product, $"repeating a string of {s.Length} character{(s.Length == 1 ? "" : "s")} {a[1]} times");
            long length = (long)product;
            vm.Charge(length);
            // Written straight into the heap's string: no .NET copy of a text that may be a gigabyte.
            vm.Heap.Reserve(Heap.StringWords((int)length));
            int r = vm.Heap.NewString((int)length);
            var chars = vm.Heap.StringChars(r);
            for (int i = 0; i < chars.Length; i += s.Length) s.AsSpan().CopyTo(chars[i..]);
            return r;
        }),
        new("string.split", [S, S], VmType.ArrayOf(S), null, "the parts between separators; an empty separator splits into characters", (vm, a) =>
        {
            var heap = vm.Heap;
            var s = Chars(vm, a[0]);
            string sep = Str(vm, a[1]);
            // Each part takes a header word and its characters, rounded up to a word: check that they can fit first.
            long count = sep.Length == 0 ? s.Length : Occurrences(vm, s, sep, null) + 1;
            if (count * 16 + s.Length * 2L > heap.MaxBytes)
                throw new VmError(ErrorClasses.OutOfMemory, $"splitting a string of {s.Length} characters into {count} parts would exceed the heap limit");
            vm.Charge(s.Length + count);
            int n = (int)count;
            List<int>? places = null;
            if (sep.Length > 0)
            {
                places = new List<int>(n - 1);
                Occurrences(vm, s, sep, places);
            }
            // Where part i ends (a character, with an empty separator); the next starts after the separator.
            int length = s.Length;
            int End(int i) => places is null ? i + 1 : i < places.Count ? places[i] : length;
            long words = Heap.ArrayWords + Heap.DataWords(Math.Max(n, 4));
            for (int i = 0, start = 0; i < n; i++)
            {
                int end = End(i);
                words += Heap.StringWords(end - start);
                start = end + sep.Length;
            }
            // One reservation for the array and every part, made before the parts are copied straight from the
            // string: the collector may move it, and updates a[0] when it does.
            heap.Reserve(words);
            int array = heap.NewArray(TypeKind.String, n, Math.Max(n, 4));
            var text = Chars(vm, a[0]);
            for (int i = 0, start = 0; i < n; i++)
            {
                int end = End(i), part = heap.NewString(end - start);
                text[start..end].CopyTo(heap.StringChars(part));
                heap.ArraySet(array, i, part);
                start = end + sep.Length;
            }
            return array;
        }),
        new("string.toInt", [S], I, null, "the integer the string holds, written as an int literal may be (decimal, 0x, 0b, with _ between digits) with an optional sign; ValueError otherwise", (vm, a) =>
        {
            vm.Charge(Chars(vm, a[0]).Length);
            return NumberText.TryParseInt(Chars(vm, a[0]), out long v) is { } why
                ? throw new VmError("ValueError", $"{why}: {Quoted(Str(vm, a[0]))}") : v;
        }),
        new("string.toFloat", [S], F, null, "the number the string holds, written as a float or int literal may be, or inf, -inf or nan as floats print; ValueError otherwise", (vm, a) =>
        {
            vm.Charge(Chars(vm, a[0]).Length);
            return NumberText.TryParseFloat(Chars(vm, a[0]), out double v)
                ? BitConverter.DoubleToInt64Bits(v) : throw new VmError("ValueError", $"not a number: {Quoted(Str(vm, a[0]))}");
        }),
        new("string.compare", [S, S], I, null, "-1, 0 or 1 as the string sorts before, with or after the other, comparing UTF-16 code units (ordinal: \"B\" before \"a\")", (vm, a) =>
        {
            if (a[0] == 0 || a[1] == 0) throw Null();
            var x = vm.Heap.StringChars((int)a[0]);
            var y = vm.Heap.StringChars((int)a[1]);
            vm.Charge(x.CommonPrefixLength(y) + 1);
            return Math.Sign(x.SequenceCompareTo(y));
        }),
        new("array.join", [VmType.ArrayOf(S), S], S, null, "the strings of the array with a separator between them", (vm, a) =>
        {
            if (a[0] == 0) throw Null();
            var heap = vm.Heap;
            var items = heap.ArrayElements((int)a[0]);
            long length = (long)Chars(vm, a[1]).Length * Math.Max(0, items.Length - 1);
            foreach (long r in items) length += r == 0 ? 4 : heap.StringLength((int)r);
            heap.CheckStringLength(length, $"joining {items.Length} strings");
            vm.Charge(items.Length + length);
            // One string: itself, which no program can tell from a copy (a parser that joins the runs of a literal
            // between its escapes joins one run for most literals).
            if (items.Length == 1 && items[0] != 0) return items[0];
            // Written straight into the heap's string, allocated first: the collector may move the array, its
            // strings and the separator, and updates a[0] and a[1] when it does.
            heap.Reserve(Heap.StringWords(length));
            int result = heap.NewString((int)length);
            var to = heap.StringChars(result);
            var sep = Chars(vm, a[1]);
            items = heap.ArrayElements((int)a[0]);
            int at = 0;
            for (int i = 0; i < items.Length; i++)
            {
                if (i > 0)
                {
                    sep.CopyTo(to[at..]);
                    at += sep.Length;
                }
                ReadOnlySpan<char> part = items[i] == 0 ? "null" : heap.StringChars((int)items[i]);
                part.CopyTo(to[at..]);
                at += part.Length;
            }
            return result;
        }),
        new("float.format", [F, I], S, null, "the float with a fixed number of decimals (0 to 20), rounded to the nearest (a tie to even, as printf)", (vm, a) =>
        {
            if (a[1] < 0 || a[1] > 20) throw new VmError("ValueError", $"format({a[1]}): decimals must be 0 to 20");
            double value = BitConverter.Int64BitsToDouble(a[0]);
            // Not a number, or an infinity, as the language prints them (.NET wrote NaN and Infinity, which toFloat refuses).
            return NewString(vm, double.IsFinite(value) ? value.ToString("F" + a[1], CultureInfo.InvariantCulture) : ValueText.FormatFloat(value));
        }),
    ];

    /// <summary>Where a substring first occurs in a string, or -1, charging the characters the search looked at.</summary>
    private static long Search(Interpreter vm, long text, long pattern)
    {
        var needle = Chars(vm, pattern);
        int length = needle.Length;
        // A short pattern is searched in place; a long one needs its own copy for the Two-Way search's tables.
        int at = length <= TextSearch.ShortPattern ? Chars(vm, text).IndexOf(needle, StringComparison.Ordinal)
            : new TextSearch(needle.ToString()).IndexOf(Chars(vm, text));
        var chars = Chars(vm, text);
        vm.Charge((at < 0 ? chars.Length : at + length) + length);
        return at;
    }

    /// <summary>How many times a substring occurs in a string, from the left, without overlaps, and where (into
    /// <paramref name="places"/>, when given): found in linear time (<see cref="TextSearch"/>) and charged as such.</summary>
    private static long Occurrences(Interpreter vm, ReadOnlySpan<char> s, string pattern, List<int>? places)
    {
        vm.Charge(s.Length + pattern.Length);
        if (places is null && pattern.Length <= TextSearch.ShortPattern)
        {
            // .NET's search, linear for a short pattern. (Not MemoryExtensions.Count: the framework's generic code,
            // which ReadyToRun can't hold, compiled on the program's thread at its first use.)
            long found = 0;
            for (int at = 0, next; (next = s[at..].IndexOf(pattern, StringComparison.Ordinal)) >= 0; at += next + pattern.Length) found++;
            return found;
        }
        var search = new TextSearch(pattern);
        long count = 0;
        for (int at = search.IndexOf(s); at >= 0; at = at + pattern.Length <= s.Length ? search.IndexOf(s, at + pattern.Length) : -1)
        {
            count++;
            places?.Add(at);
        }
        return count;
    }

    /// <summary>A new string of the <paramref name="length"/> characters of string a[0] from <paramref name="start"/>
    /// (in range). Allocated first, then copied: the collector may move the source, and updates a[0] when it does.</summary>
    private static long Piece(Interpreter vm, ReadOnlySpan<long> a, int start, int length)
    {
        vm.Heap.Reserve(Heap.StringWords(length));
        int r = vm.Heap.NewString(length);
        Chars(vm, a[0]).Slice(start, length).CopyTo(vm.Heap.StringChars(r));
        return r;
    }

    /// <summary>String a[0] in upper or lower case (invariant culture, one UTF-16 unit for one), charged its
    /// characters, written straight into the new string.</summary>
    private static long Cased(Interpreter vm, ReadOnlySpan<long> a, bool upper)
    {
        int length = Chars(vm, a[0]).Length;
        vm.Charge(length);
        vm.Heap.Reserve(Heap.StringWords(length));
        int r = vm.Heap.NewString(length);
        var source = Chars(vm, a[0]);
        var into = vm.Heap.StringChars(r);
        int written = upper ? source.ToUpperInvariant(into) : source.ToLowerInvariant(into);
        Debug.Assert(written == length);
        return r;
    }

    /// <summary>Text a message shows, as the literal that makes it (a quote or a line break in it is escaped, as in a
    /// KeyError's key), its two ends when it is long.</summary>
    private static string Quoted(string s) => Runtime.Bytecode.Disassembler.QuoteLiteral(Excerpt.Of(s, 60));

    /// <summary>A new [string] of the parts; one reservation for all of it, so nothing moves while it is built.</summary>
    internal static long NewStringArray(Heap heap, string[] parts)
    {
        long words = Heap.ArrayWords + Heap.DataWords(Math.Max(parts.Length, 4));
        foreach (var p in parts) words += Heap.StringWords(p.Length);
        heap.Reserve(words);
        int array = heap.NewArray(TypeKind.String, parts.Length, Math.Max(parts.Length, 4));
        for (int i = 0; i < parts.Length; i++)
        {
            int s = heap.NewString(parts[i].Length);
            parts[i].AsSpan().CopyTo(heap.StringChars(s));
            heap.ArraySet(array, i, s);
        }
        return array;
    }
}
