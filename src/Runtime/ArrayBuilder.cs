namespace Hlvm.Runtime;

/// <summary>
/// A growable array: <see cref="List{T}"/>'s few operations the verifier and class table need. It exists for
/// start-up time: the framework's generic collections over hlvm's own value types (and LINQ over value types) are
/// compiled at run time on first use, because ReadyToRun can't precompile the framework's code for types outside
/// it; this one is hlvm's own code and is precompiled with it, for hlvm's own types (a tuple is the framework's: use a
/// record struct). (About a millisecond of each run's start per
/// collection type replaced; see bench/README.md, "Start-up of the deployed build".)
/// </summary>
internal sealed class ArrayBuilder<T>(int capacity = 8)
{
    private T[] _items = new T[Math.Max(capacity, 1)];

    public int Count { get; private set; }

    public ref T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
            return ref _items[index];
        }
    }

    public void Add(T item)
    {
        if (Count == _items.Length)
        {
            // Not Array.Resize: the framework's generic method, compiled at run time for a value type.
            var bigger = new T[_items.Length * 2];
            Array.Copy(_items, bigger, Count);
            _items = bigger;
        }
        _items[Count++] = item;
    }

    /// <summary>Removes and returns the last item (the builder used as a stack).</summary>
    public T Pop()
    {
        if (Count == 0) throw new InvalidOperationException("the builder is empty");
        return _items[--Count];
    }

    public T[] ToArray()
    {
        var items = new T[Count];
        Array.Copy(_items, items, Count);
        return items;
    }
}
