using System.Buffers.Binary;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Compiler.Emit;

/// <summary>A position in code that jumps can target before it is known.</summary>
public sealed class Label
{
    internal int Offset = -1;
    internal int Depth = -1;
    internal readonly List<int> Fixups = [];
}

/// <summary>
/// Writes one function's code: encodes instructions from the opcode table, keeps the operand stack depth and its
/// high-water mark as it goes (each opcode's stack effect comes from the same table), patches forward jumps and
/// records the line table.
/// </summary>
public sealed class CodeBuilder
{
    private readonly MemoryStream _code = new();
    // The line table and the handlers as arrays of their own, not lists: the framework's List over a value type is
    // its generic code, which ReadyToRun can't hold and .NET compiled at every compile (14 methods).
    private LineEntry[] _lines = new LineEntry[8];
    private int _lineCount;
    private int _depth;

    public int MaxStack { get; private set; }

    /// <summary>
    /// False after an unconditional jump or a return until a label that some jump targets is bound: code emitted
    /// then could never run, so the emitter leaves it out (and no jump in it can point past the end).
    /// </summary>
    public bool Reachable { get; private set; } = true;

    public int Offset => (int)_code.Position;

    /// <summary>The line the code emitted now comes from (the last <see cref="MarkLine"/>), or 0 before any.</summary>
    public int CurrentLine => _lineCount > 0 ? _lines[_lineCount - 1].Line : 0;

    /// <summary>Notes that the code emitted from here on comes from <paramref name="line"/>.</summary>
    public void MarkLine(int line)
    {
        if (line <= 0) return;
        if (_lineCount > 0 && _lines[_lineCount - 1].Line == line) return;
        if (_lineCount > 0 && _lines[_lineCount - 1].Offset == Offset) _lines[_lineCount - 1] = new LineEntry(Offset, line);
        else
        {
            if (_lineCount == _lines.Length) _lines = Copy(_lines, _lineCount, _lineCount * 2);
            _lines[_lineCount++] = new LineEntry(Offset, line);
        }
    }

    /// <summary>Emits an instruction whose stack effect is fixed in the opcode table.</summary>
    public void Emit(Opcode op, params long[] operands)
    {
        var info = OpcodeInfo.All[(int)op];
        if (info.Pops < 0 || info.Pushes < 0) throw new InvalidOperationException($"{info.Name} needs an explicit stack effect");
        EmitWithEffect(op, info.Pops, info.Pushes, operands);
    }

    /// <summary>Emits an instruction with the given stack effect (calls, array literals).</summary>
    public void EmitWithEffect(Opcode op, int pops, int pushes, params long[] operands)
    {
        var info = OpcodeInfo.All[(int)op];
        if (operands.Length != info.Operands.Length) throw new ArgumentException($"{info.Name} takes {info.Operands.Length} operands");
        Span<byte> bytes = stackalloc byte[info.Size];
        bytes[0] = (byte)op;
        for (int i = 0; i < operands.Length; i++) OpcodeInfo.WriteOperand(bytes, info.OperandOffset(i), info.Operands[i], operands[i]);
        _code.Write(bytes);
        // Bounded as it grows, so that a function past the module's bound stops the compile where it passes it.
        if (_code.Position > ModuleFormat.MaxCodeLength) throw new CodeTooLongException();
        _depth -= pops;
        if (_depth < 0) throw new InvalidOperationException($"emitter bug: stack underflow at {info.Name}");
        _depth += pushes;
        MaxStack = Math.Max(MaxStack, _depth);
        if (!info.FallsThrough) Reachable = false;
    }

    /// <summary>Emits a jump (jmp, jmpif, jmpifnot) to a label, bound now or later.</summary>
    public void Jump(Opcode op, Label target)
    {
        if (!Reachable) return;
        Emit(op, 0L);
        int operandAt = Offset - 4;
        target.Depth = _depth;
        if (target.Offset >= 0) Patch(operandAt, target.Offset);
        else target.Fixups.Add(operandAt);
    }

    /// <summary>
    /// Binds a label here. Code after an unconditional jump takes the stack depth jumps bring to the label.
    /// <paramref name="targetedLater"/>: a jump emitted later goes back to it (the top of a loop whose test is at
    /// its bottom), so the code here is reachable although no jump has come yet.
    /// </summary>
    public void Mark(Label label, bool targetedLater = false)
    {
        if (label.Fixups.Count > 0 || targetedLater) Reachable = true;
        label.Offset = Offset;
        if (label.Depth >= 0) _depth = label.Depth;
        label.Depth = _depth;
        foreach (int at in label.Fixups) Patch(at, label.Offset);
        label.Fixups.Clear();
    }

    private void Patch(int at, int target)
    {
        OpcodeInfo.WriteOperand(_code.GetBuffer(), at, OperandKind.Target, target);
    }

    /// <summary>
    /// Binds a label at the start of an exception handler: reachable (the VM jumps here when an error is caught),
    /// with only the error on the stack.
    /// </summary>
    public void MarkHandler(Label label)
    {
        label.Offset = Offset;
        label.Depth = 1;
        _depth = 1;
        MaxStack = Math.Max(MaxStack, 1);
        Reachable = true;
    }

    private ExceptionHandler[] _handlers = new ExceptionHandler[4];
    private int _handlerCount;

    /// <summary>Adds an exception-table entry; entries are searched in the order they are added.</summary>
    public void AddHandler(int start, int end, int handler, int classIndex)
    {
        if (end <= start) return;
        if (_handlerCount == _handlers.Length) _handlers = Copy(_handlers, _handlerCount, _handlerCount * 2);
        _handlers[_handlerCount++] = new ExceptionHandler(start, end, handler, classIndex);
    }

    public ExceptionHandler[] Handlers => Copy(_handlers, _handlerCount, _handlerCount);

    public byte[] ToArray() => _code.ToArray();

    public LineEntry[] Lines => Copy(_lines, _lineCount, _lineCount);

    // The first count items in a new array of length items. (One method for each type, not a generic one: a
    // generic method over the runtime's types is compiled at run time too.)
    private static LineEntry[] Copy(LineEntry[] items, int count, int length)
    {
        var copy = new LineEntry[length];
        Array.Copy(items, copy, count);
        return copy;
    }

    private static ExceptionHandler[] Copy(ExceptionHandler[] items, int count, int length)
    {
        var copy = new ExceptionHandler[length];
        Array.Copy(items, copy, count);
        return copy;
    }
}

/// <summary>The code being built passed <see cref="ModuleFormat.MaxCodeLength"/>; the emitter says where.</summary>
public sealed class CodeTooLongException : Exception;
