using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hlvm.Runtime.Memory;

/// <summary>Arrays allocated pinned (<c>GC.AllocateArray(pinned: true)</c>), which never move, and addresses in
/// them.</summary>
internal static class Pinned
{
    /// <summary>A zeroed array of <paramref name="length"/> words that never moves: its address may be kept.</summary>
    public static long[] NewArray(int length) => GC.AllocateArray<long>(length, pinned: true);

    /// <summary>The address of <paramref name="array"/>'s first element. (Not
    /// <c>Marshal.UnsafeAddrOfPinnedArrayElement&lt;long&gt;</c>: the framework's generic code for a value type,
    /// which ReadyToRun can't hold, and .NET compiled it at run time, at every start.)</summary>
    public static unsafe nint AddressOf(long[] array) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
}
