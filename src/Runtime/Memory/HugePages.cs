using System.Runtime.InteropServices;

namespace Hlvm.Runtime.Memory;

/// <summary>
/// The heap's large semispaces, backed by transparent huge pages where Linux offers them on request
/// (<c>madvise(MADV_HUGEPAGE)</c>, the kernel's default "madvise" mode). Touching a fresh space then faults once
/// per 2 MiB instead of once per 4 KiB; on the machine of <c>bench/README.md</c> a first touch of 80 MB took 140
/// instead of 250 to 350 ms. The spaces are pinned, so the range given to the kernel stays the array's. Anywhere
/// the call is missing or refused, a space is an ordinary array.
/// </summary>
internal static class HugePages
{
    /// <summary>Spaces smaller than this are ordinary arrays: they span too few huge pages to gain.</summary>
    private const long MinWords = 1 << 19; // 4 MiB

    private const int MadvHugePage = 14;
    private const long HugePageBytes = 2 << 20;

    private static bool _unavailable = !OperatingSystem.IsLinux();

    [DllImport("libc.so.6", EntryPoint = "madvise")]
    private static extern int Madvise(nint address, nuint length, int advice);

    /// <summary>A zeroed array of <paramref name="words"/> words for a semispace.</summary>
    public static long[] NewSpace(long words)
    {
        if (words < MinWords || _unavailable) return new long[words];
        var space = Pinned.NewArray((int)words);
        nint start = Pinned.AddressOf(space);
        nint first = (start + (nint)(HugePageBytes - 1)) & ~(nint)(HugePageBytes - 1);
        nint end = (start + (nint)(words * 8)) & ~(nint)(HugePageBytes - 1);
        try
        {
            if (end > first) Madvise(first, (nuint)(end - first), MadvHugePage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
        }
        return space;
    }
}
