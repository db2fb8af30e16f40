using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Hlvm.Cli;

/// <summary>
/// The process's standard output as a stream that reports a failed write as such. .NET's console stream ignores
/// EPIPE, so <c>hlvm run prog.hl | head -2</c> would run the program to its end, printing into nothing: a write
/// after the reader has gone throws <see cref="BrokenPipeException"/>, which is no
/// <see cref="Runtime.Execution.VmError"/> and so no program can catch it; it unwinds the run, and
/// <see cref="Program"/> ends with <see cref="ExitCodes.BrokenPipe"/> and prints nothing more, as a C or Go program
/// that SIGPIPE ends. Any other failed write (a full disk) throws <see cref="OutputFailedException"/>, which ends
/// the command the same way with a message and <see cref="ExitCodes.CantCreate"/>.
/// <para>What writes the bytes depends on what standard output is. A pipe or a socket: a <see cref="FileStream"/>
/// on the descriptor. A file or a device such as <c>/dev/null</c>: <c>write(2)</c> itself, since a FileStream
/// writes a seekable file at offsets of its own (<c>pwrite</c>), leaving the descriptor's, which the shell shares
/// with the next command, where it was; and the console's stream first sets up the terminal and the signal
/// handling, about 5 ms of a short program's run. A terminal: the console's stream. Elsewhere than on Linux, a
/// FileStream for a pipe or a socket and the console's stream for the rest.</para>
/// </summary>
internal sealed partial class StandardOutput : Stream
{
    private const int EINTR = 4, EPIPE = 32;

    /// <summary>What writes the bytes; null: <c>write(2)</c> on descriptor 1.</summary>
    private readonly Stream? _stream;

    private StandardOutput(Stream? stream) => _stream = stream;

    /// <summary>Set when a write failed otherwise than by a broken pipe: that was said once, and what is still
    /// buffered (flushed as the command ends) goes nowhere.</summary>
    private bool _failed;

    /// <summary>Standard output, as the class says; <paramref name="terminal"/>, whether it is a terminal (Linux).</summary>
    public static Stream Open(out bool terminal)
    {
        terminal = false;
        if (OperatingSystem.IsWindows()) return Console.OpenStandardOutput();
        // On Linux the system says what the descriptor is, which spares a run whose output is not a terminal the
        // console's set-up; glibc by its name, since the runtime's search for plain "libc" tries a dozen file
        // names first.
        if (OperatingSystem.IsLinux() && NativeLibrary.TryLoad(LibC, out _))
        {
            if (IsATty(1) == 1)
            {
                terminal = true;
                return new StandardOutput(Console.OpenStandardOutput());
            }
            if (LSeek(1, 0, SeekCurrent) >= 0) return new StandardOutput(null);
            if (Marshal.GetLastPInvokeError() != ESPIPE) return Console.OpenStandardOutput(); // closed: as the console's stream deals with it
            try
            {
                return new StandardOutput(new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0));
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
                return Console.OpenStandardOutput(); // a descriptor FileStream refuses
            }
        }
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
        return Console.OpenStandardOutput();
    }

    private const string LibC = "libc.so.6";
    private const int SeekCurrent = 1, ESPIPE = 29;

    [LibraryImport(LibC, EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, ReadOnlySpan<byte> buffer, nuint count);

    [LibraryImport(LibC, EntryPoint = "isatty")]
    private static partial int IsATty(int fd);

    [LibraryImport(LibC, EntryPoint = "lseek", SetLastError = true)]
    private static partial long LSeek(int fd, long offset, int whence);

    /// <summary>Whether an exception is a write to a pipe whose reader has gone.</summary>
    public static bool IsBrokenPipe(Exception e) => e is BrokenPipeException || e is IOException { HResult: EPIPE };

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_failed) return;
        if (!buffer.IsEmpty) TerminalLine.Wrote((char)buffer[^1]);
        if (_stream is not null)
        {
            try
            {
                _stream.Write(buffer);
            }
            catch (IOException e) when (e is not (BrokenPipeException or OutputFailedException))
            {
                throw Failure(e.HResult, e);
            }
            catch (UnauthorizedAccessException e) when (e.InnerException is IOException reason)
            {
                // A descriptor open for reading only (.NET gives the number of a closed standard output to the
                // first file it opens): EBADF, which FileStream reports this way.
                throw Failure(reason.HResult, reason);
            }
            return;
        }
        while (!buffer.IsEmpty)
        {
            nint written = Write(1, buffer, (nuint)buffer.Length);
            if (written >= 0)
            {
                buffer = buffer[(int)written..];
                continue;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            throw Failure(errno, new IOException(Marshal.GetPInvokeErrorMessage(errno), errno));
        }
    }

    private IOException Failure(int errno, IOException e)
    {
        if (errno == EPIPE) return new BrokenPipeException(e);
        _failed = true;
        return new OutputFailedException(e.Message, e);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Flush() => _stream?.Flush();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _stream?.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Standard output is a pipe whose reader has gone: the command stops (<see cref="ExitCodes.BrokenPipe"/>).</summary>
internal sealed class BrokenPipeException(Exception inner) : IOException("standard output is a closed pipe", inner);

/// <summary>A write to standard output failed otherwise (a full disk): the command stops with the reason
/// (<see cref="ExitCodes.CantCreate"/>).</summary>
internal sealed class OutputFailedException(string reason, Exception inner) : IOException(reason, inner);
