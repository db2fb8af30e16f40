using System.Runtime.InteropServices;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// <c>xs.sort()</c> for the arrays whose elements have a natural order: ints, floats and strings, sorted in place.
/// (A sort with a comparator is written in the language: stdlib/array.hl.) None of them allocates, so the array's
/// storage stays where it is while it is sorted.
/// </summary>
internal static class ArrayNatives
{
    /// <summary>The array's elements, after charging the run for sorting them: one instruction per comparison
    /// a sort may make, n log2 n.</summary>
    private static Span<long> Elements(Interpreter vm, long array)
    {
        if (array == 0) throw new VmError(ErrorClasses.Null, "cannot sort the array: the value is null");
        int n = vm.Heap.ArrayLength((int)array);
        vm.Charge((long)n * Math.Max(1, 64 - long.LeadingZeroCount(n)));
        return vm.Heap.ArrayElements((int)array);
    }

    public static readonly NativeDef[] All =
    [
        new("array.sortInt", [VmType.ArrayOf(VmType.Int)], VmType.Void, null, "sorts an [int] in place, ascending",
            (vm, a) => { Elements(vm, a[0]).Sort(); return 0; }),
        new("array.sortFloat", [VmType.ArrayOf(VmType.Float)], VmType.Void, null,
            "sorts a [float] in place, ascending, NaN first; -0.0 and 0.0 are equal and may come in either order",
            (vm, a) => { MemoryMarshal.Cast<long, double>(Elements(vm, a[0])).Sort(); return 0; }),
        new("array.sortString", [VmType.ArrayOf(VmType.String)], VmType.Void, null,
            "sorts a [string] in place by UTF-16 code units (ordinal order: \"B\" before \"a\")",
            (vm, a) =>
            {
                var heap = vm.Heap;
                // A comparison of strings that share a long prefix walks all of it: the characters compared are
                // charged after the sort (a charge can end the run, which must not happen inside Sort). Past the
                // budget the fuel left can pay for, the sort stops, the array as it was, and the charge ends the run;
                // every 64 comparisons it notices a stop. (Sorted whole first, 2,000 strings of 20 million equal
                // characters took 17 s under a budget of 30 million.)
                var elements = Elements(vm, a[0]);
                long budget = vm.WorkBudget, compared = 0, comparisons = 0;
                // Sorted in a copy only where it may stop short (with --fuel): a stop ends the run, which then never
                // sees the array again.
                bool budgeted = budget != long.MaxValue;
                var sorted = budgeted ? elements.ToArray() : elements;
                try
                {
                    sorted.Sort((x, y) =>
                    {
                        if (compared > budget) throw new OverBudget();
                        if ((++comparisons & 63) == 0) vm.StopIfAsked();
                        var p = heap.StringChars((int)x);
                        var q = heap.StringChars((int)y);
                        compared += p.CommonPrefixLength(q);
                        return p.SequenceCompareTo(q);
                    });
                }
                catch (InvalidOperationException e) when (e.InnerException is OverBudget or LimitExceededError)
                {
                    // (.NET's sort wraps what a comparison throws.)
                    if (e.InnerException is LimitExceededError stop) throw stop;
                }
                if (budgeted && compared <= budget) sorted.CopyTo(elements);
                vm.Charge(compared);
                return 0;
            }),
    ];

    /// <summary>A sort's comparisons passed the work the fuel left can pay for.</summary>
    private sealed class OverBudget : Exception;
}
