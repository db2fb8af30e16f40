using System.CommandLine;

namespace Hlvm.Cli.Commands;

/// <summary>The positional arguments the commands share, each with the help that says what it takes.</summary>
internal static class Arguments
{
    /// <summary>The one input file of a command, described as what that command takes.</summary>
    public static Argument<string> File(string description) => new("FILE") { Description = description };

    /// <summary>A directory.</summary>
    public static Argument<string> Directory(string description) => new("DIR") { Description = description };
}
