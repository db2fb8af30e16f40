using System.Text;

namespace Hlvm.Cli;

/// <summary>
/// The process's standard error, a writer made at its first use: most runs write nothing to it, and making .NET's
/// console stream and a writer over it (flushed at every write, so that each message goes out whole and at once)
/// took about 4 ms of every start, as <see cref="Runtime.Host.ConsoleInput"/> does for reading. Lines are written whole. A
/// failed write is dropped (see <see cref="_broken"/>).
/// </summary>
internal sealed class StandardError : TextWriter
{
    private static readonly UTF8Encoding Utf8 = new(false);
    private StreamWriter? _writer;

    private StreamWriter? Writer => _broken ? null : _writer ??= new StreamWriter(Console.OpenStandardError(), Utf8) { AutoFlush = true };

    /// <summary>Set when a write failed: standard error is closed or broken, and there is nowhere to say so, so
    /// what follows is dropped rather than ending the command (or the process, as an exception escaping while
    /// an error is reported would).</summary>
    private bool _broken;

    /// <summary>Whether a write has failed (and what was written since was dropped).</summary>
    public bool Broken => _broken;

    public override Encoding Encoding => Utf8;

    private void Try(Action<StreamWriter> write)
    {
        if (Writer is not { } writer) return;
        try
        {
            write(writer);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _broken = true;
        }
    }

    public override void Write(char value)
    {
        TerminalLine.Wrote(value);
        Try(w => w.Write(value));
    }

    public override void Write(char[] buffer, int index, int count)
    {
        if (count > 0) TerminalLine.Wrote(buffer[index + count - 1]);
        Try(w => w.Write(buffer, index, count));
    }

    public override void Write(string? value)
    {
        if (!string.IsNullOrEmpty(value)) TerminalLine.Wrote(value[^1]);
        Try(w => w.Write(value));
    }

    public override void WriteLine()
    {
        TerminalLine.Wrote('\n');
        Try(w => w.WriteLine());
    }

    public override void WriteLine(string? value)
    {
        TerminalLine.Wrote('\n');
        Try(w => w.WriteLine(value));
    }

    /// <summary>Nothing to flush before the first write (the writer flushes each one).</summary>
    public override void Flush()
    {
        if (_writer is not null) Try(w => w.Flush());
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _writer is not null) Try(w => w.Dispose());
        base.Dispose(disposing);
    }
}
