using System.Diagnostics;
using System.Text;
using Antlr4.Runtime;
using Hlvm.Compiler;
using Hlvm.Compiler.Syntax;
using Hlvm.Runtime;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Verification;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Fuzz;

public sealed record FuzzOptions
{
    public string Target { get; set; } = "modules";
    public int Seed { get; set; } = 1;
    public long Count { get; set; } = 10_000;
    public string OutDir { get; set; } = "fuzz-crashes";
}

/// <summary>What a campaign saw: how many inputs ended which way, and how many crashed.</summary>
public sealed class FuzzStats
{
    public long Inputs;
    public long Crashes;
    public long SlowestMilliseconds;
    public long SlowestInput;
    /// <summary>Where the slowest input was written, when it was slow enough to keep.</summary>
    public string? SlowestSaved;
    public readonly Dictionary<string, long> Outcomes = [];

    public void Count(string outcome) => Outcomes[outcome] = Outcomes.GetValueOrDefault(outcome) + 1;
}

/// <summary>The seed inputs: every program of the tests and examples, and its compiled module.</summary>
public static class Corpus
{
    public static string FindRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Hlvm.sln"))) return dir.FullName;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Hlvm.sln"))) return dir.FullName;
        throw new InvalidOperationException("run hlvm-fuzz inside the repository");
    }

    public static List<(string name, string text)> Sources(string root) =>
        new[] { "tests/lang", "examples" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.hl", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(root, f), File.ReadAllText(f)))
            .ToList();

    /// <summary>The examples as bundles: each with its directory's other files as resources, signed with
    /// <see cref="BundleFuzzer.Key"/>, and one unsigned.</summary>
    public static List<byte[]> Bundles(string root)
    {
        var bundles = new List<byte[]>();
        var work = Directory.CreateTempSubdirectory("hlvm-fuzz-bundles-");
        try
        {
            foreach (var (name, text) in Sources(root).Where(s => s.name.StartsWith("examples/", StringComparison.Ordinal)))
            {
                string app = Directory.CreateDirectory(Path.Combine(work.FullName, Path.GetFileNameWithoutExtension(name))).FullName;
                File.WriteAllText(Path.Combine(app, "main.hl"), text);
                File.WriteAllText(Path.Combine(app, "data.txt"), string.Concat(Enumerable.Repeat(name + "\n", 50)));
                File.WriteAllText(Path.Combine(app, "hlvm.toml"), $"name = \"{Path.GetFileNameWithoutExtension(name)}\"\nversion = \"1.0\"\nentry = \"main.hl\"\npermissions = [\"read:/tmp\"]\n");
                string output = Path.Combine(work.FullName, Path.GetFileNameWithoutExtension(name) + ".hlb");
                Func<string, byte[]> compile = path => ModuleFormat.Write(Compilation.Compile(name, File.ReadAllText(path)).Module!);
                Packer.Pack(app, output, compile, bundles.Count == 0 ? null : BundleFuzzer.Key.PrivateKey);
                bundles.Add(File.ReadAllBytes(output));
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
        return bundles;
    }

    public static List<byte[]> Modules(string root) =>
        Sources(root)
            .Select(s => Compilation.Compile(s.name, s.text).Module)
            .Where(m => m is not null)
            .Select(m => ModuleFormat.Write(m!))
            .ToList();
}

/// <summary>Runs one input with every limit small, and sorts the way it ended into allowed outcomes and crashes.</summary>
public abstract class Fuzzer(FuzzOptions options)
{
    protected readonly Random Random = new(options.Seed);
    protected readonly FuzzStats Stats = new();
    /// <summary>An input that runs this long counts as a hang (every run is bounded by fuel, so none should).</summary>
    private const int HangMilliseconds = 60_000;

    protected abstract (byte[] input, string extension) Next();

    /// <summary>The next input this fuzzer would try (another fuzzer's inputs, for the differential target).</summary>
    public (byte[] input, string extension) Generate() => Next();
    protected abstract string Execute(byte[] input);

    public FuzzStats Run()
    {
        for (long i = 0; i < options.Count; i++)
        {
            var (input, extension) = Next();
            Stats.Inputs++;
            var watch = Stopwatch.StartNew();
            string outcome;
            try
            {
                outcome = Execute(input);
            }
            catch (Exception e)
            {
                outcome = "CRASH " + e.GetType().Name;
                Save(input, extension, e.ToString());
            }
            if (watch.ElapsedMilliseconds > HangMilliseconds)
            {
                outcome = "HANG";
                Save(input, extension, $"took {watch.ElapsedMilliseconds} ms");
            }
            if (watch.ElapsedMilliseconds > Stats.SlowestMilliseconds)
            {
                Stats.SlowestMilliseconds = watch.ElapsedMilliseconds;
                Stats.SlowestInput = Stats.Inputs;
                _slowest = (input, extension);
            }
            Stats.Count(outcome);
        }
        if (Stats.SlowestMilliseconds >= KeptSlowestMilliseconds)
        {
            // Kept so that it can be run again: the inputs of a campaign come one after another from its seed.
            Directory.CreateDirectory(options.OutDir);
            Stats.SlowestSaved = Path.Combine(options.OutDir, $"slowest-{options.Target}-{options.Seed}-{Stats.SlowestInput}{_slowest.extension}");
            File.WriteAllBytes(Stats.SlowestSaved, _slowest.input);
        }
        return Stats;
    }

    /// <summary>The slowest input is written out (beside the crashes) when it took at least this long.</summary>
    private const int KeptSlowestMilliseconds = 1000;
    private (byte[] input, string extension) _slowest = ([], "");

    private void Save(byte[] input, string extension, string why)
    {
        Stats.Crashes++;
        Directory.CreateDirectory(options.OutDir);
        string name = Path.Combine(options.OutDir, $"crash-{options.Target}-{options.Seed}-{Stats.Inputs}");
        File.WriteAllBytes(name + extension, input);
        File.WriteAllText(name + ".txt", why);
        Console.Error.WriteLine($"crash at input {Stats.Inputs}: {why.Split('\n')[0]}");
    }

    /// <summary>
    /// Loads, verifies and, when it verifies, runs a module under small limits in checked mode, and says how it
    /// ended; any exception but the documented ones escapes (the coverage-guided harness, tests/Hlvm.AflFuzz,
    /// runs modules through this too).
    /// </summary>
    public static string RunModule(Module module)
    {
        try
        {
            var vm = new Vm(new VmOptions
            {
                Out = TextWriter.Null,
                Error = TextWriter.Null,
                In = TextReader.Null,
                Heap = new HeapOptions { MaxBytes = 8 << 20, TrackObjects = true },
                Execution = new ExecutionOptions { Fuel = 50_000, MaxFrames = 500, Checked = true },
                // Mutated programs must not touch the machine: no natives that need a permission (files, environment).
                Natives = Runtime.Natives.NativeTable.All.Where(n => n.Permission is null).ToArray(),
            });
            LoadedModule loaded;
            try { loaded = vm.Load(module); }
            catch (VerifyException) { return "invalid"; }
            if (loaded.Entry is null) return "valid, no entry";
            vm.RunMain(loaded, ["fuzz"]);
            return "ran to completion";
        }
        catch (LimitExceededError) { return "ran out of fuel"; }
        catch (VmError e) { return "runtime error " + e.ErrorClass; }
    }
}

/// <summary>Mutates compiled modules: bytes blindly, and fields with knowledge of the format.</summary>
public sealed class ModuleFuzzer(FuzzOptions options, List<byte[]> corpus) : Fuzzer(options)
{
    protected override (byte[], string) Next()
    {
        var seed = corpus[Random.Next(corpus.Count)];
        return (Random.Next(6) switch
        {
            0 => FlipBits(seed),
            1 => InsertOrDelete(seed),
            2 => seed[..Random.Next(seed.Length)],
            3 => Splice(seed, corpus[Random.Next(corpus.Count)]),
            _ => Structured(seed),
        }, ".hlc");
    }

    protected override string Execute(byte[] input)
    {
        Module module;
        try { module = ModuleFormat.Read(input); }
        catch (ModuleFormatException) { return "malformed"; }
        return RunModule(module);
    }

    private byte[] FlipBits(byte[] seed)
    {
        var b = (byte[])seed.Clone();
        for (int n = Random.Next(1, 5); n > 0; n--) b[Random.Next(b.Length)] ^= (byte)(1 << Random.Next(8));
        return b;
    }

    private byte[] InsertOrDelete(byte[] seed)
    {
        var b = seed.ToList();
        for (int n = Random.Next(1, 4); n > 0 && b.Count > 1; n--)
        {
            int at = Random.Next(b.Count);
            if (Random.Next(2) == 0) b.RemoveAt(at);
            else b.Insert(at, (byte)Random.Next(256));
        }
        return [.. b];
    }

    private byte[] Splice(byte[] a, byte[] b)
    {
        int cut = Random.Next(a.Length);
        int from = Random.Next(b.Length);
        return [.. a.AsSpan(0, cut), .. b.AsSpan(from)];
    }

    /// <summary>Parses the module and changes one thing a compiler would never get wrong, then writes it back.</summary>
    private byte[] Structured(byte[] seed)
    {
        var m = ModuleFormat.Read(seed);
        if (m.Functions.Count == 0) return seed;
        var f = m.Functions[Random.Next(m.Functions.Count)];
        VmType[] types = [VmType.Int, VmType.Float, VmType.Bool, VmType.String, VmType.ArrayOf(VmType.Int), VmType.ArrayOf(VmType.String)];
        VmType AnyType() => types[Random.Next(types.Length)];
        switch (Random.Next(10))
        {
            case 8:
                {
                    // A long chain of classes, past the inheritance limit at times, a cycle at times: the verifier
                    // must say no without recursing once per class.
                    int n = Random.Next(2) == 0 ? Random.Next(1, 60) : Random.Next(900, 3000);
                    int first = m.Classes.Count;
                    for (int k = 0; k < n; k++)
                        m.Classes.Add(new ClassDef { Name = $"Chain{k}", Super = k == 0 ? (Random.Next(8) == 0 ? first + n - 1 : -1) : first + k - 1 });
                    break;
                }
            case 9:
                {
                    // Large declared sizes: locals, max stack, exception handlers over the whole code.
                    switch (Random.Next(3))
                    {
                        case 0:
                            f.Locals = [.. f.Locals, .. Enumerable.Repeat(AnyType(), Random.Next(1000, 60000))];
                            break;
                        case 1:
                            f.MaxStack = Random.Next(2) == 0 ? ModuleFormat.MaxStackLimit : Random.Next(1 << 20);
                            break;
                        default:
                            if (m.Classes.Count == 0) break;
                            var h = new ExceptionHandler(0, f.Code.Length, 0, Random.Next(m.Classes.Count));
                            f.Handlers = [.. f.Handlers, .. Enumerable.Repeat(h, Random.Next(100, 5000))];
                            break;
                    }
                    break;
                }
            case 0 when f.Locals.Length > 0:
                f.Locals[Random.Next(f.Locals.Length)] = AnyType();
                break;
            case 1:
                f.MaxStack = Math.Max(0, f.MaxStack + Random.Next(-2, 2));
                break;
            case 2:
                f.Return = Random.Next(3) == 0 ? VmType.Void : AnyType();
                break;
            case 3 when m.Types.Count > 0:
                m.Types[Random.Next(m.Types.Count)] = AnyType();
                break;
            case 4 when f.Params.Length > 0:
                {
                    int i = Random.Next(f.Params.Length);
                    f.Params[i] = AnyType();
                    f.Locals[i] = f.Params[i];
                    break;
                }
            default:
                f.Code = MutateCode(f.Code);
                break;
        }
        return ModuleFormat.Write(m);
    }

    /// <summary>Replaces, inserts, deletes or swaps whole instructions, keeping operands of the right widths.</summary>
    private byte[] MutateCode(byte[] code)
    {
        var instructions = new List<byte[]>();
        for (int pc = 0; pc < code.Length;)
        {
            var info = OpcodeInfo.Of(code[pc]);
            int size = info is null ? 1 : Math.Min(info.Size, code.Length - pc);
            instructions.Add(code[pc..(pc + size)]);
            pc += size;
        }
        int at = instructions.Count == 0 ? 0 : Random.Next(instructions.Count);
        switch (Random.Next(4))
        {
            case 0 when instructions.Count > 0:
                instructions[at] = RandomInstruction(instructions);
                break;
            case 1:
                instructions.Insert(at, RandomInstruction(instructions));
                break;
            case 2 when instructions.Count > 1:
                instructions.RemoveAt(at);
                break;
            default:
                if (instructions.Count > 1)
                {
                    int other = Random.Next(instructions.Count);
                    (instructions[at], instructions[other]) = (instructions[other], instructions[at]);
                }
                break;
        }
        return [.. instructions.SelectMany(i => i)];
    }

    private byte[] RandomInstruction(List<byte[]> existing)
    {
        var info = OpcodeInfo.All[Random.Next(OpcodeInfo.All.Length)];
        var bytes = new byte[info.Size];
        bytes[0] = (byte)info.Op;
        int p = 1;
        foreach (var kind in info.Operands)
        {
            int width = OpcodeInfo.Width(kind);
            // Small operands are the interesting ones: they hit real locals, constants and instruction starts.
            long value = kind == OperandKind.Target
                ? existing.Take(Random.Next(existing.Count + 1)).Sum(i => i.Length)
                : Random.Next(4) == 0 ? Random.NextInt64() : Random.Next(4);
            for (int k = 0; k < width; k++) bytes[p + k] = (byte)(value >> (8 * k));
            p += width;
        }
        return bytes;
    }
}

/// <summary>Mutates programs at the token level and compiles them; what compiles must verify, and is run.</summary>
public sealed class SourceFuzzer : Fuzzer
{
    private readonly List<List<string>> _programs;
    private readonly List<string> _vocabulary;

    public SourceFuzzer(FuzzOptions options, List<(string name, string text)> corpus) : base(options)
    {
        _programs = corpus.Select(s => Tokens(s.text)).ToList();
        _vocabulary = _programs.SelectMany(p => p).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The program's tokens, with the whitespace and comments before each kept attached to it.</summary>
    private static List<string> Tokens(string text)
    {
        var lexer = new HlLexer(new AntlrInputStream(text));
        lexer.RemoveErrorListeners();
        var tokens = new List<string>();
        int last = 0;
        for (var t = lexer.NextToken(); t.Type != TokenConstants.EOF; t = lexer.NextToken())
        {
            if (t.Channel != TokenConstants.DefaultChannel) continue;
            tokens.Add(text[last..(t.StopIndex + 1)]);
            last = t.StopIndex + 1;
        }
        tokens.Add(text[last..]);
        return tokens;
    }

    protected override (byte[], string) Next()
    {
        var tokens = new List<string>(_programs[Random.Next(_programs.Count)]);
        for (int n = Random.Next(1, 4); n > 0 && tokens.Count > 1; n--)
        {
            int at = Random.Next(tokens.Count);
            string any = " " + _vocabulary[Random.Next(_vocabulary.Count)].Trim();
            switch (Random.Next(5))
            {
                case 0: tokens.RemoveAt(at); break;
                case 1: tokens.Insert(at, tokens[at]); break;
                case 2: tokens[at] = any; break;
                case 3: tokens.Insert(at, any); break;
                default:
                    int other = Random.Next(tokens.Count);
                    (tokens[at], tokens[other]) = (tokens[other], tokens[at]);
                    break;
            }
        }
        return (Encoding.UTF8.GetBytes(string.Concat(tokens)), ".hl");
    }

    protected override string Execute(byte[] input)
    {
        var result = Compilation.Compile("fuzz.hl", Encoding.UTF8.GetString(input));
        if (result.Module is null)
        {
            if (result.Diagnostics.Count == 0) throw new InvalidOperationException("compilation failed without a diagnostic");
            foreach (var d in result.Diagnostics) _ = d.Format();
            return "compile error";
        }
        var module = ModuleFormat.Read(ModuleFormat.Write(result.Module));
        try { Verifier.Verify(module); }
        catch (VerifyException e) { throw new InvalidOperationException("the compiler emitted a module the verifier rejects: " + e.Message, e); }
        return "compiled, " + RunModule(module);
    }
}

/// <summary>
/// Mutates bundles (signed with a key the fuzzer trusts, and one unsigned): bit flips anywhere, truncations,
/// insertions and deletions, and header fields set to edge values, then re-signed half of the time so that the
/// reader's checks past the signature are reached too. Each input is opened, every entry read, and the entry
/// module, when it reads, run as the module fuzzer runs one. A rejection must be a BundleException.
/// </summary>
public sealed class BundleFuzzer(FuzzOptions options, List<byte[]> corpus) : Fuzzer(options)
{
    public static readonly (string PrivateKey, string PublicKey) Key = Signing.CreateKeyPair();

    private static readonly TrustPolicy Trust = new([Signing.ParsePublicKey(Key.PublicKey)], AllowUnsigned: true);

    private readonly ContentCache _cache = new(Directory.CreateTempSubdirectory("hlvm-fuzz-cache-").FullName);

    protected override (byte[], string) Next()
    {
        var bundle = (byte[])corpus[Random.Next(corpus.Count)].Clone();
        switch (Random.Next(4))
        {
            case 0:
                for (int n = Random.Next(1, 4); n > 0; n--) bundle[Random.Next(bundle.Length)] ^= (byte)(1 << Random.Next(8));
                break;
            case 1:
                bundle = bundle[..Random.Next(bundle.Length)];
                break;
            case 2:
                int at = Random.Next(bundle.Length);
                bundle = Random.Next(2) == 0 ? [.. bundle[..at], (byte)Random.Next(256), .. bundle[at..]] : [.. bundle[..at], .. bundle[Math.Min(bundle.Length, at + 1 + Random.Next(8))..]];
                break;
            default:
                int field = Random.Next(9) * 4 + 8;
                long value = Random.Next(5) switch { 0 => 0, 1 => -1, 2 => int.MaxValue, 3 => Random.Next(1 << 16), _ => 1L << Random.Next(40) };
                BitConverter.GetBytes(value).AsSpan(0, Math.Min(8, bundle.Length - field)).CopyTo(bundle.AsSpan(field));
                break;
        }
        if (Random.Next(2) == 0) Resign(bundle);
        return (bundle, ".hlb");
    }

    /// <summary>Signs the mutated front again when it still parses far enough to say where its signature is.</summary>
    private static void Resign(byte[] bundle)
    {
        if (bundle.Length < BundleFront.HeaderSize || (bundle[10] & 1) == 0) return;
        uint manifest = BitConverter.ToUInt32(bundle, 12), toc = BitConverter.ToUInt32(bundle, 16);
        long signed = BundleFront.HeaderSize + (long)manifest + toc;
        if (signed + BundleFront.SignatureBlockSize > bundle.Length) return;
        var (key, signature) = Signing.Signer(Key.PrivateKey)(bundle[..(int)signed]);
        key.CopyTo(bundle, signed);
        signature.CopyTo(bundle, signed + BundleFront.PublicKeySize);
    }

    protected override string Execute(byte[] input)
    {
        try
        {
            using var bundle = Bundle.Open(new MemoryBundleSource(input), _cache, Trust);
            foreach (var entry in bundle.Front.Entries) bundle.Read(entry);
            Module module;
            try { module = ModuleFormat.Read(bundle.Read(bundle.EntryModule)); }
            catch (ModuleFormatException) { return "opened, module malformed"; }
            return "opened, " + RunModule(module);
        }
        catch (BundleException e)
        {
            // Grouped by the kind of rejection: the message's first words, numbers and names left out.
            string kind = System.Text.RegularExpressions.Regex.Replace(e.Message, @"\d+|'[^'\s]*'|""[^""]*""", "_");
            return "rejected: " + string.Join(' ', kind.Split(' ').Take(5));
        }
    }
}

/// <summary>
/// Differential fuzzing of the two engines: mutated sources (as the source fuzzer makes them) and mutated modules
/// (as the module fuzzer does) that compile and verify run in the interpreter, then with every function compiled
/// before it first runs, tiered with a threshold of 1 (frames of both engines mixed) and tiered with a threshold
/// of 3 (loops entered from the interpreter, which then goes on in their callers), all with the same fuel,
/// and without fuel (compiled first, and tiered at 3) when the program finished within it. Any difference in the result, the output, or the error
/// with its trace (where the fuel ran out included) is a finding, saved like a crash.
/// </summary>
public sealed class DifferentialFuzzer(FuzzOptions options, List<(string name, string text)> sources, List<byte[]> modules) : Fuzzer(options)
{
    private readonly SourceFuzzer _sources = new(options with { Seed = options.Seed * 2 + 1 }, sources);
    private readonly ModuleFuzzer _modules = new(options with { Seed = options.Seed * 2 + 2 }, modules);

    /// <summary>The natives a compared program may call: none that needs a permission, none whose answer changes from run to run.</summary>
    private static readonly Runtime.Natives.NativeDef[] Natives =
        Runtime.Natives.NativeTable.All.Where(n => n.Permission is null && !n.Name.StartsWith("time.", StringComparison.Ordinal)).ToArray();

    /// <summary>Whether the input being tried is a module (else a source).</summary>
    private bool _module;

    protected override (byte[], string) Next()
    {
        _module = Random.Next(3) == 0;
        return _module ? _modules.Generate() : _sources.Generate();
    }

    protected override string Execute(byte[] input)
    {
        Module module;
        if (_module)
        {
            try { module = ModuleFormat.Read(input); }
            catch (ModuleFormatException) { return "malformed"; }
        }
        else
        {
            var result = Compilation.Compile("fuzz.hl", Encoding.UTF8.GetString(input));
            if (result.Module is null) return "compile error";
            module = result.Module;
        }
        try { Verifier.Verify(module, Natives); }
        catch (VerifyException) { return "invalid"; }
        if (module.EntryFunction < 0) return "no entry";
        var reference = RunIn(module, compiler: null, threshold: 0, metered: true);
        // With the same fuel, every engine stops at the same instruction: compared whether or not it ran out.
        foreach (int threshold in new[] { 0, 1, 3 })
        {
            var compiler = new Hlvm.Jit.CilCompiler();
            var compiled = RunIn(module, compiler, threshold, metered: true);
            JitFailed(compiler);
            if (compiled != reference)
                throw new InvalidOperationException($"the engines differ (--fuel, jit threshold {threshold}):\ninterp: {reference}\njit:    {compiled}");
        }
        // Without fuel (compiled code's other form), when the program finished within it: compiled before it runs,
        // and tiered at a threshold of 3, where loops move to compiled code in their middle (on-stack replacement
        // without fuel enters some loops at their header, which a run with fuel never does). A profiler samples
        // these runs at its highest rate, so that polls find attention asked for and compiled loops go out to the
        // interpreter and back in (nothing else asks for attention before the 10-second stop).
        if (reference.Kind != "fuel")
        {
            foreach (int threshold in new[] { 0, 3 })
            {
                var compiler = new Hlvm.Jit.CilCompiler();
                var unmetered = RunIn(module, compiler, threshold, metered: false, sampled: true);
                JitFailed(compiler);
                if (unmetered != reference)
                    throw new InvalidOperationException($"the engines differ (no fuel, jit threshold {threshold}):\ninterp: {reference}\njit:    {unmetered}");
            }
        }
        return "same in every engine (" + reference.Kind + ")";
    }

    private sealed record Outcome(string Kind, string Result, string Out, string Err);

    /// <summary>A function the JIT failed to emit runs interpreted, so the outputs agree: a finding all the same.</summary>
    private static void JitFailed(Hlvm.Jit.CilCompiler compiler)
    {
        if (compiler.Failures.Count > 0) throw new InvalidOperationException("the JIT failed: " + string.Join("; ", compiler.Failures));
    }

    private static Outcome RunIn(Module module, Hlvm.Jit.CilCompiler? compiler, int threshold, bool metered, bool sampled = false)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        var vm = new Vm(new VmOptions
        {
            Out = output,
            Error = error,
            In = TextReader.Null,
            Heap = new HeapOptions { MaxBytes = 8 << 20 },
            Execution = new ExecutionOptions
            {
                Fuel = metered ? 200_000 : null, MaxFrames = 500, Compiler = compiler, JitThreshold = threshold, JitLoopThreshold = threshold,
                Profiler = sampled ? new Runtime.Profiling.Profiler(rate: 100_000) : null,
            },
            Natives = Natives,
        });
        // A difference that makes the compiled program run on is stopped, and shows as a different outcome.
        using var timer = new Timer(_ => vm.Interrupt(new LimitExceededError("timeout", "stopped after 10 s")), null, 10_000, Timeout.Infinite);
        try
        {
            var loaded = vm.Load(module);
            long result = vm.RunMain(loaded, ["fuzz"]);
            return new("returned", result.ToString(System.Globalization.CultureInfo.InvariantCulture), output.ToString(), error.ToString());
        }
        catch (LimitExceededError e) when (e.Limit == "fuel")
        {
            return new("fuel", "", output.ToString(), error.ToString());
        }
        catch (VmError e)
        {
            return new("error " + e.ErrorClass, e.Format(), output.ToString(), error.ToString());
        }
    }
}
