using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Running;
using Hlvm.Compiler;
using Hlvm.Runtime;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Bench;

/// <summary>
/// Runs every program of bench/programs in-process, per engine, at its full size (or at the size given by the
/// environment variable HLVM_BENCH_SIZE, for a quick look). Compiling and verifying happen once, outside the
/// measurement; each measured run loads the module into a new VM, as `hlvm run` does, and runs main.
///
///   dotnet run -c Release --project bench/Hlvm.Bench -- --filter '*'
///   dotnet run -c Release --project bench/Hlvm.Bench -- --filter '*fib*'
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
[MemoryDiagnoser]
public class Programs
{
    private Module _module = null!;
    private string[] _args = [];

    public static IEnumerable<string> Names() =>
        Directory.EnumerateFiles(Path.Combine(Root(), "bench", "programs"), "*.hl").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!;

    [ParamsSource(nameof(Names))]
    public string Program { get; set; } = "";

    /// <summary>The execution engine, as <c>hlvm run --engine</c> names it.</summary>
    [Params("interp", "jit", "tiered")]
    public string Engine { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        string path = Path.Combine(Root(), "bench", "programs", Program + ".hl");
        var result = Compilation.Compile(path, File.ReadAllText(path));
        _module = result.Module ?? throw new InvalidOperationException($"{Program} does not compile: {string.Join("; ", result.Diagnostics.Select(d => d.Format()))}");
        _args = Environment.GetEnvironmentVariable("HLVM_BENCH_SIZE") is { Length: > 0 } size ? [size] : [];
    }

    [Benchmark]
    public long Run()
    {
        var vm = new Vm(new VmOptions
        {
            Out = TextWriter.Null,
            Execution = new Runtime.Execution.ExecutionOptions
            {
                // As `hlvm run` sets it up: tiered compiles to machine code on the JIT's thread.
                Compiler = Engine == "interp" ? null : new Jit.CilCompiler { Background = Engine == "tiered" },
                JitThreshold = Engine == "jit" ? 0 : Runtime.Execution.ExecutionOptions.DefaultJitThreshold,
            },
        });
        return vm.RunMain(vm.Load(_module), _args);
    }

    internal static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Hlvm.sln"))) return dir.FullName;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Hlvm.sln"))) return dir.FullName;
        throw new InvalidOperationException("run the benchmarks inside the repository");
    }
}

/// <summary>
/// What profiling costs: the same programs run in-process under the default engine with and without a profiler
/// at the default rate (which also counts every call).
///
///   dotnet run -c Release --project bench/Hlvm.Bench -- --filter '*ProfilerOverhead*'
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 7)]
public class ProfilerOverhead
{
    private Module _module = null!;

    [Params("fib", "nbody", "binarytrees", "json")]
    public string Program { get; set; } = "";

    [Params(false, true)]
    public bool Profiled { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string path = Path.Combine(Programs.Root(), "bench", "programs", Program + ".hl");
        _module = Compilation.Compile(path, File.ReadAllText(path)).Module!;
    }

    [Benchmark]
    public long Run()
    {
        var vm = new Vm(new VmOptions
        {
            Out = TextWriter.Null,
            Execution = new Runtime.Execution.ExecutionOptions
            {
                Compiler = new Jit.CilCompiler { CountCalls = Profiled, Background = true },
                Profiler = Profiled ? new Runtime.Profiling.Profiler() : null,
            },
        });
        return vm.RunMain(vm.Load(_module), []);
    }
}

public static class EntryPoint
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Programs).Assembly).Run(args);
}
