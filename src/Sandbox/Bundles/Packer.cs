using System.IO.Compression;
using Tomlyn;
using Tomlyn.Model;

namespace Hlvm.Sandbox.Bundles;

/// <summary>
/// <c>hlvm pack</c>: an app directory to one bundle file. The directory holds its manifest, <c>hlvm.toml</c>:
/// <code>
///   name = "myapp"                     # letters, digits, '-', '_', '.'
///   version = "1.0.0"
///   entry = "main.hl"                  # the program; its modules are linked into one
///   permissions = ["net:127.0.0.1:8080", "read:/srv/shared"]   # optional: what it will ask the user for
///   startup = ["data/splash.txt"]      # optional: resources read at start, stored first
///   min-runtime = "0.1.0"              # optional
/// </code>
/// Every other file in the directory except sources (<c>.hl</c>), hidden files, <c>hlvm.toml</c>, private keys
/// (<c>.key</c>) and bundles (<c>.hlb</c>) becomes a resource, seen at <c>/app/PATH</c>. The compiled module comes first, then the startup resources, then the
/// rest by name, so that a reader streaming the bundle meets what starts the app first.
/// </summary>
public static partial class Packer
{
    public const string ManifestFile = "hlvm.toml";

    /// <summary>What the app directory's manifest says.</summary>
    public sealed record AppManifest(string Name, string Version, string Entry, IReadOnlyList<string> Permissions, IReadOnlyList<string> Startup, string MinRuntime);

    /// <summary>A TOML syntax error as the compiler shows its own: <c>hlvm.toml:2:11: error: message</c>, one line each,
    /// one a line (as the compiler reports syntax errors: the parser's recovery from the first finds echoes of it, an
    /// unclosed string said again, as an end of file, where the next line ends).</summary>
    private static string TomlErrors(string path, TomlException e)
    {
        if (e.Diagnostics is { Count: > 0 } diagnostics)
            return string.Join("\n", diagnostics.DistinctBy(d => d.Span.Start.Line)
                .Select(d => $"{path}:{d.Span.Start.Line + 1}:{d.Span.Start.Column + 1}: {(d.Kind == Tomlyn.Syntax.DiagnosticMessageKind.Warning ? "warning" : "error")}: {Said(d.Message)}"));
        return e.Line is { } line && e.Column is { } column ? $"{path}:{line}:{column}: error: {Unadvised(e.Message)}" : $"{path}: error: {Unadvised(e.Message)}";
    }

    /// <summary>A diagnostic's message in hlvm's words: begun in lower case, as every other of hlvm's ("Invalid
    /// newline in a string").</summary>
    private static string Said(string message)
    {
        message = Unadvised(message);
        return message.Length > 1 && char.IsUpper(message[0]) && !char.IsUpper(message[1]) ? char.ToLowerInvariant(message[0]) + message[1..] : message;
    }

    /// <summary>The parser's message without its advice to its own programmer (raise <c>TomlSerializerOptions.MaxDepth</c>),
    /// and a key defined twice said without the first definition's text (which may span lines) and with its line as
    /// hlvm says lines.</summary>
    private static string Unadvised(string message) => TomlRedefined().Replace(
        TomlLimit().Replace(message, "this value nests deeper than a manifest may (at most $1 levels)"), "'$1' is defined twice (first on line $2)");

    [System.Text.RegularExpressions.GeneratedRegex(@"The maximum depth of (\d+) has been exceeded\. Change TomlSerializerOptions\.MaxDepth to allow deeper nesting\.")]
    private static partial System.Text.RegularExpressions.Regex TomlLimit();

    [System.Text.RegularExpressions.GeneratedRegex(@"The key `([^`]*)` is already defined at \((\d+),\d+\) with `.*` and cannot be redefined", System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex TomlRedefined();

    /// <exception cref="BundleException">no manifest, or a manifest that is wrong (the message says where)</exception>
    public static AppManifest ReadManifest(string directory)
    {
        string path = Path.Combine(directory, ManifestFile);
        if (!File.Exists(path)) throw new BundleException($"{path}: no such file: an app directory needs a manifest (name, version, entry)");
        TomlTable table;
        try
        {
            string text = ReadManifestText(path);
            table = TomlSerializer.Deserialize<TomlTable>(text) ?? throw new BundleException($"{path}: empty manifest");
            // The deserializer into a table takes a key defined twice (the last definition wins); the strict
            // parser's check of the document refuses it, as TOML does. (Its reports of the errors the deserializer
            // finds are less exact: a value nested too deep without its line.)
            Tomlyn.Parsing.SyntaxParser.ParseStrict(text, TomlSerializerOptions.Default, path, true);
        }
        catch (TomlException e)
        {
            throw new BundleException(TomlErrors(path, e));
        }
        string Text(string key, string? fallback = null) =>
            table.TryGetValue(key, out var v) ? v as string ?? throw new BundleException($"{path}: '{key}' must be a string")
            : fallback ?? throw new BundleException($"{path}: '{key}' is missing");
        IReadOnlyList<string> List(string key) =>
            !table.TryGetValue(key, out var v) ? []
            : v is TomlArray a && a.All(x => x is string) ? a.Cast<string>().ToList()
            : throw new BundleException($"{path}: '{key}' must be a list of strings");
        foreach (var key in table.Keys)
            if (key is not ("name" or "version" or "entry" or "permissions" or "startup" or "min-runtime"))
                throw new BundleException($"{path}: unknown key '{key}' (the keys are name, version, entry, permissions, startup, min-runtime)");
        var manifest = new AppManifest(Text("name"), Text("version"), Text("entry"), List("permissions"), List("startup"), Text("min-runtime", "0.1.0"));
        // The same rules as a bundle's reader applies (the module's name stands in for the entry here).
        if (BundleFront.CheckManifest(new BundleManifest
            {
                Name = manifest.Name, Version = manifest.Version, Entry = "main.hlc", Permissions = manifest.Permissions, MinRuntime = manifest.MinRuntime,
            }) is { } wrong)
            throw new BundleException($"{path}: the manifest's {wrong.Replace("minRuntime", "min-runtime")}");
        return manifest;
    }

    /// <summary>The manifest's text, read as a program is (a regular file of bounded size: a FIFO named hlvm.toml
    /// blocked the packer).</summary>
    private static string ReadManifestText(string path)
    {
        try
        {
            return SourceFiles.ReadNamedText(path);
        }
        catch (SourceFileException e)
        {
            throw new BundleException($"{path}: {e.Reason}");
        }
    }

    /// <summary>A requested permission, <c>net:127.0.0.1:8080</c> or <c>env</c>: its kind and target (null for all).</summary>
    public static bool TryParsePermission(string text, out string kind, out string? target) => Permissions.TryParseRequest(text, out kind, out target);

    /// <summary>Packs an app directory into a bundle file, written atomically.</summary>
    /// <param name="compile">the module bytes of the entry source file (the caller's compiler); throws <see cref="BundleException"/> on errors</param>
    /// <param name="privateKey">the signer's private key text, or null for an unsigned bundle</param>
    /// <param name="progress">told of progress on large apps</param>
    /// <returns>the front of the bundle written</returns>
    public static BundleFront Pack(string directory, string output, Func<string, byte[]> compile, string? privateKey, Action<string>? progress = null)
    {
        var manifest = ReadManifest(directory);
        string entryPath = EntryPath(directory, manifest.Entry);
        var signer = privateKey is null ? null : Signing.Signer(privateKey);
        string moduleName = Path.ChangeExtension(manifest.Entry, ".hlc").Replace('\\', '/');

        var leftOut = new List<(string Name, string Why)>();
        var files = Resources(directory, leftOut);
        // A file of the app that is not a regular file (a FIFO, a socket, a device) is refused: reading a FIFO
        // blocked the packer for good, and a device such as /dev/zero never ends.
        foreach (var file in files.Where(f => Hlvm.Runtime.Host.AtomicFile.IsSpecial(Path.Combine(directory, f))))
            throw new BundleException($"the app's file '{file}' is not a regular file (a pipe, a socket or a device): a bundle holds regular files only; remove it");
        var startup = manifest.Startup.ToHashSet(StringComparer.Ordinal);
        foreach (var name in startup.Where(n => !files.Contains(n)))
            throw new BundleException($"{Path.Combine(directory, ManifestFile)}: the startup resource '{name}' "
                + (leftOut.FirstOrDefault(l => l.Name == name || name.StartsWith(l.Name, StringComparison.Ordinal) && l.Name.EndsWith('/')) is { Name: not null } why
                    ? $"is left out of every bundle ({(why.Name == name ? "" : why.Name + ": ")}{why.Why})"
                    : name == ManifestFile || name.EndsWith(".hl", StringComparison.Ordinal) && File.Exists(Path.Combine(directory, name))
                    ? "is a source file or the manifest, which the bundle holds compiled into its module, not as a resource"
                    : "is not a file of the app"));
        if (leftOut.Count > 0) progress?.Invoke("left out of the bundle: " + string.Join(", ", leftOut.Select(l => $"{l.Name} ({l.Why})")));
        var ordered = files.Where(startup.Contains).Concat(files.Where(f => !startup.Contains(f)));

        if (files.Contains(moduleName)) throw new BundleException($"the app's file '{moduleName}' has the name its compiled program takes in the bundle; rename or remove it");
        // The format's limits, said of the app's files before any is read (the reader of the bundle written said
        // them after all the work, by offsets in the bundle).
        if (files.Count + 1 > BundleFront.MaxEntries)
            throw new BundleException($"the app has {files.Count} files; a bundle holds at most {BundleFront.MaxEntries - 1} besides its program");
        foreach (var f in files.Prepend(moduleName))
        {
            if (BundleFront.CheckName(f) is { } why) throw new BundleException($"the file name '{f}' {why}; rename it");
            if (f == moduleName) continue; // compiled, not read
            long size = new FileInfo(Path.Combine(directory, f)).Length;
            if (size > BundleFront.MaxEntrySize)
                throw new BundleException($"the app's file '{f}' is {size} bytes; a bundle's entry holds at most {BundleFront.MaxEntrySize}");
        }
        var contents = new List<(string Name, EntryKind Kind, byte[] Data)> { (moduleName, EntryKind.Module, compile(entryPath)) };
        contents.AddRange(ordered.Select(f => (f, EntryKind.Resource, ReadAppFile(directory, f))));
        long total = contents.Sum(c => (long)c.Data.Length), done = 0;
        int lastReported = 0;

        var entries = new List<BundleEntry>();
        var stored = new List<byte[]>();
        long offset = 0;
        foreach (var (name, kind, data) in contents)
        {
            var compressed = Compress(data);
            bool useIt = compressed.Length < data.Length;
            var bytes = useIt ? compressed : data;
            entries.Add(new BundleEntry(name, kind, useIt ? Compression.Brotli : Compression.None, offset, bytes.Length, data.Length, BundleFront.Hash(data)));
            stored.Add(bytes);
            offset += bytes.Length;
            done += data.Length;
            int percent = total == 0 ? 100 : (int)(done * 100 / total);
            if (total > 8 << 20 && percent / 10 > lastReported / 10)
            {
                lastReported = percent;
                progress?.Invoke($"packed {done >> 20} of {total >> 20} MiB ({percent}%)");
            }
        }
        var front = BundleFront.Write(new BundleManifest
        {
            Name = manifest.Name, Version = manifest.Version, Entry = moduleName, Permissions = manifest.Permissions, MinRuntime = manifest.MinRuntime,
        }, entries, signer);
        var written = BundleFront.Read(front); // what a reader will check, checked before anything is written

        Hlvm.Runtime.Host.AtomicFile.Write(output, file =>
        {
            file.Write(front);
            foreach (var bytes in stored) file.Write(bytes);
        });
        return written;
    }

    /// <summary>
    /// The path of the manifest's entry, a source file of the app: named relative to the app's directory (no '..',
    /// not absolute, as a bundle's names are), neither hidden nor reached through a symbolic link, as its resources
    /// are not. The entry was taken as any path: `entry = "/etc/passwd"`, or a link out of the directory, was
    /// compiled (its first line printed in the compile error), and packed when it compiled.
    /// </summary>
    private static string EntryPath(string directory, string entry)
    {
        string manifest = Path.Combine(directory, ManifestFile);
        if (BundleFront.CheckName(entry) is { } why)
            throw new BundleException($"{manifest}: the entry '{ControlCharacters.MakeVisible(entry)}' {why}: name a source file of the app by its path in the app's directory");
        if (!entry.EndsWith(".hl", StringComparison.Ordinal))
            throw new BundleException($"{manifest}: the entry '{ControlCharacters.MakeVisible(entry)}' is not a source file (.hl)");
        string at = directory;
        foreach (var part in entry.Split('/'))
        {
            at = Path.Combine(at, part);
            if (part.StartsWith('.')) throw new BundleException($"{manifest}: the entry '{entry}' is hidden (a name that starts with '.'), which pack leaves out");
            if (new FileInfo(at).LinkTarget is not null) throw new BundleException($"{manifest}: the entry '{entry}' is reached through a symbolic link ({Path.GetRelativePath(directory, at)}), which pack leaves out");
        }
        if (!File.Exists(at)) throw new BundleException($"{manifest}: the entry '{entry}' does not exist");
        if (Hlvm.Runtime.Host.AtomicFile.IsSpecial(at)) throw new BundleException($"{manifest}: the entry '{entry}' is not a regular file (a pipe, a socket or a device)");
        return at;
    }

    /// <summary>
    /// The app's resources, as sorted relative paths: its files but its sources (.hl, compiled into the module) and
    /// the manifest; and what is left out for another reason, each with it (<paramref name="leftOut"/>): symbolic
    /// links, hidden files and directories, signing keys, earlier bundles. Those were left out without a word, and
    /// a startup resource that is a link was "not a file of the app".
    /// </summary>
    private static List<string> Resources(string directory, List<(string Name, string Why)> leftOut)
    {
        var files = new List<string>();
        void Walk(string relative)
        {
            var at = new DirectoryInfo(relative.Length == 0 ? directory : Path.Combine(directory, relative));
            foreach (var entry in at.EnumerateFileSystemInfos())
            {
                string name = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
                // .NET reads a name that is not UTF-8 with U+FFFD in its bad bytes' place: a name no file has.
                if (name.Contains('\uFFFD'))
                    throw new BundleException($"the app's file name '{name}' is not UTF-8 (shown with \uFFFD for its bad bytes): a bundle's names are UTF-8; rename it");
                bool isDirectory = entry is DirectoryInfo;
                string shown = isDirectory ? name + "/" : name;
                if (entry.LinkTarget is not null) leftOut.Add((shown, "a symbolic link"));
                else if (entry.Name.StartsWith('.')) leftOut.Add((shown, "hidden"));
                else if (isDirectory) Walk(name);
                else if (name == ManifestFile || name.EndsWith(".hl", StringComparison.Ordinal)) continue;
                else if (name.EndsWith(".key", StringComparison.Ordinal)) leftOut.Add((name, "a signing key"));
                else if (name.EndsWith(".hlb", StringComparison.Ordinal)) leftOut.Add((name, "a bundle"));
                else files.Add(name);
            }
        }
        Walk("");
        files.Sort(StringComparer.Ordinal);
        leftOut.Sort((a, b) => StringComparer.Ordinal.Compare(a.Name, b.Name));
        return files;
    }

    /// <summary>A file of the app, or why it can't be read, as an error of the app (exit 65): it was reported as a
    /// failure to write the bundle (exit 73).</summary>
    private static byte[] ReadAppFile(string directory, string file)
    {
        try
        {
            return File.ReadAllBytes(Path.Combine(directory, file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BundleException($"the app's file '{file}' can't be read: {(e is UnauthorizedAccessException ? "permission denied" : e is FileNotFoundException ? "it is gone" : e.Message)}");
        }
    }

    private static byte[] Compress(byte[] data)
    {
        using var output = new MemoryStream();
        using (var brotli = new BrotliStream(output, CompressionLevel.Optimal, leaveOpen: true)) brotli.Write(data);
        return output.ToArray();
    }
}
