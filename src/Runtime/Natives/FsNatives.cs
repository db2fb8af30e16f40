using System.Text;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Host;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// The natives of <c>std.fs</c>: whole-file text reads and writes, and directories. Text is UTF-8 (written
/// without a byte-order mark; a mark is honoured when read). The paths are the program's: the host's
/// <see cref="IFileSystem"/> (a virtual one in the sandbox) gives them their meaning.
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
            (vm, a) => { vm.Host.Files.WriteAtomic(StringNatives.Str(vm, a[0]), Utf8.GetBytes(Charged(vm, StringNatives.Str(vm, a[1])))); return 0; }),
        new("fs.appendText", [S, S], V, "write", "adds text (UTF-8) at the end of a file, creating it if needed (not atomic: a failure may leave part of the text)",
            (vm, a) => { vm.Host.Files.Append(StringNatives.Str(vm, a[0]), Utf8.GetBytes(Charged(vm, StringNatives.Str(vm, a[1])))); return 0; }),
        new("fs.exists", [S], B, "read", "whether a file or directory exists at the path (false for an empty path; one with a NUL is refused, by every native of std.fs)",
            (vm, a) => vm.Host.Files.Exists(StringNatives.Str(vm, a[0])) ? 1 : 0),
        new("fs.listDir", [S], VmType.ArrayOf(S), "read", "the names of a directory's entries (files and directories, not . or ..), sorted ordinally",
            (vm, a) =>
            {
                var names = vm.Host.Files.List(StringNatives.Str(vm, a[0]));
                vm.Charge(names.Length);
                Array.Sort(names, StringComparer.Ordinal);
                return StringNatives.NewStringArray(vm.Heap, names);
            }),
        new("fs.remove", [S], V, "write", "deletes a file, a symbolic link or an empty directory; IOError if there is none",
            (vm, a) => { vm.Host.Files.Remove(StringNatives.Str(vm, a[0])); return 0; }),
    ];

    private static long ReadText(Interpreter vm, string path)
    {
        using var stream = vm.Host.Files.OpenRead(path);
        return FileErrors.Guard("read", path, () =>
        {
            using var reader = new StreamReader(stream, Utf8, detectEncodingFromByteOrderMarks: true);
            // Every encoding a reader may detect takes at most 4 bytes per UTF-16 code unit, so a file this large
            // can't fit however it decodes: say so before reading any of it.
            if (stream.CanSeek && stream.Length / 4 * 2 > vm.Heap.MaxBytes)
                throw new VmError(ErrorClasses.OutOfMemory, $"cannot read \"{path}\": the file's {stream.Length} bytes exceed the heap limit");
            var text = new StringBuilder();
            var buffer = new char[8192];
            for (int n; (n = reader.Read(buffer, 0, buffer.Length)) > 0;)
            {
                text.Append(buffer, 0, n);
                if (text.Length > vm.Heap.MaxStringChars)
                    throw new VmError(ErrorClasses.OutOfMemory, $"cannot read \"{path}\": its text is longer than a string can be under the heap limit");
            }
            vm.Charge(text.Length);
            return StringNatives.NewString(vm, text.ToString());
        });
    }

    /// <summary>Text a native writes, after charging the run one instruction per character of it.</summary>
    private static string Charged(Interpreter vm, string text)
    {
        vm.Charge(text.Length);
        return text;
    }
}
