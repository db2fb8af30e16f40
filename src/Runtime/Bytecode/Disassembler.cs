using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Hlvm.Runtime.Bytecode;

/// <summary>
/// Prints a module readably: its constants, natives and types, then each function with one instruction per
/// line — byte offset, source line ('|' when unchanged), mnemonic, operands, and a comment resolving each
/// operand to what it names. It decodes defensively, so it can show modules the verifier rejects.
/// </summary>
public static class Disassembler
{
    public static string Disassemble(Module m)
    {
        var sb = new StringBuilder();
        sb.Append($"module {m.Name} (source {m.SourceFile}, format version {ModuleFormat.Version})\n");
        if (m.Strings.Count > 0)
        {
            sb.Append("strings:\n");
            for (int i = 0; i < m.Strings.Count; i++) sb.Append($"  {i,4}  {Quote(m.Strings[i])}\n");
        }
        if (m.Types.Count > 0)
        {
            sb.Append("types:\n");
            for (int i = 0; i < m.Types.Count; i++) sb.Append($"  {i,4}  {m.Types[i]}\n");
        }
        if (m.Natives.Count > 0)
        {
            sb.Append("natives:\n");
            for (int i = 0; i < m.Natives.Count; i++)
                sb.Append($"  {i,4}  {m.Natives[i].Name}({string.Join(", ", m.Natives[i].Params.AsEnumerable())}) -> {m.Natives[i].Return}\n");
        }
        for (int i = 0; i < m.Functions.Count; i++)
        {
            sb.Append('\n');
            Function(sb, m, m.Functions[i], i == m.EntryFunction);
        }
        return sb.ToString();
    }

    private static void Function(StringBuilder sb, Module m, FunctionDef f, bool entry)
    {
        sb.Append($"fn {f.Name}({string.Join(", ", f.Params.AsEnumerable())}) -> {f.Return}{(entry ? "   ; entry" : "")}\n");
        sb.Append($"  ; locals: {string.Join(", ", f.Locals.Select((t, i) => $"{i}:{t}"))}{(f.Locals.Length == 0 ? "none" : "")}; max stack {f.MaxStack}; {f.Code.Length} bytes\n");
        int lastLine = -1;
        var code = f.Code;
        for (int pc = 0; pc < code.Length;)
        {
            int line = f.LineAt(pc);
            string lineText = line == lastLine ? "   |" : $"{line,4}";
            lastLine = line;
            var info = OpcodeInfo.Of(code[pc]);
            if (info is null || pc + info.Size > code.Length)
            {
                sb.Append($"  {pc:D4} {lineText}  <bad bytes: {Convert.ToHexString(code, pc, Math.Min(8, code.Length - pc))}>\n");
                return;
            }
            var operands = new List<string>();
            var notes = new List<string>();
            int p = pc + 1;
            foreach (var kind in info.Operands)
            {
                long v = OpcodeInfo.Width(kind) switch
                {
                    2 => BinaryPrimitives.ReadUInt16LittleEndian(code.AsSpan(p)),
                    4 => BinaryPrimitives.ReadUInt32LittleEndian(code.AsSpan(p)),
                    _ => BinaryPrimitives.ReadInt64LittleEndian(code.AsSpan(p)),
                };
                p += OpcodeInfo.Width(kind);
                operands.Add(kind == OperandKind.Float64
                    ? BitConverter.Int64BitsToDouble(v).ToString("R", CultureInfo.InvariantCulture)
                    : v.ToString(CultureInfo.InvariantCulture));
                string? note = kind switch
                {
                    OperandKind.String when v < m.Strings.Count => Quote(m.Strings[(int)v], 40),
                    OperandKind.Function when v < m.Functions.Count => m.Functions[(int)v].Name,
                    OperandKind.Native when v < m.Natives.Count => m.Natives[(int)v].Name,
                    OperandKind.Type when v < m.Types.Count => m.Types[(int)v].ToString(),
                    OperandKind.Local when v < f.Locals.Length => f.Locals[(int)v].ToString(),
                    _ => null,
                };
                if (note is not null) notes.Add(note);
            }
            string text = $"{info.Name} {string.Join(' ', operands)}".TrimEnd();
            sb.Append($"  {pc:D4} {lineText}  {text,-24}{(notes.Count > 0 ? "; " + string.Join(", ", notes) : "")}".TrimEnd()).Append('\n');
            pc = p;
        }
    }

    private static string Quote(string s, int max = int.MaxValue)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s.Length > max ? s[..max] : s)
        {
            sb.Append(c switch
            {
                '\n' => "\\n", '\t' => "\\t", '\r' => "\\r", '"' => "\\\"", '\\' => "\\\\",
                < ' ' => $"\\u{{{(int)c:x}}}",
                _ => c.ToString(),
            });
        }
        return sb.Append(s.Length > max ? "\"..." : "\"").ToString();
    }
}
