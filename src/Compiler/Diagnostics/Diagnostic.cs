using System.Text;

namespace Hlvm.Compiler.Diagnostics;

public enum Severity { Error, Warning }

/// <summary>A source file: its name as shown in messages and its text split into lines.</summary>
public sealed class SourceText(string path, string text)
{
    public string Path { get; } = path;
    public string Text { get; } = text;
    private readonly string[] _lines = text.Split('\n');

    /// <summary>Line <paramref name="line"/> (1-based) without its line break, or "" past the end.</summary>
    public string Line(int line) => line >= 1 && line <= _lines.Length ? _lines[line - 1].TrimEnd('\r') : "";
}

/// <summary>One message about the source, with a 1-based line and column.</summary>
public sealed record Diagnostic(Severity Severity, SourceText Source, int Line, int Column, string Message, int Length = 1)
{
    /// <summary>
    /// The message as the compiler prints it: <c>file:line:col: error: message</c>, then the source line and a
    /// caret under the column (rustc's and clang's layout).
    /// </summary>
    public string Format()
    {
        var sb = new StringBuilder();
        // A line break in the file's name would split file:line:col over two lines (other control characters are
        // made visible where the message is printed; line breaks are kept there, as the excerpt below needs them).
        string file = Source.Path.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);
        sb.Append($"{file}:{Line}:{Column}: {(Severity == Severity.Error ? "error" : "warning")}: {Message}");
        string line = Source.Line(Line);
        if (line.Length > 0)
        {
            int col = Math.Clamp(Column - 1, 0, line.Length);
            int len = Math.Clamp(Length, 1, Math.Max(1, line.Length - col));
            // A very long line is shown as a window around the column, so the caret stays on screen.
            const int Window = 60;
            string prefix = "";
            if (line.Length > 2 * Window + 20)
            {
                int start = Math.Max(0, col - Window);
                int end = Math.Min(line.Length, col + Window);
                prefix = start > 0 ? "..." : "";
                line = prefix + line[start..end] + (end < line.Length ? "..." : "");
                col = col - start + prefix.Length;
                len = Math.Min(len, end - (col - prefix.Length + start) + 1);
                len = Math.Clamp(len, 1, Math.Max(1, line.Length - col));
            }
            // A caret on the first half of a surrogate pair (a character the lexer refused) covers the character.
            if (len == 1 && col + 1 < line.Length && char.IsSurrogatePair(line[col], line[col + 1])) len = 2;
            // Control characters would garble the terminal; each is shown as one space so the caret still lines up.
            string shown = string.Concat(line.Select(c => char.IsControl(c) ? ' ' : c));
            sb.Append('\n').Append("  ").Append(shown);
            sb.Append('\n').Append("  ").Append(' ', Width(shown, 0, col)).Append('^', Math.Max(1, Width(shown, col, col + len)));
        }
        return sb.ToString();
    }

    /// <summary>
    /// How many columns a terminal gives <paramref name="text"/>[<paramref name="from"/>..<paramref name="to"/>]: an
    /// East Asian wide character or an emoji two, a combining mark none (Wcwidth's tables), anything else one. The
    /// caret is drawn so, under the column it names: it stood 4 columns short of a name after "中文中文", since a
    /// column counts UTF-16 code units.
    /// </summary>
    private static int Width(string text, int from, int to)
    {
        int width = 0;
        to = Math.Min(to, text.Length); // a caret past the line's end (a missing brace at the end of the file)
        for (int i = from; i < to;)
        {
            if (System.Text.Rune.DecodeFromUtf16(text.AsSpan(i, to - i), out var rune, out int used) != System.Buffers.OperationStatus.Done)
            {
                width++; // a lone surrogate, drawn as one replacement character
                i++;
                continue;
            }
            width += Math.Max(0, Wcwidth.UnicodeCalculator.GetWidth(rune));
            i += used;
        }
        return width;
    }

    public override string ToString() => $"{Source.Path}:{Line}:{Column}: {(Severity == Severity.Error ? "error" : "warning")}: {Message}";
}

/// <summary>The diagnostics of one compilation, in the order they were found.</summary>
public sealed class DiagnosticBag
{
    private readonly List<Diagnostic> _items = [];

    /// <summary>What was said where, to say it once: counted and looked up in constant time, since a program may
    /// draw tens of thousands of warnings (counting and searching the list at each took a function of 66,000
    /// unused variables 15 s to check).</summary>
    private readonly HashSet<(SourceText, int, int, string)> _said = [];
    private int _errors;

    /// <summary>Past this many errors the compiler stops reporting: later ones are mostly echoes.</summary>
    public const int MaxErrors = 100;

    public IReadOnlyList<Diagnostic> Items => _items;

    public bool HasErrors => _errors > 0;

    /// <summary>True once no more errors are reported: a message need not be made (its suggestions searched for).</summary>
    public bool Full => _errors >= MaxErrors;

    public void Add(Diagnostic d)
    {
        if (_errors >= MaxErrors) return;
        if (!_said.Add((d.Source, d.Line, d.Column, d.Message))) return;
        _items.Add(d);
        if (d.Severity == Severity.Error) _errors++;
    }
}
