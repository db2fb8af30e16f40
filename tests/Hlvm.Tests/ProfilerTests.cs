using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Hlvm.Tests;

/// <summary>
/// <c>hlvm prof</c>: a program that spends most of its time in one known function is profiled in every engine,
/// and every output (the text report, collapsed stacks, speedscope, SVG, HTML) puts that function on top; call
/// counts are exact; the deterministic mode gives the same profile twice; the profile changes nothing the
/// program does.
/// </summary>
public sealed class ProfilerTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hlvm-prof-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>busy does nearly all the work; light is called as often and does almost none. The argument is
    /// busy's loop count (default 40,000: some 0.1 s interpreted, 20 to 40 ms compiled).</summary>
    private const string Program = """
        fn busy(n: int) -> int {
            var s = 0
            for i in 0..n { s = (s + i * 7) % 1000003 }
            return s
        }
        fn light(n: int) -> int { return n + 1 }
        fn main(args: [string]) {
            var n = 40000
            if args.len() > 0 { n = args[0].toInt() }
            var total = 0
            for k in 0..150 {
                total += busy(n)
                total += light(k)
            }
            println(total)
        }
        """;

    /// <summary>
    /// Options and an argument for a timed profile of <see cref="Program"/> with enough samples to share out
    /// however loaded the machine: the compiled engines run busy ten times as long, and every engine samples five
    /// times as often as the default. A machine busy with the rest of the suite wakes the profiler's timer late:
    /// at the default rate and size a compiled run drew a dozen samples or none.
    /// </summary>
    private static string[] Sampled(string[] engine, string path, params string[] options) =>
        ["prof", "--rate", "5000", .. options, .. engine, path, BusyLoops(engine).ToString(CultureInfo.InvariantCulture)];

    /// <summary>busy's loop count in a <see cref="Sampled"/> profile under <paramref name="engine"/>.</summary>
    private static long BusyLoops(string[] engine) => engine[1] == "interp" ? 40000 : 400000;

    /// <summary>What <see cref="Program"/> prints with busy's loop count <paramref name="n"/>, computed here.</summary>
    private static string ProgramOutput(long n)
    {
        long total = 0;
        for (long k = 0; k < 150; k++)
        {
            long s = 0;
            for (long i = 0; i < n; i++) s = (s + i * 7) % 1000003;
            total += s + k + 1;
        }
        return $"{total}\n";
    }

    /// <summary>The number of samples the report's first line gives (written with thousands separators).</summary>
    private static int SampleCount(string report)
    {
        var m = System.Text.RegularExpressions.Regex.Match(report, @": ([\d,]+) samples?,");
        Assert.True(m.Success, report);
        return int.Parse(m.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
    }

    private string Write(string source)
    {
        string path = Path.Combine(_dir.FullName, "hot.hl");
        File.WriteAllText(path, source);
        return path;
    }

    private static readonly string[][] Engines = [["--engine", "interp"], ["--engine", "jit"], ["--engine", "tiered"], ["--engine", "tiered", "--jit-threshold", "1", "--jit-sync"]];

    /// <summary>The rows of the report's function table: name, self %, calls, compiled %.</summary>
    private static Dictionary<string, (double Self, long Calls, string Compiled)> Table(string report)
    {
        var rows = new Dictionary<string, (double, long, string)>();
        foreach (var line in report.Split('\n'))
        {
            var m = System.Text.RegularExpressions.Regex.Match(line, @"^\s*([\d.]+)%\s+\S+\s+[\d.]+%\s+\S+\s+([\d,]+)\s+(\S+)\s+(\S+) \(");
            if (m.Success)
                rows[m.Groups[4].Value] = (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value.Replace(",", ""), CultureInfo.InvariantCulture), m.Groups[3].Value);
        }
        return rows;
    }

    [Fact]
    public void TheHotFunctionHasMostOfTheSelfTimeAndCallsAreExactInEveryEngine()
    {
        string path = Write(Program);
        foreach (var engine in Engines)
        {
            var args = Sampled(engine, path);
            var result = TestSupport.Hlvm(args);
            Assert.True(result.ExitCode == 0, result.Stderr);
            // The profile changes nothing the program does.
            Assert.Equal(ProgramOutput(BusyLoops(engine)), result.Stdout);
            Assert.True(SampleCount(result.Stderr) >= 50, result.Stderr);
            var table = Table(result.Stderr);
            Assert.True(table.TryGetValue("busy", out var busy), result.Stderr);
            Assert.True(busy.Self >= 80, $"{string.Join(' ', engine)}: busy has {busy.Self}% of the self time\n{result.Stderr}");
            Assert.Equal(150, busy.Calls);
            Assert.Equal(150, table["light"].Calls);
            Assert.Equal(1, table["main"].Calls);
            if (engine[1] == "interp") Assert.Equal("0%", busy.Compiled);
            if (engine[1] == "jit") Assert.Equal("100%", busy.Compiled);
        }
    }

    /// <summary>
    /// The interpreter's modes that do not poll (metered under --fuel, checked) take the timer's samples where a
    /// slice of fuel ends, and count calls where they push a frame. hot's one long loop neither calls nor
    /// allocates, so under --fuel it drew the one sample its return answered and its time went to cold, called
    /// next; --checked counted no call at all.
    /// </summary>
    [Theory]
    [InlineData("--fuel", "1000000000000", 3000000)]
    [InlineData("--checked", null, 1000000)]
    public void TheInterpretersModesThatDoNotPollSampleALongLoopAndCountCalls(string option, string? value, long loops)
    {
        string path = Write("""
            fn hot(n: int) -> int {
                var s = 0
                for i in 0..n { s = (s + i * 7) % 1000003 }
                return s
            }
            fn cold(x: int) -> int { return x + 1 }
            fn main(args: [string]) { println(cold(hot(args[0].toInt()))) }
            """);
        long s = 0;
        for (long i = 0; i < loops; i++) s = (s + i * 7) % 1000003;
        string[] options = value is null ? [option] : [option, value];
        var result = TestSupport.Hlvm(["prof", "--rate", "5000", "--engine", "interp", .. options, path, loops.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal($"{s + 1}\n", result.Stdout);
        Assert.True(SampleCount(result.Stderr) >= 50, result.Stderr);
        var table = Table(result.Stderr);
        Assert.True(table.TryGetValue("hot", out var hot) && hot.Self >= 80, result.Stderr);
        Assert.Equal(1, hot.Calls);
        Assert.Equal(1, table["cold"].Calls);
        Assert.Equal(1, table["main"].Calls);
    }

    /// <summary>
    /// A module assembled from text has no source file, no name and no line table: the report names it by its
    /// file, lists its functions without an empty file beside them, and has no "hottest lines" to give (it gave
    /// ": N samples" and a line ":0"). The loop must outlast the profiler's first samples in every engine, on a
    /// machine whose other work wakes the profiler's timer late: 2 million turns take some 20 ms interpreted but
    /// about a millisecond compiled, where a run now and then took no sample at all, so the interpreter runs 20
    /// million turns and the compiled engines 200 million (a fifth of a second each).
    /// </summary>
    [Fact]
    public void AModuleWithoutSourceIsNamedByItsFileAndHasNoLines()
    {
        string Spin(int turns) => TestSupport.Assemble(_dir.CreateSubdirectory($"spin{turns}"), "spin", $$"""
            .fn main() -> int
                .locals int
                .maxstack 2
                iconst {{turns}}
                store 0
            L0:
                load 0
                iconst 1
                isub
                store 0
                load 0
                iconst 0
                igt
                jmpif L0
                iconst 0
                ret
            .end
            .entry main
            """);
        string interpreted = Spin(20_000_000), compiled = Spin(200_000_000);
        foreach (var engine in Engines)
        {
            var result = TestSupport.Hlvm(["prof", .. engine, engine[1] == "interp" ? interpreted : compiled]);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Matches(@"^hlvm prof: spin\.hlc: [\d,]+ samples?, ", result.Stderr);
            Assert.Matches(@"\d+%  main( \(compiled|\n)", result.Stderr);
            Assert.DoesNotContain("main ()", result.Stderr);
            Assert.DoesNotContain("hottest lines", result.Stderr);
        }
    }

    /// <summary>
    /// Time spent before a call is charged to the caller, not to the function called: main scans a long string
    /// (a native, which does not poll) and then calls tiny, whose entry is the next place that polls. A sample asked
    /// for during the scan is taken at that call, in main, in every engine; compiled code used to take it in tiny,
    /// which then drew nearly all of the samples though it adds one to a number. The scan runs 1,000 times and the
    /// rate is 5,000 a second: a machine loaded by the rest of the suite wakes the profiler's timer late, and 300 scans
    /// at the default rate once drew 10 samples, too few for the shares to mean anything.
    /// </summary>
    [Fact]
    public void TimeBeforeACallIsChargedToTheCallerNotToTheFunctionCalled()
    {
        string path = Write("""
            fn tiny(n: int) -> int { return n + 1 }
            fn main() {
                let text = "a".repeat(3000000) + "b"
                var total = 0
                for k in 0..1000 {
                    if text.contains("ab") { total = tiny(total) }
                }
                println(total)
            }
            """);
        foreach (var engine in (string[][])[["--engine", "interp"], ["--engine", "jit"], ["--engine", "tiered", "--jit-threshold", "1", "--jit-sync"]])
        {
            var result = TestSupport.Hlvm(["prof", "--rate", "5000", .. engine, path]);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Equal("1000\n", result.Stdout);
            Assert.True(SampleCount(result.Stderr) >= 20, result.Stderr);
            var table = Table(result.Stderr);
            Assert.True(table["main"].Self >= 90, $"{string.Join(' ', engine)}: main has {table["main"].Self}% of the self time\n{result.Stderr}");
            Assert.True(table["tiny"].Self <= 5, $"{string.Join(' ', engine)}: tiny has {table["tiny"].Self}% of the self time\n{result.Stderr}");
            Assert.Equal(1000, table["tiny"].Calls);
        }
    }

    /// <summary>
    /// A function that neither loops, calls nor allocates is charged its own time: a sample asked for while it runs
    /// is taken where it returns, in every engine, and where the JIT compiled its call in place (small, here) where
    /// that body ends. heavy does eight times small's work; before, main drew every sample and heavy and small none,
    /// their time going to main's next call or backward branch.
    /// </summary>
    [Fact]
    public void AFunctionThatOnlyComputesIsChargedItsOwnTime()
    {
        var heavy = string.Concat(Enumerable.Repeat("    y = (y * 7 + 3) % 1000003\n", 8));
        string path = Write($$"""
            fn small(x: int) -> int { return (x * 7 + 3) % 1000003 }
            fn heavy(x: int) -> int {
                var y = x
            {{heavy}}    return y
            }
            fn main() {
                var x = 1
                for _i in 0..3000000 {
                    x = heavy(x)
                    x = small(x)
                }
                println(x)
            }
            """);
        long x = 1;
        for (int i = 0; i < 3_000_000 * 9; i++) x = (x * 7 + 3) % 1000003;
        foreach (var engine in (string[][])[["--engine", "interp"], ["--engine", "jit"], ["--engine", "tiered", "--jit-threshold", "1", "--jit-sync"], ["--engine", "tiered"]])
        {
            // Samples are weighed by the time since the last one, so a preemption of the program's thread (the rest
            // of the suite loads the machine) gives one sample the weight of many, wherever the thread polls next:
            // the shares are a measurement, taken again, up to three times in all, before they are said to be wrong.
            // Attribution that is wrong fails every time.
            var failures = new List<string>();
            for (int attempt = 0; attempt < 3 && failures.Count == attempt; attempt++)
            {
                var result = TestSupport.Hlvm(["prof", "--rate", "5000", .. engine, path]);
                Assert.True(result.ExitCode == 0, result.Stderr);
                Assert.Equal($"{x}\n", result.Stdout);
                var table = Table(result.Stderr);
                Assert.Equal(3_000_000, table["heavy"].Calls);
                Assert.Equal(3_000_000, table["small"].Calls);
                string said = $"{string.Join(' ', engine)}: heavy {table["heavy"].Self}%, small {table["small"].Self}%, main {table["main"].Self}%\n{result.Stderr}";
                if (SampleCount(result.Stderr) < 50 || table["heavy"].Self < 40 || table["small"].Self < 1
                    || table["small"].Self * 2 >= table["heavy"].Self || table["main"].Self > 50)
                    failures.Add(said);
            }
            Assert.True(failures.Count < 3, string.Join("\n---\n", failures));
        }
    }

    /// <summary>
    /// The time to compile is more than the time hlvm's JIT takes to emit CIL: .NET compiles each method to machine
    /// code at its first call, on the VM's thread, and the report says how long its JIT ran there.
    /// </summary>
    [Fact]
    public void TheReportSaysHowLongDotnetsJitRanOnTheVmsThread()
    {
        string path = Write(Program);
        var jit = TestSupport.Hlvm("prof", "--engine", "jit", path);
        Assert.Equal(0, jit.ExitCode);
        var m = System.Text.RegularExpressions.Regex.Match(jit.Stderr,
            @"jit: (\d+) functions compiled in [\d.]+ ms \(\.NET's JIT ran ([\d.]+) ms on the VM's thread: compiling the CIL to machine code");
        Assert.True(m.Success, jit.Stderr);
        Assert.Equal(3, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.True(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) > 0, jit.Stderr);

        var interp = TestSupport.Hlvm("prof", "--engine", "interp", path);
        Assert.Matches(@"jit: 0 functions compiled \(\.NET's JIT ran [\d.]+ ms on the VM's thread, compiling the runtime's own code\)", interp.Stderr);
        // The deterministic profile gives no times.
        var every = TestSupport.Hlvm("prof", "--every", "5000", path);
        Assert.Contains("jit: 0 functions compiled; ", every.Stderr);
    }

    [Fact]
    public void EveryNInstructionsGivesTheSameProfileTwice()
    {
        string path = Write(Program);
        string folded1 = Path.Combine(_dir.FullName, "a.folded"), folded2 = Path.Combine(_dir.FullName, "b.folded");
        var first = TestSupport.Hlvm("prof", "--every", "5000", "-o", folded1, path);
        var second = TestSupport.Hlvm("prof", "--every", "5000", "-o", folded2, path);
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(first.Stderr.Replace("a.folded", "X"), second.Stderr.Replace("b.folded", "X"));
        Assert.Equal(File.ReadAllText(folded1), File.ReadAllText(folded2));
        Assert.Contains("one every 5,000 instructions (deterministic; interpreted)", first.Stderr);
    }

    /// <summary>
    /// Two processes give the same deterministic profile, and stop a program with --fuel at the same instruction,
    /// although each hashes strings with a secret of its own (so their maps' keys land in other slots and collide
    /// with others): the fuel charges what a map operation's keys decide, never the slots it walked. A profile of
    /// every instruction counts every unit of fuel, so a charge of probes shows as a different count.
    /// </summary>
    [Fact]
    public void EveryNInstructionsAndFuelAreTheSameInEveryProcess()
    {
        string path = Path.Combine(_dir.FullName, "words.hl");
        File.WriteAllText(path, """
            fn main() {
                let counts: {string: int} = {}
                for i in 0..3000 {
                    let k = "key{i * 7919 % 3001}"
                    counts[k] = counts.get(k, 0) + i
                }
                var sum = 0
                for i in 0..3000 {
                    sum += counts.get("key{i}", 0)
                    if i % 500 == 0 { println(sum) }
                }
                println(sum)
            }
            """);
        string dll = Path.Combine(AppContext.BaseDirectory, "hlvm.dll");
        (int, string, string) Process(params string[] args)
        {
            var psi = new System.Diagnostics.ProcessStartInfo("dotnet", [dll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout, stderr.Result);
        }
        var first = Process("prof", "--every", "1", path);
        Assert.True(first.Item1 == 0, first.Item3);
        Assert.Equal(first, Process("prof", "--every", "1", path));
        // A budget that ends in the second loop, between two of its lines.
        var stopped = Process("run", "--fuel", "230000", path);
        Assert.True(stopped.Item1 == 75 && stopped.Item2.Length > 0 && stopped.Item2 != first.Item2, $"{stopped}");
        Assert.Equal(stopped, Process("run", "--fuel", "230000", path));
    }

    /// <summary>A budget that ends the run takes exactly a sample for each N instructions that ran: the instruction the
    /// spent budget refuses is not one of them (--every 1 --fuel 5000 took 5,001 samples).</summary>
    [Fact]
    public void EveryNUnderAFuelBudgetSamplesOnlyTheInstructionsThatRan()
    {
        string path = Write("fn main() {\n    var i = 0\n    while true { i += 1 }\n}\n");
        foreach (var (every, fuel) in new[] { (1, 1), (1, 134), (1, 5000), (7, 5000), (1000, 999) })
        {
            var result = TestSupport.Hlvm("prof", "--every", $"{every}", "--fuel", $"{fuel}", path);
            Assert.True(result.ExitCode == 75, result.Stderr);
            Assert.Contains($"the program ran {fuel} instruction", result.Stderr);
            Assert.True(SampleCount(result.Stderr) == fuel / every, $"--every {every} --fuel {fuel}: {SampleCount(result.Stderr)} samples\n{result.Stderr}");
        }
    }

    [Fact]
    public void CollapsedStacksParseBackToTheSamples()
    {
        string path = Write(Program);
        string folded = Path.Combine(_dir.FullName, "p.folded");
        var result = TestSupport.Hlvm("prof", "--every", "2000", "-o", folded, path);
        Assert.Equal(0, result.ExitCode);
        var stacks = File.ReadAllLines(folded).Select(line =>
        {
            int space = line.LastIndexOf(' ');
            return (Frames: line[..space].Split(';'), Samples: long.Parse(line[(space + 1)..], CultureInfo.InvariantCulture));
        }).ToList();
        long total = stacks.Sum(s => s.Samples);
        Assert.Contains($"{total:N0} samples", result.Stderr);
        Assert.All(stacks, s => Assert.Equal("main", s.Frames[0]));
        long inBusy = stacks.Where(s => s.Frames[^1] == "busy").Sum(s => s.Samples);
        Assert.True(inBusy >= 0.8 * total, $"{inBusy} of {total}");
    }

    [Fact]
    public void TheSpeedscopeFileFollowsTheFormat()
    {
        string path = Write(Program);
        string file = Path.Combine(_dir.FullName, "p.speedscope.json");
        var result = TestSupport.Hlvm(Sampled(["--engine", "jit"], path, "-o", file));
        Assert.Equal(0, result.ExitCode);
        Assert.True(SampleCount(result.Stderr) >= 50, result.Stderr);
        var schema = JsonSchema.FromText(File.ReadAllText(Path.Combine(TestSupport.Root, "tests", "profiling", "speedscope-sampled.schema.json")));
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var check = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(check.IsValid, JsonSerializer.Serialize(check));
        // What the schema can't say: every sample names frames that exist, one weight per sample, and the weights add up.
        var root = JsonNode.Parse(File.ReadAllText(file))!;
        var frames = root["shared"]!["frames"]!.AsArray().Select(f => (string)f!["name"]!).ToList();
        var profile = root["profiles"]![0]!;
        var samples = profile["samples"]!.AsArray();
        var weights = profile["weights"]!.AsArray().Select(w => (double)w!).ToList();
        Assert.Equal(samples.Count, weights.Count);
        Assert.All(samples, s => Assert.All(s!.AsArray(), i => Assert.InRange((int)i!, 0, frames.Count - 1)));
        Assert.Equal((double)profile["endValue"]!, weights.Sum(), 3);
        double busy = samples.Select((s, i) => (Top: frames[(int)s!.AsArray()[^1]!], Weight: weights[i])).Where(x => x.Top == "busy").Sum(x => x.Weight);
        Assert.True(busy >= 0.8 * weights.Sum());
    }

    [Fact]
    public void TheSvgAndHtmlShowTheHotFunctionWidest()
    {
        string path = Write(Program);
        foreach (var ext in new[] { "svg", "html" })
        {
            string file = Path.Combine(_dir.FullName, "p." + ext);
            var result = TestSupport.Hlvm("prof", "--every", "2000", "-o", file, path);
            Assert.Equal(0, result.ExitCode);
            Assert.Contains($"hlvm prof: wrote {file} ({ext})", result.Stderr);
            string text = File.ReadAllText(file);
            Assert.Contains("busy", text);
            // Self-contained: nothing loaded from the network.
            Assert.DoesNotContain("http://", text.Replace("http://www.w3.org/2000/svg", ""));
            Assert.DoesNotContain("<script src", text);
        }
        string svg = File.ReadAllText(Path.Combine(_dir.FullName, "p.svg"));
        var widths = System.Text.RegularExpressions.Regex.Matches(svg, @"<title>(\w+): [^<]*</title><rect x=""[\d.]+"" y=""[\d.]+"" width=""([\d.]+)""")
            .Select(m => (Name: m.Groups[1].Value, Width: double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .Where(f => f.Name != "all" && f.Name != "main").ToList();
        Assert.Equal("busy", widths.MaxBy(f => f.Width).Name);
    }

    [Fact]
    public void AHighRateIsAskedForAtThatRateNotAsFastAsTheTimerCanSpin()
    {
        // Below a millisecond the timer once slept not at all (Thread.Sleep takes whole milliseconds) and asked
        // for samples hundreds of thousands of times a second. However loaded the machine, the samples can't
        // outnumber the ticks of the run's own time.
        string path = Write(Program);
        var result = TestSupport.Hlvm("prof", "--rate", "20000", path);
        Assert.Equal(0, result.ExitCode);
        var m = System.Text.RegularExpressions.Regex.Match(result.Stdout + result.Stderr, @"([\d,]+) samples?, ([\d.]+) s at 20000 a second");
        Assert.True(m.Success, result.Stdout + result.Stderr);
        long samples = long.Parse(m.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        double seconds = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.InRange(samples, 1, (long)(20000 * (seconds + 0.01) * 1.2));
    }

    /// <summary>An output that can't be written (its directory missing, a directory, a directory where no file can
    /// be made, a name too long) is said before the program runs, not after a long run whose profile is then lost:
    /// the program printed nothing. (The last two were found only when the report was written, after the run.)</summary>
    [Fact]
    public void AnOutputThatCantBeWrittenIsAnErrorAndLeavesNothing()
    {
        string path = Write(Program.Replace("150", "2"));
        string file = Path.Combine(_dir.FullName, "missing", "p.html");
        string tooLong = Path.Combine(_dir.FullName, new string('a', 240) + ".html");
        var cases = new (string[] Options, string Why)[]
        {
            (["prof", "-o", file], $"no such directory '{Path.GetDirectoryName(file)}'"),
            (["prof", "--compare", "-o", file], $"no such directory '{Path.GetDirectoryName(file)}'"),
            (["prof", "-o", _dir.FullName], "it is a directory"),
            (["prof", "-o", "/proc/hlvm-profile.html"], "no file can be made in that directory"),
            (["prof", "-o", tooLong], "its name is too long"),
        };
        foreach (var (options, why) in cases)
        {
            var result = TestSupport.Hlvm([.. options, path]);
            Assert.Equal(73, result.ExitCode);
            Assert.Equal($"hlvm: cannot write '{options[^1]}': {why}\n", result.Stderr);
            Assert.Equal("", result.Stdout);
        }
        Assert.Equal(["hot.hl"], _dir.GetFileSystemInfos().Select(f => f.Name));
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "missing")));
        var bad = TestSupport.Hlvm("prof", "--rate", "0", path);
        Assert.Equal(64, bad.ExitCode);
        // The program itself is not the report's file (-o hot.hl replaced the source with the report).
        string source = File.ReadAllText(path);
        var itself = TestSupport.Hlvm("prof", "-o", path, "--format", "html", path);
        Assert.Equal((64, $"hlvm prof: the output '{path}' is the input itself; name another with -o\n"), (itself.ExitCode, itself.Stderr));
        Assert.Equal(source, File.ReadAllText(path));
    }

    /// <summary>
    /// A profile whose stacks seldom repeat (here 6,000 samples each a chain of 5 frames of its own, and 100 chains
    /// of 3 samples each) draws at most Runtime.Profiling.ProfileFormats.MaxDrawnFrames frames in the page and the
    /// SVG, the widest, each with its parent, and says how many it left out: such a profile made a page of 52 MB.
    /// </summary>
    [Fact]
    public void AFlameGraphDrawsAtMostItsBoundOfFramesTheWidestAndSaysHowManyItLeftOut()
    {
        const int Narrow = 6_000, Wide = 100, Depth = 5;
        IEnumerable<string> Chain(string name) => Enumerable.Range(0, Depth).Select(k => $"{name}_{k}");
        var stacks = Enumerable.Range(0, Narrow).Select(i => new Runtime.Profiling.StackSample(["main", "hub", .. Chain($"q{i}x")], 1))
            .Concat(Enumerable.Range(0, Wide).Select(i => new Runtime.Profiling.StackSample(["main", "hub", .. Chain($"wide{i}")], 3)))
            .ToList();
        var profile = new Runtime.Profiling.Profile
        {
            Program = "chains.hl", Samples = Narrow + 3 * Wide, Every = null, Rate = 1000, WallMilliseconds = 6_300,
            MillisecondsPerSample = 1, Functions = [], Stacks = stacks, Lines = [], Collections = 0,
            TotalPause = default, LongestPause = default, AllocatedBytes = 0, Compiles = [], OsrEntries = 0,
        };
        Assert.True(Narrow * Depth > Runtime.Profiling.ProfileFormats.MaxDrawnFrames);
        var tree = Runtime.Profiling.ProfileFormats.Tree(profile);
        // The 1-sample frames, all tied, can't all be drawn: none is; the frames of 3 samples and the trunk are.
        Assert.Equal((2, Narrow * Depth), (tree.Least, tree.Left));
        var json = Runtime.Profiling.ProfileFormats.ToJson(tree, null);
        Assert.Equal((long)Narrow * Depth, json["left"]);
        IEnumerable<string> Names(Dictionary<string, object?> n) => ((List<Dictionary<string, object?>>)n["c"]!).SelectMany(Names).Prepend((string)n["n"]!);
        var drawn = Names(json).ToList();
        Assert.Equal(3 + Wide * Depth, drawn.Count);
        Assert.DoesNotContain(drawn, n => n.StartsWith("q", StringComparison.Ordinal));
        Assert.Contains("wide99_4", drawn);

        string html = Runtime.Profiling.ProfileFormats.Html(profile);
        Assert.Contains($"The graph leaves out {Narrow * Depth:N0} frames", html);
        Assert.DoesNotContain("q0x_0", html);
        string svg = Runtime.Profiling.ProfileFormats.Svg(profile);
        Assert.Contains($"{Narrow * Depth:N0} frames of fewer than 2 samples each are not drawn", svg);
        Assert.DoesNotContain("q0x_0", svg);
    }

    /// <summary>
    /// The flame graph's tree is the stacks' tree, frame by frame, whatever order the stacks come in and whatever a
    /// name holds (here a ';', which a tree keyed by joined names confused with two frames); and the comparison's
    /// page gives each frame of the JIT's graph the ratio of its time to the interpreter's under the same path. The
    /// tree is made without making every frame of the stacks (ProfileFormats.Tree); this checks it against one
    /// made here the plain way.
    /// </summary>
    [Fact]
    public void AFlameGraphsFramesAreTheStacksTreeAndTheComparisonsRatiosFollowTheirPaths()
    {
        var random = new Random(7);
        string[] names = ["main", "a", "b", "a;b", "c"];
        List<Runtime.Profiling.StackSample> Stacks(int count) => Enumerable.Range(0, count)
            .Select(_ => new Runtime.Profiling.StackSample(
                ["main", .. Enumerable.Range(0, random.Next(0, 6)).Select(_ => names[random.Next(names.Length)])], random.Next(1, 5)))
            .ToList();
        Runtime.Profiling.Profile Profile(List<Runtime.Profiling.StackSample> stacks, double msPerSample) => new()
        {
            Program = "p.hl", Samples = stacks.Sum(s => s.Samples), Every = null, Rate = 1000, WallMilliseconds = 100,
            MillisecondsPerSample = msPerSample, Functions = [], Stacks = stacks, Lines = [], Collections = 0,
            TotalPause = default, LongestPause = default, AllocatedBytes = 0, Compiles = [], OsrEntries = 0,
        };
        // Each path from the root (frames joined by a character no name has) with its samples.
        static Dictionary<string, long> Plain(IEnumerable<Runtime.Profiling.StackSample> stacks)
        {
            var paths = new Dictionary<string, long>();
            foreach (var s in stacks)
                for (int k = 0; k <= s.Frames.Length; k++)
                {
                    string path = string.Join('\n', s.Frames.Take(k).Prepend("all"));
                    paths[path] = paths.GetValueOrDefault(path) + s.Samples;
                }
            return paths;
        }
        var interp = Stacks(300);
        var jit = Stacks(300);
        // One stack twice, as two functions of one name make it.
        jit.Add(jit[0] with { Samples = 2 });

        var tree = Runtime.Profiling.ProfileFormats.Tree(Profile(jit, 1));
        Assert.Equal((0, 0), (tree.Least, tree.Left));
        var made = new Dictionary<string, long>();
        void Collect(Runtime.Profiling.ProfileFormats.Node n, string path)
        {
            Assert.True(made.TryAdd(path, n.Samples), $"{path} twice");
            foreach (var c in n.Children.Values) Collect(c, path + "\n" + c.Name);
        }
        Collect(tree.Root, "all");
        Assert.Equal(Plain(jit).OrderBy(p => p.Key, StringComparer.Ordinal), made.OrderBy(p => p.Key, StringComparer.Ordinal));

        var before = Plain(interp);
        string html = new Runtime.Profiling.ProfileComparison(Profile(interp, 2.5), Profile(jit, 1)).Html();
        string data = html[(html.IndexOf("const root = ", StringComparison.Ordinal) + "const root = ".Length)..];
        using var page = JsonDocument.Parse(data[..data.IndexOf(";\nconst timeline", StringComparison.Ordinal)]);
        int frames = 0;
        void Check(JsonElement n, string path)
        {
            frames++;
            double ms = n.GetProperty("s").GetDouble();
            Assert.Equal(made[path] * 1.0, ms);
            var r = n.GetProperty("r");
            if (before.TryGetValue(path, out long old)) Assert.Equal(ms / (old * 2.5), r.GetDouble(), 12);
            else Assert.Equal(JsonValueKind.Null, r.ValueKind);
            foreach (var c in n.GetProperty("c").EnumerateArray()) Check(c, path + "\n" + c.GetProperty("n").GetString());
        }
        Check(page.RootElement, "all");
        Assert.Equal(made.Count, frames);
        Assert.Contains(made.Keys, p => p.Contains("a;b", StringComparison.Ordinal) && !before.ContainsKey(p));
    }

    /// <summary>
    /// A comparison whose interpreter's run waited for its input (a pipe fed slowly), which the JIT's run is then
    /// given at once, gives no speed-up and says why: it showed the JIT 100 times faster. A wait of a few
    /// milliseconds (the console's setting up) changes nothing.
    /// </summary>
    [Fact]
    public void ACompareWhoseInterpreterWaitedForItsInputGivesNoSpeedUp()
    {
        Runtime.Profiling.Profile Profile(double wall) => new()
        {
            Program = "p.hl", Samples = 10, Every = null, Rate = 1000, WallMilliseconds = wall, MillisecondsPerSample = wall / 10,
            Functions = [new Runtime.Profiling.FunctionProfile("main", "p.hl", 10, 10, 1, 10, 0, null, 0)],
            Stacks = [new(["main"], 10)], Lines = [], Collections = 0, TotalPause = default, LongestPause = default,
            AllocatedBytes = 0, Compiles = [], OsrEntries = 0,
        };
        var waited = new Runtime.Profiling.ProfileComparison(Profile(2_100), Profile(40)) { InputWait = TimeSpan.FromSeconds(2) }.Text();
        Assert.StartsWith("hlvm prof --compare: p.hl: the interpreter 2.10 s, the JIT 0.04 s (the interpreter's run waited 2.00 s for standard input, which the JIT's run was given at once: no speed-up is given)\n", waited);
        Assert.Matches(@"\n\s+2100\.0\s+40\.0\s+-\s", waited);
        var brief = new Runtime.Profiling.ProfileComparison(Profile(300), Profile(100)) { InputWait = TimeSpan.FromMilliseconds(4) }.Text();
        Assert.StartsWith("hlvm prof --compare: p.hl: the interpreter 0.30 s, the JIT 0.10 s (3.00 times faster)\n", brief);
        // Nor does its flame graph, which coloured every frame by a speed-up the report refused; nor one of runs the
        // time limit ended. A comparable pair's frames carry their ratio.
        Assert.DoesNotContain("\"r\":", new Runtime.Profiling.ProfileComparison(Profile(2_100), Profile(40)) { InputWait = TimeSpan.FromSeconds(2) }.Html());
        Assert.DoesNotContain("\"r\":", new Runtime.Profiling.ProfileComparison(Profile(1_000), Profile(1_000)) { CutShort = ["interp", "jit"] }.Html());
        Assert.Contains("No speed-up is shown", new Runtime.Profiling.ProfileComparison(Profile(1_000), Profile(1_000)) { CutShort = ["jit"] }.Html());
        Assert.Contains("\"r\":3", new Runtime.Profiling.ProfileComparison(Profile(300), Profile(900)).Html());
        // Runs too short for a sample say so, as a single profile does, under an empty table.
        var none = Profile(1) with { Samples = 0, Functions = [], Stacks = [] };
        Assert.Contains("  no samples: both runs ended before the first one (raise --rate)\n", new Runtime.Profiling.ProfileComparison(none, none).Text());
        // The wait is the time spent in the input's reads.
        var input = new Cli.Commands.RepeatedInput(new SlowReader("line\n", TimeSpan.FromMilliseconds(200)));
        Assert.Equal("line", input.Next().ReadLine());
        Assert.True(input.FirstWaited >= TimeSpan.FromMilliseconds(200), input.FirstWaited.ToString());
    }

    /// <summary>A reader whose input comes after <paramref name="delay"/>, all at once.</summary>
    private sealed class SlowReader(string text, TimeSpan delay) : TextReader
    {
        private readonly StringReader _text = new(text);
        private bool _waited;

        private void Wait()
        {
            if (!_waited) Thread.Sleep(delay);
            _waited = true;
        }

        public override int Peek()
        {
            Wait();
            return _text.Peek();
        }

        public override int Read()
        {
            Wait();
            return _text.Read();
        }
    }

    /// <summary>
    /// A hot function the JIT does not compile (past its size) is said to be so, with why, in its row: the report
    /// showed it at 0% compiled and said nothing, which read as a JIT that had not seen it.
    /// </summary>
    [Fact]
    public void AHotFunctionPastTheJitsLimitsIsSaidNotCompiledAndWhy()
    {
        var body = string.Concat(Enumerable.Range(0, 300).Select(i => $"    if s % {i % 9 + 2} == 1 {{ s = s * 3 + {i} }} else {{ s = s - {i} }}\n"));
        string path = Write($$"""
            fn big(n: int) -> int {
                var s = n
            {{body}}    return s % 1000
            }
            fn main() {
                var total = 0
                for i in 0..2000 { total += big(i) }
                println(total)
            }
            """);
        var result = TestSupport.Hlvm("prof", "--engine", "jit", path);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var row = result.Stderr.Split('\n').Single(l => l.Contains(" big ("));
        Assert.Matches(@" 0%  big \(hot\.hl\) \(not compiled: [\d,]+ instructions, more than the 2,500 the JIT compiles\)$", row);
        Assert.Contains("(compiled at", result.Stderr.Split('\n').Single(l => l.Contains(" main (")));
    }

    /// <summary>
    /// The format of -o's file is plain or the command line is refused before the run (exit 64): a name that says
    /// none needs --format (p.json and out.xyz were written as the text report), --format may not contradict the
    /// name (-o p.svg --format html wrote a page into p.svg), and options that would do nothing are said.
    /// </summary>
    [Fact]
    public void AnOutputsFormatIsThePlainOneOrTheRunIsRefused()
    {
        string path = Write(Program.Replace("150", "2"));
        string In(string name) => Path.Combine(_dir.FullName, name);
        var refused = new (string[] Options, string Said)[]
        {
            (["-o", In("out.xyz")], $"-o '{In("out.xyz")}': its name does not say the format (.html, .svg, .speedscope.json or .json, .folded, .txt); give one with --format"),
            (["-o", "/dev/null"], "-o '/dev/null': its name does not say the format (.html, .svg, .speedscope.json or .json, .folded, .txt); give one with --format"),
            (["-o", In("p.svg"), "--format", "html"], $"-o '{In("p.svg")}' is named for the svg format, but --format says html; leave --format out, or name the file for its format"),
            (["--format", "svg"], "--format is the format of the file -o names, and there is none (the report on stderr is text)"),
            (["--every", "100", "--rate", "10"], "--every takes a sample every N instructions, so --rate (samples a second) would do nothing"),
        };
        foreach (var (options, said) in refused)
        {
            var result = TestSupport.Hlvm(["prof", .. options, path]);
            Assert.Equal((64, $"hlvm prof: {said}\n", ""), (result.ExitCode, result.Stderr.Split("\n")[0] + "\n", result.Stdout));
        }
        Assert.Equal(["hot.hl"], _dir.GetFileSystemInfos().Select(f => f.Name));

        // .json is speedscope's, the one JSON format written; a device takes the format --format gives.
        var json = TestSupport.Hlvm("prof", "--every", "1000", "-o", In("p.json"), path);
        Assert.True(json.ExitCode == 0, json.Stderr);
        using (var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(In("p.json"))))
            Assert.Equal("https://www.speedscope.app/file-format-schema.json", doc.RootElement.GetProperty("$schema").GetString());
        var device = TestSupport.Hlvm("prof", "--every", "1000", "-o", "/dev/null", "--format", "svg", path);
        Assert.True(device.ExitCode == 0, device.Stderr);
        Assert.Contains("hlvm prof: wrote /dev/null (svg)", device.Stderr);
    }

    /// <summary>
    /// A deep recursion's profile is written in every format: a sample keeps at most Profiler.MaxSampledFrames
    /// frames, the middle of a deeper stack as one frame. The HTML page failed past 31 frames (.NET's JSON writer
    /// allows 64 levels), and past some thousands the HTML and SVG writers ended the process (.NET's stack), a
    /// profile of a 20,000-deep recursion taking gigabytes and minutes.
    /// </summary>
    [Fact]
    public void ADeepRecursionsProfileIsWrittenInEveryFormat()
    {
        string path = Write("""
            fn spin(n: int) -> int {
                var s = 0
                for i in 0..n { s += i % 7 }
                return s
            }
            fn rec(d: int) -> int {
                if d == 0 { return spin(2000000) }
                return rec(d - 1) + 1
            }
            fn main() { println(rec(5000)) }
            """);
        foreach (var (name, format) in new[] { ("deep.html", "html"), ("deep.svg", "svg"), ("deep.speedscope.json", "speedscope"), ("deep.folded", "folded") })
        {
            string file = Path.Combine(_dir.FullName, name);
            var result = TestSupport.Hlvm("prof", "--every", "100000", "-o", file, path);
            Assert.True(result.ExitCode == 0, $"{format}: {result.Stderr}");
            string text = File.ReadAllText(file);
            // (Collapsed stacks separate frames by ';' and counts by ' ': a name's spaces become '_'.)
            Assert.Contains(format == "folded" ? Runtime.Profiling.Profiler.ElidedFrames.Replace(' ', '_') : Runtime.Profiling.Profiler.ElidedFrames, text);
            Assert.True(text.Length < 1 << 20, $"{format}: {text.Length} characters");
        }
        // The samples keep rec's outermost and innermost frames, and spin's self time.
        var table = TestSupport.Hlvm("prof", "--every", "100000", path);
        Assert.Matches(@"\n\s+(9\d|100)\.\d%[^\n]*spin \(", table.Stderr);
        // Calls are counted under --every too (every function but main had 0), however deep.
        Assert.Matches(@"\s5,001\s+-\s+rec \(", table.Stderr);
    }

    /// <summary>
    /// A module's names are its author's: a hand-written one may name a function with a line break, an escape
    /// sequence or a control character. Every report shows them made visible: the terminal's table had a forged
    /// line, the text report sent the escape to the terminal, and the SVG was a file no XML reader accepted.
    /// </summary>
    [Fact]
    public void NamesWithControlCharactersAreShownVisibleInEveryReport()
    {
        string module = TestSupport.Assemble(_dir, "names", """
            .module "m"
            .source "m\u{1b}[31m.hlasm"
            .entry main
            .fn "forged\n  99.9%  row\u{1}"() -> void
                .locals int
                iconst 0
                store 0
            l:
                load 0
                iconst 100000
                ige
                jmpif d
                load 0
                iconst 1
                iadd
                store 0
                jmp l
            d:
                retvoid
            .end
            .fn main() -> void
                call "forged\n  99.9%  row\u{1}"
                retvoid
            .end
            """);
        var table = TestSupport.Hlvm("prof", "--every", "1000", module);
        Assert.Equal(0, table.ExitCode);
        Assert.False(table.Stderr.Contains('\u001b'), table.Stderr); // (ordinal: a culture's comparison ignores control characters)
        Assert.DoesNotContain("\n  99.9%  row", table.Stderr);
        Assert.Contains("forged\u240A  99.9%  row\u2401", table.Stderr);
        string svg = Path.Combine(_dir.FullName, "names.svg");
        Assert.Equal(0, TestSupport.Hlvm("prof", "--every", "1000", "-o", svg, module).ExitCode);
        var xml = System.Xml.Linq.XDocument.Load(svg); // throws on a character XML forbids
        Assert.Contains("forged\u240A", xml.ToString());
    }

    /// <summary>--every N takes one sample for each N instructions the program runs, no more: it took twice as many
    /// at --every 1, and charged a run shorter than N a full N.</summary>
    [Fact]
    public void EveryNInstructionsTakesOneSampleForEachN()
    {
        // main's loop runs a known number of instructions: the counts at N = 1 and at N larger than the run.
        string path = Write("fn main() {\n    var s = 0\n    for i in 0..1000 { s += i }\n    println(s)\n}\n");
        var fuel = TestSupport.Hlvm("run", "--engine", "interp", "--fuel", "1000000000", path);
        Assert.Equal(0, fuel.ExitCode);
        var one = TestSupport.Hlvm("prof", "--every", "1", path);
        var n = System.Text.RegularExpressions.Regex.Match(one.Stderr, @"hot.hl: ([\d,]+) samples, one every 1 instructions");
        Assert.True(n.Success, one.Stderr);
        long samples = long.Parse(n.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        // The same count, by the fuel: a budget one short of it runs out.
        var short1 = TestSupport.Hlvm("run", "--engine", "interp", "--fuel", (samples - 1).ToString(CultureInfo.InvariantCulture), path);
        Assert.Equal(75, short1.ExitCode);
        var exact = TestSupport.Hlvm("run", "--engine", "interp", "--fuel", samples.ToString(CultureInfo.InvariantCulture), path);
        Assert.Equal(0, exact.ExitCode);
        var huge = TestSupport.Hlvm("prof", "--every", (samples + 1).ToString(CultureInfo.InvariantCulture), path);
        Assert.Contains("hot.hl: 0 samples", huge.Stderr);
    }

    [Fact]
    public void CompareProfilesAProgramThatExitsWith65AndSaysSlowerWhenTheJitIs()
    {
        // main returning 65 (a compile error's code) ran, and is profiled in both engines; it once looked like a
        // program that had not run and got no comparison.
        string path = Write("fn main() -> int {\n    println(\"bye\")\n    return 65\n}\n");
        var result = TestSupport.Hlvm("prof", "--compare", path);
        Assert.Equal((65, "bye\n"), (result.ExitCode, result.Stdout));
        var head = System.Text.RegularExpressions.Regex.Match(result.Stderr,
            @"^hlvm prof --compare: hot.hl: the interpreter ([\d.]+) s, the JIT ([\d.]+) s \(([\d.]+) times (faster|slower)\)\n");
        Assert.True(head.Success, result.Stderr);
        double interp = double.Parse(head.Groups[1].Value, CultureInfo.InvariantCulture), jit = double.Parse(head.Groups[2].Value, CultureInfo.InvariantCulture);
        // The ratio is at least 1 and its word says which way (the times are rounded, so equal ones fit either).
        Assert.True(double.Parse(head.Groups[3].Value, CultureInfo.InvariantCulture) >= 1, result.Stderr);
        Assert.True(head.Groups[4].Value == "faster" ? interp >= jit : jit >= interp, result.Stderr);
        // A program that does not compile is said to be wrong once, with nothing compared.
        string broken = Write("fn main() {\n    let t = 0\n    t += 1\n}\n");
        var wrong = TestSupport.Hlvm("prof", "--compare", broken);
        Assert.Equal((65, "", TestSupport.Hlvm("run", broken).Stderr), (wrong.ExitCode, wrong.Stdout, wrong.Stderr));
    }

    [Fact]
    public void CompareShowsTheJitFasterOnAHotLoop()
    {
        string path = Write(Program);
        string page = Path.Combine(_dir.FullName, "compare.html");
        // At a high rate: the compiled run takes 20 to 40 ms, and a machine busy with the rest of the suite wakes the
        // profiler's timer late; at the default rate busy could draw no sample, and no speed-up.
        // The times are a measurement on a machine the rest of the suite loads: taken again, up to three times in
        // all, before the JIT is said not to be faster (one that is not fails every time).
        var failures = new List<string>();
        for (int attempt = 0; attempt < 3 && failures.Count == attempt; attempt++)
        {
            var result = TestSupport.Hlvm("prof", "--compare", "--rate", "20000", "-o", page, path);
            Assert.True(result.ExitCode == 0, result.Stderr);
            // The program's output appears once (the interpreter's run); the JIT's run is compared, not shown.
            Assert.Equal(TestSupport.Hlvm("run", path).Stdout, result.Stdout);
            var row = System.Text.RegularExpressions.Regex.Match(result.Stderr, @"^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)x\s+[\d.]+\s+[\d.]+\s+busy$",
                System.Text.RegularExpressions.RegexOptions.Multiline);
            if (!row.Success)
            {
                failures.Add($"no speed-up for busy:\n{result.Stderr}");
                continue;
            }
            double interp = double.Parse(row.Groups[1].Value, CultureInfo.InvariantCulture), jit = double.Parse(row.Groups[2].Value, CultureInfo.InvariantCulture);
            if (!(jit < interp && double.Parse(row.Groups[3].Value, CultureInfo.InvariantCulture) > 1))
                failures.Add($"busy: {interp} ms interpreted, {jit} ms compiled\n{result.Stderr}");
        }
        Assert.True(failures.Count < 3, string.Join("\n---\n", failures));
        string html = File.ReadAllText(page);
        Assert.Contains("hlvm prof --compare", html);
        Assert.Contains("\"r\":", html); // the differential flame graph's ratios
        Assert.Equal(64, TestSupport.Hlvm("prof", "--compare", "--every", "100", path).ExitCode);
        // --engine compare compares outputs, and a profile's report is never the same twice: it points to --compare.
        var engines = TestSupport.Hlvm("prof", "--engine", "compare", path);
        Assert.Equal(64, engines.ExitCode);
        Assert.Equal("hlvm prof: --engine compare compares the engines' output, not their profiles; to profile the program under both engines, use --compare\n", engines.Stderr);
        Assert.Equal("", engines.Stdout);
    }

    /// <summary>
    /// A Ctrl-C (SIGINT) stops a profiled program where it is and the profile of what ran is written, exit 130: an
    /// endless or long program is profiled for as long as its user lets it run. It ended the process with nothing.
    /// </summary>
    [Fact]
    public async Task ACtrlCStopsTheProgramAndWritesItsProfile()
    {
        string path = Write("""
            fn spin() -> int {
                var s = 0
                while true { s += 1 }
                return s
            }
            fn main() {
                println("spinning")
                println(spin())
            }
            """);
        string page = Path.Combine(_dir.FullName, "spin.html");
        // With SIGINT's default action: a process that starts with it ignored (a test host may ignore it) keeps it
        // ignored, .NET's handlers included, as a shell's background jobs do. --timeout bounds the test all the same.
        var psi = new System.Diagnostics.ProcessStartInfo("env", ["--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "hlvm.dll"), "prof", "--timeout", "60s", "-o", page, path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        // The loop runs until the signal: once the process has used more processor time than starting, compiling
        // and loading take (a fraction of a second), it is in the loop. (Its output, to a pipe, is written at the end.)
        while (!p.HasExited && ProcessorSeconds(p.Id) < 1.5) await Task.Delay(50);
        if (p.HasExited) Assert.Fail("the program ended before the signal: " + await stderr);
        Assert.Equal(0, Kill(p.Id, Interrupt));
        await p.WaitForExitAsync();
        string err = await stderr;
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}: {err}");
        Assert.Equal("spinning\n", await stdout);
        Assert.StartsWith("hlvm prof: interrupted (Ctrl-C); the profile of what ran follows\n  at spin (hot.hl:3)\n  at main (hot.hl:8)\n", err);
        Assert.True(Table(err).TryGetValue("spin", out var spin) && spin.Self >= 50, err);
        Assert.Contains($"hlvm prof: wrote {page} (html)", err);
        Assert.Contains("spin", File.ReadAllText(page));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    private const int Interrupt = 2; // SIGINT

    /// <summary>The processor time process <paramref name="pid"/> has used, in seconds, from /proc (user and system
    /// time, in the kernel's clock ticks of 1/100 s).</summary>
    private static double ProcessorSeconds(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return 0; }
        // After the command's name, in parentheses: state is the first field, utime the 12th and stime the 13th.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>
    /// Runs the time limit ended did as much work as the time allowed, not the same work: --compare says so and
    /// gives no speed-up (it reported the JIT "1.03 times slower" on an endless loop both runs were stopped in).
    /// </summary>
    [Fact]
    public void CompareGivesNoSpeedUpBetweenRunsTheTimeLimitEnded()
    {
        string path = Write("""
            fn spin() -> int {
                var s = 0
                while true { s += 1 }
                return s
            }
            fn main() { println(spin()) }
            """);
        var result = TestSupport.Hlvm("prof", "--compare", "--timeout", "300ms", path);
        Assert.Equal(75, result.ExitCode);
        var header = result.Stderr.Split('\n').Single(l => l.StartsWith("hlvm prof --compare:", StringComparison.Ordinal));
        Assert.EndsWith("(the time limit ended both runs: the runs did not do the same work, so no speed-up is given)", header);
        var row = result.Stderr.Split('\n').Single(l => l.EndsWith("  spin", StringComparison.Ordinal));
        Assert.Matches(@"^\s+[\d.]+\s+[\d.]+\s+-\s+[\d.]+\s+[\d.]+  spin$", row);
        // A limit that stops both runs at the same instruction (fuel) leaves them comparable.
        var fuel = TestSupport.Hlvm("prof", "--compare", "--fuel", "30000000", path);
        Assert.Equal(75, fuel.ExitCode);
        Assert.DoesNotContain("did not do the same work", fuel.Stderr);
    }

    /// <summary>
    /// The report says what .NET's compile of each function's CIL took where the JIT's thread knows it: after the
    /// emitting time in the function's row, and in a line of its own with the total and the longest three; a
    /// function whose time is unknown keeps its row as it was, and a run where none is known has no such line.
    /// </summary>
    [Fact]
    public void TheReportSaysWhatDotnetsCompileOfEachFunctionTook()
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        Runtime.Profiling.CompileRecord Record(string name, int cil, double? dotnetMs)
        {
            var r = new Runtime.Profiling.CompileRecord(name, 10, cil, start, TimeSpan.FromMilliseconds(0.5), "calls") { At = TimeSpan.FromMilliseconds(20) };
            if (dotnetMs is { } ms) r.MachineCode.Done(TimeSpan.FromMilliseconds(ms));
            return r;
        }
        var records = new[]
        {
            Record("slow", 8000, 28.5), Record("quick", 400, 1.3), Record("mid", 2000, 4), Record("small", 300, 0.5),
            Record("unknown", 100, null),
        };
        var profile = new Runtime.Profiling.Profile
        {
            Program = "p.hl", Samples = 10, Every = null, Rate = 1000, WallMilliseconds = 10, MillisecondsPerSample = 1,
            Functions = [.. records.Select(r => new Runtime.Profiling.FunctionProfile(r.Function, "p.hl", 1, 1, 1, 0, 1, r, 0))],
            Stacks = [], Lines = [], Collections = 0, TotalPause = TimeSpan.Zero, LongestPause = TimeSpan.Zero,
            AllocatedBytes = 0, Compiles = records, OsrEntries = 0,
        };
        string text = Runtime.Profiling.ProfileFormats.Text(profile);
        Assert.Contains(" slow (p.hl) (compiled at 20 ms in 0.5 ms, then 28.5 ms by .NET: calls)\n", text);
        Assert.Contains(" unknown (p.hl) (compiled at 20 ms in 0.5 ms: calls)\n", text);
        Assert.Contains("\nmachine code: 4 functions compiled by .NET on the JIT's thread in 34.3 ms (the longest: slow 28.5 ms for "
            + "8,000 bytes of CIL, mid 4.0 ms for 2,000, quick 1.3 ms for 400)\n", text);
        var none = profile with { Compiles = [Record("unknown", 100, null)] };
        Assert.DoesNotContain("machine code:", Runtime.Profiling.ProfileFormats.Text(none));
    }
}
