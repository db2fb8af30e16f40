namespace Hlvm.Cli;

/// <summary>What every command writes to and reads from, and how it was started.</summary>
/// <param name="Out">standard output (buffered: flushed before anything is written to <paramref name="Err"/>)</param>
/// <param name="Err">standard error</param>
/// <param name="In">standard input</param>
/// <param name="IsProcess">
/// whether this is the <c>hlvm</c> process itself rather than a host running the command in-process: only then may
/// a program stuck past its <c>--timeout</c> end the process, and only then is a person asked about permissions
/// </param>
public sealed record CliContext(TextWriter Out, TextWriter Err, TextReader In, bool IsProcess)
{
    /// <summary>
    /// Standard error for hlvm's own messages, with control characters made visible: they quote names, paths and
    /// text from programs, modules, bundles and command lines, none of which may drive the terminal. (The
    /// program's own standard error is filtered by its isolate, unless it runs with --allow-escapes.)
    /// </summary>
    public TextWriter Messages { get; } = new VisibleWriter(Err, IsProcess ? () => TerminalLine.Start(Err) : null);

    /// <summary>Before a report hlvm writes to <see cref="Err"/> itself: ends the terminal's line if the program
    /// left it mid-line (<see cref="TerminalLine"/>).</summary>
    public void StartLine()
    {
        if (IsProcess) TerminalLine.Start(Err);
    }

    /// <summary>Whether hlvm talks to a person: standard input and standard error are a terminal.</summary>
    public bool Interactive => AssumeTerminal || IsProcess && !Console.IsInputRedirected && !Console.IsErrorRedirected;

    /// <summary>Talk to <see cref="In"/> as to a person at a terminal (tests of the questions hlvm asks).</summary>
    internal bool AssumeTerminal { get; init; }

    /// <summary>Where the lines of <c>--gc-log</c> go, or null for <see cref="Messages"/> (after what the program
    /// printed to standard output). The VM's own logs are not the program's output: <c>--engine compare</c>
    /// keeps them apart from the program's standard error.</summary>
    internal TextWriter? GcLog { get; init; }

    /// <summary>Where the lines of <c>--jit-log</c> go, or null for <see cref="Messages"/>.</summary>
    internal TextWriter? JitLog { get; init; }

    /// <summary>Writes a line of one of the VM's logs to <paramref name="log"/>, or else to <see cref="Messages"/>
    /// after flushing standard output.</summary>
    internal void WriteLog(TextWriter? log, string line)
    {
        if (log is not null)
        {
            log.WriteLine(line);
            return;
        }
        Out.Flush();
        Messages.WriteLine(line);
    }

    /// <summary>"1 entry", "2 entries".</summary>
    public static string Count(long n, string one, string many) => $"{n} {(n == 1 ? one : many)}";

    /// <summary>The last line of a compile's or an assembly's report: how many errors, and, at the most a compile
    /// reports (<see cref="Compiler.Diagnostics.DiagnosticBag.MaxErrors"/>), that there may be more.</summary>
    public static string Errors(int n) => Count(n, "error", "errors")
        + (n >= Compiler.Diagnostics.DiagnosticBag.MaxErrors ? " (the most reported at once: there may be more)" : "");
}

/// <summary>Writes to one writer after flushing another, so that output to the two keeps its order.</summary>
internal sealed class FlushingWriter(TextWriter first, TextWriter target) : TextWriter
{
    public override System.Text.Encoding Encoding => target.Encoding;

    public override void Write(char value)
    {
        first.Flush();
        target.Write(value);
    }

    public override void Write(ReadOnlySpan<char> buffer)
    {
        first.Flush();
        target.Write(buffer);
    }
}

/// <summary>Writes through to another writer with control characters made visible (<see cref="Sandbox.ControlCharacters"/>).</summary>
internal sealed class VisibleWriter(TextWriter target, Action? lineStart = null) : TextWriter
{
    /// <summary>Whether what this writer wrote last ended a line: the next write begins one, and
    /// <c>lineStart</c> runs first.</summary>
    private bool _atLineStart = true;

    public override System.Text.Encoding Encoding => target.Encoding;

    public override void Write(char value) => Write([value]);

    public override void Write(ReadOnlySpan<char> buffer)
    {
        if (buffer.IsEmpty) return;
        if (_atLineStart) lineStart?.Invoke();
        Span<char> safe = buffer.Length <= 256 ? stackalloc char[buffer.Length] : new char[buffer.Length];
        Sandbox.ControlCharacters.MakeVisible(buffer, safe);
        target.Write(safe);
        _atLineStart = buffer[^1] == '\n';
    }

    public override void Write(string? value) => Write(value.AsSpan());

    public override void WriteLine(string? value)
    {
        if (_atLineStart) lineStart?.Invoke();
        Write(value.AsSpan());
        target.WriteLine();
        _atLineStart = true;
    }

    public override void Flush() => target.Flush();
}
