using System.Diagnostics;
using System.Globalization;
using System.Text;
using Hlvm.Compiler.Assembly;
using Hlvm.Runtime;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Natives;

namespace Hlvm.Tests;

/// <summary>
/// The natives of std.math, std.time, std.fs and std.env, each called by a program through the VM: a module
/// assembled from text imports the native, calls it with constants, prints the result (or the message of the
/// error it raised, caught by a handler of the expected class) and is run by <see cref="Vm.RunMain"/>.
/// </summary>
public sealed class StdNativesTests
{
    // ---------------------------------------------------------------------------------------- the harness

    /// <summary>An argument of a call: its type in the import and its value.</summary>
    private abstract record Arg(string Type);
    private sealed record IntArg(long Value) : Arg("int");
    private sealed record FloatArg(double Value) : Arg("float");
    private sealed record StrArg(string Value) : Arg("string");

    private static Arg A(long v) => new IntArg(v);
    private static Arg A(double v) => new FloatArg(v);
    private static Arg A(string v) => new StrArg(v);

    // The prelude's error classes a test catches, as the compiler gives them to every program.
    private const string ErrorClasses = """
        .class Error
            .field message string
        .end
        .class ValueError
            .super Error
        .end
        .class OutOfMemoryError
            .super Error
        .end
        .class IOError
            .super Error
        .end

        """;

    private static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                _ when c < ' ' => $"\\u{{{(int)c:x}}}",
                _ => c.ToString(),
            });
        }
        return sb.Append('"').ToString();
    }

    private static string FloatLiteral(double d) =>
        double.IsNaN(d) ? "nan" : double.IsPositiveInfinity(d) ? "inf" : double.IsNegativeInfinity(d) ? "-inf" : d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// The text of a module whose main calls <paramref name="native"/> with <paramref name="args"/> and prints its
    /// result as the language formats it ([string] one element a line, null as &lt;null&gt;); with
    /// <paramref name="catches"/>, a handler of that class prints "caught" and the error's message instead.
    /// </summary>
    private static string CallModule(string native, string ret, Arg[] args, string? catches)
    {
        var strings = new List<string>();
        int Str(string s)
        {
            strings.Add(s);
            return strings.Count - 1;
        }
        var code = new StringBuilder();
        code.AppendLine("L0:");
        foreach (var a in args)
        {
            code.AppendLine(a switch
            {
                IntArg i => $"    iconst {i.Value}",
                FloatArg f => $"    fconst {FloatLiteral(f.Value)}",
                StrArg s => $"    sconst {Str(s.Value)}",
                _ => throw new ArgumentException("unknown argument"),
            });
        }
        code.AppendLine($"    callnative {Quote(native)}");
        switch (ret)
        {
            case "int": code.AppendLine("    itos"); break;
            case "float": code.AppendLine("    ftos"); break;
            case "bool": code.AppendLine("    btos"); break;
            case "string": break;
            case "void": code.AppendLine($"    sconst {Str("done")}"); break;
            case "[string]": code.AppendLine($"    sconst {Str("\n")}\n    callnative \"array.join\""); break;
            case "string?":
                code.AppendLine($"    dup\n    jmpifnull LNull\n    nonnull\n    callnative println\n    retvoid\nLNull:\n    pop\n    sconst {Str("<null>")}");
                break;
            default: throw new ArgumentException(ret);
        }
        code.AppendLine("    callnative println");
        code.AppendLine("L1:");
        code.AppendLine("    retvoid");
        if (catches is not null)
            code.AppendLine($"L2:\n    sconst {Str("caught")}\n    callnative println\n    getfield Error 0\n    callnative println\n    retvoid");

        var text = new StringBuilder(ErrorClasses);
        foreach (var s in strings) text.AppendLine($".string {Quote(s)}");
        text.AppendLine($".native {Quote(native)}({string.Join(", ", args.Select(a => a.Type))}) -> {ret}");
        text.AppendLine(".native println(string) -> void");
        if (ret == "[string]") text.AppendLine(".native \"array.join\"([string], string) -> string");
        text.AppendLine(".fn main() -> void");
        text.AppendLine("    .maxstack 8");
        if (catches is not null) text.AppendLine($"    .handler L0 L1 L2 {catches}");
        text.Append(code);
        text.AppendLine(".end");
        text.AppendLine(".entry main");
        return text.ToString();
    }

    private static Module Assemble(string text)
    {
        var r = Assembler.Assemble("std.hlasm", text);
        Assert.True(r.Success, string.Join("\n", r.Diagnostics.Select(d => d.Format())) + "\n" + text);
        return r.Module!;
    }

    /// <summary>Runs a module's main through the VM: its result and what it printed.</summary>
    private static (long Result, string Output) Run(Module module, string[]? args = null, long maxHeap = 64 << 20)
    {
        var output = new StringWriter { NewLine = "\n" };
        // The natives themselves, on the host's files: the sandbox's own tests are SandboxTests.
        var vm = new Vm(new VmOptions { Out = output, Host = Runtime.Host.HostAccess.FullTrust(), Heap = new HeapOptions { MaxBytes = maxHeap, Stress = TestSupport.GcStress } });
        long result = vm.RunMain(vm.Load(module), args ?? []);
        return (result, output.ToString());
    }

    /// <summary>What main printed after calling the native (without the final line break).</summary>
    private static string Call(string native, string ret, params Arg[] args) =>
        Run(Assemble(CallModule(native, ret, args, null))).Output.TrimEnd('\n');

    /// <summary>The message of the error of class <paramref name="errorClass"/> the call raised, which the program caught.</summary>
    private static string Raises(string errorClass, string native, string ret, params Arg[] args) => RaisesWithHeap(errorClass, 64 << 20, native, ret, args);

    private static string RaisesWithHeap(string errorClass, long maxHeap, string native, string ret, params Arg[] args)
    {
        string output = Run(Assemble(CallModule(native, ret, args, errorClass)), maxHeap: maxHeap).Output;
        Assert.StartsWith("caught\n", output);
        return output["caught\n".Length..].TrimEnd('\n');
    }

    private static double ParseFloat(string s) => s switch
    {
        "nan" => double.NaN,
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        _ => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static double F(string native, params double[] args) =>
        ParseFloat(Call("math." + native, "float", [.. args.Select(A)]));

    private static void Near(double expected, double actual, double tolerance = 1e-15) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)), $"expected {expected:R}, got {actual:R}");

    // ------------------------------------------------------------------------------------------------ math

    [Fact]
    public void PowersRootsAndLogarithms()
    {
        Near(1.4142135623730951, F("sqrt", 2.0));
        Assert.True(double.IsNaN(F("sqrt", -1.0)));
        Assert.Equal(-3.0, F("cbrt", -27.0));
        Assert.Equal(3.0, F("cbrt", 27.0));
        Assert.Equal(10.0, F("cbrt", 1000.0));
        Assert.Equal(-99992.0, F("cbrt", -99992.0 * 99992.0 * 99992.0)); // .NET's Cbrt is two floats off here
        Near(1.2599210498948732, F("cbrt", 2.0));
        Assert.Equal(1024.0, F("pow", 2.0, 10.0));
        Near(0.5, F("pow", 4.0, -0.5));
        Near(2.718281828459045, F("exp", 1.0));
        Near(1.0, F("log", 2.718281828459045));
        Assert.Equal(double.NegativeInfinity, F("log", 0.0));
        Near(3.0, F("log10", 1000.0));
        Assert.Equal(10.0, F("log2", 1024.0));
    }

    [Fact]
    public void Trigonometry()
    {
        const double Pi = 3.141592653589793;
        Near(0.5, F("sin", Pi / 6), 1e-15);
        Assert.Equal(1.0, F("cos", 0.0));
        Near(1.0, F("tan", Pi / 4), 1e-15);
        Near(Pi / 2, F("asin", 1.0));
        Near(Pi, F("acos", -1.0));
        Near(Pi / 4, F("atan", 1.0));
        Near(3 * Pi / 4, F("atan2", 1.0, -1.0)); // y first: the point (-1, 1) is in the second quadrant
        Near(-Pi / 2, F("atan2", -1.0, 0.0));
        Assert.True(double.IsNaN(F("asin", 2.0)));
    }

    [Fact]
    public void RoundingToWholeFloats()
    {
        Assert.Equal(-2.0, F("floor", -1.5));
        Assert.Equal(-1.0, F("ceil", -1.5));
        Assert.Equal(-2.0, F("trunc", -2.7));
        Assert.Equal(2.0, F("trunc", 2.7));
        // Halves round away from zero, and the float just below a half is not a half.
        Assert.Equal(3.0, F("round", 2.5));
        Assert.Equal(-3.0, F("round", -2.5));
        Assert.Equal(1.0, F("round", 0.5));
        Assert.Equal(2.0, F("round", 2.4));
        Assert.Equal(0.0, F("round", 0.49999999999999994));
    }

    [Fact]
    public void AbsHypotMinMax()
    {
        Assert.Equal(3.5, F("fabs", -3.5));
        Assert.Equal(5.0, F("hypot", 3.0, 4.0));
        Near(1.4142135623730951e300, F("hypot", 1e300, 1e300)); // x*x alone would overflow
        Assert.Equal(1.0, F("fmin", 1.0, 2.0));
        Assert.Equal(2.0, F("fmax", 1.0, 2.0));
        Assert.Equal(-7.0, F("fmin", 3.0, -7.0));
        Assert.True(double.IsNaN(F("fmin", double.NaN, 1.0)));
        Assert.True(double.IsNaN(F("fmax", 1.0, double.NaN)));
    }

    [Fact]
    public void IntsAndFloatsConvert()
    {
        Assert.Equal("-5.0", Call("math.toFloat", "float", A(-5L)));
        // 2^53 + 1 has no float: it rounds to the nearest, 2^53.
        Assert.Equal(9007199254740992.0, ParseFloat(Call("math.toFloat", "float", A(9007199254740993L))));
        Assert.Equal("-2", Call("math.toInt", "int", A(-2.9)));
        Assert.Equal("9000000000000000000", Call("math.toInt", "int", A(9e18)));
        Assert.Equal(long.MinValue.ToString(CultureInfo.InvariantCulture), Call("math.toInt", "int", A(-9223372036854775808.0)));
        Assert.Equal("true", Call("math.isNaN", "bool", A(double.NaN)));
        Assert.Equal("false", Call("math.isNaN", "bool", A(double.PositiveInfinity)));
        Assert.Equal("true", Call("math.isInfinite", "bool", A(double.NegativeInfinity)));
        Assert.Equal("false", Call("math.isInfinite", "bool", A(1e308)));
    }

    [Fact]
    public void ToIntOfAFloatWithNoIntValueIsAValueError()
    {
        Assert.Equal("toInt(nan): NaN has no int value", Raises("ValueError", "math.toInt", "int", A(double.NaN)));
        Assert.Contains("toInt(inf): the float is outside the int range", Raises("ValueError", "math.toInt", "int", A(double.PositiveInfinity)));
        // 2^63 is one past the largest int.
        Assert.Contains("outside the int range", Raises("ValueError", "math.toInt", "int", A(9223372036854775808.0)));
        Assert.Contains("outside the int range", Raises("ValueError", "math.toInt", "int", A(-1e19)));
    }

    // ------------------------------------------------------------------------------------------------ time

    private static double HostNanos() => Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency);

    [Fact]
    public void MonotonicNanosIsTheHostsMonotonicClockInNanoseconds()
    {
        var module = Assemble("""
            .native "time.monotonicNanos"() -> int
            .native println(string) -> void
            .fn main() -> void
                .maxstack 2
                callnative "time.monotonicNanos"
                itos
                callnative println
                callnative "time.monotonicNanos"
                itos
                callnative println
                retvoid
            .end
            .entry main
            """);
        double before = HostNanos();
        var lines = Run(module).Output.TrimEnd('\n').Split('\n').Select(long.Parse).ToArray();
        double after = HostNanos();
        Assert.True(lines[0] <= lines[1], $"the clock went back: {lines[0]} then {lines[1]}");
        Assert.True(before - 1000 <= lines[0] && lines[1] <= after + 1000, $"{lines[0]}, {lines[1]} not within {before:F0}..{after:F0}");
    }

    [Fact]
    public void WallClockInMillisecondsAndIso()
    {
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long millis = long.Parse(Call("time.nowMillis", "int"), CultureInfo.InvariantCulture);
        string iso = Call("time.nowIso", "string");
        long after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.InRange(millis, before, after);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", iso);
        long isoMillis = DateTimeOffset.ParseExact(iso, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToUnixTimeMilliseconds();
        Assert.InRange(isoMillis, before, after);
    }

    // ------------------------------------------------------------------------------------------------ fs

    [Fact]
    public void TextWrittenIsReadBackAsUtf8WithoutAByteOrderMark()
    {
        using var dir = new TestSupport.TempDir();
        string path = Path.Combine(dir.Path, "note.txt");
        const string text = "héllo \"world\" 😀\nsecond line\n";
        Assert.Equal("done", Call("fs.writeText", "void", A(path), A(text)));
        Assert.Equal(Encoding.UTF8.GetBytes(text), File.ReadAllBytes(path));
        Assert.Equal(text.TrimEnd('\n'), Call("fs.readText", "string", A(path)));
    }

    [Fact]
    public void WriteTextReplacesTheWholeFileAndLeavesNoTemporaryFile()
    {
        using var dir = new TestSupport.TempDir();
        string path = dir.File("data.txt", "a much longer old text than the new one");
        Call("fs.writeText", "void", A(path), A("new"));
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(["data.txt"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteTextKeepsTheFilesPermissionsAndWritesThroughALink()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TestSupport.TempDir();
        string target = dir.File("target.txt", "old");
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string link = Path.Combine(dir.Path, "link.txt");
        File.CreateSymbolicLink(link, target);
        Call("fs.writeText", "void", A(link), A("new"));
        Assert.Equal("new", File.ReadAllText(target));
        Assert.NotNull(new FileInfo(link).LinkTarget); // still a link
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
    }

    [Fact]
    public void AFailedWriteIsAnIOErrorAndCreatesNothing()
    {
        using var dir = new TestSupport.TempDir();
        string path = Path.Combine(dir.Path, "missing", "out.txt");
        string message = Raises("IOError", "fs.writeText", "void", A(path), A("x"));
        Assert.Equal($"cannot write \"{path}\": a directory on the path does not exist", message);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));

        string sub = Directory.CreateDirectory(Path.Combine(dir.Path, "sub")).FullName;
        Assert.Equal($"cannot write \"{sub}\": it is a directory", Raises("IOError", "fs.writeText", "void", A(sub), A("x")));
        Assert.Empty(Directory.GetFileSystemEntries(sub));
    }

    [Fact]
    public void AppendTextAddsToTheEndAndCreatesTheFile()
    {
        using var dir = new TestSupport.TempDir();
        string path = Path.Combine(dir.Path, "log.txt");
        Call("fs.appendText", "void", A(path), A("one\n"));
        Call("fs.appendText", "void", A(path), A("twö\n"));
        Assert.Equal(Encoding.UTF8.GetBytes("one\ntwö\n"), File.ReadAllBytes(path));
    }

    [Fact]
    public void ExistsSeesFilesAndDirectories()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("f", "");
        Assert.Equal("true", Call("fs.exists", "bool", A(file)));
        Assert.Equal("true", Call("fs.exists", "bool", A(dir.Path)));
        Assert.Equal("false", Call("fs.exists", "bool", A(Path.Combine(dir.Path, "nothing"))));
        Assert.Equal("false", Call("fs.exists", "bool", A("")));
    }

    [Fact]
    public void ListDirGivesTheNamesInOrdinalOrder()
    {
        using var dir = new TestSupport.TempDir();
        foreach (var name in new[] { "b", "é", "a.txt", "_", "B" }) dir.File(name, "");
        Directory.CreateDirectory(Path.Combine(dir.Path, "c"));
        // Ordinal: by UTF-16 code unit, so upper case before '_' before lower case, and é last.
        Assert.Equal("B\n_\na.txt\nb\nc\né", Call("fs.listDir", "[string]", A(dir.Path)));
        Assert.Equal("", Call("fs.listDir", "[string]", A(Path.Combine(dir.Path, "c"))));
    }

    [Fact]
    public void ListDirOfAFileOrNothingIsAnIOError()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("plain.txt", "x");
        Assert.Equal($"cannot list \"{file}\": it is not a directory", Raises("IOError", "fs.listDir", "[string]", A(file)));
        string missing = Path.Combine(dir.Path, "gone");
        Assert.Equal($"cannot list \"{missing}\": no such directory", Raises("IOError", "fs.listDir", "[string]", A(missing)));
    }

    [Fact]
    public void ReadingWhatIsNotAReadableFileIsAnIOErrorNamingThePath()
    {
        using var dir = new TestSupport.TempDir();
        string missing = Path.Combine(dir.Path, "absent.txt");
        Assert.Equal($"cannot read \"{missing}\": no such file", Raises("IOError", "fs.readText", "string", A(missing)));
        Assert.Equal($"cannot read \"{dir.Path}\": it is a directory", Raises("IOError", "fs.readText", "string", A(dir.Path)));
        Assert.Equal("cannot read \"\": not a valid path", Raises("IOError", "fs.readText", "string", A("")));
        Assert.Equal("cannot read \"a\0b\": not a valid path", Raises("IOError", "fs.readText", "string", A("a\0b")));
        // The error is an Error like any other: a handler of the root class takes it too.
        Assert.Contains("no such file", Raises("Error", "fs.readText", "string", A(missing)));
    }

    [Fact]
    public void ReadingAFileLargerThanTheHeapIsAnOutOfMemoryError()
    {
        using var dir = new TestSupport.TempDir();
        const long heap = 1 << 20;
        // Far too large: refused from its size, before any of it is read.
        string huge = Path.Combine(dir.Path, "huge.txt");
        using (var f = File.Create(huge)) f.SetLength(16 << 20);
        Assert.Contains("exceed the heap limit", RaisesWithHeap("OutOfMemoryError", heap, "fs.readText", "string", A(huge)));
        // Small enough on disk to be possible, but its text does not fit: refused while it is read.
        string large = dir.File("large.txt", new string('x', 1 << 20));
        Assert.Contains("longer than a string can be under the heap limit", RaisesWithHeap("OutOfMemoryError", heap, "fs.readText", "string", A(large)));
    }

    [Fact]
    public void RemoveDeletesFilesAndEmptyDirectoriesOnly()
    {
        using var dir = new TestSupport.TempDir();
        string file = dir.File("f.txt", "x");
        Call("fs.remove", "void", A(file));
        Assert.False(File.Exists(file));

        string full = Directory.CreateDirectory(Path.Combine(dir.Path, "full")).FullName;
        File.WriteAllText(Path.Combine(full, "inside"), "x");
        Assert.Equal($"cannot remove \"{full}\": the directory is not empty", Raises("IOError", "fs.remove", "void", A(full)));
        Assert.True(File.Exists(Path.Combine(full, "inside")));

        File.Delete(Path.Combine(full, "inside"));
        Call("fs.remove", "void", A(full));
        Assert.False(Directory.Exists(full));

        Assert.Equal($"cannot remove \"{file}\": no such file or directory", Raises("IOError", "fs.remove", "void", A(file)));
    }

    [Fact]
    public void RemovingALinkLeavesWhatItLeadsTo()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TestSupport.TempDir();
        string target = Directory.CreateDirectory(Path.Combine(dir.Path, "target")).FullName;
        File.WriteAllText(Path.Combine(target, "kept"), "x");
        string link = Path.Combine(dir.Path, "link");
        Directory.CreateSymbolicLink(link, target);
        Call("fs.remove", "void", A(link));
        Assert.False(Path.Exists(link));
        Assert.True(File.Exists(Path.Combine(target, "kept")));
    }

    // ------------------------------------------------------------------------------------------------ env

    [Fact]
    public void ArgsAreTheArgumentsMainReceives()
    {
        var module = Assemble("""
            .string "\n"
            .string "--"
            .native "env.args"() -> [string]
            .native "array.join"([string], string) -> string
            .native println(string) -> void
            .fn main([string]) -> int
                .maxstack 2
                load 0
                sconst 0
                callnative "array.join"
                callnative println
                sconst 1
                callnative println
                callnative "env.args"
                sconst 0
                callnative "array.join"
                callnative println
                callnative "env.args"
                alen
                ret
            .end
            .entry main
            """);
        string[] args = ["first", "with space", "", "ünï"];
        var (result, output) = Run(module, args);
        string joined = string.Join("\n", args);
        Assert.Equal($"{joined}\n--\n{joined}\n", output);
        Assert.Equal(4, result);
    }

    [Fact]
    public void ArgsOfAMainWithoutParametersAreStillTheProgramsArguments()
    {
        var module = Assemble(CallModule("env.args", "[string]", [], null));
        Assert.Equal("x\ny\n", Run(module, ["x", "y"]).Output);
        Assert.Equal("\n", Run(module, []).Output);
    }

    [Fact]
    public void GetReadsTheEnvironment()
    {
        string name = "HLVM_STD_TEST_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "a value=with equals");
        try
        {
            Assert.Equal("a value=with equals", Call("env.get", "string?", A(name)));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
        Assert.Equal("<null>", Call("env.get", "string?", A(name)));
        Assert.Equal("<null>", Call("env.get", "string?", A("")));
        Assert.Equal("<null>", Call("env.get", "string?", A("A=B")));
    }

    /// <summary>main calls f, which calls env.exit inside a handler for every error, then would print.</summary>
    private static Module ExitModule(long code) => Assemble(ErrorClasses + $$"""
        .string "before"
        .string "caught"
        .string "after"
        .native "env.exit"(int) -> void
        .native println(string) -> void
        .fn f() -> void
            .maxstack 2
            .handler L0 L1 L2 Error
        L0:
            iconst {{code}}
            callnative "env.exit"
        L1:
            sconst 2
            callnative println
            retvoid
        L2:
            sconst 1
            callnative println
            retvoid
        .end
        .fn main() -> int
            .maxstack 2
            .handler L3 L4 L5 Error
            sconst 0
            callnative println
        L3:
            call f
        L4:
            iconst 99
            ret
        L5:
            pop
            iconst 98
            ret
        .end
        .entry main
        """);

    [Fact]
    public void ExitEndsTheProgramAtOnceWithItsCode()
    {
        var (result, output) = Run(ExitModule(42));
        Assert.Equal(42, result);
        Assert.Equal("before\n", output); // no handler ran, nothing after the call ran
        Assert.Equal(0, Run(ExitModule(0)).Result);
        Assert.Equal(125, Run(ExitModule(125)).Result);
    }

    [Fact]
    public void ExitWithACodeOutsideZeroTo125IsAValueError()
    {
        Assert.Equal("exit(126): an exit code must be 0 to 125", Raises("ValueError", "env.exit", "void", A(126L)));
        Assert.Equal("exit(-1): an exit code must be 0 to 125", Raises("ValueError", "env.exit", "void", A(-1L)));
        Assert.Contains("must be 0 to 125", Raises("ValueError", "env.exit", "void", A(256L)));
    }

    [Fact]
    public void HlvmRunExitsWithTheProgramsExitCode()
    {
        using var dir = new TestSupport.TempDir();
        string path = Path.Combine(dir.Path, "exit.hlc");
        File.WriteAllBytes(path, ModuleFormat.Write(ExitModule(7)));
        var r = TestSupport.Hlvm("run", path);
        Assert.Equal(7, r.ExitCode);
        Assert.Equal("before\n", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    // ------------------------------------------------------------------------------------------------ the table

    [Fact]
    public void TheModulesNativesDeclareTheirPermissionsAndDocs()
    {
        string[] modules = ["math.", "time.", "fs.", "env."];
        var natives = NativeTable.All.Where(n => modules.Any(m => n.Name.StartsWith(m, StringComparison.Ordinal))).ToArray();
        Assert.Equal(26 + 3 + 6 + 3, natives.Length);
        Assert.All(natives, n => Assert.False(string.IsNullOrWhiteSpace(n.Doc), n.Name));
        Assert.All(natives, n => Assert.DoesNotContain('\n', n.Doc));
        var permissions = natives.Where(n => n.Permission is not null).ToDictionary(n => n.Name, n => n.Permission);
        Assert.Equal(new Dictionary<string, string?>
        {
            ["fs.readText"] = "read",
            ["fs.exists"] = "read",
            ["fs.listDir"] = "read",
            ["fs.writeText"] = "write",
            ["fs.appendText"] = "write",
            ["fs.remove"] = "write",
            ["env.get"] = "env",
        }, permissions);
    }
}
