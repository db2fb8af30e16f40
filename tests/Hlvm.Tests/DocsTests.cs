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
    public void BytecodeReferenceHasTheGeneratedOpcodeTable() =>
        TestSupport.AssertGeneratedSection(Path.Combine("docs", "bytecode.md"), Begin, End, Table(), "opcode table", "DocsTests");
}
