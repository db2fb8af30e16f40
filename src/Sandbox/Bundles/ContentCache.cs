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
    public static string DefaultRoot => UserFiles.Root("HLVM_CACHE_HOME", "XDG_CACHE_HOME", ".cache");

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
    /// <exception cref="IOException">the cache can't be written (a full disk): the caller may go on without it</exception>
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

    /// <summary>Whether a name is one the cache gives: a SHA-256 in 64 lower-case hex digits (an entry's, a front's
    /// location's). Nothing else in its directories, or in an app's list, is the cache's.</summary>
    private static bool IsHashName(string name) => name.Length == 64 && name.All(char.IsAsciiHexDigitLower);

    /// <summary>Removes the cached front of the bundle at a location (damaged: see <see cref="Bundle.CachedFrontDamage"/>).</summary>
    public void RemoveFront(string location) => TryDelete(FrontPath(location));

    /// <summary>Checks every cached front (<see cref="Bundle.CachedFrontDamage"/>); removes and returns the damaged
    /// ones (their names and what is wrong), with how many were checked. A damaged front was found only by the
    /// offline run that needed it.</summary>
    public (List<(string Name, string Damage)> Removed, int Checked) VerifyFronts()
    {
        var removed = new List<(string, string)>();
        string dir = Path.Combine(Root, "fronts");
        if (!Directory.Exists(dir)) return (removed, 0);
        int count = 0;
        foreach (var path in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal).ToList())
        {
            string name = Path.GetFileName(path);
            if (!IsHashName(name)) continue;
            byte[] bytes;
            try { bytes = File.ReadAllBytes(path); }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { continue; } // removed meanwhile
            count++;
            if (Bundle.CachedFrontDamage(bytes) is not { } damage) continue;
            removed.Add((name, damage));
            TryDelete(path);
        }
        return (removed, count);
    }

    private string FrontPath(string location) => Path.Combine(Root, "fronts", FrontName(location));

    private static string FrontName(string location) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(location)));

    /// <summary>
    /// The entries an app has shown it holds: each was fetched from its own bundle and matched its hash at least
    /// once. An app gets a cached entry only when it is one of these, so that a bundle can't read, or learn of,
    /// another app's content by naming its hash (it must hold the bytes). Also what <see cref="RemoveApp"/> removes.
    /// </summary>
    public HashSet<string> Proven(string appId)
    {
        string file = AppFile(appId);
        return File.Exists(file)
            ? File.ReadAllLines(file).Where(IsHashName).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);
    }

    /// <summary>Adds entries to an app's <see cref="Proven"/> set (an append: processes running the app at once may both add).</summary>
    public void Prove(string appId, string hash)
    {
        UserFiles.CreatePrivateDirectory(Path.Combine(Root, "apps"));
        File.AppendAllText(AppFile(appId), hash + "\n");
    }

    /// <summary>Notes the front an app was run from, so that <see cref="RemoveApp"/> removes it too.</summary>
    public void RecordFront(string appId, string location)
    {
        // Once per front: every run from a URL added its line again, and the app's file grew without end.
        string line = "front:" + FrontName(location);
        if (!File.Exists(AppFile(appId)) || !File.ReadLines(AppFile(appId)).Contains(line, StringComparer.Ordinal)) Prove(appId, line);
    }

    /// <summary>The cached fronts an app was run from (see <see cref="RecordFront"/>), to tell who it is.</summary>
    public IEnumerable<byte[]> FrontsOf(string appId)
    {
        if (!BundleFront.IsAppName(appId) || !File.Exists(AppFile(appId))) yield break;
        foreach (var line in File.ReadAllLines(AppFile(appId)).Where(l => l.StartsWith("front:", StringComparison.Ordinal)).Distinct())
        {
            string name = line["front:".Length..], path = Path.Combine(Root, "fronts", name);
            if (IsHashName(name) && File.Exists(path)) yield return File.ReadAllBytes(path);
        }
    }

    private string AppFile(string appId) =>
        BundleFront.IsAppName(appId) ? Path.Combine(Root, "apps", appId) : throw new ArgumentException($"'{appId}' is not an app id");

    /// <summary>The apps the cache knows, with the entries each has proven that the cache still holds (one that
    /// <see cref="Verify"/> removed, or a process deleted, is fetched again when the app needs it: counted, it made
    /// an app's count disagree with the cache's own after a verify).</summary>
    public IReadOnlyDictionary<string, string[]> Apps()
    {
        string dir = Path.Combine(Root, "apps");
        if (!Directory.Exists(dir)) return new Dictionary<string, string[]>();
        return Directory.EnumerateFiles(dir).Select(Path.GetFileName).OfType<string>().Where(BundleFront.IsAppName)
            .ToDictionary(id => id, id => Proven(id).Where(hash => File.Exists(EntryPath(hash))).Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>Every cached entry: its hash and size.</summary>
    public IEnumerable<(string Hash, long Size)> Entries()
    {
        string dir = Path.Combine(Root, "entries");
        if (!Directory.Exists(dir)) yield break;
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            // Only files named as the cache names them (64 hex digits, under their first two): nothing else is an entry.
            string name = Path.GetFileName(file);
            if (!IsHashName(name) || Path.GetFileName(Path.GetDirectoryName(file)) != name[..2]) continue;
            long size;
            try { size = new FileInfo(file).Length; }
            catch (FileNotFoundException) { continue; } // removed by another process meanwhile
            yield return (name, size);
        }
    }

    /// <summary>Rehashes every entry; removes and returns those that no longer match their names.</summary>
    public List<string> Verify()
    {
        var bad = new List<string>();
        foreach (var (hash, _) in Entries().ToList())
        {
            string path = EntryPath(hash);
            byte[] contents;
            try { contents = File.ReadAllBytes(path); }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { continue; } // removed meanwhile
            if (!Convert.ToHexStringLower(SHA256.HashData(contents)).Equals(hash, StringComparison.Ordinal))
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
        if (!BundleFront.IsAppName(appId) || !File.Exists(AppFile(appId))) return 0;
        var fronts = File.ReadAllLines(AppFile(appId)).Where(l => l.StartsWith("front:", StringComparison.Ordinal)).Select(l => l["front:".Length..]).ToHashSet();
        var mine = Proven(appId);
        var others = Apps().Where(a => a.Key != appId).SelectMany(a => a.Value).ToHashSet(StringComparer.Ordinal);
        int removed = 0;
        foreach (var hash in mine.Where(h => !others.Contains(h)))
        {
            string path = EntryPath(hash);
            if (TryDelete(path)) removed++;
            TryDeleteEmpty(Path.GetDirectoryName(path)!);
        }
        TryDelete(AppFile(appId));
        foreach (var front in fronts.Where(IsHashName)) TryDelete(Path.Combine(Root, "fronts", front));
        return removed;
    }

    /// <summary>The directories the caches keep under the root: this cache's entries, bundle fronts and apps' lists,
    /// and the compiled programs (<see cref="ProgramCache"/>).</summary>
    public static readonly string[] Directories = ["entries", "fronts", "apps", "programs"];

    /// <summary>
    /// Removes every cached entry, front, app list and compiled program: the caches' own directories under the
    /// root, and nothing else there (the root is the user's choice with <c>HLVM_CACHE_HOME</c>, and may hold other
    /// files, or be the same directory as the apps' data: clearing it whole deleted them).
    /// </summary>
    /// <exception cref="IOException">a file could not be removed (what could be is removed)</exception>
    /// <exception cref="UnauthorizedAccessException">likewise, for want of permission</exception>
    public void Clear()
    {
        foreach (var name in Directories)
        {
            string dir = Path.Combine(Root, name);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static void WriteAtomically(string path, byte[] contents)
    {
        // The cache is the user's own: what apps they ran and what those hold is no one else's business.
        UserFiles.CreatePrivateDirectory(Path.GetDirectoryName(path)!);
        Hlvm.Runtime.Host.AtomicFile.Write(path, stream => stream.Write(contents));
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
