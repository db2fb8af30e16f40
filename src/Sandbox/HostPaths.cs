namespace Hlvm.Sandbox;

/// <summary>Paths of the host's file system as the kernel resolves them.</summary>
public static class HostPaths
{
    /// <summary>The absolute path with every symbolic link in it resolved, as far as it exists (on Linux; elsewhere the
    /// absolute path).</summary>
    public static string Real(string path)
    {
        string full = Path.GetFullPath(path);
        return (OperatingSystem.IsLinux() ? LinuxFiles.RealPathOf(full) : null) ?? full;
    }

    /// <summary>Whether <paramref name="path"/>, links resolved, is <paramref name="directory"/> or beneath it.</summary>
    public static bool IsWithin(string path, string directory)
    {
        string real = Real(path), dir = Real(directory).TrimEnd('/');
        return real == dir || real.StartsWith(dir + "/", StringComparison.Ordinal);
    }
}
