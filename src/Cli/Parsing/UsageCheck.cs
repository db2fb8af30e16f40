using System.CommandLine;
using System.CommandLine.Help;

namespace Hlvm.Cli.Parsing;

/// <summary>
/// Reads a command line the way the parser will, before it does, to catch what the parser would misread or report
/// in its own words: an unknown command or option (taken for a file, or passed on to the program), an option
/// whose value is missing (which would take the next option, or the program's file, as its value), a flag given
/// a value, a missing or extra argument. The rules it enforces, which <c>--help</c> and the README state:
/// <list type="bullet">
/// <item>an option that takes a value always takes one: <c>--opt VALUE</c> or <c>--opt=VALUE</c>;</item>
/// <item>options may come before or after the arguments, up to <c>--</c>; everything after <c>--</c> is an
///   argument (for <c>run</c>, the program's);</item>
/// <item>a word that starts with <c>-</c> before <c>--</c> must be an option of the command.</item>
/// </list>
/// </summary>
public static class UsageCheck
{
    /// <summary>The first usage error on the command line, or null when there is none.</summary>
    public static string? Check(Command root, IReadOnlyList<string> args)
    {
        Command command = root;
        var path = new List<string> { "hlvm" };
        int positionals = 0;
        string? lastValueOption = null, lastValue = null;
        bool help = false;
        var seen = new HashSet<Option>();
        int i = 0;
        bool optionsEnded = false;
        for (; i < args.Count; i++)
        {
            string token = args[i];
            if (token == "--" && !optionsEnded)
            {
                // What follows is a program's arguments where the command takes them (run, prof, bench); elsewhere
                // '--' only ends the options, and what follows are the command's own arguments, a file named
                // -weird.hl included (check and build said no FILE was given, what follows being the program's).
                if (command.Subcommands.Count > 0 || command.Arguments.Any(a => a.Arity.MaximumNumberOfValues > 1)) break;
                optionsEnded = true;
                continue;
            }
            if (token.Length > 1 && token[0] == '-' && !optionsEnded)
            {
                int eq = token.IndexOf('=');
                string name = eq < 0 ? token : token[..eq];
                var option = OptionsOf(command).FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name));
                if (option is null)
                    return $"{Join(path)}: unknown option '{Shown(name)}'{Suggest(name, OptionsOf(command).SelectMany(o => o.Aliases.Prepend(o.Name)))}"
                        + (command.Arguments.Any(a => a.Arity.MaximumNumberOfValues > 1) ? "; an argument that starts with '-' goes after '--'" : "");
                if (option is HelpOption or VersionOption) help = true;
                if (option.Arity.MaximumNumberOfValues == 1 && !seen.Add(option))
                    return $"{Join(path)}: {name} is given twice";
                bool takesValue = option.Arity.MaximumNumberOfValues > 0;
                if (!takesValue && eq >= 0) return $"{Join(path)}: {name} takes no value";
                // The parser would take the next word as the value of `--opt=`.
                if (takesValue && eq == token.Length - 1)
                    return $"{Join(path)}: {name}: the value is empty" + (option is HlvmOption e ? $"; it takes {e.Accepts} (e.g. {e.Example})" : "");
                if (takesValue && eq < 0)
                {
                    if (i + 1 >= args.Count || args[i + 1] == "--" || IsOption(command, args[i + 1]))
                        return $"{Join(path)}: {name} needs a value" + (option is HlvmOption h ? $": {h.Accepts} (e.g. {h.Example})" : "");
                    i++;
                    (lastValueOption, lastValue) = (name, args[i]);
                }
                continue;
            }
            if (positionals == 0 && command.Subcommands.Count > 0)
            {
                var sub = command.Subcommands.FirstOrDefault(c => c.Name == token);
                if (sub is null)
                    return $"{Join(path)}: unknown command '{Shown(token)}'{Suggest(token, command.Subcommands.Select(c => c.Name))}; the commands are {string.Join(", ", command.Subcommands.Select(c => c.Name))}";
                command = sub;
                path.Add(sub.Name);
                continue;
            }
            positionals++;
            if (token.Length == 0 && positionals <= command.Arguments.Count(a => a.Arity.MaximumNumberOfValues == 1))
                return $"{Join(path)}: {command.Arguments[positionals - 1].Name} is empty";
            int most = ValuesOf(command, least: false);
            if (positionals > most)
                return $"{Join(path)}: unexpected argument '{Shown(token)}' ({Join(path)} takes {Describe(command)})";
        }
        if (help) return null;
        if (command.Subcommands.Count > 0 && command.Action is null)
            return $"{Join(path)}: no command given; the commands are {string.Join(", ", command.Subcommands.Select(c => c.Name))} (see {Join(path)} --help)";
        int least = ValuesOf(command, least: true);
        if (positionals < least)
        {
            string missing = string.Join(" ", command.Arguments.Skip(positionals).Where(a => a.Arity.MinimumNumberOfValues > 0).Select(a => a.HelpName ?? a.Name.ToUpperInvariant()));
            string why = $"{Join(path)}: no {missing} given";
            // `hlvm run --allow-read prog.hl`: the grant took the program's name as its target.
            if (lastValueOption is not null && (lastValueOption.StartsWith("--allow-", StringComparison.Ordinal) || lastValueOption.StartsWith("--deny-", StringComparison.Ordinal)))
                why += $"; {lastValueOption} took '{Shown(lastValue!)}' as its value (to grant or deny all of a kind, write {lastValueOption}='*')";
            else if (i < args.Count)
                why += " (what follows '--' is the program's)";
            return why;
        }
        return null;
    }

    /// <summary>The command a command line names, as far as its words name one (the root when none).</summary>
    public static Command CommandOf(Command root, IReadOnlyList<string> args)
    {
        Command command = root;
        foreach (var word in args)
        {
            if (word.StartsWith('-')) continue;
            if (command.Subcommands.FirstOrDefault(c => c.Name == word) is not { } sub) break;
            command = sub;
        }
        return command;
    }

    /// <summary>How messages name a command: <c>hlvm</c>, <c>hlvm run</c>, <c>hlvm cache list</c>.</summary>
    public static string PathOf(Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
            names.Insert(0, c.Name);
        return string.Join(" ", names);
    }

    /// <summary>The options a command takes: its own, and its ancestors' that apply to every subcommand (help).</summary>
    private static IEnumerable<Option> OptionsOf(Command command)
    {
        foreach (var o in command.Options) yield return o;
        for (var parent = command.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
            foreach (var o in parent.Options.Where(o => o.Recursive)) yield return o;
    }

    /// <summary>How many argument words the command takes at least, or at most.</summary>
    private static int ValuesOf(Command command, bool least)
    {
        int n = 0;
        foreach (var a in command.Arguments) n += least ? a.Arity.MinimumNumberOfValues : a.Arity.MaximumNumberOfValues;
        return n;
    }

    private static bool IsOption(Command command, string token)
    {
        if (token.Length < 2 || token[0] != '-') return false;
        int eq = token.IndexOf('=');
        string name = eq < 0 ? token : token[..eq];
        return OptionsOf(command).Any(o => o.Name == name || o.Aliases.Contains(name));
    }

    private static string Describe(Command command) =>
        command.Arguments.Count == 0 ? "no arguments"
        : string.Join(" ", command.Arguments.Select(a => a.Arity.MaximumNumberOfValues > 1 ? $"[{a.HelpName ?? a.Name}...]" : a.HelpName ?? a.Name));

    private static string Join(List<string> path) => string.Join(" ", path);

    private static string Shown(string text) =>
        Hlvm.Sandbox.ControlCharacters.MakeVisible(Hlvm.Runtime.Execution.Excerpt.Of(text, 60));

    /// <summary>
    /// " (did you mean X?)" for the closest known word, when one is close enough by the compiler's own measure
    /// (<see cref="Hlvm.Runtime.Spelling.Nearest"/>): a word of two characters is never "almost" any other two.
    /// </summary>
    private static string Suggest(string word, IEnumerable<string> known) =>
        Hlvm.Runtime.Spelling.Nearest(word, known) is { } best ? $" (did you mean {best}?)" : "";

}
