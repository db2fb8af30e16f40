using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Hlvm.Compiler.Assembly;
using Hlvm.Runtime;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Verification;

namespace Hlvm.Tests;

/// <summary>
/// The conformance suite of the module reader and the verifier: every case in <c>tests/verifier</c> is a module,
/// in the text form (<c>.hlasm</c>) or as bytes (<c>.hex</c>), whose header comments say what must become of it:
/// <list type="bullet">
/// <item><c>; expect: malformed REASON</c> — the reader rejects it (<see cref="ModuleFormatException"/>), with a
///   reason containing REASON</item>
/// <item><c>; expect: invalid REASON</c> — it reads, and the verifier rejects it (<see cref="VerifyException"/>)</item>
/// <item><c>; expect: valid</c> — it reads and verifies, and if it has an entry point it runs (checked mode, with
///   fuel) and returns <c>; expect-result: N</c> (default 0), prints the <c>; expect-output: LINE</c> lines, or
///   stops with an error containing <c>; expect-error: TEXT</c></item>
/// <item><c>; rule: NAME</c> — the rules of <see cref="Rules"/> the case is about (one or more)</item>
/// </list>
/// A <c>.hex</c> file holds bytes as hex, two digits each, separated by spaces, with <c>;</c> comments; <c>XX*N</c>
/// stands for N bytes XX. The table of rules and cases in docs/bytecode.md is generated from the cases (run with
/// UPDATE_DOCS=1 to rewrite it).
/// </summary>
public sealed partial class ConformanceTests
{
    private static readonly string Dir = Path.Combine(TestSupport.Root, "tests", "verifier");

    /// <summary>Every rule of the reader and the verifier that the suite tests, in the order of the doc's table.</summary>
    public static readonly (string Name, string Rule)[] Rules =
    [
        ("format.magic", "a module starts with the magic \"HLVM\""),
        ("format.version", "the format version is 1"),
        ("format.flags", "the flags have no bit but bit 0, and bit 0 announces a table of function sources"),
        ("format.truncated", "no field is cut short by the end of the file"),
        ("format.count", "a count or length fits in the bytes that remain (checked before anything is allocated)"),
        ("format.uleb", "a uleb is at most 5 bytes, 32 bits, and at most 2^31 - 1"),
        ("format.utf8", "names and string constants are valid UTF-8, lone surrogates aside (WTF-8: each spelt as its code point would be; a pair only as its code point)"),
        ("format.type-kind", "a type kind is 0 to 6, 8 or 9 (bit 7 marks a nullable reference type)"),
        ("format.array-of-void", "no array type has element type void"),
        ("format.type-depth", "arrays nest at most 32 deep"),
        ("format.void-local", "no parameter or local has type void"),
        ("format.locals-limit", "a function has at most 65536 locals, parameters included"),
        ("format.max-stack-limit", "a declared max stack is at most 65536"),
        ("format.code-limit", "a function has at most 16 MiB of code"),
        ("format.line-table", "line-table offsets lie within the code (the end included)"),
        ("format.duplicate-name", "function names are unique, and so are native import names and class names"),
        ("format.entry", "the entry index names a function"),
        ("format.trailing", "nothing follows the entry field"),
        ("native.unknown", "every native import names a host function"),
        ("native.signature", "a native is imported with exactly the host's signature"),
        ("entry.signature", "the entry function takes nothing or one [string] and returns nothing or int"),
        ("code.empty", "every function has code"),
        ("decode.opcode", "every opcode exists, in reachable code or not"),
        ("decode.truncated", "an instruction's operands lie within the code"),
        ("decode.local", "a local operand is below the function's local count"),
        ("decode.string", "a string operand indexes the string constants"),
        ("decode.function", "a function operand indexes the functions"),
        ("decode.native", "a native operand indexes the native imports"),
        ("decode.type", "a type operand indexes the type table"),
        ("decode.bool", "a bool operand is 0 or 1"),
        ("decode.count", "an element count is at most 65536"),
        ("decode.class", "a class operand indexes the classes"),
        ("handler.range", "an exception handler's range is non-empty and lies within the code, and so does its target"),
        ("handler.target", "an exception handler's start, end and target are instruction boundaries, and it catches a class"),
        ("handler.state", "a handler starts with only the error on the stack, and with the locals written throughout its range"),
        ("throw.object", "throw takes an object; it ends the path"),
        ("map.types", "map instructions take a non-nullable map and keys and values of its key and value types"),
        ("class.hierarchy", "a superclass is a class, declared interfaces are interfaces, and no class inherits from itself"),
        ("class.fields", "field names are unique along a class's superclass chain"),
        ("class.methods", "a method names a function whose first parameter is its class; an override keeps the parameters and return type"),
        ("class.interfaces", "a class implements every method of every interface it or a superclass declares, with its exact signature"),
        ("object.new", "newobject names a class, not an interface"),
        ("object.field", "getfield and setfield name a field of the class, on an instance of it, and setfield stores the field's type"),
        ("object.call", "callvirt names a method slot of a class, calliface a method of an interface, with the receiver and arguments on the stack"),
        ("type.subtype", "a subclass stands where its superclass or an interface it implements is expected, and null or T where T? is"),
        ("null.check", "a nullable value is not used where a non-nullable one is expected until nonnull (or a null test) makes it one"),
        ("branch.middle", "a branch target is the first byte of an instruction"),
        ("branch.outside", "a branch target lies inside the function's code"),
        ("join.height", "where paths join, the stack heights agree"),
        ("join.type", "where paths join, the stack entries' types agree"),
        ("join.locals", "after a join, a local counts as written only if every path wrote it"),
        ("stack.underflow", "an instruction finds all its operands on the stack"),
        ("stack.overflow", "the stack never holds more than the declared max stack"),
        ("operand.type", "an instruction's operands have its types (iadd two ints, alen an array, jmpif a bool, ...)"),
        ("load.unwritten", "load reads only a local written on every path to it"),
        ("store.type", "store writes a value of the local's declared type"),
        ("call.arguments", "call and callnative find the callee's parameter types on the stack, and push its result"),
        ("closure.make", "closure takes an environment of its function's first parameter type (a reference); funcref and closure push a value of the function's type"),
        ("closure.call", "callclosure names a non-nullable function type and finds a value of it below arguments of its parameter types"),
        ("ret.type", "ret returns a value of the function's return type"),
        ("ret.void", "ret only in a function that returns a value, retvoid only in one that returns nothing"),
        ("newarray.type", "newarray's type is an array type"),
        ("array.element", "newarray, astore and apush are given values of the array's element type"),
        ("flow.fall-off-end", "no path runs past the last instruction"),
        ("flow.unreachable", "code no path reaches is decoded but not checked, and never runs"),
        ("flow.loop", "loops verify: the analysis reaches a fixed point"),
    ];

    private sealed record Case(
        string Name, string Outcome, string Reason, string[] RuleNames, long Result, string? Error, string[] Output, byte[] Bytes);

    [GeneratedRegex(@"^\s*;\s*(?<key>expect|expect-result|expect-error|expect-output|rule):[ \t]?(?<value>.*?)\s*$")]
    private static partial Regex Header();

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var name in AllNames()) data.Add(name);
        return data;
    }

    private static IEnumerable<string> AllNames() =>
        Directory.EnumerateFiles(Dir, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".hlasm", StringComparison.Ordinal) || f.EndsWith(".hex", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Dir, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);

    private static Case Load(string name)
    {
        string text = File.ReadAllText(Path.Combine(Dir, name));
        string? outcome = null, reason = null, error = null;
        long result = 0;
        var rules = new List<string>();
        var output = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            var m = Header().Match(line);
            if (!m.Success) continue;
            string value = m.Groups["value"].Value;
            switch (m.Groups["key"].Value)
            {
                case "expect":
                    Assert.True(outcome is null, $"{name}: more than one '; expect:' line");
                    int space = value.IndexOf(' ');
                    outcome = space < 0 ? value : value[..space];
                    reason = space < 0 ? "" : value[(space + 1)..];
                    break;
                case "expect-result": result = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "expect-error": error = value; break;
                case "expect-output": output.Add(value); break;
                case "rule": rules.Add(value); break;
            }
        }
        Assert.True(outcome is "malformed" or "invalid" or "valid", $"{name}: the header must say '; expect: malformed|invalid|valid ...'");
        Assert.True(outcome == "valid" || reason!.Length > 0, $"{name}: a rejection must name its reason");
        Assert.True(rules.Count > 0, $"{name}: the header must name the rules it tests ('; rule: NAME')");
        byte[] bytes;
        if (name.EndsWith(".hex", StringComparison.Ordinal)) bytes = Hex(name, text);
        else
        {
            var assembled = Assembler.Assemble(name, text);
            Assert.True(assembled.Success, string.Join("\n", assembled.Diagnostics.Select(d => d.Format())));
            bytes = ModuleFormat.Write(assembled.Module!);
        }
        return new Case(name, outcome!, reason!, [.. rules], result, error, [.. output], bytes);
    }

    /// <summary>The bytes of a .hex case: two hex digits a byte, <c>XX*N</c> for N copies, <c>;</c> comments.</summary>
    private static byte[] Hex(string name, string text)
    {
        var bytes = new List<byte>();
        foreach (var raw in text.Split('\n'))
        {
            int semicolon = raw.IndexOf(';');
            string line = semicolon < 0 ? raw : raw[..semicolon];
            foreach (var word in line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries))
            {
                int star = word.IndexOf('*');
                if (star >= 0)
                {
                    byte b = Convert.ToByte(word[..star], 16);
                    bytes.AddRange(Enumerable.Repeat(b, int.Parse(word[(star + 1)..], CultureInfo.InvariantCulture)));
                }
                else
                {
                    Assert.True(word.Length % 2 == 0, $"{name}: '{word}' is not hex bytes");
                    bytes.AddRange(Convert.FromHexString(word));
                }
            }
        }
        return [.. bytes];
    }

    /// <summary>What became of a case: "malformed", "invalid" or "valid", the reason, and for a rejection by the
    /// verifier, the opcode it was rejected at (when the reason concerns one instruction).</summary>
    private sealed record Outcome(string Kind, string Reason, Opcode? At);

    private static Outcome Judge(Case c)
    {
        Module module;
        try
        {
            module = ModuleFormat.Read(c.Bytes);
        }
        catch (ModuleFormatException e)
        {
            return new Outcome("malformed", e.Reason, null);
        }
        try
        {
            Verifier.Verify(module);
        }
        catch (VerifyException e)
        {
            Opcode? at = null;
            var f = module.Functions.FirstOrDefault(f => f.Name == e.Function);
            if (f is not null && e.Offset >= 0 && e.Offset < f.Code.Length && OpcodeInfo.Of(f.Code[e.Offset]) is { } info) at = info.Op;
            return new Outcome("invalid", e.Reason, at);
        }
        return new Outcome("valid", "", null);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conforms(string name)
    {
        var c = Load(name);
        var outcome = Judge(c);
        string expected = $"{c.Outcome} {c.Reason}".TrimEnd();
        Assert.True(outcome.Kind == c.Outcome, $"{name}: expected {expected}, but it was {outcome.Kind} {outcome.Reason}".TrimEnd());
        Assert.True(outcome.Reason.Contains(c.Reason, StringComparison.Ordinal), $"{name}: expected {expected}, but the reason is: {outcome.Reason}");
        if (outcome.Kind == "valid") Run(c);
    }

    /// <summary>Runs a valid case's entry point in checked mode, so that a verifier hole shows as an error.</summary>
    private static void Run(Case c)
    {
        var module = ModuleFormat.Read(c.Bytes);
        if (module.EntryFunction < 0) return;
        var output = new StringWriter { NewLine = "\n" };
        var vm = new Vm(new VmOptions
        {
            Out = output,
            Heap = new HeapOptions { MaxBytes = 64 << 20, TrackObjects = true },
            Execution = new ExecutionOptions { Fuel = 1_000_000, MaxFrames = 10_000, Checked = true },
        });
        var loaded = vm.Load(module);
        try
        {
            long result = vm.RunMain(loaded, []);
            Assert.True(c.Error is null, $"{c.Name}: expected the run to stop with '{c.Error}', but it returned {result}");
            Assert.Equal(c.Result, result);
        }
        catch (VmError e) when (c.Error is not null)
        {
            Assert.Contains(c.Error, e.Message);
        }
        string expectedOutput = string.Concat(c.Output.Select(line => line + "\n"));
        Assert.Equal(expectedOutput, output.ToString());
        if (c.Error is null) RunCompiled(c, module, expectedOutput);
    }

    /// <summary>
    /// Runs a valid case again with every function compiled before it first runs, collecting at every
    /// allocation: the JIT meets here the shapes the compiler never emits (values on the stack at a loop's head,
    /// a handler inside its own range, unreachable code) and must give the interpreter's result.
    /// </summary>
    private static void RunCompiled(Case c, Module module, string expectedOutput)
    {
        var output = new StringWriter { NewLine = "\n" };
        var vm = new Vm(new VmOptions
        {
            Out = output,
            Heap = new HeapOptions { MaxBytes = 64 << 20, Stress = true, Verify = true },
            Execution = new ExecutionOptions { MaxFrames = 10_000, Compiler = new Jit.CilCompiler(), JitThreshold = 0 },
        });
        var loaded = vm.Load(module);
        Assert.Equal(c.Result, vm.RunMain(loaded, []));
        Assert.Equal(expectedOutput, output.ToString());
        // A function past the JIT's limits (newarray_of_65536_elements, locals_at_limit) stays interpreted.
        Assert.Equal(Jit.CilCompiler.Compilable(loaded.Entry!), loaded.Entry!.Compiled is not null);
    }

    // ---------------------------------------------------------------------------------------- coverage

    [Fact]
    public void EveryCaseNamesKnownRulesAndEveryRuleHasARejectedCase()
    {
        var known = Rules.Select(r => r.Name).ToHashSet();
        var cases = AllNames().Select(Load).ToList();
        foreach (var c in cases)
            foreach (var rule in c.RuleNames) Assert.True(known.Contains(rule), $"{c.Name}: unknown rule '{rule}'");
        foreach (var (rule, _) in Rules)
        {
            Assert.True(cases.Any(c => c.Outcome != "valid" && c.RuleNames.Contains(rule)) || rule == "flow.loop",
                $"no malformed or invalid case tests rule '{rule}'");
            Assert.True(cases.Any(c => c.RuleNames.Contains(rule)), $"no case tests rule '{rule}'");
        }
        Assert.True(cases.Count(c => c.Outcome == "valid") >= 10);
    }

    [Fact]
    public void EveryOpcodeHasAnInvalidCaseRejectedAtIt()
    {
        var rejectedAt = new HashSet<Opcode>();
        foreach (var c in AllNames().Select(Load).Where(c => c.Outcome == "invalid"))
        {
            if (Judge(c) is { Kind: "invalid", At: { } op }) rejectedAt.Add(op);
        }
        var missing = OpcodeInfo.All.Where(o => !rejectedAt.Contains(o.Op)).Select(o => o.Name).ToList();
        Assert.True(missing.Count == 0, $"no invalid case is rejected at these opcodes: {string.Join(", ", missing)}");
    }

    // ---------------------------------------------------------------------------------------- the doc's table

    private const string Begin = "<!-- verifier-cases:begin (generated from tests/verifier by ConformanceTests; UPDATE_DOCS=1 dotnet test --filter ConformanceTests) -->";
    private const string End = "<!-- verifier-cases:end -->";

    private static string Table()
    {
        var cases = AllNames().Select(Load).ToList();
        string Links(IEnumerable<Case> list) => string.Join(", ", list.Select(c =>
            $"[{Path.GetFileName(c.Name)}](../tests/verifier/{c.Name})"));
        var sb = new StringBuilder();
        sb.Append("| rule | what it requires | rejected (malformed or invalid) | accepted (valid) |\n");
        sb.Append("| --- | --- | --- | --- |\n");
        foreach (var (rule, what) in Rules)
        {
            var mine = cases.Where(c => c.RuleNames.Contains(rule)).ToList();
            sb.Append($"| `{rule}` | {what.Replace("|", "\\|")} | {Links(mine.Where(c => c.Outcome != "valid"))} | {Links(mine.Where(c => c.Outcome == "valid"))} |\n");
        }
        return sb.ToString();
    }

    [Fact]
    public void BytecodeReferenceHasTheGeneratedTableOfCases() =>
        TestSupport.AssertGeneratedSection(Path.Combine("docs", "bytecode.md"), Begin, End, Table(), "table of verifier cases", "ConformanceTests");
}
