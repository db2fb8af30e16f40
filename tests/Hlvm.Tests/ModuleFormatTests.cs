using Hlvm.Compiler;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Tests;

public sealed class ModuleFormatTests
{
    private static byte[] Sample()
    {
        var result = Compilation.Compile("fib.hl", File.ReadAllText(Path.Combine(TestSupport.Root, "examples", "fib.hl")));
        return ModuleFormat.Write(result.Module!);
    }

    [Fact]
    public void WriteReadWriteIsByteIdentical()
    {
        var bytes = Sample();
        Assert.Equal(bytes, ModuleFormat.Write(ModuleFormat.Read(bytes)));
    }

    [Fact]
    public void StartsWithMagicAndVersion()
    {
        var bytes = Sample();
        Assert.Equal("HLVM"u8.ToArray(), bytes[..4]);
        Assert.Equal(ModuleFormat.Version, BitConverter.ToUInt16(bytes, 4));
    }

    [Fact]
    public void EveryTruncationIsAFormatError()
    {
        var bytes = Sample();
        for (int n = 0; n < bytes.Length; n++)
        {
            var e = Assert.Throws<ModuleFormatException>(() => ModuleFormat.Read(bytes.AsSpan(0, n)));
            Assert.InRange(e.Offset, 0, Math.Max(0, n));
        }
    }

    [Fact]
    public void RejectsBadMagic()
    {
        var bytes = Sample();
        bytes[0] = (byte)'X';
        Assert.Contains("bad magic", Assert.Throws<ModuleFormatException>(() => ModuleFormat.Read(bytes)).Message);
    }

    [Fact]
    public void RejectsUnknownVersion()
    {
        var bytes = Sample();
        bytes[4] = 99;
        Assert.Contains("unsupported module format version 99", Assert.Throws<ModuleFormatException>(() => ModuleFormat.Read(bytes)).Message);
    }

    [Fact]
    public void RejectsTrailingBytes()
    {
        var bytes = Sample().Append((byte)0).ToArray();
        Assert.Contains("unexpected bytes after the end", Assert.Throws<ModuleFormatException>(() => ModuleFormat.Read(bytes)).Message);
    }

    [Fact]
    public void RejectsAbsurdCountsBeforeAllocating()
    {
        // header, empty name and source, then a string count of 2^31-1 with nothing after it
        byte[] bytes = [.. "HLVM"u8, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x07];
        var e = Assert.Throws<ModuleFormatException>(() => ModuleFormat.Read(bytes));
        Assert.Contains("cannot fit", e.Message);
    }

    [Theory]
    [InlineData("plain ascii ~\u007f")]
    [InlineData("caf\u00e9, na\u00efve")]
    [InlineData("\u65e5\u672c and \ud83d\ude00")]
    [InlineData("")]
    // Lone surrogates (a literal "\u{d800}", the halves s[i] gives): WTF-8, each spelt as its code point would be.
    [InlineData("\ud800")]
    [InlineData("a\udc00b\ud83d")]
    [InlineData("\udc00\ud800 pair \ud83d\ude00 and half \ude00")]
    public void StringsReadBackAsWrittenWhetherAsciiOrNot(string text)
    {
        // ASCII strings take the reader's own widening, the rest .NET's UTF-8 decoder: both give the string back.
        var module = ModuleFormat.Read(Sample());
        module.Name = text;
        module.Strings.Add(text);
        module.Strings.Add(text + "\u00e9");
        var read = ModuleFormat.Read(ModuleFormat.Write(module));
        Assert.Equal(text, read.Name);
        Assert.Equal(text, read.Strings[^2]);
        Assert.Equal(text + "\u00e9", read.Strings[^1]);
    }

    [Fact]
    public void RejectsInvalidUtf8()
    {
        byte[] bytes = [.. "HLVM"u8, 1, 0, 0, 0, 2, 0xC3, 0x28, 0];
        Assert.Contains("not valid UTF-8", Assert.Throws<ModuleFormatException>(() => ModuleFormat.Read(bytes)).Message);
        // A pair has one spelling, its code point's four bytes: as two three-byte surrogates it is not WTF-8.
        byte[] twoHalves = [.. "HLVM"u8, 1, 0, 0, 0, 6, 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80, 0];
        Assert.Contains("not valid UTF-8", Assert.Throws<ModuleFormatException>(() => ModuleFormat.Read(twoHalves)).Message);
        Assert.Equal(new byte[] { 0xF0, 0x9F, 0x98, 0x80 }, Wtf8.Encode("\ud83d\ude00"));
        Assert.Equal(new byte[] { 0xED, 0xA0, 0xBD, 0x61 }, Wtf8.Encode("\ud83da"));
    }

    [Fact]
    public void RejectsDuplicateFunctions()
    {
        var m = Asm.Module(Asm.Code(Opcode.IConst, 0, Opcode.Ret));
        m.Functions.Add(m.Functions[0]);
        Assert.Contains("duplicate function 'main'", Assert.Throws<ModuleFormatException>(() => ModuleFormat.Read(ModuleFormat.Write(m))).Message);
    }

    [Fact]
    public void RandomByteFlipsNeverEscapeAsOtherExceptions()
    {
        var bytes = Sample();
        var random = new Random(1234);
        for (int i = 0; i < 3000; i++)
        {
            var copy = (byte[])bytes.Clone();
            for (int k = random.Next(1, 4); k > 0; k--) copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
            try
            {
                var module = ModuleFormat.Read(copy);
                Hlvm.Runtime.Verification.Verifier.Verify(module);
            }
            catch (ModuleFormatException) { }
            catch (Hlvm.Runtime.Verification.VerifyException) { }
        }
    }
}
