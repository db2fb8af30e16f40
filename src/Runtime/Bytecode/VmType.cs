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
}

/// <summary>
/// A type as bytecode sees it: a primitive (<c>int</c>, <c>float</c>, <c>bool</c>), a reference to a heap
/// object (<c>string</c>, <c>[T]</c>), or <c>void</c> for functions that return nothing. Every value occupies
/// one 8-byte slot; references are heap addresses. Types compare structurally.
/// </summary>
public sealed record VmType(TypeKind Kind, VmType? Element = null)
{
    public static readonly VmType Void = new(TypeKind.Void);
    public static readonly VmType Int = new(TypeKind.Int);
    public static readonly VmType Float = new(TypeKind.Float);
    public static readonly VmType Bool = new(TypeKind.Bool);
    public static readonly VmType String = new(TypeKind.String);

    /// <summary>Array nesting deeper than this is rejected by the reader and the compiler.</summary>
    public const int MaxDepth = 32;

    public static VmType ArrayOf(VmType element) => new(TypeKind.Array, element);

    /// <summary>True when values of this type are heap references the collector must trace.</summary>
    public bool IsReference => Kind is TypeKind.String or TypeKind.Array;

    public override string ToString() => Kind switch
    {
        TypeKind.Void => "void",
        TypeKind.Int => "int",
        TypeKind.Float => "float",
        TypeKind.Bool => "bool",
        TypeKind.String => "string",
        TypeKind.Array => $"[{Element}]",
        _ => $"?{(byte)Kind}",
    };
}
