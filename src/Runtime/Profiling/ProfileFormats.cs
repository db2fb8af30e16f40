using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Hlvm.Runtime.Profiling;

/// <summary>
/// The ways a <see cref="Profile"/> is shown: a text report for the terminal, collapsed stacks (flamegraph.pl,
/// inferno), the speedscope file format, a static SVG flame graph, and a self-contained HTML page with an
/// interactive one. In the deterministic mode (<see cref="Profile.Every"/>) every figure is a count of samples
/// or instructions, never a time, so two runs give the same bytes.
/// </summary>
public static class ProfileFormats
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The format a file's name asks for, or null.</summary>
    public static string? FormatOf(string path) =>
        path.EndsWith(".speedscope.json", StringComparison.OrdinalIgnoreCase) ? "speedscope"
        : path.EndsWith(".folded", StringComparison.OrdinalIgnoreCase) ? "folded"
        : path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase) ? "svg"
        : path.EndsWith(".html", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".htm", StringComparison.OrdinalIgnoreCase) ? "html"
        : path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) ? "text"
        // Speedscope's is the one JSON format written (speedscope opens any name).
        : path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? "speedscope"
        : null;

    /// <summary>The endings <see cref="FormatOf"/> knows, as a user reads them.</summary>
    public const string Endings = ".html, .svg, .speedscope.json or .json, .folded, .txt";

    public static readonly string[] Formats = ["text", "folded", "speedscope", "svg", "html"];

    public static string Render(Profile p, string format) => format switch
    {
        "text" => Text(p),
        "folded" => Folded(p),
        "speedscope" => Speedscope(p),
        "svg" => Svg(p),
        "html" => Html(p),
        _ => throw new ArgumentException($"no profile format '{format}' (one of: {string.Join(", ", Formats)})", nameof(format)),
    };

    private static bool Deterministic(Profile p) => p.Every is not null;

    /// <summary>A number of samples as the report shows it: milliseconds, or instructions in the deterministic mode.</summary>
    private static string Amount(Profile p, long samples) =>
        Deterministic(p) ? (samples * p.Every!.Value).ToString("N0", Inv) : (samples * p.MillisecondsPerSample).ToString("F1", Inv);

    private static string Percent(Profile p, long samples) =>
        p.Samples == 0 ? "-" : (100.0 * samples / p.Samples).ToString("F1", Inv) + "%";

    // The text report is written with numbers formatted by their own ToString and no LINQ over value types: .NET
    // compiles the framework's generic code for long, int and double at run time (ReadyToRun can't precompile it
    // for us), and that was most of what printing the report added to a short run.
    public static string Text(Profile p, int maxFunctions = 25, int maxLines = 10)
    {
        var t = new StringBuilder();
        string unit = Deterministic(p) ? "instructions" : "ms";
        t.Append("hlvm prof: ").Append(p.Program).Append(": ").Append(N(p.Samples)).Append(p.Samples == 1 ? " sample, " : " samples, ");
        if (Deterministic(p)) t.Append("one every ").Append(N(p.Every!.Value)).Append(" instructions (deterministic; interpreted)\n");
        else t.Append((p.WallMilliseconds / 1000).ToString("F2", Inv)).Append(" s at ").Append(p.Rate.ToString(Inv)).Append(" a second\n");
        if (p.Samples == 0) t.Append("  no samples: the program ended before the first one (raise --rate, or use --every N)\n");
        t.Append('\n');
        // A column as wide as its heading ("total instructions" is wider than the milliseconds' 14).
        int w = Math.Max(14, ("total " + unit).Length);
        t.Append($"{"self",7} {("self " + unit).PadLeft(w)} {"total",7} {("total " + unit).PadLeft(w)} {"calls",12}  {"compiled",8}  function\n");
        foreach (var f in p.Functions.Take(maxFunctions))
        {
            string share = f.SelfSamples == 0 ? "-" : (100.0 * f.CompiledSamples / f.SelfSamples).ToString("F0", Inv) + "%";
            string compiled = f.Compiled is { } c
                ? Deterministic(p) ? " (compiled: " + c.Why + ")"
                    : " (compiled at " + c.At.TotalMilliseconds.ToString("F0", Inv) + " ms in " + c.Took.TotalMilliseconds.ToString("F1", Inv) + " ms" + ThenDotnet(c) + ": " + c.Why + ")"
                : f.NotCompiled is { } why ? " (not compiled: " + why + ")"
                : "";
            t.Append($"{Percent(p, f.SelfSamples),7} {Amount(p, f.SelfSamples).PadLeft(w)} {Percent(p, f.TotalSamples),7} {Amount(p, f.TotalSamples).PadLeft(w)} {N(f.Calls),12}  {share,8}  {f.Name}{(f.File.Length > 0 ? " (" + f.File + ")" : "")}{compiled}\n");
        }
        if (p.Functions.Count > maxFunctions) t.Append("  ... ").Append((p.Functions.Count - maxFunctions).ToString(Inv)).Append(" more functions\n");
        if (p.Lines.Count > 0)
        {
            t.Append("\nhottest lines\n");
            foreach (var l in p.Lines.Take(maxLines))
                t.Append($"{Percent(p, l.Samples),7} {Amount(p, l.Samples).PadLeft(w)}  {l.File}:{l.Line.ToString(Inv)}  {l.Function}\n");
        }
        t.Append("\ncollector: ").Append(N(p.Collections)).Append(" collections");
        if (!Deterministic(p))
            t.Append(", ").Append(p.TotalPause.TotalMilliseconds.ToString("F1", Inv)).Append(" ms in all, the longest ")
                .Append(p.LongestPause.TotalMilliseconds.ToString("F1", Inv)).Append(" ms");
        t.Append("; ").Append(Bytes(p.AllocatedBytes)).Append(" allocated\n");
        var allocators = new List<FunctionProfile>();
        foreach (var f in p.Functions) if (f.AllocatedBytes > 0) allocators.Add(f);
        allocators.Sort((a, b) => a.AllocatedBytes != b.AllocatedBytes ? b.AllocatedBytes.CompareTo(a.AllocatedBytes) : string.CompareOrdinal(a.Name, b.Name));
        if (allocators.Count > 0)
        {
            t.Append("  allocating most (sampled every ").Append(Bytes(Profiler.AllocationSampleBytes)).Append("): ");
            for (int i = 0; i < Math.Min(5, allocators.Count); i++)
                t.Append(i == 0 ? "" : ", ").Append(allocators[i].Name).Append(' ').Append(Bytes(allocators[i].AllocatedBytes));
            t.Append('\n');
        }
        t.Append("jit: ").Append(p.Compiles.Count.ToString(Inv)).Append(p.Compiles.Count == 1 ? " function" : " functions").Append(" compiled");
        if (!Deterministic(p) && p.Compiles.Count > 0)
        {
            double took = 0;
            foreach (var c in p.Compiles) took += c.Took.TotalMilliseconds;
            t.Append(" in ").Append(took.ToString("F1", Inv)).Append(" ms");
        }
        if (!Deterministic(p)) t.Append(DotnetJit(p));
        t.Append("; ").Append(N(p.OsrEntries)).Append(p.OsrEntries == 1 ? " entry" : " entries")
            .Append(" into compiled loops (on-stack replacement); no deoptimisations (nothing is speculated)\n");
        if (!Deterministic(p) && MachineCode(p.Compiles) is { Length: > 0 } machineCode) t.Append(machineCode).Append('\n');
        if (!Deterministic(p) && p.Compiles.Count > 0 && p.Samples > 0) t.Append(Engines(p));
        return t.ToString();
    }

    /// <summary>What .NET's compile of a function's CIL took, where the JIT's thread knows
    /// (<see cref="MachineCodeCompile"/>): ", then 4.2 ms by .NET".</summary>
    private static string ThenDotnet(CompileRecord c) => c.MachineCode.Took switch
    {
        null => "",
        { } took => ", then " + took.TotalMilliseconds.ToString("F1", Inv) + " ms by .NET",
    };

    /// <summary>A compile and its time as read once. (A class, not a tuple: a list of tuples is the framework's
    /// generic code for a value type, compiled at run time.)</summary>
    private sealed record Timed(CompileRecord Record, TimeSpan Took);

    /// <summary>
    /// The line on .NET's compiles of the CIL, where the JIT's thread made them (tiering): how many functions and how
    /// long, and the longest. Empty where nothing is known. The report's, and the last line of <c>--jit-log</c>.
    /// </summary>
    public static string MachineCode(IReadOnlyList<CompileRecord> compiles)
    {
        // Each time read once: the JIT's thread may still be setting them.
        var timed = new List<Timed>();
        double total = 0;
        foreach (var c in compiles)
        {
            if (c.MachineCode.Took is not { } took) continue;
            timed.Add(new Timed(c, took));
            total += took.TotalMilliseconds;
        }
        if (timed.Count == 0) return "";
        var t = new StringBuilder("machine code: ").Append(timed.Count.ToString(Inv)).Append(timed.Count == 1 ? " function" : " functions")
            .Append(" compiled by .NET on the JIT's thread in ").Append(total.ToString("F1", Inv)).Append(" ms");
        if (timed.Count > 0)
        {
            timed.Sort((a, b) => b.Took.CompareTo(a.Took));
            t.Append(" (the longest: ");
            for (int i = 0; i < Math.Min(3, timed.Count); i++)
                t.Append(i == 0 ? "" : ", ").Append(timed[i].Record.Function).Append(' ')
                    .Append(timed[i].Took.TotalMilliseconds.ToString("F1", Inv)).Append(" ms for ")
                    .Append(timed[i].Record.CilBytes.ToString("N0", Inv)).Append(i == 0 ? " bytes of CIL" : "");
            t.Append(')');
        }
        return t.ToString();
    }

    private static string N(long n) => n.ToString("N0", Inv);

    /// <summary>How the samples divide between the engines: compiled code, and the interpreter, with the part of
    /// it in functions waiting for their machine code (the cost of warming up).</summary>
    private static string Engines(Profile p)
    {
        long compiled = 0;
        foreach (var f in p.Functions) compiled += f.CompiledSamples;
        string Share(long n) => (100.0 * n / p.Samples).ToString("F0", Inv) + "%";
        var t = new StringBuilder("engines: ").Append(Share(compiled)).Append(" of the samples ran compiled code, ")
            .Append(Share(p.Samples - compiled)).Append(" the interpreter");
        // Only where the JIT's thread compiles (not with --jit-sync, where nothing waits).
        if (p.WaitingSamples > 0 || p.JitThreadTime > TimeSpan.Zero)
            t.Append(" (").Append(Share(p.WaitingSamples)).Append(" in functions waiting for their machine code from the JIT's thread)");
        return t.Append('\n').ToString();
    }

    private static string Bytes(long n) => n switch
    {
        >= 1L << 30 => (n / (double)(1L << 30)).ToString("F1", Inv) + " GiB",
        >= 1L << 20 => (n / (double)(1L << 20)).ToString("F1", Inv) + " MiB",
        >= 1L << 10 => (n / 1024.0).ToString("F1", Inv) + " KiB",
        _ => n.ToString(Inv) + " bytes",
    };

    /// <summary>Collapsed stacks: <c>main;fib;fib 123</c>, one line per stack, outermost first.</summary>
    public static string Folded(Profile p)
    {
        var t = new StringBuilder();
        foreach (var s in p.Stacks) t.Append(string.Join(';', s.Frames.Select(Clean))).Append(' ').Append(s.Samples.ToString(Inv)).Append('\n');
        return t.ToString();
    }

    /// <summary>A frame's name with the characters collapsed stacks give a meaning to (';', space, line breaks) replaced.</summary>
    private static string Clean(string name) => name.Replace(';', ':').Replace(' ', '_').Replace('\n', '_').Replace('\r', '_');

    /// <summary>The speedscope file format (https://www.speedscope.app/file-format-schema.json): one sampled profile.</summary>
    public static string Speedscope(Profile p)
    {
        var frames = new List<string>();
        var files = new Dictionary<string, string>();
        var index = new Dictionary<string, int>();
        foreach (var f in p.Functions) files[f.Name] = f.File;
        int Frame(string name)
        {
            if (index.TryGetValue(name, out int i)) return i;
            index[name] = frames.Count;
            frames.Add(name);
            return frames.Count - 1;
        }
        var samples = p.Stacks.Select(s => s.Frames.Select(Frame).ToArray()).ToList();
        double weight = Deterministic(p) ? p.Every!.Value : p.MillisecondsPerSample;
        var weights = p.Stacks.Select(s => s.Samples * weight).ToList();
        var doc = new Dictionary<string, object>
        {
            ["$schema"] = "https://www.speedscope.app/file-format-schema.json",
            ["shared"] = new Dictionary<string, object>
            {
                ["frames"] = frames.Select(n => new Dictionary<string, object> { ["name"] = n, ["file"] = files.GetValueOrDefault(n, "") }).ToList(),
            },
            ["profiles"] = new List<object>
            {
                new Dictionary<string, object>
                {
                    ["type"] = "sampled",
                    ["name"] = p.Program,
                    ["unit"] = Deterministic(p) ? "none" : "milliseconds",
                    ["startValue"] = 0,
                    ["endValue"] = weights.Sum(),
                    ["samples"] = samples,
                    ["weights"] = weights,
                },
            },
            ["name"] = p.Program,
            ["activeProfileIndex"] = 0,
            ["exporter"] = "hlvm prof",
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = false }) + "\n";
    }

    /// <summary>A frame of a flame graph: its samples include its children's.</summary>
    internal sealed class Node(string name)
    {
        public string Name { get; } = name;
        public long Samples;
        public readonly SortedDictionary<string, Node> Children = new(StringComparer.Ordinal);
    }

    /// <summary>A flame graph's frames: the widest of the stacks' tree, at most <see cref="MaxDrawnFrames"/>, each with
    /// its parent; <see cref="Left"/> frames of fewer than <see cref="Least"/> samples each are left out.</summary>
    internal sealed record FlameTree(Node Root, long Least, long Left);

    /// <summary>
    /// The frames <see cref="FlameTree"/> keeps, found without making the whole tree: a program whose stacks seldom
    /// repeat has a frame in it for nearly every level of every sample (16,878 samples of random walks 300 calls
    /// deep made 2.7 million, 600 MB and 5 s to draw, for 20,000 drawn). The stacks, in the order of their frames,
    /// are walked three times, holding only the frames of one stack open: to find the samples of the widest
    /// frames, to count the frames tied with the narrowest of them, and to make the frames kept. A frame has at
    /// least its children's samples, so that the frames kept are a tree.
    /// </summary>
    internal static FlameTree Tree(Profile p)
    {
        var stacks = p.Stacks.ToArray();
        Array.Sort(stacks, static (a, b) => Compare(a.Frames, b.Frames));
        long frames = 0;
        var widest = new PriorityQueue<long, long>(MaxDrawnFrames + 1);
        Walk(stacks, null, (_, samples) =>
        {
            frames++;
            widest.Enqueue(samples, samples);
            if (widest.Count > MaxDrawnFrames) widest.Dequeue();
        });
        long least = 0;
        if (frames > MaxDrawnFrames)
        {
            // The widest MaxDrawnFrames - 1 are all above this; with its ties, there may be too many at it.
            least = widest.Peek();
            long atLeast = 0;
            Walk(stacks, null, (_, samples) => atLeast += samples >= least ? 1 : 0);
            if (atLeast > MaxDrawnFrames) least++;
        }
        var path = new List<Node>();
        Node? root = null;
        long kept = 0;
        Walk(stacks, (name, _) => path.Add(new Node(name)), (depth, samples) =>
        {
            var node = path[depth];
            path.RemoveAt(depth);
            node.Samples = samples;
            if (samples < least) return;
            kept++;
            if (depth > 0) path[depth - 1].Children[node.Name] = node;
            else root = node;
        });
        return new FlameTree(root!, least, frames - kept);
    }

    /// <summary>Stacks in the order of their frames, outermost first (a stack before those it is the start of).</summary>
    private static int Compare(string[] a, string[] b)
    {
        for (int k = 0; k < a.Length && k < b.Length; k++)
            if (string.CompareOrdinal(a[k], b[k]) is var order and not 0) return order;
        return a.Length.CompareTo(b.Length);
    }

    /// <summary>
    /// Walks the tree of <paramref name="sorted"/> (stacks in the order of <see cref="Compare"/>, so that the stacks
    /// under a frame come together) without making it: <paramref name="opened"/> gets each frame as it is met, its
    /// name and depth (the root, "all", at 0); <paramref name="closed"/> gets it once its samples are known, its
    /// depth and samples, children before their parent.
    /// </summary>
    private static void Walk(StackSample[] sorted, Action<string, int>? opened, Action<int, long> closed)
    {
        var open = new List<long> { 0 };
        opened?.Invoke("all", 0);
        string[] previous = [];
        foreach (var s in sorted)
        {
            int common = 0;
            while (common < previous.Length && common < s.Frames.Length && previous[common] == s.Frames[common]) common++;
            for (int depth = open.Count - 1; depth > common; depth--)
            {
                closed(depth, open[depth]);
                open.RemoveAt(depth);
            }
            for (int k = common; k < s.Frames.Length; k++)
            {
                open.Add(0);
                opened?.Invoke(s.Frames[k], k + 1);
            }
            for (int depth = 0; depth < open.Count; depth++) open[depth] += s.Samples;
            previous = s.Frames;
        }
        for (int depth = open.Count - 1; depth >= 0; depth--) closed(depth, open[depth]);
    }

    private const int RowHeight = 18, Width = 1200;

    /// <summary>A static flame graph: the outermost frame at the bottom, each frame as wide as its share of the samples.</summary>
    public static string Svg(Profile p)
    {
        var (root, least, left) = Tree(p);
        int depth = Depth(root);
        int height = (depth + 2) * RowHeight + 24;
        var t = new StringBuilder();
        t.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" font-family=\"monospace\" font-size=\"12\">\n");
        t.Append(CultureInfo.InvariantCulture, $"<text x=\"4\" y=\"16\">{Escape("hlvm prof: " + p.Program)} ({p.Samples:N0} sample{(p.Samples == 1 ? "" : "s")})</text>\n");
        if (left > 0) t.Append(CultureInfo.InvariantCulture, $"<text x=\"4\" y=\"32\">{left:N0} frames of fewer than {least:N0} samples each are not drawn</text>\n");
        void Draw(Node n, double x, double w, int level)
        {
            if (w < 0.5) return;
            double y = height - (level + 1) * RowHeight;
            string title = $"{n.Name}: {Percent(p, n.Samples)}, {n.Samples.ToString(Inv)} sample{(n.Samples == 1 ? "" : "s")}";
            t.Append(CultureInfo.InvariantCulture, $"<g><title>{Escape(title)}</title><rect x=\"{x:F1}\" y=\"{y:F1}\" width=\"{w:F1}\" height=\"{RowHeight - 1}\" fill=\"{Colour(n.Name)}\" rx=\"2\"/>");
            if (w > 30) t.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 3:F1}\" y=\"{y + 13:F1}\">{Escape(Fit(n.Name, w))}</text>");
            t.Append("</g>\n");
            double cx = x;
            foreach (var c in n.Children.Values)
            {
                double cw = n.Samples == 0 ? 0 : w * c.Samples / n.Samples;
                Draw(c, cx, cw, level + 1);
                cx += cw;
            }
        }
        Draw(root, 0, Width, 0);
        t.Append("</svg>\n");
        return t.ToString();
    }

    private static int Depth(Node n) => n.Children.Count == 0 ? 1 : 1 + n.Children.Values.Max(Depth);

    private static string Fit(string name, double width)
    {
        int chars = (int)((width - 6) / 7.2);
        return name.Length <= chars ? name : chars <= 2 ? "" : name[..(chars - 2)] + "..";
    }

    /// <summary>A warm colour chosen by the name, so a function has the same colour everywhere.</summary>
    private static string Colour(string name)
    {
        uint h = 2166136261;
        foreach (char c in name) h = (h ^ c) * 16777619;
        return $"hsl({h % 50},{70 + h / 50 % 20}%,{55 + h / 1000 % 15}%)";
    }

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    /// <summary>The report's words for <see cref="Profile.DotnetJitTime"/>.</summary>
    internal static string DotnetJit(Profile p) =>
        $" (.NET's JIT ran {p.DotnetJitTime.TotalMilliseconds.ToString("F1", Inv)} ms on the VM's thread"
        + (p.Compiles.Count == 0 ? ", compiling the runtime's own code)"
            : p.JitThreadTime > TimeSpan.Zero ? $", compiling the runtime's own code, and {p.JitThreadTime.TotalMilliseconds.ToString("F1", Inv)} ms on the JIT's thread, compiling the CIL to machine code while the program ran)"
            : ": compiling the CIL to machine code as each batch was emitted, and the runtime's own code)");

    /// <summary>
    /// One self-contained page (no network needed): the report's tables and an interactive flame graph drawn by a
    /// small script of ours: click a frame to zoom to it (click the bottom bar to zoom out), type in the search
    /// box to highlight the frames whose name contains the text (or open the page at <c>#search=NAME</c>), hover
    /// for the numbers.
    /// </summary>
    public static string Html(Profile p) => Page("hlvm prof: " + p.Program, ToJson(Tree(p), null), Text(p), legend: null, Timeline(p));

    /// <summary>The timeline lane's events (by time; none in the deterministic mode, whose figures are counts):
    /// collections and compiles, each with its start and length in milliseconds and a label.</summary>
    internal static object? Timeline(Profile p) => Deterministic(p) ? null : new Dictionary<string, object>
    {
        ["wall"] = p.WallMilliseconds,
        ["events"] = p.Pauses.Select(g => new Dictionary<string, object>
            {
                ["k"] = "gc", ["at"] = g.At.TotalMilliseconds, ["ms"] = g.Took.TotalMilliseconds,
                ["t"] = $"collection: {g.Took.TotalMilliseconds.ToString("F2", Inv)} ms at {g.At.TotalMilliseconds.ToString("F0", Inv)} ms",
            })
            .Concat(p.Compiles.Select(c => new Dictionary<string, object>
            {
                ["k"] = "jit", ["at"] = c.At.TotalMilliseconds, ["ms"] = c.Took.TotalMilliseconds,
                ["t"] = $"compiled {c.Function} ({c.Why}): {c.Took.TotalMilliseconds.ToString("F2", Inv)} ms at {c.At.TotalMilliseconds.ToString("F0", Inv)} ms{ThenDotnet(c)}",
            }))
            .ToList(),
    };

    /// <summary>The page: a flame graph of <paramref name="tree"/> (nodes n: name, s: weight, c: children, and in a
    /// differential graph r: the ratio to the other profile, which colours it) above a report.</summary>
    internal static string Page(string title, object tree, string report, string? legend, object? timeline = null)
    {
        // A node is two levels of JSON (the object, its list of children), a stack at most Profiler.MaxSampledFrames.
        string data = JsonSerializer.Serialize(tree, new JsonSerializerOptions { MaxDepth = 2 * Profiler.MaxSampledFrames + 16 });
        var t = new StringBuilder();
        t.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
        t.Append(Escape(title)).Append("</title>\n<style>\n");
        t.Append("""
            body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
            #graph { position: relative; width: 100%; border: 1px solid #ddd; overflow: hidden; }
            .frame { position: absolute; height: 17px; line-height: 17px; font: 12px monospace; overflow: hidden;
                     white-space: nowrap; padding-left: 3px; box-sizing: border-box; border-right: 1px solid #fff; cursor: pointer; }
            .frame.match { background: #e040fb !important; color: #fff; }
            pre { background: #f7f7f7; padding: 8px; overflow-x: auto; }
            #search { width: 240px; }
            #timeline { position: relative; width: 100%; height: 22px; border: 1px solid #ddd; margin-bottom: 4px; background: #fafafa; }
            .event { position: absolute; top: 2px; height: 18px; min-width: 2px; }
            .event.gc { background: #d84315; } .event.jit { background: #6a1b9a; top: 11px; height: 9px; }
            """);
        t.Append("</style></head><body>\n");
        t.Append("<h1>").Append(Escape(title)).Append("</h1>\n");
        if (legend is not null) t.Append("<p>").Append(Escape(legend)).Append("</p>\n");
        t.Append("<p><label>Search <input id=\"search\" placeholder=\"function name\"></label> <span id=\"found\"></span> ");
        t.Append("Click a frame to zoom to it, the bottom bar to zoom out.</p>\n");
        if (timeline is not null)
            t.Append("<p>Timeline of the run: <span style=\"color:#d84315\">&#9632;</span> collections, <span style=\"color:#6a1b9a\">&#9632;</span> JIT compiles (hover for each).</p>\n<div id=\"timeline\"></div>\n");
        if (tree is Dictionary<string, object?> root && root.TryGetValue("left", out var left))
            t.Append(CultureInfo.InvariantCulture, $"<p>The graph leaves out {left:N0} frames, each narrower than the {MaxDrawnFrames:N0} it draws.</p>\n");
        t.Append("<div id=\"graph\"></div>\n<p id=\"hover\">&nbsp;</p>\n");
        t.Append("<h2>Report</h2>\n<pre>").Append(Escape(report)).Append("</pre>\n");
        t.Append("<script>\nconst root = ").Append(data).Append(";\n");
        t.Append("const timeline = ").Append(timeline is null ? "null" : JsonSerializer.Serialize(timeline)).Append(";\n");
        t.Append("""
            const graph = document.getElementById('graph'), hover = document.getElementById('hover');
            const search = document.getElementById('search'), found = document.getElementById('found');
            const rowHeight = 18;
            function depth(n) { return 1 + Math.max(0, ...n.c.map(depth)); }
            function colour(name, ratio) {
              if (ratio !== undefined) {
                // Differential: blue where the second profile is faster, red where slower, grey where alike.
                if (ratio === null) return 'hsl(0,0%,80%)';
                const l = Math.max(0, Math.min(1, Math.abs(Math.log2(ratio)) / 4));
                return ratio < 1 ? `hsl(210,${30 + 60 * l}%,${80 - 30 * l}%)` : `hsl(0,${30 + 60 * l}%,${80 - 30 * l}%)`;
              }
              let h = 2166136261;
              for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
              return `hsl(${h % 50},${70 + Math.floor(h / 50) % 20}%,${55 + Math.floor(h / 1000) % 15}%)`;
            }
            let zoom = root;
            function draw() {
              graph.innerHTML = '';
              const rows = depth(root), width = graph.clientWidth;
              graph.style.height = (rows * rowHeight) + 'px';
              const path = []; for (let n = zoom; n; n = n.parent) path.unshift(n);
              // An ancestor of the zoomed frame is drawn across the whole width, without its other children.
              const place = (n, x, w, level, ancestor) => {
                if (w < 1) return;
                const d = document.createElement('div');
                d.className = 'frame';
                d.textContent = w > 30 ? n.n : '';
                d.style.left = x + 'px'; d.style.width = w + 'px';
                d.style.top = ((rows - level - 1) * rowHeight) + 'px';
                d.style.background = colour(n.n, n.r);
                d.dataset.name = n.n;
                d.title = `${n.n}: ${(100 * n.s / root.s).toFixed(1)}%, ${+n.s.toFixed(1)} ${root.u || (n.s === 1 ? 'sample' : 'samples')}` +
                  (n.r === undefined ? '' : n.r === null ? ' (not in the other profile)' : ` (${n.r < 1 ? (1 / n.r).toFixed(2) + ' times faster' : n.r.toFixed(2) + ' times slower'})`);
                d.onmouseenter = () => { hover.textContent = d.title; };
                d.onclick = () => { zoom = (n === zoom && n.parent) ? n.parent : n; draw(); };
                graph.appendChild(d);
                if (ancestor) return;
                let cx = x;
                for (const c of n.c) { const cw = n.s ? w * c.s / n.s : 0; place(c, cx, cw, level + 1); cx += cw; }
              };
              // The frames from the root down to the zoomed one span the whole width; below it, its children.
              path.forEach((n, i) => { if (n !== zoom) place(n, 0, width, i, true); });
              place(zoom, 0, width, path.length - 1);
              highlight();
            }
            function link(n, parent) { n.parent = parent; n.c.forEach(c => link(c, n)); }
            function highlight() {
              const text = search.value.trim();
              let count = 0;
              for (const d of graph.children) {
                const match = text !== '' && d.dataset.name.includes(text);
                d.classList.toggle('match', match);
                if (match) count++;
              }
              found.textContent = text === '' ? '' : `${count} frames match`;
            }
            function drawTimeline() {
              const lane = document.getElementById('timeline');
              if (!timeline || !lane) return;
              lane.innerHTML = '';
              const width = lane.clientWidth, wall = Math.max(timeline.wall, 1e-9);
              for (const e of timeline.events) {
                const d = document.createElement('div');
                d.className = 'event ' + e.k;
                d.style.left = (width * e.at / wall) + 'px';
                d.style.width = Math.max(2, width * e.ms / wall) + 'px';
                d.title = e.t;
                d.onmouseenter = () => { hover.textContent = e.t; };
                lane.appendChild(d);
              }
            }
            link(root, null);
            drawTimeline();
            // A link may carry a search: profile.html#search=NAME.
            const preset = new URLSearchParams(location.hash.slice(1)).get('search');
            if (preset) search.value = preset;
            search.oninput = highlight;
            window.onresize = () => { draw(); drawTimeline(); };
            draw();
            """);
        t.Append("</script>\n</body></html>\n");
        return t.ToString();
    }

    /// <summary>
    /// A flame graph's frames for the page; with <paramref name="ratio"/>, each node carries r, its ratio to the
    /// other profile. The root's <c>left</c> counts the frames left out.
    /// </summary>
    internal static Dictionary<string, object?> ToJson(FlameTree flame, Func<Node, double?>? ratio, double scale = 1)
    {
        Dictionary<string, object?> Json(Node n)
        {
            var json = new Dictionary<string, object?>
            {
                ["n"] = n.Name,
                ["s"] = n.Samples * scale,
                ["c"] = n.Children.Values.Select(Json).ToList(),
            };
            if (ratio is not null) json["r"] = ratio(n);
            return json;
        }
        var tree = Json(flame.Root);
        if (flame.Left > 0) tree["left"] = flame.Left;
        return tree;
    }

    /// <summary>
    /// Most frames a flame graph draws (the page's, the SVG's). Each sample of a program whose stacks seldom repeat
    /// adds a frame for each of its levels, most of them too narrow to see: 10,000 functions calling one another in
    /// a chain, sampled 14,000 times, made a page of 52 MB (1.7 GB to write, 18 s for a browser to open).
    /// </summary>
    internal const int MaxDrawnFrames = 20_000;
}
