using System.CommandLine;
using Hlvm.Cli.Parsing;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm build FILE.hl [-o FILE.hlc]</c>: compiles a program to a module file, written atomically.</summary>
internal static class BuildCommand
{
    public static Command Create(CliContext cli)
    {
        var file = Arguments.File("a program (.hl)");
        var output = OptionKinds.Output("--output", "FILE", "the module file to write", ["-o"], "FILE with .hlc");
        var command = new Command("build", "Compile a program to a module file (a failed build writes nothing)") { file, output };
        var inputs = new Inputs(cli);
        command.SetAction(p =>
        {
            string path = p.GetValue(file)!;
            var bytes = inputs.ReadProgram("build", path, "a program (.hl)", out int readCode);
            if (bytes is null) return readCode;
            if (Inputs.IsModule(bytes))
            {
                cli.Messages.WriteLine($"hlvm build: '{Inputs.Shown(path)}' is already a compiled module");
                return ExitCodes.Usage;
            }
            string target = output.Get(p) ?? Path.ChangeExtension(path, ".hlc");
            if (inputs.RefuseOverwritingInput("build", target, path) is { } refused) return refused;
            var module = inputs.CompileSource(path, bytes, out int exitCode);
            if (module is null) return exitCode;
            return inputs.WriteModule(target, module);
        });
        return command;
    }
}
