using System.Diagnostics;

namespace Hlvm.Cli.Commands;

/// <summary>
/// <c>hlvm run --engine compare</c>: runs the program under the interpreter and under the JIT (every function
/// compiled before it first runs), with the same arguments, standard input, grants and limits, and reports
/// whether standard output, standard error and the exit code are the same, or where they first differ. It is how
/// a user who suspects the JIT proves or clears it. The program runs twice, so what it does to the network or to
/// files outside its own storage it does twice; the storage (its /data, its copies of /app files) changes once, as
/// in one run: the JIT's run has a copy of it as it was before the interpreter's (<see cref="StorageCopy"/>). The
/// VM's own logs are not the program's output: with <c>--gc-log</c> the two runs' collections are compared too,
/// their pause times aside (each engine must collect at the same points), and <c>--jit-log</c>'s lines (only the
/// JIT has any) go straight to standard error.
/// </summary>
internal sealed class EngineComparison(CliContext cli)
{
    /// <summary>The engines compared: the interpreter is the reference.</summary>
    private static readonly string[] Engines = ["interp", "jit"];

    public int Run(RunSettings s)
    {
        const string Command = "hlvm run --engine compare";
        using var input = new RepeatedInput(cli.In);
        using var before = new StorageCopy(Command);
        var runs = new List<(string Engine, int Code, string Out, string Err, string Gc, string? EndedBy)>();
        foreach (var engine in Engines)
        {
            var output = new StringWriter { NewLine = "\n" };
            var error = new StringWriter { NewLine = "\n" };
            var gc = new StringWriter { NewLine = "\n" };
            var context = new CliContext(output, error, input.Next(), IsProcess: false) { GcLog = gc, JitLog = cli.Messages };
            // The interpreter's run keeps the app's storage, copied first; the JIT's run has the copy.
            Func<string, string> storage = runs.Count == 0 ? before.Take : before.Give;
            int code;
            var runner = new Runner(context) { Storage = storage };
            try
            {
                code = runner.Run(s with { Engine = engine, MaxOutput = s.MaxOutput ?? KeptOutput });
            }
            catch (StorageCopy.Failed e)
            {
                return e.Said(cli);
            }
            runs.Add((engine, code, output.ToString(), error.ToString(), PausesAside(gc.ToString()), runner.EndedBy));
            // A program that can't be found, doesn't compile or verify, or a command line that is wrong: nothing ran,
            // nothing to compare; said once, as run says it.
            if (!runner.Ran)
            {
                cli.Out.Flush();
                cli.Messages.Write(error.ToString());
                return code;
            }
            if (runs.Count == 1 && input.TooLong(cli, Command)) return ExitCodes.LimitExceeded;
        }
        var (a, b) = (runs[0], runs[1]);
        string? difference = FirstDifference("stdout", a.Out, b.Out) ?? FirstDifference("stderr", a.Err, b.Err)
            ?? FirstDifference("gc log", a.Gc, b.Gc)
            ?? (a.Code != b.Code ? $"the exit code: {a.Engine} {a.Code}, {b.Engine} {b.Code}" : null);
        var (cutA, cutB) = (a.EndedBy == "timeout", b.EndedBy == "timeout");
        if (difference is not null && (cutA || cutB))
        {
            // A run that the time limit ended did what its time allowed: how far it got is the clock's, not the
            // engine's. What it wrote must be the start of what the other wrote (both: the shorter of the
            // longer's); its report of where it was stopped is left out.
            var (errA, errB) = (cutA ? LimitReportAside(a.Err) : a.Err, cutB ? LimitReportAside(b.Err) : b.Err);
            string? early = FirstDifference("stdout", Cut(a.Out, b.Out, cutB), Cut(b.Out, a.Out, cutA))
                ?? FirstDifference("stderr", Cut(errA, errB, cutB), Cut(errB, errA, cutA))
                ?? FirstDifference("gc log", Cut(a.Gc, b.Gc, cutB), Cut(b.Gc, a.Gc, cutA));
            if (early is null)
            {
                string ended = cutA && cutB ? "the time limit ended both runs" : $"the time limit ended {(cutA ? a : b).Engine}'s run";
                cli.Out.WriteLine($"same as far as both ran: {ended}, and what {(cutA && cutB ? "the shorter" : "it")} wrote agrees with the other's "
                    + $"(lines of stdout: {a.Engine} {LineCount(a.Out):N0}, {b.Engine} {LineCount(b.Out):N0}; of stderr: {LineCount(errA):N0} and {LineCount(errB):N0}); "
                    + "--fuel stops both runs at the same instruction");
                return ExitCodes.Ok;
            }
            difference = early;
        }
        if (difference is null)
        {
            string gcLog = s.GcLog ? $", the gc log ({CliContext.Count(LineCount(a.Gc), "collection", "collections")}, pause times aside)" : "";
            cli.Out.WriteLine($"same: {a.Engine} and {b.Engine} agree on stdout ({CliContext.Count(LineCount(a.Out), "line", "lines")}), "
                + $"stderr ({CliContext.Count(LineCount(a.Err), "line", "lines")}){gcLog} and the exit code ({a.Code})");
            return ExitCodes.Ok;
        }
        cli.Out.WriteLine($"differ: {difference}");
        return ExitCodes.EnginesDiffer;
    }

    /// <summary>The most bytes of output each run may write unless <c>--max-output</c> says otherwise: the
    /// comparison holds both runs' output, and a program that prints without end (within a <c>--timeout</c>) grew
    /// it until the process ran out of memory. The output limit stops both runs at the same byte.</summary>
    internal const long KeptOutput = 64L << 20;

    /// <summary><paramref name="text"/> cut to the length of <paramref name="other"/>, when that is shorter and
    /// the time limit ended the run that wrote it (<paramref name="otherCut"/>).</summary>
    private static string Cut(string text, string other, bool otherCut) => otherCut && other.Length < text.Length ? text[..other.Length] : text;

    /// <summary>Standard error without the report of the limit that ended the run, which hlvm writes last.</summary>
    private static string LimitReportAside(string err) =>
        err.LastIndexOf(Runner.LimitReport, StringComparison.Ordinal) is >= 0 and var at ? err[..at] : err;

    /// <summary>A gc log with each collection's pause, which no two runs share, left out.</summary>
    internal static string PausesAside(string log) => System.Text.RegularExpressions.Regex.Replace(log, @" pause=[0-9.]+ms", "");

    /// <summary>How many lines a capture holds: its line breaks, and a last line without one (line breaks at
    /// its end make no lines).</summary>
    private static int LineCount(string text) => text.Length == 0 ? 0 : text.AsSpan().TrimEnd('\n').Count('\n') + 1;

    /// <summary>The line that begins at <paramref name="start"/>, without its line break; null past the end.</summary>
    private static string? LineAt(string text, int start)
    {
        if (start >= text.Length) return null;
        int end = text.IndexOf('\n', start);
        return end < 0 ? text[start..] : text[start..end];
    }

    /// <summary>Where two captures of a stream first differ (line, and each side's text), or null. Found in the
    /// text as it is, without splitting either into lines: a capture may hold millions.</summary>
    internal static string? FirstDifference(string stream, string a, string b)
    {
        if (a == b) return null;
        int at = a.AsSpan().CommonPrefixLength(b);
        int start = at == 0 ? 0 : a.LastIndexOf('\n', at - 1) + 1;
        string? left = LineAt(a, start), right = LineAt(b, start);
        if (left == right)
            return $"{stream}: the same lines, but only one ends with a line break";
        return $"{stream} line {a.AsSpan(0, start).Count('\n') + 1:N0}\n  {Engines[0]}: {Shown(left)}\n  {Engines[1]}:    {Shown(right)}";
    }

    private static string Shown(string? line) => line is null ? "(no such line)" : Runtime.Execution.Excerpt.Of(line, 200);
}

/// <summary>
/// A copy of an app's storage (<see cref="Take"/>, before the first run makes its isolate), given to the second
/// run in its place (<see cref="Give"/>), in a directory of its own under the system's temporary directory,
/// deleted when the comparison is over. Only directories and regular files are copied: the storage holds
/// nothing else that the program made. A link, a FIFO, a device or a socket put there by hand is left out (the
/// sandbox reads none of them; opening a FIFO to copy it would wait for a writer for ever), so a program that lists
/// its storage sees it in the interpreter's run and not in the JIT's.
/// </summary>
internal sealed class StorageCopy(string command) : IDisposable
{
    private string? _temporary, _copy;

    /// <summary>An error copying, its message what <c>command</c> says of it: the comparison ends there.</summary>
    internal sealed class Failed(string message) : Exception(message)
    {
        /// <summary>Says the error on standard error, after what the program printed, and gives the exit code.</summary>
        public int Said(CliContext cli)
        {
            cli.Out.Flush();
            cli.Messages.WriteLine(Message);
            return ExitCodes.CantCreate;
        }
    }

    /// <summary>Copies <paramref name="storage"/> as it is now, and leaves the run the storage itself.</summary>
    public string Take(string storage)
    {
        try
        {
            _temporary = Directory.CreateTempSubdirectory("hlvm-compare-").FullName;
            _copy = Path.Combine(_temporary, "storage");
            if (Directory.Exists(storage)) CopyDirectory(storage, _copy);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Failed($"{command}: cannot copy the app's storage for the JIT's run: {Inputs.Why(e)}");
        }
        return storage;
    }

    /// <summary>The copy, in place of <paramref name="storage"/> (the storage itself when nothing was copied: the
    /// first run made no isolate, so it changed nothing).</summary>
    public string Give(string storage) => _copy ?? storage;

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            string target = Path.Combine(to, entry.Name);
            if (entry.LinkTarget is not null) continue;
            if (entry is DirectoryInfo directory) CopyDirectory(directory.FullName, target);
            else if (entry is FileInfo file && !Hlvm.Runtime.Host.AtomicFile.IsSpecial(file.FullName)) file.CopyTo(target);
        }
    }

    public void Dispose()
    {
        if (_temporary is null) return;
        try
        {
            Directory.Delete(_temporary, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left in the temporary directory, which the system clears.
        }
    }
}

/// <summary>
/// The standard input of a program run once per engine (<c>run --engine compare</c>, <c>prof --compare</c>): the
/// same input for each. Nothing is read ahead, from a pipe or a terminal: a run's read that finds nothing kept
/// beyond its place reads the real input, and what it reads is kept; each run reads what is kept from its own
/// place, then, where no run reached the end of the input, the rest of it. So a program that never reads its
/// input runs at once whatever is piped into it, and a read that waits (a pipe that stays open, a person who has
/// not typed) waits within the run's <c>--timeout</c>, as in a single run. (Piped input used to be read whole
/// first: a comparison piped from a command that had not ended waited for it, and no limit ended the wait.) One
/// read of the real input at a time, and a first run that <c>--timeout</c> ended while it waited for input is
/// replayed as it ran: a later run is given what the first had read, and its read past that waits, as the
/// first's did, until the later run's own limit ends it (or the comparison is over). Before, the first run's
/// abandoned read went on waiting, took the line that came next, and the JIT's run waited for another or read a
/// line the interpreter's never saw: a difference that was the input's, not the engines'.
/// At most <see cref="MaxKeptChars"/> are kept: a first run that reads more runs on, and the comparison then ends
/// (<see cref="TooLong"/>), since the later runs can't be given the same input.
/// </summary>
internal sealed class RepeatedInput(TextReader source, int maxChars = RepeatedInput.MaxKeptChars) : IDisposable
{
    /// <summary>The most characters of input kept for the later runs: an input without end (<c>yes | hlvm run
    /// --engine compare ...</c>, read by a program that reads all it is given) would otherwise grow until the
    /// process ran out of memory.</summary>
    public const int MaxKeptChars = 64 << 20;

    private readonly object _gate = new();
    private char[] _kept = new char[256];
    private int _length;

    /// <summary>A read of the source found its end.</summary>
    private bool _ended;

    /// <summary>A read of the source is under way (outside the lock): the others wait for what it brings.</summary>
    private bool _reading;

    /// <summary>More was read than is kept: what was read past the limit went to the run that read it alone.</summary>
    private bool _overflowed;

    /// <summary>The time the first run's reads of the source took.</summary>
    private long _waited;

    /// <summary>Where the first run's input ended when it was stopped waiting for more: later runs read no further.</summary>
    private int _cut = int.MaxValue;

    /// <summary>The comparison is over: every read still waiting finds the end of the input.</summary>
    private bool _closed;

    private int _runs;

    /// <summary>The standard input of the next run.</summary>
    public TextReader Next()
    {
        lock (_gate)
        {
            // A read of the source under way between runs is the first run's, stopped while it waited.
            if (_runs > 0 && _reading) _cut = Math.Min(_cut, _length);
            return new Cursor(this, _runs++ == 0);
        }
    }

    /// <summary>How far <paramref name="cursor"/> may read in what is kept.</summary>
    private int Limit(Cursor cursor) => cursor.First ? _length : Math.Min(_length, _cut);

    public void Dispose()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>How long the first run's reads waited for the input to come.</summary>
    public TimeSpan FirstWaited => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _waited));

    /// <summary>After the first run: whether it read more than is kept, having said so on standard error (the
    /// comparison then ends with <see cref="ExitCodes.LimitExceeded"/>).</summary>
    public bool TooLong(CliContext cli, string command)
    {
        lock (_gate)
        {
            if (!_overflowed) return false;
        }
        cli.Out.Flush();
        cli.Messages.WriteLine($"{command}: the program read more than {maxChars:N0} characters of standard input, the most the "
            + "comparison keeps to give each engine the same input; run each engine alone for a longer one");
        return true;
    }

    /// <summary>
    /// Makes input available at <paramref name="cursor"/>'s place: true when characters are kept there (or, past
    /// the limit, in the cursor's own <see cref="Cursor.Spill"/>), false at the end of the input. Reads the source
    /// (at most <paramref name="count"/> characters, as the run asked) only when no other read of it is under way;
    /// otherwise waits for that one and looks again. A later run at the first run's cut waits until the comparison
    /// is over (its own limit ends it first).
    /// </summary>
    private bool Fill(Cursor cursor, int count)
    {
        lock (_gate)
        {
            while (true)
            {
                if (cursor.At < Limit(cursor)) return true;
                if (_ended || _closed) return false;
                if (!_reading && (cursor.First || cursor.At < _cut)) break;
                Monitor.Wait(_gate);
            }
            _reading = true;
        }
        var chunk = new char[Math.Clamp(count, 1, 1 << 16)];
        int n = -1; // stays -1 when the read throws: the run that made it gets the error, the others may read again
        long start = Stopwatch.GetTimestamp();
        try
        {
            n = source.Read(chunk, 0, chunk.Length);
        }
        finally
        {
            lock (_gate)
            {
                _reading = false;
                if (cursor.First) _waited += Stopwatch.GetTimestamp() - start;
                if (n == 0) _ended = true;
                else if (n > 0) Keep(cursor, chunk.AsMemory(0, n));
                Monitor.PulseAll(_gate);
            }
        }
        return n > 0;
    }

    /// <summary>Keeps what <paramref name="cursor"/>'s read brought, or past the limit gives it to that run alone.</summary>
    private void Keep(Cursor cursor, Memory<char> read)
    {
        if (_overflowed || _length + read.Length > maxChars)
        {
            _overflowed = true;
            cursor.Spill = read;
            return;
        }
        if (_length + read.Length > _kept.Length) Array.Resize(ref _kept, (int)Math.Min(maxChars, Math.Max(_kept.Length * 2L, _length + read.Length)));
        read.Span.CopyTo(_kept.AsSpan(_length));
        _length += read.Length;
    }

    /// <summary>One run's reader: its place in what is kept. Only these three reads are overridden:
    /// <see cref="TextReader"/> makes every other read of them.</summary>
    private sealed class Cursor(RepeatedInput input, bool first) : TextReader
    {
        public readonly bool First = first;
        public int At;

        /// <summary>Characters read past the limit of what is kept, this run's alone.</summary>
        public Memory<char> Spill;

        public override int Peek()
        {
            if (Spill.IsEmpty && !input.Fill(this, 1)) return -1;
            if (!Spill.IsEmpty) return Spill.Span[0];
            lock (input._gate) return input._kept[At];
        }

        public override int Read()
        {
            int c = Peek();
            if (c < 0) return c;
            if (!Spill.IsEmpty) Spill = Spill[1..];
            else At++;
            return c;
        }

        public override int Read(char[] buffer, int index, int count)
        {
            if (count == 0) return 0;
            if (Spill.IsEmpty && !input.Fill(this, count)) return 0;
            int n;
            if (!Spill.IsEmpty)
            {
                n = Math.Min(count, Spill.Length);
                Spill.Span[..n].CopyTo(buffer.AsSpan(index));
                Spill = Spill[n..];
                return n;
            }
            lock (input._gate)
            {
                n = Math.Min(count, input.Limit(this) - At);
                input._kept.AsSpan(At, n).CopyTo(buffer.AsSpan(index));
            }
            At += n;
            return n;
        }
    }
}
