using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;

namespace Hlvm.Tests;

/// <summary>The collector keeps what is reachable from roots, moves it intact, frees the rest, and enforces the limit.</summary>
public sealed class HeapTests
{
    /// <summary>A root source holding a fixed set of slots.</summary>
    private sealed class Roots(int n) : IRootSource
    {
        public readonly long[] Slots = new long[n];

        public void VisitRoots(Heap heap)
        {
            for (int i = 0; i < Slots.Length; i++) heap.Relocate(ref Slots[i]);
        }
    }

    [Fact]
    public void CollectionKeepsReachableObjectsIntactAndFreesTheRest()
    {
        var heap = new Heap(new HeapOptions { Verify = true });
        var roots = new Roots(2);
        heap.AddRoots(roots);
        for (int i = 0; i < 1000; i++) heap.NewString("garbage " + i);
        roots.Slots[0] = heap.NewString("kept");
        heap.Reserve(Heap.ArrayWords + Heap.DataWords(4));
        roots.Slots[1] = heap.NewArray(TypeKind.String, 0, 4);
        for (int i = 0; i < 10; i++)
        {
            int s = heap.NewString($"element {i}");
            heap.Reserve(Heap.DataWords(64));
            int array = (int)roots.Slots[1];
            if (heap.ArrayLength(array) < heap.ArrayCapacity(array)) heap.AppendInPlace(array, s);
            else heap.GrowAndAppend(array, 64, s);
        }
        long before = heap.UsedBytes;
        heap.Collect();
        Assert.True(heap.UsedBytes < before / 4, $"{heap.UsedBytes} bytes used after collecting, {before} before");
        Assert.Equal("kept", heap.GetString((int)roots.Slots[0]));
        int arr = (int)roots.Slots[1];
        Assert.Equal(10, heap.ArrayLength(arr));
        for (int i = 0; i < 10; i++) Assert.Equal($"element {i}", heap.GetString((int)heap.ArrayGet(arr, i)));
        roots.Slots[0] = 0;
        roots.Slots[1] = 0;
        heap.Collect();
        Assert.Equal(0, heap.UsedBytes);
    }

    [Fact]
    public void ObjectsMoveDuringCollection()
    {
        var heap = new Heap();
        var roots = new Roots(1);
        heap.AddRoots(roots);
        heap.NewString("first, and garbage");
        roots.Slots[0] = heap.NewString("second");
        long before = roots.Slots[0];
        heap.Collect();
        Assert.NotEqual(before, roots.Slots[0]);
        Assert.Equal("second", heap.GetString((int)roots.Slots[0]));
    }

    /// <summary>
    /// The length check of the natives that build strings (join, replace, repeat) takes its message as an
    /// interpolated string that is formatted only when the check fails: a check that passes allocates nothing
    /// (formatting the message at every call was most of a short join's or replace's cost), and one that fails
    /// says what it was given. Fails when the message is formatted before the length is checked.
    /// </summary>
    [Fact]
    public void AStringLengthCheckFormatsItsMessageOnlyWhenItFails()
    {
        var heap = new Heap(new HeapOptions { MaxBytes = 1 << 20 });
        long count = 3;
        heap.CheckStringLength(10, $"joining {count} strings");
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) heap.CheckStringLength(10 + i, $"joining {count + i} strings");
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        var e = Assert.Throws<VmError>(() => heap.CheckStringLength(1 << 20, $"joining {count} strings"));
        Assert.Equal(ErrorClasses.OutOfMemory, e.ErrorClass);
        Assert.Equal("joining 3 strings would make a string of 1048576 characters, more than the heap limit of 1 MiB holds", e.Message);
    }

    [Fact]
    public void LiveDataPastTheLimitIsOutOfMemory()
    {
        var heap = new Heap(new HeapOptions { MaxBytes = 1 << 20 });
        var roots = new Roots(100);
        heap.AddRoots(roots);
        var e = Assert.Throws<VmError>(() =>
        {
            for (int i = 0; i < roots.Slots.Length; i++) roots.Slots[i] = heap.NewString(new string('x', 64 * 1024));
        });
        Assert.Equal(ErrorClasses.OutOfMemory, e.ErrorClass);
        Assert.Contains("heap limit of 1 MiB exceeded", e.Message);
    }

    /// <summary>
    /// The room past the limit that an OutOfMemoryError's object is made in is the emergency's alone: once it is
    /// made, the live data that filled the heap still leaves no room for anything else, and the next emergency finds
    /// its room again. The heap used to keep the size it grew to in the emergency, so that the program's next
    /// allocations went 32 KiB past the limit, and the next error object could not be made.
    /// </summary>
    [Fact]
    public void TheRoomOfAnEmergencyIsGivenBackWhenItEnds()
    {
        var heap = new Heap(new HeapOptions { MaxBytes = 1 << 20 });
        var roots = new Roots(4000);
        heap.AddRoots(roots);
        int kept = 0;
        var full = Assert.Throws<VmError>(() =>
        {
            for (; kept < roots.Slots.Length; kept++) roots.Slots[kept] = heap.NewString(new string('x', 500));
        });
        Assert.Equal(ErrorClasses.OutOfMemory, full.ErrorClass);
        for (int round = 0; round < 3; round++)
        {
            // Each error object (larger than what is left below the limit, so that the heap grows past it) fits in
            // the emergency's room, and is garbage once the program has dealt with it.
            string message = new('e', 2000);
            long error = heap.InEmergency(() => heap.NewString(message));
            Assert.Equal(message, heap.GetString((int)error));
            var again = Assert.Throws<VmError>(() => heap.NewString(new string('y', 500)));
            Assert.Equal(ErrorClasses.OutOfMemory, again.ErrorClass);
        }
        Assert.True(heap.UsedBytes <= heap.MaxBytes, $"{heap.UsedBytes} bytes used past the limit of {heap.MaxBytes}");
    }

    [Fact]
    public void GarbageNeverCountsAgainstTheLimit()
    {
        var heap = new Heap(new HeapOptions { MaxBytes = 1 << 20 });
        for (int i = 0; i < 10_000; i++) heap.NewString(new string('x', 16 * 1024));
        Assert.True(heap.AllocatedBytes > 300L << 20);
        Assert.True(heap.Collections > 0);
    }

    [Fact]
    public void ASingleAllocationLargerThanTheLimitFailsAtOnce()
    {
        var heap = new Heap(new HeapOptions { MaxBytes = 1 << 20 });
        var e = Assert.Throws<VmError>(() => heap.Reserve(1 << 20));
        Assert.Equal(ErrorClasses.OutOfMemory, e.ErrorClass);
    }

    /// <summary>
    /// A heap whose live data grows from its first 2 MiB space to 25 MiB: with the default reservation it grows
    /// within the two spaces it reserved when it first outgrew the first one, and the program only ever sees those
    /// three; with a reservation smaller than its size, it takes new spaces as it grows. Either way the data
    /// survives every move and the heap keeps its invariants.
    /// </summary>
    [Theory]
    [InlineData(128L << 20, 3, 3)]
    [InlineData(1L << 20, 4, 99)]
    public void AGrowingHeapGrowsWithinTheSpacesItReserved(long reserved, int fewestSpaces, int mostSpaces)
    {
        var sizes = new List<long>();
        var heap = new Heap(new HeapOptions
        {
            Verify = true,
            ReservedBytes = reserved,
            Log = line => sizes.Add(long.Parse(System.Text.RegularExpressions.Regex.Match(line, @"heap=(\d+)").Groups[1].Value)),
        });
        var roots = new Roots(400);
        heap.AddRoots(roots);
        var spaces = new HashSet<long[]>(ReferenceEqualityComparer.Instance) { heap.Space };
        for (int i = 0; i < roots.Slots.Length; i++)
        {
            roots.Slots[i] = heap.NewString(new string((char)('a' + i % 26), 32 * 1024));
            spaces.Add(heap.Space);
        }
        for (int i = 0; i < roots.Slots.Length; i++)
            Assert.Equal(new string((char)('a' + i % 26), 32 * 1024), heap.GetString((int)roots.Slots[i]));
        Assert.True(sizes.Distinct().Count() >= 3, $"heap sizes {string.Join(", ", sizes)}");
        Assert.True(sizes[^1] >= 25L << 20, $"heap sizes {string.Join(", ", sizes)}");
        Assert.True(spaces.Count >= fewestSpaces && spaces.Count <= mostSpaces, $"{spaces.Count} spaces");
    }

    /// <summary>
    /// A request larger than the whole space can't fit after any collection: the heap grows for it at once,
    /// without collecting (nothing moves), when what it holds and the request fit in the limit; when they don't,
    /// it collects first, and the garbage it frees makes the room.
    /// </summary>
    [Fact]
    public void ARequestLargerThanTheSpaceGrowsTheHeapWithoutCollectingWhenItFits()
    {
        var heap = new Heap(new HeapOptions { Verify = true });
        var roots = new Roots(2);
        heap.AddRoots(roots);
        roots.Slots[0] = heap.NewString("kept");
        long kept = roots.Slots[0];
        int words = heap.Space.Length + 1000;
        heap.Reserve(Heap.ArrayWords + Heap.DataWords(words));
        roots.Slots[1] = heap.NewArray(TypeKind.Int, words, words);
        Assert.Equal(0, heap.Collections);
        Assert.Equal(kept, roots.Slots[0]);
        Assert.Equal("kept", heap.GetString((int)roots.Slots[0]));
        Assert.Equal(words, heap.ArrayLength((int)roots.Slots[1]));

        var small = new Heap(new HeapOptions { MaxBytes = 4 << 20, Verify = true });
        for (int i = 0; i < 200; i++) small.NewString(new string('x', 4000)); // 1.6 MB of garbage
        small.Reserve(Heap.DataWords(3 << 17)); // 3 MiB: with the garbage, past the limit
        Assert.Equal(1, small.Collections);
    }

    [Fact]
    public void GcLogPrintsOneLinePerCollection()
    {
        var lines = new List<string>();
        var heap = new Heap(new HeapOptions { Log = lines.Add });
        heap.Collect();
        heap.Collect();
        Assert.Equal(2, lines.Count);
        Assert.Matches(@"^\[gc\] #1 full pause=\d+\.\d{3}ms before=\d+ after=\d+ heap=\d+ allocated=\d+$", lines[0]);
    }

    [Fact]
    public void HeapVerifierDetectsADanglingRoot()
    {
        var heap = new Heap(new HeapOptions { Verify = true });
        var roots = new Roots(1);
        heap.AddRoots(roots);
        // A string's image (what compiled code compares with a constant) is its words on the heap, and no other.
        foreach (string text in new[] { "", "a", "abcd", "abcde", "h\u00e9llo w\u00f6rld!", "\ud83d\ude00" })
        {
            int at = heap.NewString(text);
            var image = Heap.StringImage(text);
            Assert.Equal(Heap.StringWords(text.Length), image.Length);
            Assert.Equal(image, heap.Space.AsSpan(at, image.Length).ToArray());
            Assert.NotEqual(image, Heap.StringImage(text + "x")[..image.Length]);
        }
        roots.Slots[0] = heap.NewString("abc");
        heap.Collect();
        heap.VerifyNow();
        roots.Slots[0] += 1; // now points into the middle of the string
        Assert.Contains("not the start of an object", Assert.Throws<HeapCorruptionException>(heap.VerifyNow).Message);
    }

    /// <summary>
    /// Allocation doesn't clear: a collection that reuses the spare leaves its garbage, and the heap clears it a
    /// chunk ahead of the top as allocation reaches it. New objects in a reused space start as zeros, whether
    /// allocated the runtime's way (Reserve, then New*) or compiled code's (TryBumpObject), over more words than a
    /// chunk; the garbage beyond is still there after the collection (it was not cleared in the pause); and the
    /// verifier finds a word above the top that isn't zero.
    /// </summary>
    [Fact]
    public void NewObjectsInAReusedSpaceStartAsZeros()
    {
        var heap = new Heap(new HeapOptions { Verify = true });
        var roots = new Roots(3);
        heap.AddRoots(roots);
        for (int round = 0; round < 4; round++)
        {
            for (int i = 0; i < 2000; i++) heap.NewString(new string((char)('a' + round), 40)); // garbage, not zeros
            roots.Slots[0] = roots.Slots[1] = roots.Slots[2] = 0;
            heap.Collect();
            if (round > 0)
            {
                // The spare held round - 1's strings up to thousands of words: they are still there.
                int top = (int)(heap.UsedBytes / 8) + 1;
                Assert.True(heap.Space.AsSpan(top, 20_000).IndexOfAnyExcept(0L) >= 0, $"round {round}: the garbage was cleared in the pause");
            }
            heap.Reserve(Heap.ArrayWords + Heap.DataWords(12_000));
            roots.Slots[0] = heap.NewArray(TypeKind.Int, 12_000, 12_000);
            Assert.True(heap.ArrayElements((int)roots.Slots[0]).IndexOfAnyExcept(0L) < 0, $"round {round}");
            // Strings of 20,000 NUL characters (5,001 words each), as compiled code allocates them.
            long header = Heap.KindString | (20_000L << 32);
            int words = Heap.StringWords(20_000);
            for (int i = 0; i < 3; i++)
            {
                int r = heap.TryBumpObject(header, words);
                if (r == 0)
                {
                    // Compiled code's slow way, the interpreter's allocation: Reserve clears the next chunk. (Not
                    // TryBumpObject again: its limit also stops at the heap's next allocation check, the profiler's
                    // sample or the warm-up, which only Bump passes.)
                    heap.Reserve(words);
                    r = heap.NewString(20_000);
                }
                Assert.NotEqual(0, r);
                Assert.True(heap.Space.AsSpan(r + 1, words - 1).IndexOfAnyExcept(0L) < 0, $"round {round}, string {i}");
            }
        }
        heap.VerifyNow();
        heap.Space[(int)(heap.UsedBytes / 8) + 3] = 7;
        Assert.Contains("above the top", Assert.Throws<HeapCorruptionException>(heap.VerifyNow).Message);
    }

    /// <summary>
    /// Strings compare by their words (Heap.SameString), which holds because the code units past a string's length
    /// in its last word are zero: strings of 0 to 12 characters equal only their copies, strings differing in one
    /// character or in length differ, and the verifier finds a code unit written past a string's end.
    /// </summary>
    [Fact]
    public void StringsCompareByTheirWordsAndTheVerifierChecksTheirPadding()
    {
        var heap = new Heap(new HeapOptions { Verify = true });
        var roots = new Roots(1);
        heap.AddRoots(roots);
        for (int length = 0; length <= 12; length++)
        {
            string text = new string('x', length);
            int a = heap.NewString(text), b = heap.NewString(text);
            Assert.True(heap.SameString(a, b), $"length {length}");
            Assert.False(heap.SameString(a, heap.NewString(text + "x")), $"length {length} against {length + 1}");
            for (int at = 0; at < length; at++)
            {
                string other = text[..at] + "y" + text[(at + 1)..];
                Assert.False(heap.SameString(a, heap.NewString(other)), $"length {length}, differing at {at}");
            }
        }
        roots.Slots[0] = heap.NewString("abc");
        heap.Collect();
        heap.VerifyNow();
        int r = (int)roots.Slots[0];
        heap.Space[r + 1] |= (long)'d' << 48; // a fourth code unit in "abc"'s word
        Assert.Contains("past its end that are not zero", Assert.Throws<HeapCorruptionException>(heap.VerifyNow).Message);
    }

    /// <summary>
    /// The heap remembers the last key found, a string key too (the same string, or an equal one, which is looked
    /// up); the fuel a look-up costs is the characters of a string key hashed, so the one remembered is charged
    /// them again, as a second look-up would be. Fails when a remembered string key is charged nothing.
    /// </summary>
    [Fact]
    public void AStringKeyFoundAgainIsChargedItsCharactersAgain()
    {
        var heap = new Heap();
        heap.Reserve(Heap.MapWords + Heap.MapStoreWords(8));
        int m = heap.NewMap(TypeKind.String, TypeKind.Int, 8);
        int alpha = heap.NewString("alpha"), beta = heap.NewString("beta!!!"), alphaAgain = heap.NewString("alpha");
        heap.MapAppend(m, alpha, 1);
        heap.MapAppend(m, beta, 2);
        heap.MapWork = 0;
        Assert.Equal(1, heap.MapFind(m, beta));
        Assert.Equal(1, heap.MapFind(m, beta));
        Assert.Equal(14, heap.MapWork);
        // An equal string elsewhere on the heap is the same key.
        Assert.Equal(0, heap.MapFind(m, alphaAgain));
        Assert.Equal(0, heap.MapFind(m, alpha));
        Assert.Equal(24, heap.MapWork);
        Assert.True(heap.MapRemove(m, alpha));
        Assert.Equal(-1, heap.MapFind(m, alphaAgain));
    }

    /// <summary>
    /// The heap remembers the last int key a look-up found; a collection moves maps, and another map can take the
    /// address the first had. Map A holds key 5 as its fourth entry and map B as its first; A's key 5 is found,
    /// then only B is kept, and the collection copies it to where A was: B's key 5 is its first entry, not A's
    /// fourth (a value of B's other keys).
    /// </summary>
    [Fact]
    public void AKeyFoundBeforeACollectionIsLookedUpAgainInTheMapNowAtThatAddress()
    {
        var heap = new Heap();
        var roots = new Roots(2);
        heap.AddRoots(roots);
        heap.Reserve(2 * (Heap.MapWords + Heap.MapStoreWords(8)));
        int a = heap.NewMap(TypeKind.Int, TypeKind.Int, 8);
        int b = heap.NewMap(TypeKind.Int, TypeKind.Int, 8);
        roots.Slots[0] = a;
        roots.Slots[1] = b;
        foreach (long k in new long[] { 100, 101, 102, 5 }) heap.MapAppend(a, k, k * 10);
        foreach (long k in new long[] { 5, 200 }) heap.MapAppend(b, k, k + 1);
        Assert.Equal(3, heap.MapFind(a, 5));
        roots.Slots[0] = 0;
        heap.Collect();
        b = (int)roots.Slots[1];
        Assert.Equal(a, b);
        Assert.Equal(0, heap.MapFind(b, 5));
        Assert.Equal(6, heap.MapValueAt(b, heap.MapFind(b, 5)));
    }
}
