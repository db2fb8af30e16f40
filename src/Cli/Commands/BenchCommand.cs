using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Hlvm.Cli.Parsing;
using Spectre.Console;

namespace Hlvm.Cli.Commands;

/// <summary>
/// <c>hlvm bench PROGRAM [--engines interp,jit,tiered] [--runs N] [--warmup N] [--timeout T] [--export FILE] [-- ARGS]</c>:
/// times whole runs of a program in each engine, in this process (the program is compiled and verified once;
/// each run loads it into a new sandbox with no grants and the default limits, and runs main, its output
/// discarded), and prints the mean with its standard deviation, the minimum, the maximum and the ratio to the
/// first engine, as a table. The engines take turns, a run of each per round, the first of a round moving on by
/// one each round: timed one after another, the engines timed later ran in a process whose .NET had compiled more
/// of the runtime's code, and in a different state of the machine.
/// </summary>
internal static class BenchCommand
{
    private static readonly string[] Engines = ["interp", "jit", "tiered"];

    public static Command Create(CliContext cli)
    {
        var file = Arguments.File("a program (.hl) or a compiled module (.hlc)");
        var args = new Argument<string[]>("ARGS") { Description = "the program's arguments; those that start with '-' go after '--'", Arity = ArgumentArity.ZeroOrMore };
        var engines = OptionKinds.Path("--engines", "LIST", $"the engines to time, in order, separated by commas: {string.Join(", ", Engines)} (default: all three)");
        var runs = OptionKinds.Count("--runs", "N", "timed runs per engine", 1, 1000, 5, 5);
        var warmup = OptionKinds.Count("--warmup", "N", "untimed runs per engine first", 0, 100, 1, 1);
        var export = OptionKinds.Output("--export", "FILE", "also write the results to FILE: .json, or .md (a markdown table)");
        var timeout = OptionKinds.Duration("--timeout", "most wall time of each run: 500ms, 10s, 2m (a bare number is seconds); a run past it ends the bench (exit 75)");
        var command = new Command("bench", "Time whole runs of a program in each engine and compare them.\n"
            + "The program is compiled once; each run loads it into a new sandbox (no grants, the default limits) and runs main, its output discarded. "
            + "The engines take turns: each round runs every engine once.")
        {
            file, args, engines, runs, warmup, timeout, export,
        };
        command.SetAction(p =>
        {
            string path = p.GetValue(file)!;
            var chosen = (engines.Get(p) ?? "interp,jit,tiered").Split(',', StringSplitOptions.TrimEntries);
            // An engine named twice would be timed twice and shown in two rows as if they were two engines.
            string? wrong = chosen.Any(e => e.Length == 0) ? "a name in the list is empty"
                : chosen.FirstOrDefault(e => !Engines.Contains(e)) is { } bad ? $"'{bad}' is not an engine"
                : chosen.Where((e, i) => Array.IndexOf(chosen, e) != i).FirstOrDefault() is { } twice ? $"'{twice}' is named twice"
                : null;
            if (wrong is not null)
            {
                cli.Messages.WriteLine($"hlvm bench: --engines: {wrong} (it takes some of: {string.Join(", ", Engines)}, each once)");
                return ExitCodes.Usage;
            }
            string? exportPath = export.Get(p);
            if (exportPath is not null && !(exportPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || exportPath.EndsWith(".md", StringComparison.OrdinalIgnoreCase)))
            {
                cli.Messages.WriteLine("hlvm bench: --export: the file's name must end with .json or .md");
                return ExitCodes.Usage;
            }
            var inputs = new Inputs(cli);
            if (exportPath is not null && inputs.RefuseUnwritable(exportPath) is { } refused) return refused;
            const string Takes = "a program (.hl) or a compiled module (.hlc)";
            var bytes = inputs.ReadProgram("bench", path, Takes, out int readCode);
            if (bytes is null) return readCode;
            var module = inputs.LoadModule(path, bytes, out int exitCode);
            if (module is null) return exitCode;
            int n = (int)runs.Get(p)!.Value, w = (int)warmup.Get(p)!.Value;
            var programArgs = p.GetValue(args) ?? [];
            var limit = timeout.Get(p);
            var results = chosen.Select(e => (Engine: e, Seconds: new double[n])).ToList();
            // Every run reads the same standard input: the first (a warm-up, unless there are none) as it comes, the
            // others what it read, at once (as a comparison gives its runs theirs). The runs read none before: a
            // program that needs its input failed, and one that reads it was timed reading nothing.
            using var input = new RepeatedInput(cli.In);
            for (int round = -w; round < n; round++)
            {
                for (int k = 0; k < results.Count; k++)
                {
                    var (engine, times) = results[(round + w + k) % results.Count];
                    if (cli.Interactive) cli.Err.Write($"\rhlvm bench: {(round < 0 ? "warming up" : $"round {round + 1} of {n}")}: {engine}        ");
                    var quiet = new CliContext(TextWriter.Null, new StringWriter(), input.Next(), IsProcess: false);
                    // The runs before left their VMs' heaps to .NET's collector: collected here, untimed, not
                    // during the run (as BenchmarkDotNet does between its iterations).
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    var runner = new Runner(quiet);
                    var clock = Stopwatch.StartNew();
                    int code = runner.RunSandboxed(new RunSettings(path, programArgs) { Engine = engine, Timeout = limit }, path, module,
                        o => o with { AppDirectory = Path.GetDirectoryName(Path.GetFullPath(path))! });
                    clock.Stop();
                    // A program that returns an exit code of its own is timed; one that an error or a limit stopped is not.
                    if (!runner.Returned)
                    {
                        if (cli.Interactive) cli.Err.Write('\r');
                        cli.Messages.WriteLine($"hlvm bench: {Inputs.Shown(path)} under {engine} did not end as it meant to (exit {code}); nothing to time");
                        cli.Messages.Write(quiet.Err.ToString());
                        return code;
                    }
                    if (input.TooLong(cli, "hlvm bench")) return ExitCodes.LimitExceeded;
                    if (round >= 0) times[round] = clock.Elapsed.TotalSeconds;
                }
            }
            if (cli.Interactive) cli.Err.Write("\r" + new string(' ', 70) + "\r");
            var rows = results.Select(r => Row(r.Engine, r.Seconds, results[0].Seconds.Average())).ToList();
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(cli.Out),
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
            var table = new Table().Border(TableBorder.Simple)
                .AddColumn("engine").AddColumn(new TableColumn(n == 1 ? "time" : "mean ± sd").RightAligned()).AddColumn(new TableColumn("min").RightAligned())
                .AddColumn(new TableColumn("max").RightAligned()).AddColumn(new TableColumn($"/ {results[0].Engine}").RightAligned());
            foreach (var r in rows) table.AddRow(r.Engine, r.Sd is { } sd ? $"{Ms(r.Mean)} ± {Ms(sd)}" : Ms(r.Mean), Ms(r.Min), Ms(r.Max), r.Ratio.ToString("F2", CultureInfo.InvariantCulture));
            cli.Out.WriteLine($"hlvm bench: {Inputs.Shown(path)}, {n} run{(n == 1 ? "" : "s")} per engine {(w == 0 ? "with no warm-up" : $"after {w} warm-up{(w == 1 ? "" : "s")}")}, in this process, the engines taking turns");
            console.Write(table);
            cli.Out.Flush();
            if (exportPath is null) return ExitCodes.Ok;
            string text = exportPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                ? JsonSerializer.Serialize(new
                {
                    program = path,
                    runs = n,
                    warmup = w,
                    unit = "seconds",
                    engines = rows.Select(r => new { engine = r.Engine, mean = r.Mean, sd = r.Sd, min = r.Min, max = r.Max, ratio = r.Ratio, seconds = results.First(x => x.Engine == r.Engine).Seconds }),
                }, new JsonSerializerOptions { WriteIndented = true }) + "\n"
                : $"| engine | mean | sd | min | max | / {results[0].Engine} |\n| --- | ---: | ---: | ---: | ---: | ---: |\n"
                  + string.Concat(rows.Select(r => $"| {r.Engine} | {Ms(r.Mean)} | {(r.Sd is { } sd ? Ms(sd) : "–")} | {Ms(r.Min)} | {Ms(r.Max)} | {r.Ratio.ToString("F2", CultureInfo.InvariantCulture)} |\n"));
            int written = inputs.WriteFile(exportPath, new System.Text.UTF8Encoding(false).GetBytes(text));
            if (written == ExitCodes.Ok) cli.Messages.WriteLine($"hlvm bench: wrote {Inputs.Shown(exportPath)}");
            return written;
        });
        return command;
    }

    /// <summary>An engine's figures; the standard deviation is null for a single run, which has none (shown as 0,
    /// it read as a measured spread).</summary>
    private static (string Engine, double Mean, double? Sd, double Min, double Max, double Ratio) Row(string engine, double[] s, double baseline)
    {
        double mean = s.Average();
        double? sd = s.Length > 1 ? Math.Sqrt(s.Sum(x => (x - mean) * (x - mean)) / (s.Length - 1)) : null;
        return (engine, mean, sd, s.Min(), s.Max(), mean / baseline);
    }

    private static string Ms(double seconds) => (seconds * 1000).ToString("F1", CultureInfo.InvariantCulture) + " ms";
}
