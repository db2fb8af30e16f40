using System.Diagnostics;

namespace Hlvm.Tests;

/// <summary>
/// Every program in <c>bench/programs/</c> runs at a small size (its first argument) and prints exactly the line
/// that <c>bench/expected_small.py</c> computes for that size without Hlvm: for the seven peer programs, the
/// functions of the peers' <c>bench.py</c> with the size made a parameter; for the larger programs, the same
/// computation written again in Python (with Python's own json module, heapq and so on). The table below is that
/// script's output; <see cref="TheTableIsWhatTheScriptPrints"/> checks it when python3 is installed. A program
/// without an entry in the table fails, so that none runs unchecked.
/// </summary>
public sealed class BenchProgramTests
{
    private static readonly string Dir = Path.Combine(TestSupport.Root, "bench", "programs");

    /// <summary>
    /// Each program's small size and the line it must print, as <c>python3 bench/expected_small.py</c> prints
    /// them ("NAME SIZE -> LINE"). The sizes keep each run well under a second in a Debug build.
    /// </summary>
    private static readonly Dictionary<string, (int Size, string Line)> Expected = new()
    {
        ["fib"] = (20, "6765"),
        ["loop"] = (100000, "282060600"),
        ["sieve"] = (10000, "1229"),
        ["binarytrees"] = (6, "4398"),
        ["nbody"] = (1000, "-0.169075164 -0.169087605"),
        ["mandelbrot"] = (100, "3963"),
        ["mapcount"] = (20000, "1003 20"),
        ["json"] = (6, "round trip ok: 476 values, 38 records, int sum 676758, 927 string chars, depth 10, " +
            "indented 14659 chars, top tag \"alpha\" 11, active views 313662, best 6 35 27"),
        ["scheduler"] = (500, "events 1586, end 1900, done 640 compute 153 fetch 153 parse 99 batch, retries 21, " +
            "latency 39713, max queue 26, busiest worker 2 1797, top host h10.example 20, histogram 2 buckets, first 15"),
        ["interp"] = (150, "primes 35, longest collatz 121 at 129, fizzbuzz chars 502, counter 1683"),
    };

    /// <summary>The programs of the peers' suite (../shared/peers), which must all have a port here.</summary>
    private static readonly string[] PeerPrograms = ["fib", "loop", "sieve", "binarytrees", "nbody", "mandelbrot", "mapcount"];

    public static TheoryData<string> Programs()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.EnumerateFiles(Dir, "*.hl").Order(StringComparer.Ordinal)) data.Add(Path.GetFileNameWithoutExtension(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public void PrintsTheIndependentlyComputedLineAtASmallSize(string name)
    {
        Assert.True(Expected.TryGetValue(name, out var expected),
            $"bench/programs/{name}.hl has no expected line; add its small size to bench/expected_small.py and its output to {nameof(Expected)}");
        string path = Path.Combine(Dir, name + ".hl");
        string[] flags = ["run", .. TestSupport.RunFlags(), path];
        var result = TestSupport.Hlvm([.. flags, "--", expected.Size.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(expected.Line + "\n", result.Stdout);
    }

    [Fact]
    public void EveryExpectationHasAProgramAndEveryPeerProgramIsPorted()
    {
        var programs = Directory.EnumerateFiles(Dir, "*.hl").Select(Path.GetFileNameWithoutExtension).ToHashSet();
        foreach (var name in Expected.Keys) Assert.True(programs.Contains(name), $"an expected line for {name}, but no bench/programs/{name}.hl");
        foreach (var name in PeerPrograms) Assert.True(programs.Contains(name), $"the peer program {name} has no port in bench/programs");
        Assert.True(programs.Count >= PeerPrograms.Length + 3, "the suite has the seven peer programs and at least three larger ones");
    }

    /// <summary>
    /// The table is the script's output, so that the expectations are those of the independent computation and
    /// not copies of what Hlvm printed. Without python3 there is nothing to compare with, and the test passes.
    /// </summary>
    [Fact]
    public void TheTableIsWhatTheScriptPrints()
    {
        var psi = new ProcessStartInfo("python3", [Path.Combine(TestSupport.Root, "bench", "expected_small.py")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return;
        }
        using (p)
        {
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, "bench/expected_small.py failed: " + stderr);
            var table = Expected.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key} {e.Value.Size} -> {e.Value.Line}");
            var printed = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
            Assert.Equal(table, printed);
        }
    }
}
