namespace Hlvm.Runtime.Execution;

/// <summary>
/// Text from a program, cut to a bounded length where the VM or the sandbox quotes it in a message or a log line
/// (an error's message as `hlvm` reports it, a missing key, text that is not a number, an audited path): its
/// beginning and end, and how much was left out between them, so a long input can't make a message as long.
/// </summary>
public static class Excerpt
{
    /// <summary>The text itself when it has at most <paramref name="max"/> characters, else its two ends.</summary>
    public static string Of(string text, int max)
    {
        if (text.Length <= max) return text;
        int head = max * 2 / 3, tail = max - head;
        // Never split a surrogate pair.
        if (char.IsHighSurrogate(text[head - 1])) head--;
        if (char.IsLowSurrogate(text[^tail])) tail--;
        return $"{text[..head]}… ({text.Length - head - tail} characters left out) …{text[^tail..]}";
    }
}
