using System.Text.Json;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Sandbox;

/// <summary>
/// What an app's storage says about whose it is, kept in its directory as <c>about.json</c> so that
/// <c>hlvm data list</c> and <c>hlvm rm</c> can name it: a program's directory, or a bundle's name, version,
/// signer and location. Written by the isolate when a run leaves storage behind.
/// </summary>
/// <param name="Kind"><c>program</c> (run from a directory) or <c>bundle</c></param>
public sealed record AppAbout(string Kind, string Name, string? Directory = null, string? Version = null, string? Signer = null, string? Location = null)
{
    public const string FileName = "about.json";

    /// <summary>A program run from a directory: every program in it shares its storage. The directory is named
    /// with its links resolved, as its storage is found (<see cref="AppStorage.DirectoryFor"/>).</summary>
    public static AppAbout Program(string directory)
    {
        var (full, name) = AppStorage.ProgramDirectory(directory);
        return new("program", name, full.Length == 0 ? "/" : full);
    }

    /// <summary>A bundle's app, from its verified front.</summary>
    public static AppAbout Bundle(BundleFront front, string? location) =>
        new("bundle", front.Manifest.Name, Version: front.Manifest.Version,
            Signer: front.PublicKey is { } key ? Signing.FormatPublicKey(key) : null, Location: location);

    /// <summary>The app in a few words: "the programs in /home/u/notes", "greeter 1.0.0, signed by ed25519:...".</summary>
    public string Describe() => Kind == "program"
        ? $"the programs in {Directory}"
        : $"{Name}{(Version is null ? "" : " " + Version)}, {(Signer is null ? (Location is null ? "unsigned" : $"unsigned, from {Location}") : $"signed by {Signer}")}";

    /// <summary>Reads a storage directory's record, or null when it has none or it is unreadable.</summary>
    public static AppAbout? Read(string storage)
    {
        try
        {
            var fields = JsonSerializer.Deserialize<Dictionary<string, string?>>(File.ReadAllText(Path.Combine(storage, FileName)));
            if (fields is null || fields.GetValueOrDefault("kind") is not { } kind || fields.GetValueOrDefault("name") is not { } name) return null;
            return new(kind, name, fields.GetValueOrDefault("directory"), fields.GetValueOrDefault("version"),
                fields.GetValueOrDefault("signer"), fields.GetValueOrDefault("location"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Writes the record into an existing storage directory, unless it says this already.</summary>
    public void WriteTo(string storage)
    {
        if (!System.IO.Directory.Exists(storage) || Read(storage) == this) return;
        var fields = new Dictionary<string, string?> { ["kind"] = Kind, ["name"] = Name };
        if (Directory is not null) fields["directory"] = Directory;
        if (Version is not null) fields["version"] = Version;
        if (Signer is not null) fields["signer"] = Signer;
        if (Location is not null) fields["location"] = Location;
        Hlvm.Runtime.Host.AtomicFile.Write(Path.Combine(storage, FileName), s => JsonSerializer.Serialize(s, fields, new JsonSerializerOptions { WriteIndented = true }));
    }
}

/// <summary>
/// What the original of each copy-on-write copy of an <c>/app</c> file was when the copy was made (its size and
/// modification time), so that a copy whose original has changed since can be told from one that is current.
/// One line per copy in the storage's <c>copies</c> file: the path under <c>/app</c> (escaped), the ticks and the
/// size, appended when the app first writes the file. Only apps run from a directory have such originals; a
/// bundle's files change only with a new bundle.
/// </summary>
public static class CopyOrigins
{
    private const string FileName = "copies";

    private static string Key(IEnumerable<string> rel) => Uri.EscapeDataString(string.Join('/', rel));

    private static (long Ticks, long Size)? StateOf(string appDirectory, IEnumerable<string> rel)
    {
        var file = new FileInfo(Path.Combine([appDirectory, .. rel]));
        return file.Exists ? (file.LastWriteTimeUtc.Ticks, file.Length) : null;
    }

    private static Dictionary<string, (long Ticks, long Size)> Read(string storage)
    {
        var origins = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(storage, FileName)))
            {
                var parts = line.Split('\t');
                if (parts.Length == 3 && long.TryParse(parts[1], out long ticks) && long.TryParse(parts[2], out long size)) origins.TryAdd(parts[0], (ticks, size));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* none recorded */ }
        return origins;
    }

    /// <summary>Notes the original's state when its copy is first made (a later write to the copy keeps the first note).</summary>
    public static void RecordIfNew(string storage, string appDirectory, string[] rel)
    {
        string key = Key(rel);
        try
        {
            if (Read(storage).ContainsKey(key)) return;
            var state = StateOf(appDirectory, rel) ?? (0, -1); // no original: the app made the file
            File.AppendAllText(Path.Combine(storage, FileName), $"{key}\t{state.Ticks}\t{state.Size}\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the copy is made; only the note of it is lost */ }
    }

    /// <summary>Whether the original of a copy has changed (or appeared, or gone) since the copy was made.</summary>
    public static bool IsStale(string storage, string appDirectory, string[] rel)
    {
        try
        {
            return Read(storage).TryGetValue(Key(rel), out var then) && (StateOf(appDirectory, rel) ?? (0, -1)) != then;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The copies of <c>/app</c> files in a storage directory whose originals changed since, as paths under <c>/app</c>.</summary>
    public static List<string> Stale(string storage, string appDirectory)
    {
        var stale = new List<string>();
        foreach (var (key, then) in Read(storage))
        {
            var rel = Uri.UnescapeDataString(key).Split('/');
            if (File.Exists(Path.Combine([storage, "app", .. rel])) && (StateOf(appDirectory, rel) ?? (0, -1)) != then) stale.Add("/app/" + string.Join('/', rel));
        }
        stale.Sort(StringComparer.Ordinal);
        return stale;
    }

    /// <summary>Removes the copies and their records: the app sees its originals again.</summary>
    public static void Remove(string storage)
    {
        string copies = Path.Combine(storage, "app");
        if (System.IO.Directory.Exists(copies)) System.IO.Directory.Delete(copies, recursive: true);
        File.Delete(Path.Combine(storage, FileName));
    }
}

/// <summary>
/// The apps that have left something on this machine: private storage (<c>/data</c> and copies of <c>/app</c>
/// files) under <see cref="AppStorage.Root"/>, or a bundle's cached entries. Each is known by an id: a bundle's
/// <c>NAME-SIGNER</c> (<see cref="Bundle.AppIdOf"/>), or a program directory's <c>NAME-HASH</c>
/// (<see cref="AppStorage.DirectoryFor"/>).
/// </summary>
public static class StoredApps
{
    /// <param name="Storage">its storage directory, or null when it has none (only cached entries)</param>
    /// <param name="CachedEntries">the cache entries it used (bundles)</param>
    public sealed record App(string Id, AppAbout? About, string? Storage, int CachedEntries)
    {
        public bool IsBundle => About?.Kind == "bundle" || Storage is null || Path.GetFileName(Path.GetDirectoryName(Storage)) == "bundles";

        /// <summary>The name the app goes by: its manifest's, or its directory's.</summary>
        public string Name => About?.Name ?? Id[..Math.Max(0, Id.LastIndexOf('-'))];

        /// <summary>The app in a few words, for listings and questions.</summary>
        public string Describe() => About?.Describe() ?? (IsBundle ? $"{Name} (a bundle; its signer is not recorded)" : "a program (its directory is not recorded)");
    }

    /// <summary>Every app with storage or cached entries, by id.</summary>
    public static List<App> All(ContentCache cache)
    {
        var apps = new Dictionary<string, App>(StringComparer.Ordinal);
        foreach (var kind in (string[])["programs", "bundles"])
        {
            string dir = Path.Combine(AppStorage.Root, kind);
            if (!System.IO.Directory.Exists(dir)) continue;
            foreach (var storage in System.IO.Directory.EnumerateDirectories(dir))
            {
                string id = Path.GetFileName(storage);
                apps[id] = new App(id, AppAbout.Read(storage), storage, 0);
            }
        }
        foreach (var (id, hashes) in cache.Apps())
        {
            int entries = hashes.Count(h => !h.StartsWith("front:", StringComparison.Ordinal));
            var about = apps.TryGetValue(id, out var known) && known.About is not null ? known.About : FromCachedFront(cache, id);
            apps[id] = new App(id, about, known?.Storage, entries);
        }
        return [.. apps.Values.OrderBy(a => a.Id, StringComparer.Ordinal)];
    }

    private static AppAbout? FromCachedFront(ContentCache cache, string id)
    {
        foreach (var bytes in cache.FrontsOf(id))
        {
            try
            {
                var front = BundleFront.Read(bytes);
                // A signed front must be this signer's; an unsigned one's id came from its location, which the cache does not keep.
                bool mine = front.PublicKey is null ? id.StartsWith(front.Manifest.Name + "-", StringComparison.Ordinal) : Bundles.Bundle.AppIdOf(front, "") == id;
                if (mine) return AppAbout.Bundle(front, null);
            }
            catch (BundleException) { /* a damaged front: try another */ }
        }
        return null;
    }

    /// <summary>The files and bytes under a directory (none when it is missing).</summary>
    public static (int Files, long Bytes) Usage(string? directory)
    {
        if (directory is null || !System.IO.Directory.Exists(directory)) return (0, 0);
        int files = 0;
        long bytes = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            files++;
            bytes += file.Length;
        }
        return (files, bytes);
    }

    /// <summary>Removes an app's storage and its cached entries that no other app uses; returns how many entries went.</summary>
    public static int Remove(App app, ContentCache cache)
    {
        int removed = cache.RemoveApp(app.Id);
        if (app.Storage is not null && System.IO.Directory.Exists(app.Storage)) System.IO.Directory.Delete(app.Storage, recursive: true);
        return removed;
    }
}
