namespace Hlvm.Cli;

/// <summary>
/// Whether the terminal that shows both standard output and standard error is in the middle of a line: the last
/// character either stream wrote was not a line break. A program that stopped mid-line (its output cut by
/// <c>--max-output</c>, a prompt written before an error) had hlvm's report glued to its text, "abcdhlvm: limit
/// exceeded: ..."; hlvm's own reports begin a line of their own there (<see cref="Start"/>). Only when both streams
/// are a terminal: written to files or pipes, each stream holds exactly what was written to it, and what is shown
/// is the reader's to arrange.
/// </summary>
internal static class TerminalLine
{
    private static volatile bool _midLine;

    /// <summary>Whether both standard output and standard error are a terminal (set once, as the process starts).</summary>
    public static bool Shared { get; set; }

    /// <summary>Notes what a write to either stream ended with.</summary>
    public static void Wrote(char last)
    {
        if (Shared) _midLine = last != '\n';
    }

    /// <summary>Ends the terminal's line on <paramref name="err"/> when a stream left it mid-line.</summary>
    public static void Start(TextWriter err)
    {
        if (Shared && _midLine) err.Write('\n');
    }
}
