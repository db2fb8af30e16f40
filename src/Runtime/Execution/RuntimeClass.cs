using Hlvm.Runtime.Bytecode;

namespace Hlvm.Runtime.Execution;

/// <summary>
/// A class or interface of a loaded module, with everything the interpreter and the collector need at run time:
/// the full field layout (inherited fields first), which fields hold references, the method table (inherited
/// slots first, overrides in place), the implementation of each interface method, and the set of classes and
/// interfaces its instances belong to. Built and checked by the verifier.
/// </summary>
public sealed class RuntimeClass
{
    public required int Index { get; init; }
    public required ClassDef Def { get; init; }
    public RuntimeClass? Super { get; init; }
    public string Name => Def.Name;
    public bool IsInterface => Def.IsInterface;

    public required FieldDef[] Fields { get; init; }
    public required bool[] RefFields { get; init; }

    /// <summary>
    /// Which fields are of a non-nullable reference type. Such a field holds null only before its constructor
    /// sets it (a superclass's init calling an overriding method can get there); reading it then is a NullError,
    /// so that no value of a non-nullable type is ever observed null.
    /// </summary>
    public required bool[] NonNullFields { get; init; }

    /// <summary>Function index per method slot, and each slot's name.</summary>
    public required int[] VTable { get; init; }
    public required string[] VTableNames { get; init; }

    /// <summary>Interface index → function index of the implementation of each of its signatures.</summary>
    public required Dictionary<int, int[]> ITables { get; init; }

    /// <summary>This class, its superclasses and every interface they implement: class indices in ascending order.</summary>
    public required int[] Ancestors { get; init; }

    /// <summary>Whether this class is the class <paramref name="classIndex"/>, a subclass of it, or implements it.</summary>
    public bool Is(int classIndex)
    {
        // A binary search of a few entries: ancestors are as many as the class is deep plus its interfaces.
        var a = Ancestors;
        int lo = 0, hi = a.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (a[mid] == classIndex) return true;
            if (a[mid] < classIndex) lo = mid + 1;
            else hi = mid - 1;
        }
        return false;
    }

    /// <summary>The methods, resolved to loaded functions once the module is loaded.</summary>
    internal LoadedFunction[] VTableFunctions { get; set; } = [];

    internal Dictionary<int, LoadedFunction[]> ITableFunctions { get; set; } = [];

    /// <summary>The name of the field where the VM records an error's trace id; programs can't name it.</summary>
    public const string TraceFieldName = "$trace";

    /// <summary>Index of the string field <c>message</c> an error class has (what an uncaught error prints), or -1.</summary>
    public required int MessageField { get; init; }

    /// <summary>Index of the int field <see cref="TraceFieldName"/> (the prelude's Error and its subclasses), or -1.</summary>
    public required int TraceField { get; init; }

    /// <summary>The id the heap gives this class's instances, set when the module is attached to a heap.</summary>
    internal int HeapId { get; set; } = -1;
}
