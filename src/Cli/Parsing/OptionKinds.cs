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

/// <summary>
/// An option made by <see cref="OptionKinds"/>. System.CommandLine holds every option's value as an object: its
/// code for a reference type is compiled ahead of time once for all of them, while each option over a value type
/// (<c>Option&lt;long?&gt;</c>, <c>Option&lt;bool&gt;</c>) would be compiled by .NET at run time, about half of a
/// command line's parsing time. Each kind's class below gives the value its type. What the command line knows of
/// an option beyond System.CommandLine's own is here too: its kind and its help.
/// </summary>
public abstract class HlvmOption : Option<object>
{
    private protected HlvmOption(string name, string[] aliases, ValueKind kind, string accepts, string example) : base(name, aliases)
    {
        Kind = kind;
        Accepts = accepts;
        Example = example;
    }

    /// <summary>The kind of value it takes.</summary>
    public ValueKind Kind { get; }

    /// <summary>What a value must be, for messages: "a whole number from 1 to 2147483647".</summary>
    public string Accepts { get; }

    /// <summary>A well-formed use, for messages: <c>--fuel=1000000</c>.</summary>
    public string Example { get; }

    /// <summary>Whether the option is on this command line (rather than at its default).</summary>
    public bool IsGiven(ParseResult p) => p.GetResult(this) is not null;

    /// <summary>The parsed value on this command line, or null when the option is not given.</summary>
    private protected object? Given(ParseResult p) => p.GetResult(this) is null ? null : p.GetValue(this);
}

/// <summary>An option without a value: there or not.</summary>
public sealed class FlagOption : HlvmOption
{
    internal FlagOption(string name) : base(name, [], ValueKind.Flag, "no value", name) { }

    /// <summary>Whether the option is on this command line.</summary>
    public bool Get(ParseResult p) => IsGiven(p);
}

/// <summary>An option whose value is a whole number (a count or a size in bytes).</summary>
public sealed class NumberOption : HlvmOption
{
    internal NumberOption(string name, ValueKind kind, string accepts, string example) : base(name, [], kind, accepts, example) { }

    /// <summary>The value when none is given.</summary>
    public long? Default { get; init; }

    /// <summary>The option's value on this command line, or its default.</summary>
    public long? Get(ParseResult p) => Given(p) is long n ? n : Default;
}

/// <summary>An option whose value is a length of time.</summary>
public sealed class DurationOption : HlvmOption
{
    internal DurationOption(string name, string accepts, string example) : base(name, [], ValueKind.Duration, accepts, example) { }

    /// <summary>The option's value on this command line, or null.</summary>
    public TimeSpan? Get(ParseResult p) => Given(p) is TimeSpan t ? t : null;
}

/// <summary>An option whose value is one piece of text: a word of a list, a path, a key.</summary>
public sealed class TextOption : HlvmOption
{
    internal TextOption(string name, string[] aliases, ValueKind kind, string accepts, string example) : base(name, aliases, kind, accepts, example) { }

    /// <summary>The value when none is given.</summary>
    public string? Default { get; init; }

    /// <summary>The option's value on this command line, or its default.</summary>
    public string? Get(ParseResult p) => Given(p) as string ?? Default;
}

/// <summary>A repeatable option: its values, one per use, in order. For a grant, null stands for the whole kind.</summary>
public sealed class ListOption : HlvmOption
{
    internal ListOption(string name, ValueKind kind, string accepts, string example) : base(name, [], kind, accepts, example) { }

    /// <summary>The option's values on this command line; none when it is not given.</summary>
    public string?[] Get(ParseResult p) => Given(p) as string?[] ?? [];
}

/// <summary>The factories of every option, one per kind of value, with their parsers.</summary>
public static class OptionKinds
{
    /// <summary>An option that takes no value.</summary>
    public static FlagOption Flag(string name, string description) =>
        new(name) { Description = description, Arity = ArgumentArity.Zero, CustomParser = _ => true };

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; null when not given and there is no default.</summary>
    public static NumberOption Count(string name, string helpName, string description, long min, long max, long example, long? @default = null)
    {
        string accepts = $"a whole number from {min} to {max}";
        var option = new NumberOption(name, ValueKind.Count, accepts, $"{name}={example}")
        {
            HelpName = helpName,
            Description = WithDefault(description, @default?.ToString(CultureInfo.InvariantCulture)),
            Default = @default,
            Arity = ArgumentArity.ExactlyOne,
        };
        option.CustomParser = r => Parse(r, option, text =>
        {
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n >= min && n <= max) return n;
            throw new FormatException(Regex.IsMatch(text, "^-?[0-9]+$") ? $"'{text}' is out of range" : $"'{Shown(text)}' is not a whole number");
        }, "");
        return option;
    }

    /// <summary>A number of bytes: <c>65536</c>, <c>64k</c>, <c>64m</c>, <c>1g</c>.</summary>
    public static NumberOption Size(string name, string description, string? defaultText = null, long? @default = null)
    {
        var option = new NumberOption(name, ValueKind.Size, "a positive number of bytes, optionally with k, m or g", $"{name}=64m")
        {
            HelpName = "SIZE",
            Description = WithDefault(description, defaultText),
            Default = @default,
            Arity = ArgumentArity.ExactlyOne,
        };
        option.CustomParser = r => Parse(r, option, text => SizeParser.TryParse(text, out long bytes, out bool outOfRange) ? bytes
            : outOfRange ? throw new FormatException($"'{Shown(text)}' is out of range") : null, "not a size");
        return option;
    }

    /// <summary>A length of time: <c>500ms</c>, <c>10s</c>, <c>2m</c>, <c>1h</c>; a bare number is seconds.</summary>
    public static DurationOption Duration(string name, string description)
    {
        var option = new DurationOption(name, "a positive number with ms, s, m or h (at most 24 days)", $"{name}=10s")
        {
            HelpName = "DURATION",
            Description = description,
            Arity = ArgumentArity.ExactlyOne,
        };
        option.CustomParser = r => Parse(r, option, ParseDuration, "not a duration");
        return option;
    }

    /// <summary>One of a list of words.</summary>
    public static TextOption Choice(string name, string description, params string[] choices)
    {
        var option = new TextOption(name, [], ValueKind.Choice, $"one of: {string.Join(", ", choices)}", $"{name}={choices[0]}")
        {
            HelpName = string.Join("|", choices),
            Description = WithDefault(description, choices[0]),
            Default = choices[0],
            Arity = ArgumentArity.ExactlyOne,
        };
        option.CustomParser = r => Parse(r, option, text => Array.IndexOf(choices, text) >= 0 ? text : null, "not one of the choices");
        return option;
    }

    /// <summary>A file or directory name (or, for a key, the key itself); null when not given.</summary>
    public static TextOption Path(string name, string helpName, string description, string[]? aliases = null, string? defaultText = null)
    {
        var option = new TextOption(name, aliases ?? [], ValueKind.Path, $"a {helpName}", $"{name}={helpName}")
        {
            HelpName = helpName,
            Description = WithDefault(description, defaultText),
            Arity = ArgumentArity.ExactlyOne,
        };
        option.CustomParser = r => Parse(r, option, text => text, "");
        return option;
    }

    /// <summary>
    /// A file to write; null when not given. '-' is refused: by custom it is standard output, and it would have
    /// made a file named '-'. A file that takes the output whole may be a device (<paramref name="device"/>):
    /// /dev/stdout is then the way to standard output.
    /// </summary>
    public static TextOption Output(string name, string helpName, string description, string[]? aliases = null, string? defaultText = null, bool device = true)
    {
        var option = Path(name, helpName, description, aliases, defaultText);
        option.CustomParser = r => Parse(r, option, text => text == "-"
            ? throw new FormatException(device
                ? "'-' would be a file named '-', not standard output (that is /dev/stdout); ./- names such a file"
                : "'-' is not standard output here; ./- names a file '-'")
            : text, "");
        return option;
    }

    /// <summary>The value of a repeatable option, one per use: the trusted keys of <c>--trust</c>.</summary>
    public static ListOption Paths(string name, string helpName, string description)
    {
        var option = new ListOption(name, ValueKind.Path, $"a {helpName}", $"{name}={helpName}")
        {
            HelpName = helpName,
            Description = description,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        option.CustomParser = r => Texts(ParseAll(r, option, text => text, ""));
        return option;
    }

    /// <summary>
    /// <c>--allow-KIND</c> or <c>--deny-KIND</c>: repeatable, each use with one target, or <c>*</c> for the whole
    /// kind (null in the list). A bare flag takes no value of its own, so it is a usage error rather than a grant
    /// of everything that swallows the next word.
    /// </summary>
    public static ListOption Grant(string kind, bool allow)
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
        var option = new ListOption(name, ValueKind.Grant, $"{target}, or '*' for {every}", $"{name}={example}")
        {
            HelpName = target,
            Description = description,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        option.CustomParser = r => Texts(ParseAll(r, option, text =>
        {
            if (text == Everything) return null; // the whole kind
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
        }, ""));
        return option;
    }

    /// <summary>The value of a grant or denial for the whole of its kind.</summary>
    public const string Everything = "*";

    // ---------------------------------------------------------------------------------------- parsing

    private static string WithDefault(string description, string? defaultText) =>
        defaultText is null ? description : $"{description}; default {defaultText}";

    /// <summary>Parses the option's one value; an empty value, one with NUL, or one <paramref name="parse"/>
    /// rejects (null when <paramref name="what"/> says what it is not, or a <see cref="FormatException"/> with the
    /// reason) is an error naming the option.</summary>
    private static object? Parse(ArgumentResult r, HlvmOption option, Func<string, object?> parse, string what) =>
        ParseAll(r, option, parse, what) is [.., var last] ? last : null;

    /// <summary>Parses each of a repeatable option's values as <see cref="Parse"/> does, in order.</summary>
    private static object?[] ParseAll(ArgumentResult r, HlvmOption option, Func<string, object?> parse, string what)
    {
        var values = new object?[r.Tokens.Count];
        for (int i = 0; i < values.Length; i++)
        {
            string text = r.Tokens[i].Value;
            string? error = null;
            if (text.Length == 0) error = "the value is empty";
            else if (text.Contains('\0')) error = "the value contains a NUL character";
            else
            {
                try
                {
                    values[i] = parse(text);
                    if (values[i] is null && what.Length > 0) error = $"'{Shown(text)}' is {what}";
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
        return values;
    }

    /// <summary>A usage error about an option's value: what is wrong, what it takes, and an example.</summary>
    public static string UsageMessage(HlvmOption option, string error) =>
        $"{option.Name}: {error}; it takes {option.Accepts} (e.g. {option.Example})";

    /// <summary>A value as a message shows it: control characters visible, a long one shortened.</summary>
    private static string Shown(string text) =>
        ControlCharacters.MakeVisible(text.Length > 60 ? text[..28] + "..." + text[^28..] : text);

    /// <summary>A repeatable option's values as the text they are.</summary>
    private static string?[] Texts(object?[] values) => Array.ConvertAll(values, v => (string?)v);

    /// <summary>A number of digits, with an optional fraction, then <c>ms</c>, <c>s</c>, <c>m</c> or <c>h</c> (seconds
    /// when none), at most 24 days; or null. Read by hand: .NET's first regular expression takes milliseconds to make.</summary>
    private static object? ParseDuration(string text)
    {
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1.0)
            : text.EndsWith('s') ? (text[..^1], 1000.0)
            : text.EndsWith('m') ? (text[..^1], 60_000.0)
            : text.EndsWith('h') ? (text[..^1], 3_600_000.0)
            : (text, 1000.0);
        int dot = number.IndexOf('.');
        bool wellFormed = dot < 0 ? Digits(number) : Digits(number.AsSpan(0, dot)) && Digits(number.AsSpan(dot + 1));
        if (wellFormed && double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n))
        {
            double ms = n * unit;
            if (ms is > 0 and <= int.MaxValue) return TimeSpan.FromMilliseconds(ms);
        }
        return null;
    }

    private static bool Digits(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
            if (c is < '0' or > '9') return false;
        return !text.IsEmpty;
    }
}
