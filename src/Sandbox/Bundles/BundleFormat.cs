using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hlvm.Sandbox.Bundles;

/// <summary>A bundle that is malformed, truncated, tampered with or signed by a key not trusted; or one that
/// can't be had at all (<see cref="Unavailable"/>).</summary>
public sealed class BundleException(string message, bool unreachable = false, bool unavailable = false, bool timedOut = false) : Exception(message)
{
    /// <summary>The source gave no answer within the time a request may take (then it is also unreachable).</summary>
    public bool TimedOut { get; } = timedOut;

    /// <summary>The bundle's source could not be reached at all (no connection, no answer in time): the one
    /// failure after which a run may go on from what the cache holds.</summary>
    public bool Unreachable { get; } = unreachable || timedOut;

    /// <summary>The bundle could not be had, rather than being wrong: its source is unreachable, or the server
    /// answered with an error status (404 Not Found, 403 Forbidden, ...), or the file can't be read.</summary>
    public bool Unavailable { get; } = unreachable || unavailable || timedOut;
}

/// <summary>What a bundle holds, as its manifest says (stored as JSON, signed).</summary>
public sealed record BundleManifest
{
    public required string Name { get; init; }
    public required string Version { get; init; }
    /// <summary>The entry module's name in the table of contents.</summary>
    public required string Entry { get; init; }
    /// <summary>The permissions the app asks for, as flags would give them: <c>read:/srv/data</c>, <c>net:127.0.0.1:8080</c>.</summary>
    public IReadOnlyList<string> Permissions { get; init; } = [];
    /// <summary>The oldest runtime that can run it.</summary>
    public string MinRuntime { get; init; } = "0.1.0";
}

/// <summary>One entry of the table of contents.</summary>
/// <param name="Name">a relative path of forward-slash components, none empty, <c>.</c> or <c>..</c></param>
/// <param name="Offset">where its stored bytes start, from the start of the data</param>
public sealed record BundleEntry(string Name, EntryKind Kind, Compression Compression, long Offset, long StoredSize, long Size, byte[] Hash)
{
    public string HashHex => Convert.ToHexStringLower(Hash);
}

public enum EntryKind : byte { Module = 0, Resource = 1 }

public enum Compression : byte { None = 0, Brotli = 1 }

/// <summary>
/// The front of a bundle: header, manifest, table of contents and signature, everything needed before any
/// entry is read. <c>docs/bundle-format.md</c> specifies the bytes.
/// </summary>
public sealed partial class BundleFront
{
    /// <summary>MAJOR.MINOR.PATCH in ASCII digits, nothing after. Generated: a regular expression made at run time
    /// costs milliseconds of every bundle's start.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}\z")]
    private static partial System.Text.RegularExpressions.Regex RuntimeVersion();

    public static ReadOnlySpan<byte> Magic => "HLVMBNDL"u8;
    public const ushort FormatVersion = 1;
    public const int HeaderSize = 64;
    public const int PublicKeySize = 32, SignatureSize = 64, SignatureBlockSize = PublicKeySize + SignatureSize;
    public const int MaxManifestSize = 64 << 10;
    public const int MaxTocSize = 16 << 20;
    public const int MaxEntries = 100_000;
    public const int MaxNameBytes = 1024;
    public const int MaxNameDepth = 32;
    /// <summary>The largest entry (contents or stored bytes): what one array can hold.</summary>
    public const long MaxEntrySize = int.MaxValue - 64;

    public required BundleManifest Manifest { get; init; }
    public required IReadOnlyList<BundleEntry> Entries { get; init; }
    /// <summary>The signer's Ed25519 public key, or null for an unsigned bundle.</summary>
    public byte[]? PublicKey { get; init; }
    public byte[]? Signature { get; init; }
    /// <summary>Where the entries' data starts in the file, and the file's whole length.</summary>
    public long DataOffset { get; init; }
    public long TotalSize { get; init; }
    /// <summary>The bytes the signature covers: header, manifest and table of contents.</summary>
    public required byte[] SignedBytes { get; init; }

    /// <summary>The length of the front, from the start of the file: all of it must be read before anything is trusted.</summary>
    public static long FrontLength(ReadOnlySpan<byte> header)
    {
        var h = ReadHeader(header);
        return h.DataOffset;
    }

    private readonly record struct Header(ushort Flags, int ManifestLength, int TocLength, int EntryCount, long DataOffset, long TotalSize);

    private static Header ReadHeader(ReadOnlySpan<byte> b)
    {
        if (b.Length < HeaderSize) throw new BundleException($"the bundle is truncated: {b.Length} bytes, less than its {HeaderSize}-byte header");
        if (!b[..8].SequenceEqual(Magic)) throw new BundleException("not a bundle: the file does not start with HLVMBNDL");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(b[8..]);
        if (version != FormatVersion) throw new BundleException($"bundle format version {version} is not supported (this runtime reads version {FormatVersion})");
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(b[10..]);
        if ((flags & ~1) != 0) throw new BundleException($"at offset 10: unknown flags 0x{flags:x4}");
        uint manifest = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]), toc = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]), count = BinaryPrimitives.ReadUInt32LittleEndian(b[20..]);
        long data = BinaryPrimitives.ReadInt64LittleEndian(b[24..]), total = BinaryPrimitives.ReadInt64LittleEndian(b[32..]);
        if (manifest == 0 || manifest > MaxManifestSize) throw new BundleException($"at offset 12: a manifest of {manifest} bytes (1 to {MaxManifestSize})");
        if (toc > MaxTocSize) throw new BundleException($"at offset 16: a table of contents of {toc} bytes (at most {MaxTocSize})");
        if (count > MaxEntries) throw new BundleException($"at offset 20: {count} entries (at most {MaxEntries})");
        long expected = HeaderSize + manifest + toc + ((flags & 1) != 0 ? SignatureBlockSize : 0);
        if (data != expected) throw new BundleException($"at offset 24: the data offset {data} is not where the front ends ({expected})");
        if (total < data) throw new BundleException($"at offset 32: a total size of {total} bytes, less than the front's {data}");
        for (int i = 40; i < HeaderSize; i++)
            if (b[i] != 0) throw new BundleException($"at offset {i}: reserved bytes must be zero");
        return new Header(flags, (int)manifest, (int)toc, (int)count, data, total);
    }

    /// <summary>Parses and checks a front (the first <see cref="FrontLength"/> bytes). The signature is checked
    /// by <see cref="Signing.Verify"/>, not here.</summary>
    public static BundleFront Read(ReadOnlySpan<byte> front)
    {
        var h = ReadHeader(front);
        if (front.Length < h.DataOffset) throw new BundleException($"the bundle is truncated: its front needs {h.DataOffset} bytes, {front.Length} are there");
        int at = HeaderSize;
        var manifestBytes = front.Slice(at, h.ManifestLength);
        BundleManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<BundleManifest>(manifestBytes, JsonOptions) ?? throw new BundleException($"at offset {at}: the manifest is null");
        }
        catch (JsonException e)
        {
            // Said in the format's terms, not .NET's (which named the type it fills); the parser's message may quote
            // the manifest's text: show it, don't send it.
            string why = e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? $"it has a member the format does not know ({e.Path})"
                : e.Message.Contains("missing required properties", StringComparison.Ordinal) ? "it lacks a member the format requires (name, version and entry)"
                : e.Message;
            throw new BundleException($"at offset {at}: the manifest is not valid: {ControlCharacters.MakeVisible(why)}");
        }
        if (CheckManifest(manifest) is { } wrong) throw new BundleException($"at offset {at}: the manifest's {wrong}");
        at += h.ManifestLength;
        var entries = ReadToc(front.Slice(at, h.TocLength), at, h.EntryCount, h.TotalSize - h.DataOffset);
        at += h.TocLength;
        byte[]? key = null, signature = null;
        if ((h.Flags & 1) != 0)
        {
            key = front.Slice(at, PublicKeySize).ToArray();
            signature = front.Slice(at + PublicKeySize, SignatureSize).ToArray();
        }
        if (!entries.Any(e => e.Name == manifest.Entry && e.Kind == EntryKind.Module))
            throw new BundleException($"the manifest's entry module '{manifest.Entry}' is not in the table of contents");
        return new BundleFront
        {
            Manifest = manifest, Entries = entries, PublicKey = key, Signature = signature,
            DataOffset = h.DataOffset, TotalSize = h.TotalSize,
            SignedBytes = front[..(HeaderSize + h.ManifestLength + h.TocLength)].ToArray(),
        };
    }

    private static List<BundleEntry> ReadToc(ReadOnlySpan<byte> toc, int baseOffset, int count, long dataLength)
    {
        var entries = new List<BundleEntry>(count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        int at = 0;
        long next = 0;
        for (int i = 0; i < count; i++)
        {
            int start = at;
            string Where() => $"at offset {baseOffset + start} (entry {i})";
            if (toc.Length - at < 2) throw new BundleException($"{Where()}: the table of contents ends early");
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(toc[at..]);
            at += 2;
            if (nameLength == 0 || nameLength > MaxNameBytes) throw new BundleException($"{Where()}: a name of {nameLength} bytes (1 to {MaxNameBytes})");
            const int Fixed = 1 + 1 + 8 + 8 + 8 + 32;
            if (toc.Length - at < nameLength + Fixed) throw new BundleException($"{Where()}: the table of contents ends early");
            string name;
            try
            {
                name = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(toc.Slice(at, nameLength));
            }
            catch (DecoderFallbackException)
            {
                throw new BundleException($"{Where()}: the name is not UTF-8");
            }
            at += nameLength;
            if (CheckName(name) is { } why) throw new BundleException($"{Where()}: the name \"{Escape(name)}\" {why}");
            if (!names.Add(name)) throw new BundleException($"{Where()}: a second entry named \"{name}\"");
            var kind = (EntryKind)toc[at++];
            var compression = (Compression)toc[at++];
            if (kind is not (EntryKind.Module or EntryKind.Resource)) throw new BundleException($"{Where()}: unknown kind {(byte)kind}");
            if (compression is not (Compression.None or Compression.Brotli)) throw new BundleException($"{Where()}: unknown compression {(byte)compression}");
            long offset = BinaryPrimitives.ReadInt64LittleEndian(toc[at..]), stored = BinaryPrimitives.ReadInt64LittleEndian(toc[(at + 8)..]), size = BinaryPrimitives.ReadInt64LittleEndian(toc[(at + 16)..]);
            at += 24;
            byte[] hash = toc.Slice(at, 32).ToArray();
            at += 32;
            if (offset != next) throw new BundleException($"{Where()}: its data starts at {offset}, not right after the previous entry's ({next})");
            if (stored < 0 || size < 0 || size > MaxEntrySize || stored > MaxEntrySize) throw new BundleException($"{Where()}: sizes {stored} stored and {size} whole are out of range");
            if (compression == Compression.None && stored != size) throw new BundleException($"{Where()}: an uncompressed entry of {size} bytes stored in {stored}");
            if (stored > dataLength || offset > dataLength - stored) throw new BundleException($"{Where()}: its data ends at {offset + stored}, past the bundle's end ({dataLength})");
            next = offset + stored;
            entries.Add(new BundleEntry(name, kind, compression, offset, stored, size, hash));
        }
        if (at != toc.Length) throw new BundleException($"at offset {baseOffset + at}: {toc.Length - at} bytes after the last entry of the table of contents");
        // A name is a file's or a directory's, not both: "a" beside "a/b" gave /app/a as a file to read and a
        // directory to list.
        foreach (var name in names)
            for (int slash = name.IndexOf('/'); slash > 0; slash = name.IndexOf('/', slash + 1))
                if (names.Contains(name[..slash]))
                    throw new BundleException($"the entry \"{Escape(name[..slash])}\" is a file, and the directory of the entry \"{Escape(name)}\"");
        if (next != dataLength) throw new BundleException($"the entries take {next} bytes, but the header says the data is {dataLength}");
        return entries;
    }

    /// <summary>What is wrong with a manifest's members (null when nothing is), by the rules of the format.</summary>
    public static string? CheckManifest(BundleManifest m)
    {
        if (!IsAppName(m.Name)) return $"name \"{Escape(m.Name ?? "")}\" must be 1 to 64 ASCII letters, digits, '-', '_' or '.', not starting with '.'";
        if (m.Version is null || m.Version.Length is 0 or > 64 || m.Version.Any(c => c <= ' ' || c >= '\x7f'))
            return $"version \"{Escape(m.Version ?? "")}\" must be 1 to 64 printable ASCII characters without spaces";
        if (m.Entry is null || CheckName(m.Entry) is { } why) return $"entry \"{Escape(m.Entry ?? "")}\" is not an entry name";
        if (m.Permissions is null) return "permissions must be a list";
        foreach (var p in m.Permissions)
            if (p is null || p.Length > 1024 || p.Any(c => c < ' ' || c >= '\x7f') || !Permissions.TryParseRequest(p, out _, out _))
                return $"permission \"{Escape(p ?? "")}\" is not KIND or KIND:TARGET in printable ASCII (KIND one of read, write, net, env)";
        if (m.MinRuntime is null || !RuntimeVersion().IsMatch(m.MinRuntime))
            return $"minRuntime \"{Escape(m.MinRuntime ?? "")}\" is not MAJOR.MINOR.PATCH";
        return null;
    }

    /// <summary>An app's name: 1 to 64 ASCII letters, digits, <c>-</c>, <c>_</c> and <c>.</c>, not starting with <c>.</c>.</summary>
    public static bool IsAppName(string? name) =>
        name is { Length: > 0 and <= 64 } && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>Why a name can't be an entry's (null when it can): it must stay inside the app's tree.</summary>
    public static string? CheckName(string name)
    {
        if (name.Contains('\\')) return "contains a backslash";
        if (name.StartsWith('/')) return "is absolute";
        if (Encoding.UTF8.GetByteCount(name) > MaxNameBytes) return $"is longer than {MaxNameBytes} bytes in UTF-8";
        if (name.Any(c => c < ' ' || c is >= '\x7f' and <= '\x9f')) return "contains a control character";
        var parts = name.Split('/');
        if (parts.Length > MaxNameDepth) return $"has more than {MaxNameDepth} components";
        foreach (var part in parts)
        {
            if (part.Length == 0) return "has an empty component";
            if (part is "." or "..") return $"has a '{part}' component";
        }
        return null;
    }

    private static string Escape(string name) => ControlCharacters.MakeVisible(name);

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
    };

    // ---------------------------------------------------------------------------------------------- writing

    /// <summary>The front's bytes for a manifest and entries, with the signature block filled in by <paramref name="sign"/>.</summary>
    public static byte[] Write(BundleManifest manifest, IReadOnlyList<BundleEntry> entries, Func<byte[], (byte[] Key, byte[] Signature)>? sign)
    {
        byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, JsonOptions);
        var toc = new MemoryStream();
        Span<byte> number = stackalloc byte[8];
        foreach (var e in entries)
        {
            byte[] name = Encoding.UTF8.GetBytes(e.Name);
            BinaryPrimitives.WriteUInt16LittleEndian(number, (ushort)name.Length);
            toc.Write(number[..2]);
            toc.Write(name);
            toc.WriteByte((byte)e.Kind);
            toc.WriteByte((byte)e.Compression);
            foreach (long v in (long[])[e.Offset, e.StoredSize, e.Size])
            {
                BinaryPrimitives.WriteInt64LittleEndian(number, v);
                toc.Write(number);
            }
            toc.Write(e.Hash);
        }
        long data = entries.Count == 0 ? 0 : entries[^1].Offset + entries[^1].StoredSize;
        long dataOffset = HeaderSize + manifestBytes.Length + toc.Length + (sign is null ? 0 : SignatureBlockSize);
        var header = new byte[HeaderSize];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(10), (ushort)(sign is null ? 0 : 1));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), (uint)manifestBytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), (uint)toc.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), (uint)entries.Count);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), dataOffset);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(32), dataOffset + data);
        byte[] signed = [.. header, .. manifestBytes, .. toc.ToArray()];
        if (sign is null) return signed;
        var (key, signature) = sign(signed);
        return [.. signed, .. key, .. signature];
    }

    public static byte[] Hash(ReadOnlySpan<byte> contents) => SHA256.HashData(contents);
}
