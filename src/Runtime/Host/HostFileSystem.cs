namespace Hlvm.Runtime.Host;

/// <summary>
/// The host's own file system with the process's rights: paths are the host's, relative ones to the current
/// directory. Only <see cref="HostAccess.FullTrust"/> uses it; a sandboxed program gets a virtual one.
/// </summary>
internal sealed class HostFileSystem : IFileSystem
{
    public Stream OpenRead(string path) => FileErrors.Guard("read", path, () =>
    {
        if (Directory.Exists(path)) throw FileErrors.Fail("read", path, "it is a directory");
        return (Stream)new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    });

    /// <summary>Writes the file whole or not at all (<see cref="AtomicFile.Write"/>).</summary>
    public void WriteAtomic(string path, ReadOnlySpan<byte> bytes)
    {
        var data = bytes.ToArray();
        FileErrors.Guard("write", path, () =>
        {
            if (Directory.Exists(path)) throw FileErrors.Fail("write", path, "it is a directory");
            AtomicFile.Write(path, stream => stream.Write(data));
            return 0;
        });
    }

    public void Append(string path, ReadOnlySpan<byte> bytes)
    {
        var data = bytes.ToArray();
        FileErrors.Guard("append to", path, () =>
        {
            if (Directory.Exists(path)) throw FileErrors.Fail("append to", path, "it is a directory");
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            stream.Write(data);
            return 0;
        });
    }

    public bool Exists(string path) => File.Exists(path) || Directory.Exists(path);

    public string[] List(string path) => FileErrors.Guard("list", path, () =>
    {
        if (!Directory.Exists(path)) throw FileErrors.Fail("list", path, File.Exists(path) ? "it is not a directory" : "no such directory");
        return Directory.EnumerateFileSystemEntries(path).Select(p => Path.GetFileName(p)).ToArray();
    });

    public void Remove(string path) => FileErrors.Guard("remove", path, () =>
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null || File.Exists(path)) File.Delete(path); // a link goes, not what it leads to
        else if (Directory.Exists(path))
        {
            if (Directory.EnumerateFileSystemEntries(path).Any()) throw FileErrors.Fail("remove", path, "the directory is not empty");
            Directory.Delete(path);
        }
        else throw FileErrors.Fail("remove", path, "no such file or directory");
        return 0;
    });
}
