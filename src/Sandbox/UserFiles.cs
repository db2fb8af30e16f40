namespace Hlvm.Sandbox;

/// <summary>Where hlvm keeps a user's files, and how it writes them.</summary>
internal static class UserFiles
{
    /// <summary>
    /// One of hlvm's directories for the user: <c>$HLVM_..._HOME</c> when set, else <c>$XDG_..._HOME/hlvm</c>,
    /// else <paramref name="fallback"/> (components under the home directory, as the XDG base directories give it).
    /// </summary>
    public static string Root(string hlvmVariable, string xdgVariable, params string[] fallback) =>
        Environment.GetEnvironmentVariable(hlvmVariable) is { Length: > 0 } own ? own
        : Environment.GetEnvironmentVariable(xdgVariable) is { Length: > 0 } xdg ? Path.Combine(xdg, "hlvm")
        : Path.Combine([Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), .. fallback, "hlvm"]);

    /// <summary>
    /// hlvm's own directories for the user: its configuration (the trusted keys), the cache of bundle entries,
    /// and the apps' storage. A program never sees them, whatever it was granted: a write there could trust a key
    /// or change another app's data or cached code.
    /// </summary>
    public static string[] OwnDirectories() =>
    [
        .. new[]
        {
            Root("HLVM_CONFIG_HOME", "XDG_CONFIG_HOME", ".config"),
            Root("HLVM_CACHE_HOME", "XDG_CACHE_HOME", ".cache"),
            Root("HLVM_DATA_HOME", "XDG_DATA_HOME", ".local", "share"),
        }.Select(d => Path.GetFullPath(d).TrimEnd('/')).Where(d => d.Length > 0),
    ];

    /// <summary>Makes a directory (and the missing ones above it) readable by its owner only.</summary>
    public static void CreatePrivateDirectory(string path)
    {
        if (Directory.Exists(path)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
