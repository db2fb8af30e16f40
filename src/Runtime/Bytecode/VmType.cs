namespace Hlvm.Runtime.Bytecode;

/// <summary>The kind of a value type in bytecode. The numeric values are part of the module format.</summary>
public enum TypeKind : byte
{
    Void = 0,
    Int = 1,
    Float = 2,
    Bool = 3,
    String = 4,
    Array = 5,
    /// <summary>An instance of a class, or of any class implementing an interface.</summary>
    Object = 6,
    /// <summary>The type of the <c>null</c> constant; assignable to every nullable type. Never encoded.</summary>
    Null = 7,
    /// <summary>A map from keys (int, bool or string) to values, iterated in insertion order.</summary>
    Map = 8,
    /// <summary>A function value (a closure): parameter types in <see cref="VmType.Params"/>, the return type in
    /// <see cref="VmType.Element"/>.</summary>
    Func = 9,
}

/// <summary>
/// A type as bytecode sees it: a primitive (<c>int</c>, <c>float</c>, <c>bool</c>), a reference to a heap
/// object (<c>string</c>, <c>[T]</c>, an instance of class number <see cref="ClassIndex"/>), or <c>void</c> for
/// functions that return nothing. A reference type may be <see cref="Nullable"/>. Every value occupies one
/// 8-byte slot; references are heap addresses and 0 is null. Types compare structurally.
/// </summary>
public sealed record VmType(TypeKind Kind, VmType? Element = null, int ClassIndex = -1, bool Nullable = false, VmType? Key = null, VmType[]? Params = null)
{
    /// <summary>Function types have at most this many parameters (as functions do).</summary>
    public const int MaxParams = 255;

    public bool Equals(VmType? other) =>
        other is not null && Kind == other.Kind && ClassIndex == other.ClassIndex && Nullable == other.Nullable
        && Equals(Element, other.Element) && Equals(Key, other.Key)
        && (Params is null ? other.Params is null : other.Params is not null && Params.AsSpan().SequenceEqual(other.Params));

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Kind);
        h.Add(ClassIndex);
        h.Add(Nullable);
        h.Add(Element);
        h.Add(Key);
        foreach (var p in Params ?? []) h.Add(p);
        return h.ToHashCode();
    }

    /// <summary>The type of a function value taking <paramref name="parameters"/> and returning <paramref name="ret"/>.</summary>
    public static VmType FuncOf(VmType[] parameters, VmType ret) => new(TypeKind.Func, ret, Params: parameters);

    public static readonly VmType Void = new(TypeKind.Void);
    public static readonly VmType Int = new(TypeKind.Int);
    public static readonly VmType Float = new(TypeKind.Float);
    public static readonly VmType Bool = new(TypeKind.Bool);
    public static readonly VmType String = new(TypeKind.String);
    public static readonly VmType Null = new(TypeKind.Null, Nullable: true);

    /// <summary>Array nesting deeper than this is rejected by the reader and the compiler.</summary>
    public const int MaxDepth = 32;

    /// <summary>
    /// Why a module can't hold <paramref name="t"/>, by the reader's rules (<see cref="ModuleFormat"/>), or null:
    /// a part nested deeper than <see cref="MaxDepth"/> (a map's key and value, a function's parameters and result
    /// count as arrays' elements do), a function type of more than <see cref="MaxParams"/> parameters, or the type
    /// of `null` alone. The compiler checks what it writes with it, so that a module it writes is one it can read.
    /// </summary>
    public static string? Unwritable(VmType t, int depth = 0)
    {
        if (depth > MaxDepth) return $"it nests deeper than {MaxDepth} levels";
        switch (t.Kind)
        {
            case TypeKind.Null: return "it is the type of `null` alone";
            case TypeKind.Array: return Unwritable(t.Element!, depth + 1);
            case TypeKind.Map: return Unwritable(t.Key!, depth + 1) ?? Unwritable(t.Element!, depth + 1);
            case TypeKind.Func:
                if (t.Params!.Length > MaxParams) return $"it is a function type of {t.Params.Length} parameters (at most {MaxParams})";
                foreach (var p in t.Params)
                    if (Unwritable(p, depth + 1) is { } why) return why;
                return Unwritable(t.Element!, depth + 1);
            default: return null;
        }
    }

    public static VmType ArrayOf(VmType element) => new(TypeKind.Array, element);

    public static VmType ObjectOf(int classIndex) => new(TypeKind.Object, ClassIndex: classIndex);

    /// <summary>A map type; <paramref name="key"/> must be int, bool or string (see <see cref="IsMapKey"/>).</summary>
    public static VmType MapOf(VmType key, VmType value) => new(TypeKind.Map, value, Key: key);

    /// <summary>True for the types a map can be keyed by: they have a value equality and a hash.</summary>
    public static bool IsMapKey(VmType t) => t == Int || t == Bool || t == String;

    /// <summary>This type, or its nullable form (reference types only).</summary>
    public VmType AsNullable() => IsReference && !Nullable ? this with { Nullable = true } : this;

    /// <summary>This type without its '?'.</summary>
    public VmType AsNonNullable() => Nullable && Kind != TypeKind.Null ? this with { Nullable = false } : this;

    /// <summary>
    /// The subtyping rule shared by the compiler and the verifier: a value of type <paramref name="from"/> may be
    /// used where <paramref name="to"/> is expected when the types are equal, when <paramref name="from"/> is null
    /// and <paramref name="to"/> nullable, or when both are references of one kind, <paramref name="to"/> is
    /// nullable if <paramref name="from"/> is, and: any two strings; arrays and maps of equal element types
    /// (they are invariant); function types of equal parameter and return types; classes where <paramref name="isA"/>(from's class, to's class) says so.
    /// </summary>
    public static bool IsAssignable(VmType from, VmType to, Func<int, int, bool> isA)
    {
        if (from == to) return true;
        if (!from.IsReference || !to.IsReference) return false;
        if (from.Kind == TypeKind.Null) return to.Nullable;
        if (from.Nullable && !to.Nullable) return false;
        if (from.Kind != to.Kind) return false;
        return from.Kind switch
        {
            TypeKind.String => true,
            TypeKind.Array => from.Element == to.Element,
            TypeKind.Object => isA(from.ClassIndex, to.ClassIndex),
            TypeKind.Map => from.Key == to.Key && from.Element == to.Element,
            TypeKind.Func => from.Element == to.Element && from.Params!.AsSpan().SequenceEqual(to.Params),
            _ => false,
        };
    }

    /// <summary>True when values of this type are heap references the collector must trace.</summary>
    public bool IsReference => IsReferenceKind(Kind);

    /// <summary>True for the kinds whose values are heap references (the heap's stores ask this of element kinds).</summary>
    public static bool IsReferenceKind(TypeKind kind) => kind is TypeKind.String or TypeKind.Array or TypeKind.Object or TypeKind.Null or TypeKind.Map or TypeKind.Func;

    public override string ToString() => Format(i => $"class#{i}");

    /// <summary>The type as source code spells it, with class names from <paramref name="className"/>.</summary>
    public string Format(Func<int, string> className) => Kind switch
    {
        TypeKind.Void => "void",
        TypeKind.Int => "int",
        TypeKind.Float => "float",
        TypeKind.Bool => "bool",
        TypeKind.Null => "null",
        TypeKind.String => "string" + (Nullable ? "?" : ""),
        TypeKind.Array => $"[{Element!.Format(className)}]" + (Nullable ? "?" : ""),
        TypeKind.Object => className(ClassIndex) + (Nullable ? "?" : ""),
        TypeKind.Map => $"{{{Key!.Format(className)}: {Element!.Format(className)}}}" + (Nullable ? "?" : ""),
        TypeKind.Func => FormatFunc(className),
        _ => $"?{(byte)Kind}",
    };

    private string FormatFunc(Func<int, string> className)
    {
        string ret = Element == Void ? "" : " -> " + Element!.Format(className);
        string text = $"fn({string.Join(", ", Params!.Select(p => p.Format(className)))}){ret}";
        return Nullable ? $"({text})?" : text;
    }
}
