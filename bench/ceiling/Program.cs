// The larger bench programs written directly in C#: `dotnet Ceiling.dll NAME [ARGS...]` runs bench/programs/NAME.hl's
// counterpart with the same arguments and prints the same output, byte for byte.
using System;

namespace Ceiling;

static class Program
{
    static int Main(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine("usage: Ceiling NAME [ARGS...]  (NAME: json, scheduler, interp)"); return 2; }
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
