using System.Buffers.Binary;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Natives;

namespace Hlvm.Runtime.Verification;

// ============================================================================================================
// The verifier: the reason the interpreter may trust bytecode.
//
// Every module is verified before any of it runs, whatever produced it. For each function it first decodes the
// code, checking that every opcode exists, every operand is present and in range, and every branch lands on the
// first byte of an instruction. It then runs a data-flow analysis over the instructions: the abstract state at
// an instruction is the type of every operand-stack entry and the set of locals definitely written. States are
// merged where paths join; the heights and types must agree there, and a local is written only if it is on
// every path. Each instruction is checked against its rule (operand types, local types, call signatures, array
// element types, return type), the stack may never exceed the function's declared max stack, and no path may
// fall off the end of the code. The analysis also yields the collector's stack maps: which operand-stack
// entries are references at each instruction that may allocate or call.
// ============================================================================================================

public static class Verifier
{
    /// <summary>Verifies a module and binds its natives against the host's table.</summary>
    /// <exception cref="VerifyException">the first rule the module breaks</exception>
    public static LoadedModule Verify(Module module, IReadOnlyList<NativeDef>? natives = null)
    {
        string moduleName = module.Name.Length > 0 ? module.Name : "<module>";
        var bound = new NativeDef[module.Natives.Count];
        for (int i = 0; i < bound.Length; i++)
        {
            var import = module.Natives[i];
            var def = (natives ?? NativeTable.All).FirstOrDefault(n => n.Name == import.Name)
                ?? throw new VerifyException(moduleName, "<imports>", -1, $"unknown native '{import.Name}'");
            if (!def.Matches(import))
                throw new VerifyException(moduleName, "<imports>", -1,
                    $"native '{import.Name}' is imported as ({string.Join(", ", import.Params.AsEnumerable())}) -> {import.Return} but the host declares ({string.Join(", ", def.Params.AsEnumerable())}) -> {def.Return}");
            bound[i] = def;
        }
        if (module.EntryFunction >= 0)
        {
            var entry = module.Functions[module.EntryFunction];
            bool okParams = entry.Params.Length == 0 || (entry.Params.Length == 1 && entry.Params[0] == VmType.ArrayOf(VmType.String));
            bool okReturn = entry.Return == VmType.Void || entry.Return == VmType.Int;
            if (!okParams || !okReturn)
                throw new VerifyException(moduleName, entry.Name, -1, "the entry function must take no parameters or one [string], and return nothing or int");
        }
        var functions = new LoadedFunction[module.Functions.Count];
        for (int i = 0; i < functions.Length; i++) functions[i] = new FunctionVerifier(module, moduleName, i).Run();
        return new LoadedModule(module, functions, bound);
    }

    private sealed class FunctionVerifier(Module module, string moduleName, int index)
    {
        private readonly FunctionDef _f = module.Functions[index];
        private readonly List<Instr> _code = [];
        private readonly List<int> _offsets = [];
        private int _at; // offset of the instruction being checked, for errors

        private VerifyException Fail(string reason) => new(moduleName, _f.Name, _at, reason);

        public LoadedFunction Run()
        {
            _at = -1;
            if (_f.Code.Length == 0) throw Fail("the function has no code");
            Decode();
            var states = Analyze();
            var maps = new bool[]?[_code.Count];
            for (int i = 0; i < _code.Count; i++)
            {
                if (OpcodeInfo.All[(int)_code[i].Op].GcPoint && states[i] is { } s)
                    maps[i] = s.Stack.Select(t => t.IsReference).ToArray();
            }
            return new LoadedFunction
            {
                Def = _f,
                Index = index,
                Code = [.. _code],
                Offsets = [.. _offsets],
                LocalIsRef = _f.Locals.Select(t => t.IsReference).ToArray(),
                StackMaps = maps,
                StackTypes = states.Select(st => st?.Stack).ToArray(),
            };
        }

        // ---------------------------------------------------------------------------------------- decoding

        private void Decode()
        {
            var code = _f.Code;
            var targets = new List<(int index, int target)>();
            var offsetToIndex = new Dictionary<int, int>();
            for (int pc = 0; pc < code.Length;)
            {
                _at = pc;
                var info = OpcodeInfo.Of(code[pc]) ?? throw Fail($"unknown opcode 0x{code[pc]:x2}");
                if (pc + info.Size > code.Length) throw Fail($"{info.Name} is truncated: its operands run past the end of the code");
                var ins = new Instr { Op = info.Op };
                int p = pc + 1;
                for (int k = 0; k < info.Operands.Length; k++)
                {
                    var kind = info.Operands[k];
                    long value = OpcodeInfo.Width(kind) switch
                    {
                        2 => BinaryPrimitives.ReadUInt16LittleEndian(code.AsSpan(p)),
                        4 => BinaryPrimitives.ReadUInt32LittleEndian(code.AsSpan(p)),
                        _ => BinaryPrimitives.ReadInt64LittleEndian(code.AsSpan(p)),
                    };
                    p += OpcodeInfo.Width(kind);
                    CheckOperand(info, kind, value);
                    if (kind is OperandKind.Int64 or OperandKind.Float64 or OperandKind.Bool or OperandKind.Count) ins.B = value;
                    else ins.A = (int)value;
                    if (kind == OperandKind.Target) targets.Add((_code.Count, (int)value));
                }
                offsetToIndex[pc] = _code.Count;
                _code.Add(ins);
                _offsets.Add(pc);
                pc = p;
            }
            foreach (var (i, target) in targets)
            {
                _at = _offsets[i];
                if (!offsetToIndex.TryGetValue(target, out int ti))
                    throw Fail(target >= code.Length
                        ? $"branch target {target} is outside the function (code is {code.Length} bytes)"
                        : $"branch target {target} is in the middle of an instruction");
                var ins = _code[i];
                ins.A = ti;
                _code[i] = ins;
            }
        }

        private void CheckOperand(OpcodeInfo info, OperandKind kind, long value)
        {
            (int count, string what) = kind switch
            {
                OperandKind.Local => (_f.Locals.Length, "local"),
                OperandKind.String => (module.Strings.Count, "string constant"),
                OperandKind.Function => (module.Functions.Count, "function"),
                OperandKind.Native => (module.Natives.Count, "native import"),
                OperandKind.Type => (module.Types.Count, "type"),
                OperandKind.Bool => (2, "bool constant"),
                OperandKind.Count => (ModuleFormat.MaxStackLimit + 1, "element count"),
                _ => (-1, ""),
            };
            if (count >= 0 && (ulong)value >= (ulong)count)
                throw Fail($"{info.Name}: {what} {value} is out of range (0..{count - 1})");
        }

        // ---------------------------------------------------------------------------------------- data flow

        /// <summary>The abstract state before an instruction.</summary>
        private sealed class State(VmType[] stack, bool[] written)
        {
            public VmType[] Stack = stack;
            public bool[] Written = written;
        }

        private State?[] Analyze()
        {
            var states = new State?[_code.Count];
            var written = new bool[_f.Locals.Length];
            for (int i = 0; i < _f.Params.Length; i++) written[i] = true;
            states[0] = new State([], written);
            var work = new Stack<int>();
            work.Push(0);
            while (work.Count > 0)
            {
                int i = work.Pop();
                var ins = _code[i];
                _at = _offsets[i];
                var stack = new List<VmType>(states[i]!.Stack);
                var locals = (bool[])states[i]!.Written.Clone();
                var next = Step(i, ins, stack, locals);
                if (stack.Count > _f.MaxStack)
                    throw Fail($"the operand stack grows to {stack.Count}, past the declared max stack of {_f.MaxStack}");
                foreach (int target in next)
                {
                    if (target >= _code.Count) throw Fail("execution falls off the end of the code");
                    if (Merge(states, target, stack, locals)) work.Push(target);
                }
            }
            return states;
        }

        private bool Merge(State?[] states, int target, List<VmType> stack, bool[] written)
        {
            if (states[target] is not { } old)
            {
                states[target] = new State([.. stack], (bool[])written.Clone());
                return true;
            }
            if (old.Stack.Length != stack.Count)
                throw Fail($"stack height {stack.Count} disagrees with height {old.Stack.Length} where paths join at offset {_offsets[target]}");
            for (int k = 0; k < stack.Count; k++)
            {
                if (old.Stack[k] != stack[k])
                    throw Fail($"stack entry {k} is {stack[k]} on one path and {old.Stack[k]} on another where they join at offset {_offsets[target]}");
            }
            bool changed = false;
            for (int k = 0; k < written.Length; k++)
            {
                if (old.Written[k] && !written[k])
                {
                    old.Written[k] = false;
                    changed = true;
                }
            }
            return changed;
        }

        private VmType Pop(List<VmType> stack, string name)
        {
            if (stack.Count == 0) throw Fail($"{name} needs a value but the stack is empty");
            var t = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return t;
        }

        private VmType Pop(List<VmType> stack, string name, VmType expected)
        {
            var t = Pop(stack, name);
            if (t != expected) throw Fail($"{name} expects {expected} on the stack but found {t}");
            return t;
        }

        private VmType PopArray(List<VmType> stack, string name)
        {
            var t = Pop(stack, name);
            if (t.Kind != TypeKind.Array) throw Fail($"{name} expects an array on the stack but found {t}");
            return t;
        }

        /// <summary>Applies one instruction to the state; returns the instructions that may run next.</summary>
        private int[] Step(int i, Instr ins, List<VmType> s, bool[] written)
        {
            int[] fallThrough = [i + 1];
            string name = OpcodeInfo.All[(int)ins.Op].Name;
            switch (ins.Op)
            {
                case Opcode.Nop: break;
                case Opcode.IConst: s.Add(VmType.Int); break;
                case Opcode.FConst: s.Add(VmType.Float); break;
                case Opcode.BConst: s.Add(VmType.Bool); break;
                case Opcode.SConst: s.Add(VmType.String); break;
                case Opcode.Load:
                    if (!written[ins.A]) throw Fail($"load reads local {ins.A} before it is written on every path");
                    s.Add(_f.Locals[ins.A]);
                    break;
                case Opcode.Store:
                    Pop(s, name, _f.Locals[ins.A]);
                    written[ins.A] = true;
                    break;
                case Opcode.Pop: Pop(s, name); break;
                case Opcode.Dup:
                    var top = Pop(s, name);
                    s.Add(top);
                    s.Add(top);
                    break;
                case Opcode.IAdd or Opcode.ISub or Opcode.IMul or Opcode.IDiv or Opcode.IRem or Opcode.IAnd
                    or Opcode.IOr or Opcode.IXor or Opcode.IShl or Opcode.IShr:
                    Binary(s, name, VmType.Int, VmType.Int);
                    break;
                case Opcode.INeg or Opcode.INot: Unary(s, name, VmType.Int, VmType.Int); break;
                case Opcode.FAdd or Opcode.FSub or Opcode.FMul or Opcode.FDiv or Opcode.FRem:
                    Binary(s, name, VmType.Float, VmType.Float);
                    break;
                case Opcode.FNeg: Unary(s, name, VmType.Float, VmType.Float); break;
                case Opcode.IEq or Opcode.INe or Opcode.ILt or Opcode.ILe or Opcode.IGt or Opcode.IGe:
                    Binary(s, name, VmType.Int, VmType.Bool);
                    break;
                case Opcode.FEq or Opcode.FNe or Opcode.FLt or Opcode.FLe or Opcode.FGt or Opcode.FGe:
                    Binary(s, name, VmType.Float, VmType.Bool);
                    break;
                case Opcode.BEq or Opcode.BNe: Binary(s, name, VmType.Bool, VmType.Bool); break;
                case Opcode.BNot: Unary(s, name, VmType.Bool, VmType.Bool); break;
                case Opcode.SEq or Opcode.SNe: Binary(s, name, VmType.String, VmType.Bool); break;
                case Opcode.SConcat: Binary(s, name, VmType.String, VmType.String); break;
                case Opcode.IToS: Unary(s, name, VmType.Int, VmType.String); break;
                case Opcode.FToS: Unary(s, name, VmType.Float, VmType.String); break;
                case Opcode.BToS: Unary(s, name, VmType.Bool, VmType.String); break;
                case Opcode.AToS:
                    PopArray(s, name);
                    s.Add(VmType.String);
                    break;
                case Opcode.IToF: Unary(s, name, VmType.Int, VmType.Float); break;
                case Opcode.FToI: Unary(s, name, VmType.Float, VmType.Int); break;
                case Opcode.Jmp: return [ins.A];
                case Opcode.JmpIf or Opcode.JmpIfNot:
                    Pop(s, name, VmType.Bool);
                    return [i + 1, ins.A];
                case Opcode.Call:
                    {
                        var callee = module.Functions[ins.A];
                        Args(s, $"call of '{callee.Name}'", callee.Params);
                        if (callee.Return != VmType.Void) s.Add(callee.Return);
                        break;
                    }
                case Opcode.CallNative:
                    {
                        var callee = module.Natives[ins.A];
                        Args(s, $"call of native '{callee.Name}'", callee.Params);
                        if (callee.Return != VmType.Void) s.Add(callee.Return);
                        break;
                    }
                case Opcode.Ret:
                    if (_f.Return == VmType.Void) throw Fail("ret in a function that returns nothing (use retvoid)");
                    Pop(s, name, _f.Return);
                    return [];
                case Opcode.RetVoid:
                    if (_f.Return != VmType.Void) throw Fail($"retvoid in a function that must return {_f.Return}");
                    return [];
                case Opcode.NewArray:
                    {
                        var type = module.Types[ins.A];
                        if (type.Kind != TypeKind.Array) throw Fail($"newarray: type {ins.A} is {type}, not an array type");
                        var elems = new VmType[ins.B];
                        Array.Fill(elems, type.Element!);
                        Args(s, "newarray", elems);
                        s.Add(type);
                        break;
                    }
                case Opcode.ALoad:
                    {
                        Pop(s, name, VmType.Int);
                        var array = PopArray(s, name);
                        s.Add(array.Element!);
                        break;
                    }
                case Opcode.AStore:
                    {
                        var value = Pop(s, name);
                        Pop(s, name, VmType.Int);
                        var array = PopArray(s, name);
                        if (value != array.Element) throw Fail($"astore of {value} into {array}");
                        break;
                    }
                case Opcode.ALen:
                    PopArray(s, name);
                    s.Add(VmType.Int);
                    break;
                case Opcode.APush:
                    {
                        var value = Pop(s, name);
                        var array = PopArray(s, name);
                        if (value != array.Element) throw Fail($"apush of {value} onto {array}");
                        break;
                    }
                default:
                    throw Fail($"no verifier rule for opcode {name}");
            }
            return fallThrough;
        }

        private void Unary(List<VmType> s, string name, VmType operand, VmType result)
        {
            Pop(s, name, operand);
            s.Add(result);
        }

        private void Binary(List<VmType> s, string name, VmType operand, VmType result)
        {
            Pop(s, name, operand);
            Pop(s, name, operand);
            s.Add(result);
        }

        private void Args(List<VmType> s, string what, VmType[] parameters)
        {
            if (s.Count < parameters.Length)
                throw Fail($"{what} needs {parameters.Length} arguments but the stack holds {s.Count}");
            for (int k = 0; k < parameters.Length; k++)
            {
                var actual = s[s.Count - parameters.Length + k];
                if (actual != parameters[k]) throw Fail($"{what}: argument {k + 1} is {actual}, expected {parameters[k]}");
            }
            s.RemoveRange(s.Count - parameters.Length, parameters.Length);
        }
    }
}
