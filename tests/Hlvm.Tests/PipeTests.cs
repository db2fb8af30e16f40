using System.Diagnostics;

namespace Hlvm.Tests;

/// <summary>
/// <c>hlvm</c> as a process whose standard output is a real pipe that its reader closes: the program stops at its
/// next write with exit code 141 (as SIGPIPE stops a C or Go program), prints nothing more, and the host does not
/// crash or hang.
/// </summary>
public sealed class PipeTests
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "hlvm.dll");

    /// <summary>How long a test waits for a process that should end; past it, the test fails as hung (not a timing assertion).</summary>
    private static readonly TimeSpan Hang = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task AnEndlessPrinterStopsWhenItsReaderCloses()
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("yes.hl", "fn main() {\n    var i = 0\n    while true {\n        println(\"line {i}\")\n        i = i + 1\n    }\n}\n");
        var psi = new ProcessStartInfo("dotnet", [Dll, "run", prog]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.Equal("line 0", p.StandardOutput.ReadLine());
        Assert.Equal("line 1", p.StandardOutput.ReadLine());
        p.StandardOutput.Close(); // the reader goes, as head does after its lines
        bool ended = p.WaitForExit(Hang);
        if (!ended) p.Kill(entireProcessTree: true);
        Assert.True(ended, "hlvm kept running after its standard output was closed");
        Assert.Equal(141, p.ExitCode);
        Assert.Equal("", await stderr);
    }

    /// <summary>
    /// A program stuck writing to a pipe that no one reads can't be stopped where it waits: past its --timeout and
    /// the grace after it, the process ends with 75 and says so. Before it ends it tries to write out what is
    /// still buffered, which the full pipe does not take either: that try is not waited for past a moment.
    /// </summary>
    [Fact]
    public async Task ARunStuckOnAFullPipeEndsAfterItsTimeout()
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("flood.hl", "fn main() {\n    var i = 0\n    while true {\n        println(\"line {i} of a program whose reader never reads\")\n        i += 1\n    }\n}\n");
        var psi = new ProcessStartInfo("dotnet", [Dll, "run", "--timeout", "1", prog]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        // Standard output is never read until the process has ended (the pipe fills, and the program's write waits).
        bool ended = p.WaitForExit(Hang);
        if (!ended) p.Kill(entireProcessTree: true);
        Assert.True(ended, "hlvm kept running past its timeout, stuck on a full pipe");
        Assert.Equal(75, p.ExitCode);
        Assert.Equal("hlvm: limit exceeded (timeout): the command (fetching, compiling, verifying and running the app) took longer than 1s and did not stop within 2s more; ending the process\n", await stderr);
        Assert.StartsWith("line 0 of a program whose reader never reads\n", await p.StandardOutput.ReadToEndAsync());
    }

    [Fact]
    public async Task AProgramPipedIntoHeadStopsAndPrintsNothingAfter()
    {
        using var dir = new TestSupport.TempDir();
        // 200,000 lines (well over a pipe's buffer and hlvm's), then a line on stderr that must never be printed.
        string prog = dir.File("many.hl", "fn main() {\n    for i in 0..200000 {\n        println(\"line {i}\")\n    }\n    eprintln(\"finished\")\n}\n");
        string script = $"set -o pipefail; dotnet '{Dll}' run '{prog}' | head -2; echo \"status ${{PIPESTATUS[0]}}\" >&2";
        var psi = new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(Hang), "the pipeline did not end");
        Assert.Equal("line 0\nline 1\n", stdout);
        Assert.Equal("status 141\n", await stderr);
    }

    [Fact]
    public async Task AClosedPipeStopsOtherCommandsToo()
    {
        // disasm of a program with many lines of bytecode, into a reader that takes one line.
        using var dir = new TestSupport.TempDir();
        var source = new System.Text.StringBuilder("fn main() {\n");
        for (int i = 0; i < 5000; i++) source.Append($"    println(\"{i}\")\n");
        string prog = dir.File("long.hl", source.Append("}\n").ToString());
        var psi = new ProcessStartInfo("dotnet", [Dll, "disasm", prog]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.NotNull(p.StandardOutput.ReadLine());
        p.StandardOutput.Close();
        bool ended = p.WaitForExit(Hang);
        if (!ended) p.Kill(entireProcessTree: true);
        Assert.True(ended);
        Assert.Equal(141, p.ExitCode);
        Assert.Equal("", await stderr);
    }

    /// <summary>Runs a bash script with hlvm's dll as $0; its exit code and standard error.</summary>
    private static async Task<(int Code, string Stderr)> Shell(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash", ["-c", script, Dll, .. args]) { RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        bool ended = p.WaitForExit(Hang);
        if (!ended) p.Kill(entireProcessTree: true);
        Assert.True(ended, "the script did not end");
        return (p.ExitCode, await stderr);
    }

    [Fact]
    public async Task OutputToAFileMovesTheOffsetTheShellSharesWithTheNextCommand()
    {
        // A file is written with write(2): a FileStream's writes at offsets of its own would leave the shared
        // offset where it was, and the echo would write over the program's first line.
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("two.hl", "fn main() {\n    println(\"first line\")\n    println(\"second\")\n}\n");
        string output = Path.Combine(dir.Path, "out.txt");
        var (code, stderr) = await Shell("{ echo before; dotnet \"$0\" run \"$1\"; echo after; } > \"$2\"", prog, output);
        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Equal("before\nfirst line\nsecond\nafter\n", File.ReadAllText(output));
    }

    [Fact]
    public async Task AFullDiskIsSaidOnceAndEndsTheCommandWithCantCreate()
    {
        // /dev/full: every write fails with ENOSPC, as on a full disk (a Linux device; CI runs on Linux).
        Assert.True(File.Exists("/dev/full"), "this test needs Linux's /dev/full");
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("many.hl", "fn main() {\n    for i in 0..100000 {\n        println(\"line {i}\")\n    }\n}\n");
        foreach (string file in new[] { prog, dir.File("one.hl", "fn main() {\n    println(\"one line\")\n}\n") })
        {
            var (code, stderr) = await Shell("dotnet \"$0\" run \"$1\" > /dev/full", file);
            Assert.Equal("hlvm: cannot write standard output: No space left on device\n", stderr);
            Assert.Equal(73, code);
        }
    }

    [Fact]
    public async Task ABrokenStandardErrorDropsMessagesAndKeepsTheExitCode()
    {
        // Closed (.NET gives its number to a file it opens for reading) or full: the error is not said, and the
        // process neither crashes (it aborted, exit 134) nor reports an internal error.
        using var dir = new TestSupport.TempDir();
        string denied = dir.File("env.hl", "import std.env\nfn main() {\n    println(env.get(\"HOME\") ?? \"none\")\n}\n");
        string missing = Path.Combine(dir.Path, "missing.hl");
        Assert.Equal((66, ""), await Shell("dotnet \"$0\" run \"$1\" 2>&- >/dev/null", missing));
        Assert.Equal((77, ""), await Shell("dotnet \"$0\" run \"$1\" 2>&- >/dev/null", denied));
        Assert.Equal((77, ""), await Shell("dotnet \"$0\" run \"$1\" 2>/dev/full >/dev/null", denied));
    }

    /// <summary>
    /// At a terminal, a line typed is read when it is typed: readLine reads its input a chunk at a time, and .NET's
    /// terminal reader filled the whole chunk (65,536 characters) before returning, so the program saw nothing
    /// until the person ended the input. And what the program writes is shown at once: its prompt, buffered, showed
    /// only when the program ended. A pseudo-terminal (Python's pty module) plays the person.
    /// </summary>
    [Fact]
    public async Task AtATerminalALineTypedIsReadWhenItIsTypedAndAPromptShownBeforeIt()
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("ask.hl", """
            fn main() {
                print("name? ")
                let a = readLine() ?? "nothing"
                eprintln("got {a}")
                let b = readLine() ?? "nothing"
                eprintln("got {b}")
            }
            """);
        string script = dir.File("person.py", """
            import os, pty, select, sys, time
            pid, fd = pty.fork()
            if pid == 0:
                os.execvp("dotnet", ["dotnet", sys.argv[1], "run", sys.argv[2]])
            seen = b""
            def wait_for(text):
                global seen
                end = time.time() + 60
                while text not in seen and time.time() < end:
                    if select.select([fd], [], [], 0.1)[0]:
                        try:
                            data = os.read(fd, 4096)
                        except OSError:
                            break
                        if not data:
                            break
                        seen += data
                return text in seen
            # The prompt, written without a line break, is shown before the program waits for the answer.
            ok = wait_for(b"name? ")
            os.write(fd, b"first\n")
            # Before the input ends: the line is the program's as soon as it is typed.
            ok = ok and wait_for(b"got first")
            os.write(fd, b"\x04")
            ok = ok and wait_for(b"got nothing")
            os.kill(pid, 9)
            print("ok" if ok else "stuck: " + repr(seen))
            """);
        var (stdout, stderr) = await Python(script, prog);
        Assert.Equal("ok\n", stdout + stderr);
    }

    /// <summary>Runs a Python script with hlvm's dll and <paramref name="prog"/> as its arguments: its stdout and stderr.</summary>
    private static async Task<(string Stdout, string Stderr)> Python(string script, string prog)
    {
        var psi = new ProcessStartInfo("python3", [script, Dll, prog]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var (stdout, stderr) = (p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync());
        bool ended = p.WaitForExit(Hang);
        if (!ended) p.Kill(entireProcessTree: true);
        Assert.True(ended, "the script did not end");
        return (await stdout, await stderr);
    }

    /// <summary>
    /// At a terminal, hlvm's report of an error or a limit begins a line of its own when the program left the line
    /// unfinished: it was glued to the program's text ("progress: 40%IndexError: ..."). Written to a pipe, the two
    /// streams hold exactly what was written to them. A pseudo-terminal (Python's pty module) shows both streams,
    /// as a person's terminal does.
    /// </summary>
    [Fact]
    public async Task AtATerminalAReportBeginsALineTheProgramLeftUnfinished()
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("fail.hl", """
            fn main() {
                print("progress: 40%")
                eprint("warned")
                let a = [1, 2]
                println(a[5])
            }
            """);
        string script = dir.File("terminal.py", """
            import os, pty, sys
            pid, fd = pty.fork()
            if pid == 0:
                os.execvp("dotnet", ["dotnet", sys.argv[1], "run", sys.argv[2]])
            seen = b""
            while True:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                seen += data
            os.waitpid(pid, 0)
            sys.stdout.write(seen.decode().replace("\r\n", "\n"))
            """);
        var (stdout, stderr) = await Python(script, prog);
        Assert.Equal("", stderr);
        // The program's own text as it wrote it (its eprint too continues the line); hlvm's report on the next.
        Assert.EndsWith("progress: 40%warned\nIndexError: index 5 is out of range for an array of length 2\n  at main (fail.hl:5)\n", stdout);

        string output = Path.Combine(dir.Path, "out.txt");
        Assert.Equal((70, ""), await Shell("dotnet \"$0\" run \"$1\" > \"$2\" 2>&1", prog, output));
        Assert.StartsWith("progress: 40%warnedIndexError: ", File.ReadAllText(output));
    }

    /// <summary>
    /// A comparison whose standard input is a pipe that stays open (a command that has not ended, a CI step's
    /// input): a program that never reads it is compared at once, and one that waits for it waits within
    /// --timeout, as a single run does. The comparison read piped input whole before running anything, so it ended
    /// only when the pipe did, whatever the limit.
    /// </summary>
    [Theory]
    [InlineData("run", "--engine", "compare")]
    [InlineData("prof", "--compare")]
    public async Task AComparisonRunsWhileItsPipedInputStaysOpenAndWaitsForItOnlyWithinItsTimeout(params string[] command)
    {
        using var dir = new TestSupport.TempDir();
        string hello = dir.File("hello.hl", "fn main() {\n    println(\"hello\")\n}\n");
        string reader = dir.File("reader.hl", "fn main() {\n    println(readLine() ?? \"end\")\n}\n");
        // Again when the time limit ran out while a new process compiled the program, on a machine loaded by the
        // rest of the suite (as TestSupport.HlvmUntilItStarts): the test is about what the limit does to a run.
        async Task<(int Code, string Stdout, string Stderr)> Open(string[] args, Func<StreamWriter, Task>? feed = null)
        {
            var result = await OpenOnce(args, feed);
            for (int attempt = 0; attempt < 3 && result.Stderr.Contains("ran out before the program started"); attempt++)
                result = await OpenOnce(args, feed);
            return result;
        }
        async Task<(int Code, string Stdout, string Stderr)> OpenOnce(string[] args, Func<StreamWriter, Task>? feed)
        {
            var psi = new ProcessStartInfo("dotnet", [Dll, .. command, .. args])
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            var (stdout, stderr) = (p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync());
            if (feed is not null) await feed(p.StandardInput);
            bool ended = p.WaitForExit(Hang);
            if (!ended) p.Kill(entireProcessTree: true);
            p.StandardInput.Close(); // only now: the pipe stayed open while hlvm ran
            Assert.True(ended, "the comparison waited for its input to end");
            return (p.ExitCode, await stdout, await stderr);
        }
        var compared = await Open([hello]);
        Assert.True(compared.Code == 0, compared.Stderr);
        Assert.Contains(command[0] == "run" ? "same: interp and jit agree" : "hlvm prof --compare: hello.hl:", command[0] == "run" ? compared.Stdout : compared.Stderr);
        // Each run waits for the line, as a single run would, until the time limit ends it.
        var waited = await Open(["--timeout", "1s", reader]);
        if (command[0] == "run") Assert.Equal((0, "same: interp and jit agree on stdout (0 lines), stderr (2 lines) and the exit code (75)\n"), (waited.Code, waited.Stdout));
        else Assert.Equal((75, true), (waited.Code, waited.Stderr.Contains("(the time limit ended both runs", StringComparison.Ordinal)));
        if (command[0] != "run") return;
        // Lines that come after the time limit ended the interpreter's wait, while the JIT's run waits: the JIT's
        // run is given what the interpreter's was, and waits as it did. The interpreter's abandoned read took the
        // first line, the JIT's run the second, and the comparison reported a difference that was the input's.
        // (On a slow start the lines come while the interpreter's run still waits: both then read the first.)
        var late = await Open(["--timeout", "1s", reader], async input =>
        {
            await Task.Delay(1500);
            await input.WriteLineAsync("first");
            await input.FlushAsync();
            await Task.Delay(200);
            try
            {
                await input.WriteLineAsync("second");
                await input.FlushAsync();
            }
            catch (IOException)
            {
                // The comparison is over already: on a slow start both runs read the first line and ended, and no
                // one reads the pipe any more.
            }
        });
        Assert.True(late.Code == 0, late.Stdout + late.Stderr);
        Assert.StartsWith("same: interp and jit agree", late.Stdout);
    }

    /// <summary>
    /// prof's report is what it makes, and it goes to standard error: lost there (full, or closed) with no -o to
    /// hold the profile, prof ends with 73 and not the program's 0; with -o, the file holds it and the program's
    /// code stands.
    /// </summary>
    [Fact]
    public async Task AProfilesReportLostOnStandardErrorEndsProfWithCantCreateUnlessAFileHoldsIt()
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("one.hl", "fn main() {\n    println(\"one line\")\n}\n");
        string page = Path.Combine(dir.Path, "p.html");
        var (code, report) = await Shell("dotnet \"$0\" prof \"$1\" >/dev/null", prog);
        Assert.Equal(0, code);
        Assert.StartsWith("hlvm prof: one.hl: ", report);
        Assert.Equal((73, ""), await Shell("dotnet \"$0\" prof \"$1\" 2>/dev/full >/dev/null", prog));
        Assert.Equal((73, ""), await Shell("dotnet \"$0\" prof \"$1\" 2>&- >/dev/null", prog));
        Assert.Equal((73, ""), await Shell("dotnet \"$0\" prof --compare \"$1\" 2>/dev/full >/dev/null", prog));
        Assert.Equal((0, ""), await Shell("dotnet \"$0\" prof -o \"$2\" \"$1\" 2>/dev/full >/dev/null", prog, page));
        Assert.Contains("<!DOCTYPE html>", File.ReadAllText(page));
    }

    [Fact]
    public async Task AClosedStandardOutputIsSaidAndEndsTheCommandWithCantCreate()
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("one.hl", "fn main() {\n    println(\"one line\")\n}\n");
        var (code, stderr) = await Shell("dotnet \"$0\" run \"$1\" >&-", prog);
        Assert.StartsWith("hlvm: cannot write standard output: ", stderr);
        Assert.DoesNotContain("internal error", stderr);
        Assert.Equal(73, code);
    }

    /// <summary>
    /// Started with its standard input closed, a program reads it as empty. .NET's runtime gives descriptor 0 to a
    /// pipe of its own before the program starts, and reading that pipe waited forever.
    /// </summary>
    [Theory]
    [InlineData("{0} lines\n", "run")]
    [InlineData("same: ", "run", "--engine", "compare")] // both engines read the same (empty) input
    [InlineData("{0} lines\n", "prof", "--rate", "1000")] // the page is written after the program's output
    public async Task AClosedStandardInputReadsAsEmpty(string says, params string[] command)
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("count.hl",
            "fn main() {\n    var n = 0\n    while readLine() != null { n += 1 }\n    println(\"{n} lines\")\n}\n");
        string output = Path.Combine(dir.Path, "out.txt");
        foreach (var (input, lines) in new[] { ("<&-", 0), ("< <(printf 'a\\nb\\n')", 2) })
        {
            var (code, stderr) = await Shell($"dotnet \"$0\" \"${{@:3}}\" \"$1\" {input} > \"$2\"", [prog, output, .. command]);
            Assert.Equal(0, code);
            Assert.DoesNotContain("error", stderr);
            Assert.StartsWith(string.Format(says, lines), File.ReadAllText(output));
        }
    }
}
