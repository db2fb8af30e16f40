using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Hlvm.Compiler;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Sandbox;

namespace Hlvm.Tests;

/// <summary>The sandbox through its embedding API: isolates, permissions, the audit log, storage, the network.</summary>
public sealed class SandboxTests
{
    private static Module Compile(string source)
    {
        var result = Compilation.Compile("app.hl", source);
        Assert.True(result.Module is not null, string.Join("\n", result.Diagnostics.Select(d => d.Format())));
        return result.Module!;
    }

    private static IsolateOptions Options(TestSupport.TempDir dir, TextWriter output) => new()
    {
        AppDirectory = Directory.CreateDirectory(Path.Combine(dir.Path, "app")).FullName,
        StorageDirectory = Path.Combine(dir.Path, "storage"),
        Out = output,
    };

    /// <summary>Runs a program in a new isolate; its result and output.</summary>
    private static (long Result, string Output) Run(string source, Func<IsolateOptions, IsolateOptions>? configure = null, TestSupport.TempDir? dir = null)
    {
        using var own = dir is null ? new TestSupport.TempDir() : null;
        var output = new StringWriter { NewLine = "\n" };
        var options = Options(dir ?? own!, output);
        using var isolate = new Isolate(configure?.Invoke(options) ?? options);
        long result = isolate.Run(isolate.Load(Compile(source)), []);
        return (result, output.ToString());
    }

    // ------------------------------------------------------------------------------------------------ isolates

    private const string Good = """
        fn fib(n: int) -> int {
            if n < 2 { return n }
            return fib(n - 1) + fib(n - 2)
        }

        fn main(args: [string]) {
            var words: [string] = []
            for i in 0..200 { words.push("w{i % 7}") }
            println("isolate {args[0]}: fib {fib(18)}, {words.len()} words")
        }
        """;

    private const string HeapHog = "fn main(args: [string]) {\n    var keep: [[int]] = []\n    while true { keep.push([0].repeat(50000)) }\n}";
    private const string Spinner = "fn main(args: [string]) {\n    var i = 0\n    while true { i += 1 }\n}";
    private const string Recurser = "fn down(n: int) -> int { return down(n + 1) + 1 }\n\nfn main(args: [string]) {\n    println(down(0))\n}";
    private const string Flooder = "fn main(args: [string]) {\n    while true { println(\"flood flood flood flood\") }\n}";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FiftyIsolatesRunSideBySideAndOnlyTheOnesThatBreachALimitAreStopped(bool compiled)
    {
        using var dir = new TestSupport.TempDir();
        var programs = new Dictionary<string, Module>
        {
            ["good"] = Compile(Good), ["heap"] = Compile(HeapHog), ["loop"] = Compile(Spinner), ["stack"] = Compile(Recurser), ["flood"] = Compile(Flooder),
        };
        string Kind(int i) => i switch { 7 => "heap", 19 => "loop", 28 => "stack", 41 => "flood", _ => "good" };
        var outputs = new StringWriter[50];
        var outcomes = new object?[50];
        var threads = Enumerable.Range(0, 50).Select(i => new Thread(() =>
        {
            outputs[i] = new StringWriter { NewLine = "\n" };
            try
            {
                using var isolate = new Isolate(Options(dir, outputs[i]) with
                {
                    StorageDirectory = Path.Combine(dir.Path, $"storage{i}"),
                    // Only the spinner is meant to run out of time: the others' time limit is far off, so that a
                    // loaded machine can't make the heap hog's collections or the flood's writes outlast it.
                    Limits = [new HeapLimit(16 << 20), new StackLimit(5000), new TimeLimit(TimeSpan.FromSeconds(Kind(i) == "loop" ? 1 : 60)), new OutputLimit(256 << 10)],
                    // With the JIT: each isolate its own compiler, every function compiled before it first runs.
                    Execution = compiled ? new ExecutionOptions { Compiler = new Jit.CilCompiler(), JitThreshold = 0 } : new ExecutionOptions(),
                });
                outcomes[i] = isolate.Run(isolate.Load(programs[Kind(i)]), [$"{i}"]);
            }
            catch (Exception e)
            {
                outcomes[i] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int i = 0; i < 50; i++)
        {
            switch (Kind(i))
            {
                case "good":
                    Assert.Equal(0L, outcomes[i]);
                    Assert.Equal($"isolate {i}: fib 2584, 200 words\n", outputs[i].ToString());
                    break;
                case var kind:
                    var e = Assert.IsType<LimitExceededError>(outcomes[i]);
                    Assert.Equal(kind switch { "heap" => "max-heap", "loop" => "timeout", "stack" => "max-stack", _ => "max-output" }, e.Limit);
                    break;
            }
        }
        Assert.True(outputs[41].ToString().Length <= 256 << 10);
    }

    [Fact]
    public void AHostCanStopARunningIsolate()
    {
        using var dir = new TestSupport.TempDir();
        using var isolate = new Isolate(Options(dir, TextWriter.Null));
        var module = isolate.Load(Compile(Spinner));
        var stopper = new Timer(_ => isolate.Stop(new LimitExceededError("stopped", "the host stopped the app")), null, 200, Timeout.Infinite);
        var e = Assert.Throws<LimitExceededError>(() => isolate.Run(module, []));
        stopper.Dispose();
        Assert.Equal("stopped", e.Limit);
        Assert.Throws<InvalidOperationException>(() => isolate.Run(module, []));
    }

    [Fact]
    public void ATimeLimitStopsALoopMadeOfAHandlerThatCatchesItsOwnThrow()
    {
        // No backward branch and no call: the handler's own throw takes the program back to the handler.
        var assembled = Compiler.Assembly.Assembler.Assemble("loop.hlasm", """
            .class E
            .end
            .fn main() -> void
                .maxstack 1
                .handler L0 L2 L1 E
            L0:
                newobject E
                throw
            L1:
                pop
                newobject E
                throw
            L2:
                retvoid
            .end
            .entry main
            """);
        Assert.True(assembled.Success, string.Join("\n", assembled.Diagnostics.Select(d => d.Format())));
        using var dir = new TestSupport.TempDir();
        using var isolate = new Isolate(Options(dir, TextWriter.Null) with { Limits = [new TimeLimit(TimeSpan.FromMilliseconds(200))] });
        var e = Assert.Throws<LimitExceededError>(() => isolate.Run(isolate.Load(assembled.Module!), []));
        Assert.Equal("timeout", e.Limit);
    }

    /// <summary>
    /// A time limit stops a straight run of natives and array instructions that each do much work (400 sorts and
    /// reverses of two million elements: seconds, with no call and no backward branch), after the one running when
    /// it came, in each engine; and a stop asked for before the run ends it before the first instruction in each
    /// engine alike, with no frame in its trace (compiled code polled at main's entry, the interpreter only at the
    /// first call or loop, after the program had printed). The straight run used to finish and return 0 seconds past its limit. Fails when
    /// a stop waits for the next call or backward branch again.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AStopLandsAfterTheLongInstructionItCameDuringAndBeforeTheFirst(bool compiled)
    {
        var body = string.Concat(Enumerable.Repeat("    xs.reverse()\n    xs.sort()\n", 400));
        var source = $"fn main() {{\n    var xs = [0].repeat(2000000)\n    xs[0] = 1\n{body}    println(\"done {{xs[0]}}\")\n}}\n";
        using var dir = new TestSupport.TempDir();
        var output = new StringWriter();
        IsolateOptions Options(IReadOnlyList<Limit> limits) => SandboxTests.Options(dir, output) with
        {
            Limits = limits,
            Execution = compiled ? new ExecutionOptions { Compiler = new Jit.CilCompiler(), JitThreshold = 0 } : new ExecutionOptions(),
        };
        var module = Compile(source);
        // The limit is well past the compile of main (before its first instruction under the JIT, where a stop has
        // no frame to name: a loaded machine took 300 ms there) and far short of the run (400 sorts of 2 million).
        using (var isolate = new Isolate(Options([new TimeLimit(TimeSpan.FromMilliseconds(1500))])))
        {
            var e = Assert.Throws<LimitExceededError>(() => isolate.Run(isolate.Load(module), []));
            Assert.Equal("timeout", e.Limit);
            Assert.True(e.StackTrace.Count > 0 && e.StackTrace[0].StartsWith("main (", StringComparison.Ordinal), string.Join("\n", e.StackTrace));
        }
        Assert.Equal("", output.ToString());

        using (var isolate = new Isolate(Options([])))
        {
            var loaded = isolate.Load(Compile("fn main() {\n    println(\"ran\")\n}\n"));
            isolate.Stop(new LimitExceededError("stopped", "stopped before it ran"));
            var e = Assert.Throws<LimitExceededError>(() => isolate.Run(loaded, []));
            Assert.Equal("stopped before it ran", e.Message);
            Assert.Empty(e.StackTrace); // nothing ran
        }
        Assert.Equal("", output.ToString());
    }

    /// <summary>
    /// An isolate disposed while its program runs stops the program: Run ends with a LimitExceededError that says
    /// so, and releases the isolate then. Disposing used to leave the program running (past its own time limit,
    /// once the cancellation it waited on was gone). And a time limit is any duration that is not negative:
    /// TimeSpan.MaxValue (a "no limit") threw .NET's timer's ArgumentOutOfRangeException from Run, after the run
    /// was marked as begun. Fails when either comes back.
    /// </summary>
    [Fact]
    public async Task DisposingARunningIsolateStopsItsProgramAndATimeLimitMayBeAnyLength()
    {
        using var dir = new TestSupport.TempDir();
        using var started = new SignallingWriter();
        var isolate = new Isolate(Options(dir, started) with { Limits = [new TimeLimit(TimeSpan.FromMinutes(10))] });
        var loaded = isolate.Load(Compile("fn main() {\n    println(\"started\")\n    var i = 0\n    while true { i += 1 }\n}"));
        var running = Task.Run(() => isolate.Run(loaded, []));
        Assert.True(started.Written.Wait(TimeSpan.FromSeconds(30)), "the program never started");
        isolate.Dispose();
        var e = await Assert.ThrowsAsync<LimitExceededError>(() => running.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("the isolate was disposed while its program ran", e.Message);
        Assert.Throws<InvalidOperationException>(() => isolate.Run(loaded, [])); // disposed: it runs no more

        var (result, output) = Run("fn main() {\n    println(\"ran\")\n}", o => o with { Limits = [new TimeLimit(TimeSpan.MaxValue)] });
        Assert.Equal((0L, "ran\n"), (result, output));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TimeLimit(TimeSpan.FromMilliseconds(-5)));
        // Every limit takes what its flag takes, and nothing less (a negative one was taken and misbehaved).
        Assert.Throws<ArgumentOutOfRangeException>(() => new FuelLimit(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StackLimit(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HeapLimit(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OutputLimit(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenFilesLimit(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DiskLimit(0));
        Assert.Equal(0, new FuelLimit(0).Instructions);
        // A null writer or reason is said where it is given (the writer was a NullReferenceException at the
        // program's first println, and a null reason was ignored).
        Assert.Throws<ArgumentNullException>(() => new Isolate(Options(dir, TextWriter.Null) with { Out = null! }));
        using var fine = new Isolate(Options(dir, TextWriter.Null));
        Assert.Throws<ArgumentNullException>(() => fine.Stop(null!));
    }

    [Fact]
    public void ATimeLimitEndsAWaitForInputThatNeverComes()
    {
        using var dir = new TestSupport.TempDir();
        using var input = new NeverReader();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<LimitExceededError>(() => Run("fn main() {\n    println(readLine() ?? \"none\")\n}",
            o => o with { In = input, Limits = [new TimeLimit(TimeSpan.FromMilliseconds(300))] }, dir));
        Assert.Equal("timeout", e.Limit);
        Assert.Equal("the app ran longer than 300ms (--timeout 300ms)", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the wait was not ended");
    }

    [Fact]
    public void IsolatesStoppedWaitingForInputDoNotHoldUpAnotherIsolatesInput()
    {
        // Each of these apps is stopped while its read waits for input that never comes; the read is left to finish
        // on its own. They waited on .NET's thread pool, shared by the process, and an app whose input was ready
        // waited behind them (17 s after 24 of them), past a time limit it would have kept alone.
        using var dir = new TestSupport.TempDir();
        const string Reader = "fn main() {\n    println(readLine() ?? \"none\")\n}";
        var never = new List<NeverReader>();
        try
        {
            for (int i = 0; i < 24; i++)
            {
                var input = new NeverReader();
                never.Add(input);
                var e = Assert.Throws<LimitExceededError>(() => Run(Reader,
                    o => o with { In = input, Limits = [new TimeLimit(TimeSpan.FromMilliseconds(20))] }, dir));
                Assert.Equal("timeout", e.Limit);
            }
            var (_, output) = Run(Reader, o => o with { In = new StringReader("ready\n"), Limits = [new TimeLimit(TimeSpan.FromSeconds(5))] }, dir);
            Assert.Equal("ready\n", output);
        }
        finally
        {
            foreach (var input in never) input.Dispose();
        }
    }

    /// <summary>Output that says when something was first written to it.</summary>
    private sealed class SignallingWriter : TextWriter
    {
        public ManualResetEventSlim Written { get; } = new();
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
        public override void Write(char value) => Written.Set();
        public override void Write(string? value) => Written.Set();

        protected override void Dispose(bool disposing)
        {
            if (disposing) Written.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Standard input that never comes: a read waits until the reader is disposed. (TextReader's reads of
    /// many characters, which readLine makes, read one at a time.)</summary>
    private sealed class NeverReader : TextReader
    {
        private readonly ManualResetEventSlim _closed = new();

        public override int Read()
        {
            _closed.Wait();
            return -1;
        }

        public override int Peek()
        {
            _closed.Wait();
            return -1;
        }

        public override string? ReadLine()
        {
            _closed.Wait();
            return null;
        }

        protected override void Dispose(bool disposing)
        {
            _closed.Set();
            base.Dispose(disposing);
        }
    }

    [Fact]
    public void FuelCountsTheSameInAnIsolateAsInABareVm()
    {
        const string program = "fn main() {\n    var i = 0\n    while i < 1000000 { i += 1 }\n}";
        long Exhausts(long fuel)
        {
            try
            {
                Run(program, o => o with { Limits = [new FuelLimit(fuel)] });
                return 0;
            }
            catch (LimitExceededError e) when (e.Limit == "fuel")
            {
                return 1;
            }
        }
        // Find the exact count by bisection, then check it against the interpreter without the sandbox.
        long low = 1, high = 100_000_000;
        while (low < high)
        {
            long mid = (low + high) / 2;
            if (Exhausts(mid) == 1) low = mid + 1;
            else high = mid;
        }
        var vm = new Hlvm.Runtime.Vm(new Hlvm.Runtime.VmOptions { Execution = new ExecutionOptions { Fuel = low } });
        vm.RunMain(vm.Load(Compile(program)), []);
        var short1 = new Hlvm.Runtime.Vm(new Hlvm.Runtime.VmOptions { Execution = new ExecutionOptions { Fuel = low - 1 } });
        Assert.Throws<LimitExceededError>(() => short1.RunMain(short1.Load(Compile(program)), []));
    }

    // ------------------------------------------------------------------------------------------------ permissions

    [Fact]
    public void PermissionsDenyByDefaultAndADenialWinsOverAGrant()
    {
        var p = new Permissions();
        Assert.False(p.IsAllowed("read", "/home/u/notes"));
        p.Allow("read", "/home/u").Deny("read", "/home/u/.ssh");
        Assert.True(p.IsAllowed("read", "/home/u/notes/a.txt"));
        Assert.True(p.IsAllowed("read", "/home/u"));
        Assert.False(p.IsAllowed("read", "/home/user"));           // a prefix of a name is not the name
        Assert.False(p.IsAllowed("read", "/home/u/.ssh/id_rsa"));
        Assert.False(p.IsAllowed("read", "/home/u/.SSH/id_rsa"));  // nor is a case variant of a denied one let through
        Assert.False(p.IsAllowed("write", "/home/u/notes"));
        p.Allow("write");
        Assert.True(p.IsAllowed("write", "/anything"));
        p.Deny("write");
        Assert.False(p.IsAllowed("write", "/anything"));
    }

    [Fact]
    public void NetworkGrantsMatchHostAndPort()
    {
        var p = new Permissions().Allow("net", "127.0.0.1:8080").Allow("net", "example.com").Allow("net", "[::1]:9000");
        Assert.True(p.IsAllowed("net", "127.0.0.1:8080"));
        Assert.False(p.IsAllowed("net", "127.0.0.1:8081"));
        Assert.True(p.IsAllowed("net", "EXAMPLE.com:443"));
        Assert.True(p.IsAllowed("net", "[::1]:9000"));
        Assert.False(p.IsAllowed("net", "[::1]:9001"));
        Assert.Throws<ArgumentException>(() => p.Allow("net", "host:port"));
        Assert.Throws<ArgumentException>(() => p.Allow("net", "host:70000"));
        Assert.Throws<ArgumentException>(() => p.Allow("disk", "x"));
    }

    [Fact]
    public void EveryCheckedCallIsAuditedAsAJsonLine()
    {
        using var dir = new TestSupport.TempDir();
        var log = new StringWriter();
        Run("""
            import std.fs
            import std.env

            fn main() {
                fs.writeText("/data/a.txt", "a")
                try {
                    env.get("HOME")
                } catch e: PermissionError {
                }
            }
            """, o => o with { Audit = new AuditLog(log) }, dir);
        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal("fs.writeText", lines[0].GetProperty("native").GetString());
        Assert.Equal("write", lines[0].GetProperty("permission").GetString());
        Assert.Equal("/data/a.txt", lines[0].GetProperty("target").GetString());
        Assert.True(lines[0].GetProperty("allowed").GetBoolean());
        Assert.Equal("env.get", lines[1].GetProperty("native").GetString());
        Assert.Equal("HOME", lines[1].GetProperty("target").GetString());
        Assert.False(lines[1].GetProperty("allowed").GetBoolean());
        Assert.True(DateTime.TryParse(lines[1].GetProperty("time").GetString(), out _));
    }

    /// <summary>
    /// `env.get` of a name no variable can have (empty, with '=' or a NUL) is null without a grant: it says nothing
    /// of the environment, and no `--allow-env` could name it (the flag refuses such names). It used to be a
    /// PermissionError that advised running with `--allow-env=`, which the command line refuses. A real name is
    /// still denied. Fails when the sandbox denies those names again.
    /// </summary>
    [Fact]
    public void AnEnvironmentNameNoVariableCanHaveIsNullWithoutAGrant()
    {
        var (_, output) = Run("""
            import std.env

            fn main() {
                for name in ["", "A=B", "NUL\0NAME"] { println(env.get(name) ?? "null") }
                try {
                    env.get("HOME")
                    println("HOME read")
                } catch e: PermissionError {
                    println(e.message)
                }
            }
            """);
        Assert.Equal("null\nnull\nnull\nenv access to \"HOME\" is not granted (run with --allow-env=HOME to allow it)\n", output);
        Assert.Throws<ArgumentException>(() => new Permissions().Allow("env", "NUL\0NAME"));
    }

    // ------------------------------------------------------------------------------------------------ files

    [Fact]
    public void DataPersistsBetweenRunsAndWritesToAppMakeAPrivateCopy()
    {
        using var dir = new TestSupport.TempDir();
        string appFile = Path.Combine(dir.Path, "app", "config.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(appFile)!);
        File.WriteAllText(appFile, "original");
        const string program = """
            import std.fs

            fn main() {
                var runs = 0
                if fs.exists("/data/runs") {
                    runs = fs.readText("/data/runs").toInt()
                }
                fs.writeText("/data/runs", "{runs + 1}")
                println("{runs} {fs.readText("/app/config.txt")}")
                fs.writeText("/app/config.txt", "changed by run {runs}")
            }
            """;
        Assert.Equal("0 original\n", Run(program, dir: dir).Output);
        Assert.Equal("1 changed by run 0\n", Run(program, dir: dir).Output);
        Assert.Equal("original", File.ReadAllText(appFile));
        Assert.Equal("2", File.ReadAllText(Path.Combine(dir.Path, "storage", "data", "runs")));
        Assert.Equal("changed by run 1", File.ReadAllText(Path.Combine(dir.Path, "storage", "app", "config.txt")));
    }

    /// <summary>Storage the host can't make (a file where its directory should be: a data home set wrong, a full
    /// or read-only disk) is an IOError of the operation that needed it, which the program catches; it escaped as
    /// an internal error that ended the run.</summary>
    [Fact]
    public void StorageTheHostCantMakeIsAnIOErrorTheProgramCatches()
    {
        using var dir = new TestSupport.TempDir();
        string blocker = dir.File("not-a-directory", "");
        const string program = """
            import std.fs

            fn attempt(what: string, f: fn()) {
                try { f() } catch e: IOError { println("{what}: {e.message}") }
            }

            fn main() {
                println(fs.exists("/data/x"))
                attempt("write", fn() => fs.writeText("/data/x", "1"))
                attempt("append", fn() => fs.appendText("/data/x", "1"))
                attempt("list", fn() { fs.listDir("/data") })
                attempt("copy", fn() => fs.writeText("/app/config.txt", "1"))
            }
            """;
        var (_, output) = Run(program, o => o with { StorageDirectory = Path.Combine(blocker, "storage") }, dir);
        const string why = "the app's storage can't be made on this machine (a directory on its path is missing, or is a file)";
        Assert.Equal($"false\nwrite: cannot write \"/data/x\": {why}\nappend: cannot append to \"/data/x\": {why}\n"
            + $"list: cannot list \"/data\": {why}\ncopy: cannot write \"/app/config.txt\": {why}\n", output);
        Assert.DoesNotContain(dir.Path, output);
    }

    [Fact]
    public void ACopyOnWriteOfALargeSparseFileIsMadeInChunksAndStaysSparse()
    {
        using var dir = new TestSupport.TempDir();
        string appFile = Path.Combine(dir.Path, "app", "big.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(appFile)!);
        const long length = 600L << 20;
        using (var file = File.Create(appFile))
        {
            file.Seek(length / 2, SeekOrigin.Begin);
            file.Write("middle"u8);
            file.SetLength(length);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run("import std.fs\n\nfn main() {\n    fs.appendText(\"/app/big.bin\", \"end\")\n}", dir: dir);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // The copy went through a buffer of a megabyte, never through the whole file in memory.
        Assert.True(allocated < 64 << 20, $"{allocated} bytes allocated to copy {length}");
        string copy = Path.Combine(dir.Path, "storage", "app", "big.bin");
        using (var file = File.OpenRead(copy))
        {
            Assert.Equal(length + 3, file.Length);
            var bytes = new byte[6];
            file.Seek(length / 2, SeekOrigin.Begin);
            file.ReadExactly(bytes);
            Assert.Equal("middle", System.Text.Encoding.ASCII.GetString(bytes));
            file.Seek(length, SeekOrigin.Begin);
            file.ReadExactly(bytes.AsSpan(0, 3));
            Assert.Equal("end", System.Text.Encoding.ASCII.GetString(bytes, 0, 3));
        }
        // Its holes stayed holes: a few blocks are on disk, not 600 MB.
        var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%b %B", copy]) { RedirectStandardOutput = true })!;
        var parts = stat.StandardOutput.ReadToEnd().Split(' ');
        stat.WaitForExit();
        long onDisk = long.Parse(parts[0]) * long.Parse(parts[1]);
        Assert.True(onDisk < 64 << 20, $"the copy takes {onDisk} bytes on disk");
        Assert.Equal(length, new FileInfo(appFile).Length);
    }

    [Fact]
    public void DiskUseOfEarlierRunsCountsAgainstTheLimit()
    {
        using var dir = new TestSupport.TempDir();
        const string program = "import std.fs\n\nfn main() {\n    fs.writeText(\"/data/f{fs.listDir(\"/data\").len()}\", \"x\".repeat(40000))\n}";
        Func<IsolateOptions, IsolateOptions> limited = o => o with { Limits = [new DiskLimit(100_000)] };
        Run(program, limited, dir);
        Run(program, limited, dir);
        var breach = Assert.Throws<LimitExceededError>(() => Run(program, limited, dir));
        Assert.Equal("max-disk", breach.Limit);
        // Two files of 40,000 bytes and a block each (88,192), and a third: 132,288.
        Assert.Contains("would take 132288 bytes, more than 100000 (--max-disk 100000)", breach.Message);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(dir.Path, "storage", "data")).Length);
    }

    [Fact]
    public void AGrantedDirectoryIsSeenUnderItsOwnName()
    {
        using var dir = new TestSupport.TempDir();
        string shared = Directory.CreateDirectory(Path.Combine(dir.Path, "shared")).FullName;
        File.WriteAllText(Path.Combine(shared, "in.txt"), "from the host");
        var (_, output) = Run($$"""
            import std.fs

            fn main() {
                println(fs.readText("{{shared}}/in.txt"))
                fs.writeText("{{shared}}/out.txt", "from the app")
                println(fs.listDir("{{shared}}"))
            }
            """, o => o with { Permissions = new Permissions().Allow("read", shared).Allow("write", shared) }, dir);
        Assert.Equal("from the host\n[\"in.txt\", \"out.txt\"]\n", output);
        Assert.Equal("from the app", File.ReadAllText(Path.Combine(shared, "out.txt")));
    }

    // ------------------------------------------------------------------------------------------------ network

    [Fact]
    public async Task AGrantedConnectionReachesItsHostAndNoOther()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var received = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            using var reader = new StreamReader(client.GetStream());
            string? line = await reader.ReadLineAsync();
            await client.GetStream().WriteAsync("pong\n"u8.ToArray());
            return line;
        });
        var (_, output) = Run($$"""
            import std.net

            fn main() {
                let c = net.connect("127.0.0.1", {{port}})
                net.write(c, "ping\n")
                println(net.read(c, 100) ?? "closed")
                net.close(c)
                try {
                    net.close(c)
                } catch e: IOError {
                    println(e.message)
                }
                try {
                    net.connect("127.0.0.1", {{port}} + 1)
                } catch e: PermissionError {
                    println(e.message)
                }
            }
            """, o => o with { Permissions = new Permissions().Allow("net", $"127.0.0.1:{port}") });
        Assert.Equal("ping", await received);
        // A handle closed is not remembered as a connection or a listener (the message called any a connection).
        Assert.Equal($"pong\n\ncannot close 1: no connection or listener of that number is open\n"
            + $"net access to \"127.0.0.1:{port + 1}\" is not granted (run with --allow-net=127.0.0.1:{port + 1} to allow it)\n", output);
    }
}
