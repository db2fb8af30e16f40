using System.Globalization;

namespace Hlvm.Runtime.Execution;

/// <summary>
/// The text of numbers, read in one place: the compiler's int and float literals and the string methods
/// <c>toInt</c> and <c>toFloat</c> accept the same forms, and every float's printed text
/// (<see cref="ValueText.FormatFloat"/>, including <c>inf</c>, <c>-inf</c> and <c>nan</c>) reads back as the same
/// number.
/// <list type="bullet">
/// <item>An int: decimal digits, <c>0x</c> and hex digits, or <c>0b</c> and binary digits, with <c>_</c> allowed
/// after the first digit (<c>1_000</c>); a hex or binary literal gives the 64-bit pattern it spells.</item>
/// <item>A float: digits with an optional fraction and exponent (<c>1.5</c>, <c>2e10</c>, <c>.5</c>, <c>5.</c>,
/// <c>7</c>), <c>_</c> allowed as in ints; or <c>inf</c> or <c>nan</c>. A value too large for a float is
/// infinity, as IEEE rounding makes it.</item>
/// </list>
/// <c>toInt</c> and <c>toFloat</c> also take a leading <c>+</c> or <c>-</c> and spaces, tabs and line breaks around
/// the number.
/// </summary>
public static class NumberText
{
    /// <summary>What <c>toInt</c> and <c>toFloat</c> strip around the number.</summary>
    private static readonly char[] Blank = [' ', '\t', '\n', '\r'];

    /// <summary>An int literal as the lexer matched it (no sign); false when it does not fit in 64 bits.</summary>
    public static bool TryParseIntLiteral(ReadOnlySpan<char> text, out long value)
    {
        value = 0;
        if (!TryParseMagnitude(text, out ulong magnitude, out bool decimalForm)) return false;
        if (decimalForm && magnitude > long.MaxValue) return false;
        value = (long)magnitude;
        return true;
    }

    /// <summary>The text of an int, as <c>toInt</c> reads it; null when it is one, else why not.</summary>
    public static string? TryParseInt(ReadOnlySpan<char> text, out long value)
    {
        value = 0;
        var s = text.Trim(Blank);
        bool negative = s.Length > 0 && s[0] == '-';
        if (s.Length > 0 && s[0] is '-' or '+') s = s[1..];
        if (!TryParseMagnitude(s, out ulong magnitude, out bool decimalForm))
            return IsIntSyntax(s) ? "out of the int range (-2^63 to 2^63 - 1)" : "not an integer";
        if (decimalForm && magnitude > (negative ? 1UL << 63 : long.MaxValue)) return "out of the int range (-2^63 to 2^63 - 1)";
        value = negative ? (long)(0UL - magnitude) : (long)magnitude;
        return null;
    }

    /// <summary>The text of a float, as <c>toFloat</c> reads it; false when it is not one.</summary>
    public static bool TryParseFloat(ReadOnlySpan<char> text, out double value)
    {
        value = 0;
        var s = text.Trim(Blank);
        bool negative = s.Length > 0 && s[0] == '-';
        var body = s.Length > 0 && s[0] is '-' or '+' ? s[1..] : s;
        if (body.SequenceEqual("inf")) { value = negative ? double.NegativeInfinity : double.PositiveInfinity; return true; }
        if (body.SequenceEqual("nan")) { value = double.NaN; return true; }
        if (!IsFloatSyntax(body)) return false;
        const NumberStyles styles = NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;
        value = body.Contains('_')
            ? double.Parse(body.ToString().Replace("_", ""), styles, CultureInfo.InvariantCulture)
            : double.Parse(body, styles, CultureInfo.InvariantCulture);
        if (negative) value = -value;
        return true;
    }

    /// <summary>A float literal as the lexer matched it.</summary>
    public static double ParseFloatLiteral(string text) =>
        double.Parse(text.Replace("_", ""), NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture);

    // ------------------------------------------------------------------------------------------------ syntax

    private static bool TryParseMagnitude(ReadOnlySpan<char> s, out ulong magnitude, out bool decimalForm)
    {
        magnitude = 0;
        decimalForm = !(s.StartsWith("0x") || s.StartsWith("0b"));
        if (!IsIntSyntax(s)) return false;
        int radix = s.StartsWith("0x") ? 16 : s.StartsWith("0b") ? 2 : 10;
        foreach (char c in radix == 10 ? s : s[2..])
        {
            if (c == '_') continue;
            ulong digit = (ulong)HexValue(c);
            if (magnitude > (ulong.MaxValue - digit) / (ulong)radix) return false;
            magnitude = magnitude * (ulong)radix + digit;
        }
        return true;
    }

    /// <summary>Digits of the radix the prefix names, the first one not <c>_</c>.</summary>
    private static bool IsIntSyntax(ReadOnlySpan<char> s)
    {
        int radix = 10;
        if (s.StartsWith("0x")) { radix = 16; s = s[2..]; }
        else if (s.StartsWith("0b")) { radix = 2; s = s[2..]; }
        if (s.IsEmpty || s[0] == '_') return false;
        foreach (char c in s)
        {
            if (c != '_' && HexValue(c) >= radix) return false;
        }
        return true;
    }

    /// <summary><c>digits ('.' digits?)? | '.' digits</c>, then an optional exponent.</summary>
    private static bool IsFloatSyntax(ReadOnlySpan<char> s)
    {
        int i = 0;
        int whole = Digits(s, ref i);
        int fraction = 0;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            fraction = Digits(s, ref i);
        }
        if (whole == 0 && fraction == 0) return false;
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-') i++;
            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start) return false;
        }
        return i == s.Length;
    }

    /// <summary>Skips <c>[0-9][0-9_]*</c> and says how many characters it took.</summary>
    private static int Digits(ReadOnlySpan<char> s, ref int i)
    {
        int start = i;
        if (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '_')) i++;
        }
        return i - start;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => 99,
    };
}
