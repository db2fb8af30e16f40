using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Hlvm.Compiler.Diagnostics;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Compiler.Assembly;

// ============================================================================================================
// The assembler: the text form of a module (.hlasm, as the disassembler prints it) to a Module.
//
// It checks only what it needs to encode the module: names that resolve, operands that fit their encoding,
// directives in their places. It does not verify: a module that the verifier or even the reader rejects can be
// written on purpose (an explicit .maxstack, a branch to any byte offset, an index past a pool, raw .bytes, an
// array of void), which is what a test of the verifier needs. Operands are read as OpcodeInfo.All says: the
// table gives each mnemonic its operand kinds and widths, so there is no second list of instructions here.
//
// Each line is parsed on its own by AsmGrammar; the statements then build the module in one pass. Labels may be
// used before they are defined (they are patched at the function's .end), and so may function and native names
// (patched at the end of the file). Every error is a diagnostic with line and column; the assembler reports as
// many as it finds and produces no module when there is one.
// ============================================================================================================

/// <summary>The result of assembling one file: a module when there were no errors, and the diagnostics.</summary>
public sealed record AssembleResult(Module? Module, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Success => Module is not null;
}

/// <summary>Assembles the text form of a module.</summary>
public static class Assembler
{
    /// <summary>Assembles <paramref name="text"/>; <paramref name="path"/> names the file in messages. Never throws
    /// for any text: every problem is a diagnostic.</summary>
    public static AssembleResult Assemble(string path, string text) => new Run(new SourceText(path, text)).Assemble();

    /// <summary>A function while its body is read.</summary>
    private sealed class FunctionBuilder(FunctionDef def, int line)
    {
        public FunctionDef Def { get; } = def;
        public int Line { get; } = line;
        public List<byte> Code { get; } = [];
        public List<LineEntry> Lines { get; } = [];
        public List<VmType> Locals { get; } = [];
        public Dictionary<string, int> Labels { get; } = [];
        public Dictionary<string, int> LabelLines { get; } = [];
        public List<(int At, Token Label, int Line)> LabelUses { get; } = [];
        public List<(Token[] Operands, int Class, int Line)> Handlers { get; } = [];
        public int? LocalsLine { get; set; }
        public int? MaxStackLine { get; set; }
        public int? SourceLine { get; set; }
        public int? MaxStack { get; set; }
        public bool CodeStarted { get; set; }
    }

    /// <summary>A function or native operand given by name, patched once every name is known.</summary>
    private sealed record NameUse(FunctionDef In, int At, OperandKind Kind, Token Name, int Line);

    private sealed class Run(SourceText source)
    {
        private readonly DiagnosticBag _diagnostics = new();
        private readonly Module _module = new();
        private readonly List<NameUse> _nameUses = [];
        private readonly List<FunctionDef> _autoMaxStack = [];
        private int _line;
        private int? _moduleLine, _sourceLine, _entryLine;
        private Token? _entry;
        private FunctionBuilder? _fn;
        private (ClassDef Def, int Line)? _class;
        private readonly Dictionary<string, int> _classIndexes = [];
        private readonly List<(ClassDef Class, int Method, Token Function, int Line)> _methodUses = [];

        public AssembleResult Assemble()
        {
            string[] lines = source.Text.Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l).ToArray();
            // Classes may be used (in types) before their .class line: collect their names first.
            int classCount = 0;
            foreach (var text in lines)
            {
                if (!text.TrimStart().StartsWith(".class", StringComparison.Ordinal) && !text.TrimStart().StartsWith(".interface", StringComparison.Ordinal)) continue;
                if (AsmGrammar.Line(text) is { WasSuccessful: true, Value: ClassDirective c }) _classIndexes.TryAdd(c.Name.Text, classCount++);
            }
            var previous = AsmGrammar.Classes;
            AsmGrammar.Classes = _classIndexes;
            try
            {
                for (int i = 0; i < lines.Length; i++)
                {
                    _line = i + 1;
                    var r = AsmGrammar.Line(lines[i]);
                    if (!r.WasSuccessful) Error(r.Remainder.Column, AsmGrammar.Describe(r));
                    else if (r.Value is { } statement) Handle(statement);
                }
            }
            finally
            {
                AsmGrammar.Classes = previous;
            }
            if (_class is { } open)
            {
                _line = open.Line;
                Error(1, $"class {Disassembler.Name(open.Def.Name)} has no .end");
                _class = null;
            }
            if (_fn is not null)
            {
                _line = _fn.Line;
                Error(1, $"function {Disassembler.Name(_fn.Def.Name)} has no .end");
                EndFunction();
            }
            ResolveNames();
            foreach (var f in _autoMaxStack) f.MaxStack = MaxStackOf(f);
            bool failed = _diagnostics.HasErrors;
            return new AssembleResult(failed ? null : _module, _diagnostics.Items);
        }

        private void Error(int column, string message, int length = 1) =>
            _diagnostics.Add(new Diagnostic(Severity.Error, source, _line, column, message, length));

        private void Error(Token at, string message) =>
            Error(at.Column, message, Math.Max(1, at.Quoted ? at.Text.Length + 2 : at.Text.Length));

        // ---------------------------------------------------------------------------------------- statements

        private void Handle(Statement statement)
        {
            switch (statement)
            {
                case TextDirective { Directive: "source" } d when _fn is not null:
                    // Inside a function: the file it comes from, when not the module's.
                    if (Header(d, "source", _fn.SourceLine) is { } withSource)
                    {
                        withSource.SourceLine = _line;
                        withSource.Def.SourceFile = d.Value.Text;
                    }
                    break;
                case TextDirective d:
                    TopLevel(d);
                    if (d.Directive == "string") _module.Strings.Add(d.Value.Text);
                    else if (d.Directive == "module" && Once(ref _moduleLine, d, "the module name")) _module.Name = d.Value.Text;
                    else if (d.Directive == "source" && Once(ref _sourceLine, d, "the source file name")) _module.SourceFile = d.Value.Text;
                    break;
                case EntryDirective d:
                    TopLevel(d);
                    if (Once(ref _entryLine, d, "the entry function")) _entry = d.Function;
                    break;
                case TypeDirective d:
                    TopLevel(d);
                    _module.Types.Add(d.Type);
                    break;
                case SignatureDirective { IsFunction: false } d:
                    TopLevel(d);
                    _module.Natives.Add(new NativeImport(d.Name.Text, d.Params, d.Return));
                    break;
                case SignatureDirective d:
                    TopLevel(d);
                    var def = new FunctionDef { Name = d.Name.Text, Params = d.Params, Return = d.Return };
                    _module.Functions.Add(def);
                    _fn = new FunctionBuilder(def, _line);
                    break;
                case LocalsDirective d:
                    if (Header(d, "locals", _fn?.LocalsLine) is { } withLocals)
                    {
                        withLocals.LocalsLine = _line;
                        withLocals.Locals.AddRange(d.Types);
                    }
                    break;
                case NumberDirective { Directive: "maxstack" } d:
                    if (Header(d, "maxstack", _fn?.MaxStackLine) is { } withMax && Unsigned(d.Value, int.MaxValue, "a number of stack slots") is { } max)
                    {
                        withMax.MaxStackLine = _line;
                        withMax.MaxStack = (int)max;
                    }
                    break;
                case NumberDirective d:
                    if (Body(d, ".line") is { } withLine && Unsigned(d.Value, int.MaxValue, "a line number") is { } line)
                        withLine.Lines.Add(new LineEntry(withLine.Code.Count, (int)line));
                    break;
                case BytesDirective d:
                    Body(d, ".bytes")?.Code.AddRange(d.Bytes);
                    break;
                case LabelStatement d:
                    if (Body(d, "a label") is { } withLabel)
                    {
                        if (withLabel.LabelLines.TryGetValue(d.Name, out int first))
                            Error(d.Column, $"label '{d.Name}' is already defined on line {first}", d.Name.Length);
                        else
                        {
                            withLabel.Labels[d.Name] = withLabel.Code.Count;
                            withLabel.LabelLines[d.Name] = _line;
                        }
                    }
                    break;
                case InstructionStatement d:
                    if (Body(d, "an instruction") is { } withCode) Instruction(withCode, d);
                    break;
                case EndDirective d:
                    if (_class is not null) _class = null;
                    else if (_fn is null) Error(d.Column, "'.end' without a function or class to end", 4);
                    else EndFunction();
                    break;
                case ClassDirective d:
                    TopLevel(d);
                    var cls = new ClassDef { Name = d.Name.Text, IsInterface = d.IsInterface };
                    _module.Classes.Add(cls);
                    _class = (cls, _line);
                    break;
                case FieldDirective d:
                    if (InClass(d, ".field") is { } withField) withField.Fields.Add(new FieldDef(d.Name.Text, d.Type));
                    break;
                case SigDirective d:
                    if (InClass(d, ".sig") is { } withSig) withSig.Signatures.Add(new InterfaceMethod(d.Signature.Name.Text, d.Signature.Params, d.Signature.Return));
                    break;
                case ClassMemberDirective { Directive: "handler" } d:
                    Handler(d);
                    break;
                case ClassMemberDirective d:
                    ClassMember(d);
                    break;
            }
        }

        /// <summary>The class a member directive belongs to, or null after an error.</summary>
        private ClassDef? InClass(Statement d, string what)
        {
            if (_class is { } c) return c.Def;
            Error(d.Column, $"'{what}' outside a class (start one with .class or .interface)", what.Length);
            return null;
        }

        private void ClassMember(ClassMemberDirective d)
        {
            if (InClass(d, "." + d.Directive) is not { } c) return;
            int expected = d.Directive switch { "super" => 1, "method" => 2, _ => -1 };
            if (expected > 0 && d.Operands.Length != expected || d.Operands.Length == 0)
            {
                Error(d.Column, d.Directive switch
                {
                    "super" => "'.super' takes one class",
                    "method" => "'.method' takes a method name and a function",
                    _ => "'.implements' takes one or more interfaces",
                }, d.Directive.Length + 1);
                return;
            }
            switch (d.Directive)
            {
                case "super":
                    if (ClassOperand(d.Operands[0]) is { } super) c.Super = (int)super;
                    break;
                case "implements":
                    var list = new List<int>();
                    foreach (var t in d.Operands)
                        if (ClassOperand(t) is { } i) list.Add((int)i);
                    c.Interfaces = [.. c.Interfaces, .. list]; // several lines add up, as one line's names do
                    break;
                default:
                    var fn = d.Operands[1];
                    c.Methods.Add(new MethodDef(d.Operands[0].Text, 0));
                    if (fn.Quoted || Disassembler.IsIdentifier(fn.Text)) _methodUses.Add((c, c.Methods.Count - 1, fn, _line));
                    else if (Unsigned(fn, int.MaxValue, "a function name or index") is { } index) c.Methods[^1] = c.Methods[^1] with { Function = (int)index };
                    break;
            }
        }

        /// <summary><c>.handler START END HANDLER CLASS</c>: targets are labels or byte offsets, patched at .end.</summary>
        private void Handler(ClassMemberDirective d)
        {
            if (_fn is null)
            {
                Error(d.Column, "'.handler' outside a function (start one with .fn)", 8);
                return;
            }
            if (d.Operands.Length != 4)
            {
                Error(d.Column, "'.handler' takes a start, an end and a handler (labels or offsets), and a class", 8);
                return;
            }
            if (ClassOperand(d.Operands[3]) is { } cls) _fn.Handlers.Add((d.Operands[..3], (int)cls, _line));
        }

        /// <summary>A class operand: the name of a class of the file, or an index.</summary>
        private long? ClassOperand(Token token)
        {
            if (token.Quoted || Disassembler.IsIdentifier(token.Text))
            {
                if (_classIndexes.TryGetValue(token.Text, out int index)) return index;
                Error(token, $"no class named {Disassembler.Name(token.Text)}");
                return null;
            }
            return Unsigned(token, uint.MaxValue, "a class name or index");
        }

        /// <summary>A directive that stands outside functions; inside one, it is an error and ends the function.</summary>
        private void TopLevel(Statement d)
        {
            if (_class is { } open)
            {
                Error(d.Column, $"class {Disassembler.Name(open.Def.Name)} (line {open.Line}) is not ended: end it with .end first");
                _class = null;
            }
            if (_fn is null) return;
            string what = d switch
            {
                TextDirective t => "." + t.Directive,
                EntryDirective => ".entry",
                TypeDirective => ".type",
                ClassDirective c => c.IsInterface ? ".interface" : ".class",
                SignatureDirective { IsFunction: true } => ".fn",
                _ => ".native",
            };
            Error(d.Column, $"'{what}' inside function {Disassembler.Name(_fn.Def.Name)} (line {_fn.Line}): end the function with .end first", what.Length);
            EndFunction();
        }

        /// <summary>For directives a module has at most once: true the first time, an error after.</summary>
        private bool Once(ref int? seen, Statement d, string what)
        {
            if (seen is { } line)
            {
                Error(d.Column, $"{what} is already given on line {line}");
                return false;
            }
            seen = _line;
            return true;
        }

        /// <summary>The function for a directive of its header (.locals, .maxstack), or null after an error.</summary>
        private FunctionBuilder? Header(Statement d, string name, int? seenOn)
        {
            if (_fn is null)
            {
                Error(d.Column, $"'.{name}' outside a function (start one with .fn)", name.Length + 1);
                return null;
            }
            if (seenOn is { } line)
            {
                Error(d.Column, $"the function already has .{name} on line {line}", name.Length + 1);
                return null;
            }
            if (_fn.CodeStarted)
            {
                Error(d.Column, $"'.{name}' must come before the function's code", name.Length + 1);
                return null;
            }
            return _fn;
        }

        /// <summary>The function for a statement of its body (code, labels, line entries), or null after an error.</summary>
        private FunctionBuilder? Body(Statement d, string what)
        {
            if (_fn is null)
            {
                Error(d.Column, $"{what} outside a function (start one with .fn)");
                return null;
            }
            _fn.CodeStarted = true;
            return _fn;
        }

        private void EndFunction()
        {
            var fn = _fn!;
            _fn = null;
            var f = fn.Def;
            f.Locals = [.. f.Params, .. fn.Locals];
            f.Code = [.. fn.Code];
            f.Lines = [.. fn.Lines];
            foreach (var (at, label, line) in fn.LabelUses)
            {
                if (fn.Labels.TryGetValue(label.Text, out int offset)) OpcodeInfo.WriteOperand(f.Code, at, OperandKind.Target, offset);
                else
                {
                    _line = line;
                    Error(label, $"no label '{label.Text}' in function {Disassembler.Name(f.Name)}");
                }
            }
            var handlers = new List<ExceptionHandler>();
            foreach (var (operands, cls, line) in fn.Handlers)
            {
                _line = line;
                var at = new int[3];
                bool ok = true;
                for (int k = 0; k < 3; k++)
                {
                    var t = operands[k];
                    if (!t.Quoted && Disassembler.IsIdentifier(t.Text))
                    {
                        if (fn.Labels.TryGetValue(t.Text, out int offset)) at[k] = offset;
                        else
                        {
                            Error(t, $"no label '{t.Text}' in function {Disassembler.Name(f.Name)}");
                            ok = false;
                        }
                    }
                    else if (Unsigned(t, int.MaxValue, "a label or a byte offset") is { } offset) at[k] = (int)offset;
                    else ok = false;
                }
                if (ok) handlers.Add(new ExceptionHandler(at[0], at[1], at[2], cls));
            }
            f.Handlers = [.. handlers];
            if (fn.MaxStack is { } max) f.MaxStack = max;
            else _autoMaxStack.Add(f);
        }

        // ---------------------------------------------------------------------------------------- instructions

        private void Instruction(FunctionBuilder fn, InstructionStatement d)
        {
            var info = OpcodeInfo.ByName(d.Mnemonic.Text);
            if (info is null)
            {
                string? near = OpcodeInfo.All.Select(o => o.Name).Where(n => Runtime.Spelling.Distance(n, d.Mnemonic.Text) <= 2)
                    .OrderBy(n => Runtime.Spelling.Distance(n, d.Mnemonic.Text)).FirstOrDefault();
                Error(d.Mnemonic, $"unknown instruction '{d.Mnemonic.Text}'{(near is null ? "" : $" (did you mean '{near}'?)")}");
                return;
            }
            if (d.Operands.Length != info.Operands.Length)
            {
                string takes = info.Operands.Length == 0
                    ? $"{info.Name} takes no operands"
                    : $"{info.Name} takes {info.Operands.Length} operand{(info.Operands.Length == 1 ? "" : "s")}: {string.Join(", ", info.Operands.Select(Describe))}";
                if (d.Operands.Length > info.Operands.Length) Error(d.Operands[info.Operands.Length], $"too many operands: {takes}");
                else Error(d.Mnemonic, $"{takes}; {(d.Operands.Length == 0 ? "none" : d.Operands.Length.ToString(CultureInfo.InvariantCulture))} given");
                return;
            }
            var bytes = new byte[info.Size];
            bytes[0] = (byte)info.Op;
            int p = 1;
            bool ok = true;
            var labels = new List<(int At, Token Label)>();
            var names = new List<(int At, OperandKind Kind, Token Name)>();
            for (int k = 0; k < info.Operands.Length; k++)
            {
                var kind = info.Operands[k];
                var token = d.Operands[k];
                long? value = null;
                if (kind == OperandKind.Target && !token.Quoted && Disassembler.IsIdentifier(token.Text))
                {
                    labels.Add((p, token));
                    value = 0;
                }
                else if (kind is OperandKind.Function or OperandKind.Native && (token.Quoted || Disassembler.IsIdentifier(token.Text)))
                {
                    names.Add((p, kind, token));
                    value = 0;
                }
                else value = Operand(kind, token);
                if (value is not { } v)
                {
                    ok = false;
                    continue;
                }
                OpcodeInfo.WriteOperand(bytes, p, kind, v);
                p += OpcodeInfo.Width(kind);
            }
            if (!ok) return;
            int start = fn.Code.Count;
            fn.Code.AddRange(bytes);
            foreach (var (at, label) in labels) fn.LabelUses.Add((start + at, label, _line));
            foreach (var (at, kind, name) in names) _nameUses.Add(new NameUse(fn.Def, start + at, kind, name, _line));
        }

        private static string Describe(OperandKind kind) => kind switch
        {
            OperandKind.Local => "a local slot",
            OperandKind.Int64 => "an int",
            OperandKind.Float64 => "a float",
            OperandKind.Bool => "true or false",
            OperandKind.String => "a string constant's index",
            OperandKind.Target => "a label or a byte offset",
            OperandKind.Function => "a function name or index",
            OperandKind.Native => "a native name or index",
            OperandKind.Type => "a type table index",
            OperandKind.Count => "a count",
            OperandKind.Class => "a class name or index",
            OperandKind.Field => "a field index",
            OperandKind.Method => "a method index",
            _ => kind.ToString(),
        };

        /// <summary>A numeric operand's value (its bits for a float), or null after an error.</summary>
        private long? Operand(OperandKind kind, Token token)
        {
            switch (kind)
            {
                case OperandKind.Int64:
                    if (!token.Quoted && Integer(token.Text, out bool negative, out ulong magnitude, out bool hex))
                    {
                        if (hex) return (long)magnitude;
                        if (negative ? magnitude <= 1UL << 63 : magnitude <= long.MaxValue) return negative ? (long)(0 - magnitude) : (long)magnitude;
                        Error(token, $"{token.Text} does not fit in an int (-9223372036854775808..9223372036854775807)");
                        return null;
                    }
                    Error(token, $"expected an int, found {token.Shown}");
                    return null;
                case OperandKind.Float64:
                    return Float(token);
                case OperandKind.Bool when !token.Quoted && token.Text is "true" or "false":
                    return token.Text == "true" ? 1 : 0;
                case OperandKind.Local:
                    return Unsigned(token, ushort.MaxValue, Describe(kind));
                case OperandKind.Class:
                    return ClassOperand(token);
                default:
                    return Unsigned(token, uint.MaxValue, Describe(kind));
            }
        }

        private static readonly Regex Decimal = new(@"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$", RegexOptions.CultureInvariant);
        private static readonly Regex NaNBits = new(@"^nan\(0x([0-9a-fA-F]{1,16})\)$", RegexOptions.CultureInvariant);

        private long? Float(Token token)
        {
            if (!token.Quoted)
            {
                switch (token.Text)
                {
                    case "nan": return Disassembler.CanonicalNaNBits;
                    case "inf": return BitConverter.DoubleToInt64Bits(double.PositiveInfinity);
                    case "-inf": return BitConverter.DoubleToInt64Bits(double.NegativeInfinity);
                }
                if (NaNBits.Match(token.Text) is { Success: true } nan)
                {
                    long bits = (long)ulong.Parse(nan.Groups[1].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                    if (double.IsNaN(BitConverter.Int64BitsToDouble(bits))) return bits;
                    Error(token, $"0x{bits:x16} is not the bits of a NaN; write the number itself");
                    return null;
                }
                if (Decimal.IsMatch(token.Text) && double.TryParse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
                {
                    if (double.IsFinite(d)) return BitConverter.DoubleToInt64Bits(d);
                    Error(token, $"{token.Text} is too large for a float (write inf or -inf)");
                    return null;
                }
            }
            Error(token, $"expected a float (such as 1.5, -0.0, 2e-9, inf, -inf, nan or nan(0x...)), found {token.Shown}");
            return null;
        }

        /// <summary>A non-negative integer operand up to <paramref name="max"/>, or null after an error.</summary>
        private long? Unsigned(Token token, ulong max, string what)
        {
            if (token.Quoted || !Integer(token.Text, out bool negative, out ulong value, out _))
            {
                Error(token, $"expected {what}, found {token.Shown}");
                return null;
            }
            if (negative && value != 0 || value > max)
            {
                Error(token, $"{token.Text} is out of range for {what} (0..{max})");
                return null;
            }
            return (long)value;
        }

        /// <summary>Reads a decimal integer (with an optional '-') or a hex one (0x, up to 16 digits, no sign).
        /// A decimal too large for 64 bits reads as <see cref="ulong.MaxValue"/>, out of every range.</summary>
        private static bool Integer(string text, out bool negative, out ulong magnitude, out bool hex)
        {
            negative = false;
            magnitude = 0;
            hex = text.StartsWith("0x", StringComparison.Ordinal) || text.StartsWith("0X", StringComparison.Ordinal);
            if (hex)
            {
                string digits = text[2..];
                return digits.Length is > 0 and <= 16 && digits.All(char.IsAsciiHexDigit)
                    && ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out magnitude);
            }
            negative = text.StartsWith('-');
            string dec = negative ? text[1..] : text;
            if (dec.Length == 0 || !dec.All(char.IsAsciiDigit)) return false;
            if (!ulong.TryParse(dec, NumberStyles.None, CultureInfo.InvariantCulture, out magnitude)) magnitude = ulong.MaxValue;
            return true;
        }


        // ---------------------------------------------------------------------------------------- names

        private void ResolveNames()
        {
            foreach (var use in _nameUses)
            {
                _line = use.Line;
                bool function = use.Kind == OperandKind.Function;
                if (Resolve(use.Name, function) is { } index)
                    OpcodeInfo.WriteOperand(use.In.Code, use.At, use.Kind, index);
            }
            foreach (var (cls, method, fn, line) in _methodUses)
            {
                _line = line;
                if (Resolve(fn, function: true) is { } index) cls.Methods[method] = cls.Methods[method] with { Function = index };
            }
            if (_entry is { } entry && _entryLine is { } entryLine)
            {
                _line = entryLine;
                if (entry.Quoted || Disassembler.IsIdentifier(entry.Text))
                {
                    if (Resolve(entry, function: true) is { } index) _module.EntryFunction = index;
                }
                else if (Unsigned(entry, int.MaxValue - 1, "a function name or index") is { } index) _module.EntryFunction = (int)index;
            }
        }

        private int? Resolve(Token name, bool function)
        {
            var names = function ? _module.Functions.Select(f => f.Name) : _module.Natives.Select(n => n.Name);
            var matches = names.Select((n, i) => (n, i)).Where(x => x.n == name.Text).Select(x => x.i).Take(2).ToList();
            string what = function ? "function" : "native";
            if (matches.Count == 1) return matches[0];
            Error(name, matches.Count == 0
                ? $"no {what} named {Disassembler.Name(name.Text)}"
                : $"several {what}s are named {Disassembler.Name(name.Text)}; refer to one by its index");
            return null;
        }

        // ---------------------------------------------------------------------------------------- max stack

        /// <summary>
        /// The max stack of a function that does not declare one: the greatest height any path reaches, counting
        /// as the verifier does. Paths stop at code that does not decode; where heights disagree the first one
        /// found counts, and a pop of an empty stack counts as zero: such code is invalid anyway.
        /// </summary>
        private int MaxStackOf(FunctionDef f)
        {
            var code = f.Code;
            var height = new Dictionary<int, int> { [0] = 0 };
            var work = new Stack<int>();
            work.Push(0);
            int max = 0;
            // A handler starts with the error on the stack, and its code is reached by no jump.
            foreach (var h in f.Handlers)
            {
                max = 1;
                if (height.TryAdd(h.Handler, 1)) work.Push(h.Handler);
            }
            while (work.Count > 0)
            {
                int pc = work.Pop();
                if (pc >= code.Length || OpcodeInfo.Of(code[pc]) is not { } info || pc + info.Size > code.Length) continue;
                long Operand(int k) => OpcodeInfo.ReadOperand(code, pc + info.OperandOffset(k), info.Operands[k]);
                (long pops, long pushes) = info.Op switch
                {
                    Opcode.Call when Operand(0) < _module.Functions.Count => Effect(_module.Functions[(int)Operand(0)].Params, _module.Functions[(int)Operand(0)].Return),
                    Opcode.CallNative when Operand(0) < _module.Natives.Count => Effect(_module.Natives[(int)Operand(0)].Params, _module.Natives[(int)Operand(0)].Return),
                    Opcode.NewArray => (Operand(1), 1),
                    Opcode.CallVirt when Operand(0) < _module.Classes.Count && _module.MethodTable((int)Operand(0)) is var slots
                        && Operand(1) < slots.Count && slots[(int)Operand(1)].Function < _module.Functions.Count
                        => Effect(_module.Functions[slots[(int)Operand(1)].Function].Params, _module.Functions[slots[(int)Operand(1)].Function].Return),
                    Opcode.CallIface when Operand(0) < _module.Classes.Count && Operand(1) < _module.Classes[(int)Operand(0)].Signatures.Count
                        && _module.Classes[(int)Operand(0)].Signatures[(int)Operand(1)] is var sig
                        => (sig.Params.Length + 1, sig.Return == VmType.Void ? 0 : 1),
                    _ => (Math.Max(0, info.Pops), Math.Max(0, info.Pushes)),
                };
                int after = (int)Math.Min(int.MaxValue, Math.Max(0, height[pc] - pops) + pushes);
                max = Math.Max(max, after);
                long[] next = info.Flow switch
                {
                    ControlFlow.Return or ControlFlow.Throw => [],
                    ControlFlow.Jump => [Operand(0)],
                    ControlFlow.Branch => [pc + info.Size, Operand(0)],
                    _ => [pc + info.Size],
                };
                foreach (long target in next)
                {
                    if (target < code.Length && height.TryAdd((int)target, after)) work.Push((int)target);
                }
            }
            return max;
        }

        private static (long, long) Effect(VmType[] parameters, VmType ret) => (parameters.Length, ret == VmType.Void ? 0 : 1);
    }
}
