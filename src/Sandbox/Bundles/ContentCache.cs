using System.Security.Cryptography;
using System.Text;

namespace Hlvm.Sandbox.Bundles;

/// <summary>
/// The cache of bundle entries, shared by every app and every process: each entry's contents in a file named by
/// their SHA-256 (<c>entries/ab/abcd...</c>). A file enters the cache only whole and verified: it is written
/// under a temporary name, its hash checked, and renamed into place, so readers never see a partial entry and
/// two processes storing the same entry at once both succeed. The fronts of bundles (to run again offline) and
/// which entries each app used (for <c>hlvm rm</c>) are kept beside them.
/// </summary>
public sealed class ContentCache(string root)
{
    /// <summary><c>$HLVM_CACHE_HOME</c>, else <c>$XDG_CACHE_HOME/hlvm</c>, else <c>~/.cache/hlvm</c>.</summary>
    public static string DefaultRoot =>
        Environment.GetEnvironmentVariable("HLVM_CACHE_HOME") is { Length: > 0 } own ? own
        : Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? Path.Combine(xdg, "hlvm")
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "hlvm");

    public string Root { get; } = root;

    private string EntryPath(string hash) => Path.Combine(Root, "entries", hash[..2], hash);

    /// <summary>An entry's contents if the cache has them and they still hash right; null otherwise (a damaged
    /// file is removed).</summary>
    public byte[]? TryGet(byte[] hash)
    {
        string path = EntryPath(Convert.ToHexStringLower(hash));
        byte[] contents;
        try
        {
            contents = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        if (SHA256.HashData(contents).AsSpan().SequenceEqual(hash)) return contents;
        TryDelete(path);
        return null;
    }

    /// <summary>Stores verified contents under their hash (a no-op if they are there).</summary>
    public void Put(byte[] hash, byte[] contents)
    {
        if (!SHA256.HashData(contents).AsSpan().SequenceEqual(hash)) throw new InvalidOperationException("only verified contents enter the cache");
        string path = EntryPath(Convert.ToHexStringLower(hash));
        if (File.Exists(path)) return;
        WriteAtomically(path, contents);
    }

    /// <summary>The cached front of the bundle at a location, to run it again without the network.</summary>
    public byte[]? TryGetFront(string location) =>
        File.Exists(FrontPath(location)) ? File.ReadAllBytes(FrontPath(location)) : null;

    public void PutFront(string location, byte[] front) => WriteAtomically(FrontPath(location), front);

    private string FrontPath(string location) =>
        Path.Combine(Root, "fronts", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(location))));

    /// <summary>Records the entries an app's bundle holds, for <see cref="RemoveApp"/>.</summary>
    public void RecordApp(string appId, IEnumerable<string> hashes) =>
        WriteAtomically(Path.Combine(Root, "apps", appId), Encoding.UTF8.GetBytes(string.Join('\n', hashes.Order(StringComparer.Ordinal)) + "\n"));

    /// <summary>The apps the cache knows, with the entries each uses.</summary>
    public IReadOnlyDictionary<string, string[]> Apps()
    {
        string dir = Path.Combine(Root, "apps");
        if (!Directory.Exists(dir)) return new Dictionary<string, string[]>();
        return Directory.EnumerateFiles(dir).Where(f => !Path.GetFileName(f).StartsWith('.'))
            .ToDictionary(f => Path.GetFileName(f), f => File.ReadAllLines(f).Where(l => l.Length > 0).ToArray());
    }

    /// <summary>Every cached entry: its hash and size.</summary>
    public IEnumerable<(string Hash, long Size)> Entries()
    {
        string dir = Path.Combine(Root, "entries");
        if (!Directory.Exists(dir)) yield break;
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            if (!Path.GetFileName(file).StartsWith('.')) yield return (Path.GetFileName(file), new FileInfo(file).Length);
    }

    /// <summary>Rehashes every entry; removes and returns those that no longer match their names.</summary>
    public List<string> Verify()
    {
        var bad = new List<string>();
        foreach (var (hash, _) in Entries().ToList())
        {
            string path = EntryPath(hash);
            if (!Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))).Equals(hash, StringComparison.Ordinal))
            {
                bad.Add(hash);
                TryDelete(path);
            }
        }
        return bad;
    }

    /// <summary>Forgets an app and removes the entries no other app uses; returns how many were removed.</summary>
    public int RemoveApp(string appId)
    {
        var apps = Apps();
        if (!apps.TryGetValue(appId, out var mine)) return 0;
        var others = apps.Where(a => a.Key != appId).SelectMany(a => a.Value).ToHashSet(StringComparer.Ordinal);
        int removed = 0;
        foreach (var hash in mine.Where(h => !others.Contains(h)))
        {
            string path = EntryPath(hash);
            if (TryDelete(path)) removed++;
            TryDeleteEmpty(Path.GetDirectoryName(path)!);
        }
        TryDelete(Path.Combine(Root, "apps", appId));
        // The fronts of its bundles (kept to run offline) go too.
        string fronts = Path.Combine(Root, "fronts");
        if (Directory.Exists(fronts))
            foreach (var file in Directory.EnumerateFiles(fronts))
            {
                try
                {
                    if (Bundle.AppIdOf(BundleFront.Read(File.ReadAllBytes(file))) == appId) TryDelete(file);
                }
                catch (BundleException)
                {
                    TryDelete(file); // a damaged front is of no use to anyone
                }
            }
        return removed;
    }

    public void Clear()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }

    private static void WriteAtomically(string path, byte[] contents)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(contents);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    private static void TryDeleteEmpty(string directory)
    {
        try
        {
            if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any()) Directory.Delete(directory);
        }
        catch (IOException) { /* another process just stored an entry there */ }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
