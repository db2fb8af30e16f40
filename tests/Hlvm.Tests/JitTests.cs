using System.Runtime.CompilerServices;
using Hlvm.Cli.Commands;
using Hlvm.Compiler;
using Hlvm.Runtime;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;

namespace Hlvm.Tests;

/// <summary>
/// The JIT's contracts that the language tests (run in every engine by CI) do not show on their own: the stack
/// limit with compiled and interpreted frames mixed, the native stack running low, stops ending compiled loops,
/// traces, the log, and <c>--engine compare</c>.
/// </summary>
public sealed class JitTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hlvm-jit-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>The engines a program must behave the same in: thresholds of 1 and 3 mix compiled and interpreted
    /// frames, alike at every run with --jit-sync; the last compiles on the JIT's thread, as by default, and compiled
    /// code arrives while the program runs.</summary>
    public static readonly string[][] Engines =
    [
        ["--engine", "interp"], ["--engine", "jit"], ["--engine", "tiered", "--jit-threshold", "1", "--jit-sync"],
        ["--engine", "tiered", "--jit-threshold", "3", "--jit-sync"], ["--engine", "tiered", "--jit-threshold", "1"],
    ];

    /// <summary>The JIT's test hooks, set for one test and cleared when it ends, with the events that hold the JIT's
    /// thread set (a failed assertion must not leave the thread held, or the hooks on, for the other tests).</summary>
    private sealed class Hooks : IDisposable
    {
        private readonly ManualResetEventSlim[] _release;

        public Hooks(Func<LoadedFunction, bool>? emitInvalidFor = null, Action<LoadedFunction, System.Reflection.Emit.DynamicMethod>? beforeCompile = null, params ManualResetEventSlim[] release)
        {
            Jit.CilEmitter.EmitInvalidFor = emitInvalidFor;
            Jit.Preparer.BeforeCompile = beforeCompile;
            _release = release;
        }

        public void Dispose()
        {
            Jit.CilEmitter.EmitInvalidFor = null;
            Jit.Preparer.BeforeCompile = null;
            foreach (var e in _release) e.Set();
        }
    }

    /// <summary>A program compiled, verified and attached to a heap of its own, as a VM loads it, for the tests that
    /// drive the compiler by hand; and its functions by name.</summary>
    private static (LoadedModule Loaded, Func<string, LoadedFunction> Named) Attached(string file, string source)
    {
        var loaded = Runtime.Verification.Verifier.Verify(Compilation.Compile(file, source).Module!, Runtime.Natives.NativeTable.All);
        loaded.Attach(new Heap());
        return (loaded, name => loaded.Functions.Single(f => f.Name == name));
    }

    /// <summary>Runs <paramref name="path"/> with budgets from <paramref name="from"/> up to
    /// <paramref name="to"/>, every <paramref name="step"/> instructions, in every engine: the same output, errors
    /// and exit code as the interpreter's at each. The interpreter's exit code at each budget.</summary>
    private static List<int> AgreeUnderFuel(string path, int from, int to, int step)
    {
        var codes = new List<int>();
        for (int fuel = from; fuel < to; fuel += step)
        {
            var interpreted = TestSupport.Hlvm(["run", "--engine", "interp", "--fuel", $"{fuel}", path]);
            codes.Add(interpreted.ExitCode);
            foreach (var engine in Engines.Skip(1))
                Assert.Equal(interpreted, TestSupport.Hlvm(["run", .. engine, "--fuel", $"{fuel}", path]));
        }
        return codes;
    }

    private string Write(string name, string source)
    {
        string path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, source);
        return path;
    }

    private const string Recursion = """
        fn down(n: int) -> int {
            if n == 0 { return 0 }
            return 1 + down(n - 1)
        }
        fn main(args: [string]) {
            println(down(args[0].toInt()))
        }
        """;

    [Fact]
    public void TheStackLimitIsReachedAtTheSameDepthInEveryEngine()
    {
        string path = Write("down.hl", Recursion);
        foreach (var engine in Engines)
        {
            // main is frame 0; down(n) runs in frames 1 to n + 1: n = N - 1 fits in --max-stack N, n = N does not.
            var fits = TestSupport.Hlvm(["run", .. engine, "--max-stack", "500", path, "--", "499"]);
            Assert.True(fits.ExitCode == 0, $"{string.Join(' ', engine)}: {fits.Stderr}");
            Assert.Equal("499\n", fits.Stdout);
            var over = TestSupport.Hlvm(["run", .. engine, "--max-stack", "500", path, "--", "500"]);
            Assert.Equal(75, over.ExitCode);
            Assert.StartsWith("hlvm: limit exceeded: StackOverflowError: stack overflow: more than 500 nested calls (--max-stack)", over.Stderr);
            Assert.Contains("at down (down.hl:3)", over.Stderr);
        }
    }

    [Fact]
    public void CompiledRecursionGoesOnInTheInterpreterWhenTheNativeStackRunsLow()
    {
        var module = Compilation.Compile("down.hl", Recursion).Module!;
        foreach (long budget in new long[] { 64 << 10, 256 << 10 })
        {
            var heap = new Heap();
            var loaded = Runtime.Verification.Verifier.Verify(module, Runtime.Natives.NativeTable.All);
            loaded.Attach(heap);
            var down = loaded.Functions.Single(f => f.Name == "down");
            var interpreter = new Interpreter(loaded, heap, TextWriter.Null, new ExecutionOptions { MaxFrames = 200_000, Compiler = new Jit.CilCompiler(), JitThreshold = 0 })
            {
                NativeStackBudget = budget,
            };
            // 100,000 compiled frames would take megabytes of native stack; the budget is kilobytes.
            Assert.Equal(100_000, interpreter.Run(down, 100_000));
            Assert.NotNull(down.Compiled);
        }
    }

    /// <summary>
    /// Compiled code passes int and float arguments of a direct call in registers; when the native stack runs low
    /// the callee runs in the interpreter, which reads them from their slots, so they are written there first.
    /// A float and two ints, 100,000 calls deep with kilobytes of native stack: 0.25 + 0.5 * 100,000 + 7.
    /// </summary>
    [Fact]
    public void ArgumentsInRegistersReachTheInterpreterWhenTheNativeStackRunsLow()
    {
        var module = Compilation.Compile("walk.hl", """
            fn walk(x: float, k: int, n: int) -> float {
                if n == 0 { return x + (k as float) }
                return walk(x + 0.5, k, n - 1)
            }
            fn main() { println(walk(0.25, 7, 10)) }
            """).Module!;
        var heap = new Heap();
        var loaded = Runtime.Verification.Verifier.Verify(module, Runtime.Natives.NativeTable.All);
        loaded.Attach(heap);
        var walk = loaded.Functions.Single(f => f.Name == "walk");
        var interpreter = new Interpreter(loaded, heap, TextWriter.Null, new ExecutionOptions { MaxFrames = 200_000, Compiler = new Jit.CilCompiler(), JitThreshold = 0 })
        {
            NativeStackBudget = 64 << 10,
        };
        long result = interpreter.Run(walk, BitConverter.DoubleToInt64Bits(0.25), 7, 100_000);
        Assert.Equal(50_007.25, BitConverter.Int64BitsToDouble(result));
        Assert.NotNull(walk.Compiled);
    }

    /// <summary>
    /// Compiled frames keep references in their slots, where the collector finds and moves them; the slots are
    /// addressed from the stack's base, which moves when the stack grows. 3,000 frames deep (the stack starts at
    /// 1,024 slots and grows several times on the way down), the deepest call allocates enough to collect many
    /// times, and every frame's box must come back updated: 1 + (1 + 2 + ... + 3,000).
    /// </summary>
    [Fact]
    public void ReferencesInCompiledFramesSurviveCollectionsAfterTheStackHasGrown()
    {
        string path = Write("deep.hl", """
            class Box {
                v: int
            }
            fn churn() -> int {
                var kept = 0
                for i in 0..100000 {
                    let xs = [i, i + 1, i + 2, i + 3]
                    kept += xs[3] - xs[0]
                }
                return kept
            }
            fn depth(n: int, b: Box) -> int {
                if n == 0 { return b.v + churn() - 300000 }
                let mine = Box(n)
                let r = depth(n - 1, mine)
                return r + mine.v
            }
            fn main() { println(depth(3000, Box(0))) }
            """);
        foreach (var engine in Engines)
        {
            var result = TestSupport.Hlvm(["run", .. engine, "--gc-log", path]);
            Assert.True(result.ExitCode == 0, $"{string.Join(' ', engine)}: {result.Stderr}");
            Assert.Equal($"{1 + 3000 * 3001 / 2}\n", result.Stdout);
            Assert.Contains("[gc] #3 ", result.Stderr);
        }
    }

    /// <summary>
    /// On-stack replacement reads from the slots only the locals live at the loop's entry, and a local that only a
    /// handler around the loop reads is live there. With <c>--jit-threshold 3</c>, <c>lastBeforeError(1)</c>'s loop
    /// is entered from the interpreter right before it throws, and the handler reads <c>last</c> (12,345 + 1,000);
    /// without the handler's locals in the analysis it read whatever the CIL local held.
    /// </summary>
    [Fact]
    public void OnStackReplacementBringsTheLocalsAHandlerAroundTheLoopReads()
    {
        string path = Path.Combine(TestSupport.Root, "tests", "lang", "exceptions", "loop_values_reach_the_handler.hl");
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal("13345\n17357\n-1\n23.0\n249750.5\n", expected.Stdout);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path]));
    }

    /// <summary>
    /// A loop entered in compiled code from the interpreter (on-stack replacement) calls a recursion that grows the
    /// stack; when the function returns, the interpreted caller goes on in the grown stack. It kept using the old
    /// one: its result and later values went there, and the collector, which updates the new one, left its
    /// references behind (a NullError at the next array access, with <c>--jit-threshold 3</c> and 10).
    /// </summary>
    [Fact]
    public void AnInterpretedCallerGoesOnInTheStackItsCompiledCalleeGrew()
    {
        string path = Write("grow.hl", """
            fn g(d: int) -> int {
                if d == 0 { return 0 }
                return 1 + g(d - 1)
            }
            fn f(n: int) -> int {
                var total = 0
                var i = 0
                while i < n {
                    total += g(i * 50)
                    i += 1
                }
                return total
            }
            fn main() {
                let a = "kept across"
                let before = [1, 2, 3]
                let r = f(60)
                var ones = 0
                for k in 0..100000 {
                    let xs = [k, k + 1]
                    ones += xs[1] - xs[0]
                }
                println("{r} {a} {before} {ones}")
            }
            """);
        foreach (var engine in Engines.Append(["--engine", "tiered", "--jit-threshold", "10", "--jit-sync"]))
        {
            var result = TestSupport.Hlvm(["run", .. engine, path]);
            Assert.True(result.ExitCode == 0, $"{string.Join(' ', engine)}: {result.Stderr}");
            // 50 * (0 + 1 + ... + 59) calls deep in all; 100,000 arrays of two.
            Assert.Equal("88500 kept across [1, 2, 3] 100000\n", result.Stdout);
        }
    }

    /// <summary><c>hlvm run --timeout 300ms</c>, again if compiling took it all (<see cref="TestSupport.HlvmUntilItStarts"/>).</summary>
    private static TestSupport.Result RunForAtMost300Ms(string[] engine, string path) =>
        TestSupport.HlvmUntilItStarts(["run", .. engine, "--timeout", "300ms", path]);

    [Fact]
    public void ATimeoutEndsACompiledLoop()
    {
        string path = Write("spin.hl", """
            fn spin() -> int {
                var n = 0
                while true { n += 1 }
                return n
            }
            fn main() { println(spin()) }
            """);
        foreach (var engine in Engines.Skip(1))
        {
            var result = RunForAtMost300Ms(engine, path);
            Assert.Equal(75, result.ExitCode);
            Assert.StartsWith("hlvm: limit exceeded: ", result.Stderr);
            Assert.Contains("timeout", result.Stderr);
            Assert.Contains("at spin (spin.hl:3)", result.Stderr);
        }
    }

    /// <summary>
    /// The emitter's work is bounded whatever the module. A function whose jumps lead back to lower addresses block
    /// after block needs a pass of the liveness analysis per block, each visiting every instruction's handlers: a
    /// module written by hand with 2,300 such blocks and 2,000 handlers took seconds to compile on the program's
    /// thread. Past 32 passes every local is taken as live everywhere (more values moved at polls, as correct),
    /// and a function with more than 256 handlers is not compiled. Here `f`'s loop is reached through a chain of 40
    /// jumps laid out backwards: the analysis gives up, and every engine still gives the right sum; `g`, the same
    /// function with 300 handlers, stays interpreted and says why.
    /// </summary>
    [Fact]
    public void TheJitsWorkOnAFunctionIsBoundedWhateverItsLayout()
    {
        static string Function(string name, int handlers)
        {
            var t = new System.Text.StringBuilder();
            t.Append($".fn {name}(int) -> int\n    .locals int, int\n    .maxstack 3\n");
            for (int h = 0; h < handlers; h++) t.Append("    .handler TRY END CATCH Error\n");
            t.Append("TRY:\n    jmp C0\nBODY:\n    iconst 0\n    store 1\n    iconst 0\n    store 2\n    jmp TEST\n");
            t.Append("LOOP:\n    load 1\n    load 2\n    iconst 3\n    imul\n    iconst 7\n    irem\n    iadd\n    store 1\n");
            t.Append("    load 2\n    iconst 1\n    iadd\n    store 2\nTEST:\n    load 2\n    load 0\n    ilt\n    jmpif LOOP\n    load 1\n    ret\n");
            // The chain: C0 at the end jumps to C1 just above it, ..., C40 (the first of them) to the body.
            t.Append("C40:\n    jmp BODY\n");
            for (int c = 39; c >= 0; c--) t.Append($"C{c}:\n    jmp C{c + 1}\n");
            t.Append("END:\nCATCH:\n    pop\n    iconst -1\n    ret\n.end\n");
            return t.ToString();
        }
        string module = TestSupport.Assemble(_dir, "chain", """
            .module "chain"
            .source "chain.hlasm"
            .entry main
            .native println(string) -> void
            .class Error
                .field message string
            .end
            """ + "\n" + Function("f", 1) + Function("g", 300) + """
            .fn main() -> void
                .locals int, int, int
                .maxstack 3
                iconst 0
                store 0
                iconst 0
                store 1
            L:
                load 0
                load 1
                call f
                iadd
                load 1
                call g
                iadd
                store 0
                load 1
                iconst 1
                iadd
                store 1
                load 1
                iconst 300
                ilt
                jmpif L
                load 0
                itos
                callnative println
                retvoid
            .end
            """);
        long sum = Enumerable.Range(0, 300).Sum(k => 2 * Enumerable.Range(0, k).Sum(i => (long)(i * 3 % 7)));
        foreach (var engine in Engines)
        {
            bool compiles = engine[1] != "interp";
            var result = TestSupport.Hlvm(["run", .. engine, .. (compiles ? (string[])["--jit-log"] : []), module]);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Equal($"{sum}\n", result.Stdout);
            if (!compiles) continue;
            Assert.Contains("jit: g: not compiled (300 exception handlers, more than the 256 the JIT compiles)\n", result.Stderr);
            Assert.Matches(@"jit: f: \d+ instructions -> ", result.Stderr);
        }
        var loaded = Runtime.Verification.Verifier.Verify(Runtime.Bytecode.ModuleFormat.Read(File.ReadAllBytes(module)), Runtime.Natives.NativeTable.All);
        var live = Jit.CilEmitter.Liveness(loaded.Functions.Single(f => f.Name == "f"), out bool gaveUp);
        Assert.True(gaveUp, "the analysis of f's chain did not give up");
        Assert.All(live, words => Assert.All(words, w => Assert.Equal(~0UL, w)));
        // The compiler's own code needs a few passes.
        var plain = Runtime.Verification.Verifier.Verify(Compilation.Compile("plain.hl", """
            fn f(x: int) -> int { var s = 0; for i in 0..x { for j in 0..i { while s < j { s += 1 } } } return s }
            fn main() { println(f(3)) }
            """).Module!, Runtime.Natives.NativeTable.All);
        Jit.CilEmitter.Liveness(plain.Functions.Single(f => f.Name == "f"), out gaveUp);
        Assert.False(gaveUp);
    }

    /// <summary>
    /// An error raised while the handlers are searched gets its trace in every engine: here the module's
    /// OutOfMemoryError has 5,000 fields, more than the heap's emergency room holds, so the heap running out in a
    /// compiled loop with a handler raises the limit's error while its error object is made. Compiled code's
    /// entry gave that error no trace (a sibling catch clause never sees what a catch block throws), and `compare`
    /// found the engines different.
    /// </summary>
    [Fact]
    public void AnErrorRaisedWhileHandlersAreSearchedHasItsTraceInEveryEngine()
    {
        var fields = string.Concat(Enumerable.Range(0, 5000).Select(i => $"    .field f{i} int\n"));
        string module = TestSupport.Assemble(_dir, "bigoom", """
            .module "bigoom"
            .source "bigoom.hl"
            .entry main
            .string "caught"
            .native println(string) -> void
            .type [int]
            .type [[int]]
            .class OutOfMemoryError
                .field message string
            """ + "\n" + fields + """
            .end
            .fn main() -> int
                .locals [[int]]
                .maxstack 3
                .handler A B H OutOfMemoryError
                newarray 1 0
                store 0
            A:
                .line 7
                load 0
                iconst 0
                newarray 0 1
                apush
                jmp A
            B:
            H:
                pop
                sconst 0
                callnative println
                iconst 3
                ret
            .end
            """);
        var interpreted = TestSupport.Hlvm("run", "--engine", "interp", "--max-heap", "4m", module);
        Assert.Equal(75, interpreted.ExitCode);
        Assert.EndsWith("\n  at main (bigoom.hl:7)\n", interpreted.Stderr);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(interpreted, TestSupport.Hlvm(["run", .. engine, "--max-heap", "4m", module]));
    }

    /// <summary>
    /// A handler search charges the exception tables it reads (one instruction for every 16 entries), so that
    /// --fuel bounds a throw through a function with thousands of handlers: here 100 throws through 10,000 handlers
    /// that miss before the one that catches ran on 20,000 instructions of fuel (about 10 instructions a throw) and
    /// now stop. Every engine stops at the same place (the function with the handlers stays interpreted, past the
    /// JIT's 256; its caller's loop is compiled), and without --fuel the program runs to its end.
    /// </summary>
    [Fact]
    public void AHandlerSearchIsChargedTheHandlersItReads()
    {
        var handlers = string.Concat(Enumerable.Range(0, 10_000).Select(_ => "    .handler A B H Other\n"));
        string module = TestSupport.Assemble(_dir, "scan", """
            .module "scan"
            .source "scan.hl"
            .entry main
            .string "done"
            .native println(string) -> void
            .class Base
            .end
            .class Other
                .super Base
            .end
            .class Thrown
                .super Base
            .end
            .fn thrower() -> int
                .maxstack 1
            """ + "\n" + handlers + """
                .handler A B H Thrown
            A:
                .line 3
                newobject Thrown
                throw
            B:
            H:
                pop
                iconst 1
                ret
            .end
            .fn main() -> int
                .locals int, int
                .maxstack 2
                iconst 0
                store 0
                iconst 0
                store 1
            L:
                .line 9
                load 1
                call thrower
                iadd
                store 1
                load 0
                iconst 1
                iadd
                store 0
                load 0
                iconst 100
                ilt
                jmpif L
                sconst 0
                callnative println
                load 1
                ret
            .end
            """);
        var free = TestSupport.Hlvm("run", "--engine", "interp", module);
        Assert.True(free.ExitCode == 100, free.Stderr);
        Assert.Equal("done\n", free.Stdout);
        var interpreted = TestSupport.Hlvm("run", "--engine", "interp", "--fuel", "20000", module);
        Assert.Equal(75, interpreted.ExitCode);
        Assert.StartsWith("hlvm: limit exceeded: ", interpreted.Stderr);
        Assert.Contains("fuel", interpreted.Stderr);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(interpreted, TestSupport.Hlvm(["run", .. engine, "--fuel", "20000", module]));
    }

    [Fact]
    public void AStopAtAFusedCompareAndJumpNamesTheJumpsLine()
    {
        // The interpreter runs load, load, ieq, jmpif as one instruction; a stop at its backward jump named the
        // load's line (10) where the metered interpreter and compiled code name the jump's (20). The compiler
        // writes one line per statement, so only a module written by hand has lines inside the fused form.
        string module = TestSupport.Assemble(_dir, "fused", """
            .module "fused"
            .source "fused.hlasm"
            .entry main
            .fn main() -> void
                .locals int, int
                .maxstack 2
                .line 1
                iconst 1
                store 0
                iconst 1
                store 1
            L0:
                .line 10
                load 0
                load 1
                ieq
                .line 20
                jmpif L0
                retvoid
            .end
            """);
        foreach (var engine in Engines)
        {
            var result = RunForAtMost300Ms(engine, module);
            Assert.Equal(75, result.ExitCode);
            Assert.EndsWith("\n  at main (fused.hlasm:20)\n", result.Stderr);
        }
    }

    [Fact]
    public void ATimeoutEndsACompiledRecursionThatHasNoLoop()
    {
        // No backward branch: only the polls at function entry (one comparison with the native stack's limit,
        // raised when a stop is asked for) can end it. Unstopped it makes 2^33 calls, half a minute or more.
        string path = Write("grow.hl", """
            fn grow(n: int) -> int {
                if n == 0 { return 1 }
                return grow(n - 1) + grow(n - 1)
            }
            fn main() { println(grow(32)) }
            """);
        foreach (var engine in Engines.Skip(1))
        {
            var result = RunForAtMost300Ms(engine, path);
            Assert.Equal(75, result.ExitCode);
            Assert.StartsWith("hlvm: limit exceeded: ", result.Stderr);
            Assert.Contains("at grow (grow.hl:", result.Stderr);
        }
    }

    [Fact]
    public void AnErrorThroughManyCompiledFramesHasTheInterpretersTrace()
    {
        string path = Write("deep.hl", """
            class Boom: Error { }
            fn deep(n: int) -> int {
                if n == 0 { throw Boom("at the bottom") }
                return deep(n - 1) + 1
            }
            fn catches(n: int) -> int {
                try { return deep(n) } catch e: Boom { return -1 }
            }
            fn main() {
                println(catches(10))
                println(deep(100))
            }
            """);
        var expected = TestSupport.Hlvm(["run", .. Engines[0], path]);
        Assert.Equal(70, expected.ExitCode);
        Assert.Equal("-1\n", expected.Stdout);
        Assert.StartsWith("Boom: at the bottom\n  at deep (deep.hl:3)\n", expected.Stderr);
        Assert.Contains("more frames", expected.Stderr);
        foreach (var engine in Engines.Skip(1))
        {
            var result = TestSupport.Hlvm(["run", .. engine, path]);
            Assert.Equal(expected, result);
        }
    }

    /// <summary>
    /// Compiled code allocates objects inline (<c>Heap.TryBumpObject</c>) and the rest through the interpreter's
    /// code, and counts every byte as the interpreter does: `--gc-log` shows the same collections, at the same
    /// points, with the same sizes, in every engine (pause times aside).
    /// </summary>
    [Fact]
    public void GcLogShowsTheSameCollectionsInEveryEngine()
    {
        string path = Write("trees.hl", """
            class Node {
                left: Node?
                right: Node?
            }
            fn make(d: int) -> Node {
                if d == 0 { return Node(null, null) }
                return Node(make(d - 1), make(d - 1))
            }
            fn count(n: Node?) -> int {
                if n == null { return 0 }
                return 1 + count(n.left) + count(n.right)
            }
            fn main() {
                let keep = make(12)
                var total = 0
                for i in 0..2000 { total += count(make(8)) }
                println("{total} {count(keep)}")
            }
            """);
        string Collections(TestSupport.Result r) => System.Text.RegularExpressions.Regex.Replace(r.Stderr, @"pause=[\d.]+ms ", "");
        // A small heap, so that there are many collections: 24 MB allocated, 200 KB kept.
        var expected = TestSupport.Hlvm(["run", "--gc-log", "--max-heap", "1m", .. Engines[0], path]);
        Assert.Equal(0, expected.ExitCode);
        Assert.Equal("1022000 8191\n", expected.Stdout); // 2,000 trees of 511 nodes; 8,191 kept
        Assert.True(Collections(expected).Split('\n').Length > 20, expected.Stderr);
        foreach (var engine in Engines.Skip(1))
        {
            var result = TestSupport.Hlvm(["run", "--gc-log", "--max-heap", "1m", .. engine, path]);
            Assert.Equal(expected.Stdout, result.Stdout);
            Assert.Equal(Collections(expected), Collections(result));
        }
    }

    /// <summary>
    /// A poll that finds attention asked for in a compiled loop (here a profiler's samples, 100,000 a second)
    /// leaves the loop: the values go to their slots, the interpreter attends, and the function comes back in at
    /// the loop's entry through the headers of the loops around it. Many such round trips (thousands on an idle
    /// machine) through three nested loops, int and float values live in all of them, give the interpreter's output.
    /// </summary>
    [Fact]
    public void CompiledLoopsLeftAndEnteredAtEveryPollKeepTheirValues()
    {
        string path = Write("nest.hl", """
            fn main() {
                var inside = 0
                var sum = 0.0
                for y in 0..600 {
                    let ci = 2.0 * (y as float) / 600.0 - 1.0
                    for x in 0..600 {
                        let cr = 2.0 * (x as float) / 600.0 - 1.5
                        var zr = 0.0
                        var zi = 0.0
                        var i = 0
                        while i < 100 && zr * zr + zi * zi <= 4.0 {
                            let t = zr * zr - zi * zi + cr
                            zi = 2.0 * zr * zi + ci
                            zr = t
                            i += 1
                        }
                        if i == 100 { inside += 1 }
                        sum += zr + zi
                    }
                }
                println("{inside} {sum}")
            }
            """);
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal(0, expected.ExitCode);
        AssertSameUnderSampling(path, expected);
    }

    /// <summary>
    /// A function whose loops compile without entries stepped to (one loop entered at its header; a loop carrying a
    /// value on the operand stack round its backward branch, which the compiler never emits) leaves its values in
    /// their slots at a poll that finds attention asked for, and reads them back after the interpreter attends:
    /// sampled at 100,000 a second, every engine prints and returns what the interpreter does. A value not read
    /// back, or read from the wrong slot, changes the sums.
    /// </summary>
    [Fact]
    public void PollsThatCallOutGiveTheLoopItsValuesBack()
    {
        string single = Write("single.hl", """
            fn main() -> int {
                var a = 1
                var b = 0.5
                var s = 0
                var f = 0.0
                for i in 0..3000000 {
                    s = (s * 31 + i + a) % 1000003
                    f = f * 0.999 + b
                    a = a ^ (i & 7)
                    b = 1.0 - b
                }
                println("{s} {f} {a} {b}")
                return s % 256
            }
            """);
        string carried = TestSupport.Assemble(_dir, "carried", """
            ; The sum stays on the operand stack round the loop: sum = (sum * 31 + i) % 1000003 for i from 3000000 down.
            .fn main() -> int
                .locals int
                .maxstack 3
                iconst 0
                iconst 3000000
                store 0
            L0:
                iconst 31
                imul
                load 0
                iadd
                iconst 1000003
                irem
                load 0
                iconst 1
                isub
                store 0
                load 0
                iconst 0
                igt
                jmpif L0
                iconst 256
                irem
                ret
            .end
            .entry main
            """);
        foreach (var path in new[] { single, carried })
        {
            var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
            Assert.True(expected.Stderr == "", expected.Stderr);
            AssertSameUnderSampling(path, expected);
        }
    }

    /// <summary>Profiles <paramref name="path"/> at 100,000 samples a second in each compiling engine, so that
    /// compiled loops find attention asked for at thousands of polls: the same output and exit code as
    /// <paramref name="expected"/>, the interpreter's.</summary>
    private static void AssertSameUnderSampling(string path, TestSupport.Result expected)
    {
        foreach (var engine in Engines.Skip(1))
        {
            // The compiled loops take about 0.1 s: dozens of samples or more, but a loaded machine (the rest of this
            // suite on two cores) schedules the sampler's timer far less often, so a run with too few round trips
            // to prove anything is run again.
            int most = 0;
            string stderr = "";
            for (int attempt = 0; attempt < 5 && most < 10; attempt++)
            {
                var profiled = TestSupport.Hlvm(["prof", "--rate", "100000", .. engine, path]);
                Assert.True(profiled.ExitCode == expected.ExitCode, $"{string.Join(' ', engine)}: exit {profiled.ExitCode} {profiled.Stderr}");
                Assert.Equal(expected.Stdout, profiled.Stdout);
                var samples = System.Text.RegularExpressions.Regex.Match(profiled.Stderr, @"([\d,]+) samples");
                Assert.True(samples.Success, profiled.Stderr);
                most = Math.Max(most, int.Parse(samples.Groups[1].Value.Replace(",", "")));
                stderr = profiled.Stderr;
            }
            Assert.True(most >= 10, $"{path} {string.Join(' ', engine)}: at most {most} samples in 5 runs: {stderr}");
        }
    }

    /// <summary>
    /// Compiled code leaves out a null check of a local that an earlier check in straight-line code passed; a
    /// store to the local, or a join, forgets that. Each program checks a local, makes it null (by a store, or on
    /// the way back round a loop) and checks it again: every engine stops there with the interpreter's NullError.
    /// </summary>
    [Theory]
    [InlineData("""
        .fn main() -> int
            .locals P?, P?
            .maxstack 2
            newobject P
            store 0
            load 0
            nonnull
            getfield P 0
            pop
            load 0
            store 1
            aconstnull
            store 0
            load 1
            nonnull
            getfield P 0
            pop
            load 0
            nonnull
            getfield P 0
            ret
        .end
        """)]
    [InlineData("""
        .fn main() -> int
            .locals P?, int
            .maxstack 2
            iconst 0
            store 1
            newobject P
            store 0
            jmp A
        B:
            aconstnull
            store 0
            jmp J
        A:
            load 0
            nonnull
            pop
        J:
            load 0
            nonnull
            pop
            load 1
            iconst 1
            iadd
            store 1
            load 1
            iconst 2
            ilt
            jmpif B
            iconst 0
            ret
        .end
        """)]
    public void ANullCheckLeftOutNeverHidesANull(string main)
    {
        string module = TestSupport.Assemble(_dir, "nulls", ".class P\n    .field x int\n.end\n" + main + "\n.entry main\n");
        foreach (var engine in Engines)
        {
            var result = TestSupport.Hlvm(["run", .. engine, module]);
            Assert.Equal(70, result.ExitCode);
            Assert.Equal("NullError: cannot use the value: the value is null\n  at main (:0)\n", result.Stderr);
        }
    }

    /// <summary>
    /// A compiled call writes its frame record only where it is first needed, so a call that returns first never
    /// writes it; a fault before that point writes it before it is raised. Both functions fault on a path that
    /// has written nothing (an index past the end; a division by zero after a forward jump), after a thousand
    /// calls that returned without a record: the trace names the faulting function and its line as the
    /// interpreter's does, run and profiled (a sample asked for at a call's entry writes the record early).
    /// </summary>
    [Theory]
    [InlineData("index", "IndexError: index 3 is out of range for an array of length 3")]
    [InlineData("zero", "DivisionByZeroError: integer division by zero")]
    public void AFaultBeforeAFramesRecordIsWrittenHasTheInterpretersTrace(string which, string error)
    {
        string path = Write("leaf.hl", """
            fn at(xs: [int], i: int) -> int { return xs[i] }
            fn div(a: int, b: int) -> int {
                if b == 1 { return a }
                return a / b
            }
            fn main(args: [string]) {
                var s = 0
                let xs = [1, 2, 3]
                for i in 0..1000 { s += at(xs, i % 3) + div(i, 1 + i % 7) }
                println(s)
                if args[0] == "index" { println(at(xs, 3)) }
                if args[0] == "zero" { println(div(5, 0)) }
            }
            """);
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path, "--", which]);
        Assert.Equal(70, expected.ExitCode);
        Assert.StartsWith(error, expected.Stderr);
        Assert.Contains(which == "index" ? "\n  at at (leaf.hl:1)\n  at main (leaf.hl:11)\n" : "\n  at div (leaf.hl:4)\n  at main (leaf.hl:12)\n", expected.Stderr);
        foreach (var engine in Engines.Skip(1))
        {
            foreach (var profile in new[] { false, true })
            {
                var result = TestSupport.Hlvm([.. profile ? ["prof", "--rate", "100000"] : new[] { "run" }, .. engine, path, "--", which]);
                Assert.Equal(70, result.ExitCode);
                Assert.Equal(expected.Stdout, result.Stdout);
                Assert.StartsWith(expected.Stderr, result.Stderr);
                if (!profile) Assert.Equal(expected.Stderr, result.Stderr);
            }
        }
    }

    /// <summary>
    /// A loop that can't collect reads the header of each array local it never stores (its length, where its elements
    /// are) where it is entered, not at every access. Each program enters such loops with a different array each
    /// time: a new one of a new length every round (5 rounds of r * 1000 elements set to r: 1000 * (1 + 4 + 9 + 16
    /// + 25)), two arrays swapped between entries (the sum checked against the same steps done in Python), an
    /// index past the end inside the loop, and a loop that calls a pure float function (math.sqrt, which can't
    /// collect; the sum checked in Python), a [bool] sieve for every length from 1 to 40 (whose last word is partly
    /// used; the counts are the number of primes up to each n, checked in Python), and indexes past the end of a
    /// [bool] of 9 and of an empty [float]. Profiled at 100,000 samples a second, the loops are also left and entered
    /// again at their polls.
    /// </summary>
    [Theory]
    [InlineData("""
        fn main() {
            var total = 0
            for round in 1..6 {
                let xs = [0].repeat(round * 1000)
                var i = 0
                while i < xs.len() {
                    xs[i] = round
                    i += 1
                }
                var sum = 0
                for j in 0..xs.len() { sum += xs[j] }
                total += sum
            }
            println(total)
        }
        """, "55000\n", "")]
    [InlineData("""
        fn main() {
            var a = [0].repeat(100)
            var b = [0].repeat(100)
            for i in 0..100 { a[i] = i }
            var step = 0
            while step < 20 {
                for i in 1..99 { b[i] = a[i - 1] + a[i + 1] - a[i] }
                let t = a
                a = b
                b = t
                step += 1
            }
            var s = 0
            for i in 0..100 { s += a[i] * (i + 1) }
            println(s)
        }
        """, "-19737553110\n", "")]
    [InlineData("""
        fn main() {
            let xs = [1, 2, 3]
            var i = 0
            var s = 0
            while i < 5 {
                s += xs[i]
                i += 1
            }
            println(s)
        }
        """, "", "IndexError: index 3 is out of range for an array of length 3\n  at main (arrays.hl:6)\n")]
    [InlineData("""
        import std.math

        fn main() {
            var total = 0.0
            for round in 1..4 {
                let xs = [0.0].repeat(round * 100)
                for i in 0..xs.len() { xs[i] = math.sqrt((i * round) as float) }
                for x in xs { total += x }
            }
            println(total)
        }
        """, "9302.483882078617\n", "")]
    [InlineData("""
        fn count(n: int) -> int {
            let composite = [false].repeat(n + 1)
            var c = 0
            for i in 2..n + 1 {
                if !composite[i] {
                    c += 1
                    var j = i * i
                    while j <= n {
                        composite[j] = true
                        j += i
                    }
                }
            }
            return c
        }

        fn main() {
            var s = ""
            for n in 0..40 { s = "{s}{count(n)} " }
            println(s)
        }
        """, "0 0 1 2 2 3 3 4 4 4 4 5 5 6 6 6 6 7 7 8 8 8 8 9 9 9 9 9 9 10 10 11 11 11 11 11 11 12 12 12 \n", "")]
    [InlineData("""
        fn main() {
            let flags = [true, false, true, true, false, true, true, false, true]
            var i = 0
            var n = 0
            while i < 12 {
                if flags[i] { n += 1 }
                i += 1
            }
            println(n)
        }
        """, "", "IndexError: index 9 is out of range for an array of length 9\n  at main (arrays.hl:6)\n")]
    [InlineData("""
        fn main() {
            let xs = [0.5].repeat(0)
            var s = 0.0
            var i = 0
            while i < 3 {
                s += xs[i]
                i += 1
            }
            println(s)
        }
        """, "", "IndexError: index 0 is out of range for an array of length 0\n  at main (arrays.hl:6)\n")]
    [InlineData("""
        fn id(x: int) -> int { return x }

        fn main() {
            let xs = [1, 2, 3, 4]
            var s = 0
            for r in 0..3 {
                s += id(r)
                for i in 0..xs.len() { s += xs[i] * (r + 1) }
            }
            println(s)
        }
        """, "63\n", "")]
    [InlineData("""
        fn main() {
            let a = [1, 2, 3]
            let c = [10, 20]
            let d = [100, 200, 300]
            var s = 0
            var i = 0
            while i < 3 {
                var b = c
                if i % 2 == 1 { b = d }
                var j = 0
                while j < b.len() {
                    s += a[i] * b[j]
                    j += 1
                }
                i += 1
            }
            println(s)
            i = 0
            while i < 5 {
                var j = 0
                while j < 2 {
                    s += a[i + j]
                    j += 1
                }
                i += 1
            }
            println(s)
        }
        """, "1320\n", "IndexError: index 3 is out of range for an array of length 3\n  at main (arrays.hl:22)\n")]
    public void ArrayHeadersReadWhereALoopIsEnteredFollowEachArrayItIsEnteredWith(string source, string stdout, string stderr)
    {
        string path = Write("arrays.hl", source);
        foreach (var engine in Engines)
        {
            foreach (var profile in new[] { false, true })
            {
                var result = TestSupport.Hlvm([.. profile ? ["prof", "--rate", "100000"] : new[] { "run" }, .. engine, path]);
                string what = $"{string.Join(' ', engine)}{(profile ? " profiled" : "")}";
                Assert.True(result.ExitCode == (stderr == "" ? 0 : 70), $"{what}: {result.Stderr}");
                Assert.Equal(stdout, result.Stdout);
                if (!profile) Assert.Equal(stderr, result.Stderr);
                else Assert.StartsWith(stderr, result.Stderr);
            }
        }
    }

    /// <summary>
    /// A reference an inline instruction makes and the next instruction stores in a local goes straight into the
    /// local's slot. Here an entry below it is the local's old value (p1, whose v is 7), and the result (p1.next,
    /// whose v is 0) replaces the local: the entry must still read p1. Exit code 7 in every engine; 0 when the old
    /// value is lost.
    /// </summary>
    [Fact]
    public void AResultStoredStraightIntoALocalLeavesTheOldValueToEntriesBelow()
    {
        string module = TestSupport.Assemble(_dir, "alias", """
            .class P
                .field next P?
                .field v int
            .end
            .fn main() -> int
                .locals P?
                .maxstack 3
                newobject P
                store 0
                load 0
                nonnull
                newobject P
                setfield P 0
                load 0
                nonnull
                iconst 7
                setfield P 1
                load 0
                load 0
                nonnull
                getfield P 0
                store 0
                nonnull
                getfield P 1
                ret
            .end
            .entry main
            """);
        foreach (var engine in Engines)
        {
            var result = TestSupport.Hlvm(["run", .. engine, module]);
            Assert.True(result.ExitCode == 7, $"{string.Join(' ', engine)}: exit {result.ExitCode} {result.Stderr}");
        }
    }

    /// <summary>
    /// Compiled method calls are dispatched three ways from the module's closed set of classes: one target for
    /// every class the receiver can be (a direct call), a few classes told apart by their id (Chain: three
    /// classes; Shape: two implementations of an interface), and more through the table (Base.many, ten
    /// classes). Every way reaches each receiver's own implementation: 1 + the few (10 + 20 + 30 + seven times
    /// 10) + the many (100 to 109) is 1185 a round, the chain 1 + 2 + 3, the shapes 3 + 4.
    /// </summary>
    [Fact]
    public void MethodCallsReachEachReceiversImplementationHoweverTheyAreDispatched()
    {
        string path = Write("dispatch.hl", """
            interface Shape { fn sides() -> int }
            class Tri : Shape { fn sides() -> int { return 3 } }
            class Sq : Shape { fn sides() -> int { return 4 } }

            class Chain { fn v() -> int { return 1 } }
            class Chain2 : Chain { override fn v() -> int { return 2 } }
            class Chain3 : Chain2 { override fn v() -> int { return 3 } }

            class Base {
                fn one() -> int { return 1 }
                fn few() -> int { return 10 }
                fn many() -> int { return 100 }
            }
            class K1 : Base {
                override fn few() -> int { return 20 }
                override fn many() -> int { return 101 }
            }
            class K2 : Base {
                override fn few() -> int { return 30 }
                override fn many() -> int { return 102 }
            }
            class K3 : Base { override fn many() -> int { return 103 } }
            class K4 : Base { override fn many() -> int { return 104 } }
            class K5 : Base { override fn many() -> int { return 105 } }
            class K6 : Base { override fn many() -> int { return 106 } }
            class K7 : Base { override fn many() -> int { return 107 } }
            class K8 : Base { override fn many() -> int { return 108 } }
            class K9 : Base { override fn many() -> int { return 109 } }

            fn main() {
                let bases: [Base] = [Base(), K1(), K2(), K3(), K4(), K5(), K6(), K7(), K8(), K9()]
                let chains: [Chain] = [Chain(), Chain2(), Chain3()]
                let shapes: [Shape] = [Tri(), Sq()]
                var b = 0
                var c = 0
                var s = 0
                for round in 0..1000 {
                    for x in bases { b += x.one() + x.few() + x.many() }
                    for x in chains { c += x.v() }
                    for x in shapes { s += x.sides() }
                }
                println("{b} {c} {s}")
            }
            """);
        foreach (var engine in Engines)
        {
            var result = TestSupport.Hlvm(["run", .. engine, path]);
            Assert.True(result.ExitCode == 0, $"{string.Join(' ', engine)}: {result.Stderr}");
            Assert.Equal("1185000 6000 7000\n", result.Stdout);
        }
    }

    /// <summary>
    /// Tiering's profile: a method call compiled after its function ran tests for the classes whose targets ran
    /// (here squares only) and leaves the others to the method table, and a call of a function that never ran is
    /// not compiled in place; with <c>--engine jit</c>, where nothing runs first, every target is. Rectangles,
    /// strips, the base class and the cold function that come later still give the interpreter's answer: 4 + 9
    /// fifty times, then 4 + 10 + 6 + 0 fifty times less three times 1 to 49.
    /// </summary>
    [Fact]
    public void MethodCallsTestOnlyForTheClassesThatRanBeforeTheCallerWasCompiled()
    {
        string path = Write("profile.hl", """
            class Shape {
                fn area() -> int { return 0 }
            }
            class Square : Shape {
                side: int
                init(s: int) { side = s }
                override fn area() -> int { return side * side }
            }
            class Rect : Shape {
                w: int
                h: int
                init(a: int, b: int) {
                    w = a
                    h = b
                }
                override fn area() -> int { return w * h }
            }
            class Strip : Shape {
                len: int
                init(n: int) { len = n }
                override fn area() -> int { return len }
            }

            fn rare(n: int) -> int { return n * 3 }

            fn total(shapes: [Shape], n: int) -> int {
                var t = 0
                for s in shapes { t += s.area() }
                if n < 0 { t += rare(n) }
                return t
            }

            fn main() {
                let squares: [Shape] = [Square(2), Square(3)]
                var sum = 0
                for i in 0..50 { sum += total(squares, i) }
                let mixed: [Shape] = [Square(2), Rect(2, 5), Strip(6), Shape()]
                for i in 0..50 { sum += total(mixed, -i) }
                println(sum)
            }
            """);
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal((0, "-2025\n", ""), (expected.ExitCode, expected.Stdout, expected.Stderr));
        foreach (var engine in Engines.Skip(1).Append(["--engine", "tiered", "--jit-threshold", "10", "--jit-sync"]))
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path]));
        var tiered = TestSupport.Hlvm(["run", "--jit-threshold", "10", "--jit-sync", "--jit-log", path]);
        Assert.Matches(@"jit: total: .*; in place: Square\.area\n", tiered.Stderr);
        var eager = TestSupport.Hlvm(["run", "--engine", "jit", "--jit-log", path]);
        Assert.Matches(@"jit: total: .*; in place: (\w+\.area, ){4}rare\n", eager.Stderr);
    }

    /// <summary>
    /// Calls of tiny functions (a constructor that sets fields, a function that reads one or returns a constant)
    /// are compiled as their bodies. The results are the interpreter's (20,000 points: the x's and 42 each, half
    /// the y's, two characters a label); a field read before it is set falls back to the call, which raises the
    /// NullError with the callee's frame in the trace; the profiler counts the calls exactly; and a call that
    /// would pass --max-stack is still the StackOverflowError, at the same depth.
    /// </summary>
    [Fact]
    public void CallsCompiledInPlaceKeepResultsErrorsCountsAndTheStackLimit()
    {
        string path = Write("inline.hl", """
            class Point {
                x: int
                y: float
                label: string
            }

            fn xOf(p: Point) -> int { return p.x }
            fn yOf(p: Point) -> float { return p.y }
            fn labelOf(p: Point) -> string { return p.label }
            fn answer() -> int { return 42 }

            class Base {
                init() { println("made {describe()}") }
                fn describe() -> string { return "a base" }
            }

            class Named : Base {
                name: string
                init(n: string) {
                    super()
                    name = n
                }
                override fn describe() -> string { return nameOf(self) }
            }

            fn nameOf(n: Named) -> string { return n.name }

            fn main() {
                var sx = 0
                var sy = 0.0
                var chars = 0
                for i in 0..20000 {
                    let p = Point(i, i as float / 2.0, "p{i % 10}")
                    sx += xOf(p) + answer()
                    sy += yOf(p)
                    chars += labelOf(p).len()
                }
                println("{sx} {sy} {chars}")
                println(Base().describe())
                println(Named("ann").describe())
            }
            """);
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal(70, expected.ExitCode);
        Assert.Equal("200830000 99995000.0 40000\nmade a base\na base\n", expected.Stdout);
        Assert.StartsWith("NullError: field 'name' of 'Named' is read before it is set\n  at nameOf (inline.hl:26)\n  at Named.describe (inline.hl:23)", expected.Stderr);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path]));
        var log = TestSupport.Hlvm(["run", "--engine", "jit", "--jit-log", path]);
        Assert.Matches(@"jit: main: .*; in place: Point\.init, xOf, answer, yOf, labelOf, Base\.describe\n", log.Stderr);
        Assert.Matches(@"jit: Named\.describe: .*; in place: nameOf\n", log.Stderr);
        // describe() has two classes: Base's constant, compiled in place where the class test finds a Base.
        Assert.Matches(@"jit: Base\.init: .*; in place: Base\.describe\n", log.Stderr);
        AssertCallCounts(path, ("20,000", "xOf"), ("20,000", "Point\\.init"));

        string deep = Write("deep.hl", """
            fn leaf() -> int { return 1 }
            fn down(n: int) -> int {
                if n == 0 { return leaf() }
                return 1 + down(n - 1)
            }
            fn main(args: [string]) {
                println(down(args[0].toInt()))
            }
            """);
        // main is frame 0, down(n) frames 1 to n + 1, leaf frame n + 2: within --max-stack 500 for n = 498; for
        // n = 499 the call of leaf is the one too many, raised where down calls it.
        var overflow = TestSupport.Hlvm(["run", "--engine", "interp", "--max-stack", "500", deep, "--", "499"]);
        Assert.Equal(75, overflow.ExitCode);
        Assert.Contains("more than 500 nested calls (--max-stack)\n  at down (deep.hl:3)\n  at down (deep.hl:4)", overflow.Stderr);
        foreach (var engine in Engines)
        {
            var fits = TestSupport.Hlvm(["run", .. engine, "--max-stack", "500", deep, "--", "498"]);
            Assert.True(fits.ExitCode == 0, $"{string.Join(' ', engine)}: {fits.Stderr}");
            Assert.Equal("499\n", fits.Stdout);
            Assert.Equal(overflow, TestSupport.Hlvm(["run", .. engine, "--max-stack", "500", deep, "--", "499"]));
        }
    }

    /// <summary>
    /// An error passing through a recursion of 60,000 compiled frames, each with a handler that does not take it, ends
    /// the run as in the interpreter: uncaught, with the interpreter's trace, or caught by the oldest frame or by
    /// main. Each frame's handler used to throw the error on from inside its .NET catch block, which nests .NET's
    /// dispatch in the one before: the time grew with the square of the depth, and at this depth the host process
    /// died of a .NET stack overflow after 18 s (exit 134), where the interpreter took 0.2 s.
    /// </summary>
    [Fact]
    public void AnErrorPassingThroughDeepCompiledFramesWithHandlersEndsAsInTheInterpreter()
    {
        string path = Write("deep.hl", """
            fn down(n: int, top: int) -> int {
                if n == top {
                    try { return down(n - 1, top) } catch e: DivisionByZeroError { return -7 }
                }
                try {
                    if n == 0 { return 1 / n }
                    return down(n - 1, top) + 1
                } catch e: ValueError {
                    return -1
                }
            }
            fn main(args: [string]) {
                let n = args[0].toInt()
                println(down(n, n))
                try { println(down(n, n + 1)) } catch e: DivisionByZeroError { println("main caught {e.message}") }
                println(down(n, -1))
            }
            """);
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path, "--", "60000"]);
        Assert.Equal(70, expected.ExitCode);
        Assert.Equal("-7\nmain caught integer division by zero\n", expected.Stdout);
        Assert.StartsWith("DivisionByZeroError: integer division by zero\n  at down (deep.hl:6)\n  at down (deep.hl:7)\n", expected.Stderr);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path, "--", "60000"]));
    }

    /// <summary>
    /// A handler found for a frame in the middle of a deep recursion where compiled frames with handlers (down)
    /// and frames the JIT declines (wide, past the 2,500 instructions it compiles) alternate: the handler is
    /// reached past every frame between, whichever engine runs each, and the results are the interpreter's. The
    /// handler found used to be caught and thrown again by every frame with handlers and every interpreted segment
    /// on its way; now each one's exception filter lets it by unless it runs the handler's frame.
    /// </summary>
    [Fact]
    public void AHandlerFoundDeepInFramesOfBothEnginesIsReachedPastTheFramesBetween()
    {
        var source = new System.Text.StringBuilder("""
            fn wide(n: int, at: int) -> int {
                var s = 0
                if n < 0 {

            """);
        for (int i = 0; i < 700; i++) source.Append($"        s = s + n * {i} % 7\n");
        source.Append("""
                }
                return down(n, at) + s
            }
            fn down(n: int, at: int) -> int {
                if n == at {
                    try { return wide(n - 1, at) } catch e: DivisionByZeroError { return -7 }
                }
                try {
                    if n == 0 { return 1 / n }
                    return wide(n - 1, at) + 1
                } catch e: ValueError {
                    return -1
                }
            }
            fn main() {
                println(down(30000, 10000))
                println(down(30000, 1))
                try { println(down(30000, -1)) } catch e: DivisionByZeroError { println("main caught {e.message}") }
            }
            """);
        string path = Write("alternating.hl", source.ToString());
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        // The handler's frame returns -7; each of the frames of down above it adds one.
        Assert.Equal((0, "19993\n29992\nmain caught integer division by zero\n", ""), (expected.ExitCode, expected.Stdout, expected.Stderr));
        var log = TestSupport.Hlvm(["run", "--engine", "jit", "--jit-log", path]);
        Assert.Contains("jit: wide: not compiled (", log.Stderr);
        Assert.Matches(@"jit: down: \d+ instructions ->", log.Stderr);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path]));
    }

    /// <summary>
    /// A call compiled in place needs room for the callee's frame in the value slots, as the call does: a recursion
    /// of frames of 889 locals runs out of the 16,777,216 slots (Interpreter.MaxSlots) at a call of `tiny`, whose
    /// frame, with 886 locals before it, is the one that does not fit. Compiled in place, that call went on, and
    /// the program counted one more call than the interpreter before the next call of `big` failed.
    /// </summary>
    [Fact]
    public void ACallCompiledInPlaceRunsOutOfValueSlotsWhereTheCallDoes()
    {
        var source = new System.Text.StringBuilder("""
            fn tiny(n: int) -> int {
                let a = n
                let b = a
                let c = b
                let d = c
                let e = d
                let f = e
                let g = f
                return g
            }
            fn big(n: int, count: [int]) -> int {

            """);
        for (int i = 0; i < 886; i++) source.Append($"    let _v{i} = 0\n");
        source.Append("""
                let t = tiny(n)
                count[0] += 1
                return big(n + 1, count) + t
            }
            fn main() {
                let count = [0]
                try { big(0, count) } catch e: StackOverflowError { println(e.message) }
                println("calls that got past tiny: {count[0]}")
            }

            """);
        string path = Write("slots.hl", source.ToString());
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal(0, expected.ExitCode);
        Assert.StartsWith($"stack overflow: the frames need more than {Runtime.Execution.Interpreter.MaxSlots} value slots\ncalls that got past tiny: ", expected.Stdout);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path]));
        Assert.Matches(@"jit: big: .*; in place: tiny\n", TestSupport.Hlvm(["run", "--engine", "jit", "--jit-log", path]).Stderr);
    }

    /// <summary>
    /// A call of a function whose start returns on some path (a recursion's base case, a guard) runs that start in
    /// place and makes the call only where the start reaches anything else: a call, an allocation, a store to a
    /// field, a division, a field read before it is set. Every way gives the interpreter's results (computed by
    /// hand below), the call counts are exact whichever way a call went, and a field read before it is set is
    /// still the callee's NullError with the callee in the trace. The stack limit at a base case compiled in place
    /// is TheStackLimitIsReachedAtTheSameDepthInEveryEngine's.
    /// </summary>
    [Fact]
    public void ACallRunsTheCalleesStartInPlaceAndMakesTheCallWhereTheStartGoesOn()
    {
        string path = Write("start.hl", """
            class Node {
                left: Node?
                right: Node?
            }

            class Counter {
                var n: int
            }

            class Base {
                init() { println(describe()) }
                fn describe() -> string { return "a base" }
            }

            class Named : Base {
                name: string
                init(n: string) {
                    super()
                    name = n
                }
                override fn describe() -> string { return greet(self, 1) }
            }

            fn greet(n: Named, k: int) -> string {
                if k > 0 { return n.name }
                return "nobody"
            }

            fn fib(n: int) -> int {
                if n < 2 { return n }
                return fib(n - 1) + fib(n - 2)
            }

            fn make(d: int) -> Node {
                if d == 0 { return Node(null, null) }
                return Node(make(d - 1), make(d - 1))
            }

            fn leaves(t: Node) -> int {
                let l = t.left
                let r = t.right
                if l == null || r == null { return 1 }
                return leaves(l) + leaves(r)
            }

            fn safeDiv(a: int, b: int) -> int {
                if b == 0 { return 0 }
                return a / b
            }

            fn isSmall(n: int) -> bool { return n >= -3 && n <= 3 }

            fn bump(c: Counter, k: int) -> int {
                if k < 0 { return c.n }
                c.n = c.n + k
                return c.n
            }

            fn clamp(x: float) -> float {
                if x < 0.0 { return 0.0 }
                if x > 1.0 || x != x { return 1.0 }
                return x
            }

            fn main(args: [string]) {
                println(fib(22))
                println(leaves(make(8)))
                var s = 0
                for i in -50..50 {
                    s += safeDiv(1000, i)
                    if isSmall(i) { s += 1 }
                }
                println(s)
                let c = Counter(0)
                var b = 0
                for i in -5..5 { b += bump(c, i) }
                println(b)
                var f = 0.0
                for i in -10..30 { f += clamp(i as float / 20.0) }
                println(f)
                println(clamp(0.0 / 0.0))
                if args.len() > 0 { Named(args[0]) }
            }
            """);
        // fib(22); a complete tree of depth 8 has 256 leaves; the sum of 1000 / i truncated over -50..49 but 0 is
        // -20 (the -50 without a +50), plus the seven small i; bump returns 0 five times, then 0, 1, 3, 6, 10; clamp
        // sums 0 ten times, i / 20 for i up to 20 (10.5), 1 nine times; NaN clamps to 1.
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal(0, expected.ExitCode);
        Assert.Equal("17711\n256\n-13\n20\n19.5\n1.0\n", expected.Stdout);
        var unset = TestSupport.Hlvm(["run", "--engine", "interp", path, "--", "ann"]);
        Assert.Equal(70, unset.ExitCode);
        Assert.StartsWith("NullError: field 'name' of 'Named' is read before it is set\n  at greet (start.hl:", unset.Stderr);
        Assert.Contains("\n  at Named.describe (start.hl:", unset.Stderr);
        foreach (var engine in Engines.Skip(1))
        {
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path]));
            Assert.Equal(unset, TestSupport.Hlvm(["run", .. engine, path, "--", "ann"]));
        }
        var log = TestSupport.Hlvm(["run", "--engine", "jit", "--jit-log", path]);
        Assert.Matches(@"jit: fib: .*; in place: fib\n", log.Stderr);
        Assert.Matches(@"jit: leaves: .*; in place: leaves\n", log.Stderr);
        Assert.Matches(@"jit: main: .*; in place: .*\bsafeDiv\b", log.Stderr);
        Assert.Matches(@"jit: main: .*; in place: .*\bisSmall\b", log.Stderr);
        Assert.Matches(@"jit: main: .*; in place: .*\bbump\b", log.Stderr);
        Assert.Matches(@"jit: main: .*; in place: .*\bclamp\b", log.Stderr);
        Assert.Matches(@"jit: Named\.describe: .*; in place: greet\n", log.Stderr);
        // fib(22) makes 2 fib(23) - 1 calls; a tree of depth 8 has 511 nodes; 100 divisions, 10 bumps, 41 clamps.
        AssertCallCounts(path, ("57,313", "fib"), ("511", "leaves"), ("100", "safeDiv"), ("10", "bump"), ("41", "clamp"));
    }

    /// <summary>
    /// A start compiled in place reads strings through the fast paths of <c>string.len</c> and <c>string.at</c>,
    /// and makes the call where one declines: a character whose shared string is not made yet (each one's first
    /// use here), one outside ASCII ("\u{e9}", never shared), an index past the end (the call raises the
    /// IndexError, with its own frame in the trace). The scan prints the text itself, three times; the peek past
    /// the end gives the guard's "<past>"; 4 is the text's length.
    /// </summary>
    [Fact]
    public void AStartInPlaceReadsStringsAndMakesTheCallWhereAReadDeclines()
    {
        string path = Write("peek.hl", """
            class Reader {
                text: string
                var pos: int = 0
                init(t: string) { text = t }
                fn peek() -> string {
                    if pos > text.len() { return "<past>" }
                    return text[pos]
                }
            }

            fn scan(r: Reader) -> string {
                var out = ""
                r.pos = 0
                while r.pos < r.text.len() {
                    out = out + r.peek()
                    r.pos += 1
                }
                return out
            }

            fn main(args: [string]) {
                let r = Reader("a\u{e9}\"b")
                for i in 0..3 { println(scan(r)) }
                r.pos = r.text.len() + 1
                println(r.peek())
                if args.len() > 0 {
                    r.pos = r.text.len()
                    println(r.peek())
                }
            }
            """);
        AssertPrintsInEveryEngineAndUnderGcStress(path, "a\u00e9\"b\na\u00e9\"b\na\u00e9\"b\n<past>\n");
        var past = TestSupport.Hlvm(["run", "--engine", "interp", path, "--", "end"]);
        Assert.Equal(70, past.ExitCode);
        Assert.StartsWith("IndexError: index 4 is out of range for a string of length 4\n  at Reader.peek (peek.hl:7)\n  at main (peek.hl:", past.Stderr);
        foreach (var engine in Engines.Skip(1)) Assert.Equal(past, TestSupport.Hlvm(["run", .. engine, path, "--", "end"]));
        var log = TestSupport.Hlvm(["run", "--engine", "jit", "--jit-log", path]);
        Assert.Matches(@"jit: scan: .*; in place: Reader\.peek\n", log.Stderr);
        Assert.Matches(@"jit: main: .*; in place: .*\bReader\.peek\b", log.Stderr);
        AssertCallCounts(path, ("13", "Reader.peek"));
    }

    /// <summary>
    /// Compiled code joins two strings in place when the heap has room and needs no work (<c>Heap.TryConcat</c>),
    /// and the slow way otherwise: under --gc-stress always (2,000 strings there), and past --max-heap with the
    /// interpreter's OutOfMemoryError. The lengths are worked out by hand: "item " (5), i's digits (1,088,890 in all for 0 to
    /// 199,999), ": " (2), "é" and "x", 200,000 times; "ab" doubled twenty times is 2,097,152 characters, the
    /// operands the same local (whose value must reach the slot the slow path reads).
    /// </summary>
    [Fact]
    public void StringsAreJoinedInPlaceOrTheSlowWayWithTheSameResults()
    {
        string path = Write("concat.hl", """
            fn main(args: [string]) {
                var n = 200000
                if args.len() > 0 { n = args[0].toInt() }
                var total = 0
                var last = ""
                for i in 0..n {
                    let s = "item " + "{i}" + ": " + "\u{e9}" + "x"
                    total += s.len()
                    last = s
                }
                println("{total} {last}")
                var big = "ab"
                for k in 0..20 { big = big + big }
                println(big.len())
            }
            """);
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal((0, "2888890 item 199999: \u00e9x\n2097152\n", ""), (expected.ExitCode, expected.Stdout, expected.Stderr));
        // Under --gc-stress, 2,000 strings: 6,890 digits for 0 to 1,999 and 9 characters more each.
        var stressed = TestSupport.Hlvm(["run", "--engine", "interp", "--gc-stress", "--verify-heap", path, "2000"]);
        Assert.Equal((0, "24890 item 1999: \u00e9x\n2097152\n", ""), (stressed.ExitCode, stressed.Stdout, stressed.Stderr));
        foreach (var engine in Engines.Skip(1))
        {
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path]));
            Assert.Equal(stressed, TestSupport.Hlvm(["run", .. engine, "--gc-stress", "--verify-heap", path, "2000"]));
        }
        var limited = TestSupport.Hlvm(["run", "--engine", "interp", "--max-heap", "3m", path]);
        Assert.Equal(75, limited.ExitCode);
        Assert.Contains("OutOfMemoryError", limited.Stderr);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(limited, TestSupport.Hlvm(["run", .. engine, "--max-heap", "3m", path]));
    }

    /// <summary>
    /// <c>contains</c>, <c>startsWith</c> and <c>endsWith</c> have fast paths that skip the fuel charge their natives
    /// make, so compiled code calls them only without --fuel. Every word of the table against every pattern
    /// (the empty one, characters to escape, a pattern past the short-pattern search's 32 characters, which the
    /// native answers): 1,231 a round by Python's <c>in</c>, <c>startswith</c> and <c>endswith</c>, 3,000 rounds.
    /// The same in every engine; and under --fuel, where the total printed every 20 rounds shows how far each
    /// engine got, the same as the interpreter (it fails when the fast paths run with a fuel budget).
    /// </summary>
    [Fact]
    public void SubstringTestsSkipTheirChargeOnlyWithoutFuel()
    {
        string path = Write("substrings.hl", """
            fn main() {
                let words = ["", "a", "ab\"c", "back\\slash", "line\nbreak", "tab\there", "plain text here", "x"]
                let patterns = ["", "a", "\"", "\\", "\n", "\t", "here", "plain", "abcdefghijklmnopqrstuvwxyz0123456789", "xyz"]
                var hits = 0
                for round in 0..3000 {
                    for w in words {
                        for p in patterns {
                            if w.contains(p) { hits += 1 }
                            if w.startsWith(p) { hits += 10 }
                            if w.endsWith(p) { hits += 100 }
                        }
                    }
                    if round % 20 == 0 { println(hits) }
                }
                println(hits)
            }
            """);
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal(0, expected.ExitCode);
        Assert.EndsWith("\n3693000\n", expected.Stdout);
        Assert.StartsWith("1231\n25851\n", expected.Stdout);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path]));
        foreach (string fuel in new[] { "5000", "300000", "2000000" })
        {
            var metered = TestSupport.Hlvm(["run", "--engine", "interp", "--fuel", fuel, path]);
            Assert.Equal(75, metered.ExitCode);
            Assert.Equal(metered, TestSupport.Hlvm(["run", "--engine", "jit", "--fuel", fuel, path]));
            Assert.Equal(metered, TestSupport.Hlvm(["run", "--engine", "tiered", "--fuel", fuel, path]));
        }
    }

    /// <summary>
    /// A comparison with a short string constant is compiled as a comparison of words with the constant's heap
    /// image. Each word of the table is compared with constants of 0 to 9 characters (the empty string, one word,
    /// exactly four and eight characters, five, and nine, which goes to the interpreter's comparison), non-ASCII
    /// ones, and "abc" on either side; the expected marks are worked out by hand from which constant each word is.
    /// The same in every engine and, where every comparison is the metered interpreter's, under --fuel.
    /// </summary>
    [Fact]
    public void ComparisonsWithShortConstantsCompareTheirWords()
    {
        string path = Write("constants.hl", """
            fn marks(s: string) -> string {
                var r = ""
                if s == "" { r += "0" }
                if s == "a" { r += "1" }
                if s != "ab" { r += "2" } else { r += "-" }
                if s == "abcd" { r += "4" }
                if s == "abcde" { r += "5" }
                if s == "abcdefgh" { r += "8" }
                if s == "abcdefghi" { r += "9" }
                if s == "\u{e9}" { r += "e" }
                if s == "h\u{e9}!" { r += "h" }
                return r
            }

            fn main() {
                let words = ["", "a", "b", "ab", "abc", "abcd", "abce", "abcde", "abcdf", "abcdefgh", "abcdefgx",
                    "abcdefghi", "abcdefghj", "\u{e9}", "e", "h\u{e9}!", "he!"]
                for round in 0..1500 {
                    for w in words { marks(w) }
                }
                for w in words {
                    let left = w == "abc"
                    let right = "abc" == w
                    println("{w}: {marks(w)} {left} {right}")
                }
            }
            """);
        const string marks = """
            : 02 false false
            a: 12 false false
            b: 2 false false
            ab: - false false
            abc: 2 true true
            abcd: 24 false false
            abce: 2 false false
            abcde: 25 false false
            abcdf: 2 false false
            abcdefgh: 28 false false
            abcdefgx: 2 false false
            abcdefghi: 29 false false
            abcdefghj: 2 false false
            é: 2e false false
            e: 2 false false
            hé!: 2h false false
            he!: 2 false false

            """;
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal((0, marks, ""), (expected.ExitCode, expected.Stdout, expected.Stderr));
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path]));
        foreach (string fuel in new[] { "1000", "250000", "10000000" })
        {
            var metered = TestSupport.Hlvm(["run", "--engine", "interp", "--fuel", fuel, path]);
            Assert.Equal(metered, TestSupport.Hlvm(["run", "--engine", "jit", "--fuel", fuel, path]));
            Assert.Equal(metered, TestSupport.Hlvm(["run", "--engine", "tiered", "--jit-threshold", "1", "--jit-sync", "--fuel", fuel, path]));
        }
    }

    /// <summary>
    /// Compiled code answers string equality and <c>s.len()</c>, <c>s[i]</c> without the interpreter where it can,
    /// and makes the native's call where it can't. The first round over "héllo" makes each character's string (no
    /// fast answer yet: the call makes it), the second finds them made, except 'é', which is never shared; the two
    /// rounds must print the same characters. 'l' is at indexes 2 and 3, so two indexes equal it and three differ;
    /// a string built by concatenation equals a constant of the same characters, and strings of equal or different
    /// lengths differ where a character does. An index past the end has no fast answer, and the native raises its
    /// IndexError with the trace through at.
    /// </summary>
    [Fact]
    public void StringFastPathsGiveTheNativesAnswersAndLeaveTheRestToIt()
    {
        string path = Write("strings.hl", """
            fn at(s: string, i: int) -> string { return s[i] }
            fn main(args: [string]) {
                let s = "h\u{e9}llo"
                var out = ""
                for round in 0..2 {
                    for i in 0..s.len() { out = out + at(s, i) + "|" }
                }
                println(out)
                var ls = 0
                for i in 0..s.len() { if at(s, i) == "l" { ls += 1 } }
                var others = 0
                for i in 0..s.len() { if at(s, i) != "l" { others += 1 } }
                println("{ls} {others}")
                let abc = "ab" + "c"
                println("{abc == "abc"} {abc != "abc"} {"abc" == "abd"} {"ab" == "abc"} {"" == ""}")
                println(at(s, args[0].toInt()))
            }
            """);
        foreach (var engine in Engines)
        {
            string name = string.Join(' ', engine);
            var result = TestSupport.Hlvm(["run", .. engine, path, "--", "7"]);
            Assert.True(70 == result.ExitCode, $"{name}: exit {result.ExitCode} {result.Stderr}");
            Assert.Equal("h|\u00e9|l|l|o|h|\u00e9|l|l|o|\n2 3\ntrue false false false true\n", result.Stdout);
            Assert.StartsWith("IndexError: index 7 is out of range for a string of length 5\n  at at (strings.hl:1)\n  at main (strings.hl:16)", result.Stderr);
            var negative = TestSupport.Hlvm(["run", .. engine, path, "--", "-1"]);
            Assert.Contains("IndexError: index -1 is out of range for a string of length 5", negative.Stderr);
        }
    }

    /// <summary>That <c>hlvm prof</c> counts each function's calls as given (a regex of its name), in every engine.</summary>
    /// <summary>
    /// A method that returns an array's length (with arithmetic on it) is compiled in place: 3,000 calls on a
    /// queue of 3 give 9,000 less what the head passed (0, 1 and 2 a third of the time each: 3,000 in all), so
    /// 6,000; the profiler counts the 3,001 calls in every engine; and the call made while the array is not set
    /// yet (from the base class's constructor, also compiled with it in place under --engine jit) is the real call, whose
    /// NullError names the method's own line in the trace.
    /// </summary>
    [Fact]
    public void ArrayLengthsAreReadInPlaceAndAnUnsetArrayMakesTheCall()
    {
        string path = Write("length.hl", """
            class Base {
                init(early: bool) { if early { println(size()) } }
                fn size() -> int { return 0 }
            }

            class Queue : Base {
                items: [int]
                var head: int = 0
                init(xs: [int], early: bool) {
                    super(early)
                    items = xs
                }
                override fn size() -> int { return items.len() - head }
            }

            fn main() {
                let q = Queue([1, 2, 3], false)
                var total = 0
                for i in 0..3000 {
                    q.head = i % 3
                    total += q.size()
                }
                println(total)
                Queue([1], true)
            }
            """);
        var expected = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal(70, expected.ExitCode);
        Assert.Equal("6000\n", expected.Stdout);
        Assert.Equal("NullError: field 'items' of 'Queue' is read before it is set\n  at Queue.size (length.hl:13)\n  at Base.init (length.hl:2)\n  at Queue.init (length.hl:10)\n  at main (length.hl:24)\n", expected.Stderr);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(expected, TestSupport.Hlvm(["run", .. engine, path]));
        var log = TestSupport.Hlvm(["run", "--engine", "jit", "--jit-log", path]);
        Assert.Matches(@"jit: main: .*; in place: .*Queue\.size", log.Stderr);
        Assert.Matches(@"jit: Base\.init: .*; in place: Base\.size, Queue\.size\n", log.Stderr);
        AssertCallCounts(path, ("3,001", "Queue\\.size"));
    }

    /// <summary>
    /// On-stack replacement enters a loop whose test changes nothing at the loop's header (an && of two
    /// comparisons included), and runs the test again there; a test with an effect (a call that counts, after an
    /// &&) is entered at the loop's first instruction, as before, and runs once a turn. Each loop is in a function called once, so that under a threshold of 3 it moves to compiled
    /// code in its middle. The results are worked out by hand in Python: below's 26 calls (k = 0, 2, ... 50) and k
    /// = 50; the nested sum, 408720; x = 44.0. With the test's effect run again, the count is 27 in the tiered
    /// engines. A profile at a high rate takes many polls, whose way back into the loop is the same entry.
    /// </summary>
    [Fact]
    public void LoopsAreEnteredAtTheirHeaderOnlyWhenTheirTestHasNoEffect()
    {
        string path = Write("header.hl", """
            class Count { var n: int = 0 }

            fn below(c: Count, k: int, n: int) -> bool {
                c.n += 1
                return k < n
            }

            fn counted() -> int {
                let c = Count()
                var k = 0
                while k < 1000 && below(c, k, 50) { k += 2 }
                return c.n * 1000 + k
            }

            fn nested(n: int) -> int {
                var total = 0
                var i = 0
                while i < n {
                    var j = i
                    while j < 3 * n { total = (total + j * i) % 1000003; j += 3 }
                    i += 1
                }
                return total
            }

            fn floats(n: int) -> float {
                var x = 0.0
                var y = 1.0
                while x < 1000.0 && x * y < (n as float) {
                    x += 0.5
                    y = y + 0.25
                }
                return x
            }

            fn main() {
                println(counted())
                println(nested(2000))
                println(floats(1000))
            }
            """);
        const string expected = "26050\n408720\n44.0\n";
        foreach (var engine in Engines)
        {
            var result = TestSupport.Hlvm(["run", .. engine, path]);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Equal(expected, result.Stdout);
        }
        var profiled = TestSupport.Hlvm("prof", "--engine", "tiered", "--jit-threshold", "3", "--jit-sync", "--rate", "10000", path);
        Assert.True(profiled.ExitCode == 0, profiled.Stderr);
        Assert.Equal(expected, profiled.Stdout);
        Assert.Contains("3 entries into compiled loops", profiled.Stderr);
    }

    /// <summary>
    /// A function .NET compiles without optimising (past one of RyuJIT's limits: 130 allocations with their
    /// constructors in place and the reads of their fields, 2,354 instructions and 84 KB of CIL, which
    /// <c>DOTNET_JitDisasmSummary=1</c> showed compiled "switched MinOpts"; docs/jit.md, "Limits") gives the
    /// interpreter's output, error and trace in every engine, and under GC stress, where every allocation collects
    /// and the references the code holds must follow their objects.
    /// </summary>
    [Fact]
    public void AFunctionDotnetWillNotOptimiseGivesTheInterpretersResults()
    {
        var source = new System.Text.StringBuilder("""
            class P {
                x: int
                name: string
            }
            fn big(i: int, tag: string) -> int {
                var s = 0
                var last = P(0, tag)

            """);
        for (int k = 0; k < 130; k++)
            source.Append($"    last = P(i + {k}, last.name)\n    s += last.x + last.name.len()\n");
        source.Append("""
                return s / (150 - i)
            }
            fn main() {
                var t = 0
                for i in 0..200 { t += big(i, "ab") }
                println(t)
            }
            """);
        string path = Write("unoptimised.hl", source.ToString());
        var log = TestSupport.Hlvm("run", "--engine", "jit", "--jit-log", path);
        var cil = System.Text.RegularExpressions.Regex.Match(log.Stderr, @"jit: big: (\d+) instructions -> (\d+) bytes of CIL");
        Assert.True(cil.Success, log.Stderr);
        Assert.True(int.Parse(cil.Groups[2].Value) > 41_192, $"big is {cil.Groups[2].Value} bytes of CIL, no larger than the smallest measured unoptimised");
        var interpreted = TestSupport.Hlvm("run", "--engine", "interp", path);
        Assert.Equal(70, interpreted.ExitCode);
        Assert.Contains("DivisionByZeroError", interpreted.Stderr);
        Assert.Contains("big (unoptimised.hl:", interpreted.Stderr);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(interpreted, TestSupport.Hlvm(["run", .. engine, path]));
        var stressed = TestSupport.Hlvm("run", "--engine", "interp", "--gc-stress", "--verify-heap", path);
        Assert.Equal(interpreted, stressed);
        Assert.Equal(interpreted, TestSupport.Hlvm("run", "--engine", "jit", "--gc-stress", "--verify-heap", path));
    }

    /// <summary>
    /// A function whose CIL would pass its bound (<see cref="Jit.CilEmitter.MaxCil"/>) stays interpreted and gives
    /// the interpreter's result: here 400 calls through an interface of 8 classes, each class's body compiled in
    /// place at every call, which made 1.75 KB of CIL a call and seconds of .NET's compile before the bound.
    /// </summary>
    [Fact]
    public void AFunctionWhoseCilWouldPassItsBoundStaysInterpreted()
    {
        var source = new System.Text.StringBuilder("interface I { fn f(x: int) -> int }\n");
        for (int c = 0; c < 8; c++)
            source.Append($"class C{c} : I {{\n    a: int\n    fn f(x: int) -> int {{ return (x * {c + 3} + a) ^ {c} }}\n}}\n");
        source.Append("fn big(o: I, s0: int) -> int {\n    var s = s0\n");
        for (int k = 0; k < 400; k++) source.Append("    s = o.f(s)\n");
        source.Append("    return s\n}\nfn main() {\n    let os: [I] = [C0(1), C1(2), C2(3), C3(4), C4(5), C5(6), C6(7), C7(8)]\n");
        source.Append("    var t = 0\n    for r in 0..40 {\n        for o in os { t += o.f(r) }\n        t += big(os[r % 8], r)\n    }\n    println(t)\n}\n");
        string path = Write("amplified.hl", source.ToString());
        var interpreted = TestSupport.Hlvm("run", "--engine", "interp", path);
        Assert.True(interpreted.ExitCode == 0, interpreted.Stderr);
        // (Under --engine jit every class's body is compiled in place: tiering leaves out the classes whose method
        // has not run when the call is compiled.)
        var log = TestSupport.Hlvm("run", "--engine", "jit", "--jit-log", path);
        Assert.Equal(interpreted.Stdout, log.Stdout);
        Assert.Matches(@"jit: big: not compiled \(its CIL passed \d+ bytes\)\n", log.Stderr);
        Assert.Matches(@"jit: C7.f: \d+ instructions -> ", log.Stderr); // the rest compiles
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(interpreted, TestSupport.Hlvm(["run", .. engine, path]));
    }

    /// <summary>
    /// A batch past its bound of CIL (<see cref="Jit.CilCompiler.MaxBatchCil"/>) leaves out its last callees, here
    /// the 8 classes' bodies that 240 callees call through an interface. Without them the callees' calls go through
    /// the interpreter's entry, and each callee passes its own bound of CIL. They are left out of the batch in turn,
    /// not declined, and compiled in batches of their own once they are hot. Until 2026-12-06 such callees were
    /// declined for good, and a batch failed after two attempts: main and 193 callees stayed interpreted.
    /// </summary>
    [Fact]
    public void CalleesTooLargeOnlyInAnotherFunctionsBatchAreCompiledInTheirOwn()
    {
        var source = new System.Text.StringBuilder("interface I {\n    fn f() -> int\n}\n");
        for (int c = 0; c < 8; c++)
            source.Append($"class C{c} : I {{\n    var a: int = {c}\n    var b: int = {2 * c}\n    fn f() -> int {{ return a * b + a - b }}\n}}\n");
        for (int g = 0; g < 240; g++)
            source.Append($"fn g{g}(x: I, d: int) -> int {{\n    var t = x.f()\n    t += x.f()\n    t += x.f()\n    if d == {g} {{ t += 1000 / (d - {g}) }}\n    return t\n}}\n");
        source.Append("fn all(x: I, d: int) -> int {\n    return ").AppendJoin(" + ", Enumerable.Range(0, 240).Select(g => $"g{g}(x, d)")).Append("\n}\n");
        source.Append("""
            fn main(args: [string]) {
                let xs: [I] = [C0(), C1(), C2(), C3(), C4(), C5(), C6(), C7()]
                var t = 0
                for r in 0..4 {
                    for x in xs { t += all(x, -1) }
                }
                println(t)
                println(all(xs[3], args[0].toInt()))
            }

            """);
        string path = Write("batch.hl", source.ToString());
        var interpreted = TestSupport.Hlvm("run", "--engine", "interp", path, "--", "77");
        Assert.Equal(70, interpreted.ExitCode);
        Assert.StartsWith("DivisionByZeroError: integer division by zero\n  at g77 (batch.hl:", interpreted.Stderr);
        var log = TestSupport.Hlvm("run", "--engine", "jit", "--jit-log", path, "--", "77");
        Assert.Equal(interpreted.Stdout, log.Stdout);
        Assert.DoesNotContain("not compiled", log.Stderr);
        Assert.Matches(@"jit: main: \d+ instructions -> ", log.Stderr);
        Assert.Equal(240, System.Text.RegularExpressions.Regex.Matches(log.Stderr, @"jit: g\d+: \d+ instructions -> ").Count);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(interpreted, TestSupport.Hlvm(["run", .. engine, path, "--", "77"]));
    }

    /// <summary>
    /// A run that ends takes its compiles with it: what the JIT's thread has not begun of its batches is dropped
    /// (it compiled on for seconds after an isolate's timeout), nothing more is compiled for it, and once the
    /// thread is idle nothing of the run (its module, its compiled code) stays reachable from the compiler or the
    /// thread, which a host that runs isolates one after another keeps for its whole life.
    /// </summary>
    [Fact]
    public void ARunThatEndsDropsItsCompilesAndLeavesNothingBehind()
    {
        var compiler = new Jit.CilCompiler { Background = true };
        using var held = new ManualResetEventSlim(false);
        using var holding = new ManualResetEventSlim(false);
        int seen = 0;
        WeakReference module;
        using (new Hooks(beforeCompile: (f, _) =>
        {
            if (!f.Name.StartsWith("dropped", StringComparison.Ordinal)) return;
            if (Interlocked.Increment(ref seen) == 1)
            {
                holding.Set();
                held.Wait(TimeSpan.FromSeconds(30));
            }
        }, release: held))
        {
            module = QueueThenEnd(compiler, holding, held);
        }
        // The batch's first function was being compiled when the run ended; the rest were dropped.
        Assert.Equal(1, seen);
        for (int i = 0; i < 50 && module.IsAlive; i++)
        {
            Thread.Sleep(20);
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(module.IsAlive, "the module of a run that ended is still reachable");
        GC.KeepAlive(compiler);
    }

    /// <summary>Queues the batch of `dropped` (and its callees) on the JIT's thread, ends the run while the thread
    /// holds the batch's first compile, lets it go, and checks what came of the batch; a weak reference to the module.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference QueueThenEnd(Jit.CilCompiler compiler, ManualResetEventSlim holding, ManualResetEventSlim held)
    {
        var (loaded, Named) = Attached("ends.hl", """
            fn dropped3(x: int) -> int { return x * 3 }
            fn dropped2(x: int) -> int { return dropped3(x) + 2 }
            fn dropped(x: int) -> int { return dropped2(x) + 1 }
            fn later(x: int) -> int { return x }
            fn main() { println(dropped(1) + later(1)) }
            """);
        compiler.Begin(loaded, metered: false, profiled: false);
        compiler.Compile(loaded, Named("dropped"), "test");
        Assert.True(holding.Wait(TimeSpan.FromSeconds(30)), "the JIT's thread never started the batch");
        compiler.End(loaded);
        held.Set();
        LoadedFunction[] batch = [Named("dropped"), Named("dropped2"), Named("dropped3")];
        SpinWait.SpinUntil(() => batch.All(f => !f.Compiling), TimeSpan.FromSeconds(30));
        Thread.Sleep(100);
        Assert.All(batch, f => Assert.False(f.Compiling));
        // A batch's code is given out whole, once all of it is compiled: the compile that had begun (dropped3's)
        // gives it none either.
        Assert.All(batch, f => Assert.Null(f.Compiled));
        // Nothing more is compiled for the run.
        int compiled = compiler.Compiled;
        compiler.Compile(loaded, Named("later"), "test");
        Assert.Equal(compiled, compiler.Compiled);
        Assert.Null(Named("later").Compiled);
        return new WeakReference(loaded);
    }

    /// <summary>The VM ends its run's compiles however the run ends: after `RunMain`, the compiler compiles nothing
    /// more of the module (here after the program's uncaught error).</summary>
    [Fact]
    public void TheVmEndsItsRunsCompiles()
    {
        var module = Compilation.Compile("ended.hl", """
            fn unused() -> int { return 1 }
            fn main() {
                let xs = [1]
                println(xs[2])
            }
            """).Module!;
        var compiler = new Jit.CilCompiler();
        var vm = new Vm(new VmOptions { Out = TextWriter.Null, Execution = new ExecutionOptions { Compiler = compiler, JitThreshold = 0 } });
        var loaded = vm.Load(module);
        Assert.Throws<VmError>(() => vm.RunMain(loaded, []));
        var unused = loaded.Functions.Single(f => f.Name == "unused");
        Assert.Null(unused.Compiled);
        int compiled = compiler.Compiled;
        Assert.True(compiled > 0);
        compiler.Compile(loaded, unused, "test");
        Assert.Equal(compiled, compiler.Compiled);
        Assert.Null(unused.Compiled);
    }

    /// <summary>
    /// A compiler whose run is over (<c>hlvm run</c> and <c>hlvm bench</c> abandon it when the isolate ends) compiles
    /// nothing more and queues nothing for the JIT's thread: a function that becomes hot afterwards stays
    /// interpreted, and is not counted toward compiling again.
    /// </summary>
    [Fact]
    public void AnAbandonedCompilerCompilesNothingMore()
    {
        var module = Compilation.Compile("sq.hl", """
            fn sq(x: int) -> int { return x * x }
            fn main() { println(sq(3)) }
            """).Module!;
        var heap = new Heap();
        var loaded = Runtime.Verification.Verifier.Verify(module, Runtime.Natives.NativeTable.All);
        loaded.Attach(heap);
        var sq = loaded.Functions.Single(f => f.Name == "sq");
        var compiler = new Jit.CilCompiler { Background = true };
        compiler.Abandon();
        var interpreter = new Interpreter(loaded, heap, TextWriter.Null, new ExecutionOptions { Compiler = compiler, JitThreshold = 1 });
        Assert.Equal(49, interpreter.Run(sq, 7));
        Assert.Null(sq.Compiled);
        Assert.False(sq.Compiling);
        Assert.True(sq.NotCompiled);
        Assert.Equal(0, compiler.Compiled);
    }

    /// <summary>
    /// The JIT's thread compiles the newest batch first, one function at a time: a function that becomes hot while
    /// an older batch compiles is what the program runs now. Batch A (`a` and its callees `a2`, `a3`, compiled
    /// from the last) is held in its first compile while batch B (`b`) is queued; B's function comes next, then the
    /// rest of A. Fails when batches are compiled in the order they came.
    /// </summary>
    [Fact]
    public void AFunctionThatBecomesHotWhileABatchCompilesIsCompiledBeforeTheRestOfIt()
    {
        var (loaded, Named) = Attached("order.hl", """
            fn a3(x: int) -> int { var s = 0; for i in 0..x { s += i } return s }
            fn a2(x: int) -> int { var s = 0; for i in 0..x { s += a3(i) } return s }
            fn a(x: int) -> int { var s = 0; for i in 0..x { s += a2(i) } return s }
            fn b(x: int) -> int { var s = 1; for i in 0..x { s *= 3 } return s }
            fn main() { println(a(3) + b(3)) }
            """);
        var ours = new HashSet<LoadedFunction> { Named("a"), Named("a2"), Named("a3"), Named("b") };
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var held = new ManualResetEventSlim(false);
        using var holding = new ManualResetEventSlim(false);
        using (new Hooks(beforeCompile: (f, _) =>
        {
            if (!ours.Contains(f)) return;
            order.Enqueue(f.Name);
            if (f.Name == "a3")
            {
                holding.Set();
                held.Wait(TimeSpan.FromSeconds(30));
            }
        }, release: held))
        {
            var compiler = new Jit.CilCompiler { Background = true };
            compiler.Compile(loaded, Named("a"), "test");
            Assert.True(holding.Wait(TimeSpan.FromSeconds(30)), "the JIT's thread never started batch A");
            compiler.Compile(loaded, Named("b"), "test");
            held.Set();
            SpinWait.SpinUntil(() => ours.All(f => f.Compiled is not null), TimeSpan.FromSeconds(30));
            Assert.All(ours, f => Assert.NotNull(f.Compiled));
            Assert.Equal(["a3", "b", "a2", "a"], order.ToArray());
        }
    }

    /// <summary>
    /// Runs take turns on the JIT's thread, the one served longest ago first; within a run, its newest batch comes
    /// first. Run X's batch A (`a`, `a2`, `a3`, compiled from the last) is held in its first compile while run Y
    /// (the same program loaded again: another module, another run) queues batch C (`c`, `c2`) and then X queues
    /// batch B (`b`). Y has not been served, so C's first function comes next, then X's newest (B), then Y's rest,
    /// then X's. Fails when the newest batch of the process always comes first (B, all of C, then A's rest: a run
    /// that keeps making functions hot would hold back every other run's compiles).
    /// </summary>
    [Fact]
    public void RunsTakeTurnsOnTheJitsThread()
    {
        var module = Compilation.Compile("turns.hl", """
            fn a3(x: int) -> int { var s = 0; for i in 0..x { s += i } return s }
            fn a2(x: int) -> int { var s = 0; for i in 0..x { s += a3(i) } return s }
            fn a(x: int) -> int { var s = 0; for i in 0..x { s += a2(i) } return s }
            fn b(x: int) -> int { var s = 1; for i in 0..x { s *= 3 } return s }
            fn c2(x: int) -> int { var s = 2; for i in 0..x { s *= 5 } return s }
            fn c(x: int) -> int { var s = 0; for i in 0..x { s += c2(i) } return s }
            fn main() { println(a(3) + b(3) + c(3)) }
            """).Module!;
        LoadedModule Load()
        {
            var loaded = Runtime.Verification.Verifier.Verify(module, Runtime.Natives.NativeTable.All);
            loaded.Attach(new Heap());
            return loaded;
        }
        var (x, y) = (Load(), Load());
        LoadedFunction Named(LoadedModule m, string name) => m.Functions.Single(f => f.Name == name);
        var ours = new Dictionary<LoadedFunction, string>
        {
            [Named(x, "a")] = "X.a", [Named(x, "a2")] = "X.a2", [Named(x, "a3")] = "X.a3", [Named(x, "b")] = "X.b",
            [Named(y, "c")] = "Y.c", [Named(y, "c2")] = "Y.c2",
        };
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var held = new ManualResetEventSlim(false);
        using var holding = new ManualResetEventSlim(false);
        using (new Hooks(beforeCompile: (f, _) =>
        {
            if (!ours.TryGetValue(f, out var name)) return;
            order.Enqueue(name);
            if (name == "X.a3")
            {
                holding.Set();
                held.Wait(TimeSpan.FromSeconds(30));
            }
        }, release: held))
        {
            var compiler = new Jit.CilCompiler { Background = true };
            compiler.Compile(x, Named(x, "a"), "test");
            Assert.True(holding.Wait(TimeSpan.FromSeconds(30)), "the JIT's thread never started batch A");
            compiler.Compile(y, Named(y, "c"), "test");
            compiler.Compile(x, Named(x, "b"), "test");
            held.Set();
            SpinWait.SpinUntil(() => ours.Keys.All(f => f.Compiled is not null), TimeSpan.FromSeconds(30));
            Assert.All(ours.Keys, f => Assert.NotNull(f.Compiled));
            Assert.Equal(["X.a3", "Y.c2", "X.b", "Y.c", "X.a2", "X.a"], order.ToArray());
        }
    }

    /// <summary>
    /// A run that arrives counts as served when it arrives: it waits for the runs served before that, and goes before
    /// the run served last. Run X's batch A (`a`, `a2`, `a3`) is held at its first compile while run Y queues batch C
    /// (`c`, `c2`); Y, arrived after X's turn, comes next, and is held in its turn while run Z queues batch D (`d`).
    /// X, served before Z came, goes first, then Z, then Y and X by turns. Fails when a run not yet served goes before
    /// every other (Z before X's `a2`): a host starting isolates faster than a function compiles then kept its older
    /// isolates interpreted for as long as new ones came.
    /// </summary>
    [Fact]
    public void ARunArrivingWaitsForTheRunsServedBeforeIt()
    {
        const string Source = """
            fn a3(x: int) -> int { var s = 0; for i in 0..x { s += i } return s }
            fn a2(x: int) -> int { var s = 0; for i in 0..x { s += a3(i) } return s }
            fn a(x: int) -> int { var s = 0; for i in 0..x { s += a2(i) } return s }
            fn c2(x: int) -> int { var s = 2; for i in 0..x { s *= 5 } return s }
            fn c(x: int) -> int { var s = 0; for i in 0..x { s += c2(i) } return s }
            fn d(x: int) -> int { var s = 1; for i in 0..x { s *= 3 } return s }
            fn main() { println(a(3) + c(3) + d(3)) }
            """;
        // Three runs: the program loaded three times (three modules).
        var ((x, inX), (y, inY), (z, inZ)) = (Attached("arrivals.hl", Source), Attached("arrivals.hl", Source), Attached("arrivals.hl", Source));
        var ours = new Dictionary<LoadedFunction, string>
        {
            [inX("a")] = "X.a", [inX("a2")] = "X.a2", [inX("a3")] = "X.a3",
            [inY("c")] = "Y.c", [inY("c2")] = "Y.c2", [inZ("d")] = "Z.d",
        };
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var heldX = new ManualResetEventSlim(false);
        using var holdingX = new ManualResetEventSlim(false);
        using var heldY = new ManualResetEventSlim(false);
        using var holdingY = new ManualResetEventSlim(false);
        using (new Hooks(beforeCompile: (f, _) =>
        {
            if (!ours.TryGetValue(f, out var name)) return;
            order.Enqueue(name);
            var (holding, held) = name switch { "X.a3" => (holdingX, heldX), "Y.c2" => (holdingY, heldY), _ => (null, null) };
            holding?.Set();
            held?.Wait(TimeSpan.FromSeconds(30));
        }, release: [heldX, heldY]))
        {
            var compiler = new Jit.CilCompiler { Background = true };
            compiler.Compile(x, inX("a"), "test");
            Assert.True(holdingX.Wait(TimeSpan.FromSeconds(30)), "the JIT's thread never started batch A");
            compiler.Compile(y, inY("c"), "test");
            heldX.Set();
            Assert.True(holdingY.Wait(TimeSpan.FromSeconds(30)), "the JIT's thread never started batch C");
            compiler.Compile(z, inZ("d"), "test");
            heldY.Set();
            SpinWait.SpinUntil(() => ours.Keys.All(f => f.Compiled is not null), TimeSpan.FromSeconds(30));
            Assert.All(ours.Keys, f => Assert.NotNull(f.Compiled));
            Assert.Equal(["X.a3", "Y.c2", "X.a2", "Z.d", "Y.c", "X.a"], order.ToArray());
        }
    }

    /// <summary>
    /// The JIT's thread says what .NET's compile of each function took (<c>CompileRecord.MachineCode</c>, which
    /// `hlvm prof` and `--jit-log` report) before any function of the batch gets its code, and gives the batch its
    /// code whole, once all of it is compiled: a function given its code early could call one .NET has not
    /// compiled, which fails at the call when .NET refuses it. Fails when a time is recorded after the code is
    /// given out, or when code is given out before the batch's last compile.
    /// </summary>
    [Fact]
    public void EachFunctionCompiledOnTheJitsThreadHasItsMachineCodeTime()
    {
        var (loaded, Named) = Attached("times.hl", """
            fn leaf(x: int) -> int { var s = 0; for i in 0..x { s += i * i } return s }
            fn middle(x: int) -> int { var s = 0; for i in 0..x { s += leaf(i) } return s }
            fn top(x: int) -> int { var s = 0; for i in 0..x { s += middle(i) } return s }
            fn main() { println(top(3)) }
            """);
        var compiler = new Jit.CilCompiler { Background = true };
        var batch = new[] { Named("top"), Named("middle"), Named("leaf") };
        // The batch compiles from its last function to the first: leaf, middle, top.
        var order = new List<string>();
        bool codeBeforeTheEnd = false, leafTimedBeforeMiddle = false;
        using (new Hooks(beforeCompile: (f, body) =>
        {
            if (!batch.Contains(f)) return;
            order.Add(f.Name);
            codeBeforeTheEnd |= batch.Any(g => g.Compiled is not null);
            if (f == Named("middle")) leafTimedBeforeMiddle = compiler.Records.Single(r => r.Function == "leaf").MachineCode.Took is not null;
        }))
        {
            compiler.Compile(loaded, Named("top"), "test");
            SpinWait.SpinUntil(() => batch.All(f => f.Compiled is not null), TimeSpan.FromSeconds(30));
            Assert.All(batch, f => Assert.NotNull(f.Compiled));
        }
        Assert.Equal(["leaf", "middle", "top"], order);
        Assert.False(codeBeforeTheEnd, "a function of the batch had its code before the batch's last compile");
        Assert.True(leafTimedBeforeMiddle, "leaf's time was not recorded when its compile ended");
        Assert.Equal(["top", "middle", "leaf"], compiler.Records.Select(r => r.Function).ToArray());
        var times = compiler.Records.ToDictionary(r => r.Function, r => r.MachineCode.Took);
        Assert.All(times.Values, t => Assert.True(t > TimeSpan.Zero, $"{t}"));
        // The thread's total has the functions' entry stubs besides their methods.
        Assert.True(compiler.JitThreadTime >= times["leaf"]!.Value + times["middle"]!.Value + times["top"]!.Value);
    }

    /// <summary>
    /// A method .NET refuses to compile (a bug of the emitter's; here one made on purpose) never runs: its function
    /// stays interpreted, the rest of its batch is compiled without it, the program's results are the interpreter's,
    /// and the log says why. Before, the JIT's thread swallowed the refusal and gave the code out, and the program
    /// ended in an internal error at the first call, in the middle of the compiled caller.
    /// </summary>
    [Fact]
    public void AMethodDotnetRefusesLeavesItsFunctionInterpreted()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hlvm-refused-{Guid.NewGuid():N}.hl");
        File.WriteAllText(path, """
            fn refused(x: int) -> int { var s = 0; for i in 0..x { s += i % 7 } return s }
            fn caller(x: int) -> int { return refused(x) + 1 }
            fn main() {
                var total = 0
                for i in 0..3000 { total += caller(i % 50) }
                println(total)
            }
            """);
        long expected = Enumerable.Range(0, 3000).Sum(i => Enumerable.Range(0, i % 50).Sum(j => (long)(j % 7)) + 1);
        try
        {
            using var hooks = new Hooks(emitInvalidFor: f => f.Name == "refused");
            foreach (var engine in Engines)
            {
                bool compiles = engine[1] != "interp";
                var result = TestSupport.Hlvm(["run", .. engine, .. (compiles ? (string[])["--jit-log"] : []), path]);
                string said = string.Join(' ', engine);
                Assert.True(result.ExitCode == 0, $"{said}: {result.Stderr}");
                Assert.Equal($"{expected}\n", result.Stdout);
                // On the JIT's thread (the last engine), shared with the other tests' runs, the run may end before
                // the thread reaches its batch: then nothing is refused, and nothing is said
                // (ABatchThatReachesARefusedMethodGetsNoCode checks that thread's refusals).
                if (!compiles || !engine.Contains("--jit-sync") && engine[1] != "jit") continue;
                Assert.Contains("jit: refused: not compiled (.NET refused its CIL: InvalidProgramException: ", result.Stderr);
                Assert.Single(System.Text.RegularExpressions.Regex.Matches(result.Stderr, "jit: refused: not compiled"));
                Assert.Matches(@"jit: caller: \d+ instructions -> ", result.Stderr);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// On the JIT's thread, a batch gets its code only once .NET has compiled every method its code reaches by
    /// direct calls, those of older batches too. Here `b`'s batch is emitted while `a`'s waits on the thread, so
    /// `b` calls `a`'s method directly, which calls `refused`'s: .NET refuses that one, and neither batch gets
    /// code (given the first method it called alone, `b` ran `a`'s code into the refused call). Compiled again,
    /// `a` and `b` get code that calls `refused` through the interpreter.
    /// </summary>
    [Fact]
    public void ABatchThatReachesARefusedMethodGetsNoCode()
    {
        var (loaded, Named) = Attached("reach.hl", """
            fn refused(x: int) -> int { var s = 0; for i in 0..x { s += i } return s }
            fn a(x: int) -> int { return refused(x) * 2 }
            fn b(x: int) -> int { var s = 0; for i in 0..x { s += a(i) } return s }
            fn main() { println(b(3)) }
            """);
        using var held = new ManualResetEventSlim(false);
        using var holding = new ManualResetEventSlim(false);
        var compiler = new Jit.CilCompiler { Background = true };
        using var hooks = new Hooks(emitInvalidFor: f => f == Named("refused"), beforeCompile: (f, _) =>
        {
            if (f != Named("refused")) return;
            holding.Set();
            held.Wait(TimeSpan.FromSeconds(30));
        }, release: held);
        compiler.Compile(loaded, Named("a"), "test");
        Assert.True(holding.Wait(TimeSpan.FromSeconds(30)), "the JIT's thread never started a's batch");
        compiler.Compile(loaded, Named("b"), "test");
        held.Set();
        LoadedFunction[] ours = [Named("a"), Named("b"), Named("refused")];
        SpinWait.SpinUntil(() => ours.All(f => !f.Compiling), TimeSpan.FromSeconds(30));
        Assert.All(ours, f => Assert.False(f.Compiling));
        Assert.All(ours, f => Assert.Null(f.Compiled));
        Assert.True(Named("refused").NotCompiled);
        Assert.False(Named("a").NotCompiled);
        Assert.False(Named("b").NotCompiled);
        string failure = Assert.Single(compiler.Failures);
        Assert.StartsWith("refused: .NET refused its CIL: InvalidProgramException", failure);

        compiler.Compile(loaded, Named("b"), "test");
        SpinWait.SpinUntil(() => Named("a").Compiled is not null && Named("b").Compiled is not null, TimeSpan.FromSeconds(30));
        Assert.NotNull(Named("a").Compiled);
        Assert.NotNull(Named("b").Compiled);
        Assert.Null(Named("refused").Compiled);
        Assert.Single(compiler.Failures);
    }

    /// <summary>
    /// After a refusal, no batch calls directly a method that reaches the refused one, though that method's own
    /// batch has not had its turn yet. Here `b`'s batch calls `a`'s method, which calls `refused`'s, and is refused
    /// at its first turn (newest first); `b` becomes hot again and is compiled again before `a`'s batch has its turn
    /// (done from the hook at that turn's start). Calling `a`'s waiting method directly again, the new batch was
    /// refused as well, and so on for as long as the program ran and `a`'s batch waited behind the newer ones.
    /// </summary>
    [Fact]
    public void ABatchCompiledAgainAfterARefusalDoesNotCallWhatReachesTheRefusedMethod()
    {
        var (loaded, Named) = Attached("again.hl", """
            fn refused(x: int) -> int { var s = 0; for i in 0..x { s += i } return s }
            fn a(x: int) -> int { return refused(x) * 2 }
            fn b(x: int) -> int { var s = 0; for i in 0..x { s += a(i) } return s }
            fn held(x: int) -> int { return x + 1 }
            fn main() { println(b(3) + held(1)) }
            """);
        using var held = new ManualResetEventSlim(false);
        using var holding = new ManualResetEventSlim(false);
        var compiler = new Jit.CilCompiler { Background = true };
        bool again = false, bWasRefused = false;
        using var hooks = new Hooks(emitInvalidFor: f => f == Named("refused"), beforeCompile: (f, _) =>
        {
            if (f == Named("held"))
            {
                holding.Set();
                held.Wait(TimeSpan.FromSeconds(30));
            }
            else if (f == Named("refused") && !again)
            {
                // a's batch's turn: b's batch was refused before it. b is hot again.
                again = true;
                bWasRefused = Named("b").Compiled is null && !Named("b").Compiling;
                compiler.Compile(loaded, Named("b"), "test");
            }
        }, release: held);
        // The thread is held while a's batch and then b's are queued behind held's.
        compiler.Compile(loaded, Named("held"), "test");
        Assert.True(holding.Wait(TimeSpan.FromSeconds(30)), "the JIT's thread never started held's batch");
        compiler.Compile(loaded, Named("a"), "test");
        compiler.Compile(loaded, Named("b"), "test");
        held.Set();
        SpinWait.SpinUntil(() => Named("b").Compiled is not null && !Named("a").Compiling && Named("held").Compiled is not null, TimeSpan.FromSeconds(30));
        Assert.True(again, "a's batch never had its turn");
        Assert.True(bWasRefused, "b's first batch was not refused before a's batch had its turn");
        Assert.NotNull(Named("b").Compiled);
        Assert.True(Named("refused").NotCompiled);
        Assert.Single(compiler.Failures);
    }

    /// <summary>
    /// `hlvm prof` says how the samples divide between the engines, and how many were taken in functions waiting
    /// for their machine code. The JIT's thread is held in its next compile for the whole run (whatever it compiles:
    /// held only in the hot callee's, it let `main`, hot by its loop, run compiled with the callee in place whenever
    /// it was busy with other tests' compiles and came to `main`'s newer batch first), so the program runs interpreted
    /// throughout, in functions being compiled: no sample in compiled code, and nearly all of them waiting (all but
    /// those of the first thousand turns, before anything was hot). With `--jit-sync`
    /// nothing waits, and the interpreter alone compiles nothing, so it has no such line. Fails when the waiting
    /// samples are not counted.
    /// </summary>
    [Fact]
    public void TheProfileSaysHowLongHotCodeWaitedForItsMachineCode()
    {
        string path = Write("waits.hl", """
            fn waitsForItsCode(x: int) -> int { return (x * 7 + 3) % 1000003 }
            fn main() {
                var x = 1
                for _i in 0..1500000 { x = waitsForItsCode(x) }
                println(x)
            }
            """);
        long x = 1;
        for (int i = 0; i < 1_500_000; i++) x = (x * 7 + 3) % 1000003;
        using var held = new ManualResetEventSlim(false);
        TestSupport.Result result;
        using (new Hooks(beforeCompile: (_, _) => held.Wait(TimeSpan.FromSeconds(60)), release: held))
        {
            result = TestSupport.Hlvm("prof", "--rate", "5000", path);
        }
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal($"{x}\n", result.Stdout);
        var engines = System.Text.RegularExpressions.Regex.Match(result.Stderr,
            @"\nengines: (\d+)% of the samples ran compiled code, (\d+)% the interpreter \((\d+)% in functions waiting for their machine code from the JIT's thread\)\n");
        Assert.True(engines.Success, result.Stderr);
        Assert.Equal(0, int.Parse(engines.Groups[1].Value));
        Assert.Equal(100, int.Parse(engines.Groups[2].Value));
        Assert.InRange(int.Parse(engines.Groups[3].Value), 90, 100);

        var sync = TestSupport.Hlvm("prof", "--jit-sync", path);
        Assert.Matches(@"\nengines: \d+% of the samples ran compiled code, \d+% the interpreter\n", sync.Stderr);
        var interpreted = TestSupport.Hlvm("prof", "--engine", "interp", path);
        Assert.True(interpreted.ExitCode == 0, interpreted.Stderr);
        Assert.DoesNotContain("engines:", interpreted.Stderr);
    }

    /// <summary>
    /// Compiled code sets a map's key with the interpreter's own code, and leaves a new key of a full map to the
    /// slow path, which grows the map and looks the key up again: the first look-up's work (hashing a string key,
    /// charged as fuel) is not charged twice. New string keys past the map's first growth (its ninth), with
    /// budgets every 3 instructions around it: the same output and stop in every engine (a double charge stopped
    /// the compiled program earlier at 37 of these 84 budgets).
    /// </summary>
    [Fact]
    public void ANewKeyOfAFullMapIsChargedOnceInCompiledCode()
    {
        string path = Write("mapfuel.hl", """
            fn main() {
                let m: {string: int} = {}
                var i = 0
                while i < 40 {
                    m["key number {i}"] = i
                    println(m.len())
                    i += 1
                }
            }
            """);
        Assert.All(AgreeUnderFuel(path, 450, 700, 3), code => Assert.Equal(75, code));
    }

    /// <summary>
    /// Compiled <c>m[k]</c> and <c>m.has(k)</c> look keys up with the interpreter's own code, and a key <c>m[k]</c>
    /// does not find goes to the slow path, which looks it up again and raises the KeyError: the first look-up's
    /// work (hashing a string key, charged as fuel) is not charged twice, and the work of hashing a map's int keys
    /// again, which a look-up that walks too many slots does once, is not dropped. Hits, misses caught, and has of
    /// keys there and not, with budgets every 7 instructions over the run: the same output and stop in every
    /// engine, and without a budget the same output as the interpreter.
    /// </summary>
    [Fact]
    public void CompiledMapReadsChargeAndFailAsTheInterpretersDo()
    {
        string path = Write("mapreads.hl", """
            fn main() {
                // Int keys 0 to 39, then one that is not there whose look-up walks past 32 slots: the map's
                // keys are hashed again with the secret, work the look-up charges once.
                let ints: {int: int} = {}
                var k = 0
                while k < 40 {
                    ints[k] = k
                    k += 1
                }
                var total = 0
                try {
                    total += ints[128]
                } catch e: KeyError {
                    total -= 2
                }
                println(total)
                let m: {string: int} = {}
                var i = 0
                while i < 30 {
                    m["key number {i}"] = i
                    if m.has("key number {i / 2}") { total += m["key number {i / 2}"] }
                    if !m.has("other {i}") { total += 100 }
                    try {
                        total += m["missing {i}"]
                    } catch e: KeyError {
                        total -= 1
                        println(e.message)
                    }
                    println(total)
                    i += 1
                }
            }
            """);
        var whole = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.Equal(0, whole.ExitCode);
        Assert.Contains("the map has no key \"missing 29\"", whole.Stdout);
        foreach (var engine in Engines.Skip(1))
            Assert.Equal(whole, TestSupport.Hlvm(["run", .. engine, path]));
        Assert.All(AgreeUnderFuel(path, 300, 1500, 7), code => Assert.Equal(75, code));
    }

    /// <summary>
    /// Compiled code pushes onto an array with room itself (<c>Interpreter.APushInPlace</c>) and leaves a full one to
    /// the interpreter's push, which grows it: each kind of element through its stores' growths (a [bool]'s store
    /// holds bytes), references under GC stress, and the fuel a growth charges, alike in every engine. (A push onto
    /// null does not verify.)
    /// </summary>
    [Fact]
    public void CompiledPushesGrowAndChargeAsTheInterpretersDo()
    {
        string path = Write("pushes.hl", """
            class Box { items: [string] }
            fn fill(box: Box, n: int) {
                box.items.push("item {n}")
            }
            fn main() {
                let ints: [int] = []
                let floats: [float] = []
                let flags: [bool] = []
                let words: [string] = []
                var i = 0
                while i < 70 {
                    ints.push(i * i)
                    floats.push(i as float / 4.0)
                    flags.push(i % 3 == 0)
                    words.push("w{i}")
                    i += 1
                }
                println("{ints.len()} {ints[69]} {floats[69]} {flags[66]} {flags[67]} {words[69]}")
                let box = Box([])
                var n = 0
                while n < 20 {
                    fill(box, n)
                    n += 1
                }
                println(box.items)
            }
            """);
        var whole = TestSupport.Hlvm(["run", "--engine", "interp", path]);
        Assert.True(whole.ExitCode == 0, whole.Stderr);
        Assert.StartsWith($"70 {69 * 69} 17.25 true false w69\n", whole.Stdout);
        Assert.EndsWith($"[{string.Join(", ", Enumerable.Range(0, 20).Select(n => $"\"item {n}\""))}]\n", whole.Stdout);
        foreach (var engine in Engines.Skip(1))
        {
            Assert.Equal(whole, TestSupport.Hlvm(["run", .. engine, path]));
            Assert.Equal(whole, TestSupport.Hlvm(["run", .. engine, "--gc-stress", "--verify-heap", path]));
        }
        // From a budget that stops the first loop to one that lets the program finish: every growth on the way.
        var codes = AgreeUnderFuel(path, 100, 4000, 19);
        Assert.Equal(75, codes[0]);
        Assert.Equal(0, codes[^1]);
    }

    /// <summary>A main whose loop of 20 million calls is hot at once and outlasts its compile on the JIT's thread:
    /// some seconds interpreted, milliseconds compiled.</summary>
    private const string LongLoopOfCalls = """
        fn step(x: int) -> int { return (x * 7 + 3) % 1000003 }
        fn main() {
            var x = 1
            for _i in 0..20000000 { x = step(x) }
            println(x)
        }
        """;

    /// <summary>
    /// By default .NET compiles a hot function's CIL on the JIT's thread while the interpreter goes on running it:
    /// main's loop stays interpreted until its code arrives, and then continues in it (an entry into a compiled
    /// loop at a later iteration), and it is compiled once, however many iterations it counts meanwhile. The loop
    /// runs 20 million times: interpreted throughout (its code never arriving) it would take seconds, compiling
    /// takes milliseconds; the test waits for nothing but the program's end. The profile gives the time .NET's JIT
    /// ran on the JIT's thread.
    /// </summary>
    [Fact]
    public void HotCodeCompiledOnTheJitsThreadIsEnteredOnceItArrives()
    {
        string path = Write("background.hl", LongLoopOfCalls);
        long x = 1;
        for (int i = 0; i < 20_000_000; i++) x = (x * 7 + 3) % 1000003;
        var result = TestSupport.Hlvm("prof", "--jit-log", "--rate", "100", path);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal($"{x}\n", result.Stdout);
        Assert.Single(result.Stderr.Split('\n'), line => line.StartsWith("jit: main: "));
        Assert.Contains("; 1 entry into compiled loops", result.Stderr);
        // The profile counts .NET's compile on the JIT's thread apart from the program's thread's.
        var jitThread = System.Text.RegularExpressions.Regex.Match(result.Stderr, @"and ([\d.]+) ms on the JIT's thread, compiling the CIL to machine code while the program ran\)");
        Assert.True(jitThread.Success, result.Stderr);
        Assert.True(double.Parse(jitThread.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, result.Stderr);
    }

    /// <summary>
    /// `--jit-log` ends with what .NET's compile of the CIL took on the JIT's thread: main's loop, entered once its
    /// code arrives (as above), was compiled there, so the run ends knowing its time. The lines before are the
    /// emitter's, one per function. Fails when the last line is missing, or is printed where nothing is known
    /// (--jit-sync: .NET compiles each method at its first call).
    /// </summary>
    [Fact]
    public void TheJitLogEndsWithWhatDotnetsCompileTook()
    {
        string path = Write("logged.hl", LongLoopOfCalls);
        var result = TestSupport.Hlvm("run", "--jit-log", path);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Stderr.TrimEnd('\n').Split('\n');
        Assert.Matches(@"^jit: machine code: \d+ functions? compiled by \.NET on the JIT's thread in [\d.]+ ms", lines[^1]);
        Assert.Contains(lines, line => line.StartsWith("jit: main: ", StringComparison.Ordinal));
        var sync = TestSupport.Hlvm("run", "--jit-log", "--jit-sync", path);
        Assert.True(sync.ExitCode == 0, sync.Stderr);
        Assert.DoesNotContain("machine code", sync.Stderr);
    }

    /// <summary>
    /// A local's fields read and written more than once in straight-line code go through its object's address,
    /// taken once (the second access checks the last field's word); the address is taken again when the local
    /// gets another object (p = ps[...]) and when a later access is of a subclass's field past the words checked.
    /// The expected values come from the same program in Python. Fails when a new object keeps the old address.
    /// </summary>
    [Fact]
    public void FieldsReachedThroughAnObjectsAddressAreTheRightObjectsFields()
    {
        string path = Write("fields.hl", """
            class P {
                var x: int = 0
                var y: int = 0
            }

            class Q : P {
                var z: int = 0
                var w: float = 0.0
            }

            fn main() {
                let ps = [P(), P(), P()]
                let qs = [Q(), Q()]
                var total = 0
                for i in 0..30 {
                    var p = ps[i % 3]
                    p.x = p.x + i
                    p.y = p.x * 2
                    total += p.x + p.y
                    p = ps[(i + 1) % 3]
                    total += p.x * 100 + p.y
                    let q = qs[i % 2]
                    q.x = q.x + 1
                    q.y = q.y + q.x
                    q.z = q.z + q.y
                    q.w = q.w + 0.5
                    total += q.x + q.y + q.z + (q.w * 2.0) as int
                }
                println(total)
                println("{ps[0].x} {ps[1].y} {qs[1].z} {qs[0].w}")
            }
            """);
        AssertPrintsInEveryEngineAndUnderGcStress(path, "150610\n135 290 680 7.5\n");
    }

    /// <summary>
    /// A loop that reads reference locals and never stores them (self, box) keeps their copies in CIL locals
    /// through its header, and through the instructions that try a fast way first (a character's string, a joined
    /// string): their slow paths, which under --gc-stress collect at every allocation and move both objects, read
    /// the copies again. The expected lines come from the same loop in Python. Fails (a corrupted heap) when a slow
    /// path does not read the copies again.
    /// </summary>
    [Fact]
    public void CopiesKeptThroughALoopFollowTheirObjectsWhenASlowPathCollects()
    {
        string path = Write("copies.hl", """
            class Box {
                var n: int = 0
                var seen: string = ""
            }

            class Scanner {
                var text: string = ""
                var pos: int = 0
                init(t: string) { text = t }

                // self and box are read in the loop and never stored there: their copies stay in CIL locals through it.
                // Each turn allocates (a joined string, and for a character beyond ASCII a new string), which under
                // --gc-stress collects and moves both objects.
                fn run(box: Box) -> int {
                    var sum = 0
                    while pos < text.len() {
                        let c = text[pos]
                        let d = c + "!"
                        if c == "a" || c == "\u{e9}" { box.n = box.n + 1 }
                        box.seen = c
                        sum += box.n * 10 + pos + d.len()
                        pos += 1
                    }
                    return sum
                }
            }

            fn main() {
                var total = 0
                for r in 0..3 {
                    let box = Box()
                    let s = Scanner("abca\u{e9}xa\u{e9}\u{e9}b")
                    total += s.run(box)
                    println("{r}: {box.n} {box.seen} {s.pos}")
                }
                println(total)
            }
            """);
        AssertPrintsInEveryEngineAndUnderGcStress(path, "0: 6 b 10\n1: 6 b 10\n2: 6 b 10\n1155\n");
    }

    /// <summary>
    /// Nested loops that keep copies: an inner loop inside one that keeps the same copies reads them no more where
    /// it is entered, and one inside a loop that calls out reads them there. Under --gc-stress every allocation
    /// moves the objects. The expected lines come from the same loops in Python. Fails when the inner loop of
    /// report takes its copies for current (they were made before the call).
    /// </summary>
    [Fact]
    public void LoopsInsideLoopsReadTheCopiesTheOuterLoopDoesNotKeep()
    {
        string path = Write("nested.hl", """
            class Box {
                var n: int = 0
                var seen: string = ""
            }

            class Scanner {
                var text: string = ""
                var pos: int = 0
                init(t: string) { text = t }

                // Nested loops that read self and box and never store them. The outer loop of scan keeps their copies
                // through its header too (the inner one reads them no more where it is entered); the outer loop of
                // report calls out (println), so its inner loop reads them where it is entered. Each turn of each loop
                // allocates (a joined string, and for a character beyond ASCII a new string), which under --gc-stress
                // collects and moves both objects.
                fn scan(box: Box, rounds: int) -> int {
                    var sum = 0
                    var r = 0
                    while r < rounds {
                        pos = 0
                        let tag = "r" + box.seen
                        while pos < text.len() {
                            let c = text[pos]
                            let d = c + tag
                            if c == "a" || c == "\u{e9}" { box.n = box.n + 1 }
                            box.seen = c
                            sum += box.n * 10 + pos + d.len()
                            pos += 1
                        }
                        r += 1
                    }
                    return sum
                }

                fn report(box: Box, rounds: int) -> int {
                    var sum = 0
                    for r in 0..rounds {
                        println("{r} {box.n} {box.seen}")
                        pos = 0
                        while pos < text.len() {
                            let c = text[pos]
                            let d = c + "!"
                            if c == "x" { box.n = box.n + 1 }
                            sum += box.n + d.len()
                            pos += 1
                        }
                    }
                    return sum
                }
            }

            fn main() {
                let box = Box()
                let s = Scanner("abca\u{e9}xa\u{e9}\u{e9}b")
                println(s.scan(box, 3))
                println(s.report(box, 2))
                println("{box.n} {box.seen} {s.pos}")
            }
            """);
        AssertPrintsInEveryEngineAndUnderGcStress(path, "2975\n0 18 b\n1 19 b\n420\n20 b 10\n");
    }

    /// <summary>Runs the program in every engine, plain and under --gc-stress --verify-heap, and checks that it
    /// exits 0 having printed <paramref name="expected"/>.</summary>
    private static void AssertPrintsInEveryEngineAndUnderGcStress(string path, string expected)
    {
        foreach (var engine in Engines)
        {
            foreach (string[] stress in (string[][])[[], ["--gc-stress", "--verify-heap"]])
            {
                var result = TestSupport.Hlvm(["run", .. engine, .. stress, path]);
                Assert.True(result.ExitCode == 0, result.Stderr);
                Assert.Equal(expected, result.Stdout);
            }
        }
    }

    private static void AssertCallCounts(string path, params (string Calls, string Function)[] counts)
    {
        foreach (var engine in Engines)
        {
            var profiled = TestSupport.Hlvm(["prof", .. engine, path]);
            foreach (var (calls, function) in counts) Assert.Matches($@"\s{calls} +\S+ +{function} \(", profiled.Stderr);
        }
    }

    [Fact]
    public void TheLogNamesEachCompiledFunctionAndWhy()
    {
        string path = Write("loop.hl", """
            fn square(x: int) -> int { return x * x }
            fn main() {
                var total = 0
                for i in 0..5000 { total += square(i) }
                println(total)
            }
            """);
        var result = TestSupport.Hlvm(["run", "--jit-log", "--jit-threshold", "100", "--jit-sync", path]);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"{Enumerable.Range(0, 5000).Sum(i => (long)i * i)}\n", result.Stdout);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // main's loop reaches 100 first (its call counted one before it): main and the function it calls are
        // compiled together, and the loop moves to compiled code. square is arithmetic on its argument, which main
        // computes in place of the call.
        Assert.Matches(@"^jit: main: \d+ instructions -> \d+ bytes of CIL in [\d.]+ ms \(loop\); in place: square$", lines[0]);
        Assert.Matches(@"^jit: square: \d+ instructions -> \d+ bytes of CIL in [\d.]+ ms \(called by main\)$", lines[1]);
        Assert.Equal(2, lines.Length);
    }

    /// <summary>
    /// A function hot by its loop is compiled with the functions it calls that are on that path or have not run
    /// yet, not with those it called off it: `setup` ran once (one call and 20 turns of its loop) before main's loop
    /// made main hot (at 20,000 turns, the default loop threshold), and is left out of main's batch; `report`, not
    /// run yet, goes in. `setup` is still compiled on its own once its own calls make it hot. Fails when a callee
    /// that ran rarely is compiled with its caller.
    /// </summary>
    [Fact]
    public void ACalleeThatRanRarelyIsNotCompiledWithItsHotCaller()
    {
        string path = Write("rare.hl", """
            fn setup(n: int) -> int {
                var s = 0
                for i in 0..n { s += i * i % 7 }
                return s
            }
            fn report(total: int) -> int {
                var digits = 0
                var t = total
                while t > 0 { t = t / 10; digits += 1 }
                return digits
            }
            fn main() {
                var total = setup(20)
                for i in 0..30000 { total += i % 13 }
                println(report(total))
                for i in 0..1500 { total += setup(3) }
                println(total)
            }
            """);
        long total = Enumerable.Range(0, 20).Sum(i => i * i % 7) + Enumerable.Range(0, 30000).Sum(i => i % 13);
        int digits = total.ToString().Length;
        total += 1500L * Enumerable.Range(0, 3).Sum(i => i * i % 7);
        var result = TestSupport.Hlvm(["run", "--jit-log", "--jit-sync", path]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal($"{digits}\n{total}\n", result.Stdout);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^jit: main: .* \(loop\)", lines[0]);
        Assert.Matches(@"^jit: report: .* \(called by main\)$", lines[1]);
        Assert.Matches(@"^jit: setup: .* \((calls|loop)\)$", lines[2]);
        Assert.Equal(3, lines.Length);
    }

    /// <summary>
    /// By default a loop moves to compiled code after 20,000 turns of its function's loops (its calls counted
    /// too), a function after 1,000 calls: `brief`, called once, turns its loop 5,000 times and stays
    /// interpreted; `lengthy` turns it 30,000 times and is compiled by its loop. `--jit-threshold N` sets both to N.
    /// Fails when loops compile at the call threshold.
    /// </summary>
    [Fact]
    public void ALoopIsCompiledAfterMoreTurnsThanAFunctionAfterCalls()
    {
        string path = Write("loops.hl", """
            fn brief() -> int { var s = 0; for i in 0..5000 { s += i % 7 } return s }
            fn lengthy() -> int { var s = 0; for i in 0..30000 { s += i % 7 } return s }
            fn main() {
                println(brief())
                println(lengthy())
            }
            """);
        string expected = $"{Enumerable.Range(0, 5000).Sum(i => i % 7)}\n{Enumerable.Range(0, 30000).Sum(i => i % 7)}\n";
        var byDefault = TestSupport.Hlvm(["run", "--jit-log", "--jit-sync", path]);
        Assert.True(byDefault.ExitCode == 0, byDefault.Stderr);
        Assert.Equal(expected, byDefault.Stdout);
        var lines = byDefault.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^jit: lengthy: .* \(loop\)$", Assert.Single(lines));
        var tuned = TestSupport.Hlvm(["run", "--jit-log", "--jit-sync", "--jit-threshold", "100", path]);
        Assert.Equal(expected, tuned.Stdout);
        lines = tuned.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^jit: brief: .* \(loop\)$", lines[0]);
        Assert.Matches(@"^jit: lengthy: .* \(loop\)$", lines[1]);
    }

    [Fact]
    public void CompareReportsThatTheEnginesAgree()
    {
        string path = Write("agree.hl", """
            fn main() {
                let xs = [3, 1, 2]
                xs.sort()
                println(xs)
                eprintln("done")
            }
            """);
        var result = TestSupport.Hlvm("run", "--engine", "compare", path);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("same: interp and jit agree on stdout (1 line), stderr (1 line) and the exit code (0)\n", result.Stdout);
    }

    [Fact]
    public void CompareSaysOnceWhyAProgramDidNotRunAndComparesOneThatExitsWith65()
    {
        // Nothing ran: the compile error is said once, as run says it, and there is no "same".
        string broken = Write("broken.hl", "fn main() {\n    let t = 0\n    t += 1\n}\n");
        var run = TestSupport.Hlvm("run", broken);
        var compared = TestSupport.Hlvm("run", "--engine", "compare", broken);
        Assert.Equal(65, run.ExitCode);
        Assert.Equal((65, "", run.Stderr), (compared.ExitCode, compared.Stdout, compared.Stderr));
        // A program whose main returns 65 (the code of a compile error) ran: it is compared.
        string exits = Write("exits.hl", "fn main() -> int {\n    println(\"bye\")\n    return 65\n}\n");
        var same = TestSupport.Hlvm("run", "--engine", "compare", exits);
        Assert.Equal((0, "same: interp and jit agree on stdout (1 line), stderr (0 lines) and the exit code (65)\n"), (same.ExitCode, same.Stdout));
    }

    [Fact]
    public void CompareSetsTheGcLogsPausesAsideAndLetsTheJitLogThrough()
    {
        string path = Write("logs.hl", """
            class Node { next: Node? }
            fn main() {
                var kept = 0
                for i in 0..20000 {
                    let _n = Node(null)
                    if i % 1000 == 0 { kept += 1 }
                }
                println(kept)
            }
            """);
        // The collections the interpreter alone logs: the comparison must count the same ones.
        var alone = TestSupport.Hlvm("run", "--engine", "interp", "--gc-log", "--max-heap", "64k", path);
        Assert.True(alone.ExitCode == 0, alone.Stderr);
        int collections = alone.Stderr.Split('\n').Count(line => line.StartsWith("[gc] #"));
        Assert.True(collections >= 2, alone.Stderr);
        // Each run's pauses differ; without them the logs agree, and the program's stderr holds no log line.
        var gc = TestSupport.Hlvm("run", "--engine", "compare", "--gc-log", "--max-heap", "64k", path);
        Assert.True(gc.ExitCode == 0, gc.Stdout + gc.Stderr);
        Assert.Equal($"same: interp and jit agree on stdout (1 line), stderr (0 lines), the gc log ({collections} collections, pause times aside) and the exit code (0)\n", gc.Stdout);
        Assert.Equal("", gc.Stderr);
        // Only the JIT logs compiles: its lines reach stderr and are not a difference.
        var jit = TestSupport.Hlvm("run", "--engine", "compare", "--jit-log", path);
        Assert.True(jit.ExitCode == 0, jit.Stdout + jit.Stderr);
        Assert.StartsWith("same: ", jit.Stdout);
        Assert.Matches(@"^jit: main: \d+ instructions -> ", jit.Stderr);
        Assert.Equal("[gc] #1 full before=80 after=40 heap=64\n[gc] #2 full before=96 after=40 heap=64\n",
            EngineComparison.PausesAside("[gc] #1 full pause=0.436ms before=80 after=40 heap=64\n[gc] #2 full pause=12.5ms before=96 after=40 heap=64\n"));
    }

    [Fact]
    public void CompareAtATerminalReadsOnlyWhatTheProgramReadsAndGivesTheJitTheSame()
    {
        string path = Write("greet.hl", """
            fn main() {
                let name = readLine()
                println("hello, " + (name ?? "nobody"))
            }
            """);
        // A person has typed one line and nothing more: a read past it would wait for ever.
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = Cli.Program.RunAtTerminal(["run", "--engine", "compare", path], stdout, stderr, new TypedLines("Ada\r\n"));
        Assert.True(code == 0, stdout + stderr.ToString());
        Assert.Equal("same: interp and jit agree on stdout (1 line), stderr (0 lines) and the exit code (0)\n", stdout.ToString());
        // What was read is given back as it was typed, line breaks included.
        var input = new Cli.Commands.RepeatedInput(new StringReader("a\r\nb\nrest"));
        var first = input.Next();
        Assert.Equal("a", first.ReadLine());
        Assert.Equal('b', (char)first.Read());
        Assert.Equal("\nrest", first.ReadToEnd());
        Assert.Equal("a\r\nb\nrest", input.Next().ReadToEnd());
    }

    /// <summary>
    /// Each run of a comparison is given what the first run read, line breaks as they came, then what the first
    /// did not read; a first run that reads past what is kept gets all of it, and the comparison then ends, having
    /// said why (an input without end, read whole, grew until the process ran out of memory).
    /// </summary>
    [Fact]
    public void ComparisonsGiveEveryRunWhatTheFirstReadAndEndWhenItReadPastTheirLimit()
    {
        Cli.CliContext Context(StringWriter stderr) => new(new StringWriter { NewLine = "\n" }, stderr, TextReader.Null, IsProcess: false);
        var stderr = new StringWriter { NewLine = "\n" };
        var past = new Cli.Commands.RepeatedInput(new StringReader(new string('x', 100_000)), maxChars: 99_999);
        Assert.Equal(100_000, past.Next().ReadToEnd().Length);
        Assert.True(past.TooLong(Context(stderr), "hlvm run --engine compare"));
        Assert.Equal("hlvm run --engine compare: the program read more than 99,999 characters of standard input, the most the "
            + "comparison keeps to give each engine the same input; run each engine alone for a longer one\n", stderr.ToString());
        // At the limit, each run gets all of it.
        string text = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i % 10}\n")).Insert(5, "\r");
        var whole = new Cli.Commands.RepeatedInput(new StringReader(text), maxChars: text.Length);
        Assert.Equal(text, whole.Next().ReadToEnd());
        Assert.False(whole.TooLong(Context(stderr), "hlvm run --engine compare"));
        Assert.Equal(text, whole.Next().ReadToEnd());
        Assert.Equal(text, whole.Next().ReadToEnd());
        // A first run that reads a line and a character: the next run gets those, then the rest of the input.
        var part = new Cli.Commands.RepeatedInput(new StringReader("a\r\nbc\nrest"));
        var first = part.Next();
        Assert.Equal(("a", 'b'), (first.ReadLine(), (char)first.Read()));
        Assert.False(part.TooLong(Context(stderr), "hlvm prof --compare"));
        Assert.Equal("a\r\nbc\nrest", part.Next().ReadToEnd());
    }

    /// <summary>A terminal at which a person has typed <paramref name="text"/>: reading past it fails the test
    /// rather than waiting.</summary>
    private sealed class TypedLines(string text) : TextReader
    {
        private int _at;

        public override int Peek() => _at < text.Length ? text[_at] : throw new InvalidOperationException("read past what was typed");

        public override int Read() => _at < text.Length ? text[_at++] : throw new InvalidOperationException("read past what was typed");

        public override int Read(char[] buffer, int index, int count)
        {
            if (_at == text.Length) throw new InvalidOperationException("read past what was typed");
            int n = Math.Min(count, text.Length - _at);
            text.CopyTo(_at, buffer, index, n);
            _at += n;
            return n;
        }
    }

    [Fact]
    public async Task CompareChangesTheAppsStorageOnceAndGivesTheJitTheSameStart()
    {
        string path = Write("counter.hl", """
            import std.fs
            fn main() {
                var runs = 1
                if fs.exists("/data/runs.txt") { runs = fs.readText("/data/runs.txt").toInt() + 1 }
                fs.writeText("/data/runs.txt", "{runs}")
                fs.writeText("/data/run {runs}.txt", "")
                println("run {runs}, {fs.listDir("/data").len()} files")
            }
            """);
        // Each engine starts from the storage as it was: the JIT's run has a copy, which is then dropped.
        var compared = TestSupport.Hlvm("run", "--engine", "compare", path);
        Assert.True(compared.ExitCode == 0, compared.Stdout + compared.Stderr);
        Assert.Equal("same: interp and jit agree on stdout (1 line), stderr (0 lines) and the exit code (0)\n", compared.Stdout);
        // The storage changed once, as one run changes it.
        Assert.Equal("run 2, 3 files\n", TestSupport.Hlvm("run", path).Stdout);
        Assert.Equal(0, TestSupport.Hlvm("run", "--engine", "compare", path).ExitCode);
        Assert.Equal("run 4, 5 files\n", TestSupport.Hlvm("run", path).Stdout);

        // A FIFO put in the storage by hand is not copied: opening it to copy it waited for a writer for ever.
        string fifo = Path.Combine(Hlvm.Sandbox.AppStorage.DirectoryFor(Path.GetDirectoryName(path)!), "data", "pipe");
        TestSupport.MakeFifo(fifo);
        var run = Task.Run(() => TestSupport.Hlvm("run", "--engine", "compare", path));
        Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))) == run, "the comparison did not end within a minute");
        var result = await run;
        // Listed by the interpreter's run, not by the JIT's: the difference reported.
        Assert.True(result.ExitCode == 1, result.Stdout + result.Stderr);
        Assert.Contains("stdout line 1\n  interp: run 5, 7 files\n  jit:    run 5, 6 files", result.Stdout);
        Assert.True(File.Exists(fifo));
    }

    [Fact]
    public void CompareShowsTheFirstDifferingLine()
    {
        Assert.Null(EngineComparison.FirstDifference("stdout", "a\nb\n", "a\nb\n"));
        Assert.Equal("stdout line 2\n  interp: b\n  jit:    c", EngineComparison.FirstDifference("stdout", "a\nb\nx\n", "a\nc\nx\n"));
        Assert.Equal("stderr line 3\n  interp: (no such line)\n  jit:    z", EngineComparison.FirstDifference("stderr", "a\nb\n", "a\nb\nz\n"));
        Assert.Equal("stdout: the same lines, but only one ends with a line break", EngineComparison.FirstDifference("stdout", "a\n", "a"));
        // Found where the texts differ, not by splitting them: the first line, an empty line, a partial last line.
        Assert.Equal("stdout line 1\n  interp: x\n  jit:    y", EngineComparison.FirstDifference("stdout", "x", "y"));
        Assert.Equal("stdout line 2\n  interp: \n  jit:    (no such line)", EngineComparison.FirstDifference("stdout", "a\n\n", "a\n"));
        Assert.Equal("stdout line 3\n  interp: ab\n  jit:    abc", EngineComparison.FirstDifference("stdout", "1\n2\nab", "1\n2\nabc\n"));
        Assert.Equal("stdout line 1,001\n  interp: x\n  jit:    y", EngineComparison.FirstDifference("stdout",
            string.Concat(Enumerable.Repeat("l\n", 1000)) + "x\n", string.Concat(Enumerable.Repeat("l\n", 1000)) + "y\n"));
    }

    /// <summary>
    /// A run the time limit ended did what its time allowed: the comparison holds what it wrote against the start
    /// of what the other run wrote, and leaves out where each was stopped. The runs of a program that prints until
    /// it is stopped were reported as a difference in the JIT (one run got further), after holding gigabytes.
    /// Without a time limit, an endless printer is stopped by the output the comparison keeps, at the same byte
    /// in both engines.
    /// </summary>
    [Fact]
    public void CompareHoldsARunTheTimeLimitEndedToWhatItDidAndBoundsTheOutputItKeeps()
    {
        string path = Write("printer.hl", """
            fn main() {
                var i = 0
                while true {
                    var spin = 0
                    while spin < 20000 { spin += 1 }
                    println(i)
                    i += 1
                }
            }
            """);
        var timed = TestSupport.Hlvm("run", "--engine", "compare", "--timeout", "1s", path);
        Assert.True(timed.ExitCode == 0, timed.Stdout + timed.Stderr);
        Assert.StartsWith("same as far as both ran: the time limit ended both runs, and what the shorter wrote agrees with the other's (lines of stdout: interp ", timed.Stdout);
        Assert.EndsWith("of stderr: 0 and 0); --fuel stops both runs at the same instruction\n", timed.Stdout);

        string endless = Write("endless.hl", "fn main() {\n    while true { println(\"0123456789abcdef\") }\n}\n");
        var kept = TestSupport.Hlvm("run", "--engine", "compare", endless);
        Assert.True(kept.ExitCode == 0, kept.Stdout + kept.Stderr);
        // 17 bytes a line, each written whole or not at all: both runs stop at the write that would pass 64 MiB.
        Assert.Equal($"same: interp and jit agree on stdout ({EngineComparison.KeptOutput / 17} lines), stderr (2 lines) and the exit code (75)\n", kept.Stdout);
    }
}
