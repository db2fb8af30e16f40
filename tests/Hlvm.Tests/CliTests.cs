using System.Diagnostics;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Tests;

/// <summary>The command line: each command, each exit code, and bad input of every kind.</summary>
public sealed class CliTests
{
    private static readonly string Hello = Path.Combine(TestSupport.Root, "examples", "hello.hl");

    [Fact]
    public void RunPrintsTheProgramsOutput()
    {
        var r = TestSupport.Hlvm("run", Hello);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("Hello, world!\n", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    /// <summary>A module larger than hlvm reads one (16 MiB) is not written: build (and asm) say so (exit 65) and leave
    /// no file, where they wrote a file that every run then refused. (Two functions of 9 MiB of code each: a program
    /// that compiles to that is a source of megabytes, so the module is made here.)</summary>
    [Fact]
    public void AModuleLargerThanHlvmReadsIsNotWritten()
    {
        using var dir = new TestSupport.TempDir();
        var module = new Runtime.Bytecode.Module { Name = "big", SourceFile = "big.hl" };
        for (int i = 0; i < 2; i++) module.Functions.Add(new Runtime.Bytecode.FunctionDef { Name = $"f{i}", Code = new byte[9 << 20] });
        var stderr = new StringWriter { NewLine = "\n" };
        string output = Path.Combine(dir.Path, "big.hlc");
        int code = new Cli.Inputs(new Cli.CliContext(TextWriter.Null, stderr, TextReader.Null, IsProcess: false)).WriteModule(output, module);
        Assert.Equal(65, code);
        Assert.Matches(@"^hlvm: the module would be \d+ bytes, larger than the 16 MiB hlvm reads of a module file; '.*big\.hlc' was not written\n$", stderr.ToString());
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void HelpListsCommandsAndExitCodes()
    {
        var r = TestSupport.Hlvm("--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var word in new[] { "run", "build", "check", "disasm", "64", "65", "66", "70", "75" }) Assert.Contains(word, r.Stdout);
        var run = TestSupport.Hlvm("run", "--help");
        foreach (var flag in new[] { "--engine", "--max-stack", "--max-heap", "--fuel", "--gc-stress", "--gc-log" }) Assert.Contains(flag, run.Stdout);
    }

    [Fact]
    public void VersionPrintsTheVersion()
    {
        var r = TestSupport.Hlvm("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("0.1.0", r.Stdout);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("run")]
    [InlineData("run", "--max-heap", "lots", "x.hl")]
    [InlineData("run", "--max-heap", "-5m", "x.hl")]
    [InlineData("run", "--max-stack", "0", "x.hl")]
    [InlineData("run", "--engine", "warp", "x.hl")]
    [InlineData("run", "--fuel", "-1", "x.hl")]
    public void BadUsageExits64(params string[] args)
    {
        var r = TestSupport.Hlvm(args);
        Assert.Equal(64, r.ExitCode);
        Assert.StartsWith("hlvm", r.Stderr);
        Assert.EndsWith("--help' for usage.\n", r.Stderr);
        Assert.Equal(2, r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void MissingInputExits66()
    {
        var r = TestSupport.Hlvm("run", "no/such/file.hl");
        Assert.Equal(66, r.ExitCode);
        Assert.Equal("hlvm: cannot read 'no/such/file.hl': no such file\n", r.Stderr);
        using var dir = new TestSupport.TempDir();
        foreach (string command in (string[])["run", "check", "disasm"])
        {
            var d = TestSupport.Hlvm(command, dir.Path);
            Assert.Equal(66, d.ExitCode);
            Assert.Equal($"hlvm: cannot read '{dir.Path}': it is a directory\n", d.Stderr);
        }
        // An app's directory (with its manifest) says how to run the app.
        dir.File("hlvm.toml", "name = \"x\"\n");
        var app = TestSupport.Hlvm("run", dir.Path);
        Assert.Equal(66, app.ExitCode);
        Assert.Equal($"hlvm: cannot read '{dir.Path}': it is a directory (an app's: pack it into a bundle and run that, "
            + $"'hlvm pack {dir.Path}' then 'hlvm run {Path.GetFileName(dir.Path)}.hlb --allow-unsigned' (or sign it: pack --key), or run its entry file)\n", app.Stderr);
    }

    /// <summary>
    /// A source file that is not UTF-8 (saved as Latin-1, or cut in the middle of a character) is refused where its
    /// first such bytes are, in the program, in a module it imports and in a `.hlasm` file alike, exit 65: it used to
    /// be read with U+FFFD in their place, so that `"café"` printed `caf\uFFFD` without a word. A byte-order mark
    /// and characters of every length before the bad byte are fine, and the column counts them as the compiler's
    /// messages do (UTF-16 code units: the emoji is two). Fails when bad bytes are replaced again, or placed wrong.
    /// </summary>
    [Fact]
    public void SourceThatIsNotUtf8IsRefusedWhereItStopsBeingUtf8()
    {
        using var dir = new TestSupport.TempDir();
        string Bytes(string name, params byte[][] parts)
        {
            string path = Path.Combine(dir.Path, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, parts.SelectMany(p => p).ToArray());
            return path;
        }
        byte[] U(string text) => System.Text.Encoding.UTF8.GetBytes(text);
        string latin1 = Bytes("latin1.hl", [0xEF, 0xBB, 0xBF], U("fn main() {\n    println(\"é😀 caf"), [0xE9], U("\")\n}\n"));
        var r = TestSupport.Hlvm("run", latin1);
        Assert.Equal(65, r.ExitCode);
        // Column 21: four spaces, `println("` (9), é (1) and 😀 (2), a space, "caf" (3), then the byte.
        Assert.Equal($"hlvm: cannot read '{latin1}': it is not UTF-8 text (hlvm reads source files as UTF-8): line 2, column 21 has the byte 0xE9, which is not a UTF-8 character\n", r.Stderr);

        string cut = Bytes("cut.hl", U("fn main() {\n  // "), [0xE2, 0x82], U(" euro\n}\n"));
        var c = TestSupport.Hlvm("check", cut);
        Assert.Equal(65, c.ExitCode);
        Assert.EndsWith("line 2, column 6 has the bytes 0xE2 0x82, which are not a UTF-8 character\n", c.Stderr);

        Bytes("lib/m.hl", U("pub fn f() -> string { return \""), [0xFF], U("\" }\n"));
        string main = Bytes("main.hl", U("import lib.m\nfn main() { println(m.f()) }\n"));
        var m = TestSupport.Hlvm("run", main);
        Assert.Equal(65, m.ExitCode);
        Assert.Equal($"hlvm: {main}: cannot read the module lib/m.hl: it is not UTF-8 text (hlvm reads source files as UTF-8): line 1, column 32 has the byte 0xFF, which is not a UTF-8 character\n", m.Stderr);

        // The compiler's own reader of modules (an embedder's, with no reader of its own) refuses them alike, as a
        // diagnostic at the import.
        var embedded = Hlvm.Compiler.Compilation.Compile(main, File.ReadAllText(main));
        var d = Assert.Single(embedded.Diagnostics);
        Assert.Equal((1, "cannot read module 'lib.m' (lib/m.hl): it is not UTF-8 text (hlvm reads source files as UTF-8): line 1, column 32 has the byte 0xFF, which is not a UTF-8 character"), (d.Line, d.Message));

        string asm = Bytes("bad.hlasm", U(".function main\n  ; "), [0xC0, 0xAF], U("\n"));
        var a = TestSupport.Hlvm("asm", asm);
        Assert.Equal(65, a.ExitCode);
        Assert.Contains("line 2, column 5 has the byte 0xC0, which is not a UTF-8 character", a.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.ChangeExtension(asm, ".hlc")));
    }

    /// <summary>check verifies the module a program compiles to, as run does: a program of 20,000 branches inside 40
    /// nested try blocks compiles, but passes the verifier's budget of steps (every branch target is merged into 40
    /// handlers); check said it was fine, and only run refused it.</summary>
    [Fact]
    public void CheckVerifiesWhatAProgramCompilesTo()
    {
        using var dir = new TestSupport.TempDir();
        var source = new System.Text.StringBuilder("fn main(args: [string]) {\n    let c = args.len() > 0\n");
        source.Insert(source.Length, "    try {\n", 40);
        for (int i = 0; i < 20_000; i++) source.Append($"    let v{i} = {i}\n    if c {{ println(v{i}) }}\n");
        source.Insert(source.Length, "    } catch e: Error { println(e.message) }\n", 40);
        string file = dir.File("joins.hl", source.Append("}\n").ToString());
        var check = TestSupport.Hlvm("check", file);
        Assert.Equal(65, check.ExitCode);
        Assert.StartsWith($"hlvm: {file}: verify error in joins: function 'main' at offset ", check.Stderr);
        Assert.Contains($"verifying the module takes more than {Hlvm.Runtime.Verification.Verifier.MaxWork} steps", check.Stderr);
        Assert.Equal(check.Stderr, TestSupport.Hlvm("run", file).Stderr);
    }

    [Fact]
    public void CompileErrorsExit65WithLocations()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("bad.hl", "fn main() {\n    let x: int = 1.5\n    let y = nope\n}\n");
        var r = TestSupport.Hlvm("run", file);
        Assert.Equal(65, r.ExitCode);
        Assert.Contains($"{file}:2:18: error: type mismatch: the variable's declared type is int, but this is float", r.Stderr);
        Assert.Contains($"{file}:3:13: error: undefined name 'nope'", r.Stderr);
        Assert.Contains("2 errors", r.Stderr);
        Assert.Equal(65, TestSupport.Hlvm("check", file).ExitCode);
        Assert.Equal(0, TestSupport.Hlvm("check", Hello).ExitCode);
        // A line break in the file's name is shown, so that file:line:col stays on one line.
        string odd = dir.File("bad\nname.hl", "fn main() {\n    let x: int = 1.5\n}\n");
        var shown = TestSupport.Hlvm("check", odd);
        Assert.Equal(65, shown.ExitCode);
        Assert.StartsWith($"{odd.Replace("\n", "\\n")}:2:18: error: type mismatch", shown.Stderr);
    }

    /// <summary>
    /// A malformed import is a syntax error (65) at the import, never a lookup of a module by a name the parser's
    /// recovery made up: `import ..` looked for a file outside the program's directory (66, as for a missing input),
    /// and `import a.` took the next line's `fn main` for the rest of its name, reported after that line's error.
    /// </summary>
    [Fact]
    public void AMalformedImportIsASyntaxErrorAtTheImport()
    {
        using var dir = new TestSupport.TempDir();
        foreach (var (text, error) in new[]
        {
            ("import ..\n", "1:8: error: unexpected '..'; an import takes a module's dotted name, like `std.math` or `util.strings`"),
            ("import .a\n", "1:8: error: unexpected '.'; an import takes a module's dotted name, like `std.math` or `util.strings`"),
            ("import a.\nfn main() {}\n", "1:10: error: the line ends after '.'; an import takes a module's dotted name, like `std.math` or `util.strings`"),
            ("import \"a\"\nfn main() {}\n", "1:8: error: unexpected string literal; an import takes a module's dotted name, like `std.math` or `util.strings`"),
            ("import a as\nfn main() {}\n", "1:12: error: the line ends after 'as'; `as` takes the name to give the module, as in `import util.strings as s`"),
        })
        {
            string file = dir.File("main.hl", text);
            var r = TestSupport.Hlvm("check", file);
            Assert.Equal(65, r.ExitCode);
            Assert.StartsWith($"{file}:{error}\n", r.Stderr);
            Assert.EndsWith("\n1 error\n", r.Stderr);
        }
    }

    /// <summary>A `0x` or `0b` without digits is said to be one, at its column (it was "unexpected name 'x'", a column on).</summary>
    [Fact]
    public void ARadixPrefixWithoutDigitsIsAnErrorAtIt()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("main.hl", "fn main() { println(0x) }\n");
        var r = TestSupport.Hlvm("check", file);
        Assert.Equal(65, r.ExitCode);
        Assert.StartsWith($"{file}:1:21: error: a hex literal needs at least one hex digit (0-9, a-f, A-F) after '0x', as in `0xff`\n", r.Stderr);
        file = dir.File("main.hl", "fn main() { let b = 0b }\n");
        Assert.StartsWith($"{file}:1:21: error: a binary literal needs at least one digit (0 or 1) after '0b', as in `0b1010`\n", TestSupport.Hlvm("check", file).Stderr);
        file = dir.File("main.hl", "fn main() { let b = 0b102 }\n");
        Assert.StartsWith($"{file}:1:21: error: a binary literal has only the digits 0 and 1: '0b102' has a '2'\n", TestSupport.Hlvm("check", file).Stderr);
    }

    /// <summary>
    /// A '\' at the end of a line in a string does not carry the string on: it is unterminated there, said as any
    /// unterminated string is, on one line. The '\' took the line break for an escape, and the message "unknown escape
    /// sequence" quoted the raw line break, splitting itself in two. (A language test can't hold this line: its
    /// expectation would follow the '\'.)
    /// </summary>
    [Fact]
    public void ABackslashAtTheEndOfALineLeavesTheStringUnterminated()
    {
        using var dir = new TestSupport.TempDir();
        foreach (string lineBreak in (string[])["\n", "\r\n"])
        {
            string file = dir.File("main.hl", $"fn main() {{{lineBreak}    println(\"a\\{lineBreak}\") }}{lineBreak}");
            var r = TestSupport.Hlvm("check", file);
            Assert.Equal(65, r.ExitCode);
            Assert.StartsWith($"{file}:2:16: error: unterminated string literal: the line ends after '\\', and a string can't continue on the next line (join two strings with '+')\n", r.Stderr);
        }
    }

    /// <summary>`check` says of a module what `run` would: one without an entry function (assembled from an empty
    /// file) verifies but can't run, and check passed it.</summary>
    [Fact]
    public void CheckRefusesAModuleWithoutAnEntryFunctionAsRunDoes()
    {
        using var dir = new TestSupport.TempDir();
        string module = Path.Combine(dir.Path, "empty.hlc");
        Assert.Equal(0, TestSupport.Hlvm("asm", dir.File("empty.hlasm", ""), "-o", module).ExitCode);
        foreach (var command in new[] { "check", "run" })
        {
            var r = TestSupport.Hlvm(command, module);
            Assert.Equal(65, r.ExitCode);
            Assert.Equal($"hlvm: {module}: the module has no entry function (main)\n", r.Stderr);
        }
    }

    [Fact]
    public void BuildWritesAModuleThatRunsAndDisassembles()
    {
        using var dir = new TestSupport.TempDir();
        string output = Path.Combine(dir.Path, "hello.hlc");
        var b = TestSupport.Hlvm("build", Hello, "-o", output);
        Assert.Equal(0, b.ExitCode);
        Assert.Equal("HLVM"u8.ToArray(), File.ReadAllBytes(output)[..4]);
        Assert.Equal("Hello, world!\n", TestSupport.Hlvm("run", output).Stdout);
        var d = TestSupport.Hlvm("disasm", output);
        Assert.Equal(0, d.ExitCode);
        Assert.Contains(".entry main\n", d.Stdout);
        Assert.Contains(".fn main() -> void", d.Stdout);
        Assert.Matches(@"\.line 3\n\s+sconst 0\s+; 0000  ""Hello, world!""", d.Stdout);
        Assert.Contains("callnative println", d.Stdout);
        Assert.Equal(["hello.hlc"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void BuildIntoAMissingDirectoryFailsAndLeavesNothing()
    {
        using var dir = new TestSupport.TempDir();
        string output = Path.Combine(dir.Path, "missing", "hello.hlc");
        var r = TestSupport.Hlvm("build", Hello, "-o", output);
        Assert.Equal(73, r.ExitCode);
        // The file asked for and why, never the name of the temporary file it would have been written through.
        Assert.Equal($"hlvm: cannot write '{output}': no such directory '{Path.GetDirectoryName(output)}'\n", r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void BuildOfABadProgramWritesNothing()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("bad.hl", "fn main() { oops }\n");
        Assert.Equal(65, TestSupport.Hlvm("build", file).ExitCode);
        Assert.Equal(["bad.hl"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void MalformedModuleExits65()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("broken.hlc");
        File.WriteAllBytes(file, [.. "HLVM"u8, 1, 0, 0, 0, 5]);
        var r = TestSupport.Hlvm("run", file);
        Assert.Equal(65, r.ExitCode);
        Assert.Contains("malformed module at byte", r.Stderr);
    }

    [Fact]
    public void UnverifiableModuleExits65AndNamesFunctionAndOffset()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("evil.hlc");
        File.WriteAllBytes(file, ModuleFormat.Write(Asm.Module(Asm.Code(Opcode.IConst, 1, Opcode.FConst, 2.0, Opcode.IAdd, Opcode.Ret))));
        var r = TestSupport.Hlvm("run", file);
        Assert.Equal(65, r.ExitCode);
        Assert.Contains("verify error in test: function 'main' at offset 18: iadd expects int on the stack but found float", r.Stderr);
    }

    [Fact]
    public void MainsResultIsTheExitCode()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("three.hl", "fn main() -> int { return 3 }\n");
        Assert.Equal(3, TestSupport.Hlvm("run", file).ExitCode);
    }

    [Fact]
    public void ProgramArgumentsReachMain()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("args.hl", "fn main(args: [string]) -> int {\n    println(args)\n    return args.len()\n}\n");
        var r = TestSupport.Hlvm("run", file, "--", "a", "--b", "c d");
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("[\"a\", \"--b\", \"c d\"]\n", r.Stdout);
    }

    [Fact]
    public void RuntimeErrorExits70WithAStackTrace()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("boom.hl", "fn get(xs: [int], i: int) -> int {\n    return xs[i]\n}\n\nfn main() {\n    println(get([1, 2, 3], 10))\n}\n");
        var r = TestSupport.Hlvm("run", file);
        Assert.Equal(70, r.ExitCode);
        Assert.Equal("IndexError: index 10 is out of range for an array of length 3\n  at get (boom.hl:2)\n  at main (boom.hl:6)\n", r.Stderr);
    }

    [Fact]
    public void InfiniteRecursionIsAStackOverflowErrorNotACrash()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("deep.hl", "fn down(n: int) -> int {\n    return down(n + 1) + 1\n}\n\nfn main() {\n    println(down(0))\n}\n");
        var r = TestSupport.Hlvm("run", file);
        Assert.Equal(75, r.ExitCode);
        var lines = r.Stderr.Split('\n');
        Assert.Equal("hlvm: limit exceeded: StackOverflowError: stack overflow: more than 100000 nested calls (--max-stack)", lines[0]);
        Assert.Equal("  at down (deep.hl:2)", lines[1]);
        Assert.Contains(lines, l => l.Contains("more frames"));
        Assert.Equal("  at main (deep.hl:6)", lines[^2]);
        var small = TestSupport.Hlvm("run", "--max-stack", "50", file);
        Assert.StartsWith("hlvm: limit exceeded: StackOverflowError: stack overflow: more than 50 nested calls", small.Stderr);
    }

    [Fact]
    public void FuelExhaustionHasItsOwnExitCode()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("spin.hl", "fn main() {\n    var i = 0\n    while true { i += 1 }\n}\n");
        var r = TestSupport.Hlvm("run", "--fuel", "1000", file);
        Assert.Equal(75, r.ExitCode);
        Assert.StartsWith("hlvm: limit exceeded: fuel exhausted: the program ran 1000 instructions (--fuel 1000)", r.Stderr);
        Assert.Contains("at main (spin.hl:3)", r.Stderr);
        // One is said in the singular: "ran 1 instructions", "more than 1 bytes".
        Assert.StartsWith("hlvm: limit exceeded: fuel exhausted: the program ran 1 instruction (--fuel 1)", TestSupport.Hlvm("run", "--fuel", "1", file).Stderr);
        Assert.StartsWith("hlvm: limit exceeded: the app wrote more than 1 byte of output (--max-output 1)",
            TestSupport.Hlvm("run", "--max-output", "1", dir.File("hello.hl", "fn main() {\n    println(\"hello\")\n}\n")).Stderr);
    }

    [Fact]
    public void GcLogWritesCollectionsToStderr()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("alloc.hl", "fn main() {\n    var s = \"\"\n    for i in 0..200000 { s = \"{i}\" + \"x\" }\n    println(s)\n}\n");
        var r = TestSupport.Hlvm("run", "--gc-log", "--max-heap", "1m", file);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("199999x\n", r.Stdout);
        Assert.Matches(@"\[gc\] #1 full pause=[\d.]+ms before=\d+ after=\d+", r.Stderr);
    }

    /// <summary>The real executable, as the README runs it: output is flushed and the exit code is the process's.</summary>
    [Fact]
    public void TheExecutableRunsAsAProcess()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "hlvm.dll");
        var psi = new ProcessStartInfo("dotnet", [dll, "run", Hello]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        Assert.Equal("Hello, world!\n", output);
    }

    [Fact]
    public void AStarGrantsEverythingAndABareGrantIsAUsageError()
    {
        using var dir = new TestSupport.TempDir();
        string data = dir.File("data.txt", "host data");
        string file = dir.File("read.hl", "import std.fs\n\nfn main(args: [string]) {\n    println(fs.readText(args[0]))\n}\n");
        var denied = TestSupport.Hlvm("run", file, "--", data);
        Assert.Equal(77, denied.ExitCode);
        Assert.StartsWith($"PermissionError: read access to \"{data}\" is not granted (run with --allow-read={data} to allow it)", denied.Stderr);
        var r = TestSupport.Hlvm("run", "--allow-read=*", file, "--", data);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("host data\n", r.Stdout);
        var narrowed = TestSupport.Hlvm("run", "--allow-read=*", $"--deny-read={dir.Path}", file, "--", data);
        Assert.Equal(77, narrowed.ExitCode);
        Assert.Contains("is denied: a --deny-read rule covers", narrowed.Stderr);
        // A bare flag takes the next word as its value; with the program's file taken, none is left to run.
        var bare = TestSupport.Hlvm("run", "--allow-read", file, "--", data);
        Assert.Equal(64, bare.ExitCode);
        Assert.StartsWith($"hlvm run: no FILE given; --allow-read took '{file}' as its value (to grant or deny all of a kind, write --allow-read='*')\n", bare.Stderr);
        var last = TestSupport.Hlvm("run", file, "--allow-read");
        Assert.Equal(64, last.ExitCode);
        Assert.StartsWith("hlvm run: --allow-read needs a value: PATH, or '*' for every path (e.g. --allow-read=/srv/data)\n", last.Stderr);
    }

    [Fact]
    public void AuditWritesOneJsonLinePerCheckedCall()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("env.hl", "import std.env\n\nfn main() {\n    println(env.get(\"HLVM_AUDIT_TEST\") ?? \"unset\")\n}\n");
        string log = Path.Combine(dir.Path, "audit.jsonl");
        var r = TestSupport.Hlvm("run", "--allow-env=HLVM_AUDIT_TEST", "--audit", log, file);
        Assert.Equal(0, r.ExitCode);
        var line = System.Text.Json.JsonDocument.Parse(File.ReadAllLines(log).Single()).RootElement;
        Assert.Equal("env.get", line.GetProperty("native").GetString());
        Assert.Equal("env", line.GetProperty("permission").GetString());
        Assert.Equal("HLVM_AUDIT_TEST", line.GetProperty("target").GetString());
        Assert.True(line.GetProperty("allowed").GetBoolean());
        var unwritable = TestSupport.Hlvm("run", "--audit", Path.Combine(dir.Path, "no", "such", "dir", "audit.jsonl"), file);
        Assert.Equal(73, unwritable.ExitCode);
        Assert.StartsWith("hlvm: cannot write the audit log", unwritable.Stderr);
    }

    [Fact]
    public void AProgramThatDoesNotVerifyLeavesNoAuditLog()
    {
        // The verifier's own invalid case: a function whose stack outgrows its declared maximum.
        using var dir = new TestSupport.TempDir();
        string source = File.ReadAllText(Path.Combine(TestSupport.Root, "tests", "verifier", "invalid", "aconstnull_past_max_stack.hlasm"));
        string module = dir.File("bad.hlasm", source);
        Assert.Equal(0, TestSupport.Hlvm("asm", module, "-o", Path.Combine(dir.Path, "bad.hlc")).ExitCode);
        string log = Path.Combine(dir.Path, "audit.jsonl");
        var r = TestSupport.Hlvm("run", "--audit", log, Path.Combine(dir.Path, "bad.hlc"));
        Assert.Equal(65, r.ExitCode);
        Assert.Contains("verify error", r.Stderr);
        Assert.False(File.Exists(log), "the audit log was created for a program that never loaded");
    }

    [Theory]
    [InlineData("--timeout", "soon", "'soon' is not a duration")]
    [InlineData("--timeout", "0s", "'0s' is not a duration")]
    [InlineData("--max-output", "lots", "'lots' is not a size")]
    [InlineData("--max-output", "99999999999g", "--max-output: '99999999999g' is out of range; it takes a positive number of bytes")]
    [InlineData("--max-heap", "0", "--max-heap: '0' is out of range")]
    [InlineData("--max-open-files", "-1", "--max-open-files: '-1' is out of range; it takes a whole number from 0 to 2147483647")]
    [InlineData("--allow-net=host:port", null, "'host:port' is not a host or host:port")]
    [InlineData("--allow-read=/proc/self", null, "'/proc/self' can't be granted")]
    public void BadSandboxFlagsAreUsageErrors(string flag, string? value, string message)
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("ok.hl", "fn main() {\n}\n");
        var r = value is null ? TestSupport.Hlvm("run", flag, file) : TestSupport.Hlvm("run", flag, value, file);
        Assert.Equal(64, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }

    /// <summary>An operand missing inside an interpolation is said as the '}' that came instead, without the brackets
    /// around the string ("expected ',' or ')'") or the '}' itself ("expected '}'") named as what was expected.</summary>
    [Fact]
    public void AnOperandMissingInAnInterpolationIsSaidPlainly()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("main.hl", "fn main() {\n    println(\"{1 +}\")\n    println(1)\n}\n");
        var r = TestSupport.Hlvm("check", file);
        Assert.Equal(65, r.ExitCode);
        Assert.StartsWith($"{file}:2:18: error: expected an expression after '+', before '}}'\n", r.Stderr);
        Assert.EndsWith("\n1 error\n", r.Stderr);
    }

    /// <summary>A compile shows at most 100 warnings and counts the rest: 30,000 unused variables on one line wrote
    /// 9.9 MB of warnings, past any --max-output (which bounds the program's output, not the compiler's).</summary>
    [Fact]
    public void ACompileShowsAHundredWarningsAndCountsTheRest()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("many.hl", "fn main() {\n" + string.Concat(Enumerable.Range(0, 250).Select(i => $"    let v{i} = 1\n")) + "}\n");
        var r = TestSupport.Hlvm("check", file);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(Cli.Inputs.MaxWarningsShown, r.Stderr.Split('\n').Count(l => l.Contains(": warning: ", StringComparison.Ordinal)));
        Assert.EndsWith("hlvm: 150 more warnings not shown (the first 100 are)\n", r.Stderr);
    }

    /// <summary>'-' as a file to write is refused: by custom it means standard output, and each command made a file
    /// named '-' of it. /dev/stdout is the way to standard output, and ./- to a file of that name.</summary>
    [Theory]
    [InlineData("build", "-o")]
    [InlineData("asm", "-o")]
    [InlineData("prof", "--output")]
    [InlineData("bench", "--export")]
    [InlineData("pack", "-o")]
    [InlineData("keygen", "-o")]
    public void DashIsNotAFileToWrite(string command, string option)
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("ok.hl", "fn main() {\n    println(\"ran\")\n}\n");
        string[] args = command == "keygen" ? [command, option, "-"] : [command, prog, option, "-"];
        var r = TestSupport.Hlvm(args);
        Assert.Equal(64, r.ExitCode);
        Assert.Contains($"hlvm {command}: {(option == "-o" ? "--output" : option)}: '-' ", r.Stderr);
        Assert.Contains("./- names", r.Stderr);
        Assert.False(File.Exists("-") || File.Exists("-.key"), "a file named '-' was written");
    }

    /// <summary>
    /// What a PermissionError says holds: a path said not to be granted is let through by the flag the message
    /// names, and a path said to be denied is not let through by any grant. A path that climbed out of /app or of
    /// a granted directory with '..' was said not to be granted, and the flag named let nothing through.
    /// </summary>
    [Fact]
    public void TheFlagAPermissionErrorNamesGrantsThePathAndADenialNoGrantLifts()
    {
        using var dir = new TestSupport.TempDir();
        string app = Directory.CreateDirectory(Path.Combine(dir.Path, "app")).FullName;
        Directory.CreateDirectory(Path.Combine(dir.Path, "granted", "sub"));
        File.WriteAllText(Path.Combine(dir.Path, "secret.txt"), "the secret");
        string prog = Path.Combine(app, "read.hl");
        File.WriteAllText(prog, "import std.fs\nfn main(args: [string]) {\n    print(fs.readText(args[0]))\n}\n");
        string granted = $"--allow-read={dir.Path}/granted";
        var cases = new (string Path, bool Grantable)[]
        {
            ($"{dir.Path}/secret.txt", true),
            ($"{dir.Path}/granted/../secret.txt", false),
            ($"{dir.Path}/granted/sub/../../secret.txt", false),
            ("/app/../secret.txt", false),
            ("/app/../../secret.txt", false),
            ($"{dir.Path}/./secret.txt", true),
        };
        foreach (var (path, grantable) in cases)
        {
            var first = TestSupport.Hlvm("run", granted, prog, "--", path);
            Assert.True(first.ExitCode == 77, $"{path}: {first.Stderr}");
            var hint = System.Text.RegularExpressions.Regex.Match(first.Stderr, @"is not granted \(run with (--allow-read=\S+) to allow it\)");
            Assert.True(hint.Success == grantable, $"{path}: {first.Stderr}");
            var again = TestSupport.Hlvm("run", granted, hint.Success ? hint.Groups[1].Value : "--allow-read=*", prog, "--", path);
            if (grantable) Assert.Equal((0, "the secret"), (again.ExitCode, again.Stdout));
            else Assert.True(again.ExitCode == 77 && again.Stderr.Contains("is denied: it leads outside"), $"{path}: {again.Stderr}");
        }
    }

    /// <summary>The isolate is made while the program is read (on another thread), but what went wrong first is
    /// said first, and only that: a program that does not compile is reported as before its grants are, and a
    /// grant that can't be made stops a program that compiles.</summary>
    [Fact]
    public void AProgramThatDoesNotLoadIsReportedBeforeAGrantThatCantBeMade()
    {
        using var dir = new TestSupport.TempDir();
        string bad = dir.File("bad.hl", "fn main() {\n    println(1 + )\n}\n");
        string ok = dir.File("ok.hl", "fn main() {\n    println(\"ran\")\n}\n");
        var compileError = TestSupport.Hlvm("run", "--allow-read=/proc/self", bad);
        Assert.Equal(65, compileError.ExitCode);
        Assert.Contains("bad.hl:2:17: error: expected an expression after '+', before ')'", compileError.Stderr);
        Assert.DoesNotContain("can't be granted", compileError.Stderr);
        var missing = TestSupport.Hlvm("run", "--allow-read=/proc/self", Path.Combine(dir.Path, "missing.hl"));
        Assert.Equal(66, missing.ExitCode);
        Assert.DoesNotContain("can't be granted", missing.Stderr);
        var grant = TestSupport.Hlvm("run", "--allow-read=/proc/self", ok);
        Assert.Equal(64, grant.ExitCode);
        Assert.Equal("hlvm: '/proc/self' can't be granted: /proc, /dev and /sys are never visible to a program\n", grant.Stderr);
        Assert.Equal("", grant.Stdout);
        var ran = TestSupport.Hlvm("run", ok);
        Assert.Equal(0, ran.ExitCode);
        Assert.Equal("ran\n", ran.Stdout);
    }

    /// <summary>A program named on the command line is read like an app's file: a FIFO would block, a device would
    /// never end, a huge file would be read whole; each is refused with exit 66 before anything is read.</summary>
    [Fact]
    public void EveryCommandRefusesAProgramThatIsNotABoundedRegularFile()
    {
        using var dir = new TestSupport.TempDir();
        string fifo = Path.Combine(dir.Path, "pipe.hl");
        TestSupport.MakeFifo(fifo);
        string huge = Path.Combine(dir.Path, "huge.hl");
        using (var file = File.Create(huge)) file.SetLength(Hlvm.Sandbox.SourceFiles.MaxFileBytes + 1L);
        foreach (string command in (string[])["run", "check", "build", "disasm"])
        {
            var r = TestSupport.Hlvm(command, fifo);
            Assert.Equal(66, r.ExitCode);
            Assert.Contains($"hlvm: cannot read '{fifo}': it is not a regular file", r.Stderr);
            r = TestSupport.Hlvm(command, "/dev/zero");
            Assert.Equal(66, r.ExitCode);
            Assert.Contains("hlvm: cannot read '/dev/zero': it is not a regular file", r.Stderr);
            r = TestSupport.Hlvm(command, huge);
            Assert.Equal(66, r.ExitCode);
            Assert.Contains("it is larger than 16 MiB", r.Stderr);
        }
    }

    [Fact]
    public void AModulesFunctionAndAClassesMethodOfOneNameMakeAModuleThatLoads()
    {
        // The main file's class C has a method m, and the module C it imports a function m: both were 'C.m', and the
        // module written (build, or the cache of compiled programs) was refused as having two functions of one name.
        using var dir = new TestSupport.TempDir();
        dir.File("C.hl", "pub fn m() -> int { return 2 }\n");
        string main = dir.File("main.hl", "import C as cc\nclass C {\n    fn m() -> int { return 1 }\n}\nfn main() {\n    println(C().m())\n    println(cc.m())\n}\n");
        string module = Path.Combine(dir.Path, "main.hlc");
        var build = TestSupport.Hlvm("build", main, "-o", module);
        Assert.True(build.ExitCode == 0, build.Stderr);
        var run = TestSupport.Hlvm("run", module);
        Assert.Equal((0, "1\n2\n", ""), (run.ExitCode, run.Stdout, run.Stderr));
        Assert.Contains("\"C.m#2\"", TestSupport.Hlvm("disasm", module).Stdout);
    }

    [Fact]
    public void AnInheritanceCycleThroughTwoModulesIsReportedInTheFileBeingBound()
    {
        // It named A but pointed at B's file, at the line and column of A's name in its own.
        using var dir = new TestSupport.TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "app"));
        dir.File("app/a.hl", "import app.b\npub class A : b.B { }\n");
        dir.File("app/b.hl", "import app.a\npub class B : a.A { }\n");
        string main = dir.File("main.hl", "import app.a\nfn main() { println(1) }\n");
        var check = TestSupport.Hlvm("check", main);
        Assert.Equal(65, check.ExitCode);
        Assert.StartsWith($"{Path.Combine(dir.Path, "app", "b.hl")}:2:15: error: class 'app.b.B' inherits from itself, through 'app.a.A'\n", check.Stderr);
    }

    /// <summary>
    /// An error's caret stands under its column as a terminal draws the line: an East Asian wide character or an
    /// emoji takes two columns, a combining accent none (the caret was drawn by UTF-16 code units, 4 columns short
    /// after four wide characters). The column in file:line:col still counts code units, as documented.
    /// </summary>
    [Fact]
    public void TheCaretStandsUnderTheColumnAsATerminalDrawsTheLine()
    {
        using var dir = new TestSupport.TempDir();
        string path = dir.File("wide.hl", "fn main() {\n    let s = \"中文中文\"; println(zz)\n    let t = \"e\u0301😀\"; println(yy)\n}\n");
        var lines = TestSupport.Hlvm("check", path).Stderr.Split('\n');
        Assert.StartsWith($"{path}:2:29: error: undefined name 'zz'", lines[0]);
        // Before zz: the indent, `let s = "`, four wide characters (8 columns), `"; println(`.
        Assert.Equal("  " + new string(' ', 4 + 9 + 8 + 11) + "^^", lines[2]);
        // Before yy: e and its accent (1), the emoji (2).
        Assert.Equal("  " + new string(' ', 4 + 9 + 1 + 2 + 11) + "^^", lines[5]);
        // A character the lexer refuses outside the Basic Multilingual Plane is named whole, its caret two columns
        // wide (it was shown as U+FFFD, half of it, with one).
        var refused = TestSupport.Hlvm("check", dir.File("emoji.hl", "fn main() {\n    let 😀x = 1\n}\n")).Stderr.Split('\n');
        Assert.EndsWith("error: unexpected character '😀'", refused[0]);
        Assert.Equal("  " + new string(' ', 8) + "^^", refused[2]);
    }

    /// <summary>
    /// A compile reports at most DiagnosticBag.MaxErrors errors; at that many its count says there may be more
    /// (it said "100 errors" of a file with 150, as if that were all), and below it the count is all of them.
    /// </summary>
    [Fact]
    public void AnErrorCountAtTheMostReportedSaysThereMayBeMore()
    {
        using var dir = new TestSupport.TempDir();
        string Undefined(int n) => dir.File($"u{n}.hl", "fn main() {\n" + string.Concat(Enumerable.Range(0, n).Select(i => $"    let a{i} = undefined{i}\n")) + "}\n");
        var many = TestSupport.Hlvm("check", Undefined(150));
        Assert.Equal(65, many.ExitCode);
        Assert.Equal(Compiler.Diagnostics.DiagnosticBag.MaxErrors, many.Stderr.Split('\n').Count(l => l.Contains(": error: undefined name", StringComparison.Ordinal)));
        Assert.EndsWith("\n100 errors (the most reported at once: there may be more)\n", many.Stderr);
        var fewer = TestSupport.Hlvm("check", Undefined(99));
        Assert.EndsWith("\n99 errors\n", fewer.Stderr);
    }

    [Fact]
    public void ReadLineReadsNoLineLongerThanTheHeapCanHold()
    {
        using var dir = new TestSupport.TempDir();
        string path = dir.File("lines.hl", "fn main() {\n    var n = 0\n    try {\n        while true {\n            let l = readLine()\n            if l == null { break }\n            println(l.len())\n        }\n    } catch e: OutOfMemoryError { println(e.message) }\n}\n");
        // Line breaks as .NET's ReadLine reads them: \n, \r\n and \r; a last line without one.
        var lines = TestSupport.HlvmWithInput("ab\r\ncde\rx\n\nlast", "run", path);
        Assert.Equal((0, "2\n3\n1\n0\n4\n"), (lines.ExitCode, lines.Stdout));
        // Input is read in chunks of 65,536 characters: a line across chunks is one line, and a "\r\n" whose "\n"
        // begins the next chunk is one line break.
        var chunks = TestSupport.HlvmWithInput(new string('a', 65_535) + "\r\n" + new string('b', 100_000) + "\nc\r", "run", path);
        Assert.Equal((0, "65535\n100000\n1\n"), (chunks.ExitCode, chunks.Stdout));
        // A line longer than a 1 MiB heap's longest string (512 Ki characters) is refused as it is read, not read
        // whole outside the heap first (a 400-million-character line took 2.66 GB under --max-heap 16m).
        var huge = TestSupport.HlvmWithInput(new string('a', 600_000) + "\nshort\n", "run", "--max-heap", "1m", path);
        Assert.Equal((0, "a line of standard input is longer than the heap can hold\n"), (huge.ExitCode, huge.Stdout));
    }
}
