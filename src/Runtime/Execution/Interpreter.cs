using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Memory;

namespace Hlvm.Runtime.Execution;

// ============================================================================================================
// The interpreter.
//
// It runs verified, pre-decoded instructions (Instr) in one loop. A call in the program pushes a Frame and
// continues the loop; it is never a C# call, so the program's recursion depth is bounded only by MaxFrames and
// exceeding it is a StackOverflowError, not a crash of the host.
//
// All values live in one array of 8-byte slots. A frame owns the slots from its base: first its locals (the
// parameters are the caller's arguments, left where the caller pushed them), then its operand stack. Floats are
// stored as their IEEE bits, bools as 0 or 1, references as heap addresses.
//
// The interpreter is a root source for the collector. A collection can happen only at an instruction the
// verifier marked as a GC point; before running one, the loop saves the stack top and the frame's pc, so that
// VisitRoots sees every frame exactly: a frame's references are its reference-typed locals and the operand
// entries the stack map of its current instruction marks. Operands of an allocating instruction stay on the
// stack until the allocation is done, so the collector keeps them alive and updates them.
// ============================================================================================================

/// <summary>
/// Compiled code of a function, running in the interpreter's frame layout: <paramref name="bp"/> is the frame's
/// first slot; <paramref name="entry"/> is 0 for a new call (the code pushes its own frame record) or 1 + the
/// index of the instruction where the function's existing, interpreted frame continues in compiled code (on-stack
/// replacement: the target of a backward branch). <paramref name="fp"/> is the interpreter's frame count at the
/// call (for a new call, the index of the record it writes; for an entry, one past the frame's own), given so that
/// a compiled call does not read back what its caller has just stored. It pops its frame record and returns the
/// function's result (its bits; 0 for void).
/// </summary>
public delegate long CompiledCode(Interpreter vm, int bp, int entry, int fp);

/// <summary>Checked mode found the program's state differing from what the verifier promised: a VM bug.</summary>
public sealed class CheckedModeException(string message) : Exception(message);

public sealed class Interpreter : IRootSource
{
    // The execution state, shared by both engines: compiled code keeps its frames in the same records and slots
    // (Hlvm.Jit reads these fields directly), so traces, handler search and the collector's roots are one code.
    internal struct Frame
    {
        public int Function; // index of the function running, in the module (_functions)
        public int Pc;       // index of the instruction running (for callers: the call)
        public int Bp;       // first slot of the frame
    }

    // A frame names its function by index, not by reference: the records hold no reference for .NET's collector,
    // so writing one needs no write barrier (in the interpreter's calls and in compiled prologues alike).

    /// <summary>The function <paramref name="frame"/> runs.</summary>
    internal LoadedFunction FunctionOf(in Frame frame) => _functions[frame.Function];

    private readonly LoadedModule _module;

    /// <summary>The module's functions and its string constants (heap references the collector updates in place):
    /// what compiled code reads of its module, through the interpreter that runs it.</summary>
    internal readonly LoadedFunction[] _functions;

    /// <inheritdoc cref="_functions"/>
    internal readonly long[] _strings;
    private readonly ExecutionOptions _options;
    internal long[] _stack = NewStack(1024);
    internal int _sp;
    internal Frame[] _frames = new Frame[64];
    internal int _fp;

    /// <summary>
    /// The address of <see cref="_stack"/>'s first slot, and its length: compiled code addresses its frame's slots
    /// from these, with no null or bounds check at each reload (the stack is pinned; a prologue checks its frame's
    /// slots against the length). A stack outgrown is kept in <see cref="_outgrown"/> until the interpreter goes, so
    /// that an address into it stays memory of this interpreter's even if compiled code used it after the growth
    /// (which it must not: it reloads the base after anything that can grow the stack).
    /// </summary>
    internal nint _stackBase;

    /// <inheritdoc cref="_stackBase"/>
    internal int _stackSlots;

    private readonly List<long[]> _outgrown = [];

    private static long[] NewStack(int slots) => Pinned.NewArray(slots);

    private void StackMoved()
    {
        _stackBase = Pinned.AddressOf(_stack);
        _stackSlots = _stack.Length;
    }

    /// <summary>Whether calls and loops are counted and hot functions compiled (a compiler, and the fast mode).</summary>
    private readonly bool _tiering;

    public Interpreter(LoadedModule module, Heap heap, TextWriter output, ExecutionOptions? options = null)
    {
        _module = module;
        _functions = module.Functions;
        _strings = module.StringRefs;
        _heap = heap;
        Out = output;
        StackMoved();
        _options = options ?? new ExecutionOptions();
        _tiering = _options.Compiler is not null && !_options.Checked && _options.Profiler?.Every is null;
        // With --fuel, compiled code counts every instruction as the metered interpreter does (see Refuel).
        _metered = _options.Fuel is not null;
        if (_tiering) _options.Compiler!.Begin(module, _metered, profiled: _options.JitThreshold > 0);
        // Tiering counts calls and loops where the fast mode polls for a stop: the poll is always on.
        _profiler = _options.Profiler;
        _poll = _tiering || _profiler is not null;
        _frameLimit = Math.Min(_options.MaxFrames + 1, _frames.Length);
        _checkGcPoints = _options.Checked || heap.Stress;
        heap.AddRoots(this);
    }

    internal LoadedModule Module => _module;

    /// <summary>Most frames (--max-stack), read by compiled prologues.</summary>
    internal int MaxFrames => _options.MaxFrames;

    public Heap Heap => _heap;

    /// <summary>The heap, a field compiled code reads (a property's getter is a call .NET has to inline).</summary>
    internal readonly Heap _heap;

    public TextWriter Out { get; }

    /// <summary>Where the program's standard input comes from (the host's, unless the embedder says otherwise).</summary>
    public TextReader In { get; init; } = TextReader.Null;

    /// <summary><see cref="In"/> as the natives read it, made at the first read.</summary>
    internal Natives.StandardInput Input => field ??= new(In);

    /// <summary>Where the program's standard error goes.</summary>
    public TextWriter Error { get; init; } = TextWriter.Null;

    /// <summary>The program's arguments, as main(args) receives them (for <c>env.args</c>).</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Files, environment and network, and who may reach them: nothing unless the embedder says otherwise.</summary>
    public Host.IHost Host { get; init; } = Hlvm.Runtime.Host.HostAccess.None;

    /// <summary>Cancelled when the program must stop while it may be blocked in a native (reading input, a socket).</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// Stops the running program, from any thread, with <paramref name="reason"/> (the first reason given wins):
    /// at its next backward branch or call (its next slice of fuel when it runs counted), and at once when it is
    /// blocked in a native that honours <see cref="Cancellation"/>.
    /// </summary>
    public void Interrupt(LimitExceededError reason)
    {
        Interlocked.CompareExchange(ref _interrupt, reason, null);
        Volatile.Write(ref _attention, _interrupt);
        Volatile.Write(ref _entryLimit, nuint.MaxValue);
        Volatile.Write(ref _poll, true);
    }

    internal LimitExceededError? _interrupt;

    /// <summary>
    /// What compiled code polls at backward branches and function entry, and the fast mode where it polls: null,
    /// the stop (<see cref="_interrupt"/>), or <see cref="SampleRequest"/> (the profiler's timer asks for a sample).
    /// </summary>
    internal object? _attention;

    /// <summary>
    /// Compiled code's on-stack replacement at an entry inside loops: 0, or 1 + the entry being stepped to through
    /// the headers of its loops, from the dispatch that sets it to the entry that clears it, with no call between
    /// (so one field serves every compiled frame of the thread). A field rather than a local of each method: a
    /// local that every loop header tests is live through every loop, and .NET's JIT kept it in a register there
    /// or spilled and reloaded it at every turn (nbody's inner loop).
    /// </summary>
    internal int _step;

    /// <summary>The value of <see cref="_attention"/> that asks for a profiler's sample.</summary>
    internal static readonly object SampleRequest = new();

    private readonly Profiling.Profiler? _profiler;

    /// <summary>Asks, from any thread, for a sample of the program's stack at its next poll (backward branch, call).</summary>
    internal void RequestSample()
    {
        Interlocked.CompareExchange(ref _attention, SampleRequest, null);
        Volatile.Write(ref _entryLimit, nuint.MaxValue);
        Heap.RequestPoll();
    }

    /// <summary>Where compiled code or the fast mode found <see cref="_attention"/> set: stops, or takes the sample.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Attend(bool compiled)
    {
        if (Volatile.Read(ref _interrupt) is { } stop) throw stop;
        if (Interlocked.CompareExchange(ref _attention, null, SampleRequest) == SampleRequest) _profiler?.Sample(this, compiled);
    }

    /// <summary>Compiled code's poll found <see cref="_attention"/> set at instruction <paramref name="pc"/> of frame <paramref name="fp"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void AttendAt(int fp, int pc, int sp)
    {
        _frames[fp].Pc = pc;
        _sp = sp;
        Attend(compiled: true);
    }

    /// <summary>
    /// A profiler's sample asked for, taken where a function returns, while a profiler runs (the interpreter's
    /// returns, compiled code's, and those of bodies compiled in place): charged to function
    /// <paramref name="function"/> at instruction <paramref name="pc"/>, frame <paramref name="index"/>, whose
    /// record is the top one, or, where it was never written (a body in place; a compiled function that returns
    /// before it needs its record), a record made for the sample on top of its caller's. Without it, the time of a
    /// function that neither loops, calls nor allocates went to its caller's next poll: scheduler.hl's
    /// `Sim.notify`, a loop calling three such listeners, drew 20% of the samples and the listeners 1 to 2% each.
    /// A stop asked for waits for the next poll. <paramref name="compiled"/>: the code returning is compiled code (a
    /// body compiled in place is, though its function may never have been compiled on its own).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void SampleAtReturn(int index, int function, int pc, bool compiled)
    {
        bool recorded = _fp == index + 1;
        if (!recorded && (_fp != index || index >= _frames.Length)) return;
        if (Interlocked.CompareExchange(ref _attention, null, SampleRequest) != SampleRequest) return;
        ref var top = ref _frames[index];
        var saved = top;
        top = new Frame { Function = function, Pc = pc, Bp = recorded ? saved.Bp : 0 };
        _fp = index + 1;
        _profiler?.Sample(this, compiled);
        _fp = recorded ? index + 1 : index;
        if (!recorded) top = saved;
    }

    /// <summary>A profiler's sample asked for, taken where the program allocates (see <see cref="Heap.AllocationPoll"/>):
    /// the top frame is in compiled code if its function is compiled.</summary>
    internal void SampleAtAllocation()
    {
        if (Volatile.Read(ref _attention) != SampleRequest || _fp == 0) return;
        if (Interlocked.CompareExchange(ref _attention, null, SampleRequest) == SampleRequest)
            _profiler?.Sample(this, compiled: FunctionOf(_frames[_fp - 1]).Compiled is not null);
    }

    /// <summary>
    /// Compiled code with --fuel at the start of a basic block of <paramref name="n"/> instructions (at
    /// <paramref name="pc"/> of frame <paramref name="fp"/>) that the current slice can't cover: looks for a stop and
    /// charges the block whole, the next slice paying what this one can't (<see cref="Refuel"/>, as where the
    /// interpreter's slice ends); false, charging nothing, when what is left of the budget can't cover it (the
    /// program stops inside the block: the code continues in <see cref="ContinueMetered"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal bool ChargeBlockAt(int fp, int pc, int sp, int n)
    {
        _frames[fp].Pc = pc;
        _sp = sp;
        if (Volatile.Read(ref _interrupt) is { } reason) throw reason;
        if (_fuel + _reserve < n) return false;
        _fuel -= n;
        Refuel();
        return true;
    }

    /// <summary>
    /// Compiled code with --fuel found the budget too small for its next block: the metered interpreter runs the
    /// rest of frame <paramref name="fp"/> from <paramref name="pc"/> (its values in their slots), counting each
    /// instruction, so the program stops at exactly the instruction it would without compiled code, and returns
    /// the function's result when an error's handler leads it to a return first. From then on the interpreter
    /// enters no compiled code: the budget left is less than one block.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal long ContinueMetered(int fp, int pc, int sp)
    {
        _fuelLow = true;
        _frames[fp].Pc = pc;
        _sp = sp;
        return Execute<MeteredMode>(fp);
    }

    /// <summary>Set once compiled code found the fuel left too small for a block (<see cref="ContinueMetered"/>).</summary>
    private bool _fuelLow;

    /// <summary>Entries into compiled code in the middle of a function (on-stack replacement).</summary>
    public long OsrEntries { get; private set; }

    /// <summary>The frames running, outermost first: each one's function and the instruction it is at.</summary>
    internal ReadOnlySpan<Frame> Frames => _frames.AsSpan(0, _fp);

    /// <summary>
    /// What the fast mode polls at backward branches and calls: set with <see cref="_interrupt"/>, and always
    /// when tiering (then the poll counts). Compiled code polls <see cref="_interrupt"/> itself.
    /// </summary>
    private bool _poll;

    /// <summary>
    /// Whether the mode polls at backward branches and calls (stops, samples, and tiering's counts): the fast mode,
    /// and the metered mode when it tiers (compiled code runs under --fuel too). The counting modes otherwise
    /// notice a stop where their fuel slice ends.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Polls<TMode>() where TMode : struct, IMode =>
        typeof(TMode) == typeof(FastMode) || typeof(TMode) == typeof(MeteredMode) && _tiering;

    /// <summary>
    /// Whether a branch from the instruction before <paramref name="pc"/> to <paramref name="target"/> must stop
    /// the program instead: in a mode that polls, when it goes backward (every loop takes one per iteration) and a
    /// stop was requested.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool StopAt<TMode>(int target, int pc) where TMode : struct, IMode =>
        Polls<TMode>() && target < pc && Volatile.Read(ref _poll);

    /// <summary>The run counts instructions (--fuel): the interpreter in its metered mode, compiled code likewise.</summary>
    private readonly bool _metered;

    /// <summary>
    /// Runs <paramref name="fn"/> with <paramref name="args"/> (already of its parameter types) to completion and
    /// returns its result (0 for a void function).
    /// </summary>
    /// <exception cref="VmError">an uncaught runtime error, with the program's stack trace</exception>
    public long Run(LoadedFunction fn, params long[] args)
    {
        if (args.Length != fn.ParamCount) throw new ArgumentException($"{fn.Name} takes {fn.ParamCount} arguments, not {args.Length}");
        if (_fp != 0) throw new InvalidOperationException("the interpreter is already running");
        EnsureStack(fn.FrameSize);
        args.CopyTo(_stack, 0);
        Array.Clear(_stack, fn.ParamCount, fn.LocalCount - fn.ParamCount);
        _sp = fn.LocalCount;
        _frames[0] = new Frame { Function = fn.Index, Pc = 0, Bp = 0 };
        _reserve = _options.Fuel ?? long.MaxValue;
        _fuel = 0;
        unsafe
        {
            byte here;
            _nativeStackLimit = (nuint)(&here) - (nuint)Math.Max(0, NativeStackBudget);
        }
        SettleEntryLimit();
        try
        {
            _profiler?.Started(this);
            // A stop asked for before the run ends it before its first instruction, in every engine (with no frame
            // in its trace: nothing ran). Compiled code's entry polled, and the interpreter first polled at the
            // first call or backward branch, after what came before had run.
            if (Volatile.Read(ref _interrupt) is { } stop) throw stop;
            if (_tiering) CountTowardCompiling(fn, "calls");
            // Compiled code counts its own calls while profiling; the interpreter counts the entry's here.
            if (_tiering && fn.Compiled is { } compiled) return RunCompiledEntry(compiled);
            if (_profiler is not null) fn.Calls++;
            if (_options.Checked) return Start<CheckedMode>(fn);
            if (_options.Fuel is not null || _profiler?.Every is not null) return Start<MeteredMode>(fn);
            return Start<FastMode>(fn);
        }
        finally
        {
            _profiler?.Stopped(this);
            _fp = 0;
            _sp = 0;
            _pending = 0;
        }
    }

    /// <summary>Tiering: counts a call of <paramref name="fn"/>, and compiles it when it reaches the threshold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountTowardCompiling(LoadedFunction fn, string why) => CountTowardCompiling(fn, why, _options.JitThreshold);

    /// <summary>Tiering: counts a call of <paramref name="fn"/> or a backward branch in it, and compiles it when it
    /// reaches <paramref name="threshold"/> (<paramref name="why"/> says which, for the log).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountTowardCompiling(LoadedFunction fn, string why, int threshold)
    {
        if (fn.Compiled is null && !fn.NotCompiled && ++fn.Hotness >= threshold) TierUp(fn, why);
    }

    /// <summary>Compiles a function that became hot; one that can't be compiled is not counted again. One whose code
    /// is being compiled on the JIT's thread (<see cref="LoadedFunction.Compiling"/>) keeps running here meanwhile.
    /// The JIT's thread sets <see cref="LoadedFunction.Compiled"/> and then clears <c>Compiling</c>, so the two are
    /// read here the other way round: the caller's read of <c>Compiled</c> may come from before the code arrived
    /// and its <c>Compiling</c> from after, and the function was compiled a second time (main, in about one run of
    /// eight of <c>JitTests.HotCodeCompiledOnTheJitsThreadIsEnteredOnceItArrives</c>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void TierUp(LoadedFunction fn, string why)
    {
        if (fn.Compiling || Volatile.Read(ref fn.Compiled) is not null) return;
        _options.Compiler!.Compile(_module, fn, why);
        // The same order as above: code that arrived between the two reads is seen.
        if (!fn.Compiling && Volatile.Read(ref fn.Compiled) is null) fn.NotCompiled = true;
    }

    // ------------------------------------------------------------------------------------ compiled code's ABI
    //
    // Compiled code runs in the interpreter's frames and slots and calls these for what is not its own: entering
    // and leaving frames, calls it can't make directly, faults, stops and handlers. See Hlvm.Jit's CilEmitter.

    /// <summary>
    /// The lowest address of the native stack compiled code may grow to: below it, calls run in the interpreter,
    /// whose calls take no native stack, so that deep recursion never ends the process.
    /// </summary>
    internal nuint _nativeStackLimit;

    /// <summary>
    /// What a compiled prologue compares its native stack address against: <see cref="_nativeStackLimit"/>, or the
    /// largest address while <see cref="_attention"/> is set, so that one comparison both finds the stack low and
    /// polls for a stop or a sample (as V8's stack guard does). Whoever sets <see cref="_attention"/> raises it after;
    /// <see cref="EnterFrame"/>, where such a prologue goes, lowers it again (<see cref="SettleEntryLimit"/>).
    /// </summary>
    internal nuint _entryLimit;

    /// <summary>
    /// Sets <see cref="_entryLimit"/> back to the native stack's limit unless attention is still asked for. The
    /// limit is written before attention is read, and a requester writes attention before the limit: a request
    /// that comes in between is seen here, or its raised limit lands after this one.
    /// </summary>
    private void SettleEntryLimit()
    {
        Volatile.Write(ref _entryLimit, _nativeStackLimit);
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _attention) is not null) Volatile.Write(ref _entryLimit, nuint.MaxValue);
    }

    /// <summary>Bytes of native stack compiled code may use below the run's start (see <see cref="Vm.RunMain"/>).</summary>
    public long NativeStackBudget { get; init; } = 512 << 10;

    /// <summary>True when compiled code must not grow the native stack further.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal unsafe bool NativeStackLow()
    {
        byte here;
        return (nuint)(&here) < _nativeStackLimit;
    }

    /// <summary>
    /// Frame <paramref name="fp"/>'s record, without .NET's check of the index: compiled code asks only for its own
    /// frame's, whose index its prologue checked against <see cref="_frameLimit"/> (at most the records' length) or
    /// <see cref="EnterFrame"/> made room for, and the records only grow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref Frame FrameAt(int fp) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_frames), (nint)(uint)fp);

    private void GrowFrames()
    {
        Array.Resize(ref _frames, _frames.Length * 2);
        _frameLimit = Math.Min(_options.MaxFrames + 1, _frames.Length);
    }

    /// <summary>
    /// Compiled prologues push their frame inline while the frame's index is below this: within --max-stack and
    /// within the frame records allocated (past it, <see cref="EnterFrame"/> does the checks and grows them).
    /// </summary>
    internal int _frameLimit;

    /// <summary>
    /// A compiled function's prologue: polls for a stop, checks the depth (--max-stack) and the native stack, and
    /// pushes its frame, its locals past the parameters zero. Returns the frame's index, or -1 when the native
    /// stack is low: then the call runs in the interpreter (<see cref="CallInterpreted"/>).
    /// </summary>
    internal int EnterFrame(LoadedFunction fn, int bp)
    {
        if (Volatile.Read(ref _interrupt) is { } stop)
        {
            _sp = bp + fn.ParamCount;
            throw stop;
        }
        if (NativeStackLow())
        {
            SettleEntryLimit();
            return -1;
        }
        // A sample asked for is taken in the caller, at its call (its record has the call's instruction), before
        // the callee's frame exists, as the interpreter takes it at its calls: the time since it was asked for
        // went to the caller's code, not to this function, which has run nothing yet. (Taken in the function
        // entered, a constructor of two stores drew a fifth of binarytrees' samples.) The first frame of a run
        // has no caller: it takes the sample itself.
        bool sample = Volatile.Read(ref _attention) is not null;
        if (sample && _fp > 0)
        {
            // The stack as for a stop above (Attend throws one asked for meanwhile): the arguments on top.
            _sp = bp + fn.ParamCount;
            Attend(compiled: FunctionOf(_frames[_fp - 1]).Compiled is not null);
        }
        int fp = PushFrame(fn, bp);
        if (sample && fp == 0) Attend(compiled: true);
        SettleEntryLimit();
        return fp;
    }

    /// <summary>
    /// Pushes a frame for a call of <paramref name="fn"/> whose arguments are in the slots from <paramref name="bp"/>,
    /// as the loop's call does (compiled code and the interpreter called from it). The caller's frame records the call.
    /// </summary>
    private int PushFrame(LoadedFunction fn, int bp)
    {
        int fp = _fp;
        if (fp > _options.MaxFrames)
        {
            _sp = bp + fn.ParamCount;
            throw StackOverflowError();
        }
        EnsureStack(bp + fn.FrameSize);
        Array.Clear(_stack, bp + fn.ParamCount, fn.LocalCount - fn.ParamCount);
        if (fp == _frames.Length) GrowFrames();
        WriteRecord(fn, fp, bp);
        return fp;
    }

    /// <summary>Writes frame <paramref name="fp"/>'s record (see <see cref="WriteRecord"/>) on compiled code's way
    /// to a fault. Compiled code writes its record inline where it goes on running; this call is never inlined
    /// into it, so that .NET does not compile a copy of the record's stores into each of a function's cold paths.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void RecordFrame(LoadedFunction fn, int fp, int bp) => WriteRecord(fn, fp, bp);

    /// <summary>Writes frame <paramref name="fp"/>'s record, a call of <paramref name="fn"/> at its first instruction
    /// with its frame from <paramref name="bp"/>, and makes it the top frame, its operand stack empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteRecord(LoadedFunction fn, int fp, int bp)
    {
        _frames[fp] = new Frame { Function = fn.Index, Bp = bp, Pc = 0 };
        _fp = fp + 1;
        _sp = bp + fn.LocalCount;
    }

    /// <summary>Runs a call of <paramref name="fn"/> (arguments from <paramref name="bp"/>) in the interpreter: a
    /// callee of compiled code that is not compiled, or any call when the native stack is low. Never inlined: it
    /// is on a cold path of every compiled function's prologue.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal long CallInterpreted(LoadedFunction fn, int bp)
    {
        int fp = PushFrame(fn, bp);
        return _metered ? Execute<MeteredMode>(fp) : Execute<FastMode>(fp);
    }

    /// <summary>A call from compiled code of a function it does not call directly (a method, a function value,
    /// a callee compiled later): counted when tiering, then run compiled or interpreted.</summary>
    internal long Invoke(LoadedFunction callee, int bp)
    {
        if (_tiering) CountTowardCompiling(callee, "calls");
        if (callee.Compiled is { } code) return code(this, bp, 0, _fp);
        if (_profiler is not null) callee.Calls++;
        return CallInterpreted(callee, bp);
    }

    /// <summary>The callee of a method call from compiled code: the receiver's implementation of slot
    /// <paramref name="slot"/> of class <paramref name="cls"/> (<paramref name="receiver"/> is not null).</summary>
    internal LoadedFunction VirtualTarget(int receiver, int slot) => Heap.ClassOf(receiver).VTableFunctions[slot];

    /// <summary>Likewise for method <paramref name="method"/> of interface <paramref name="iface"/>.</summary>
    internal LoadedFunction InterfaceTarget(int receiver, int iface, int method) => Heap.ClassOf(receiver).ITableFunctions[iface][method];

    /// <summary>
    /// A function value's call from compiled code: the function value is in slot <paramref name="at"/> and its
    /// <paramref name="argc"/> arguments above it. Returns the callee, its arguments where its frame starts
    /// (<paramref name="bp"/>): the closure's slot becomes the environment argument, or the arguments move down.
    /// </summary>
    internal LoadedFunction ClosureTarget(int at, int argc, out int bp)
    {
        int closure = (int)_stack[at];
        var callee = Heap.ClosureTarget(closure);
        if (callee.ParamCount > argc) _stack[at] = Heap.ClosureEnv(closure);
        else Array.Copy(_stack, at + 1, _stack, at, argc);
        bp = at;
        return callee;
    }

    /// <summary>Records where compiled code raises an error (frame <paramref name="fp"/> at instruction
    /// <paramref name="pc"/>, the stack's height) and returns it to throw.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal Exception FaultAt(int fp, int pc, int sp, VmError error)
    {
        _frames[fp].Pc = pc;
        _sp = sp;
        return error;
    }

    /// <summary>A <c>throw</c> of <paramref name="value"/> in compiled code.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal Exception ThrowAt(int fp, int pc, int sp, long value)
    {
        if (value == 0) return FaultAt(fp, pc, sp, NullDereference("throw the error"));
        _pending = value;
        return FaultAt(fp, pc, sp, new ThrownError());
    }

    /// <summary>
    /// An error that compiled code with handlers catches (<see cref="CaughtByFrames"/>) reached it, running frame
    /// <paramref name="fp"/>: the index of the handler to continue at when it is this frame's (the frame is then
    /// unwound to, the error on its stack), -1 when the handler is in an older frame, which the code reaches by
    /// throwing <see cref="HandlerFound"/> once its catch block is left.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int CatchCompiled(Exception e, int fp) => CatchIn(e, fp, onlyAt: fp) ? _frames[fp].Pc : -1;

    /// <summary>
    /// Whether code that runs frames with handlers (an interpreter's segment, a compiled function with handlers)
    /// catches <paramref name="e"/>: an error its handlers may take (the first such code searches the frames for
    /// its handler), or a <see cref="HandlerFound"/> for a frame it runs (frame <paramref name="onlyAt"/>, or the
    /// frames from <paramref name="baseFp"/> up). Asked in an exception filter, so that anything else (a limit, an
    /// error already reported with its trace, a handler found for an older frame) goes up through such frames in
    /// one .NET dispatch, never caught and thrown again at each.
    /// </summary>
    /// <remarks>
    /// And what such code passes on, it throws after leaving its catch block, never inside it: a throw inside a
    /// catch block starts .NET's dispatch anew on top of the one still running, so that an error passing through
    /// a recursion of frames with handlers took time quadratic in the depth and then ended the host with a .NET
    /// stack overflow (60,000 frames: 18 s, then the process aborted, where the interpreter alone took 0.2 s).
    /// Until the handler's frame was asked in the filter too, every frame with handlers caught a found handler and
    /// threw it again, one .NET throw per frame: an error raised 64,000 frames deep, where compiled frames with
    /// handlers and frames the JIT declined alternated, took 2.1 s to reach its handler in main (the interpreter
    /// alone 0.6 s).
    /// </remarks>
    internal bool CaughtByFrames(Exception e, int baseFp, int onlyAt) =>
        e is HandlerFound ? HandlerIn(baseFp, onlyAt) : Catchable(e);

    /// <summary>The filter of compiled code with handlers, running frame <paramref name="fp"/> (its operands in the
    /// order the filter has them: the exception first).</summary>
    internal static bool CaughtByFrame(Exception e, Interpreter vm, int fp) => vm.CaughtByFrames(e, fp, onlyAt: fp);

    /// <summary>Whether the handler found is in frame <paramref name="onlyAt"/> (when not -1) or in the frames from
    /// <paramref name="baseFp"/> up.</summary>
    private bool HandlerIn(int baseFp, int onlyAt) => _handlerFp >= baseFp && (onlyAt < 0 || _handlerFp == onlyAt);

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal VmError StackOverflowError() =>
        ErrorWith(ErrorClasses.StackOverflow, "stack overflow: more than {0} nested calls (--max-stack)", _options.MaxFrames);

    private long Start<TMode>(LoadedFunction fn) where TMode : struct, IMode
    {
        _frames[0] = new Frame { Function = fn.Index, Pc = 0, Bp = 0 };
        _fp = 1;
        return Execute<TMode>(0);
    }

    /// <summary>The entry function compiled: its code pushes its own frame; an error nothing caught ends here.</summary>
    private long RunCompiledEntry(CompiledCode code)
    {
        // Nested as in Execute: an error raised while the handlers are searched (the error object itself past the
        // heap's emergency room) gets its trace from the outer catch, which a sibling catch clause would not see.
        try
        {
            try
            {
                return code(this, 0, 0, _fp);
            }
            catch (Exception e) when (Catchable(e))
            {
                // Every compiled frame with handlers and every interpreted segment looked at it already: no handler
                // takes it, and CatchIn throws it as uncaught, with its trace.
                CatchIn(e, baseFp: 0, onlyAt: -1);
                throw new InvalidOperationException("a handler was found for an error that no frame caught");
            }
        }
        catch (VmError error) when (error.StackTrace.Count == 0)
        {
            error.StackTrace = CaptureTrace();
            throw;
        }
    }

    /// <summary>Most value slots of all frames together (128 MiB): frames with many locals reach it before --max-stack.</summary>
    public const int MaxSlots = 1 << 24;

    private void EnsureStack(int slots)
    {
        if (slots <= _stack.Length) return;
        if (slots > MaxSlots)
            throw new VmError(ErrorClasses.StackOverflow, $"stack overflow: the frames need more than {MaxSlots} value slots");
        var bigger = NewStack((int)Math.Min(MaxSlots, Math.Max(slots, _stack.Length * 2L)));
        Array.Copy(_stack, bigger, _stack.Length);
        _outgrown.Add(_stack);
        _stack = bigger;
        StackMoved();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double D(long bits) => BitConverter.Int64BitsToDouble(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long L(double value) => BitConverter.DoubleToInt64Bits(value);

    // The interpreter loop is generic over its mode so that the JIT compiles the checks out of the fast one.
    private interface IMode;
    private struct FastMode : IMode;      // no fuel limit: nothing is counted
    private struct MeteredMode : IMode;   // --fuel: every instruction is counted
    private struct CheckedMode : IMode;   // counted, and the state checked before every instruction

    /// <summary>
    /// Runs the interpreter from the top frame until frame <paramref name="baseFp"/> returns (0: the entry
    /// function): the whole run, or, when compiled code calls a function that is not compiled, that call. Errors
    /// raised in the frames it runs are caught here; one whose handler is in an older frame is passed on.
    /// </summary>
    private long Execute<TMode>(int baseFp) where TMode : struct, IMode
    {
        try
        {
            while (true)
            {
                try
                {
                    return Loop<TMode>(baseFp);
                }
                catch (Exception e) when (CaughtByFrames(e, baseFp, onlyAt: -1))
                {
                    // A handler took the error: Loop continues in its frame, at the handler, with the error on the stack.
                    if (CatchIn(e, baseFp, onlyAt: -1)) continue;
                }
                // The handler is in an older frame: passed on from outside the catch block (CaughtByFrames).
                throw new HandlerFound();
            }
        }
        catch (VmError error) when (error.StackTrace.Count == 0)
        {
            error.StackTrace = CaptureTrace();
            throw;
        }
    }

    /// <summary>
    /// What a frame that may have a handler does with an error that reaches it (the interpreter's segments and
    /// compiled code with handlers call it): the error's handler is found (once, where it is first caught: the
    /// frames are searched from the top, whatever engine runs them) and, when it is in the frames this code runs
    /// (from <paramref name="baseFp"/> up, or exactly frame <paramref name="onlyAt"/>), the frames above it are
    /// dropped and it is entered: true. False when the handler is in an older frame: the caller throws
    /// <see cref="HandlerFound"/> to reach it. An error no frame handles is thrown, with its trace.
    /// </summary>
    private bool CatchIn(Exception e, int baseFp, int onlyAt)
    {
        if (e is not HandlerFound)
        {
            // .NET itself out of memory (a native's or the heap's own allocation failed: the host, not the
            // program's heap limit) is the program's OutOfMemoryError too, raised where it happened; the isolate
            // ends or handles it, and the host process and its other isolates go on.
            var error = e as VmError ?? new VmError(ErrorClasses.OutOfMemory, "the host ran out of memory");
            // The engine recorded the faulting instruction in its frame and the stack's height in _sp. The trace is
            // read from the frames only when the error has none yet (an error thrown again keeps its first), or
            // when nothing catches it: an error passed on by a finally at every frame of a deep recursion made 40
            // strings at each, and each collection of .NET's heap they caused walked every compiled frame.
            List<string>? trace = null;
            bool found;
            try
            {
                found = FindHandler(error, ref trace);
            }
            catch (VmError failed) when (failed.StackTrace.Count == 0)
            {
                // An error raised while the handler is looked for (the error object past the heap's emergency room)
                // is reported where it was raised, and no handler is asked again: compiled frames with handlers
                // caught it as a new error and searched again, each search another full collection (an
                // OutOfMemoryError through 20,000 such frames took 47 s, the interpreter 0.3 s), and its message
                // told a larger request than the interpreter's.
                failed.StackTrace = CaptureTrace();
                throw;
            }
            if (!found)
            {
                var uncaught = error is ThrownError ? UncaughtThrow() : error;
                uncaught.StackTrace = trace ?? CaptureTrace();
                _fp = 1; // keep the entry frame for the trace's sake; Run resets it
                throw uncaught;
            }
        }
        if (!HandlerIn(baseFp, onlyAt)) return false;
        EnterHandler();
        // A handler is a jump the loop does not see, and it may lead back to the throw: look for a stop here.
        if (Volatile.Read(ref _interrupt) is { } stop) throw stop;
        return true;
    }

    /// <summary>The errors a program's handlers may catch: its own and the VM's faults, not limits, not an error already reported.</summary>
    private static bool Catchable(Exception e) =>
        e is VmError { StackTrace.Count: 0 } and not LimitExceededError or OutOfMemoryException;

    /// <summary>Thrown to pass a found handler to the code running its frame (the other engine's, or an older segment).</summary>
    internal sealed class HandlerFound() : Exception("a handler was found in an older frame");

    /// <summary>
    /// Fuel left in the current slice (metered and checked modes; the fast mode does not count). The budget is
    /// handed out in slices of <see cref="FuelSlice"/> so that the end of each slice is where an interrupt is
    /// noticed, at no cost to the instructions in between; <see cref="_reserve"/> is the rest of the budget.
    /// </summary>
    internal long _fuel;
    private long _reserve;

    /// <summary>--every: the fuel the last slice began with, and the instructions run toward the next sample.</summary>
    private long _lastSlice, _everyCarry;
    private const long FuelSlice = 1 << 16;

    /// <summary>
    /// The current slice ran out (<see cref="_fuel"/> went below zero by the units owed): stop for an interrupt,
    /// stop when the budget is spent, or take the next slice and pay what is owed from it. <paramref name="pending"/>
    /// of the units owed are an instruction's that has not run yet (the interpreter's, charged before it runs), which
    /// a spent budget refuses; the rest are work done (a native's charge).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void Refuel(int pending = 0)
    {
        if (Volatile.Read(ref _interrupt) is { } reason) throw reason;
        long owed = -_fuel;
        bool spent = _reserve < owed;
        if (_profiler?.Every is { } every)
        {
            // The deterministic profile: a sample for each N instructions run, where a slice of fuel ends. What
            // ran since the last slice was handed out is the slice and what is owed beyond it, but for an
            // instruction the spent budget refuses; a remainder waits for the next slice. (Counting one sample more
            // than the slices' worth at each slice's end took twice as many samples at --every 1, and charged a run
            // shorter than N a full N; counting the refused instruction took 5,001 samples of --fuel 5000.)
            _everyCarry += _lastSlice + owed - (spent ? pending : 0);
            for (long n = _everyCarry / every; n > 0; n--) _profiler.Sample(this, compiled: false);
            _everyCarry %= every;
        }
        if (spent) throw FuelExhausted();
        long slice = Math.Min(_profiler?.Every ?? FuelSlice, _reserve);
        if (slice < owed) slice = owed;
        _reserve -= slice;
        _fuel = slice - owed;
        _lastSlice = _fuel;
    }

    /// <summary>
    /// The most work, in instructions' worth, that the fuel left can pay for (all of it when the run has no --fuel).
    /// A native whose work it learns only as it goes (the characters two strings share) stops once it has done more
    /// than this, and charges what it did: that charge ends the run at the next instruction, as the whole work's
    /// would, without the work past the budget (a search of 2,000 strings of 20 million equal characters ran 1,000
    /// times the budget's worth before its charge ended the run).
    /// </summary>
    public long WorkBudget => CountsFuel ? Math.Max(0, _fuel) + _reserve : long.MaxValue;

    /// <summary>Whether the run counts fuel (--fuel, or checked mode, which meters as the fuel does).</summary>
    private bool CountsFuel => _options.Fuel is not null || _options.Checked;

    /// <summary>
    /// After an instruction whose work grows with its operands (a native, an array's reverse, repeat, slice or
    /// search): the stop asked for meanwhile, if any, lands here, at that instruction. The polls at calls and
    /// backward branches alone let a straight run of such instructions (four hundred sorts of four million
    /// elements) go on for seconds past a timeout, in every engine (compiled code calls these methods too).
    /// </summary>
    private void StopAfterWork(ref Frame frame, int pc, int sp)
    {
        if (Volatile.Read(ref _interrupt) is not { } stop) return;
        AtInstruction(ref frame, pc, sp);
        throw stop;
    }

    /// <summary>Throws the stop asked for (a timeout, Isolate.Stop), if any: for a native's long loop, which would
    /// otherwise notice it only at the program's next poll.</summary>
    public void StopIfAsked()
    {
        if (Volatile.Read(ref _interrupt) is { } reason) throw reason;
    }

    /// <summary>
    /// A native's work, in instructions' worth (one per element it sorts, copies or joins): counted against the
    /// fuel like instructions, so that a program can't escape its budget through one big native call, and the
    /// place where a long native notices an interrupt.
    /// </summary>
    public void Charge(long units)
    {
        _fuel -= units;
        if (_fuel < 0 && CountsFuel) Refuel();
    }

    /// <summary>
    /// Records where an error is raised, for the handler search and the trace: the instruction running (pc has
    /// moved past it) and the stack's height. Every throw in <see cref="Loop{TMode}"/> goes through it, since the
    /// loop's locals are its own (no handler in it, so that the JIT keeps them in registers).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private VmError Fault(ref Frame frame, int pc, int sp, VmError error)
    {
        AtInstruction(ref frame, pc, sp);
        return error;
    }

    /// <summary>
    /// Records the instruction running (pc has moved past it) and the stack's height where the collector, an error
    /// or a native looks for them: before anything that may allocate, call out or raise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AtInstruction(ref Frame frame, int pc, int sp)
    {
        frame.Pc = pc - 1;
        _sp = sp;
    }

    /// <summary>The code the loop runs: fused in the fast mode, instruction by instruction when it counts or checks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Instr[] CodeOf<TMode>(LoadedFunction fn) where TMode : struct, IMode =>
        typeof(TMode) == typeof(FastMode) ? fn.Fused : fn.Code;

    /// <summary>
    /// The dispatch loop. It starts in the top frame at its recorded instruction (0 for a new call, a handler's
    /// start after an error was caught) and runs until the entry function returns or an error escapes.
    /// </summary>
    private long Loop<TMode>(int baseFp) where TMode : struct, IMode
    {
        var functions = _module.Functions;
        var strings = _module.StringRefs;
        var heap = Heap;
        var stack = _stack;
        int maxFrames = _options.MaxFrames;
        ref Frame frame = ref _frames[_fp - 1];
        var fn = FunctionOf(frame);
        var code = CodeOf<TMode>(fn);
        int bp = frame.Bp;
        int sp = _sp;
        int pc = frame.Pc;
        // Verified code stays inside its code array and its frame's slots (the stack is grown before a call needs
        // more), so the loop indexes them without bounds checks.
        ref Instr c0 = ref MemoryMarshal.GetArrayDataReference(code);
        ref long s0 = ref MemoryMarshal.GetArrayDataReference(stack);
        LoadedFunction callee;
        long result;
        int target;
            while (true)
            {
                if (typeof(TMode) != typeof(FastMode) && --_fuel < 0)
                {
                    AtInstruction(ref frame, pc + 1, sp);
                    Refuel(pending: 1);
                    // A mode that does not poll answers the profiler's timer where a slice of fuel ends (every
                    // FuelSlice instructions): without it, a loop that neither calls nor allocates was never sampled
                    // under --fuel or --checked, and its time went to whatever ran next.
                    if (!Polls<TMode>() && _profiler is not null && Volatile.Read(ref _attention) is not null) Attend(compiled: false);
                }
                if (typeof(TMode) == typeof(CheckedMode)) CheckState(fn, pc, bp, sp);
                ref readonly Instr ins = ref Unsafe.Add(ref c0, pc++);
                switch (ins.Op)
                {
                    case Opcode.Nop: break;
                    case Opcode.IConst:
                    case Opcode.FConst:
                    case Opcode.BConst:
                        Unsafe.Add(ref s0, sp++) = ins.B;
                        break;
                    case Opcode.SConst: Unsafe.Add(ref s0, sp++) = strings[ins.A]; break;
                    case Opcode.Load: Unsafe.Add(ref s0, sp++) = Unsafe.Add(ref s0, bp + ins.A); break;
                    case Opcode.Store: Unsafe.Add(ref s0, bp + ins.A) = Unsafe.Add(ref s0, --sp); break;
                    case Opcode.Pop: sp--; break;
                    case Opcode.Dup: Unsafe.Add(ref s0, sp) = Unsafe.Add(ref s0, sp - 1); sp++; break;

                    case Opcode.IAdd: sp--; Unsafe.Add(ref s0, sp - 1) += Unsafe.Add(ref s0, sp); break;
                    case Opcode.ISub: sp--; Unsafe.Add(ref s0, sp - 1) -= Unsafe.Add(ref s0, sp); break;
                    case Opcode.IMul: sp--; Unsafe.Add(ref s0, sp - 1) *= Unsafe.Add(ref s0, sp); break;
                    case Opcode.IDiv:
                        {
                            long b = Unsafe.Add(ref s0, --sp);
                            if (b == 0) throw Fault(ref frame, pc, sp, Arithmetic.DivisionByZero(remainder: false));
                            Unsafe.Add(ref s0, sp - 1) = Arithmetic.Div(Unsafe.Add(ref s0, sp - 1), b);
                            break;
                        }
                    case Opcode.IRem:
                        {
                            long b = Unsafe.Add(ref s0, --sp);
                            if (b == 0) throw Fault(ref frame, pc, sp, Arithmetic.DivisionByZero(remainder: true));
                            Unsafe.Add(ref s0, sp - 1) = Arithmetic.Rem(Unsafe.Add(ref s0, sp - 1), b);
                            break;
                        }
                    case Opcode.INeg: Unsafe.Add(ref s0, sp - 1) = -Unsafe.Add(ref s0, sp - 1); break;
                    case Opcode.IAnd: sp--; Unsafe.Add(ref s0, sp - 1) &= Unsafe.Add(ref s0, sp); break;
                    case Opcode.IOr: sp--; Unsafe.Add(ref s0, sp - 1) |= Unsafe.Add(ref s0, sp); break;
                    case Opcode.IXor: sp--; Unsafe.Add(ref s0, sp - 1) ^= Unsafe.Add(ref s0, sp); break;
                    case Opcode.IShl: sp--; Unsafe.Add(ref s0, sp - 1) = Arithmetic.Shl(Unsafe.Add(ref s0, sp - 1), Unsafe.Add(ref s0, sp)); break;
                    case Opcode.IShr: sp--; Unsafe.Add(ref s0, sp - 1) = Arithmetic.Shr(Unsafe.Add(ref s0, sp - 1), Unsafe.Add(ref s0, sp)); break;
                    case Opcode.INot: Unsafe.Add(ref s0, sp - 1) = ~Unsafe.Add(ref s0, sp - 1); break;

                    case Opcode.FAdd: sp--; Unsafe.Add(ref s0, sp - 1) = L(D(Unsafe.Add(ref s0, sp - 1)) + D(Unsafe.Add(ref s0, sp))); break;
                    case Opcode.FSub: sp--; Unsafe.Add(ref s0, sp - 1) = L(D(Unsafe.Add(ref s0, sp - 1)) - D(Unsafe.Add(ref s0, sp))); break;
                    case Opcode.FMul: sp--; Unsafe.Add(ref s0, sp - 1) = L(D(Unsafe.Add(ref s0, sp - 1)) * D(Unsafe.Add(ref s0, sp))); break;
                    case Opcode.FDiv: sp--; Unsafe.Add(ref s0, sp - 1) = L(D(Unsafe.Add(ref s0, sp - 1)) / D(Unsafe.Add(ref s0, sp))); break;
                    case Opcode.FRem: sp--; Unsafe.Add(ref s0, sp - 1) = L(D(Unsafe.Add(ref s0, sp - 1)) % D(Unsafe.Add(ref s0, sp))); break;
                    case Opcode.FNeg: Unsafe.Add(ref s0, sp - 1) = L(-D(Unsafe.Add(ref s0, sp - 1))); break;

                    case Opcode.IEq: sp--; Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) == Unsafe.Add(ref s0, sp) ? 1 : 0; break;
                    case Opcode.INe: sp--; Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) != Unsafe.Add(ref s0, sp) ? 1 : 0; break;
                    case Opcode.ILt: sp--; Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) < Unsafe.Add(ref s0, sp) ? 1 : 0; break;
                    case Opcode.ILe: sp--; Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) <= Unsafe.Add(ref s0, sp) ? 1 : 0; break;
                    case Opcode.IGt: sp--; Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) > Unsafe.Add(ref s0, sp) ? 1 : 0; break;
                    case Opcode.IGe: sp--; Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) >= Unsafe.Add(ref s0, sp) ? 1 : 0; break;
                    case Opcode.FEq: sp--; Unsafe.Add(ref s0, sp - 1) = D(Unsafe.Add(ref s0, sp - 1)) == D(Unsafe.Add(ref s0, sp)) ? 1 : 0; break;
                    case Opcode.FNe: sp--; Unsafe.Add(ref s0, sp - 1) = D(Unsafe.Add(ref s0, sp - 1)) != D(Unsafe.Add(ref s0, sp)) ? 1 : 0; break;
                    case Opcode.FLt: sp--; Unsafe.Add(ref s0, sp - 1) = D(Unsafe.Add(ref s0, sp - 1)) < D(Unsafe.Add(ref s0, sp)) ? 1 : 0; break;
                    case Opcode.FLe: sp--; Unsafe.Add(ref s0, sp - 1) = D(Unsafe.Add(ref s0, sp - 1)) <= D(Unsafe.Add(ref s0, sp)) ? 1 : 0; break;
                    case Opcode.FGt: sp--; Unsafe.Add(ref s0, sp - 1) = D(Unsafe.Add(ref s0, sp - 1)) > D(Unsafe.Add(ref s0, sp)) ? 1 : 0; break;
                    case Opcode.FGe: sp--; Unsafe.Add(ref s0, sp - 1) = D(Unsafe.Add(ref s0, sp - 1)) >= D(Unsafe.Add(ref s0, sp)) ? 1 : 0; break;
                    case Opcode.BEq: sp--; Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) == Unsafe.Add(ref s0, sp) ? 1 : 0; break;
                    case Opcode.BNe: sp--; Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) != Unsafe.Add(ref s0, sp) ? 1 : 0; break;
                    case Opcode.BNot: Unsafe.Add(ref s0, sp - 1) ^= 1; break;
                    case Opcode.SEq: sp = OpStringEquals(sp, equal: true); break;
                    case Opcode.SNe: sp = OpStringEquals(sp, equal: false); break;
                    case Opcode.SConcat: sp = OpSConcat(ref frame, pc, sp, in ins); break;
                    case Opcode.IToS:
                    case Opcode.FToS:
                    case Opcode.BToS:
                    case Opcode.AToS: sp = OpIToSOrFToSOrBToSOrAToS(ref frame, pc, sp, in ins); break;
                    case Opcode.IToF: Unsafe.Add(ref s0, sp - 1) = L(Unsafe.Add(ref s0, sp - 1)); break;
                    case Opcode.FToI: Unsafe.Add(ref s0, sp - 1) = Arithmetic.FToI(D(Unsafe.Add(ref s0, sp - 1))); break;

                    case Opcode.Jmp:
                        if (StopAt<TMode>(ins.A, pc)) { target = ins.A; goto Poll; }
                        pc = ins.A;
                        break;
                    // A bool is 0 or 1 and null is 0: jumping on true and on non-null are one test, as are false and null.
                    case Opcode.JmpIf:
                    case Opcode.JmpIfNotNull:
                        if (Unsafe.Add(ref s0, --sp) != 0)
                        {
                            if (StopAt<TMode>(ins.A, pc)) { target = ins.A; goto Poll; }
                            pc = ins.A;
                        }
                        break;
                    case Opcode.JmpIfNot:
                    case Opcode.JmpIfNull:
                        if (Unsafe.Add(ref s0, --sp) == 0)
                        {
                            if (StopAt<TMode>(ins.A, pc)) { target = ins.A; goto Poll; }
                            pc = ins.A;
                        }
                        break;

                    case Opcode.Call:
                        callee = functions[ins.A];
                        goto PushFrame;
                    case Opcode.CallVirt:
                        {
                            int argc = _module.Def.Functions[_module.Classes[ins.A].VTable[ins.B]].Params.Length;
                            int receiver = (int)Unsafe.Add(ref s0, sp - argc);
                            if (receiver == 0) throw Fault(ref frame, pc, sp, MethodNullError(ins.A, (int)ins.B));
                            callee = heap.ClassOf(receiver).VTableFunctions[ins.B];
                            goto PushFrame;
                        }
                    case Opcode.CallIface:
                        {
                            var sig = _module.Classes[ins.A].Def.Signatures[(int)ins.B];
                            int receiver = (int)Unsafe.Add(ref s0, sp - 1 - sig.Params.Length);
                            if (receiver == 0) throw Fault(ref frame, pc, sp, InterfaceNullError(ins.A, (int)ins.B));
                            callee = heap.ClassOf(receiver).ITableFunctions[ins.A][ins.B];
                            goto PushFrame;
                        }
                    case Opcode.CallClosure:
                        {
                            int argc = (int)ins.B;
                            int at = sp - argc - 1;
                            int closure = (int)Unsafe.Add(ref s0, at);
                            if (closure == 0) throw Fault(ref frame, pc, sp, NullDereference("call a function value"));
                            callee = heap.ClosureTarget(closure);
                            // The closure's slot becomes the environment argument, or the arguments move down over it.
                            if (callee.ParamCount > argc) Unsafe.Add(ref s0, at) = heap.ClosureEnv(closure);
                            else
                            {
                                Array.Copy(stack, at + 1, stack, at, argc);
                                sp--;
                            }
                            goto PushFrame;
                        }
                    case Opcode.FuncRef:
                    case Opcode.Closure: sp = OpFuncRefOrClosure(ref frame, pc, sp, in ins); break;
                    case Opcode.AConstNull: Unsafe.Add(ref s0, sp++) = 0; break;
                    case Opcode.RefEq: sp--; Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) == Unsafe.Add(ref s0, sp) ? 1 : 0; break;
                    case Opcode.RefNe: sp--; Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) != Unsafe.Add(ref s0, sp) ? 1 : 0; break;
                    case Opcode.NewObject: sp = OpNewObject(ref frame, pc, sp, in ins); break;
                    case Opcode.GetField:
                        {
                            int r = (int)Unsafe.Add(ref s0, sp - 1);
                            if (r == 0) throw Fault(ref frame, pc, sp, FieldNullError(ins.A, ins.B, write: false));
                            long v = heap.GetField(r, (int)ins.B);
                            if (v == 0 && _module.Classes[ins.A].NonNullFields[ins.B]) throw Fault(ref frame, pc, sp, FieldUnsetError(ins.A, ins.B));
                            Unsafe.Add(ref s0, sp - 1) = v;
                            break;
                        }
                    case Opcode.SetField:
                        {
                            sp -= 2;
                            int r = (int)Unsafe.Add(ref s0, sp);
                            if (r == 0) throw Fault(ref frame, pc, sp, FieldNullError(ins.A, ins.B, write: true));
                            heap.SetField(r, (int)ins.B, Unsafe.Add(ref s0, sp + 1));
                            break;
                        }
                    case Opcode.NonNull:
                        if (Unsafe.Add(ref s0, sp - 1) == 0) throw Fault(ref frame, pc, sp, NullDereference("use the value"));
                        break;
                    case Opcode.NewMap: sp = OpNewMap(ref frame, pc, sp, in ins); break;
                    case Opcode.MapGet: sp = OpMapGet(ref frame, pc, sp, in ins); break;
                    case Opcode.MapGetOr: sp = OpMapGetOr(ref frame, pc, sp, in ins); break;
                    case Opcode.MapSet: sp = OpMapSet(ref frame, pc, sp, in ins); break;
                    case Opcode.MapHas: sp = OpMapHas(ref frame, pc, sp, in ins); break;
                    case Opcode.MapRemove: sp = OpMapRemove(ref frame, pc, sp, in ins); break;
                    case Opcode.MapLen: sp = OpMapLen(ref frame, pc, sp, in ins); break;
                    case Opcode.MapKeys:
                    case Opcode.MapValues: sp = OpMapKeysOrMapValues(ref frame, pc, sp, in ins); break;
                    case Opcode.MToS: sp = OpMToS(ref frame, pc, sp, in ins); break;
                    case Opcode.Throw:
                        if (Unsafe.Add(ref s0, sp - 1) == 0) throw Fault(ref frame, pc, sp, NullDereference("throw the error"));
                        _pending = Unsafe.Add(ref s0, --sp);
                        throw Fault(ref frame, pc, sp, new ThrownError());
                    case Opcode.InstanceOf: sp = OpInstanceOf(ref frame, pc, sp, in ins); break;
                    case Opcode.CheckCast: sp = OpCheckCast(ref frame, pc, sp, in ins); break;
                    case Opcode.CallNative: sp = OpCallNative(ref frame, pc, sp, in ins); break;
                    case Opcode.Ret:
                    case Opcode.RetVoid:
                        result = ins.Op == Opcode.Ret ? Unsafe.Add(ref s0, sp - 1) : 0;
                        if (_profiler is not null && Volatile.Read(ref _attention) is not null) SampleAtReturn(_fp - 1, frame.Function, pc - 1, compiled: false);
                        --_fp;
                        goto Returned;

                    case Opcode.NewArray: sp = OpNewArray(ref frame, pc, sp, in ins); break;
                    case Opcode.ALoad:
                        {
                            long index = Unsafe.Add(ref s0, --sp);
                            int r = (int)Unsafe.Add(ref s0, sp - 1);
                            if (r == 0) throw Fault(ref frame, pc, sp, NullDereference("index an array"));
                            int length = heap.ArrayLength(r);
                            if ((ulong)index >= (ulong)length) throw Fault(ref frame, pc, sp, IndexOutOfRange(index, length));
                            Unsafe.Add(ref s0, sp - 1) = heap.ArrayGet(r, (int)index);
                            break;
                        }
                    case Opcode.AStore:
                        {
                            sp -= 3;
                            int r = (int)Unsafe.Add(ref s0, sp);
                            if (r == 0) throw Fault(ref frame, pc, sp, NullDereference("index an array"));
                            long index = Unsafe.Add(ref s0, sp + 1);
                            int length = heap.ArrayLength(r);
                            if ((ulong)index >= (ulong)length) throw Fault(ref frame, pc, sp, IndexOutOfRange(index, length));
                            heap.ArraySet(r, (int)index, Unsafe.Add(ref s0, sp + 2));
                            break;
                        }
                    case Opcode.ALen:
                        if (Unsafe.Add(ref s0, sp - 1) == 0) throw Fault(ref frame, pc, sp, NullDereference("take the length of an array"));
                        Unsafe.Add(ref s0, sp - 1) = heap.ArrayLength((int)Unsafe.Add(ref s0, sp - 1));
                        break;
                    case Opcode.APop: sp = OpAPop(ref frame, pc, sp, in ins); break;
                    case Opcode.ARemoveAt: sp = OpARemoveAt(ref frame, pc, sp, in ins); break;
                    case Opcode.AInsert: sp = OpAInsert(ref frame, pc, sp, in ins); break;
                    case Opcode.ASlice: sp = OpASlice(ref frame, pc, sp, in ins); break;
                    case Opcode.ARepeat: sp = OpARepeat(ref frame, pc, sp); break;
                    case Opcode.AIndexOf: sp = OpAIndexOf(ref frame, pc, sp, in ins); break;
                    case Opcode.AReverse: sp = OpAReverse(ref frame, pc, sp, in ins); break;
                    case Opcode.APush: sp = OpAPush(ref frame, pc, sp, in ins); break;
                    // Fused sequences (fast mode only; see Superinstructions).
                    case Fused.LLBin:
                        Unsafe.Add(ref s0, sp++) = Superinstructions.Binary((Opcode)ins.Sub, Unsafe.Add(ref s0, bp + ins.C), Unsafe.Add(ref s0, bp + ins.A));
                        pc += 2;
                        break;
                    case Fused.LCBin:
                        Unsafe.Add(ref s0, sp++) = Superinstructions.Binary((Opcode)ins.Sub, Unsafe.Add(ref s0, bp + ins.C), ins.B);
                        pc += 2;
                        break;
                    case Fused.LBin:
                        Unsafe.Add(ref s0, sp - 1) = Superinstructions.Binary((Opcode)ins.Sub, Unsafe.Add(ref s0, sp - 1), Unsafe.Add(ref s0, bp + ins.C));
                        pc += 1;
                        break;
                    case Fused.CBin:
                        Unsafe.Add(ref s0, sp - 1) = Superinstructions.Binary((Opcode)ins.Sub, Unsafe.Add(ref s0, sp - 1), ins.B);
                        pc += 1;
                        break;
                    // A backward jump polls as the jump itself, not the fused form's first instruction: pc moves to
                    // it first, so that a stop's trace and a sample name the jump's line, as in every other engine.
                    case Fused.LLCmpJump:
                        if (Superinstructions.Compare((Opcode)(ins.Sub & 0x7F), Unsafe.Add(ref s0, bp + ins.C), Unsafe.Add(ref s0, bp + (int)ins.B)) == (ins.Sub >= Fused.JumpIfTrue))
                        {
                            if (StopAt<TMode>(ins.A, pc)) { target = ins.A; pc += 3; goto Poll; }
                            pc = ins.A;
                        }
                        else pc += 3;
                        break;
                    case Fused.LCCmpJump:
                        if (Superinstructions.Compare((Opcode)(ins.Sub & 0x7F), Unsafe.Add(ref s0, bp + ins.C), ins.B) == (ins.Sub >= Fused.JumpIfTrue))
                        {
                            if (StopAt<TMode>(ins.A, pc)) { target = ins.A; pc += 3; goto Poll; }
                            pc = ins.A;
                        }
                        else pc += 3;
                        break;
                    case Fused.CmpJump:
                        sp -= 2;
                        if (Superinstructions.Compare((Opcode)(ins.Sub & 0x7F), Unsafe.Add(ref s0, sp), Unsafe.Add(ref s0, sp + 1)) == (ins.Sub >= Fused.JumpIfTrue))
                        {
                            if (StopAt<TMode>(ins.A, pc)) { target = ins.A; pc += 1; goto Poll; }
                            pc = ins.A;
                        }
                        else pc += 1;
                        break;
                    case Fused.IncLocal:
                        Unsafe.Add(ref s0, bp + ins.C) += ins.B;
                        pc += 3;
                        break;
                    case Fused.LoadGetField:
                        {
                            int r = (int)Unsafe.Add(ref s0, bp + ins.C);
                            // The getfield faults, one instruction after the fused one.
                            if (r == 0) throw Fault(ref frame, pc + 1, sp, FieldNullError(ins.A, ins.B, write: false));
                            long v = heap.GetField(r, (int)ins.B);
                            if (v == 0 && _module.Classes[ins.A].NonNullFields[ins.B]) throw Fault(ref frame, pc + 1, sp, FieldUnsetError(ins.A, ins.B));
                            Unsafe.Add(ref s0, sp++) = v;
                            pc += 1;
                            break;
                        }
                    case Fused.LLBinIAdd:
                        Unsafe.Add(ref s0, sp++) = Unsafe.Add(ref s0, bp + ins.C) + Unsafe.Add(ref s0, bp + ins.A);
                        pc += 2;
                        break;
                    case Fused.LLBinISub:
                        Unsafe.Add(ref s0, sp++) = Unsafe.Add(ref s0, bp + ins.C) - Unsafe.Add(ref s0, bp + ins.A);
                        pc += 2;
                        break;
                    case Fused.LLBinIMul:
                        Unsafe.Add(ref s0, sp++) = Unsafe.Add(ref s0, bp + ins.C) * Unsafe.Add(ref s0, bp + ins.A);
                        pc += 2;
                        break;
                    case Fused.LLBinFAdd:
                        Unsafe.Add(ref s0, sp++) = L(D(Unsafe.Add(ref s0, bp + ins.C)) + D(Unsafe.Add(ref s0, bp + ins.A)));
                        pc += 2;
                        break;
                    case Fused.LLBinFSub:
                        Unsafe.Add(ref s0, sp++) = L(D(Unsafe.Add(ref s0, bp + ins.C)) - D(Unsafe.Add(ref s0, bp + ins.A)));
                        pc += 2;
                        break;
                    case Fused.LLBinFMul:
                        Unsafe.Add(ref s0, sp++) = L(D(Unsafe.Add(ref s0, bp + ins.C)) * D(Unsafe.Add(ref s0, bp + ins.A)));
                        pc += 2;
                        break;
                    case Fused.LLBinFDiv:
                        Unsafe.Add(ref s0, sp++) = L(D(Unsafe.Add(ref s0, bp + ins.C)) / D(Unsafe.Add(ref s0, bp + ins.A)));
                        pc += 2;
                        break;
                    case Fused.LCBinIAdd:
                        Unsafe.Add(ref s0, sp++) = Unsafe.Add(ref s0, bp + ins.C) + ins.B;
                        pc += 2;
                        break;
                    case Fused.LCBinISub:
                        Unsafe.Add(ref s0, sp++) = Unsafe.Add(ref s0, bp + ins.C) - ins.B;
                        pc += 2;
                        break;
                    case Fused.LCBinIMul:
                        Unsafe.Add(ref s0, sp++) = Unsafe.Add(ref s0, bp + ins.C) * ins.B;
                        pc += 2;
                        break;
                    case Fused.LCBinFAdd:
                        Unsafe.Add(ref s0, sp++) = L(D(Unsafe.Add(ref s0, bp + ins.C)) + D(ins.B));
                        pc += 2;
                        break;
                    case Fused.LCBinFSub:
                        Unsafe.Add(ref s0, sp++) = L(D(Unsafe.Add(ref s0, bp + ins.C)) - D(ins.B));
                        pc += 2;
                        break;
                    case Fused.LCBinFMul:
                        Unsafe.Add(ref s0, sp++) = L(D(Unsafe.Add(ref s0, bp + ins.C)) * D(ins.B));
                        pc += 2;
                        break;
                    case Fused.LCBinFDiv:
                        Unsafe.Add(ref s0, sp++) = L(D(Unsafe.Add(ref s0, bp + ins.C)) / D(ins.B));
                        pc += 2;
                        break;
                    case Fused.LBinIAdd:
                        Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) + Unsafe.Add(ref s0, bp + ins.C);
                        pc += 1;
                        break;
                    case Fused.LBinISub:
                        Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) - Unsafe.Add(ref s0, bp + ins.C);
                        pc += 1;
                        break;
                    case Fused.LBinIMul:
                        Unsafe.Add(ref s0, sp - 1) = Unsafe.Add(ref s0, sp - 1) * Unsafe.Add(ref s0, bp + ins.C);
                        pc += 1;
                        break;
                    case Fused.LBinFAdd:
                        Unsafe.Add(ref s0, sp - 1) = L(D(Unsafe.Add(ref s0, sp - 1)) + D(Unsafe.Add(ref s0, bp + ins.C)));
                        pc += 1;
                        break;
                    case Fused.LBinFSub:
                        Unsafe.Add(ref s0, sp - 1) = L(D(Unsafe.Add(ref s0, sp - 1)) - D(Unsafe.Add(ref s0, bp + ins.C)));
                        pc += 1;
                        break;
                    case Fused.LBinFMul:
                        Unsafe.Add(ref s0, sp - 1) = L(D(Unsafe.Add(ref s0, sp - 1)) * D(Unsafe.Add(ref s0, bp + ins.C)));
                        pc += 1;
                        break;
                    case Fused.LBinFDiv:
                        Unsafe.Add(ref s0, sp - 1) = L(D(Unsafe.Add(ref s0, sp - 1)) / D(Unsafe.Add(ref s0, bp + ins.C)));
                        pc += 1;
                        break;
                    case Fused.LLBinStoreIAdd:
                        Unsafe.Add(ref s0, bp + (int)ins.B) = Unsafe.Add(ref s0, bp + ins.C) + Unsafe.Add(ref s0, bp + ins.A);
                        pc += 3;
                        break;
                    case Fused.LLBinStoreISub:
                        Unsafe.Add(ref s0, bp + (int)ins.B) = Unsafe.Add(ref s0, bp + ins.C) - Unsafe.Add(ref s0, bp + ins.A);
                        pc += 3;
                        break;
                    case Fused.LLBinStoreIMul:
                        Unsafe.Add(ref s0, bp + (int)ins.B) = Unsafe.Add(ref s0, bp + ins.C) * Unsafe.Add(ref s0, bp + ins.A);
                        pc += 3;
                        break;
                    case Fused.LLBinStoreFAdd:
                        Unsafe.Add(ref s0, bp + (int)ins.B) = L(D(Unsafe.Add(ref s0, bp + ins.C)) + D(Unsafe.Add(ref s0, bp + ins.A)));
                        pc += 3;
                        break;
                    case Fused.LLBinStoreFSub:
                        Unsafe.Add(ref s0, bp + (int)ins.B) = L(D(Unsafe.Add(ref s0, bp + ins.C)) - D(Unsafe.Add(ref s0, bp + ins.A)));
                        pc += 3;
                        break;
                    case Fused.LLBinStoreFMul:
                        Unsafe.Add(ref s0, bp + (int)ins.B) = L(D(Unsafe.Add(ref s0, bp + ins.C)) * D(Unsafe.Add(ref s0, bp + ins.A)));
                        pc += 3;
                        break;
                    case Fused.LLBinStoreFDiv:
                        Unsafe.Add(ref s0, bp + (int)ins.B) = L(D(Unsafe.Add(ref s0, bp + ins.C)) / D(Unsafe.Add(ref s0, bp + ins.A)));
                        pc += 3;
                        break;
                    case Fused.LCBinStoreIAdd:
                        Unsafe.Add(ref s0, bp + ins.A) = Unsafe.Add(ref s0, bp + ins.C) + ins.B;
                        pc += 3;
                        break;
                    case Fused.LCBinStoreISub:
                        Unsafe.Add(ref s0, bp + ins.A) = Unsafe.Add(ref s0, bp + ins.C) - ins.B;
                        pc += 3;
                        break;
                    case Fused.LCBinStoreIMul:
                        Unsafe.Add(ref s0, bp + ins.A) = Unsafe.Add(ref s0, bp + ins.C) * ins.B;
                        pc += 3;
                        break;
                    case Fused.LCBinStoreFAdd:
                        Unsafe.Add(ref s0, bp + ins.A) = L(D(Unsafe.Add(ref s0, bp + ins.C)) + D(ins.B));
                        pc += 3;
                        break;
                    case Fused.LCBinStoreFSub:
                        Unsafe.Add(ref s0, bp + ins.A) = L(D(Unsafe.Add(ref s0, bp + ins.C)) - D(ins.B));
                        pc += 3;
                        break;
                    case Fused.LCBinStoreFMul:
                        Unsafe.Add(ref s0, bp + ins.A) = L(D(Unsafe.Add(ref s0, bp + ins.C)) * D(ins.B));
                        pc += 3;
                        break;
                    case Fused.LCBinStoreFDiv:
                        Unsafe.Add(ref s0, bp + ins.A) = L(D(Unsafe.Add(ref s0, bp + ins.C)) / D(ins.B));
                        pc += 3;
                        break;
                    case Fused.LLBinStore:
                        Unsafe.Add(ref s0, bp + (int)ins.B) = Superinstructions.Binary((Opcode)ins.Sub, Unsafe.Add(ref s0, bp + ins.C), Unsafe.Add(ref s0, bp + ins.A));
                        pc += 3;
                        break;
                    case Fused.LCBinStore:
                        Unsafe.Add(ref s0, bp + ins.A) = Superinstructions.Binary((Opcode)ins.Sub, Unsafe.Add(ref s0, bp + ins.C), ins.B);
                        pc += 3;
                        break;
                    case Fused.LBinStore:
                        Unsafe.Add(ref s0, bp + ins.A) = Superinstructions.Binary((Opcode)ins.Sub, Unsafe.Add(ref s0, --sp), Unsafe.Add(ref s0, bp + ins.C));
                        pc += 2;
                        break;
                    case Fused.CBinStore:
                        Unsafe.Add(ref s0, bp + ins.A) = Superinstructions.Binary((Opcode)ins.Sub, Unsafe.Add(ref s0, --sp), ins.B);
                        pc += 2;
                        break;
                    case Fused.FieldFieldBin:
                        {
                            int x = (int)Unsafe.Add(ref s0, bp + ins.C);
                            int y = (int)Unsafe.Add(ref s0, bp + (ushort)ins.B);
                            if (x == 0) throw Fault(ref frame, pc + 1, sp, FieldNullError(fn, pc));
                            if (y == 0) throw Fault(ref frame, pc + 3, sp, FieldNullError(fn, pc + 2));
                            Unsafe.Add(ref s0, sp++) = Superinstructions.Binary((Opcode)ins.Sub, heap.GetField(x, ins.A), heap.GetField(y, (int)(ins.B >> 32)));
                            pc += 4;
                            break;
                        }
                    case Fused.ALoadLL:
                        {
                            int r = (int)Unsafe.Add(ref s0, bp + ins.C);
                            long index = Unsafe.Add(ref s0, bp + ins.A);
                            if (r == 0) throw Fault(ref frame, pc + 2, sp, NullDereference("index an array"));
                            int length = heap.ArrayLength(r);
                            if ((ulong)index >= (ulong)length) throw Fault(ref frame, pc + 2, sp, IndexOutOfRange(index, length));
                            Unsafe.Add(ref s0, sp++) = heap.ArrayGet(r, (int)index);
                            pc += 2;
                            break;
                        }
                    case Fused.AStoreLLC:
                    case Fused.AStoreLLL:
                        {
                            int r = (int)Unsafe.Add(ref s0, bp + ins.C);
                            long index = Unsafe.Add(ref s0, bp + ins.A);
                            if (r == 0) throw Fault(ref frame, pc + 3, sp, NullDereference("index an array"));
                            int length = heap.ArrayLength(r);
                            if ((ulong)index >= (ulong)length) throw Fault(ref frame, pc + 3, sp, IndexOutOfRange(index, length));
                            heap.ArraySet(r, (int)index, ins.Op == Fused.AStoreLLC ? ins.B : Unsafe.Add(ref s0, bp + (int)ins.B));
                            pc += 3;
                            break;
                        }
                    case Fused.LoadLoad:
                        Unsafe.Add(ref s0, sp) = Unsafe.Add(ref s0, bp + ins.C);
                        Unsafe.Add(ref s0, sp + 1) = Unsafe.Add(ref s0, bp + ins.A);
                        sp += 2;
                        pc += 1;
                        break;
                    case Fused.LoadNonNull:
                        {
                            long v = Unsafe.Add(ref s0, bp + ins.C);
                            // The nonnull faults, one instruction after the fused one.
                            if (v == 0) throw Fault(ref frame, pc + 1, sp, NullDereference("use the value"));
                            Unsafe.Add(ref s0, sp++) = v;
                            pc += 1;
                            break;
                        }
                    case Fused.Move:
                        Unsafe.Add(ref s0, bp + ins.A) = Unsafe.Add(ref s0, bp + ins.C);
                        pc += 1;
                        break;
                    case Fused.StoreConst:
                        Unsafe.Add(ref s0, bp + ins.A) = ins.B;
                        pc += 1;
                        break;
                    default:
                        throw new InvalidOperationException($"no interpreter case for opcode {ins.Op}");
                }
                continue;

            // A stop was requested (Interrupt) at a backward branch or a call: the fast mode's only checks.
            Stop:
                AtInstruction(ref frame, pc, sp);
                throw Volatile.Read(ref _interrupt)!;

            // A backward branch to `target` found the poll flag set: a stop, or (tiering) a loop to count; a loop
            // that is hot, or whose function was compiled meanwhile, continues in compiled code from `target`.
            Poll:
                if (Volatile.Read(ref _attention) is not null)
                {
                    if (Volatile.Read(ref _interrupt) is not null) goto Stop;
                    frame.Pc = pc - 1;
                    Attend(compiled: false);
                }
                pc = target;
                if (Polls<TMode>() && _tiering)
                {
                    CountTowardCompiling(fn, "loop", _options.JitLoopThreshold);
                    if (fn.Compiled is { } loop && !NativeStackLow() && (typeof(TMode) == typeof(FastMode) || !_fuelLow))
                    {
                        frame.Pc = pc;
                        _sp = sp;
                        OsrEntries++;
                        result = loop(this, bp, pc + 1, _fp);
                        // The compiled code may have grown the stack (its calls): the caller's slots are in the new one.
                        stack = _stack;
                        s0 = ref MemoryMarshal.GetArrayDataReference(stack);
                        goto Returned; // the compiled code returned from the function and popped its frame
                    }
                }
                continue;

            // The top frame returned `result` and was popped (_fp is one less): continue in its caller, or end
            // when it was this segment's first frame.
            Returned:
                if (_fp == baseFp) return result;
                sp = bp;
                if (fn.ReturnsValue) Unsafe.Add(ref s0, sp++) = result;
                frame = ref _frames[_fp - 1];
                fn = FunctionOf(frame);
                code = CodeOf<TMode>(fn);
                c0 = ref MemoryMarshal.GetArrayDataReference(code);
                bp = frame.Bp;
                pc = frame.Pc + 1;
                continue;

            // Calls of every kind end here with the callee chosen: push its frame and continue in it.
            PushFrame:
                {
                    frame.Pc = pc - 1;
                    if (Polls<TMode>() && Volatile.Read(ref _poll))
                    {
                        if (Volatile.Read(ref _attention) is not null)
                        {
                            if (Volatile.Read(ref _interrupt) is not null) goto Stop;
                            Attend(compiled: false);
                        }
                        // Tiering: count the call; a compiled callee runs as a C# call while the native stack has room.
                        if (_tiering) CountTowardCompiling(callee, "calls");
                        // (When the native stack is low, the call stays here: compiled code would come back to the interpreter.)
                        if (callee.Compiled is { } compiled && !NativeStackLow() && (typeof(TMode) == typeof(FastMode) || !_fuelLow))
                        {
                            int calleeBp = sp - callee.ParamCount;
                            _sp = sp;
                            result = compiled(this, calleeBp, 0, _fp);
                            stack = _stack;
                            s0 = ref MemoryMarshal.GetArrayDataReference(stack);
                            frame = ref _frames[_fp - 1];
                            sp = calleeBp;
                            if (callee.ReturnsValue) Unsafe.Add(ref s0, sp++) = result;
                            continue;
                        }
                        if (_profiler is not null) callee.Calls++; // (compiled code counts its own calls)
                    }
                    // The modes that do not poll (metered without tiering: --every, --fuel; checked) count a profile's calls
                    // here. (With a profiler, a mode that polls always finds _poll set.)
                    else if (_profiler is not null) callee.Calls++;
                    int fp = _fp;
                    if (fp > maxFrames) throw Fault(ref frame, pc, sp, StackOverflowError());
                    int newBp = sp - callee.ParamCount;
                    if (newBp + callee.FrameSize > stack.Length)
                    {
                        _sp = sp;
                        EnsureStack(newBp + callee.FrameSize);
                        stack = _stack;
                        s0 = ref MemoryMarshal.GetArrayDataReference(stack);
                    }
                    // Locals past the parameters start zero (null for references): the collector reads them.
                    for (int k = sp, end = newBp + callee.LocalCount; k < end; k++) Unsafe.Add(ref s0, k) = 0;
                    if (fp == _frames.Length) GrowFrames();
                    frame = ref _frames[fp];
                    _fp = fp + 1;
                    frame.Function = callee.Index;
                    frame.Bp = newBp;
                    frame.Pc = 0;
                    fn = callee;
                    code = CodeOf<TMode>(callee);
                    c0 = ref MemoryMarshal.GetArrayDataReference(code);
                    bp = newBp;
                    sp = newBp + callee.LocalCount;
                    pc = 0;
                    continue;
                }
            }
    }

    // The instructions the dispatch loop leaves to methods of their own: allocating, formatting, maps and the
    // rarer array operations. Each takes the stack's height and returns it; a fault goes through Fault as in the loop.

    /// <summary>seq and sne: whether two strings hold the same characters.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpStringEquals(int sp, bool equal)
    {
        var stack = _stack;
        sp--;
        stack[sp - 1] = SameStrings(stack[sp - 1], stack[sp]) == equal ? 1 : 0;
        return sp;
    }

    /// <summary>
    /// Whether strings a and b hold the same characters: seq and sne in both engines (compiled code calls it with
    /// the strings where they are: it neither allocates nor reads a frame). Equal lengths are compared character by
    /// character: charged as such, noticed at the next instruction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal bool SameStrings(long a, long b)
    {
        var heap = Heap;
        int length = heap.StringLength((int)a);
        if (length == heap.StringLength((int)b)) _fuel -= length;
        return heap.SameString((int)a, (int)b);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpSConcat(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        AtInstruction(ref frame, pc, sp);
        long length = (long)heap.StringLength((int)stack[sp - 2]) + heap.StringLength((int)stack[sp - 1]);
        if (heap.StringTooLong(length, "joining two strings") is { } tooLong) throw Fault(ref frame, pc, sp, tooLong);
        _fuel -= length;
        heap.Reserve(Heap.StringWords(length));
        int r = heap.NewString((int)length);
        var a = heap.StringChars((int)stack[sp - 2]);
        a.CopyTo(heap.StringChars(r));
        heap.StringChars((int)stack[sp - 1]).CopyTo(heap.StringChars(r)[a.Length..]);
        stack[sp - 2] = r;
        sp--;
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpIToSOrFToSOrBToSOrAToS(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        AtInstruction(ref frame, pc, sp);
        string text = ins.Op switch
        {
            Opcode.IToS => stack[sp - 1].ToString(CultureInfo.InvariantCulture),
            Opcode.FToS => ValueText.FormatFloat(D(stack[sp - 1])),
            Opcode.BToS => stack[sp - 1] != 0 ? "true" : "false",
            _ => ValueText.FormatArray(heap, (int)stack[sp - 1]),
        };
        stack[sp - 1] = heap.NewString(text);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpNewObject(ref Frame frame, int pc, int sp, in Instr ins)
    {
        AtInstruction(ref frame, pc, sp);
        var c = _module.Classes[ins.A];
        Heap.Reserve(Heap.ObjectWords(c.Fields.Length));
        _stack[sp++] = Heap.NewObject(c);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpFuncRefOrClosure(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        AtInstruction(ref frame, pc, sp);
        heap.Reserve(Heap.ClosureWords);
        if (ins.Op == Opcode.FuncRef) stack[sp++] = heap.NewClosure(_module.FunctionBase + ins.A, 0);
        else stack[sp - 1] = heap.NewClosure(_module.FunctionBase + ins.A, stack[sp - 1]);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpNewMap(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        AtInstruction(ref frame, pc, sp);
        int pairs = (int)ins.B;
        var type = _module.Def.Types[ins.A];
        heap.Reserve(Heap.MapWords + Heap.MapStoreWords(pairs));
        int m = heap.NewMap(type.Key!.Kind, type.Element!.Kind, pairs);
        for (int k = sp - 2 * pairs; k < sp; k += 2)
        {
            int e = heap.MapFind(m, stack[k]);
            if (e >= 0) heap.MapSetValueAt(m, e, stack[k + 1]);
            else heap.MapAppend(m, stack[k], stack[k + 1]);
        }
        sp -= 2 * pairs;
        stack[sp++] = m;
        ChargeMapWork(heap);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpMapGet(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int m = (int)stack[sp - 2];
        if (m == 0) throw Fault(ref frame, pc, sp, NullDereference("read a map"));
        int e = heap.MapFind(m, stack[sp - 1]);
        if (e < 0) throw Fault(ref frame, pc, sp, MissingKey(heap, m, stack[sp - 1]));
        stack[sp - 2] = heap.MapValueAt(m, e);
        sp--;
        ChargeMapWork(heap);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpMapGetOr(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int m = (int)stack[sp - 3];
        if (m == 0) throw Fault(ref frame, pc, sp, NullDereference("read a map"));
        stack[sp - 3] = MapGetOr(m, stack[sp - 2], stack[sp - 1]);
        return sp - 2;
    }

    /// <summary>Compiled code's <c>m[key]</c> of a map that is not null: true with the key's value; false when the
    /// map does not hold it, having left uncharged what <see cref="OpMapGet"/>'s look-up of the key charges again
    /// (<see cref="UnchargeRepeated"/>); that slow path then raises the KeyError. Never allocates.</summary>
    internal bool MapGetFound(int m, long key, out long value)
    {
        var heap = Heap;
        long work = heap.MapWork;
        int e = heap.MapFind(m, key);
        if (e < 0)
        {
            UnchargeRepeated(heap, m, work);
            value = 0;
            return false;
        }
        value = heap.MapValueAt(m, e);
        ChargeMapWork(heap);
        return true;
    }

    /// <summary><c>m.get(key, otherwise)</c> of a map that is not null: here and in compiled code (never allocates).</summary>
    internal long MapGetOr(int m, long key, long otherwise)
    {
        var heap = Heap;
        int e = heap.MapFind(m, key);
        long value = e >= 0 ? heap.MapValueAt(m, e) : otherwise;
        ChargeMapWork(heap);
        return value;
    }

    /// <summary>Compiled code's <c>m[key] = value</c> of a map that is not null, when it needs no new stores: false,
    /// having done nothing, when the key is new and the map full (then <see cref="OpMapSet"/> runs: it may grow the
    /// map, which may collect). Never allocates.</summary>
    /// <remarks>The key the map's last look-up found (<c>m[k] = m.get(k, 0) + 1</c>) is set here, inlined into the
    /// caller; any other goes to <see cref="MapSetLookedUp"/>.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool MapSetInPlace(int m, long key, long value)
    {
        var heap = Heap;
        if (!heap.MapSetFound(m, key, value)) return MapSetLookedUp(m, key, value);
        ChargeMapWork(heap);
        return true;
    }

    /// <summary><see cref="MapSetInPlace"/> whole, its first test included (in <see cref="Heap.MapFind"/>): for
    /// compiled code's other keys, and for <see cref="OpMapSet"/>, whose precompiled code ran the interpreter's map
    /// updates 1.14 times as long with the test inlined into it (mapcount).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool MapSetLookedUp(int m, long key, long value)
    {
        var heap = Heap;
        long work = heap.MapWork;
        int e = heap.MapFind(m, key);
        if (e >= 0) heap.MapSetValueAt(m, e, value);
        else if (heap.MapHasRoom(m)) heap.MapAppend(m, key, value);
        else
        {
            // Full: nothing done, and OpMapSet looks the key up again.
            UnchargeRepeated(heap, m, work);
            return false;
        }
        ChargeMapWork(heap);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpMapSet(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int m = (int)stack[sp - 3];
        if (m == 0) throw Fault(ref frame, pc, sp, NullDereference("write a map"));
        if (MapSetLookedUp(m, stack[sp - 2], stack[sp - 1])) return sp - 3;
        // The map is full: the key may be there (its value is set), or new (the map grows first, which may collect).
        int e = heap.MapFind(m, stack[sp - 2]);
        if (e >= 0) heap.MapSetValueAt(m, e, stack[sp - 1]);
        else
        {
            AtInstruction(ref frame, pc, sp);
            int capacity = heap.MapGrownCapacity(m);
            heap.Reserve(Heap.MapStoreWords(capacity));
            m = (int)stack[sp - 3];
            heap.MapGrow(m, capacity);
            heap.MapAppend(m, stack[sp - 2], stack[sp - 1]);
        }
        ChargeMapWork(heap);
        return sp - 3;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpMapHas(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var stack = _stack;
        int m = (int)stack[sp - 2];
        if (m == 0) throw Fault(ref frame, pc, sp, NullDereference("read a map"));
        stack[sp - 2] = MapHas(m, stack[sp - 1]);
        return sp - 1;
    }

    /// <summary><c>m.has(key)</c> of a map that is not null, 1 or 0: here and in compiled code (never allocates).</summary>
    internal long MapHas(int m, long key)
    {
        var heap = Heap;
        long has = heap.MapFind(m, key) >= 0 ? 1 : 0;
        ChargeMapWork(heap);
        return has;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpMapRemove(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int m = (int)stack[sp - 2];
        if (m == 0) throw Fault(ref frame, pc, sp, NullDereference("write a map"));
        stack[sp - 2] = heap.MapRemove(m, stack[sp - 1]) ? 1 : 0;
        sp--;
        ChargeMapWork(heap);
        return sp;
    }

    /// <summary>
    /// Takes back, before a slow path looks the same key up again, the work a look-up charged that the second
    /// charges too: a string key's hashing (<paramref name="before"/> is <see cref="Heap.MapWork"/> before the
    /// first). An int or bool key's look-up charges nothing twice: its hash costs nothing, and the keys hashed
    /// again with the secret when it walked too many slots are hashed once (the map keeps that hash), so that work
    /// stays charged, as the interpreter's single look-up charges it.
    /// </summary>
    private static void UnchargeRepeated(Heap heap, int m, long before)
    {
        if (heap.MapKeyKind(m) == TypeKind.String) heap.MapWork = before;
    }

    /// <summary>
    /// Charges the map operations' work (<see cref="Heap.MapWork"/>: the characters of string keys hashed, the
    /// entries moved when a map grows), noticed at the next instruction: a map operation costs what its keys and
    /// sizes make it cost, not one instruction whatever they are, and the same on every run.
    /// </summary>
    private void ChargeMapWork(Heap heap)
    {
        if (heap.MapWork == 0) return;
        _fuel -= heap.MapWork;
        heap.MapWork = 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpMapLen(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        if (stack[sp - 1] == 0) throw Fault(ref frame, pc, sp, NullDereference("take the length of a map"));
        stack[sp - 1] = heap.MapCount((int)stack[sp - 1]);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpMapKeysOrMapValues(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        if (stack[sp - 1] == 0) throw Fault(ref frame, pc, sp, NullDereference("read a map"));
        AtInstruction(ref frame, pc, sp);
        int count = heap.MapCount((int)stack[sp - 1]);
        _fuel -= count; // the entries copied, noticed at the next instruction
        bool values = ins.Op == Opcode.MapValues;
        var kind = values ? heap.MapValueKind((int)stack[sp - 1]) : heap.MapKeyKind((int)stack[sp - 1]);
        heap.Reserve(Heap.ArrayWords + Heap.StoreWords(kind, Math.Max(count, 4)));
        int m = (int)stack[sp - 1];
        int r = heap.NewArray(kind, count, Math.Max(count, 4));
        if (heap.IsByteArray(r))
        {
            var copied = new long[count];
            heap.MapCopy(m, values, copied);
            heap.ArrayFill(r, copied);
        }
        else heap.MapCopy(m, values, heap.ArrayElements(r));
        stack[sp - 1] = r;
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpMToS(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        AtInstruction(ref frame, pc, sp);
        stack[sp - 1] = heap.NewString(ValueText.FormatMap(heap, (int)stack[sp - 1]));
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpInstanceOf(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int r = (int)stack[sp - 1];
        stack[sp - 1] = r != 0 && heap.ClassOf(r).Is(ins.A) ? 1 : 0;
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpCheckCast(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int r = (int)stack[sp - 1];
        if (r != 0 && !heap.ClassOf(r).Is(ins.A))
            throw Fault(ref frame, pc, sp, new VmError(ErrorClasses.Cast, $"{WithArticle(heap.ClassOf(r).Name)} is not {WithArticle(_module.Classes[ins.A].Name)}"));
        return sp;
    }

    /// <summary>A class's name after "a", or "an" where the name begins with a vowel's letter ("an Animal").</summary>
    private static string WithArticle(string name) => (name.Length > 0 && "AEIOUaeiou".Contains(name[0]) ? "an " : "a ") + name;

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpCallNative(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        var native = _module.Natives[ins.A];
        int argc = native.Params.Length;
        AtInstruction(ref frame, pc, sp);
        var args = new Span<long>(stack, sp - argc, argc);
        if (native.Permission is not null) Host.Authorize(native, native.TargetOf(this, args));
        long result;
        try
        {
            result = Call(native, args);
        }
        catch (OperationCanceledException) when (Volatile.Read(ref _interrupt) is { } reason)
        {
            throw reason;
        }
        sp -= argc;
        if (native.Return.Kind != TypeKind.Void) stack[sp++] = result;
        StopAfterWork(ref frame, pc, sp);
        return sp;
    }

    /// <summary>
    /// Calls a native: a call site of many targets, where .NET's profile-guided tiering would not devirtualise. A
    /// method of its own, once compiled fully optimised at its first call so that tiering never ran it
    /// instrumented (the instrumented <see cref="OpCallNative"/> profiled every call of a native: a tenth of
    /// json.hl's run). With .NET's tiered PGO off (docs/jit.md, "The runtime's code under .NET's tiers") there is
    /// no instrumented copy, and its code compiled ahead of time serves from the first call, which every program
    /// makes (a run-time compile of it on the program's thread before).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Call(Natives.NativeDef native, Span<long> args) => native.Fn(this, args);

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpNewArray(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        AtInstruction(ref frame, pc, sp);
        int count = (int)ins.B;
        var element = _module.Def.Types[ins.A].Element!.Kind;
        heap.Reserve(Heap.ArrayWords + Heap.StoreWords(element, Math.Max(count, 4)));
        int r = heap.NewArray(element, count, Math.Max(count, 4));
        heap.ArrayFill(r, new ReadOnlySpan<long>(stack, sp - count, count));
        sp -= count;
        stack[sp++] = r;
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpAPop(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int r = (int)stack[sp - 1];
        if (r == 0) throw Fault(ref frame, pc, sp, NullDereference("pop from an array"));
        int length = heap.ArrayLength(r);
        if (length == 0) throw Fault(ref frame, pc, sp, new VmError(ErrorClasses.Index, "pop from an empty array"));
        stack[sp - 1] = heap.ArrayGet(r, length - 1);
        heap.SetArrayLength(r, length - 1);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpARemoveAt(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        long index = stack[--sp];
        int r = (int)stack[sp - 1];
        if (r == 0) throw Fault(ref frame, pc, sp, NullDereference("remove from an array"));
        int length = heap.ArrayLength(r);
        if ((ulong)index >= (ulong)length) throw Fault(ref frame, pc, sp, IndexOutOfRange(index, length));
        stack[sp - 1] = heap.ArrayGet(r, (int)index);
        _fuel -= length - index; // the elements moved, noticed at the next instruction
        heap.ArrayCopy(r, (int)index + 1, r, (int)index, length - (int)index - 1);
        heap.SetArrayLength(r, length - 1);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpAInsert(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int r = (int)stack[sp - 3];
        if (r == 0) throw Fault(ref frame, pc, sp, NullDereference("insert into an array"));
        int length = heap.ArrayLength(r);
        long index = stack[sp - 2];
        if ((ulong)index > (ulong)length) throw Fault(ref frame, pc, sp, ErrorWith(ErrorClasses.Index, "insert at index {0} is out of range for an array of length {1} (0..{1})", index, length));
        if (length == heap.ArrayCapacity(r))
        {
            if (length >= int.MaxValue - 64) throw Fault(ref frame, pc, sp, ErrorWith(ErrorClasses.OutOfMemory, "array of {0} elements cannot grow", length));
            AtInstruction(ref frame, pc, sp);
            int newCapacity = (int)Math.Min(int.MaxValue - 64, Math.Max(8L, length * 2L));
            heap.Reserve(Heap.StoreWords(heap.ArrayElementKind(r), newCapacity));
            r = (int)stack[sp - 3];
            heap.GrowAndAppend(r, newCapacity, 0);
        }
        else heap.AppendInPlace(r, 0);
        _fuel -= length - index + 1; // the elements moved, noticed at the next instruction
        heap.ArrayCopy(r, (int)index, r, (int)index + 1, length - (int)index);
        heap.ArraySet(r, (int)index, stack[sp - 1]);
        sp -= 3;
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpASlice(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int r = (int)stack[sp - 3];
        if (r == 0) throw Fault(ref frame, pc, sp, NullDereference("slice an array"));
        int length = heap.ArrayLength(r);
        long from = stack[sp - 2], to = stack[sp - 1];
        if (from < 0 || to > length || from > to)
            throw Fault(ref frame, pc, sp, ErrorWith(ErrorClasses.Index, "slice({0}, {1}) is out of range for an array of length {2}", from, to, length));
        AtInstruction(ref frame, pc, sp);
        int count = (int)(to - from);
        _fuel -= count; // the elements copied, noticed at the next instruction
        heap.Reserve(Heap.ArrayWords + Heap.StoreWords(heap.ArrayElementKind(r), Math.Max(count, 4)));
        r = (int)stack[sp - 3];
        int slice = heap.NewArray(heap.ArrayElementKind(r), count, Math.Max(count, 4));
        heap.ArrayCopy(r, (int)from, slice, 0, count);
        sp -= 2;
        stack[sp - 1] = slice;
        StopAfterWork(ref frame, pc, sp);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpARepeat(ref Frame frame, int pc, int sp)
    {
        var heap = Heap;
        var stack = _stack;
        int r = (int)stack[sp - 2];
        long times = stack[sp - 1];
        if (r == 0) throw Fault(ref frame, pc, sp, NullDereference("repeat an array"));
        if (times < 0) throw Fault(ref frame, pc, sp, ErrorWith(ErrorClasses.Value, "repeat: the count {0} is negative", times));
        int length = heap.ArrayLength(r);
        if (length != 0 && times > long.MaxValue / length)
            throw Fault(ref frame, pc, sp, ErrorWith(ErrorClasses.OutOfMemory, "repeat: {0} elements {1} times exceed the heap limit", length, times));
        long count = length * times;
        var element = heap.ArrayElementKind(r);
        if (count > int.MaxValue - 64 || Heap.StoreWords(element, count) * 8L > heap.MaxBytes)
            throw Fault(ref frame, pc, sp, ErrorWith(ErrorClasses.OutOfMemory, "repeat: {0} elements exceed the heap limit", count));
        AtInstruction(ref frame, pc, sp);
        Charge(count);
        heap.Reserve(Heap.ArrayWords + Heap.StoreWords(element, Math.Max(count, 4)));
        r = (int)stack[sp - 2];
        int result = heap.NewArray(element, (int)count, (int)Math.Max(count, 4));
        heap.ArrayRepeat(r, result);
        stack[sp - 2] = result;
        StopAfterWork(ref frame, pc, sp - 1);
        return sp - 1;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpAIndexOf(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int r = (int)stack[sp - 2];
        if (r == 0) throw Fault(ref frame, pc, sp, NullDereference("search an array"));
        long work = 0;
        stack[sp - 2] = IndexOf(heap, r, stack[sp - 1], ref work, WorkBudget);
        _fuel -= work; // the elements (and characters) compared, noticed at the next instruction
        sp--;
        StopAfterWork(ref frame, pc, sp);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpAReverse(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        if (stack[sp - 1] == 0) throw Fault(ref frame, pc, sp, NullDereference("reverse an array"));
        int reversed = (int)stack[--sp];
        _fuel -= heap.ArrayLength(reversed); // noticed at the next instruction
        heap.ArrayReverse(reversed);
        StopAfterWork(ref frame, pc, sp);
        return sp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int OpAPush(ref Frame frame, int pc, int sp, in Instr ins)
    {
        var heap = Heap;
        var stack = _stack;
        int r = (int)stack[sp - 2];
        if (r == 0) throw Fault(ref frame, pc, sp, NullDereference("push onto an array"));
        int length = heap.ArrayLength(r);
        int capacity = heap.ArrayCapacity(r);
        if (length < capacity)
        {
            heap.AppendInPlace(r, stack[sp - 1]);
        }
        else
        {
            if (length == int.MaxValue - 64)
                throw Fault(ref frame, pc, sp, ErrorWith(ErrorClasses.OutOfMemory, "array of {0} elements cannot grow", length));
            AtInstruction(ref frame, pc, sp);
            int newCapacity = (int)Math.Min(int.MaxValue - 64, Math.Max(8L, capacity * 2L));
            _fuel -= length; // the elements the growth copies, noticed at the next instruction
            heap.Reserve(Heap.StoreWords(heap.ArrayElementKind(r), newCapacity));
            heap.GrowAndAppend((int)stack[sp - 2], newCapacity, stack[sp - 1]);
        }
        sp -= 2;
        return sp;
    }

    /// <summary>Compiled code's push onto an array that has room (<see cref="Heap.TryAppend"/>), with the operands as
    /// they are: false, having done nothing, for a null array or a full one, whose push <see cref="OpAPush"/> makes
    /// (the NullError, or the growth, which may collect). Never allocates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool APushInPlace(int r, long value) => _heap.TryAppend(r, value);

    // ------------------------------------------------------------------------------------------------ errors

    /// <summary>The error being raised: a heap reference, kept here so that the collector sees and moves it.</summary>
    internal long _pending;

    /// <summary>A `throw` of the object in <see cref="_pending"/>.</summary>
    internal sealed class ThrownError() : VmError("Error", "thrown");

    /// <summary>
    /// Raises an error in the program: a runtime fault becomes an instance of the module's class of that name (an
    /// IndexError, ...) in <see cref="_pending"/>, then the frames are searched, innermost first, for a handler
    /// that covers the instruction each is at and catches its class (<see cref="HandlerAt"/>); the frame and the
    /// handler are kept for <see cref="EnterHandler"/>. Nothing is unwound here: the engine running that frame
    /// enters it. False when there is none (or the module has no class for the fault).
    /// </summary>
    private bool FindHandler(VmError error, ref List<string>? trace)
    {
        // The operands of the faulting instruction are dead: clear them, so the collector needs no map for them.
        _sp = _frames[_fp - 1].Bp + FunctionOf(_frames[_fp - 1]).LocalCount;
        if (error is not ThrownError)
        {
            if (_module.ErrorClass(error.ErrorClass) is not { } cls) return false;
            // The heap may be full (that may be the error): the error object may use the heap's emergency room.
            Heap.InEmergency(() =>
            {
                _pending = Heap.NewString(error.Message);
                Heap.Reserve(Heap.ObjectWords(cls.Class.Fields.Length));
                int obj = Heap.NewObject(cls.Class);
                Heap.SetField(obj, cls.MessageField, _pending);
                _pending = obj;
                return 0;
            });
        }
        var errorClass = Heap.ClassOf((int)_pending);
        trace = KeepTrace(errorClass, trace);
        long examined = 0;
        try
        {
            for (int k = _fp - 1; k >= 0; k--)
            {
                ref Frame f = ref _frames[k];
                var fn = FunctionOf(f);
                examined += fn.Handlers.Length;
                int handler = HandlerAt(fn, f.Pc, errorClass);
                if (handler < 0) continue;
                _handlerFp = k;
                _handlerPc = handler;
                return true;
            }
            return false;
        }
        finally
        {
            // The exception tables read are work, noticed at the next instruction as a native's is: a module written
            // by hand whose function had 100,000 handlers that all missed made each throw cost one instruction of
            // fuel for 100,000 entries read (3,000 throws took 0.9 s of a budget of 40,000).
            _fuel -= examined / HandlerEntriesPerInstruction;
        }
    }

    /// <summary>How many exception-table entries a handler search reads for one instruction's worth of fuel: a
    /// program's own functions have a few, and their throws are charged nothing more.</summary>
    public const int HandlerEntriesPerInstruction = 16;

    /// <summary>
    /// The handler of <paramref name="fn"/> that an error of <paramref name="errorClass"/> raised at instruction
    /// <paramref name="pc"/> goes to (the first entry of the exception table that covers it and catches it), or -1.
    /// </summary>
    public static int HandlerAt(LoadedFunction fn, int pc, RuntimeClass errorClass)
    {
        foreach (var (start, end, handler, cls) in fn.Handlers)
        {
            if (pc >= start && pc < end && errorClass.Is(cls)) return handler;
        }
        return -1;
    }

    /// <summary>The frame and the handler <see cref="FindHandler"/> found.</summary>
    private int _handlerFp, _handlerPc;

    /// <summary>
    /// Unwinds to the handler found: the frames above its frame are dropped, its operand stack holds only the
    /// error, and its pc is the handler's.
    /// </summary>
    private void EnterHandler()
    {
        _fp = _handlerFp + 1;
        ref Frame f = ref _frames[_handlerFp];
        _sp = f.Bp + FunctionOf(f).LocalCount;
        EnsureStack(_sp + 1);
        _stack[_sp++] = _pending;
        f.Pc = _handlerPc;
        _pending = 0;
    }

    // The traces of errors raised recently, by id; an error object records its id in its `$trace` field (the
    // compiler gives the prelude's Error one, which programs can't name), so that an error thrown again keeps the
    // trace of where it was first raised, as a Java exception keeps the trace of where it was made.
    private const int KeptTraces = 1024;
    private readonly Dictionary<long, List<string>> _traces = [];
    private long _nextTraceId = 1;

    private List<string>? KeepTrace(RuntimeClass errorClass, List<string>? trace)
    {
        int field = errorClass.TraceField;
        if (field < 0) return trace;
        long id = Heap.GetField((int)_pending, field);
        if (id != 0 && _traces.TryGetValue(id, out var first)) return first;
        trace ??= CaptureTrace();
        id = _nextTraceId++;
        Heap.SetField((int)_pending, field, id);
        _traces[id] = trace;
        _traces.Remove(id - KeptTraces);
        return trace;
    }

    /// <summary>An error the program threw and nothing caught, as the host sees it: its class and message.</summary>
    private VmError UncaughtThrow()
    {
        var cls = Heap.ClassOf((int)_pending);
        int message = cls.MessageField;
        long text = message >= 0 ? Heap.GetField((int)_pending, message) : 0;
        return new VmError(cls.Name, text == 0 ? "" : Heap.GetString((int)text));
    }

    /// <summary>Checked mode: compares the state before instruction <paramref name="pc"/> with the verifier's.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckState(LoadedFunction fn, int pc, int bp, int sp)
    {
        string Where() => $"checked mode: in {fn.Name} at instruction {pc} ({fn.Code[pc].Op}, offset {fn.Offsets[pc]})";
        if (!fn.Reachable[pc]) throw new CheckedModeException($"{Where()}: the verifier found this instruction unreachable");
        var types = fn.StackTypes[pc];
        int operandBase = bp + fn.LocalCount;
        int depth = Verification.TypeStack.DepthOf(types);
        if (sp - operandBase != depth)
            throw new CheckedModeException($"{Where()}: the stack holds {sp - operandBase} values, the verifier expected {depth}");
        // An instruction changes only the top of the stack: entries further down were checked when they were pushed
        // (and the collector, which moves them, is checked by --verify-heap), so the top 32 are enough.
        for (var (n, k) = (types, 0); n is not null && k < 32; n = n.Below, k++)
        {
            int i = n.Depth - 1;
            if (!ValueFits(n.Top, _stack[operandBase + i]))
                throw new CheckedModeException($"{Where()}: stack entry {i} is 0x{_stack[operandBase + i]:x}, not a valid {_module.Def.TypeName(n.Top)}");
        }
        // A local is checked where it is read, before its value is used: in checked mode, whose code is not fused,
        // only a load reads one. Every local before every instruction cost the frame's size at each: a fuzzed
        // function of 35,000 locals ran 50,000 instructions in 10 s.
        ref readonly var ins = ref fn.Code[pc];
        if (ins.Op == Opcode.Load)
        {
            int i = (int)ins.A;
            if (!ValueFits(fn.Def.Locals[i], _stack[bp + i]))
                throw new CheckedModeException($"{Where()}: local {i} is 0x{_stack[bp + i]:x}, not a valid {_module.Def.TypeName(fn.Def.Locals[i])}");
        }
    }

    /// <summary>
    /// True when a slot's value can be of the type. Null (0) fits every reference type: bytecode may leave a field
    /// of a non-nullable type unwritten, and every dereference checks for null at run time.
    /// </summary>
    private bool ValueFits(VmType type, long value) => type.Kind switch
    {
        TypeKind.Bool => value is 0 or 1,
        TypeKind.Null => value == 0,
        TypeKind.String => value == 0 || Heap.IsObject(value, TypeKind.String),
        TypeKind.Array => value == 0 || Heap.IsObject(value, TypeKind.Array, type.Element!.Kind),
        TypeKind.Object => value == 0 || Heap.IsObject(value, TypeKind.Object, classIndex: type.ClassIndex),
        TypeKind.Map => value == 0 || Heap.IsObject(value, TypeKind.Map),
        TypeKind.Func => value == 0 || (Heap.IsObject(value, TypeKind.Func) && ClosureFits((int)value, type)),
        _ => true,
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static VmError NullDereference(string what) => new(ErrorClasses.Null, $"cannot {what}: the value is null");

    /// <summary>The NullError of the getfield at <paramref name="index"/> of a function's code (for fused reads).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private VmError FieldNullError(LoadedFunction fn, int index) => FieldNullError(fn.Code[index].A, fn.Code[index].B, write: false);

    // The errors' messages are made out of line: the dispatch loop stays small enough for the JIT to inline its
    // helpers and keep its state in registers.

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal VmError FieldNullError(int cls, long field, bool write) =>
        NullDereference($"{(write ? "write" : "read")} field '{_module.Classes[cls].Fields[field].Name}'");

    /// <summary>A read of a field of a non-nullable reference type that its constructor has not set yet.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal VmError FieldUnsetError(int cls, long field) =>
        new(ErrorClasses.Null, $"field '{_module.Classes[cls].Fields[field].Name}' of '{_module.Classes[cls].Name}' is read before it is set");

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal VmError InterfaceNullError(int iface, int method) =>
        NullDereference($"call method '{_module.Classes[iface].Def.Signatures[method].Name}'");

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal VmError MethodNullError(int cls, int slot) => NullDereference($"call method '{_module.Classes[cls].VTableNames[slot]}'");

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static VmError ErrorWith(string errorClass, string format, params object[] args) =>
        new(errorClass, string.Format(CultureInfo.InvariantCulture, format, args));

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static VmError IndexOutOfRange(long index, int length) =>
        new(ErrorClasses.Index, $"index {index} is out of range for an array of length {length}");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private LimitExceededError FuelExhausted() =>
        new("fuel", $"fuel exhausted: the program ran {_options.Fuel} instruction{(_options.Fuel == 1 ? "" : "s")} (--fuel {_options.Fuel})");

    /// <summary>Frames innermost first; very deep stacks keep their two ends.</summary>
    private List<string> CaptureTrace()
    {
        const int Head = 30, Tail = 10;
        var trace = new List<string>();
        for (int k = _fp - 1; k >= 0; k--)
        {
            int fromTop = _fp - 1 - k;
            if (fromTop == Head && _fp > Head + Tail + 1)
            {
                trace.Add($"... {_fp - Head - Tail} more frames");
                k = Tail;
                continue;
            }
            var f = _frames[k];
            var fn = FunctionOf(f);
            trace.Add($"{fn.Name} ({fn.Def.SourceFile ?? _module.Def.SourceFile}:{fn.LineOf(f.Pc)})");
        }
        return trace;
    }

    /// <summary>The first index of <paramref name="value"/> in the array (strings by content, floats by ==, the rest
    /// by their bits), or -1; <paramref name="work"/> counts the elements and characters compared. Past <paramref name="budget"/> it stops (its answer is then never seen: the
    /// charge of the work ends the run before the next instruction), and between strings it notices a stop.</summary>
    private long IndexOf(Heap heap, int array, long value, ref long work, long budget)
    {
        var kind = heap.ArrayElementKind(array);
        int length = heap.ArrayLength(array);
        for (int i = 0; i < length; i++)
        {
            if (work > budget) return -1;
            if (kind == TypeKind.String && (i & 63) == 63) StopIfAsked();
            long e = heap.ArrayGet(array, i);
            work++;
            bool equal = kind switch
            {
                TypeKind.Float => D(e) == D(value),
                TypeKind.String => e == value || (e != 0 && value != 0 && StringsEqual(heap, (int)e, (int)value, ref work)),
                _ => e == value,
            };
            if (equal) return i;
        }
        return -1;
    }

    private static bool StringsEqual(Heap heap, int a, int b, ref long work)
    {
        var x = heap.StringChars(a);
        var y = heap.StringChars(b);
        if (x.Length == y.Length) work += x.Length;
        return x.SequenceEqual(y);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static VmError MissingKey(Heap heap, int map, long key) =>
        new(ErrorClasses.Key, $"the map has no key {ValueText.FormatKey(heap, heap.MapKeyKind(map), key, MaxQuotedKey)}");

    /// <summary>Most characters of a missing key a KeyError quotes.</summary>
    private const int MaxQuotedKey = 200;

    /// <summary>True when a closure's function takes the type's parameters (after its environment, if any) and
    /// returns its return type.</summary>
    private bool ClosureFits(int closure, VmType type)
    {
        var def = Heap.ClosureTarget(closure).Def;
        var ps = def.Params.AsSpan(def.Params.Length - type.Params!.Length);
        // A function without an environment parameter is called without one (funcref); one with may have a null one.
        bool envFits = def.Params.Length > ps.Length || Heap.ClosureEnv(closure) == 0;
        return ps.SequenceEqual(type.Params) && def.Return == type.Element && envFits;
    }

    /// <summary>Whether each collection checks that it starts where the opcode table says one may (--checked,
    /// --gc-stress): see <see cref="CheckGcPoint"/>.</summary>
    private readonly bool _checkGcPoints;

    /// <summary>
    /// The collector reads a frame's operands with the stack map of the instruction its record names, so every
    /// engine records the instruction before anything that may collect. The opcode table says which instructions
    /// may (<see cref="OpcodeInfo.GcPoint"/>): a caller's record must name a call, and a frame with operands on its
    /// stack an instruction that allocates or calls. Anything else means an engine collected with a stale record,
    /// whose stack map may call an int a reference: a VM bug, reported as one. (Raising an error allocates at any
    /// instruction, with the operands cleared first: a frame without operands has no stack map to get wrong.)
    /// </summary>
    private void CheckGcPoint(int k, LoadedFunction fn, int pc, bool operands)
    {
        if (!operands && k == _fp - 1) return;
        if ((uint)pc < (uint)fn.Code.Length && OpcodeInfo.Of((byte)fn.Code[pc].Op) is { GcPoint: true }) return;
        string what = (uint)pc < (uint)fn.Code.Length ? $"{fn.Code[pc].Op} (offset {fn.Offsets[pc]})" : "no instruction";
        throw new CheckedModeException(
            $"VM bug: a collection started while {(k == _fp - 1 ? "the running frame" : "a caller's frame")} of {fn.Name} was recorded at instruction {pc}, {what}, "
            + "where the opcode table says no collection can start");
    }

    void IRootSource.VisitRoots(Heap heap)
    {
        heap.Relocate(ref _pending);
        for (int k = 0; k < _fp; k++)
        {
            ref Frame f = ref _frames[k];
            var fn = FunctionOf(f);
            for (int i = 0; i < fn.LocalCount; i++)
            {
                if (fn.LocalIsRef[i]) heap.Relocate(ref _stack[f.Bp + i]);
            }
            int operandBase = f.Bp + fn.LocalCount;
            int end = k + 1 < _fp ? _frames[k + 1].Bp : _sp;
            if (_checkGcPoints) CheckGcPoint(k, fn, f.Pc, end > operandBase);
            if (end <= operandBase) continue;
            // The stack map: the verifier's types before this instruction, top first. A caller's entries above `end`
            // are its call's arguments, which are the callee's locals now.
            for (var n = fn.StackTypes[f.Pc]; n is not null; n = n.Below)
            {
                int j = n.Depth - 1;
                if (j < end - operandBase && n.Top.IsReference) heap.Relocate(ref _stack[operandBase + j]);
            }
        }
    }
}
