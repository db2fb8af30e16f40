using System.Text;
using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// A program's standard input as <c>readLine</c> and <c>readAll</c> read it: through a buffer of its own, filled a
/// chunk at a time by a read that may wait (on the input's own thread when the run can be interrupted, so that an
/// interrupt ends the wait: <see cref="Reader"/>), so that a line already in the buffer is taken on the program's
/// thread without one. Each <c>readLine</c> used to be a read of its own on another thread: 5 million lines piped
/// in took 20 s.
/// </summary>
internal sealed class StandardInput(TextReader source)
{
    private readonly char[] _buffer = new char[1 << 16];
    private int _start, _end;
    private bool _ended;
    private Reader? _reader;

    /// <summary>Makes the buffer hold what comes next; false at the end of the input.</summary>
    private bool Fill(Interpreter vm)
    {
        if (_start < _end) return true;
        if (_ended) return false;
        _start = 0;
        if (vm.Cancellation.CanBeCanceled)
        {
            var read = (_reader ??= new Reader(() => source.Read(_buffer, 0, _buffer.Length))).Next();
            // Waited for here, on the program's thread (an interrupt ends the wait with OperationCanceledException):
            // a wait through WaitAsync was woken by a continuation on the thread pool, and behind a busy pool.
            try
            {
                read.Wait(vm.Cancellation);
            }
            catch (AggregateException)
            {
                // The read's own error, thrown below as itself.
            }
            _end = read.GetAwaiter().GetResult();
        }
        else _end = source.Read(_buffer, 0, _buffer.Length);
        _ended = _end == 0;
        return !_ended;
    }

    /// <summary>
    /// The reads of one input, made on a thread of its own, one at a time, while the program's thread waits for
    /// each or for its run's interrupt: an interrupted wait leaves its read to finish there. Not on .NET's thread
    /// pool, which every isolate in the process shares: the reads of stopped isolates whose input never came held
    /// its threads, and another isolate's read of input that was ready waited behind them for seconds. Not a
    /// thread for each read either (a piped input of 160 MB took twice as long). The thread ends after a second
    /// with nothing to read, and the next read starts another.
    /// </summary>
    private sealed class Reader(Func<int> read)
    {
        private const int IdleMilliseconds = 1000;
        private readonly object _gate = new();
        private TaskCompletionSource<int>? _asked;
        private bool _running;

        /// <summary>The next read's count of characters, once the thread has made it.</summary>
        public Task<int> Next()
        {
            lock (_gate)
            {
                var asked = new TaskCompletionSource<int>();
                _asked = asked;
                if (_running) Monitor.Pulse(_gate);
                else
                {
                    _running = true;
                    new Thread(Loop) { IsBackground = true, Name = "hlvm input" }.Start();
                }
                return asked.Task;
            }
        }

        private void Loop()
        {
            while (true)
            {
                TaskCompletionSource<int> asked;
                lock (_gate)
                {
                    while (_asked is null)
                    {
                        if (!Monitor.Wait(_gate, IdleMilliseconds) && _asked is null)
                        {
                            _running = false;
                            return;
                        }
                    }
                    (asked, _asked) = (_asked, null);
                }
                try
                {
                    asked.SetResult(read());
                }
                catch (Exception e)
                {
                    asked.SetException(e);
                }
            }
        }
    }

    /// <summary>
    /// The next line, as <see cref="TextReader.ReadLine"/> reads one (it ends at "\n", "\r" or "\r\n"; null at the
    /// end of the input), but no longer than <paramref name="max"/> characters, the longest string the heap can
    /// hold: .NET's ReadLine built a line of any length outside the heap, 2.66 GB for a program limited to 16 MB,
    /// before the heap refused it.
    /// </summary>
    public string? ReadLine(Interpreter vm, long max)
    {
        StringBuilder? line = null;
        while (Fill(vm))
        {
            var rest = _buffer.AsSpan(_start, _end - _start);
            int at = rest.IndexOfAny('\n', '\r');
            if ((line?.Length ?? 0) + (long)(at < 0 ? rest.Length : at) > max)
                throw new VmError(ErrorClasses.OutOfMemory, "a line of standard input is longer than the heap can hold");
            if (at < 0)
            {
                (line ??= new StringBuilder()).Append(rest);
                _start = _end;
                continue;
            }
            string text = line is null ? new string(rest[..at]) : line.Append(rest[..at]).ToString();
            bool cr = rest[at] == '\r';
            _start += at + 1;
            // "\r\n" is one line break; its "\n" may be in the next chunk (a read that may wait, as ReadLine's peek).
            if (cr && Fill(vm) && _buffer[_start] == '\n') _start++;
            return text;
        }
        return line?.ToString();
    }

    /// <summary>The rest of the input, no longer than <paramref name="max"/> characters.</summary>
    public string ReadAll(Interpreter vm, long max)
    {
        var text = new StringBuilder();
        while (Fill(vm))
        {
            text.Append(_buffer, _start, _end - _start);
            _start = _end;
            if (text.Length > max) throw new VmError(ErrorClasses.OutOfMemory, "standard input is larger than the heap limit");
        }
        return text.ToString();
    }
}
