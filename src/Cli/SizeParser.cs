using System.Globalization;

namespace Hlvm.Cli;

/// <summary>Parses byte sizes as the command line takes them: <c>65536</c>, <c>64k</c>, <c>64m</c>, <c>1g</c> (powers of 1024).</summary>
public static class SizeParser
{
    public static bool TryParse(string text, out long bytes) => TryParse(text, out bytes, out _);

    /// <summary>As <see cref="TryParse(string, out long)"/>; <paramref name="outOfRange"/> tells a size written
    /// rightly but 0 or past what a byte count can hold (<c>99999999999g</c>) from text that is no size.</summary>
    public static bool TryParse(string text, out long bytes, out bool outOfRange)
    {
        bytes = 0;
        outOfRange = false;
        text = text.Trim();
        if (text.Length == 0) return false;
        long unit = char.ToLowerInvariant(text[^1]) switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        if (!System.Numerics.BigInteger.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
        outOfRange = n == 0 || n > long.MaxValue / unit;
        if (outOfRange) return false;
        bytes = (long)n * unit;
        return true;
    }
}
