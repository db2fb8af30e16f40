using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Hlvm.Sandbox;

/// <summary>
/// Compiled programs, so that running a source file again does not compile it again (compiling is most of the
/// start-up of a short program run from source: the compiler's code and the parser's tables are cold in every
/// process). An entry holds what its compilation depended on, the <c>context</c> (the compiler's and the
/// runtime's builds, the file's name) and the source, and is used only when both are exactly those of the
/// program run now; the file's name is a hash of them (XxHash64: a collision costs a miss, never another
/// program's code). A compilation that read other files (a program that imports its own modules) or reported
/// anything (warnings) is not kept, so that a cached run prints what a compiling run prints.
///
/// An entry is written whole or not at all (a new file renamed into place) and ends with a checksum of what it
/// holds (XxHash64), so that one cut short or damaged on disk is ignored and written again, never run: a flipped
/// bit in a constant makes a module that still verifies (which its module is, when loaded, as every module is).
/// <c>hlvm cache verify</c> checks every entry the same way (<see cref="Verify"/>). The cache is in hlvm's own
/// directories, which no program can see; it keeps the <see cref="MaxEntries"/> entries used last, and a failure
/// to read or write it only means compiling.
/// </summary>
public sealed class ProgramCache(string root)
{
    /// <summary><c>$HLVM_CACHE_HOME/programs</c>, beside the cache of bundle entries.</summary>
    public static string DefaultRoot => Path.Combine(Bundles.ContentCache.DefaultRoot, "programs");

    /// <summary>Most entries kept: past it, the ones used longest ago are removed.</summary>
    public const int MaxEntries = 256;

    /// <summary>Largest entry read back (a source file and its module are far smaller).</summary>
    public const long MaxEntryBytes = 64 << 20;

    /// <summary>The first bytes of an entry; the format's number changes with its layout (1 had no checksum).</summary>
    private static ReadOnlySpan<byte> Magic => "HLVMPC2\n"u8;

    /// <summary>Bytes of the checksum that ends an entry.</summary>
    private const int ChecksumBytes = 8;

    public string Root { get; } = root;

    private string PathOf(byte[] context, byte[] source)
    {
        // XxHash64 and the number's own hex form: XxHash128's code and the span hex encoder use Vector256 and
        // Vector128, whose precompiled code this build can't use on every CPU, so .NET compiled them at each start.
        var hash = new XxHash64();
        hash.Append(context);
        hash.Append(source);
        return Path.Combine(Root, hash.GetCurrentHashAsUInt64().ToString("x16", System.Globalization.CultureInfo.InvariantCulture) + ".hlc");
    }

    /// <summary>The file of the entry for <paramref name="source"/> in <paramref name="context"/>, whether or not there is one.</summary>
    internal string EntryPath(string context, byte[] source) => PathOf(Encoding.UTF8.GetBytes(context), source);

    /// <summary>The module compiled from <paramref name="source"/> in <paramref name="context"/>, or null when there is none.</summary>
    public byte[]? Find(string context, byte[] source)
    {
        byte[] contextBytes = Encoding.UTF8.GetBytes(context);
        try
        {
            string path = PathOf(contextBytes, source);
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxEntryBytes) return null;
            if (!Parse(File.ReadAllBytes(path), out var storedContext, out var storedSource, out var module)
                || !storedContext.SequenceEqual(contextBytes) || !storedSource.SequenceEqual(source)) return null;
            // Used now: trimming keeps the entries used last.
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
            return module.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// An entry's three blocks (its context, its source, its module), when its bytes are as they were written: its
    /// magic, a checksum of the rest that matches, and the blocks filling the rest exactly. What <see cref="Find"/>
    /// uses and <see cref="Verify"/> checks.
    /// </summary>
    private static bool Parse(Span<byte> entry, out Span<byte> context, out Span<byte> source, out Span<byte> module)
    {
        context = source = module = default;
        if (entry.Length < Magic.Length + ChecksumBytes || !entry.StartsWith(Magic)) return false;
        var blocks = entry[Magic.Length..^ChecksumBytes];
        if (XxHash64.HashToUInt64(blocks) != BinaryPrimitives.ReadUInt64LittleEndian(entry[^ChecksumBytes..])) return false;
        return Block(ref blocks, out context) && Block(ref blocks, out source) && Block(ref blocks, out module) && blocks.Length == 0;
    }

    /// <summary>A block of the entry: its length (4 bytes, little-endian), then its bytes; false when the entry ends first.</summary>
    private static bool Block(scoped ref Span<byte> entry, out Span<byte> block)
    {
        block = default;
        if (entry.Length < 4) return false;
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(entry);
        if (length > entry.Length - 4) return false;
        block = entry.Slice(4, (int)length);
        entry = entry[(4 + (int)length)..];
        return true;
    }

    /// <summary>Stores the module compiled from <paramref name="source"/> in <paramref name="context"/>; false when it could not.</summary>
    public bool Store(string context, byte[] source, byte[] module)
    {
        byte[] contextBytes = Encoding.UTF8.GetBytes(context);
        string path = PathOf(contextBytes, source);
        try
        {
            UserFiles.CreatePrivateDirectory(Root);
            // Not flushed to disk: an entry cut short by a crash does not parse, and is compiled again.
            Hlvm.Runtime.Host.AtomicFile.Write(path, stream =>
            {
                stream.Write(Magic);
                var checksum = new XxHash64();
                Span<byte> number = stackalloc byte[ChecksumBytes];
                foreach (var block in new[] { contextBytes, source, module })
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(number, (uint)block.Length);
                    stream.Write(number[..4]);
                    stream.Write(block);
                    checksum.Append(number[..4]);
                    checksum.Append(block);
                }
                BinaryPrimitives.WriteUInt64LittleEndian(number, checksum.GetCurrentHashAsUInt64());
                stream.Write(number);
            }, flushToDisk: false);
            Trim();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The entries kept, and their bytes in all.</summary>
    public (int Count, long Bytes) Size()
    {
        if (!Directory.Exists(Root)) return (0, 0);
        var entries = new DirectoryInfo(Root).GetFiles("*.hlc");
        long bytes = 0;
        foreach (var entry in entries) bytes += entry.Length;
        return (entries.Length, bytes);
    }

    /// <summary>
    /// Checks every entry as <see cref="Find"/> would before using it (<see cref="Parse"/>) and removes those that
    /// fail; returns their file names and how many entries were checked.
    /// </summary>
    public (List<string> Removed, int Checked) Verify()
    {
        var removed = new List<string>();
        if (!Directory.Exists(Root)) return (removed, 0);
        var files = new DirectoryInfo(Root).GetFiles("*.hlc");
        Array.Sort(files, (a, b) => string.CompareOrdinal(a.Name, b.Name));
        int checkedCount = 0;
        foreach (var file in files)
        {
            byte[] entry;
            try
            {
                entry = file.Length > MaxEntryBytes ? [] : File.ReadAllBytes(file.FullName);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { continue; } // removed meanwhile
            checkedCount++;
            if (Parse(entry, out _, out _, out _)) continue;
            removed.Add(file.Name);
            try { file.Delete(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* reported; Find ignores it still */ }
        }
        return (removed, checkedCount);
    }

    /// <summary>Removes the entries used longest ago past <see cref="MaxEntries"/>.</summary>
    private void Trim()
    {
        var entries = new DirectoryInfo(Root).GetFiles("*.hlc");
        if (entries.Length <= MaxEntries) return;
        Array.Sort(entries, (a, b) => b.LastWriteTimeUtc.CompareTo(a.LastWriteTimeUtc));
        for (int i = MaxEntries; i < entries.Length; i++)
        {
            try { entries[i].Delete(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* another run removed it */ }
        }
    }
}
