using Hlvm.Runtime;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using static Hlvm.Runtime.Bytecode.Opcode;

namespace Hlvm.Tests;

/// <summary>
/// Every opcode in the table has a sample here that the verifier accepts and the interpreter runs to a known
/// result; a new opcode without a sample, a verifier rule or an interpreter case fails this test.
/// </summary>
public sealed class OpcodeTests
{
    private static long Fb(double d) => BitConverter.DoubleToInt64Bits(d);

    private sealed record Sample(object[] Code, VmType Return, long Expected, VmType[]? Locals = null, ExceptionHandler[]? Handlers = null);

    private static readonly VmType IntArray = VmType.ArrayOf(VmType.Int);
    private static readonly VmType Point = VmType.ObjectOf(0);

    private static readonly Dictionary<Opcode, Sample> Samples = new()
    {
        [Nop] = new([Nop, IConst, 7, Ret], VmType.Int, 7),
        [IConst] = new([IConst, -5, Ret], VmType.Int, -5),
        [FConst] = new([FConst, 2.5, Ret], VmType.Float, Fb(2.5)),
        [BConst] = new([BConst, 1, Ret], VmType.Bool, 1),
        [SConst] = new([SConst, 0, SConst, 0, SEq, Ret], VmType.Bool, 1),
        [Load] = new([IConst, 3, Store, 0, Load, 0, Ret], VmType.Int, 3, [VmType.Int]),
        [Store] = new([IConst, 4, Store, 0, Load, 0, Ret], VmType.Int, 4, [VmType.Int]),
        [Pop] = new([IConst, 1, IConst, 2, Pop, Ret], VmType.Int, 1),
        [Dup] = new([IConst, 6, Dup, IMul, Ret], VmType.Int, 36),
        [IAdd] = new([IConst, long.MaxValue, IConst, 1, IAdd, Ret], VmType.Int, long.MinValue),
        [ISub] = new([IConst, 2, IConst, 5, ISub, Ret], VmType.Int, -3),
        [IMul] = new([IConst, -4, IConst, 5, IMul, Ret], VmType.Int, -20),
        [IDiv] = new([IConst, -7, IConst, 2, IDiv, Ret], VmType.Int, -3),
        [IRem] = new([IConst, -7, IConst, 2, IRem, Ret], VmType.Int, -1),
        [INeg] = new([IConst, 9, INeg, Ret], VmType.Int, -9),
        [IAnd] = new([IConst, 12, IConst, 10, IAnd, Ret], VmType.Int, 8),
        [IOr] = new([IConst, 12, IConst, 10, IOr, Ret], VmType.Int, 14),
        [IXor] = new([IConst, 12, IConst, 10, IXor, Ret], VmType.Int, 6),
        [IShl] = new([IConst, 1, IConst, 65, IShl, Ret], VmType.Int, 2),
        [IShr] = new([IConst, -16, IConst, 2, IShr, Ret], VmType.Int, -4),
        [INot] = new([IConst, 0, INot, Ret], VmType.Int, -1),
        [FAdd] = new([FConst, 0.5, FConst, 0.25, FAdd, Ret], VmType.Float, Fb(0.75)),
        [FSub] = new([FConst, 0.5, FConst, 0.25, FSub, Ret], VmType.Float, Fb(0.25)),
        [FMul] = new([FConst, 1.5, FConst, 4.0, FMul, Ret], VmType.Float, Fb(6.0)),
        [FDiv] = new([FConst, 1.0, FConst, 4.0, FDiv, Ret], VmType.Float, Fb(0.25)),
        [FRem] = new([FConst, -7.5, FConst, 2.0, FRem, Ret], VmType.Float, Fb(-1.5)),
        [FNeg] = new([FConst, 2.0, FNeg, Ret], VmType.Float, Fb(-2.0)),
        [IEq] = new([IConst, 3, IConst, 3, IEq, Ret], VmType.Bool, 1),
        [INe] = new([IConst, 3, IConst, 3, INe, Ret], VmType.Bool, 0),
        [ILt] = new([IConst, 2, IConst, 3, ILt, Ret], VmType.Bool, 1),
        [ILe] = new([IConst, 3, IConst, 3, ILe, Ret], VmType.Bool, 1),
        [IGt] = new([IConst, 2, IConst, 3, IGt, Ret], VmType.Bool, 0),
        [IGe] = new([IConst, 2, IConst, 3, IGe, Ret], VmType.Bool, 0),
        [FEq] = new([FConst, double.NaN, FConst, double.NaN, FEq, Ret], VmType.Bool, 0),
        [FNe] = new([FConst, double.NaN, FConst, double.NaN, FNe, Ret], VmType.Bool, 1),
        [FLt] = new([FConst, 1.0, FConst, 2.0, FLt, Ret], VmType.Bool, 1),
        [FLe] = new([FConst, 2.0, FConst, 2.0, FLe, Ret], VmType.Bool, 1),
        [FGt] = new([FConst, 1.0, FConst, 2.0, FGt, Ret], VmType.Bool, 0),
        [FGe] = new([FConst, 3.0, FConst, 2.0, FGe, Ret], VmType.Bool, 1),
        [BEq] = new([BConst, 1, BConst, 0, BEq, Ret], VmType.Bool, 0),
        [BNe] = new([BConst, 1, BConst, 0, BNe, Ret], VmType.Bool, 1),
        [BNot] = new([BConst, 0, BNot, Ret], VmType.Bool, 1),
        [SEq] = new([SConst, 0, SConst, 0, SConcat, SConst, 0, SEq, Ret], VmType.Bool, 0),
        [SNe] = new([SConst, 0, SConst, 0, SNe, Ret], VmType.Bool, 0),
        [SConcat] = new([SConst, 0, SConst, 0, SConcat, Store, 0, Load, 0, SConst, 0, SConst, 0, SConcat, SEq, Ret], VmType.Bool, 1, [VmType.String]),
        [IToS] = new([IConst, -42, IToS, Call, 1, Ret], VmType.Int, 3),
        [FToS] = new([FConst, 1.0, FToS, Call, 1, Ret], VmType.Int, 3),
        [BToS] = new([BConst, 0, BToS, Call, 1, Ret], VmType.Int, 5),
        [AToS] = new([IConst, 1, IConst, 2, NewArray, 0, 2, AToS, Call, 1, Ret], VmType.Int, 6),
        [IToF] = new([IConst, 3, IToF, Ret], VmType.Float, Fb(3.0)),
        [FToI] = new([FConst, -2.9, FToI, Ret], VmType.Int, -2),
        [Jmp] = new([Jmp, 15, IConst, 1, Ret, IConst, 2, Ret], VmType.Int, 2),
        [JmpIf] = new([BConst, 1, JmpIf, 20, IConst, 1, Ret, IConst, 2, Ret], VmType.Int, 2),
        [JmpIfNot] = new([BConst, 1, JmpIfNot, 20, IConst, 1, Ret, IConst, 2, Ret], VmType.Int, 1),
        [Call] = new([IConst, 41, IToS, Call, 1, Ret], VmType.Int, 2),
        [CallNative] = new([SConst, 0, CallNative, 0, IConst, 0, Ret], VmType.Int, 0),
        [Ret] = new([IConst, 1, Ret], VmType.Int, 1),
        [RetVoid] = new([RetVoid], VmType.Void, 0),
        [NewArray] = new([IConst, 5, IConst, 6, NewArray, 0, 2, IConst, 1, ALoad, Ret], VmType.Int, 6),
        [ALoad] = new([IConst, 5, NewArray, 0, 1, IConst, 0, ALoad, Ret], VmType.Int, 5),
        [AStore] = new([NewArray, 0, 0, Store, 0, Load, 0, IConst, 9, APush, Load, 0, IConst, 0, IConst, 4, AStore, Load, 0, IConst, 0, ALoad, Ret], VmType.Int, 4, [IntArray]),
        [ALen] = new([IConst, 5, IConst, 6, NewArray, 0, 2, ALen, Ret], VmType.Int, 2),
        [APush] = new([NewArray, 0, 0, Store, 0, Load, 0, IConst, 1, APush, Load, 0, IConst, 2, APush, Load, 0, IConst, 3, APush,
            Load, 0, IConst, 4, APush, Load, 0, IConst, 5, APush, Load, 0, ALen, Ret], VmType.Int, 5, [IntArray]),
        [AConstNull] = new([AConstNull, JmpIfNull, 16, IConst, 1, Ret, IConst, 2, Ret], VmType.Int, 2),
        [RefEq] = new([NewObject, 0, Dup, RefEq, Ret], VmType.Bool, 1),
        [RefNe] = new([NewObject, 0, NewObject, 0, RefNe, Ret], VmType.Bool, 1),
        [JmpIfNull] = new([AConstNull, JmpIfNull, 16, IConst, 1, Ret, IConst, 2, Ret], VmType.Int, 2),
        [JmpIfNotNull] = new([NewObject, 0, JmpIfNotNull, 20, IConst, 1, Ret, IConst, 2, Ret], VmType.Int, 2),
        [NewObject] = new([NewObject, 0, GetField, 0, 0, Ret], VmType.Int, 0),
        [GetField] = new([NewObject, 0, Store, 0, Load, 0, IConst, 7, SetField, 0, 0, Load, 0, GetField, 0, 0, Ret], VmType.Int, 7, [Point]),
        [SetField] = new([NewObject, 0, Store, 0, Load, 0, IConst, 7, SetField, 0, 0, Load, 0, GetField, 0, 0, Ret], VmType.Int, 7, [Point]),
        [CallVirt] = new([NewObject, 2, CallVirt, 0, 0, Ret], VmType.Int, 3),
        [CallIface] = new([NewObject, 0, Store, 0, Load, 0, IConst, 5, SetField, 0, 0, Load, 0, CallIface, 1, 0, Ret], VmType.Int, 5, [Point]),
        [InstanceOf] = new([NewObject, 2, InstanceOf, 0, Ret], VmType.Bool, 1),
        [Throw] = new([NewObject, 0, Throw, Pop, IConst, 9, Ret], VmType.Int, 9, Handlers: [new ExceptionHandler(0, 6, 6, 0)]),
        [NewMap] = new([IConst, 1, IConst, 10, IConst, 2, IConst, 20, IConst, 1, IConst, 30, NewMap, 2, 3, MapLen, Ret], VmType.Int, 2),
        [MapGet] = new([IConst, 1, IConst, 10, NewMap, 2, 1, IConst, 1, MapGet, Ret], VmType.Int, 10),
        [MapGetOr] = new([IConst, 1, IConst, 10, NewMap, 2, 1, IConst, 5, IConst, -1, MapGetOr, Ret], VmType.Int, -1),
        [MapSet] = new([NewMap, 2, 0, Store, 0, Load, 0, IConst, 7, IConst, 70, MapSet, Load, 0, IConst, 7, IConst, 71, MapSet, Load, 0, IConst, 7, MapGet, Ret], VmType.Int, 71, [VmType.MapOf(VmType.Int, VmType.Int)]),
        [MapHas] = new([IConst, 1, IConst, 10, NewMap, 2, 1, IConst, 1, MapHas, Ret], VmType.Bool, 1),
        [MapRemove] = new([IConst, 1, IConst, 10, NewMap, 2, 1, Store, 0, Load, 0, IConst, 1, MapRemove, Pop, Load, 0, MapLen, Ret], VmType.Int, 0, [VmType.MapOf(VmType.Int, VmType.Int)]),
        [MapLen] = new([NewMap, 2, 0, MapLen, Ret], VmType.Int, 0),
        [MapKeys] = new([IConst, 3, IConst, 30, IConst, 4, IConst, 40, NewMap, 2, 2, MapKeys, IConst, 1, ALoad, Ret], VmType.Int, 4),
        [MapValues] = new([IConst, 3, IConst, 30, IConst, 4, IConst, 40, NewMap, 2, 2, MapValues, IConst, 1, ALoad, Ret], VmType.Int, 40),
        [MToS] = new([IConst, 3, IConst, 30, NewMap, 2, 1, MToS, Call, 1, Ret], VmType.Int, 7),
        [APop] = new([IConst, 5, IConst, 6, NewArray, 0, 2, APop, Ret], VmType.Int, 6),
        [AInsert] = new([IConst, 5, NewArray, 0, 1, Store, 0, Load, 0, IConst, 0, IConst, 4, AInsert, Load, 0, IConst, 0, ALoad, Ret], VmType.Int, 4, [IntArray]),
        [ARemoveAt] = new([IConst, 5, IConst, 6, NewArray, 0, 2, IConst, 0, ARemoveAt, Ret], VmType.Int, 5),
        [ASlice] = new([IConst, 5, IConst, 6, IConst, 7, NewArray, 0, 3, IConst, 1, IConst, 3, ASlice, ALen, Ret], VmType.Int, 2),
        [AIndexOf] = new([IConst, 5, IConst, 6, NewArray, 0, 2, IConst, 6, AIndexOf, Ret], VmType.Int, 1),
        [AReverse] = new([IConst, 5, IConst, 6, NewArray, 0, 2, Store, 0, Load, 0, AReverse, Load, 0, IConst, 0, ALoad, Ret], VmType.Int, 6, [IntArray]),
        [NonNull] = new([NewObject, 0, NonNull, GetField, 0, 0, Ret], VmType.Int, 0),
        [CheckCast] = new([NewObject, 2, CheckCast, 0, CheckCast, 2, CallVirt, 0, 0, Ret], VmType.Int, 3),
        // strlen as a function value (no environment), called with "hello".
        [FuncRef] = new([FuncRef, 1, SConst, 0, CallClosure, 4, Ret], VmType.Int, 5),
        // Point.get closed over a Point whose x is 42: the environment is the method's receiver.
        [Closure] = new([NewObject, 0, Dup, IConst, 42, SetField, 0, 0, Closure, 2, CallClosure, 3, Ret], VmType.Int, 42),
        [ARepeat] = new([IConst, 5, IConst, 6, NewArray, 0, 2, IConst, 3, ARepeat, Dup, ALen, Store, 0, IConst, 5, ALoad, Load, 0, IMul, Ret], VmType.Int, 36, [VmType.Int]),
        [CallClosure] = new([NewObject, 2, Closure, 3, CallClosure, 3, FuncRef, 1, SConst, 0, CallClosure, 4, IAdd, Ret], VmType.Int, 8),
    };

    /// <summary>Builds the sample's module: main; strlen(s), which gives a string's length through a test native; and the methods of the sample classes.</summary>
    private static Module Build(Sample s)
    {
        var m = Asm.Module(Asm.Code(s.Code), s.Return, s.Locals ?? []);
        m.Functions[0].Handlers = s.Handlers ?? [];
        m.EntryFunction = -1;
        m.Types.Add(VmType.FuncOf([], VmType.Int));            // type 3
        m.Types.Add(VmType.FuncOf([VmType.String], VmType.Int)); // type 4
        // strlen(s: string) -> int, through a test-only native: the samples of the to-string opcodes check lengths.
        m.Functions.Add(new FunctionDef
        {
            Name = "strlen",
            Params = [VmType.String],
            Return = VmType.Int,
            Locals = [VmType.String],
            MaxStack = 2,
            Code = Asm.Code(Load, 0, CallNative, 1, Ret),
            Lines = [],
        });
        m.Natives.Add(new NativeImport("test_strlen", [VmType.String], VmType.Int));
        // class Point : Getter { x: int, s: string?, fn get() -> int { return x } }
        // interface Getter { fn get() -> int }
        // class Point3 : Point { override fn get() -> int { return 3 } }
        m.Functions.Add(new FunctionDef { Name = "Point.get", Params = [Point], Return = VmType.Int, Locals = [Point], MaxStack = 1, Code = Asm.Code(Load, 0, GetField, 0, 0, Ret) });
        m.Functions.Add(new FunctionDef { Name = "Point3.get", Params = [VmType.ObjectOf(2)], Return = VmType.Int, Locals = [VmType.ObjectOf(2)], MaxStack = 1, Code = Asm.Code(IConst, 3, Ret) });
        var point = new ClassDef { Name = "Point", Interfaces = [1] };
        point.Fields.Add(new FieldDef("x", VmType.Int));
        point.Fields.Add(new FieldDef("s", VmType.String.AsNullable()));
        point.Methods.Add(new MethodDef("get", 2));
        var getter = new ClassDef { Name = "Getter", IsInterface = true };
        getter.Signatures.Add(new InterfaceMethod("get", [], VmType.Int));
        var point3 = new ClassDef { Name = "Point3", Super = 0 };
        point3.Methods.Add(new MethodDef("get", 3));
        m.Classes.AddRange([point, getter, point3]);
        return m;
    }

    private static readonly Runtime.Natives.NativeDef[] Natives =
    [
        .. Runtime.Natives.NativeTable.All,
        new("test_strlen", [VmType.String], VmType.Int, null, "length of a string (tests only)", (vm, args) => vm.Heap.StringLength((int)args[0])),
    ];

    public static TheoryData<Opcode> AllOpcodes()
    {
        var data = new TheoryData<Opcode>();
        foreach (var info in OpcodeInfo.All) data.Add(info.Op);
        return data;
    }

    public static TheoryData<Opcode, bool> AllOpcodesInEachEngine()
    {
        var data = new TheoryData<Opcode, bool>();
        foreach (var info in OpcodeInfo.All)
        {
            data.Add(info.Op, false);
            data.Add(info.Op, true);
        }
        return data;
    }

    /// <summary>
    /// Each opcode's sample gives its result in the interpreter and compiled (every function compiled before it
    /// first runs), collecting at every allocation: an opcode with no JIT case fails here as one with no
    /// interpreter case does.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllOpcodesInEachEngine))]
    public void EveryOpcodeIsVerifiedInterpretedAndCompiled(Opcode op, bool compiled)
    {
        Assert.True(Samples.TryGetValue(op, out var sample), $"opcode {op} has no sample in OpcodeTests");
        var code = Asm.Code(sample.Code);
        Assert.Contains((byte)op, code);
        var module = Build(sample);
        var loaded = Runtime.Verification.Verifier.Verify(module, Natives);
        var heap = new Runtime.Memory.Heap(new Runtime.Memory.HeapOptions { Stress = true, Verify = true });
        loaded.Attach(heap);
        var output = new StringWriter();
        var compiler = new Jit.CilCompiler();
        var options = compiled ? new ExecutionOptions { Compiler = compiler, JitThreshold = 0 } : new ExecutionOptions();
        long result = new Interpreter(loaded, heap, output, options).Run(loaded.Functions[0]);
        Assert.Equal(sample.Expected, result);
        Assert.Equal(compiled, loaded.Functions[0].Compiled is not null);
        if (op == CallNative) Assert.Equal("hello\n", output.ToString());
    }

    [Fact]
    public void TableIsIndexedByOpcodeAndNamesAreUnique()
    {
        for (int i = 0; i < OpcodeInfo.All.Length; i++) Assert.Equal(i, (int)OpcodeInfo.All[i].Op);
        Assert.Equal(OpcodeInfo.All.Length, OpcodeInfo.All.Select(o => o.Name).Distinct().Count());
        Assert.Equal(Enum.GetValues<Opcode>().Length, OpcodeInfo.All.Length);
        Assert.All(OpcodeInfo.All, o => Assert.False(string.IsNullOrWhiteSpace(o.Doc)));
    }

    /// <summary>
    /// The operand codec every reader and writer of code uses (the compiler, the assembler, the verifier, the
    /// disassembler): each kind's width, little-endian, a local and the u32 kinds zero-extended, and a value that
    /// does not fit refused rather than cut.
    /// </summary>
    [Theory]
    [InlineData(OperandKind.Local, 0xFFFFL, new byte[] { 0xFF, 0xFF })]
    [InlineData(OperandKind.Target, 0x01020304L, new byte[] { 4, 3, 2, 1 })]
    [InlineData(OperandKind.Function, 0xFFFFFFFFL, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData(OperandKind.Int64, -2L, new byte[] { 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData(OperandKind.Float64, 0x3FF0000000000000L, new byte[] { 0, 0, 0, 0, 0, 0, 0xF0, 0x3F })]
    public void OperandsAreWrittenAndReadBackByTheirKind(OperandKind kind, long value, byte[] encoded)
    {
        var code = new byte[1 + encoded.Length + 1];
        OpcodeInfo.WriteOperand(code, 1, kind, value);
        Assert.Equal(encoded, code[1..^1]);
        Assert.Equal(0, code[0] | code[^1]);
        Assert.Equal(value, OpcodeInfo.ReadOperand(code, 1, kind));
        if (OpcodeInfo.Width(kind) < 8)
        {
            Assert.Throws<OverflowException>(() => OpcodeInfo.WriteOperand(code, 1, kind, 1L << (8 * OpcodeInfo.Width(kind))));
            Assert.Throws<OverflowException>(() => OpcodeInfo.WriteOperand(code, 1, kind, -1));
        }
    }

    /// <summary>The control flow of the table, which the emitter, the assembler, the fuser and the JIT read.</summary>
    [Fact]
    public void ControlFlowComesFromTheTable()
    {
        var jumps = OpcodeInfo.All.Where(o => o.HasTarget).Select(o => o.Op).ToArray();
        Assert.Equal([Jmp, JmpIf, JmpIfNot, JmpIfNull, JmpIfNotNull], jumps);
        Assert.All(jumps, op => Assert.Equal(OperandKind.Target, OpcodeInfo.Of(op).Operands[0]));
        var ends = OpcodeInfo.All.Where(o => !o.FallsThrough).Select(o => o.Op).ToArray();
        Assert.Equal([Jmp, Ret, RetVoid, Throw], ends);
        Assert.Equal(1 + 4, OpcodeInfo.Of(CallVirt).OperandOffset(1));
        Assert.Equal(1 + 4 + 4, OpcodeInfo.Of(CallVirt).Size);
    }

    [Fact]
    public void FloatFormatting()
    {
        Assert.Equal("1.0", ValueText.FormatFloat(1.0));
        Assert.Equal("0.1", ValueText.FormatFloat(0.1));
        Assert.Equal("-0.0", ValueText.FormatFloat(-0.0));
        Assert.Equal("1e+21", ValueText.FormatFloat(1e21));
        Assert.Equal("nan", ValueText.FormatFloat(double.NaN));
        Assert.Equal("-inf", ValueText.FormatFloat(double.NegativeInfinity));
        Assert.Equal(0.1 + 0.2, double.Parse(ValueText.FormatFloat(0.1 + 0.2), System.Globalization.CultureInfo.InvariantCulture));
    }
}
