namespace Hlvm.Cli;

/// <summary>
/// The process's standard input, <see cref="Console.In"/> made at its first read: most programs never read their
/// input, and making it loads and sets up more of the console than writing does. Every read goes to
/// <see cref="Console.In"/> as it is.
/// </summary>
internal sealed class StandardInput : TextReader
{
    private TextReader? _in;

    private TextReader In => _in ??= Console.In;

    public override int Peek() => In.Peek();

    public override int Read() => In.Read();

    public override int Read(char[] buffer, int index, int count) => In.Read(buffer, index, count);

    public override int Read(Span<char> buffer) => In.Read(buffer);

    public override int ReadBlock(char[] buffer, int index, int count) => In.ReadBlock(buffer, index, count);

    public override int ReadBlock(Span<char> buffer) => In.ReadBlock(buffer);

    public override string? ReadLine() => In.ReadLine();

    public override string ReadToEnd() => In.ReadToEnd();
}
