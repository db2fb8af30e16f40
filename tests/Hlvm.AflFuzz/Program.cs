using Hlvm.AflFuzz;
using SharpFuzz;

// hlvm-afl-fuzz: the targets of coverage-guided fuzzing with AFL++ (see docs/afl.md). Each run reads one input from
// standard input; under afl-fuzz, SharpFuzz's fork server feeds it input after input, and an exception that
// escapes a target is reported to afl-fuzz as a crash. Run by scripts/afl-fuzz.sh, which instruments
// Hlvm.Runtime.dll and Hlvm.Compiler.dll first.
//
//   dotnet Hlvm.AflFuzz.dll modules  < input.hlc    a module: load, verify and, when it verifies, run it
//   dotnet Hlvm.AflFuzz.dll compiler < input.hl     a program: compile it; what compiles must verify
//
// Outside afl-fuzz the target runs the input once, so a saved crash reproduces with its stack trace (exit code
// 134, the runtime's abort on an unhandled exception). Exit codes: 0 the input was handled, 64 bad usage.

Action<Stream>? target = args is [var name] ? name switch
{
    "modules" => stream => Targets.Modules(Targets.ReadAll(stream)),
    "compiler" => stream => Targets.Compiler(Targets.ReadAll(stream)),
    _ => null,
} : null;
if (target is null)
{
    Console.Error.WriteLine("usage: hlvm-afl-fuzz modules|compiler < INPUT");
    return 64;
}
// Out of process: the fork server runs the target in a child process and starts a new one when it dies, so a
// timeout or an uncatchable StackOverflowException is a finding rather than the end of the campaign.
Fuzzer.OutOfProcess.Run(target);
return 0;
