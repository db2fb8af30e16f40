using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Host;
using Microsoft.Win32.SafeHandles;
using static Hlvm.Sandbox.LinuxFiles;

namespace Hlvm.Sandbox;

/// <summary>
/// The files a sandboxed program sees. Its root holds:
/// <list type="bullet">
/// <item><c>/app</c>: the app's own files (its directory), read-only. The first write to one makes a private copy
/// in the app's data directory, which the app sees at the same path from then on (copy-on-write); the original
/// is never modified.</item>
/// <item><c>/data</c>: the app's private, writable directory, kept between runs in the user's data directory.</item>
/// <item>each host path the user granted, under its own name (<c>--allow-read=/home/u/notes</c> shows
/// <c>/home/u/notes</c>), and with a bare grant the host's whole tree, except <c>/proc</c>, <c>/dev</c> and
/// <c>/sys</c>, which are never there.</item>
/// </list>
/// A relative path is taken from the host's working directory (so a granted path can be named as the user wrote
/// it); <c>/app</c> and <c>/data</c> are always named absolutely.
///
/// Every path is resolved inside the root of the tree it names, by the kernel (<see cref="LinuxFiles"/>):
/// <c>..</c>, absolute symbolic links and relative ones that climb out fail, even for a moment, and the file that
/// was resolved is the file that is used. After each open, the file's real path is checked once more against
/// the hidden directories and the user's denials, which catches a link inside a granted tree to a denied part of it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VirtualFileSystem : IFileSystem
{
    private enum Kind { App, Data, Host }

    /// <param name="File">for a granted file (not a directory): its name, in the directory <paramref name="HostPath"/></param>
    private sealed record Mount(string Virtual, string HostPath, Kind Kind, string? File = null)
    {
        public readonly string[] Parts = VirtualPath.Components(Virtual);
    }

    private readonly List<Mount> _mounts;
    /// <summary>The app's private host directory, found when first needed (finding it hashes the app's path).</summary>
    private readonly Lazy<string> _storage;

    /// <summary>Where the copies of written <c>/app</c> files are.</summary>
    private string Overlay => Path.Combine(_storage.Value, "app");
    private readonly Permissions _permissions;
    private readonly string _cwd;
    private readonly IAppFiles? _appFiles;

    /// <summary>The largest <c>/app</c> file a write or an append copies into the app's storage (the app's heap limit:
    /// no more than it could have read).</summary>
    public long MaxCopyBytes { get; init; } = long.MaxValue;

    /// <summary>Told of every refusal made after the permission check (a file's real path is denied or hidden).</summary>
    internal Action<string, string, string>? OnDenied { get; init; }

    /// <summary>Told, once per path, when the app reads its copy of an <c>/app</c> file whose original changed
    /// after the copy was made (<see cref="CopyOrigins"/>).</summary>
    internal Action<string>? OnStaleCopy { get; init; }

    private readonly HashSet<string> _staleNoted = new(StringComparer.Ordinal);

    /// <param name="appDirectory">the host directory shown read-only at <c>/app</c></param>
    /// <param name="storageDirectory">the app's private host directory: <c>/data</c> and the copies of written
    /// <c>/app</c> files live in it (created when first needed)</param>
    /// <param name="permissions">the grants, whose paths become visible, and the denials</param>
    /// <param name="workingDirectory">what relative paths are relative to (the host's current directory)</param>
    /// <param name="appFiles">the app's files when they are not a directory (a bundle's); then <paramref name="appDirectory"/> is not used</param>
    /// <param name="ownFiles">host files of this run that are hlvm's own, as its directories are (the audit log):
    /// never granted, never visible</param>
    public VirtualFileSystem(string appDirectory, Func<string> storageDirectory, Permissions permissions, string? workingDirectory = null, IAppFiles? appFiles = null,
        IReadOnlyList<string>? ownFiles = null)
    {
        _appFiles = appFiles;
        _ownFiles = ownFiles ?? [];
        _permissions = permissions;
        _cwd = VirtualPath.Normalize(workingDirectory ?? Environment.CurrentDirectory, "/");
        _storage = new Lazy<string>(storageDirectory);
        _mounts =
        [
            new(VirtualPath.App, Path.GetFullPath(appDirectory), Kind.App),
            new(VirtualPath.Data, "", Kind.Data),
        ];
        // Loops, not LINQ: see VirtualPath.Components.
        foreach (var kind in (string[])["read", "write"])
        {
            if (permissions.GrantsAll(kind) && !IsMounted("/")) _mounts.Add(new("/", "/", Kind.Host));
            foreach (var granted in permissions.GrantedPaths(kind))
            {
                if (VirtualPath.IsVirtual(granted)) continue;
                if (VirtualPath.IsHidden(granted)) throw new ArgumentException($"'{granted}' can't be granted: /proc, /dev and /sys are never visible to a program");
                if (IsHlvmOwn(granted)) throw new ArgumentException($"'{granted}' can't be granted: {OwnWhy}");
                if (IsMounted(granted)) continue;
                // A granted file (or a path that is not a directory yet) is that one name in its directory.
                _mounts.Add(Directory.Exists(granted) || granted == "/" ? new(granted, granted, Kind.Host)
                    : new(granted, Path.GetDirectoryName(granted)!, Kind.Host, Path.GetFileName(granted)));
            }
        }
        _mounts.Sort((a, b) => b.Parts.Length.CompareTo(a.Parts.Length));
    }

    private bool IsMounted(string virtualPath)
    {
        foreach (var mount in _mounts)
            if (mount.Virtual == virtualPath) return true;
        return false;
    }

    /// <summary>hlvm's own directories, as named and where links lead, folded: found when a path is first checked
    /// against them (finding them resolves links and normalises text, about 3 ms of a run's start that most runs,
    /// which grant nothing and open no file, never need).</summary>
    private string[] Own => _own ??= [.. UserFiles.OwnDirectories().Concat(_ownFiles).SelectMany(d => new[] { d, LinuxFiles.RealPathOf(d) ?? d }).Distinct().Select(Permissions.Fold)];

    /// <summary>Host files of this run that are hlvm's as its own directories are (the audit log), absolute.</summary>
    private readonly IReadOnlyList<string> _ownFiles;

    private string[]? _own;

    /// <summary>Why a path in hlvm's own directories is refused.</summary>
    internal const string OwnWhy = "hlvm's own files (its trusted keys, its cache, the apps' storage, the audit log) are not visible to a program";

    /// <summary>Whether a normalized host path is in one of hlvm's own directories (<see cref="UserFiles.OwnDirectories"/>),
    /// or a case or Unicode variant of one.</summary>
    internal bool IsHlvmOwn(string path)
    {
        string folded = Permissions.Fold(path);
        return Own.Any(o => VirtualPath.IsUnder(folded, o));
    }

    // -------------------------------------------------------------------------------------------- operations

    public Stream OpenRead(string path)
    {
        var (mount, rel) = Resolve("read", path);
        var file = mount.Kind == Kind.App ? TryOpenCopy("read", path, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY) : null;
        if (file is not null && _appFiles is null && OnStaleCopy is not null && CopyOrigins.IsStale(_storage.Value, mount.HostPath, rel)
            && _staleNoted.Add(string.Join('/', rel))) OnStaleCopy(path);
        if (file is null && mount.Kind == Kind.App && _appFiles is not null)
            return new MemoryStream(_appFiles.Read(rel, path)
                ?? throw FileErrors.Fail("read", path, _appFiles.IsDirectory(rel) ? "it is a directory" : "no such file or directory"), writable: false);
        file ??= OpenIn("read", path, mount, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        try
        {
            var status = Stat(file);
            if (status.IsDirectory) throw FileErrors.Fail("read", path, "it is a directory");
            if (!status.IsRegular) throw FileErrors.Fail("read", path, "it is not a regular file");
            return new FileStream(file, FileAccess.Read, 1);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void WriteAtomic(string path, ReadOnlySpan<byte> bytes)
    {
        var (mount, rel) = Resolve("write", path);
        using var parent = OpenParent("write", path, mount, rel, out string name);
        UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        long replaced = 0;
        bool made = true; // a new file, which costs FileCost beyond its bytes
        try
        {
            using var existing = LinuxFiles.Open(parent, name, O_PATH | O_NOFOLLOW);
            var status = Stat(existing);
            if (status.IsDirectory) throw FileErrors.Fail("write", path, "it is a directory");
            if (status.IsRegular) (replaced, made) = (status.Size, false);
            // The replaced file's mode, but never set-user-ID or set-group-ID: the new content is the app's.
            if (status.IsRegular) mode = status.Permissions & ~(UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit);
        }
        catch (Errno e) when (e.Code == ENOENT) { /* a new file */ }
        catch (Errno e)
        {
            throw Map(e, "write", path, mount);
        }
        long delta = bytes.Length - replaced + (made ? FileCost : 0);
        CheckDisk(mount, delta, "write", path);
        var data = bytes.ToArray();
        ReplaceIn(parent, name, stream => stream.Write(data), mode, "write", path, mount);
        SpendDisk(mount, delta);
        if (mount.Kind == Kind.App && _appFiles is null) CopyOrigins.RecordIfNew(_storage.Value, mount.HostPath, rel);
    }

    public void Append(string path, ReadOnlySpan<byte> bytes)
    {
        var (mount, rel) = Resolve("write", path);
        if (mount.Kind == Kind.App) CopyOnWrite(path, mount, rel);
        using var file = OpenToAppend(path, mount, rel, bytes.Length);
        var status = Stat(file);
        if (!status.IsRegular) throw FileErrors.Fail("append to", path, status.IsDirectory ? "it is a directory" : "it is not a regular file");
        // A hard link is a second name for a file that may live anywhere; appending through it would change that file.
        if (status.Links > 1) throw HostAccess.Denied("write", path, "the file has other hard links, which may lead outside");
        CheckDisk(mount, bytes.Length, "append to", path);
        using var stream = new FileStream(file, FileAccess.Write, 1);
        var data = bytes.ToArray();
        FileErrors.Guard("append to", path, () => { stream.Write(data); return 0; });
        SpendDisk(mount, data.Length);
    }

    public bool Exists(string path)
    {
        // No file is named by an empty path: false, as documented, not the error of an open. (A path with a NUL
        // does not get here: the sandbox refuses it for every native of std.fs.)
        if (path.Length == 0) return false;
        var (mount, rel) = Resolve("read", path);
        if (mount.Kind == Kind.App && TryOpenCopy("read", path, rel, O_PATH) is { } copy)
        {
            copy.Dispose();
            return true;
        }
        if (mount.Kind == Kind.App && _appFiles is not null) return _appFiles.Exists(rel);
        try
        {
            OpenIn("read", path, mount, rel, O_PATH).Dispose();
            return true;
        }
        catch (VmError e) when (e.ErrorClass == ErrorClasses.IO)
        {
            return false;
        }
    }

    public string[] List(string path)
    {
        var (mount, rel) = Resolve("read", path);
        var names = new HashSet<string>(StringComparer.Ordinal);
        VmError? missing = null;
        try
        {
            if (mount.Kind == Kind.App && _appFiles is not null)
                names.UnionWith(_appFiles.List(rel) ?? throw FileErrors.Fail("list", path, _appFiles.Exists(rel) ? "it is not a directory" : "no such file or directory"));
            else
            {
                using var dir = OpenIn("list", path, mount, rel, O_RDONLY | O_DIRECTORY);
                names.UnionWith(LinuxFiles.List(dir));
            }
        }
        catch (VmError e) when (mount.Kind == Kind.App && e.ErrorClass == ErrorClasses.IO)
        {
            missing = e;
        }
        if (mount.Kind == Kind.App && TryOpenCopy("list", path, rel, O_RDONLY | O_DIRECTORY) is { } copies)
        {
            using (copies) names.UnionWith(LinuxFiles.List(copies).Where(n => !n.EndsWith(".tmp", StringComparison.Ordinal) || !n.StartsWith('.')));
            missing = null;
        }
        if (missing is not null) throw missing;
        return [.. names];
    }

    public void Remove(string path)
    {
        var (mount, rel) = Resolve("write", path);
        if (mount.Kind == Kind.App) throw FileErrors.Fail("remove", path, "/app is read-only (the app's own files); its private files are in /data");
        // The root of what a path names (/data, a granted directory) has no parent the program may change: said so,
        // where "it is a directory" sent a program removing an empty granted directory looking for files.
        if (rel.Length == 0)
            throw FileErrors.Fail("remove", path, mount.Kind == Kind.Data
                ? "/data itself stays: remove what is in it"
                : "it is the directory granted, which stays: grant the directory above it to remove it");
        using var parent = OpenParent("remove", path, mount, rel, out string name);
        try
        {
            using var target = LinuxFiles.Open(parent, name, O_PATH | O_NOFOLLOW);
            var status = Stat(target);
            LinuxFiles.Unlink(parent, name, directory: status.IsDirectory);
            if (status.IsRegular && status.Links == 1) SpendDisk(mount, -(status.Size + FileCost));
        }
        catch (Errno e)
        {
            throw Map(e, "remove", path, mount);
        }
    }

    // -------------------------------------------------------------------------------------------- resolution

    /// <summary>
    /// The tree a path names and the path's components inside it (<c>..</c> kept: the kernel resolves them,
    /// beneath the tree's root). The tree is the deepest whose name the path starts with, before any <c>..</c>.
    /// </summary>
    private (Mount, string[]) Resolve(string what, string path)
    {
        if (path.Length == 0) throw FileErrors.Fail(what, path, "not a valid path");
        if (path.Contains('\0')) throw FileErrors.Fail(what, path.Replace("\0", "\\0"), "not a valid path");
        if (Escape(path) is { } escape) throw Denied(what, path, escape);
        string[] parts = Components(path);
        if (TreeOf(parts) is { } mount)
        {
            string[] rel = parts[mount.Parts.Length..];
            if (mount.File is not null)
            {
                if (rel.Length > 0) throw FileErrors.Fail(what, path, "a component of the path is not a directory");
                rel = [mount.File];
            }
            if (mount.Kind == Kind.App)
            {
                // Inside /app the copies and the originals must name the same file: resolve .. as text (never above
                // /app: Escape refused that above).
                var inside = new List<string>();
                foreach (var part in rel)
                {
                    if (part != "..") inside.Add(part);
                    else inside.RemoveAt(inside.Count - 1);
                }
                rel = [.. inside];
            }
            if (mount.Virtual == "/" && VirtualPath.IsHidden("/" + string.Join('/', parts)))
                throw Denied(what, path, "/proc, /dev and /sys are not visible to a program");
            if (mount.Kind == Kind.Host && IsHlvmOwn(VirtualPath.Normalize("/" + string.Join('/', parts), "/")))
                throw Denied(what, path, OwnWhy);
            return (mount, rel);
        }
        throw Denied(what, path, OutsideWhy);
    }

    private const string OutsideWhy = "it is outside what the program may see";

    /// <summary>A path's components, made absolute against the working directory, <c>..</c> kept.</summary>
    private string[] Components(string path) => VirtualPath.Components(path.StartsWith('/') ? path : _cwd + "/" + path);

    /// <summary>The tree a path's components name: the deepest whose name they start with before any <c>..</c>.</summary>
    private Mount? TreeOf(string[] parts)
    {
        int head = Array.IndexOf(parts, "..");
        if (head < 0) head = parts.Length;
        foreach (var mount in _mounts)
            if (mount.Parts.Length <= head && mount.Parts.AsSpan().SequenceEqual(parts.AsSpan(0, mount.Parts.Length))) return mount;
        return null;
    }

    /// <summary>
    /// Why a path whose <c>..</c> climbs out of the tree it starts in is denied, or null when it does not: the
    /// tree is taken before any <c>..</c>, and a <c>..</c> never leaves it (<see cref="Resolve"/> asks this first).
    /// The sandbox's decision asks this first too, so that such a path is denied as itself: judged by the path it spells
    /// (<c>/app/../../etc/hostname</c> as <c>/etc/hostname</c>), it was said not to be granted, with the flag that
    /// would grant that path, which then did not let it through. Counted in the text; the kernel's resolution,
    /// beneath the tree's root, still decides where a link inside the tree leads.
    /// </summary>
    internal string? Escape(string path)
    {
        if (!path.Contains("..", StringComparison.Ordinal)) return null;
        string[] parts = Components(path);
        if (Array.IndexOf(parts, "..") < 0) return null;
        if (TreeOf(parts) is not { } mount) return OutsideWhy;
        int depth = 0;
        foreach (var part in parts.AsSpan(mount.Parts.Length))
            if ((depth += part == ".." ? -1 : 1) < 0) return LeadsOutside(mount, path);
        return null;
    }

    /// <summary>
    /// Why a path is denied that leads outside its tree: the tree named, unless it is a granted host directory or file
    /// reached by a relative path. Then its name is the working directory's (a grant of '.' is a grant of that), which
    /// no message may tell the program; an absolute path names the tree itself.
    /// </summary>
    private static string LeadsOutside(Mount mount, string path) =>
        mount.Kind == Kind.Host && !path.StartsWith('/')
            ? $"it leads outside the granted {(mount.File is null ? "directory" : "file")} it starts in"
            : $"it leads outside {mount.Virtual}";

    /// <summary>The tree that holds the private copies of written <c>/app</c> files.</summary>
    private Mount CopyMount => new(VirtualPath.App, Overlay, Kind.Data);

    /// <summary>The host directory a tree is in (for /data, found on first use).</summary>
    private string HostRoot(Mount mount) => mount.Kind == Kind.Data && mount.HostPath.Length == 0 ? Path.Combine(_storage.Value, "data") : mount.HostPath;

    /// <summary>
    /// The file an append writes to: the one there, opened without creating it and checked where it really is; or,
    /// when there is none, a new one made in its directory once the directory and the new file's name are checked
    /// (<see cref="OpenParent"/>), never through a link. The open that created it (<c>O_CREAT</c>) came before the
    /// check, so an append that was then denied left an empty file in a denied directory, or in hlvm's own.
    /// </summary>
    private SafeFileHandle OpenToAppend(string path, Mount mount, string[] rel, long length)
    {
        const string What = "append to";
        int flags = O_WRONLY | O_APPEND | O_NONBLOCK | O_NOCTTY;
        for (int attempt = 0; ; attempt++)
        {
            if (OpenIn(What, path, mount.Kind == Kind.App ? CopyMount : mount, rel, flags, 0, missing: true) is { } existing) return existing;
            using var parent = OpenParent(What, path, mount, rel, out string name);
            CheckDisk(mount, FileCost + length, What, path);
            try
            {
                var made = LinuxFiles.Open(parent, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW, 0b110_100_100);
                SpendDisk(mount, FileCost);
                return made;
            }
            catch (Errno e) when (e.Code == EEXIST && attempt == 0) { /* made meanwhile: open it as one that is there */ }
            catch (Errno e)
            {
                throw Map(e, What, path, mount);
            }
        }
    }

    /// <summary>Opens a path inside a tree and checks where it really is.</summary>
    private SafeFileHandle OpenIn(string what, string path, Mount mount, string[] rel, int flags, int mode = 0) =>
        OpenIn(what, path, mount, rel, flags, mode, missing: false)!;

    /// <summary>As <see cref="OpenIn(string, string, Mount, string[], int, int)"/>; with <paramref name="missing"/>,
    /// null where nothing is at the path, rather than the error.</summary>
    private SafeFileHandle? OpenIn(string what, string path, Mount mount, string[] rel, int flags, int mode, bool missing)
    {
        try
        {
            string host = HostRoot(mount);
            if (mount.Kind == Kind.Data) MakeStorage(what, path, host);
            using var root = LinuxFiles.Open(null, host, O_PATH | O_DIRECTORY);
            var file = LinuxFiles.Open(root, string.Join('/', rel), flags, mode);
            try
            {
                CheckReal(what, path, mount, root, file);
                return file;
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        catch (Errno e) when (missing && e.Code == ENOENT)
        {
            return null;
        }
        catch (Errno e)
        {
            throw Map(e, what, path, mount);
        }
    }

    /// <summary>
    /// Makes a directory of the app's storage (its /data, its copies' tree) if it is not there. The host may not
    /// let it be made (a file where a directory of the storage's path should be, a read-only or full disk): an
    /// IOError of the operation that needed it, which the program may catch. It escaped as an internal error of
    /// the host, ending the run. The storage's host path is not said: it is the host's, not the program's.
    /// </summary>
    private static void MakeStorage(string what, string path, string directory)
    {
        try
        {
            UserFiles.CreatePrivateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = e switch
            {
                DirectoryNotFoundException => "a directory on its path is missing, or is a file",
                UnauthorizedAccessException => "permission denied",
                _ => FileErrors.WithoutPath(e.Message),
            };
            throw FileErrors.Fail(what, path, $"the app's storage can't be made on this machine ({why})");
        }
    }

    /// <summary>The directory that holds the path's last component, opened inside its tree, and that component.</summary>
    private SafeFileHandle OpenParent(string what, string path, Mount mount, string[] rel, out string name)
    {
        if (rel.Length == 0 || rel[^1] == "..") throw FileErrors.Fail(what, path, "it is a directory");
        name = rel[^1];
        if (mount.Kind == Kind.App)
        {
            // The copy's directory: the app must have the directory (or an earlier write made it).
            var dirs = rel[..^1];
            if (TryOpenCopy(what, path, dirs, O_PATH | O_DIRECTORY) is { } made) made.Dispose();
            else if (_appFiles is not null)
            {
                if (!_appFiles.IsDirectory(dirs)) throw FileErrors.Fail(what, path, "no such file or directory");
            }
            else OpenIn(what, path, mount, dirs, O_PATH | O_DIRECTORY).Dispose();
            MakeCopyDirectories(what, path, dirs);
            mount = CopyMount;
        }
        var parent = OpenIn(what, path, mount, rel[..^1], O_PATH | O_DIRECTORY);
        string target = RealPath(parent).TrimEnd('/') + "/" + name;
        if (_permissions.IsDenied("write", target))
        {
            parent.Dispose();
            throw Denied(what, path, mount.Kind == Kind.Host && Shown(mount, target) is { } shown ? $"{shown} is denied" : "it leads to a file that is denied");
        }
        return parent;
    }

    /// <summary>
    /// After an open: the file must be beneath its tree's root (the kernel promised it), outside the hidden
    /// directories, and not denied under its real name or under the name it has in the program's view.
    /// </summary>
    private void CheckReal(string what, string path, Mount mount, SafeFileHandle root, SafeFileHandle file)
    {
        string real = RealPath(file), rootReal = RealPath(root);
        if (!VirtualPath.IsUnder(real, rootReal)) throw Denied(what, path, LeadsOutside(mount, path));
        if (VirtualPath.IsHidden(real)) throw Denied(what, path, "/proc, /dev and /sys are not visible to a program");
        // The app's storage is in hlvm's own directories; the files of /app and of granted trees never are.
        if (mount.Kind != Kind.Data && IsHlvmOwn(real)) throw Denied(what, path, OwnWhy);
        string permission = PermissionOf(what);
        string seen = mount.Kind == Kind.Host ? real : (mount.Virtual + real[rootReal.Length..]).TrimEnd('/');
        // The real name of a granted file may be a host path the program was never told of: don't name it.
        if (_permissions.IsDenied(permission, real) || _permissions.IsDenied(permission, seen))
            throw Denied(what, path, Shown(mount, seen) is { } shown ? $"{shown} is denied" : "it leads to a file that is denied");
    }

    // -------------------------------------------------------------------------------------------- copy-on-write

    /// <summary>The private copy of an <c>/app</c> path, when a write made one; null when there is none.</summary>
    private SafeFileHandle? TryOpenCopy(string what, string path, string[] rel, int flags)
    {
        if (!Directory.Exists(Overlay)) return null;
        try
        {
            return OpenIn(what, path, CopyMount, rel, flags);
        }
        catch (VmError e) when (e.ErrorClass == ErrorClasses.IO)
        {
            return null;
        }
    }

    /// <summary>Makes the directories of a copy's path inside the copies' tree, one component at a time.</summary>
    private void MakeCopyDirectories(string what, string path, string[] dirs)
    {
        MakeStorage(what, path, Overlay);
        for (int i = 0; i < dirs.Length; i++)
        {
            using var parent = OpenIn(what, path, CopyMount, dirs[..i], O_PATH | O_DIRECTORY);
            try
            {
                LinuxFiles.MakeDirectory(parent, dirs[i], 0b111_000_000);
            }
            catch (Errno e) when (e.Code == EEXIST) { }
            catch (Errno e)
            {
                throw Map(e, what, path, CopyMount);
            }
        }
    }

    /// <summary>Before an append to an <c>/app</c> file: copy the original into the copies' tree, once, in
    /// chunks of <see cref="CopyChunk"/> bytes (a run of zeros is left a hole, as it was in a sparse original).</summary>
    private void CopyOnWrite(string path, Mount mount, string[] rel)
    {
        if (TryOpenCopy("append to", path, rel, O_PATH) is { } copy)
        {
            copy.Dispose();
            return;
        }
        Stream original;
        try
        {
            original = OpenRead(path);
        }
        catch (VmError e) when (e.ErrorClass == ErrorClasses.IO)
        {
            WriteAtomic(path, []); // a new file
            return;
        }
        using (original)
        {
            long length = original.Length;
            if (length > MaxCopyBytes)
                throw FileErrors.Fail("append to", path, $"the file's {length} bytes are more than the app may copy (its heap limit, {MaxCopyBytes})");
            CheckDisk(mount, length + FileCost, "append to", path);
            using var parent = OpenParent("append to", path, mount, rel, out string name);
            UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            ReplaceIn(parent, name, to => CopySparse(original, to, length), mode, "append to", path, CopyMount);
            SpendDisk(mount, length + FileCost);
            if (_appFiles is null) CopyOrigins.RecordIfNew(_storage.Value, mount.HostPath, rel);
        }
    }

    /// <summary>The most bytes a copy holds in memory at once.</summary>
    internal const int CopyChunk = 1 << 20;

    private static void CopySparse(Stream from, FileStream to, long length)
    {
        var buffer = new byte[CopyChunk];
        for (long done = 0; done < length;)
        {
            int n = from.Read(buffer, 0, (int)Math.Min(buffer.Length, length - done));
            if (n == 0) break; // the original shrank meanwhile: copy what there is
            var chunk = buffer.AsSpan(0, n);
            if (chunk.ContainsAnyExcept((byte)0)) to.Write(chunk);
            else to.Seek(n, SeekOrigin.Current);
            done += n;
        }
        to.SetLength(to.Position);
    }

    // -------------------------------------------------------------------------------------------- disk use

    /// <summary>The most bytes the app's storage (its <c>/data</c> and its copies of <c>/app</c> files, as the
    /// lengths of their files) may hold: <see cref="DiskLimit"/>.</summary>
    public long MaxDiskBytes { get; init; } = DiskLimit.Default;

    /// <summary>The bytes the app's storage holds, measured when first needed and kept up to date by each write.</summary>
    private long? _diskUsed;

    private long DiskUsed => _diskUsed ??= MeasureStorage();

    /// <summary>The lengths of the files in <c>/data</c> and the copies of <c>/app</c> files, and <see cref="FileCost"/>
    /// for each: the app's own, not hlvm's records beside them (whose app it is, where its copies came from).</summary>
    private long MeasureStorage()
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
        return new[] { Path.Combine(_storage.Value, "data"), Overlay }.Where(Directory.Exists)
            .Sum(d => new DirectoryInfo(d).EnumerateFiles("*", options).Sum(f => f.Length + FileCost));
    }

    /// <summary>
    /// What each file of the storage counts for beyond its bytes: a block, the least a file takes on disk. Counted by
    /// their lengths alone, files of no length cost nothing, and a program under <c>--max-disk 100k</c> made 20,000
    /// one-byte files that took 85 MB of disk (a block and an inode each) and could have made files until the file
    /// system had no inodes left.
    /// </summary>
    internal const long FileCost = 4096;

    /// <summary>Whether a tree is in the app's storage, whose size <see cref="MaxDiskBytes"/> bounds (a write to
    /// <c>/app</c> goes to a copy there).</summary>
    private static bool IsStorage(Mount mount) => mount.Kind is Kind.Data or Kind.App;

    /// <summary>Ends the app (a breach of <c>--max-disk</c>) when growing its storage by <paramref name="delta"/>
    /// bytes would take it past the limit; before anything is written.</summary>
    private void CheckDisk(Mount mount, long delta, string what, string path)
    {
        if (!IsStorage(mount) || delta <= 0) return;
        long used = DiskUsed;
        if (used + delta > MaxDiskBytes)
            throw new LimitExceededError(DiskLimit.FlagName, $"cannot {what} \"{FileErrors.Shorten(path)}\": the app's files in /data and its copies of /app files "
                + $"would take {used + delta} bytes, more than {MaxDiskBytes} (--max-disk {MaxDiskBytes})");
    }

    private void SpendDisk(Mount mount, long delta)
    {
        if (IsStorage(mount)) _diskUsed = Math.Max(0, DiskUsed + delta);
    }

    // -------------------------------------------------------------------------------------------- helpers

    /// <summary>Writes a new file beside the target and renames it over the target, both inside one open directory.</summary>
    private static void ReplaceIn(SafeFileHandle parent, string name, Action<FileStream> write, UnixFileMode mode, string what, string path, Mount mount)
    {
        string temp = $".{name}.{Guid.NewGuid():N}.tmp";
        bool renamed = false;
        try
        {
            using (var file = LinuxFiles.Open(parent, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, (int)mode))
            using (var stream = new FileStream(file, FileAccess.Write, 1))
            {
                FileErrors.Guard(what, path, () => { write(stream); stream.Flush(flushToDisk: true); return 0; });
            }
            LinuxFiles.Rename(parent, temp, name);
            renamed = true;
        }
        catch (Errno e)
        {
            throw Map(e, what, path, mount);
        }
        finally
        {
            if (!renamed)
            {
                try { LinuxFiles.Unlink(parent, temp, directory: false); }
                catch (Errno) { /* the write failed already; report that */ }
            }
        }
    }

    /// <summary>A host path as a message may name it: only inside the granted tree's own name, which the program
    /// knows already (the real path of a granted tree reached through a link is not the program's to learn).</summary>
    private static string? Shown(Mount mount, string path) =>
        mount.Kind != Kind.Host || VirtualPath.IsUnder(path, mount.Virtual) ? path : null;

    /// <summary>The permission an operation needs: reading and listing read, everything else writes.</summary>
    private static string PermissionOf(string what) => what is "read" or "list" ? "read" : "write";

    private VmError Denied(string what, string path, string why)
    {
        string permission = PermissionOf(what);
        OnDenied?.Invoke(permission, path, why);
        return HostAccess.Denied(permission, path, why);
    }

    private static VmError Map(Errno e, string what, string path, Mount mount) => e.Code switch
    {
        EXDEV => HostAccess.Denied(PermissionOf(what), path, LeadsOutside(mount, path)),
        ENOENT => FileErrors.Fail(what, path, "no such file or directory"),
        ENOTDIR => FileErrors.Fail(what, path, "a component of the path is not a directory"),
        EACCES or EPERM => FileErrors.Fail(what, path, "permission denied"),
        EISDIR => FileErrors.Fail(what, path, "it is a directory"),
        ENOTEMPTY => FileErrors.Fail(what, path, "the directory is not empty"),
        ENAMETOOLONG => FileErrors.Fail(what, path, "the path is too long"),
        ELOOP => FileErrors.Fail(what, path, "too many levels of symbolic links"),
        ENOSPC or EDQUOT => FileErrors.Fail(what, path, "no space left"),
        EROFS => FileErrors.Fail(what, path, "read-only file system"),
        EEXIST => FileErrors.Fail(what, path, "it exists already"),
        EMFILE => FileErrors.Fail(what, path, "too many open files"),
        ENOSYS => FileErrors.Fail(what, path, "the kernel has no openat2 (Linux 5.6 or later is needed)"),
        _ => FileErrors.Fail(what, path, $"error {e.Code}"),
    };
}
