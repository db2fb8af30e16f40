using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
// RuntimeClass lives with the interpreter; the heap reads only its reference map.

namespace Hlvm.Runtime.Memory;

// ============================================================================================================
// The VM's heap.
//
// Every string and array a program creates lives here, in one array of 8-byte words that the VM owns, and is
// reclaimed by this file's collector, never by .NET's. A reference is the index of an object's first word;
// index 0 is never an object, so 0 is null. Each object starts with a header word:
//
//   bits 0-7   kind    String | Array | Data (8-byte scalars) | RefData (references) | Bytes | Forwarded (during GC)
//   bits 8-15  aux     for Array: the TypeKind of its elements
//   bits 32-63 length  String: UTF-16 code units; Data/RefData: capacity in words; Bytes: capacity in bytes;
//                      Forwarded: the new address
//
//   String   [header][chars, four per word ...]
//   Array    [header][length][ref to its backing store]                    (growable: push replaces the store):
//            Data for ints and floats, RefData for references, Bytes (one byte per element, eight to a word,
//            element i in byte i of the words after the header) for bools
//   Object   [header][fields ...]            aux (bits 8-31) is the class's heap id, length the field count
//   Map      [header][count][used][ref to MapEntries][ref to Data index]   aux: key kind | value kind << 8,
//            | 1 << 16 once its keys are hashed with the secret (HeapMaps.cs, which names these words and the
//            entries' for every user: MapCountWord ... MapIndexWord, EntryWords, EntryKey, EntryValue)
//   MapEntries [header][(hash, key, value) × capacity]   aux: 1 = keys are references, 2 = values are
//            Entries are in insertion order; a removed one keeps its place with hash -1 until the map grows.
//            The index is an open-addressing table of 32-bit slots, two to a word (a power of two, at least
//            1.5 times the capacity), holding entry numbers + 1, probed linearly; 0 is an empty slot.
//   Closure  [header][ref to its environment, or null]              length: the index of its function
//
// The collector is a semispace copying collector (Cheney): it copies everything reachable from the roots into
// the other space, leaving a forwarding header behind, then scans the copies breadth-first. It is precise: the
// roots are exactly the reference slots that root sources report (the interpreter's frames, using the stack
// maps the verifier computed, and the modules' string constants); compiled code keeps its frames in the
// interpreter's records and slots, so they are the same source.
//
// Invariants: after a collection every reference in the heap or in a root points at the start of a live object
// below Top; objects are only ever allocated by bumping Top, so the heap is a gap-free sequence of objects.
// The limit (--max-heap) bounds the bytes of live objects: when a collection leaves less room than a request
// needs, allocation fails with OutOfMemoryError. Allocation is the only place a collection happens, and any
// reference held in a C# local across an allocation is stale afterwards: callers re-read it from a root.
// ============================================================================================================

/// <summary>Something that holds references into the heap and reports them when the collector runs.</summary>
public interface IRootSource
{
    /// <summary>Calls <see cref="Heap.Relocate"/> on every reference slot it holds.</summary>
    void VisitRoots(Heap heap);
}

/// <summary>Settings of a heap.</summary>
public sealed record HeapOptions
{
    /// <summary>Most bytes of live objects; allocation beyond it is an OutOfMemoryError.</summary>
    public long MaxBytes { get; init; } = 1L << 30;

    /// <summary>Collect at every allocation (a debug switch that shakes out missing roots).</summary>
    public bool Stress { get; init; }

    /// <summary>Check the heap's invariants after every collection.</summary>
    public bool Verify { get; init; }

    /// <summary>Receives one line per collection when set.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Remember where every object starts, so that <see cref="Heap.IsObject"/> can check references
    /// (checked mode; it costs a bit per heap word).</summary>
    public bool TrackObjects { get; init; }

    /// <summary>
    /// The bytes a heap that outgrows its first space reserves for each of its two spaces (or its limit, or an
    /// eighth of the memory .NET may use, if less). It then grows within them without a copy, and without touching
    /// fresh pages beyond those it comes to use: each space is a .NET array whose untouched pages cost nothing
    /// (Linux backs a page when it is first written), whereas a heap that grew by new spaces touched every size it
    /// passed through, twice, and first touches cost about 3 ms per MiB on the machine of <c>bench/README.md</c>.
    /// Past the reservation, it reserves four times its new size.
    /// </summary>
    public long ReservedBytes { get; init; } = 128L << 20;
}

public sealed partial class Heap
{
    public const byte KindString = 1, KindArray = 2, KindData = 3, KindRefData = 4, KindObject = 5, KindMap = 6, KindMapEntries = 7, KindClosure = 8, KindBytes = 9, KindForwarded = 0xFF;

    /// <summary>Classes of the objects on this heap, by heap id: the collector reads which fields are references.</summary>
    private readonly List<RuntimeClass> _classes = [];

    /// <summary>Gives a class an id for its instances' headers.</summary>
    public int RegisterClass(RuntimeClass c)
    {
        if (_classes.Count >= 1 << 24) throw new InvalidOperationException("too many classes on one heap");
        _classes.Add(c);
        return _classes.Count - 1;
    }

    /// <summary>Functions that closures on this heap may call, by heap id (a closure's header holds the id).</summary>
    private readonly List<LoadedFunction> _functions = [];

    /// <summary>Gives a module's functions consecutive heap ids; returns the first.</summary>
    public int RegisterFunctions(IReadOnlyList<LoadedFunction> functions)
    {
        if (_functions.Count + (long)functions.Count >= int.MaxValue) throw new InvalidOperationException("too many functions on one heap");
        int first = _functions.Count;
        _functions.AddRange(functions);
        return first;
    }

    public int FunctionCount => _functions.Count;

    /// <summary>The function a closure calls.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public LoadedFunction ClosureTarget(int r) => _functions[LengthOf(_space[r])];

    /// <summary>The class of an object.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RuntimeClass ClassOf(int r) => _classes[(int)((_space[r] >> 8) & 0xFFFFFF)];

    public static int ObjectWords(int fields) => 1 + fields;

    /// <summary>A new object of class <paramref name="c"/>, every field zero. Needs <see cref="ObjectWords"/> reserved.</summary>
    public int NewObject(RuntimeClass c)
    {
        int r = Bump(ObjectWords(c.Fields.Length));
        _space[r] = ObjectHeader(c);
        return r;
    }

    /// <summary>The header of an object of class <paramref name="c"/>.</summary>
    public static long ObjectHeader(RuntimeClass c) => KindObject | ((long)c.HeapId << 8) | ((long)c.Fields.Length << 32);

    /// <summary>
    /// Compiled code's allocation of an object or a string (header <paramref name="header"/>, <paramref name="words"/>
    /// words): its reference when it needs none of <see cref="Reserve"/>'s work (it fits below
    /// <see cref="_bumpLimit"/>), else 0, and the caller allocates the slow way. The fields are zero already (the
    /// words between the top and the bump limit always are: the limit is at most <see cref="_zeroed"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int TryBumpObject(long header, int words)
    {
        int r = _top;
        // A volatile read: a loop of allocations must see a poll asked for from another thread.
        if (r + words > Volatile.Read(ref _bumpLimit)) return 0;
        // Bump's work, with what the test above rules out left out: calling Bump itself made binarytrees
        // about 5% slower (fastest runs). A change to what Bump does is a change here too.
        _top = r + words;
        _space[r] = header;
        return r;
    }

    /// <summary>
    /// How far <see cref="TryBumpObject"/> may move the top without any of <see cref="Reserve"/>'s work: the limit,
    /// or less where an allocation sample or the warm-up (<see cref="_nextAllocationCheck"/>) falls due first; 0 (every allocation the slow way) under --gc-stress or
    /// object tracking, and while a profiler waits for an allocation to poll. One comparison in compiled code's
    /// allocation instead of four (the limit, the mode, the poll and the sample).
    /// </summary>
    private int _bumpLimit;

    /// <summary>Sets <see cref="_bumpLimit"/> after anything it depends on changed (on the heap's thread).</summary>
    private void UpdateBumpLimit()
    {
        long cleared = Math.Min(_limit, _zeroed);
        long limit = !_bumpsInline ? 0
            : _nextAllocationCheck == long.MaxValue ? cleared
            : Math.Min(cleared, (_nextAllocationCheck - _allocatedBelowZero + 7) / 8 - 1);
        Volatile.Write(ref _bumpLimit, (int)Math.Max(0, limit));
        // A poll asked for (RequestPoll, on another thread) while the limit was being written must not be lost:
        // it sets the flag before it clears the limit, so a flag seen unset here is followed by its clearing.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _pollRequested)) Volatile.Write(ref _bumpLimit, 0);
    }

    /// <summary>
    /// Compiled code's join of strings <paramref name="a"/> and <paramref name="b"/> (<c>sconcat</c>) when it needs
    /// none of <see cref="Reserve"/>'s work (<see cref="TryBumpObject"/>'s conditions) and the result can exist:
    /// the new string, else 0, and the caller joins them the slow way (which collects, or raises the error). It
    /// charges no fuel: compiled code calls it only without a budget.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal int TryConcat(int a, int b)
    {
        int lengthA = StringLength(a);
        long length = (long)lengthA + StringLength(b);
        if (length > MaxStringChars) return 0;
        int r = TryBumpObject(Header(KindString, 0, length), StringWords(length));
        if (r == 0) return 0;
        var chars = StringChars(r);
        StringChars(a).CopyTo(chars);
        StringChars(b).CopyTo(chars[lengthA..]);
        return r;
    }

    /// <summary>
    /// Compiled code's <c>s.substring(start, end)</c> when the range is inside the string and the new string needs
    /// none of <see cref="Reserve"/>'s work (<see cref="TryBumpObject"/>'s conditions): the new string, else 0, and
    /// the caller makes the call the slow way (which collects, or raises the IndexError). It charges no fuel:
    /// compiled code calls it only without a budget.
    /// </summary>
    internal int TrySubstring(int s, long start, long end)
    {
        if (!IsRange(StringLength(s), start, end)) return 0;
        int count = (int)(end - start);
        int r = TryBumpObject(Header(KindString, 0, count), StringWords(count));
        if (r == 0) return 0;
        StringChars(s).Slice((int)start, count).CopyTo(StringChars(r));
        return r;
    }

    /// <summary>Whether start up to end is a range of a string or array of <paramref name="length"/> elements
    /// (<c>substring</c>'s rule, in the native and in compiled code's <see cref="TrySubstring"/>).</summary>
    public static bool IsRange(int length, long start, long end) => start >= 0 && start <= end && end <= length;

    /// <summary>Whether <see cref="TryBumpObject"/> may allocate: not under --gc-stress or object tracking.</summary>
    private readonly bool _bumpsInline;

    public const int ClosureWords = 2;

    /// <summary>A new function value calling the function of heap id <paramref name="function"/> with <paramref name="env"/> (0 for
    /// none) as its first argument. Needs <see cref="ClosureWords"/> reserved.</summary>
    public int NewClosure(int function, long env)
    {
        int r = Bump(ClosureWords);
        _space[r] = Header(KindClosure, 0, function);
        _space[r + 1] = env;
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ClosureEnv(int r) => _space[r + 1];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long GetField(int r, int field) => _space[r + FieldOffset + field];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetField(int r, int field, long value) => _space[r + FieldOffset + field] = value;

    // Where compiled code finds the words it reads and writes inline, from a reference r (see the layout above):
    // field f of an object at r + FieldOffset + f; an array's length at r + ArrayLengthOffset and its store s at
    // r + ArrayStoreOffset; element i at s + ElementOffset + i. The heap's own accessors use the same constants.
    public const int FieldOffset = 1, ArrayLengthOffset = 1, ArrayStoreOffset = 2, ElementOffset = 1;

    /// <summary>The words of the heap (<see cref="_space"/>), for tests that look at them.</summary>
    internal long[] Space => _space;
    private const int InitialWords = 1 << 18;      // 2 MiB
    private const int MaxObjectWords = int.MaxValue - 64;

    private readonly HeapOptions _options;

    /// <summary>Whether every allocation collects (<see cref="HeapOptions.Stress"/>).</summary>
    public bool Stress => _options.Stress;
    private readonly long _maxWords;
    private readonly List<IRootSource> _roots = [];
    /// <summary>The words of the heap; a collection replaces the array. Its length is the space's capacity: the heap
    /// uses the words below <see cref="_limit"/>. Compiled code reads this field for its inline access (a
    /// property's getter is a call .NET has to inline at every call site).</summary>
    internal long[] _space;
    private long[]? _spare;
    private int _top = 1;

    // The heap's size in words: allocation stays below it, and a collection grows it. The space (and the spare,
    // when there is one) have at least this many words.
    private int _limit;

    // Every word of _space at and above _top and below _zeroed is zero, and so is every word at and above _dirty,
    // so an allocation, which takes words below both, needs no clearing of its own. A new space comes zeroed from
    // .NET; a collection that reuses the spare leaves its garbage (up to _spareTop, where the spare's last use
    // reached) where it is, and Reserve clears it a chunk ahead of the top as allocation reaches it
    // (ClearAhead): cleared in the pause, the whole garbage went to memory before the program wrote its new
    // objects there, and each cache line was fetched twice.
    private int _spareTop;
    private int _zeroed = int.MaxValue;
    private int _dirty;

    /// <summary>The words <see cref="ClearAhead"/> clears at least at a time: few enough that the program writes them
    /// while they are still in the cache, enough that the slow way of allocating is rare.</summary>
    private const int ClearChunkWords = 1 << 13; // 64 KiB

    // Collection state: the to-space and its bump pointer.
    private long[] _to = [];
    private int _free;

    // With TrackObjects: bit i is set when an object starts at word i.
    private System.Collections.BitArray? _starts;

    public Heap(HeapOptions? options = null)
    {
        _options = options ?? new HeapOptions();
        _maxWords = Math.Max(16, _options.MaxBytes / 8);
        _space = new long[(int)Math.Min(InitialWords, _maxWords + 1)];
        _limit = _space.Length;
        if (_options.TrackObjects) _starts = new System.Collections.BitArray(_limit);
        _bumpsInline = !_options.Stress && !_options.TrackObjects;
        UpdateBumpLimit();
        _roots.Add(_asciiStrings);
    }

    /// <summary>Bytes currently in use by objects, live or not yet collected.</summary>
    public long UsedBytes => (_top - 1) * 8L;

    /// <summary>Bytes ever allocated: the top counts them, from <see cref="_allocatedBelowZero"/> (so that allocating
    /// moves the top alone).</summary>
    public long AllocatedBytes => _allocatedBelowZero + _top * 8L;

    /// <summary>What <see cref="AllocatedBytes"/> would be with the top at word 0: a collection, which lowers the
    /// top, raises it by as much.</summary>
    private long _allocatedBelowZero = -8;

    public int Collections { get; private set; }

    /// <summary>Called after each collection with its start (a <see cref="Stopwatch"/> timestamp) and its pause, while a profiler runs.</summary>
    internal Action<long, TimeSpan>? CollectionObserved;

    /// <summary>The time all collections took, and the longest one.</summary>
    public TimeSpan TotalPause { get; private set; }

    public TimeSpan LongestPause { get; private set; }

    private long _nextAllocationSample = long.MaxValue;
    private long _allocationSampleBytes;
    private Action<long>? _allocationSampled;

    /// <summary>The bytes allocated at which <see cref="Warmup"/> starts: a quarter of the first space, so that it
    /// starts well before the first collection and never in a program that allocates little (hello started with
    /// every heap made 6 ms later, the compiles competing with its start).</summary>
    private long _warmUpAt = WarmUpBytes;

    private const long WarmUpBytes = InitialWords * 8L / 4;

    /// <summary>The next of <see cref="_nextAllocationSample"/> and <see cref="_warmUpAt"/>: an allocation that
    /// reaches it takes <see cref="AllocationChecked"/>.</summary>
    private long _nextAllocationCheck = WarmUpBytes;

    /// <summary>
    /// Calls <paramref name="sampled"/> (on the allocating thread, before the object is initialised: it must not
    /// allocate) each time another <paramref name="everyBytes"/> bytes have been allocated, with the bytes since the
    /// last call; null stops it. The profiler attributes the bytes to the function allocating.
    /// </summary>
    public void SampleAllocations(long everyBytes, Action<long>? sampled)
    {
        _allocationSampled = sampled;
        _allocationSampleBytes = everyBytes;
        _nextAllocationSample = sampled is null ? long.MaxValue : AllocatedBytes + everyBytes;
        _nextAllocationCheck = Math.Min(_nextAllocationSample, _warmUpAt);
        UpdateBumpLimit();
    }

    private void AllocationChecked()
    {
        if (AllocatedBytes >= _warmUpAt)
        {
            _warmUpAt = long.MaxValue;
            Warmup.Start();
        }
        long since = -1;
        if (AllocatedBytes >= _nextAllocationSample)
        {
            since = AllocatedBytes - (_nextAllocationSample - _allocationSampleBytes);
            _nextAllocationSample = AllocatedBytes + _allocationSampleBytes;
        }
        _nextAllocationCheck = Math.Min(_nextAllocationSample, _warmUpAt);
        UpdateBumpLimit();
        if (since >= 0) _allocationSampled?.Invoke(since);
    }

    /// <summary>The largest number of bytes found live by a collection.</summary>
    public long PeakLiveBytes { get; private set; }

    public long MaxBytes => _options.MaxBytes;

    public void AddRoots(IRootSource source) => _roots.Add(source);

    /// <summary>Room past the limit, in words, while <see cref="InEmergency"/> runs.</summary>
    private long _emergencyWords;

    private const int EmergencyWords = 4096;

    /// <summary>
    /// Runs an allocation that may go slightly past the limit (32 KiB): the VM uses it to make the error object of
    /// an OutOfMemoryError, which must be possible exactly when the heap is full.
    /// </summary>
    /// <remarks>
    /// The room past the limit is the emergency's alone: a heap that grew into it is taken back to the limit (or
    /// to what it holds) when the emergency ends. It kept its size, so that the program's next allocations went
    /// past --max-heap without a collection, and the next OutOfMemoryError found no room left for its error
    /// object, and could not be caught.
    /// </remarks>
    public T InEmergency<T>(Func<T> allocate)
    {
        _emergencyWords = EmergencyWords;
        try
        {
            return allocate();
        }
        finally
        {
            _emergencyWords = 0;
            long most = Math.Min(_maxWords + 1, Array.MaxLength);
            if (_limit > most)
            {
                _limit = (int)Math.Max(most, _top);
                if (_starts is not null) _starts.Length = _limit;
                UpdateBumpLimit();
            }
        }
    }

    public void RemoveRoots(IRootSource source) => _roots.Remove(source);

    // -------------------------------------------------------------------------------------------- allocation

    public static int StringWords(long length) => 1 + (int)Math.Min(MaxObjectWords, (length + 3) / 4);

    public const int ArrayWords = 3;

    public static int DataWords(long capacity) => 1 + (int)Math.Min(MaxObjectWords, capacity);

    public static int BytesWords(long capacity) => 1 + (int)Math.Min(MaxObjectWords, (capacity + 7) / 8);

    /// <summary>Whether an array of <paramref name="element"/>s keeps one byte per element (a [bool]) rather than a
    /// word: the one place that decides it, for the heap, its verifier and compiled code.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool HasByteElements(TypeKind element) => element == TypeKind.Bool;

    /// <summary>The kind of an array's store of <paramref name="element"/>s: Bytes, RefData or Data.</summary>
    public static byte StoreKind(TypeKind element) =>
        HasByteElements(element) ? KindBytes : VmType.IsReferenceKind(element) ? KindRefData : KindData;

    /// <summary>The words of an array's store of <paramref name="capacity"/> elements of kind
    /// <paramref name="element"/>: a [bool] keeps one byte per element, the others a word.</summary>
    public static int StoreWords(TypeKind element, long capacity) => HasByteElements(element) ? BytesWords(capacity) : DataWords(capacity);

    /// <summary>
    /// Makes room for <paramref name="words"/> words of new objects, collecting if needed. This is the only
    /// method that may collect; the New* methods that follow it must not ask for more than it reserved.
    /// </summary>
    public void Reserve(long words)
    {
        if (words > _maxWords + _emergencyWords || words > MaxObjectWords)
            throw OutOfMemory(words, $"a single allocation of {words * 8} bytes exceeds the heap limit of {Format(_options.MaxBytes)}");
        if (_options.Stress) Collect(words);
        else if (_top + words > _limit)
        {
            // A request larger than the whole space can't fit after any collection: when what the heap holds and
            // the request fit in the limit, the heap grows for them at once instead. (sieve's first array, 5 MB
            // against the first 2 MiB space: the collection freed nothing and cost the collector's first compile.)
            if (words >= _limit && _top - 1 + words <= _maxWords && _top + words <= Array.MaxLength) GrowFor(_top + words);
            else Collect(words);
        }
        if (_top + words > _zeroed) ClearAhead(_top + words);
        if (Volatile.Read(ref _pollRequested))
        {
            _pollRequested = false;
            UpdateBumpLimit();
            AllocationPoll?.Invoke();
        }
    }

    /// <summary>Clears the garbage of a reused space from <see cref="_zeroed"/> up to <paramref name="needed"/> and at
    /// least a chunk further (see <see cref="_zeroed"/>).</summary>
    private void ClearAhead(long needed)
    {
        long to = Math.Min(Math.Max(needed, (long)_zeroed + ClearChunkWords), _dirty);
        Array.Clear(_space, _zeroed, (int)(to - _zeroed));
        _zeroed = to >= _dirty ? int.MaxValue : (int)to;
        UpdateBumpLimit();
    }

    /// <summary>Set (from the profiler's timer thread) when a sample is asked for: the next allocation polls.</summary>
    private bool _pollRequested;

    internal void RequestPoll()
    {
        Volatile.Write(ref _pollRequested, true);
        Volatile.Write(ref _bumpLimit, 0);
    }

    /// <summary>
    /// Called at every allocation, after any collection it needed, while a profiler runs: allocating is a place
    /// where the program's frames are recorded, so a sample asked for during a long allocation or collection is
    /// taken in the function allocating rather than at the program's next branch or call.
    /// </summary>
    internal Action? AllocationPoll;

    /// <summary>Takes <paramref name="words"/> words at the top (reserved before). <see cref="TryBumpObject"/> does
    /// the same inline for compiled code.</summary>
    private int Bump(int words)
    {
        int r = _top;
        Debug.Assert(r + words <= _limit && r + words <= _zeroed, "allocation without Reserve");
        if (r + words > _limit) throw new InvalidOperationException("heap allocation without a reservation");
        _top += words;
        if (AllocatedBytes >= _nextAllocationCheck) AllocationChecked();
        _starts?.Set(r, true);
        return r;
    }

    private static long Header(byte kind, int aux, long length) => kind | ((long)aux << 8) | (length << 32);

    /// <summary>
    /// The most characters any string can have: the longest .NET string. The VM's strings become .NET strings
    /// when natives and formatting use them, so no string may be longer, whatever the heap limit.
    /// </summary>
    public const int MaxStringLength = 0x3FFFFFDF;

    /// <summary>The most characters a string can have under this heap: what the limit holds, or .NET, whichever is less.</summary>
    public long MaxStringChars => Math.Min(MaxStringLength, _options.MaxBytes / 2);

    /// <summary>
    /// The VM's <c>OutOfMemoryError</c> unless a string of <paramref name="length"/> characters can exist; every
    /// native and formatter that makes a string calls it before building the text. <paramref name="what"/> says
    /// what would make it ("repeating a string 5 times").
    /// </summary>
    public void CheckStringLength(Int128 length, string what)
    {
        if (length > MaxStringChars) throw TooLong(length, what);
    }

    /// <summary>
    /// <see cref="CheckStringLength(Int128, string)"/> with an interpolated <paramref name="what"/> ("joining
    /// {n} strings"), formatted only when the error is raised: a native that checks at every call would otherwise
    /// format and allocate the text at every call. The length may be past a long's range (a repeat count near 2^63
    /// times a string's length), and is said as it is.
    /// </summary>
    public void CheckStringLength(Int128 length, [InterpolatedStringHandlerArgument("", "length")] ref LengthMessage what)
    {
        if (length > MaxStringChars) throw TooLong(length, what.ToStringAndClear());
    }

    /// <summary>The text of <see cref="CheckStringLength(Int128, ref LengthMessage)"/>'s error: built only when the
    /// length is too long (as .NET's <c>Debug.Assert</c> builds its message only when the assertion fails).</summary>
    [InterpolatedStringHandler]
    public ref struct LengthMessage
    {
        private DefaultInterpolatedStringHandler _text;

        public LengthMessage(int literalLength, int formattedCount, Heap heap, Int128 length, out bool tooLong)
        {
            tooLong = length > heap.MaxStringChars;
            _text = tooLong ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
        }

        public void AppendLiteral(string value) => _text.AppendLiteral(value);

        public void AppendFormatted<T>(T value) => _text.AppendFormatted(value);

        public string ToStringAndClear() => _text.ToStringAndClear();
    }

    /// <summary>The error <see cref="CheckStringLength"/> throws, or null when a string of that length can exist.</summary>
    public VmError? StringTooLong(long length, string what) => length <= MaxStringChars ? null : TooLong(length, what);

    /// <summary>The error of a string of <paramref name="length"/> characters, which can't exist (past a long's
    /// range too: a repeat count near 2^63 times a string's length is said as it is).</summary>
    private VmError TooLong(Int128 length, string what) =>
        new VmError(ErrorClasses.OutOfMemory, _options.MaxBytes / 2 <= MaxStringLength
            ? $"{what} would make a string of {length} characters, more than the heap limit of {Format(_options.MaxBytes)} holds"
            : $"{what} would make a string of {length} characters, longer than the longest string the VM can hold ({MaxStringLength} characters)");

    /// <summary>A new string of <paramref name="length"/> code units, all zero. Needs <see cref="StringWords"/> reserved.</summary>
    public int NewString(int length)
    {
        int r = Bump(StringWords(length));
        _space[r] = Header(KindString, 0, length);
        return r;
    }

    /// <summary>
    /// The string of one character <paramref name="c"/>: for ASCII, one string per heap, made at its first use and
    /// shared from then on. A string can't be changed and is compared by its characters, so no program can tell
    /// the shared one from a copy, and a parser that reads its text a character at a time (<c>text[i]</c>)
    /// allocates nothing per character: json.hl allocated 137 MB in all before, 48 MB after. Reserves its own room.
    /// </summary>
    public int CharString(char c)
    {
        if (c >= _asciiStrings.Refs.Length) return NewString(new ReadOnlySpan<char>(in c));
        if (_asciiStrings.Refs[c] is var shared and not 0) return (int)shared;
        int r = NewString(new ReadOnlySpan<char>(in c));
        _asciiStrings.Refs[c] = r;
        return r;
    }

    /// <summary>
    /// Whether strings a and b hold the same characters. Equal headers mean equal lengths, and the code units past a
    /// string's length in its last word are zero (a new string's words are, nothing writes past the length, and the
    /// heap's verifier checks it), so strings of up to 8 characters compare as their one or two words; longer ones
    /// character by character.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool SameString(int a, int b)
    {
        var space = _space;
        long header = space[a];
        if (header != space[b]) return false;
        int words = (LengthOf(header) + 3) / 4;
        if (words > 2) return StringChars(a).SequenceEqual(StringChars(b));
        for (int i = 1; i <= words; i++)
            if (space[a + i] != space[b + i]) return false;
        return true;
    }

    /// <summary>
    /// The string <see cref="CharString"/> gives for character <paramref name="index"/> of string r when that is
    /// one made already; else -1: an index outside the string, a character beyond ASCII, or its string not made yet.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long SharedCharAt(int r, long index)
    {
        var chars = StringChars(r);
        if ((ulong)index >= (ulong)chars.Length) return -1;
        char c = chars[(int)index];
        return c < _asciiStrings.Refs.Length && _asciiStrings.Refs[c] is var shared and not 0 ? shared : -1;
    }

    /// <summary>The ASCII strings of <see cref="CharString"/>: roots of the heap itself.</summary>
    private readonly SharedStrings _asciiStrings = new();

    private sealed class SharedStrings : IRootSource
    {
        public readonly long[] Refs = new long[128];

        public void VisitRoots(Heap heap)
        {
            for (int i = 0; i < Refs.Length; i++)
                if (Refs[i] != 0) heap.Relocate(ref Refs[i]);
        }
    }

    /// <summary>A new string holding <paramref name="text"/>, which must not live in this heap. Reserves its own room.</summary>
    public int NewString(ReadOnlySpan<char> text)
    {
        Reserve(StringWords(text.Length));
        int r = NewString(text.Length);
        text.CopyTo(StringChars(r));
        return r;
    }

    /// <summary>
    /// A new array of <paramref name="length"/> zeroed elements with room for <paramref name="capacity"/>. Needs
    /// <see cref="ArrayWords"/> + <see cref="StoreWords"/>(element, capacity) reserved.
    /// </summary>
    public int NewArray(TypeKind element, int length, int capacity)
    {
        int data = NewData(element, capacity);
        int r = Bump(ArrayWords);
        _space[r] = Header(KindArray, (int)element, 0);
        _space[r + 1] = length;
        _space[r + 2] = data;
        return r;
    }

    private int NewData(TypeKind element, int capacity)
    {
        int r = Bump(StoreWords(element, capacity));
        _space[r] = Header(StoreKind(element), 0, capacity);
        return r;
    }

    // -------------------------------------------------------------------------------------------- access

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte KindOf(long header) => (byte)header;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int LengthOf(long header) => (int)((ulong)header >> 32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int StringLength(int r) => LengthOf(_space[r]);

    /// <summary>The characters of a string. The span is valid until the next allocation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<char> StringChars(int r)
    {
        int length = LengthOf(_space[r]);
        // Not MemoryMarshal.Cast of _space.AsSpan: .NET compiles those generic methods at run time, and a short
        // run spent 4% of its time in their unoptimised first versions (interp.hl). The words are checked to lie
        // in the space before they are read as characters.
        if ((uint)(r + 1 + (length + 3) / 4) > (uint)_space.Length) throw new IndexOutOfRangeException();
        return MemoryMarshal.CreateSpan(ref Unsafe.As<long, char>(ref _space[r + 1]), length);
    }

    public string GetString(int r) => new(StringChars(r));

    /// <summary>
    /// The words a string of the characters <paramref name="text"/> has on the heap, wherever it is: its header,
    /// then its code units as <see cref="StringChars"/> lays them out, the last word's unused ones zero. Two
    /// strings are equal when their words are (<see cref="SameString"/>), so compiled code compares a string with
    /// a short constant against these, without the constant's address (which a collection changes).
    /// </summary>
    public static long[] StringImage(string text)
    {
        var image = new long[StringWords(text.Length)];
        image[0] = Header(KindString, 0, text.Length);
        if (text.Length > 0) text.CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.As<long, char>(ref image[1]), text.Length));
        return image;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ArrayLength(int r) => (int)_space[r + ArrayLengthOffset];

    public TypeKind ArrayElementKind(int r) => (TypeKind)(byte)(_space[r] >> 8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ArrayCapacity(int r) => LengthOf(_space[(int)_space[r + 2]]);

    /// <summary>Whether an array's elements are bytes (a [bool]) rather than words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsByteArray(int r) => HasByteElements(ArrayElementKind(r));

    /// <summary>The elements (its length, not its capacity) of an array of words: not a [bool] (see
    /// <see cref="IsByteArray"/>; <see cref="ArrayGet"/> and the Array* methods below take either). Valid until the
    /// next allocation.</summary>
    public Span<long> ArrayElements(int r)
    {
        if (IsByteArray(r)) throw new InvalidOperationException("the elements of a [bool] are bytes, not words");
        return new(_space, (int)_space[r + 2] + 1, (int)_space[r + 1]);
    }

    /// <summary>The elements (its length) of a [bool], a byte each. Valid until the next allocation.</summary>
    public Span<byte> ArrayBytes(int r)
    {
        int store = (int)_space[r + ArrayStoreOffset], length = (int)_space[r + ArrayLengthOffset];
        // The words are checked to lie in the space before they are read as bytes (as StringChars does).
        if ((uint)(store + 1 + (length + 7) / 8) > (uint)_space.Length) throw new IndexOutOfRangeException();
        return MemoryMarshal.CreateSpan(ref Unsafe.As<long, byte>(ref _space[store + 1]), length);
    }

    /// <summary>Byte <paramref name="index"/> of the store at word <paramref name="store"/>: byte index % 8 of its
    /// word index / 8 (the word's index checked against the space, as every word's is).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref byte ByteAt(int store, int index) => ref Unsafe.Add(ref Unsafe.As<long, byte>(ref _space[store + ElementOffset + (index >> 3)]), index & 7);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ArrayGet(int r, int index)
    {
        int store = (int)_space[r + ArrayStoreOffset];
        return IsByteArray(r) ? ByteAt(store, index) : _space[store + ElementOffset + index];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ArraySet(int r, int index, long value)
    {
        int store = (int)_space[r + ArrayStoreOffset];
        if (IsByteArray(r)) ByteAt(store, index) = (byte)value;
        else _space[store + ElementOffset + index] = value;
    }

    /// <summary>Copies <paramref name="count"/> elements of array <paramref name="from"/> from index
    /// <paramref name="fromIndex"/> to array <paramref name="to"/> (of the same element kind, or the same array) at
    /// <paramref name="toIndex"/>, as if through a temporary copy where they overlap.</summary>
    public void ArrayCopy(int from, int fromIndex, int to, int toIndex, int count)
    {
        if (count == 0) return;
        if (IsByteArray(from)) ArrayBytes(from).Slice(fromIndex, count).CopyTo(ArrayBytes(to)[toIndex..]);
        else ArrayElements(from).Slice(fromIndex, count).CopyTo(ArrayElements(to)[toIndex..]);
    }

    /// <summary>Sets an array's first elements to <paramref name="values"/> (bools as 0 and 1).</summary>
    public void ArrayFill(int r, ReadOnlySpan<long> values)
    {
        if (!IsByteArray(r))
        {
            values.CopyTo(ArrayElements(r));
            return;
        }
        var bytes = ArrayBytes(r);
        for (int i = 0; i < values.Length; i++) bytes[i] = (byte)values[i];
    }

    public void ArrayReverse(int r)
    {
        if (IsByteArray(r)) ArrayBytes(r).Reverse();
        else ArrayElements(r).Reverse();
    }

    /// <summary>Fills array <paramref name="to"/> with the elements of <paramref name="from"/> (of the same kind)
    /// over and over: the first copy, then the copied part doubled until it is full, so that there are few and
    /// long copies, even of one element. A new store is all zeros already, so repeating zeros (false, 0, null)
    /// copies nothing.</summary>
    public void ArrayRepeat(int from, int to)
    {
        if (IsByteArray(from)) Repeat(ArrayBytes(from), ArrayBytes(to));
        else Repeat(ArrayElements(from), ArrayElements(to));

        static void Repeat<T>(Span<T> from, Span<T> to) where T : unmanaged, IEquatable<T>
        {
            if (from.Length == 0 || to.Length == 0 || from.IndexOfAnyExcept(default(T)) < 0) return;
            from.CopyTo(to);
            for (int done = from.Length; done < to.Length; done *= 2) to[..Math.Min(done, to.Length - done)].CopyTo(to[done..]);
        }
    }

    /// <summary>
    /// Appends to an array whose capacity is full: gives it a new store of <paramref name="capacity"/> words with
    /// the old elements and <paramref name="value"/>. Needs <see cref="DataWords"/>(capacity) reserved.
    /// </summary>
    public void GrowAndAppend(int r, int capacity, long value)
    {
        int length = ArrayLength(r);
        int old = (int)_space[r + 2];
        int data = NewData(ArrayElementKind(r), capacity);
        Array.Copy(_space, old + 1, _space, data + 1, IsByteArray(r) ? (length + 7) / 8 : length);
        _space[r + 2] = data;
        ArraySet(r, length, value);
        _space[r + 1] = length + 1;
    }

    /// <summary>Sets an array's length (at most its capacity; elements past it are cleared). Never allocates.</summary>
    public void SetArrayLength(int r, int length)
    {
        int old = (int)_space[r + 1];
        if (length < old)
        {
            if (IsByteArray(r)) ArrayBytes(r)[length..].Clear();
            else Array.Clear(_space, (int)_space[r + 2] + 1 + length, old - length);
        }
        _space[r + 1] = length;
    }

    /// <summary>Appends to array <paramref name="r"/> when it has room: false, having done nothing, for a null array
    /// or a full one. Never allocates. (Compiled code's push; the interpreter's <c>OpAPush</c> tests the room
    /// itself, which measured faster there.)</summary>
    /// <remarks>Inlined at every push compiled code makes, so written with few calls of its own: .NET's JIT spends
    /// about as long on each method it inlines as on a dozen instructions of the method it compiles, and through
    /// <see cref="ArrayCapacity"/> and <see cref="ArraySet"/> a push was a dozen inlines. A [bool]'s byte is stored out
    /// of line.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAppend(int r, long value)
    {
        if (r == 0) return false;
        var space = _space;
        int length = (int)space[r + ArrayLengthOffset], store = (int)space[r + ArrayStoreOffset];
        if (length >= LengthOf(space[store])) return false; // the store's length is the array's capacity
        if (HasByteElements((TypeKind)(byte)(space[r] >> 8))) SetByte(store, length, value);
        else space[store + ElementOffset + length] = value;
        space[r + ArrayLengthOffset] = length + 1;
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SetByte(int store, int index, long value) => ByteAt(store, index) = (byte)value;

    /// <summary>Appends to an array that has room (length &lt; capacity). Never allocates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AppendInPlace(int r, long value)
    {
        int length = (int)_space[r + 1];
        ArraySet(r, length, value);
        _space[r + 1] = length + 1;
    }

    // -------------------------------------------------------------------------------------------- collection

    /// <summary>Runs a full collection now, as if <paramref name="requestWords"/> were about to be allocated.</summary>
    /// <remarks>Compiled fully optimised when first called, not tiered: a program that collects spends much of its
    /// time here, and .NET's tiering otherwise ran it for a while as instrumented code, slower than the final one.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Collect(long requestWords = 0)
    {
        long start = Stopwatch.GetTimestamp();
        long before = UsedBytes;
        int toDirty = 0;
        ForgetFound();
        if (_spare is { } spare && spare.Length >= _limit) (_to, toDirty) = (spare, _spareTop);
        else _to = NewSpace(_limit, _space.Length);
        _free = 1;
        foreach (var source in _roots) source.VisitRoots(this);
        var to = _to;
        for (int scan = 1; scan < _free;)
        {
            long h = to[scan];
            switch (KindOf(h))
            {
                case KindString:
                    scan += StringWords(LengthOf(h));
                    break;
                case KindArray:
                    to[scan + 2] = Evacuate(to[scan + 2]);
                    scan += ArrayWords;
                    break;
                case KindData:
                    scan += DataWords(LengthOf(h));
                    break;
                case KindBytes:
                    scan += BytesWords(LengthOf(h));
                    break;
                case KindRefData:
                    int n = LengthOf(h);
                    for (int i = 1; i <= n; i++) to[scan + i] = Evacuate(to[scan + i]);
                    scan += 1 + n;
                    break;
                case KindObject:
                    {
                        var refs = _classes[(int)((h >> 8) & 0xFFFFFF)].RefFields;
                        for (int i = 0; i < refs.Length; i++)
                            if (refs[i]) to[scan + 1 + i] = Evacuate(to[scan + 1 + i]);
                        scan += 1 + refs.Length;
                        break;
                    }
                case KindMap:
                    to[scan + MapEntriesWord] = Evacuate(to[scan + MapEntriesWord]);
                    to[scan + MapIndexWord] = Evacuate(to[scan + MapIndexWord]);
                    scan += MapWords;
                    break;
                case KindClosure:
                    to[scan + 1] = Evacuate(to[scan + 1]);
                    scan += ClosureWords;
                    break;
                case KindMapEntries:
                    {
                        int words = LengthOf(h);
                        bool keys = (h & KeysAreReferences) != 0, values = (h & ValuesAreReferences) != 0;
                        for (int at = scan + 1; at < scan + 1 + words; at += EntryWords)
                        {
                            if (keys) to[at + EntryKey] = Evacuate(to[at + EntryKey]);
                            if (values) to[at + EntryValue] = Evacuate(to[at + EntryValue]);
                        }
                        scan += 1 + words;
                        break;
                    }
                default:
                    throw new InvalidOperationException($"heap corrupted: bad header 0x{h:x16} at word {scan} during collection");
            }
        }
        _spare = _space;
        _spareTop = _zeroed == int.MaxValue ? _top : _dirty;
        _space = _to;
        _to = [];
        _allocatedBelowZero += (_top - _free) * 8L;
        _top = _free;
        _dirty = toDirty;
        _zeroed = toDirty > _top ? _top : int.MaxValue;
        UpdateBumpLimit();
        if (_starts is not null) TrackStarts();
        Collections++;
        long live = UsedBytes;
        PeakLiveBytes = Math.Max(PeakLiveBytes, live);

        long needed = _top + requestWords;
        if (needed - 1 > _maxWords + _emergencyWords)
        {
            Log(start, before, "full");
            throw OutOfMemory(requestWords, $"heap limit of {Format(_options.MaxBytes)} exceeded: {Format(live)} live after a full collection, {Format(requestWords * 8)} requested");
        }
        if (needed > Array.MaxLength)
        {
            // The space is one .NET array, whatever --max-heap allows.
            Log(start, before, "full");
            throw OutOfMemory(requestWords, $"the heap can hold at most {Format(Array.MaxLength * 8L)}: {Format(live)} live after a full collection, {Format(requestWords * 8)} requested");
        }
        // A heap that grew past the limit in an emergency (InEmergency) gives that room back at its next
        // collection outside one, if it could not when the emergency ended (its error object was above the limit).
        if (_emergencyWords == 0 && _limit > _maxWords + 1)
        {
            _limit = (int)Math.Min(_maxWords + 1, Array.MaxLength);
            if (_starts is not null) _starts.Length = _limit;
            UpdateBumpLimit();
        }
        GrowFor(needed);
        Log(start, before, "full");
        if (_options.Verify) VerifyNow();
    }

    /// <summary>Grows the heap, if it must, for <paramref name="needed"/> words (what it holds and a request; at most
    /// the limit and <see cref="Array.MaxLength"/>).</summary>
    private void GrowFor(long needed)
    {
        // Keep at least twice as much free room as there is live data: a collection copies the live data, so its
        // cost per byte allocated is live / free. Twice rather than once halves that work for a program whose
        // live data stays (binarytrees: 65 collections and 165 ms of pauses before, 37 and 121 ms after; its whole
        // run 8% faster, mapcount's too), for half as much space again.
        long target = Math.Max(needed * 3, InitialWords);
        if (target <= _limit) return;
        // Grow at least twofold: a heap whose live data grows steadily then grows a few times rather than at
        // nearly every collection.
        target = Math.Min(Math.Min(Math.Max(target, 2L * _limit), _maxWords + _emergencyWords + 1), Array.MaxLength);
        target = Math.Max(target, needed);
        if (target > _limit) Grow((int)target);
    }

    /// <summary>Makes the heap <paramref name="words"/> words: in place when the space has the room, else in a new
    /// space with room to grow again in place (<see cref="HeapOptions.ReservedBytes"/>).</summary>
    private void Grow(int words)
    {
        if (words > _space.Length)
        {
            long most = Math.Min(_maxWords + EmergencyWords + 1, Array.MaxLength);
            var bigger = NewSpace(words, Math.Min(most, Math.Max(_options.ReservedBytes / 8, 4L * words)));
            Array.Copy(_space, bigger, _top);
            _space = bigger;
            _spare = null;
            _zeroed = int.MaxValue;
        }
        else if (_spare is { } spare && spare.Length < words) _spare = null;
        _limit = words;
        if (_starts is not null) _starts.Length = _limit;
        UpdateBumpLimit();
    }

    /// <summary>
    /// A new space of <paramref name="want"/> words where .NET can spare them, else of <paramref name="need"/>.
    /// .NET counts a space's untouched words against its memory limit too (a container's, or
    /// <c>GCHeapHardLimit</c>), and a process whose .NET heap nears that limit fails fast ("Out of memory.")
    /// rather than throwing, so a space reserves room only while it stays within an eighth of what .NET may use.
    /// </summary>
    private static long[] NewSpace(long need, long want)
    {
        long spare = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8 / 8;
        return HugePages.NewSpace(Math.Max(need, Math.Min(want, spare)));
    }

    private void TrackStarts()
    {
        _starts = new System.Collections.BitArray(_limit);
        for (int at = 1; at < _top; at += SizeOf(_space[at])) _starts[at] = true;
    }

    /// <summary>
    /// With <see cref="HeapOptions.TrackObjects"/>: true when <paramref name="reference"/> is the start of a live
    /// string (for <see cref="TypeKind.String"/>) or of an array whose elements have the given kind.
    /// </summary>
    public bool IsObject(long reference, TypeKind kind, TypeKind element = TypeKind.Void, int classIndex = -1)
    {
        if (_starts is null) throw new InvalidOperationException("the heap does not track objects");
        if (reference <= 0 || reference >= _top || !_starts[(int)reference]) return false;
        long h = _space[reference];
        return kind switch
        {
            TypeKind.String => KindOf(h) == KindString,
            TypeKind.Array => KindOf(h) == KindArray && ArrayElementKind((int)reference) == element,
            TypeKind.Object => KindOf(h) == KindObject && ClassOf((int)reference).Is(classIndex),
            TypeKind.Map => KindOf(h) == KindMap,
            TypeKind.Func => KindOf(h) == KindClosure,
            _ => false,
        };
    }

    /// <summary>Checks the heap's invariants now (what <see cref="HeapOptions.Verify"/> does after each collection).</summary>
    internal void VerifyNow() => HeapVerifier.Check(this, _space, _top, _limit, _zeroed == int.MaxValue ? (0, 0) : (_zeroed, _dirty), _roots);

    /// <summary>Called by root sources on each reference slot: moves the object it refers to and updates the slot.</summary>
    public void Relocate(ref long slot)
    {
        if (RootCheck is { } check) check.Check(slot);
        else slot = Evacuate(slot);
    }

    /// <summary>Set while the heap verifier walks the roots: <see cref="Relocate"/> then checks instead of moving.</summary>
    internal HeapVerifier.RootChecker? RootCheck { get; set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Evacuate(long reference)
    {
        int r = (int)reference;
        if (r == 0) return 0;
        var from = _space;
        long h = from[r];
        if (KindOf(h) == KindForwarded) return LengthOf(h);
        int size = SizeOf(h);
        int to = _free;
        // Most objects are a few words: a loop copies them faster than a call to Array.Copy's checks and memmove.
        if (size <= 8)
        {
            // (Spans made directly: AsSpan is the framework's generic code, compiled at run time where this is
            // inlined into code ReadyToRun holds.)
            var source = new Span<long>(from, r, size);
            var target = new Span<long>(_to, to, size);
            for (int i = 0; i < source.Length; i++) target[i] = source[i];
        }
        else Array.Copy(from, r, _to, to, size);
        _free = to + size;
        from[r] = KindForwarded | ((long)to << 32);
        return to;
    }

    /// <summary>The words of the object whose header this is. Inlined into the collector's copying, once per object
    /// (a call there was 2% of binarytrees' time); the error for a bad header is made out of line.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int SizeOf(long header) => KindOf(header) switch
    {
        KindString => StringWords(LengthOf(header)),
        KindArray => ArrayWords,
        KindData or KindRefData => DataWords(LengthOf(header)),
        KindBytes => BytesWords(LengthOf(header)),
        KindObject => ObjectWords(LengthOf(header)),
        KindMap => MapWords,
        KindMapEntries => 1 + LengthOf(header),
        KindClosure => ClosureWords,
        _ => throw BadHeader(header),
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException BadHeader(long header) => new($"heap corrupted: bad header 0x{header:x16}");

    private void Log(long start, long before, string kind)
    {
        var pause = Stopwatch.GetElapsedTime(start);
        TotalPause += pause;
        if (pause > LongestPause) LongestPause = pause;
        CollectionObserved?.Invoke(start, pause);
        if (_options.Log is not { } log) return;
        double ms = pause.TotalMilliseconds;
        log($"[gc] #{Collections} {kind} pause={ms:F3}ms before={before} after={UsedBytes} heap={(_limit - 1) * 8L} allocated={AllocatedBytes}");
    }

    private VmError OutOfMemory(long requestWords, string message) => new(ErrorClasses.OutOfMemory, message);

    internal static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30} GiB",
        >= 1L << 20 => $"{bytes / (double)(1 << 20):0.#} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.#} KiB",
        _ => $"{bytes} bytes",
    };
}
