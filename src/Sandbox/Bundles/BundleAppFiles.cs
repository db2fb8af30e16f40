using Hlvm.Runtime.Host;

namespace Hlvm.Sandbox.Bundles;

/// <summary>The resources of a bundle as the app's read-only <c>/app</c>: each is fetched (and verified) when
/// the app first reads it, never before.</summary>
public sealed class BundleAppFiles : IAppFiles
{
    private readonly Bundle _bundle;
    private readonly Dictionary<string, BundleEntry> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _directories = new(StringComparer.Ordinal) { [""] = new(StringComparer.Ordinal) };

    private readonly long _maxBytes;

    /// <summary>Cancelled when the app is stopped: a fetch it waits for ends then (set by the isolate).</summary>
    public CancellationToken Cancellation { get; set; }

    /// <param name="maxBytes">the app's heap limit: a resource that could not fit in it is refused before it is fetched</param>
    public BundleAppFiles(Bundle bundle, long maxBytes = long.MaxValue)
    {
        _bundle = bundle;
        _maxBytes = maxBytes;
        foreach (var entry in bundle.Front.Entries.Where(e => e.Kind == EntryKind.Resource))
        {
            _files[entry.Name] = entry;
            // Each directory on the name's path lists the next component: from the deepest up, stopping at the first
            // directory already known (its own ancestors are then known too).
            for (int end = entry.Name.Length; ;)
            {
                int slash = entry.Name.LastIndexOf('/', end - 1);
                string dir = slash < 0 ? "" : entry.Name[..slash];
                bool known = _directories.TryGetValue(dir, out var children);
                if (!known) _directories[dir] = children = new(StringComparer.Ordinal);
                children!.Add(entry.Name[(slash + 1)..end]);
                if (known || slash < 0) break;
                end = slash;
            }
        }
    }

    public byte[]? Read(string[] path, string shown)
    {
        if (!_files.TryGetValue(string.Join('/', path), out var entry)) return null;
        // Every encoding takes at least a quarter byte per UTF-16 unit, as std.fs reckons: what can't fit isn't fetched.
        if (entry.Size / 4 * 2 > _maxBytes)
            throw new Runtime.Execution.VmError(Runtime.Execution.ErrorClasses.OutOfMemory, $"cannot read \"{shown}\": the file's {entry.Size} bytes exceed the heap limit");
        try
        {
            return _bundle.Read(entry, Cancellation);
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
