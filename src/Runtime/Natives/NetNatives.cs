using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Host;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// The natives of <c>std.net</c>: TCP connections and listeners, by handle. Connecting and listening need the
/// <c>net</c> permission for the host and port; a handle, once granted, needs nothing more. Text crosses the wire
/// as UTF-8. What the network refuses is an <c>IOError</c>.
/// </summary>
internal static class NetNatives
{
    private static readonly VmType S = VmType.String, I = VmType.Int, V = VmType.Void;

    /// <summary><c>host:port</c>, with an IPv6 address in brackets (<c>[::1]:80</c>).</summary>
    /// <remarks>A port no address has is a ValueError here, before the permission is checked: checked after, it was a
    /// PermissionError whose advice (<c>--allow-net=HOST:70000</c>) the command line refuses.</remarks>
    private static string HostPort(Interpreter vm, ReadOnlySpan<long> a)
    {
        string host = StringNatives.Str(vm, a[0]);
        int port = Port(a[1]);
        return host.Contains(':') && !host.StartsWith('[') ? $"[{host}]:{port}" : $"{host}:{port}";
    }

    /// <summary>How many bytes a read asks for: n, up to <see cref="SocketTable.MaxRead"/>; fewer than 1 is a ValueError (0
    /// and -1 were taken as 1).</summary>
    private static int ReadCount(long n) =>
        n >= 1 ? (int)Math.Min(n, SocketTable.MaxRead) : throw new VmError(ErrorClasses.Value, $"cannot read {n} bytes: a read asks for at least 1");

    private static int Port(long port) =>
        port is >= 0 and <= 65535 ? (int)port : throw new VmError(ErrorClasses.Value, $"{port} is not a port: a port is 0 to 65535");

    public static readonly NativeDef[] All =
    [
        new("net.connect", [S, I], I, "net", "opens a TCP connection to host:port and returns its handle; IOError if it can't",
            (vm, a) => vm.Host.Sockets.Connect(StringNatives.Str(vm, a[0]), Port(a[1]), vm.Cancellation)) { Target = HostPort },
        new("net.listen", [S, I], I, "net", "listens for TCP connections on host:port (port 0: any free port) and returns the listener's handle",
            (vm, a) => vm.Host.Sockets.Listen(StringNatives.Str(vm, a[0]), Port(a[1]), vm.Cancellation)) { Target = HostPort },
        new("net.port", [I], I, null, "the local port of a connection or listener",
            (vm, a) => vm.Host.Sockets.LocalPort(a[0])),
        new("net.accept", [I], I, null, "waits for the next connection to a listener and returns its handle",
            (vm, a) => vm.Host.Sockets.Accept(a[0], vm.Cancellation)),
        new("net.read", [I, I], S.AsNullable(), null, $"waits for text from a connection and returns up to n bytes of it (at most {SocketTable.MaxRead}; n at least 1), or null when the peer has closed it",
            (vm, a) => vm.Host.Sockets.Read(a[0], ReadCount(a[1]), vm.Cancellation) is { } text ? StringNatives.NewString(vm, text) : 0),
        new("net.write", [I, S], V, null, "sends text on a connection (UTF-8), all of it",
            (vm, a) => { vm.Host.Sockets.Write(a[0], StringNatives.Str(vm, a[1]), vm.Cancellation); return 0; }),
        new("net.close", [I], V, null, "closes a connection or listener",
            (vm, a) => { vm.Host.Sockets.Close(a[0]); return 0; }),
    ];
}
