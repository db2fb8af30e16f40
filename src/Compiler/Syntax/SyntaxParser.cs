using Antlr4.Runtime;
using Antlr4.Runtime.Misc;
using Hlvm.Compiler.Diagnostics;

namespace Hlvm.Compiler.Syntax;

/// <summary>
/// Runs the generated lexer and parser over a source file, turning ANTLR's error reports into diagnostics with
/// messages a person can act on. The parse tree it returns is the compiler's syntax tree.
/// </summary>
public static class SyntaxParser
{
    public static HlParser.ProgramContext Parse(SourceText source, DiagnosticBag diagnostics)
    {
        var lexer = new HlLexer(new AntlrInputStream(source.Text));
        lexer.RemoveErrorListeners();
        var tokens = new CommonTokenStream(lexer);
        var parser = new HlParser(tokens);
        parser.RemoveErrorListeners();
        parser.AddErrorListener(new Listener(source, diagnostics));
        return parser.program();
    }

    /// <summary>How a token is named in messages.</summary>
    public static string Describe(IToken token) => token.Type switch
    {
        TokenConstants.EOF => "end of file",
        HlLexer.STR_NEWLINE => "end of line inside a string literal",
        HlLexer.BAD_CHAR => $"character '{token.Text}'",
        HlLexer.ID => $"name '{token.Text}'",
        HlLexer.INT or HlLexer.FLOAT => $"number {token.Text}",
        HlLexer.STR_START => "a string literal",
        _ => $"'{token.Text}'",
    };

    private static string DescribeType(IVocabulary vocabulary, int type) => type switch
    {
        TokenConstants.EOF => "end of file",
        HlLexer.ID => "a name",
        HlLexer.INT => "an integer",
        HlLexer.FLOAT => "a float",
        HlLexer.STR_START => "a string",
        HlLexer.STR_END => "'\"'",
        HlLexer.STR_TEXT or HlLexer.STR_ESCAPE or HlLexer.INTERP_START => "string text",
        _ => vocabulary.GetLiteralName(type) ?? vocabulary.GetDisplayName(type),
    };

    private sealed class Listener(SourceText source, DiagnosticBag diagnostics) : IAntlrErrorListener<IToken>
    {
        public void SyntaxError(TextWriter output, IRecognizer recognizer, IToken offendingSymbol, int line,
            int charPositionInLine, string msg, RecognitionException e)
        {
            var parser = (Parser)recognizer;
            string message;
            if (offendingSymbol.Type == HlLexer.STR_NEWLINE)
            {
                message = "unterminated string literal: the line ends before the closing '\"'";
            }
            else if (offendingSymbol.Type == HlLexer.BAD_CHAR)
            {
                message = $"unexpected {Describe(offendingSymbol)}";
            }
            else
            {
                IntervalSet expected;
                try { expected = e?.GetExpectedTokens() ?? parser.GetExpectedTokens(); }
                catch (Exception) { expected = new IntervalSet(); }
                var names = expected.ToList().Select(t => DescribeType(parser.Vocabulary, t)).Distinct().ToList();
                message = msg.StartsWith("missing ", StringComparison.Ordinal) && names.Count > 0
                    ? $"expected {Join(names)} before {Describe(offendingSymbol)}"
                    : names.Count is > 0 and <= 8
                        ? $"unexpected {Describe(offendingSymbol)}; expected {Join(names)}"
                        : $"unexpected {Describe(offendingSymbol)}{MissingCloser(expected)}";
            }
            int length = offendingSymbol.Type == TokenConstants.EOF ? 1 : Math.Max(1, offendingSymbol.Text?.Length ?? 1);
            diagnostics.Add(new Diagnostic(Severity.Error, source, line, charPositionInLine + 1, message, length));
        }

        /// <summary>When many tokens could come next, a missing closing bracket is the likeliest mistake.</summary>
        private static string MissingCloser(IntervalSet expected)
        {
            foreach (var (type, text) in new[] { (HlLexer.RPAREN, ")"), (HlLexer.RBRACK, "]"), (HlLexer.RBRACE, "}") })
            {
                if (expected.Contains(type)) return $"; is a '{text}' missing?";
            }
            return "";
        }

        private static string Join(List<string> names) =>
            names.Count == 1 ? names[0] : string.Join(", ", names.Take(names.Count - 1)) + " or " + names[^1];
    }
}
