using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// The natives of <c>std.math</c>: IEEE double functions as .NET's <see cref="Math"/> computes them, and the
/// conversions between int and float. Floats travel as their IEEE bits in a long. Integer min, max, abs, clamp
/// and sign, and the constants, are written in the language (<c>stdlib/std/math.hl</c>).
/// </summary>
internal static class MathNatives
{
    private static readonly VmType I = VmType.Int, F = VmType.Float, B = VmType.Bool;

    private static double D(long bits) => BitConverter.Int64BitsToDouble(bits);

    private static long Bits(double d) => BitConverter.DoubleToInt64Bits(d);

    /// <summary>A float -> float native.</summary>
    private static NativeDef F1(string name, Func<double, double> f, string doc) =>
        new("math." + name, [F], F, null, doc, (vm, a) => Bits(f(D(a[0])))) { Pure = f };

    /// <summary>A (float, float) -> float native.</summary>
    private static NativeDef F2(string name, Func<double, double, double> f, string doc) =>
        new("math." + name, [F, F], F, null, doc, (vm, a) => Bits(f(D(a[0]), D(a[1])))) { Pure = f };

    /// <summary>A float as the language prints it, for messages.</summary>
    private static string Show(double x) => ValueText.FormatFloat(x);

    /// <summary>
    /// <see cref="Math.Cbrt"/> can be an ulp or two off, even for a perfect cube (3.0000000000000004 for 27 on
    /// Linux): from it, step to a neighbouring float while that one's cube is nearer x. |c³ - x| falls toward the
    /// true root and rises past it, so the walk ends at the float nearest the root (checked against 80-digit arithmetic on samples, not proved).
    /// </summary>
    private static double Cbrt(double x)
    {
        double r = Math.Cbrt(x);
        if (!double.IsFinite(r) || r == 0) return r;
        double error = CubeError(r, x);
        for (int step = 0; step < 8; step++)
        {
            double down = Math.BitDecrement(r), up = Math.BitIncrement(r);
            double errorDown = CubeError(down, x), errorUp = CubeError(up, x);
            if (errorDown < error && errorDown <= errorUp) (r, error) = (down, errorDown);
            else if (errorUp < error) (r, error) = (up, errorUp);
            else break;
        }
        return r;
    }

    /// <summary>|c³ - x|, with the rounding errors of c² and c³ (recovered by fused multiply-adds) added back.</summary>
    private static double CubeError(double c, double x)
    {
        double c2 = c * c, e2 = Math.FusedMultiplyAdd(c, c, -c2);
        double c3 = c2 * c, e3 = Math.FusedMultiplyAdd(c2, c, -c3);
        return Math.Abs(c3 - x + e3 + e2 * c);
    }

    // 2^63 is exactly representable; every double below it and at or above -2^63 truncates into a long.
    private const double TwoTo63 = 9223372036854775808.0;

    public static readonly NativeDef[] All =
    [
        F1("sqrt", Math.Sqrt, "the square root; NaN for a negative number"),
        F1("cbrt", Cbrt, "the cube root (negative for a negative number); exact for perfect cubes"),
        F2("pow", Math.Pow, "x raised to the power y (IEEE pow: pow(x, 0.0) is 1.0 even for NaN)"),
        F1("exp", Math.Exp, "e raised to the power x"),
        F1("log", Math.Log, "the natural logarithm; -inf at 0.0, NaN below it"),
        F1("log10", Math.Log10, "the base-10 logarithm; -inf at 0.0, NaN below it"),
        F1("log2", Math.Log2, "the base-2 logarithm; -inf at 0.0, NaN below it"),
        F1("sin", Math.Sin, "the sine of an angle in radians"),
        F1("cos", Math.Cos, "the cosine of an angle in radians"),
        F1("tan", Math.Tan, "the tangent of an angle in radians"),
        F1("asin", Math.Asin, "the arcsine in radians, -pi/2 to pi/2; NaN outside -1..1"),
        F1("acos", Math.Acos, "the arccosine in radians, 0 to pi; NaN outside -1..1"),
        F1("atan", Math.Atan, "the arctangent in radians, -pi/2 to pi/2"),
        F2("atan2", Math.Atan2, "atan2(y, x): the angle in radians, -pi to pi, of the point (x, y)"),
        F1("floor", Math.Floor, "the largest whole float not above x"),
        F1("ceil", Math.Ceiling, "the smallest whole float not below x"),
        F1("round", x => Math.Round(x, MidpointRounding.AwayFromZero), "the nearest whole float; a half rounds away from zero (2.5 -> 3.0, -2.5 -> -3.0)"),
        F1("trunc", Math.Truncate, "x without its fraction: the whole float toward zero"),
        F1("fabs", Math.Abs, "the absolute value of a float (abs is the int one, as fmin and fmax are the float min and max)"),
        F2("hypot", double.Hypot, "sqrt(x*x + y*y) without overflow or underflow in between"),
        F2("fmin", Math.Min, "the smaller of two floats; NaN if either is NaN, and -0.0 is below 0.0"),
        F2("fmax", Math.Max, "the larger of two floats; NaN if either is NaN, and 0.0 is above -0.0"),
        new("math.toFloat", [I], F, null, "the int as a float, rounded to the nearest when it has more than 53 bits",
            (vm, a) => Bits((double)a[0])),
        new("math.toInt", [F], I, null, "the float truncated toward zero; ValueError for NaN, infinities and floats outside the int range",
            (vm, a) =>
            {
                double x = D(a[0]);
                double t = Math.Truncate(x);
                if (!(t >= -TwoTo63 && t < TwoTo63))
                    throw new VmError(ErrorClasses.Value, double.IsNaN(x)
                        ? "toInt(nan): NaN has no int value"
                        : $"toInt({Show(x)}): the float is outside the int range (-2^63 to 2^63 - 1)");
                return (long)t;
            }),
        new("math.isNaN", [F], B, null, "whether the float is NaN", (vm, a) => double.IsNaN(D(a[0])) ? 1 : 0),
        new("math.isInfinite", [F], B, null, "whether the float is inf or -inf", (vm, a) => double.IsInfinity(D(a[0])) ? 1 : 0),
    ];
}
