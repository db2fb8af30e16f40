using System.CommandLine;
using Hlvm.Sandbox;
using Hlvm.Cli.Parsing;
using Hlvm.Compiler.Assembly;
using Hlvm.Compiler.Diagnostics;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm asm FILE.hlasm [-o FILE.hlc]</c>: assembles the text form into a module, without verifying it.</summary>
internal static class AsmCommand
{
    private const string Takes = "a module's text form (.hlasm)";

    public static Command Create(CliContext cli)
    {
        var file = Arguments.File($"{Takes}, as disasm prints it");
        var output = OptionKinds.Output("--output", "FILE", "the module file to write", ["-o"], "FILE with .hlc");
        var command = new Command("asm", "Assemble a module's text form (.hlasm, as disasm prints it) into a module file, without verifying it (the runtime verifies it when it loads)")
        {
            file, output,
        };
        var inputs = new Inputs(cli);
        command.SetAction(p =>
        {
            string path = p.GetValue(file)!;
            var bytes = inputs.ReadProgram("asm", path, Takes, out int readCode);
            if (bytes is null) return readCode;
            if (Inputs.IsModule(bytes))
            {
                // A module assembled already (asm x.hlc was refused as writing over its input, which said nothing of why).
                cli.Messages.WriteLine($"hlvm asm: '{Inputs.Shown(path)}' is a compiled module; asm takes {Takes} (disasm prints a module as that text)");
                return ExitCodes.Usage;
            }
            string target = output.Get(p) ?? Path.ChangeExtension(path, ".hlc");
            if (inputs.RefuseOverwritingInput("asm", target, path) is { } refused) return refused;
            string text;
            try
            {
                text = SourceFiles.Text(bytes, path);
            }
            catch (SourceFileException e)
            {
                cli.Messages.WriteLine($"hlvm: cannot read '{Inputs.Shown(path)}': {e.Reason}");
                return ExitCodes.DataError;
            }
            var result = Assembler.Assemble(path, text);
            foreach (var d in result.Diagnostics) cli.Messages.WriteLine(Inputs.Shown(d.Format()));
            if (result.Module is null)
            {
                cli.Messages.WriteLine(CliContext.Errors(result.Diagnostics.Count(d => d.Severity == Severity.Error)));
                return ExitCodes.DataError;
            }
            return inputs.WriteModule(target, result.Module);
        });
        return command;
    }
}
