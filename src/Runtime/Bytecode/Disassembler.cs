using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Hlvm.Runtime.Bytecode;

// ============================================================================================================
// The disassembler: a module in its text form (.hlasm), which the assembler (Hlvm.Compiler.Assembly) reads back.
//
// The text form says everything the module format says, and nothing more: assembling the disassembly of any
// module that ModuleFormat.Read accepts gives a module that ModuleFormat.Write turns into the same bytes. So it
// also shows what the verifier would reject, exactly as it is. A file looks like this:
//
//   .module "hello"                  module name, source file name, entry function (by name, or by index)
//   .source "hello.hl"
//   .entry main
//   .string "Hello, world!"          ; #0     string constants, types and native imports, in pool order
//   .native println(string) -> void  ; #0
//   .fn main() -> void               ; #0     a function: name, parameter types, return type
//       .locals int, string          ; ...    locals after the parameters
//       .maxstack 1
//       .line 3                      ; a line-table entry at the next instruction
//   L0000:                           ; a label: offset 0 is a branch target
//       sconst 0                     ; 0000  "Hello, world!"
//       callnative println           ; 0005
//       retvoid                      ; 0010
//   .end
//
// One instruction per line, its mnemonic from OpcodeInfo.All and its operands separated by spaces; the comment
// after ';' gives the byte offset and what the operands name. Branch targets are labels (L + offset) where they
// are the start of an instruction, and plain byte offsets otherwise; calls name their function or native when
// the name is unique. Bytes that do not decode as an instruction, and an instruction that a line-table entry
// falls inside, are written as `.bytes` (hex), so that any code round-trips.
// ============================================================================================================

/// <summary>Prints a module in the text form the assembler reads (see the essay above).</summary>
public static class Disassembler
{
    /// <summary>The column where the comments of directives and instructions start.</summary>
    private const int CommentColumn = 40;

    public static string Disassemble(Module m)
    {
        var sb = new StringBuilder();
        sb.Append($"; Hlvm module (format version {ModuleFormat.Version})\n");
        sb.Append($".module {Quote(m.Name)}\n");
        sb.Append($".source {Quote(m.SourceFile)}\n");
        if (m.EntryFunction >= 0) sb.Append($".entry {Reference(m.Functions.Select(f => f.Name).ToList(), m.EntryFunction)}\n");
        if (m.Strings.Count > 0) sb.Append('\n');
        for (int i = 0; i < m.Strings.Count; i++) Line(sb, $".string {Quote(m.Strings[i])}", $"#{i}");
        if (m.Types.Count > 0) sb.Append('\n');
        for (int i = 0; i < m.Types.Count; i++) Line(sb, $".type {Type(m, m.Types[i])}", $"#{i}");
        if (m.Natives.Count > 0) sb.Append('\n');
        for (int i = 0; i < m.Natives.Count; i++)
        {
            var n = m.Natives[i];
            Line(sb, $".native {Name(n.Name)}({Types(m, n.Params)}) -> {Type(m, n.Return)}", $"#{i}");
        }
        var functionNames = m.Functions.Select(f => f.Name).ToList();
        for (int i = 0; i < m.Classes.Count; i++)
        {
            var c = m.Classes[i];
            sb.Append('\n');
            Line(sb, $".{(c.IsInterface ? "interface" : "class")} {Name(c.Name)}", $"#{i}");
            if (c.Super >= 0) sb.Append($"    .super {ClassRef(m, c.Super)}\n");
            if (c.Interfaces.Length > 0) sb.Append($"    .implements {string.Join(' ', c.Interfaces.Select(x => ClassRef(m, x)))}\n");
            foreach (var f in c.Fields) sb.Append($"    .field {Name(f.Name)} {Type(m, f.Type)}\n");
            foreach (var meth in c.Methods) sb.Append($"    .method {Name(meth.Name)} {Reference(functionNames, meth.Function)}\n");
            foreach (var sig in c.Signatures) sb.Append($"    .sig {Name(sig.Name)}({Types(m, sig.Params)}) -> {Type(m, sig.Return)}\n");
            sb.Append(".end\n");
        }
        var nativeNames = m.Natives.Select(n => n.Name).ToList();
        for (int i = 0; i < m.Functions.Count; i++)
        {
            sb.Append('\n');
            new FunctionPrinter(sb, m, m.Functions[i], functionNames, nativeNames).Print(i);
        }
        return sb.ToString();
    }

    // ---------------------------------------------------------------------------------------- spelling

    /// <summary>True when <paramref name="s"/> is written bare as a name or label: ASCII letters, digits and '_',
    /// not starting with a digit. Any other name is written as a quoted string.</summary>
    public static bool IsIdentifier(string s)
    {
        if (s.Length == 0 || char.IsAsciiDigit(s[0])) return false;
        foreach (char c in s)
            if (!char.IsAsciiLetterOrDigit(c) && c != '_') return false;
        return true;
    }

    /// <summary>
    /// A type as the text form writes it: the built-in names, <c>[T]</c>, a class by its name (or <c>#N</c> when its
    /// name is not a unique identifier), and <c>?</c> after a nullable type.
    /// </summary>
    public static string Type(Module m, VmType t) => t.Format(i => ClassRef(m, i, typeSyntax: true));

    private static string Types(Module m, IEnumerable<VmType> ts) => string.Join(", ", ts.Select(t => Type(m, t)));

    /// <summary>A class by name when that is a unique identifier, else by index (<c>#N</c> in a type).</summary>
    public static string ClassRef(Module m, int index, bool typeSyntax = false)
    {
        if (index >= 0 && index < m.Classes.Count)
        {
            string name = m.Classes[index].Name;
            if (IsIdentifier(name) && name is not ("void" or "int" or "float" or "bool" or "string") && m.Classes.Count(c => c.Name == name) == 1) return name;
        }
        return typeSyntax ? $"#{index}" : index.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A function or native name as the text form writes it: bare when it is an identifier, else quoted.</summary>
    public static string Name(string name) => IsIdentifier(name) ? name : Quote(name);

    /// <summary>
    /// A string literal: between double quotes, with <c>\\</c>, <c>\"</c>, <c>\n</c>, <c>\t</c>, <c>\r</c>, <c>\0</c>, and
    /// <c>\u{X}</c> (hex) for other control and format characters and for unpaired surrogates, so that the text
    /// shows every character of the string and nothing invisible.
    /// </summary>
    public static string Quote(string s, int max = int.MaxValue) => Quote(s, max, literal: false);

    /// <summary>
    /// A string as a literal of the language writes it, which reads back as the same string: the escapes of
    /// <see cref="Quote(string, int)"/> and <c>\{</c>, <c>\}</c> for braces (a bare one would interpolate).
    /// </summary>
    public static string QuoteLiteral(string s) => Quote(s, int.MaxValue, literal: true);

    /// <summary>
    /// Appends <see cref="QuoteLiteral"/>'s text of <paramref name="s"/>; false, with part of it appended, as soon as
    /// the builder would pass <paramref name="limit"/> characters (escapes make the text up to ten times longer
    /// than the string, so the caller can't tell from the string's length alone).
    /// </summary>
    public static bool AppendLiteral(StringBuilder sb, ReadOnlySpan<char> s, long limit) =>
        AppendQuoted(sb, s, int.MaxValue, literal: true, limit);

    private static string Quote(string s, int max, bool literal)
    {
        var sb = new StringBuilder();
        AppendQuoted(sb, s, max, literal, long.MaxValue);
        return sb.ToString();
    }

    private static bool AppendQuoted(StringBuilder sb, ReadOnlySpan<char> s, int max, bool literal, long limit)
    {
        sb.Append('"');
        int end = Math.Min(s.Length, max);
        for (int i = 0; i < end; i++)
        {
            if (sb.Length > limit) return false;
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(c).Append(s[++i]);
                continue;
            }
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                case '\0': sb.Append("\\0"); break;
                case '{' when literal: sb.Append("\\{"); break;
                case '}' when literal: sb.Append("\\}"); break;
                default:
                    var category = char.GetUnicodeCategory(c);
                    if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
                        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
                        sb.Append($"\\u{{{(int)c:x}}}");
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append(s.Length > end ? "\"..." : "\"");
        return sb.Length <= limit;
    }

    /// <summary>The bits of the NaN that .NET produces (0/0 and double.NaN), written <c>nan</c>.</summary>
    public static readonly long CanonicalNaNBits = BitConverter.DoubleToInt64Bits(double.NaN);

    /// <summary>
    /// A float operand: the shortest decimal that reads back to the same double (with ".0" when it would look like
    /// an int), <c>inf</c>, <c>-inf</c>, <c>nan</c>, or for any other NaN <c>nan(0x...)</c> with its exact bits.
    /// </summary>
    public static string Float(long bits)
    {
        double d = BitConverter.Int64BitsToDouble(bits);
        if (double.IsNaN(d)) return bits == CanonicalNaNBits ? "nan" : $"nan(0x{bits:x16})";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        string s = d.ToString("R", CultureInfo.InvariantCulture);
        return s.All(c => c == '-' || char.IsAsciiDigit(c)) ? s + ".0" : s;
    }

    /// <summary>The label the disassembler gives a branch target at byte offset <paramref name="offset"/>.</summary>
    public static string Label(int offset) => $"L{offset:D4}";

    /// <summary>A reference to function or native <paramref name="index"/>: its name when that is unique, else the index.</summary>
    private static string Reference(List<string> names, long index)
    {
        if (index < 0 || index >= names.Count) return index.ToString(CultureInfo.InvariantCulture);
        string name = names[(int)index];
        return names.Count(n => n == name) == 1 ? Name(name) : index.ToString(CultureInfo.InvariantCulture);
    }

    private static void Line(StringBuilder sb, string text, string comment)
    {
        sb.Append(text);
        if (comment.Length > 0) sb.Append(' ', Math.Max(2, CommentColumn - text.Length)).Append("; ").Append(comment);
        sb.Append('\n');
    }

    // ---------------------------------------------------------------------------------------- functions

    private sealed class FunctionPrinter(StringBuilder sb, Module m, FunctionDef f, List<string> functionNames, List<string> nativeNames)
    {
        private readonly byte[] _code = f.Code;
        private int _nextLine; // index of the first line-table entry not yet printed

        /// <summary>A stretch of code: a decoded instruction (Info set), or bytes that do not decode.</summary>
        private readonly record struct Item(int Start, int End, OpcodeInfo? Info);

        public void Print(int index)
        {
            Line(sb, $".fn {Name(f.Name)}({Types(m, f.Params)}) -> {Type(m, f.Return)}", $"#{index}");
            if (f.Locals.Length > f.Params.Length)
            {
                string slots = f.Locals.Length - f.Params.Length == 1
                    ? $"slot {f.Params.Length}"
                    : $"slots {f.Params.Length}..{f.Locals.Length - 1}";
                Line(sb, $"    .locals {Types(m, f.Locals.Skip(f.Params.Length))}", slots);
            }
            sb.Append($"    .maxstack {f.MaxStack}\n");
            if (f.SourceFile is not null) sb.Append($"    .source {Quote(f.SourceFile)}\n");

            var items = Decode();
            var starts = items.Where(it => it.Info is not null).Select(it => it.Start).ToHashSet();
            var targets = new HashSet<int>();
            // The exception table, with labels where its offsets are instruction starts (or the end of the code).
            string At(int offset) => starts.Contains(offset) || offset == _code.Length ? Label(offset) : offset.ToString(CultureInfo.InvariantCulture);
            foreach (var h in f.Handlers)
            {
                foreach (int offset in new[] { h.Start, h.End, h.Handler })
                    if (starts.Contains(offset) || offset == _code.Length) targets.Add(offset);
                sb.Append($"    .handler {At(h.Start)} {At(h.End)} {At(h.Handler)} {ClassRef(m, h.Class)}\n");
            }
            foreach (var it in items)
            {
                if (it.Info is null) continue;
                int p = it.Start + 1;
                foreach (var kind in it.Info.Operands)
                {
                    if (kind == OperandKind.Target && Read(kind, p) is var t && t <= int.MaxValue && starts.Contains((int)t)) targets.Add((int)t);
                    p += OpcodeInfo.Width(kind);
                }
            }

            for (int i = 0; i < items.Count; i++)
            {
                var it = items[i];
                if (targets.Contains(it.Start)) sb.Append($"{Label(it.Start)}:\n");
                LinesAt(it.Start);
                if (it.Info is not null && !LineInside(it.Start, it.End))
                {
                    Instruction(it, starts);
                    continue;
                }
                // Undecodable bytes run on to the next instruction; an instruction split by a line entry stays alone.
                int end = it.End;
                if (it.Info is null)
                {
                    while (i + 1 < items.Count && items[i + 1].Info is null) end = items[++i].End;
                }
                Bytes(it.Start, end, it.Info is null ? "" : $"{it.Info.Name}, split by a line-table entry");
            }
            LinesAt(int.MaxValue);
            if (targets.Contains(_code.Length)) sb.Append($"{Label(_code.Length)}:\n");
            sb.Append(".end\n");
        }

        private List<Item> Decode()
        {
            var items = new List<Item>();
            for (int pc = 0; pc < _code.Length;)
            {
                var info = OpcodeInfo.Of(_code[pc]);
                if (info is null) items.Add(new Item(pc, ++pc, null));
                else if (pc + info.Size > _code.Length)
                {
                    items.Add(new Item(pc, _code.Length, null));
                    pc = _code.Length;
                }
                else
                {
                    items.Add(new Item(pc, pc + info.Size, info));
                    pc += info.Size;
                }
            }
            return items;
        }

        /// <summary>Prints the line-table entries at offsets up to <paramref name="offset"/>.</summary>
        private void LinesAt(int offset)
        {
            for (; _nextLine < f.Lines.Length && f.Lines[_nextLine].Offset <= offset; _nextLine++)
                sb.Append($"    .line {f.Lines[_nextLine].Line}\n");
        }

        private bool LineInside(int start, int end) =>
            _nextLine < f.Lines.Length && f.Lines[_nextLine].Offset > start && f.Lines[_nextLine].Offset < end;

        /// <summary>Prints bytes as <c>.bytes</c> lines of at most 16, with the line entries that fall among them.</summary>
        private void Bytes(int start, int end, string note)
        {
            for (int pc = start; pc < end;)
            {
                LinesAt(pc);
                int stop = Math.Min(end, pc + 16);
                if (_nextLine < f.Lines.Length && f.Lines[_nextLine].Offset > pc) stop = Math.Min(stop, f.Lines[_nextLine].Offset);
                string hex = string.Join(' ', _code[pc..stop].Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
                Line(sb, $"    .bytes {hex}", $"{pc:D4}{(pc == start && note.Length > 0 ? "  " + note : "")}");
                pc = stop;
            }
        }

        private long Read(OperandKind kind, int p) => OpcodeInfo.ReadOperand(_code, p, kind);

        private int _class = -1; // the class operand of the instruction being printed

        /// <summary>The name of field <paramref name="index"/> in the layout of a class (inherited fields first).</summary>
        private string? FieldName(int c, long index) => m.FieldLayout(c) is var fields && index < fields.Count ? fields[(int)index].Name : null;

        /// <summary>The name of method slot <paramref name="index"/> of a class, or of an interface's signature.</summary>
        private string? MethodName(int c, long index)
        {
            if (m.Classes[c].IsInterface) return index < m.Classes[c].Signatures.Count ? m.Classes[c].Signatures[(int)index].Name : null;
            var slots = m.MethodTable(c);
            return index < slots.Count ? slots[(int)index].Name : null;
        }

        private void Instruction(Item it, HashSet<int> starts)
        {
            _class = -1;
            var text = new StringBuilder("    ").Append(it.Info!.Name);
            var notes = new List<string>();
            int p = it.Start + 1;
            foreach (var kind in it.Info.Operands)
            {
                long v = Read(kind, p);
                p += OpcodeInfo.Width(kind);
                string s = v.ToString(CultureInfo.InvariantCulture);
                string? note = null;
                switch (kind)
                {
                    case OperandKind.Float64: s = Float(v); break;
                    case OperandKind.Bool: s = v switch { 0 => "false", 1 => "true", _ => s }; break;
                    case OperandKind.Target:
                        if (v <= int.MaxValue && starts.Contains((int)v)) s = Label((int)v);
                        break;
                    case OperandKind.Function:
                        s = Reference(functionNames, v);
                        if (v < functionNames.Count && s != Name(functionNames[(int)v])) note = Name(functionNames[(int)v]);
                        break;
                    case OperandKind.Native:
                        s = Reference(nativeNames, v);
                        if (v < nativeNames.Count && s != Name(nativeNames[(int)v])) note = Name(nativeNames[(int)v]);
                        break;
                    case OperandKind.String when v < m.Strings.Count: note = Quote(m.Strings[(int)v], 40); break;
                    case OperandKind.Type when v < m.Types.Count: note = Type(m, m.Types[(int)v]); break;
                    case OperandKind.Local when v < f.Locals.Length: note = Type(m, f.Locals[(int)v]); break;
                    case OperandKind.Class:
                        if (v < m.Classes.Count) s = ClassRef(m, (int)v);
                        _class = v < m.Classes.Count ? (int)v : -1;
                        break;
                    case OperandKind.Field when _class >= 0: note = FieldName(_class, v); break;
                    case OperandKind.Method when _class >= 0: note = MethodName(_class, v); break;
                }
                text.Append(' ').Append(s);
                if (note is not null) notes.Add(note);
            }
            Line(sb, text.ToString(), $"{it.Start:D4}{(notes.Count > 0 ? "  " + string.Join(", ", notes) : "")}");
        }
    }
}
