using System.Net;
using System.Text.RegularExpressions;

namespace Hlvm.Sandbox.Bundles;

/// <summary>
/// <c>hlvm serve DIR --port N</c>: a small HTTP server of a directory's files for development, with range
/// requests (<c>Range: bytes=a-b</c>, <c>a-</c> or <c>-n</c>; 206 with <c>Content-Range</c>, 416 outside the
/// file; several ranges at once get the whole file). It serves regular files under the directory only (no listings, no <c>..</c>, no links that lead out, no
/// hidden files or directories, whose names start with a dot), and never a private key (<c>.key</c>): the checks
/// are made on the file a request resolves to, so that neither a spelling of its path (<c>/me.key/</c>,
/// <c>/me.key%2f.</c>) nor a link to it (<c>innocent.txt -&gt; me.key</c>) serves it.
/// </summary>
public sealed partial class DevServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _root, _realRoot;
    private readonly Task _loop;

    /// <summary>Bytes of file contents sent so far.</summary>
    public long BytesSent => Interlocked.Read(ref _sent);
    private long _sent;

    /// <summary>The base URL, <c>http://127.0.0.1:PORT/</c>.</summary>
    public string Url { get; }

    /// <exception cref="HttpListenerException">the port can't be listened on</exception>
    public DevServer(string root, int port, Action<string>? log = null)
    {
        _root = Path.GetFullPath(root).TrimEnd('/');
        _realRoot = (OperatingSystem.IsLinux() ? LinuxFiles.RealPathOf(_root) : null) ?? _root;
        Url = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                _ = Task.Run(() => Serve(context, log));
            }
        });
    }

    private void Serve(HttpListenerContext context, Action<string>? log)
    {
        var response = context.Response;
        // Every request is logged, the refused ones too (they are what a developer looks for): method, path, status.
        string relative = Uri.UnescapeDataString(context.Request.Url!.AbsolutePath).TrimStart('/');
        string? sent = null, error = null;
        try
        {
            if (context.Request.HttpMethod is not ("GET" or "HEAD")) { response.StatusCode = 405; return; }
            // No file's name holds a NUL (%00), which .NET's paths refuse with an exception of their own.
            if (relative.Contains('\0')) { response.StatusCode = 404; return; }
            string path = Path.GetFullPath(Path.Combine(_root, relative));
            var info = new FileInfo(path);
            // Links are followed only where they stay inside the root: the file's real path must be under the root's.
            // A path ending in a separator names a directory, never a file; "." and ".." are hidden names (the kernel
            // resolves "me.key/." to me.key).
            string? real = OperatingSystem.IsLinux() ? LinuxFiles.RealPathOf(path) : path;
            // A private key is never served, whatever the path that reaches it.
            if ((real ?? path).TrimEnd('/', '.').EndsWith(".key", StringComparison.Ordinal)) { response.StatusCode = 403; return; }
            if (relative.EndsWith('/') || Hidden(relative)
                || !path.StartsWith(_root + "/", StringComparison.Ordinal) || !info.Exists || real is null
                || !real.StartsWith(_realRoot + "/", StringComparison.Ordinal) || Hidden(real[(_realRoot.Length + 1)..]))
            {
                response.StatusCode = 404;
                return;
            }
            // A regular file only: opening a FIFO blocked the request's thread for good (and a device may never end).
            using var file = OpenRegular(real);
            if (file is null)
            {
                response.StatusCode = 404;
                return;
            }
            long length = file.Length, from = 0, to = length - 1; // the file's own length, not a link's
            response.Headers["Accept-Ranges"] = "bytes";
            // Several ranges at once (bytes=0-9,20-29) are answered with the whole file, as a server that takes single
            // ranges only may answer them (RFC 9110, 14.2); a 416 said the file had none of them.
            if (context.Request.Headers["Range"] is { } range && !range.Contains(','))
            {
                var m = RangeHeader().Match(range);
                bool hasFrom = long.TryParse(m.Groups[1].Value, out long first), hasTo = long.TryParse(m.Groups[2].Value, out long last);
                if (!m.Success || !hasFrom && !hasTo) { response.StatusCode = 416; return; }
                if (!hasFrom) from = Math.Max(0, length - last);
                else
                {
                    from = first;
                    if (hasTo) to = Math.Min(to, last);
                }
                if (from >= length || from > to)
                {
                    response.StatusCode = 416;
                    response.Headers["Content-Range"] = $"bytes */{length}";
                    return;
                }
                response.StatusCode = 206;
                response.Headers["Content-Range"] = $"bytes {from}-{to}/{length}";
            }
            response.ContentLength64 = to - from + 1;
            sent = $" bytes {from}-{to}";
            if (context.Request.HttpMethod == "HEAD") return;
            file.Position = from;
            var buffer = new byte[1 << 16];
            for (long left = to - from + 1; left > 0;)
            {
                int n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n == 0) break;
                response.OutputStream.Write(buffer, 0, n);
                Interlocked.Add(ref _sent, n);
                left -= n;
            }
        }
        catch (Exception e) when (e is IOException or HttpListenerException or UnauthorizedAccessException or ArgumentException)
        {
            error = $" ({e.Message})";
            try { response.StatusCode = 400; }
            catch (InvalidOperationException) { /* the headers went out already */ }
        }
        finally
        {
            // A path of any length may come (a request of 100 KB was a log line of 100 KB): its start is enough.
            const int Shown = 256;
            string path = relative.Length <= Shown ? relative : $"{relative[..Shown]}... ({relative.Length - Shown} more characters)";
            log?.Invoke($"{context.Request.HttpMethod} /{ControlCharacters.MakeVisible(path)} {response.StatusCode}{sent}{error}");
            try { response.Close(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { }
        }
    }

    /// <summary>Whether a path (relative to the root) names a hidden file or passes through a hidden directory.</summary>
    private static bool Hidden(string relative) => relative.Split('/').Any(part => part.StartsWith('.'));

    [GeneratedRegex(@"^bytes=(\d*)-(\d*)$")]
    private static partial Regex RangeHeader();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
    }

    /// <summary>The file at <paramref name="real"/> opened for reading if it is a regular file, else null. Opened
    /// without blocking (a FIFO's open waits for a writer) and judged by the open file's own status.</summary>
    private static FileStream? OpenRegular(string real)
    {
        if (!OperatingSystem.IsLinux()) return File.OpenRead(real);
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = LinuxFiles.Open(null, real, LinuxFiles.O_RDONLY | LinuxFiles.O_NONBLOCK | LinuxFiles.O_NOCTTY);
        }
        catch (LinuxFiles.Errno)
        {
            return null; // gone since, or not ours to read
        }
        if (LinuxFiles.Stat(handle).IsRegular) return new FileStream(handle, FileAccess.Read, 1);
        handle.Dispose();
        return null;
    }
}
