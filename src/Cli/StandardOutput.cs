using Microsoft.Win32.SafeHandles;

namespace Hlvm.Cli;

/// <summary>
/// The process's standard output as a stream that reports a broken pipe. .NET's console stream ignores EPIPE, so
/// <c>hlvm run prog.hl | head -2</c> would run the program to its end, printing into nothing. When standard output
/// is a pipe or a socket, hlvm writes it through this stream instead: a write after the reader has gone throws
/// <see cref="BrokenPipeException"/>, which is no <see cref="Runtime.Execution.VmError"/> and so no program can
/// catch it; it unwinds the run, and <see cref="Program"/> ends with <see cref="ExitCodes.BrokenPipe"/> and prints
/// nothing more, as a C or Go program that SIGPIPE ends. A terminal or a file keeps the console's stream (a
/// file's stream of its own would not move the offset that the shell shares with the next command).
/// </summary>
internal sealed class StandardOutput : Stream
{
    private const int EPIPE = 32;
    private readonly Stream _pipe;

    private StandardOutput(Stream pipe) => _pipe = pipe;

    /// <summary>Standard output: this stream when it is a pipe or a socket, the console's otherwise.</summary>
    public static Stream Open()
    {
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                var handle = new SafeFileHandle(1, ownsHandle: false);
                if (handle.IsInvalid) return Console.OpenStandardOutput();
                var stream = new FileStream(handle, FileAccess.Write, bufferSize: 0);
                if (!stream.CanSeek && Console.IsOutputRedirected) return new StandardOutput(stream);
                stream.Dispose();
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
                // Not a file descriptor FileStream takes (closed, or of a kind it refuses): the console's stream.
            }
        }
        return Console.OpenStandardOutput();
    }

    /// <summary>Whether an exception is a write to a pipe whose reader has gone.</summary>
    public static bool IsBrokenPipe(Exception e) => e is BrokenPipeException || e is IOException { HResult: EPIPE };

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try
        {
            _pipe.Write(buffer);
        }
        catch (IOException e) when (e.HResult == EPIPE)
        {
            throw new BrokenPipeException(e);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Flush() { }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _pipe.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Standard output is a pipe whose reader has gone: the command stops (<see cref="ExitCodes.BrokenPipe"/>).</summary>
internal sealed class BrokenPipeException(Exception inner) : IOException("standard output is a closed pipe", inner);
