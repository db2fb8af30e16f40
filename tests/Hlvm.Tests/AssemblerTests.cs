using Hlvm.Compiler;
using Hlvm.Compiler.Assembly;
using Hlvm.Runtime;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Verification;
using static Hlvm.Runtime.Bytecode.Opcode;

namespace Hlvm.Tests;

/// <summary>
/// The text form: assembling a module's disassembly gives the same bytes, for every compiled program and for
/// modules the compiler never writes (odd names, undecodable code, any operand value); the assembler's errors
/// point at line and column and it never throws; and <c>hlvm asm</c>.
/// </summary>
public sealed class AssemblerTests
{
    private static Module Assemble(string text)
    {
        var r = Assembler.Assemble("test.hlasm", text);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics.Select(d => d.Format())));
        return r.Module!;
    }

    /// <summary>Disassembles, assembles the text, and checks the bytes are those of the module.</summary>
    private static void AssertRoundTrip(Module module)
    {
        var bytes = ModuleFormat.Write(module);
        string text = Disassembler.Disassemble(module);
        var r = Assembler.Assemble("roundtrip.hlasm", text);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics.Select(d => d.Format())) + "\n" + text);
        Assert.True(bytes.AsSpan().SequenceEqual(ModuleFormat.Write(r.Module!)), "the assembled module differs:\n" + text);
        Assert.Equal(text, Disassembler.Disassemble(r.Module!));
    }

    // ---------------------------------------------------------------------------------------- round trips

    public static TheoryData<string> Programs()
    {
        var data = new TheoryData<string>();
        var files = Directory.EnumerateFiles(Path.Combine(TestSupport.Root, "tests", "lang"), "*.hl", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(TestSupport.Root, "examples"), "*.hl"));
        foreach (var file in files.Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(TestSupport.Root, file).Replace('\\', '/'));
        return data;
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public void EveryCompiledProgramRoundTrips(string file)
    {
        var result = Compilation.Compile(Path.Combine(TestSupport.Root, file), File.ReadAllText(Path.Combine(TestSupport.Root, file)));
        if (result.Module is null) return; // a test of compile errors: there is no module
        AssertRoundTrip(result.Module);
    }

    private static Module Odd()
    {
        var m = new Module { Name = "odd \"name\"\twith\nescapes\u0001\u200b", SourceFile = "" };
        m.Strings.Add("");
        m.Strings.Add("tab\t quote\" backslash\\ nul\0 bell\u0007 del\u007f nel\u0085 ls\u2028 bom\ufeff é 😀");
        m.Strings.Add("lone \ud800 surrogate"); // written as U+FFFD, like any unpaired surrogate
        m.Types.Add(VmType.Void);
        var deep = VmType.Int;
        for (int i = 0; i < VmType.MaxDepth; i++) deep = VmType.ArrayOf(deep);
        m.Types.Add(deep);
        m.Natives.Add(new NativeImport("print ln", [VmType.String, VmType.ArrayOf(VmType.Float)], VmType.Bool));
        m.Natives.Add(new NativeImport("", [], VmType.Void));
        m.Functions.Add(new FunctionDef
        {
            Name = "1st",
            Params = [VmType.Int, VmType.String],
            Return = VmType.Float,
            Locals = [VmType.Int, VmType.String, VmType.Bool, VmType.ArrayOf(VmType.ArrayOf(VmType.Bool))],
            MaxStack = 70000,
            Code = Asm.Code(
                FConst, BitConverter.Int64BitsToDouble(0x7ff8000000000001), FConst, -0.0, FConst, double.NaN,
                FConst, double.PositiveInfinity, FConst, double.NegativeInfinity, FConst, double.Epsilon,
                FConst, 1e300, FConst, 0.1, FConst, 3.0, FConst, -2.5e-10,
                IConst, long.MinValue, IConst, long.MaxValue, IConst, -1,
                BConst, 0, BConst, 1, BConst, 7, BConst, uint.MaxValue,
                Load, 65535, Store, 3, SConst, 99, Call, 0, Call, 12345, CallNative, 0, CallNative, 1, CallNative, 9,
                NewArray, 1, 65536, NewArray, 400, 0,
                Jmp, 0, Jmp, 3, Jmp, 100000, Jmp, uint.MaxValue, JmpIf, 9, Ret),
            Lines = [new LineEntry(0, 0), new LineEntry(0, 7), new LineEntry(4, 8), new LineEntry(9, int.MaxValue), new LineEntry(9, 1)],
        });
        m.Functions.Add(new FunctionDef { Name = "empty", Code = [], Lines = [new LineEntry(0, 5)] });
        m.Functions.Add(new FunctionDef
        {
            Name = "garbage",
            Code = [0xff, 0xfe, (byte)IConst, 1, 2, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50],
            Lines = [new LineEntry(1, 2), new LineEntry(3, 3), new LineEntry(22, 4)],
        });
        m.Functions.Add(new FunctionDef { Name = "main", Code = [(byte)Nop, (byte)Dup, (byte)IConst, 1, 2, 3], Lines = [new LineEntry(6, 1)] });
        m.EntryFunction = 3;
        return m;
    }

    [Fact]
    public void ModulesTheCompilerNeverWritesRoundTrip() => AssertRoundTrip(Odd());

    [Fact]
    public void DuplicateNamesAreReferredToByIndex()
    {
        // The reader rejects such a module, but the text form still writes it faithfully.
        var m = new Module { Name = "dups" };
        m.Natives.Add(new NativeImport("n", [], VmType.Void));
        m.Natives.Add(new NativeImport("n", [], VmType.Int));
        m.Functions.Add(new FunctionDef { Name = "f", Code = Asm.Code(Call, 1, CallNative, 1, RetVoid) });
        m.Functions.Add(new FunctionDef { Name = "f", Code = Asm.Code(Call, 0, CallNative, 0, RetVoid) });
        m.EntryFunction = 1;
        string text = Disassembler.Disassemble(m);
        Assert.Contains(".entry 1", text);
        Assert.Contains("call 1", text);
        Assert.Contains("callnative 0", text);
        AssertRoundTrip(m);
    }

    [Fact]
    public void EntryPastTheFunctionsRoundTrips()
    {
        var m = new Module { Name = "m" };
        m.Functions.Add(new FunctionDef { Name = "main", Code = Asm.Code(RetVoid) });
        m.EntryFunction = 7;
        Assert.Contains(".entry 7", Disassembler.Disassemble(m));
        AssertRoundTrip(m);
    }

    /// <summary>Random modules, and random corruptions of a real one: every module the reader accepts round-trips.</summary>
    [Fact]
    public void RandomModulesRoundTrip()
    {
        var rng = new Random(20261125);
        var sample = ModuleFormat.Write(Compilation.Compile("fib.hl", File.ReadAllText(Path.Combine(TestSupport.Root, "examples", "fib.hl"))).Module!);
        int accepted = 0;
        for (int n = 0; n < 3000; n++)
        {
            var bytes = (byte[])sample.Clone();
            for (int k = rng.Next(1, 4); k > 0; k--) bytes[rng.Next(8, bytes.Length)] = (byte)rng.Next(256);
            Module m;
            try { m = ModuleFormat.Read(bytes); }
            catch (ModuleFormatException) { continue; }
            accepted++;
            AssertRoundTrip(m);
        }
        Assert.True(accepted > 100, $"only {accepted} corrupted modules were readable");
        for (int n = 0; n < 300; n++) AssertRoundTrip(RandomModule(rng));
    }

    private static VmType RandomType(Random rng, bool allowVoid)
    {
        var t = rng.Next(allowVoid ? 0 : 1, 5) switch { 0 => VmType.Void, 1 => VmType.Int, 2 => VmType.Float, 3 => VmType.Bool, _ => VmType.String };
        if (t == VmType.Void) return t;
        for (int d = rng.Next(-3, 4); d > 0; d--) t = VmType.ArrayOf(t);
        return t;
    }

    private static string RandomString(Random rng)
    {
        const string punctuation = "\"\\;:[]() \t\n\r";
        var chars = new char[rng.Next(0, 8)];
        for (int i = 0; i < chars.Length; i++)
            chars[i] = rng.Next(4) switch { 0 => (char)rng.Next(0, 0x80), 1 => punctuation[rng.Next(punctuation.Length)], 2 => (char)rng.Next(0x80, 0xd800), _ => (char)rng.Next('a', 'z' + 1) };
        return new string(chars);
    }

    private static Module RandomModule(Random rng)
    {
        var m = new Module { Name = RandomString(rng), SourceFile = RandomString(rng) };
        for (int i = rng.Next(4); i > 0; i--) m.Strings.Add(RandomString(rng));
        for (int i = rng.Next(4); i > 0; i--) m.Types.Add(RandomType(rng, true));
        for (int i = rng.Next(3); i > 0; i--)
            m.Natives.Add(new NativeImport(RandomString(rng), [.. Enumerable.Range(0, rng.Next(3)).Select(_ => RandomType(rng, false))], RandomType(rng, true)));
        for (int i = rng.Next(1, 4); i > 0; i--)
        {
            var ps = Enumerable.Range(0, rng.Next(3)).Select(_ => RandomType(rng, false)).ToArray();
            var code = new byte[rng.Next(0, 60)];
            rng.NextBytes(code);
            // Mostly real opcodes, so that instructions decode and branch targets and names come up.
            for (int k = 0; k < code.Length; k++) if (rng.Next(3) > 0) code[k] = (byte)rng.Next(OpcodeInfo.All.Length);
            var lines = Enumerable.Range(0, rng.Next(4)).Select(_ => rng.Next(code.Length + 1)).Order()
                .Select(o => new LineEntry(o, rng.Next(0, 100))).ToArray();
            m.Functions.Add(new FunctionDef
            {
                Name = RandomString(rng),
                Params = ps,
                Return = RandomType(rng, true),
                Locals = [.. ps, .. Enumerable.Range(0, rng.Next(3)).Select(_ => RandomType(rng, false))],
                MaxStack = rng.Next(0, 100),
                Code = code,
                Lines = lines,
            });
        }
        m.EntryFunction = rng.Next(-1, m.Functions.Count + 1);
        return m;
    }

    // ---------------------------------------------------------------------------------------- the syntax

    /// <summary>Several '.implements' lines add up, as the names of one line do: the last line alone was kept, and a
    /// class written so lost its other interfaces without a word.</summary>
    [Fact]
    public void SeveralImplementsLinesAddUp()
    {
        var m = Assemble("""
            .module "i"
            .interface I
            .end
            .interface J
            .end
            .interface K
            .end
            .class A
                .implements I
                .implements J K
            .end
            """);
        Assert.Equal([0, 1, 2], m.Classes.Single(c => c.Name == "A").Interfaces);
    }

    /// <summary>
    /// A handler's code is reached by no jump, and starts with the error on the stack: the max stack computed counts
    /// it. Counted from the entry alone, it was 0 for a handler whose first instruction takes the error (which the
    /// verifier refuses) and 1 for one that pushes two more values on it (the stack reaches 3 there).
    /// </summary>
    [Fact]
    public void TheMaxStackComputedCountsHandlers()
    {
        var m = Assemble("""
            .module "h"
            .entry main
            .class E
            .end
            .fn take(E) -> void
                retvoid
            .end
            .fn first() -> void
                .handler L0 L1 H E
            L0:
                nop
                retvoid
            L1:
            H:
                call take
                retvoid
            .end
            .fn deeper() -> int
                .handler L0 L1 H E
            L0:
                iconst 1
                ret
            L1:
            H:
                iconst 2
                iconst 3
                iadd
                ret
            .end
            .fn main() -> int
                call first
                call deeper
                ret
            .end
            """);
        Assert.Equal(1, m.Functions.Single(f => f.Name == "first").MaxStack);
        Assert.Equal(3, m.Functions.Single(f => f.Name == "deeper").MaxStack);
    }

    [Fact]
    public void HandWrittenModuleRunsAndComputesItsMaxStack()
    {
        var m = Assemble("""
            ; sum of 1..10, with a loop and a call by name declared later
            .module "sum"
            .source "sum.hlasm"
            .entry main
            .native println(string) -> void

            .fn main() -> int
                .locals int, int          ; i, total
                iconst 0
                store 0
                iconst 0
                store 1
            loop:
                load 0
                iconst 10
                ige
                jmpif done
                load 0
                iconst 1
                iadd
                store 0
                load 1
                load 0
                call add
                store 1
                jmp loop
            done:
                load 1
                dup
                itos
                callnative println
                ret
            .end

            .fn add(int, int) -> int
                .line 30
                load 0
                load 1
                iadd
                ret
            .end
            """);
        Assert.Equal(2, m.Functions[0].MaxStack);
        Assert.Equal(2, m.Functions[1].MaxStack);
        Assert.Equal([new LineEntry(0, 30)], m.Functions[1].Lines);
        var output = new StringWriter();
        var vm = new Vm(new VmOptions { Out = output });
        Assert.Equal(55, vm.RunMain(vm.Load(ModuleFormat.Write(m)), []));
        Assert.Equal("55\n", output.ToString());
    }

    [Fact]
    public void OperandsTakeEverySpelling()
    {
        var m = Assemble("""
            .fn "f g"(int) -> void
                .maxstack 0
                iconst 0x10
                iconst -9223372036854775808
                iconst 0xffffffffffffffff
                fconst 3
                fconst 1E+300
                fconst nan(0x7ff8000000000001)
                bconst true
                bconst 2
                load 0x1
                jmp 0
                call "f g"
                call 0
                .bytes 00 0102
            .end
            """);
        var f = m.Functions[0];
        Assert.Equal("f g", f.Name);
        var expected = Asm.Code(IConst, 16, IConst, long.MinValue, IConst, -1, FConst, 3.0, FConst, 1e300,
            FConst, BitConverter.Int64BitsToDouble(0x7ff8000000000001), BConst, 1, BConst, 2, Load, 1, Jmp, 0, Call, 0, Call, 0);
        Assert.Equal([.. expected, 0, 1, 2], f.Code);
    }

    [Fact]
    public void AStringKeepsEveryEscape()
    {
        var m = Assemble(".string \"a\\\\b\\\"c\\n\\t\\r\\0\\u{1F600}\\u{d800}\\u{41}\" ; not \"a comment\"\n");
        Assert.Equal("a\\b\"c\n\t\r\0\U0001F600\ud800A", m.Strings[0]);
    }

    [Fact]
    public void CrLfLineEndsAreAccepted()
    {
        var m = Assemble(".module \"m\"\r\n.fn main() -> void\r\n    retvoid\r\n.end\r\n");
        Assert.Equal([(byte)RetVoid], m.Functions[0].Code);
    }

    // ---------------------------------------------------------------------------------------- errors

    [Theory]
    [InlineData(".fn f() -> void\n    iadd 1\n.end", "2:10: error: too many operands: iadd takes no operands")]
    [InlineData(".fn f() -> void\n    iconst\n.end", "2:5: error: iconst takes 1 operand: an int; none given")]
    [InlineData(".fn f() -> void\n    iconst x\n.end", "2:12: error: expected an int, found 'x'")]
    [InlineData(".fn f() -> void\n    iconst 9223372036854775808\n.end", "2:12: error: 9223372036854775808 does not fit in an int")]
    [InlineData(".fn f() -> void\n    load 65536\n.end", "2:10: error: 65536 is out of range for a local slot (0..65535)")]
    [InlineData(".fn f() -> void\n    sconst -1\n.end", "2:12: error: -1 is out of range for a string constant's index (0..4294967295)")]
    [InlineData(".fn f() -> void\n    fconst 1e999\n.end", "2:12: error: 1e999 is too large for a float (write inf or -inf)")]
    [InlineData(".fn f() -> void\n    fconst nan(0x1)\n.end", "2:12: error: 0x0000000000000001 is not the bits of a NaN")]
    [InlineData(".fn f() -> void\n    fconst 1.5.2\n.end", "2:12: error: expected a float")]
    [InlineData(".fn f() -> void\n    bconst yes\n.end", "2:12: error: expected true or false, found 'yes'")]
    [InlineData(".fn f() -> void\n    iadd\n    isub\n    imull\n.end", "4:5: error: unknown instruction 'imull' (did you mean 'imul'?)")]
    [InlineData(".fn f() -> void\n    frobnicate\n.end", "2:5: error: unknown instruction 'frobnicate'")]
    [InlineData(".fn f() -> void\n    jmp nowhere\n.end", "2:9: error: no label 'nowhere' in function f")]
    [InlineData(".fn f() -> void\nx:\nx:\n.end", "3:1: error: label 'x' is already defined on line 2")]
    [InlineData(".fn f() -> void\n    call g\n.end", "2:10: error: no function named g")]
    [InlineData(".native n() -> void\n.native n() -> void\n.fn f() -> void\n    callnative n\n.end", "4:16: error: several natives are named n; refer to one by its index")]
    [InlineData(".entry main", "1:8: error: no function named main")]
    [InlineData(".entry -1", "1:8: error: -1 is out of range for a function name or index")]
    [InlineData(".module \"a\"\n.module \"b\"", "2:1: error: the module name is already given on line 1")]
    [InlineData(".module a", "1:9: error: expected a string in double quotes, found 'a'")]
    [InlineData(".string \"abc", "1:9: error: the string is not closed")]
    [InlineData(".string \"a\\qb\"", "1:11: error: unknown escape '\\q'")]
    [InlineData(".string \"\\u{110000}\"", "1:10: error: \\u{110000} is past the last code point")]
    [InlineData(".string \"\\u{}\"", "1:10: error: a \\u escape is written \\u{X}")]
    [InlineData(".type strin", "1:7: error: unknown type 'strin'")]
    [InlineData(".type [int", "1:11: error: expected ']', found the end of the line")]
    [InlineData(".type [int]]", "1:12: error: expected the end of the line, found ']'")]
    [InlineData(".native print(string -> void", "1:22: error: expected ',' or ')', found '-'")]
    [InlineData(".native print(string, ) -> void", "1:23: error: expected a type, found ')'")]
    [InlineData(".native print(string)", "1:22: error: expected '->' and the return type, found the end of the line")]
    [InlineData(".fn 3f() -> void", "1:5: error: expected a name, found '3f'")]
    [InlineData(".frob", "1:1: error: unknown directive '.frob'")]
    [InlineData("    iadd", "1:5: error: an instruction outside a function (start one with .fn)")]
    [InlineData(".locals int", "1:1: error: '.locals' outside a function")]
    [InlineData(".fn f() -> void\n    nop\n    .maxstack 2\n.end", "3:5: error: '.maxstack' must come before the function's code")]
    [InlineData(".fn f() -> void\n    .maxstack 2\n    .maxstack 3\n.end", "3:5: error: the function already has .maxstack on line 2")]
    [InlineData(".fn f() -> void\n    .maxstack 2147483648\n.end", "2:15: error: 2147483648 is out of range for a number of stack slots")]
    [InlineData(".fn f() -> void\n    .line x\n.end", "2:11: error: expected a line number, found 'x'")]
    [InlineData(".fn f() -> void\n    .bytes 1\n.end", "2:12: error: '1' is not hex bytes")]
    [InlineData(".fn f() -> void\n    .bytes\n.end", "2:11: error: expected hex bytes, found the end of the line")]
    [InlineData(".fn f() -> void\n    nop\n.fn g() -> void\n.end", "3:1: error: '.fn' inside function f (line 1): end the function with .end first")]
    [InlineData(".fn f() -> void\n    nop", "1:1: error: function f has no .end")]
    [InlineData(".end", "1:1: error: '.end' without a function or class to end")]
    [InlineData("3 + 4", "1:1: error: expected a directive, a label or an instruction, found '3'")]
    [InlineData(".fn f() -> void\n    iconst 1 \"x\n.end", "2:14: error: the string is not closed")]
    [InlineData(".fn f() -> void\n    iconst\u00a01\n.end", "2:11: error: expected a space or the end of the line, found character U+00A0")]
    public void ErrorsPointAtLineAndColumn(string text, string expected)
    {
        var r = Assembler.Assemble("bad.hlasm", text);
        Assert.False(r.Success);
        Assert.Contains(r.Diagnostics, d => d.ToString().StartsWith("bad.hlasm:" + expected, StringComparison.Ordinal));
    }

    [Fact]
    public void ReportsEveryBadLineAtOnceWithACaret()
    {
        var r = Assembler.Assemble("bad.hlasm", ".fn f() -> void\n    iconst x\n    frob\n    fconst y\n.end\n");
        Assert.Equal([2, 3, 4], r.Diagnostics.Select(d => d.Line));
        Assert.Equal("bad.hlasm:2:12: error: expected an int, found 'x'\n      iconst x\n             ^", r.Diagnostics[0].Format());
    }

    /// <summary>Whatever the text, the assembler returns a module or diagnostics: it never throws.</summary>
    [Fact]
    public void NeverThrowsOnAnyText()
    {
        var rng = new Random(7);
        string sample = Disassembler.Disassemble(Odd()) + Disassembler.Disassemble(
            Compilation.Compile("fib.hl", File.ReadAllText(Path.Combine(TestSupport.Root, "examples", "fib.hl"))).Module!);
        const string alphabet = " \t\n\r.;:,\"\\()[]{}-+0123456789abcdefxuLnt_\u00e9\ud83d\ude00\0";
        for (int n = 0; n < 1000; n++)
        {
            var chars = sample.ToCharArray();
            for (int k = rng.Next(1, 12); k > 0; k--) chars[rng.Next(chars.Length)] = alphabet[rng.Next(alphabet.Length)];
            var r = Assembler.Assemble("fuzz.hlasm", new string(chars));
            Assert.True(r.Success || r.Diagnostics.Count > 0);
            if (r.Module is { } m) ModuleFormat.Write(m);
        }
        for (int n = 0; n < 1000; n++)
        {
            var chars = new char[rng.Next(0, 80)];
            for (int k = 0; k < chars.Length; k++) chars[k] = rng.Next(4) == 0 ? (char)rng.Next(0x10000) : alphabet[rng.Next(alphabet.Length)];
            var r = Assembler.Assemble("fuzz.hlasm", ".fn f() -> void\n" + new string(chars) + "\n.end\n");
            if (r.Module is { } m) ModuleFormat.Write(m);
        }
        foreach (string text in new[]
        {
            "", "\n", ".", ".fn", ".fn f(", ".type " + new string('[', 100000) + "int" + new string(']', 100000),
            ".type " + new string('[', 256) + "int" + new string(']', 256), ".string \"" + new string('x', 1_000_000) + "\"",
            ".fn f() -> void\n" + string.Concat(Enumerable.Repeat("    iconst 1\n", 100000)) + ".end",
            ".fn f() -> void\n    .line 99999999999999999999999\n.end", ".entry 2147483647", ".entry 99999999999999999999999999",
        })
        {
            Assembler.Assemble("edge.hlasm", text);
        }
    }

    [Fact]
    public void TypesNestAsDeepAsTheLimitAllows()
    {
        var ok = Assemble(".type " + new string('[', AsmGrammar.MaxTypeDepth) + "int" + new string(']', AsmGrammar.MaxTypeDepth));
        Assert.Equal(TypeKind.Array, ok.Types[0].Kind);
        var r = Assembler.Assemble("deep.hlasm", ".type " + new string('[', AsmGrammar.MaxTypeDepth + 1) + "int" + new string(']', AsmGrammar.MaxTypeDepth + 1));
        Assert.Contains("nest 257 deep", r.Diagnostics.Single().Message);
    }

    // ---------------------------------------------------------------------------------------- hlvm asm

    private const string Hello = """
        .module "hello"
        .source "hello.hl"
        .entry main
        .string "Hello from the text form"
        .native println(string) -> void
        .fn main() -> void
            .maxstack 1
            sconst 0
            callnative println
            retvoid
        .end
        """;

    [Fact]
    public void AsmWritesAModuleThatRuns()
    {
        using var dir = new TestSupport.TempDir();
        string source = dir.File("hello.hlasm", Hello);
        var r = TestSupport.Hlvm("asm", source);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stderr);
        string module = Path.Combine(dir.Path, "hello.hlc");
        Assert.Equal("Hello from the text form\n", TestSupport.Hlvm("run", module).Stdout);
        Assert.Equal(["hello.hlasm", "hello.hlc"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void AsmOfDisasmGivesTheSameModule()
    {
        using var dir = new TestSupport.TempDir();
        string built = Path.Combine(dir.Path, "fib.hlc");
        Assert.Equal(0, TestSupport.Hlvm("build", Path.Combine(TestSupport.Root, "examples", "fib.hl"), "-o", built).ExitCode);
        var d = TestSupport.Hlvm("disasm", built);
        Assert.Equal(0, d.ExitCode);
        string text = dir.File("fib.hlasm", d.Stdout);
        string again = Path.Combine(dir.Path, "again.hlc");
        Assert.Equal(0, TestSupport.Hlvm("asm", text, "-o", again).ExitCode);
        Assert.Equal(File.ReadAllBytes(built), File.ReadAllBytes(again));
    }

    [Fact]
    public void AsmWritesInvalidModulesWithoutVerifying()
    {
        using var dir = new TestSupport.TempDir();
        string source = dir.File("bad.hlasm", ".entry main\n.fn main() -> void\n    .maxstack 0\n    iadd\n    retvoid\n.end\n");
        string module = Path.Combine(dir.Path, "bad.hlc");
        Assert.Equal(0, TestSupport.Hlvm("asm", source, "-o", module).ExitCode);
        var check = TestSupport.Hlvm("check", module);
        Assert.Equal(65, check.ExitCode);
        Assert.Contains("iadd needs a value but the stack is empty", check.Stderr);
    }

    [Fact]
    public void AsmErrorsExit65AndWriteNothing()
    {
        using var dir = new TestSupport.TempDir();
        string source = dir.File("bad.hlasm", ".fn main() -> void\n    iconst x\n    frob\n.end\n");
        var r = TestSupport.Hlvm("asm", source);
        Assert.Equal(65, r.ExitCode);
        Assert.Contains($"{source}:2:12: error: expected an int, found 'x'", r.Stderr);
        Assert.Contains($"{source}:3:5: error: unknown instruction 'frob'", r.Stderr);
        Assert.Contains("2 errors", r.Stderr);
        Assert.Equal(["bad.hlasm"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void AsmOfAMissingFileExits66()
    {
        using var dir = new TestSupport.TempDir();
        var r = TestSupport.Hlvm("asm", Path.Combine(dir.Path, "missing.hlasm"));
        Assert.Equal(66, r.ExitCode);
        Assert.Contains("no such file", r.Stderr);
    }

    [Fact]
    public void AsmIntoAMissingDirectoryExits73AndLeavesNothing()
    {
        using var dir = new TestSupport.TempDir();
        string source = dir.File("hello.hlasm", Hello);
        var r = TestSupport.Hlvm("asm", source, "-o", Path.Combine(dir.Path, "missing", "hello.hlc"));
        Assert.Equal(73, r.ExitCode);
        Assert.Contains("cannot write", r.Stderr);
        Assert.Equal(["hello.hlasm"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void AssembledModulesAreVerifiedWhenLoaded()
    {
        var m = Assemble(".fn main() -> int\n    .maxstack 1\n    fconst 1.5\n    ret\n.end\n.entry main\n");
        var e = Assert.Throws<VerifyException>(() => Verifier.Verify(ModuleFormat.Read(ModuleFormat.Write(m))));
        Assert.Contains("ret expects int on the stack but found float", e.Reason);
    }
}
