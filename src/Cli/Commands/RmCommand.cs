using System.CommandLine;
using Hlvm.Sandbox;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm rm NAME</c>: removes a bundle's app: its private data and the cached entries no other app uses.</summary>
internal static class RmCommand
{
    public static Command Create(CliContext cli)
    {
        var app = new Argument<string>("NAME") { Description = "the app's name, as its manifest gives it" };
        var command = new Command("rm", "Remove an app's private data and the cached entries no other app uses") { app };
        command.SetAction(p => Remove(cli, p.GetValue(app)!));
        return command;
    }

    private static int Remove(CliContext cli, string name)
    {
        if (!BundleFront.IsAppName(name))
        {
            cli.Messages.WriteLine($"hlvm: '{Inputs.Shown(name)}' is not an app's name (letters, digits, '-', '_' and '.')");
            return ExitCodes.Usage;
        }
        // Bundles' apps only: NAME-SIGNER, where SIGNER is 16 hex digits. A program run from a directory keeps
        // its data elsewhere and is never removed by name.
        bool Mine(string id) => id.Length == name.Length + 17 && id.StartsWith(name + "-", StringComparison.Ordinal) && id[(name.Length + 1)..].All(char.IsAsciiHexDigitLower);
        var cache = new ContentCache(ContentCache.DefaultRoot);
        var ids = cache.Apps().Keys.Where(Mine).ToHashSet(StringComparer.Ordinal);
        string storageRoot = Path.GetDirectoryName(AppStorage.DirectoryForId(name))!;
        if (Directory.Exists(storageRoot)) ids.UnionWith(Directory.EnumerateDirectories(storageRoot).Select(Path.GetFileName).OfType<string>().Where(Mine));
        if (ids.Count == 0)
        {
            cli.Messages.WriteLine($"hlvm: no app named '{name}' has run here");
            return ExitCodes.NoInput;
        }
        foreach (var id in ids.Order(StringComparer.Ordinal))
        {
            int removed = cache.RemoveApp(id);
            string storage = AppStorage.DirectoryForId(id);
            if (Directory.Exists(storage)) Directory.Delete(storage, recursive: true);
            cli.Out.WriteLine($"removed {id}: its data and {CliContext.Count(removed, "cached entry", "cached entries")}");
        }
        return ExitCodes.Ok;
    }
}
