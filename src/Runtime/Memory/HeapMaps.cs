using System.Runtime.CompilerServices;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Runtime.Memory;

// Maps on the VM's heap: an insertion-ordered hash table (see the layout in Heap.cs). Like every allocation,
// growing a map happens only after Reserve, and the callers re-read their references after it.
public sealed partial class Heap
{
    // The layout of a map, spelled here once for the maps' code, the collector and the heap verifier.

    /// <summary>Words of a map: its header, then the live entries' count, the used entries' count (removed ones
    /// included), the entry store and the index.</summary>
    public const int MapWords = 5;

    internal const int MapCountWord = 1, MapUsedWord = 2, MapEntriesWord = 3, MapIndexWord = 4;

    /// <summary>Words of one entry of the entry store, after the store's header: the key's hash (-1 once the entry
    /// is removed), the key, the value.</summary>
    internal const int EntryWords = 3, EntryKey = 1, EntryValue = 2;

    /// <summary>Flags of an entry store's header: its keys, its values are references (the collector updates them).</summary>
    internal const long KeysAreReferences = 0x100, ValuesAreReferences = 0x200;

    private const int MinMapCapacity = 8;

    /// <summary>The slots of the index of a map with room for <paramref name="capacity"/> entries: a power of two
    /// at least 1.5 times the capacity, so a full map's index is at most two thirds used.</summary>
    private static int IndexSlots(int capacity) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(Math.Max(MinMapCapacity, capacity) * 3L / 2));

    /// <summary>The index's slots are 32-bit, two to a word.</summary>
    private static int IndexWords(int capacity) => IndexSlots(capacity) / 2;

    /// <summary>Slot <paramref name="slot"/> of the index at <paramref name="index"/>: an entry number + 1, or 0 when empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int IndexSlot(int index, int slot) => ref Unsafe.Add(ref Unsafe.As<long, int>(ref _space[index + 1]), slot);

    /// <summary>The slot mask of the index at <paramref name="index"/>: its slots, a power of two, minus one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int IndexMask(int index) => 2 * LengthOf(_space[index]) - 1;

    /// <summary>The first word (the hash; the key and value follow) of entry <paramref name="e"/> of the entry store at <paramref name="entries"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int EntryAt(int entries, int e) => entries + 1 + EntryWords * e;

    /// <summary>Words a map with room for <paramref name="capacity"/> entries takes, its stores included.</summary>
    public static long MapStoreWords(long capacity)
    {
        capacity = Math.Max(MinMapCapacity, capacity);
        if (capacity > (1 << 28)) return long.MaxValue / 2;
        return 1 + EntryWords * capacity + DataWords(IndexWords((int)capacity));
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
        ForgetFound();
        var key = MapKeyKind(map);
        var value = MapValueKind(map);
        long flags = (VmType.IsReferenceKind(key) ? KeysAreReferences : 0) | (VmType.IsReferenceKind(value) ? ValuesAreReferences : 0);
        int entries = Bump(1 + EntryWords * capacity);
        _space[entries] = KindMapEntries | flags | ((long)(EntryWords * capacity) << 32);
        int index = NewData(TypeKind.Int, IndexWords(capacity));
        _space[map + MapEntriesWord] = entries;
        _space[map + MapIndexWord] = index;
    }


    public TypeKind MapKeyKind(int map) => (TypeKind)(byte)(_space[map] >> 8);

    public TypeKind MapValueKind(int map) => (TypeKind)(byte)(_space[map] >> 16);

    public int MapCount(int map) => (int)_space[map + MapCountWord];

    private int MapUsed(int map) => (int)_space[map + MapUsedWord];

    private int MapCapacity(int map) => LengthOf(_space[(int)_space[map + MapEntriesWord]]) / EntryWords;

    /// <summary>
    /// The hash of a key: never negative (-1 marks a removed entry); its low bits choose the key's slot. An int or
    /// bool key starts out hashed plainly, its high half folded into its low half (a key that fits in 32 bits is
    /// its own hash): keys close together take slots close together, so a run of keys, or keys visited in order,
    /// read the index almost in order (mapcount ran four times as long with its keys scattered over the index).
    /// A program can choose keys that crowd into a few slots under that hash (multiples of 2^20, or
    /// <c>i &lt;&lt; 40</c>), so an operation that walks a run of more than <see cref="LongProbeRun"/> slots
    /// hashes the map's keys again with a secret chosen at random per process (<see cref="RehashWithSecret"/>),
    /// as .NET's dictionaries switch to randomized hashing of strings when they collide: XORed with the secret and
    /// mixed by MurmurHash3's finaliser. (A single multiplication by 2^64 / φ, the product's top bits chosen, left
    /// keys that differ only in their high bits crowded for some secrets: i &lt;&lt; 40 took from 14,000 to over
    /// 240,000 probes for 20,000 insertions and lookups, depending on the secret.) The map keeps the
    /// keyed hash from then on, so crowding keys cost each operation at most that run, once. A string key is
    /// always hashed by .NET's randomized Marvin.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Hash(int map, long key)
    {
        if (PlainHashed(_space[map])) return PlainHash(key);
        return KeyedOrStringHash(map, key);
    }

    /// <summary>Whether the map with this header hashes its keys plainly (<see cref="PlainHash"/>): int or bool keys
    /// not yet hashed with the secret.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool PlainHashed(long header) => (header & MapKeyedFlag) == 0 && (TypeKind)(byte)(header >> 8) != TypeKind.String;

    /// <summary>The plain hash of an int or bool key: the high half beyond the low half's sign extension, folded in.
    /// A key that fits in 32 bits hashes to itself, so -1, -2, ... take the index's last slots and never meet 0, 1, ...</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long PlainHash(long key)
    {
        ulong x = (ulong)key;
        ulong beyond = x ^ (ulong)(long)(int)key;
        return (long)((x ^ (beyond >> 32)) & long.MaxValue);
    }

    /// <summary><see cref="Hash"/> of a string key, or of an int or bool key of a map hashed with the secret.</summary>
    private long KeyedOrStringHash(int map, long key)
    {
        if (MapKeyKind(map) != TypeKind.String)
        {
            // MurmurHash3's 64-bit finaliser: every bit of the key and the secret reaches every bit of the slot.
            ulong x = (ulong)key ^ KeySeed;
            x = (x ^ (x >> 33)) * 0xFF51AFD7ED558CCDUL;
            x = (x ^ (x >> 33)) * 0xC4CEB9FE1A85EC53UL;
            return (long)((x ^ (x >> 33)) & long.MaxValue);
        }
        var chars = StringChars((int)key);
        MapWork += chars.Length;
        return (uint)string.GetHashCode(chars);
    }

    /// <summary>The secret of the keyed hash, random per process, so that a program can't choose keys for the slots they take.</summary>
    private static readonly ulong KeySeed = BitConverter.ToUInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    /// <summary>Set in a map's header once its int or bool keys are hashed with <see cref="KeySeed"/>.</summary>
    private const long MapKeyedFlag = 1L << 24;

    /// <summary>The longest run of slots an operation walks before the map's keys are hashed with the secret.
    /// Harmless keys under the plain hash rarely come near it (multiples of 32 in a full map take runs of 21).</summary>
    private const int LongProbeRun = 32;

    /// <summary>True when a run of <paramref name="probes"/> slots means the map's keys should be hashed with the secret.</summary>
    private bool RunTooLong(int map, int probes) =>
        probes > LongProbeRun && PlainHashed(_space[map]);

    /// <summary>
    /// Hashes the map's keys with the secret from now on: the entries' hashes are computed again and the index is
    /// built again in place (the same words, so it allocates nothing and may run inside any map operation).
    /// </summary>
    private void RehashWithSecret(int map)
    {
        ForgetFound();
        _space[map] |= MapKeyedFlag;
        int entries = (int)_space[map + MapEntriesWord], used = MapUsed(map);
        MapWork += used;
        for (int i = 0; i < used; i++)
        {
            int at = EntryAt(entries, i);
            if (_space[at] >= 0) _space[at] = Hash(map, _space[at + EntryKey]);
        }
        int index = (int)_space[map + MapIndexWord];
        Array.Clear(_space, index + 1, LengthOf(_space[index]));
        BuildIndex(map);
    }

    /// <summary>Fills the map's empty index from its entries.</summary>
    private void BuildIndex(int map)
    {
        int entries = (int)_space[map + MapEntriesWord], used = MapUsed(map);
        for (int i = 0; i < used; i++)
        {
            long hash = _space[EntryAt(entries, i)];
            if (hash >= 0 && !IndexEntry(map, hash, i))
            {
                RehashWithSecret(map);
                return;
            }
        }
    }

    /// <summary>Puts entry <paramref name="e"/> in the index; false, leaving it out, when that took a run that
    /// <see cref="RunTooLong"/> (the caller then hashes the keys with the secret, which indexes every entry).</summary>
    private bool IndexEntry(int map, long hash, int e)
    {
        int index = (int)_space[map + MapIndexWord];
        int mask = IndexMask(index);
        int slot = (int)hash & mask, probes = 0;
        while (IndexSlot(index, slot) != 0)
        {
            slot = (slot + 1) & mask;
            probes++;
        }
        MapProbes += probes;
        if (RunTooLong(map, probes)) return false;
        IndexSlot(index, slot) = e + 1;
        return true;
    }

    /// <summary>
    /// The work of every map operation since the interpreter last charged it (<c>Interpreter.ChargeMapWork</c>), in
    /// instructions' worth: the characters of string keys hashed, and the entries moved when a map grows or is
    /// hashed again. Only what the program's operations decide is counted, never what the hash's layout does (the
    /// slots a probe walks, the keys it compares): string hashes and the keyed hash are random per process, and the
    /// fuel a program uses must be the same on every run (<c>--fuel</c>, <c>hlvm prof --every</c>). The layout's
    /// work is bounded without it: a run of slots longer than <see cref="LongProbeRun"/> rehashes the map.
    /// </summary>
    public long MapWork;

    /// <summary>The slots map operations walked beyond the first, which the hash keeps few: how well it spreads the
    /// keys, for tests. Not charged (see <see cref="MapWork"/>).</summary>
    public long MapProbes;

    private bool KeysEqual(int map, long a, long b)
    {
        if (a == b) return true;
        if (MapKeyKind(map) != TypeKind.String || a == 0 || b == 0) return false;
        return StringChars((int)a).SequenceEqual(StringChars((int)b));
    }

    /// <summary>
    /// The last key <see cref="MapFind"/> found, its map and its entry: a program that reads a key and then writes
    /// it (<c>m[k] = m.get(k, 0) + 1</c>, or <c>if m.has(k) { m[k] = v }</c>) looks it up once. An int or bool key
    /// is the same key only when its bits are, and a string key when it is the same string (a string equal to it
    /// elsewhere is looked up); a string's characters are charged again (<see cref="_foundWork"/>), so the answer
    /// and the fuel charged are the same as a second look-up's. Forgotten (<see cref="ForgetFound"/>) wherever an
    /// entry may change its number or go: a key removed, a map's stores made anew, a collection (which moves maps
    /// and strings).
    /// </summary>
    private int _foundMap, _foundEntry;
    private long _foundKey;

    /// <summary>The <see cref="MapWork"/> of hashing the remembered key: a string key's length, else 0.</summary>
    private int _foundWork;

    private void ForgetFound() => _foundMap = 0;

    /// <summary>The entry number of <paramref name="key"/>, or -1 when the map does not hold it.</summary>
    /// <remarks>The remembered key is tested here, inlined into the caller (compiled code's <c>m.get(k, 0)</c>,
    /// <c>m[k]</c> and <c>m.has(k)</c>; <see cref="MapSetFound"/> tests it for <c>m[k] = v</c>); the look-up
    /// itself is <see cref="MapLookUp"/>.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int MapFind(int map, long key)
    {
        if (map == _foundMap && key == _foundKey)
        {
            MapWork += _foundWork;
            return _foundEntry;
        }
        return MapLookUp(map, key);
    }

    /// <summary>Sets the value of <paramref name="key"/> when it is the key <see cref="MapFind"/> found last in
    /// <paramref name="map"/>, with the work a look-up of it charges; false, having done nothing, otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MapSetFound(int map, long key, long value)
    {
        if (map != _foundMap || key != _foundKey) return false;
        MapWork += _foundWork;
        MapSetValueAt(map, _foundEntry, value);
        return true;
    }

    /// <summary><see cref="MapFind"/> of a key that is not the remembered one.</summary>
    /// <remarks>Compiled fully optimised at its first call, like <c>Interpreter.MapSetLookedUp</c>: a program
    /// of map operations otherwise ran its ReadyToRun code for a fifth of its run (mapcount) before .NET's tiering
    /// replaced it. An int or bool key under the plain hash whose slot holds it, or is empty (most look-ups), is
    /// answered here in a few instructions and without a frame; anything else walks the slots in
    /// <see cref="MapProbe"/>. Fewer instructions between one look-up's cache miss and the next let the processor
    /// overlap them: mapcount's look-ups miss the cache at every update.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int MapLookUp(int map, long key)
    {
        var space = _space;
        if (!PlainHashed(space[map])) return MapProbe(map, key);
        long hash = PlainHash(key);
        int index = (int)space[map + MapIndexWord];
        int e = IndexSlot(index, (int)hash & IndexMask(index));
        if (e == 0) return -1;
        int at = EntryAt((int)space[map + MapEntriesWord], e - 1);
        if (space[at] != hash || space[at + EntryKey] != key) return MapProbe(map, key);
        (_foundMap, _foundKey, _foundEntry, _foundWork) = (map, key, e - 1, 0);
        return e - 1;
    }

    /// <summary><see cref="MapLookUp"/> of any key: hashed, and the slots walked from its own until an empty one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int MapProbe(int map, long key)
    {
        long hash = Hash(map, key);
        int entries = (int)_space[map + MapEntriesWord], index = (int)_space[map + MapIndexWord];
        int mask = IndexMask(index);
        for (int slot = (int)hash & mask, probes = 0; ; slot = (slot + 1) & mask, probes++)
        {
            int e = IndexSlot(index, slot);
            int found = -1;
            if (e != 0)
            {
                int at = EntryAt(entries, e - 1);
                if (_space[at] != hash || !KeysEqual(map, _space[at + EntryKey], key)) continue;
                found = e - 1;
                (_foundMap, _foundKey, _foundEntry) = (map, key, found);
                _foundWork = MapKeyKind(map) == TypeKind.String ? LengthOf(_space[(int)key]) : 0;
            }
            MapProbes += probes;
            if (!RunTooLong(map, probes)) return found;
            RehashWithSecret(map);
            return MapFind(map, key);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long MapValueAt(int map, int entry) => _space[EntryAt((int)_space[map + MapEntriesWord], entry) + EntryValue];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MapSetValueAt(int map, int entry, long value) => _space[EntryAt((int)_space[map + MapEntriesWord], entry) + EntryValue] = value;

    /// <summary>True when an entry can be added without growing the map's stores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MapHasRoom(int map) => MapUsed(map) < MapCapacity(map);

    /// <summary>The capacity the map grows to when it is full: room for twice its live entries.</summary>
    public int MapGrownCapacity(int map) => (int)Math.Min(1 << 28, Math.Max(MinMapCapacity, MapCount(map) * 2L + 1));

    /// <summary>
    /// Gives the map new stores with room for <paramref name="capacity"/> entries, keeping the live entries in
    /// order (removed ones are dropped). Needs <see cref="MapStoreWords"/>(capacity) reserved.
    /// </summary>
    public void MapGrow(int map, int capacity)
    {
        int oldEntries = (int)_space[map + MapEntriesWord];
        int used = MapUsed(map), live = 0;
        MapWork += used;
        NewMapStores(map, capacity);
        int entries = (int)_space[map + MapEntriesWord];
        for (int i = 0; i < used; i++)
        {
            int from = EntryAt(oldEntries, i), to = EntryAt(entries, live);
            if (_space[from] < 0) continue;
            _space[to] = _space[from];
            _space[to + EntryKey] = _space[from + EntryKey];
            _space[to + EntryValue] = _space[from + EntryValue];
            live++;
        }
        _space[map + MapCountWord] = live;
        _space[map + MapUsedWord] = live;
        BuildIndex(map);
    }

    /// <summary>Adds an entry for a key the map does not hold; the map must have room.</summary>
    public void MapAppend(int map, long key, long value)
    {
        int e = MapUsed(map);
        int at = EntryAt((int)_space[map + MapEntriesWord], e);
        long hash = Hash(map, key);
        _space[at] = hash;
        _space[at + EntryKey] = key;
        _space[at + EntryValue] = value;
        _space[map + MapCountWord] = MapCount(map) + 1;
        _space[map + MapUsedWord] = e + 1;
        if (!IndexEntry(map, hash, e)) RehashWithSecret(map);
    }

    /// <summary>Removes a key; false when the map did not hold it. The entry stays, marked removed, until the map grows.</summary>
    public bool MapRemove(int map, long key)
    {
        int e = MapFind(map, key);
        if (e < 0) return false;
        ForgetFound();
        int at = EntryAt((int)_space[map + MapEntriesWord], e);
        _space[at] = -1;
        _space[at + EntryKey] = 0;
        _space[at + EntryValue] = 0;
        _space[map + MapCountWord] = MapCount(map) - 1;
        return true;
    }

    /// <summary>The live entries' keys (or values) in insertion order, into a span of <see cref="MapCount"/> slots.</summary>
    public void MapCopy(int map, bool values, Span<long> into)
    {
        int entries = (int)_space[map + MapEntriesWord];
        int used = MapUsed(map), k = 0;
        for (int i = 0; i < used; i++)
        {
            int at = EntryAt(entries, i);
            if (_space[at] >= 0) into[k++] = _space[at + (values ? EntryValue : EntryKey)];
        }
    }
}
