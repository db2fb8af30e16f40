using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Hlvm.Tests;

/// <summary>
/// Runs every program under <c>tests/sandbox/hostile</c>: each attacks the sandbox one way and must be stopped as
/// its comments say. Each runs in a fresh directory laid out as
/// <list type="bullet">
/// <item><c>app/</c>: the program's own directory (<c>/app</c> to it), holding the program, <c>benign.txt</c>,
///   <c>esc.txt</c> (terminal escape sequences) and the directories <c>a/b/</c>;</item>
/// <item><c>canary/</c>: files outside the sandbox (<c>key</c>, <c>sub/deep.txt</c>) that must hash the same
///   before and after, as must the app's original files;</item>
/// <item><c>granted/</c>: a directory that the program's flags may grant.</item>
/// </list>
/// Comments: <c>// attack: WHAT</c> (required); <c>// setup: dir P</c>, <c>file P = TEXT</c>,
/// <c>symlink P -> TARGET</c>, <c>hardlink P -> EXISTING</c>, <c>swap P -> T1 | T2</c> (a thread swaps the link
/// between two targets for as long as the program runs), <c>fifo P</c>, <c>sized P = BYTES</c> (a sparse file of
/// that length, all zeros but the text <c>middle</c> at its middle), <c>chmod P = OCTAL</c>; <c>// flags: ...</c>
/// and <c>// args: ...</c> (<c>$ROOT</c> is the directory, <c>$HLVM_CONFIG</c>, <c>$HLVM_CACHE</c> and
/// <c>$HLVM_DATA</c> hlvm's own directories, <c>$CWD</c> the working directory); <c>// exit: N</c>;
/// <c>// expect: LINE</c> (the next line of standard output); <c>// output at most: N</c> (instead of the lines:
/// standard output has at most N bytes); <c>// stderr: TEXT</c> (standard error contains it); <c>// stderr lacks:
/// TEXT</c> (neither output contains it); <c>// mode: P = OCTAL</c> (after the run, the file's permission bits).
/// </summary>
public sealed partial class HostileTests
{
    private static readonly string Dir = Path.Combine(TestSupport.Root, "tests", "sandbox", "hostile");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Dir, "*.hl").Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(file));
        return data;
    }

    [Fact]
    public void ThereIsAnAttackOfEveryClass()
    {
        var names = Directory.EnumerateFiles(Dir, "*.hl").Select(Path.GetFileNameWithoutExtension).ToList();
        Assert.True(names.Count >= 40, $"{names.Count} hostile programs");
        foreach (var prefix in (string[])["traversal_", "absolute_", "symlink_", "hardlink_", "proc_", "variant_", "app_", "output_", "heap_", "fuel_", "stack_", "time_", "size_", "net_", "env_",
                     "leak_", "source_", "mode_", "own_", "disk_"])
            Assert.Contains(names, n => n!.StartsWith(prefix, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task IsStopped(string name)
    {
        string source = File.ReadAllText(Path.Combine(Dir, name));
        var lines = source.Split('\n');
        string Value(Match m) => m.Groups["value"].Value;
        var comments = lines.Select(l => Comment().Match(l)).Where(m => m.Success).ToList();
        Assert.Contains(comments, m => m.Groups["kind"].Value == "attack");

        using var root = new TestSupport.TempDir();
        string R(string text) => text.Replace("$ROOT", root.Path).Replace("$CWD", Environment.CurrentDirectory)
            .Replace("$HLVM_CONFIG", Environment.GetEnvironmentVariable("HLVM_CONFIG_HOME")).Replace("$HLVM_CACHE", Environment.GetEnvironmentVariable("HLVM_CACHE_HOME"))
            .Replace("$HLVM_DATA", Environment.GetEnvironmentVariable("HLVM_DATA_HOME"));
        string P(string relative) => Path.Combine(root.Path, R(relative));
        Directory.CreateDirectory(P("app/a/b"));
        Directory.CreateDirectory(P("canary/sub"));
        Directory.CreateDirectory(P("granted"));
        File.WriteAllText(P("app/prog.hl"), source);
        File.WriteAllText(P("app/benign.txt"), "benign");
        File.WriteAllText(P("app/esc.txt"), "\u001b[2J\u001b[31mred\u001b]0;title\u0007\u009b\n");
        File.WriteAllText(P("canary/key"), "the canary's secret");
        File.WriteAllText(P("canary/sub/deep.txt"), "deeper secret");

        var swaps = new List<(string Link, string[] Targets)>();
        foreach (var m in comments.Where(m => m.Groups["kind"].Value == "setup"))
        {
            var setup = Setup().Match(Value(m));
            Assert.True(setup.Success, $"bad setup line: {Value(m)}");
            string path = P(setup.Groups["path"].Value), arg = R(setup.Groups["arg"].Value);
            switch (setup.Groups["op"].Value)
            {
                case "dir": Directory.CreateDirectory(path); break;
                case "file": File.WriteAllText(path, arg); break;
                case "symlink": File.CreateSymbolicLink(path, arg); break;
                case "hardlink": Link(P(arg), path); break;
                case "fifo":
                    TestSupport.MakeFifo(path);
                    Fifos[path] = true;
                    break;
                case "sized":
                    using (var file = File.Create(path))
                    {
                        long length = long.Parse(arg);
                        file.Seek(length / 2, SeekOrigin.Begin);
                        file.Write("middle"u8);
                        file.SetLength(length);
                    }
                    break;
                case "chmod":
                    if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(arg, 8));
                    break;
                case "swap":
                    var targets = arg.Split(" | ");
                    File.CreateSymbolicLink(path, targets[0]);
                    swaps.Add((path, targets));
                    break;
            }
        }

        string canaryBefore = Fingerprint(P("canary")), appBefore = Fingerprint(P("app"));
        var flags = comments.Where(m => m.Groups["kind"].Value == "flags").SelectMany(m => Value(m).Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(R);
        var args = comments.Where(m => m.Groups["kind"].Value == "args").SelectMany(m => Value(m).Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(R).ToArray();
        string[] command = ["run", .. TestSupport.EngineFlags, .. flags, P("app/prog.hl"), .. args.Length > 0 ? ["--", .. args] : Array.Empty<string>()];

        using var stop = new CancellationTokenSource();
        var swappers = swaps.Select(s => Task.Run(() => Swap(s.Link, s.Targets, stop.Token))).ToArray();
        // Again if a --timeout ran out while the source compiled, on a machine loaded by the rest of the suite: the
        // time_ programs are about what the limit does to a running program.
        var run = Task.Run(() => TestSupport.HlvmUntilItStarts(command));
        bool finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))) == run;
        await stop.CancelAsync();
        await Task.WhenAll(swappers);
        Assert.True(finished, $"{name} did not stop within a minute");
        var result = await run;

        int expectedExit = comments.Where(m => m.Groups["kind"].Value == "exit").Select(m => int.Parse(Value(m))).Single();
        Assert.True(expectedExit == result.ExitCode, $"exit code {result.ExitCode}, expected {expectedExit}\nstdout:\n{result.Stdout}\nstderr:\n{result.Stderr}");
        var expectedOut = comments.Where(m => m.Groups["kind"].Value == "expect").Select(Value).ToList();
        var actualOut = result.Stdout.Split('\n').ToList();
        if (actualOut[^1] == "") actualOut.RemoveAt(actualOut.Count - 1);
        if (comments.FirstOrDefault(m => m.Groups["kind"].Value == "output at most") is { } most)
            Assert.True(Encoding.UTF8.GetByteCount(result.Stdout) <= int.Parse(Value(most)), $"{result.Stdout.Length} characters of output");
        else Assert.Equal(expectedOut, actualOut);
        foreach (var text in comments.Where(m => m.Groups["kind"].Value == "stderr").Select(Value)) Assert.Contains(R(text), result.Stderr);
        foreach (var text in comments.Where(m => m.Groups["kind"].Value == "stderr lacks").Select(Value))
        {
            Assert.DoesNotContain(R(text), result.Stderr);
            Assert.DoesNotContain(R(text), result.Stdout);
        }
        foreach (var m in comments.Where(m => m.Groups["kind"].Value == "mode").Select(m => Setup().Match("chmod " + Value(m))))
            if (!OperatingSystem.IsWindows()) Assert.Equal(Convert.ToString((int)File.GetUnixFileMode(P(m.Groups["path"].Value)), 8), m.Groups["arg"].Value);
        // Nothing the program may not touch changed: not the files outside, not the app's own.
        foreach (var swap in swaps) File.Delete(swap.Link);
        appBefore = Strip(appBefore, swaps.Select(s => s.Link).Select(l => Path.GetRelativePath(P("app"), l)));
        Assert.Equal(canaryBefore, Fingerprint(P("canary")));
        Assert.Equal(appBefore, Fingerprint(P("app")));
    }

    /// <summary>Every entry under a directory, without following links: its name, its kind, and its contents,
    /// permissions or target.</summary>
    private static string Fingerprint(string dir)
    {
        var text = new StringBuilder();
        foreach (var path in Directory.EnumerateFileSystemEntries(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(path);
            string rel = Path.GetRelativePath(dir, path);
            if (info.LinkTarget is { } target) text.Append($"{rel} -> {target}\n");
            else if (Fifos.ContainsKey(path)) text.Append($"{rel} fifo\n"); // opening it would wait for a writer
            else if (Directory.Exists(path)) text.Append($"{rel}/\n");
            else text.Append($"{rel} {(OperatingSystem.IsWindows() ? 0 : (int)File.GetUnixFileMode(path))} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))}\n");
        }
        return text.ToString();
    }

    /// <summary>The FIFOs the setups made, which a fingerprint names without reading.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Fifos = new();

    private static string Strip(string fingerprint, IEnumerable<string> names) =>
        string.Concat(fingerprint.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !names.Any(n => l.StartsWith(n + " ", StringComparison.Ordinal))).Select(l => l + "\n"));

    /// <summary>Points the link at each target in turn, atomically (a new link renamed over it), until stopped.</summary>
    private static void Swap(string link, string[] targets, CancellationToken stop)
    {
        string temp = link + ".swap";
        for (int i = 0; !stop.IsCancellationRequested; i++)
        {
            File.CreateSymbolicLink(temp, targets[i % targets.Length]);
            File.Move(temp, link, overwrite: true);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int link(string existing, string created);

    private static void Link(string existing, string created) =>
        Assert.True(link(existing, created) == 0, $"link {created} -> {existing} failed");

    [GeneratedRegex(@"^\s*//\s*(?<kind>attack|setup|flags|args|exit|expect|stderr lacks|stderr|output at most|mode):\s?(?<value>.*?)\s*$")]
    private static partial Regex Comment();

    [GeneratedRegex(@"^(?<op>dir|file|symlink|hardlink|swap|fifo|sized|chmod)\s+(?<path>\S+)(?:\s+(?:=|->)\s+(?<arg>.*))?$")]
    private static partial Regex Setup();
}
