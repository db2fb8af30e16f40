using System.Text;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Hlvm.Sandbox.Bundles;

/// <summary>Which signers a user trusts, and whether unsigned bundles may run.</summary>
public sealed record TrustPolicy(IReadOnlyList<byte[]> TrustedKeys, bool AllowUnsigned = false)
{
    /// <summary>The trusted-keys file: <c>$HLVM_CONFIG_HOME/trusted-keys</c>, else under <c>$XDG_CONFIG_HOME/hlvm</c>
    /// or <c>~/.config/hlvm</c>; one public key (<c>ed25519:BASE64</c>) per line, <c>#</c> starts a comment.</summary>
    public static string DefaultKeysFile => Path.Combine(UserFiles.Root("HLVM_CONFIG_HOME", "XDG_CONFIG_HOME", ".config"), "trusted-keys");

    /// <summary>The keys of a trusted-keys file (none when there is no file).</summary>
    /// <exception cref="FormatException">a line is not a public key (the message names the line)</exception>
    public static List<byte[]> ReadKeysFile(string path)
    {
        var keys = new List<byte[]>();
        if (!File.Exists(path)) return keys;
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Split('#')[0].Trim();
            if (line.Length == 0) continue;
            try
            {
                keys.Add(Signing.ParsePublicKey(line));
            }
            catch (FormatException e)
            {
                throw new FormatException($"{path}:{i + 1}: {e.Message}");
            }
        }
        return keys;
    }
}

/// <summary>
/// An opened bundle: its front read and checked (format, signature, trust, runtime version) before anything
/// else, its entries read on demand. Each entry is read from the cache when it is there, otherwise fetched
/// (its stored bytes only), decompressed up to its declared size and no further, checked against its SHA-256,
/// and only then stored in the cache and used.
/// </summary>
public sealed class Bundle : IDisposable
{
    private readonly IBundleSource? _source;
    private readonly ContentCache _cache;
    private readonly HashSet<string> _proven;
    private readonly Lock _lock = new();

    public BundleFront Front { get; }

    /// <summary>Whether the front came from the cache because the source could not be read.</summary>
    public bool Offline { get; }

    /// <summary>The app's identity for its private storage and the cache's records: its name and its signer's key.</summary>
    public string AppId { get; }

    public static readonly Version RuntimeVersion = new(0, 1, 0);

    private Bundle(IBundleSource? source, ContentCache cache, BundleFront front, bool offline, string location)
    {
        _source = source;
        _cache = cache;
        Front = front;
        Offline = offline;
        AppId = AppIdOf(front, location);
        _proven = cache.Proven(AppId);
    }

    /// <summary>
    /// <c>NAME-SIGNER</c>: the manifest's name and 16 hex digits of the SHA-256 of the signer's key, so that two
    /// publishers' apps of one name never share data; for an unsigned bundle, of its location instead (two
    /// unsigned bundles share data only when they come from the same place).
    /// </summary>
    public static string AppIdOf(BundleFront front, string location) =>
        $"{front.Manifest.Name}-{Convert.ToHexStringLower(SHA256.HashData(front.PublicKey ?? Encoding.UTF8.GetBytes("unsigned:" + location)))[..16]}";

    /// <summary>The front of the bundle a source holds, parsed and checked but not its signature (<c>hlvm rm</c>
    /// names an app by its bundle's file this way, reading no more of it).</summary>
    /// <exception cref="BundleException">it is malformed or truncated</exception>
    public static BundleFront ReadFront(IBundleSource source) => BundleFront.Read(ReadFrontBytes(source));

    /// <summary>Opens a bundle at a path or an <c>http://</c>/<c>https://</c> URL.</summary>
    /// <exception cref="BundleException">it can't be read, is malformed, or is not trusted</exception>
    public static Bundle Open(string location, ContentCache cache, TrustPolicy trust, TimeSpan? networkTimeout = null)
    {
        bool remote = Uri.TryCreate(location, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
        IBundleSource? source = null;
        try
        {
            source = remote ? new HttpBundleSource(uri!, networkTimeout) : new FileBundleSource(location);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BundleException($"cannot read '{location}': {(e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message)}", unavailable: true);
        }
        string key = source.Location;
        byte[] frontBytes;
        BundleException? unreachable = null;
        try
        {
            frontBytes = ReadFrontBytes(source);
        }
        catch (BundleException e) when (e.Unreachable && cache.TryGetFront(key) is { } cached)
        {
            // The server is away: run from what an earlier run verified and cached (checked again below).
            frontBytes = cached;
            unreachable = e;
        }
        catch
        {
            source.Dispose();
            throw;
        }
        bool offline = unreachable is not null;
        try
        {
            if (offline && CachedFrontDamage(frontBytes) is { } damage)
            {
                // The copy was verified when it was cached: what fails now is the copy, not the bundle. Said as such
                // (the bundle can't be had, 66), and removed, so that the next run with the server up caches it
                // again; it was reported as a malformed bundle ("at offset 10: unknown flags"), exit 65.
                cache.RemoveFront(key);
                throw new BundleException($"{unreachable!.Message}; and the copy of the bundle's front an earlier run cached is damaged ({damage}): it was removed", unreachable: true);
            }
            var front = BundleFront.Read(frontBytes);
            if (!offline) CheckLength(front, source);
            Check(front, trust);
            var bundle = new Bundle(source, cache, front, offline, key);
            if (!offline)
            {
                try
                {
                    cache.PutFront(key, frontBytes);
                    cache.RecordFront(bundle.AppId, key);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* runs without being cached */ }
            }
            return bundle;
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>What is wrong with a cached front, which was whole and signed as it says when it was cached: it does not
    /// parse, or its signature no longer matches it; null when it is sound.</summary>
    public static string? CachedFrontDamage(byte[] bytes)
    {
        try
        {
            var front = BundleFront.Read(bytes);
            return front.PublicKey is not null && !Signing.Verify(front) ? "its signature does not match it" : null;
        }
        catch (BundleException e)
        {
            return e.Message;
        }
    }

    /// <summary>Opens a bundle from a source the caller made (no offline fallback).</summary>
    /// <exception cref="BundleException">it is malformed or not trusted</exception>
    public static Bundle Open(IBundleSource source, ContentCache cache, TrustPolicy trust)
    {
        var front = BundleFront.Read(ReadFrontBytes(source));
        CheckLength(front, source);
        Check(front, trust);
        return new Bundle(source, cache, front, offline: false, source.Location);
    }

    /// <summary>The front's bytes: the header, which says how long the front is, then the rest of it.</summary>
    private static byte[] ReadFrontBytes(IBundleSource source)
    {
        var header = source.Read(0, BundleFront.HeaderSize);
        long length = BundleFront.FrontLength(header);
        return [.. header, .. source.Read(BundleFront.HeaderSize, checked((int)(length - BundleFront.HeaderSize)))];
    }

    /// <summary>The file must be exactly as long as its header says: no bytes missing, none after the last entry.</summary>
    private static void CheckLength(BundleFront front, IBundleSource source)
    {
        if (source.Length is { } length && length != front.TotalSize)
            throw new BundleException(length < front.TotalSize
                ? $"the bundle is truncated: {length} bytes, its header says {front.TotalSize}"
                : $"the bundle has {length - front.TotalSize} bytes after its end ({front.TotalSize} bytes, as its header says)");
    }

    private static void Check(BundleFront front, TrustPolicy trust)
    {
        if (front.PublicKey is null)
        {
            if (!trust.AllowUnsigned) throw new BundleException("the bundle is not signed; run it with --allow-unsigned only if you trust where it came from");
        }
        else
        {
            if (!Signing.Verify(front)) throw new BundleException("the bundle's signature does not match its contents: it was modified after it was signed");
            if (!trust.TrustedKeys.Any(k => k.AsSpan().SequenceEqual(front.PublicKey)))
                throw new BundleException($"the bundle is signed by {Signing.FormatPublicKey(front.PublicKey)}, a key you do not trust (add it with --trust or to {TrustPolicy.DefaultKeysFile})");
        }
        if (!Version.TryParse(front.Manifest.MinRuntime, out var needed)) throw new BundleException($"the manifest's minRuntime '{front.Manifest.MinRuntime}' is not a version");
        if (needed > RuntimeVersion) throw new BundleException($"the app needs hlvm {needed} or later; this is {RuntimeVersion}");
    }

    /// <summary>An entry's contents, verified.</summary>
    /// <exception cref="BundleException">it can't be fetched, or what was fetched is not what the table of contents promised</exception>
    public byte[] Read(BundleEntry entry, CancellationToken cancel = default)
    {
        string hex = entry.HashHex;
        bool proven;
        lock (_lock) proven = _proven.Contains(hex);
        if (proven && _cache.TryGet(entry.Hash) is { } cached) return cached;
        if (_source is null || Offline) throw new BundleException($"entry '{entry.Name}' is not in the cache and the bundle's source can't be reached");
        if (entry.StoredSize > int.MaxValue - 64 || entry.Size > int.MaxValue - 64) throw new BundleException($"entry '{entry.Name}' is too large to read ({entry.Size} bytes)");
        var stored = entry.StoredSize == 0 ? [] : _source.Read(Front.DataOffset + entry.Offset, (int)entry.StoredSize, cancel);
        var contents = entry.Compression == Compression.None ? stored : Decompress(entry, stored, cancel);
        if (!SHA256.HashData(contents).AsSpan().SequenceEqual(entry.Hash))
            throw new BundleException($"entry '{entry.Name}' does not match its SHA-256 {entry.HashHex}: the bundle was modified or damaged");
        try
        {
            _cache.Put(entry.Hash, contents);
            _cache.Prove(AppId, hex);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* verified: used without being cached */ }
        lock (_lock) _proven.Add(hex);
        return contents;
    }

    /// <summary>Bytes read from the bundle's source so far (the front and the entries not found in the cache).</summary>
    public long BytesFetched => _source?.BytesRead ?? 0;

    /// <summary>Inflates at most the declared size: a stream that would give more (a decompression bomb) or less is
    /// rejected. A stop (the app's timeout) ends it between megabytes: a few kilobytes may declare two gigabytes.</summary>
    private static byte[] Decompress(BundleEntry entry, byte[] stored, CancellationToken cancel)
    {
        var contents = new byte[entry.Size];
        try
        {
            using var brotli = new BrotliStream(new MemoryStream(stored), CompressionMode.Decompress);
            int done = 0;
            while (done < contents.Length)
            {
                cancel.ThrowIfCancellationRequested();
                int n = brotli.Read(contents, done, Math.Min(contents.Length - done, 1 << 20));
                if (n == 0) throw new BundleException($"entry '{entry.Name}' decompresses to {done} bytes, not the {entry.Size} it declares");
                done += n;
            }
            if (brotli.ReadByte() >= 0) throw new BundleException($"entry '{entry.Name}' decompresses to more than the {entry.Size} bytes it declares");
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException)
        {
            throw new BundleException($"entry '{entry.Name}' is not valid Brotli data: the bundle was modified or damaged");
        }
        return contents;
    }

    /// <summary>The entry module.</summary>
    public BundleEntry EntryModule => Front.Entries.First(e => e.Name == Front.Manifest.Entry && e.Kind == EntryKind.Module);

    public void Dispose() => _source?.Dispose();
}
