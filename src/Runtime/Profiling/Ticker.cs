using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Hlvm.Runtime.Profiling;

/// <summary>
/// Wakes a thread at a fixed rate, for the profiler's timer. On Linux it sleeps to absolute deadlines of the
/// monotonic clock (<c>clock_nanosleep</c> with <c>TIMER_ABSTIME</c>), so an oversleep is made up at the next tick
/// and rates above 1,000 a second work; <see cref="Thread.Sleep(int)"/> takes whole milliseconds and overshoots
/// them (at 1,000 a second it gave about 790 samples a second). Elsewhere it falls back to that. A tick that comes
/// more than one period late is not made up with a burst: the next deadline starts from now.
/// </summary>
internal sealed class Ticker
{
    private const int ClockMonotonic = 1, TimerAbsolute = 1;
    private const long NanosPerSecond = 1_000_000_000;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc.so.6", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    [DllImport("libc.so.6", EntryPoint = "clock_nanosleep")]
    private static extern int ClockNanosleep(int clock, int flags, in Timespec request, IntPtr remain);

    /// <summary>The declarations below are glibc's on 64-bit Linux (a 64-bit time_t); anywhere else, Thread.Sleep.</summary>
    private static bool _unavailable = !OperatingSystem.IsLinux() || !Environment.Is64BitProcess;

    private const int Interrupted = 4; // EINTR

    private readonly long _period;
    private long _next;

    public Ticker(int perSecond)
    {
        _period = Math.Max(1, NanosPerSecond / perSecond);
        _next = Now() + _period;
    }

    /// <summary>Returns at the next tick.</summary>
    public void Wait()
    {
        if (_unavailable)
        {
            SleepPortably();
            return;
        }
        long now = Now();
        if (now - _next > _period) _next = now + _period;
        if (_next > now)
        {
            var deadline = new Timespec { Seconds = _next / NanosPerSecond, Nanoseconds = _next % NanosPerSecond };
            // EINTR (a signal) returns early: the tick is then a little early, which a profile does not mind. Any
            // other error (a sandbox of the host's that forbids the call) would return at once, every time, and
            // ask for samples as fast as the thread can spin: sleep the portable way from then on.
            try
            {
                int error = ClockNanosleep(ClockMonotonic, TimerAbsolute, deadline, IntPtr.Zero);
                if (error != 0 && error != Interrupted) Fallback();
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { Fallback(); }
        }
        _next += _period;
    }

    private long Now()
    {
        if (!_unavailable)
        {
            try
            {
                if (ClockGetTime(ClockMonotonic, out var t) == 0) return t.Seconds * NanosPerSecond + t.Nanoseconds;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { Fallback(); }
        }
        return (long)(Stopwatch.GetTimestamp() * ((double)NanosPerSecond / Stopwatch.Frequency));
    }

    private void Fallback()
    {
        _unavailable = true;
        SleepPortably();
    }

    /// <summary>One period, in whole milliseconds and at least one (what Thread.Sleep can do).</summary>
    private void SleepPortably() => Thread.Sleep((int)Math.Max(1, _period / 1_000_000));
}
