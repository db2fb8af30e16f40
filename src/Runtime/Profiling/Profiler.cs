using System.Diagnostics;
using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Profiling;

// ============================================================================================================
// The sampling profiler.
//
// A sample is the VM's own call stack, read from the frame records both engines keep (so compiled and
// interpreted frames appear alike: function, line), on the VM's thread, where the running code already polls
// for a stop: the interpreter at backward branches and calls, compiled code at backward branches and function
// entry; and where it allocates, so that the time of an allocation and of the collection it causes is charged
// to the function allocating. A timer thread asks for one (Interpreter.RequestSample) at the rate; a deterministic mode takes one
// every N instructions instead (the interpreter counts them, as for --fuel), so two runs give the same profile.
// The profile never changes what the program does: a sample reads the frames and writes only here.
// ============================================================================================================

/// <summary>Samples a run's call stack, allocations and collections; <see cref="Profile"/> is the report.</summary>
public sealed class Profiler
{
    /// <param name="rate">samples a second, by time (default 1,000)</param>
    /// <param name="every">or: a sample every this many instructions (deterministic; the run is interpreted)</param>
    public Profiler(int rate = DefaultRate, long? every = null)
    {
        if (rate is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(rate), "the rate is 1 to 100000 samples a second");
        if (every is < 1) throw new ArgumentOutOfRangeException(nameof(every), "a sample every N instructions needs N of 1 or more");
        Rate = rate;
        Every = every;
    }

    public const int DefaultRate = 1000;

    /// <summary>Bytes allocated between two allocation samples.</summary>
    public const long AllocationSampleBytes = 64 << 10;

    public int Rate { get; }

    public long? Every { get; }

    // What the samples found, keyed by function index (stacks outermost first, joined by ';').
    private readonly Dictionary<string, long> _stacks = [];
    private readonly Dictionary<(int Function, int Line), long> _lines = [];
    private readonly Dictionary<int, (long Interpreted, long Compiled)> _self = [];
    private readonly Dictionary<int, long> _allocated = [];
    private long _samples;
    private LoadedModule? _module;
    private Interpreter? _vm;
    private Thread? _timer;
    private volatile bool _stopping;
    private readonly Stopwatch _clock = new();
    private long _start;
    private readonly List<int> _stack = [];
    private readonly List<Pause> _pauses = [];

    /// <summary>Most collections the timeline keeps (the totals count them all).</summary>
    public const int MaxEvents = 10_000;

    /// <summary>The run started: the clock, the timer thread, the allocation samples.</summary>
    internal void Started(Interpreter vm)
    {
        _vm = vm;
        _module = vm.Module;
        _clock.Start();
        _start = Stopwatch.GetTimestamp();
        vm.Heap.SampleAllocations(AllocationSampleBytes, Allocated);
        vm.Heap.CollectionObserved = (start, pause) =>
        {
            if (_pauses.Count < MaxEvents) _pauses.Add(new(Stopwatch.GetElapsedTime(_start, start), pause));
        };
        if (Every is not null) return;
        vm.Heap.AllocationPoll = vm.SampleAtAllocation;
        _stopping = false;
        var interval = TimeSpan.FromSeconds(1.0 / Rate);
        _timer = new Thread(() =>
        {
            while (!_stopping)
            {
                Thread.Sleep(interval);
                vm.RequestSample();
            }
        }) { IsBackground = true, Name = "hlvm profiler" };
        _timer.Start();
    }

    internal void Stopped(Interpreter vm)
    {
        _clock.Stop();
        _stopping = true;
        _timer?.Join();
        _timer = null;
        vm.Heap.SampleAllocations(0, null);
        vm.Heap.AllocationPoll = null;
        vm.Heap.CollectionObserved = null;
    }

    /// <summary>Records the stack of the VM's thread, the top frame run by compiled code or the interpreter.</summary>
    internal void Sample(Interpreter vm, bool compiled)
    {
        var frames = vm.Frames;
        if (frames.Length == 0) return;
        _samples++;
        _stack.Clear();
        foreach (ref readonly var f in frames) _stack.Add(f.Fn.Index);
        string key = string.Join(';', _stack);
        _stacks[key] = _stacks.GetValueOrDefault(key) + 1;
        var top = frames[^1];
        var line = (top.Fn.Index, top.Fn.LineOf(top.Pc));
        _lines[line] = _lines.GetValueOrDefault(line) + 1;
        var (i, c) = _self.GetValueOrDefault(top.Fn.Index);
        _self[top.Fn.Index] = compiled ? (i, c + 1) : (i + 1, c);
    }

    private void Allocated(long bytes)
    {
        if (_vm is null) return;
        var frames = _vm.Frames;
        if (frames.Length == 0) return;
        int fn = frames[^1].Fn.Index;
        _allocated[fn] = _allocated.GetValueOrDefault(fn) + bytes;
    }

    /// <summary>The report: call this after the run. <paramref name="compiles"/> are the JIT's records, if any.</summary>
    public Profile Report(IReadOnlyList<CompileRecord>? compiles = null)
    {
        var module = _module ?? throw new InvalidOperationException("the profiler has not run");
        var heap = _vm!.Heap;
        double wall = _clock.Elapsed.TotalMilliseconds;
        // A sample stands for an equal share of the run's time (by time), or for N instructions.
        double msPerSample = _samples == 0 ? 0 : wall / _samples;
        var total = new Dictionary<int, long>();
        foreach (var (key, n) in _stacks)
        {
            foreach (var fn in key.Split(';').Select(int.Parse).Distinct()) total[fn] = total.GetValueOrDefault(fn) + n;
        }
        string Name(int fn) => module.Functions[fn].Name;
        compiles = (compiles ?? []).Select(c => c with { At = Stopwatch.GetElapsedTime(_start, c.Timestamp) }).ToList();
        var compiledAt = compiles.GroupBy(c => c.Function).ToDictionary(g => g.Key, g => g.First());
        var functions = module.Functions
            .Where(f => total.ContainsKey(f.Index) || f.Calls > 0)
            .Select(f =>
            {
                var (si, sc) = _self.GetValueOrDefault(f.Index);
                compiledAt.TryGetValue(f.Name, out var compile);
                return new FunctionProfile(f.Name, f.Def.SourceFile ?? module.Def.SourceFile ?? "", si + sc, total.GetValueOrDefault(f.Index),
                    f.Calls, si, sc, compile, _allocated.GetValueOrDefault(f.Index));
            })
            .OrderByDescending(f => f.SelfSamples).ThenByDescending(f => f.TotalSamples).ThenBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        var stacks = _stacks
            .Select(kv => new StackSample(kv.Key.Split(';').Select(i => Name(int.Parse(i))).ToArray(), kv.Value))
            .OrderBy(s => string.Join(';', s.Frames), StringComparer.Ordinal)
            .ToList();
        var lines = _lines
            .Select(kv => new LineProfile(Name(kv.Key.Function), module.Functions[kv.Key.Function].Def.SourceFile ?? module.Def.SourceFile ?? "", kv.Key.Line, kv.Value))
            .OrderByDescending(l => l.Samples).ThenBy(l => l.Function, StringComparer.Ordinal).ThenBy(l => l.Line)
            .ToList();
        return new Profile
        {
            Program = module.Def.SourceFile ?? module.Def.Name,
            Samples = _samples,
            Every = Every,
            Rate = Rate,
            WallMilliseconds = wall,
            MillisecondsPerSample = msPerSample,
            Functions = functions,
            Stacks = stacks,
            Lines = lines,
            Collections = heap.Collections,
            TotalPause = heap.TotalPause,
            LongestPause = heap.LongestPause,
            AllocatedBytes = heap.AllocatedBytes,
            Compiles = compiles,
            OsrEntries = _vm.OsrEntries,
            Pauses = _pauses.ToList(),
        };
    }
}

/// <summary>
/// One function compiled by the JIT: when (<see cref="Timestamp"/>, a <see cref="Stopwatch"/> timestamp; in a
/// report, <see cref="At"/> is since the run started), how long it took, and why.
/// </summary>
public sealed record CompileRecord(string Function, int Instructions, int CilBytes, long Timestamp, TimeSpan Took, string Why)
{
    public TimeSpan At { get; init; }
}

public sealed record FunctionProfile(string Name, string File, long SelfSamples, long TotalSamples, long Calls,
    long InterpretedSamples, long CompiledSamples, CompileRecord? Compiled, long AllocatedBytes);

/// <summary>A collection: when it started, since the run started, and how long the program waited.</summary>
public sealed record Pause(TimeSpan At, TimeSpan Took);

/// <summary>A stack seen <see cref="Samples"/> times, outermost frame first.</summary>
public sealed record StackSample(string[] Frames, long Samples);

public sealed record LineProfile(string Function, string File, int Line, long Samples);

/// <summary>What a profiled run did: the report <c>hlvm prof</c> renders (<see cref="ProfileFormats"/>).</summary>
public sealed record Profile
{
    public required string Program { get; init; }
    public required long Samples { get; init; }
    public required long? Every { get; init; }
    public required int Rate { get; init; }
    public required double WallMilliseconds { get; init; }
    public required double MillisecondsPerSample { get; init; }
    public required IReadOnlyList<FunctionProfile> Functions { get; init; }
    public required IReadOnlyList<StackSample> Stacks { get; init; }
    public required IReadOnlyList<LineProfile> Lines { get; init; }
    public required int Collections { get; init; }
    public required TimeSpan TotalPause { get; init; }
    public required TimeSpan LongestPause { get; init; }
    public required long AllocatedBytes { get; init; }
    public required IReadOnlyList<CompileRecord> Compiles { get; init; }
    public required long OsrEntries { get; init; }

    /// <summary>The collections, in order (the first <see cref="Profiler.MaxEvents"/>), for the timeline.</summary>
    public IReadOnlyList<Pause> Pauses { get; init; } = [];
}
