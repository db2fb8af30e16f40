using Antlr4.Runtime;
using Antlr4.Runtime.Atn;
using Antlr4.Runtime.Misc;
using Hlvm.Compiler.Diagnostics;

namespace Hlvm.Compiler.Syntax;

/// <summary>
/// Runs the generated lexer and parser over a source file, turning ANTLR's error reports into diagnostics with
/// messages a person can act on. The parse tree it returns is the compiler's syntax tree.
/// </summary>
public static class SyntaxParser
{
    /// <summary>Deepest nesting of brackets, braces and prefix operators the parser accepts.</summary>
    public const int MaxNesting = 1000;

    /// <summary>Parses a file; null when its nesting is too deep to parse (the error is reported).</summary>
    public static HlParser.ProgramContext? Parse(SourceText source, DiagnosticBag diagnostics)
    {
        var lexer = new HlLexer(new AntlrInputStream(source.Text));
        lexer.RemoveErrorListeners();
        var tokens = new CommonTokenStream(lexer);
        tokens.Fill();
        if (TooDeep(tokens, source, diagnostics)) return null;
        // Two stages, as ANTLR's authors advise: the fast SLL prediction, which looks no further than the rule it is
        // in, parses every program this grammar accepts the way full LL does, in time linear in its length. Full LL
        // walks the whole stack of enclosing rules at each decision, which makes long chains (else-if, `??`) take
        // quadratic time. Only a program SLL can't parse (a syntax error, or a rare case it can't decide) is parsed
        // again with full LL and the error reports.
        var parser = new HlParser(tokens) { ErrorHandler = new BailErrorStrategy() };
        parser.Interpreter.PredictionMode = PredictionMode.SLL;
        parser.RemoveErrorListeners();
        try
        {
            return parser.program();
        }
        catch (ParseCanceledException)
        {
            tokens.Seek(0);
            parser.Reset();
            parser.ErrorHandler = new Recovery();
            parser.Interpreter.PredictionMode = PredictionMode.LL;
            parser.AddErrorListener(new Listener(source, diagnostics));
            return parser.program();
        }
        finally
        {
            BoundPredictionCache(parser);
        }
    }

    /// <summary>Most states the parser's prediction cache may keep between parses.</summary>
    public const int MaxPredictionStates = 100_000;

    /// <summary>
    /// ANTLR keeps what prediction learns in a cache (its DFA) that every parse in the process shares, and that
    /// grows with the variety of the programs parsed: a host that compiles many programs (an embedding, the
    /// fuzzer) would grow without end. Past <see cref="MaxPredictionStates"/> it is dropped and learnt again.
    /// </summary>
    private static void BoundPredictionCache(HlParser parser)
    {
        long states = 0;
        foreach (var dfa in parser.Interpreter.decisionToDFA) states += dfa.states.Count;
        if (states > MaxPredictionStates) parser.Interpreter.ClearDFA();
    }

    /// <summary>
    /// The parser recurses once per level of nesting; rather than let a pathological file exhaust the stack, reject
    /// nesting beyond <see cref="MaxNesting"/> before parsing.
    /// </summary>
    private static bool TooDeep(CommonTokenStream tokens, SourceText source, DiagnosticBag diagnostics)
    {
        int depth = 0, prefix = 0;
        foreach (var t in tokens.GetTokens())
        {
            switch (t.Type)
            {
                case HlLexer.LPAREN or HlLexer.LBRACK or HlLexer.LBRACE or HlLexer.INTERP_START or HlLexer.STR_START: depth++; break;
                case HlLexer.RPAREN or HlLexer.RBRACK or HlLexer.RBRACE or HlLexer.INTERP_END or HlLexer.STR_END: depth = Math.Max(0, depth - 1); break;
            }
            prefix = t.Type is HlLexer.MINUS or HlLexer.BANG or HlLexer.TILDE ? prefix + 1 : t.Channel == TokenConstants.DefaultChannel ? 0 : prefix;
            if (depth > MaxNesting || prefix > MaxNesting)
            {
                diagnostics.Add(new Diagnostic(Severity.Error, source, t.Line, t.Column + 1,
                    $"the program nests more than {MaxNesting} levels deep here; split the expression or the block"));
                return true;
            }
        }
        return false;
    }

    /// <summary>How a token is named in messages.</summary>
    public static string Describe(IToken token) => token.Type switch
    {
        TokenConstants.EOF => "end of file",
        HlLexer.STR_NEWLINE => "end of line inside a string literal",
        HlLexer.BAD_CHAR => $"character '{WholeCharacter(token)}'",
        HlLexer.ID => $"name '{token.Text}'",
        HlLexer.INT or HlLexer.FLOAT => $"number {token.Text}",
        HlLexer.STR_START => "string literal",
        HlLexer.NEWLINE or HlLexer.UNCLOSED_INTERP => "end of line",
        _ => $"'{token.Text}'",
    };

    /// <summary>A refused character's text: the lexer takes a character outside the Basic Multilingual Plane (an emoji)
    /// one half at a time, and half of one showed as U+FFFD.</summary>
    private static string WholeCharacter(IToken token)
    {
        string text = token.Text ?? "";
        if (text.Length == 1 && char.IsHighSurrogate(text[0]) && token.InputStream is { } input && token.StartIndex + 1 < input.Size
            && input.GetText(Interval.Of(token.StartIndex, token.StartIndex + 1)) is { Length: 2 } pair && char.IsSurrogatePair(pair[0], pair[1]))
            return pair;
        return text;
    }

    private static string DescribeType(IVocabulary vocabulary, int type) => type switch
    {
        TokenConstants.EOF => "end of file",
        HlLexer.ID => "a name",
        HlLexer.INT => "an integer",
        HlLexer.FLOAT => "a float",
        HlLexer.STR_START => "a string",
        HlLexer.STR_END => "'\"'",
        HlLexer.STR_TEXT or HlLexer.STR_ESCAPE or HlLexer.INTERP_START => "string text",
        HlLexer.LBRACE => "'{'",
        HlLexer.RBRACE or HlLexer.INTERP_END => "'}'",
        _ => vocabulary.GetLiteralName(type) ?? vocabulary.GetDisplayName(type),
    };

    private const string OneLoopVariable =
        "a for loop takes one variable, written without brackets: `for x in xs { ... }`; for the indexes, `for i in 0..xs.len() { ... }`, each `xs[i]`; over a map, `for k in m { ... }` gives its keys, and `m[k]` each one's value";

    /// <summary>
    /// A message for a syntax error that comes from another language's habit (`i++`, a C-style `for (`, an import
    /// after declarations), or null.
    /// </summary>
    private static string? Habit(ITokenStream tokens, IToken offending, bool outsideBodies)
    {
        var before = PreviousToken(tokens, offending);
        if (offending.Type == HlLexer.IMPORT)
            return "imports come first: move this `import` above the file's declarations";
        if (before is { Type: HlLexer.FOR } && offending.Type == HlLexer.LPAREN)
        {
            // `for (x in xs)`, `for (x of xs)` and `for (k, v) in m` name their variables in brackets; the rest is C's loop.
            var first = NextToken(tokens, offending);
            return first is { Type: HlLexer.ID } && NextToken(tokens, first) is { Type: HlLexer.IN or HlLexer.COMMA } or { Type: HlLexer.ID, Text: "of" }
                ? OneLoopVariable
                : "a for loop is `for i in 0..n { ... }` or `for x in xs { ... }`; there is no C-style `for (...; ...; ...)`";
        }
        if (offending.Type == HlLexer.COMMA && before is { Type: HlLexer.ID } && PreviousToken(tokens, before) is { Type: HlLexer.FOR })
            return OneLoopVariable;
        if (before is { Type: HlLexer.CATCH } && offending.Type == HlLexer.LPAREN)
            return "a catch names its variable, and the class it catches, without brackets: `catch e: Error { ... }`";
        var after = NextToken(tokens, offending);
        if (offending.Type == HlLexer.INIT && before is { Type: HlLexer.FN })
            return "a class's constructor is written `init(...) { ... }`, without `fn`";
        // Declarations are told only where one starts, outside any function's body: there a word like `record` or
        // `val` is a name a statement left unfinished runs into.
        if (outsideBodies && offending.Type == HlLexer.ID && DeclarationHabit(offending, before, tokens) is { } declaration)
            return declaration;
        // In a class, `static fn f()` or `private x: int` reads the word as a field's name, and fails after it.
        if (outsideBodies && before is { Type: HlLexer.ID } && DeclarationHabit(before, PreviousToken(tokens, before), tokens) is { } member)
            return member;
        if (outsideBodies && offending.Type == HlLexer.VAR)
            return "there are no top-level variables: keep what changes in a class or pass it along; a constant of the file is a `let`, as in `let N = 3`";
        if (offending.Type == HlLexer.ASSIGN && before is not null && InFunctionHeader(tokens, offending))
            return "a parameter has no default value: a call gives every argument";
        if (offending.Type == HlLexer.BAD_CHAR && offending.Text is "'" or "`")
            return $"unexpected character '{offending.Text}': a string is written in double quotes, as in \"text\", and a value is put in one with {{...}}, as in \"{{x}}\"";
        if (offending.Type == HlLexer.QUESTION && OnTheLineAfter(tokens, offending, HlLexer.COLON))
            return "there is no conditional operator `c ? a : b`: choose with an `if` statement";
        if (offending.Type == HlLexer.STAR && before is { Type: HlLexer.STAR } && before.StopIndex + 1 == offending.StartIndex)
            return "there is no ** operator: multiply, or for floats use `math.pow(x, y)` from `std.math`";
        if (offending.Type == HlLexer.COLON && after is { Type: HlLexer.ASSIGN } && offending.StopIndex + 1 == after.StartIndex)
            return "':=' is not an operator: declare a variable with `var x = value` (or `let`), and assign with `x = value`";
        if (offending.Type == HlLexer.LBRACK && after is { Type: HlLexer.RBRACK } && before is { Type: HlLexer.ID }
            && PreviousToken(tokens, before) is { } typed && (typed.Type == HlLexer.ARROW
                || typed.Type == HlLexer.COLON && PreviousToken(tokens, typed) is { Type: HlLexer.ID } declared
                    && (PreviousToken(tokens, declared) is not { } start || start.Line < declared.Line
                        || start.Type is HlLexer.LET or HlLexer.VAR or HlLexer.LPAREN or HlLexer.COMMA or HlLexer.LBRACE)))
            return $"an array type is written with its element type in brackets: `[{before.Text}]`, not `{before.Text}[]`";
        if (offending.Type == HlLexer.COLON && before is { Type: HlLexer.RPAREN } && InFunctionHeader(tokens, before))
            return "a function's return type follows '->', as in `fn sum(a: int, b: int) -> int { ... }`";
        if (offending.Type == HlLexer.COLON && before is { Type: HlLexer.ID } && PreviousToken(tokens, before) is { Type: HlLexer.LPAREN or HlLexer.COMMA }
            && OnTheLineAfter(tokens, offending, HlLexer.FAT_ARROW) && !InFunctionHeader(tokens, offending))
            return "a function value starts with `fn`, as in `fn(a: int) => a + 1`";
        if (offending.Type is HlLexer.COMMA or HlLexer.RPAREN && before is { Type: HlLexer.ID } && InFunctionHeader(tokens, offending)
            && PreviousToken(tokens, before) is { Type: HlLexer.LPAREN or HlLexer.COMMA })
            return $"a parameter needs its type: `{before.Text}: int`, for example";
        foreach (var (type, op) in new[] { (HlLexer.PLUS, "++"), (HlLexer.MINUS, "--") })
        {
            // `i++`: the second sign where an operand should be; `i--`: the line ends after two signs.
            var pair = offending.Type == type ? (before, offending) : (before is null ? null : PreviousToken(tokens, before), before);
            if (pair.Item1 is { } a && pair.Item2 is { } b && a.Type == type && b.Type == type && a.StopIndex + 1 == b.StartIndex
                && PreviousToken(tokens, a) is { Type: HlLexer.ID or HlLexer.RBRACK or HlLexer.RPAREN })
                return $"there is no {op} operator: write `x {op[0]}= 1`";
        }
        return null;
    }

    /// <summary>The decimal int literal right before a '.' that is right before <paramref name="offending"/>, which is
    /// not a name (`5.` then ')', or the line's end): a float written with nothing after its point. Else null.</summary>
    private static IToken? NumberEndingInAPoint(ITokenStream tokens, IToken offending) =>
        offending.Type != HlLexer.ID && PreviousToken(tokens, offending) is { Type: HlLexer.DOT } point
        && PreviousToken(tokens, point) is { Type: HlLexer.INT } number && number.StopIndex + 1 == point.StartIndex && IsDecimal(number)
            ? number : null;

    /// <summary>The decimal int literal right after <paramref name="offending"/>, a '.' where an operand should be
    /// and not after another '.' (`.5`, not `0...5`): a float written with nothing before its point. Else null.</summary>
    private static IToken? FractionAfterAPoint(ITokenStream tokens, IToken offending) =>
        offending.Type == HlLexer.DOT && NextToken(tokens, offending) is { Type: HlLexer.INT } fraction
        && offending.StopIndex + 1 == fraction.StartIndex && IsDecimal(fraction)
        && PreviousToken(tokens, offending) is not { Type: HlLexer.DOT or HlLexer.DOTDOT }
            ? fraction : null;

    /// <summary>Whether an int literal is written in decimal (not `0x...` or `0b...`).</summary>
    private static bool IsDecimal(IToken number) =>
        !number.Text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && !number.Text.StartsWith("0b", StringComparison.OrdinalIgnoreCase);

    /// <summary>What a word that starts a declaration in another language is here: `def`, `function`, `const`,
    /// `public`, `static`, `private`, `enum`, `struct`, `extends`, `implements`, `constructor` (words unlikely to be
    /// a program's names; `val`, `data` or `record` are left out). Null for any other word, or where it is not
    /// where a declaration or a class member starts.</summary>
    private static string? DeclarationHabit(IToken offending, IToken? before, ITokenStream tokens)
    {
        string word = offending.Text;
        // `class A extends B`: the word right after a class's name.
        if (word is "extends" or "implements" or "inherits")
            return before is { Type: HlLexer.ID } && PreviousToken(tokens, before) is { Type: HlLexer.CLASS }
                ? "a class names its superclass and its interfaces after ':', as in `class Dog : Animal, Named { ... }`"
                : null;
        // Elsewhere only where a declaration of the file or a member of a class starts.
        if (before is not null && before.Line == offending.Line && before.Type is not (HlLexer.LBRACE or HlLexer.RBRACE or HlLexer.SEMI or HlLexer.PUB))
            return null;
        return word switch
        {
            "def" or "function" or "func" => $"a function is declared with `fn`, as in `fn name(x: int) -> int {{ ... }}`",
            "const" => "a constant is declared with `let`, as in `let N = 3`",
            "public" => "'pub' marks what a module exports, at its top level, as in `pub fn f()`; a class's members are public wherever the class is",
            "private" or "protected" => "there are no private members: a class's fields and methods are usable wherever the class is, and a module's names are its own unless marked `pub`",
            "static" => "there are no static members: a function of the file, outside the class, serves for one",
            "enum" => "there are no enums: use constants of the file (`let RED = 0`) or a class for each case",
            "struct" => "a type with fields is a class, as in `class Point { x: int  y: int }`",
            "constructor" or "__init__" => "a class's constructor is written `init(...) { ... }`",
            _ => null,
        };
    }

    /// <summary>True when the parser is outside every function's body (at the top of the file, or among a class's
    /// members), where a declaration starts.</summary>
    private static bool OutsideBodies(Parser parser)
    {
        for (var c = parser.Context; c is not null; c = c.Parent as ParserRuleContext)
            if (c is HlParser.BlockContext or HlParser.ExprContext) return false;
        return true;
    }

    /// <summary>True when a token of <paramref name="type"/> comes after <paramref name="token"/> on its line.</summary>
    private static bool OnTheLineAfter(ITokenStream tokens, IToken token, int type)
    {
        for (var t = NextToken(tokens, token); t is not null && t.Line == token.Line && t.Type != TokenConstants.EOF; t = NextToken(tokens, t))
            if (t.Type == type) return true;
        return false;
    }

    /// <summary>True when <paramref name="token"/> is inside or right after the brackets of a function's
    /// parameters: `fn name(` (or `init(`) opens them before it on its line, with nothing closing them between but
    /// the token itself.</summary>
    private static bool InFunctionHeader(ITokenStream tokens, IToken token)
    {
        int depth = 0;
        for (var t = PreviousToken(tokens, token); t is not null && t.Line == token.Line; t = PreviousToken(tokens, t))
        {
            if (t.Type == HlLexer.RPAREN) depth++;
            else if (t.Type == HlLexer.LPAREN && depth-- == 0)
                return PreviousToken(tokens, t) is { } name
                    && (name.Type == HlLexer.INIT || name.Type == HlLexer.ID && PreviousToken(tokens, name) is { Type: HlLexer.FN });
        }
        return false;
    }

    /// <summary>The token after <paramref name="token"/> on the default channel, or null.</summary>
    private static IToken? NextToken(ITokenStream tokens, IToken token)
    {
        for (int i = token.TokenIndex + 1; i < tokens.Size; i++)
        {
            var t = tokens.Get(i);
            if (t.Channel == TokenConstants.DefaultChannel) return t;
        }
        return null;
    }

    /// <summary>True when the error is inside a map literal that follows a lambda's '=>': `fn(x) => { ... }`, a body
    /// of statements written after the '=>' of an expression body.</summary>
    private static bool LambdaBodyTakenForAMap(Parser parser, IToken offending)
    {
        for (var c = parser.Context; c is not null; c = c.Parent as ParserRuleContext)
        {
            if (c is HlParser.MapLitContext map)
                return offending.TokenIndex > map.Start.TokenIndex && PreviousToken(parser.TokenStream, map.Start) is { Type: HlLexer.FAT_ARROW };
        }
        return false;
    }

    /// <summary>The token before <paramref name="token"/> on the default channel, or null.</summary>
    private static IToken? PreviousToken(ITokenStream tokens, IToken token)
    {
        for (int i = token.TokenIndex - 1; i >= 0; i--)
        {
            var t = tokens.Get(i);
            if (t.Channel == TokenConstants.DefaultChannel) return t;
        }
        return null;
    }

    /// <summary>ANTLR's recovery, with three changes that keep one mistake from hiding or inventing others.</summary>
    private sealed class Recovery : DefaultErrorStrategy
    {
        /// <summary>
        /// A closer is never deleted to go on: a '}' ends a block, and taken away it leaves the block open to the end
        /// of the file. `let x = 3 +` before a function's '}' lost the '}' (the `fn` after it could start a lambda),
        /// and the next function was then reported as declared inside this one.
        /// </summary>
        protected override IToken? SingleTokenDeletion(Parser recognizer) =>
            recognizer.InputStream.LA(1) is HlParser.RBRACE or HlParser.RPAREN or HlParser.RBRACK ? null : base.SingleTokenDeletion(recognizer);

        /// <summary>
        /// A block's '{' that comes later on the line is where the block starts: what stands before it is reported
        /// and skipped. ANTLR's own recovery made up a '{' where the mistake was, and the real one then opened a
        /// block inside it: after `fn f() -> int[] {`, the function's '}' closed only that inner block, and the next
        /// function was reported as declared inside this one. The '{' is looked for among the next <see
        /// cref="BraceLookahead"/> tokens: to the line's end, a line of 40,000 `fn a() x` took minutes.
        /// </summary>
        public override IToken RecoverInline(Parser recognizer)
        {
            var tokens = (ITokenStream)recognizer.InputStream;
            var first = tokens.LT(1);
            if (!InErrorRecoveryMode(recognizer) && recognizer.GetExpectedTokens().Contains(HlParser.LBRACE))
            {
                for (int k = 2; k <= BraceLookahead && tokens.LT(k) is { Type: not TokenConstants.EOF and not HlParser.RBRACE } t && t.Line == first.Line; k++)
                {
                    if (t.Type != HlParser.LBRACE) continue;
                    ReportUnwantedToken(recognizer);
                    while (tokens.LA(1) != HlParser.LBRACE) recognizer.Consume();
                    var brace = recognizer.CurrentToken;
                    ReportMatch(recognizer);
                    recognizer.Consume();
                    return brace;
                }
            }
            return base.RecoverInline(recognizer);
        }

        private const int BraceLookahead = 32;

        /// <summary>
        /// Between the declarations of the file, what can't start one is skipped up to one that can: outside the
        /// braces the skipped text opened (`public fn`, or a declaration after `def f() { ... }`, wherever it is on
        /// its line), or at the first column of a line (where the braces do not match), and the parse goes on from
        /// there; what else starts a line at its first column outside those braces (but a '}') is reported too.
        /// ANTLR's own recovery ended the file's rule at such a token: after `def f() { ... }` at the top of a
        /// file, nothing more in it was reported.
        /// </summary>
        public override void Sync(Parser recognizer)
        {
            if (recognizer.Context is not HlParser.ProgramContext || InErrorRecoveryMode(recognizer))
            {
                base.Sync(recognizer);
                return;
            }
            var expected = recognizer.GetExpectedTokens();
            var tokens = (ITokenStream)recognizer.InputStream;
            if (expected.Contains(tokens.LA(1))) return;
            var reported = tokens.LT(1);
            ReportUnwantedToken(recognizer);
            int depth = 0;
            for (var t = reported; t.Type != TokenConstants.EOF; t = tokens.LT(1))
            {
                // At the first column, within braces that do not match, only what can't start a statement (`fn`,
                // `class`, ...): an unindented `let` in a broken function's body is its own.
                if (expected.Contains(t.Type) && (depth == 0 || (t.Column == 0 && t.Type != HlLexer.LET))) break;
                if (t.Column == 0 && depth == 0 && t.Line != reported.Line && t.Type != HlLexer.RBRACE)
                {
                    reported = t;
                    EndErrorCondition(recognizer);
                    ReportUnwantedToken(recognizer);
                }
                if (t.Type == HlLexer.LBRACE) depth++;
                else if (t.Type == HlLexer.RBRACE && depth > 0) depth--;
                recognizer.Consume();
            }
        }
    }

    private sealed class Listener(SourceText source, DiagnosticBag diagnostics) : IAntlrErrorListener<IToken>
    {
        private int _lastLine;
        /// <summary>A line whose errors are echoes of one reported on an earlier line.</summary>
        private int _echoLine;
        private bool _reportedMissingBrace;

        public void SyntaxError(TextWriter output, IRecognizer recognizer, IToken offendingSymbol, int line,
            int charPositionInLine, string msg, RecognitionException e)
        {
            // One syntax error per line (below): a later one on a line already reported is dropped before its
            // message is made, whose looks along the line made a line of 12,000 mistakes take 24 s to report one.
            // Past the errors a compile reports, none is made at all (40,000 lines of mistakes took 3.7 s).
            if (line == _lastLine || line == _echoLine || diagnostics.Full) return;
            var parser = (Parser)recognizer;
            string message;
            bool atLineEnd = false;
            if (offendingSymbol.Type == HlLexer.UNCLOSED_INTERP)
            {
                message = "unclosed interpolation: expected '}' before the end of the line";
            }
            else if (offendingSymbol.Type == HlLexer.UNCLOSED_COMMENT)
            {
                message = "unterminated comment: '/*' has no matching '*/'";
            }
            else if (offendingSymbol.Type == HlLexer.STR_NEWLINE)
            {
                message = PreviousToken(parser.TokenStream, offendingSymbol) is { Type: HlLexer.STR_ESCAPE, Text: "\\" }
                    ? "unterminated string literal: the line ends after '\\', and a string can't continue on the next line (join two strings with '+')"
                    : "unterminated string literal: the line ends before the closing '\"'";
            }
            else if (offendingSymbol.Type == HlLexer.NO_DIGITS)
            {
                message = offendingSymbol.Text switch
                {
                    "0x" => "a hex literal needs at least one hex digit (0-9, a-f, A-F) after '0x', as in `0xff`",
                    "0b" => "a binary literal needs at least one digit (0 or 1) after '0b', as in `0b1010`",
                    "0X" or "0B" => $"a number's prefix is written in lower case: '{offendingSymbol.Text.ToLowerInvariant()}', as in `0xff` or `0b1010`",
                    ['0', 'b', ..] digits => $"a binary literal has only the digits 0 and 1: '{digits}' has a '{digits.Skip(2).First(c => c is >= '2' and <= '9')}'",
                    _ => "there are no octal literals: write the number in decimal, hex (`0x1f`) or binary (`0b1010`)",
                };
            }
            else if (offendingSymbol.Type == HlLexer.COLON && InnermostOpenIsInterpolation(parser, offendingSymbol))
            {
                // `"{x:.2}"`, a format as other languages write one.
                var tokens = (ITokenStream)parser.InputStream;
                var after = tokens.Get(offendingSymbol.TokenIndex + 1);
                var digits = after.Type == HlLexer.DOT ? tokens.Get(after.TokenIndex + 1) : null;
                message = digits is { Type: HlLexer.INT } && after.StopIndex + 1 == digits.StartIndex
                    ? $"an interpolation holds an expression, with no format after ':'; for a float with {digits.Text} decimal{(digits.Text == "1" ? "" : "s")} write `{{{InterpolatedText(tokens, offendingSymbol)}.format({digits.Text})}}`"
                    : "an interpolation holds an expression, with no format after ':'; a float's decimals are written with `format`, as in `{x.format(2)}`";
            }
            else if (InOpenInterpolation(parser, offendingSymbol))
            {
                message = $"unclosed interpolation: expected '}}' before {Describe(offendingSymbol)}";
            }
            else if (NumberEndingInAPoint(parser.TokenStream, offendingSymbol) is { } number)
            {
                // Said where the number is: the token the parser stopped at may be on the next line.
                message = $"a float needs a digit after its point: write `{number.Text}.0`";
                (line, charPositionInLine) = (number.Line, number.Column);
            }
            else if (FractionAfterAPoint(parser.TokenStream, offendingSymbol) is { } fraction)
            {
                message = $"a float needs a digit before its point: write `0.{fraction.Text}`";
            }
            else if (LambdaBodyTakenForAMap(parser, offendingSymbol))
            {
                message = $"unexpected {Describe(offendingSymbol)}: after '=>' comes the function's value, one expression, and '{{' starts a map; a body of statements takes no '=>', as in `fn(x: int) -> int {{ return x + 1 }}`";
            }
            else if (Habit(parser.TokenStream, offendingSymbol, OutsideBodies(parser)) is { } habit)
            {
                message = habit;
            }
            else if (parser.Context is HlParser.LetStmtContext declaration && DeclaredWithoutValue(declaration, parser.TokenStream, offendingSymbol) is { } end)
            {
                // `var total: int` and the line ends: said where it ends, not at the next line's first token.
                string type = declaration.type() is { } written ? parser.TokenStream.GetText(written.Start, written.Stop) : "";
                string example = $"{declaration.Start.Text} {declaration.ID()!.GetText()}{(type.Length > 0 ? ": " + type : "")} = {StartingValue(type)}";
                message = $"'{declaration.ID()!.GetText()}' needs a value where it is declared: write `{example}`; every variable starts with a value";
                (line, charPositionInLine) = (end.Line, end.Column + (end.Text?.Length ?? 0));
                atLineEnd = true;
            }
            else if (InImport(parser, offendingSymbol) && PreviousToken(parser.TokenStream, offendingSymbol) is { } previous)
            {
                // An import is one line: a token the parser stopped at on a later line means the line ended too
                // soon, which is said where it ended (`import a.` took the next line's `fn main` as the name's end).
                bool ended = previous.Line != offendingSymbol.Line;
                string what = ended ? $"the line ends after '{previous.Text}'" : $"unexpected {Describe(offendingSymbol)}";
                message = previous.Type == HlLexer.AS
                    ? $"{what}; `as` takes the name to give the module, as in `import util.strings as s`"
                    : $"{what}; an import takes a module's dotted name, like `std.math` or `util.strings`";
                if (ended)
                {
                    // The parser's recovery then takes the next line's tokens for the import's: no more errors there.
                    _echoLine = offendingSymbol.Line;
                    (line, charPositionInLine) = (previous.Line, previous.Column + (previous.Text?.Length ?? 0));
                    atLineEnd = true;
                }
            }
            else if (offendingSymbol.Type == HlLexer.BAD_CHAR)
            {
                message = $"unexpected {Describe(offendingSymbol)}";
            }
            else if (offendingSymbol.Type == HlLexer.ID && PreviousToken(parser.TokenStream, offendingSymbol) is { Type: HlLexer.FN } lambda
                && PreviousToken(parser.TokenStream, lambda) is { } before && NeedsAnOperand(before.Type) && before.Line != lambda.Line)
            {
                // `let X = 3 +` and then `fn main() {` on a later line, read as a function value after the '+'.
                message = $"expected an expression after '{before.Text}': the line ends there";
                (line, charPositionInLine) = (before.Line, before.Column + (before.Text?.Length ?? 0));
                atLineEnd = true;
                _echoLine = offendingSymbol.Line;
            }
            else if (offendingSymbol.Type == HlLexer.ID && PreviousToken(parser.TokenStream, offendingSymbol) is { Type: HlLexer.FN } fn)
            {
                // `fn name` where a statement is expected: a function declared inside another, most often because
                // the '}' that ends the function before it is missing.
                message = "unexpected 'fn': functions cannot be declared inside a function; is a '}' missing before it?";
                (line, charPositionInLine) = (fn.Line, fn.Column);
                _reportedMissingBrace = true;
            }
            else if (PreviousToken(parser.TokenStream, offendingSymbol) is { } op && NeedsAnOperand(op.Type)
                && (InExpression(parser) || (parser.Context is not HlParser.ProgramContext && op.Type is not (HlLexer.LT or HlLexer.GT))))
            {
                // `let x = 3 +` and the line ends: said after the operator, where the operand is missing.
                bool ended = op.Line != offendingSymbol.Line;
                message = ended
                    ? $"expected an expression after '{op.Text}': the line ends there"
                    : $"expected an expression after '{op.Text}', before {Describe(offendingSymbol)}";
                if (ended)
                {
                    // The parser's recovery then takes the next line for the rest of the statement: no more errors there.
                    _echoLine = offendingSymbol.Line;
                    (line, charPositionInLine) = (op.Line, op.Column + (op.Text?.Length ?? 0));
                    atLineEnd = true;
                }
            }
            else
            {
                IntervalSet expected;
                try { expected = e?.GetExpectedTokens() ?? parser.GetExpectedTokens(); }
                catch (Exception) { expected = new IntervalSet(); }
                var names = expected.ToList().Select(t => DescribeType(parser.Vocabulary, t)).Distinct().ToList();
                message = OpenBracket(parser, offendingSymbol) is { } open && !expected.Contains(open.Closer)
                    // Inside a '(' or '[' still open on the line, a missing ',' or closer is likelier than whatever
                    // the parser's recovery expected (`foo(1 x)` said "expected '}'").
                    ? $"unexpected {Describe(offendingSymbol)}; expected {open.Expected}"
                    : msg.StartsWith("missing ", StringComparison.Ordinal) && names.Count > 0
                    ? $"expected {Join(names)} before {Describe(offendingSymbol)}"
                    : names.Count is > 0 and <= 8
                        ? $"unexpected {Describe(offendingSymbol)}; expected {Join(names)}"
                        : $"unexpected {Describe(offendingSymbol)}{MissingCloser(expected, offendingSymbol.Text)}";
            }
            // One syntax error per line: the parser's recovery from the first often finds more that are only echoes.
            if (line == _lastLine || line == _echoLine) return;
            // The missing '}' already reported shows again at the end of the file.
            if (_reportedMissingBrace && offendingSymbol.Type == TokenConstants.EOF) return;
            _lastLine = line;
            int length = offendingSymbol.Type == TokenConstants.EOF || atLineEnd ? 1 : Math.Max(1, offendingSymbol.Text?.Length ?? 1);
            diagnostics.Add(new Diagnostic(Severity.Error, source, line, charPositionInLine + 1, message, length));
        }

        /// <summary>Whether the parser is inside an expression (the operand it expects is one).</summary>
        private static bool InExpression(Parser parser)
        {
            for (RuleContext? c = parser.Context; c is not null; c = c.Parent)
            {
                if (c is HlParser.ExprContext or HlParser.PrimaryContext) return true;
            }
            return false;
        }

        /// <summary>An operator that takes an operand after it: a binary or unary operator, an assignment, `..`.</summary>
        private static bool NeedsAnOperand(int type) => type is HlLexer.PLUS or HlLexer.MINUS or HlLexer.STAR or HlLexer.SLASH
            or HlLexer.PERCENT or HlLexer.SHL or HlLexer.SHR or HlLexer.AMP or HlLexer.CARET or HlLexer.PIPE or HlLexer.EQ
            or HlLexer.NE or HlLexer.LT or HlLexer.LE or HlLexer.GT or HlLexer.GE or HlLexer.ANDAND or HlLexer.OROR
            or HlLexer.QQ or HlLexer.BANG or HlLexer.TILDE or HlLexer.ASSIGN or HlLexer.ADD_ASSIGN or HlLexer.SUB_ASSIGN
            or HlLexer.MUL_ASSIGN or HlLexer.DIV_ASSIGN or HlLexer.MOD_ASSIGN or HlLexer.AND_ASSIGN or HlLexer.OR_ASSIGN
            or HlLexer.XOR_ASSIGN or HlLexer.SHL_ASSIGN or HlLexer.SHR_ASSIGN or HlLexer.DOTDOT;

        /// <summary>
        /// True when the error is in an import: the parser is inside one, or the token follows an `import` on its line
        /// (`import a..b`, where the import ended at `a`).
        /// </summary>
        private static bool InImport(Parser parser, IToken offending)
        {
            for (var c = parser.Context; c is not null; c = c.Parent as ParserRuleContext)
            {
                if (c is HlParser.ImportDeclContext) return true;
            }
            for (var t = PreviousToken(parser.TokenStream, offending); t is not null && t.Line == offending.Line; t = PreviousToken(parser.TokenStream, t))
            {
                if (t.Type == HlLexer.IMPORT) return true;
            }
            return false;
        }

        /// <summary>The last token of a `let` or `var` whose '=' never comes (the line, or the block, ends after its name
        /// or type), or null.</summary>
        private static IToken? DeclaredWithoutValue(HlParser.LetStmtContext declaration, ITokenStream tokens, IToken offending)
        {
            if (declaration.ID() is null || PreviousToken(tokens, offending) is not { } end) return null;
            bool ended = end.Line != offending.Line || offending.Type is HlLexer.SEMI or HlLexer.RBRACE or TokenConstants.EOF;
            bool complete = end.TokenIndex == declaration.ID().Symbol.TokenIndex || declaration.type() is { } t && end.TokenIndex == t.Stop?.TokenIndex;
            return ended && complete ? end : null;
        }

        /// <summary>A value a variable of the type written as <paramref name="type"/> could start with, for a message.</summary>
        private static string StartingValue(string type) => type switch
        {
            "int" => "0",
            "float" => "0.0",
            "bool" => "false",
            "string" => "\"\"",
            _ when type.EndsWith('?') => "null",
            _ when type.StartsWith('[') => "[]",
            _ when type.StartsWith('{') => "{}",
            _ => "...",
        };

        /// <summary>The interpolation's expression from its '{' to <paramref name="stop"/> (not included), in brackets
        /// when it is more than one token, to be written before a method call.</summary>
        private static string InterpolatedText(ITokenStream tokens, IToken stop)
        {
            int open = stop.TokenIndex - 1;
            while (open >= 0 && tokens.Get(open).Type != HlLexer.INTERP_START) open--;
            if (open < 0 || NextToken(tokens, tokens.Get(open)) is not { } first || first.TokenIndex >= stop.TokenIndex) return "x";
            var last = PreviousToken(tokens, stop)!;
            string text = tokens.GetText(first, last).Trim();
            return first.TokenIndex == last.TokenIndex ? text : $"({text})";
        }

        /// <summary>True when the innermost '{' open on the token's line before it opened an interpolation.</summary>
        private static bool InnermostOpenIsInterpolation(Parser parser, IToken offending)
        {
            if (parser.InputStream is not ITokenStream tokens) return false;
            var open = new Stack<bool>(); // true: an interpolation's brace
            for (int i = LineStart(tokens, offending); i < offending.TokenIndex; i++)
            {
                switch (tokens.Get(i).Type)
                {
                    case HlLexer.INTERP_START: open.Push(true); break;
                    case HlLexer.LBRACE: open.Push(false); break;
                    case HlLexer.RBRACE or HlLexer.INTERP_END: if (open.Count > 0) open.Pop(); break;
                }
            }
            return open.Count > 0 && open.Peek();
        }

        /// <summary>
        /// True when the token comes after a '{' that opened an interpolation on its line and has not been closed:
        /// then the likeliest mistake is the missing '}', whatever the parser was predicting.
        /// </summary>
        private static bool InOpenInterpolation(Parser parser, IToken offending)
        {
            if (parser.InputStream is not ITokenStream tokens || !InnermostOpenIsInterpolation(parser, offending)
                || offending.Type is HlLexer.RBRACE or HlLexer.INTERP_END) return false;
            // An interpolation whose '}' comes later on the line is not unclosed: the mistake is inside it
            // (`"{f(1 2)}"` was said to be an unclosed interpolation).
            int depth = 0;
            for (int i = offending.TokenIndex; i < tokens.Size && tokens.Get(i).Line == offending.Line && tokens.Get(i).Type != TokenConstants.EOF; i++)
            {
                int type = tokens.Get(i).Type;
                if (type == HlLexer.INTERP_START) depth++;
                else if (type == HlLexer.INTERP_END && depth-- == 0) return false;
            }
            return true;
        }

        /// <summary>The index of the first token on the offending token's line.</summary>
        private static int LineStart(ITokenStream tokens, IToken offending)
        {
            int first = offending.TokenIndex;
            while (first > 0 && tokens.Get(first - 1).Line == offending.Line) first--;
            return first;
        }

        /// <summary>
        /// The innermost '(' or '[' opened earlier on the offending token's line and not closed before it: the token
        /// type that closes it, and what may come in its place (',' too in a call's arguments or an array literal,
        /// not in parentheses around an expression or an index).
        /// </summary>
        private static (int Closer, string Expected)? OpenBracket(Parser parser, IToken offending)
        {
            if (parser.InputStream is not ITokenStream tokens) return null;
            var open = new Stack<int>(); // the index of each open '(', '[' or interpolation
            int first = LineStart(tokens, offending);
            for (int i = first; i < offending.TokenIndex; i++)
            {
                switch (tokens.Get(i).Type)
                {
                    case HlLexer.LPAREN or HlLexer.LBRACK or HlLexer.INTERP_START: open.Push(i); break;
                    case HlLexer.RPAREN or HlLexer.RBRACK or HlLexer.INTERP_END: if (open.Count > 0) open.Pop(); break;
                }
            }
            // Inside an interpolation the brackets around its string are not the ones to close: `println("{1 +}")`
            // said "expected ',' or ')'".
            if (open.Count == 0 || offending.Type is HlLexer.RPAREN or HlLexer.RBRACK || tokens.Get(open.Peek()).Type == HlLexer.INTERP_START) return null;
            int at = open.Peek();
            bool paren = tokens.Get(at).Type == HlLexer.LPAREN;
            // After a name, ')' or ']', a '(' is a call and a '[' an index; otherwise a group and an array literal.
            bool follows = at > 0 && tokens.Get(at - 1).Type is HlLexer.ID or HlLexer.RPAREN or HlLexer.RBRACK;
            bool list = paren ? follows : !follows;
            string closer = paren ? "')'" : "']'";
            return (paren ? HlLexer.RPAREN : HlLexer.RBRACK, list ? $"',' or {closer}" : closer);
        }

        /// <summary>When many tokens could come next, a missing closing bracket is the likeliest mistake: name it
        /// (unless it is the bracket that came: "unexpected '}'; expected '}'").</summary>
        private static string MissingCloser(IntervalSet expected, string? offending)
        {
            foreach (var (type, text) in new[] { (HlLexer.RPAREN, ")"), (HlLexer.RBRACK, "]"), (HlLexer.RBRACE, "}"), (HlLexer.INTERP_END, "}") })
            {
                if (expected.Contains(type) && text != offending) return $"; expected '{text}'";
            }
            return "";
        }

        private static string Join(List<string> names) =>
            names.Count == 1 ? names[0] : string.Join(", ", names.Take(names.Count - 1)) + " or " + names[^1];
    }
}
