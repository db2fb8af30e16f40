using Hlvm.Runtime;
using static Hlvm.Sandbox.LinuxFiles;

namespace Hlvm.Sandbox;

/// <summary>A source or module file that hlvm will not read, and why.</summary>
public sealed class SourceFileException(string file, string reason, bool malformed = false) : Exception($"{file}: {reason}")
{
    /// <summary>The file as it was named: on the command line, or relative to the program's directory.</summary>
    public string File { get; } = file;

    public string Reason { get; } = reason;

    /// <summary>The file was read, and what it holds is not text (exit 65, where a file not read is 66).</summary>
    public bool Malformed { get; } = malformed;

    /// <summary>It is not read because it is a bundle too large for a program or module (a bundle may be of any
    /// size): a command that takes bundles runs it from its name.</summary>
    public bool Bundle { get; init; }
}

/// <summary>
/// How hlvm reads the files of a program before it runs, by the rules the program's <c>/app</c> is read by: only
/// regular files (never a FIFO, a device or a directory, so that reading can't block or go on for ever), at most
/// <see cref="MaxFileBytes"/> each, and the modules a program imports only from beneath its directory: the kernel
/// resolves their paths there (<c>openat2</c> with <c>RESOLVE_BENEATH</c>), so a symbolic link, relative or
/// absolute, that leads out is refused, as <c>fs.readText("/app/...")</c> refuses it. The file named on the
/// command line may itself be a link: the user chose it.
/// </summary>
public static class SourceFiles
{
    /// <summary>The largest program, module or source file hlvm reads: 16 MiB.</summary>
    public const int MaxFileBytes = 16 << 20;

    /// <summary>The most bytes of source one program may have, its own file and every module it imports: 64 MiB.</summary>
    public const long MaxProgramBytes = 64L << 20;

    /// <summary>Reads the file a command was given.</summary>
    /// <exception cref="FileNotFoundException">there is no such file</exception>
    /// <exception cref="SourceFileException">it can't or may not be read</exception>
    public static byte[] ReadNamed(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            if (Directory.Exists(path)) throw new SourceFileException(path, "it is a directory");
            if (new FileInfo(path).Length > MaxFileBytes) throw TooLarge(path);
            return File.ReadAllBytes(path);
        }
        try
        {
            // The file's own status says what it is (ReadRegular): a directory, a FIFO or a device is refused there.
            using var file = Open(null, Path.GetFullPath(path), O_RDONLY | O_NONBLOCK | O_NOCTTY);
            return ReadRegular(file, path);
        }
        catch (Errno e) when (e.Code is ENOENT or ENOTDIR)
        {
            throw new FileNotFoundException(path);
        }
        catch (Errno e)
        {
            throw new SourceFileException(path, Why(e));
        }
    }

    /// <summary>
    /// The reader of the modules beneath a program's directory that the compiler calls with a path relative to it
    /// (<c>lib/util.hl</c>): the text, or null when there is no such file. Throws <see cref="SourceFileException"/>
    /// for a file that may not be read, and once the program's files together pass <see cref="MaxProgramBytes"/>
    /// (<paramref name="programBytes"/>, the program's own file, counts first).
    /// </summary>
    public static Func<string, string?> ModuleReader(string programPath, long programBytes)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(programPath)) ?? "/";
        long total = programBytes;
        return relative =>
        {
            byte[] bytes;
            if (!OperatingSystem.IsLinux())
            {
                string file = Path.Combine(directory, relative);
                if (!File.Exists(file)) return null;
                bytes = new FileInfo(file).Length > MaxFileBytes ? throw TooLarge(relative) : File.ReadAllBytes(file);
            }
            else
            {
                try
                {
                    using var root = Open(null, directory, O_PATH | O_DIRECTORY);
                    using var file = Open(root, relative, O_RDONLY | O_NONBLOCK | O_NOCTTY);
                    bytes = ReadRegular(file, relative);
                }
                catch (Errno e) when (e.Code is ENOENT or ENOTDIR)
                {
                    return null;
                }
                catch (Errno e)
                {
                    throw new SourceFileException(relative, Why(e));
                }
            }
            total += bytes.Length;
            if (total > MaxProgramBytes)
                throw new SourceFileException(relative, $"the program's source files together are larger than {MaxProgramBytes >> 20} MiB, the most hlvm compiles");
            return Text(bytes, relative);
        };
    }

    /// <summary>The text of the file a command was given (a manifest, a key), read as <see cref="ReadNamed"/> reads it.</summary>
    /// <exception cref="FileNotFoundException">there is no such file</exception>
    /// <exception cref="SourceFileException">it can't or may not be read</exception>
    public static string ReadNamedText(string path) => Text(ReadNamed(path), path);

    /// <summary>The text of the file <paramref name="shown"/> from its bytes (<see cref="SourceEncoding.Decode"/>).</summary>
    /// <exception cref="SourceFileException">the bytes are not UTF-8 (<see cref="SourceFileException.Malformed"/>)</exception>
    public static string Text(byte[] bytes, string shown)
    {
        try
        {
            return SourceEncoding.Decode(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new SourceFileException(shown, e.Message, malformed: true);
        }
    }

    private static byte[] ReadRegular(Microsoft.Win32.SafeHandles.SafeFileHandle file, string shown)
    {
        var status = Stat(file);
        if (status.IsDirectory) throw new SourceFileException(shown, "it is a directory");
        if (!status.IsRegular) throw new SourceFileException(shown, "it is not a regular file");
        if (status.Size > MaxFileBytes)
        {
            Span<byte> start = stackalloc byte[Bundles.BundleFront.Magic.Length];
            if (RandomAccess.Read(file, start, 0) == start.Length && start.SequenceEqual(Bundles.BundleFront.Magic))
                throw new SourceFileException(shown, "it is a bundle") { Bundle = true };
            throw TooLarge(shown);
        }
        // The file may grow meanwhile: read at most one byte more than allowed, to tell.
        using var stream = new FileStream(file, FileAccess.Read, 1);
        var buffer = new byte[(int)Math.Min(status.Size + 1, MaxFileBytes + 1L)];
        int length = 0;
        for (int n; length < buffer.Length && (n = stream.Read(buffer, length, buffer.Length - length)) > 0;) length += n;
        if (length > MaxFileBytes) throw TooLarge(shown);
        if (length < buffer.Length) return buffer[..length];
        // It grew: read on, up to the bound.
        using var rest = new MemoryStream();
        rest.Write(buffer);
        var chunk = new byte[81920];
        for (int n; (n = stream.Read(chunk)) > 0;)
        {
            rest.Write(chunk, 0, n);
            if (rest.Length > MaxFileBytes) throw TooLarge(shown);
        }
        return rest.ToArray();
    }

    private static SourceFileException TooLarge(string shown) =>
        new(shown, $"it is larger than {MaxFileBytes >> 20} MiB, the most hlvm reads of a source or module file");

    private static string Why(Errno e) => e.Code switch
    {
        EXDEV => "it leads outside the program's directory (a symbolic link or '..'); a program's modules are read from beneath it only",
        EACCES or EPERM => "permission denied",
        ELOOP => "too many levels of symbolic links",
        ENAMETOOLONG => "the path is too long",
        ENOSYS => "the kernel has no openat2 (Linux 5.6 or later is needed)",
        _ => $"error {e.Code}",
    };
}
