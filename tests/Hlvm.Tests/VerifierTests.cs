using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Verification;
using static Hlvm.Runtime.Bytecode.Opcode;

namespace Hlvm.Tests;

/// <summary>The verifier rejects each kind of unsafe code with a reason that names it, and accepts valid edge cases.</summary>
public sealed class VerifierTests
{
    private static VerifyException Reject(byte[] code, VmType? ret = null, VmType[]? locals = null, int maxStack = 8)
    {
        var module = Asm.Module(code, ret, locals, maxStack);
        return Assert.Throws<VerifyException>(() => Verifier.Verify(module));
    }

    [Theory]
    [InlineData(new object[] { IAdd, Ret }, "iadd needs a value but the stack is empty")]
    [InlineData(new object[] { IConst, 1, FConst, 1.0, IAdd, Ret }, "iadd expects int on the stack but found float")]
    [InlineData(new object[] { FConst, 1.0, Ret }, "ret expects int on the stack but found float")]
    [InlineData(new object[] { IConst, 1 }, "falls off the end")]
    [InlineData(new object[] { Jmp, 3, IConst, 0, Ret }, "in the middle of an instruction")]
    [InlineData(new object[] { Jmp, 999, IConst, 0, Ret }, "outside the function")]
    [InlineData(new object[] { RetVoid }, "retvoid in a function that must return int")]
    [InlineData(new object[] { SConst, 7, Ret }, "string constant 7 is out of range")]
    [InlineData(new object[] { Call, 5, Ret }, "function 5 is out of range")]
    [InlineData(new object[] { CallNative, 0, IConst, 0, Ret }, "call of native 'println' needs 1 arguments but the stack holds 0")]
    [InlineData(new object[] { IConst, 1, CallNative, 0, IConst, 0, Ret }, "argument 1 is int, expected string")]
    [InlineData(new object[] { IConst, 1, IConst, 2, NewArray, 1, 2, IConst, 0, Ret }, "argument 1 is int, expected string")]
    [InlineData(new object[] { IConst, 1, ALen, Ret }, "alen expects an array on the stack but found int")]
    [InlineData(new object[] { BConst, 2, Pop, IConst, 0, Ret }, "bool constant 2 is out of range")]
    [InlineData(new object[] { BConst, 1, JmpIf, 19, IConst, 1, IConst, 2, Ret }, "stack height")]
    public void RejectsUnsafeCode(object[] code, string reason)
    {
        var e = Reject(Asm.Code(code));
        Assert.Contains(reason, e.Reason);
        Assert.Equal("main", e.Function);
        Assert.Contains("function 'main' at offset", e.Message);
    }

    [Fact]
    public void RejectsUnknownOpcode() =>
        Assert.Contains("unknown opcode 0xfe", Reject([0xfe]).Reason);

    [Fact]
    public void RejectsTruncatedOperand() =>
        Assert.Contains("truncated", Reject([(byte)IConst, 1, 2]).Reason);

    [Fact]
    public void RejectsReadOfUnwrittenLocal()
    {
        var e = Reject(Asm.Code(Load, 0, Ret), locals: [VmType.Int]);
        Assert.Contains("reads local 0 before it is written", e.Reason);
        Assert.Equal(0, e.Offset);
    }

    [Fact]
    public void RejectsLocalWrittenOnOnlyOnePath()
    {
        // if (true) x = 1; return x
        var code = Asm.Code(BConst, 1, JmpIfNot, 22, IConst, 1, Store, 0, Load, 0, Ret);
        Assert.Contains("before it is written on every path", Reject(code, locals: [VmType.Int]).Reason);
    }

    [Fact]
    public void RejectsStoreOfWrongType() =>
        Assert.Contains("store expects int on the stack but found float", Reject(Asm.Code(FConst, 1.0, Store, 0, IConst, 0, Ret), locals: [VmType.Int]).Reason);

    [Fact]
    public void RejectsStackBeyondDeclaredMax() =>
        Assert.Contains("past the declared max stack of 1", Reject(Asm.Code(IConst, 1, IConst, 2, IAdd, Ret), maxStack: 1).Reason);

    [Fact]
    public void RejectsTypesThatDisagreeAtAJoin()
    {
        // push int or float depending on a branch, then join
        var code = Asm.Code(BConst, 1, JmpIf, 24, IConst, 1, Jmp, 33, FConst, 1.0, Pop, IConst, 0, Ret);
        Assert.Contains("on one path and", Reject(code).Reason);
    }

    [Fact]
    public void RejectsEmptyFunction() => Assert.Contains("no code", Reject([]).Reason);

    [Fact]
    public void RejectsUnknownNative()
    {
        var m = Asm.Module(Asm.Code(IConst, 0, Ret));
        m.Natives.Add(new NativeImport("launch_missiles", [], VmType.Void));
        Assert.Contains("unknown native 'launch_missiles'", Assert.Throws<VerifyException>(() => Verifier.Verify(m)).Reason);
    }

    [Fact]
    public void RejectsNativeWithWrongSignature()
    {
        var m = Asm.Module(Asm.Code(IConst, 0, Ret));
        m.Natives[0] = new NativeImport("println", [VmType.Int], VmType.Void);
        Assert.Contains("the host declares (string) -> void", Assert.Throws<VerifyException>(() => Verifier.Verify(m)).Reason);
    }

    [Fact]
    public void RejectsBadEntrySignature()
    {
        var m = Asm.Module(Asm.Code(IConst, 0, Ret), parameters: [VmType.Int]);
        Assert.Contains("entry function", Assert.Throws<VerifyException>(() => Verifier.Verify(m)).Reason);
    }

    [Fact]
    public void AcceptsUnreachableCodeAfterReturnAndLoops()
    {
        // while true {}: a backward jump to itself, then unreachable garbage-free code
        var loop = Asm.Code(Jmp, 0, IConst, 1, Ret);
        Verifier.Verify(Asm.Module(loop));
        var afterReturn = Asm.Code(IConst, 1, Ret, FConst, 1.0, Ret);
        Verifier.Verify(Asm.Module(afterReturn));
    }

    [Fact]
    public void StackMapsMarkReferencesAtGcPoints()
    {
        // "hello" + "hello": at sconcat both operands are references
        var m = Asm.Module(Asm.Code(IConst, 1, SConst, 0, SConst, 0, SConcat, Pop, Ret));
        var f = Verifier.Verify(m).Functions[0];
        Assert.Equal([false, true, true], TypeStack.ToArray(f.StackTypes[3]).Select(t => t.IsReference));
        Assert.Null(f.StackTypes[0]);
        Assert.True(f.Reachable[0]);
    }
}
