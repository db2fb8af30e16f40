using System.Diagnostics;
using Hlvm.Fuzz;

// hlvm-fuzz: deterministic, seeded fuzzing of the module loader, verifier and interpreter (modules) and of the
// compiler (sources), of the bundle reader (bundles), and of the interpreter against the JIT (differential).
// See docs/fuzzing.md.
//
//   dotnet run --project tests/Hlvm.Fuzz -c Release -- modules --seed 1 --count 20000
//   dotnet run --project tests/Hlvm.Fuzz -c Release -- sources --seed 1 --count 5000
//   dotnet run --project tests/Hlvm.Fuzz -c Release -- bundles --seed 1 --count 5000
//
// Exit codes: 0 nothing found, 1 a crash was found (saved under --out), 64 bad usage.

if (args.Length == 0 || args[0] is not ("modules" or "sources" or "bundles" or "differential"))
{
    Console.Error.WriteLine("usage: hlvm-fuzz modules|sources|bundles|differential [--seed N] [--count N] [--out DIR]");
    return 64;
}
var options = new FuzzOptions { Target = args[0] };
for (int i = 1; i < args.Length; i++)
{
    string flag = args[i];
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{flag} needs a value");
    try
    {
        switch (flag)
        {
            case "--seed": options.Seed = int.Parse(Value()); break;
            case "--count": options.Count = long.Parse(Value()); break;
            case "--out": options.OutDir = Value(); break;
            default: throw new ArgumentException($"unknown flag {flag}");
        }
    }
    catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
    {
        Console.Error.WriteLine($"hlvm-fuzz: {e.Message}");
        return 64;
    }
}

var root = Corpus.FindRoot();
var stopwatch = Stopwatch.StartNew();
var stats = options.Target switch
{
    "modules" => new ModuleFuzzer(options, Corpus.Modules(root)).Run(),
    "sources" => new SourceFuzzer(options, Corpus.Sources(root)).Run(),
    "differential" => new DifferentialFuzzer(options, Corpus.Sources(root), Corpus.Modules(root)).Run(),
    _ => new BundleFuzzer(options, Corpus.Bundles(root)).Run(),
};
double seconds = stopwatch.Elapsed.TotalSeconds;
Console.WriteLine($"{options.Target}: {stats.Inputs} inputs in {seconds:F1} s ({stats.Inputs / seconds:F0}/s), seed {options.Seed}");
Console.WriteLine($"  slowest input: #{stats.SlowestInput}, {stats.SlowestMilliseconds} ms{(stats.SlowestSaved is { } saved ? $", saved as {saved}" : "")}");
int widest = stats.Outcomes.Keys.DefaultIfEmpty("").Max(o => o.Length);
foreach (var (outcome, count) in stats.Outcomes.OrderByDescending(kv => kv.Value))
    Console.WriteLine($"  {outcome.PadRight(widest)} {count,10}");
if (stats.Crashes > 0)
{
    Console.WriteLine($"{stats.Crashes} crashes saved under {options.OutDir}");
    return 1;
}
return 0;
