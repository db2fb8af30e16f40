using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;

namespace Hlvm.Sandbox;

/// <summary>
/// One resource limit of an isolate. Each is a small class that knows its flag, puts itself into the VM's
/// settings, and words its own breach; a breach ends the app (<see cref="LimitExceededError"/>, exit code 75 from
/// the command line, an exception to an embedding host).
/// </summary>
public abstract record Limit
{
    /// <summary>The flag that sets it, without dashes: <c>max-heap</c>.</summary>
    public abstract string Flag { get; }

    internal abstract void Apply(IsolateSettings settings);

    /// <summary><paramref name="value"/>, if it is at least <paramref name="min"/> (what the command line's flag
    /// accepts too); otherwise an ArgumentOutOfRangeException: a negative limit was taken, and said as
    /// "the program ran -1 instructions (--fuel -1)", and a negative depth failed inside compiled code.</summary>
    private protected static T AtLeast<T>(T value, T min, string name) where T : System.Numerics.INumber<T> =>
        value >= min ? value : throw new ArgumentOutOfRangeException(name, value, $"the limit must be at least {min}");
}

/// <summary>Live bytes on the VM's heap (<c>--max-heap</c>): beyond it, after a full collection, an
/// allocation is an <c>OutOfMemoryError</c>, which the program may catch; uncaught, it ends the app as a breach.</summary>
public sealed record HeapLimit(long Bytes) : Limit
{
    public long Bytes { get; init; } = AtLeast(Bytes, 1, nameof(Bytes));

    public override string Flag => "max-heap";
    internal override void Apply(IsolateSettings s) => s.Heap = s.Heap with { MaxBytes = Bytes };
}

/// <summary>Instructions executed (<c>--fuel</c>), the same count in every engine; natives that do bulk work
/// (sorting, joining, copying) are charged one instruction per element.</summary>
public sealed record FuelLimit(long Instructions) : Limit
{
    public long Instructions { get; init; } = AtLeast(Instructions, 0, nameof(Instructions));

    public override string Flag => "fuel";
    internal override void Apply(IsolateSettings s) => s.Execution = s.Execution with { Fuel = Instructions };
}

/// <summary>Nested calls (<c>--max-stack</c>): one more is a <c>StackOverflowError</c>, which the program may
/// catch; uncaught, it ends the app as a breach.</summary>
public sealed record StackLimit(int Frames) : Limit
{
    public int Frames { get; init; } = AtLeast(Frames, 1, nameof(Frames));

    public override string Flag => "max-stack";
    internal override void Apply(IsolateSettings s) => s.Execution = s.Execution with { MaxFrames = Frames };
}

/// <summary>Wall time (<c>--timeout</c>), enforced while the app computes (the interpreter stops at its next
/// backward branch or call) and while it waits in a host call (input, the network): the wait is cancelled.
/// <paramref name="Whole"/> is the --timeout the run's <paramref name="Duration"/> is what is left of, when loading the
/// app (fetching, compiling, verifying) took the rest.</summary>
public sealed record TimeLimit(TimeSpan Duration, TimeSpan? Whole = null) : Limit
{
    /// <summary>The wall time the run may take: not negative (TimeSpan.MaxValue is as good as none).</summary>
    public TimeSpan Duration { get; init; } = Duration >= TimeSpan.Zero ? Duration : throw new ArgumentOutOfRangeException(nameof(Duration), Duration, "a time limit can't be negative");

    public override string Flag => "timeout";
    internal override void Apply(IsolateSettings s) => s.Timeout = Duration;

    internal LimitExceededError Breach() => new(Flag, $"the app ran longer than {Format(Whole ?? Duration)} (--timeout {Format(Whole ?? Duration)})");

    public static string Format(TimeSpan t) =>
        t.TotalMilliseconds < 1000 ? $"{t.TotalMilliseconds:0.###}ms" : t.TotalSeconds < 120 ? $"{t.TotalSeconds:0.###}s" : $"{t.TotalMinutes:0.###}m";
}

/// <summary>Bytes written to standard output and standard error together (<c>--max-output</c>), counted as UTF-8.</summary>
public sealed record OutputLimit(long Bytes) : Limit
{
    public long Bytes { get; init; } = AtLeast(Bytes, 1, nameof(Bytes));

    public override string Flag => "max-output";
    internal override void Apply(IsolateSettings s) => s.MaxOutput = Bytes;
}

/// <summary>Connections and listeners open at once (<c>--max-open-files</c>). (The file natives open a file
/// only for the length of one call.)</summary>
public sealed record OpenFilesLimit(int Count) : Limit
{
    public int Count { get; init; } = AtLeast(Count, 0, nameof(Count));

    /// <summary>The limit when none is given.</summary>
    public const int Default = 64;

    public override string Flag => "max-open-files";
    internal override void Apply(IsolateSettings s) => s.MaxOpenFiles = Count;
}

/// <summary>Bytes of the app's storage (<c>--max-disk</c>): the lengths of the files in its <c>/data</c> and of
/// its copies of <c>/app</c> files, what earlier runs left included. A write, append or copy that would pass it is
/// not made, and ends the app. (Granted host paths are the user's disk, not counted.)</summary>
public sealed record DiskLimit(long Bytes) : Limit
{
    public long Bytes { get; init; } = AtLeast(Bytes, 1, nameof(Bytes));

    /// <summary>The limit when none is given: 1 GiB.</summary>
    public const long Default = 1L << 30;

    internal const string FlagName = "max-disk";

    public override string Flag => FlagName;
    internal override void Apply(IsolateSettings s) => s.MaxDisk = Bytes;
}

/// <summary>The settings the limits write into, starting from the defaults.</summary>
internal sealed class IsolateSettings
{
    public HeapOptions Heap = new();
    public ExecutionOptions Execution = new();
    public TimeSpan? Timeout;
    public long? MaxOutput;
    public int MaxOpenFiles = OpenFilesLimit.Default;
    public long MaxDisk = DiskLimit.Default;
}

/// <summary>
/// What an isolate's program writes passes through here: the budget of <see cref="OutputLimit"/>, shared by its
/// standard output and error, and, unless the host allows them, control characters made visible (an escape
/// sequence could otherwise move the cursor, rewrite what the terminal showed, or set its title): each C0
/// control but tab and line breaks becomes its Unicode picture (ESC is ␛), DEL ␡, and each C1 control U+FFFD.
/// </summary>
internal sealed class GuardedWriter(TextWriter target, OutputBudget budget, bool keepControls) : TextWriter
{
    public override Encoding Encoding => target.Encoding;

    public override void Write(char value)
    {
        if (!keepControls && ControlCharacters.IsReplaced(value))
        {
            Write([value]);
            return;
        }
        budget.Spend(value < 0x80 ? 1 : value < 0x800 ? 2 : 3);
        target.Write(value);
    }

    public override void Write(ReadOnlySpan<char> buffer)
    {
        if (keepControls || !ControlCharacters.AnyReplaced(buffer))
        {
            budget.Spend(buffer);
            target.Write(buffer);
            return;
        }
        Span<char> safe = buffer.Length <= 1024 ? stackalloc char[buffer.Length] : new char[buffer.Length];
        ControlCharacters.MakeVisible(buffer, safe);
        budget.Spend(safe); // what reaches the terminal, each picture three bytes
        target.Write(safe);
    }

    public override void Write(string? value) => Write(value.AsSpan());

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Flush() => target.Flush();
}

/// <summary>The output bytes an isolate may still write.</summary>
internal sealed class OutputBudget(long? max)
{
    private long _written;

    public void Spend(ReadOnlySpan<char> text)
    {
        if (max is not null) Spend(Encoding.UTF8.GetByteCount(text));
    }

    public void Spend(long bytes)
    {
        if (max is not { } limit) return;
        if (Interlocked.Add(ref _written, bytes) > limit)
            throw new LimitExceededError("max-output", $"the app wrote more than {limit} byte{(limit == 1 ? "" : "s")} of output (--max-output {limit})");
    }
}

/// <summary>Control characters made harmless for a terminal (see <see cref="GuardedWriter"/>).</summary>
public static class ControlCharacters
{
    /// <summary>Whether <see cref="MakeVisible(ReadOnlySpan{char}, Span{char})"/> replaces the character: a C0 control
    /// but tab and line breaks, DEL, or a C1 control.</summary>
    public static bool IsReplaced(char c) => c < ' ' ? c is not ('\t' or '\n' or '\r') : (uint)(c - '\x7f') <= '\x9f' - '\x7f';

    /// <summary>
    /// Whether any character of the text is replaced. Eight characters at a time where the processor has 128-bit
    /// vectors: the framework's <c>SearchValues</c> search is as fast, but is compiled at run time on first use
    /// (7 ms of every run's start), where this is precompiled with hlvm.
    /// </summary>
    public static bool AnyReplaced(ReadOnlySpan<char> text)
    {
        int i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            ref ushort start = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text));
            var space = Vector128.Create((ushort)' ');
            var del = Vector128.Create((ushort)'\x7f');
            var c1 = Vector128.Create((ushort)('\x9f' - '\x7f'));
            for (; i <= text.Length - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
            {
                var chars = Vector128.LoadUnsafe(ref start, (nuint)i);
                // Below ' ' (C0, tab and line breaks included), or DEL to the last C1 control (0x7f-0x9f).
                var suspect = Vector128.LessThan(chars, space) | Vector128.LessThanOrEqual(chars - del, c1);
                if (suspect == Vector128<ushort>.Zero) continue;
                // Tab and line breaks are kept: look at these eight one by one.
                for (int k = i; k < i + Vector128<ushort>.Count; k++)
                    if (IsReplaced(text[k])) return true;
            }
        }
        for (; i < text.Length; i++)
            if (IsReplaced(text[i])) return true;
        return false;
    }

    /// <summary>Copies text, each control character but tab and line breaks replaced by a visible one.</summary>
    public static void MakeVisible(ReadOnlySpan<char> text, Span<char> safe)
    {
        for (int i = 0; i < text.Length; i++)
        {
            // What IsReplaced picks: C0 controls as their Control Pictures, DEL as its own, C1 as U+FFFD.
            char c = text[i];
            safe[i] = !IsReplaced(c) ? c : Hlvm.Runtime.Execution.ControlPictures.Of(c);
        }
    }

    public static string MakeVisible(string text)
    {
        var safe = new char[text.Length];
        MakeVisible(text, safe);
        return new string(safe);
    }
}
