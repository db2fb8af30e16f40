using Hlvm.Runtime.Host;

namespace Hlvm.Sandbox.Bundles;

/// <summary>The resources of a bundle as the app's read-only <c>/app</c>: each is fetched (and verified) when
/// the app first reads it, never before.</summary>
public sealed class BundleAppFiles : IAppFiles
{
    private readonly Bundle _bundle;
    private readonly Dictionary<string, BundleEntry> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _directories = new(StringComparer.Ordinal) { [""] = new(StringComparer.Ordinal) };

    public BundleAppFiles(Bundle bundle)
    {
        _bundle = bundle;
        foreach (var entry in bundle.Front.Entries.Where(e => e.Kind == EntryKind.Resource))
        {
            _files[entry.Name] = entry;
            var parts = entry.Name.Split('/');
            for (int i = 0; i < parts.Length; i++)
            {
                string dir = string.Join('/', parts[..i]);
                if (!_directories.TryGetValue(dir, out var children)) _directories[dir] = children = new(StringComparer.Ordinal);
                children.Add(parts[i]);
            }
        }
    }

    public byte[]? Read(string[] path, string shown)
    {
        if (!_files.TryGetValue(string.Join('/', path), out var entry)) return null;
        try
        {
            return _bundle.Read(entry);
        }
        catch (BundleException e)
        {
            throw FileErrors.Fail("read", shown, e.Message);
        }
    }

    public bool IsDirectory(string[] path) => _directories.ContainsKey(string.Join('/', path));

    public bool Exists(string[] path) => IsDirectory(path) || _files.ContainsKey(string.Join('/', path));

    public string[]? List(string[] path) => _directories.TryGetValue(string.Join('/', path), out var children) ? [.. children] : null;
}
