using System.Text;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Natives;

namespace Hlvm.Tests;

/// <summary>
/// The generated sections of the docs: the opcode table in docs/bytecode.md, made from <see cref="OpcodeInfo.All"/>,
/// and the table of the standard library's modules in docs/language.md, made from <see cref="NativeTable.All"/> and
/// the modules' files (stdlib/std/*.hl). A test fails when a section differs from what it would be generated as;
/// run the tests with UPDATE_DOCS=1 to rewrite them.
/// </summary>
public sealed class DocsTests
{
    // -------------------------------------------------------------------------------------------- opcodes

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

    // -------------------------------------------------------------------------------------------- standard library

    private const string StdBegin = "<!-- stdlib:begin (generated from NativeTable.All and stdlib/std/*.hl by DocsTests; UPDATE_DOCS=1 dotnet test --filter DocsTests) -->";
    private const string StdEnd = "<!-- stdlib:end -->";

    /// <summary>
    /// One row per member of each std module, in the order of the modules' names: first what the module's file
    /// declares `pub` (constants and functions, in the file's order, each described by its `///` comment), then its
    /// natives (those named <c>X.*</c> for std.X; for std.io the built-ins, whose names have no dot), in the table's
    /// order. As in the compiler, a function of the file hides a native of the same name.
    /// </summary>
    private static string StdTable()
    {
        var sb = new StringBuilder();
        sb.Append("| module | function | signature | what it does |\n");
        sb.Append("| --- | --- | --- | --- |\n");
        string dir = Path.Combine(TestSupport.Root, "stdlib", "std");
        foreach (string file in Directory.GetFiles(dir, "*.hl").Order(StringComparer.Ordinal))
        {
            string module = Path.GetFileNameWithoutExtension(file);
            var own = new HashSet<string>();
            foreach (var (name, signature, doc) in Declared(file))
            {
                own.Add(name);
                sb.Append($"| `std.{module}` | `{name}` | `{signature}` | {Cell(doc)} |\n");
            }
            var natives = NativeTable.All.Where(n => module == "io" ? !n.Name.Contains('.') : n.Name.StartsWith(module + ".", StringComparison.Ordinal));
            foreach (var n in natives)
            {
                string name = n.Name[(n.Name.IndexOf('.') + 1)..];
                if (own.Contains(name)) continue;
                sb.Append($"| `std.{module}` | `{name}` | {Signature(module, name, n)} | {Cell(n.Doc)} |\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// A native's parameter types and result. std.io's writers take a value of any type, which the compiler turns
    /// into the string the native receives: their parameter is shown as `x`, and those that end a line may be
    /// called without one.
    /// </summary>
    private static string Signature(string module, string name, NativeDef n)
    {
        if (module == "io" && n.Params is [var p] && p == VmType.String)
            return name.EndsWith("ln", StringComparison.Ordinal) ? "`(x)`, `()`" : "`(x)`";
        string ret = n.Return == VmType.Void ? "" : " -> " + n.Return;
        return $"`({string.Join(", ", n.Params.Select(t => t.ToString()))}){ret}`";
    }

    /// <summary>The `pub fn` and `pub let` declarations of a module's file, with their `///` comments.</summary>
    private static IEnumerable<(string Name, string Signature, string Doc)> Declared(string file)
    {
        var doc = new List<string>();
        foreach (string raw in File.ReadLines(file))
        {
            string line = raw.Trim();
            if (line.StartsWith("///", StringComparison.Ordinal)) { doc.Add(line[3..].Trim()); continue; }
            if (line.StartsWith("pub fn ", StringComparison.Ordinal) || line.StartsWith("pub let ", StringComparison.Ordinal))
            {
                bool fn = line.StartsWith("pub fn ", StringComparison.Ordinal);
                string rest = line[(fn ? 7 : 8)..];
                Assert.True(doc.Count > 0, $"{Path.GetFileName(file)}: `{line}` has no /// comment to describe it in docs/language.md");
                string name = new(rest.TakeWhile(c => char.IsLetterOrDigit(c) || c == '_').ToArray());
                string signature = fn ? rest[name.Length..rest.LastIndexOf('{')].TrimEnd() : rest[name.Length..].Trim();
                yield return (name, signature, string.Join(" ", doc));
            }
            doc.Clear();
        }
    }

    /// <summary>A description as a table cell: a sentence's capital and final point dropped, like the natives' docs.</summary>
    private static string Cell(string doc)
    {
        doc = doc.TrimEnd('.');
        // "The base" and "A full turn" start sentences; "INT_MIN" or "E2E" would not.
        if (doc.Length > 1 && char.IsUpper(doc[0]) && !char.IsUpper(doc[1]) && !char.IsDigit(doc[1]) && doc[1] != '_')
            doc = char.ToLowerInvariant(doc[0]) + doc[1..];
        return doc.Replace("|", "\\|");
    }

    [Fact]
    public void LanguageReferenceHasTheGeneratedStdlibTable() =>
        TestSupport.AssertGeneratedSection(Path.Combine("docs", "language.md"), StdBegin, StdEnd, StdTable(), "table of the standard library", "DocsTests");
}
