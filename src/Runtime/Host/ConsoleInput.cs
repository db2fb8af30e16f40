namespace Hlvm.Runtime.Host;

/// <summary>
/// The process's standard input, <see cref="Console.In"/> made at its first read: most programs never read their
/// input, and making it loads and sets up more of the console than writing does. Every read goes to
/// <see cref="Console.In"/>, but a read of many characters from a terminal returns at the end of a line: .NET's
/// terminal reader fills the whole buffer it is given, so a program that read its input a chunk at a time
/// (<c>readLine</c> does) waited for 65,536 characters or the end of the input before it saw the first line typed.
/// A process started with its standard input closed (<c>hlvm run app.hl &lt;&amp;-</c>) reads it as empty: see
/// <see cref="ClosedAtStart"/>.
/// </summary>
public sealed class ConsoleInput : TextReader
{
    private TextReader? _in;
    private bool _terminal;

    private TextReader In
    {
        get
        {
            if (_in is null)
            {
                _terminal = !Console.IsInputRedirected;
                _in = ClosedAtStart() ? TextReader.Null : Console.In;
            }
            return _in;
        }
    }

    /// <summary>
    /// Whether the process started with descriptor 0 closed. .NET's runtime opens its own files and pipes before
    /// any of the program's code runs, and the first of them takes the lowest free number, 0: on Linux a pipe whose
    /// write end the runtime keeps. Reading it waited forever (and could take bytes the runtime meant for itself).
    /// Descriptor 0 is taken for closed when it is a pipe whose write end this process holds: no input could ever
    /// end there, since the process would have to close it itself. Only Linux shows a process its descriptors this
    /// way (<c>/proc/self</c>); elsewhere, and when they can't be read, nothing is taken for closed.
    /// </summary>
    public static bool ClosedAtStart()
    {
        try
        {
            string? input = new FileInfo("/proc/self/fd/0").LinkTarget;
            if (input is null || !input.StartsWith("pipe:", StringComparison.Ordinal)) return false;
            foreach (string path in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                string name = Path.GetFileName(path);
                try
                {
                    if (name != "0" && new FileInfo(path).LinkTarget == input && WritesTo(name)) return true;
                }
                catch (IOException) { } // closed by another thread since the listing
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return false;
    }

    /// <summary>Whether descriptor <paramref name="fd"/> is open for writing: its <c>flags</c> in
    /// <c>/proc/self/fdinfo</c>, in octal, have <c>O_WRONLY</c> (1) or <c>O_RDWR</c> (2) in their access mode.</summary>
    private static bool WritesTo(string fd)
    {
        foreach (string line in File.ReadLines($"/proc/self/fdinfo/{fd}"))
        {
            if (!line.StartsWith("flags:", StringComparison.Ordinal)) continue;
            string octal = line["flags:".Length..].Trim();
            return octal.Length > 0 && ((octal[^1] - '0') & 3) != 0;
        }
        return false;
    }

    public override int Peek() => In.Peek();

    public override int Read() => In.Read();

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public override int Read(Span<char> buffer)
    {
        var input = In;
        if (!_terminal) return input.Read(buffer);
        // A line at a time: what the person has typed, up to the line break that sent it.
        int n = 0;
        while (n < buffer.Length)
        {
            int c = input.Read();
            if (c < 0) break;
            buffer[n++] = (char)c;
            if (c == '\n') break;
        }
        return n;
    }

    public override int ReadBlock(char[] buffer, int index, int count) => In.ReadBlock(buffer, index, count);

    public override int ReadBlock(Span<char> buffer) => In.ReadBlock(buffer);

    public override string? ReadLine() => In.ReadLine();

    public override string ReadToEnd() => In.ReadToEnd();
}
