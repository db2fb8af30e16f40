namespace Hlvm.Runtime.Execution;

/// <summary>
/// Settings of one run, whichever engine runs it: the limits both engines enforce alike, and the engine itself
/// (<see cref="Compiler"/> and <see cref="JitThreshold"/>: interpreted only, compiled before first run, or tiered).
/// </summary>
public sealed record ExecutionOptions
{
    /// <summary>Most calls nested inside the entry function's frame; one more is a StackOverflowError.</summary>
    public int MaxFrames { get; init; } = DefaultMaxFrames;

    public const int DefaultMaxFrames = 100_000;

    /// <summary>Most instructions to execute, or null for no limit.</summary>
    public long? Fuel { get; init; }

    /// <summary>
    /// Checked mode (a debug switch): before every instruction, check that the running program's stack has the
    /// height and the types the verifier promised, and that every reference in it and in the frame's locals is a
    /// live object of the right kind. A verifier hole then shows up as a <see cref="CheckedModeException"/>
    /// instead of silent corruption. Needs a heap created with <see cref="HeapOptions.TrackObjects"/>.
    /// </summary>
    public bool Checked { get; init; }

    /// <summary>
    /// The second engine (the JIT to CIL), or null to interpret only. It compiles only in the fast mode: with a
    /// fuel limit or in checked mode every instruction runs in the interpreter.
    /// </summary>
    public ICompiler? Compiler { get; init; }

    /// <summary>
    /// Calls of a function (its backward branches counted too) after which a call compiles it (0: before it
    /// first runs).
    /// </summary>
    public int JitThreshold { get; init; } = DefaultJitThreshold;

    public const int DefaultJitThreshold = 1000;

    /// <summary>
    /// Backward branches taken in a function (its calls counted too) after which a backward branch compiles it,
    /// and the loop moves to compiled code at its next iteration (on-stack replacement). Higher than
    /// <see cref="JitThreshold"/> by default: a function hot by a loop alone, called once, may be near the loop's
    /// end, and its compile then keeps the JIT's thread from functions that will run (a function called often
    /// is compiled by its calls first).
    /// </summary>
    public int JitLoopThreshold { get; init; } = DefaultJitLoopThreshold;

    public const int DefaultJitLoopThreshold = 20 * DefaultJitThreshold;

    /// <summary>A profiler sampling the run (<c>hlvm prof</c>), or null.</summary>
    public Profiling.Profiler? Profiler { get; init; }
}

/// <summary>A second engine: compiles a hot function (and what it chooses to compile with it) to <see cref="CompiledCode"/>.</summary>
public interface ICompiler
{
    /// <summary>
    /// Compiles <paramref name="fn"/> of <paramref name="module"/>, setting <see cref="LoadedFunction.Compiled"/>
    /// of it and of any function compiled with it, now or, from another thread, once its machine code is ready
    /// (<see cref="LoadedFunction.Compiling"/> is true until then); leaves it null when the function can't be
    /// compiled (then it keeps running in the interpreter). <paramref name="why"/> says what made it hot, for the log.
    /// </summary>
    void Compile(LoadedModule module, LoadedFunction fn, string why);

    /// <summary>
    /// A run of <paramref name="module"/> starts, before anything of it is compiled: whether its compiled code
    /// counts every instruction against the fuel (--fuel), and whether every function is interpreted before it is
    /// compiled (tiering with a threshold above 0), so that <see cref="LoadedFunction.Hotness"/> tells which
    /// functions have run (the compiler may then give less code to calls of functions that never ran). Both hold
    /// for the whole run. One compiler may serve several runs, of different modules, one after another or at once;
    /// runs that share one then share its lock (one emits while another waits), its log and its records (the
    /// functions' names), and its <c>Abandon</c>: give each tenant's isolate a compiler of its own, as hlvm does.
    /// </summary>
    void Begin(LoadedModule module, bool metered, bool profiled);

    /// <summary>
    /// The run of <paramref name="module"/> is over, however it ended: nothing more is compiled for it, what is
    /// waiting to be compiled on another thread is dropped, and the compiler keeps nothing of it alive.
    /// </summary>
    void End(LoadedModule module);
}
