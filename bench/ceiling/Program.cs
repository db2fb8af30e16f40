// The larger bench programs written directly in C#: `dotnet Ceiling.dll NAME [ARGS...]` runs bench/programs/NAME.hl's
// counterpart with the same arguments and prints the same output, byte for byte. `dotnet Ceiling.dll --runs N NAME
// [ARGS...]` runs it N more times in the same process after that first run, their output discarded, and prints each
// run's milliseconds to stderr, .NET's heap collected before each run, untimed: the counterpart of `hlvm bench`'s
// in-process figures, once the process has started and .NET has compiled (and tiered) the program's code.
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;

namespace Ceiling;

static class Program
{
    static int Main(string[] args)
    {
        int runs = 0;
        if (args.Length >= 2 && args[0] == "--runs")
        {
            if (!int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out runs) || runs < 1) { Console.Error.WriteLine("Ceiling: --runs takes a count of 1 or more"); return 2; }
            args = args[2..];
        }
        if (args.Length == 0) { Console.Error.WriteLine("usage: Ceiling [--runs N] NAME [ARGS...]  (NAME: json, scheduler, interp)"); return 2; }
        int code = RunOnce(args);
        if (runs == 0) return code;
        Console.Out.Flush();
        var stdout = Console.Out;
        Console.SetOut(TextWriter.Null);
        for (int i = 0; i < runs; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long start = Stopwatch.GetTimestamp();
            RunOnce(args);
            Console.Error.WriteLine(Stopwatch.GetElapsedTime(start).TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture));
        }
        Console.SetOut(stdout);
        return code;
    }

    static int RunOnce(string[] args)
    {
        var rest = args[1..];
        switch (args[0])
        {
            case "json": return JsonProgram.Run(rest);
            case "scheduler": return SchedulerProgram.Run(rest);
            case "interp": return InterpProgram.Run(rest);
            default: Console.Error.WriteLine($"Ceiling: no program '{args[0]}' (json, scheduler, interp)"); return 2;
        }
    }
}
