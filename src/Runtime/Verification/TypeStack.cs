using System.Collections;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Runtime.Verification;

/// <summary>
/// The types on the operand stack, as an immutable linked list from the top down (null is the empty stack).
/// Instructions that follow one another share all but the entries they change, so the verifier keeps the state of
/// every instruction in memory proportional to the code, not to code times stack depth; the collector and checked
/// mode read the same lists.
/// </summary>
public sealed class TypeStack(VmType top, TypeStack? below) : IEnumerable<VmType>
{
    public VmType Top { get; } = top;
    public TypeStack? Below { get; } = below;

    /// <summary>Entries in the stack, this one included.</summary>
    public int Depth { get; } = (below?.Depth ?? 0) + 1;

    public static int DepthOf(TypeStack? s) => s?.Depth ?? 0;

    /// <summary>The entries, bottom first.</summary>
    public static VmType[] ToArray(TypeStack? s)
    {
        var result = new VmType[DepthOf(s)];
        for (var n = s; n is not null; n = n.Below) result[n.Depth - 1] = n.Top;
        return result;
    }

    /// <summary>Top first.</summary>
    public IEnumerator<VmType> GetEnumerator()
    {
        for (var n = this; n is not null; n = n.Below) yield return n.Top;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
