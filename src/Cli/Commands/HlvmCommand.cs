using System.CommandLine;
using System.CommandLine.Invocation;

namespace Hlvm.Cli.Commands;

/// <summary>The <c>hlvm</c> command: its subcommands, each in a file of its own, and the help that introduces them.</summary>
internal static class HlvmCommand
{
    public static RootCommand Create(CliContext cli)
    {
        var root = new RootCommand($"""
            Hlvm: a virtual machine for a small statically typed language.

              hlvm run hello.hl              compile and run a program
              hlvm run prog.hl -- a -b       run it with the arguments a and -b
              hlvm build hello.hl -o h.hlc   compile to a module file
              hlvm run h.hlc                 verify and run a module
              hlvm prof hello.hl -o p.html   run it and show where its time went
              hlvm bench hello.hl            time it in each engine
              hlvm disasm h.hlc > h.hlasm    print a module as text
              hlvm asm h.hlasm -o h.hlc      assemble the text back into a module
              hlvm keygen -o me              make a signing key pair (me.key, me.pub)
              hlvm pack app/ -o app.hlb --key me.key
              hlvm run app.hlb --trust me.pub          (or http://host/app.hlb)
              hlvm data list                 the apps that keep data here, by id
              hlvm rm ID                     remove one app's data (and cached entries)

            An option that takes a value takes it as --opt VALUE or --opt=VALUE. Options may
            come before or after the file, up to '--'; everything after '--' goes to the
            program. A grant of a whole kind is spelled --allow-read='*' (quoted for the shell).

            {ExitCodes.Help}
            """)
        {
            RunCommandOf(cli),
            new RunCommand(cli, profiling: true).Command,
            BenchCommand.Create(cli),
            BuildCommand.Create(cli),
            CheckCommand.Create(cli),
            DisasmCommand.Create(cli),
            AsmCommand.Create(cli),
            KeygenCommand.Create(cli),
            PackCommand.Create(cli),
            ServeCommand.Create(cli),
            CacheCommand.Create(cli),
            DataCommand.Create(cli),
            RmCommand.Create(cli),
        };
        // Directives ([diagram], [suggest]) are not for users of hlvm: a first argument in brackets is an argument.
        root.Directives.Clear();
        // The default prints the entry assembly's version, which is the host's when hlvm is embedded.
        foreach (var version in root.Options.OfType<VersionOption>()) version.Action = new PrintVersion();
        return root;
    }

    private static Command RunCommandOf(CliContext cli) => new RunCommand(cli).Command;

    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            string version = typeof(Program).Assembly
                .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";
            parseResult.InvocationConfiguration.Output.WriteLine($"{version.Split('+')[0]}");
            return ExitCodes.Ok;
        }
    }
}
