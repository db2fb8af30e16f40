using System.Reflection;
using System.Reflection.Emit;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Verification;

namespace Hlvm.Jit;

// ============================================================================================================
// Bytecode to CIL, one function at a time.
//
// Compiled code runs in the interpreter's frame layout: the same frame records and the same 8-byte slots, so that
// traces, the handler search, the collector's roots, on-stack replacement and a call into the interpreter need
// nothing of their own. What it changes is where values live between instructions:
//
//   - int, bool and float values (locals and operand-stack entries) live in CIL locals, typed long or double
//     from the verifier's types; .NET's JIT keeps them in registers. They are written to their slots only where
//     something else reads them: the arguments of a call, the operands of a slow path the interpreter's code runs.
//   - references always live in their slots. The collector moves objects, and finds and updates exactly the
//     slots the stack maps mark; a reference never sits in a CIL local across anything that may collect, and
//     no heap reference is ever a constant in the CIL (string constants are read from the module's roots).
//     A reference local pushed on the operand stack is not copied to the entry's slot: the entry stays an alias
//     of the local's slot until something needs its own slot (a call, a slow path, anything that may collect,
//     a branch, a store to that local), and then it is copied. So `b.x` reads b's slot once.
//   - heap words are read and written inline, with the layout the heap publishes (Heap.FieldOffset, ...), from
//     a copy of the heap's array reloaded after anything that may collect.
//
// Each instruction's semantics comes from one place: the fast paths below (arithmetic through Arithmetic, the
// heap's accessors, the interpreter's error factories) and, for everything else, the interpreter's own slow path
// (its Op methods), called with the operands in their slots exactly as the interpreter leaves them.
//
// A compiled function is a static DynamicMethod (Interpreter vm, int bp, int entry, int fp, its int and float
// parameters...) -> long; see Signature, CompiledCode for the contract and docs/jit.md for the whole design. What
// it reads of its module at run time (its functions, their code, the string constants) it reads through vm, which
// runs one module: no other argument is passed, and none is live across a call.
// ============================================================================================================

internal sealed class CilEmitter
{
    private enum Rep { Long, Double, Ref }

    private readonly LoadedModule _module;
    private readonly LoadedFunction _fn;
    private readonly ILGenerator _il;
    /// <summary>The functions compiled so far and in this batch, by index: a call of one is a direct CIL call.</summary>
    private readonly IReadOnlyDictionary<int, DynamicMethod> _batch;
    private readonly int _localCount;
    private readonly bool _hasHandlers;
    private readonly bool _countCalls;
    private readonly bool _metered;

    /// <summary>
    /// --fuel: at the first instruction of each basic block, the instructions of the block (0 elsewhere); at each
    /// instruction, the last of its block. A block is charged whole where it starts (<see cref="ChargeBlock"/>); a
    /// fault in it gives back what it did not run (<see cref="FaultStart"/>).
    /// </summary>
    private readonly int[] _blockLength = [], _blockEnd = [];
    private readonly LocalBuilder? _fuelLeft;

    // CIL locals.
    private readonly LocalBuilder _fb;       // the frame's first slot's address (reloaded when the stack may have moved)
    private readonly LocalBuilder _heap;
    private readonly LocalBuilder _fp;       // the index of this function's frame record
    private readonly LocalBuilder _resume;   // 0, or 1 + the instruction to continue at (OSR entry, handler)
    private readonly LocalBuilder _result;

    /// <summary>A method call's receiver's class id, while it is compared with the classes the call can reach.</summary>
    private readonly LocalBuilder _classId;
    private readonly LocalBuilder _tmp;
    private readonly LocalBuilder _probe;    // its address is the native stack's height
    private readonly LocalBuilder _space;    // the heap's words (a collection replaces the array)
    private readonly bool _needsHeap;        // whether _heap and _space are loaded at all (NeedsHeap)

    /// <summary>The value a compiled <c>m[k]</c> found (<see cref="Interpreter.MapGetFound"/>); made at the first.</summary>
    private LocalBuilder? _mapValue;

    private readonly LocalBuilder?[] _localLong, _localDouble;
    private readonly List<LocalBuilder?> _stackLong = [], _stackDouble = [];

    private readonly Label[] _labels;
    private readonly Label _exit;
    private readonly ulong[][] _live;        // which locals are live where each instruction starts (Liveness)

    /// <summary>With <see cref="_chained"/>: where a poll that found attention asked for goes (<see cref="Poll"/>):
    /// the interpreter attends at the branch, then the function comes back in at the branch's target as on-stack
    /// replacement does (<see cref="_reload"/>), its values read again from their slots.</summary>
    private readonly Label _attend, _reload;
    private readonly LocalBuilder _attendPc, _attendSp;
    private readonly List<ColdPath> _cold = [];

    /// <summary>Out-of-line code: where it starts, what emits it, and the aliases of the stack entries there.
    /// (A class, not a tuple: a list of tuples is compiled by .NET at run time, at the first compile of every run.)</summary>
    private sealed record ColdPath(Label Label, Action Emit, int[] Aliases);

    /// <summary>For each operand depth holding a reference: the local whose slot it is an alias of, or -1 (its own slot).</summary>
    private int[] _alias;

    /// <summary>
    /// For each local holding a reference: true where it is known not to be null, because a null check of it (or of
    /// the local it was copied from) passed earlier in straight-line code. A failed check never falls through (it
    /// raises, and a handler is a join point), the collector moves objects but never clears a reference, and only a
    /// store changes a local, so the fact holds until a store to the local or a join point (<see cref="_isTarget"/>),
    /// where it is forgotten. Later checks of such a local are left out.
    /// </summary>
    private readonly bool[] _nonNull;

    /// <summary>
    /// For each local holding a reference: a CIL copy of the value in its slot, read instead of the slot where
    /// <see cref="_refCopied"/> says it is current. References live in slots, where the collector finds and
    /// updates them; but between two collections a slot's value only changes by a store, which writes the copy too.
    /// So a copy is current from the read or store that made it, in straight-line code of instructions compiled
    /// inline (<see cref="InlineOnly"/>: none can collect or call out), and is forgotten at every join point and
    /// around every other instruction. Reading the copy lets .NET's JIT keep the reference in a register and see
    /// that two accesses to one field are one bounds check (a store to the heap's array could, for all it knows,
    /// change a slot of the stack's).
    /// </summary>
    private readonly LocalBuilder?[] _refCopy;

    /// <summary>
    /// Per reference local with a current copy (<see cref="_refCopy"/>): the address of its object's first word, and
    /// the last word of the object checked against the heap's array where that address was taken (0: no field
    /// accessed yet, -1: one, through the heap's array). The second field access checks the last field's word
    /// instead of its own and keeps the address; later ones are that address plus the field's offset, with no
    /// check of their own (<see cref="FieldAddress"/>).
    /// </summary>
    private readonly LocalBuilder?[] _objectAt;
    private readonly int[] _objectWords;

    private readonly bool[] _refCopied;

    /// <summary>Whether copies are made and read now: in an inline instruction of the body, not metered.</summary>
    private bool _refCopies;

    /// <summary>Whether copies are read now (not made): in an instruction that keeps them (<see cref="KeepsCopies"/>),
    /// up to its slow path, which may collect.</summary>
    private bool _readCopies;

    /// <summary>Instructions control reaches other than from the one before: jump targets, handlers, entries.</summary>
    private readonly bool[] _isTarget;

    /// <summary>Instructions compiled code can be entered at other than its start: loop heads and handlers.</summary>
    private readonly bool[] _isEntry;

    /// <summary>
    /// For each entry inside loops: the loops' headers it is reached through, outermost first (see
    /// <see cref="EntryChains"/>); null where it is entered directly.
    /// </summary>
    private readonly int[]?[] _chains;

    /// <summary>Headers on some entry's chain: each tests <see cref="Interpreter._step"/> when control reaches it.</summary>
    private readonly bool[] _isStep;

    /// <summary>Where on-stack replacement enters: backward branches' targets, or the header in their place
    /// (<see cref="_entryOf"/>).</summary>
    private readonly bool[] _isLoopEntry;

    /// <summary>The entry on-stack replacement at a backward branch's target goes to: the target itself, or the
    /// loop's header when the header is a test with no effect (<see cref="EntersAtHeader"/>).</summary>
    private readonly int[] _entryOf;

    /// <summary>Entries are stepped to through their loops' headers (<see cref="EntryChains"/>), and on-stack
    /// replacement reads the locals from their slots on the way (<see cref="FillAt"/>), not when it comes in.</summary>
    private readonly bool _chained;
    private readonly VmType[]?[] _types;

    /// <summary>
    /// Array headers read once where a loop is entered rather than at every access (<see cref="HoistedHeaders"/>):
    /// at each instruction inside such loops, the array locals whose length and store are in CIL locals there.
    /// </summary>
    private readonly int[]?[] _hoisted;

    /// <summary>At the header of each loop that reads array headers where it is entered: the locals it reads, the
    /// loop's first and last instructions, and the label control from outside the loop comes in at.</summary>
    private readonly int[]?[] _hoistAt;
    private readonly int[] _hoistStart = [], _hoistEnd = [];

    /// <summary>
    /// Reference locals whose copies (<see cref="_refCopy"/>) stay current through a loop (<see cref="HoistedHeaders"/>):
    /// at the header of each such loop, the locals it reads and never stores, their copies read on the way in from
    /// outside; and at each instruction inside such loops, the locals whose copies are current there on every path,
    /// so that a join inside the loop keeps them.
    /// </summary>
    private readonly int[]?[] _copyAt;
    private readonly int[]?[] _pinned;
    private readonly Label[] _outside = NoLabels;

    /// <summary>(Not <c>[]</c>: that is Array.Empty of a framework value type, compiled by .NET at run time.)</summary>
    private static readonly Label[] NoLabels = new Label[0];

    /// <summary>A hoisted array local's length (0 when it is null, so that every access takes the checks' cold
    /// path) and the address of its first element's word in the heap's array (<see cref="ReadHoistedHeaders"/>).</summary>
    private readonly LocalBuilder?[] _hoistLength, _hoistElements;

    /// <summary>Where <see cref="ReadHoistedHeaders"/> keeps an array's first word's index while it checks it.</summary>
    private LocalBuilder? _hoistFirst;

    /// <summary>
    /// Instructions reached before the function's frame record is written (<see cref="Unrecorded"/>): from the
    /// start only through instructions compiled inline and forward jumps. And those of them that run so; before
    /// the others (the first on each path that needs the record) it is written.
    /// </summary>
    private readonly bool[] _unrecordedIn, _unrecorded;

    private LocalBuilder? _frame;

    /// <summary>While a profiler runs, the return instruction the exit was reached from (<see cref="EmitExit"/>).</summary>
    private LocalBuilder? _exitPc;

    /// <summary>Whether <see cref="_frame"/> holds this frame's record's address at the point being emitted.</summary>
    private bool _frameFresh;

    /// <summary>The instruction whose Pc the fresh record holds (<see cref="_frameFresh"/>).</summary>
    private int _freshPc;

    /// <summary>While an inline instruction whose result the next instruction stores in a reference local is
    /// emitted: that local, and the result's depth. The result goes straight to the local's slot, the entry becomes
    /// an alias of it, and the store has nothing left to do (<see cref="StEntry"/>).</summary>
    private int _storeInto = -1, _storeDepth = -1;

    /// <summary>The CIL locals declared (RyuJIT's optimiser gives up past about 2,000).</summary>
    public int LocalsDeclared { get; private set; }

    /// <summary>The functions whose calls this function's code runs in place (<see cref="Inlinable"/>), each once.</summary>
    public IReadOnlyList<string> Inlined => _inlined;

    private readonly List<string> _inlined = [];

    /// <summary>The methods this function's code calls directly (a CIL call): .NET must compile them too before this
    /// one's code is given out (<see cref="CilCompiler"/>).</summary>
    public IReadOnlyCollection<DynamicMethod> DirectCalls => _directCalls;

    private readonly HashSet<DynamicMethod> _directCalls = [];

    /// <summary>For tests: a function for which this returns true gets a method .NET refuses to compile (its body
    /// starts with an <c>add</c> of nothing), as a bug of the emitter's would give it.</summary>
    internal static Func<LoadedFunction, bool>? EmitInvalidFor;

    /// <summary>The CIL locals of the bodies compiled in place, ints (and references) and floats, and how many of
    /// each the body being emitted uses (<see cref="EmitInline"/>).</summary>
    private readonly List<LocalBuilder>[] _inlineLocals = [[], []];
    private readonly int[] _inlineLocalsUsed = new int[2];

    /// <summary>Tiering's profile (<see cref="ICompiler.Profiled"/>): which functions ran (or were compiled) before
    /// this batch was compiled, or null when nothing runs first (<c>--engine jit</c>).</summary>
    private readonly bool[]? _ran;

    /// <summary>
    /// Most bytes of CIL one function may take: 2 KiB and 128 a bytecode instruction (at most 322 KB, for the
    /// largest function compiled, <see cref="CilCompiler.MaxInstructions"/>). Real code takes 30 to 80 a bytecode
    /// instruction, small functions more, and the largest of the bench programs, the examples and the language
    /// tests two thirds of the bound; past it, emitting stops with <see cref="TooLarge"/> and the function stays
    /// interpreted (docs/jit.md, "CIL bounds"). Without it,
    /// method calls whose 8 classes' bodies were each compiled in place at every call site made 2,000 instructions
    /// into 876 KB of CIL, which .NET took seconds and hundreds of megabytes to compile, outside every limit of the
    /// program's.
    /// </summary>
    public static int MaxCil(LoadedFunction fn) => 2048 + 128 * fn.Code.Length;

    /// <summary>Emitting a function stopped: its CIL passed <see cref="MaxCil"/>.</summary>
    public sealed class TooLarge(int limit) : Exception($"its CIL passed {limit} bytes")
    {
        public int Limit { get; } = limit;
    }

    private readonly int _maxCil;

    /// <summary>Throws <see cref="TooLarge"/> once the CIL emitted passes <see cref="MaxCil"/>.</summary>
    private void CheckSize()
    {
        if (_il.ILOffset > _maxCil) throw new TooLarge(_maxCil);
    }

    public CilEmitter(LoadedModule module, LoadedFunction fn, DynamicMethod method, IReadOnlyDictionary<int, DynamicMethod> batch, bool countCalls, bool metered, bool[]? ran)
    {
        _maxCil = MaxCil(fn);
        _ran = ran;
        _countCalls = countCalls;
        _metered = metered;
        _module = module;
        _fn = fn;
        _il = method.GetILGenerator(256 + fn.Code.Length * 24);
        _batch = batch;
        _localCount = fn.LocalCount;
        _needsHeap = NeedsHeap(module, fn, metered);
        _fb = Local(typeof(nint));
        _heap = Local(typeof(Heap));
        _fp = Local(typeof(int));
        _resume = Local(typeof(int));
        _result = Local(typeof(long));
        _tmp = Local(typeof(long));
        _classId = Local(typeof(int));
        _probe = Local(typeof(byte));
        _space = Local(typeof(long[]));
        if (metered) _fuelLeft = Local(typeof(long));
        _alias = new int[fn.Def.MaxStack + 1];
        _nonNull = new bool[fn.LocalCount];
        _refCopy = new LocalBuilder?[fn.LocalCount];
        _objectAt = new LocalBuilder?[fn.LocalCount];
        _objectWords = new int[fn.LocalCount];
        _refCopied = new bool[fn.LocalCount];
        ClearAliases();
        _localLong = new LocalBuilder?[_localCount];
        _localDouble = new LocalBuilder?[_localCount];
        for (int i = 0; i < _localCount; i++)
        {
            switch (RepOf(fn.Def.Locals[i]))
            {
                case Rep.Long: _localLong[i] = Local(typeof(long)); break;
                case Rep.Double: _localDouble[i] = Local(typeof(double)); break;
            }
        }
        _labels = new Label[fn.Code.Length];
        _isTarget = new bool[fn.Code.Length];
        _isEntry = new bool[fn.Code.Length];
        for (int i = 0; i < _labels.Length; i++) _labels[i] = _il.DefineLabel();
        _exit = _il.DefineLabel();
        _attend = _il.DefineLabel();
        _reload = _il.DefineLabel();
        _attendPc = Local(typeof(int));
        _attendSp = Local(typeof(int));
        _types = new VmType[]?[fn.Code.Length + 1];
        // Where compiled code can be entered other than at its start: loop heads (on-stack replacement from the
        // interpreter, which enters at a backward branch's target) and handlers.
        _isLoopEntry = new bool[fn.Code.Length];
        _entryOf = new int[fn.Code.Length];
        var (loopEnd, loopHeader) = Loops(fn);
        for (int pc = 0; pc < fn.Code.Length; pc++)
        {
            _entryOf[pc] = pc;
            if (!fn.Reachable[pc]) continue;
            var op = fn.Code[pc].Op;
            if (IsJump(op) && fn.Code[pc].A <= pc) _isLoopEntry[fn.Code[pc].A] = true;
            if (IsJump(op)) _isTarget[fn.Code[pc].A] = true;
        }
        if (!metered)
        {
            for (int t = 0; t < fn.Code.Length; t++)
            {
                if (!_isLoopEntry[t] || !EntersAtHeader(fn, t, loopEnd[t], loopHeader[t])) continue;
                _isLoopEntry[t] = false;
                _isLoopEntry[loopHeader[t]] = true;
                _entryOf[t] = loopHeader[t];
            }
        }
        Array.Copy(_isLoopEntry, _isEntry, _isEntry.Length);
        // A handler no path reaches (its protected range is unreachable too: nothing there can raise) is not
        // emitted, so it is no entry either; a function whose handlers are all such needs no catch.
        foreach (var h in fn.Handlers)
        {
            if (!fn.Reachable[h.Handler]) continue;
            _isEntry[h.Handler] = true;
            _hasHandlers = true;
        }
        for (int pc = 0; pc < fn.Code.Length; pc++) _isTarget[pc] |= _isEntry[pc];
        _live = Liveness(fn, out _);
        (_chains, _isStep) = EntryChains(loopEnd, loopHeader, _isEntry);
        if (metered) (_blockLength, _blockEnd) = Blocks(fn, _isTarget);
        // On-stack replacement reads the locals from their slots where an entry's chain reaches its innermost
        // header, so that no local is live along the way; that needs an entry to be either a loop's or a
        // handler's (a handler keeps the values its frame had), and a few copies of the reads.
        int loopEntries = 0, filled = 0;
        bool both = false;
        bool anyChain = false;
        for (int pc = 0; pc < fn.Code.Length; pc++)
        {
            if (_isLoopEntry[pc]) loopEntries++;
            anyChain |= _chains[pc] is not null;
        }
        foreach (var h in fn.Handlers) both |= _isLoopEntry[h.Handler];
        for (int i = 0; i < _localCount; i++) if (_localLong[i] is not null || _localDouble[i] is not null) filled++;
        _chained = !both && anyChain && (long)loopEntries * filled <= 4000;
        if (!_chained)
        {
            Array.Clear(_chains);
            Array.Clear(_isStep);
        }
        (_unrecordedIn, _unrecorded) = metered ? (new bool[fn.Code.Length], new bool[fn.Code.Length]) : Unrecorded(module, fn, _isEntry);
        _hoisted = new int[]?[fn.Code.Length];
        _hoistAt = new int[]?[fn.Code.Length];
        _copyAt = new int[]?[fn.Code.Length];
        _pinned = new int[]?[fn.Code.Length];
        _hoistLength = new LocalBuilder?[_localCount];
        _hoistElements = new LocalBuilder?[_localCount];
        if (_chained && !metered)
        {
            _hoistStart = new int[fn.Code.Length];
            _hoistEnd = new int[fn.Code.Length];
            _outside = new Label[fn.Code.Length];
            HoistedHeaders(loopEnd, loopHeader);
        }
    }

    /// <summary>
    /// Where a call may run without its frame record (the function, its base, its instruction) written, and
    /// where it is written. A frame's record is read only by what a call, a slow path, a poll, a fault or the
    /// collector does, and none of those happens in instructions compiled inline: so a call runs from its start
    /// with only the checks of the prologue done (a stop, the native stack, --max-stack, the slots: those stay at
    /// entry, where the interpreter makes them), and the record is written before the first instruction on each
    /// path that is not inline, on a jump or fall-through from an unrecorded instruction to a recorded one, and
    /// before a fault is raised. A call that returns first (a recursion's base case, a getter) never writes it.
    /// An entry (a loop's, a handler's) is always recorded; a backward branch is written before, since it polls.
    /// </summary>
    private static (bool[] In, bool[] Runs) Unrecorded(LoadedModule module, LoadedFunction fn, bool[] isEntry)
    {
        var code = fn.Code;
        int n = code.Length;
        var unrecordedIn = new bool[n];
        var unrecorded = new bool[n];
        // Reached with the record not written on some path in, and on every path in.
        var someIn = new bool[n];
        var allIn = new bool[n];
        for (int pc = 0; pc < n; pc++) allIn[pc] = true; // not Array.Fill: see ClearAliases
        someIn[0] = true;
        for (int pc = 0; pc < n; pc++)
        {
            if (!fn.Reachable[pc]) continue;
            var ins = code[pc];
            var info = OpcodeInfo.Of(ins.Op);
            unrecordedIn[pc] = someIn[pc] && allIn[pc] && !isEntry[pc];
            unrecorded[pc] = unrecordedIn[pc] && (Quiet(module, ins) || (info.HasTarget && ins.A > pc) || info.Flow == ControlFlow.Return);
            if (info.FallsThrough && pc + 1 < n)
            {
                if (unrecorded[pc]) someIn[pc + 1] = true;
                else allIn[pc + 1] = false;
            }
            if (info.HasTarget && ins.A > pc)
            {
                if (unrecorded[pc]) someIn[ins.A] = true;
                else allIn[ins.A] = false;
            }
        }
        return (unrecordedIn, unrecorded);
    }

    /// <summary>Writes this call's frame record: frames[fp] = { Function, Bp = bp, Pc = pc }, one more frame, the
    /// operand stack empty. Writing it twice (after EnterFrame wrote it) changes nothing.</summary>
    private void RecordFrame(int pc = 0)
    {
        var il = _il;
        _frame ??= Local(typeof(Interpreter.Frame).MakeByRefType());
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldloc, _fp);
        il.Emit(OpCodes.Call, M.FrameAt);
        il.Emit(OpCodes.Stloc, _frame);
        il.Emit(OpCodes.Ldloc, _frame);
        Ldc(_fn.Index);
        il.Emit(OpCodes.Stfld, F.FrameFunction);
        il.Emit(OpCodes.Ldloc, _frame);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Stfld, F.FrameBp);
        il.Emit(OpCodes.Ldloc, _frame);
        Ldc(pc);
        il.Emit(OpCodes.Stfld, F.FramePc);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldloc, _fp);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stfld, F.Fp);
        il.Emit(OpCodes.Ldarg_0);
        Bp(0);
        il.Emit(OpCodes.Stfld, F.Sp);
    }

    /// <summary>The label a jump at <paramref name="pc"/> to <paramref name="target"/> goes to: by way of writing
    /// the frame record when the jump runs without it and its target with it.</summary>
    private Label JumpTo(int pc, int target)
    {
        var label = Into(target, pc);
        if (!_unrecorded[pc] || _unrecordedIn[target]) return label;
        return Cold(() =>
        {
            RecordFrame();
            _il.Emit(OpCodes.Br, label);
        });
    }

    /// <summary>The most array locals a loop reads the headers of where it is entered.</summary>
    private const int MaxHoisted = 8;

    /// <summary>
    /// Finds the loops whose array accesses read the array's header (its length, where its elements are) once,
    /// where the loop is entered, rather than at every access: .NET's JIT can't hoist those reads itself, since a
    /// store to an element is a store to the same <c>long[]</c> as far as it knows. Such a loop runs only
    /// instructions compiled inline and branches (nothing in it can collect, call out, or change an array's length
    /// or store, which only slow paths do), has one way in (its header, <see cref="Loops"/>), and every entry in
    /// it is stepped to through that header; its polls leave the loop and come back through the header
    /// (<see cref="_chained"/>). An array local it reads and never stores then holds the same array, with the same
    /// header, wherever the loop is: its length and first element's index are read at the header, on the way in.
    /// A loop whose instructions keep copies (<see cref="KeepsCopies"/>: a slow path that may collect reads them
    /// again), with the same one way in, keeps the copies of the reference locals it reads and never stores
    /// (<see cref="_copyAt"/>): they are read where it is entered from outside, and are current at every join
    /// inside it.
    /// </summary>
    private void HoistedHeaders(int[] end, int[] header)
    {
        var code = _fn.Code;
        var owner = new int[code.Length];
        for (int pc = 0; pc < owner.Length; pc++) owner[pc] = -1;
        var stored = new bool[_localCount];
        var read = new List<int>();
        var copied = new List<int>();
        for (int t = 0; t < code.Length; t++)
        {
            int h = header[t];
            if (end[t] < 0 || h < 0) continue;
            if (owner[h] != -1)
            {
                // Two loops with one header (hand-written code): neither.
                if (owner[h] >= 0) _hoistAt[h] = _copyAt[h] = null;
                owner[h] = -2;
                continue;
            }
            owner[h] = t;
            Array.Clear(stored);
            read.Clear();
            copied.Clear();
            bool quiet = true, keeps = true;
            for (int pc = t; pc <= end[t] && keeps; pc++)
            {
                if (!_fn.Reachable[pc]) continue;
                var ins = code[pc];
                var flow = OpcodeInfo.Of(ins.Op).Flow;
                bool branch = flow is ControlFlow.Jump or ControlFlow.Branch or ControlFlow.Return or ControlFlow.Throw;
                quiet &= Quiet(_module, ins) || branch;
                keeps = KeepsCopies(_module, ins) || branch;
                if (_isEntry[pc] && pc != h && (_chains[pc] is not { } chain || IndexIn(chain, h) < 0)) quiet = keeps = false;
                if (ins.Op is Opcode.Store or Opcode.Load && RepOf(_fn.Def.Locals[ins.A]) == Rep.Ref)
                {
                    if (ins.Op == Opcode.Store) stored[ins.A] = true;
                    else if (!copied.Contains(ins.A)) copied.Add(ins.A);
                    if (ins.Op == Opcode.Load && _fn.Def.Locals[ins.A].Kind == TypeKind.Array && !read.Contains(ins.A)) read.Add(ins.A);
                }
            }
            read.RemoveAll(local => stored[local]);
            copied.RemoveAll(local => stored[local]);
            if (quiet && read.Count > 0)
            {
                if (read.Count > MaxHoisted) read.RemoveRange(MaxHoisted, read.Count - MaxHoisted);
                _hoistAt[h] = read.ToArray();
            }
            if (keeps && copied.Count > 0)
            {
                if (copied.Count > MaxCopied) copied.RemoveRange(MaxCopied, copied.Count - MaxCopied);
                _copyAt[h] = copied.ToArray();
            }
            _hoistStart[h] = t;
            _hoistEnd[h] = end[t];
        }
        for (int h = 0; h < code.Length; h++)
        {
            if (_hoistAt[h] is null && _copyAt[h] is null) continue;
            _outside[h] = _il.DefineLabel();
            if (_copyAt[h] is { } copies)
            {
                foreach (int local in copies) _refCopy[local] ??= Local(typeof(long));
                for (int pc = _hoistStart[h]; pc <= _hoistEnd[h]; pc++)
                    _pinned[pc] = _pinned[pc] is { } outer ? outer.Union(copies).ToArray() : copies;
            }
            if (_hoistAt[h] is not { } locals) continue;
            foreach (int local in locals)
            {
                _hoistLength[local] ??= Local(typeof(long));
                _hoistElements[local] ??= Local(typeof(long).MakeByRefType());
            }
            for (int pc = _hoistStart[h]; pc <= _hoistEnd[h]; pc++)
                _hoisted[pc] = _hoisted[pc] is { } outer ? outer.Union(locals).ToArray() : locals;
        }
    }

    /// <summary>The most reference locals a loop keeps copies of through its header.</summary>
    private const int MaxCopied = 8;

    /// <summary>
    /// Whether a reference local's copy (<see cref="_refCopy"/>) stays current across an instruction compiled
    /// without fuel: one compiled inline or <see cref="Quiet"/>, a string comparison (which reads the strings and
    /// never allocates), or one tried first in a way that may decline (<see cref="FastOrSlowPath"/>: a native's fast
    /// path, an object or a joined string allocated in place), whose slow path, which may collect, reads the copies
    /// again from their slots, where the collector left them.
    /// </summary>
    private static bool KeepsCopies(LoadedModule module, Instr ins) =>
        Quiet(module, ins) || ins.Op is Opcode.SEq or Opcode.SNe or Opcode.SConcat or Opcode.NewObject
        || (ins.Op == Opcode.CallNative && module.Natives[ins.A].FastMethod(false) is not null);

    /// <summary>The label a jump from <paramref name="from"/> (-1: the dispatch of entries) to
    /// <paramref name="target"/> goes to: a loop's header is come to from outside the loop where its array
    /// headers are read (<see cref="HoistedHeaders"/>).</summary>
    private Label Into(int target, int from) =>
        (_hoistAt[target] is not null || _copyAt[target] is not null) && (from < _hoistStart[target] || from > _hoistEnd[target])
            ? _outside[target] : _labels[target];

    /// <summary>Where <paramref name="value"/> is in <paramref name="items"/>, or -1. (A loop: Array.IndexOf over ints
    /// is the framework's generic code, which .NET compiled on the program's thread at the first compile.)</summary>
    private static int IndexIn(int[] items, int value)
    {
        for (int i = 0; i < items.Length; i++)
            if (items[i] == value) return i;
        return -1;
    }

    /// <summary>Whether the array at depth <paramref name="k"/> is a local whose header was read where the loop
    /// around instruction <paramref name="pc"/> was entered.</summary>
    private bool IsHoisted(int pc, int k, out int local)
    {
        local = _alias[k];
        return local >= 0 && _hoisted[pc] is { } locals && IndexIn(locals, local) >= 0;
    }

    /// <summary>
    /// At a loop's header, on the way in from outside: each hoisted array local's length (0 when null) and the
    /// address of its elements' first word. The elements' first and last words are checked against the heap's
    /// array here, by .NET's bounds checks, once; an access in the loop checks its index against the length
    /// (<see cref="ArrayAccess"/>), so it is inside those words and needs no other check (<see cref="ElementAddress"/>).
    /// The address is a managed one, which .NET's collector updates; hlvm's collector does not run in such a loop,
    /// nor does anything that could replace the heap's array (<see cref="HoistedHeaders"/>).
    /// </summary>
    private void ReadHoistedHeaders(int header)
    {
        var il = _il;
        _hoistFirst ??= Local(typeof(int));
        foreach (int local in _hoistAt[header]!)
        {
            if (ReadAround(_hoistAt, header, local)) continue;
            var isNull = il.DefineLabel();
            var empty = il.DefineLabel();
            var done = il.DefineLabel();
            SlotAddress(local);
            il.Emit(OpCodes.Ldind_I8);
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Stloc, _tmp);
            il.Emit(OpCodes.Brfalse, isNull);
            LdSpace();
            il.Emit(OpCodes.Ldloc, _tmp);
            il.Emit(OpCodes.Conv_I4);
            Ldc(Heap.ArrayLengthOffset);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Ldelem_I8);
            il.Emit(OpCodes.Stloc, _hoistLength[local]!);
            FirstWord(() => il.Emit(OpCodes.Ldloc, _tmp));
            il.Emit(OpCodes.Stloc, _hoistFirst);
            il.Emit(OpCodes.Ldloc, _hoistLength[local]!);
            il.Emit(OpCodes.Brfalse, empty);
            // The last word of the elements (a [bool]'s bytes are 8 to a word), checked and dropped.
            LdSpace();
            il.Emit(OpCodes.Ldloc, _hoistFirst);
            il.Emit(OpCodes.Ldloc, _hoistLength[local]!);
            il.Emit(OpCodes.Ldc_I8, 1L);
            il.Emit(OpCodes.Sub);
            if (IsByteArray(_fn.Def.Locals[local]))
            {
                il.Emit(OpCodes.Ldc_I4_3);
                il.Emit(OpCodes.Shr);
            }
            il.Emit(OpCodes.Conv_I4);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Ldelema, typeof(long));
            il.Emit(OpCodes.Pop);
            LdSpace();
            il.Emit(OpCodes.Ldloc, _hoistFirst);
            il.Emit(OpCodes.Ldelema, typeof(long));
            il.Emit(OpCodes.Stloc, _hoistElements[local]!);
            il.Emit(OpCodes.Br, done);
            il.MarkLabel(isNull);
            il.Emit(OpCodes.Ldc_I8, 0L);
            il.Emit(OpCodes.Stloc, _hoistLength[local]!);
            // No element is read through it: any word of the heap will do.
            il.MarkLabel(empty);
            LdSpace();
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Ldelema, typeof(long));
            il.Emit(OpCodes.Stloc, _hoistElements[local]!);
            il.MarkLabel(done);
        }
    }

    /// <summary>
    /// Whether a loop around the one at <paramref name="header"/> reads <paramref name="local"/>'s array header too
    /// (<paramref name="at"/> is <see cref="_hoistAt"/>), or keeps its copy too (<see cref="_copyAt"/>). Then the
    /// inner loop reads nothing again: every way into it from outside comes from inside the outer loop, whose header
    /// read it (such a loop has one way in, every entry in it is stepped to through its header, and its polls come
    /// back through that header), and nothing in the outer loop stores the local, nor collects (for an array
    /// header) or collects without reading the copies again. Read again, the values were new definitions at the
    /// inner header, and .NET's JIT gave them registers of their own and moved them back at every turn of the
    /// outer loop.
    /// </summary>
    private bool ReadAround(int[]?[] at, int header, int local)
    {
        int start = _hoistStart[header], end = _hoistEnd[header];
        for (int h = 0; h < at.Length; h++)
        {
            if (h == header || at[h] is not { } locals || IndexIn(locals, local) < 0) continue;
            if (_hoistStart[h] <= start && end <= _hoistEnd[h] && (_hoistStart[h] < start || end < _hoistEnd[h])) return true;
        }
        return false;
    }

    private LocalBuilder Local(Type type)
    {
        LocalsDeclared++;
        return _il.DeclareLocal(type);
    }

    /// <summary>
    /// Which locals are live where each instruction starts: read on some path from there before they are written
    /// (a bit per local, <c>live[pc][i / 64]</c>). A handler's live locals are live throughout the range it
    /// protects, which may raise anywhere. The way out of a loop at a poll, and the way back in, move only the
    /// locals live at the loop's entry between their CIL locals and their slots: moving them all kept every local
    /// of a function live at every backward branch, and .NET's JIT stored a loop's temporaries to memory at every
    /// turn (nbody's inner loop stored eight floats and reloaded four ints).
    /// </summary>
    /// <remarks>
    /// Backward passes over the code until nothing changes: the bench programs, examples and language tests need
    /// at most 5 (one more per level of loops nested). Code laid out against the passes (a chain of jumps back,
    /// which a module written by hand can have) needs one per block, each pass costing every instruction's
    /// handlers: a 2,300-instruction function with 2,000 handlers took seconds, on the program's thread. Past
    /// <see cref="MaxLivenessPasses"/> every local is taken as live everywhere, which moves more values at
    /// polls and is as correct (the JIT moved them all before it knew liveness).
    /// </remarks>
    internal static ulong[][] Liveness(LoadedFunction fn, out bool gaveUp)
    {
        gaveUp = false;
        var code = fn.Code;
        int n = code.Length, words = (fn.LocalCount + 63) / 64;
        var live = new ulong[n + 1][];
        for (int pc = 0; pc <= n; pc++) live[pc] = new ulong[words];
        // The handlers whose ranges hold each instruction, found once (CilCompiler.MaxHandlers bounds them): those of
        // instruction pc are handler[first[pc]] to handler[first[pc + 1] - 1]. (Arrays, not lists: a list of ints
        // is the framework's generic code over a value type, which ReadyToRun can't hold.)
        var first = new int[n + 1];
        foreach (var h in fn.Handlers)
            for (int pc = h.Start; pc < h.End; pc++) first[pc + 1]++;
        for (int pc = 0; pc < n; pc++) first[pc + 1] += first[pc];
        var handler = new int[first[n]];
        var filled = new int[n];
        foreach (var h in fn.Handlers)
            for (int pc = h.Start; pc < h.End; pc++) handler[first[pc] + filled[pc]++] = h.Handler;
        var scratch = new ulong[words];
        int passes = 0;
        for (bool changed = true; changed;)
        {
            if (++passes > MaxLivenessPasses)
            {
                for (int pc = 0; pc <= n; pc++)
                    for (int w = 0; w < words; w++) live[pc][w] = ~0UL;
                gaveUp = true;
                break;
            }
            changed = false;
            for (int pc = n - 1; pc >= 0; pc--)
            {
                if (!fn.Reachable[pc]) continue;
                var ins = code[pc];
                var info = OpcodeInfo.Of(ins.Op);
                Array.Clear(scratch);
                if (info.FallsThrough) Or(scratch, live[pc + 1]);
                if (info.HasTarget) Or(scratch, live[ins.A]);
                if (ins.Op == Opcode.Store) scratch[ins.A >> 6] &= ~(1UL << ins.A);
                if (ins.Op == Opcode.Load) scratch[ins.A >> 6] |= 1UL << ins.A;
                for (int k = first[pc]; k < first[pc + 1]; k++) Or(scratch, live[handler[k]]);
                for (int w = 0; w < words; w++)
                {
                    if (live[pc][w] == scratch[w]) continue;
                    live[pc][w] = scratch[w];
                    changed = true;
                }
            }
        }
        return live;

        static void Or(ulong[] into, ulong[] from)
        {
            for (int w = 0; w < into.Length; w++) into[w] |= from[w];
        }
    }

    /// <summary>Most passes of <see cref="Liveness"/> before it takes every local as live everywhere.</summary>
    internal const int MaxLivenessPasses = 32;

    /// <summary>Whether local <paramref name="i"/> is live where instruction <paramref name="pc"/> starts (<see cref="Liveness"/>).</summary>
    private bool LiveAt(int pc, int i) => (_live[pc][i >> 6] & (1UL << i)) != 0;

    /// <summary>
    /// Whether on-stack replacement at the loop that starts at <paramref name="t"/> (a backward branch's target) may
    /// enter at the loop's header instead: the header is a test that changes nothing and can't fail (locals,
    /// constants, arithmetic and comparisons that raise no error, and branches out of the loop, as a compiled
    /// <c>while</c> or <c>for</c> condition is, an <c>&amp;&amp;</c> included), ending in the one branch back to t,
    /// with the operand stack empty at both. The interpreter enters at t having just taken that branch; the test,
    /// run again on the same locals, takes it again. The loop then has no entry inside it but its header, where
    /// control comes in from outside anyway, so its header tests nothing for entries on the way in
    /// (<see cref="EntryChains"/>): sieve's inner loop ran a test of <see cref="Interpreter._step"/> at every turn. Never
    /// under --fuel, which would count the test twice.
    /// </summary>
    private bool EntersAtHeader(LoadedFunction fn, int t, int end, int header)
    {
        var code = fn.Code;
        if (end < 0 || header <= t || header > end) return false;
        if (code[end].Op is not (Opcode.JmpIf or Opcode.JmpIfNot) || code[end].A != t) return false;
        if (Types(t).Length != 0 || Types(header).Length != 0) return false;
        for (int pc = header; pc < end; pc++)
        {
            if (!fn.Reachable[pc]) return false;
            var op = code[pc].Op;
            // A branch out of the loop: the first operand of an && deciding the test.
            if (op is Opcode.JmpIf or Opcode.JmpIfNot && code[pc].A > end) continue;
            if (PureShape(op) is null && op is not (Opcode.Load or Opcode.IConst or Opcode.BConst or Opcode.FConst or Opcode.Nop))
                return false;
        }
        // The branch at the end is the only one to t, and no jump lands inside the test after its first instruction.
        for (int pc = 0; pc < code.Length; pc++)
        {
            if (!fn.Reachable[pc] || !IsJump(code[pc].Op)) continue;
            if (code[pc].A == t && pc != end) return false;
            if (code[pc].A > header && code[pc].A <= end) return false;
        }
        foreach (var h in fn.Handlers)
            if (h.Handler >= header && h.Handler <= end) return false;
        return true;
    }

    /// <summary>
    /// The function's loops, each named by its first instruction t (a backward branch's target): its last
    /// instruction (the furthest branch back to t), or -1 where no loop starts; and its header, the one instruction
    /// in it that control reaches from outside it, or -1 where there is more than one (or a handler inside it).
    /// </summary>
    private static (int[] End, int[] Header) Loops(LoadedFunction fn)
    {
        var code = fn.Code;
        int n = code.Length;
        var end = new int[n];
        for (int pc = 0; pc < n; pc++) end[pc] = -1;
        for (int pc = 0; pc < n; pc++)
            if (fn.Reachable[pc] && IsJump(code[pc].Op) && code[pc].A <= pc) end[code[pc].A] = Math.Max(end[code[pc].A], pc);
        // Each loop's header: the one instruction in it that control reaches from outside, or -1.
        var header = new int[n];
        for (int t = 0; t < n; t++)
        {
            header[t] = -1;
            if (end[t] < 0) continue;
            int way = t == 0 ? 0 : -1;
            bool many = false;
            void In(int at)
            {
                if (way >= 0 && way != at) many = true;
                way = at;
            }
            if (t > 0 && fn.Reachable[t - 1] && OpcodeInfo.Of(code[t - 1].Op).FallsThrough) In(t);
            for (int pc = 0; pc < n; pc++)
                if (fn.Reachable[pc] && (pc < t || pc > end[t]) && IsJump(code[pc].Op) && code[pc].A >= t && code[pc].A <= end[t]) In(code[pc].A);
            foreach (var h in fn.Handlers)
                if (h.Handler > t && h.Handler <= end[t]) many = true;
            if (way >= 0 && !many) header[t] = way;
        }
        return (end, header);
    }

    /// <summary>
    /// How each entry is reached without entering a loop anywhere but at its header. An entry jumped to straight
    /// from the dispatch would give its loops a second way in, and .NET's JIT does not treat such a cycle as a
    /// loop: it spilled mandelbrot's floats to memory at every turn of the inner loop (466 ms against 312 ms
    /// with no entries). So the dispatch goes to the header of the outermost loop around the entry (the one
    /// instruction of the loop that control reaches from outside it: for a compiled <c>for</c>, its condition at
    /// the bottom), each header on the way tests <see cref="Interpreter._step"/> and goes on to the next header inward, and
    /// the last one to the entry, as .NET's own on-stack replacement steps through enclosing loops. A loop is the
    /// instructions from a backward branch's target to the branch (the furthest one to that target); a loop with
    /// more than one way in, or loops that overlap without nesting (neither from the compiler), leave the entries
    /// inside them entered directly, which is still correct.
    /// </summary>
    private static (int[]?[] Chains, bool[] IsStep) EntryChains(int[] end, int[] header, bool[] isEntry)
    {
        int n = end.Length;
        var chains = new int[]?[n];
        var isStep = new bool[n];
        var around = new List<int>();
        for (int e = 0; e < n; e++)
        {
            if (!isEntry[e]) continue;
            around.Clear();
            bool nested = true;
            for (int t = 0; t < n; t++)
            {
                if (end[t] < 0 || t > e || e > end[t] || header[t] == e) continue;
                if (header[t] < 0) nested = false;
                around.Add(t);
            }
            if (around.Count == 0) continue;
            // Outermost first: the loops around an entry start in order; each must lie inside the one before.
            around.Sort();
            for (int i = 1; i < around.Count; i++) nested &= end[around[i]] <= end[around[i - 1]];
            if (!nested) continue;
            var chain = new int[around.Count];
            for (int i = 0; i < chain.Length; i++) isStep[chain[i] = header[around[i]]] = true;
            chains[e] = chain;
        }
        return (chains, isStep);
    }

    /// <summary>Every stack entry in its own slot. (A loop, here and wherever the emitter fills an array:
    /// ReadyToRun can't hold Array.Fill's vectorised code, and .NET compiled it at every run's first compile.)</summary>
    private void ClearAliases()
    {
        for (int k = 0; k < _alias.Length; k++) _alias[k] = -1;
    }

    private static Rep RepOf(VmType type) => type.Kind == TypeKind.Float ? Rep.Double : type.IsReference ? Rep.Ref : Rep.Long;

    private static bool IsJump(Opcode op) => OpcodeInfo.Of(op).HasTarget;

    /// <summary>The verifier's operand types before instruction <paramref name="pc"/>, bottom first.</summary>
    private VmType[] Types(int pc) => _types[pc] ??= TypeStack.ToArray(_fn.StackTypes[pc]);

    public int Emit()
    {
        var il = _il;
        if (EmitInvalidFor?.Invoke(_fn) == true) il.Emit(OpCodes.Add);
        // A function with no loop and no handler has no entry but its start: it needs no way in for on-stack
        // replacement, no dispatch to entries and no copies of the locals from their slots.
        // (A loop, not Array.IndexOf over bools: .NET compiled that generic code at the start of every run.)
        bool hasEntries = false;
        foreach (bool entry in _isEntry) hasEntries |= entry;
        // The method's locals are not zeroed on entry (CilCompiler sets InitLocals off: .NET's JIT zeroed the
        // native-stack probe at every call). The one the code may read before it writes it (where it has entries)
        // starts here; every other one is written first (the verifier's definite assignment for the program's
        // locals).
        if (hasEntries)
        {
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Stloc, _resume);
        }
        var reenter = il.DefineLabel();
        var body = il.DefineLabel();
        var osr = il.DefineLabel();

        // Prologue. A new call checks that nothing is unusual: no stop requested, room on the native stack, a frame
        // record free within --max-stack, and slots for the frame; it writes its frame record here or where it is
        // first needed (Unrecorded). Otherwise EnterFrame decides (a stop, a StackOverflowError, growth) and writes
        // the record, or the call runs in the interpreter (native stack low).
        // Only a function with entries is ever entered anywhere but its start (on-stack replacement goes to a loop
        // header, and a caught error's handler is reached from within): one without reads no entry argument.
        if (hasEntries)
        {
            il.Emit(OpCodes.Ldarg_2);
            il.Emit(OpCodes.Brtrue, osr);
        }
        var slow = il.DefineLabel();
        // Profiling: every call counted, here or (not compiled) by the interpreter.
        if (_countCalls) CountCall(_fn);
        // One comparison for the native stack and a stop or sample asked for (Interpreter._entryLimit).
        il.Emit(OpCodes.Ldloca, _probe);
        il.Emit(OpCodes.Conv_U);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Volatile);
        il.Emit(OpCodes.Ldfld, F.EntryLimit);
        il.Emit(OpCodes.Blt_Un, slow);
        il.Emit(OpCodes.Ldarg_3);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Stloc, _fp);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, F.FrameLimit);
        il.Emit(OpCodes.Bge, slow);
        il.Emit(OpCodes.Ldarg_1);
        Ldc(_fn.FrameSize);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, F.StackSlots);
        il.Emit(OpCodes.Bgt, slow);
        // The frame record is written here, or later where it is first needed (Unrecorded).
        if (!_unrecorded[0]) RecordFrame();
        // EnterFrame's way in joins here (its locals are zero already; zeroing them again changes nothing).
        var entered = il.DefineLabel();
        il.MarkLabel(entered);
        LoadHeapAndFrame();
        // Reference locals past the parameters start null in their slots (the collector reads them); the
        // others start zero in their CIL locals.
        for (int i = _fn.ParamCount; i < _localCount; i++)
        {
            if (RepOf(_fn.Def.Locals[i]) != Rep.Ref) continue;
            SlotAddress(i);
            il.Emit(OpCodes.Ldc_I8, 0L);
            il.Emit(OpCodes.Stind_I8);
        }
        for (int i = 0; i < _fn.ParamCount; i++)
        {
            if (ParamArg(_fn, i) is not { } arg) continue;
            il.Emit(OpCodes.Ldarg, arg);
            il.Emit(OpCodes.Stloc, (_localLong[i] ?? _localDouble[i])!);
        }
        // A call starts at the first instruction: past the test of where to continue, unless the body is a
        // protected block (which is entered only at its start).
        il.Emit(OpCodes.Br, _hasHandlers ? reenter : body);

        il.MarkLabel(slow);
        il.Emit(OpCodes.Ldarg_0);
        LdFunction();
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, M.EnterFrame);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Stloc, _fp);
        il.Emit(OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Bge, entered);
        // The interpreter reads the arguments from their slots.
        for (int i = 0; i < _fn.ParamCount; i++)
        {
            if (ParamArg(_fn, i) is not { } arg) continue;
            ParamSlot(il, i);
            il.Emit(OpCodes.Ldarg, arg);
            il.Emit(_localDouble[i] is null ? OpCodes.Stind_I8 : OpCodes.Stind_R8);
        }
        il.Emit(OpCodes.Ldarg_0);
        LdFunction();
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, M.CallInterpreted);
        il.Emit(OpCodes.Ret);

        if (!hasEntries)
        {
            il.MarkLabel(body);
            EmitBody();
            EmitCold();
            return EmitExit();
        }
        // On-stack replacement: the interpreter's frame continues here, its values in their slots.
        il.MarkLabel(osr);
        il.Emit(OpCodes.Ldarg_3);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Stloc, _fp);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Stloc, _resume);
        il.MarkLabel(_reload);
        LoadHeapAndFrame();
        if (!_chained) for (int i = 0; i < _localCount; i++) FillLocal(i);

        // Where a caught error comes back to (a leave can't target the protected block itself).
        il.MarkLabel(reenter);
        il.Emit(OpCodes.Nop);
        if (_hasHandlers) il.BeginExceptionBlock();
        var dispatch = il.DefineLabel();
        il.Emit(OpCodes.Ldloc, _resume);
        il.Emit(OpCodes.Brtrue, dispatch);
        il.MarkLabel(body);
        EmitBody();
        EmitCold();
        if (_chained) EmitAttend();
        il.MarkLabel(dispatch);
        LoadFrame();
        for (int pc = 0; pc < _isEntry.Length; pc++)
        {
            if (!_isEntry[pc]) continue;
            var next = il.DefineLabel();
            var here = il.DefineLabel();
            // The interpreter asks for a loop's target, which may enter at the header (_entryOf).
            for (int t = 0; t < _entryOf.Length; t++)
            {
                if (_entryOf[t] != pc || t == pc) continue;
                il.Emit(OpCodes.Ldloc, _resume);
                Ldc(t + 1);
                il.Emit(OpCodes.Beq, here);
            }
            il.Emit(OpCodes.Ldloc, _resume);
            Ldc(pc + 1);
            il.Emit(OpCodes.Bne_Un, next);
            il.MarkLabel(here);
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Stloc, _resume);
            var chain = _chains[pc];
            if (chain is null || (chain.Length == 1 && !IsHeaderEntry(pc))) FillAt(pc);
            if (chain is not null)
            {
                SetStep(pc + 1);
                il.Emit(OpCodes.Br, Into(chain[0], -1));
            }
            else il.Emit(OpCodes.Br, Into(pc, -1));
            il.MarkLabel(next);
        }
        NoEntry();

        if (_hasHandlers)
        {
            // An error the program's handlers may take reached this frame (anything else goes by, never caught:
            // Interpreter.CaughtByFrame): the interpreter's handler search decides. This frame's handler continues
            // here; one in an older frame is reached by a HandlerFound thrown after the catch block is left, not
            // inside it, where each frame's throw nested .NET's dispatch in the last one's.
            il.BeginExceptFilterBlock();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldloc, _fp);
            il.Emit(OpCodes.Call, M.CaughtByFrame);
            il.BeginCatchBlock(null);
            var caught = il.DefineLabel();
            var passOn = il.DefineLabel();
            var ex = il.DeclareLocal(typeof(Exception));
            il.Emit(OpCodes.Stloc, ex);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldloc, ex);
            il.Emit(OpCodes.Ldloc, _fp);
            il.Emit(OpCodes.Call, M.CatchCompiled);
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Stloc, _resume);
            il.Emit(OpCodes.Ldc_I4_M1);
            il.Emit(OpCodes.Bne_Un, caught);
            il.Emit(OpCodes.Leave, passOn);
            il.MarkLabel(caught);
            il.Emit(OpCodes.Ldloc, _resume);
            il.Emit(OpCodes.Ldc_I4_1);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Stloc, _resume);
            il.Emit(OpCodes.Leave, reenter);
            il.EndExceptionBlock();
            var exit = il.DefineLabel();
            il.Emit(OpCodes.Br, exit);
            il.MarkLabel(passOn);
            il.Emit(OpCodes.Newobj, M.HandlerFound);
            il.Emit(OpCodes.Throw);
            il.MarkLabel(exit);
        }
        return EmitExit();
    }

    /// <summary>The function's instructions, in order.</summary>
    private void EmitBody()
    {
        var il = _il;
        for (int pc = 0; pc < _fn.Code.Length; pc++)
        {
            if (!_fn.Reachable[pc]) continue;
            CheckSize();
            if (_isTarget[pc])
            {
                // Control joins here: every entry in its own slot, on every path in; what was known of the
                // locals on one path is not known on the others.
                MaterializeAll(Types(pc).Length);
                Array.Clear(_nonNull);
            }
            if (_isTarget[pc] || _isStep[pc]) Array.Clear(_refCopied);
            if (_hoistAt[pc] is not null || _copyAt[pc] is not null)
            {
                // The way in from outside the loop reads its array headers and the copies it keeps; from inside,
                // control goes past that.
                if (pc > _hoistStart[pc] && _fn.Reachable[pc - 1] && OpcodeInfo.Of(_fn.Code[pc - 1].Op).FallsThrough)
                    il.Emit(OpCodes.Br, _labels[pc]);
                il.MarkLabel(_outside[pc]);
                if (_hoistAt[pc] is not null) ReadHoistedHeaders(pc);
                if (_copyAt[pc] is { } copies)
                {
                    foreach (int local in copies)
                        if (!ReadAround(_copyAt, pc, local)) ReadCopy(local);
                }
            }
            il.MarkLabel(_labels[pc]);
            if ((_isTarget[pc] || _isStep[pc]) && _pinned[pc] is { } pinned)
            {
                // Inside a loop that keeps copies, they are current on every path in (see HoistedHeaders).
                foreach (int local in pinned)
                {
                    _refCopied[local] = true;
                    _objectWords[local] = 0;
                }
            }
            if (_isStep[pc])
            {
                LdStep();
                il.Emit(OpCodes.Brtrue, StepOn(pc));
            }
            // While an instruction that is not inline is emitted, copies are not made (its stores forget them), and
            // read only up to the slow path of one that keeps them (KeepsCopies); after any other, none is current.
            _refCopies = !_metered && InlineOnly[(int)_fn.Code[pc].Op];
            bool keepsCopies = !_metered && KeepsCopies(_module, _fn.Code[pc]);
            _readCopies = keepsCopies;
            // The record's address, just written, stays good until the instruction calls out; its Pc is this
            // instruction's already (SetPc has nothing to write).
            _frameFresh = _unrecordedIn[pc] && !_unrecorded[pc];
            if (_frameFresh) RecordFrame(_freshPc = pc);
            if (_refCopies && pc + 1 < _fn.Code.Length && _fn.Reachable[pc + 1] && !_isTarget[pc + 1] && !_isStep[pc + 1]
                && _fn.Code[pc + 1].Op == Opcode.Store && RepOf(_fn.Def.Locals[_fn.Code[pc + 1].A]) == Rep.Ref)
            {
                _storeInto = _fn.Code[pc + 1].A;
                _storeDepth = Types(pc + 1).Length - 1;
            }
            EmitInstruction(pc);
            _frameFresh = false;
            _storeInto = -1;
            if (_unrecorded[pc] && pc + 1 < _fn.Code.Length && !_unrecordedIn[pc + 1] && OpcodeInfo.Of(_fn.Code[pc].Op).FallsThrough)
                RecordFrame();
            if (!_refCopies)
            {
                // Copies current before a collection are read again after it (KeepsCopies); an object's address
                // is taken again, since a collection replaces the heap's array.
                if (keepsCopies) Array.Clear(_objectWords);
                else Array.Clear(_refCopied);
            }
            if (OpcodeInfo.Of(_fn.Code[pc].Op).Flow != ControlFlow.Next) ClearAliases();
            else if (pc + 1 < _fn.Code.Length && _fn.Reachable[pc + 1])
            {
                // Entries the instruction popped are gone: a later push at their depth starts in its own slot.
                for (int k = Types(pc + 1).Length; k < _alias.Length; k++) _alias[k] = -1;
            }
        }
        _refCopies = _readCopies = false;
    }

    /// <summary>Out-of-line code: faults, stops, the ways back from calls into the interpreter.</summary>
    private void EmitCold()
    {
        var il = _il;
        Array.Clear(_nonNull);
        _refCopies = _readCopies = false;
        for (int i = 0; i < _cold.Count; i++)
        {
            CheckSize();
            il.MarkLabel(_cold[i].Label);
            _alias = _cold[i].Aliases;
            _cold[i].Emit();
        }
        ClearAliases();
    }

    /// <summary>An entry argument that names no entry: a bug of the caller.</summary>
    private void NoEntry()
    {
        _il.Emit(OpCodes.Ldstr, $"compiled code of {_fn.Name} entered at an instruction that is no entry");
        _il.Emit(OpCodes.Newobj, typeof(InvalidOperationException).GetConstructor([typeof(string)])!);
        _il.Emit(OpCodes.Throw);
    }

    /// <summary>Return: pops the frame record. Returns the size of the method's CIL. While a profiler runs, a sample
    /// asked for is taken here first, charged to this function at the return it came from (<see cref="_exitPc"/>,
    /// <see cref="Interpreter.SampleAtReturn"/>).</summary>
    private int EmitExit()
    {
        var il = _il;
        il.MarkLabel(_exit);
        var sample = il.DefineLabel();
        var pop = il.DefineLabel();
        if (_countCalls) IfAttention(sample);
        il.MarkLabel(pop);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldloc, _fp);
        il.Emit(OpCodes.Stfld, F.Fp);
        il.Emit(OpCodes.Ldloc, _result);
        il.Emit(OpCodes.Ret);
        if (_countCalls)
        {
            il.MarkLabel(sample);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldloc, _fp);
            Ldc(_fn.Index);
            il.Emit(OpCodes.Ldloc, _exitPc ??= Local(typeof(int))); // (a function that never returns has no return's pc)
            il.Emit(OpCodes.Ldc_I4_1);
            il.Emit(OpCodes.Call, M.SampleAtReturn);
            il.Emit(OpCodes.Br, pop);
        }
        CheckSize();
        return il.ILOffset;
    }

    // ------------------------------------------------------------------------------------------ instructions

    private void EmitInstruction(int pc)
    {
        var il = _il;
        var ins = _fn.Code[pc];
        var types = Types(pc);
        int d = types.Length;
        if (_metered && _blockLength[pc] > 0) ChargeBlock(pc, d, _blockLength[pc]);
        if (PureShape(ins.Op) is { } shape)
        {
            for (int k = shape.Pops; k > 0; k--) LdEntry(d - k, shape.Operand);
            EmitPure(il, ins.Op);
            StEntry(d - shape.Pops, shape.Result);
            return;
        }
        switch (ins.Op)
        {
            case Opcode.Nop: break;
            case Opcode.IConst:
            case Opcode.BConst:
                il.Emit(OpCodes.Ldc_I8, ins.B);
                StEntry(d, Rep.Long);
                break;
            case Opcode.FConst:
                il.Emit(OpCodes.Ldc_R8, BitConverter.Int64BitsToDouble(ins.B));
                StEntry(d, Rep.Double);
                break;
            case Opcode.SConst:
                // A constant the next instruction compares with is compared by its words there, never loaded.
                if (ComparedConstant(pc) is not null)
                {
                    _alias[d] = -1;
                    break;
                }
                LdString(ins.A);
                StEntry(d, Rep.Ref);
                break;
            case Opcode.AConstNull:
                il.Emit(OpCodes.Ldc_I8, 0L);
                StEntry(d, Rep.Ref);
                break;
            case Opcode.Load:
                {
                    var rep = RepOf(_fn.Def.Locals[ins.A]);
                    if (rep == Rep.Ref)
                    {
                        _alias[d] = ins.A;
                        break;
                    }
                    LdLocal(ins.A, rep);
                    StEntry(d, rep);
                    break;
                }
            case Opcode.Store:
                {
                    var rep = RepOf(_fn.Def.Locals[ins.A]);
                    bool nonNull = false;
                    if (rep == Rep.Ref && _alias[d - 1] == ins.A)
                    {
                        // The value is the local's already (x = x, or a result put there by StEntry).
                        _alias[d - 1] = -1;
                        break;
                    }
                    if (rep == Rep.Ref)
                    {
                        // Entries that are aliases of this local keep the value it had: they get their own slots.
                        for (int k = 0; k < d - 1; k++) if (_alias[k] == ins.A) Materialize(k);
                        nonNull = _alias[d - 1] >= 0 && _nonNull[_alias[d - 1]];
                    }
                    LdEntry(d - 1, rep);
                    StLocal(ins.A, rep);
                    _alias[d - 1] = -1;
                    _nonNull[ins.A] = nonNull;
                    break;
                }
            case Opcode.Pop:
                _alias[d - 1] = -1;
                break;
            case Opcode.Dup:
                {
                    var rep = RepOf(types[d - 1]);
                    if (rep == Rep.Ref && _alias[d - 1] >= 0)
                    {
                        _alias[d] = _alias[d - 1];
                        break;
                    }
                    LdEntry(d - 1, rep);
                    StEntry(d, rep);
                    break;
                }

            case Opcode.IShl: BinaryCall(d, Rep.Long, M.Shl); break;
            case Opcode.IShr: BinaryCall(d, Rep.Long, M.Shr); break;
            case Opcode.IDiv:
            case Opcode.IRem:
                {
                    bool rem = ins.Op == Opcode.IRem;
                    LdEntry(d - 1, Rep.Long);
                    var zero = Cold(() =>
                    {
                        FaultStart(pc, d);
                        il.Emit(rem ? OpCodes.Ldc_I4_1 : OpCodes.Ldc_I4_0);
                        il.Emit(OpCodes.Call, M.DivisionByZero);
                        FaultEnd();
                    });
                    il.Emit(OpCodes.Brfalse, zero);
                    BinaryCall(d, Rep.Long, rem ? M.Rem : M.Div);
                    break;
                }
            case Opcode.FToI:
                LdEntry(d - 1, Rep.Double);
                il.Emit(OpCodes.Call, M.FToI);
                StEntry(d - 1, Rep.Long);
                break;

            case Opcode.Jmp:
                MaterializeAll(d);
                Poll(pc, ins.A, d);
                il.Emit(OpCodes.Br, JumpTo(pc, ins.A));
                break;
            case Opcode.JmpIf:
            case Opcode.JmpIfNot:
            case Opcode.JmpIfNull:
            case Opcode.JmpIfNotNull:
                {
                    bool onNonZero = ins.Op is Opcode.JmpIf or Opcode.JmpIfNotNull;
                    MaterializeAll(d - 1);
                    // Past a jump taken on null, the local tested is not null.
                    if (ins.Op == Opcode.JmpIfNull && _alias[d - 1] >= 0) _nonNull[_alias[d - 1]] = true;
                    LdEntry(d - 1, ins.Op is Opcode.JmpIf or Opcode.JmpIfNot ? Rep.Long : Rep.Ref);
                    if (ins.A > pc)
                    {
                        il.Emit(onNonZero ? OpCodes.Brtrue : OpCodes.Brfalse, JumpTo(pc, ins.A));
                    }
                    else
                    {
                        var fallThrough = il.DefineLabel();
                        il.Emit(onNonZero ? OpCodes.Brfalse : OpCodes.Brtrue, fallThrough);
                        Poll(pc, ins.A, d - 1);
                        il.Emit(OpCodes.Br, JumpTo(pc, ins.A));
                        il.MarkLabel(fallThrough);
                    }
                    break;
                }

            case Opcode.Call:
                {
                    var callee = _module.Functions[ins.A];
                    int argc = callee.ParamCount;
                    MaterializeAll(d);
                    var called = il.DefineLabel();
                    CallOrInline(callee, d - argc, called, () =>
                    {
                        // A direct call passes its int and float arguments as CIL arguments (CallOf).
                        if (!_batch.ContainsKey(callee.Index)) SpillRange(types, d - argc, d);
                        SetPc(pc);
                    });
                    AfterCall(pc, d - argc, callee.Def.Return);
                    il.MarkLabel(called);
                    break;
                }
            case Opcode.CallVirt:
                {
                    var slotFn = _module.Def.Functions[_module.Classes[ins.A].VTable[ins.B]];
                    MethodCall(pc, types, ins, slotFn.Params.Length, slotFn.Return, isInterface: false);
                    break;
                }
            case Opcode.CallIface:
                {
                    var sig = _module.Classes[ins.A].Def.Signatures[(int)ins.B];
                    MethodCall(pc, types, ins, sig.Params.Length + 1, sig.Return, isInterface: true);
                    break;
                }
            case Opcode.CallClosure:
                {
                    int argc = (int)ins.B;
                    int at = d - argc - 1;
                    MaterializeAll(d);
                    NullCheck(pc, d, at, () =>
                    {
                        il.Emit(OpCodes.Ldstr, "call a function value");
                        il.Emit(OpCodes.Call, M.NullDereference);
                    });
                    SpillRange(types, at + 1, d);
                    SetPc(pc);
                    var bp = il.DeclareLocal(typeof(int));
                    LocalsDeclared++;
                    il.Emit(OpCodes.Ldarg_0);
                    il.Emit(OpCodes.Ldarg_0);
                    Bp(at);
                    Ldc(argc);
                    il.Emit(OpCodes.Ldloca, bp);
                    il.Emit(OpCodes.Call, M.ClosureTarget);
                    il.Emit(OpCodes.Ldloc, bp);
                    il.Emit(OpCodes.Call, M.Invoke);
                    AfterCall(pc, at, _module.Def.Types[ins.A].Element!);
                    break;
                }

            case Opcode.GetField:
                {
                    var cls = _module.Classes[ins.A];
                    var rep = RepOf(cls.Fields[ins.B].Type);
                    NullCheck(pc, d, d - 1, () =>
                    {
                        il.Emit(OpCodes.Ldarg_0);
                        Ldc(ins.A);
                        il.Emit(OpCodes.Ldc_I8, ins.B);
                        il.Emit(OpCodes.Ldc_I4_0);
                        il.Emit(OpCodes.Call, M.FieldNullError);
                    });
                    il.Emit(FieldAddress(d - 1, cls, (int)ins.B) ? OpCodes.Ldind_I8 : OpCodes.Ldelem_I8);
                    if (cls.NonNullFields[ins.B])
                    {
                        // A non-nullable field read before its constructor set it.
                        il.Emit(OpCodes.Dup);
                        il.Emit(OpCodes.Stloc, _tmp);
                        var unset = Cold(() =>
                        {
                            FaultStart(pc, d);
                            il.Emit(OpCodes.Ldarg_0);
                            Ldc(ins.A);
                            il.Emit(OpCodes.Ldc_I8, ins.B);
                            il.Emit(OpCodes.Call, M.FieldUnsetError);
                            FaultEnd();
                        });
                        il.Emit(OpCodes.Brfalse, unset);
                        il.Emit(OpCodes.Ldloc, _tmp);
                    }
                    StEntryBits(d - 1, rep);
                    break;
                }
            case Opcode.SetField:
                {
                    var rep = RepOf(_module.Classes[ins.A].Fields[ins.B].Type);
                    NullCheck(pc, d, d - 2, () =>
                    {
                        il.Emit(OpCodes.Ldarg_0);
                        Ldc(ins.A);
                        il.Emit(OpCodes.Ldc_I8, ins.B);
                        il.Emit(OpCodes.Ldc_I4_1);
                        il.Emit(OpCodes.Call, M.FieldNullError);
                    });
                    if (FieldAddress(d - 2, _module.Classes[ins.A], (int)ins.B))
                    {
                        LdEntry(d - 1, rep);
                        il.Emit(rep == Rep.Double ? OpCodes.Stind_R8 : OpCodes.Stind_I8);
                    }
                    else StoreWord(d - 1, rep);
                    break;
                }
            case Opcode.NonNull:
                NullCheck(pc, d, d - 1, () =>
                {
                    il.Emit(OpCodes.Ldstr, "use the value");
                    il.Emit(OpCodes.Call, M.NullDereference);
                });
                break;

            case Opcode.ALoad:
                {
                    var rep = RepOf(Types(pc + 1)[d - 2]);
                    ArrayAccess(pc, d, d - 2, d - 1);
                    if (IsByteArray(types[d - 2]))
                    {
                        ElementAddress(pc, d - 2, d - 1, bytes: true);
                        il.Emit(OpCodes.Ldind_U1);
                        il.Emit(OpCodes.Conv_U8);
                    }
                    else
                    {
                        ElementAddress(pc, d - 2, d - 1, bytes: false);
                        il.Emit(OpCodes.Ldind_I8);
                    }
                    StEntryBits(d - 2, rep);
                    break;
                }
            case Opcode.AStore:
                {
                    var rep = RepOf(types[d - 1]);
                    ArrayAccess(pc, d, d - 3, d - 2);
                    if (IsByteArray(types[d - 3]))
                    {
                        ElementAddress(pc, d - 3, d - 2, bytes: true);
                        LdEntry(d - 1, Rep.Long);
                        il.Emit(OpCodes.Conv_U1);
                        il.Emit(OpCodes.Stind_I1);
                    }
                    else
                    {
                        ElementAddress(pc, d - 3, d - 2, bytes: false);
                        LdEntry(d - 1, rep);
                        il.Emit(rep == Rep.Double ? OpCodes.Stind_R8 : OpCodes.Stind_I8);
                    }
                    break;
                }
            case Opcode.ALen:
                NullCheck(pc, d, d - 1, () =>
                {
                    il.Emit(OpCodes.Ldstr, "take the length of an array");
                    il.Emit(OpCodes.Call, M.NullDereference);
                });
                if (IsHoisted(pc, d - 1, out int hoisted)) il.Emit(OpCodes.Ldloc, _hoistLength[hoisted]!);
                else
                {
                    HeapWord(d - 1, Heap.ArrayLengthOffset);
                    il.Emit(OpCodes.Ldelem_I8);
                }
                StEntry(d - 1, Rep.Long);
                break;

            case Opcode.Throw:
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldloc, _fp);
                Ldc(pc);
                Sp(d);
                LdEntry(d - 1, Rep.Ref);
                il.Emit(OpCodes.Call, M.ThrowAt);
                il.Emit(OpCodes.Throw);
                break;
            case Opcode.Ret:
            case Opcode.RetVoid:
                if (ins.Op == Opcode.Ret) LdEntryBits(d - 1, RepOf(types[d - 1]));
                else il.Emit(OpCodes.Ldc_I8, 0L);
                il.Emit(OpCodes.Stloc, _result);
                // A sample taken at the exit (a profiler runs) is charged to this return, as the interpreter charges it.
                if (_countCalls)
                {
                    Ldc(pc);
                    il.Emit(OpCodes.Stloc, _exitPc ??= Local(typeof(int)));
                }
                il.Emit(_hasHandlers ? OpCodes.Leave : OpCodes.Br, _exit);
                break;

            case Opcode.CallNative when _module.Natives[ins.A].Pure is { Method.IsStatic: true } pure:
                {
                    // A pure float function (std.math): called directly, its arguments and result in registers.
                    int argc = _module.Natives[ins.A].Params.Length;
                    for (int k = d - argc; k < d; k++) LdEntry(k, Rep.Double);
                    il.Emit(OpCodes.Call, pure.Method);
                    StEntry(d - argc, Rep.Double);
                    break;
                }
            case Opcode.CallNative when _module.Natives[ins.A].FastMethod(_metered) is { } fast:
                {
                    // The native's fast path (NativeDef.Fast), called with the arguments where they are; a negative
                    // answer makes the call as the interpreter does.
                    int argc = _module.Natives[ins.A].Params.Length;
                    FastOrSlowPath(pc, ins, types, () =>
                    {
                        for (int k = d - argc; k < d; k++) LdEntryBits(k, RepOf(types[k]));
                        il.Emit(OpCodes.Call, fast);
                    }, negativeIsSlow: true, d - argc, RepOf(_module.Natives[ins.A].Return));
                    break;
                }
            case Opcode.SConcat when !_metered:
                // Joined in place when the heap has room and needs no work (Heap.TryConcat); else the slow path,
                // which collects or raises the error, and charges the fuel (none to charge here: no budget).
                FastOrSlowPath(pc, ins, types, () =>
                {
                    LdEntry(d - 2, Rep.Ref);
                    il.Emit(OpCodes.Conv_I4);
                    LdEntry(d - 1, Rep.Ref);
                    il.Emit(OpCodes.Conv_I4);
                    il.Emit(OpCodes.Call, M.TryConcat);
                    il.Emit(OpCodes.Conv_I8);
                }, negativeIsSlow: false, d - 2, Rep.Ref);
                break;
            case Opcode.SEq or Opcode.SNe:
                if (pc > 0 && ComparedConstant(pc - 1) is { } image)
                {
                    CompareWithConstant(d - 2, image, ins.Op == Opcode.SNe);
                    break;
                }
                // The interpreter's own comparison (Interpreter.SameStrings), with the strings where they are.
                il.Emit(OpCodes.Ldarg_0);
                LdEntry(d - 2, Rep.Ref);
                LdEntry(d - 1, Rep.Ref);
                il.Emit(OpCodes.Call, M.SameStrings);
                if (ins.Op == Opcode.SNe)
                {
                    il.Emit(OpCodes.Ldc_I4_0);
                    il.Emit(OpCodes.Ceq);
                }
                il.Emit(OpCodes.Conv_I8);
                StEntry(d - 2, Rep.Long);
                break;
            case Opcode.NewObject:
                {
                    // Inline when the heap needs no work for it (no collection, no sample): the common case.
                    var cls = _module.Classes[ins.A];
                    FastOrSlowPath(pc, ins, types, () =>
                    {
                        il.Emit(OpCodes.Ldc_I8, Heap.ObjectHeader(cls));
                        Ldc(Heap.ObjectWords(cls.Fields.Length));
                        il.Emit(OpCodes.Call, M.TryBumpObject);
                        il.Emit(OpCodes.Conv_I8);
                    }, negativeIsSlow: false, d, Rep.Ref);
                    break;
                }
            case Opcode.MapGet:
            case Opcode.MapGetOr:
            case Opcode.MapHas:
            case Opcode.MapSet:
                {
                    // The interpreter's own code for the lookup (Interpreter.MapGetFound, MapGetOr, MapHas,
                    // MapSetInPlace), called with the operands as they are: none allocates. A key m[k] does not
                    // find (the KeyError) and a map that must grow take the slow path.
                    bool set = ins.Op == Opcode.MapSet, get = ins.Op == Opcode.MapGet;
                    int operands = ins.Op is Opcode.MapGetOr or Opcode.MapSet ? 3 : 2, map = d - operands;
                    MaterializeAll(d);
                    NullCheck(pc, d, map, () =>
                    {
                        il.Emit(OpCodes.Ldstr, set ? "write a map" : "read a map");
                        il.Emit(OpCodes.Call, M.NullDereference);
                    });
                    il.Emit(OpCodes.Ldarg_0);
                    LdEntry(map, Rep.Ref);
                    il.Emit(OpCodes.Conv_I4);
                    for (int k = map + 1; k < d; k++) LdEntryBits(k, RepOf(types[k]));
                    // The value m[k] finds comes back through a local of its own: one whose address is taken is
                    // kept in memory by .NET's JIT, which would slow every other use of a shared scratch local.
                    if (get) il.Emit(OpCodes.Ldloca, _mapValue ??= Local(typeof(long)));
                    il.Emit(OpCodes.Call, ins.Op switch
                    {
                        Opcode.MapGet => M.MapGetFound,
                        Opcode.MapGetOr => M.MapGetOr,
                        Opcode.MapHas => M.MapHas,
                        _ => M.MapSetInPlace,
                    });
                    if (!set && !get)
                    {
                        StEntryBits(map, RepOf(Types(pc + 1)[map]));
                        break;
                    }
                    var done = il.DefineLabel();
                    var slow = il.DefineLabel();
                    il.Emit(OpCodes.Brfalse, slow);
                    if (get)
                    {
                        il.Emit(OpCodes.Ldloc, _mapValue!);
                        StEntryBits(map, RepOf(Types(pc + 1)[map]));
                    }
                    il.Emit(OpCodes.Br, done);
                    il.MarkLabel(slow);
                    SlowPath(pc, ins, types);
                    il.MarkLabel(done);
                    break;
                }
            case Opcode.APush:
                {
                    // A push onto an array with room (Interpreter.APushInPlace), called with the operands as they
                    // are: it never allocates, so nothing moves. A null array and a full one take the slow path,
                    // the interpreter's OpAPush (the NullError, or the growth, which may collect).
                    MaterializeAll(d);
                    il.Emit(OpCodes.Ldarg_0);
                    LdEntry(d - 2, Rep.Ref);
                    il.Emit(OpCodes.Conv_I4);
                    LdEntryBits(d - 1, RepOf(types[d - 1]));
                    il.Emit(OpCodes.Call, M.APushInPlace);
                    var pushed = il.DefineLabel();
                    il.Emit(OpCodes.Brtrue, pushed);
                    SlowPath(pc, ins, types);
                    il.MarkLabel(pushed);
                    break;
                }
            default:
                SlowPath(pc, ins, types);
                break;
        }
    }

    /// <summary>
    /// A method call (callvirt, calliface): the receiver, below its <paramref name="argc"/> - 1 arguments, is
    /// checked for null; the receiver's class chooses the callee (<see cref="Interpreter.VirtualTarget"/>,
    /// <see cref="Interpreter.InterfaceTarget"/>), which <see cref="Interpreter.Invoke"/> runs compiled or interpreted.
    /// </summary>
    private void MethodCall(int pc, VmType[] types, Instr ins, int argc, VmType returns, bool isInterface)
    {
        var il = _il;
        int d = types.Length;
        MaterializeAll(d);
        NullCheck(pc, d, d - argc, () =>
        {
            il.Emit(OpCodes.Ldarg_0);
            Ldc(ins.A);
            Ldc((int)ins.B);
            il.Emit(OpCodes.Call, isInterface ? M.InterfaceNullError : M.MethodNullError);
        });
        SpillRange(types, d - argc, d);
        SetPc(pc);
        // The closed class table: one function for every class the receiver can be is called as a function
        // is; a few classes are told apart by their id in the receiver's header; more go through the table.
        var (single, tested) = Dispatch(_module, ins, _ran);
        var called = il.DefineLabel();
        if (single is not null)
        {
            CallOrInline(single, d - argc, called, null);
            AfterCall(pc, d - argc, returns);
            il.MarkLabel(called);
            return;
        }
        var done = il.DefineLabel();
        if (tested.Count > 0)
        {
            HeapWord(d - argc, 0);
            il.Emit(OpCodes.Ldelem_I8);
            il.Emit(OpCodes.Ldc_I4_8);
            il.Emit(OpCodes.Shr);
            il.Emit(OpCodes.Conv_I4);
            il.Emit(OpCodes.Ldc_I4, 0xFFFFFF);
            il.Emit(OpCodes.And);
            il.Emit(OpCodes.Stloc, _classId);
            foreach (var (cls, target) in tested)
            {
                var other = il.DefineLabel();
                il.Emit(OpCodes.Ldloc, _classId);
                Ldc(cls.HeapId);
                il.Emit(OpCodes.Bne_Un, other);
                CallOrInline(target, d - argc, called, null);
                il.Emit(OpCodes.Br, done);
                il.MarkLabel(other);
            }
        }
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_0);
        LdEntry(d - argc, Rep.Ref);
        il.Emit(OpCodes.Conv_I4);
        if (isInterface) Ldc(ins.A);
        Ldc((int)ins.B);
        il.Emit(OpCodes.Call, isInterface ? M.InterfaceTarget : M.VirtualTarget);
        Bp(d - argc);
        il.Emit(OpCodes.Call, M.Invoke);
        il.MarkLabel(done);
        AfterCall(pc, d - argc, returns);
        il.MarkLabel(called);
    }

    /// <summary>
    /// A call of <paramref name="callee"/>, its arguments from depth <paramref name="args"/>: its result left for
    /// <see cref="AfterCall"/>, after <paramref name="beforeCall"/> (what only a real call needs). Or, when it is
    /// compiled in place (<see cref="Inlinable"/>; not with --fuel), its body first, which stores the result
    /// itself and goes on at <paramref name="called"/>, past the AfterCall; the call is its way out.
    /// </summary>
    private void CallOrInline(LoadedFunction callee, int args, Label called, Action? beforeCall)
    {
        if (!_metered && (_ran is null || _ran[callee.Index]) && PlanInline(_module, callee) is { } body)
        {
            var call = _il.DefineLabel();
            EmitInline(callee, args, body, call, called);
            _il.MarkLabel(call);
        }
        beforeCall?.Invoke();
        CallOf(callee, args);
    }

    /// <summary>
    /// The parameters of a compiled function's method: (Interpreter, bp, entry, fp), then each int, bool or
    /// float parameter of the function, in order, as a long or a double. A direct call from compiled code passes
    /// those in registers rather than through their slots (references stay in their slots, where the collector
    /// finds them); the interpreter calls through <see cref="EntryStub"/>, which reads them from the slots.
    /// </summary>
    internal static Type[] Signature(LoadedFunction fn)
    {
        var types = new List<Type> { typeof(Interpreter), typeof(int), typeof(int), typeof(int) };
        for (int i = 0; i < fn.ParamCount; i++)
        {
            var rep = RepOf(fn.Def.Locals[i]);
            if (rep != Rep.Ref) types.Add(rep == Rep.Double ? typeof(double) : typeof(long));
        }
        return [.. types];
    }

    /// <summary>The CIL argument of a compiled function's first int, bool or float parameter (see <see cref="Signature"/>).</summary>
    private const int FirstParamArg = 4;

    /// <summary>The CIL argument that parameter <paramref name="i"/> comes in (see <see cref="Signature"/>), or null
    /// for a reference, which is in its slot.</summary>
    private static int? ParamArg(LoadedFunction fn, int i)
    {
        if (RepOf(fn.Def.Locals[i]) == Rep.Ref) return null;
        int arg = FirstParamArg;
        for (int k = 0; k < i; k++) if (RepOf(fn.Def.Locals[k]) != Rep.Ref) arg++;
        return arg;
    }

    /// <summary>The method the interpreter calls (<see cref="CompiledCode"/>): <paramref name="body"/> with the
    /// arguments read from their slots; <paramref name="body"/> itself when it takes none in registers.</summary>
    internal static DynamicMethod EntryStub(LoadedFunction fn, DynamicMethod body)
    {
        var signature = Signature(fn);
        if (signature.Length == FirstParamArg) return body;
        var stub = new DynamicMethod($"hlvm:{fn.Name}:entry", typeof(long), signature[..FirstParamArg], typeof(CilEmitter).Module, skipVisibility: true);
        var il = stub.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldarg_3);
        for (int i = 0; i < fn.ParamCount; i++)
        {
            var rep = RepOf(fn.Def.Locals[i]);
            if (rep == Rep.Ref) continue;
            ParamSlot(il, i);
            il.Emit(rep == Rep.Double ? OpCodes.Ldind_R8 : OpCodes.Ldind_I8);
        }
        il.Emit(OpCodes.Call, body);
        il.Emit(OpCodes.Ret);
        return stub;
    }

    /// <summary>Pushes the address of parameter <paramref name="i"/>'s slot, vm._stack[bp + i], in a method whose
    /// arguments start (Interpreter vm, int bp): where the interpreter reads and writes it.</summary>
    private static void ParamSlot(ILGenerator il, int i)
    {
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, F.Stack);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldc_I4, i);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldelema, typeof(long));
    }

    /// <summary>Pushes the interpreter's frame count where this frame's record is written (at every call): one past
    /// it, as the record's writing left <c>vm._fp</c>, without reading back what was just stored there.</summary>
    private void LdFrameCount()
    {
        _il.Emit(OpCodes.Ldloc, _fp);
        _il.Emit(OpCodes.Ldc_I4_1);
        _il.Emit(OpCodes.Add);
    }

    /// <summary>Pushes this function's LoadedFunction (the frame record's, the one calls are counted in), read
    /// where it is used: a call that never writes its record never reads it.</summary>
    private void LdFunction()
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, F.Functions);
        Ldc(_fn.Index);
        _il.Emit(OpCodes.Ldelem_Ref);
    }

    /// <summary>Pushes string constant <paramref name="index"/>'s reference, read from the module's roots (the
    /// collector moves strings, so a reference is never a constant in the CIL).</summary>
    private void LdString(int index)
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, F.Strings);
        Ldc(index);
        _il.Emit(OpCodes.Ldelem_I8);
    }

    /// <summary>Most words of a constant's <see cref="Heap.StringImage"/> that a comparison with it tests in place:
    /// the header and up to eight characters. (Longer constants go to <see cref="Interpreter.SameStrings"/>.)</summary>
    private const int MaxComparedWords = 3;

    /// <summary>
    /// The image (<see cref="Heap.StringImage"/>) of the string constant instruction <paramref name="pc"/> pushes,
    /// when the next instruction compares a string with it and nothing else sees it (control reaches that one only
    /// from here) and it is short; else null. Not with --fuel: <see cref="Interpreter.SameStrings"/> charges the
    /// fuel for the characters it compares, and a comparison in place charges nothing.
    /// </summary>
    private long[]? ComparedConstant(int pc)
    {
        var code = _fn.Code;
        if (_metered || code[pc].Op != Opcode.SConst || pc + 1 >= code.Length || !_fn.Reachable[pc + 1]
            || _isTarget[pc + 1] || _isStep[pc + 1] || code[pc + 1].Op is not (Opcode.SEq or Opcode.SNe))
            return null;
        string text = _module.Def.Strings[code[pc].A];
        return Heap.StringWords(text.Length) <= MaxComparedWords ? Heap.StringImage(text) : null;
    }

    /// <summary>Whether the string at depth <paramref name="k"/> has the words <paramref name="image"/> (equal
    /// headers: the same length; then the same characters), or not (<paramref name="negate"/>): 1 or 0 at depth k.</summary>
    private void CompareWithConstant(int k, long[] image, bool negate)
    {
        var il = _il;
        var differ = il.DefineLabel();
        var done = il.DefineLabel();
        for (int w = 0; w < image.Length; w++)
        {
            HeapWord(k, w);
            il.Emit(OpCodes.Ldelem_I8);
            il.Emit(OpCodes.Ldc_I8, image[w]);
            il.Emit(OpCodes.Bne_Un, differ);
        }
        il.Emit(negate ? OpCodes.Ldc_I4_0 : OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Br, done);
        il.MarkLabel(differ);
        il.Emit(negate ? OpCodes.Ldc_I4_1 : OpCodes.Ldc_I4_0);
        il.MarkLabel(done);
        il.Emit(OpCodes.Conv_I8);
        StEntry(k, Rep.Long);
    }

    /// <summary>Adds one to a function's call count (a profiler runs), at the count's address: the module's
    /// <see cref="LoadedModule.CallCounts"/> are pinned, and live as long as the module, which holds this code.</summary>
    private void CountCall(LoadedFunction fn)
    {
        _il.Emit(OpCodes.Ldc_I8, (long)Hlvm.Runtime.Memory.Pinned.AddressOf(_module.CallCounts) + fn.Index * 8L);
        _il.Emit(OpCodes.Conv_U);
        _il.Emit(OpCodes.Dup);
        _il.Emit(OpCodes.Ldind_I8);
        _il.Emit(OpCodes.Ldc_I8, 1L);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>Goes to <paramref name="target"/> when the interpreter asks for attention (a stop, a sample).</summary>
    private void IfAttention(Label target)
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Volatile);
        _il.Emit(OpCodes.Ldfld, F.Attention);
        _il.Emit(OpCodes.Brtrue, target);
    }

    /// <summary>Most instructions of a function whose calls are compiled as its body (<see cref="Inlinable"/>).</summary>
    private const int MaxInlineInstructions = 16;

    /// <summary>
    /// Whether calls of <paramref name="callee"/> are compiled as its body, in the caller: a constructor that sets
    /// fields, a method that reads one, a function that returns a constant. It runs straight through (no branch,
    /// call, allocation or handler, so nothing can collect and no reference moves) and uses only locals,
    /// constants and fields. Whatever it would raise (a null object, a field read before it is set) is left to
    /// the call itself, which the inlined body falls back to before it has changed anything: after its first
    /// write, a field is only read or written through a local whose null check passed before that write (the
    /// check is made again, and can't fail), and no field read can find its field unset.
    /// </summary>
    internal static bool Inlinable(LoadedModule module, LoadedFunction callee)
    {
        var code = callee.Code;
        if (code.Length > MaxInlineInstructions || callee.LocalCount > MaxInlineInstructions || callee.Handlers.Length > 0) return false;
        bool written = false;
        var checkedLocal = new bool[callee.LocalCount];
        var origin = new List<int>(); // per operand: the local it was loaded from, or -1
        int Pop()
        {
            int top = origin[^1];
            origin.RemoveAt(origin.Count - 1);
            return top;
        }
        for (int pc = 0; pc < code.Length; pc++)
        {
            var ins = code[pc];
            switch (ins.Op)
            {
                case Opcode.Nop: break;
                case Opcode.Load: origin.Add(ins.A); break;
                case Opcode.Store:
                    Pop();
                    checkedLocal[ins.A] = false;
                    break;
                case Opcode.IConst or Opcode.FConst or Opcode.BConst or Opcode.SConst or Opcode.AConstNull:
                    origin.Add(-1);
                    break;
                case Opcode.Pop: Pop(); break;
                case Opcode.GetField or Opcode.SetField:
                    {
                        if (ins.Op == Opcode.SetField) Pop();
                        int obj = Pop();
                        bool known = obj >= 0 && checkedLocal[obj];
                        if (written && (!known || (ins.Op == Opcode.GetField && module.Classes[ins.A].NonNullFields[ins.B]))) return false;
                        if (obj >= 0) checkedLocal[obj] = true;
                        if (ins.Op == Opcode.SetField) written = true;
                        else origin.Add(-1);
                        break;
                    }
                case Opcode.Ret or Opcode.RetVoid when pc == code.Length - 1:
                    break;
                default:
                    return false;
            }
        }
        return true;
    }

    /// <summary>What of a function's code a call of it compiles in place (<see cref="PlanInline"/>): the
    /// instructions it runs, those a jump goes to, and those where it gives up and makes the call; and whether it
    /// reads the heap.</summary>
    internal sealed record InlineBody(bool[] Runs, bool[] Joins, bool[] GivesUp, bool ReadsHeap);

    /// <summary>
    /// What calls of <paramref name="callee"/> compile in place of the call, or null for nothing: its whole body
    /// when it is <see cref="Inlinable"/>; otherwise its start, when a path through it returns before anything but
    /// locals, constants, field reads, array lengths, arithmetic (<see cref="PureShape"/>) and forward jumps (a
    /// recursion's base case, a guard that returns early). Such a start writes nothing but its own CIL locals, so
    /// where it reaches anything else (a call, an allocation, a store, a loop, an instruction that may raise) it
    /// gives up and makes the call, which runs the function from its start: the program sees the call, and only
    /// the call. At most <see cref="MaxInlineInstructions"/> of it are compiled in place.
    /// </summary>
    internal static InlineBody? PlanInline(LoadedModule module, LoadedFunction callee)
    {
        var code = callee.Code;
        bool readsHeap = false;
        if (Inlinable(module, callee))
        {
            // (Loops, not Array.ConvertAll over instructions: .NET compiled that generic code at run time.)
            var all = new bool[code.Length];
            for (int pc = 0; pc < code.Length; pc++)
            {
                all[pc] = true;
                readsHeap |= code[pc].Op is Opcode.GetField or Opcode.SetField;
            }
            return new(all, new bool[code.Length], new bool[code.Length], readsHeap);
        }
        if (callee.LocalCount > MaxInlineInstructions || callee.Handlers.Length > 0) return null;
        var runs = new bool[code.Length];
        var joins = new bool[code.Length];
        var givesUp = new bool[code.Length];
        bool returns = false;
        int count = 0;
        runs[0] = true;
        for (int pc = 0; pc < code.Length; pc++)
        {
            if (!runs[pc]) continue;
            var ins = code[pc];
            bool jump = ins.Op is Opcode.Jmp or Opcode.JmpIf or Opcode.JmpIfNot or Opcode.JmpIfNull or Opcode.JmpIfNotNull
                && ins.A > pc;
            bool local = ins.Op is Opcode.Nop or Opcode.Load or Opcode.Store or Opcode.Pop or Opcode.Dup or Opcode.IConst
                or Opcode.FConst or Opcode.BConst or Opcode.SConst or Opcode.AConstNull or Opcode.GetField or Opcode.ALen
                || PureShape(ins.Op) is not null || ReadingNative(module, ins) is not null;
            bool ret = ins.Op is Opcode.Ret or Opcode.RetVoid;
            if (!(jump || local || ret) || ++count > MaxInlineInstructions)
            {
                givesUp[pc] = true;
                continue;
            }
            readsHeap |= ins.Op is Opcode.GetField or Opcode.ALen or Opcode.CallNative;
            returns |= ret;
            if (jump) runs[ins.A] = joins[ins.A] = true;
            if (!ret && ins.Op != Opcode.Jmp) runs[pc + 1] = true;
        }
        return returns ? new(runs, joins, givesUp, readsHeap) : null;
    }

    /// <summary>The fast path of a call of a native that only reads the heap (<see cref="NativeDef.FastOnlyReads"/>:
    /// <c>string.len</c>, <c>string.at</c>), which a function's start compiled in place may call, or null.</summary>
    private static MethodInfo? ReadingNative(LoadedModule module, Instr ins) =>
        ins.Op == Opcode.CallNative && module.Natives[ins.A] is { FastOnlyReads: true } native ? native.FastMethod(false) : null;

    /// <summary>
    /// The code of <paramref name="callee"/> that <paramref name="body"/> says, in place of its call, its arguments
    /// the entries from depth <paramref name="args"/>: its locals and operands in CIL locals, its result stored
    /// where the call's goes, and on to <paramref name="called"/>. Anything unusual goes to <paramref name="call"/>,
    /// the call itself, before the body has written anything: a stop or a sample asked for, the frame limit reached
    /// or the value slots too few for the callee's frame (the call raises the StackOverflowError, or grows the
    /// frames or the slots), a null object, a field read before it is set,
    /// an instruction of a function's start that is not compiled in place.
    /// </summary>
    private void EmitInline(LoadedFunction callee, int args, InlineBody body, Label call, Label called)
    {
        var il = _il;
        if (!_inlined.Contains(callee.Name)) _inlined.Add(callee.Name);
        // The CIL locals of one body serve every other: a function with many calls compiled in place keeps the
        // few locals of the largest body, far from the count where .NET's JIT stops optimising.
        _inlineLocalsUsed[0] = _inlineLocalsUsed[1] = 0;
        LocalBuilder Local(Type type)
        {
            int kind = type == typeof(double) ? 1 : 0;
            var pool = _inlineLocals[kind];
            if (_inlineLocalsUsed[kind] == pool.Count) pool.Add(this.Local(type));
            return pool[_inlineLocalsUsed[kind]++];
        }
        IfAttention(call);
        LdFrameCount();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, F.FrameLimit);
        il.Emit(OpCodes.Bge, call);
        // The callee's frame must fit in the value slots as the call's would (the call grows them, or raises the
        // StackOverflowError past Interpreter.MaxSlots): compiled in place, a call at the slots' end went on where
        // the interpreter's call failed.
        Bp(args);
        Ldc(callee.FrameSize);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, F.StackSlots);
        il.Emit(OpCodes.Bgt, call);
        var locals = callee.Def.Locals;
        var vars = new LocalBuilder[locals.Length];
        for (int i = 0; i < vars.Length; i++)
        {
            var rep = RepOf(locals[i]);
            vars[i] = Local(rep == Rep.Double ? typeof(double) : typeof(long));
            if (i < callee.ParamCount) LdEntry(args + i, rep);
            else if (rep == Rep.Double) il.Emit(OpCodes.Ldc_R8, 0.0);
            else il.Emit(OpCodes.Ldc_I8, 0L);
            il.Emit(OpCodes.Stloc, vars[i]);
        }
        // A call that returns here is counted here (one that gives up is counted by the call), and while a
        // profiler runs, a sample asked for meanwhile is charged to the callee (Interpreter.SampleAtReturn), as its
        // own return would charge it.
        void Return(int pc)
        {
            if (_countCalls)
            {
                CountCall(callee);
                var sampled = il.DefineLabel();
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Volatile);
                il.Emit(OpCodes.Ldfld, F.Attention);
                il.Emit(OpCodes.Brfalse, sampled);
                il.Emit(OpCodes.Ldarg_0);
                LdFrameCount();
                Ldc(callee.Index);
                Ldc(pc);
                il.Emit(OpCodes.Ldc_I4_1);
                il.Emit(OpCodes.Call, M.SampleAtReturn);
                il.MarkLabel(sampled);
            }
            il.Emit(OpCodes.Br, called);
        }
        // The operand stack: each entry a CIL local (an int, a reference's bits, or a float).
        var stack = new List<LocalBuilder>();
        LocalBuilder Push(Type type)
        {
            var local = Local(type);
            il.Emit(OpCodes.Stloc, local);
            stack.Add(local);
            return local;
        }
        LocalBuilder Pop()
        {
            var top = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return top;
        }
        // The heap's array and the index of word `offset` of the object in obj; a null object goes to the call.
        void Word(LocalBuilder obj, int offset)
        {
            il.Emit(OpCodes.Ldloc, obj);
            il.Emit(OpCodes.Brfalse, call);
            LdSpace();
            il.Emit(OpCodes.Ldloc, obj);
            il.Emit(OpCodes.Conv_I4);
            Ldc(offset);
            il.Emit(OpCodes.Add);
        }
        void FieldWord(LocalBuilder obj, int field) => Word(obj, Heap.FieldOffset + field);
        var code = callee.Code;
        var labels = new Label[code.Length];
        for (int pc = 0; pc < code.Length; pc++) if (body.Joins[pc]) labels[pc] = il.DefineLabel();
        // Where paths join (`a && b` as a value) the operands are the same CIL locals on every path: each way in
        // copies its operands into them.
        var joined = new List<LocalBuilder>?[code.Length];
        void Carry(int target)
        {
            if (joined[target] is null)
            {
                joined[target] = [];
                foreach (var entry in stack) joined[target]!.Add(Local(entry.LocalType));
            }
            for (int k = 0; k < stack.Count; k++)
            {
                il.Emit(OpCodes.Ldloc, stack[k]);
                il.Emit(OpCodes.Stloc, joined[target]![k]);
            }
        }
        bool fallsIn = true;
        for (int pc = 0; pc < code.Length; pc++)
        {
            var ins = code[pc];
            if (body.Joins[pc])
            {
                if (fallsIn) Carry(pc);
                il.MarkLabel(labels[pc]);
                stack = [.. joined[pc] ?? []];
            }
            fallsIn = body.Runs[pc] && !body.GivesUp[pc] && ins.Op is not (Opcode.Jmp or Opcode.Ret or Opcode.RetVoid);
            if (!body.Runs[pc]) continue;
            if (body.GivesUp[pc])
            {
                il.Emit(OpCodes.Br, call);
                continue;
            }
            if (PureShape(ins.Op) is { } shape)
            {
                var operands = stack[^shape.Pops..];
                stack.RemoveRange(stack.Count - shape.Pops, shape.Pops);
                foreach (var operand in operands) il.Emit(OpCodes.Ldloc, operand);
                EmitPure(il, ins.Op);
                Push(shape.Result == Rep.Double ? typeof(double) : typeof(long));
                continue;
            }
            switch (ins.Op)
            {
                case Opcode.Nop: break;
                case Opcode.Load:
                    il.Emit(OpCodes.Ldloc, vars[ins.A]);
                    Push(vars[ins.A].LocalType);
                    break;
                case Opcode.Dup:
                    il.Emit(OpCodes.Ldloc, stack[^1]);
                    Push(stack[^1].LocalType);
                    break;
                case Opcode.Jmp:
                    Carry(ins.A);
                    il.Emit(OpCodes.Br, labels[ins.A]);
                    break;
                case Opcode.JmpIf or Opcode.JmpIfNot or Opcode.JmpIfNull or Opcode.JmpIfNotNull:
                    {
                        // A condition is 0 or 1, a reference null when its bits are 0.
                        var condition = Pop();
                        Carry(ins.A);
                        il.Emit(OpCodes.Ldloc, condition);
                        il.Emit(ins.Op is Opcode.JmpIf or Opcode.JmpIfNotNull ? OpCodes.Brtrue : OpCodes.Brfalse, labels[ins.A]);
                        break;
                    }
                case Opcode.Store:
                    il.Emit(OpCodes.Ldloc, Pop());
                    il.Emit(OpCodes.Stloc, vars[ins.A]);
                    break;
                case Opcode.IConst or Opcode.BConst:
                    il.Emit(OpCodes.Ldc_I8, ins.B);
                    Push(typeof(long));
                    break;
                case Opcode.FConst:
                    il.Emit(OpCodes.Ldc_R8, BitConverter.Int64BitsToDouble(ins.B));
                    Push(typeof(double));
                    break;
                case Opcode.SConst:
                    LdString(ins.A);
                    Push(typeof(long));
                    break;
                case Opcode.AConstNull:
                    il.Emit(OpCodes.Ldc_I8, 0L);
                    Push(typeof(long));
                    break;
                case Opcode.Pop:
                    Pop();
                    break;
                case Opcode.GetField:
                    {
                        var cls = _module.Classes[ins.A];
                        FieldWord(Pop(), (int)ins.B);
                        il.Emit(OpCodes.Ldelem_I8);
                        if (cls.NonNullFields[ins.B])
                        {
                            il.Emit(OpCodes.Stloc, _tmp);
                            il.Emit(OpCodes.Ldloc, _tmp);
                            il.Emit(OpCodes.Brfalse, call);
                            il.Emit(OpCodes.Ldloc, _tmp);
                        }
                        if (RepOf(cls.Fields[ins.B].Type) == Rep.Double)
                        {
                            il.Emit(OpCodes.Call, M.BitsToDouble);
                            Push(typeof(double));
                        }
                        else Push(typeof(long));
                        break;
                    }
                case Opcode.ALen:
                    {
                        // A null array goes to the call, which raises the NullError.
                        Word(Pop(), Heap.ArrayLengthOffset);
                        il.Emit(OpCodes.Ldelem_I8);
                        Push(typeof(long));
                        break;
                    }
                case Opcode.CallNative:
                    {
                        // The native's fast path; where it declines (a null, an index outside the string), the call,
                        // which raises the error or answers the slow way.
                        int argc = _module.Natives[ins.A].Params.Length;
                        var operands = stack[^argc..];
                        stack.RemoveRange(stack.Count - argc, argc);
                        LdHeap();
                        foreach (var operand in operands)
                        {
                            il.Emit(OpCodes.Ldloc, operand);
                            if (operand.LocalType == typeof(double)) il.Emit(OpCodes.Call, M.DoubleToBits);
                        }
                        il.Emit(OpCodes.Call, ReadingNative(_module, ins)!);
                        var answer = Push(typeof(long));
                        il.Emit(OpCodes.Ldloc, answer);
                        il.Emit(OpCodes.Ldc_I8, 0L);
                        il.Emit(OpCodes.Blt, call);
                        break;
                    }
                case Opcode.SetField:
                    {
                        var value = Pop();
                        FieldWord(Pop(), (int)ins.B);
                        StoreWord(value.LocalType == typeof(double), () => il.Emit(OpCodes.Ldloc, value));
                        break;
                    }
                case Opcode.Ret:
                    il.Emit(OpCodes.Ldloc, Pop());
                    StEntry(args, RepOf(callee.Def.Return));
                    Return(pc);
                    break;
                case Opcode.RetVoid:
                    Return(pc);
                    break;
                default:
                    throw new InvalidOperationException($"{ins.Op} can't be compiled in place of a call");
            }
        }
    }

    /// <summary>Most classes a method call tells apart by their id before it looks its target up in the table.</summary>
    private const int MaxClassTests = 8;

    /// <summary>How a method call instruction reaches its targets (<see cref="MethodCall"/>): the one function every
    /// class its receiver can be runs; else the classes to tell apart by their id, at most <see cref="MaxClassTests"/>;
    /// else neither, and the call looks its target up in the method table.</summary>
    private static (LoadedFunction? Single, IReadOnlyList<(RuntimeClass Class, LoadedFunction Target)> Tested) Dispatch(LoadedModule module, Instr ins, bool[]? ran)
    {
        // Loops rather than LINQ: LINQ over these tuples is the framework's generic code for a value type, which
        // ReadyToRun can't precompile, and .NET compiled it on the program's thread at the first method call.
        var targets = module.Implementations(ins.A, (int)ins.B);
        if (targets.Count == 0) return (null, []);
        bool one = true;
        for (int i = 1; i < targets.Count; i++) one &= targets[i].Target == targets[0].Target;
        if (one) return (targets[0].Target, []);
        if (ran is not null)
        {
            // Tiering's profile: a target that never ran is left to the table, where it is found all the same.
            var kept = new List<(RuntimeClass Class, LoadedFunction Target)>(targets.Count);
            for (int i = 0; i < targets.Count; i++) if (ran[targets[i].Target.Index]) kept.Add(targets[i]);
            targets = kept;
        }
        return (null, targets.Count <= MaxClassTests ? targets : []);
    }

    /// <summary>The functions a method call instruction calls directly (<see cref="Dispatch"/>), which the batch
    /// compiles with its caller.</summary>
    internal static IEnumerable<LoadedFunction> DirectTargets(LoadedModule module, Instr ins, bool[]? ran)
    {
        var (single, tested) = Dispatch(module, ins, ran);
        if (single is not null) return [single];
        var targets = new LoadedFunction[tested.Count];
        for (int i = 0; i < targets.Length; i++) targets[i] = tested[i].Target;
        return targets;
    }

    /// <summary>Calls <paramref name="callee"/>, its arguments in the slots from depth <paramref name="args"/>:
    /// a CIL call when it is compiled in this batch, else through <see cref="Interpreter.Invoke"/>. Pushes its result.</summary>
    private void CallOf(LoadedFunction callee, int args)
    {
        var il = _il;
        if (_batch.TryGetValue(callee.Index, out var direct))
        {
            _directCalls.Add(direct);
            il.Emit(OpCodes.Ldarg_0);
            Bp(args);
            il.Emit(OpCodes.Ldc_I4_0);
            LdFrameCount();
            for (int i = 0; i < callee.ParamCount; i++)
                if (ParamArg(callee, i) is not null) LdEntry(args + i, RepOf(callee.Def.Locals[i]));
            il.Emit(OpCodes.Call, direct);
        }
        else
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldfld, F.Functions);
            Ldc(callee.Index);
            il.Emit(OpCodes.Ldelem_Ref);
            Bp(args);
            il.Emit(OpCodes.Call, M.Invoke);
        }
    }

    /// <summary>
    /// An instruction the interpreter's own slow path runs (strings, maps, allocation, natives, the rarer array
    /// operations): its operands go to their slots, the interpreter's Op method runs on them exactly as in the
    /// interpreter (recording the instruction where the collector and errors look for it), its results come back.
    /// </summary>
    private void SlowPath(int pc, Instr ins, VmType[] types)
    {
        var il = _il;
        int d = types.Length;
        int pops = ins.Op switch
        {
            Opcode.NewArray => (int)ins.B,
            Opcode.NewMap => 2 * (int)ins.B,
            Opcode.CallNative => _module.Natives[ins.A].Params.Length,
            _ => OpcodeInfo.All[(int)ins.Op].Pops,
        };
        if (pops < 0 || M.SlowPath(ins.Op) is not { } method)
            throw new InvalidOperationException($"no JIT case for opcode {ins.Op}");
        // An instruction that keeps copies reaches its slow path only through FastOrSlowPath, which reads them again
        // after it; any other way, the copies would go stale across a collection.
        if (_readCopies) throw new InvalidOperationException($"compiling {_fn.Name}: {ins.Op} keeps copies (KeepsCopies) but reached a slow path that does not read them again");
        MaterializeAll(d);
        SpillRange(types, d - pops, d);
        il.Emit(OpCodes.Ldarg_0);
        LdFrameRecord();
        Ldc(pc + 1); // the interpreter's pc has moved past the instruction running
        Sp(d);
        if (ins.Op != Opcode.ARepeat)
        {
            LdFunction();
            il.Emit(OpCodes.Call, M.Code);
            Ldc(pc);
            il.Emit(OpCodes.Ldelema, typeof(Instr));
        }
        il.Emit(OpCodes.Call, method);
        il.Emit(OpCodes.Pop);
        ReloadSpace();
        if (pc + 1 < _fn.Code.Length && _fn.Reachable[pc + 1])
        {
            var after = Types(pc + 1);
            for (int k = d - pops; k < after.Length; k++) FillEntry(k, RepOf(after[k]));
        }
    }

    /// <summary>
    /// An instruction tried first in a way that may decline (a native's fast path, an allocation the heap can make
    /// without work): every entry goes to its slot before the branch, since the slow path reads them there and
    /// the code after reads them where the emitter left them on either way; the heap and <paramref name="fast"/>'s
    /// operands on the CIL stack, it leaves a long, which is the result, or declines (0, or any negative answer
    /// when <paramref name="negativeIsSlow"/>) and the instruction runs its slow path (<see cref="SlowPath"/>).
    /// The result goes to depth <paramref name="result"/> as <paramref name="rep"/>.
    /// </summary>
    private void FastOrSlowPath(int pc, Instr ins, VmType[] types, Action fast, bool negativeIsSlow, int result, Rep rep)
    {
        var il = _il;
        var slow = il.DefineLabel();
        var done = il.DefineLabel();
        MaterializeAll(types.Length);
        LdHeap();
        fast();
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Stloc, _tmp);
        if (negativeIsSlow)
        {
            il.Emit(OpCodes.Ldc_I8, 0L);
            il.Emit(OpCodes.Blt, slow);
        }
        else il.Emit(OpCodes.Brfalse, slow);
        il.Emit(OpCodes.Ldloc, _tmp);
        StEntryBits(result, rep);
        il.Emit(OpCodes.Br, done);
        il.MarkLabel(slow);
        _readCopies = false;
        SlowPath(pc, ins, types);
        // The slow path may have collected: the copies current before it are read again (KeepsCopies).
        for (int i = 0; i < _refCopied.Length; i++)
            if (_refCopied[i]) ReadCopy(i);
        il.MarkLabel(done);
    }

    // ------------------------------------------------------------------------------------------ pieces

    private void BinaryCall(int d, Rep rep, MethodInfo method)
    {
        LdEntry(d - 2, rep);
        LdEntry(d - 1, rep);
        _il.Emit(OpCodes.Call, method);
        StEntry(d - 2, rep);
    }

    /// <summary>
    /// The instructions that are arithmetic on their operands alone (no fault, no call, nothing else read): how
    /// many operands they take, each's representation and the result's. <see cref="EmitPure"/> gives their CIL,
    /// once for the function's own instructions and the bodies compiled in place alike.
    /// </summary>
    private static Shape? PureShape(Opcode op) => op switch
    {
        Opcode.IAdd or Opcode.ISub or Opcode.IMul or Opcode.IAnd or Opcode.IOr or Opcode.IXor => new(2, Rep.Long, Rep.Long),
        Opcode.IEq or Opcode.INe or Opcode.ILt or Opcode.IGe or Opcode.IGt or Opcode.ILe or Opcode.BEq or Opcode.BNe => new(2, Rep.Long, Rep.Long),
        Opcode.INeg or Opcode.INot or Opcode.BNot => new(1, Rep.Long, Rep.Long),
        Opcode.FAdd or Opcode.FSub or Opcode.FMul or Opcode.FDiv or Opcode.FRem => new(2, Rep.Double, Rep.Double),
        Opcode.FEq or Opcode.FNe or Opcode.FLt or Opcode.FGt or Opcode.FLe or Opcode.FGe => new(2, Rep.Double, Rep.Long),
        Opcode.FNeg => new(1, Rep.Double, Rep.Double),
        Opcode.RefEq or Opcode.RefNe => new(2, Rep.Ref, Rep.Long),
        Opcode.IToF => new(1, Rep.Long, Rep.Double),
        _ => null,
    };

    /// <summary>An instruction's operands and result (<see cref="PureShape"/>). A struct of its own, not a tuple: a
    /// tuple over value types is generic code .NET compiles at run time, at the first compile of every run.</summary>
    private readonly record struct Shape(int Pops, Rep Operand, Rep Result);

    /// <summary>The CIL of an instruction of <see cref="PureShape"/>, its operands on the CIL stack.</summary>
    private static void EmitPure(ILGenerator il, Opcode op)
    {
        void Compare(OpCode cil, bool negate)
        {
            il.Emit(cil);
            if (negate)
            {
                il.Emit(OpCodes.Ldc_I4_0);
                il.Emit(OpCodes.Ceq);
            }
            il.Emit(OpCodes.Conv_I8);
        }
        switch (op)
        {
            case Opcode.IAdd or Opcode.FAdd: il.Emit(OpCodes.Add); break;
            case Opcode.ISub or Opcode.FSub: il.Emit(OpCodes.Sub); break;
            case Opcode.IMul or Opcode.FMul: il.Emit(OpCodes.Mul); break;
            case Opcode.FDiv: il.Emit(OpCodes.Div); break;
            case Opcode.FRem: il.Emit(OpCodes.Rem); break;
            case Opcode.IAnd: il.Emit(OpCodes.And); break;
            case Opcode.IOr: il.Emit(OpCodes.Or); break;
            case Opcode.IXor: il.Emit(OpCodes.Xor); break;
            case Opcode.INeg or Opcode.FNeg: il.Emit(OpCodes.Neg); break;
            case Opcode.INot: il.Emit(OpCodes.Not); break;
            case Opcode.BNot:
                il.Emit(OpCodes.Ldc_I8, 1L);
                il.Emit(OpCodes.Xor);
                break;
            case Opcode.IToF: il.Emit(OpCodes.Conv_R8); break;
            case Opcode.IEq or Opcode.BEq or Opcode.RefEq or Opcode.FEq: Compare(OpCodes.Ceq, negate: false); break;
            case Opcode.INe or Opcode.BNe or Opcode.RefNe or Opcode.FNe: Compare(OpCodes.Ceq, negate: true); break;
            case Opcode.ILt or Opcode.FLt: Compare(OpCodes.Clt, negate: false); break;
            case Opcode.IGt or Opcode.FGt: Compare(OpCodes.Cgt, negate: false); break;
            case Opcode.IGe: Compare(OpCodes.Clt, negate: true); break;
            case Opcode.ILe: Compare(OpCodes.Cgt, negate: true); break;
            // IEEE: every comparison with NaN is false except !=; the unordered forms give exactly that negated.
            case Opcode.FLe: Compare(OpCodes.Cgt_Un, negate: true); break;
            case Opcode.FGe: Compare(OpCodes.Clt_Un, negate: true); break;
            default: throw new InvalidOperationException($"{op} is not arithmetic on its operands alone");
        }
    }

    /// <summary>
    /// The instructions that end a basic block for the fuel's sake although control goes on to the next: every one
    /// that is not compiled inline (calls, natives, allocation, the slow paths), since those may charge fuel in
    /// bulk, run the program's code, or raise an error somewhere other than at their own instruction. The
    /// instructions left (constants, locals, arithmetic, comparisons, fields and elements) raise their errors
    /// through <see cref="FaultStart"/>, at their own instruction, which gives back the rest of the block.
    /// </summary>
    private static readonly bool[] InlineOnly = InlineOpcodes(
        Opcode.Nop, Opcode.IConst, Opcode.FConst, Opcode.BConst, Opcode.SConst, Opcode.AConstNull, Opcode.Load,
        Opcode.Store, Opcode.Pop, Opcode.Dup, Opcode.IAdd, Opcode.ISub, Opcode.IMul, Opcode.IDiv, Opcode.IRem,
        Opcode.INeg, Opcode.IAnd, Opcode.IOr, Opcode.IXor, Opcode.IShl, Opcode.IShr, Opcode.INot, Opcode.FAdd,
        Opcode.FSub, Opcode.FMul, Opcode.FDiv, Opcode.FRem, Opcode.FNeg, Opcode.IEq, Opcode.INe, Opcode.ILt,
        Opcode.ILe, Opcode.IGt, Opcode.IGe, Opcode.FEq, Opcode.FNe, Opcode.FLt, Opcode.FLe, Opcode.FGt, Opcode.FGe,
        Opcode.BEq, Opcode.BNe, Opcode.BNot, Opcode.RefEq, Opcode.RefNe, Opcode.IToF, Opcode.FToI, Opcode.GetField,
        Opcode.SetField, Opcode.NonNull, Opcode.ALoad, Opcode.AStore, Opcode.ALen);

    /// <summary>Whether an instruction's compiled code neither collects, nor calls out to the VM, nor reads a
    /// frame record: one compiled inline, or a call of a pure float function (std.math), which is a plain .NET call.</summary>
    private static bool Quiet(LoadedModule module, Instr ins) =>
        InlineOnly[(int)ins.Op] || (ins.Op == Opcode.CallNative && module.Natives[ins.A].Pure is { Method.IsStatic: true });

    private static bool[] InlineOpcodes(params Opcode[] ops)
    {
        var inline = new bool[OpcodeInfo.All.Length];
        foreach (var op in ops)
        {
            var info = OpcodeInfo.Of(op);
            if (info.GcPoint || !info.FallsThrough || info.HasTarget)
                throw new InvalidOperationException($"{op} can't be in the middle of a basic block");
            inline[(int)op] = true;
        }
        return inline;
    }

    /// <summary>
    /// The basic blocks the fuel is charged by: a block starts at the function's start, at every join (a jump's
    /// target, an entry, a handler) and after every instruction that is not <see cref="InlineOnly"/>.
    /// </summary>
    private static (int[] Length, int[] End) Blocks(LoadedFunction fn, bool[] joins)
    {
        var code = fn.Code;
        var length = new int[code.Length];
        var end = new int[code.Length];
        for (int pc = code.Length - 1; pc >= 0; pc--)
        {
            if (!fn.Reachable[pc]) continue;
            bool last = !InlineOnly[(int)code[pc].Op] || pc + 1 == code.Length || !fn.Reachable[pc + 1] || joins[pc + 1];
            end[pc] = last ? pc : end[pc + 1];
        }
        for (int pc = 0; pc < code.Length; pc++)
        {
            if (!fn.Reachable[pc]) continue;
            if (pc == 0 || joins[pc] || !fn.Reachable[pc - 1] || end[pc - 1] == pc - 1) length[pc] = end[pc] - pc + 1;
        }
        return (length, end);
    }

    /// <summary>
    /// --fuel: the block starting at <paramref name="pc"/> costs its <paramref name="n"/> instructions of the
    /// current slice at once. When the slice can't cover them, <see cref="Interpreter.ChargeBlockAt"/> takes the
    /// next slices as the interpreter's own refill does; when the whole budget can't, the program stops inside this
    /// block, so the block runs in the metered interpreter (<see cref="Interpreter.ContinueMetered"/>), which stops
    /// at exactly the instruction the interpreter alone would, and this frame ends there. Bulk charges of the slow
    /// paths and natives come off the same count; each of them ends a block, so they are noticed at the next.
    /// </summary>
    private void ChargeBlock(int pc, int d, int n)
    {
        var il = _il;
        var resume = il.DefineLabel();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, F.Fuel);
        il.Emit(OpCodes.Ldc_I8, (long)n);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Stloc, _fuelLeft!);
        il.Emit(OpCodes.Ldloc, _fuelLeft!);
        il.Emit(OpCodes.Ldc_I8, 0L);
        il.Emit(OpCodes.Blt, Cold(() =>
        {
            // The int and float values go to their slots and come back after the call, so that none is live
            // across it: .NET's JIT would otherwise keep a loop's floats in memory on the hot path too (as with
            // the polls, see Poll).
            var types = Types(pc);
            SpillRange(types, 0, d);
            for (int i = 0; i < _localCount; i++) SpillLocal(i);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldloc, _fp);
            Ldc(pc);
            Sp(d);
            Ldc(n);
            il.Emit(OpCodes.Call, M.ChargeBlockAt);
            var stop = il.DefineLabel();
            il.Emit(OpCodes.Brfalse, stop);
            for (int i = 0; i < _localCount; i++) FillLocal(i);
            for (int k = 0; k < d; k++) if (RepOf(types[k]) != Rep.Ref) FillEntry(k, RepOf(types[k]));
            il.Emit(OpCodes.Br, resume);
            // The references to their own slots too, and the interpreter runs the rest of this frame.
            il.MarkLabel(stop);
            for (int k = 0; k < d; k++) Materialize(k);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldloc, _fp);
            Ldc(pc);
            Sp(d);
            il.Emit(OpCodes.Call, M.ContinueMetered);
            il.Emit(OpCodes.Stloc, _result);
            il.Emit(_hasHandlers ? OpCodes.Leave : OpCodes.Br, _exit);
        }));
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldloc, _fuelLeft!);
        il.Emit(OpCodes.Stfld, F.Fuel);
        il.MarkLabel(resume);
    }

    /// <summary>
    /// The values entry <paramref name="e"/> needs, read from their slots: its stack entries, and, where on-stack
    /// replacement comes in stepping (<see cref="_chained"/>), every int and float local. On a chain this is done
    /// just before its innermost header, where the locals the loop uses are live anyway: read where control comes
    /// in, they would be live through every outer loop, across its calls, and .NET's JIT would keep them in
    /// memory there and in the inner loop alike.
    /// </summary>
    private void FillAt(int e)
    {
        if (_chained && _isLoopEntry[e])
            for (int i = 0; i < _localCount; i++)
                if (LiveAt(e, i)) FillLocal(i);
        var types = Types(e);
        for (int k = 0; k < types.Length; k++) FillEntry(k, RepOf(types[k]));
    }

    /// <summary>Whether entry <paramref name="e"/> is a loop's header that on-stack replacement enters in place of
    /// the loop's first instruction (<see cref="EntersAtHeader"/>): its values are read just before it, on the step
    /// from the header around it, as an entry inside a loop has them read just before that loop's header.</summary>
    private bool IsHeaderEntry(int e)
    {
        for (int t = 0; t < _entryOf.Length; t++)
            if (_entryOf[t] == e && t != e) return true;
        return false;
    }

    /// <summary>Out-of-line code of header <paramref name="header"/> while an entry is being stepped to: on to the
    /// next header inward on the entry's chain, or to the entry itself (the step over).</summary>
    private Label StepOn(int header) => Cold(() =>
    {
        var il = _il;
        for (int e = 0; e < _chains.Length; e++)
        {
            if (_chains[e] is not { } chain) continue;
            int at = IndexIn(chain, header);
            if (at < 0) continue;
            var other = il.DefineLabel();
            LdStep();
            Ldc(e + 1);
            il.Emit(OpCodes.Bne_Un, other);
            if (at + 1 < chain.Length)
            {
                if (at + 2 == chain.Length && !IsHeaderEntry(e)) FillAt(e);
                il.Emit(OpCodes.Br, Into(chain[at + 1], -1));
            }
            else
            {
                if (IsHeaderEntry(e)) FillAt(e);
                SetStep(0);
                il.Emit(OpCodes.Br, Into(e, -1));
            }
            il.MarkLabel(other);
        }
        il.Emit(OpCodes.Ldstr, $"compiled code of {_fn.Name} stepped through a loop header toward no entry");
        il.Emit(OpCodes.Newobj, typeof(InvalidOperationException).GetConstructor([typeof(string)])!);
        il.Emit(OpCodes.Throw);
    });

    private void LdStep()
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, F.Step);
    }

    private void SetStep(int value)
    {
        _il.Emit(OpCodes.Ldarg_0);
        Ldc(value);
        _il.Emit(OpCodes.Stfld, F.Step);
    }

    /// <summary>A backward branch polls for a stop (--timeout, Isolate.Stop) or a profiler's sample, as the interpreter does.</summary>
    private void Poll(int pc, int target, int d)
    {
        if (target > pc) return;
        var il = _il;
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Volatile);
        il.Emit(OpCodes.Ldfld, F.Attention);
        if (!_chained)
        {
            var resume = il.DefineLabel();
            il.Emit(OpCodes.Brtrue, Cold(() =>
            {
                // The loop's values go to their slots and come back after the call, so that none is live across
                // it: .NET's JIT would otherwise keep them where a call can't touch them, in the registers a
                // method must save or, past those, on the stack, at every turn of the loop.
                SpillLiveAt(target, d);
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldloc, _fp);
                Ldc(pc);
                Sp(d);
                il.Emit(OpCodes.Call, M.AttendAt);
                LoadFrame();
                for (int i = 0; i < _localCount; i++)
                    if (LiveAt(target, i)) FillLocal(i);
                var types = Types(target);
                for (int k = 0; k < d; k++) FillEntry(k, RepOf(types[k]));
                il.Emit(OpCodes.Br, resume);
            }));
            il.MarkLabel(resume);
            return;
        }
        il.Emit(OpCodes.Brtrue, Cold(() =>
        {
            // The loop's values go to their slots and come back through the entry at the target, so that none
            // is live across the call: .NET's JIT, which keeps no float in a register across a call here, would
            // otherwise keep the loop's floats in memory on the hot path too (with the entries stepped to, this
            // took mandelbrot from 460 to 290 ms).
            int entry = _entryOf[target];
            SpillLiveAt(entry, d);
            Ldc(pc);
            il.Emit(OpCodes.Stloc, _attendPc);
            Sp(d);
            il.Emit(OpCodes.Stloc, _attendSp);
            Ldc(entry + 1);
            il.Emit(OpCodes.Stloc, _resume);
            il.Emit(OpCodes.Br, _attend);
        }));
    }

    /// <summary>Writes what is live at instruction <paramref name="at"/> to its slots: the non-reference entries of
    /// the <paramref name="d"/> on the stack there, and the locals live there.</summary>
    private void SpillLiveAt(int at, int d)
    {
        SpillRange(Types(at), 0, d);
        for (int i = 0; i < _localCount; i++)
            if (LiveAt(at, i)) SpillLocal(i);
    }

    /// <summary>The part of a poll's way out and back in that every backward branch shares (<see cref="_attend"/>).</summary>
    private void EmitAttend()
    {
        var il = _il;
        il.MarkLabel(_attend);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldloc, _fp);
        il.Emit(OpCodes.Ldloc, _attendPc);
        il.Emit(OpCodes.Ldloc, _attendSp);
        il.Emit(OpCodes.Call, M.AttendAt);
        il.Emit(_hasHandlers ? OpCodes.Leave : OpCodes.Br, _reload);
    }

    /// <summary>NullError (made by <paramref name="error"/>, which pushes a VmError) when the reference at depth
    /// <paramref name="k"/> is null.</summary>
    private void NullCheck(int pc, int d, int k, Action error)
    {
        int local = _alias[k];
        if (local >= 0)
        {
            if (_nonNull[local]) return;
            _nonNull[local] = true;
        }
        LdEntry(k, Rep.Ref);
        var isNull = Cold(() =>
        {
            FaultStart(pc, d);
            error();
            FaultEnd();
        });
        _il.Emit(OpCodes.Brfalse, isNull);
    }

    /// <summary>The checks of an array access: the array at depth <paramref name="array"/> is not null and the
    /// index at depth <paramref name="index"/> is inside it.</summary>
    private void ArrayAccess(int pc, int d, int array, int index)
    {
        var il = _il;
        if (IsHoisted(pc, array, out int local))
        {
            // One test for both checks: a null array's hoisted length is 0. The cold path tells them apart, null first.
            LdEntry(index, Rep.Long);
            il.Emit(OpCodes.Ldloc, _hoistLength[local]!);
            il.Emit(OpCodes.Bge_Un, Cold(() =>
            {
                var notNull = il.DefineLabel();
                LdEntry(array, Rep.Ref);
                il.Emit(OpCodes.Brtrue, notNull);
                FaultStart(pc, d);
                il.Emit(OpCodes.Ldstr, "index an array");
                il.Emit(OpCodes.Call, M.NullDereference);
                FaultEnd();
                il.MarkLabel(notNull);
                IndexFault(pc, d, array, index);
            }));
            _nonNull[local] = true;
            return;
        }
        NullCheck(pc, d, array, () =>
        {
            il.Emit(OpCodes.Ldstr, "index an array");
            il.Emit(OpCodes.Call, M.NullDereference);
        });
        LdEntry(index, Rep.Long);
        HeapWord(array, Heap.ArrayLengthOffset);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Bge_Un, Cold(() => IndexFault(pc, d, array, index)));
    }

    /// <summary>Raises the IndexError of an access to the array at depth <paramref name="array"/> (not null) with
    /// the index at depth <paramref name="index"/>.</summary>
    private void IndexFault(int pc, int d, int array, int index)
    {
        var il = _il;
        FaultStart(pc, d);
        LdEntry(index, Rep.Long);
        LdHeap();
        LdEntry(array, Rep.Ref);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Call, M.ArrayLength);
        il.Emit(OpCodes.Call, M.IndexOutOfRange);
        FaultEnd();
    }

    /// <summary>A call returned (its result on the CIL stack): the stack may have moved; keep the result.</summary>
    private void AfterCall(int pc, int resultDepth, VmType returns)
    {
        LoadFrame();
        if (returns.Kind == TypeKind.Void) _il.Emit(OpCodes.Pop);
        else StEntryBits(resultDepth, RepOf(returns));
    }

    /// <summary>Starts a fault: vm, frame, pc, sp pushed for <see cref="Interpreter.FaultAt"/>; then the error.
    /// With --fuel, the instructions of its block after <paramref name="pc"/>, charged but not run, are given back.</summary>
    private void FaultStart(int pc, int d)
    {
        if (_unrecorded[pc])
        {
            // Out of line, so the interpreter writes it (RecordFrame inline is a tenth of a small function's CIL).
            _il.Emit(OpCodes.Ldarg_0);
            LdFunction();
            _il.Emit(OpCodes.Ldloc, _fp);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Call, M.RecordFrame);
        }
        if (_metered && _blockEnd[pc] > pc)
        {
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Dup);
            _il.Emit(OpCodes.Ldfld, F.Fuel);
            _il.Emit(OpCodes.Ldc_I8, (long)(_blockEnd[pc] - pc));
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stfld, F.Fuel);
        }
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldloc, _fp);
        Ldc(pc);
        Sp(d);
    }

    private void FaultEnd()
    {
        _il.Emit(OpCodes.Call, M.FaultAt);
        _il.Emit(OpCodes.Throw);
    }

    /// <summary>Out-of-line code, emitted after the body with the aliases of the place that jumps to it.</summary>
    private Label Cold(Action emit)
    {
        var label = _il.DefineLabel();
        _cold.Add(new ColdPath(label, emit, (int[])_alias.Clone()));
        return label;
    }

    /// <summary>Gives the entry at depth k its own slot, when it is an alias of a local's.</summary>
    private void Materialize(int k)
    {
        if (_alias[k] < 0) return;
        SlotAddress(_localCount + k);
        LdRefLocal(_alias[k]);
        _il.Emit(OpCodes.Stind_I8);
        _alias[k] = -1;
    }

    /// <summary>Every entry below depth <paramref name="d"/> in its own slot: before a call, a slow path, a branch.</summary>
    private void MaterializeAll(int d)
    {
        for (int k = 0; k < d; k++) Materialize(k);
    }

    /// <summary>
    /// Pushes where field <paramref name="field"/> of the object at depth <paramref name="k"/> (not null; of class
    /// <paramref name="cls"/> or a subclass) is: its address, returning true, when the object is a reference local's
    /// current copy (<see cref="_objectAt"/>), else the heap's array and the word's index. nbody's inner loop read
    /// and wrote the fields of two bodies with a check of the heap's bounds for each; .NET's JIT merged some.
    /// </summary>
    private bool FieldAddress(int k, RuntimeClass cls, int field)
    {
        int offset = Heap.FieldOffset + field, local = _alias[k];
        if (local < 0 || !_refCopies || !_refCopied[local] || _objectWords[local] == 0)
        {
            // A lone access is one check either way, and the address would take a register for nothing.
            if (local >= 0 && _refCopies && _refCopied[local]) _objectWords[local] = -1;
            HeapWord(k, offset);
            return false;
        }
        var il = _il;
        var at = _objectAt[local] ??= Local(typeof(long).MakeByRefType());
        if (_objectWords[local] < offset)
        {
            // The last field's word is checked (the object's first word is at least 1: it is not null), and the
            // address of the first is that word's less its offset.
            int last = Heap.FieldOffset + cls.Fields.Length - 1;
            HeapWord(k, last);
            il.Emit(OpCodes.Ldelema, typeof(long));
            Ldc(last * 8);
            il.Emit(OpCodes.Sub);
            il.Emit(OpCodes.Stloc, at);
            _objectWords[local] = last;
        }
        il.Emit(OpCodes.Ldloc, at);
        Ldc(offset * 8);
        il.Emit(OpCodes.Add);
        return true;
    }

    /// <summary>Pushes the heap's array and the index of word <paramref name="offset"/> of the object at depth k.</summary>
    private void HeapWord(int k, int offset)
    {
        LdSpace();
        LdEntry(k, Rep.Ref);
        _il.Emit(OpCodes.Conv_I4);
        if (offset != 0)
        {
            Ldc(offset);
            _il.Emit(OpCodes.Add);
        }
    }

    /// <summary>
    /// Pushes the address of the element (at depth <paramref name="index"/>, checked against the array's length) of
    /// the array at depth <paramref name="array"/>: word index of its store's words from ElementOffset, or of a
    /// [bool] (<paramref name="bytes"/>) byte index % 8 of word index / 8. In a loop that hoists the array's header,
    /// from the address of its first word, whose words were checked against the heap's array where the loop was
    /// entered (<see cref="ReadHoistedHeaders"/>); elsewhere through .NET's bounds check of the word's index.
    /// </summary>
    private void ElementAddress(int pc, int array, int index, bool bytes)
    {
        var il = _il;
        if (IsHoisted(pc, array, out int local))
        {
            il.Emit(OpCodes.Ldloc, _hoistElements[local]!);
            LdEntry(index, Rep.Long);
            il.Emit(OpCodes.Conv_I);
            if (!bytes)
            {
                il.Emit(OpCodes.Ldc_I4_3);
                il.Emit(OpCodes.Shl);
            }
            il.Emit(OpCodes.Add);
            return;
        }
        LdSpace();
        FirstWord(() => LdEntry(array, Rep.Ref));
        LdEntry(index, Rep.Long);
        il.Emit(OpCodes.Conv_I4);
        if (bytes)
        {
            il.Emit(OpCodes.Ldc_I4_3);
            il.Emit(OpCodes.Shr);
        }
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldelema, typeof(long));
        if (!bytes) return;
        LdEntry(index, Rep.Long);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4_7);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Add);
    }

    /// <summary>Pushes the index in the heap's array of the first word of the elements of the array (not null) whose
    /// reference <paramref name="pushArray"/> pushes: its store's word ElementOffset.</summary>
    private void FirstWord(Action pushArray)
    {
        LdSpace();
        pushArray();
        _il.Emit(OpCodes.Conv_I4);
        Ldc(Heap.ArrayStoreOffset);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Ldelem_I8);
        _il.Emit(OpCodes.Conv_I4);
        Ldc(Heap.ElementOffset);
        _il.Emit(OpCodes.Add);
    }

    /// <summary>Whether the verifier's type of an array says its elements are bytes (Heap.HasByteElements).</summary>
    private static bool IsByteArray(VmType array) => array.Element is { } element && Heap.HasByteElements(element.Kind);

    /// <summary>Records this frame's instruction (a call's) in its frame record, for traces and the collector.</summary>
    private void SetPc(int pc)
    {
        if (_frameFresh && pc == _freshPc) return;
        LdFrameRecord();
        Ldc(pc);
        _il.Emit(OpCodes.Stfld, F.FramePc);
    }

    /// <summary>Pushes the address of this frame's record: the one just written, when the instruction being
    /// emitted comes right after <see cref="RecordFrame"/> (nothing has called out since, so the records have not
    /// moved), else frames[fp].</summary>
    private void LdFrameRecord()
    {
        if (_frameFresh)
        {
            _il.Emit(OpCodes.Ldloc, _frame!);
            return;
        }
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldloc, _fp);
        _il.Emit(OpCodes.Call, M.FrameAt);
    }

    /// <summary>Pushes bp + locals + k: the slot of operand depth k (a callee's frame start, the stack's height).</summary>
    private void Bp(int k)
    {
        _il.Emit(OpCodes.Ldarg_1);
        Ldc(_localCount + k);
        _il.Emit(OpCodes.Add);
    }

    private void Sp(int depth) => Bp(depth);

    private void LoadHeapAndFrame()
    {
        if (_needsHeap)
        {
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldfld, F.Heap);
            _il.Emit(OpCodes.Stloc, _heap);
        }
        LoadFrame();
    }

    /// <summary>Reloads the address of the frame's first slot (after a call, the stack may have grown elsewhere)
    /// and the heap's array (anything that calls out may have collected). The slots are addressed as the
    /// interpreter addresses them, from the start of the stack's array, pinned (Interpreter._stackBase): the
    /// prologue (or EnterFrame, or the interpreter for an entry) made sure the frame's slots are inside it, and
    /// the stack only grows. So a reload that nothing uses costs nothing: a checked one kept its bounds check
    /// after every call, and one through the array (a byref) its null check.</summary>
    private void LoadFrame()
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, F.StackBase);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Conv_I);
        _il.Emit(OpCodes.Ldc_I4_8);
        _il.Emit(OpCodes.Mul);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _fb);
        ReloadSpace();
    }

    private void ReloadSpace()
    {
        if (!_needsHeap) return;
        LdHeap();
        _il.Emit(OpCodes.Ldfld, F.Space);
        _il.Emit(OpCodes.Stloc, _space);
    }

    /// <summary>Pushes the heap's array (<see cref="_space"/>).</summary>
    private void LdSpace()
    {
        if (!_needsHeap) throw new InvalidOperationException($"compiling {_fn.Name}: the heap is read by code NeedsHeap passed over");
        _il.Emit(OpCodes.Ldloc, _space);
    }

    private void LdHeap()
    {
        if (!_needsHeap) throw new InvalidOperationException($"compiling {_fn.Name}: the heap is read by code NeedsHeap passed over");
        _il.Emit(OpCodes.Ldloc, _heap);
    }

    /// <summary>
    /// Whether a function's compiled code reads the heap itself (fields, elements, inline allocation, a method
    /// call's class test, the body of a call compiled in place). One that does not never loads the heap or its
    /// array: .NET's JIT drops an unused load but not its null check, at every call and after every call.
    /// </summary>
    private static bool NeedsHeap(LoadedModule module, LoadedFunction fn, bool metered)
    {
        for (int pc = 0; pc < fn.Code.Length; pc++)
        {
            if (!fn.Reachable[pc]) continue;
            var ins = fn.Code[pc];
            switch (ins.Op)
            {
                case Opcode.GetField or Opcode.SetField or Opcode.ALoad or Opcode.AStore or Opcode.ALen or Opcode.NewObject
                    or Opcode.CallVirt or Opcode.CallIface:
                    return true;
                case Opcode.SConcat when !metered:
                    return true;
                case Opcode.Call when !metered && PlanInline(module, module.Functions[ins.A]) is { ReadsHeap: true }:
                    return true;
                case Opcode.CallNative when module.Natives[ins.A].FastMethod(metered) is not null:
                    return true;
                case Opcode.SEq or Opcode.SNe when !metered && pc > 0 && fn.Code[pc - 1].Op == Opcode.SConst: // (ComparedConstant)
                    return true;
            }
        }
        return false;
    }

    private void SlotAddress(int slot)
    {
        _il.Emit(OpCodes.Ldloc, _fb);
        if (slot == 0) return;
        Ldc(slot * 8);
        _il.Emit(OpCodes.Conv_I);
        _il.Emit(OpCodes.Add);
    }

    private void Ldc(int value) => _il.Emit(OpCodes.Ldc_I4, value);

    private LocalBuilder StackLocal(List<LocalBuilder?> list, int k, Type type)
    {
        while (list.Count <= k) list.Add(null);
        return list[k] ??= Local(type);
    }

    private void LdEntry(int k, Rep rep)
    {
        switch (rep)
        {
            case Rep.Long: _il.Emit(OpCodes.Ldloc, StackLocal(_stackLong, k, typeof(long))); break;
            case Rep.Double: _il.Emit(OpCodes.Ldloc, StackLocal(_stackDouble, k, typeof(double))); break;
            default:
                if (_alias[k] >= 0)
                {
                    LdRefLocal(_alias[k]);
                    break;
                }
                SlotAddress(_localCount + k);
                _il.Emit(OpCodes.Ldind_I8);
                break;
        }
    }

    /// <summary>Pushes reference local <paramref name="i"/>: its copy when current (<see cref="_refCopy"/>), else its slot.</summary>
    private void LdRefLocal(int i)
    {
        if ((_refCopies || _readCopies) && _refCopied[i])
        {
            _il.Emit(OpCodes.Ldloc, _refCopy[i]!);
            return;
        }
        SlotAddress(i);
        _il.Emit(OpCodes.Ldind_I8);
        if (!_refCopies) return;
        _il.Emit(OpCodes.Dup);
        StRefCopy(i);
    }

    /// <summary>Reads reference local <paramref name="i"/>'s copy again from its slot, where the collector leaves it.</summary>
    private void ReadCopy(int i)
    {
        SlotAddress(i);
        _il.Emit(OpCodes.Ldind_I8);
        _il.Emit(OpCodes.Stloc, _refCopy[i]!);
    }

    /// <summary>Stores the reference on the CIL stack as local <paramref name="i"/>'s copy, now current.</summary>
    private void StRefCopy(int i)
    {
        _il.Emit(OpCodes.Stloc, _refCopy[i] ??= Local(typeof(long)));
        _refCopied[i] = true;
        _objectWords[i] = 0;
    }

    private void StEntry(int k, Rep rep)
    {
        switch (rep)
        {
            case Rep.Long: _il.Emit(OpCodes.Stloc, StackLocal(_stackLong, k, typeof(long))); break;
            case Rep.Double: _il.Emit(OpCodes.Stloc, StackLocal(_stackDouble, k, typeof(double))); break;
            default:
                _il.Emit(OpCodes.Stloc, _tmp);
                if (k == _storeDepth && _storeInto >= 0)
                {
                    // The next instruction stores this result in a local: it goes there now, without the entry's
                    // own slot. Entries that are aliases of the local keep the value it had.
                    int local = _storeInto;
                    _storeInto = -1;
                    for (int j = 0; j < k; j++) if (_alias[j] == local) Materialize(j);
                    _il.Emit(OpCodes.Ldloc, _tmp);
                    StLocal(local, Rep.Ref);
                    _alias[k] = local;
                    _nonNull[local] = false;
                    break;
                }
                SlotAddress(_localCount + k);
                _il.Emit(OpCodes.Ldloc, _tmp);
                _il.Emit(OpCodes.Stind_I8);
                _alias[k] = -1;
                break;
        }
    }

    /// <summary>Stores the entry into the heap word whose array and index are pushed (<see cref="StoreWord(bool, Action)"/>).</summary>
    private void StoreWord(int k, Rep rep) => StoreWord(rep == Rep.Double, () => LdEntry(k, rep));

    /// <summary>Stores the value <paramref name="push"/> pushes into the heap word whose array and index are pushed:
    /// a float as a double through the word's address (one store from its register, where its bits went through an
    /// integer register), anything else as the word.</summary>
    private void StoreWord(bool isDouble, Action push)
    {
        if (isDouble) _il.Emit(OpCodes.Ldelema, typeof(long));
        push();
        _il.Emit(isDouble ? OpCodes.Stind_R8 : OpCodes.Stelem_I8);
    }

    /// <summary>Pushes the entry as its 8-byte slot value (a float's IEEE bits).</summary>
    private void LdEntryBits(int k, Rep rep)
    {
        LdEntry(k, rep);
        if (rep == Rep.Double) _il.Emit(OpCodes.Call, M.DoubleToBits);
    }

    /// <summary>Stores an 8-byte slot value (a float's IEEE bits) into the entry.</summary>
    private void StEntryBits(int k, Rep rep)
    {
        if (rep == Rep.Double) _il.Emit(OpCodes.Call, M.BitsToDouble);
        StEntry(k, rep);
    }

    private void LdLocal(int i, Rep rep)
    {
        switch (rep)
        {
            case Rep.Long: _il.Emit(OpCodes.Ldloc, _localLong[i]!); break;
            case Rep.Double: _il.Emit(OpCodes.Ldloc, _localDouble[i]!); break;
            default:
                LdRefLocal(i);
                break;
        }
    }

    private void StLocal(int i, Rep rep)
    {
        switch (rep)
        {
            case Rep.Long: _il.Emit(OpCodes.Stloc, _localLong[i]!); break;
            case Rep.Double: _il.Emit(OpCodes.Stloc, _localDouble[i]!); break;
            default:
                _il.Emit(OpCodes.Stloc, _tmp);
                SlotAddress(i);
                _il.Emit(OpCodes.Ldloc, _tmp);
                _il.Emit(OpCodes.Stind_I8);
                if (_refCopies)
                {
                    _il.Emit(OpCodes.Ldloc, _tmp);
                    StRefCopy(i);
                }
                else _refCopied[i] = false;
                break;
        }
    }

    /// <summary>Loads a local's CIL copy from its slot (parameters, and every local at an OSR entry).</summary>
    private void FillLocal(int i)
    {
        var local = _localLong[i] ?? _localDouble[i];
        if (local is null) return;
        SlotAddress(i);
        _il.Emit(_localDouble[i] is null ? OpCodes.Ldind_I8 : OpCodes.Ldind_R8);
        _il.Emit(OpCodes.Stloc, local);
    }

    /// <summary>Stores a local's CIL copy to its slot (before a poll leaves a loop, to come back in by <see cref="FillLocal"/>).</summary>
    private void SpillLocal(int i)
    {
        var local = _localLong[i] ?? _localDouble[i];
        if (local is null) return;
        SlotAddress(i);
        _il.Emit(OpCodes.Ldloc, local);
        _il.Emit(_localDouble[i] is null ? OpCodes.Stind_I8 : OpCodes.Stind_R8);
    }

    /// <summary>Writes the non-reference entries at depths [from, to) to their slots.</summary>
    private void SpillRange(VmType[] types, int from, int to)
    {
        for (int k = from; k < to; k++)
        {
            var rep = RepOf(types[k]);
            if (rep == Rep.Ref) continue;
            SlotAddress(_localCount + k);
            LdEntry(k, rep);
            _il.Emit(rep == Rep.Double ? OpCodes.Stind_R8 : OpCodes.Stind_I8);
        }
    }

    /// <summary>Reads a non-reference entry from its slot.</summary>
    private void FillEntry(int k, Rep rep)
    {
        if (rep == Rep.Ref)
        {
            _alias[k] = -1; // the slow path wrote the entry's own slot
            return;
        }
        SlotAddress(_localCount + k);
        _il.Emit(rep == Rep.Double ? OpCodes.Ldind_R8 : OpCodes.Ldind_I8);
        StEntry(k, rep);
    }

    // ------------------------------------------------------------------------------------------ handles

    /// <summary>The fields compiled code reads.</summary>
    private static class F
    {
        private const BindingFlags All = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
        public static readonly FieldInfo Heap = typeof(Interpreter).GetField(nameof(Interpreter._heap), All)!;
        public static readonly FieldInfo Space = typeof(Heap).GetField(nameof(Hlvm.Runtime.Memory.Heap._space), All)!;
        public static readonly FieldInfo Functions = typeof(Interpreter).GetField(nameof(Interpreter._functions), All)!;
        public static readonly FieldInfo Strings = typeof(Interpreter).GetField(nameof(Interpreter._strings), All)!;
        public static readonly FieldInfo Stack = typeof(Interpreter).GetField(nameof(Interpreter._stack), All)!;
        public static readonly FieldInfo Fp = typeof(Interpreter).GetField(nameof(Interpreter._fp), All)!;
        public static readonly FieldInfo Attention = typeof(Interpreter).GetField(nameof(Interpreter._attention), All)!;
        public static readonly FieldInfo Fuel = typeof(Interpreter).GetField(nameof(Interpreter._fuel), All)!;
        public static readonly FieldInfo Step = typeof(Interpreter).GetField(nameof(Interpreter._step), All)!;
        public static readonly FieldInfo FramePc = typeof(Interpreter.Frame).GetField(nameof(Interpreter.Frame.Pc))!;
        public static readonly FieldInfo FrameBp = typeof(Interpreter.Frame).GetField(nameof(Interpreter.Frame.Bp))!;
        public static readonly FieldInfo FrameFunction = typeof(Interpreter.Frame).GetField(nameof(Interpreter.Frame.Function))!;
        public static readonly FieldInfo Sp = typeof(Interpreter).GetField(nameof(Interpreter._sp), All)!;
        public static readonly FieldInfo FrameLimit = typeof(Interpreter).GetField(nameof(Interpreter._frameLimit), All)!;
        public static readonly FieldInfo StackBase = typeof(Interpreter).GetField(nameof(Interpreter._stackBase), All)!;
        public static readonly FieldInfo StackSlots = typeof(Interpreter).GetField(nameof(Interpreter._stackSlots), All)!;
        public static readonly FieldInfo EntryLimit = typeof(Interpreter).GetField(nameof(Interpreter._entryLimit), All)!;
    }

    /// <summary>The methods compiled code calls.</summary>
    private static class M
    {
        private const BindingFlags All = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
        private static MethodInfo Of(Type type, string name) => type.GetMethod(name, All) ?? throw new MissingMethodException(type.Name, name);
        private static MethodInfo Of(Type type, string name, params Type[] args) => type.GetMethod(name, All, args) ?? throw new MissingMethodException(type.Name, name);

        public static MethodInfo EnterFrame => field ??= Of(typeof(Interpreter), nameof(Interpreter.EnterFrame));
        public static MethodInfo Code => field ??= typeof(LoadedFunction).GetProperty(nameof(LoadedFunction.Code))!.GetMethod!;
        public static MethodInfo RecordFrame => field ??= Of(typeof(Interpreter), nameof(Interpreter.RecordFrame));
        public static MethodInfo FrameAt => field ??= Of(typeof(Interpreter), nameof(Interpreter.FrameAt));
        public static MethodInfo TryBumpObject => field ??= Of(typeof(Heap), nameof(Heap.TryBumpObject));
        public static MethodInfo TryConcat => field ??= Of(typeof(Heap), nameof(Heap.TryConcat));
        public static MethodInfo CallInterpreted => field ??= Of(typeof(Interpreter), nameof(Interpreter.CallInterpreted));
        public static MethodInfo Invoke => field ??= Of(typeof(Interpreter), nameof(Interpreter.Invoke));
        public static MethodInfo VirtualTarget => field ??= Of(typeof(Interpreter), nameof(Interpreter.VirtualTarget));
        public static MethodInfo InterfaceTarget => field ??= Of(typeof(Interpreter), nameof(Interpreter.InterfaceTarget));
        public static MethodInfo ClosureTarget => field ??= Of(typeof(Interpreter), nameof(Interpreter.ClosureTarget));
        public static MethodInfo FaultAt => field ??= Of(typeof(Interpreter), nameof(Interpreter.FaultAt));
        public static MethodInfo AttendAt => field ??= Of(typeof(Interpreter), nameof(Interpreter.AttendAt));
        public static MethodInfo SampleAtReturn => field ??= Of(typeof(Interpreter), nameof(Interpreter.SampleAtReturn));
        public static MethodInfo ChargeBlockAt => field ??= Of(typeof(Interpreter), nameof(Interpreter.ChargeBlockAt));
        public static MethodInfo ContinueMetered => field ??= Of(typeof(Interpreter), nameof(Interpreter.ContinueMetered));
        public static MethodInfo ThrowAt => field ??= Of(typeof(Interpreter), nameof(Interpreter.ThrowAt));
        public static MethodInfo CatchCompiled => field ??= Of(typeof(Interpreter), nameof(Interpreter.CatchCompiled));
        public static MethodInfo CaughtByFrame => field ??= Of(typeof(Interpreter), nameof(Interpreter.CaughtByFrame));
        public static ConstructorInfo HandlerFound => field ??= typeof(Interpreter.HandlerFound).GetConstructor(Type.EmptyTypes)!;
        public static MethodInfo SameStrings => field ??= Of(typeof(Interpreter), nameof(Interpreter.SameStrings));
        public static MethodInfo MapGetOr => field ??= Of(typeof(Interpreter), nameof(Interpreter.MapGetOr));
        public static MethodInfo MapSetInPlace => field ??= Of(typeof(Interpreter), nameof(Interpreter.MapSetInPlace));
        public static MethodInfo MapGetFound => field ??= Of(typeof(Interpreter), nameof(Interpreter.MapGetFound));
        public static MethodInfo MapHas => field ??= Of(typeof(Interpreter), nameof(Interpreter.MapHas));
        public static MethodInfo APushInPlace => field ??= Of(typeof(Interpreter), nameof(Interpreter.APushInPlace));
        public static MethodInfo NullDereference => field ??= Of(typeof(Interpreter), nameof(Interpreter.NullDereference));
        public static MethodInfo FieldNullError => field ??= Of(typeof(Interpreter), nameof(Interpreter.FieldNullError), typeof(int), typeof(long), typeof(bool));
        public static MethodInfo FieldUnsetError => field ??= Of(typeof(Interpreter), nameof(Interpreter.FieldUnsetError));
        public static MethodInfo MethodNullError => field ??= Of(typeof(Interpreter), nameof(Interpreter.MethodNullError));
        public static MethodInfo InterfaceNullError => field ??= Of(typeof(Interpreter), nameof(Interpreter.InterfaceNullError));
        public static MethodInfo IndexOutOfRange => field ??= Of(typeof(Interpreter), nameof(Interpreter.IndexOutOfRange));
        public static MethodInfo DivisionByZero => field ??= Of(typeof(Arithmetic), nameof(Arithmetic.DivisionByZero));
        public static MethodInfo Div => field ??= Of(typeof(Arithmetic), nameof(Arithmetic.Div));
        public static MethodInfo Rem => field ??= Of(typeof(Arithmetic), nameof(Arithmetic.Rem));
        public static MethodInfo Shl => field ??= Of(typeof(Arithmetic), nameof(Arithmetic.Shl));
        public static MethodInfo Shr => field ??= Of(typeof(Arithmetic), nameof(Arithmetic.Shr));
        public static MethodInfo FToI => field ??= Of(typeof(Arithmetic), nameof(Arithmetic.FToI));
        public static MethodInfo ArrayLength => field ??= Of(typeof(Heap), nameof(Heap.ArrayLength));
        public static MethodInfo DoubleToBits => field ??= Of(typeof(BitConverter), nameof(BitConverter.DoubleToInt64Bits), typeof(double));
        public static MethodInfo BitsToDouble => field ??= Of(typeof(BitConverter), nameof(BitConverter.Int64BitsToDouble), typeof(long));

        /// <summary>The interpreter's slow path of each instruction compiled code leaves to it, or null. Looked up
        /// when first needed, as are the methods above: .NET finds a method by going through all of its type's
        /// methods, and the interpreter has hundreds (the whole table took 2 ms of a run's first compile).</summary>
        public static MethodInfo? SlowPath(Opcode op) => SlowPaths[(int)op] ??= SlowPathName(op) is { } name ? Of(typeof(Interpreter), name) : null;

        private static readonly MethodInfo?[] SlowPaths = new MethodInfo?[256];

        private static string? SlowPathName(Opcode op) => op switch
        {
            Opcode.SConcat => "OpSConcat",
            Opcode.IToS or Opcode.FToS or Opcode.BToS or Opcode.AToS => "OpIToSOrFToSOrBToSOrAToS",
            Opcode.FuncRef or Opcode.Closure => "OpFuncRefOrClosure",
            Opcode.NewObject => "OpNewObject",
            Opcode.NewMap => "OpNewMap",
            Opcode.MapGet => "OpMapGet",
            Opcode.MapGetOr => "OpMapGetOr",
            Opcode.MapSet => "OpMapSet",
            Opcode.MapHas => "OpMapHas",
            Opcode.MapRemove => "OpMapRemove",
            Opcode.MapLen => "OpMapLen",
            Opcode.MapKeys or Opcode.MapValues => "OpMapKeysOrMapValues",
            Opcode.MToS => "OpMToS",
            Opcode.InstanceOf => "OpInstanceOf",
            Opcode.CheckCast => "OpCheckCast",
            Opcode.CallNative => "OpCallNative",
            Opcode.NewArray => "OpNewArray",
            Opcode.APop => "OpAPop",
            Opcode.ARemoveAt => "OpARemoveAt",
            Opcode.AInsert => "OpAInsert",
            Opcode.ASlice => "OpASlice",
            Opcode.ARepeat => "OpARepeat",
            Opcode.AIndexOf => "OpAIndexOf",
            Opcode.AReverse => "OpAReverse",
            Opcode.APush => "OpAPush",
            _ => null,
        };
    }
}
