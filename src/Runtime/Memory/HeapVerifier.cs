using Hlvm.Runtime.Bytecode;
using System.Collections;

namespace Hlvm.Runtime.Memory;

/// <summary>
/// Checks the heap's invariants (a debug switch, <c>--verify-heap</c>): the objects tile the used words exactly,
/// every header is well formed, and every reference in an object or a root points at the start of an object of
/// a kind that may be there; and every word above the used ones, up to the heap's size, is zero, as allocation,
/// which doesn't clear, relies on, except the garbage of a reused space that allocation has not
/// reached yet (the heap clears it ahead of the top). A failure is a bug in the VM, reported as
/// <see cref="HeapCorruptionException"/>.
/// </summary>
internal static class HeapVerifier
{
    public static void Check(Heap heap, long[] space, int top, int limit, (int From, int To) garbage, IEnumerable<IRootSource> roots)
    {
        if (garbage.From < garbage.To && garbage.From < top)
            throw new HeapCorruptionException($"word {garbage.From}, below the top ({top}), is counted as garbage not cleared yet");
        CheckZero(space, top, Math.Min(limit, garbage.From < garbage.To ? garbage.From : limit), top);
        if (garbage.From < garbage.To) CheckZero(space, Math.Max(garbage.To, top), limit, top);
        var starts = new BitArray(top);
        for (int at = 1; at < top;)
        {
            long h = space[at];
            byte kind = Heap.KindOf(h);
            if (kind is not (Heap.KindString or Heap.KindArray or Heap.KindData or Heap.KindRefData or Heap.KindBytes or Heap.KindObject or Heap.KindMap or Heap.KindMapEntries or Heap.KindClosure))
                throw new HeapCorruptionException($"word {at}: header 0x{h:x16} has no valid kind");
            starts[at] = true;
            int size = Heap.SizeOf(h);
            if (at + size > top) throw new HeapCorruptionException($"object at word {at} ({size} words) runs past the top ({top})");
            at += size;
        }
        for (int at = 1; at < top; at += Heap.SizeOf(space[at]))
        {
            long h = space[at];
            switch (Heap.KindOf(h))
            {
                case Heap.KindString:
                    {
                        // Heap.SameString compares whole words: the code units past the length must be zero.
                        int length = Heap.LengthOf(h);
                        if (length % 4 != 0 && (ulong)space[at + 1 + length / 4] >> (16 * (length % 4)) != 0)
                            throw new HeapCorruptionException($"string at word {at} of {length} characters has code units past its end that are not zero");
                        break;
                    }
                case Heap.KindArray:
                    int data = (int)space[at + 2];
                    if (data <= 0 || data >= top || !starts[data] || Heap.KindOf(space[data]) is not (Heap.KindData or Heap.KindRefData or Heap.KindBytes))
                        throw new HeapCorruptionException($"array at word {at} has a bad backing store reference {data}");
                    var element = (TypeKind)(byte)(h >> 8);
                    byte expected = Heap.StoreKind(element);
                    if (Heap.KindOf(space[data]) != expected)
                        throw new HeapCorruptionException($"array at word {at} of {element} elements has a backing store of kind {Heap.KindOf(space[data])}, not {expected}");
                    if (space[at + 1] < 0 || space[at + 1] > Heap.LengthOf(space[data]))
                        throw new HeapCorruptionException($"array at word {at} has length {space[at + 1]} beyond its capacity");
                    break;
                case Heap.KindRefData:
                    for (int i = 1; i <= Heap.LengthOf(h); i++) CheckRef(space, starts, top, space[at + i], $"element {i - 1} of store at word {at}");
                    break;
                case Heap.KindMap:
                    {
                        long entries = space[at + Heap.MapEntriesWord], index = space[at + Heap.MapIndexWord];
                        if (entries <= 0 || entries >= top || !starts[(int)entries] || Heap.KindOf(space[entries]) != Heap.KindMapEntries)
                            throw new HeapCorruptionException($"map at word {at} has a bad entry store {entries}");
                        if (index <= 0 || index >= top || !starts[(int)index] || Heap.KindOf(space[index]) != Heap.KindData)
                            throw new HeapCorruptionException($"map at word {at} has a bad index {index}");
                        long live = space[at + Heap.MapCountWord], used = space[at + Heap.MapUsedWord];
                        if (live < 0 || live > used || used > Heap.LengthOf(space[entries]) / Heap.EntryWords)
                            throw new HeapCorruptionException($"map at word {at} counts {live} live of {used} used entries");
                        break;
                    }
                case Heap.KindMapEntries:
                    {
                        bool keys = (h & Heap.KeysAreReferences) != 0, values = (h & Heap.ValuesAreReferences) != 0;
                        for (int e = 0; e < Heap.LengthOf(h) / Heap.EntryWords; e++)
                        {
                            int entry = at + 1 + e * Heap.EntryWords;
                            if (keys) CheckRef(space, starts, top, space[entry + Heap.EntryKey], $"key {e} of map entries at word {at}");
                            if (values) CheckRef(space, starts, top, space[entry + Heap.EntryValue], $"value {e} of map entries at word {at}");
                        }
                        break;
                    }
                case Heap.KindClosure:
                    if (Heap.LengthOf(h) >= heap.FunctionCount) throw new HeapCorruptionException($"closure at word {at} calls function {Heap.LengthOf(h)}, which does not exist");
                    CheckRef(space, starts, top, space[at + 1], $"environment of closure at word {at}");
                    break;
                case Heap.KindObject:
                    {
                        var refs = heap.ClassOf(at).RefFields;
                        if (refs.Length != Heap.LengthOf(h)) throw new HeapCorruptionException($"object at word {at} has {Heap.LengthOf(h)} fields, its class {refs.Length}");
                        for (int i = 0; i < refs.Length; i++)
                            if (refs[i]) CheckRef(space, starts, top, space[at + 1 + i], $"field {i} of object at word {at}");
                        break;
                    }
            }
        }
        heap.RootCheck = new RootChecker(space, starts, top);
        try
        {
            foreach (var source in roots) source.VisitRoots(heap);
        }
        finally
        {
            heap.RootCheck = null;
        }
    }

    private static void CheckZero(long[] space, int from, int to, int top)
    {
        if (to <= from) return;
        int dirty = space.AsSpan(from, to - from).IndexOfAnyExcept(0L);
        if (dirty >= 0) throw new HeapCorruptionException($"word {from + dirty}, above the top ({top}), is not zero");
    }

    private static void CheckRef(long[] space, BitArray starts, int top, long r, string where)
    {
        if (r == 0) return;
        if (r < 0 || r >= top || !starts[(int)r])
            throw new HeapCorruptionException($"{where} refers to word {r}, which is not the start of an object");
        if (Heap.KindOf(space[r]) is not (Heap.KindString or Heap.KindArray or Heap.KindObject or Heap.KindMap or Heap.KindClosure))
            throw new HeapCorruptionException($"{where} refers to an internal store at word {r}");
    }

    /// <summary>Receives root slots in place of the collector and checks each.</summary>
    internal sealed class RootChecker(long[] space, BitArray starts, int top)
    {
        public void Check(long r) => CheckRef(space, starts, top, r, "a root");
    }
}

/// <summary>The heap's invariants do not hold: a bug in the VM, never the program's fault.</summary>
public sealed class HeapCorruptionException(string message) : Exception("heap corrupted: " + message);
