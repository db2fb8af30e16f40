using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Natives;

namespace Hlvm.Runtime.Host;

/// <summary>
/// Everything a program reaches outside the VM. Every native that declares a permission is authorized here
/// before it runs, in the interpreter's <c>callnative</c>, the one place every call from a program to the host
/// passes through; the natives then reach files, the environment and the network only through this object.
/// The sandbox (<c>Hlvm.Sandbox</c>) is the host a stranger's program gets; <see cref="HostAccess"/> holds the
/// two fixed ones.
/// </summary>
public interface IHost
{
    /// <summary>
    /// Decides one call: returns when it may go ahead, throws a <see cref="VmError"/> of class
    /// <c>PermissionError</c> (<see cref="HostAccess.Denied"/>) when not.
    /// </summary>
    /// <param name="native">the native about to run</param>
    /// <param name="target">what it acts on: a path as the program wrote it, a variable's name, <c>host:port</c></param>
    void Authorize(NativeDef native, string target);

    /// <summary>The files the program sees (after <see cref="Authorize"/> let the call through).</summary>
    IFileSystem Files { get; }

    /// <summary>An environment variable's value, or null when it is not set.</summary>
    string? GetEnvironmentVariable(string name);

    /// <summary>The program's network connections and listeners.</summary>
    SocketTable Sockets { get; }
}

/// <summary>The two hosts that need no configuration.</summary>
public static class HostAccess
{
    /// <summary>Denies every call that needs a permission: the default of <see cref="VmOptions"/>.</summary>
    public static IHost None => new DenyAll();

    /// <summary>
    /// Grants everything, with the host process's own rights: for a host that runs its own, trusted code (tools,
    /// tests of the natives). Never for a program from elsewhere.
    /// </summary>
    public static IHost FullTrust() => new Unrestricted();

    /// <summary>The error of a denied call, naming the permission, the target and the flag that grants it.</summary>
    /// <param name="grantable">the target as the flag would name it (an absolute path), when it differs</param>
    public static VmError Denied(string permission, string target, string? why = null, string? grantable = null)
    {
        target = FileErrors.Shorten(target);
        grantable = grantable is null ? null : FileErrors.Shorten(grantable);
        if (why is not null) return new VmError(ErrorClasses.Permission, $"{permission} access to \"{target}\" is denied: {why}");
        // The flag as a shell takes it: the program chose the target, and a person may paste the flag. '*' alone
        // is every target of the kind, so a file named '*' is granted as './*', and a variable named '*' by no flag.
        string value = grantable ?? target;
        if (value == "*" && permission is "read" or "write") value = "./*";
        return new VmError(ErrorClasses.Permission, value == "*"
            ? $"{permission} access to \"{target}\" is not granted (no flag grants it alone: --allow-{permission}=* grants every one)"
            : $"{permission} access to \"{target}\" is not granted (run with --allow-{permission}={ShellWord(value)} to allow it)");
    }

    /// <summary>A value as a POSIX shell reads it back unchanged: as it is when it holds only characters no shell
    /// treats specially, else in single quotes (a quote in it written '\'').</summary>
    public static string ShellWord(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "/._-:+,@%=".Contains(c)) ? value : "'" + value.Replace("'", "'\\''") + "'";

    private sealed class DenyAll : IHost
    {
        public void Authorize(NativeDef native, string target) => throw Denied(native.Permission!, target);
        public IFileSystem Files => throw new InvalidOperationException("no file access was authorized");
        public string? GetEnvironmentVariable(string name) => throw new InvalidOperationException("no environment access was authorized");
        public SocketTable Sockets { get; } = new(0);
    }

    private sealed class Unrestricted : IHost
    {
        public void Authorize(NativeDef native, string target) { }
        public IFileSystem Files { get; } = new HostFileSystem();
        public string? GetEnvironmentVariable(string name) => Environment.GetEnvironmentVariable(name);
        public SocketTable Sockets { get; } = new(int.MaxValue);
    }
}
