namespace Hlvm.Runtime.Host;

/// <summary>
/// The process's standard input, <see cref="Console.In"/> made at its first read: most programs never read their
/// input, and making it loads and sets up more of the console than writing does. Every read goes to
/// <see cref="Console.In"/>, but a read of many characters from a terminal returns at the end of a line: .NET's
/// terminal reader fills the whole buffer it is given, so a program that read its input a chunk at a time
/// (<c>readLine</c> does) waited for 65,536 characters or the end of the input before it saw the first line typed.
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
                _in = Console.In;
            }
            return _in;
        }
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
