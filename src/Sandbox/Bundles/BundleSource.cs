using System.Net;
using System.Net.Http.Headers;

namespace Hlvm.Sandbox.Bundles;

/// <summary>Where a bundle's bytes come from: a file, or a URL read with HTTP range requests.</summary>
public interface IBundleSource : IDisposable
{
    /// <summary>What names the bundle for the user and for the cache of fronts (a full path or a URL).</summary>
    string Location { get; }

    /// <summary>Exactly <paramref name="length"/> bytes from <paramref name="offset"/>.</summary>
    /// <exception cref="BundleException">fewer are there, or the server sent others</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> was cancelled (the app was stopped)</exception>
    byte[] Read(long offset, int length, CancellationToken cancel = default);

    /// <summary>Bytes read from the source so far.</summary>
    long BytesRead { get; }

    /// <summary>The whole bundle's length, when the source knows it (after a first read, for a server).</summary>
    long? Length { get; }
}

/// <summary>A bundle already in memory.</summary>
public sealed class MemoryBundleSource(byte[] bytes, string location = "memory") : IBundleSource
{
    private long _read;

    public string Location => location;

    public long BytesRead => Interlocked.Read(ref _read);

    public long? Length => bytes.Length;

    public byte[] Read(long offset, int length, CancellationToken cancel = default)
    {
        if (offset < 0 || length < 0 || offset + length > bytes.Length)
            throw new BundleException($"the bundle is truncated: {length} bytes needed at offset {offset}, it has {bytes.Length}");
        Interlocked.Add(ref _read, length);
        return bytes.AsSpan((int)offset, length).ToArray();
    }

    public void Dispose() { }
}

public sealed class FileBundleSource(string path) : IBundleSource
{
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _file = OpenRegular(path);

    /// <summary>Opens a bundle file, which must be a regular file: opening a FIFO blocked until something wrote to
    /// it (<c>hlvm run pipe.hlb</c> and <c>hlvm rm pipe.hlb</c> hung), and a device never ends.</summary>
    /// <exception cref="IOException">it is not a regular file, or can't be opened</exception>
    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenRegular(string path) =>
        Hlvm.Runtime.Host.AtomicFile.IsSpecial(path) ? throw new IOException("it is not a regular file") : File.OpenHandle(path);

    private long _read;

    public string Location { get; } = Path.GetFullPath(path);

    public long BytesRead => Interlocked.Read(ref _read);

    public long? Length => RandomAccess.GetLength(_file);

    public byte[] Read(long offset, int length, CancellationToken cancel = default)
    {
        if (length == 0) return [];
        var buffer = new byte[length];
        int done = 0;
        while (done < length)
        {
            int n = RandomAccess.Read(_file, buffer.AsSpan(done), offset + done);
            if (n == 0) throw new BundleException($"the bundle is truncated: {length} bytes needed at offset {offset}, the file ends at {offset + done}");
            done += n;
        }
        Interlocked.Add(ref _read, length);
        return buffer;
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>
/// A bundle on any HTTP server that answers range requests (<c>Range: bytes=a-b</c>, 206 Partial Content): each
/// read is one request, checked to be the range asked for. A request that does not finish in
/// <see cref="Timeout"/> fails, so a stalled server can't hang the run.
/// </summary>
public sealed class HttpBundleSource : IBundleSource
{
    private readonly HttpClient _client;
    private readonly TimeSpan _timeout;
    private readonly Uri _uri;
    private long _read;

    public HttpBundleSource(Uri uri, TimeSpan? timeout = null)
    {
        _uri = uri;
        // Redirects are not followed: .NET's handler follows them to whatever the server names (another host, port
        // or scheme: a `Location: file:///...` failed inside it, uncaught), and a bundle's URL is one the user chose.
        _client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
        _timeout = timeout ?? TimeSpan.FromSeconds(30);
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("hlvm", "0.1"));
    }

    public string Location => _uri.ToString();

    public long BytesRead => Interlocked.Read(ref _read);

    /// <summary>The length the server gave in its last Content-Range.</summary>
    public long? Length { get; private set; }

    public byte[] Read(long offset, int length, CancellationToken cancel = default)
    {
        if (length == 0) return [];
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri);
        request.Headers.Range = new RangeHeaderValue(offset, offset + length - 1);
        // One deadline for the whole exchange, the body included: a server that stops half-way can't hang the run.
        // A stop of the app ends the wait too.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(_timeout);
        try
        {
            using var response = _client.Send(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                throw new BundleException($"the bundle is truncated: the server has no bytes {offset}-{offset + length - 1}");
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } to)
                throw new BundleException($"the server answered {(int)response.StatusCode} {response.ReasonPhrase}, a redirect to '{Visible(to.OriginalString)}': hlvm does not follow redirects; run the bundle from the URL it is at", unavailable: true);
            if (response.StatusCode != HttpStatusCode.PartialContent)
                throw response.IsSuccessStatusCode
                    ? new BundleException($"the server answered a range request with {(int)response.StatusCode} {response.ReasonPhrase}, not 206 Partial Content: it must support range requests")
                    : new BundleException($"the server answered {(int)response.StatusCode} {response.ReasonPhrase}", unavailable: true);
            var range = response.Content.Headers.ContentRange;
            if (range is null || range.From != offset || range.To != offset + length - 1)
                throw new BundleException($"asked for bytes {offset}-{offset + length - 1}, the server sent {range?.ToString() ?? "no Content-Range"}");
            Length = range.Length;
            using var body = response.Content.ReadAsStream(deadline.Token);
            var buffer = new byte[length];
            int done = 0;
            while (done < length)
            {
                int n = body.ReadAsync(buffer.AsMemory(done), deadline.Token).AsTask().GetAwaiter().GetResult();
                if (n == 0) throw new BundleException($"the connection ended after {done} of the {length} bytes at offset {offset}");
                done += n;
            }
            if (body.ReadAsync(new byte[1], deadline.Token).AsTask().GetAwaiter().GetResult() > 0)
                throw new BundleException($"the server sent more than the {length} bytes asked for at offset {offset}");
            Interlocked.Add(ref _read, length);
            return buffer;
        }
        catch (HttpRequestException e)
        {
            throw new BundleException(Said(e), unreachable: e.StatusCode is null, unavailable: true);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new BundleException($"no answer within {_timeout.TotalSeconds:0} s (bytes {offset}-{offset + length - 1})", timedOut: true);
        }
        catch (IOException e)
        {
            throw new BundleException($"the connection failed: {e.Message}", unreachable: true);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or NotSupportedException)
        {
            // What the handler makes of an answer it can't use (a header it can't parse, say): the server's fault.
            throw new BundleException($"the server's answer could not be used: {e.Message}", unavailable: true);
        }
    }

    /// <summary>
    /// What a failed request says, in words its reader can act on: .NET's "The SSL connection could not be
    /// established, see inner exception." named an exception the user never sees (an https:// URL of a server
    /// that speaks plain HTTP gave it).
    /// </summary>
    private static string Said(HttpRequestException e)
    {
        string inner = e.InnerException is { } cause ? $" ({cause.Message.TrimEnd('.')})" : "";
        if (e.HttpRequestError == HttpRequestError.SecureConnectionError)
            return $"the secure (TLS) connection could not be made{inner}; a server that speaks plain HTTP is reached with an http:// URL";
        const string SeeInner = ", see inner exception.";
        return e.Message.EndsWith(SeeInner, StringComparison.Ordinal) ? e.Message[..^SeeInner.Length] + inner : e.Message;
    }

    /// <summary>A text from the server, its control characters made visible and its length bounded.</summary>
    private static string Visible(string text) => ControlCharacters.MakeVisible(text.Length > 200 ? text[..200] + "..." : text);

    public void Dispose() => _client.Dispose();
}
