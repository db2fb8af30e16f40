using System.Text;
using Hlvm.Runtime.Bytecode;
using Sprache;

namespace Hlvm.Compiler.Assembly;

// ============================================================================================================
// The grammar of one line of a .hlasm file, in Sprache.
//
// The text form is line-oriented: a line holds at most one statement, then optionally a comment from ';' to the
// end of the line. So the assembler parses each line on its own, and every error has a line (the assembler's)
// and a column (Sprache's, 1-based within the line). Tokens are separated by spaces and tabs only.
//
//   line       := statement? comment?
//   statement  := '.module' STRING | '.source' STRING | '.entry' operand | '.string' STRING | '.type' type
//               | ('.native' | '.fn') name '(' types? ')' '->' type
//               | '.locals' types? | '.maxstack' word | '.line' word | '.bytes' hex+ | '.end'
//               | IDENT ':'                          a label
//               | IDENT operand*                     an instruction (the mnemonic is checked later, against
//                                                    OpcodeInfo.All, and so are its operands)
//               | ('.class' | '.interface') name | '.super' operand | '.implements' operand+ | '.field' name type
//               | '.method' name operand | '.sig' name '(' types? ')' '->' type
//               | '.handler' target target target class      (an exception-table entry: start, end, handler, class)
//   type       := ('void' | 'int' | 'float' | 'bool' | 'string' | CLASS | '#' digits | '[' type ']' | '{' type ':' type '}'
//               | 'fn' '(' types? ')' ('->' type)? | '(' type ')') '?'?
//                 (CLASS: the name of a class declared anywhere in the file; #N: class number N)
//   name       := IDENT | STRING
//   operand    := STRING | word                      word: any run of characters but spaces, ';' and '"'
//
// IDENT is ASCII letters, digits and '_', not starting with a digit. A STRING is in double quotes, with the
// escapes \\ \" \n \t \r \0 and \u{X} (1 to 6 hex digits).
//
// Errors carry either a message of their own or Sprache's expectations ("expected a type, found 'strin'"); the
// assembler turns both into a diagnostic at the failure's column.
// ============================================================================================================

internal static class AsmGrammar
{
    /// <summary>Array types may nest this deep in the text; the module format allows 32, and the text goes
    /// further so that a malformed module can be written. The bound keeps deep nesting from exhausting the stack.</summary>
    public const int MaxTypeDepth = 256;

    private static readonly Parser<IEnumerable<char>> Space = Parse.Chars(' ', '\t').Many();

    /// <summary>The current column, consuming nothing.</summary>
    private static readonly Parser<int> Column = i => Result.Success(i.Column, i);

    private static IResult<T> Fail<T>(IInput at, string message) => Result.Failure<T>(at, message, []);

    private static IResult<T> Expected<T>(IInput at, string what) => Result.Failure<T>(at, "", [what]);

    private static bool IsIdentStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static readonly Parser<string> Identifier =
        Parse.Identifier(Parse.Char(IsIdentStart, "a letter"), Parse.Char(c => char.IsAsciiLetterOrDigit(c) || c == '_', "a letter or digit"));

    // ---------------------------------------------------------------------------------------- strings

    /// <summary>A string literal, decoded. Written by hand (it is one token) so that an error points at the
    /// offending escape and a long string costs linear time.</summary>
    private static readonly Parser<string> QuotedString = start =>
    {
        if (start.AtEnd || start.Current != '"') return Expected<string>(start, "a string in double quotes");
        var sb = new StringBuilder();
        var i = start.Advance();
        while (true)
        {
            if (i.AtEnd) return Fail<string>(start, "the string is not closed: a '\"' is missing at the end");
            char c = i.Current;
            if (c == '"') return Result.Success(sb.ToString(), i.Advance());
            if (c != '\\')
            {
                sb.Append(c);
                i = i.Advance();
                continue;
            }
            var escape = i;
            i = i.Advance();
            char e = i.AtEnd ? '\0' : i.Current;
            string? simple = i.AtEnd ? null : e switch
            {
                '\\' => "\\", '"' => "\"", 'n' => "\n", 't' => "\t", 'r' => "\r", '0' => "\0", _ => null,
            };
            if (simple is not null)
            {
                sb.Append(simple);
                i = i.Advance();
                continue;
            }
            if (i.AtEnd || e != 'u')
                return Fail<string>(escape, $"unknown escape '\\{(i.AtEnd ? "" : e.ToString())}' (the escapes are \\\\ \\\" \\n \\t \\r \\0 and \\u{{X}})");
            i = i.Advance();
            if (i.AtEnd || i.Current != '{') return Fail<string>(escape, "a \\u escape is written \\u{X}, with 1 to 6 hex digits");
            i = i.Advance();
            int value = 0, digits = 0;
            while (!i.AtEnd && char.IsAsciiHexDigit(i.Current) && digits < 7)
            {
                value = value * 16 + Convert.ToInt32(i.Current.ToString(), 16);
                digits++;
                i = i.Advance();
            }
            if (digits == 0 || digits > 6 || i.AtEnd || i.Current != '}')
                return Fail<string>(escape, "a \\u escape is written \\u{X}, with 1 to 6 hex digits");
            if (value > 0x10FFFF) return Fail<string>(escape, $"\\u{{{value:x}}} is past the last code point, 10ffff");
            // Code points of surrogates stay single chars, so that a string with an unpaired one is expressible.
            sb.Append(value <= 0xFFFF ? ((char)value).ToString() : char.ConvertFromUtf32(value));
            i = i.Advance();
        }
    };

    private static readonly Parser<Token> StringToken =
        from col in Column
        from s in QuotedString
        select new Token(col, s, true);

    /// <summary>A bare operand: a number, a name, a label, <c>nan(0x...)</c>. Its meaning depends on where it is.</summary>
    private static readonly Parser<Token> WordToken =
        from col in Column
        from w in Parse.Char(c => !char.IsWhiteSpace(c) && c != ';' && c != '"', "an operand").AtLeastOnce().Text()
        select new Token(col, w, false);

    private static readonly Parser<Token> OperandToken = StringToken.Or(WordToken);

    private static readonly Parser<Token> NameToken =
        StringToken.Or(from col in Column from s in Identifier select new Token(col, s, false)).Named("a name");

    // ---------------------------------------------------------------------------------------- types

    /// <summary>
    /// The classes of the file being assembled, by name, for class types; set by the assembler around its parse
    /// (the grammar is static, and a class may be used before its .class line).
    /// </summary>
    [ThreadStatic] internal static IReadOnlyDictionary<string, int>? Classes;

    private static readonly Parser<VmType> BasicType = i =>
    {
        if (!i.AtEnd && i.Current == '{')
        {
            // {K: V}: a map type.
            return Nested(i, "map types", MapType);
        }
        if (!i.AtEnd && i.Current == '(')
        {
            // (T): parentheses make a function type nullable: (fn(int) -> int)?
            return Nested(i, "types", ParenType);
        }
        if (!i.AtEnd && i.Current == '#')
        {
            var digits = Parse.Digit.AtLeastOnce().Text()(i.Advance());
            if (!digits.WasSuccessful || !int.TryParse(digits.Value, out int n)) return Expected<VmType>(i.Advance(), "a class number");
            return Result.Success(VmType.ObjectOf(n), digits.Remainder);
        }
        var r = Identifier(i);
        if (!r.WasSuccessful) return Expected<VmType>(i, "a type");
        if (r.Value == "fn") return Nested(i, "types", _ => FuncType(r.Remainder));
        VmType? t = r.Value switch
        {
            "void" => VmType.Void,
            "int" => VmType.Int,
            "float" => VmType.Float,
            "bool" => VmType.Bool,
            "string" => VmType.String,
            _ => Classes is not null && Classes.TryGetValue(r.Value, out int c) ? VmType.ObjectOf(c) : null,
        };
        return t is null
            ? Fail<VmType>(i, $"unknown type '{r.Value}' (the types are void, int, float, bool, string, [T], T? and the classes of the file)")
            : Result.Success(t, r.Remainder);
    };

    /// <summary>A type followed by an optional '?'.</summary>
    private static IResult<VmType> MaybeNullable(VmType t, IInput i)
    {
        var after = Space(i).Remainder;
        if (after.AtEnd || after.Current != '?') return Result.Success(t, i);
        return t.IsReference && !t.Nullable ? Result.Success(t.AsNullable(), after.Advance()) : Fail<VmType>(after, $"{t} cannot be nullable");
    }

    /// <summary>A type. Array brackets are counted rather than parsed recursively, so no input nests deeply.</summary>
    private static readonly Parser<VmType> Type = TypeOf;

    /// <summary>How deep the types being parsed nest (maps, parentheses, function types).</summary>
    [ThreadStatic] private static int _typeDepth;

    /// <summary>Parses a type that contains types, bounding the nesting so that no line can exhaust the stack.</summary>
    private static IResult<VmType> Nested(IInput i, string what, Func<IInput, IResult<VmType>> parse)
    {
        if (_typeDepth >= MaxTypeDepth) return Fail<VmType>(i, $"{what} nest more than {MaxTypeDepth} deep here");
        _typeDepth++;
        try { return parse(i); }
        finally { _typeDepth--; }
    }

    /// <summary>(T), at the '('.</summary>
    private static IResult<VmType> ParenType(IInput i)
    {
        var inner = TypeOf(Space(i.Advance()).Remainder);
        if (!inner.WasSuccessful) return inner;
        var close = Space(inner.Remainder).Remainder;
        if (close.AtEnd || close.Current != ')') return Expected<VmType>(close, "')'");
        return Result.Success(inner.Value, close.Advance());
    }

    private static IResult<VmType> MapType(IInput i)
    {
        var key = Type(Space(i.Advance()).Remainder);
        if (!key.WasSuccessful) return key;
        var colon = Space(key.Remainder).Remainder;
        if (colon.AtEnd || colon.Current != ':') return Expected<VmType>(colon, "':'");
        var value = Type(Space(colon.Advance()).Remainder);
        if (!value.WasSuccessful) return value;
        var close = Space(value.Remainder).Remainder;
        if (close.AtEnd || close.Current != '}') return Expected<VmType>(close, "'}'");
        if (!VmType.IsMapKey(key.Value)) return Fail<VmType>(i, $"a map cannot be keyed by {key.Value}");
        return Result.Success(VmType.MapOf(key.Value, value.Value), close.Advance());
    }

    /// <summary>fn(T, ...) -> R, or fn(T, ...) for a function type returning nothing; the input is after 'fn'.</summary>
    private static IResult<VmType> FuncType(IInput i)
    {
        i = Space(i).Remainder;
        if (i.AtEnd || i.Current != '(') return Expected<VmType>(i, "'('");
        i = Space(i.Advance()).Remainder;
        var ps = new List<VmType>();
        while (i.AtEnd || i.Current != ')')
        {
            if (ps.Count > 0)
            {
                if (i.AtEnd || i.Current != ',') return Expected<VmType>(i, "',' or ')'");
                i = Space(i.Advance()).Remainder;
            }
            var p = Type(i);
            if (!p.WasSuccessful) return p;
            if (p.Value == VmType.Void) return Fail<VmType>(i, "a function type cannot take void");
            ps.Add(p.Value);
            i = Space(p.Remainder).Remainder;
        }
        var afterClose = i.Advance();
        var arrow = Space(afterClose).Remainder;
        if (arrow.AtEnd || arrow.Current != '-' || arrow.Advance().AtEnd || arrow.Advance().Current != '>')
            return Result.Success(VmType.FuncOf([.. ps], VmType.Void), afterClose);
        var ret = Type(Space(arrow.Advance().Advance()).Remainder);
        if (!ret.WasSuccessful) return ret;
        return Result.Success(VmType.FuncOf([.. ps], ret.Value), ret.Remainder);
    }

    private static IResult<VmType> TypeOf(IInput start)
    {
        var i = start;
        int depth = 0;
        while (!i.AtEnd && i.Current == '[')
        {
            depth++;
            i = Space(i.Advance()).Remainder;
        }
        if (depth > MaxTypeDepth) return Fail<VmType>(start, $"array types nest {depth} deep here, more than {MaxTypeDepth}");
        var basic = BasicType(i);
        if (!basic.WasSuccessful) return basic;
        var nullable = MaybeNullable(basic.Value, basic.Remainder);
        if (!nullable.WasSuccessful) return nullable;
        var type = nullable.Value;
        i = nullable.Remainder;
        for (int k = 0; k < depth; k++)
        {
            i = Space(i).Remainder;
            if (i.AtEnd || i.Current != ']') return Expected<VmType>(i, "']'");
            i = i.Advance();
            var outer = MaybeNullable(VmType.ArrayOf(type), i);
            if (!outer.WasSuccessful) return outer;
            type = outer.Value;
            i = outer.Remainder;
        }
        return Result.Success(type, i);
    }

    /// <summary>One or more types separated by commas.</summary>
    private static readonly Parser<VmType[]> Types =
        from first in Type
        from _ in Space
        from rest in (from comma in Parse.Char(',') from _1 in Space from t in Type from _2 in Space select t).XMany()
        select new[] { first }.Concat(rest).ToArray();

    /// <summary>Zero or more types separated by commas, up to a closing character (')', or the end of the line).</summary>
    private static Parser<VmType[]> TypesUntil(Func<IInput, bool> atEnd) =>
        i => atEnd(i) ? Result.Success(Array.Empty<VmType>(), i) : Types(i);

    private static bool AtLineEnd(IInput i) => i.AtEnd || i.Current == ';';

    // ---------------------------------------------------------------------------------------- statements

    private static Parser<Statement> Signature(int col, bool isFunction) =>
        from _ in Space
        from name in NameToken
        from _1 in Space
        from open in Parse.Char('(').Named("'('")
        from _2 in Space
        from ps in TypesUntil(i => !i.AtEnd && i.Current == ')')
        from close in Parse.Char(')').Named("',' or ')'")
        from _3 in Space
        from arrow in Parse.String("->").Named("'->' and the return type")
        from _4 in Space
        from ret in Type
        select (Statement)new SignatureDirective(col, isFunction, name, ps, ret);

    /// <summary>An instruction's operands: tokens each after a space, up to the end of the line or a comment.</summary>
    private static readonly Parser<Token[]> Operands = start =>
    {
        var operands = new List<Token>();
        var i = start;
        while (true)
        {
            var spaced = Space(i).Remainder;
            if (AtLineEnd(spaced) || spaced.Equals(i)) return Result.Success(operands.ToArray(), i);
            var r = OperandToken(spaced);
            if (!r.WasSuccessful) return Result.Failure<Token[]>(r.Remainder, r.Message, r.Expectations);
            operands.Add(r.Value);
            i = r.Remainder;
        }
    };

    /// <summary>The operands of <c>.bytes</c>: words of hex digits, two per byte.</summary>
    private static readonly Parser<byte[]> HexBytes = start =>
    {
        var words = Operands(start);
        if (!words.WasSuccessful) return Result.Failure<byte[]>(words.Remainder, words.Message, words.Expectations);
        if (words.Value.Length == 0) return Expected<byte[]>(Space(start).Remainder, "hex bytes");
        var bytes = new List<byte>();
        foreach (var w in words.Value)
        {
            if (w.Quoted || w.Text.Length % 2 != 0 || !w.Text.All(char.IsAsciiHexDigit))
            {
                var at = start;
                while (at.Column < w.Column) at = at.Advance();
                return Fail<byte[]>(at, $"{w.Shown} is not hex bytes (write each byte as two hex digits, e.g. 3a ff)");
            }
            bytes.AddRange(Convert.FromHexString(w.Text));
        }
        return Result.Success(bytes.ToArray(), words.Remainder);
    };

    private static readonly string[] DirectiveNames =
        ["module", "source", "entry", "string", "type", "native", "fn", "locals", "maxstack", "line", "bytes", "end",
         "class", "interface", "super", "implements", "field", "method", "sig", "handler"];

    private static Parser<Statement> DirectiveBody(int col, string name) => name switch
    {
        "module" or "source" or "string" =>
            from _ in Space from value in StringToken select (Statement)new TextDirective(col, name, value),
        "entry" => from _ in Space from f in OperandToken.Named("a function name or index") select (Statement)new EntryDirective(col, f),
        "type" => from _ in Space from t in Type select (Statement)new TypeDirective(col, t),
        "native" or "fn" => Signature(col, name == "fn"),
        "locals" => from _ in Space from ts in TypesUntil(AtLineEnd) select (Statement)new LocalsDirective(col, ts),
        "maxstack" or "line" =>
            from _ in Space from value in WordToken.Named("a number") select (Statement)new NumberDirective(col, name, value),
        "bytes" => from bytes in HexBytes select (Statement)new BytesDirective(col, bytes),
        "class" or "interface" => from _ in Space from n in NameToken select (Statement)new ClassDirective(col, name == "interface", n),
        "super" or "implements" or "method" or "handler" => from operands in Operands select (Statement)new ClassMemberDirective(col, name, operands),
        "field" => from _ in Space from n in NameToken from _1 in Space from t in Type select (Statement)new FieldDirective(col, n, t),
        "sig" => from sig in Signature(col, false) select (Statement)new SigDirective(col, (SignatureDirective)sig),
        _ => Parse.Return((Statement)new EndDirective(col)),
    };

    private static readonly Parser<Statement> Directive = start =>
    {
        var name = Identifier(start.Advance());
        if (!name.WasSuccessful || !DirectiveNames.Contains(name.Value))
        {
            string shown = name.WasSuccessful ? "." + name.Value : ".";
            return Fail<Statement>(start, $"unknown directive '{shown}' (the directives are {string.Join(", ", DirectiveNames.Select(d => "." + d))})");
        }
        return DirectiveBody(start.Column, name.Value)(name.Remainder);
    };

    private static readonly Parser<Statement> LabelOrInstruction =
        from col in Column
        from name in Identifier
        from statement in
            Parse.Char(':').Return((Statement)new LabelStatement(col, name))
            .Or(from operands in Operands select (Statement)new InstructionStatement(col, new Token(col, name, false), operands))
        select statement;

    private static readonly Parser<Statement> Statement = i =>
        i.Current == '.' ? Directive(i)
        : IsIdentStart(i.Current) ? LabelOrInstruction(i)
        : Expected<Statement>(i, "a directive, a label or an instruction");

    /// <summary>Parses one line (without its line break): its statement, or null for a blank or comment line.</summary>
    public static IResult<Statement?> Line(string line)
    {
        var i = Space(new Input(line)).Remainder;
        if (AtLineEnd(i)) return Result.Success<Statement?>(null, i);
        var r = Statement(i);
        if (!r.WasSuccessful) return Result.Failure<Statement?>(r.Remainder, r.Message, r.Expectations);
        i = Space(r.Remainder).Remainder;
        if (!AtLineEnd(i)) return Expected<Statement?>(i, r.Value is InstructionStatement ? "a space or the end of the line" : "the end of the line");
        return Result.Success<Statement?>(r.Value, i);
    }

    /// <summary>The text of a failure: its own message, or what was expected and what was found instead.</summary>
    public static string Describe<T>(IResult<T> failure)
    {
        string message = failure.Message ?? "";
        // Sprache's own messages ("unexpected 'x'") say less than its expectations do.
        bool generic = message.Length == 0 || message.StartsWith("unexpected", StringComparison.OrdinalIgnoreCase)
            || message.Contains(" expected", StringComparison.Ordinal);
        if (!generic) return message;
        var expected = failure.Expectations?.Where(e => !string.IsNullOrEmpty(e)).Distinct().ToList() ?? [];
        string found = Found(failure.Remainder);
        return expected.Count == 0 ? $"unexpected {found}" : $"expected {string.Join(" or ", expected)}, found {found}";
    }

    /// <summary>What stands at a position: the word there (shortened), an invisible character by its code, or the
    /// end of the line.</summary>
    private static string Found(IInput at)
    {
        if (at.AtEnd) return "the end of the line";
        char c = at.Current;
        if (char.IsWhiteSpace(c) || char.IsControl(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format
            or System.Globalization.UnicodeCategory.Surrogate)
            return $"character U+{(int)c:X4}";
        string rest = at.Source[at.Position..Math.Min(at.Source.Length, at.Position + 24)];
        int n = 1;
        if (char.IsLetterOrDigit(c) || c == '_')
            while (n < rest.Length && (char.IsLetterOrDigit(rest[n]) || rest[n] == '_')) n++;
        return $"'{rest[..n]}'";
    }
}
