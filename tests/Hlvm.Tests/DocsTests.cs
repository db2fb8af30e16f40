using System.Text;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Tests;

/// <summary>
/// The opcode table in docs/bytecode.md is generated from <see cref="OpcodeInfo.All"/>; this test fails when they
/// differ. Run it with UPDATE_DOCS=1 to rewrite the table.
/// </summary>
public sealed class DocsTests
{
    private const string Begin = "<!-- opcodes:begin (generated from OpcodeInfo.All by DocsTests; UPDATE_DOCS=1 dotnet test --filter DocsTests) -->";
    private const string End = "<!-- opcodes:end -->";

    private static string Table()
    {
        var sb = new StringBuilder();
        sb.Append("| byte | opcode | operands | pops | pushes | GC point | semantics |\n");
        sb.Append("| --- | --- | --- | --- | --- | --- | --- |\n");
        foreach (var o in OpcodeInfo.All)
        {
            string operands = o.Operands.Length == 0 ? "" : string.Join(", ", o.Operands.Select(k => $"{k} ({OpcodeInfo.Width(k)} bytes)"));
            string Effect(int n) => n < 0 ? "varies" : n.ToString();
            sb.Append($"| {(int)o.Op} | `{o.Name}` | {operands} | {Effect(o.Pops)} | {Effect(o.Pushes)} | {(o.GcPoint ? "yes" : "")} | {o.Doc.Replace("|", "\\|")} |\n");
        }
        return sb.ToString();
    }

    [Fact]
    public void BytecodeReferenceHasTheGeneratedOpcodeTable()
    {
        string path = Path.Combine(TestSupport.Root, "docs", "bytecode.md");
        string text = File.ReadAllText(path);
        int begin = text.IndexOf(Begin, StringComparison.Ordinal);
        int end = text.IndexOf(End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, "docs/bytecode.md lacks the opcode table markers");
        string expected = text[..(begin + Begin.Length)] + "\n" + Table() + text[end..];
        if (Environment.GetEnvironmentVariable("UPDATE_DOCS") == "1") File.WriteAllText(path, expected);
        else Assert.True(expected == text, "docs/bytecode.md's opcode table is out of date; run UPDATE_DOCS=1 dotnet test --filter DocsTests");
    }
}
