using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Natives;

namespace Hlvm.Tests;

/// <summary>
/// The searches that natives and map operations make in linear time, so that one call can't do quadratic work
/// for a few units of fuel: the Two-Way substring search (<see cref="TextSearch"/>) finds what .NET's ordinal
/// search finds, and map keys chosen to collide under a fixed hash don't make each insertion walk the others.
/// </summary>
public sealed class TextSearchTests
{
    /// <summary>Texts and patterns over small alphabets, where partial matches and periods abound; patterns
    /// longer than <see cref="TextSearch.ShortPattern"/> take the Two-Way path.</summary>
    [Theory]
    [InlineData("ab", 1)]
    [InlineData("abc", 2)]
    [InlineData("aab", 3)]
    public void TwoWayFindsWhatOrdinalIndexOfFinds(string alphabet, int seed)
    {
        var random = new Random(seed);
        string Make(int length) => string.Concat(Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)]));
        for (int round = 0; round < 3000; round++)
        {
            string pattern = round % 3 == 0
                ? string.Concat(Enumerable.Repeat(Make(random.Next(1, 5)), random.Next(9, 30))) + Make(random.Next(0, 3)) // periodic
                : Make(random.Next(TextSearch.ShortPattern - 2, 90));
            // A text that holds the pattern (or most of it) somewhere, among random and periodic stretches.
            string text = Make(random.Next(0, 60)) + pattern[..random.Next(pattern.Length / 2, pattern.Length + 1)] + Make(random.Next(0, 60))
                + (random.Next(2) == 0 ? pattern : "") + Make(random.Next(0, 40));
            var search = new TextSearch(pattern);
            for (int start = 0; start <= text.Length; start += 1 + random.Next(7))
                Assert.True(text.IndexOf(pattern, start, StringComparison.Ordinal) == search.IndexOf(text, start),
                    $"pattern \"{pattern}\" in \"{text}\" from {start}");
        }
    }

    [Theory]
    [InlineData(300_000, "a", "b")]
    [InlineData(300_000, "ab", "b")]
    [InlineData(300_000, "aab", "aa")]
    public void TheWorstCasesOfANaiveSearchAreFoundOrRefused(int length, string unit, string tail)
    {
        string text = string.Concat(Enumerable.Repeat(unit, length / unit.Length));
        string pattern = string.Concat(Enumerable.Repeat(unit, length / unit.Length / 3)) + tail;
        Assert.Equal(text.IndexOf(pattern, StringComparison.Ordinal), new TextSearch(pattern).IndexOf(text));
        string present = text[1000..50_000];
        Assert.Equal(text.IndexOf(present, StringComparison.Ordinal), new TextSearch(present).IndexOf(text));
    }

    /// <summary>
    /// Keys that differ only in their high bits all fall into one slot of the plain hash (and of the old fixed
    /// hash, under which n insertions took n² probes); the first long run makes the map hash its keys with the
    /// secret, which spreads them like any other keys.
    /// </summary>
    [Theory]
    [InlineData(40)]
    [InlineData(32)]
    [InlineData(20)]
    public void MapKeysChosenToCollideStillTakeFewProbes(int shift)
    {
        const int n = 20_000;
        var (heap, roots) = NewMap();
        for (long i = 0; i < n; i++) Append(heap, roots, i << shift | i << 62 >>> 1, i);
        int map = (int)roots.Slots[0];
        for (long i = 0; i < n; i++) Assert.Equal(i, heap.MapValueAt(map, heap.MapFind(map, i << shift | i << 62 >>> 1)));
        // Linear probing at a load of at most two thirds: a few probes per operation, the growths' moves,
        // and one rehash, after at most a run of 32 slots.
        Assert.True(heap.MapProbes < 12L * n, $"{heap.MapProbes} probes for {n} insertions and {n} lookups");
    }

    /// <summary>Under the plain hash a run of keys takes a run of slots, so looking each key up reads the index in
    /// order and walks no slot beyond the first (a scattering hash, as before, walked about one in three).</summary>
    [Fact]
    public void KeysInARunTakeNoProbes()
    {
        const int n = 20_000;
        var (heap, roots) = NewMap();
        for (long i = -n / 2; i < n / 2; i++) Append(heap, roots, i, i * 3);
        int map = (int)roots.Slots[0];
        heap.MapProbes = 0;
        for (long i = -n / 2; i < n / 2; i++) Assert.Equal(i * 3, heap.MapValueAt(map, heap.MapFind(map, i)));
        Assert.Equal(-1, heap.MapFind(map, n));
        Assert.Equal(0, heap.MapProbes);
    }

    /// <summary>Hashing the keys again with the secret, in the middle of a map's life, keeps every live entry,
    /// the insertion order and the removals.</summary>
    [Fact]
    public void RehashingKeepsEntriesOrderAndRemovals()
    {
        var (heap, roots) = NewMap();
        var expected = new List<long>();
        for (long i = 0; i < 300; i++)
        {
            long key = i << 24;
            Append(heap, roots, key, i);
            expected.Add(key);
            if (i % 3 == 2)
            {
                long gone = (i - 1) << 24;
                Assert.True(heap.MapRemove((int)roots.Slots[0], gone));
                expected.Remove(gone);
            }
        }
        int map = (int)roots.Slots[0];
        var keys = new long[heap.MapCount(map)];
        heap.MapCopy(map, values: false, keys);
        Assert.Equal(expected, keys);
        for (long i = 0; i < 300; i++)
        {
            int e = heap.MapFind(map, i << 24);
            if (expected.Contains(i << 24)) Assert.Equal(i, heap.MapValueAt(map, e));
            else Assert.Equal(-1, e);
        }
    }

    private static (Heap, Roots) NewMap()
    {
        var heap = new Heap(new HeapOptions { Verify = true });
        var roots = new Roots();
        heap.AddRoots(roots);
        heap.Reserve(Heap.MapWords + Heap.MapStoreWords(8));
        roots.Slots[0] = heap.NewMap(Hlvm.Runtime.Bytecode.TypeKind.Int, Hlvm.Runtime.Bytecode.TypeKind.Int, 8);
        return (heap, roots);
    }

    /// <summary>Adds a key the map doesn't hold, growing it as the interpreter does.</summary>
    private static void Append(Heap heap, Roots roots, long key, long value)
    {
        if (!heap.MapHasRoom((int)roots.Slots[0]))
        {
            int capacity = heap.MapGrownCapacity((int)roots.Slots[0]);
            heap.Reserve(Heap.MapStoreWords(capacity)); // may move the map: read it again after
            heap.MapGrow((int)roots.Slots[0], capacity);
        }
        heap.MapAppend((int)roots.Slots[0], key, value);
    }

    private sealed class Roots : IRootSource
    {
        public readonly long[] Slots = new long[1];

        public void VisitRoots(Heap heap) => heap.Relocate(ref Slots[0]);
    }
}
