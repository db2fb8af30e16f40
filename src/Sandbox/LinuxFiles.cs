using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Hlvm.Sandbox;

/// <summary>
/// The Linux system calls the virtual file system is built on. <c>openat2</c> with <c>RESOLVE_BENEATH</c> resolves
/// a path inside a directory the way WASI prescribes: the kernel walks it component by component, and a <c>..</c>,
/// an absolute path or a symbolic link that would leave the directory, even for a moment, fails with
/// <c>EXDEV</c>; <c>RESOLVE_NO_MAGICLINKS</c> refuses <c>/proc</c>'s links to open files. Resolution and use are
/// one call, so nothing can swap a component between a check and the open. Every other operation
/// (<c>renameat</c>, <c>unlinkat</c>, <c>mkdirat</c>) names a single component inside a directory opened that way.
/// </summary>
internal static partial class LinuxFiles
{
    public const int ENOENT = 2, EBADF = 9, EACCES = 13, EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
        ENOSPC = 28, EROFS = 30, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, EPERM = 1, EDQUOT = 122, EMFILE = 24;

    private const int AT_FDCWD = -100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    private const long SYS_openat2 = 437; // the same number on every architecture
    private const ulong RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_BENEATH = 0x08;

    public const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100, O_APPEND = 0x400,
        O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000, O_PATH = 0x200000;

    /// <summary>
    /// "libc" is glibc's <c>libc.so.6</c>, which the process has loaded already: the runtime's own search for a
    /// library named "libc" tries a dozen file names first (<c>libc.so</c> is a linker script on a system with C
    /// headers installed), a few milliseconds of every start. Another C library (musl's) still goes through
    /// that search.
    /// </summary>
    static LinuxFiles() => NativeLibrary.SetDllImportResolver(typeof(LinuxFiles).Assembly,
        (name, _, _) => name == "libc" && NativeLibrary.TryLoad("libc.so.6", out nint glibc) ? glibc : 0);

    // The two flags whose values differ between x86-64 and arm64.
    public static readonly int O_DIRECTORY = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;
    public static readonly int O_NOFOLLOW = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags, Mode, Resolve;
    }

    /// <summary>The size of <see cref="OpenHow"/> as the kernel checks it (a constant, where Marshal.SizeOf is a
    /// generic method compiled at run time).</summary>
    private static readonly unsafe nuint OpenHowSize = (nuint)sizeof(OpenHow);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long SysOpenat2(long number, int dirfd, string path, ref OpenHow how, nuint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int renameat(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int unlinkat(int dirfd, string path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkdirat(int dirfd, string path, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint readlink(string path, byte* buffer, nint size);

    /// <summary>An errno, with the call that returned it.</summary>
    public sealed class Errno(int code, string call) : Exception($"{call}: errno {code}")
    {
        public int Code { get; } = code;
    }

    private static Errno LastError(string call) => new(Marshal.GetLastPInvokeError(), call);

    /// <summary>
    /// Opens <paramref name="path"/> inside the directory <paramref name="dir"/> (never outside it), or, with no
    /// directory, a path of the host's as it is (only for the roots the user named).
    /// </summary>
    public static SafeFileHandle Open(SafeFileHandle? dir, string path, int flags, int mode = 0)
    {
        var how = new OpenHow
        {
            Flags = (ulong)(flags | O_CLOEXEC),
            Mode = (ulong)((flags & O_CREAT) != 0 ? mode : 0),
            Resolve = dir is null ? 0 : RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        long fd = At(dir, d => SysOpenat2(SYS_openat2, d, path.Length == 0 ? "." : path, ref how, OpenHowSize), "openat2");
        return new SafeFileHandle((nint)fd, ownsHandle: true);
    }

    public static void Rename(SafeFileHandle dir, string from, string to) => At(dir, fd => renameat(fd, from, fd, to), "renameat");

    public static void Unlink(SafeFileHandle dir, string name, bool directory) => At(dir, fd => unlinkat(fd, name, directory ? AT_REMOVEDIR : 0), "unlinkat");

    public static void MakeDirectory(SafeFileHandle dir, string name, uint mode) => At(dir, fd => mkdirat(fd, name, mode), "mkdirat");

    private delegate long FdCall(int fd);

    /// <summary>
    /// Makes a system call on an open file or directory (<c>AT_FDCWD</c> for none), holding the handle so that no
    /// other thread closes its descriptor meanwhile; a negative result is the call's errno.
    /// </summary>
    private static long At(SafeFileHandle? handle, FdCall call, string name)
    {
        bool added = false;
        try
        {
            handle?.DangerousAddRef(ref added);
            long result = call(handle is null ? AT_FDCWD : (int)handle.DangerousGetHandle());
            return result < 0 ? throw LastError(name) : result;
        }
        finally
        {
            if (added) handle!.DangerousRelease();
        }
    }

    /// <summary>What <c>statx</c> tells of an open file: its type, how many names (hard links) it has, its length.</summary>
    public readonly record struct Status(UnixFileMode Permissions, bool IsRegular, bool IsDirectory, uint Links, long Size);

    public static unsafe Status Stat(SafeFileHandle file)
    {
        const uint STATX_TYPE = 0x1, STATX_MODE = 0x2, STATX_NLINK = 0x4, STATX_SIZE = 0x200;
        byte* buffer = stackalloc byte[256];
        At(file, fd => statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_SIZE, buffer), "statx");
        uint links = *(uint*)(buffer + 16);
        ushort mode = *(ushort*)(buffer + 28);
        long size = *(long*)(buffer + 40);
        int type = mode & 0xF000;
        return new Status((UnixFileMode)(mode & 0xFFF), type == 0x8000, type == 0x4000, links, size);
    }

    /// <summary>The name of an open file in <c>/proc/self/fd</c>. (The descriptor as a long: interpolating the
    /// <c>nint</c> itself costs a run-time compile at start-up that ReadyToRun can't precompile.)</summary>
    private static string FdPath(SafeFileHandle file) => "/proc/self/fd/" + ((long)file.DangerousGetHandle()).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The host path an open file has now (what <c>/proc/self/fd</c> says of it).</summary>
    public static unsafe string RealPath(SafeFileHandle file)
    {
        byte* buffer = stackalloc byte[4096];
        nint n = readlink(FdPath(file), buffer, 4096);
        if (n < 0) throw LastError("readlink");
        return System.Text.Encoding.UTF8.GetString(buffer, (int)n);
    }

    /// <summary>
    /// A host path with every symbolic link in it resolved, as far as it exists (the rest appended as written),
    /// or null when not even its root can be opened.
    /// </summary>
    public static string? RealPathOf(string path)
    {
        string rest = "";
        for (string? at = path; at is not null; at = Path.GetDirectoryName(at))
        {
            try
            {
                using var file = Open(null, at, O_PATH);
                return Path.Join(RealPath(file), rest).TrimEnd('/') is { Length: > 0 } real ? real : "/";
            }
            catch (Errno)
            {
                rest = Path.Join(Path.GetFileName(at), rest);
            }
        }
        return null;
    }

    /// <summary>The directory's entries (not . or ..), read through the open directory itself.</summary>
    public static string[] List(SafeFileHandle dir) =>
        Directory.EnumerateFileSystemEntries(FdPath(dir)).Select(p => Path.GetFileName(p)).ToArray();
}
