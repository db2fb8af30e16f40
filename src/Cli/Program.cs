using System.CommandLine;
using System.Text;
using Hlvm.Cli.Commands;
using Hlvm.Cli.Parsing;

namespace Hlvm.Cli;

/// <summary>
/// The <c>hlvm</c> command's entry point. A command line goes through three steps: <see cref="UsageCheck"/> reads it
/// for unknown commands and options and missing values; System.CommandLine parses it, each option's value with
/// its parser from <see cref="OptionKinds"/>; the command's action runs. A usage error at either of the first two
/// is exit 64, and no exception of any step escapes as a crash.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // At a terminal, what is written is shown at once, as C's stdio and Python show each line there: buffered, a
        // prompt before a readLine, or a long run's progress, showed only when the program ended.
        var stdout = new StreamWriter(StandardOutput.Open(out bool terminal), new UTF8Encoding(false), 1 << 16) { AutoFlush = terminal };
        TerminalLine.Shared = terminal && !Console.IsErrorRedirected;
        using var stderr = new StandardError();
        int code = Run(new CliContext(stdout, stderr, new Runtime.Host.ConsoleInput(), IsProcess: true), args);
        try
        {
            stdout.Dispose();
        }
        catch (IOException e) when (StandardOutput.IsBrokenPipe(e))
        {
            return ExitCodes.BrokenPipe;
        }
        catch (OutputFailedException e)
        {
            return OutputFailed(stderr, e);
        }
        return code;
    }

    /// <summary>Runs the command line in-process with the given streams (a host's or a test's) and returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, TextReader? stdin = null) =>
        Run(new CliContext(stdout, stderr, stdin ?? Console.In, IsProcess: false), args);

    /// <summary>The command definitions, for tests that go through every command and option.</summary>
    internal static Command Commands() => HlvmCommand.Create(new CliContext(TextWriter.Null, TextWriter.Null, TextReader.Null, IsProcess: false));

    /// <summary>
    /// What <c>hlvm run</c> would do with <paramref name="args"/> (the words after <c>run</c>), without doing it:
    /// the file, the program's arguments and the grants as flags; or the usage error. For tests.
    /// </summary>
    internal static (string File, string[] Args, string[] Grants) ReadRun(string[] args)
    {
        var settings = ReadRunSettings(args);
        return (settings.File, [.. settings.Args], [.. settings.Permissions().Describe()]);
    }

    /// <summary>The settings System.CommandLine reads from the words <paramref name="args"/> of <c>run</c> (or, with
    /// <paramref name="profiling"/>, of <c>prof</c>). For tests.</summary>
    internal static RunSettings ReadRunSettings(string[] args, bool profiling = false)
    {
        var run = new RunCommand(new CliContext(TextWriter.Null, TextWriter.Null, TextReader.Null, IsProcess: false), profiling);
        var root = new Command("hlvm") { run.Command };
        string[] line = [profiling ? "prof" : "run", .. args];
        if (UsageCheck.Check(root, line) is { } usage) throw new ArgumentException(usage);
        var parse = root.Parse(line, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0) throw new ArgumentException(parse.Errors[0].Message);
        return run.Settings(parse);
    }

    /// <summary>Runs the command line in-process as if a person answered at a terminal from <paramref name="stdin"/>. For tests.</summary>
    internal static int RunAtTerminal(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin) =>
        Run(new CliContext(stdout, stderr, stdin, IsProcess: false) { AssumeTerminal = true }, args);

    private static int Run(CliContext cli, string[] args)
    {
        try
        {
            // The commonest line, run FILE [WORDS...], needs none of the command definitions: building them is most
            // of the start-up time of a short program.
            return RunSettings.Plain(args) is { } plain ? new Runner(cli).Run(plain) : Parse(cli, args);
        }
        catch (IOException e) when (StandardOutput.IsBrokenPipe(e))
        {
            // The reader of standard output has gone: stop, and print nothing more (there is no one to read it).
            return ExitCodes.BrokenPipe;
        }
        catch (OutputFailedException e)
        {
            return OutputFailed(cli.Messages, e);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            try
            {
                cli.Out.Flush();
            }
            catch (IOException broken) when (StandardOutput.IsBrokenPipe(broken)) { /* the error still goes to stderr */ }
            cli.Messages.WriteLine($"hlvm: internal error: {e}");
            return ExitCodes.RuntimeError;
        }
    }

    /// <summary>
    /// Any other command line: checked, parsed by System.CommandLine and run. A method of its own, so that the plain
    /// line's path never loads System.CommandLine's assembly (a few milliseconds of its start).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int Parse(CliContext cli, string[] args)
    {
        var root = HlvmCommand.Create(cli, args);
        if (UsageCheck.Check(root, args) is { } usage) return UsageError(cli, usage, UsageCheck.CommandOf(root, args));
        // No response files: an argument that starts with '@' is an argument.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0)
        {
            var command = parse.CommandResult.Command;
            return UsageError(cli, $"{UsageCheck.PathOf(command)}: {parse.Errors[0].Message}", command);
        }
        return parse.Invoke(new InvocationConfiguration { Output = cli.Out, Error = cli.Err, EnableDefaultExceptionHandler = false });
    }

    /// <summary>Standard output could not be written (a full disk): said once, and the command ends.</summary>
    private static int OutputFailed(TextWriter messages, OutputFailedException e)
    {
        messages.WriteLine($"hlvm: cannot write standard output: {e.Message}");
        return ExitCodes.CantCreate;
    }

    private static int UsageError(CliContext cli, string message, Command command)
    {
        cli.Messages.WriteLine(message);
        cli.Messages.WriteLine($"Run '{UsageCheck.PathOf(command)} --help' for usage.");
        return ExitCodes.Usage;
    }
}
