using Hlvm.Runtime.Host;
using Hlvm.Runtime.Natives;

namespace Hlvm.Sandbox;

/// <summary>
/// The host a sandboxed program gets: it authorizes each call that needs a permission against the user's
/// grants and denials (and writes it to the audit log), and gives the program a virtual file system, the
/// environment variables it was granted, and sockets to the hosts it was granted.
/// </summary>
public sealed class SandboxHost : IHost, IDisposable
{
    private readonly Permissions _permissions;
    private readonly AuditLog? _audit;
    private readonly string _cwd;

    public SandboxHost(Permissions permissions, VirtualFileSystem files, int maxOpenFiles, AuditLog? audit = null, string? workingDirectory = null)
    {
        _permissions = permissions;
        _audit = audit;
        _cwd = VirtualPath.Normalize(workingDirectory ?? Environment.CurrentDirectory, "/");
        Files = files;
        _sockets = new Lazy<SocketTable>(() => new SocketTable(maxOpenFiles, permissions.PermitsAddress));
    }

    public IFileSystem Files { get; }

    /// <summary>Made when first used, so that a program without the network loads none of it.</summary>
    public SocketTable Sockets => _sockets.Value;

    private readonly Lazy<SocketTable> _sockets;

    public void Authorize(NativeDef native, string target)
    {
        string permission = native.Permission!;
        // A connect to the unspecified address reaches the loopback address: it is judged as one.
        string judged = native.Name == "net.connect" ? NetTarget.ForConnect(target) : target;
        string? why = Decide(permission, judged);
        if (why is { Length: > 0 } && judged != target) why = $"it leads to {judged}, and {why}";
        _audit?.Record(native.Name, permission, target, why is null, why);
        if (why is not null)
            throw why.Length > 0 ? HostAccess.Denied(permission, target, why)
                : HostAccess.Denied(permission, target, grantable: permission is "read" or "write" ? Grantable(target) : null);
    }

    /// <summary>Null when the call may go ahead; otherwise why not ("" for simply not granted).</summary>
    private string? Decide(string permission, string target)
    {
        if (permission is "read" or "write")
        {
            if (target.Contains('\0')) return "the path contains a NUL character";
            if (target.Length == 0) return null; // names nothing: the file system says so (an IOError)
            if (OperatingSystem.IsLinux() && Files is VirtualFileSystem { } files && files.Escape(target) is { } escape) return escape;
            string path = VirtualPath.Normalize(target, _cwd);
            if (VirtualPath.IsHidden(path)) return "/proc, /dev and /sys are not visible to a program";
            if (OperatingSystem.IsLinux() && !VirtualPath.IsVirtual(path) && Files is VirtualFileSystem vfs && vfs.IsHlvmOwn(path)) return VirtualFileSystem.OwnWhy;
            if (_permissions.IsDenied(permission, path)) return $"a --deny-{permission} rule covers {(target.StartsWith('/') ? path : "it")}";
            // The app's own files and its data are always its to read and write (a write to /app makes a copy).
            return VirtualPath.IsVirtual(path) || _permissions.IsGranted(permission, path) ? null : "";
        }
        // A name no variable can have names nothing (env.get gives null): no flag could grant it.
        if (permission == "env" && !Runtime.Natives.EnvNatives.IsVariableName(target)) return null;
        if (_permissions.IsDenied(permission, target)) return $"a --deny-{permission} rule covers it";
        return _permissions.IsGranted(permission, target) ? null : "";
    }

    /// <summary>
    /// A path as the flag that grants it would name it. A relative path stays relative: the command line makes it
    /// absolute against the same working directory, and the message must not tell the program where that is.
    /// </summary>
    private static string? Grantable(string target) => target.StartsWith('/') ? VirtualPath.Normalize(target, "/") : null;

    public string? GetEnvironmentVariable(string name) => Environment.GetEnvironmentVariable(name);

    public void Dispose()
    {
        if (_sockets.IsValueCreated) _sockets.Value.Dispose();
    }
}
