namespace Hlvm.Sandbox;

/// <summary>Paths as a sandboxed program sees them: <c>/app</c>, <c>/data</c> and the host paths it was granted.</summary>
public static class VirtualPath
{
    public const string App = "/app", Data = "/data";

    /// <summary>Host directories a program never sees, whatever it was granted: they expose the host process
    /// itself (<c>/proc/self/mem</c>), its devices and its kernel.</summary>
    public static readonly string[] Hidden = ["/proc", "/dev", "/sys"];

    /// <summary>Whether a path is inside one of the app's own trees, <c>/app</c> or <c>/data</c>.</summary>
    public static bool IsVirtual(string path) => IsUnder(path, App) || IsUnder(path, Data);

    /// <summary>Whether a normalized path is <paramref name="root"/> or inside it.</summary>
    public static bool IsUnder(string path, string root) =>
        root == "/" || path == root || path.StartsWith(root + "/", StringComparison.Ordinal);

    /// <summary>Whether a normalized path is in a hidden host directory, or a variant of one's name.</summary>
    public static bool IsHidden(string path)
    {
        string folded = Permissions.Fold(path);
        return Hidden.Any(h => IsUnder(folded, Permissions.Fold(h)));
    }

    /// <summary>
    /// The absolute form of a path, relative ones taken from <paramref name="cwd"/>, with <c>.</c> and
    /// <c>..</c> removed as text (a <c>..</c> at the root stays there). For deciding permissions only: the
    /// file system resolves the path itself, <c>..</c> and symbolic links included, inside the root it chose.
    /// </summary>
    public static string Normalize(string path, string cwd)
    {
        var parts = new List<string>();
        foreach (var part in Components(path.StartsWith('/') ? path : cwd + "/" + path))
        {
            if (part == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); }
            else parts.Add(part);
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>The components of a path, without empty ones and <c>.</c> (<c>..</c> kept).</summary>
    public static string[] Components(string path)
    {
        // A loop, not LINQ: every isolate's file system normalizes its working directory, and nothing else on the
        // way to a program's main uses LINQ (loading it and its iterator types costs a short run about 2 ms).
        var parts = new List<string>();
        foreach (string part in path.Split('/'))
            if (part.Length > 0 && part != ".") parts.Add(part);
        return [.. parts];
    }
}
