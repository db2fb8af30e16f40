using System.CommandLine;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm disasm FILE</c>: prints a program's or module's bytecode in the text form (<c>.hlasm</c>).</summary>
internal static class DisasmCommand
{
    private const string Takes = "a program (.hl) or a compiled module (.hlc)";

    public static Command Create(CliContext cli)
    {
        var file = Arguments.File(Takes);
        var command = new Command("disasm", "Print a program's or module's bytecode in the text form (.hlasm)") { file };
        var inputs = new Inputs(cli);
        command.SetAction(p =>
        {
            string path = p.GetValue(file)!;
            var bytes = inputs.ReadProgram("disasm", path, Takes, out int readCode);
            if (bytes is null) return readCode;
            var module = inputs.LoadModule(path, bytes, out int exitCode);
            if (module is null) return exitCode;
            cli.Out.Write(Disassembler.Disassemble(module));
            return ExitCodes.Ok;
        });
        return command;
    }
}
