using System.Globalization;
using System.Text;

namespace Hlvm.Runtime.Profiling;

/// <summary>
/// Two profiles of one program, the interpreter's and the JIT's (<c>hlvm prof --compare</c>): per function, the
/// time in each and the speed-up, and a differential flame graph (the JIT's profile, each frame coloured by how
/// its time compares with the same stack's in the interpreter).
/// </summary>
public sealed class ProfileComparison(Profile interp, Profile jit)
{
    public Profile Interpreted => interp;

    public Profile Compiled => jit;

    /// <summary>The engines whose run the time limit ended (<c>interp</c>, <c>jit</c>): each did as much as the time
    /// allowed, so their times are not the same work's, and no speed-up is given.</summary>
    public IReadOnlyList<string> CutShort { get; init; } = [];

    /// <summary>How long the interpreter's run waited for its standard input (read as it came), which the JIT's run
    /// is then given at once. Past 50 ms and a twentieth of the interpreter's run, the times are not the same work's
    /// and no speed-up is given: a program fed slowly through a pipe showed the JIT 100 times faster. (A read's
    /// time includes .NET's setting up of the console at the first, a few milliseconds.)</summary>
    public TimeSpan InputWait { get; init; }

    private bool WaitedForInput => InputWait.TotalMilliseconds > Math.Max(50, interp.WallMilliseconds / 20);

    /// <summary>Whether the two runs did the same work in comparable time, so that a speed-up means something.</summary>
    private bool Comparable => CutShort.Count == 0 && !WaitedForInput;

    /// <summary>Per function (by name), in milliseconds: total and self time in each profile.</summary>
    public IReadOnlyList<(string Name, double InterpTotal, double JitTotal, double InterpSelf, double JitSelf)> Functions()
    {
        var names = interp.Functions.Select(f => f.Name).Union(jit.Functions.Select(f => f.Name)).ToList();
        double Ms(Profile p, long samples) => samples * p.MillisecondsPerSample;
        return names.Select(n =>
        {
            var a = interp.Functions.FirstOrDefault(f => f.Name == n);
            var b = jit.Functions.FirstOrDefault(f => f.Name == n);
            return (n, Ms(interp, a?.TotalSamples ?? 0), Ms(jit, b?.TotalSamples ?? 0), Ms(interp, a?.SelfSamples ?? 0), Ms(jit, b?.SelfSamples ?? 0));
        }).OrderByDescending(f => f.Item2).ThenBy(f => f.n, StringComparer.Ordinal).ToList();
    }

    public string Text(int max = 25)
    {
        var inv = CultureInfo.InvariantCulture;
        var t = new StringBuilder();
        t.Append(inv, $"hlvm prof --compare: {jit.Program}: the interpreter {interp.WallMilliseconds / 1000:F2} s, the JIT {jit.WallMilliseconds / 1000:F2} s");
        // As the flame graph's tooltips say it: a JIT slower than the interpreter (a short run that is mostly compiling)
        // is "1.36 times slower", not "0.74 times faster".
        if (CutShort.Count > 0)
            t.Append(inv, $" (the time limit ended {(CutShort.Count == 2 ? "both runs" : CutShort[0] == "interp" ? "the interpreter's run" : "the JIT's run")}: the runs did not do the same work, so no speed-up is given)");
        else if (WaitedForInput)
            t.Append(inv, $" (the interpreter's run waited {InputWait.TotalSeconds:F2} s for standard input, which the JIT's run was given at once: no speed-up is given)");
        else if (jit.WallMilliseconds > 0 && interp.WallMilliseconds > 0)
        {
            if (interp.WallMilliseconds >= jit.WallMilliseconds) t.Append(inv, $" ({interp.WallMilliseconds / jit.WallMilliseconds:F2} times faster)");
            else t.Append(inv, $" ({jit.WallMilliseconds / interp.WallMilliseconds:F2} times slower)");
        }
        t.Append("\n\n");
        t.Append(inv, $"{"interp ms",12} {"jit ms",12} {"speed-up",9}   {"self interp",12} {"self jit",12}  function (total time first)\n");
        foreach (var f in Functions().Take(max))
        {
            string speedup = f.JitTotal > 0 && f.InterpTotal > 0 && Comparable ? (f.InterpTotal / f.JitTotal).ToString("F2", inv) + "x" : "-";
            t.Append(inv, $"{f.InterpTotal,12:F1} {f.JitTotal,12:F1} {speedup,9}   {f.InterpSelf,12:F1} {f.JitSelf,12:F1}  {f.Name}\n");
        }
        // A table without rows said nothing of why: as a single profile says it.
        if (interp.Samples == 0 && jit.Samples == 0) t.Append("  no samples: both runs ended before the first one (raise --rate)\n");
        t.Append(inv, $"\njit: {jit.Compiles.Count} function{(jit.Compiles.Count == 1 ? "" : "s")} compiled in {jit.Compiles.Sum(c => c.Took.TotalMilliseconds):F1} ms{ProfileFormats.DotnetJit(jit)}; {jit.OsrEntries} {(jit.OsrEntries == 1 ? "entry" : "entries")} into compiled loops\n");
        return t.ToString();
    }

    /// <summary>The page: the JIT's flame graph in milliseconds, blue where a stack got faster than in the interpreter,
    /// red where slower. Where the runs are not comparable (<see cref="Comparable"/>) the frames carry no ratio and
    /// are coloured as a single profile's: the report gives no speed-up there, and the graph showed one anyway.</summary>
    public string Html()
    {
        var after = ProfileFormats.Tree(jit);
        Func<ProfileFormats.Node, double?>? ratio = null;
        if (Comparable)
        {
            var before = SamplesAlong(after.Root, interp.Stacks);
            ratio = n => before.GetValueOrDefault(n) is > 0 and var old ? n.Samples * jit.MillisecondsPerSample / (old * interp.MillisecondsPerSample) : null;
        }
        var tree = ProfileFormats.ToJson(after, ratio, jit.MillisecondsPerSample);
        tree["u"] = "ms";
        return ProfileFormats.Page($"hlvm prof --compare: {jit.Program}", tree, Text(), Comparable
            ? "The JIT's profile, each frame as wide as its time; blue where that stack took less time than in the interpreter, red where more (the deeper the colour, the larger the change; grey: not in the interpreter's profile). Hover for the speed-up."
            : "The JIT's profile, each frame as wide as its time. No speed-up is shown: the two runs did not do the same work in comparable time (the report says why).");
    }

    /// <summary>For each frame of <paramref name="root"/>, the samples of <paramref name="stacks"/> (another profile's)
    /// under the same path from the root: each stack is followed down the tree as far as the tree has its frames.</summary>
    private static Dictionary<ProfileFormats.Node, long> SamplesAlong(ProfileFormats.Node root, IEnumerable<StackSample> stacks)
    {
        var samples = new Dictionary<ProfileFormats.Node, long>(ReferenceEqualityComparer.Instance);
        foreach (var s in stacks)
        {
            var n = root;
            samples[n] = samples.GetValueOrDefault(n) + s.Samples;
            foreach (var f in s.Frames)
            {
                if (!n.Children.TryGetValue(f, out var child)) break;
                n = child;
                samples[n] = samples.GetValueOrDefault(n) + s.Samples;
            }
        }
        return samples;
    }
}
