using System.CommandLine;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Verification;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm check FILE</c>: compiles and verifies a program, or verifies a module, and reports its errors without running it.</summary>
internal static class CheckCommand
{
    private const string Takes = "a program (.hl) or a compiled module (.hlc)";

    public static Command Create(CliContext cli)
    {
        var file = Arguments.File(Takes);
        var command = new Command("check", "Compile and verify a program (or verify a module) and report its errors without running it") { file };
        var inputs = new Inputs(cli);
        command.SetAction(p =>
        {
            string path = p.GetValue(file)!;
            var bytes = inputs.ReadProgram("check", path, Takes, out int readCode);
            if (bytes is null) return readCode;
            try
            {
                Module module;
                if (Inputs.IsModule(bytes)) module = ModuleFormat.Read(bytes);
                else if (inputs.CompileSource(path, bytes, out int exitCode) is { } compiled) module = compiled;
                else return exitCode;
                // As run checks it, a program's compiled module too: one the verifier refuses (its bounds on the work
                // and memory of checking a function, on classes) passed check and failed at run. A module without a
                // main verifies, but does not run.
                return Verifier.Verify(module).Entry is null ? inputs.NoEntry(path) : ExitCodes.Ok;
            }
            catch (Exception e) when (e is ModuleFormatException or VerifyException)
            {
                cli.Messages.WriteLine($"hlvm: {Inputs.Shown(path)}: {e.Message}");
                return ExitCodes.DataError;
            }
        });
        return command;
    }
}
