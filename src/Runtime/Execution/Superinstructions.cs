using System.Runtime.CompilerServices;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Runtime.Execution;

// ============================================================================================================
// Superinstructions: the interpreter's fast mode runs a copy of each function's code in which common sequences
// of a stack machine are fused into one instruction, so that one dispatch does the work of two to four:
//
//   load a; load b; OP            push L[a] OP L[b]                     (OP: an int or float binary operator,
//   load a; const k; OP           push L[a] OP k                         a comparison, or a division by a
//   load a; OP                    S[-1] := S[-1] OP L[a]                 nonzero constant)
//   const k; OP                   S[-1] := S[-1] OP k
//   load a; load b; CMP; jmpif    if L[a] CMP L[b] (or not) goto t       (jmpifnot likewise)
//   load a; const k; CMP; jmpif   if L[a] CMP k (or not) goto t
//   CMP; jmpif                    pop two; if they compare (or not) goto t
//   load a; iconst k; iadd; store a     L[a] += k
//   load a; getfield C f          push L[a].f
//   load a; getfield C f; load b; getfield D g; OP     push L[a].f OP L[b].g
//   load a; load b; aload         push L[a][L[b]]
//   load a; load b; const k; astore     L[a][L[b]] := k   (or a local's value: load c)
//   load a; load b                push L[a], L[b]
//   load a; store b               L[b] := L[a]
//   const k; store a              L[a] := k
//   load a; nonnull               push L[a], NullError when it is null
// and a store after the binary forms puts the result in a local instead of on the stack: L[d] := L[a] OP L[b].
//
// The fused instruction replaces the first of its sequence; the others stay where they were, so every index
// (branch targets, exception ranges, line numbers, stack maps) means what it did, and the fused one skips them.
// A sequence is fused only when nothing but its first instruction is a branch target or an exception boundary,
// and only from instructions that can't allocate: the collector never runs inside one. The metered and checked
// modes (--fuel, --checked) run the original code, instruction by instruction.
// ============================================================================================================

/// <summary>The interpreter's internal opcodes for fused sequences, numbered after the bytecode's.</summary>
internal static class Fused
{
    public const Opcode LLBin = (Opcode)0xC0, LCBin = (Opcode)0xC1, LBin = (Opcode)0xC2, CBin = (Opcode)0xC3;
    public const Opcode LLCmpJump = (Opcode)0xC4, LCCmpJump = (Opcode)0xC5, CmpJump = (Opcode)0xC6;
    public const Opcode IncLocal = (Opcode)0xC7, LoadGetField = (Opcode)0xC8;
    public const Opcode LLBinStore = (Opcode)0xC9, LCBinStore = (Opcode)0xCA, LBinStore = (Opcode)0xCB, CBinStore = (Opcode)0xCC;
    public const Opcode FieldFieldBin = (Opcode)0xCD, ALoadLL = (Opcode)0xCE, AStoreLLC = (Opcode)0xCF, AStoreLLL = (Opcode)0xD0;
    public const Opcode LoadLoad = (Opcode)0xD1, Move = (Opcode)0xD2, StoreConst = (Opcode)0xD3, LoadNonNull = (Opcode)0xD4;

    // The commonest operators of the binary forms get opcodes of their own (one dispatch instead of two):
    // 0xD8 + form * 7 + operator.
    public static readonly Opcode[] Specialized = [Opcode.IAdd, Opcode.ISub, Opcode.IMul, Opcode.FAdd, Opcode.FSub, Opcode.FMul, Opcode.FDiv];
    public static readonly Opcode[] SpecializedForms = [LLBin, LCBin, LBin, LLBinStore, LCBinStore];
    public const Opcode LLBinIAdd = (Opcode)0xD8;
    public const Opcode LLBinISub = (Opcode)0xD9;
    public const Opcode LLBinIMul = (Opcode)0xDA;
    public const Opcode LLBinFAdd = (Opcode)0xDB;
    public const Opcode LLBinFSub = (Opcode)0xDC;
    public const Opcode LLBinFMul = (Opcode)0xDD;
    public const Opcode LLBinFDiv = (Opcode)0xDE;
    public const Opcode LCBinIAdd = (Opcode)0xDF;
    public const Opcode LCBinISub = (Opcode)0xE0;
    public const Opcode LCBinIMul = (Opcode)0xE1;
    public const Opcode LCBinFAdd = (Opcode)0xE2;
    public const Opcode LCBinFSub = (Opcode)0xE3;
    public const Opcode LCBinFMul = (Opcode)0xE4;
    public const Opcode LCBinFDiv = (Opcode)0xE5;
    public const Opcode LBinIAdd = (Opcode)0xE6;
    public const Opcode LBinISub = (Opcode)0xE7;
    public const Opcode LBinIMul = (Opcode)0xE8;
    public const Opcode LBinFAdd = (Opcode)0xE9;
    public const Opcode LBinFSub = (Opcode)0xEA;
    public const Opcode LBinFMul = (Opcode)0xEB;
    public const Opcode LBinFDiv = (Opcode)0xEC;
    public const Opcode LLBinStoreIAdd = (Opcode)0xED;
    public const Opcode LLBinStoreISub = (Opcode)0xEE;
    public const Opcode LLBinStoreIMul = (Opcode)0xEF;
    public const Opcode LLBinStoreFAdd = (Opcode)0xF0;
    public const Opcode LLBinStoreFSub = (Opcode)0xF1;
    public const Opcode LLBinStoreFMul = (Opcode)0xF2;
    public const Opcode LLBinStoreFDiv = (Opcode)0xF3;
    public const Opcode LCBinStoreIAdd = (Opcode)0xF4;
    public const Opcode LCBinStoreISub = (Opcode)0xF5;
    public const Opcode LCBinStoreIMul = (Opcode)0xF6;
    public const Opcode LCBinStoreFAdd = (Opcode)0xF7;
    public const Opcode LCBinStoreFSub = (Opcode)0xF8;
    public const Opcode LCBinStoreFMul = (Opcode)0xF9;
    public const Opcode LCBinStoreFDiv = (Opcode)0xFA;

    /// <summary>Set in <see cref="Instr.Sub"/> of a compare-and-jump that jumps when the comparison is true.</summary>
    public const byte JumpIfTrue = 0x80;
}

public static class Superinstructions
{
    /// <summary>The fused copy of a verified function's code.</summary>
    internal static Instr[] Fuse(Instr[] code, (int Start, int End, int Handler, int Class)[] handlers, bool[] reachable)
    {
        var boundary = new bool[code.Length + 1];
        foreach (var ins in code)
        {
            if (OpcodeInfo.Of(ins.Op).HasTarget) boundary[ins.A] = true;
        }
        foreach (var (start, end, handler, _) in handlers)
        {
            boundary[start] = boundary[end] = boundary[handler] = true;
        }
        var fused = (Instr[])code.Clone();
        for (int i = 0; i < code.Length; i++)
        {
            if (!reachable[i]) continue;
            // The instructions after the first, up to n of them, are entered only from the first.
            bool Alone(int n)
            {
                if (i + n >= code.Length) return false;
                for (int k = 1; k <= n; k++)
                    if (boundary[i + k] || !reachable[i + k]) return false;
                return true;
            }
            var a = code[i];
            Instr Next(int k) => code[i + k];
            bool Is(int k, Opcode op) => Next(k).Op == op;
            int length = 0;
            Instr f = default;
            if (a.Op == Opcode.Load && Alone(3) && Is(1, Opcode.Load) && IsCompare(Next(2).Op) && IsCondJump(Next(3).Op))
            {
                f = new Instr { Op = Fused.LLCmpJump, Sub = Sense(Next(2).Op, Next(3).Op), C = (ushort)a.A, B = Next(1).A, A = Next(3).A };
                length = 4;
            }
            else if (a.Op == Opcode.Load && Alone(3) && IsConst(Next(1).Op) && IsCompare(Next(2).Op) && IsCondJump(Next(3).Op))
            {
                f = new Instr { Op = Fused.LCCmpJump, Sub = Sense(Next(2).Op, Next(3).Op), C = (ushort)a.A, B = Next(1).B, A = Next(3).A };
                length = 4;
            }
            else if (a.Op == Opcode.Load && Alone(3) && Is(1, Opcode.IConst) && Is(2, Opcode.IAdd) && Is(3, Opcode.Store) && Next(3).A == a.A)
            {
                f = new Instr { Op = Fused.IncLocal, C = (ushort)a.A, B = Next(1).B };
                length = 4;
            }
            else if (a.Op == Opcode.Load && Alone(4) && Is(1, Opcode.GetField) && Is(2, Opcode.Load) && Is(3, Opcode.GetField) && IsBinary(Next(4).Op, null)
                     && Next(4).Op is not (Opcode.RefEq or Opcode.RefNe))
            {
                // B packs the second local (low 16 bits) and its field (high 32 bits). Only fields of numbers and
                // bools: a reference field may be unset (read in a constructor before its store), which getfield
                // faults on and this form does not test (`xs == xs` said true where every other engine faulted).
                f = new Instr { Op = Fused.FieldFieldBin, Sub = (byte)Next(4).Op, C = (ushort)a.A, A = (int)Next(1).B, B = (uint)Next(2).A | (Next(3).B << 32) };
                length = 5;
            }
            else if (a.Op == Opcode.Load && Alone(3) && Is(1, Opcode.Load) && IsConst(Next(2).Op) && Is(3, Opcode.AStore))
            {
                f = new Instr { Op = Fused.AStoreLLC, C = (ushort)a.A, A = Next(1).A, B = Next(2).B };
                length = 4;
            }
            else if (a.Op == Opcode.Load && Alone(3) && Is(1, Opcode.Load) && Is(2, Opcode.Load) && Is(3, Opcode.AStore))
            {
                f = new Instr { Op = Fused.AStoreLLL, C = (ushort)a.A, A = Next(1).A, B = Next(2).A };
                length = 4;
            }
            else if (a.Op == Opcode.Load && Alone(2) && Is(1, Opcode.Load) && IsBinary(Next(2).Op, null))
            {
                bool store = Alone(3) && Is(3, Opcode.Store);
                f = new Instr { Op = store ? Fused.LLBinStore : Fused.LLBin, Sub = (byte)Next(2).Op, C = (ushort)a.A, A = Next(1).A, B = store ? Next(3).A : 0 };
                length = store ? 4 : 3;
            }
            else if (a.Op == Opcode.Load && Alone(2) && IsConst(Next(1).Op) && IsBinary(Next(2).Op, Next(1).B))
            {
                bool store = Alone(3) && Is(3, Opcode.Store);
                f = new Instr { Op = store ? Fused.LCBinStore : Fused.LCBin, Sub = (byte)Next(2).Op, C = (ushort)a.A, B = Next(1).B, A = store ? Next(3).A : 0 };
                length = store ? 4 : 3;
            }
            else if (a.Op == Opcode.Load && Alone(2) && Is(1, Opcode.Load) && Is(2, Opcode.ALoad))
            {
                f = new Instr { Op = Fused.ALoadLL, C = (ushort)a.A, A = Next(1).A };
                length = 3;
            }
            else if (IsCompare(a.Op) && Alone(1) && IsCondJump(Next(1).Op))
            {
                f = new Instr { Op = Fused.CmpJump, Sub = Sense(a.Op, Next(1).Op), A = Next(1).A };
                length = 2;
            }
            else if (a.Op == Opcode.Load && Alone(1) && Is(1, Opcode.GetField))
            {
                f = new Instr { Op = Fused.LoadGetField, C = (ushort)a.A, A = Next(1).A, B = Next(1).B };
                length = 2;
            }
            else if (a.Op == Opcode.Load && Alone(1) && IsBinary(Next(1).Op, null))
            {
                bool store = Alone(2) && Is(2, Opcode.Store);
                f = new Instr { Op = store ? Fused.LBinStore : Fused.LBin, Sub = (byte)Next(1).Op, C = (ushort)a.A, A = store ? Next(2).A : 0 };
                length = store ? 3 : 2;
            }
            else if (IsConst(a.Op) && Alone(1) && IsBinary(Next(1).Op, a.B))
            {
                bool store = Alone(2) && Is(2, Opcode.Store);
                f = new Instr { Op = store ? Fused.CBinStore : Fused.CBin, Sub = (byte)Next(1).Op, B = a.B, A = store ? Next(2).A : 0 };
                length = store ? 3 : 2;
            }
            else if (a.Op == Opcode.Load && Alone(1) && Is(1, Opcode.Store))
            {
                f = new Instr { Op = Fused.Move, C = (ushort)a.A, A = Next(1).A };
                length = 2;
            }
            else if (IsConst(a.Op) && Alone(1) && Is(1, Opcode.Store))
            {
                f = new Instr { Op = Fused.StoreConst, B = a.B, A = Next(1).A };
                length = 2;
            }
            else if (a.Op == Opcode.Load && Alone(1) && Is(1, Opcode.NonNull))
            {
                f = new Instr { Op = Fused.LoadNonNull, C = (ushort)a.A };
                length = 2;
            }
            else if (a.Op == Opcode.Load && Alone(1) && Is(1, Opcode.Load))
            {
                f = new Instr { Op = Fused.LoadLoad, C = (ushort)a.A, A = Next(1).A };
                length = 2;
            }
            if (length == 0) continue;
            int form = IndexIn(Fused.SpecializedForms, f.Op), op = IndexIn(Fused.Specialized, (Opcode)f.Sub);
            if (form >= 0 && op >= 0) f.Op = (Opcode)(0xD8 + form * Fused.Specialized.Length + op);
            fused[i] = f;
            i += length - 1;
        }
        return fused;
    }

    /// <summary>Where <paramref name="op"/> is in <paramref name="table"/>, or -1. (A loop: Array.IndexOf over an enum
    /// is compiled at run time on first use, at every start.)</summary>
    private static int IndexIn(Opcode[] table, Opcode op)
    {
        for (int i = 0; i < table.Length; i++)
            if (table[i] == op) return i;
        return -1;
    }

    private static bool IsConst(Opcode op) => op is Opcode.IConst or Opcode.FConst or Opcode.BConst;

    private static bool IsCondJump(Opcode op) => op is Opcode.JmpIf or Opcode.JmpIfNot;

    private static bool IsCompare(Opcode op) => op is >= Opcode.IEq and <= Opcode.FGe or Opcode.BEq or Opcode.BNe or Opcode.RefEq or Opcode.RefNe;

    private static byte Sense(Opcode compare, Opcode jump) => (byte)((byte)compare | (jump == Opcode.JmpIf ? Fused.JumpIfTrue : 0));

    /// <summary>
    /// The binary operators a fused instruction computes with <see cref="Binary"/>: those that can't fail, and a
    /// division or remainder by a constant (<paramref name="constant"/>) other than zero.
    /// </summary>
    private static bool IsBinary(Opcode op, long? constant) => op switch
    {
        Opcode.IAdd or Opcode.ISub or Opcode.IMul or Opcode.IAnd or Opcode.IOr or Opcode.IXor or Opcode.IShl or Opcode.IShr => true,
        Opcode.FAdd or Opcode.FSub or Opcode.FMul or Opcode.FDiv or Opcode.FRem => true,
        Opcode.IDiv or Opcode.IRem => constant is { } k && k != 0,
        _ => IsCompare(op),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double D(long bits) => BitConverter.Int64BitsToDouble(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long L(double value) => BitConverter.DoubleToInt64Bits(value);

    /// <summary>x OP y for a fusable operator (the opcodes' semantics, <see cref="OpcodeInfo.All"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Binary(Opcode op, long x, long y) => op switch
    {
        Opcode.IAdd => x + y,
        Opcode.ISub => x - y,
        Opcode.IMul => x * y,
        Opcode.IDiv => Arithmetic.Div(x, y),
        Opcode.IRem => Arithmetic.Rem(x, y),
        Opcode.IAnd => x & y,
        Opcode.IOr => x | y,
        Opcode.IXor => x ^ y,
        Opcode.IShl => Arithmetic.Shl(x, y),
        Opcode.IShr => Arithmetic.Shr(x, y),
        Opcode.FAdd => L(D(x) + D(y)),
        Opcode.FSub => L(D(x) - D(y)),
        Opcode.FMul => L(D(x) * D(y)),
        Opcode.FDiv => L(D(x) / D(y)),
        Opcode.FRem => L(D(x) % D(y)),
        _ => Compare(op, x, y) ? 1 : 0,
    };

    /// <summary>x CMP y for a comparison opcode (ints, floats, bools and references).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Compare(Opcode op, long x, long y) => op switch
    {
        Opcode.IEq or Opcode.BEq or Opcode.RefEq => x == y,
        Opcode.INe or Opcode.BNe or Opcode.RefNe => x != y,
        Opcode.ILt => x < y,
        Opcode.ILe => x <= y,
        Opcode.IGt => x > y,
        Opcode.IGe => x >= y,
        Opcode.FEq => D(x) == D(y),
        Opcode.FNe => D(x) != D(y),
        Opcode.FLt => D(x) < D(y),
        Opcode.FLe => D(x) <= D(y),
        Opcode.FGt => D(x) > D(y),
        _ => D(x) >= D(y),
    };
}
