using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Verification;
using static Hlvm.Runtime.Bytecode.Opcode;

namespace Hlvm.Tests;

/// <summary>
/// Checked mode catches a program whose state differs from what the verifier promised. A verifier hole is
/// simulated by handing the interpreter stack types that do not describe the code.
/// </summary>
public sealed class CheckedModeTests
{
    private static long Run(LoadedModule module, bool isChecked)
    {
        var heap = new Heap(new HeapOptions { TrackObjects = true });
        module.Attach(heap);
        return new Interpreter(module, heap, TextWriter.Null, new ExecutionOptions { Checked = isChecked }).Run(module.Functions[0]);
    }

    /// <summary>The verified module, with the stack types of instruction <paramref name="pc"/> replaced.</summary>
    private static LoadedModule WithLie(Module m, int pc, VmType[] lie)
    {
        var honest = Verifier.Verify(m);
        var f = honest.Functions[0];
        var types = (TypeStack?[])f.StackTypes.Clone();
        TypeStack? lie2 = null;
        foreach (var t in lie) lie2 = new TypeStack(t, lie2);
        types[pc] = lie2;
        var lying = new LoadedFunction
        {
            Def = f.Def, Index = f.Index, Code = f.Code, Fused = f.Fused, Offsets = f.Offsets, LocalIsRef = f.LocalIsRef, Reachable = f.Reachable, StackTypes = types, Handlers = f.Handlers,
        };
        return new LoadedModule(honest.Def, [lying], honest.Natives, honest.Classes);
    }

    private static readonly Module Sample = Asm.Module(Asm.Code(IConst, 40, IConst, 2, IAdd, Ret));

    [Fact]
    public void HonestProgramsRunTheSameInCheckedMode()
    {
        Assert.Equal(42, Run(Verifier.Verify(Sample), isChecked: true));
        Assert.Equal(42, Run(Verifier.Verify(Sample), isChecked: false));
    }

    [Fact]
    public void AnIntWhereAStringWasPromisedIsCaught()
    {
        var e = Assert.Throws<CheckedModeException>(() => Run(WithLie(Sample, 2, [VmType.Int, VmType.String]), isChecked: true));
        Assert.Contains("in main at instruction 2 (IAdd, offset 18): stack entry 1 is 0x2, not a valid string", e.Message);
    }

    [Fact]
    public void AWrongStackHeightIsCaught()
    {
        var e = Assert.Throws<CheckedModeException>(() => Run(WithLie(Sample, 1, []), isChecked: true));
        Assert.Contains("the stack holds 1 values, the verifier expected 0", e.Message);
    }

    [Fact]
    public void AnArrayOfTheWrongElementTypeIsCaught()
    {
        var m = Asm.Module(Asm.Code(IConst, 1, NewArray, 0, 1, ALen, Ret));
        var e = Assert.Throws<CheckedModeException>(() => Run(WithLie(m, 2, [VmType.ArrayOf(VmType.String)]), isChecked: true));
        Assert.Contains("not a valid [string]", e.Message);
    }

    [Fact]
    public void ALocalOfTheWrongTypeIsCaughtWhereItIsLoaded()
    {
        // An int stored in a local the verifier is made to think holds a string: the load that reads it is stopped.
        var module = Verifier.Verify(Asm.Module(Asm.Code(IConst, 7, Store, 0, Nop, Load, 0, Ret), locals: [VmType.Int]));
        module.Functions[0].Def.Locals[0] = VmType.String;
        var e = Assert.Throws<CheckedModeException>(() => Run(module, isChecked: true));
        Assert.Contains("in main at instruction 3 (Load, offset 13): local 0 is 0x7, not a valid string", e.Message);
    }

    [Fact]
    public void WithoutCheckedModeTheLieGoesUnnoticed() =>
        Assert.Equal(42, Run(WithLie(Sample, 2, [VmType.Int, VmType.String]), isChecked: false));
}
