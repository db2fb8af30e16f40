// The language's own library where the C# versions of the bench programs need it, written once for the three:
// string.toInt, and the way an error's message quotes text; and the random numbers json and scheduler draw.
namespace Ceiling;

/// <summary>A linear congruential generator (the constants of the C standard's example rand), 31 bits of state: the
/// `Rng` class json.hl and scheduler.hl each define, the same in both.</summary>
sealed class Rng(long state)
{
    public long Next(long bound)
    {
        state = (state * 1103515245 + 12345) % 2147483648;
        return (state >> 16) % bound;
    }
}

static class Lang
{
    /// <summary>The language's ValueError, from <see cref="ToInt"/>.</summary>
    public sealed class ValueError(string message) : Exception(message);

    /// <summary>string.toInt(): an int literal's forms (decimal, 0x hex or 0b binary, `_` after the first digit; hex
    /// and binary give the 64-bit pattern they spell), an optional sign and blanks around it; a ValueError
    /// otherwise, with the runtime's message.</summary>
    public static long ToInt(string text)
    {
        var s = text.AsSpan().Trim(" \t\n\r");
        bool negative = s.Length > 0 && s[0] == '-';
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+')) s = s[1..];
        int radix = s.StartsWith("0x") ? 16 : s.StartsWith("0b") ? 2 : 10;
        var digits = radix == 10 ? s : s[2..];
        bool syntax = !digits.IsEmpty && digits[0] != '_';
        foreach (char c in digits)
        {
            if (c != '_' && DigitValue(c) >= radix) syntax = false;
        }
        if (!syntax) throw new ValueError($"not an integer: \"{Excerpt(text)}\"");
        ulong magnitude = 0;
        foreach (char c in digits)
        {
            if (c == '_') continue;
            ulong digit = (ulong)DigitValue(c);
            if (magnitude > (ulong.MaxValue - digit) / (ulong)radix) throw OutOfRange(text);
            magnitude = magnitude * (ulong)radix + digit;
        }
        if (radix == 10 && magnitude > (negative ? 1UL << 63 : long.MaxValue)) throw OutOfRange(text);
        return negative ? (long)(0UL - magnitude) : (long)magnitude;
    }

    static ValueError OutOfRange(string text) => new($"out of the int range (-2^63 to 2^63 - 1): \"{Excerpt(text)}\"");

    static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => 99,
    };

    /// <summary>Text quoted in an error's message: itself up to 60 characters, else its two ends.</summary>
    public static string Excerpt(string text)
    {
        const int max = 60;
        if (text.Length <= max) return text;
        int head = max * 2 / 3, tail = max - head;
        if (char.IsHighSurrogate(text[head - 1])) head--;
        if (char.IsLowSurrogate(text[^tail])) tail--;
        return $"{text[..head]}… ({text.Length - head - tail} characters left out) …{text[^tail..]}";
    }
}
