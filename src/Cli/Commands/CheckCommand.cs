using System.CommandLine;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Verification;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm check FILE</c>: compiles a program, or verifies a module, and reports its errors without running it.</summary>
internal static class CheckCommand
{
    private const string Takes = "a program (.hl) or a compiled module (.hlc)";

    public static Command Create(CliContext cli)
    {
        var file = Arguments.File(Takes);
        var command = new Command("check", "Compile a program (or verify a module) and report its errors without running it") { file };
        var inputs = new Inputs(cli);
        command.SetAction(p =>
        {
            string path = p.GetValue(file)!;
            var bytes = inputs.ReadProgram("check", path, Takes, out int readCode);
            if (bytes is null) return readCode;
            if (Inputs.IsModule(bytes))
            {
                try
                {
                    // As run checks it: a module without a main verifies, but does not run.
                    return Verifier.Verify(ModuleFormat.Read(bytes)).Entry is null ? inputs.NoEntry(path) : ExitCodes.Ok;
                }
                catch (Exception e) when (e is ModuleFormatException or VerifyException)
                {
                    cli.Messages.WriteLine($"hlvm: {Inputs.Shown(path)}: {e.Message}");
                    return ExitCodes.DataError;
                }
            }
            return inputs.CompileSource(path, bytes, out int exitCode) is null ? exitCode : ExitCodes.Ok;
        });
        return command;
    }
}
