using System.Text;
using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// A program's standard input as <c>readLine</c> and <c>readAll</c> read it: through a buffer of its own, filled a
/// chunk at a time by a read that may wait (<see cref="NativeTable.Blocking{T}"/>, on another thread when the run
/// can be interrupted), so that a line already in the buffer is taken on the program's thread without one. Each
/// <c>readLine</c> used to be a read of its own on another thread: 5 million lines piped in took 20 s.
/// </summary>
internal sealed class StandardInput(TextReader source)
{
    private readonly char[] _buffer = new char[1 << 16];
    private int _start, _end;
    private bool _ended;

    /// <summary>Makes the buffer hold what comes next; false at the end of the input.</summary>
    private bool Fill(Interpreter vm)
    {
        if (_start < _end) return true;
        if (_ended) return false;
        _start = 0;
        _end = NativeTable.Blocking(vm, () => source.Read(_buffer, 0, _buffer.Length));
        _ended = _end == 0;
        return !_ended;
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
