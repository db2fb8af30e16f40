using System.Buffers.Binary;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Natives;

namespace Hlvm.Runtime.Verification;

// ============================================================================================================
// The verifier: the reason the interpreter may trust bytecode.
//
// Every module is verified before any of it runs, whatever produced it. For each function it first decodes the
// code, checking that every opcode exists, every operand is present and in range, and every branch lands on the
// first byte of an instruction. It then runs a data-flow analysis over the instructions: the abstract state at
// an instruction is the type of every operand-stack entry and the set of locals definitely written. States are
// merged where paths join; the heights and types must agree there, and a local is written only if it is on
// every path. Each instruction is checked against its rule (operand types, local types, call signatures, array
// element types, return type), the stack may never exceed the function's declared max stack, and no path may
// fall off the end of the code. The analysis also yields the collector's stack maps: which operand-stack
// entries are references at each instruction that may allocate or call.
// ============================================================================================================

public static class Verifier
{
    /// <summary>Verifies a module and binds its natives against the host's table.</summary>
    /// <exception cref="VerifyException">the first rule the module breaks</exception>
    public static LoadedModule Verify(Module module, IReadOnlyList<NativeDef>? natives = null)
    {
        string moduleName = module.Name.Length > 0 ? module.Name : "<module>";
        var bound = new NativeDef[module.Natives.Count];
        for (int i = 0; i < bound.Length; i++)
        {
            var import = module.Natives[i];
            var def = Find(natives ?? NativeTable.All, import.Name)
                ?? throw new VerifyException(moduleName, "<imports>", -1, $"unknown native '{import.Name}'");
            if (!def.Matches(import)) throw Mismatch(moduleName, import, def);
            bound[i] = def;
        }
        if (module.EntryFunction >= 0)
        {
            var entry = module.Functions[module.EntryFunction];
            bool okParams = entry.Params.Length == 0 || (entry.Params.Length == 1 && entry.Params[0] == VmType.ArrayOf(VmType.String));
            bool okReturn = entry.Return == VmType.Void || entry.Return == VmType.Int;
            if (!okParams || !okReturn)
                throw new VerifyException(moduleName, entry.Name, -1, "the entry function must take no parameters or one [string], and return nothing or int");
        }
        var classes = ClassTable.Build(module, moduleName);
        var functions = new LoadedFunction[module.Functions.Count];
        var budget = new WorkBudget();
        for (int i = 0; i < functions.Length; i++) functions[i] = new FunctionVerifier(module, moduleName, i, classes, budget).Run();
        foreach (var c in classes)
        {
            c.VTableFunctions = Resolve(c.VTable);
            foreach (var (iface, slots) in c.ITables) c.ITableFunctions[iface] = Resolve(slots);
        }
        return new LoadedModule(module, functions, bound, classes);

        LoadedFunction[] Resolve(int[] slots)
        {
            var resolved = new LoadedFunction[slots.Length];
            for (int i = 0; i < slots.Length; i++) resolved[i] = functions[slots[i]];
            return resolved;
        }
    }

    private static VerifyException Mismatch(string moduleName, NativeImport import, NativeDef def) =>
        new(moduleName, "<imports>", -1,
            $"native '{import.Name}' is imported as ({string.Join(", ", import.Params)}) -> {import.Return} but the host declares ({string.Join(", ", def.Params)}) -> {def.Return}");

    /// <summary>The native named <paramref name="name"/> in the host's table, or null: the one an import of that
    /// name is bound to.</summary>
    internal static NativeDef? Find(IReadOnlyList<NativeDef> natives, string name)
    {
        for (int i = 0; i < natives.Count; i++)
            if (natives[i].Name == name) return natives[i];
        return null;
    }

    /// <summary>
    /// Most steps the data flow of one module may take: each instruction visited, each state merged, counted with
    /// the words of its set of locals, and each new set a store makes. The analysis is linear in the code for what
    /// compilers emit (about 3 steps an instruction for the bench programs and examples); this bounds the rest
    /// (thousands of exception handlers over thousands of branch targets and locals) with an error, so that
    /// verifying a module is never the slow part of loading it, whoever wrote it: about 3 s at most here (2^28 took
    /// 14 s).
    /// </summary>
    public const long MaxWork = 1L << 26;

    /// <summary>Most words of sets of locals the data flow of one module may keep at its joins (64 MiB): a function of
    /// 65,536 locals whose every store is followed by a join kept 8 KiB a join, 450 MB before the step budget
    /// stopped it.</summary>
    public const long MaxKeptWords = 1L << 23;

    private sealed class WorkBudget
    {
        public long Used, Kept;
    }

    private sealed class FunctionVerifier(Module module, string moduleName, int index, RuntimeClass[] classes, WorkBudget budget)
    {
        private readonly TypeRules _types = new(module, classes);
        private readonly FunctionDef _f = module.Functions[index];
        private readonly ArrayBuilder<Instr> _code = new(Math.Max(1, module.Functions[index].Code.Length / 3));
        private (int Start, int End, int Handler, int Class)[] _handlers = new (int, int, int, int)[0]; // not []: see FunctionDef.Lines

        /// <summary>
        /// Per instruction, the handlers its state must be merged into: those covering it when it starts a handler's
        /// range or is a branch or handler target. Any other instruction in a range is reached only from the one
        /// before it, and the locals written only grow along that path, so the intersection at the handler is
        /// already made by the first instruction of its straight run.
        /// </summary>
        private List<int>?[] _handlersAt = [];

        /// <summary>The instructions reached other than from the one before them: branch and handler targets.</summary>
        private bool[] _joins = [];
        private readonly List<int> _offsets = [];
        private int _at; // offset of the instruction being checked, for errors

        /// <summary>A branch instruction (its index) and the offset it names.</summary>
        private readonly record struct Branch(int Index, long Target);

        private VerifyException Fail(string reason) => new(moduleName, _f.Name, _at, reason);

        public LoadedFunction Run()
        {
            _at = -1;
            if (_f.Code.Length == 0) throw Fail("the function has no code");
            Decode();
            var states = Analyze();
            Instr[] code = _code.ToArray();
            var reachable = new bool[states.Length];
            var stackTypes = new TypeStack?[states.Length];
            for (int i = 0; i < states.Length; i++)
            {
                reachable[i] = states[i] is not null;
                stackTypes[i] = states[i]?.Stack;
            }
            var localIsRef = new bool[_f.Locals.Length];
            for (int i = 0; i < localIsRef.Length; i++) localIsRef[i] = _f.Locals[i].IsReference;
            return new LoadedFunction
            {
                Def = _f,
                Index = index,
                Code = code,
                Fused = Superinstructions.Fuse(code, _handlers, reachable),
                Offsets = [.. _offsets],
                LocalIsRef = localIsRef,
                Reachable = reachable,
                Handlers = _handlers,
                StackTypes = stackTypes,
            };
        }

        // ---------------------------------------------------------------------------------------- decoding

        private void Decode()
        {
            var code = _f.Code;
            var targets = new ArrayBuilder<Branch>();
            var offsetToIndex = new Dictionary<int, int>();
            for (int pc = 0; pc < code.Length;)
            {
                _at = pc;
                var info = OpcodeInfo.Of(code[pc]) ?? throw Fail($"unknown opcode 0x{code[pc]:x2}");
                if (pc + info.Size > code.Length) throw Fail($"{info.Name} is truncated: its operands run past the end of the code");
                var ins = new Instr { Op = info.Op };
                int p = pc + 1;
                for (int k = 0; k < info.Operands.Length; k++)
                {
                    var kind = info.Operands[k];
                    long value = OpcodeInfo.ReadOperand(code, p, kind);
                    p += OpcodeInfo.Width(kind);
                    CheckOperand(info, kind, value);
                    if (kind is OperandKind.Int64 or OperandKind.Float64 or OperandKind.Bool or OperandKind.Count or OperandKind.Field or OperandKind.Method) ins.B = value;
                    else ins.A = (int)value;
                    if (kind == OperandKind.Target) targets.Add(new Branch(_code.Count, value));
                }
                offsetToIndex[pc] = _code.Count;
                _code.Add(ins);
                _offsets.Add(pc);
                pc = p;
            }
            _handlers = new (int, int, int, int)[_f.Handlers.Length];
            for (int h = 0; h < _f.Handlers.Length; h++)
            {
                var eh = _f.Handlers[h];
                _at = -1;
                int End(int offset) => offset == code.Length ? _code.Count : offsetToIndex.TryGetValue(offset, out int x) ? x : -1;
                int start = End(eh.Start), end = End(eh.End);
                if (start < 0 || end < 0 || !offsetToIndex.TryGetValue(eh.Handler, out int handler))
                    throw Fail($"exception handler {h} ([{eh.Start}, {eh.End}) -> {eh.Handler}) does not start and end at instructions");
                if (classes[eh.Class].IsInterface) throw Fail($"exception handler {h} catches '{classes[eh.Class].Name}', an interface");
                _handlers[h] = (start, end, handler, eh.Class);
            }
            for (int t = 0; t < targets.Count; t++)
            {
                var (i, target) = targets[t];
                _at = _offsets[i];
                if (target >= code.Length || !offsetToIndex.TryGetValue((int)target, out int ti))
                    throw Fail(target >= code.Length
                        ? $"branch target {target} is outside the function (code is {code.Length} bytes)"
                        : $"branch target {target} is in the middle of an instruction");
                var ins = _code[i];
                ins.A = ti;
                _code[i] = ins;
            }
            var leader = new bool[_code.Count];
            for (int t = 0; t < targets.Count; t++) leader[_code[targets[t].Index].A] = true;
            foreach (var (_, _, handler, _) in _handlers) leader[handler] = true;
            _joins = (bool[])leader.Clone();
            foreach (var (start, _, _, _) in _handlers)
                if (start < _code.Count) leader[start] = true;
            var leaderList = new List<int>();
            for (int i = 0; i < leader.Length; i++)
                if (leader[i]) leaderList.Add(i);
            int[] leaders = [.. leaderList];
            int First(int at)
            {
                int k = Array.BinarySearch(leaders, at);
                return k >= 0 ? k : ~k;
            }
            // What the lists will hold is counted before they are made.
            long entries = 0;
            foreach (var (start, end, _, _) in _handlers) entries += Math.Max(0, First(end) - First(start));
            Spend(entries);
            _handlersAt = new List<int>?[_code.Count];
            for (int h = 0; h < _handlers.Length; h++)
            {
                var (start, end, _, _) = _handlers[h];
                for (int k = First(start); k < leaders.Length && leaders[k] < end; k++) (_handlersAt[leaders[k]] ??= []).Add(h);
            }
        }

        /// <summary>The words a kept set or chunk takes besides its bits: a set's object and its table's header, or a
        /// chunk's header and its entry in <see cref="_keptChunks"/>.</summary>
        private const int KeptObjectWords = 6;

        /// <summary>The chunks of the sets of locals <see cref="Keep"/> has counted, each counted once however many
        /// sets share it.</summary>
        private readonly HashSet<ulong[]> _keptChunks = new(ReferenceEqualityComparer.Instance);

        /// <summary>Counts the words of a set of locals a join keeps against the module's bound, once per set and once
        /// per chunk: joins that keep the same set (a path's set reaching several branch targets unchanged) share
        /// it, and sets share the chunks neither changed. The objects' own words count too (<see cref="KeptObjectWords"/>):
        /// a function of few locals keeps sets of a word or two, whose headers are most of their memory.</summary>
        private void Keep(LocalSet set)
        {
            if (set.Kept) return;
            set.Kept = true;
            var chunks = set.Chunks;
            budget.Kept += KeptObjectWords + chunks.Length;
            foreach (var chunk in chunks)
                if (_keptChunks.Add(chunk)) budget.Kept += KeptObjectWords + chunk.Length;
            if (budget.Kept > MaxKeptWords)
                throw Fail($"verifying the module needs more than {MaxKeptWords * 8 >> 20} MiB for the locals written where its paths join: its functions combine too many locals with too many branches; split the largest");
        }

        /// <summary>Counts work against the module's budget.</summary>
        private void Spend(long steps)
        {
            budget.Used += steps;
            if (budget.Used > MaxWork)
                throw Fail($"verifying the module takes more than {MaxWork} steps: its functions combine too many exception handlers, branches, locals and values on the stack; split the largest");
        }

        private void CheckOperand(OpcodeInfo info, OperandKind kind, long value)
        {
            (int count, string what) = kind switch
            {
                OperandKind.Local => (_f.Locals.Length, "local"),
                OperandKind.String => (module.Strings.Count, "string constant"),
                OperandKind.Function => (module.Functions.Count, "function"),
                OperandKind.Native => (module.Natives.Count, "native import"),
                OperandKind.Type => (module.Types.Count, "type"),
                OperandKind.Class => (module.Classes.Count, "class"),
                OperandKind.Bool => (2, "bool constant"),
                OperandKind.Count => (ModuleFormat.MaxStackLimit + 1, "element count"),
                _ => (-1, ""),
            };
            if (count >= 0 && (ulong)value >= (ulong)count)
                throw Fail(count == 0
                    ? $"{info.Name}: {what} {value} does not exist (the module has none)"
                    : $"{info.Name}: {what} {value} is out of range (0..{count - 1})");
        }

        // ---------------------------------------------------------------------------------------- data flow

        /// <summary>The abstract state before an instruction: operand types and the locals written on every path (null
        /// inside a straight run, where the check carries them along instead: see <see cref="Analyze"/>).</summary>
        private sealed class State(TypeStack? stack, LocalSet? written)
        {
            public TypeStack? Stack = stack;
            public LocalSet? Written = written;
        }

        /// <summary>
        /// The data flow to its fixed point. The instructions whose state changed wait in a queue taken lowest first
        /// (<see cref="Worklist"/>): where jumps only go forward, an instruction is then checked once, after every
        /// path into it has been merged. Taken last in first out, a module written by hand as a chain of branches
        /// that each leave a different local unwritten checked the rest of the chain again at every join: 623 KB took
        /// 9 s and was accepted, 312 KB ran into the budget after 14 s.
        /// </summary>
        /// <remarks>
        /// From an instruction taken, the check walks on along its straight run: while the only way on is to the
        /// next instruction and nothing else leads there (<see cref="_joins"/>), that instruction's state is the one
        /// just made, and only its stack is kept (the JIT reads the stack's types). The locals written are kept
        /// where paths join, and where a branch leads: a state kept at every instruction kept every new set a store
        /// made, and 65,536 stores of as many locals kept 600 MB.
        /// </remarks>
        private State?[] Analyze()
        {
            var states = new State?[_code.Count];
            states[0] = new State(null, LocalSet.FirstN(_f.Locals.Length, _f.Params.Length));
            var work = new Worklist(_code.Count);
            work.Add(0);
            while (work.Count > 0)
            {
                int i = work.Pop();
                var top = states[i]!.Stack;
                var written = states[i]!.Written ?? throw new InvalidOperationException("a state without its locals was taken from the work list");
                while (true)
                {
                    var ins = _code[i];
                    _at = _offsets[i];
                    Spend(1);
                    // An error raised here goes to every handler that covers this instruction, with the stack cleared.
                    foreach (int h in _handlersAt[i] ?? [])
                    {
                        var (_, _, handler, cls) = _handlers[h];
                        if (_f.MaxStack < 1)
                            throw Fail($"the operand stack holds the error at exception handler {h}, past the declared max stack of {_f.MaxStack}");
                        if (Merge(states, handler, new TypeStack(VmType.ObjectOf(cls), null), written)) work.Add(handler);
                    }
                    var stack = new Stk(top);
                    var locals = new Locals(written);
                    var next = Step(i, ins, stack, locals);
                    // A store of a local not written yet made a new set: its words are work.
                    if (locals.Written != written) Spend(locals.Written.Words);
                    if (stack.Count > _f.MaxStack)
                        throw Fail($"the operand stack grows to {stack.Count}, past the declared max stack of {_f.MaxStack}");
                    if (next.Length == 1 && next[0] == i + 1 && i + 1 < _code.Count && !_joins[i + 1])
                    {
                        (i, top, written) = (i + 1, stack.Top, locals.Written);
                        if (states[i] is { } kept) kept.Stack = top;
                        else states[i] = new State(top, null);
                        continue;
                    }
                    foreach (int target in next)
                    {
                        if (target >= _code.Count) throw Fail("execution falls off the end of the code");
                        if (Merge(states, target, stack.Top, locals.Written)) work.Add(target);
                    }
                    break;
                }
            }
            return states;
        }

        /// <summary>The instructions waiting to be checked, each once, taken lowest first: a binary heap of indices.
        /// (Not .NET's PriorityQueue: the framework's generic code over a value type is compiled at run time, on every
        /// program's start.)</summary>
        private sealed class Worklist(int size)
        {
            private readonly bool[] _queued = new bool[size];
            private int[] _heap = new int[16];

            public int Count { get; private set; }

            public void Add(int i)
            {
                if (_queued[i]) return;
                _queued[i] = true;
                if (Count == _heap.Length)
                {
                    var bigger = new int[_heap.Length * 2];
                    _heap.CopyTo(bigger, 0);
                    _heap = bigger;
                }
                int at = Count++;
                while (at > 0 && _heap[(at - 1) / 2] > i)
                {
                    _heap[at] = _heap[(at - 1) / 2];
                    at = (at - 1) / 2;
                }
                _heap[at] = i;
            }

            public int Pop()
            {
                int top = _heap[0], last = _heap[--Count], at = 0;
                while (true)
                {
                    int child = 2 * at + 1;
                    if (child >= Count) break;
                    if (child + 1 < Count && _heap[child + 1] < _heap[child]) child++;
                    if (_heap[child] >= last) break;
                    _heap[at] = _heap[child];
                    at = child;
                }
                if (Count > 0) _heap[at] = last;
                _queued[top] = false;
                return top;
            }
        }

        /// <summary>The working copy of a stack while one instruction is checked.</summary>
        private sealed class Stk(TypeStack? top)
        {
            public TypeStack? Top = top;
            public int Count => TypeStack.DepthOf(Top);
            public void Add(VmType t) => Top = new TypeStack(t, Top);

            /// <summary>The entry at <paramref name="index"/> counted from the bottom (cheap near the top).</summary>
            public VmType this[int index]
            {
                get
                {
                    var n = Top;
                    while (n!.Depth - 1 != index) n = n.Below;
                    return n.Top;
                }
            }

            public VmType PopTop()
            {
                var t = Top!.Top;
                Top = Top.Below;
                return t;
            }
        }

        /// <summary>The locals written, while one instruction is checked.</summary>
        private sealed class Locals(LocalSet written)
        {
            public LocalSet Written = written;
            public bool this[int local]
            {
                get => Written.Contains(local);
                set
                {
                    if (!value) throw new InvalidOperationException("a written local stays written");
                    Written = Written.With(local);
                }
            }
        }

        /// <summary>
        /// A set of locals as bits, immutable and shared: adding a local already there gives the same object, so
        /// states along a path that writes nothing new are one object and merge in a comparison. The bits are kept
        /// in chunks of at most <see cref="ChunkWords"/> words (1,024 locals), which sets share: adding a local makes
        /// a new table of chunks and a new copy of the one chunk it changes, and comparing or intersecting two sets
        /// skips the chunks they share. A function of 65,536 locals whose every store is followed by a join keeps
        /// 92 words a join (80 of them table and bits) instead of 1,024 (until 2026-12-06 a set was one array of words, and a valid `main` of
        /// 24,000 branches, each after a local of its own, passed the 64 MiB bound).
        /// </summary>
        private sealed class LocalSet
        {
            private const int ChunkShift = 4;
            private const int ChunkWords = 1 << ChunkShift;
            private readonly ulong[][] _chunks;

            private LocalSet(ulong[][] chunks) => _chunks = chunks;

            /// <summary>The words a set made by <see cref="With"/> takes: its table of chunks and the chunk it changed.</summary>
            public int Words => _chunks.Length + _chunks[0].Length;

            /// <summary>Whether a join keeps this set, and its words are counted (<see cref="Keep"/>).</summary>
            public bool Kept;

            /// <summary>The table of chunks, and the chunks themselves, for <see cref="Keep"/> to count those it has not.</summary>
            public ulong[][] Chunks => _chunks;

            public static LocalSet FirstN(int size, int n)
            {
                int words = Math.Max(1, (size + 63) / 64), chunkWords = Math.Min(words, ChunkWords);
                var chunks = new ulong[(words + chunkWords - 1) / chunkWords][];
                for (int k = 0; k < chunks.Length; k++) chunks[k] = new ulong[Math.Min(chunkWords, words - k * chunkWords)];
                for (int i = 0; i < n; i++) chunks[i >> (6 + ChunkShift)][(i >> 6) & (ChunkWords - 1)] |= 1UL << (i & 63);
                return new LocalSet(chunks);
            }

            public bool Contains(int i) => (_chunks[i >> (6 + ChunkShift)][(i >> 6) & (ChunkWords - 1)] & (1UL << (i & 63))) != 0;

            public LocalSet With(int i)
            {
                if (Contains(i)) return this;
                var chunks = (ulong[][])_chunks.Clone();
                ref var chunk = ref chunks[i >> (6 + ChunkShift)];
                chunk = (ulong[])chunk.Clone();
                chunk[(i >> 6) & (ChunkWords - 1)] |= 1UL << (i & 63);
                return new LocalSet(chunks);
            }

            /// <summary>Whether every local of <paramref name="other"/> is in this set; adds the words it compared to
            /// <paramref name="work"/>.</summary>
            public bool IsSupersetOf(LocalSet other, ref long work)
            {
                if (ReferenceEquals(this, other)) return true;
                work += _chunks.Length;
                for (int k = 0; k < _chunks.Length; k++)
                {
                    ulong[] mine = _chunks[k], theirs = other._chunks[k];
                    if (ReferenceEquals(mine, theirs)) continue;
                    work += mine.Length;
                    for (int w = 0; w < mine.Length; w++)
                        if ((theirs[w] & ~mine[w]) != 0) return false;
                }
                return true;
            }

            /// <summary>The locals in both sets, in one pass over the chunks they do not share: this set when
            /// <paramref name="other"/> holds all of its locals, <paramref name="other"/> when this set holds all of
            /// its, else a new set that shares the chunks where one set's chunk is within the other's. Adds the words
            /// it touched to <paramref name="work"/>.</summary>
            public LocalSet Intersect(LocalSet other, ref long work)
            {
                var chunks = new ulong[_chunks.Length][];
                bool allMine = true, allTheirs = true;
                work += chunks.Length;
                for (int k = 0; k < chunks.Length; k++)
                {
                    ulong[] mine = _chunks[k], theirs = other._chunks[k];
                    if (ReferenceEquals(mine, theirs)) { chunks[k] = mine; continue; }
                    work += mine.Length;
                    bool isMine = true, isTheirs = true;
                    for (int w = 0; w < mine.Length; w++)
                    {
                        ulong both = mine[w] & theirs[w];
                        isMine &= both == mine[w];
                        isTheirs &= both == theirs[w];
                    }
                    (allMine, allTheirs) = (allMine && isMine, allTheirs && isTheirs);
                    if (isMine) chunks[k] = mine;
                    else if (isTheirs) chunks[k] = theirs;
                    else
                    {
                        var both = new ulong[mine.Length];
                        for (int w = 0; w < both.Length; w++) both[w] = mine[w] & theirs[w];
                        chunks[k] = both;
                    }
                }
                return allMine ? this : allTheirs ? other : new LocalSet(chunks);
            }
        }

        private bool Merge(State?[] states, int target, TypeStack? stack, LocalSet written)
        {
            Spend(1);
            if (states[target] is not { } old)
            {
                Keep(written);
                states[target] = new State(stack, written);
                return true;
            }
            int depth = TypeStack.DepthOf(stack);
            if (TypeStack.DepthOf(old.Stack) != depth)
                throw Fail($"stack height {depth} disagrees with height {TypeStack.DepthOf(old.Stack)} where paths join at offset {_offsets[target]}");
            bool changed = false;
            // Entries shared by both paths (the same list node) agree below that point, so the walk stops there.
            var joined = new List<VmType>();
            TypeStack? a = stack, b = old.Stack;
            for (; a != b; a = a!.Below, b = b!.Below)
            {
                var j = _types.Join(b!.Top, a!.Top)
                    ?? throw Fail($"stack entry {a.Depth - 1} is {T(b.Top)} on one path and {T(a.Top)} on another where they join at offset {_offsets[target]}");
                if (j != b.Top) changed = true;
                joined.Add(j);
            }
            // The entries the two paths do not share, walked (and rebuilt): two paths that each pushed 65,535 values
            // of their own, joined 20,000 times, took 30 s charged one step a join.
            Spend(joined.Count);
            if (changed)
            {
                var rebuilt = a;
                for (int k = joined.Count - 1; k >= 0; k--) rebuilt = new TypeStack(joined[k], rebuilt);
                old.Stack = rebuilt;
            }
            var oldWritten = old.Written ?? throw new InvalidOperationException("a join was reached along a straight run");
            long work = 0;
            if (!written.IsSupersetOf(oldWritten, ref work))
            {
                old.Written = oldWritten.Intersect(written, ref work);
                Keep(old.Written);
                changed = true;
            }
            Spend(work);
            return changed;
        }

        private VmType Pop(Stk stack, Mnemonic name)
        {
            if (stack.Count == 0) throw Fail($"{name} needs a value but the stack is empty");
            return stack.PopTop();
        }

        private string T(VmType t) => module.TypeName(t);

        private VmType Pop(Stk stack, Mnemonic name, VmType expected)
        {
            var t = Pop(stack, name);
            if (!_types.IsAssignable(t, expected)) throw Fail($"{name} expects {T(expected)} on the stack but found {T(t)}");
            return t;
        }

        private VmType PopArray(Stk stack, Mnemonic name)
        {
            var t = Pop(stack, name);
            if (t.Kind != TypeKind.Array || t.Nullable) throw Fail($"{name} expects an array on the stack but found {T(t)}");
            return t;
        }

        /// <summary>An instance of a class (or null): strings, arrays and maps are references but not objects.</summary>
        private VmType PopObject(Stk stack, Mnemonic name)
        {
            var t = Pop(stack, name);
            if (t.Kind is not (TypeKind.Object or TypeKind.Null)) throw Fail($"{name} expects an object on the stack but found {T(t)}");
            return t;
        }

        private VmType PopMap(Stk stack, Mnemonic name)
        {
            var t = Pop(stack, name);
            if (t.Kind != TypeKind.Map || t.Nullable) throw Fail($"{name} expects a map on the stack but found {T(t)}");
            return t;
        }

        private VmType PopReference(Stk stack, Mnemonic name)
        {
            var t = Pop(stack, name);
            if (!t.IsReference) throw Fail($"{name} expects a reference on the stack but found {T(t)}");
            return t;
        }

        /// <summary>The class operand of the instruction, which must be a class (or, when allowed, an interface).</summary>
        private RuntimeClass Class(int index, Mnemonic name, bool interfaceOk, bool classOk = true)
        {
            var c = classes[index];
            if (c.IsInterface && !interfaceOk) throw Fail($"{name}: '{c.Name}' is an interface, not a class");
            if (!c.IsInterface && !classOk) throw Fail($"{name}: '{c.Name}' is a class, not an interface");
            return c;
        }

        /// <summary>An instruction's mnemonic, for the errors of <see cref="Step"/>: spelled only when an error is made
        /// (the table's names are made by reflection over the enum at their first use, a few milliseconds of every
        /// program's start when every instruction verified asked for its name).</summary>
        private readonly struct Mnemonic(Opcode op, string? of = null, string? member = null)
        {
            public override string ToString()
            {
                string name = OpcodeInfo.All[(int)op].Name;
                return of is null ? name : member is null ? $"{name} of '{of}'" : $"{name} of '{of}.{member}'";
            }
        }

        /// <summary>Applies one instruction to the state; returns the instructions that may run next.</summary>
        private int[] Step(int i, Instr ins, Stk s, Locals written)
        {
            int[] fallThrough = [i + 1];
            var name = new Mnemonic(ins.Op);
            switch (ins.Op)
            {
                case Opcode.Nop: break;
                case Opcode.IConst: s.Add(VmType.Int); break;
                case Opcode.FConst: s.Add(VmType.Float); break;
                case Opcode.BConst: s.Add(VmType.Bool); break;
                case Opcode.SConst: s.Add(VmType.String); break;
                case Opcode.Load:
                    if (!written[ins.A]) throw Fail($"load reads local {ins.A} before it is written on every path");
                    s.Add(_f.Locals[ins.A]);
                    break;
                case Opcode.Store:
                    Pop(s, name, _f.Locals[ins.A]);
                    written[ins.A] = true;
                    break;
                case Opcode.Pop: Pop(s, name); break;
                case Opcode.Dup:
                    var top = Pop(s, name);
                    s.Add(top);
                    s.Add(top);
                    break;
                case Opcode.IAdd or Opcode.ISub or Opcode.IMul or Opcode.IDiv or Opcode.IRem or Opcode.IAnd
                    or Opcode.IOr or Opcode.IXor or Opcode.IShl or Opcode.IShr:
                    Binary(s, name, VmType.Int, VmType.Int);
                    break;
                case Opcode.INeg or Opcode.INot: Unary(s, name, VmType.Int, VmType.Int); break;
                case Opcode.FAdd or Opcode.FSub or Opcode.FMul or Opcode.FDiv or Opcode.FRem:
                    Binary(s, name, VmType.Float, VmType.Float);
                    break;
                case Opcode.FNeg: Unary(s, name, VmType.Float, VmType.Float); break;
                case Opcode.IEq or Opcode.INe or Opcode.ILt or Opcode.ILe or Opcode.IGt or Opcode.IGe:
                    Binary(s, name, VmType.Int, VmType.Bool);
                    break;
                case Opcode.FEq or Opcode.FNe or Opcode.FLt or Opcode.FLe or Opcode.FGt or Opcode.FGe:
                    Binary(s, name, VmType.Float, VmType.Bool);
                    break;
                case Opcode.BEq or Opcode.BNe: Binary(s, name, VmType.Bool, VmType.Bool); break;
                case Opcode.BNot: Unary(s, name, VmType.Bool, VmType.Bool); break;
                case Opcode.SEq or Opcode.SNe: Binary(s, name, VmType.String, VmType.Bool); break;
                case Opcode.SConcat: Binary(s, name, VmType.String, VmType.String); break;
                case Opcode.IToS: Unary(s, name, VmType.Int, VmType.String); break;
                case Opcode.FToS: Unary(s, name, VmType.Float, VmType.String); break;
                case Opcode.BToS: Unary(s, name, VmType.Bool, VmType.String); break;
                case Opcode.AToS:
                    PopArray(s, name);
                    s.Add(VmType.String);
                    break;
                case Opcode.IToF: Unary(s, name, VmType.Int, VmType.Float); break;
                case Opcode.FToI: Unary(s, name, VmType.Float, VmType.Int); break;
                case Opcode.Jmp: return [ins.A];
                case Opcode.JmpIf or Opcode.JmpIfNot:
                    Pop(s, name, VmType.Bool);
                    return [i + 1, ins.A];
                case Opcode.Call:
                    {
                        var callee = module.Functions[ins.A];
                        Args(s, $"call of '{callee.Name}'", callee.Params);
                        if (callee.Return != VmType.Void) s.Add(callee.Return);
                        break;
                    }
                case Opcode.FuncRef:
                    {
                        var f = module.Functions[ins.A];
                        s.Add(VmType.FuncOf(f.Params, f.Return));
                        break;
                    }
                case Opcode.Closure:
                    {
                        var f = module.Functions[ins.A];
                        if (f.Params.Length == 0 || !f.Params[0].IsReference)
                            throw Fail($"{name}: function '{f.Name}' takes no environment (its first parameter must be a reference)");
                        Pop(s, new Mnemonic(ins.Op, f.Name), f.Params[0]);
                        s.Add(VmType.FuncOf(f.Params[1..], f.Return));
                        break;
                    }
                case Opcode.CallClosure:
                    {
                        var type = module.Types[ins.A];
                        if (type.Kind != TypeKind.Func || type.Nullable) throw Fail($"{name}: type {ins.A} is {T(type)}, not a function type");
                        Args(s, $"call of a {T(type)}", type.Params!);
                        Pop(s, name, type.AsNullable());
                        if (type.Element != VmType.Void) s.Add(type.Element!);
                        var decoded = _code[i];
                        decoded.B = type.Params!.Length;
                        _code[i] = decoded;
                        break;
                    }
                case Opcode.CallNative:
                    {
                        var callee = module.Natives[ins.A];
                        Args(s, $"call of native '{callee.Name}'", callee.Params);
                        if (callee.Return != VmType.Void) s.Add(callee.Return);
                        break;
                    }
                case Opcode.Ret:
                    if (_f.Return == VmType.Void) throw Fail("ret in a function that returns nothing (use retvoid)");
                    Pop(s, name, _f.Return);
                    return [];
                case Opcode.RetVoid:
                    if (_f.Return != VmType.Void) throw Fail($"retvoid in a function that must return {_f.Return}");
                    return [];
                case Opcode.NewArray:
                    {
                        var type = module.Types[ins.A];
                        if (type.Kind != TypeKind.Array) throw Fail($"newarray: type {ins.A} is {type}, not an array type");
                        var elems = new VmType[ins.B];
                        Array.Fill(elems, type.Element!);
                        Args(s, "newarray", elems);
                        s.Add(type);
                        break;
                    }
                case Opcode.ALoad:
                    {
                        Pop(s, name, VmType.Int);
                        var array = PopArray(s, name);
                        s.Add(array.Element!);
                        break;
                    }
                case Opcode.AStore:
                    {
                        var value = Pop(s, name);
                        Pop(s, name, VmType.Int);
                        var array = PopArray(s, name);
                        if (!_types.IsAssignable(value, array.Element!)) throw Fail($"astore of {T(value)} into {T(array)}");
                        break;
                    }
                case Opcode.ALen:
                    PopArray(s, name);
                    s.Add(VmType.Int);
                    break;
                case Opcode.APop:
                    s.Add(PopArray(s, name).Element!);
                    break;
                case Opcode.AInsert:
                    {
                        var value = Pop(s, name);
                        Pop(s, name, VmType.Int);
                        var array = PopArray(s, name);
                        if (!_types.IsAssignable(value, array.Element!)) throw Fail($"ainsert of {T(value)} into {T(array)}");
                        break;
                    }
                case Opcode.ARemoveAt:
                    {
                        Pop(s, name, VmType.Int);
                        s.Add(PopArray(s, name).Element!);
                        break;
                    }
                case Opcode.ASlice:
                    {
                        Pop(s, name, VmType.Int);
                        Pop(s, name, VmType.Int);
                        s.Add(PopArray(s, name).AsNonNullable());
                        break;
                    }
                case Opcode.ARepeat:
                    Pop(s, name, VmType.Int);
                    s.Add(PopArray(s, name).AsNonNullable());
                    break;
                case Opcode.AIndexOf:
                    {
                        var value = Pop(s, name);
                        var array = PopArray(s, name);
                        if (!_types.IsAssignable(value, array.Element!)) throw Fail($"aindexof of {T(value)} in {T(array)}");
                        s.Add(VmType.Int);
                        break;
                    }
                case Opcode.AReverse:
                    PopArray(s, name);
                    break;
                case Opcode.APush:
                    {
                        var value = Pop(s, name);
                        var array = PopArray(s, name);
                        if (!_types.IsAssignable(value, array.Element!)) throw Fail($"apush of {T(value)} onto {T(array)}");
                        break;
                    }
                case Opcode.AConstNull: s.Add(VmType.Null); break;
                case Opcode.RefEq or Opcode.RefNe:
                    PopReference(s, name);
                    PopReference(s, name);
                    s.Add(VmType.Bool);
                    break;
                case Opcode.JmpIfNull or Opcode.JmpIfNotNull:
                    PopReference(s, name);
                    return [i + 1, ins.A];
                case Opcode.NewObject:
                    Class(ins.A, name, interfaceOk: false);
                    s.Add(VmType.ObjectOf(ins.A));
                    break;
                case Opcode.GetField or Opcode.SetField:
                    {
                        var c = Class(ins.A, name, interfaceOk: false);
                        if (ins.B >= c.Fields.Length) throw Fail($"{name}: class '{c.Name}' has {c.Fields.Length} fields, not {ins.B + 1}");
                        var field = c.Fields[ins.B];
                        if (ins.Op == Opcode.SetField) Pop(s, new Mnemonic(ins.Op, c.Name, field.Name), field.Type);
                        Pop(s, name, VmType.ObjectOf(ins.A));
                        if (ins.Op == Opcode.GetField) s.Add(field.Type);
                        break;
                    }
                case Opcode.CallVirt:
                    {
                        var c = Class(ins.A, name, interfaceOk: false);
                        if (ins.B >= c.VTable.Length) throw Fail($"{name}: class '{c.Name}' has {c.VTable.Length} methods, not {ins.B + 1}");
                        var callee = module.Functions[c.VTable[ins.B]];
                        Args(s, $"call of method '{c.Name}.{c.VTableNames[ins.B]}'", WithReceiver(VmType.ObjectOf(ins.A), callee.Params));
                        if (callee.Return != VmType.Void) s.Add(callee.Return);
                        break;
                    }
                case Opcode.CallIface:
                    {
                        var c = Class(ins.A, name, interfaceOk: true, classOk: false);
                        if (ins.B >= c.Def.Signatures.Count) throw Fail($"{name}: interface '{c.Name}' has {c.Def.Signatures.Count} methods, not {ins.B + 1}");
                        var sig = c.Def.Signatures[(int)ins.B];
                        Args(s, $"call of method '{c.Name}.{sig.Name}'", [VmType.ObjectOf(ins.A), .. sig.Params]);
                        if (sig.Return != VmType.Void) s.Add(sig.Return);
                        break;
                    }
                case Opcode.InstanceOf:
                    Class(ins.A, name, interfaceOk: true);
                    PopObject(s, name);
                    s.Add(VmType.Bool);
                    break;
                case Opcode.NewMap:
                    {
                        var type = module.Types[ins.A];
                        if (type.Kind != TypeKind.Map) throw Fail($"newmap: type {ins.A} is {T(type)}, not a map type");
                        var pairs = new VmType[ins.B * 2];
                        for (int k = 0; k < pairs.Length; k++) pairs[k] = k % 2 == 0 ? type.Key! : type.Element!;
                        Args(s, "newmap", pairs);
                        s.Add(type);
                        break;
                    }
                case Opcode.MapGet or Opcode.MapGetOr or Opcode.MapHas or Opcode.MapRemove:
                    {
                        VmType? fallback = ins.Op == Opcode.MapGetOr ? Pop(s, name) : null;
                        var key = Pop(s, name);
                        var map = PopMap(s, name);
                        if (!_types.IsAssignable(key, map.Key!)) throw Fail($"{name} of a {T(key)} key in {T(map)}");
                        // A default of null makes the result nullable: `m.get(k)` for reference values.
                        var result = ins.Op switch
                        {
                            Opcode.MapGet => map.Element!,
                            Opcode.MapGetOr => _types.IsAssignable(fallback!, map.Element!) ? map.Element!
                                : fallback!.Kind == TypeKind.Null && map.Element!.IsReference ? map.Element.AsNullable()
                                : throw Fail($"{name} with a default of {T(fallback)} for {T(map)}"),
                            _ => VmType.Bool,
                        };
                        s.Add(result);
                        break;
                    }
                case Opcode.MapSet:
                    {
                        var value = Pop(s, name);
                        var key = Pop(s, name);
                        var map = PopMap(s, name);
                        if (!_types.IsAssignable(key, map.Key!)) throw Fail($"mapset of a {T(key)} key in {T(map)}");
                        if (!_types.IsAssignable(value, map.Element!)) throw Fail($"mapset of a {T(value)} value in {T(map)}");
                        break;
                    }
                case Opcode.MapLen:
                    PopMap(s, name);
                    s.Add(VmType.Int);
                    break;
                case Opcode.MapKeys:
                    s.Add(VmType.ArrayOf(PopMap(s, name).Key!));
                    break;
                case Opcode.MapValues:
                    s.Add(VmType.ArrayOf(PopMap(s, name).Element!));
                    break;
                case Opcode.MToS:
                    PopMap(s, name);
                    s.Add(VmType.String);
                    break;
                case Opcode.Throw:
                    {
                        PopObject(s, name);
                        return [];
                    }
                case Opcode.NonNull:
                    {
                        var t = PopReference(s, name);
                        // nonnull of the null type always fails: nothing after it runs on this path.
                        if (t.Kind == TypeKind.Null) return [];
                        s.Add(t.AsNonNullable());
                        break;
                    }
                case Opcode.CheckCast:
                    {
                        Class(ins.A, name, interfaceOk: true);
                        var t = PopObject(s, name);
                        s.Add(VmType.ObjectOf(ins.A) with { Nullable = t.Nullable });
                        break;
                    }
                default:
                    throw Fail($"no verifier rule for opcode {name}");
            }
            return fallThrough;
        }

        private void Unary(Stk s, Mnemonic name, VmType operand, VmType result)
        {
            Pop(s, name, operand);
            s.Add(result);
        }

        private void Binary(Stk s, Mnemonic name, VmType operand, VmType result)
        {
            Pop(s, name, operand);
            Pop(s, name, operand);
            s.Add(result);
        }

        /// <summary>A method's parameters with the receiver's type for its first (a loop, not LINQ's Skip: see
        /// <see cref="NativeDef.Matches"/>).</summary>
        private static VmType[] WithReceiver(VmType receiver, VmType[] parameters)
        {
            var types = new VmType[parameters.Length];
            types[0] = receiver;
            for (int i = 1; i < parameters.Length; i++) types[i] = parameters[i];
            return types;
        }

        private void Args(Stk s, string what, VmType[] parameters)
        {
            Spend(parameters.Length); // newarray and newmap take up to 65,536 and 131,072
            if (s.Count < parameters.Length)
                throw Fail($"{what} needs {parameters.Length} arguments but the stack holds {s.Count}");
            // The last argument is on top: walk down once, then report the first argument that does not fit.
            var args = new VmType[parameters.Length];
            var n = s.Top;
            for (int k = parameters.Length - 1; k >= 0; k--, n = n.Below) args[k] = n!.Top;
            for (int k = 0; k < args.Length; k++)
            {
                if (!_types.IsAssignable(args[k], parameters[k])) throw Fail($"{what}: argument {k + 1} is {T(args[k])}, expected {T(parameters[k])}");
            }
            s.Top = n;
        }
    }
}
