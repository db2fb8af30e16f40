using Hlvm.Compiler;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Tests;

/// <summary>
/// Every name a module carries reaches hlvm's messages only with its control characters made visible: a
/// hand-made module with an escape sequence in each of its names, broken so that each error path quotes one,
/// through `hlvm run` and `hlvm check`.
/// </summary>
public sealed class MessageFilterTests
{
    private const string Esc = "\u001b[2J\u001b]0;owned\u0007";

    /// <summary>A valid compiled module: a class with a field and a method, a native import, strings.</summary>
    private static Module Valid() => Compilation.Compile("prog.hl", """
        class Box {
            n: int
            fn get() -> int { return n }
        }
        fn helper() -> int { return Box(1).get() }
        fn main() { println("{helper()}") }
        """).Module!;

    /// <summary>Each way of breaking a module so that an error names one of its names, with the escape in it.</summary>
    public static TheoryData<string> Breakages() => new(
        "module name", "source file", "duplicate function", "function in a verify error", "class in a verify error",
        "field name twice", "method name twice", "unknown native", "entry function");

    private static Module Broken(string how)
    {
        var m = Valid();
        int helper = m.Functions.FindIndex(f => f.Name == "helper");
        int box = m.Classes.FindIndex(c => c.Name == "Box");
        switch (how)
        {
            case "module name": m.Name = "m" + Esc; m.Functions[helper].Code = [(byte)Opcode.Ret]; break;
            case "source file": // a valid module whose run fails: the trace names the file
                m.SourceFile = "f" + Esc + ".hl";
                m.Functions[helper].Code = Asm.Code(Opcode.IConst, 1, Opcode.IConst, 0, Opcode.IDiv, Opcode.Ret);
                break;
            case "duplicate function": m.Functions[helper].Name = m.Functions[m.EntryFunction].Name = "x" + Esc; break;
            case "function in a verify error": m.Functions[helper].Name = "h" + Esc; m.Functions[helper].Code = [(byte)Opcode.Ret]; break;
            case "class in a verify error": m.Classes[box].Name = "B" + Esc; m.Classes[box].Super = box; break;
            case "field name twice":
                m.Classes[box].Fields.Clear();
                m.Classes[box].Fields.AddRange([new FieldDef("f" + Esc, VmType.Int), new FieldDef("f" + Esc, VmType.Int)]);
                break;
            case "method name twice":
                m.Classes[box].Methods[0] = m.Classes[box].Methods[0] with { Name = "g" + Esc };
                m.Classes[box].Methods.Add(m.Classes[box].Methods[0]);
                break;
            case "unknown native": m.Natives[0] = m.Natives[0] with { Name = "n" + Esc }; break;
            case "entry function": m.Functions[m.EntryFunction].Name = "e" + Esc; m.Functions[m.EntryFunction].Params = [VmType.Int]; m.Functions[m.EntryFunction].Locals = [VmType.Int]; break;
        }
        return m;
    }

    [Theory]
    [MemberData(nameof(Breakages))]
    public void NoNameInAModuleReachesTheTerminalRaw(string how)
    {
        using var dir = new TestSupport.TempDir();
        string file = Path.Combine(dir.Path, "bad.hlc");
        File.WriteAllBytes(file, ModuleFormat.Write(Broken(how)));
        foreach (var command in how == "source file" ? ["run"] : new[] { "run", "check" })
        {
            var r = TestSupport.Hlvm(command, file);
            Assert.Equal(how == "source file" ? 70 : 65, r.ExitCode);
            Assert.DoesNotContain('\u001b', r.Stderr);
            Assert.DoesNotContain('\u0007', r.Stderr);
            Assert.Contains("␛", r.Stderr); // the name is in the message, made visible
        }
    }
}

/// <summary>What hlvm reports about a program is bounded however long the program's own text is.</summary>
public sealed class ReportLengthTests
{
    [Fact]
    public void AnUncaughtErrorWithAHugeMessageIsReportedByItsEnds()
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("huge.hl", "fn main() {\n    throw ValueError(\"a\".repeat(5_000_000) + \"END\")\n}\n");
        var r = TestSupport.Hlvm("run", "--max-output", "100", prog);
        Assert.Equal(70, r.ExitCode);
        Assert.True(r.Stderr.Length < Hlvm.Runtime.Execution.VmError.MaxReportedMessage + 500, $"{r.Stderr.Length} characters on stderr");
        Assert.StartsWith("ValueError: aaaa", r.Stderr);
        Assert.Contains($"… ({5_000_003 - Hlvm.Runtime.Execution.VmError.MaxReportedMessage} characters left out) …", r.Stderr);
        Assert.Contains("aEND\n  at main (huge.hl:2)", r.Stderr);
    }

    [Fact]
    public void AnAuditLineHoldsTheEndsOfAHugeTarget()
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("path.hl", "import std.fs\nfn main() {\n    println(fs.exists(\"/\" + \"p\".repeat(1_000_000)))\n}\n");
        string audit = Path.Combine(dir.Path, "audit.jsonl");
        TestSupport.Hlvm("run", $"--audit={audit}", prog);
        var line = Assert.Single(File.ReadAllLines(audit));
        Assert.True(line.Length < Hlvm.Sandbox.AuditLog.MaxTarget + 300, $"{line.Length} characters in the line");
        Assert.Contains("characters left out", line);
    }
}

/// <summary>The output filter's search for characters it replaces, vectorised eight at a time with a scalar tail.</summary>
public sealed class ControlCharacterTests
{
    /// <summary>What the filter replaces, written out once more: C0 controls but tab, line feed and carriage return;
    /// DEL; C1 controls.</summary>
    private static bool Replaced(char c) => (c < 0x20 && c is not ('\t' or '\n' or '\r')) || (c >= 0x7f && c <= 0x9f);

    [Fact]
    public void EveryCharacterIsFoundAtEveryPositionOfTheVectorsAndTheTail()
    {
        // 19 characters: two vectors of eight and a tail of three.
        var text = new char[19];
        for (int c = 0; c <= char.MaxValue; c++)
        {
            Assert.Equal(Replaced((char)c), Hlvm.Sandbox.ControlCharacters.IsReplaced((char)c));
            for (int at = 0; at < text.Length; at++)
            {
                Array.Fill(text, 'a');
                text[at] = (char)c;
                if (Hlvm.Sandbox.ControlCharacters.AnyReplaced(text) != Replaced((char)c))
                    Assert.Fail($"U+{c:X4} at {at}: AnyReplaced says {!Replaced((char)c)}");
            }
        }
    }

    [Fact]
    public void KeptControlsNextToAReplacedOneDoNotHideIt()
    {
        // A vector with tab and line breaks (kept) is looked at one by one; the escape among them is found.
        Assert.False(Hlvm.Sandbox.ControlCharacters.AnyReplaced("line one\n\tline two\r\n"));
        Assert.True(Hlvm.Sandbox.ControlCharacters.AnyReplaced("\n\n\n\n\t\t\t\u001b"));
        Assert.True(Hlvm.Sandbox.ControlCharacters.AnyReplaced("\n\n\n\n\t\t\t\t\r\r\r\r\r\r\r\r\u0085"));
        Assert.False(Hlvm.Sandbox.ControlCharacters.AnyReplaced(""));
        Assert.Equal("a\u241Bb\uFFFD\u2421\t", Hlvm.Sandbox.ControlCharacters.MakeVisible("a\u001bb\u0085\u007f\t"));
    }
}
