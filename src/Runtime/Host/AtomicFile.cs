using System.Runtime.InteropServices;

namespace Hlvm.Runtime.Host;

/// <summary>
/// Writing a file on the host whole or not at all, the one way every part of Hlvm does it (a program's
/// <c>fs.write</c> with full trust, the CLI's outputs, the caches, packed bundles, stored apps). The sandbox's
/// virtual file system does the same inside one open directory (<c>VirtualFileSystem.ReplaceIn</c>), since it
/// must not follow a path twice.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>: into a new hidden file beside it, then
    /// renamed over it. A rename within a directory is atomic, so readers see the old contents or the new, and a
    /// failure part-way leaves the old file (or none) and no temporary file. Through a symbolic link, the file it
    /// leads to is replaced (as a plain write would replace its contents), not the link; a replaced file keeps its
    /// permissions. <paramref name="flushToDisk"/> false skips the flush, for a cache whose entry cut short by a
    /// crash is simply rebuilt. Errors are .NET's <see cref="IOException"/> (of the same subclass) or
    /// <see cref="UnauthorizedAccessException"/>, their messages naming <paramref name="path"/> (or, through a link,
    /// the file it leads to), never the temporary file.
    /// </summary>
    public static void Write(string path, Action<Stream> write, bool flushToDisk = true)
    {
        if (IsSpecial(path))
        {
            // A device, a pipe or a socket, or a link to one (-o /dev/stdout, /dev/null, a named pipe): written to
            // as it is. Renaming a file over it would replace the node itself (where the directory is writable, as
            // /dev is for root), and a stream has no old contents to keep. (The kernel follows /dev/stdout's link
            // to /proc/self/fd/1 and on to the pipe or terminal, which a path can't name.)
            using var device = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            write(device);
            return;
        }
        string temp = TemporaryBeside(path, out string target);
        bool renamed = false;
        Writing.TryAdd(temp, 0);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                if (flushToDisk) stream.Flush(flushToDisk: true);
            }
            // Its permissions, not its set-user-ID, set-group-ID or sticky bits, which a plain write would not set.
            const UnixFileMode Permissions = (UnixFileMode)0x1FF;
            if (!OperatingSystem.IsWindows() && File.Exists(target)) File.SetUnixFileMode(temp, File.GetUnixFileMode(target) & Permissions);
            File.Move(temp, target, overwrite: true);
            renamed = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e.Message.Contains(temp, StringComparison.Ordinal))
        {
            throw Naming(e, e.Message.Replace(temp, path, StringComparison.Ordinal), path);
        }
        finally
        {
            if (!renamed)
            {
                try { File.Delete(temp); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the write failed already; report that */ }
            }
            Writing.TryRemove(temp, out _);
        }
    }

    /// <summary>
    /// Fails as <see cref="Write"/> would before it writes anything, with the same errors: when the temporary file
    /// beside <paramref name="path"/> can't be made (a directory not writable, a file system that is read-only or
    /// makes no files, a name too long). The file is made and removed. A device, a pipe or a socket is not opened
    /// (a pipe would wait for a reader).
    /// </summary>
    public static void Probe(string path)
    {
        if (IsSpecial(path)) return;
        string temp = TemporaryBeside(path, out _);
        Writing.TryAdd(temp, 0);
        try
        {
            new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose();
            File.Delete(temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e.Message.Contains(temp, StringComparison.Ordinal))
        {
            throw Naming(e, e.Message.Replace(temp, path, StringComparison.Ordinal), path);
        }
        finally
        {
            Writing.TryRemove(temp, out _);
        }
    }

    /// <summary>A new hidden file's name beside the file <paramref name="path"/> leads to (<paramref name="target"/>,
    /// its links followed).</summary>
    private static string TemporaryBeside(string path, out string target)
    {
        var info = new FileInfo(path);
        target = info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName : info.FullName;
        return Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>The temporary files being written now, which <see cref="RemoveUnfinished"/> removes when the process
    /// ends before their writes do.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Writing = new(StringComparer.Ordinal);

    static AtomicFile() => AppDomain.CurrentDomain.ProcessExit += (_, _) => RemoveUnfinished("");

    /// <summary>
    /// Removes the temporary files of the writes not finished yet. Called as the process ends (<c>Environment.Exit</c>,
    /// as a <c>--timeout</c> ends a command that does not stop, or SIGTERM): a write cut short there skipped its own
    /// clean-up and left its temporary file, a hidden one nothing else would remove (1.6 GB in the cache of bundle
    /// entries, after an interrupted fetch). A write that goes on meanwhile fails at its rename, and its file is not
    /// made.
    /// </summary>
    /// <param name="under">only those in this directory or beneath it ("" for all)</param>
    internal static void RemoveUnfinished(string under)
    {
        foreach (var temp in Writing.Keys)
        {
            if (!temp.StartsWith(under, StringComparison.Ordinal)) continue;
            try { File.Delete(temp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* ending anyway */ }
        }
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    /// <summary>Whether <paramref name="path"/>, its links followed, is there and is neither a regular file nor a
    /// directory: a device, a pipe or a socket, which a read or a write may block on (Linux; elsewhere, and where
    /// it is missing, false).</summary>
    public static unsafe bool IsSpecial(string path)
    {
        if (!OperatingSystem.IsLinux()) return false;
        const int CurrentDirectory = -100; // AT_FDCWD
        const uint Type = 0x1; // STATX_TYPE
        byte* buffer = stackalloc byte[256];
        try
        {
            if (Statx(CurrentDirectory, path, 0, Type, buffer) != 0) return false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        int type = *(ushort*)(buffer + 28) & 0xF000; // stx_mode
        return type is not (0x8000 or 0x4000); // S_IFREG, S_IFDIR
    }

    /// <summary>The same error as <paramref name="e"/> (its type and code, which callers tell apart), with
    /// <paramref name="message"/>, about <paramref name="path"/>.</summary>
    private static Exception Naming(Exception e, string message, string path) => e switch
    {
        FileNotFoundException => new FileNotFoundException(message, path, e),
        DirectoryNotFoundException => new DirectoryNotFoundException(message, e),
        PathTooLongException => new PathTooLongException(message, e),
        UnauthorizedAccessException => new UnauthorizedAccessException(message, e),
        _ => new IOException(message, e) { HResult = e.HResult },
    };
}
