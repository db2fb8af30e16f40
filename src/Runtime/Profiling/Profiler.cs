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

    // What the samples found: stacks (function indices, outermost first, joined by ';') and lines, each with its
    // count; per function (by index), the samples it was on top in each engine and the bytes it allocated.
    // (Counters in classes and arrays rather than dictionaries of value types: .NET compiles those at run time, at
    // the start of every profiled run, since ReadyToRun can't.)
    private readonly Dictionary<string, Counter> _stacks = [];
    private readonly Dictionary<LineKey, Counter> _lines = [];
    private long[] _selfInterpreted = [], _selfCompiled = [], _allocated = [];

    /// <summary>Samples taken in the interpreter in a function whose machine code the JIT's thread was compiling.</summary>
    private long _waiting;

    private sealed class Counter
    {
        public long N;
    }

    private sealed record LineKey(int Function, int Line);
    private long _samples;
    private LoadedModule? _module;
    private Interpreter? _vm;
    private Thread? _timer;
    private volatile bool _stopping;
    private readonly Stopwatch _clock = new();
    private long _start;
    /// <summary>The stack being recorded, as its key: the function numbers from the bottom, each followed by ';'.
    /// (Built by hand: string.Join over ints is generic code .NET compiles at run time, on the program's thread.)</summary>
    private readonly System.Text.StringBuilder _stack = new();
    private readonly List<Pause> _pauses = [];

    /// <summary>Most collections the timeline keeps (the totals count them all).</summary>
    public const int MaxEvents = 10_000;

    /// <summary>.NET's JIT time on the VM's thread when the run started, and during it (<see cref="Profile.DotnetJitTime"/>).</summary>
    private TimeSpan _dotnetJitAtStart, _dotnetJit;

    /// <summary>The run started: the clock, the timer thread, the allocation samples.</summary>
    internal void Started(Interpreter vm)
    {
        _vm = vm;
        _module = vm.Module;
        int functions = vm.Module.Functions.Length;
        _selfInterpreted = new long[functions];
        _selfCompiled = new long[functions];
        _allocated = new long[functions];
        _clock.Start();
        _start = Stopwatch.GetTimestamp();
        _dotnetJitAtStart = System.Runtime.JitInfo.GetCompilationTime(currentThread: true);
        vm.Heap.SampleAllocations(AllocationSampleBytes, Allocated);
        vm.Heap.CollectionObserved = (start, pause) =>
        {
            if (_pauses.Count < MaxEvents) _pauses.Add(new(Stopwatch.GetElapsedTime(_start, start), pause));
        };
        if (Every is not null) return;
        vm.Heap.AllocationPoll = vm.SampleAtAllocation;
        _stopping = false;
        _ticks = _ticksSampled = 0;
        _timer = new Thread(() =>
        {
            var ticker = new Ticker(Rate);
            while (!_stopping)
            {
                ticker.Wait();
                Interlocked.Increment(ref _ticks);
                vm.RequestSample();
            }
        }) { IsBackground = true, Name = "hlvm profiler" };
        _timer.Start();
    }

    internal void Stopped(Interpreter vm)
    {
        _clock.Stop();
        _dotnetJit = System.Runtime.JitInfo.GetCompilationTime(currentThread: true) - _dotnetJitAtStart;
        _stopping = true;
        _timer?.Join();
        _timer = null;
        vm.Heap.SampleAllocations(0, null);
        vm.Heap.AllocationPoll = null;
        vm.Heap.CollectionObserved = null;
    }

    /// <summary>
    /// Most frames of a stack a sample keeps: of a deeper one, the <see cref="OuterSampledFrames"/> outermost and the
    /// innermost, the frames between them as one frame named <see cref="ElidedFrames"/>. Every sample cost work
    /// and memory in its stack's depth, and every report format as much again: a recursion 20,000 deep made a
    /// profile take gigabytes and minutes, crashed the SVG and HTML writers (.NET's stack, and its JSON writer's
    /// limit of 64 levels, which a stack of 32 frames passed). Self time stays exact; a function seen only among
    /// the frames left out is not counted in that sample's totals.
    /// </summary>
    public const int MaxSampledFrames = 256;

    /// <summary>The outermost frames a deeper stack's sample keeps (see <see cref="MaxSampledFrames"/>).</summary>
    public const int OuterSampledFrames = 32;

    /// <summary>The name of the frame that stands for those a deep stack's sample leaves out.</summary>
    public const string ElidedFrames = "[frames left out]";

    /// <summary>Records the stack of the VM's thread, the top frame run by compiled code or the interpreter.</summary>
    internal void Sample(Interpreter vm, bool compiled)
    {
        var frames = vm.Frames;
        if (frames.Length == 0) return;
        // By time, a sample stands for the timer's ticks since the last one: the requests made while the program
        // could not answer (a collection, a long native call, .NET compiling a method at its first call) were
        // one sample, and their time went to every function alike in the report's milliseconds.
        long weight = 1;
        if (Every is null)
        {
            long now = Volatile.Read(ref _ticks);
            weight = Math.Max(1, now - _ticksSampled);
            _ticksSampled = now;
        }
        _samples += weight;
        _stack.Clear();
        if (frames.Length <= MaxSampledFrames)
        {
            foreach (ref readonly var f in frames) _stack.Append(f.Function).Append(';');
        }
        else
        {
            // The outermost frames and the innermost, the middle as one frame of its own (-1).
            foreach (ref readonly var f in frames[..OuterSampledFrames]) _stack.Append(f.Function).Append(';');
            _stack.Append("-1;");
            foreach (ref readonly var f in frames[^(MaxSampledFrames - OuterSampledFrames)..]) _stack.Append(f.Function).Append(';');
        }
        Count(_stacks, _stack.ToString(), weight);
        var top = frames[^1];
        var running = vm.FunctionOf(top);
        // A module without a line table (assembled, or built without one) has no lines to count.
        if (running.LineOf(top.Pc) is var line and > 0) Count(_lines, new LineKey(top.Function, line), weight);
        (compiled ? _selfCompiled : _selfInterpreted)[top.Function] += weight;
        if (!compiled && running.Compiling) _waiting += weight;
    }

    private static void Count<TKey>(Dictionary<TKey, Counter> counts, TKey key, long weight) where TKey : notnull
    {
        if (!counts.TryGetValue(key, out var counter)) counts[key] = counter = new Counter();
        counter.N += weight;
    }

    /// <summary>The timer's ticks so far (each asks for a sample), and the count when the last sample was taken.</summary>
    private long _ticks, _ticksSampled;

    private void Allocated(long bytes)
    {
        if (_vm is null) return;
        var frames = _vm.Frames;
        if (frames.Length == 0) return;
        _allocated[frames[^1].Function] += bytes;
    }

    /// <summary>
    /// A module's name (a function's, a file's) as every report shows it: the module's author chose it, and a
    /// hand-written module may name a function with any characters. Control characters (line breaks and tabs
    /// included) become their visible pictures (U+2400 and on) or U+FFFD, and so do the line and paragraph
    /// separators, the bidirectional overrides and a lone surrogate: a name with a line break forged lines of the
    /// terminal's table, an escape sequence reached the terminal from the text report, and a control character
    /// made the SVG a file no XML reader accepts.
    /// </summary>
    internal static string Shown(string name)
    {
        static bool Hidden(string s, int i) => s[i] is < ' ' or (>= '\x7f' and <= '\x9f') or '\u2028' or '\u2029' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069')
            || Bytecode.Wtf8.IsLoneSurrogate(s, i);
        int first = 0;
        while (first < name.Length && !Hidden(name, first)) first++;
        if (first == name.Length) return name;
        return string.Create(name.Length, name, static (chars, s) =>
        {
            for (int i = 0; i < s.Length; i++)
                chars[i] = !Hidden(s, i) ? s[i] : ControlPictures.Of(s[i]);
        });
    }

    /// <summary>The report: call this after the run. <paramref name="compiles"/> are the JIT's records, if any;
    /// <paramref name="jitThreadTime"/> the time .NET's JIT ran on the JIT's own thread (<see cref="Profile.JitThreadTime"/>).</summary>
    /// <param name="notCompiled">the functions that became hot and were not compiled, by name, each with why</param>
    public Profile Report(IReadOnlyList<CompileRecord>? compiles = null, TimeSpan jitThreadTime = default, IReadOnlyDictionary<string, string>? notCompiled = null)
    {
        var module = _module ?? throw new InvalidOperationException("the profiler has not run");
        var heap = _vm!.Heap;
        double wall = _clock.Elapsed.TotalMilliseconds;
        // A sample stands for an equal share of the run's time (by time), or for N instructions.
        double msPerSample = _samples == 0 ? 0 : wall / _samples;
        // A function's total: the samples of the stacks it is on, counted once per stack however deep it recurs.
        var total = new long[module.Functions.Length];
        var onStack = new int[module.Functions.Length];
        var stacks = new List<StackSample>(_stacks.Count);
        int stackNumber = 0;
        foreach (var (key, count) in _stacks)
        {
            stackNumber++;
            string[] parts = key.Split(';', StringSplitOptions.RemoveEmptyEntries);
            var names = new string[parts.Length];
            for (int k = 0; k < parts.Length; k++)
            {
                int fn = int.Parse(parts[k], System.Globalization.CultureInfo.InvariantCulture);
                if (fn < 0)
                {
                    names[k] = ElidedFrames;
                    continue;
                }
                names[k] = Shown(module.Functions[fn].Name);
                if (onStack[fn] == stackNumber) continue;
                onStack[fn] = stackNumber;
                total[fn] += count.N;
            }
            stacks.Add(new StackSample(names, count.N));
        }
        // In the order of the functions' names, each stack's joined once (not at every comparison).
        var order = new string[stacks.Count];
        for (int k = 0; k < order.Length; k++) order[k] = string.Join(';', stacks[k].Frames);
        var sorted = stacks.ToArray();
        Array.Sort(order, sorted, StringComparer.Ordinal);
        stacks = new List<StackSample>(sorted);
        compiles = (compiles ?? []).Select(c => c with { Function = Shown(c.Function), At = Stopwatch.GetElapsedTime(_start, c.Timestamp), MachineCode = c.MachineCode.Now() }).ToList();
        var compiledAt = new Dictionary<string, CompileRecord>();
        foreach (var c in compiles) compiledAt.TryAdd(c.Function, c);
        var functions = new List<FunctionProfile>();
        foreach (var f in module.Functions)
        {
            if (total[f.Index] == 0 && f.Calls == 0) continue;
            long si = _selfInterpreted[f.Index], sc = _selfCompiled[f.Index];
            compiledAt.TryGetValue(Shown(f.Name), out var compile);
            functions.Add(new FunctionProfile(Shown(f.Name), Shown(f.Def.SourceFile ?? module.Def.SourceFile ?? ""), si + sc, total[f.Index],
                f.Calls, si, sc, compile, _allocated[f.Index])
            {
                NotCompiled = compile is null && notCompiled?.GetValueOrDefault(f.Name) is { } why ? Shown(why) : null,
            });
        }
        functions.Sort((a, b) => a.SelfSamples != b.SelfSamples ? b.SelfSamples.CompareTo(a.SelfSamples)
            : a.TotalSamples != b.TotalSamples ? b.TotalSamples.CompareTo(a.TotalSamples)
            : string.CompareOrdinal(a.Name, b.Name));
        var lines = new List<LineProfile>(_lines.Count);
        foreach (var (key, count) in _lines)
            lines.Add(new LineProfile(Shown(module.Functions[key.Function].Name), Shown(module.Functions[key.Function].Def.SourceFile ?? module.Def.SourceFile ?? ""), key.Line, count.N));
        lines.Sort((a, b) => a.Samples != b.Samples ? b.Samples.CompareTo(a.Samples)
            : string.CompareOrdinal(a.Function, b.Function) is var byName and not 0 ? byName
            : a.Line.CompareTo(b.Line));
        return new Profile
        {
            Program = Shown(module.Def.SourceFile ?? module.Def.Name),
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
            DotnetJitTime = _dotnetJit,
            JitThreadTime = jitThreadTime,
            WaitingSamples = _waiting,
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

    /// <summary>.NET's compile of the function's CIL to machine code, which <see cref="Took"/> does not include:
    /// known where the JIT's thread compiles (tiering). A report's copy of the record keeps what was known when the
    /// report was made.</summary>
    public MachineCodeCompile MachineCode { get; init; } = new();
}

/// <summary>
/// How long .NET's JIT took to compile one function's CIL (its method and entry stub) to machine code on the JIT's
/// thread, set by that thread once it is done, before the function's batch is given its compiled code (the
/// program's thread never compiles that CIL itself). Unknown while the JIT's thread has not reached it, and always
/// with <c>--jit-sync</c> and <c>--engine jit</c>, where .NET compiles each batch on the program's thread when it
/// is emitted.
/// </summary>
public sealed class MachineCodeCompile
{
    private long _ticks = -1;

    /// <summary>The time, or null while unknown.</summary>
    public TimeSpan? Took
    {
        get
        {
            long ticks = Volatile.Read(ref _ticks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }
    }

    internal void Done(TimeSpan took) => Volatile.Write(ref _ticks, took.Ticks);

    /// <summary>A copy with the time known now, which the JIT's thread does not change (a report's).</summary>
    internal MachineCodeCompile Now() => new() { _ticks = Volatile.Read(ref _ticks) };
}

public sealed record FunctionProfile(string Name, string File, long SelfSamples, long TotalSamples, long Calls,
    long InterpretedSamples, long CompiledSamples, CompileRecord? Compiled, long AllocatedBytes)
{
    /// <summary>Why the function, hot, was not compiled (past the JIT's limits), or null.</summary>
    public string? NotCompiled { get; init; }
}

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

    /// <summary>
    /// The time .NET's own JIT ran on the VM's thread during the run: compiling the CIL hlvm's JIT emitted (each
    /// method at its first call, which <see cref="CompileRecord.Took"/> does not include, unless the JIT's thread
    /// compiled it first: <see cref="JitThreadTime"/>) and the runtime's own methods that are not compiled ahead of
    /// time. Several times the time spent emitting the CIL.
    /// </summary>
    public TimeSpan DotnetJitTime { get; init; }

    /// <summary>
    /// The time .NET's JIT ran on the JIT's own thread by the run's end, compiling the CIL hlvm's JIT emitted while
    /// the program went on in the interpreter (tiering; zero with <c>--jit-sync</c> and <c>--engine jit</c>, where
    /// that time is part of <see cref="DotnetJitTime"/>).
    /// </summary>
    public TimeSpan JitThreadTime { get; init; }

    /// <summary>
    /// Samples taken in the interpreter in a function whose machine code the JIT's thread was compiling (tiering):
    /// the time hot code waited for its compile, running interpreted meanwhile. Zero with <c>--jit-sync</c>.
    /// </summary>
    public long WaitingSamples { get; init; }
}
