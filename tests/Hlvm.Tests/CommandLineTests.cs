using System.CommandLine;
using System.Text.RegularExpressions;
using Hlvm.Cli;
using Hlvm.Cli.Commands;
using Hlvm.Cli.Parsing;

namespace Hlvm.Tests;

/// <summary>
/// How <c>hlvm</c> reads its command line: every option's value in both spellings and positions, malformed values of
/// every option of every command (taken from the command definitions), unknown commands and options, <c>--</c>,
/// and the agreement of <c>--help</c> with the README.
/// </summary>
public sealed partial class CommandLineTests
{
    private static readonly string Hello = Path.Combine(TestSupport.Root, "examples", "hello.hl");

    // ---------------------------------------------------------------------------------------- grants

    /// <summary>Each grant and denial flag, a target of its kind, and the flag the sandbox then holds.</summary>
    public static TheoryData<string, string, string> Grants()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var verb in new[] { "allow", "deny" })
        {
            data.Add($"--{verb}-read", "/srv/data", $"--{verb}-read=/srv/data");
            data.Add($"--{verb}-write", "/srv/out", $"--{verb}-write=/srv/out");
            data.Add($"--{verb}-net", "127.0.0.1:8080", $"--{verb}-net=127.0.0.1:8080");
            data.Add($"--{verb}-env", "HOME", $"--{verb}-env=HOME");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Grants))]
    public void AGrantMeansWhatItLooksLikeInEitherSpellingAndPosition(string flag, string target, string held)
    {
        string[][] lines =
        [
            [flag, target, "prog.hl", "a"],
            [$"{flag}={target}", "prog.hl", "a"],
            ["prog.hl", flag, target, "a"],
            ["prog.hl", $"{flag}={target}", "a"],
            ["prog.hl", "a", flag, target],
        ];
        foreach (var line in lines)
        {
            var (file, args, grants) = Program.ReadRun(line);
            Assert.Equal("prog.hl", file);
            Assert.Equal(["a"], args);
            Assert.Equal([held], grants);
        }
        // '*' is the whole kind, in both spellings.
        Assert.Equal([$"{flag}=*"], Program.ReadRun([flag, "*", "prog.hl"]).Grants);
        Assert.Equal([$"{flag}=*"], Program.ReadRun([$"{flag}=*", "prog.hl"]).Grants);
        // After '--', a flag is the program's.
        var after = Program.ReadRun(["prog.hl", "--", flag, target]);
        Assert.Empty(after.Grants);
        Assert.Equal([flag, target], after.Args);
    }

    [Theory]
    [MemberData(nameof(Grants))]
    public void AGrantWithoutAValueIsAUsageError(string flag, string target, string held)
    {
        _ = (target, held);
        foreach (var line in new[] { new[] { "run", $"{flag}=", Hello }, ["run", flag, "", Hello], ["run", Hello, flag], ["run", Hello, flag, "--", "x"], ["run", flag, "--fuel=5", Hello] })
        {
            var r = TestSupport.Hlvm(line);
            Assert.True(r.ExitCode == 64, $"{string.Join(" ", line)}: exit {r.ExitCode}\n{r.Stderr}");
            Assert.Contains(flag, r.Stderr.Split('\n')[0]);
            Assert.Contains("'*' for every", r.Stderr);
            Assert.Equal("", r.Stdout);
        }
    }

    [Fact]
    public void ASpacedGrantReallyGrantsItsPathAndOnlyIt()
    {
        using var dir = new TestSupport.TempDir();
        string data = dir.File("data.txt", "host data");
        string other = dir.File("other.txt", "other data");
        string file = dir.File("read.hl", "import std.fs\n\nfn main(args: [string]) {\n    println(args.len())\n    println(fs.readText(args[0]))\n}\n");
        // The value after the flag is the grant, not one of the program's arguments.
        var r = TestSupport.Hlvm("run", file, "--allow-read", data, "--", data);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("1\nhost data\n", r.Stdout);
        var before = TestSupport.Hlvm("run", "--allow-read", data, file, "--", other);
        Assert.Equal(77, before.ExitCode);
        Assert.StartsWith($"PermissionError: read access to \"{other}\" is not granted", before.Stderr);
    }

    [Fact]
    public void ASpacedEnvironmentGrantReallyGrantsItsVariable()
    {
        Environment.SetEnvironmentVariable("HLVM_CLI_TEST_GRANT", "granted");
        using var dir = new TestSupport.TempDir();
        string program = dir.File("env.hl", "import std.env\n\nfn main(args: [string]) {\n    println(args)\n    println(env.get(\"HLVM_CLI_TEST_GRANT\") ?? \"unset\")\n}\n");
        var r = TestSupport.Hlvm("run", program, "--allow-env", "HLVM_CLI_TEST_GRANT");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("[]\ngranted\n", r.Stdout);
        var other = TestSupport.Hlvm("run", program, "--allow-env", "HLVM_CLI_TEST_OTHER");
        Assert.Equal(77, other.ExitCode);
        Assert.Contains("--allow-env=HLVM_CLI_TEST_GRANT", other.Stderr);
    }

    // ---------------------------------------------------------------------------------------- values

    [Theory]
    [InlineData("--fuel=abc")]
    [InlineData("--fuel", "1.5")]
    [InlineData("--max-stack", "abc")]
    [InlineData("--max-stack", "99999999999999999999")]
    [InlineData("--max-open-files", "abc")]
    [InlineData("--max-heap", "1.5m")]
    [InlineData("--timeout", "1d")]
    public void ANumberOptionGivenANonNumberIsAUsageErrorNamingIt(params string[] option)
    {
        var r = TestSupport.Hlvm(["run", .. option, Hello]);
        Assert.Equal(64, r.ExitCode);
        string name = option[0].Split('=')[0];
        Assert.StartsWith($"hlvm run: {name}: '", r.Stderr);
        Assert.Contains("; it takes ", r.Stderr);
        Assert.Contains($"(e.g. {name}=", r.Stderr);
        Assert.DoesNotContain("Exception", r.Stderr);
    }

    /// <summary>Values no option of the kind may take, each a usage error that names the option.</summary>
    private static string[] Malformed(HlvmOption option) => option.Kind switch
    {
        ValueKind.Count => ["", "abc", "1.5", "-1", "99999999999999999999", "0x10", "1e3", " 5", "\u0665", "\0"],
        ValueKind.Size => ["", "lots", "-5m", "1.5m", "5q", "99999999999g", "m", "0", "\0"],
        ValueKind.Duration => ["", "soon", "0s", "-1s", "1d", "99999999h", "s", "\0"],
        ValueKind.Choice => ["", "warp", "INTERP", "\0"],
        ValueKind.Path => ["", "a\0b"],
        ValueKind.Grant => option.Name.EndsWith("-net", StringComparison.Ordinal) ? ["", "a\0b", "host:port", "h:99999"]
            : option.Name.EndsWith("-env", StringComparison.Ordinal) ? ["", "a\0b", "A=B"]
            : ["", "a\0b"],
        ValueKind.Flag => [],
        _ => throw new InvalidOperationException($"no malformed values for the kind {option.Kind}: add them here"),
    };

    /// <summary>Every command with the path of names that reaches it (<c>cache list</c>).</summary>
    private static IEnumerable<(string[] Path, Command Command)> AllCommands(Command command, string[] path)
    {
        yield return (path, command);
        foreach (var sub in command.Subcommands)
            foreach (var x in AllCommands(sub, [.. path, sub.Name])) yield return x;
    }

    [Fact]
    public void EveryOptionOfEveryCommandRejectsMalformedValuesWithoutACrash()
    {
        using var dir = new TestSupport.TempDir();
        var root = Program.Commands();
        int checkedValues = 0;
        foreach (var (path, command) in AllCommands(root, []))
        {
            if (command.Action is null) continue;
            // Arguments that let the command start if the options were good: nothing exists at these paths.
            string[] positionals = [.. command.Arguments.Where(a => a.Arity.MinimumNumberOfValues > 0).Select(a => Path.Combine(dir.Path, "missing-" + a.Name))];
            foreach (var option in command.Options)
            {
                if (option is System.CommandLine.Help.HelpOption or VersionOption) continue;
                var hlvm = Assert.IsAssignableFrom<HlvmOption>(option); // every option is made by OptionKinds
                var lines = new List<string[]>();
                if (hlvm.Kind == ValueKind.Flag) lines.Add([.. path, $"{option.Name}=yes", .. positionals]);
                foreach (var value in Malformed(hlvm))
                {
                    lines.Add([.. path, $"{option.Name}={value}", .. positionals]);
                    lines.Add([.. path, option.Name, value, .. positionals]);
                    lines.Add([.. path, .. positionals, option.Name, value]);
                }
                if (hlvm.Kind != ValueKind.Flag) lines.Add([.. path, .. positionals, option.Name]);
                foreach (var line in lines)
                {
                    var r = TestSupport.Hlvm(line);
                    string shown = string.Join(" ", line).Replace("\0", "\\0");
                    Assert.True(r.ExitCode == 64, $"hlvm {shown}: exit {r.ExitCode}\n{r.Stderr}");
                    Assert.True(r.Stderr.StartsWith("hlvm", StringComparison.Ordinal) && r.Stderr.Split('\n')[0].Contains(option.Name), $"hlvm {shown}: {r.Stderr}");
                    Assert.DoesNotContain("Exception", r.Stderr);
                    Assert.False(r.Stderr.Contains('\0'), $"hlvm {shown}: a NUL reached the terminal");
                    Assert.Equal("", r.Stdout);
                    checkedValues++;
                }
            }
            // An empty argument is a usage error too, not a path the file system refuses.
            if (positionals.Length > 0)
            {
                var empty = TestSupport.Hlvm([.. path, ""]);
                Assert.True(empty.ExitCode == 64, $"hlvm {string.Join(" ", path)} '': exit {empty.ExitCode}\n{empty.Stderr}");
            }
        }
        Assert.True(checkedValues > 300, $"only {checkedValues} command lines checked");
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Theory]
    [InlineData("serve", ".", "--port", "99999")]
    [InlineData("serve", ".", "--port", "0")]
    [InlineData("run", "--max-stack=3", "--max-stack=5", "x.hl")]
    [InlineData("run", "--gc-log=true", "x.hl")]
    [InlineData("build", "x.hl", "y.hl")]
    [InlineData("run", "")]
    public void OtherMisusesAreUsageErrors(params string[] args)
    {
        var r = TestSupport.Hlvm(args);
        Assert.Equal(64, r.ExitCode);
        Assert.Equal(2, r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void AMissingKeyFileIsAMissingInputAndAMalformedOneIsBadData()
    {
        using var dir = new TestSupport.TempDir();
        string bundle = dir.File("app.hlb", "not read: the keys are read first");
        string missing = Path.Combine(dir.Path, "missing.pub");
        var r = TestSupport.Hlvm("run", bundle, "--trust", missing);
        Assert.Equal(66, r.ExitCode);
        Assert.Equal($"hlvm: --trust: cannot read '{missing}': no such file (a key is ed25519:BASE64 or a file holding it)\n", r.Stderr);
        string wrong = dir.File("wrong.pub", "hello\n");
        var bad = TestSupport.Hlvm("run", bundle, "--trust", wrong);
        Assert.Equal(65, bad.ExitCode);
        Assert.StartsWith($"hlvm: --trust: {wrong}: not an Ed25519 public key", bad.Stderr);
        var inline = TestSupport.Hlvm("run", bundle, "--trust", "ed25519:@@@");
        Assert.Equal(64, inline.ExitCode);
        Assert.StartsWith("hlvm: --trust: not an Ed25519 public key", inline.Stderr);
    }

    [Fact]
    public void KeygenAndPackNameTheFileTheyCantWrite()
    {
        using var dir = new TestSupport.TempDir();
        string name = Path.Combine(dir.Path, "no", "me");
        var keygen = TestSupport.Hlvm("keygen", "-o", name);
        Assert.Equal(73, keygen.ExitCode);
        Assert.Equal($"hlvm: cannot write '{name}.key': no such directory '{Path.GetDirectoryName(name)}'\n", keygen.Stderr);
        string output = Path.Combine(dir.Path, "no", "app.hlb");
        var pack = TestSupport.Hlvm("pack", Path.Combine(TestSupport.Root, "examples", "greeter"), "-o", output);
        Assert.Equal(73, pack.ExitCode);
        Assert.Equal($"hlvm: cannot write '{output}': no such directory '{Path.GetDirectoryName(output)}'\n", pack.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
        // A device that takes nothing: the reason once, not followed by the path again as .NET's message has it.
        var full = TestSupport.Hlvm("build", Hello, "-o", "/dev/full");
        Assert.Equal(73, full.ExitCode);
        Assert.Equal("hlvm: cannot write '/dev/full': No space left on device\n", full.Stderr);
        // A directory alone names no key pair (it wrote the hidden files .key and .pub there).
        var unnamed = TestSupport.Hlvm("keygen", "-o", dir.Path + "/");
        Assert.Equal(64, unnamed.ExitCode);
        Assert.Equal($"hlvm keygen: -o '{dir.Path}/' names no file; give the key pair a name, as in -o {dir.Path}/me\n", unnamed.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
        Assert.Equal(64, TestSupport.Hlvm("keygen", "-o", Path.Combine(dir.Path, ".key")).ExitCode);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
        // A pair named by one of its files is that pair (it was me.key.key and me.key.pub).
        Assert.Equal(0, TestSupport.Hlvm("keygen", "-o", Path.Combine(dir.Path, "me.key")).ExitCode);
        Assert.Equal(["me.key", "me.pub"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    /// <summary>A copy of the example app examples/greeter at <paramref name="app"/>, which it returns.</summary>
    private static string CopyOfGreeter(string app)
    {
        string example = Path.Combine(TestSupport.Root, "examples", "greeter");
        foreach (var file in Directory.GetFiles(example, "*", SearchOption.AllDirectories))
        {
            string copy = Path.Combine(app, Path.GetRelativePath(example, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
        return app;
    }

    /// <summary>
    /// An output that is the command's own input is refused and the input kept: build and asm with -o naming the
    /// source, or a link to it, and build of source in a file named .hlc (its default output is itself) each
    /// replaced the program with its module; pack -o naming a file of the app replaced it with the bundle.
    /// </summary>
    [Fact]
    public void AnOutputThatIsTheInputIsRefusedAndTheInputKept()
    {
        using var dir = new TestSupport.TempDir();
        string source = File.ReadAllText(Hello);
        string hello = dir.File("hello.hl", source), misnamed = dir.File("src.hlc", source);
        File.CreateSymbolicLink(Path.Combine(dir.Path, "link.hl"), hello);
        foreach (var (command, output) in new[] { ("build", hello), ("build", Path.Combine(dir.Path, "link.hl")), ("asm", hello) })
        {
            var r = TestSupport.Hlvm(command, hello, "-o", output);
            Assert.Equal(64, r.ExitCode);
            Assert.Equal($"hlvm {command}: the output '{output}' is the input itself; name another with -o\n", r.Stderr);
            Assert.Equal(source, File.ReadAllText(hello));
        }
        // The audit log, appended to, is not the program either (it made the program a syntax error).
        var audited = TestSupport.Hlvm("run", "--audit", hello, hello);
        Assert.Equal((64, $"hlvm run: the output '{hello}' is the input itself; name another with --audit\n"), (audited.ExitCode, audited.Stderr));
        Assert.Equal(source, File.ReadAllText(hello));
        // Source named as a module (whose module would be written over it) is not read as source at all.
        var misread = TestSupport.Hlvm("build", misnamed);
        Assert.Equal((65, $"hlvm: {misnamed}: malformed module: it does not begin with a module's header ('HLVM'); a file named .hlc is read as a module, and a program's source is named .hl\n"),
            (misread.ExitCode, misread.Stderr));
        Assert.Equal(source, File.ReadAllText(misnamed));
        string app = CopyOfGreeter(Path.Combine(dir.Path, "greeter"));
        string main = File.ReadAllText(Path.Combine(app, "main.hl"));
        var pack = TestSupport.Hlvm("pack", app, "-o", Path.Combine(app, "main.hl"));
        Assert.Equal(64, pack.ExitCode);
        Assert.Contains("is inside the app's directory; a bundle there must end with .hlb", pack.Stderr);
        var itself = TestSupport.Hlvm("pack", app, "-o", app);
        Assert.Equal((64, $"hlvm pack: the output '{app}' is the app's directory itself; name the bundle's file, such as greeter.hlb\n"), (itself.ExitCode, itself.Stderr));
        Assert.Equal(main, File.ReadAllText(Path.Combine(app, "main.hl")));
        Assert.Equal(0, TestSupport.Hlvm("pack", app, "-o", Path.Combine(app, "greeter.hlb")).ExitCode);
    }

    /// <summary>
    /// A module given to asm, and a module's text form given to run or check, are said to be what they are, with
    /// the command that takes them: asm of a module said only that its default output was its input, and run of a
    /// .hlasm file gave a syntax error alone.
    /// </summary>
    [Fact]
    public void AModuleGivenToAsmAndItsTextGivenToRunAreSaidToBeWhatTheyAre()
    {
        using var dir = new TestSupport.TempDir();
        string module = Path.Combine(dir.Path, "hello.hlc");
        Assert.Equal(0, TestSupport.Hlvm("build", Hello, "-o", module).ExitCode);
        var asm = TestSupport.Hlvm("asm", module);
        Assert.Equal((64, $"hlvm asm: '{module}' is a compiled module; asm takes a module's text form (.hlasm) (disasm prints a module as that text)\n"), (asm.ExitCode, asm.Stderr));
        string text = dir.File("hello.hlasm", TestSupport.Hlvm("disasm", module).Stdout);
        foreach (var command in (string[])["run", "check"])
        {
            var run = TestSupport.Hlvm(command, text);
            Assert.Equal(65, run.ExitCode);
            Assert.Equal($"hlvm: '{text}' is named as a module's text form (.hlasm), which is not a program and does not compile as one: assemble it with 'hlvm asm {text}', and run the module that makes\n", run.Stderr);
        }
        // A file named as a module that is not one (damaged, empty, or source) is said to be a malformed module
        // by every command that reads one: it was read as source ("not UTF-8 text: line 11, column 104").
        byte[] damaged = File.ReadAllBytes(module);
        damaged[0] = (byte)'J';
        foreach (var bytes in new[] { damaged, [], File.ReadAllBytes(Hello) })
        {
            File.WriteAllBytes(module, bytes);
            foreach (var command in (string[])["run", "check", "disasm", "build"])
            {
                var r = TestSupport.Hlvm(command, module);
                Assert.Equal((65, $"hlvm: {module}: malformed module: it does not begin with a module's header ('HLVM'); a file named .hlc is read as a module, and a program's source is named .hl\n"),
                    (r.ExitCode, r.Stderr));
            }
        }
    }

    /// <summary>A key file is read as an input is, a regular file of bounded size: --key and --trust naming
    /// /dev/zero read without end (4 GB of memory before they were stopped), and a FIFO blocked.</summary>
    [Fact]
    public async Task KeyFilesThatAreNotRegularFilesAreRefused()
    {
        using var dir = new TestSupport.TempDir();
        string greeter = Path.Combine(TestSupport.Root, "examples", "greeter"), bundle = Path.Combine(dir.Path, "greeter.hlb");
        Assert.Equal(0, TestSupport.Hlvm("pack", greeter, "-o", bundle).ExitCode);
        var read = Task.Run(() => (
            TestSupport.Hlvm("pack", greeter, "-o", Path.Combine(dir.Path, "signed.hlb"), "--key", "/dev/zero"),
            TestSupport.Hlvm("run", "--trust", "/dev/zero", bundle)));
        var (pack, run) = await read.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(66, pack.ExitCode);
        Assert.Equal("hlvm: --key: /dev/zero: it is not a regular file\n", pack.Stderr);
        Assert.Equal(66, run.ExitCode);
        Assert.StartsWith("hlvm: --trust: cannot read '/dev/zero': it is not a regular file", run.Stderr);
    }

    /// <summary>
    /// pack says what it leaves out of the bundle and why (links, hidden files and directories, signing keys), which
    /// it did without a word, and a startup resource it leaves out is said as such, not as "not a file of the app".
    /// The sources and the manifest are left out without a word: the module is what they become.
    /// </summary>
    [Fact]
    public void PackSaysWhatItLeavesOut()
    {
        using var dir = new TestSupport.TempDir();
        string app = CopyOfGreeter(Path.Combine(dir.Path, "app")), bundle = Path.Combine(dir.Path, "app.hlb");
        File.CreateSymbolicLink(Path.Combine(app, "data", "link.txt"), "greeting.txt");
        Directory.CreateDirectory(Path.Combine(app, ".git"));
        File.WriteAllText(Path.Combine(app, ".git", "config"), "[core]");
        File.WriteAllText(Path.Combine(app, "me.key"), "ed25519-private:...");
        var pack = TestSupport.Hlvm("pack", app, "-o", bundle);
        Assert.True(pack.ExitCode == 0, pack.Stderr);
        Assert.Equal("hlvm: left out of the bundle: .git/ (hidden), data/link.txt (a symbolic link), me.key (a signing key)\n", pack.Stderr);
        Assert.Contains("2 entries", pack.Stdout);
        string manifest = Path.Combine(app, "hlvm.toml");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"data/greeting.txt\"", "\"data/link.txt\""));
        var startup = TestSupport.Hlvm("pack", app, "-o", bundle);
        Assert.Equal(65, startup.ExitCode);
        Assert.EndsWith($"hlvm: {manifest}: the startup resource 'data/link.txt' is left out of every bundle (a symbolic link)\n", startup.Stderr);
        // A source file is the app's, but as its module, not a resource: it was "not a file of the app".
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"data/link.txt\"", "\"main.hl\""));
        var source = TestSupport.Hlvm("pack", app, "-o", bundle);
        Assert.Equal(65, source.ExitCode);
        Assert.EndsWith($"hlvm: {manifest}: the startup resource 'main.hl' is a source file or the manifest, which the bundle holds compiled into its module, not as a resource\n", source.Stderr);
    }

    private static void MakeFifo(string path)
    {
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path])!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    /// <summary>A bundle that is not a regular file (a FIFO) is refused by run and rm, which blocked opening it.</summary>
    [Fact]
    public async Task ABundleThatIsNotARegularFileIsRefused()
    {
        using var dir = new TestSupport.TempDir();
        string bundle = Path.Combine(dir.Path, "pipe.hlb");
        MakeFifo(bundle);
        var (run, rm) = await Task.Run(() => (TestSupport.Hlvm("run", bundle), TestSupport.Hlvm("rm", bundle))).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(66, run.ExitCode);
        Assert.Contains($"cannot read '{bundle}': it is not a regular file", run.Stderr);
        Assert.Equal(66, rm.ExitCode);
        Assert.Equal($"hlvm rm: cannot read the bundle '{bundle}': it is not a regular file\n", rm.Stderr);
    }

    /// <summary>An app's file that is not a regular file (a FIFO here) is refused by pack, which blocked for good
    /// reading it, and so is a manifest that is one.</summary>
    [Fact]
    public async Task PackRefusesAnAppFileThatIsNotARegularFile()
    {
        using var dir = new TestSupport.TempDir();
        string app = CopyOfGreeter(Path.Combine(dir.Path, "app"));
        string bundle = Path.Combine(dir.Path, "app.hlb");
        MakeFifo(Path.Combine(app, "data", "pipe"));
        var pack = await Task.Run(() => TestSupport.Hlvm("pack", app, "-o", bundle)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(65, pack.ExitCode);
        Assert.Equal("hlvm: the app's file 'data/pipe' is not a regular file (a pipe, a socket or a device): a bundle holds regular files only; remove it\n", pack.Stderr);
        File.Delete(Path.Combine(app, "data", "pipe"));
        File.Delete(Path.Combine(app, "hlvm.toml"));
        MakeFifo(Path.Combine(app, "hlvm.toml"));
        pack = await Task.Run(() => TestSupport.Hlvm("pack", app, "-o", bundle)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(65, pack.ExitCode);
        Assert.Equal($"hlvm: {Path.Combine(app, "hlvm.toml")}: it is not a regular file\n", pack.Stderr);
        Assert.False(File.Exists(bundle));
    }

    [Fact]
    public void ABadManifestIsShownLikeACompileError()
    {
        using var dir = new TestSupport.TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "app"));
        string manifest = Path.Combine(dir.Path, "app", "hlvm.toml");
        // Line 2, column 11: where the value after '=' should be.
        File.WriteAllText(manifest, "name = \"x\"\nversion = \nentry = \"main.hl\"\n");
        var r = TestSupport.Hlvm("pack", Path.Combine(dir.Path, "app"), "-o", Path.Combine(dir.Path, "x.hlb"));
        Assert.Equal(65, r.ExitCode);
        Assert.Matches($@"^hlvm: {Regex.Escape(manifest)}:2:11: error: \S", r.Stderr);
        Assert.DoesNotContain(": error :", r.Stderr);
        // Nested past the parser's depth: said in the user's terms, not as advice to raise the parser's option.
        File.WriteAllText(manifest, "name = \"x\"\nversion = \"1\"\nentry = \"main.hl\"\nx = " + new string('[', 100) + new string(']', 100) + "\n");
        var deep = TestSupport.Hlvm("pack", Path.Combine(dir.Path, "app"), "-o", Path.Combine(dir.Path, "x.hlb"));
        Assert.Equal(65, deep.ExitCode);
        Assert.Matches($@"^hlvm: {Regex.Escape(manifest)}:4:\d+: error: this value nests deeper than a manifest may \(at most \d+ levels\)\n$", deep.Stderr);
        // A string left open: each line's error once, each line of the report hlvm's, in lower case like hlvm's
        // others (the parser's echo of the first, at the same place, and a line without "hlvm: " were shown).
        File.WriteAllText(manifest, "name = \"x\nversion = 1\n");
        var open = TestSupport.Hlvm("pack", Path.Combine(dir.Path, "app"), "-o", Path.Combine(dir.Path, "x.hlb"));
        Assert.Equal(65, open.ExitCode);
        var lines = open.Stderr.TrimEnd('\n').Split('\n');
        Assert.All(lines, l => Assert.Matches($@"^hlvm: {Regex.Escape(manifest)}:\d+:\d+: error: [a-z]", l));
        Assert.Equal(lines.Length, lines.Select(l => l.Split(':')[^3]).Distinct().Count());
        Assert.StartsWith($"hlvm: {manifest}:1:10: error: invalid newline in a string", open.Stderr);
        // A key or table defined twice is an error in TOML; the last definition had won.
        File.WriteAllText(manifest, "name = \"x\"\nversion = \"1.0.0\"\nentry = \"main.hl\"\nname = \"y\"\n");
        var twice = TestSupport.Hlvm("pack", Path.Combine(dir.Path, "app"), "-o", Path.Combine(dir.Path, "x.hlb"));
        Assert.Equal((65, $"hlvm: {manifest}:4:1: error: 'name' is defined twice (first on line 1)\n"), (twice.ExitCode, twice.Stderr));
        File.WriteAllText(manifest, "name = \"x\"\nversion = \"1.0.0\"\nentry = \"main.hl\"\n[t]\na = 1\n[t]\nb = 2\n");
        twice = TestSupport.Hlvm("pack", Path.Combine(dir.Path, "app"), "-o", Path.Combine(dir.Path, "x.hlb"));
        Assert.Equal((65, $"hlvm: {manifest}:6:1: error: 't' is defined twice (first on line 4)\n"), (twice.ExitCode, twice.Stderr));
        Assert.False(File.Exists(Path.Combine(dir.Path, "x.hlb")));
    }

    // ---------------------------------------------------------------------------------------- unknown words

    [Theory]
    [InlineData(new[] { "run", "--alow-read=/etc", "PROG" }, "hlvm run: unknown option '--alow-read' (did you mean --allow-read?)")]
    [InlineData(new[] { "run", "PROG", "--alow-read=/etc" }, "hlvm run: unknown option '--alow-read' (did you mean --allow-read?)")]
    [InlineData(new[] { "run", "PROG", "--fule", "5" }, "hlvm run: unknown option '--fule' (did you mean --fuel?)")]
    [InlineData(new[] { "run", "PROG", "-v" }, "hlvm run: unknown option '-v'")]
    [InlineData(new[] { "build", "--ouput", "x.hlc", "PROG" }, "hlvm build: unknown option '--ouput' (did you mean --output?)")]
    [InlineData(new[] { "frobnicate" }, "hlvm: unknown command 'frobnicate'; the commands are run, prof, bench, build, check, disasm, asm, keygen, pack, serve, cache, data, rm")]
    [InlineData(new[] { "buidl", "PROG" }, "hlvm: unknown command 'buidl' (did you mean build?)")]
    [InlineData(new[] { "cache", "lst" }, "hlvm cache: unknown command 'lst' (did you mean list?)")]
    // Two characters are two edits from every other two: no suggestion (it used to offer 'rm' for '/?').
    [InlineData(new[] { "/?" }, "hlvm: unknown command '/?'; the commands are run,")]
    [InlineData(new[] { "xy" }, "hlvm: unknown command 'xy'; the commands are run,")]
    public void UnknownCommandsAndOptionsAreUsageErrorsWithASuggestion(string[] args, string message)
    {
        var r = TestSupport.Hlvm([.. args.Select(a => a == "PROG" ? Hello : a)]);
        Assert.Equal(64, r.ExitCode);
        Assert.StartsWith(message, r.Stderr);
        Assert.Equal(2, r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void EverythingAfterDoubleDashGoesToTheProgram()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("args.hl", "fn main(args: [string]) -> int {\n    println(args)\n    return 0\n}\n");
        var r = TestSupport.Hlvm("run", file, "a", "--fuel", "100000", "--", "--alow-read=/etc", "--fuel", "5", "-v", "--", "@x");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("[\"a\", \"--alow-read=/etc\", \"--fuel\", \"5\", \"-v\", \"--\", \"@x\"]\n", r.Stdout);
        // The program's file comes before '--'.
        var none = TestSupport.Hlvm("run", "--", file);
        Assert.Equal(64, none.ExitCode);
        Assert.StartsWith("hlvm run: no FILE given (what follows '--' is the program's)", none.Stderr);
        // A command that runs no program takes '--' as the end of its options: a file whose name starts with '-'
        // follows it (check said no FILE was given). Here it names no file, which check then says.
        var dashed = TestSupport.Hlvm("check", "--", "-dashed.hl");
        Assert.Equal(66, dashed.ExitCode);
        Assert.Equal("hlvm: cannot read '-dashed.hl': no such file\n", dashed.Stderr);
        string output = Path.Combine(dir.Path, "out.hlc");
        Assert.Equal(0, TestSupport.Hlvm("build", "-o", output, "--", file).ExitCode);
        Assert.True(File.Exists(output));
        var extra = TestSupport.Hlvm("build", file, "--", "-o", "x");
        Assert.Equal(64, extra.ExitCode);
        Assert.StartsWith("hlvm build: unexpected argument '-o' (hlvm build takes FILE)", extra.Stderr);
    }

    // ---------------------------------------------------------------------------------------- engines

    private const string Checked = "--checked runs the program in the interpreter alone (it checks the stack before every instruction)";
    private const string Every = "--every runs the program in the interpreter alone (it counts instructions)";

    /// <summary>Command lines whose options contradict the engine that would run, and what hlvm says of each.</summary>
    public static TheoryData<string, string> EngineContradictions() => new()
    {
        { "run --engine jit --checked", $"hlvm run: {Checked}, so it can't be combined with --engine jit" },
        { "run --engine tiered --checked", $"hlvm run: {Checked}, so it can't be combined with --engine tiered" },
        { "run --engine compare --checked", $"hlvm run: {Checked}, so it can't be combined with --engine compare" },
        { "run --checked --jit-log", $"hlvm run: {Checked}, so --jit-log would do nothing" },
        { "run --checked --jit-threshold 5", $"hlvm run: {Checked}, so --jit-threshold would do nothing" },
        { "prof --compare --checked", $"hlvm prof: {Checked}, so it can't be combined with --compare (both runs would be interpreted)" },
        { "prof --every 1000 --engine jit", $"hlvm prof: {Every}, so it can't be combined with --engine jit" },
        { "prof --every 1000 --jit-sync", $"hlvm prof: {Every}, so --jit-sync would do nothing" },
        { "run --engine interp --jit-threshold 5", "hlvm run: --engine interp never compiles, so --jit-threshold would do nothing" },
        { "run --engine interp --jit-sync", "hlvm run: --engine interp never compiles, so --jit-sync would do nothing" },
        { "run --engine interp --jit-log", "hlvm run: --engine interp never compiles, so --jit-log would do nothing" },
        { "run --engine jit --jit-threshold 0", "hlvm run: --jit-threshold tunes --engine tiered; --engine jit compiles every function before it first runs, on the program's thread" },
        { "run --engine jit --jit-sync", "hlvm run: --jit-sync tunes --engine tiered; --engine jit compiles every function before it first runs, on the program's thread" },
        { "run --engine compare --jit-threshold 5", "hlvm run: --jit-threshold tunes --engine tiered; --engine compare runs interp and jit" },
        { "prof --compare --engine tiered", "hlvm prof: --compare profiles the program under interp and under jit, so it can't be combined with --engine tiered" },
        { "prof --compare --jit-sync", "hlvm prof: --jit-sync tunes --engine tiered; --compare runs interp and jit" },
        { "prof --engine compare", "hlvm prof: --engine compare compares the engines' output, not their profiles; to profile the program under both engines, use --compare" },
        { "prof --compare --every 100", "hlvm prof: --compare times the engines; --every counts instructions, which the JIT does not (the program would run interpreted twice)" },
    };

    /// <summary>
    /// An option that would do nothing under the engine that runs, or an engine that would not run, is a usage
    /// error that says which and why, and the program does not run: `--engine compare --checked` reported the
    /// engines the same when both runs had been interpreted, and `prof --compare --checked` a speed-up between two
    /// runs of the interpreter.
    /// </summary>
    [Theory]
    [MemberData(nameof(EngineContradictions))]
    public void OptionsThatContradictTheEngineAreUsageErrors(string options, string said)
    {
        var words = options.Split(' ');
        var r = TestSupport.Hlvm([words[0], .. words[1..], Hello]);
        Assert.Equal(64, r.ExitCode);
        Assert.Equal(said + "\n", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    /// <summary>
    /// --trust and --allow-unsigned say which bundles may run: given for a program or a module, they would do
    /// nothing, which is said (they were ignored). A bundle is known by its bytes too, so the file is read first.
    /// </summary>
    [Fact]
    public void BundleOptionsForAProgramOrAModuleAreUsageErrors()
    {
        using var dir = new TestSupport.TempDir();
        string module = Path.Combine(dir.Path, "hello.hlc");
        Assert.Equal(0, TestSupport.Hlvm("build", Hello, "-o", module).ExitCode);
        var keys = Path.Combine(dir.Path, "me");
        Assert.Equal(0, TestSupport.Hlvm("keygen", "-o", keys).ExitCode);
        foreach (var (command, file, option, what) in new[]
        {
            ("run", Hello, new[] { "--allow-unsigned" }, "a program"), ("prof", Hello, ["--trust", keys + ".pub"], "a program"),
            ("run", module, ["--trust", keys + ".pub", "--allow-unsigned"], "a module"),
        })
        {
            var r = TestSupport.Hlvm([command, .. option, file]);
            Assert.Equal(64, r.ExitCode);
            Assert.Equal($"hlvm {command}: {option[0]} says which bundles may run, and '{file}' is {what}, not a bundle, so it would do nothing\n", r.Stderr);
            Assert.Equal("", r.Stdout);
        }
    }

    /// <summary>The same options where they do apply: the program runs, and the JIT's options act.</summary>
    [Fact]
    public void EngineOptionsRunWhereTheyApply()
    {
        var hello = TestSupport.Hlvm("run", Hello).Stdout;
        Assert.NotEqual("", hello);
        foreach (var options in new[]
        {
            new[] { "run", "--checked" }, ["run", "--engine", "interp", "--checked"], ["run", "--engine", "interp", "--gc-log"],
            ["run", "--engine", "tiered", "--jit-threshold", "0", "--jit-sync", "--jit-log"], ["run", "--engine", "jit", "--jit-log"],
            ["run", "--engine", "compare", "--jit-log"], ["prof", "--every", "1000", "--engine", "interp"], ["prof", "--compare", "--jit-log"],
        })
        {
            var r = TestSupport.Hlvm([.. options, Hello]);
            Assert.True(r.ExitCode == 0, $"{string.Join(' ', options)}: {r.Stderr}");
            if (!options.Contains("compare")) Assert.Equal(hello, r.Stdout);
            Assert.True(options.Contains("--jit-log") == r.Stderr.Contains("jit: main:"), $"{string.Join(' ', options)}: {r.Stderr}");
        }
    }

    // ---------------------------------------------------------------------------------------- help

    [Fact]
    public void HelpPrintsEachDefaultOnceAndNamesValuesByWhatTheyAre()
    {
        foreach (var (path, command) in AllCommands(Program.Commands(), []))
        {
            var help = TestSupport.Hlvm([.. path, "--help"]);
            Assert.Equal(0, help.ExitCode);
            Assert.DoesNotContain("[default:", help.Stdout);
            foreach (var option in command.Options.OfType<HlvmOption>().Where(o => o.Kind != ValueKind.Flag))
            {
                // The placeholder says what the value is (N, SIZE, FILE), not the option's name again.
                string line = help.Stdout.Split('\n').Single(l => Regex.IsMatch(l, $@"^\s+(-\w, )?{Regex.Escape(option.Name)} <"));
                Assert.DoesNotContain($"<{option.Name.TrimStart('-')}>", line);
                Assert.True(Regex.Matches(line, "default").Count <= 1, line);
            }
        }
    }

    [Fact]
    public void SubcommandHelpSaysWhatEachCommandTakes()
    {
        var keygen = TestSupport.Hlvm("keygen", "--help").Stdout;
        Assert.Contains("-o, --output <NAME>  the key pair's files, NAME.key and NAME.pub", keygen);
        Assert.DoesNotContain("module", keygen);
        var pack = TestSupport.Hlvm("pack", "--help").Stdout;
        Assert.Contains("the bundle file to write; default the directory's name with .hlb", pack);
        Assert.DoesNotContain(".hlc", pack);
        foreach (var command in new[] { "build", "check", "disasm", "asm" })
        {
            var help = TestSupport.Hlvm(command, "--help").Stdout;
            Assert.DoesNotContain("bundle", help);
            Assert.DoesNotContain("URL", help);
        }
        Assert.Contains("URL", TestSupport.Hlvm("run", "--help").Stdout);
    }

    [Theory]
    [InlineData("check")]
    [InlineData("disasm")]
    [InlineData("build")]
    [InlineData("asm")]
    [InlineData("bench")]
    public void CommandsOfProgramsRefuseBundlesAndUrlsSayingWhatTheyTake(string command)
    {
        using var dir = new TestSupport.TempDir();
        // A bundle's bytes under another name: recognised by its magic, not its name.
        string bundle = dir.File("app.data");
        File.WriteAllBytes(bundle, [.. "HLVMBNDL"u8, 1, 0, 0, 0]);
        foreach (var input in new[] { bundle, "http://127.0.0.1:1/app.hlb", Path.Combine(dir.Path, "app.hlb") })
        {
            var r = TestSupport.Hlvm(command, input);
            Assert.Equal(64, r.ExitCode);
            Assert.StartsWith($"hlvm {command}: '{input}' is a", r.Stderr);
            Assert.Contains("(run and prof take bundles and URLs)", r.Stderr);
        }
        Assert.Equal(["app.data"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    // ---------------------------------------------------------------------------------------- run FILE WORDS...

    /// <summary>
    /// <c>run FILE [WORDS...]</c> and <c>prof FILE [WORDS...]</c> are read without System.CommandLine (for start-up
    /// time): each must read such a line exactly as System.CommandLine does, every option at its default, and leave
    /// every other line to it.
    /// </summary>
    [Theory]
    [InlineData("prog.hl")]
    [InlineData("prog.hl", "a")]
    [InlineData("prog.hl", "a", "b c", "run", "@file", "x=y")]
    [InlineData("http://127.0.0.1:8080/app.hlb", "arg")]
    [InlineData("dir/prog.hlc", "--")]
    [InlineData("prog.hl", "-v")]
    [InlineData("--fuel", "10", "prog.hl")]
    [InlineData("prog.hl", "a", "--", "-b")]
    [InlineData("prog.hl", "")]
    public void APlainRunLineIsReadAsSystemCommandLineReadsIt(params string[] words)
    {
        foreach (bool profiling in new[] { false, true })
        {
            var plain = RunSettings.Plain([profiling ? "prof" : "run", .. words]);
            if (words.Any(w => w.Length == 0 || w.StartsWith('-')))
            {
                Assert.Null(plain); // options, '--' and the rest are System.CommandLine's
                continue;
            }
            Assert.NotNull(plain);
            var parsed = Program.ReadRunSettings(words, profiling);
            Assert.Equal(parsed.File, plain.File);
            Assert.Equal(parsed.Args, plain.Args);
            Assert.Empty(parsed.Grants);
            Assert.Empty(plain.Grants);
            Assert.Equal(parsed.Trust, plain.Trust);
            Assert.Equal(profiling, plain.Profile is not null);
            // Every other setting (each option's value) is the same: the lists, compared above, made one instance.
            string[] none = [];
            RunSettings.Grant[] noGrants = [];
            Assert.Equal(parsed with { Args = none, Trust = none, Grants = noGrants }, plain with { Args = none, Trust = none, Grants = noGrants });
        }
        Assert.Null(RunSettings.Plain(["build", .. words]));
        Assert.Null(RunSettings.Plain(["run"]));
        Assert.Null(RunSettings.Plain(["prof"]));
    }

    // ---------------------------------------------------------------------------------------- the README

    /// <summary>The rows of the README's table under <paramref name="heading"/>: its cells, markdown and all.</summary>
    private static List<string[]> ReadmeTable(string heading)
    {
        var lines = File.ReadAllLines(Path.Combine(TestSupport.Root, "README.md"));
        int start = Array.FindIndex(lines, l => l.Trim() == heading);
        Assert.True(start >= 0, $"the README has no '{heading}'");
        int first = Array.FindIndex(lines, start + 1, l => l.StartsWith('|'));
        var rows = new List<string[]>();
        for (int i = first + 2; i < lines.Length && lines[i].StartsWith('|'); i++)
            rows.Add([.. TableCells().Split(lines[i].Trim().Trim('|')).Select(c => c.Trim())]);
        // A blank line would end the table early, splitting it in two: nothing like a row may follow it.
        int after = first + 2 + rows.Count;
        Assert.False(after + 1 < lines.Length && lines[after].Trim() == "" && lines[after + 1].StartsWith('|'), $"the README's table under '{heading}' is broken by a blank line");
        return rows;
    }

    [Fact]
    public void TheReadmesExitCodesAreTheOnesHelpPrints()
    {
        var readme = ReadmeTable("### Exit codes").ToDictionary(r => int.Parse(r[0]), r => r[1]);
        // Every code the command uses is in the table.
        var used = typeof(ExitCodes).GetFields().Where(f => f.IsLiteral && f.FieldType == typeof(int)).Select(f => (int)f.GetRawConstantValue()!);
        Assert.Equal(used.Order(), readme.Keys.Order());
        // --help lists the same codes with the same words (without the README's `code` marks, wrapped).
        string help = TestSupport.Hlvm("--help").Stdout;
        int at = help.IndexOf("Exit codes:\n", StringComparison.Ordinal);
        Assert.True(at >= 0, "--help has no exit codes");
        var printed = new Dictionary<int, string>();
        int? code = null;
        foreach (var line in help[(at + "Exit codes:\n".Length)..].Split('\n'))
        {
            var m = Regex.Match(line, @"^\s+(\d+)\s+(.*)$");
            if (m.Success) printed[(code = int.Parse(m.Groups[1].Value)).Value] = m.Groups[2].Value.Trim();
            else if (code is { } c && line.Trim().Length > 0 && line.StartsWith("      ", StringComparison.Ordinal)) printed[c] += " " + line.Trim();
            else break;
        }
        Assert.Equal(readme.Keys.Order(), printed.Keys.Order());
        foreach (var (c, meaning) in readme) Assert.Equal(meaning.Replace("`", "").Replace("\\|", "|"), printed[c]);
    }

    [Fact]
    public void TheReadmesRunOptionsAreRunsOptions()
    {
        var named = ReadmeTable("Options of `run`:")
            .SelectMany(r => Regex.Matches(r[0], @"`(--[a-z-]+)").Select(m => m.Groups[1].Value))
            .ToHashSet();
        var run = Program.Commands().Subcommands.Single(c => c.Name == "run");
        var options = run.Options.Where(o => o is not System.CommandLine.Help.HelpOption).Select(o => o.Name).ToHashSet();
        Assert.Empty(options.Except(named));
        Assert.Empty(named.Except(options));
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("10", 10_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("0.25h", 900_000)]
    [InlineData("596h", 2_145_600_000)]
    public void ADurationIsReadInItsUnitSecondsWhenItHasNone(string text, long milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Program.ReadRunSettings(["--timeout", text, "p.hl"]).Timeout);
    }

    [Theory]
    [InlineData("1.s")]
    [InlineData(".5s")]
    [InlineData("1e3")]
    [InlineData("+5s")]
    [InlineData("5 s")]
    [InlineData("5sec")]
    [InlineData("5mss")]
    [InlineData("\u0665s")] // an Arabic-Indic five: digits are ASCII digits
    [InlineData("597h")] // past 24.8 days, the most a timer takes
    public void AMalformedDurationIsAUsageError(string text)
    {
        text = Regex.Unescape(text);
        var e = Assert.Throws<ArgumentException>(() => Program.ReadRunSettings(["--timeout", text, "p.hl"]));
        Assert.Contains("--timeout: ", e.Message);
        Assert.Contains("is not a duration", e.Message);
    }

    private static readonly CliContext Quiet = new(TextWriter.Null, TextWriter.Null, TextReader.Null, IsProcess: false);

    [Fact]
    public void TheHelpWordsAreTheNamesOfSystemCommandLinesHelpAndVersionOptions()
    {
        var help = new System.CommandLine.Help.HelpOption();
        var version = new VersionOption();
        string[] names = [help.Name, .. help.Aliases, version.Name, .. version.Aliases];
        Assert.Equal(names.Order(StringComparer.Ordinal), HlvmCommand.HelpWords.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ALineMakesOnlyTheCommandItNamesWithTheSameOptionsAsTheWholeTree()
    {
        var whole = HlvmCommand.Create(Quiet);
        Assert.Contains(whole.Options, o => o is System.CommandLine.Help.HelpOption);
        Assert.Contains(whole.Options, o => o is VersionOption);
        foreach (var command in whole.Subcommands)
        {
            var plain = HlvmCommand.Create(Quiet, [command.Name, "file"]);
            var only = Assert.Single(plain.Subcommands);
            Assert.Equal(command.Name, only.Name);
            Assert.Empty(plain.Options); // no help or version option: the line names neither
            Assert.Equal(command.Options.Select(o => o.Name), only.Options.Select(o => o.Name));
            Assert.Equal(command.Subcommands.Select(c => c.Name), only.Subcommands.Select(c => c.Name));

            var helped = HlvmCommand.Create(Quiet, [command.Name, "--help=x"]);
            Assert.Contains(helped.Options, o => o is System.CommandLine.Help.HelpOption);
            Assert.Single(helped.Subcommands);
        }
        // A help word after '--' is the program's; an unknown first word gets the whole tree (its message lists the commands).
        Assert.Empty(HlvmCommand.Create(Quiet, ["run", "p.hl", "--", "--help"]).Options);
        Assert.Equal(whole.Subcommands.Count, HlvmCommand.Create(Quiet, ["runn", "p.hl"]).Subcommands.Count);
    }

    [GeneratedRegex(@"(?<!\\)\|")]
    private static partial Regex TableCells();
}
