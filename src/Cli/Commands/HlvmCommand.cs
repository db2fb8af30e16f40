using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Hlvm.Cli.Commands;

/// <summary>The <c>hlvm</c> command: its subcommands, each in a file of its own, and the help that introduces them.</summary>
internal static class HlvmCommand
{
    /// <summary>The subcommands by name, in the order the help lists them.</summary>
    private static readonly (string Name, Func<CliContext, Command> Make)[] Subcommands =
    [
        ("run", cli => new RunCommand(cli).Command),
        ("prof", cli => new RunCommand(cli, profiling: true).Command),
        ("bench", BenchCommand.Create),
        ("build", BuildCommand.Create),
        ("check", CheckCommand.Create),
        ("disasm", DisasmCommand.Create),
        ("asm", AsmCommand.Create),
        ("keygen", KeygenCommand.Create),
        ("pack", PackCommand.Create),
        ("serve", ServeCommand.Create),
        ("cache", CacheCommand.Create),
        ("data", DataCommand.Create),
        ("rm", RmCommand.Create),
    ];

    /// <summary>The names of System.CommandLine's help and version options, as its <c>HelpOption</c> and
    /// <c>VersionOption</c> give them (a test holds them to that).</summary>
    internal static readonly string[] HelpWords = ["--help", "-h", "/h", "-?", "/?", "--version"];

    /// <summary>
    /// The <c>hlvm</c> command for the command line <paramref name="args"/>, or with every part when it is null. Only
    /// what the line can reach is made, since each part takes time to make, most of a short program's parsing:
    /// when its first word names a subcommand, only that one (the root's help, which lists them all, is not printed
    /// for such a line); and the help and version options only when a word names one of them, since making them
    /// reads System.CommandLine's resources (a first use of .NET's resource manager, about 14 ms).
    /// </summary>
    public static Command Create(CliContext cli, IReadOnlyList<string>? args = null)
    {
        string? first = args is { Count: > 0 } ? args[0] : null;
        bool one = false;
        foreach (var (name, _) in Subcommands) one |= name == first;
        // A command named hlvm rather than a RootCommand, whose name is the executable's (a host's, when hlvm is
        // embedded) and which makes the help and version options whether or not they are used.
        var root = new Command("hlvm", one ? "" : Description);
        if (args is null || NamesHelp(args))
        {
            root.Options.Add(new HelpOption());
            // The default prints the entry assembly's version, which is the host's when hlvm is embedded.
            root.Options.Add(new VersionOption { Action = new PrintVersion() });
        }
        foreach (var (name, make) in Subcommands)
            if (!one || name == first) root.Subcommands.Add(make(cli));
        return root;
    }

    /// <summary>Whether a word before <c>--</c> is the name of the help or version option, alone or with <c>=</c>
    /// (<see cref="Parsing.UsageCheck"/> reads an option's name the same way).</summary>
    private static bool NamesHelp(IReadOnlyList<string> args)
    {
        foreach (string word in args)
        {
            if (word == "--") break;
            int eq = word.IndexOf('=');
            if (Array.IndexOf(HelpWords, eq < 0 ? word : word[..eq]) >= 0) return true;
        }
        return false;
    }

    private static string Description => $"""
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
            """;

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
