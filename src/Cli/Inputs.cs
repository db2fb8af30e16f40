using System.Text;
using Hlvm.Compiler;
using Hlvm.Compiler.Diagnostics;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Host;
using Hlvm.Sandbox;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli;

/// <summary>The files commands read and write: programs, modules, and the refusals of what a command does not take.</summary>
internal sealed class Inputs(CliContext cli)
{
    /// <summary>Reads an input file, or reports why not (exit 66).</summary>
    public byte[]? Read(string path) => Read(path, out _);

    /// <summary>Reads an input file, or reports why not (exit 66); <paramref name="bundle"/> says whether it is a
    /// bundle by its bytes, whatever its name (one too large to be read as a program or module is not read, and not
    /// reported).</summary>
    public byte[]? Read(string path, out bool bundle)
    {
        bundle = false;
        try
        {
            // A regular file of bounded size only: a directory is said as such, and a FIFO or /dev/zero would block
            // or never end.
            var bytes = SourceFiles.ReadNamed(path);
            bundle = bytes.AsSpan().StartsWith(BundleFront.Magic);
            return bytes;
        }
        catch (SourceFileException e) when (e.Bundle)
        {
            bundle = true;
            return null;
        }
        catch (SourceFileException e)
        {
            cli.Messages.WriteLine($"hlvm: cannot read '{Shown(e.File)}': {e.Reason}{AppDirectoryHint(path)}");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            cli.Messages.WriteLine($"hlvm: cannot read '{Shown(path)}': {Why(e)}");
            return null;
        }
    }

    /// <summary>What to do with an app's directory (one holding <c>hlvm.toml</c>) given where a file is wanted:
    /// a newcomer who has read that an app is a directory runs it; else nothing.</summary>
    private static string AppDirectoryHint(string path)
    {
        if (!Directory.Exists(path) || !File.Exists(Path.Combine(path, "hlvm.toml"))) return "";
        string bundle = Path.GetFileName(Path.GetFullPath(path).TrimEnd('/')) + ".hlb";
        return $" (an app's: pack it into a bundle and run that, 'hlvm pack {Shown(path)}' then 'hlvm run {Shown(bundle)} --allow-unsigned' (or sign it: pack --key), or run its entry file)";
    }

    /// <summary>
    /// A small file a command was given (a key): its text, read as an input is (a regular file of bounded size: a
    /// FIFO or /dev/zero blocked, or filled the memory); else null, with why in <paramref name="why"/>.
    /// </summary>
    public static string? ReadSmallText(string path, out string why)
    {
        why = "";
        try
        {
            return SourceFiles.ReadNamedText(path);
        }
        catch (SourceFileException e)
        {
            why = e.Reason;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            why = Directory.Exists(path) ? "it is a directory" : Why(e);
        }
        return null;
    }

    /// <summary>
    /// Refuses (exit 64, said) an output that is the command's own input, links followed: <c>build prog.hl -o
    /// prog.hl</c> replaced the program with its module, and so did <c>build prog.hlc</c> when prog.hlc held source.
    /// </summary>
    public int? RefuseOverwritingInput(string command, string output, string input, string option = "-o")
    {
        if (!File.Exists(output) || !File.Exists(input) || HostPaths.Real(output) != HostPaths.Real(input)) return null;
        cli.Messages.WriteLine($"hlvm {command}: the output '{Shown(output)}' is the input itself; name another with {option}");
        return ExitCodes.Usage;
    }

    /// <summary>Says that a module has no entry function, which <c>run</c> needs and <c>check</c> checks (exit 65).</summary>
    public int NoEntry(string path)
    {
        cli.Messages.WriteLine($"hlvm: {Shown(path)}: the module has no entry function (main)");
        return ExitCodes.DataError;
    }

    /// <summary>Why a file can't be read or written, in a few words (.NET's message without the path it ends with,
    /// "No space left on device : '/dev/full'", which the caller's message names already).</summary>
    public static string Why(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        _ => FileErrors.WithoutPath(e.Message),
    };

    /// <summary>A name as a message shows it: control characters made visible.</summary>
    public static string Shown(string text) => ControlCharacters.MakeVisible(text);

    public static bool IsModule(byte[] bytes) => bytes.AsSpan().StartsWith(ModuleFormat.Magic);

    public static bool IsUrl(string path) => path.Contains("://", StringComparison.Ordinal);

    /// <summary>Whether <c>run</c> reads this as a bundle by its name: a URL, or a file named <c>.hlb</c>. (A file of
    /// another name is one when its bytes are: <see cref="Read(string, out bool)"/>.)</summary>
    public static bool IsBundle(string path) => IsUrl(path) || path.EndsWith(".hlb", StringComparison.Ordinal);

    /// <summary>
    /// Reads the file a command that takes programs and modules only was given: null, having said why, when it is
    /// a URL or a bundle (by its name or its bytes, of any size; <paramref name="exitCode"/> 64, rather than a
    /// compile error or a malformed module) or can't be read (66).
    /// </summary>
    public byte[]? ReadProgram(string command, string path, string takes, out int exitCode)
    {
        exitCode = ExitCodes.Usage;
        bool bundle = IsBundle(path);
        byte[]? bytes = bundle ? null : Read(path, out bundle);
        if (bundle)
        {
            cli.Messages.WriteLine($"hlvm {command}: '{Shown(path)}' is {(IsUrl(path) ? "a URL" : "a bundle")}; {command} takes {takes} (run and prof take bundles and URLs)");
            return null;
        }
        exitCode = bytes is null ? ExitCodes.NoInput : NotAModule(path, bytes) ?? ExitCodes.Ok;
        return exitCode == ExitCodes.Ok ? bytes : null;
    }

    /// <summary>
    /// <see cref="ExitCodes.DataError"/>, said, for a file named as a module (<c>.hlc</c>) whose bytes are not one;
    /// else null. Named as a module, it is not read as source: a damaged module was reported as source that is
    /// not UTF-8 ("line 11, column 104"), or as a syntax error at its first byte, and source named .hlc ran.
    /// </summary>
    private int? NotAModule(string path, byte[] bytes)
    {
        if (IsModule(bytes) || !path.EndsWith(".hlc", StringComparison.Ordinal)) return null;
        cli.Messages.WriteLine($"hlvm: {Shown(path)}: malformed module: it does not begin with a module's header ('HLVM'); "
            + "a file named .hlc is read as a module, and a program's source is named .hl");
        return ExitCodes.DataError;
    }

    /// <summary>Compiles source bytes, printing diagnostics; null when there were errors (exit code 65) or a
    /// module file could not be read (66). Modules are read from beneath the program's directory only
    /// (<see cref="SourceFiles.ModuleReader"/>).</summary>
    public Module? CompileSource(string path, byte[] bytes, out int exitCode, ProgramCache? cache = null)
    {
        string? context = cache is null ? null : CacheContext(path);
        if (context is not null && cache!.Find(context, bytes) is { } cached)
        {
            try
            {
                exitCode = ExitCodes.Ok;
                return ModuleFormat.Read(cached);
            }
            catch (ModuleFormatException) { /* not readable after all: compile, and store it again */ }
        }
        var module = Compile(path, bytes, out exitCode, out bool keep);
        if (context is not null && module is not null && keep) cache!.Store(context, bytes, ModuleFormat.Write(module));
        return module;
    }

    /// <summary>
    /// Compiles a source file, printing its diagnostics; <paramref name="keep"/> says whether a cache may keep the
    /// module: it depended on this file alone, and nothing was reported. (A method of its own, so that a run from
    /// the cache does not load the compiler.)
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private Module? Compile(string path, byte[] bytes, out int exitCode, out bool keep)
    {
        exitCode = ExitCodes.DataError;
        keep = false;
        CompileResult result;
        bool readFiles = false;
        var readModule = SourceFiles.ModuleReader(path, bytes.Length);
        try
        {
            result = Compilation.Compile(path, SourceFiles.Text(bytes, path), file =>
            {
                readFiles = true;
                return readModule(file);
            });
        }
        catch (SourceFileException e)
        {
            cli.Messages.WriteLine(e.File == path
                ? $"hlvm: cannot read '{Shown(path)}': {e.Reason}"
                : $"hlvm: {Shown(path)}: cannot read the module {Shown(e.File)}: {e.Reason}");
            exitCode = e.Malformed ? ExitCodes.DataError : ExitCodes.NoInput;
            return null;
        }
        // A diagnostic quotes the source, which may hold control characters: show them, don't send them. Errors stop
        // at the compiler's limit; warnings are shown up to a limit of their own, and the rest counted: 30,000
        // unused variables on one line of a 439 KB source wrote 9.9 MB of warnings.
        int errors = result.Diagnostics.Count(d => d.Severity == Severity.Error);
        if (errors > 0 && path.EndsWith(".hlasm", StringComparison.Ordinal))
        {
            // A module's text read as source is an error at nearly every line: what it is says more than they do.
            cli.Messages.WriteLine($"hlvm: '{Shown(path)}' is named as a module's text form (.hlasm), which is not a program and does not compile as one: assemble it with 'hlvm asm {Shown(path)}', and run the module that makes");
        }
        else
        {
            int shownWarnings = 0;
            foreach (var d in result.Diagnostics)
                if (d.Severity == Severity.Error || shownWarnings++ < MaxWarningsShown) cli.Messages.WriteLine(ControlCharacters.MakeVisible(d.Format()));
            if (shownWarnings > MaxWarningsShown)
                cli.Messages.WriteLine($"hlvm: {CliContext.Count(shownWarnings - MaxWarningsShown, "more warning", "more warnings")} not shown (the first {MaxWarningsShown} are)");
            if (errors > 0) cli.Messages.WriteLine(CliContext.Errors(errors));
        }
        if (result.Module is not null) exitCode = ExitCodes.Ok;
        keep = result.Diagnostics.Count == 0 && !readFiles;
        return result.Module;
    }

    /// <summary>The most warnings a compile shows; the rest are counted.</summary>
    public const int MaxWarningsShown = 100;

    /// <summary>
    /// What a compilation of a file from <paramref name="path"/> depends on besides its bytes, when it reads no
    /// other file: the builds of the compiler (its code and the standard library it embeds) and of the runtime
    /// (the module format), told apart by their files' sizes and times; and the file's name, which a module records
    /// for its traces.
    /// </summary>
    public static string CacheContext(string path)
    {
        var builds = new StringBuilder();
        foreach (string assembly in (string[])["Hlvm.Compiler.dll", "Hlvm.Runtime.dll"])
        {
            var file = new FileInfo(Path.Combine(AppContext.BaseDirectory, assembly));
            builds.Append(file.Exists ? $"{assembly} {file.Length} {file.LastWriteTimeUtc.Ticks}\n" : $"{assembly} {BuildId(assembly)}\n");
        }
        return $"{builds}{Path.GetFileName(path)}";
    }

    /// <summary>Where the assemblies are not files of their own (a single-file build): their build ids, which loading
    /// them costs.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Guid BuildId(string assembly) =>
        (assembly == "Hlvm.Compiler.dll" ? typeof(Compilation) : typeof(Module)).Assembly.ManifestModule.ModuleVersionId;

    /// <summary>A module from a source or module file; null (with the exit code set) when there is none.</summary>
    public Module? LoadModule(string path, out int exitCode, ProgramCache? cache = null) => LoadModule(path, Read(path), out exitCode, cache);

    /// <summary>A module from a file's bytes (null: the file could not be read).</summary>
    public Module? LoadModule(string path, byte[]? bytes, out int exitCode, ProgramCache? cache = null)
    {
        exitCode = ExitCodes.Ok;
        if (bytes is null)
        {
            exitCode = ExitCodes.NoInput;
            return null;
        }
        if (NotAModule(path, bytes) is { } refused)
        {
            exitCode = refused;
            return null;
        }
        if (IsModule(bytes))
        {
            try
            {
                return ModuleFormat.Read(bytes);
            }
            catch (ModuleFormatException e)
            {
                cli.Messages.WriteLine($"hlvm: {Shown(path)}: {e.Message}");
                exitCode = ExitCodes.DataError;
                return null;
            }
        }
        return CompileSource(path, bytes, out exitCode, cache);
    }

    /// <summary>Writes a module file beside its target and renames it into place, so that a failed write never
    /// leaves a partial module behind; unless it is larger than hlvm reads one (<see cref="SourceFiles.MaxFileBytes"/>):
    /// a compile error then (exit 65), rather than a file that no run loads.</summary>
    public int WriteModule(string output, Module module)
    {
        var bytes = ModuleFormat.Write(module);
        if (bytes.Length > SourceFiles.MaxFileBytes)
        {
            cli.Messages.WriteLine($"hlvm: the module would be {bytes.Length} bytes, larger than the {SourceFiles.MaxFileBytes >> 20} MiB hlvm reads of a module file; '{Shown(output)}' was not written");
            return ExitCodes.DataError;
        }
        return WriteFile(output, bytes);
    }

    /// <summary>Writes a file beside its target and renames it into place, so that a failed write never leaves a
    /// partial file behind; says why it could not on stderr and returns the exit code.</summary>
    public int WriteFile(string output, byte[] bytes)
    {
        if (Unwritable(output) is { } why) return CantWrite(output, why);
        return Writing(output, () => AtomicFile.Write(output, stream => stream.Write(bytes))) ?? ExitCodes.Ok;
    }

    /// <summary>Runs a write of <paramref name="output"/>: null when it succeeded, else <see cref="ExitCodes.CantCreate"/>
    /// with the reason said.</summary>
    private int? Writing(string output, Action write)
    {
        try
        {
            write();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // .NET's message ends with the path again ("No space left on device : '/dev/full'"), said once here.
            string why = e switch
            {
                UnauthorizedAccessException => Why(e),
                // The file beside it, which the write makes first, has a name 38 characters longer.
                PathTooLongException => "its name is too long",
                // A directory that is there but makes no files (/proc).
                FileNotFoundException or DirectoryNotFoundException => "no file can be made in that directory",
                _ => FileErrors.WithoutPath(e.Message),
            };
            return CantWrite(output, Shown(why));
        }
    }

    /// <summary>Says that <paramref name="output"/> can't be written, and why: <see cref="ExitCodes.CantCreate"/>.</summary>
    private int CantWrite(string output, string why)
    {
        cli.Messages.WriteLine($"hlvm: cannot write '{Shown(output)}': {why}");
        return ExitCodes.CantCreate;
    }

    /// <summary>
    /// <see cref="ExitCodes.CantCreate"/>, said, when <paramref name="output"/> can't be written (<see
    /// cref="Unwritable"/>, or the file the write would make beside it can't be made: a directory not writable, a
    /// file system that is read-only or makes no files, such as /proc, a name too long); else null. A command whose
    /// output comes at the end of long work (a profile, a bench's export, a bundle) asks before the work, so that
    /// the work is not lost.
    /// </summary>
    public int? RefuseUnwritable(string output) =>
        Unwritable(output) is { } why ? CantWrite(output, why) : Writing(output, () => AtomicFile.Probe(output));

    /// <summary>Why a file can't be written there, when that is plain before trying: its directory is missing, or it is a directory.</summary>
    public static string? Unwritable(string output)
    {
        if (Directory.Exists(output)) return "it is a directory";
        string? dir = Path.GetDirectoryName(Path.GetFullPath(output));
        if (dir is not null && !Directory.Exists(dir)) return $"no such directory '{Shown(dir)}'";
        return null;
    }
}
