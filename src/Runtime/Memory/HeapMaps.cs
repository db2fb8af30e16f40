using System.Runtime.CompilerServices;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Runtime.Memory;

// Maps on the VM's heap: an insertion-ordered hash table (see the layout in Heap.cs). Like every allocation,
// growing a map happens only after Reserve, and the callers re-read their references after it.
public sealed partial class Heap
{
    public const int MapWords = 5;
    private const int MinMapCapacity = 8;

    private static int IndexSlots(int capacity) => (int)Math.Min(1 << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(MinMapCapacity, capacity) * 2));

    /// <summary>Words a map with room for <paramref name="capacity"/> entries takes, its stores included.</summary>
    public static long MapStoreWords(long capacity)
    {
        capacity = Math.Max(MinMapCapacity, capacity);
        if (capacity > (1 << 28)) return long.MaxValue / 2;
        return 1 + 3 * capacity + DataWords(IndexSlots((int)capacity));
    }

    /// <summary>A new empty map. Needs <see cref="MapWords"/> + <see cref="MapStoreWords"/>(capacity) reserved.</summary>
    public int NewMap(TypeKind key, TypeKind value, int capacity)
    {
        capacity = Math.Max(MinMapCapacity, capacity);
        int r = Bump(MapWords);
        _space[r] = KindMap | ((long)key << 8) | ((long)value << 16);
        NewMapStores(r, capacity);
        return r;
    }

    private void NewMapStores(int map, int capacity)
    {
        var key = MapKeyKind(map);
        var value = MapValueKind(map);
        long flags = (VmType.IsReferenceKind(key) ? 0x100 : 0) | (VmType.IsReferenceKind(value) ? 0x200 : 0);
        int entries = Bump(1 + 3 * capacity);
        _space[entries] = KindMapEntries | flags | ((long)(3 * capacity) << 32);
        int index = NewData(TypeKind.Int, IndexSlots(capacity));
        _space[map + 3] = entries;
        _space[map + 4] = index;
    }


    public TypeKind MapKeyKind(int map) => (TypeKind)(byte)(_space[map] >> 8);

    public TypeKind MapValueKind(int map) => (TypeKind)(byte)(_space[map] >> 16);

    public int MapCount(int map) => (int)_space[map + 1];

    private int MapUsed(int map) => (int)_space[map + 2];

    private int MapCapacity(int map) => LengthOf(_space[(int)_space[map + 3]]) / 3;

    /// <summary>
    /// The hash of a key: never negative (-1 marks a removed entry); its top bits choose the key's slot
    /// (<see cref="FirstSlot"/>). Keyed with secrets chosen at random per process, so that a program can't choose
    /// keys that all land in one slot and make each insertion walk all the others (with the fixed hash before,
    /// keys such as <c>i &lt;&lt; 40</c> made n insertions take n² probes): an int, bool or other key is multiplied
    /// is XORed with a random seed, its high half folded into its low half, and multiplied by 2^64 / φ (Fibonacci
    /// hashing, which spreads a run of consecutive keys evenly, so a dense range needs almost no probes, while the
    /// fold lets keys that differ only in high bits, such as multiples of 2^20, differ in the slot too); a string is
    /// hashed by .NET's randomized Marvin. (A random multiplier alone, tried before, left about one process in ten
    /// with a multiplier under which such multiples crowd into a few slots.)
    /// </summary>
    private long Hash(TypeKind kind, long key)
    {
        if (kind != TypeKind.String)
        {
            ulong x = (ulong)key ^ KeySeed;
            x ^= x >> 32;
            return (long)((x * 0x9E3779B97F4A7C15UL) >> 1);
        }
        var chars = StringChars((int)key);
        MapProbes += chars.Length;
        return (long)(((ulong)(uint)string.GetHashCode(chars) * 0x9E3779B97F4A7C15UL) >> 1);
    }

    /// <summary>The secret of <see cref="Hash"/>, random per process, so that a program can't choose keys for the slots they take.</summary>
    private static readonly ulong KeySeed = BitConverter.ToUInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    /// <summary>The slot a hash starts its search at in an index of <paramref name="slots"/> (a power of two): its top bits.</summary>
    private static int FirstSlot(long hash, int slots) => (int)((ulong)hash >> (63 - System.Numerics.BitOperations.Log2((uint)slots)));

    /// <summary>The work of every map operation since the interpreter last charged it (<c>Interpreter.ChargeMapWork</c>):
    /// slots looked at beyond the first (which the keyed hash keeps few), characters of string keys hashed and
    /// compared, and entries moved when a map grows.</summary>
    public long MapProbes;

    private bool KeysEqual(TypeKind kind, long a, long b)
    {
        if (a == b) return true;
        if (kind != TypeKind.String || a == 0 || b == 0) return false;
        var x = StringChars((int)a);
        MapProbes += x.Length;
        return x.SequenceEqual(StringChars((int)b));
    }

    /// <summary>The entry number of <paramref name="key"/>, or -1 when the map does not hold it.</summary>
    public int MapFind(int map, long key)
    {
        var kind = MapKeyKind(map);
        long hash = Hash(kind, key);
        int entries = (int)_space[map + 3], index = (int)_space[map + 4];
        int mask = LengthOf(_space[index]) - 1;
        for (int slot = FirstSlot(hash, mask + 1), probes = 0; ; slot = (slot + 1) & mask, probes++)
        {
            long e = _space[index + 1 + slot];
            if (e == 0)
            {
                MapProbes += probes;
                return -1;
            }
            int at = entries + 1 + 3 * (int)(e - 1);
            if (_space[at] == hash && KeysEqual(kind, _space[at + 1], key))
            {
                MapProbes += probes;
                return (int)(e - 1);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long MapValueAt(int map, int entry) => _space[(int)_space[map + 3] + 1 + 3 * entry + 2];

    public void MapSetValueAt(int map, int entry, long value) => _space[(int)_space[map + 3] + 1 + 3 * entry + 2] = value;

    /// <summary>True when an entry can be added without growing the map's stores.</summary>
    public bool MapHasRoom(int map) => MapUsed(map) < MapCapacity(map);

    /// <summary>The capacity the map grows to when it is full: room for twice its live entries.</summary>
    public int MapGrownCapacity(int map) => (int)Math.Min(1 << 28, Math.Max(MinMapCapacity, MapCount(map) * 2L + 1));

    /// <summary>
    /// Gives the map new stores with room for <paramref name="capacity"/> entries, keeping the live entries in
    /// order (removed ones are dropped). Needs <see cref="MapStoreWords"/>(capacity) reserved.
    /// </summary>
    public void MapGrow(int map, int capacity)
    {
        int oldEntries = (int)_space[map + 3];
        int used = MapUsed(map);
        MapProbes += used;
        NewMapStores(map, capacity);
        _space[map + 1] = 0;
        _space[map + 2] = 0;
        for (int i = 0; i < used; i++)
        {
            int at = oldEntries + 1 + 3 * i;
            if (_space[at] >= 0) Insert(map, _space[at], _space[at + 1], _space[at + 2]);
        }
    }

    /// <summary>Adds an entry for a key the map does not hold; the map must have room.</summary>
    public void MapAppend(int map, long key, long value) => Insert(map, Hash(MapKeyKind(map), key), key, value);

    private void Insert(int map, long hash, long key, long value)
    {
        int entries = (int)_space[map + 3], index = (int)_space[map + 4];
        int e = MapUsed(map);
        int at = entries + 1 + 3 * e;
        _space[at] = hash;
        _space[at + 1] = key;
        _space[at + 2] = value;
        int mask = LengthOf(_space[index]) - 1;
        int slot = FirstSlot(hash, mask + 1);
        while (_space[index + 1 + slot] != 0)
        {
            slot = (slot + 1) & mask;
            MapProbes++;
        }
        _space[index + 1 + slot] = e + 1;
        _space[map + 1] = MapCount(map) + 1;
        _space[map + 2] = e + 1;
    }

    /// <summary>Removes a key; false when the map did not hold it. The entry stays, marked removed, until the map grows.</summary>
    public bool MapRemove(int map, long key)
    {
        int e = MapFind(map, key);
        if (e < 0) return false;
        int at = (int)_space[map + 3] + 1 + 3 * e;
        _space[at] = -1;
        _space[at + 1] = 0;
        _space[at + 2] = 0;
        _space[map + 1] = MapCount(map) - 1;
        return true;
    }

    /// <summary>The live entries' keys (or values) in insertion order, into a span of <see cref="MapCount"/> slots.</summary>
    public void MapCopy(int map, bool values, Span<long> into)
    {
        int entries = (int)_space[map + 3];
        int used = MapUsed(map), k = 0;
        for (int i = 0; i < used; i++)
        {
            int at = entries + 1 + 3 * i;
            if (_space[at] >= 0) into[k++] = _space[at + (values ? 2 : 1)];
        }
    }
}
