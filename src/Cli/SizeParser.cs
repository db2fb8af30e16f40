using System.Globalization;

namespace Hlvm.Cli;

/// <summary>Parses byte sizes as the command line takes them: <c>65536</c>, <c>64k</c>, <c>64m</c>, <c>1g</c> (powers of 1024).</summary>
public static class SizeParser
{
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        text = text.Trim();
        if (text.Length == 0) return false;
        long unit = char.ToLowerInvariant(text[^1]) switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n)) return false;
        if (n <= 0 || n > long.MaxValue / unit) return false;
        bytes = n * unit;
        return true;
    }
}
