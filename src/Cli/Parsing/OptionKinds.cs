using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;
using Hlvm.Sandbox;

namespace Hlvm.Cli.Parsing;

// Every option of every command is made here, by one of the factories of OptionKinds, so that each has a kind of
// value with its own parser: no value reaches a command unchecked, and no malformed one reaches .NET's conversions
// (which throw). Each parser's message names the option and says what it takes. The defaults are kept out of
// System.CommandLine (which would print them a second time, and in bytes) and written into the description once.

/// <summary>The kinds of value an option takes; each has one parser in <see cref="OptionKinds"/>.</summary>
public enum ValueKind
{
    /// <summary>No value: the option is there or not.</summary>
    Flag,
    /// <summary>A whole number in a range, in decimal digits only.</summary>
    Count,
    /// <summary>A number of bytes with an optional k, m or g.</summary>
    Size,
    /// <summary>A length of time: 500ms, 10s, 2m, 1h.</summary>
    Duration,
    /// <summary>One word of a fixed list.</summary>
    Choice,
    /// <summary>A file or directory name, or (for <c>--trust</c>) a key: any text but an empty one or one with NUL.</summary>
    Path,
    /// <summary>A permission's target (a path, a host, a variable), or <c>*</c> for all of the kind; repeatable.</summary>
    Grant,
}

/// <summary>What the command line knows of an option beyond System.CommandLine's own: its kind and its help.</summary>
public interface IHlvmOption
{
    /// <summary>The option itself.</summary>
    Option Option { get; }

    /// <summary>The kind of value it takes.</summary>
    ValueKind Kind { get; }

    /// <summary>What a value must be, for messages: "a whole number from 1 to 2147483647".</summary>
    string Accepts { get; }

    /// <summary>A well-formed use, for messages: <c>--fuel=1000000</c>.</summary>
    string Example { get; }
}

/// <summary>An option made by <see cref="OptionKinds"/>; <see cref="Get"/> gives its value or its default.</summary>
public sealed class HlvmOption<T> : Option<T>, IHlvmOption
{
    internal HlvmOption(string name, string[] aliases, ValueKind kind, string accepts, string example) : base(name, aliases)
    {
        Kind = kind;
        Accepts = accepts;
        Example = example;
    }

    public Option Option => this;
    public ValueKind Kind { get; }
    public string Accepts { get; }
    public string Example { get; }

    /// <summary>The value when none is given.</summary>
    public T Default { get; init; } = default!;

    /// <summary>The option's value on this command line, or its default.</summary>
    public T Get(ParseResult p) => p.GetResult(this) is null ? Default : p.GetValue(this)!;
}

/// <summary>The factories of every option, one per kind of value, with their parsers.</summary>
public static class OptionKinds
{
    /// <summary>An option that takes no value.</summary>
    public static HlvmOption<bool> Flag(string name, string description) =>
        new(name, [], ValueKind.Flag, "no value", name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; null when not given and there is no default.</summary>
    public static HlvmOption<long?> Count(string name, string helpName, string description, long min, long max, long example, long? @default = null)
    {
        string accepts = $"a whole number from {min} to {max}";
        var option = new HlvmOption<long?>(name, [], ValueKind.Count, accepts, $"{name}={example}")
        {
            HelpName = helpName,
            Description = WithDefault(description, @default?.ToString(CultureInfo.InvariantCulture)),
            Default = @default,
        };
        option.CustomParser = r => Parse<long?>(r, option, text =>
        {
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n >= min && n <= max) return n;
            throw new FormatException(Regex.IsMatch(text, "^-?[0-9]+$") ? $"'{text}' is out of range" : $"'{Shown(text)}' is not a whole number");
        }, "");
        return option;
    }

    /// <summary>A number of bytes: <c>65536</c>, <c>64k</c>, <c>64m</c>, <c>1g</c>.</summary>
    public static HlvmOption<long?> Size(string name, string description, string? defaultText = null, long? @default = null)
    {
        var option = new HlvmOption<long?>(name, [], ValueKind.Size, "a positive number of bytes, optionally with k, m or g", $"{name}=64m")
        {
            HelpName = "SIZE",
            Description = WithDefault(description, defaultText),
            Default = @default,
        };
        option.CustomParser = r => Parse<long?>(r, option, text => SizeParser.TryParse(text, out long bytes) ? bytes : null, "not a size");
        return option;
    }

    /// <summary>A length of time: <c>500ms</c>, <c>10s</c>, <c>2m</c>, <c>1h</c>; a bare number is seconds.</summary>
    public static HlvmOption<TimeSpan?> Duration(string name, string description)
    {
        var option = new HlvmOption<TimeSpan?>(name, [], ValueKind.Duration, "a positive number with ms, s, m or h (at most 24 days)", $"{name}=10s")
        {
            HelpName = "DURATION",
            Description = description,
        };
        option.CustomParser = r => Parse(r, option, ParseDuration, "not a duration");
        return option;
    }

    /// <summary>One of a list of words.</summary>
    public static HlvmOption<string> Choice(string name, string description, params string[] choices)
    {
        var option = new HlvmOption<string>(name, [], ValueKind.Choice, $"one of: {string.Join(", ", choices)}", $"{name}={choices[0]}")
        {
            HelpName = string.Join("|", choices),
            Description = WithDefault(description, choices[0]),
            Default = choices[0],
        };
        option.CustomParser = r => Parse(r, option, text => choices.Contains(text) ? text : null, "not one of the choices");
        return option;
    }

    /// <summary>A file or directory name (or, for a key, the key itself); null when not given.</summary>
    public static HlvmOption<string?> Path(string name, string helpName, string description, string[]? aliases = null, string? defaultText = null)
    {
        var option = new HlvmOption<string?>(name, aliases ?? [], ValueKind.Path, $"a {helpName}", $"{name}={helpName}")
        {
            HelpName = helpName,
            Description = WithDefault(description, defaultText),
        };
        option.CustomParser = r => Parse(r, option, text => text, "");
        return option;
    }

    /// <summary>The value of a repeatable option, one per use: the trusted keys of <c>--trust</c>.</summary>
    public static HlvmOption<string[]> Paths(string name, string helpName, string description)
    {
        var option = new HlvmOption<string[]>(name, [], ValueKind.Path, $"a {helpName}", $"{name}={helpName}")
        {
            HelpName = helpName,
            Description = description,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
            Default = [],
        };
        option.CustomParser = r => ParseAll(r, option, text => text, "").OfType<string>().ToArray();
        return option;
    }

    /// <summary>
    /// <c>--allow-KIND</c> or <c>--deny-KIND</c>: repeatable, each use with one target, or <c>*</c> for the whole
    /// kind (null in the list). A bare flag takes no value of its own, so it is a usage error rather than a grant
    /// of everything that swallows the next word.
    /// </summary>
    public static HlvmOption<string?[]> Grant(string kind, bool allow)
    {
        string target = kind switch { "net" => "HOST[:PORT]", "env" => "NAME", _ => "PATH" };
        string every = kind switch { "net" => "every host", "env" => "every variable", _ => "every path" };
        string name = $"--{(allow ? "allow" : "deny")}-{kind}";
        string description = (kind, allow) switch
        {
            ("read", true) => "let the program read PATH and what is under it",
            ("write", true) => "let the program write PATH and what is under it",
            ("net", true) => "let the program connect to or listen on HOST, or HOST:PORT",
            ("env", true) => "let the program read the environment variable NAME",
            _ => $"refuse {kind} access to {target} even where a grant covers it",
        } + $"; '*' for {every}; repeatable";
        string example = kind switch { "net" => "127.0.0.1:8080", "env" => "HOME", _ => "/srv/data" };
        var option = new HlvmOption<string?[]>(name, [], ValueKind.Grant, $"{target}, or '*' for {every}", $"{name}={example}")
        {
            HelpName = target,
            Description = description,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
            Default = [],
        };
        option.CustomParser = r => ParseAll<string?>(r, option, text =>
        {
            if (text == Everything) return (string?)null;
            // The sandbox's own check of a target (a host, a variable name, ...), so that a bad one is a usage
            // error that names the option.
            try
            {
                if (allow) new Permissions().Allow(kind, text);
                else new Permissions().Deny(kind, text);
                return text;
            }
            catch (ArgumentException e)
            {
                throw new FormatException(e.Message);
            }
        }, "");
        return option;
    }

    /// <summary>The value of a grant or denial for the whole of its kind.</summary>
    public const string Everything = "*";

    // ---------------------------------------------------------------------------------------- parsing

    private static string WithDefault(string description, string? defaultText) =>
        defaultText is null ? description : $"{description}; default {defaultText}";

    /// <summary>Parses the option's one value; an empty value, one with NUL, or one <paramref name="parse"/>
    /// rejects (null, or a <see cref="FormatException"/> with the reason) is an error naming the option.</summary>
    private static T? Parse<T>(ArgumentResult r, IHlvmOption option, Func<string, T?> parse, string what)
    {
        var values = ParseAll(r, option, parse, what);
        return values.Length > 0 ? values[^1] : default;
    }

    private static T?[] ParseAll<T>(ArgumentResult r, IHlvmOption option, Func<string, T?> parse, string what)
    {
        var values = new List<T?>();
        foreach (var token in r.Tokens)
        {
            string text = token.Value;
            string? error = null;
            if (text.Length == 0) error = "the value is empty";
            else if (text.Contains('\0')) error = "the value contains a NUL character";
            else
            {
                try
                {
                    var value = parse(text);
                    if (value is null && what.Length > 0) error = $"'{Shown(text)}' is {what}";
                    else values.Add(value);
                }
                catch (FormatException e)
                {
                    error = e.Message;
                }
            }
            if (error is not null)
            {
                r.AddError(UsageMessage(option, error));
                return [];
            }
        }
        return [.. values];
    }

    /// <summary>A usage error about an option's value: what is wrong, what it takes, and an example.</summary>
    public static string UsageMessage(IHlvmOption option, string error) =>
        $"{option.Option.Name}: {error}; it takes {option.Accepts} (e.g. {option.Example})";

    /// <summary>A value as a message shows it: control characters visible, a long one shortened.</summary>
    private static string Shown(string text) =>
        ControlCharacters.MakeVisible(text.Length > 60 ? text[..28] + "..." + text[^28..] : text);

    private static TimeSpan? ParseDuration(string text)
    {
        var m = Regex.Match(text, @"^(\d+(?:\.\d+)?)(ms|s|m|h)?$");
        if (m.Success && double.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out double n))
        {
            double ms = n * m.Groups[2].Value switch { "ms" => 1, "m" => 60_000, "h" => 3_600_000, _ => 1000 };
            if (ms is > 0 and <= int.MaxValue) return TimeSpan.FromMilliseconds(ms);
        }
        return null;
    }
}
