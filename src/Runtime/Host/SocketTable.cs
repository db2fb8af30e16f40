using System.Net;
using System.Net.Sockets;
using System.Text;
using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Host;

/// <summary>
/// A program's TCP connections and listeners, by handle (small positive ints, as file descriptors are). It holds
/// at most <c>maxOpen</c> at once (<c>--max-open-files</c>); every blocking operation honours the run's
/// cancellation, so an interrupted program never stays blocked on the network. Disposing it closes them all.
/// Which hosts may be reached is decided before, by <see cref="IHost.Authorize"/>, by the name the program gave;
/// <c>permits</c>, when given, then vets each address the name resolves to, and only those it permits are used
/// (so a name can't lead to an address that was denied, even if it resolves differently the second time).
/// </summary>
public sealed class SocketTable(int maxOpen, Func<IPAddress, int, bool>? permits = null) : IDisposable
{
    private readonly Dictionary<int, Entry> _open = [];
    private int _next = 1;

    private sealed class Entry(Socket socket)
    {
        public readonly Socket Socket = socket;
        public readonly Decoder Decoder = new UTF8Encoding(false, false).GetDecoder();
    }

    /// <summary>How many connections and listeners are open.</summary>
    public int Count { get { lock (_open) return _open.Count; } }

    /// <summary>The largest read: bigger requests return at most this many bytes.</summary>
    public const int MaxRead = 1 << 20;

    public int Connect(string host, int port, CancellationToken cancel)
    {
        Reserve($"connect to {host}:{port}");
        var addresses = Addresses(host, port, cancel, $"connect to {host}:{port}", connect: true);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        if (addresses.Any(a => a.AddressFamily == AddressFamily.InterNetworkV6)) socket.DualMode = true;
        Guard($"connect to {host}:{port}", () => { socket.ConnectAsync(addresses, port, cancel).AsTask().GetAwaiter().GetResult(); return 0; }, socket);
        return Add(socket);
    }

    public int Listen(string host, int port, CancellationToken cancel)
    {
        Reserve($"listen on {host}:{port}");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var address = Addresses(host, port, cancel, $"listen on {host}:{port}", connect: false)[0];
        Guard($"listen on {host}:{port}", () =>
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = true;
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(16);
            return 0;
        }, socket);
        return Add(socket);
    }

    /// <summary>The local port of a connection or listener (the one the system chose for a listener on port 0).</summary>
    public int LocalPort(long handle) => ((IPEndPoint)Get(handle, "find the port of").Socket.LocalEndPoint!).Port;

    public int Accept(long handle, CancellationToken cancel)
    {
        var listener = Get(handle, "accept on");
        Reserve("accept a connection");
        var socket = Guard("accept on a listener", () => listener.Socket.AcceptAsync(cancel).AsTask().GetAwaiter().GetResult(), null);
        return Add(socket);
    }

    /// <summary>Up to <paramref name="max"/> bytes as text (UTF-8, a character split between reads kept for the
    /// next), "" when they ended in the middle of a character, null when the peer closed the connection.</summary>
    public string? Read(long handle, int max, CancellationToken cancel)
    {
        var entry = Get(handle, "read from");
        var buffer = new byte[Math.Clamp(max, 1, MaxRead)];
        int n = Guard("read from a connection", () => entry.Socket.ReceiveAsync(buffer, SocketFlags.None, cancel).AsTask().GetAwaiter().GetResult(), null);
        if (n == 0) return null;
        var chars = new char[entry.Decoder.GetCharCount(buffer, 0, n)];
        entry.Decoder.GetChars(buffer, 0, n, chars, 0);
        return new string(chars);
    }

    public void Write(long handle, string text, CancellationToken cancel)
    {
        var entry = Get(handle, "write to");
        var bytes = Encoding.UTF8.GetBytes(text);
        Guard("write to a connection", () =>
        {
            for (int sent = 0; sent < bytes.Length;)
                sent += entry.Socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None, cancel).AsTask().GetAwaiter().GetResult();
            return 0;
        }, null);
    }

    public void Close(long handle)
    {
        Entry? entry;
        lock (_open)
            if (handle is <= 0 or > int.MaxValue || !_open.Remove((int)handle, out entry)) throw Unknown(handle, "close");
        entry.Socket.Dispose();
    }

    public void Dispose()
    {
        lock (_open)
        {
            foreach (var entry in _open.Values) entry.Socket.Dispose();
            _open.Clear();
        }
    }

    // ------------------------------------------------------------------------------------------------

    private void Reserve(string what)
    {
        lock (_open)
            if (_open.Count >= maxOpen)
                throw maxOpen == 0
                    ? new VmError(ErrorClasses.Permission, $"cannot {what}: the program may not use the network")
                    : new LimitExceededError("max-open-files", $"cannot {what}: {maxOpen} files and connections are open already (--max-open-files {maxOpen})");
    }

    /// <summary>The addresses a host name stands for that may be used (all of them without a vetting function).
    /// For a connect, the unspecified address is the loopback address it reaches on Linux, so that what is vetted
    /// is where the connection goes.</summary>
    private IPAddress[] Addresses(string host, int port, CancellationToken cancel, string what, bool connect)
    {
        var all = IPAddress.TryParse(host.Trim('[', ']'), out var ip) ? [ip]
            : Guard(what, () => Dns.GetHostAddressesAsync(host, cancel).GetAwaiter().GetResult(), null);
        if (all.Length == 0) throw new VmError(ErrorClasses.IO, $"cannot {what}: no such host");
        if (connect) all = [.. all.Select(ReachedByConnect)];
        var usable = permits is null ? all : all.Where(a => permits(a, port)).ToArray();
        return usable.Length > 0 ? usable
            : throw new VmError(ErrorClasses.Permission, $"net access to \"{host}:{port}\" is denied: it leads to {string.Join(", ", all.Select(a => a.ToString()))}, which a --deny-net rule covers");
    }

    private static IPAddress ReachedByConnect(IPAddress a)
    {
        var plain = a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
        return plain.Equals(IPAddress.Any) ? IPAddress.Loopback : plain.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : a;
    }

    private int Add(Socket socket)
    {
        lock (_open)
        {
            if (_open.Count >= maxOpen)
            {
                socket.Dispose();
                throw new LimitExceededError("max-open-files", $"{maxOpen} files and connections are open already (--max-open-files {maxOpen})");
            }
            while (_open.ContainsKey(_next)) _next = _next == int.MaxValue ? 1 : _next + 1;
            _open[_next] = new Entry(socket);
            return _next;
        }
    }

    /// <summary>The connection or listener of a handle as the program gives it (any int: one past the table's
    /// numbers names nothing open, and is said as the program gave it).</summary>
    private Entry Get(long handle, string what)
    {
        lock (_open)
            return handle is > 0 and <= int.MaxValue && _open.TryGetValue((int)handle, out var entry) ? entry : throw Unknown(handle, what);
    }

    /// <summary>A handle that names nothing open: connections and listeners share the numbers, and one closed is
    /// not remembered as either.</summary>
    private static VmError Unknown(long handle, string what) =>
        new(ErrorClasses.IO, $"cannot {what} {handle}: no connection or listener of that number is open");

    private static T Guard<T>(string what, Func<T> operation, Socket? owned)
    {
        try
        {
            return operation();
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or ArgumentException)
        {
            owned?.Dispose();
            string why = e is SocketException se ? se.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.HostNotFound or SocketError.NoData => "no such host",
                SocketError.AddressAlreadyInUse => "the address is in use",
                SocketError.AddressNotAvailable => "the address is not this machine's",
                SocketError.ConnectionReset => "the connection was reset by the peer",
                SocketError.TimedOut => "timed out",
                _ => se.Message,
            } : e is ArgumentException ? "not a valid host or port" : e.Message;
            throw new VmError(ErrorClasses.IO, $"cannot {what}: {why}");
        }
        catch (OperationCanceledException)
        {
            owned?.Dispose();
            throw;
        }
    }
}
