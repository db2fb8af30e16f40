using System.Diagnostics;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;

namespace Hlvm.Jit;

/// <summary>
/// The JIT: compiles hot functions of a verified module to CIL (<see cref="CilEmitter"/>), which .NET compiles to
/// machine code. A function becomes hot in the interpreter (<see cref="ExecutionOptions.JitThreshold"/>); it is
/// compiled together with the functions it calls directly that are not compiled yet (so that they call one another
/// with direct CIL calls), up to <see cref="MaxBatchInstructions"/>. One compiler may serve several VMs, one after
/// another or at once (its compiles take turns under a lock); what it records of them (<see cref="Records"/>,
/// <see cref="Failures"/>, <see cref="NotCompiled"/>) grows with every run it serves, so a host that runs many
/// programs gives each its own.
/// </summary>
public sealed class CilCompiler : ICompiler
{
    /// <summary>Largest function compiled, in bytecode instructions: past about 60,000 bytes of CIL or 2,000 blocks
    /// RyuJIT stops optimising (MinOpts), and such a function runs faster in the interpreter.</summary>
    public const int MaxInstructions = 2_500;

    /// <summary>Most locals of a function compiled (RyuJIT's optimiser gives up past about 2,000 CIL locals).</summary>
    public const int MaxLocals = 1_000;

    /// <summary>Most exception handlers of a function compiled. The compiler makes one or two a <c>try</c>; the
    /// emitter's analyses visit each instruction's handlers, and a module written by hand with thousands of them
    /// over one range took seconds to compile, on the program's thread.</summary>
    public const int MaxHandlers = 256;

    /// <summary>Most instructions compiled in one batch (a hot function and its direct callees).</summary>
    public const int MaxBatchInstructions = 20_000;

    /// <summary>Most bytes of CIL one batch's functions may take together: past it, the callees not yet emitted are
    /// left out (their calls go through the interpreter, which compiles them when they are hot themselves), so that
    /// one compile's CIL, and .NET's work on it, stays bounded whatever the module.</summary>
    public const int MaxBatchCil = 1 << 20;

    /// <summary>How many times a batch is emitted, each time without the functions that failed the last time: a
    /// batch past <see cref="MaxBatchCil"/> leaves out its last callees, and then callees that called them directly
    /// may pass their own bound through the interpreter's entry (<see cref="LoadedFunction.TooLargeAsCallee"/>),
    /// and are left out in turn. Until 2026-12-06 twice: a batch of 240 callees failed both times, and the hot
    /// function and 193 of its callees were declined for good.</summary>
    private const int MaxAttempts = 4;

    /// <summary>What the compiler keeps of a module's run: its compiled functions, by index (a call of one from a
    /// later batch is a direct CIL call), and whether the run counts fuel, is profiled, or is over.</summary>
    internal sealed class Run
    {
        /// <summary>Made at the first compile, so that a run that compiles nothing does not load the code
        /// generator's types (about 2 ms of start-up).</summary>
        public Dictionary<int, DynamicMethod> Methods => _methods ??= [];

        private Dictionary<int, DynamicMethod>? _methods;

        /// <summary>Under tiering, each method given to the Preparer: its function, the record of its compile (which
        /// gets .NET's time), and the methods it calls directly (<see cref="CilEmitter.DirectCalls"/>).</summary>
        public Dictionary<DynamicMethod, Emitted> Queued => _queued ??= [];

        private Dictionary<DynamicMethod, Emitted>? _queued;
        public bool Metered, Profiled;

        /// <summary>The run is over (<see cref="End"/>): nothing more is compiled for it, and what the JIT's thread has
        /// not begun of it is dropped.</summary>
        public volatile bool Ended;

        /// <summary>When the JIT's thread last took a function of this run, or, until it first does, when the run first
        /// queued a batch (<see cref="Preparer"/>'s turns, doubled so that an arrival falls between two turns; read and
        /// written under its lock).</summary>
        internal long Served;
    }

    /// <summary>The runs compiled for, by module, for as long as the module lives (a weak table: the compiler keeps
    /// no module alive); a run's entry is made by <see cref="Begin"/>, or at its first compile, and marked by <see
    /// cref="End"/>.</summary>
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<LoadedModule, Run> _runs = [];

    /// <summary>The lock of <see cref="Compile"/>, <see cref="Begin"/> and <see cref="End"/>: one compiler may serve
    /// several VMs at once, whose compiles then take turns.</summary>
    private readonly Lock _lock = new();

    /// <summary>One line per compiled function (<c>--jit-log</c>), or null.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Functions compiled so far, and the time spent emitting their CIL.</summary>
    public int Compiled { get; private set; }

    public TimeSpan CompileTime { get; private set; }

    /// <summary>The time .NET's JIT has run on the JIT's thread compiling this compiler's CIL (<see cref="Background"/>).</summary>
    public TimeSpan JitThreadTime => TimeSpan.FromTicks(Interlocked.Read(ref _jitThreadTicks));

    private long _jitThreadTicks;

    internal void AddJitThreadTime(TimeSpan took) => Interlocked.Add(ref _jitThreadTicks, took.Ticks);

    /// <summary>
    /// Nothing more is compiled by this compiler, for any run. What <see cref="Background"/> queued and the JIT's
    /// thread has not begun is dropped, so that a run's compiles do not outlast it (the next run of a process that
    /// runs several, <c>hlvm bench</c>'s, would share the second core with them); a later <see cref="Compile"/>
    /// does nothing. (<see cref="End"/> does the same for one module's run, as every VM does when its run ends.)
    /// </summary>
    public void Abandon() => _abandoned = true;

    private volatile bool _abandoned;

    internal bool Abandoned => _abandoned;

    /// <summary>Tiering: .NET compiles the emitted CIL on the JIT's thread (<see cref="Preparer"/>), and each function
    /// keeps running in the interpreter until its machine code is ready (<see cref="LoadedFunction.Compiling"/>);
    /// otherwise at its first call, on the VM's thread.</summary>
    public bool Background { get; set; }

    /// <summary>Count every call of compiled functions in <see cref="LoadedFunction.Calls"/> (a profiler runs).</summary>
    public bool CountCalls { get; init; }

    /// <summary>The functions the JIT failed to emit by an error of its own (a bug; never the CIL's bound), each with
    /// the error: they ran in the interpreter.</summary>
    public IReadOnlyList<string> Failures => _failures;

    private readonly List<string> _failures = [];

    /// <summary>The functions that became hot but are not compiled, each with why (a profile says it).</summary>
    public IReadOnlyDictionary<string, string> NotCompiled => _notCompiled;

    private readonly Dictionary<string, string> _notCompiled = new(StringComparer.Ordinal);

    /// <summary>Says why a function that became hot is not compiled: in <see cref="NotCompiled"/>, and in the log at
    /// once or, from the JIT's thread (<paramref name="later"/>), when the program's thread next writes it (<see
    /// cref="SayLater"/>).</summary>
    private void NotCompiledBecause(LoadedFunction fn, string reason, bool later = false)
    {
        _notCompiled.TryAdd(fn.Name, reason);
        string line = $"jit: {fn.Name}: not compiled ({reason})";
        if (later) _later.Add(line);
        else Log?.Invoke(line);
    }

    /// <summary>Records .NET's refusal of a function's method (<see cref="Failures"/>, <see cref="NotCompiled"/>,
    /// the log): the function is not compiled again.</summary>
    private void RecordRefusal(LoadedFunction fn, Exception e, bool later)
    {
        fn.NotCompiled = true;
        string reason = $".NET refused its CIL: {e.GetType().Name}: {e.Message}";
        _failures.Add($"{fn.Name}: {reason}");
        NotCompiledBecause(fn, reason, later);
    }

    /// <summary>Each function compiled, in order, with when and why.</summary>
    public IReadOnlyList<Runtime.Profiling.CompileRecord> Records => _records;

    private readonly List<Runtime.Profiling.CompileRecord> _records = [];

    /// <inheritdoc/>
    public void Begin(LoadedModule module, bool metered, bool profiled)
    {
        lock (_lock) _runs.AddOrUpdate(module, new Run { Metered = metered, Profiled = profiled });
    }

    /// <inheritdoc/>
    public void End(LoadedModule module)
    {
        lock (_lock)
        {
            if (_runs.TryGetValue(module, out var run)) run.Ended = true;
            SayLater();
        }
    }

    /// <summary>
    /// .NET refused to compile the method of <paramref name="fn"/> (a bug of the emitter's: its CIL is invalid),
    /// found on the JIT's thread before any code of the batch being compiled, <paramref name="batch"/>, was given
    /// out. The function is not compiled again (its calls go through the interpreter); later batches call directly
    /// neither it, nor the batch's methods, nor any method that reaches it, and the batch's functions may be
    /// compiled again. Its log line waits for the program's thread (<see cref="SayLater"/>), which writes the log.
    /// </summary>
    internal void Refused(Run run, LoadedFunction fn, DynamicMethod method, Exception e, Prepared[] batch)
    {
        lock (_lock)
        {
            // No later batch calls directly the refused method, the batch's, or any method that reaches the refused
            // one by direct calls (of an older batch still waiting, which will be refused in turn): a batch emitted
            // before that older batch's turn would call it, be refused, be emitted again, and so on while the
            // program runs, the newest batch always first.
            var reaching = new HashSet<DynamicMethod> { method };
            foreach (var p in batch) reaching.Add(p.Body);
            for (bool grew = true; grew;)
            {
                grew = false;
                foreach (var (m, emitted) in run.Queued)
                {
                    if (reaching.Contains(m)) continue;
                    foreach (var callee in emitted.Calls)
                    {
                        if (!reaching.Contains(callee)) continue;
                        grew = reaching.Add(m);
                        break;
                    }
                }
            }
            foreach (var m in reaching)
            {
                var of = m == method ? fn : run.Queued.TryGetValue(m, out var queued) ? queued.Function : null;
                if (of is not null && run.Methods.TryGetValue(of.Index, out var kept) && kept == m) run.Methods.Remove(of.Index);
            }
            // A method refused in one batch is refused again in another that calls it (once each): said once.
            if (!fn.NotCompiled) RecordRefusal(fn, e, later: true);
        }
    }

    /// <summary>The log lines made on the JIT's thread, not written yet.</summary>
    private readonly List<string> _later = [];

    /// <summary>Writes the log lines made on the JIT's thread (under the lock, on the program's thread).</summary>
    private void SayLater()
    {
        if (_later.Count == 0) return;
        foreach (string line in _later) Log?.Invoke(line);
        _later.Clear();
    }

    public void Compile(LoadedModule module, LoadedFunction fn, string why)
    {
        lock (_lock)
        {
            SayLater();
            if (_abandoned) return;
            if (!Compilable(fn))
            {
                NotCompiledBecause(fn, NotCompilableBecause(fn));
                return;
            }
            var run = _runs.GetValue(module, _ => new Run());
            if (run.Ended) return;
            // A batch with a function that can't be compiled (its CIL past CilEmitter.MaxCil, or an error of the
            // emitter's) is emitted again without it; callees past the batch's CIL are left out likewise. Each
            // attempt leaves out at least one function more; after MaxAttempts the whole batch stays interpreted.
            var left = new HashSet<LoadedFunction>();
            for (int attempt = 0; attempt < MaxAttempts && !fn.NotCompiled; attempt++)
                if (TryBatch(module, run, fn, why, left, lastAttempt: attempt == MaxAttempts - 1)) return;
        }
    }

    /// <summary>
    /// Emits the batch of <paramref name="fn"/>, leaving out the functions in <paramref name="left"/>; true when it
    /// was compiled. Otherwise nothing of it is kept, the functions that failed are marked <see
    /// cref="LoadedFunction.NotCompiled"/> (said in the log), and those to leave out next time are added to
    /// <paramref name="left"/>.
    /// </summary>
    private bool TryBatch(LoadedModule module, Run run, LoadedFunction fn, string why, HashSet<LoadedFunction> left, bool lastAttempt)
    {
        // The batch: fn and, breadth first, the functions its code calls directly that are not compiled yet,
        // and those its method calls reach where the emitter calls them directly (one target, or a few classes).
        bool[]? ran = null;
        if (run.Profiled)
        {
            ran = new bool[module.Functions.Length];
            foreach (var f in module.Functions) ran[f.Index] = f.Hotness > 0 || f.Compiled is not null;
        }
        var batch = new List<LoadedFunction> { fn };
        var seen = new bool[module.Functions.Length];
        seen[fn.Index] = true;
        int size = fn.Code.Length;
        void Add(LoadedFunction callee)
        {
            if (seen[callee.Index]) return;
            seen[callee.Index] = true;
            // Compiling before Compiled: the JIT's thread sets Compiled, then clears Compiling (see Interpreter.TierUp).
            if (callee.Compiling || Volatile.Read(ref callee.Compiled) is not null || callee.NotCompiled || callee.TooLargeAsCallee || !Compilable(callee) || left.Contains(callee)) return;
            if (ran is not null && OffTheHotPath(callee, fn)) return;
            if (size + callee.Code.Length > MaxBatchInstructions) return;
            size += callee.Code.Length;
            batch.Add(callee);
        }
        for (int i = 0; i < batch.Count; i++)
        {
            foreach (var ins in batch[i].Code)
            {
                if (ins.Op == Opcode.Call) Add(module.Functions[ins.A]);
                else if (ins.Op is Opcode.CallVirt or Opcode.CallIface)
                    foreach (var target in CilEmitter.DirectTargets(module, ins, ran)) Add(target);
            }
        }
        var methods = new List<DynamicMethod>();
        foreach (var f in batch)
        {
            var method = new DynamicMethod($"hlvm:{f.Name}", typeof(long), CilEmitter.Signature(f), typeof(CilCompiler).Module, skipVisibility: true)
            {
                InitLocals = false, // see CilEmitter.Emit
            };
            run.Methods[f.Index] = method;
            methods.Add(method);
        }
        var ready = new Prepared[batch.Count];
        var lines = new string?[batch.Count];
        var calls = new DynamicMethod[batch.Count][];
        bool failed = false;
        long cil = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            var f = batch[i];
            if (cil > MaxBatchCil)
            {
                // The batch's CIL is past its bound: the callees not emitted yet are left out.
                for (int j = i; j < batch.Count; j++) left.Add(batch[j]);
                failed = true;
                break;
            }
            long startedAt = Stopwatch.GetTimestamp();
            var clock = Stopwatch.StartNew();
            CilEmitter emitter;
            int bytes;
            CompiledCode code;
            DynamicMethod stub;
            try
            {
                emitter = new CilEmitter(module, f, methods[i], run.Methods, CountCalls, run.Metered, ran);
                bytes = emitter.Emit();
                stub = CilEmitter.EntryStub(f, methods[i]);
                code = (CompiledCode)stub.CreateDelegate(typeof(CompiledCode));
            }
            catch (Exception e)
            {
                left.Add(f);
                failed = true;
                if (e is CilEmitter.TooLarge && f != fn && left.Count > 1)
                {
                    // A callee past its bound in a batch that left out a function before it (`left` holds f too):
                    // its callers call what was left out through the interpreter's entry, longer CIL, so the bound
                    // is decided in the callee's own batch, when it is hot.
                    f.TooLargeAsCallee = true;
                    continue;
                }
                // Not compiled, for good: it runs in the interpreter, which gives the same results. The error is
                // the compiler's, never the program's (an OutOfMemoryException here is not the program's heap).
                // One that is not the CIL's bound is a bug of the emitter's: kept in Failures, which the fuzzer
                // checks, since the program's results alone would not show it.
                f.NotCompiled = true;
                string reason = e is CilEmitter.TooLarge ? e.Message : $"the JIT failed: {e.GetType().Name}: {e.Message}";
                if (e is not CilEmitter.TooLarge) _failures.Add($"{f.Name}: {reason}");
                NotCompiledBecause(f, reason);
                continue;
            }
            clock.Stop();
            cil += bytes;
            calls[i] = [.. emitter.DirectCalls];
            var record = new Runtime.Profiling.CompileRecord(f.Name, f.Code.Length, bytes, startedAt, clock.Elapsed, f == fn ? why : "called by " + fn.Name);
            ready[i] = new(f, methods[i], stub, code, record);
            string inlined = emitter.Inlined.Count == 0 ? "" : "; in place: " + string.Join(", ", emitter.Inlined);
            lines[i] = $"jit: {f.Name}: {f.Code.Length} instructions -> {bytes} bytes of CIL in {clock.Elapsed.TotalMilliseconds:0.###} ms ({record.Why}){inlined}";
        }
        // No code is given out before .NET has compiled it and every method it calls directly: compiled code that
        // .NET refused (a bug of the emitter's) would fail at its first call, in the middle of a compiled caller,
        // where the interpreter can't take over. On the JIT's thread that is the Preparer's work; otherwise it is
        // done here, which is when the first calls would have compiled the batch's methods.
        bool background = Background && Preparer.Available;
        if (!failed && !background && Preparer.Available && !PreparedHere(ready, left)) failed = true;
        if (failed)
        {
            // Nothing of the batch is kept: its functions' methods may call the ones that failed.
            foreach (var f in batch) run.Methods.Remove(f.Index);
            if (lastAttempt && !fn.NotCompiled)
            {
                fn.NotCompiled = true;
                NotCompiledBecause(fn, $"its batch failed {MaxAttempts} times");
            }
            return false;
        }
        for (int i = 0; i < batch.Count; i++)
        {
            var (f, _, _, code, record) = ready[i];
            if (background) f.Compiling = true;
            else f.Compiled = code;
            Compiled++;
            CompileTime += record.Took;
            _records.Add(record);
            if (background) run.Queued[ready[i].Body] = new(f, record, calls[i]);
            Log?.Invoke(lines[i]!);
        }
        if (background)
        {
            // The methods of earlier batches its code reaches by direct calls may not be compiled yet (their batch
            // waits): the Preparer compiles them first.
            var reached = new HashSet<DynamicMethod>(methods);
            var called = new List<(LoadedFunction, DynamicMethod, Runtime.Profiling.CompileRecord)>();
            var next = new Stack<DynamicMethod>();
            foreach (var c in calls) foreach (var method in c) next.Push(method);
            while (next.TryPop(out var method))
            {
                if (!reached.Add(method)) continue;
                // (One not given to the Preparer was compiled where it was emitted.)
                if (!run.Queued.TryGetValue(method, out var emitted)) continue;
                called.Add((emitted.Function, method, emitted.Record));
                foreach (var further in emitted.Calls) next.Push(further);
            }
            Preparer.Queue(this, run, ready, [.. called]);
        }
        return true;
    }

    /// <summary>Has .NET compile the batch's methods on this thread (no JIT's thread: .NET's time is in the program's,
    /// as when its first calls compiled them); false, the function refused marked and left out, when .NET refuses one.</summary>
    private bool PreparedHere(Prepared[] ready, HashSet<LoadedFunction> left)
    {
        foreach (var p in ready)
        {
            try
            {
                Preparer.Prepare(p.Body);
                if (p.Stub != p.Body) Preparer.Prepare(p.Stub);
            }
            catch (MissingMethodException) when (!Preparer.Available)
            {
                return true; // another .NET: its methods are compiled at their first calls
            }
            catch (Exception e)
            {
                RecordRefusal(p.Function, e, later: false);
                left.Add(p.Function);
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Under tiering, whether a callee has run, but so much less often than the hot function that it is not on the
    /// path that made it hot (a `main` hot by its loop calls its set-up functions once): such a callee is left out
    /// of the batch, as a function that runs rarely is not worth compiling, and its compile would come before the
    /// hot function's on the JIT's thread (a batch compiles from its last function to the first). A call of it
    /// goes through <see cref="Interpreter.Invoke"/>, which compiles it if it becomes hot. A callee that has not run
    /// yet stays in the batch: the hot path may be about to call it.
    /// </summary>
    private static bool OffTheHotPath(LoadedFunction callee, LoadedFunction hot) =>
        callee.Hotness > 0 && (long)callee.Hotness * RarelyRatio < hot.Hotness;

    /// <summary>How many times less often than the hot function a callee has run when it is left out of the batch.</summary>
    private const int RarelyRatio = 16;

    /// <summary>Whether a function is within the limits of what is compiled (<see cref="MaxInstructions"/>, <see
    /// cref="MaxLocals"/>, <see cref="MaxHandlers"/>).</summary>
    public static bool Compilable(LoadedFunction fn) =>
        fn.Code.Length <= MaxInstructions && fn.LocalCount <= MaxLocals && fn.Handlers.Length <= MaxHandlers;

    /// <summary>Why a function is not <see cref="Compilable"/>, as the log and the profile say it.</summary>
    private static string NotCompilableBecause(LoadedFunction fn)
    {
        var (count, limit, what) = fn.Code.Length > MaxInstructions ? (fn.Code.Length, MaxInstructions, "instructions")
            : fn.LocalCount > MaxLocals ? (fn.LocalCount, MaxLocals, "locals")
            : (fn.Handlers.Length, MaxHandlers, "exception handlers");
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{count:N0} {what}, more than the {limit:N0} the JIT compiles");
    }
}

/// <summary>
/// Has .NET compile batches of emitted methods to machine code on a thread of its own, the newest batch first
/// (<see cref="Work"/>), each batch's functions from the last called to the hot one (so that the hot one's direct
/// callees are machine code when it starts), and gives each function its compiled code once its method and entry
/// stub are machine code; until then the function runs in the interpreter. One thread for the process, started at
/// the first batch.
/// </summary>
/// <remarks>
/// .NET compiles a <c>DynamicMethod</c> at its first call and has no public way to compile one without calling
/// it. <see cref="RuntimeHelpers.PrepareMethod(RuntimeMethodHandle)"/> compiles a method given its handle, which a
/// <c>DynamicMethod</c> keeps to itself (its internal <c>GetMethodDescriptor</c>), reached here through an
/// <see cref="UnsafeAccessorAttribute"/> (finding it by reflection took 1.8 ms of a run's first compile, on the
/// program's thread). Where that member is missing (another .NET), the first compile finds out, <see cref="Available"/>
/// turns false, and every function from then on is compiled at its first call.
/// </remarks>
internal static class Preparer
{
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "GetMethodDescriptor")]
    private static extern RuntimeMethodHandle MethodDescriptor(DynamicMethod method);

    private static volatile bool _missing;

    /// <summary>The batches not compiled yet, the newest last, each with the position of its next function.</summary>
    private static readonly List<Pending> Batches = [];
    private static Thread? _worker;

    /// <summary>Functions taken so far, the clock of <see cref="CilCompiler.Run.Served"/> (under the lock).</summary>
    private static long _turns;

    private sealed class Pending(CilCompiler owner, CilCompiler.Run run, Prepared[] batch, (LoadedFunction, DynamicMethod, Runtime.Profiling.CompileRecord)[] called)
    {
        public CilCompiler Owner { get; private set; } = owner;
        private CilCompiler.Run _run = run;
        public CilCompiler.Run Run => _run;
        public readonly Prepared[] Batch = batch;
        public int Next = batch.Length - 1;

        /// <summary>The methods of earlier batches that the batch's code reaches by direct calls, compiled at its
        /// first turn (each with its own batch's record of it).</summary>
        public (LoadedFunction Function, DynamicMethod Method, Runtime.Profiling.CompileRecord Record)[] Called = called;

        /// <summary>No code of the batch is given out: what it has not compiled yet is not compiled, and what it
        /// has is dropped; its functions may be compiled again in a later batch.</summary>
        public void GiveUp()
        {
            for (int i = 0; i < Batch.Length; i++) Batch[i].Function.Compiling = false;
            Next = -1;
        }

        /// <summary>Nothing more of it is wanted: its compiler was abandoned, or its module's run is over.</summary>
        public bool Dropped => Owner.Abandoned || _run.Ended;

        /// <summary>Lets go of the batch's functions, code and compiler once it is done with: a reference to it
        /// that a frame of the JIT's thread still holds (unoptimised code keeps its temporaries to the method's
        /// end) then keeps nothing of the run alive.</summary>
        public void Forget()
        {
            Array.Clear(Batch);
            Called = [];
            Owner = null!;
            _run = null!;
        }
    }

    public static bool Available => !_missing;

    /// <summary>Called on the JIT's thread before each function's compile, with its method (tests watch the order
    /// with it, and compile the method elsewhere first).</summary>
    internal static Action<LoadedFunction, DynamicMethod>? BeforeCompile;

    public static void Queue(CilCompiler owner, CilCompiler.Run run, Prepared[] batch, (LoadedFunction, DynamicMethod, Runtime.Profiling.CompileRecord)[] called)
    {
        lock (Batches)
        {
            // A run arriving counts as served now, just before the latest turn: it goes before the run served last,
            // and after the runs served before it came. Counted as never served, each new run went before all of
            // them, and a host starting isolates faster than a function compiles kept its older ones interpreted.
            if (run.Served == 0) run.Served = 2 * _turns - 1;
            Batches.Add(new Pending(owner, run, batch, called));
            if (_worker is null)
            {
                // A background thread: a run that ends does not wait for compiles it no longer needs. Kept once it
                // has started, so that a start that failed is tried again by the next batch.
                var worker = new Thread(Work) { IsBackground = true, Name = "hlvm jit" };
                worker.Start();
                _worker = worker;
            }
            else Monitor.Pulse(Batches);
        }
    }

    /// <summary>
    /// Compiles one function at a time. The runs with functions waiting take turns, the one served longest ago
    /// first, so that an isolate that keeps making functions hot does not hold back the compiles of the others in
    /// the process. Within a run, its newest batch comes first: a function that became hot while an older batch
    /// compiles is what the program runs now (a sort's comparison, made hot by the sort that a `main` compiled for
    /// its loop has just started), and the older batch goes on after it. Between functions, the thread holds
    /// nothing of a batch (<see cref="Next"/> and <see cref="CompileOne"/> keep it in their own frames), so that an
    /// idle thread does not keep the last run's module and compiled code alive.
    /// </summary>
    private static void Work()
    {
        while (true) CompileOne(Next());
    }

    /// <summary>Waits for a batch with a function left to compile and takes the next one's turn.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Pending Next()
    {
        lock (Batches)
        {
            while (true)
            {
                while (Batches.Count == 0) Monitor.Wait(Batches);
                if (Choose() is { } pending)
                {
                    pending.Run.Served = 2 * ++_turns;
                    return pending;
                }
            }
        }
    }

    /// <summary>The newest batch of the run served longest ago; the batches done or dropped on the way are removed.
    /// Null when none is left. (A method of its own: the batch looked at is not left in the frame that waits.)</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Pending? Choose()
    {
        Pending? chosen = null;
        for (int i = Batches.Count - 1; i >= 0; i--)
        {
            var pending = Batches[i];
            if (pending.Next < 0 || pending.Dropped)
            {
                Batches.RemoveAt(i);
                // Dropped before its code was given out (at its last function): none of it is being compiled any
                // more (a module run again may compile it).
                if (pending.Next >= 0) pending.GiveUp();
                pending.Forget();
            }
            // Newest first, so that a run's first batch met is its newest, kept unless a run served earlier comes.
            else if (chosen is null || pending.Run.Served < chosen.Run.Served) chosen = pending;
        }
        return chosen;
    }

    /// <summary>
    /// Compiles the next function of <paramref name="pending"/> (at the batch's first turn, the methods of earlier
    /// batches it reaches first), and once its last is compiled, gives every function of the batch its code. Code is
    /// given out only when .NET has compiled it and every method it reaches by direct calls: a method .NET refuses (a bug
    /// of the emitter's) would otherwise fail at its first call, in the middle of a compiled caller, where the
    /// interpreter can't take over. A refusal gives the batch up (<see cref="CilCompiler.Refused"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CompileOne(Pending pending)
    {
        if (pending.Next == pending.Batch.Length - 1)
        {
            foreach (var (callee, method, record) in pending.Called)
                if (!Compiled(pending, callee, method, record)) return;
        }
        var (f, body, stub, _, rec) = pending.Batch[pending.Next];
        BeforeCompile?.Invoke(f, body);
        if (!Compiled(pending, f, body, rec, stub)) return;
        if (pending.Next-- > 0) return;
        // The hot function last: the batch's callees have their code when it starts.
        for (int i = pending.Batch.Length - 1; i >= 0; i--)
        {
            var done = pending.Batch[i];
            Volatile.Write(ref done.Function.Compiled, done.Code);
            done.Function.Compiling = false;
        }
    }

    /// <summary>Has .NET compile a function's method (and its entry stub) and records the time on the function's
    /// record, unless an earlier turn compiled it; false, the batch given up, when .NET refuses it.</summary>
    private static bool Compiled(Pending pending, LoadedFunction f, DynamicMethod body, Runtime.Profiling.CompileRecord record, DynamicMethod? stub = null)
    {
        var jitBefore = System.Runtime.JitInfo.GetCompilationTime(currentThread: true);
        try
        {
            Prepare(body);
            if (stub is not null && stub != body) Prepare(stub);
        }
        catch (MissingMethodException) when (_missing)
        {
            // Another .NET: from now on, methods are compiled at their first calls (Available is false).
        }
        catch (Exception e)
        {
            pending.Owner.AddJitThreadTime(System.Runtime.JitInfo.GetCompilationTime(currentThread: true) - jitBefore);
            pending.Owner.Refused(pending.Run, f, body, e, pending.Batch);
            pending.GiveUp();
            return false;
        }
        // Counted before the code is given out, so that a run that has entered it counts its compile.
        var took = System.Runtime.JitInfo.GetCompilationTime(currentThread: true) - jitBefore;
        pending.Owner.AddJitThreadTime(took);
        if (record.MachineCode.Took is null) record.MachineCode.Done(took);
        return true;
    }

    /// <summary>Has .NET compile <paramref name="method"/> to machine code now, on this thread.</summary>
    internal static void Prepare(DynamicMethod method)
    {
        RuntimeMethodHandle handle;
        try
        {
            handle = MethodDescriptor(method);
        }
        catch (MissingMethodException)
        {
            _missing = true;
            throw;
        }
        RuntimeHelpers.PrepareMethod(handle);
    }
}

/// <summary>A method emitted under tiering (<see cref="CilCompiler.Run.Queued"/>).</summary>
internal sealed record Emitted(LoadedFunction Function, Runtime.Profiling.CompileRecord Record, DynamicMethod[] Calls);

/// <summary>A function of a batch, its method, the entry stub the interpreter calls, that stub's delegate, and the
/// record of its compile (which gets .NET's part).</summary>
internal readonly record struct Prepared(LoadedFunction Function, DynamicMethod Body, DynamicMethod Stub, CompiledCode Code,
    Runtime.Profiling.CompileRecord Record);
