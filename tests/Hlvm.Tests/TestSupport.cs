using Hlvm.Cli;

namespace Hlvm.Tests;

/// <summary>Paths of the repository and a way to run the <c>hlvm</c> command in-process.</summary>
public static class TestSupport
{
    /// <summary>The repository's root: the directory holding Hlvm.sln.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Hlvm.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (Hlvm.sln) above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// The apps the tests run keep their private files (<c>/data</c>), the bundle cache and the trusted keys in a
    /// directory of the test run's own, removed when it ends, never in the user's directories.
    /// </summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void UsePrivateAppStorage()
    {
        string storage = Directory.CreateTempSubdirectory("hlvm-apps-").FullName;
        Environment.SetEnvironmentVariable("HLVM_DATA_HOME", Path.Combine(storage, "data"));
        Environment.SetEnvironmentVariable("HLVM_CACHE_HOME", Path.Combine(storage, "cache"));
        Environment.SetEnvironmentVariable("HLVM_CONFIG_HOME", Path.Combine(storage, "config"));
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(storage, recursive: true); }
            catch (IOException) { /* a file still open: the temp directory's cleaner takes it */ }
        };
    }

    /// <summary>
    /// Runs one of the scripts that find a tool and install it when it is missing (scripts/ensure-nginx.sh,
    /// scripts/ensure-chromium.sh) and returns the path it printed last.
    /// </summary>
    public static string EnsureTool(string script)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("bash", [Path.Combine(Root, "scripts", script)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"scripts/{script} failed: " + stderr.Result);
        string path = stdout.Trim().Split('\n')[^1];
        Assert.True(File.Exists(path), $"scripts/{script} printed '{stdout.Trim()}', not a path");
        return path;
    }

    /// <summary>True when the suite runs under GC stress (CI's second pass): every run collects at every allocation.</summary>
    public static bool GcStress => Environment.GetEnvironmentVariable("HLVM_GC_STRESS") == "1";

    /// <summary>
    /// The engine the suite's programs run in (CI's engine passes): HLVM_ENGINE is <c>interp</c>, <c>jit</c>,
    /// <c>tiered</c>, or <c>tiered:N</c> for a jit threshold of N (1 compiles every function at its first call
    /// and enters compiled code at every loop's first backward branch, so frames of both engines mix), compiling
    /// on the program's thread (<c>--jit-sync</c>) so that every run mixes them alike; <c>tiered:N:background</c>
    /// compiles on the JIT's thread, as hlvm does by default, and compiled code arrives while the program runs.
    /// Unset: hlvm's default.
    /// </summary>
    public static string[] EngineFlags => Environment.GetEnvironmentVariable("HLVM_ENGINE") is { Length: > 0 } engine
        ? engine.Split(':') switch
        {
            [var name, var threshold] => ["--engine", name, "--jit-threshold", threshold, "--jit-sync"],
            [var name, var threshold, "background"] => ["--engine", name, "--jit-threshold", threshold],
            _ => ["--engine", engine],
        }
        : [];

    /// <summary>The flags of a run under the suite's settings: GC stress (with checked mode when the interpreter
    /// runs alone, since checked mode never compiles) and the engine.</summary>
    public static string[] RunFlags(bool checkHeap = false)
    {
        var flags = new List<string>();
        if (GcStress) flags.Add("--gc-stress");
        if (GcStress && checkHeap) flags.Add("--verify-heap");
        if (GcStress && checkHeap && EngineFlags.Length == 0) flags.Add("--checked");
        flags.AddRange(EngineFlags);
        return [.. flags];
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs <c>hlvm</c> with <paramref name="args"/> in this process.</summary>
    public static Result Hlvm(params string[] args) => HlvmWithInput("", args);

    /// <summary>
    /// Runs <c>hlvm</c> with <paramref name="args"/>, which give a <c>--timeout</c>, for a test of what the timeout
    /// does to a running program. The timeout covers compiling the source too: on a machine loaded by the rest of
    /// the suite that can take it all, and then the run never reached the code the test is about; it runs again
    /// (three times at most).
    /// </summary>
    public static Result HlvmUntilItStarts(params string[] args)
    {
        var result = Hlvm(args);
        for (int attempt = 0; attempt < 3 && result.Stderr.Contains("ran out before the program started"); attempt++)
            result = Hlvm(args);
        return result;
    }

    /// <summary>Makes a FIFO (a named pipe, read and write for its owner, read for the rest) at <paramref name="path"/>.</summary>
    public static void MakeFifo(string path) => Assert.True(mkfifo(path, 0b110_100_100) == 0, $"mkfifo {path} failed");

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);

    /// <summary>Writes <paramref name="source"/> as NAME.hlasm in <paramref name="dir"/> and assembles it with
    /// <c>hlvm asm</c>: the path of NAME.hlc.</summary>
    public static string Assemble(DirectoryInfo dir, string name, string source)
    {
        string text = Path.Combine(dir.FullName, name + ".hlasm");
        File.WriteAllText(text, source);
        string module = Path.Combine(dir.FullName, name + ".hlc");
        var assembled = Hlvm("asm", text, "-o", module);
        Assert.True(assembled.ExitCode == 0, assembled.Stderr);
        return module;
    }

    /// <summary>Runs <c>hlvm</c> with <paramref name="stdin"/> as its standard input.</summary>
    public static Result HlvmWithInput(string stdin, params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = Program.Run(args, stdout, stderr, new StringReader(stdin));
        return new Result(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// Checks that the text between the markers <paramref name="begin"/> and <paramref name="end"/> of a doc is
    /// <paramref name="generated"/>; with UPDATE_DOCS=1 it writes it there instead.
    /// </summary>
    public static void AssertGeneratedSection(string doc, string begin, string end, string generated, string what, string filter)
    {
        string path = System.IO.Path.Combine(Root, doc);
        string text = System.IO.File.ReadAllText(path);
        int b = text.IndexOf(begin, StringComparison.Ordinal);
        int e = text.IndexOf(end, StringComparison.Ordinal);
        Assert.True(b >= 0 && e > b, $"{doc} lacks the markers of {what}");
        string expected = text[..(b + begin.Length)] + "\n" + generated + text[e..];
        if (Environment.GetEnvironmentVariable("UPDATE_DOCS") == "1") System.IO.File.WriteAllText(path, expected);
        else Assert.True(expected == text, $"{doc}'s {what} is out of date; run UPDATE_DOCS=1 dotnet test --filter {filter}");
    }

    /// <summary>A fresh directory under the system's temp directory, deleted when disposed.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("hlvm-test-").FullName;

        public string File(string name, string? content = null)
        {
            string p = System.IO.Path.Combine(Path, name);
            if (content is not null) System.IO.File.WriteAllText(p, content);
            return p;
        }

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }
}
