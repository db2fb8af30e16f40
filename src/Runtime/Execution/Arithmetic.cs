using System.Runtime.CompilerServices;

namespace Hlvm.Runtime.Execution;

/// <summary>
/// The edge cases of the language's arithmetic, defined once for every engine: the interpreter, its fused
/// instructions and compiled code call these (and .NET inlines them), so an operator means the same everywhere.
/// </summary>
public static class Arithmetic
{
    /// <summary>Integer division rounded toward zero; <c>long.MinValue / -1</c> wraps to <c>long.MinValue</c>
    /// instead of trapping as .NET's would. The divisor is not zero (the caller raised that).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Div(long x, long y) => y == -1 ? -x : x / y;

    /// <summary>Remainder with the sign of the dividend; anything remainder -1 is 0 (no trap on <c>long.MinValue</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Rem(long x, long y) => y == -1 ? 0 : x % y;

    /// <summary>Shifts use the count's low six bits, so a negative or large count is taken modulo 64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Shl(long x, long count) => x << (int)(count & 63);

    /// <summary>Arithmetic shift right, the count taken modulo 64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Shr(long x, long count) => x >> (int)(count & 63);

    /// <summary>Float to int: truncated toward zero, saturating at the ends of the range; NaN gives 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long FToI(double x) => double.IsNaN(x) ? 0 : x >= 9223372036854775807.0 ? long.MaxValue : x <= -9223372036854775808.0 ? long.MinValue : (long)x;

    /// <summary>The error of an integer division or remainder by zero.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static VmError DivisionByZero(bool remainder) =>
        new(ErrorClasses.DivisionByZero, remainder ? "integer remainder by zero" : "integer division by zero");
}
