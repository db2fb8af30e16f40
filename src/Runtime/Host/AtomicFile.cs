namespace Hlvm.Runtime.Host;

/// <summary>
/// Writing a file on the host whole or not at all, the one way every part of Hlvm does it (a program's
/// <c>fs.write</c> with full trust, the CLI's outputs, the caches, packed bundles, stored apps). The sandbox's
/// virtual file system does the same inside one open directory (<c>VirtualFileSystem.ReplaceIn</c>), since it
/// must not follow a path twice.
/// </summary>
public static class AtomicFile
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
        var info = new FileInfo(path);
        string target = info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName : info.FullName;
        string temp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        bool renamed = false;
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
        }
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
