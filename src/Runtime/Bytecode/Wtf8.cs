using System.Buffers;
using System.Text;

namespace Hlvm.Runtime.Bytecode;

/// <summary>
/// WTF-8, the module format's text: UTF-8 that also spells a lone surrogate (a UTF-16 code unit D800 to DFFF that
/// is not half of a pair) as the three bytes UTF-8 would give its code point. Strings are UTF-16 and a literal may
/// hold a lone surrogate (<c>"\u{d800}"</c>), which UTF-8 can't: written as UTF-8 it became U+FFFD, so that a
/// program printed one thing compiled in the process and another from its module or the cache of compiled
/// programs. A pair keeps its one spelling, the four bytes of its code point; two three-byte surrogates that would
/// make a pair are not WTF-8, so every string has exactly one encoding.
/// </summary>
public static class Wtf8
{
    /// <summary>The bytes of <paramref name="text"/>; UTF-8 when it has no lone surrogate.</summary>
    public static byte[] Encode(string text)
    {
        int lone = LoneSurrogateAt(text, 0);
        if (lone < 0) return Encoding.UTF8.GetBytes(text);
        var bytes = new ArrayBufferWriter<byte>(text.Length * 3);
        int from = 0;
        for (; lone >= 0; lone = LoneSurrogateAt(text, from))
        {
            bytes.Write(Encoding.UTF8.GetBytes(text[from..lone]));
            char c = text[lone];
            bytes.Write([(byte)(0xE0 | (c >> 12)), (byte)(0x80 | ((c >> 6) & 0x3F)), (byte)(0x80 | (c & 0x3F))]);
            from = lone + 1;
        }
        bytes.Write(Encoding.UTF8.GetBytes(text[from..]));
        return bytes.WrittenSpan.ToArray();
    }

    /// <summary>The first lone surrogate at or after <paramref name="from"/>, or -1.</summary>
    private static int LoneSurrogateAt(string text, int from)
    {
        for (int i = from; i < text.Length; i++)
            if (IsLoneSurrogate(text, i)) return i;
        return -1;
    }

    /// <summary>Whether the code unit at <paramref name="i"/> is a surrogate that is not half of a pair.</summary>
    public static bool IsLoneSurrogate(string text, int i) =>
        char.IsHighSurrogate(text[i]) ? i + 1 == text.Length || !char.IsLowSurrogate(text[i + 1])
        : char.IsLowSurrogate(text[i]) && (i == 0 || !char.IsHighSurrogate(text[i - 1]));

    /// <summary>The text of WTF-8 bytes, or null when they are not WTF-8 (not UTF-8 apart from lone surrogates, or a
    /// pair spelt as two surrogates).</summary>
    public static string? Decode(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        bool afterHigh = false; // the last code unit was a high surrogate spelt on its own
        while (bytes.Length > 0)
        {
            if (bytes.Length >= 3 && bytes[0] == 0xED && bytes[1] is >= 0xA0 and <= 0xBF && (bytes[2] & 0xC0) == 0x80)
            {
                char c = (char)(0xD000 | ((bytes[1] & 0x3F) << 6) | (bytes[2] & 0x3F));
                if (afterHigh && char.IsLowSurrogate(c)) return null;
                afterHigh = char.IsHighSurrogate(c);
                text.Append(c);
                bytes = bytes[3..];
                continue;
            }
            if (Rune.DecodeFromUtf8(bytes, out var rune, out int used) != OperationStatus.Done) return null;
            afterHigh = false;
            text.Append(rune.ToString());
            bytes = bytes[used..];
        }
        return text.ToString();
    }
}
