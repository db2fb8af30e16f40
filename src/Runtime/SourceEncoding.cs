using System.Text;

namespace Hlvm.Runtime;

/// <summary>
/// The encoding of source files (programs, modules, the text form of modules): UTF-8, with a byte-order mark at
/// the start skipped. The compiler's reader of modules and the command line's reader of files decode with it, so
/// that both refuse the same bytes with the same words.
/// </summary>
public static class SourceEncoding
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>
    /// The text of <paramref name="bytes"/>. Bytes that are not UTF-8 (a file saved as Latin-1, a binary file) are
    /// refused where the first of them is, rather than read as U+FFFD: a string literal would silently hold other
    /// text than the file's.
    /// </summary>
    /// <exception cref="InvalidDataException">the bytes are not UTF-8; the message says where (line, column as the
    /// compiler counts them, in UTF-16 code units from 1) and which bytes</exception>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return StrictUtf8.GetString(bytes);
        int at = 0;
        while (Rune.DecodeFromUtf8(bytes[at..], out _, out int length) == System.Buffers.OperationStatus.Done) at += length;
        Rune.DecodeFromUtf8(bytes[at..], out _, out int invalid);
        var before = bytes[..at];
        int lineStart = before.LastIndexOf((byte)'\n') + 1;
        int line = before.Count((byte)'\n') + 1;
        int column = StrictUtf8.GetCharCount(before[lineStart..]) + 1;
        string shown = string.Join(" ", bytes.Slice(at, invalid).ToArray().Select(b => $"0x{b:X2}"));
        throw new InvalidDataException($"it is not UTF-8 text (hlvm reads source files as UTF-8): line {line}, column {column} has {(invalid == 1 ? "the byte" : "the bytes")} {shown}, which {(invalid == 1 ? "is" : "are")} not a UTF-8 character");
    }
}
