using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Host;

/// <summary>
/// The file operations of <c>std.fs</c>, on paths as the program writes them. An implementation reports what it
/// refuses as a <see cref="VmError"/>: <c>IOError</c> for what the file system refuses (<see cref="FileErrors"/>
/// words it), <c>PermissionError</c> for what the sandbox refuses.
/// </summary>
public interface IFileSystem
{
    /// <summary>Opens a regular file for reading.</summary>
    Stream OpenRead(string path);

    /// <summary>Replaces a file's contents atomically (a failure leaves the old contents), creating it if needed.</summary>
    void WriteAtomic(string path, ReadOnlySpan<byte> bytes);

    /// <summary>Adds bytes at the end of a file, creating it if needed.</summary>
    void Append(string path, ReadOnlySpan<byte> bytes);

    /// <summary>Whether a file or directory exists at the path.</summary>
    bool Exists(string path);

    /// <summary>The names of a directory's entries, in no particular order.</summary>
    string[] List(string path);

    /// <summary>Deletes a file, a symbolic link (not what it leads to) or an empty directory.</summary>
    void Remove(string path);
}

/// <summary>The wording of file errors, shared by every <see cref="IFileSystem"/>.</summary>
public static class FileErrors
{
    /// <summary><c>cannot read "a.txt": no such file</c></summary>
    public static VmError Fail(string what, string path, string reason) => new(ErrorClasses.IO, $"cannot {what} \"{Shorten(path)}\": {reason}");

    /// <summary>.NET's message of a file operation without the path it ends with ("No space left on device :
    /// '/dev/full'"), which a message that quotes it names already, and which may be a host path or a temporary
    /// file's name no one asked for.</summary>
    public static string WithoutPath(string message) =>
        message.EndsWith('\'') && message.LastIndexOf(" : '", StringComparison.Ordinal) is > 0 and var at ? message[..at] : message;

    /// <summary>A path as an error message shows it: whole, or its two ends when it is very long.</summary>
    public static string Shorten(string path) =>
        path.Length <= 240 ? path : $"{path[..160]}…{path[^60..]} ({path.Length} characters)";

    /// <summary>Runs a file operation, turning what the host's file system refuses into an IOError.</summary>
    public static T Guard<T>(string what, string path, Func<T> operation)
    {
        try
        {
            return operation();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or System.Security.SecurityException)
        {
            throw Fail(what, path, e switch
            {
                FileNotFoundException => "no such file",
                DirectoryNotFoundException => "a directory on the path does not exist",
                PathTooLongException => "the path is too long",
                UnauthorizedAccessException or System.Security.SecurityException => "permission denied",
                ArgumentException or NotSupportedException => "not a valid path",
                _ => e.Message,
            });
        }
    }
}
