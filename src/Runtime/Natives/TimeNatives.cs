using System.Diagnostics;
using System.Globalization;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// The natives of <c>std.time</c>: a monotonic clock for measuring intervals, and the wall clock. The monotonic
/// clock never goes back and is unaffected by changes of the system's time; its zero is arbitrary (it is only
/// meaningful as a difference). The wall clock is the system's, in UTC, and may jump.
/// </summary>
internal static class TimeNatives
{
    private static readonly VmType I = VmType.Int, S = VmType.String;

    public static readonly NativeDef[] All =
    [
        new("time.monotonicNanos", [], I, null, "a monotonic clock in nanoseconds, for measuring intervals (its zero is arbitrary)",
            (vm, a) => (long)((Int128)Stopwatch.GetTimestamp() * 1_000_000_000 / Stopwatch.Frequency)),
        new("time.nowMillis", [], I, null, "the wall clock: milliseconds since 1970-01-01T00:00:00Z",
            (vm, a) => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
        new("time.nowIso", [], S, null, "the wall clock in UTC as ISO 8601 with milliseconds, e.g. 2024-05-01T12:34:56.789Z",
            (vm, a) => vm.Heap.NewString(DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))),
    ];
}
