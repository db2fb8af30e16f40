namespace Hlvm.Sandbox;

/// <summary>
/// The app's own files when they are not a host directory (a bundle's resources): what <c>/app</c> shows,
/// read-only. Paths are the components under <c>/app</c>, already free of <c>.</c> and <c>..</c>.
/// </summary>
public interface IAppFiles
{
    /// <summary>A file's contents, or null when there is no file there. <paramref name="shown"/> is the path as
    /// the program wrote it, for error messages.</summary>
    byte[]? Read(string[] path, string shown);

    bool IsDirectory(string[] path);

    bool Exists(string[] path);

    /// <summary>A directory's entries, or null when there is no directory there.</summary>
    string[]? List(string[] path);
}
