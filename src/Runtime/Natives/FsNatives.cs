using System.Text;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// The natives of <c>std.fs</c>: whole-file text reads and writes, and directories. Text is UTF-8 (written
/// without a byte-order mark; a mark is honoured when read). Paths are the host's, relative ones to the current
/// directory; the sandbox remaps them before they reach these functions.
///
/// Everything the host's file system refuses (a missing file, a directory where a file was expected, a
/// permission the operating system denies, a path that is not one) is an <c>IOError</c> the program can catch,
/// whose message names the operation, the path and the reason: <c>cannot read "a.txt": no such file</c>.
/// </summary>
internal static class FsNatives
{
    private static readonly VmType S = VmType.String, B = VmType.Bool, V = VmType.Void;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    public static readonly NativeDef[] All =
    [
        new("fs.readText", [S], S, "read", "the whole text of a file (UTF-8); IOError if it can't be read, OutOfMemoryError if it can't fit the heap",
            (vm, a) => ReadText(vm, StringNatives.Str(vm, a[0]))),
        new("fs.writeText", [S, S], V, "write", "replaces a file's text (UTF-8) atomically, creating the file if needed: a failure leaves the old file as it was",
            (vm, a) => { WriteText(StringNatives.Str(vm, a[0]), StringNatives.Str(vm, a[1])); return 0; }),
        new("fs.appendText", [S, S], V, "write", "adds text (UTF-8) at the end of a file, creating it if needed (not atomic: a failure may leave part of the text)",
            (vm, a) => { AppendText(StringNatives.Str(vm, a[0]), StringNatives.Str(vm, a[1])); return 0; }),
        new("fs.exists", [S], B, "read", "whether a file or directory exists at the path (false for a path that can't name one)",
            (vm, a) => { string p = StringNatives.Str(vm, a[0]); return File.Exists(p) || Directory.Exists(p) ? 1 : 0; }),
        new("fs.listDir", [S], VmType.ArrayOf(S), "read", "the names of a directory's entries (files and directories, not . or ..), sorted ordinally",
            (vm, a) => StringNatives.NewStringArray(vm.Heap, ListDir(StringNatives.Str(vm, a[0])))),
        new("fs.remove", [S], V, "write", "deletes a file, a symbolic link or an empty directory; IOError if there is none",
            (vm, a) => { Remove(StringNatives.Str(vm, a[0])); return 0; }),
    ];

    // ------------------------------------------------------------------------------------------------ operations

    private static long ReadText(Interpreter vm, string path) => Guard("read", path, () =>
    {
        if (Directory.Exists(path)) throw Fail("read", path, "it is a directory");
        using var reader = new StreamReader(path, Utf8, detectEncodingFromByteOrderMarks: true);
        // Every encoding a reader may detect takes at most 4 bytes per UTF-16 code unit, so a file this large
        // can't fit however it decodes: say so before reading any of it.
        if (reader.BaseStream.CanSeek && reader.BaseStream.Length / 4 * 2 > vm.Heap.MaxBytes)
            throw new VmError(ErrorClasses.OutOfMemory, $"cannot read \"{path}\": the file's {reader.BaseStream.Length} bytes exceed the heap limit");
        var text = new StringBuilder();
        var buffer = new char[8192];
        for (int n; (n = reader.Read(buffer, 0, buffer.Length)) > 0;)
        {
            text.Append(buffer, 0, n);
            if (text.Length * 2L > vm.Heap.MaxBytes)
                throw new VmError(ErrorClasses.OutOfMemory, $"cannot read \"{path}\": its text is larger than the heap limit");
        }
        return StringNatives.NewString(vm, text.ToString());
    });

    /// <summary>
    /// Writes the text to a new file beside the target, then renames it over the target: a rename within a
    /// directory is atomic, so readers see the old text or the new, and a failure part-way leaves the old file.
    /// </summary>
    private static void WriteText(string path, string text) => Guard("write", path, () =>
    {
        if (Directory.Exists(path)) throw Fail("write", path, "it is a directory");
        // Through a symbolic link, replace the file it leads to (as a plain write would), not the link.
        var info = new FileInfo(path);
        string target = info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName : info.FullName;
        string temp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        bool renamed = false;
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(Utf8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }
            // The replaced file keeps its permissions.
            if (!OperatingSystem.IsWindows() && File.Exists(target)) File.SetUnixFileMode(temp, File.GetUnixFileMode(target));
            File.Move(temp, target, overwrite: true);
            renamed = true;
        }
        finally
        {
            if (!renamed) TryDelete(temp);
        }
        return 0;
    });

    private static void AppendText(string path, string text) => Guard("append to", path, () =>
    {
        if (Directory.Exists(path)) throw Fail("append to", path, "it is a directory");
        File.AppendAllText(path, text, Utf8);
        return 0;
    });

    private static string[] ListDir(string path) => Guard("list", path, () =>
    {
        if (!Directory.Exists(path)) throw Fail("list", path, File.Exists(path) ? "it is not a directory" : "no such directory");
        var names = Directory.EnumerateFileSystemEntries(path).Select(p => Path.GetFileName(p)).ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        return names;
    });

    private static void Remove(string path) => Guard("remove", path, () =>
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null || File.Exists(path)) File.Delete(path); // a link goes, not what it leads to
        else if (Directory.Exists(path))
        {
            if (Directory.EnumerateFileSystemEntries(path).Any()) throw Fail("remove", path, "the directory is not empty");
            Directory.Delete(path);
        }
        else throw Fail("remove", path, "no such file or directory");
        return 0;
    });

    // ------------------------------------------------------------------------------------------------ errors

    private static VmError Fail(string what, string path, string reason) => new(ErrorClasses.IO, $"cannot {what} \"{path}\": {reason}");

    /// <summary>Runs a file operation, turning what the host's file system refuses into an IOError.</summary>
    private static T Guard<T>(string what, string path, Func<T> operation)
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

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the write failed already; report that */ }
    }
}
