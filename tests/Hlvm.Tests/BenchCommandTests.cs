using System.Text.Json;

namespace Hlvm.Tests;

/// <summary><c>hlvm bench</c>: the table and the export say what was timed, consistently; bad input is a usage error.</summary>
public sealed class BenchCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hlvm-bench-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Program(string source)
    {
        string path = Path.Combine(_dir.FullName, "p.hl");
        File.WriteAllText(path, source);
        return path;
    }

    [Fact]
    public void TimesEachEngineAndExportsWhatItPrinted()
    {
        string path = Program("""
            fn main(args: [string]) {
                var s = 0
                for i in 0..args[0].toInt() { s += i }
                println(s)
            }
            """);
        string json = Path.Combine(_dir.FullName, "r.json");
        var result = TestSupport.Hlvm("bench", "--engines", "interp,jit", "--runs", "3", "--warmup", "0", "--export", json, path, "--", "20000");
        Assert.True(result.ExitCode == 0, result.Stderr);
        // The program's own output is discarded; the table names each engine once.
        Assert.DoesNotContain("199990000", result.Stdout);
        Assert.StartsWith($"hlvm bench: {path}, 3 runs per engine with no warm-up, in this process, the engines taking turns\n", result.Stdout);
        Assert.Single(result.Stdout.Split('\n'), l => l.TrimStart().StartsWith("interp ", StringComparison.Ordinal));
        Assert.Single(result.Stdout.Split('\n'), l => l.TrimStart().StartsWith("jit ", StringComparison.Ordinal));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        // Every time in the file (each run's, the mean, sd, min and max) is in the unit it names.
        Assert.Equal("seconds", doc.RootElement.GetProperty("unit").GetString());
        var engines = doc.RootElement.GetProperty("engines").EnumerateArray().ToList();
        Assert.Equal(["interp", "jit"], engines.Select(e => e.GetProperty("engine").GetString()));
        Assert.Equal(1.0, engines[0].GetProperty("ratio").GetDouble(), 9);
        foreach (var e in engines)
        {
            var seconds = e.GetProperty("seconds").EnumerateArray().Select(s => s.GetDouble()).ToList();
            Assert.Equal(3, seconds.Count);
            Assert.All(seconds, s => Assert.True(s > 0));
            Assert.Equal(seconds.Average(), e.GetProperty("mean").GetDouble(), 9);
            Assert.Equal(seconds.Min(), e.GetProperty("min").GetDouble(), 9);
            Assert.Equal(seconds.Max(), e.GetProperty("max").GetDouble(), 9);
        }
        Assert.Equal(engines[1].GetProperty("mean").GetDouble() / engines[0].GetProperty("mean").GetDouble(), engines[1].GetProperty("ratio").GetDouble(), 9);
    }

    /// <summary>One run has no standard deviation: the table shows its time alone (it showed "± 0.0 ms", a spread
    /// that was never measured), the Markdown export a dash, the JSON export null.</summary>
    [Fact]
    public void OneRunHasNoStandardDeviation()
    {
        string path = Program("fn main() { println(1) }");
        string json = Path.Combine(_dir.FullName, "one.json"), md = Path.Combine(_dir.FullName, "one.md");
        foreach (string export in (string[])[json, md])
        {
            var result = TestSupport.Hlvm("bench", "--engines", "interp", "--runs", "1", "--warmup", "1", "--export", export, path);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.StartsWith($"hlvm bench: {path}, 1 run per engine after 1 warm-up,", result.Stdout);
            Assert.DoesNotContain("±", result.Stdout);
            string row = Assert.Single(result.Stdout.Split('\n'), l => l.TrimStart().StartsWith("interp ", StringComparison.Ordinal));
            // The mean, the minimum and the maximum: one time, three times over.
            var times = System.Text.RegularExpressions.Regex.Matches(row, @"[0-9.]+ ms").Select(m => m.Value).ToList();
            Assert.Equal(3, times.Count);
            Assert.All(times, t => Assert.Equal(times[0], t));
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("engines")[0].GetProperty("sd").ValueKind);
        string mdRow = File.ReadAllLines(md)[2];
        Assert.Matches(@"^\| interp \| [0-9.]+ ms \| – \| ", mdRow);
    }

    /// <summary>A program whose main returns an exit code of its own, or that calls env.exit, ended as it meant to:
    /// it is timed (it was refused as "nothing to time", as an error is).</summary>
    [Fact]
    public void AProgramThatReturnsAnExitCodeOfItsOwnIsTimed()
    {
        foreach (string source in (string[])["fn main() -> int { return 2 }", "import std.env\nfn main() { env.exit(3) }"])
        {
            var result = TestSupport.Hlvm("bench", "--runs", "2", "--warmup", "0", Program(source));
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("2 runs per engine", result.Stdout);
            Assert.Single(result.Stdout.Split('\n'), l => l.TrimStart().StartsWith("tiered ", StringComparison.Ordinal));
        }
    }

    /// <summary>Every run reads the same standard input: the runs read none, so a program that needs its input failed
    /// ("nothing to time") and one that reads it was timed reading nothing. A program that throws unless it reads
    /// all of its 1,000 lines runs in each engine, warm-ups included.</summary>
    [Fact]
    public void EveryRunReadsTheSameStandardInput()
    {
        string path = Program("""
            fn main() {
                var n = 0
                var sum = 0
                while true {
                    let line = readLine()
                    if line == null { break }
                    n += 1
                    sum += line.toInt()
                }
                if n != 1000 || sum != 500500 { throw ValueError("read {n} lines summing to {sum}") }
            }
            """);
        string text = string.Concat(Enumerable.Range(1, 1000).Select(i => $"{i}\n"));
        foreach (string warmup in (string[])["0", "2"])
        {
            var result = TestSupport.HlvmWithInput(text, "bench", "--runs", "2", "--warmup", warmup, path);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Single(result.Stdout.Split('\n'), l => l.TrimStart().StartsWith("tiered ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void BadEnginesExportsAndProgramsAreReported()
    {
        string path = Program("fn main() { println(1 / 0) }");
        foreach (var (list, said) in new[]
        {
            ("interp,fast", "'fast' is not an engine"), (",", "a name in the list is empty"), ("interp,,jit", "a name in the list is empty"), ("jit,interp,jit", "'jit' is named twice"),
        })
        {
            var wrong = TestSupport.Hlvm("bench", "--engines", list, path);
            Assert.Equal(64, wrong.ExitCode);
            Assert.Equal($"hlvm bench: --engines: {said} (it takes some of: interp, jit, tiered, each once)\n", wrong.Stderr);
        }
        Assert.Equal(64, TestSupport.Hlvm("bench", "--export", Path.Combine(_dir.FullName, "r.csv"), path).ExitCode);
        // An export that can't be written is said before the runs (this program fails at its first run, exit 70).
        var unwritable = TestSupport.Hlvm("bench", "--export", Path.Combine(_dir.FullName, "missing", "r.json"), path);
        Assert.Equal(73, unwritable.ExitCode);
        Assert.Contains("cannot write", unwritable.Stderr);
        var failing = TestSupport.Hlvm("bench", "--runs", "1", path);
        Assert.Equal(70, failing.ExitCode);
        Assert.Contains("under interp did not end as it meant to (exit 70); nothing to time", failing.Stderr);
        Assert.Contains("DivisionByZeroError", failing.Stderr);
        Assert.Equal(66, TestSupport.Hlvm("bench", Path.Combine(_dir.FullName, "missing.hl")).ExitCode);
    }

    /// <summary>A run that never ends, under --timeout, ends the bench as `hlvm run` ends (exit 75, the limit said),
    /// in every engine; without the option it would hang the bench.</summary>
    [Fact]
    public async Task ATimeoutEndsARunThatNeverEnds()
    {
        string path = Program("""
            fn main() {
                var i = 0
                while true { i += 1 }
            }
            """);
        foreach (var engine in (string[])["interp", "jit", "tiered"])
        {
            // (The bench compiles the program before the runs' time starts.)
            var run = Task.Run(() => TestSupport.Hlvm("bench", "--engines", engine, "--warmup", "0", "--timeout", "300ms", path));
            Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))) == run, $"{engine}: the bench did not end within a minute");
            var result = await run;
            Assert.Equal(75, result.ExitCode);
            Assert.Contains($"under {engine} did not end as it meant to (exit 75); nothing to time", result.Stderr);
            Assert.Contains("hlvm: limit exceeded: the app ran longer than 300ms (--timeout 300ms)", result.Stderr);
        }
    }
}
