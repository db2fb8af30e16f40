using System.CommandLine;
using Hlvm.Cli.Parsing;
using Hlvm.Sandbox;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli.Commands;

/// <summary>
/// <c>hlvm rm APP</c>: removes one app's private data and the cached entries no other app uses. APP is an id as
/// <c>hlvm data list</c> shows it, a name, or the directory (or a program, or a bundle file) an app ran from. A
/// name can belong to several apps (anyone can sign a bundle named like a popular one): then rm asks which at a
/// terminal, and elsewhere refuses and lists their ids. It shows what it removes before it does.
/// </summary>
internal static class RmCommand
{
    public static Command Create(CliContext cli)
    {
        var app = new Argument<string>("APP") { Description = "the app's id (hlvm data list shows them), its name, or the directory, program, bundle or URL it ran from" };
        var copies = OptionKinds.Flag("--copies", "remove only the app's copies of /app files, so that it reads the originals again; keep its /data");
        var command = new Command("rm", "Remove an app's private data and the cached entries no other app uses") { app, copies };
        command.SetAction(p => Remove(cli, p.GetValue(app)!, copies.Get(p)));
        return command;
    }

    private static int Remove(CliContext cli, string what, bool copiesOnly)
    {
        var cache = new ContentCache(ContentCache.DefaultRoot);
        var all = StoredApps.All(cache);
        List<StoredApps.App> matches;
        string named, none;
        if (all.Where(a => a.Id == what).ToList() is { Count: 1 } exact)
        {
            (matches, named, none) = (exact, "", "");
        }
        else if (Inputs.IsUrl(what))
        {
            // The app's front, as the run from that URL cached it (nothing is fetched to remove an app).
            string? id = null;
            if (Uri.TryCreate(what, UriKind.Absolute, out var uri) && cache.TryGetFront(uri.ToString()) is { } front)
            {
                try { id = Bundle.AppIdOf(BundleFront.Read(front), uri.ToString()); }
                catch (BundleException) { /* a damaged cached front: as if none */ }
            }
            (matches, named, none) = (all.Where(a => a.Id == id).ToList(), "", $"no app that ran from '{Inputs.Shown(what)}' keeps data here");
        }
        else if (what.Contains('/') || what.EndsWith(".hlb", StringComparison.Ordinal) || what.EndsWith(".hl", StringComparison.Ordinal) || !BundleFront.IsAppName(what) && (File.Exists(what) || Directory.Exists(what)))
        {
            if (IdOfPath(cli, what) is not { } id) return ExitCodes.NoInput;
            (matches, named, none) = (all.Where(a => a.Id == id).ToList(), "", $"no app that ran from '{Inputs.Shown(what)}' keeps data here");
        }
        else if (BundleFront.IsAppName(what))
        {
            (matches, named, none) = (all.Where(a => a.Name == what).ToList(), $"named '{what}'", $"no app named '{what}' has run here");
        }
        else
        {
            // An id can hold what a name can't (an app that ran from a directory takes the directory's name, spaces
            // and all): an id no app has is not found, not malformed.
            cli.Messages.WriteLine($"hlvm rm: no app here has the id '{Inputs.Shown(what)}', and it is neither an app's name (letters, digits, '-', '_' and '.') nor a file or directory; 'hlvm data list' shows the apps that have");
            return ExitCodes.NoInput;
        }
        if (matches.Count == 0)
        {
            cli.Messages.WriteLine($"hlvm rm: {none}; 'hlvm data list' shows the apps that have");
            return ExitCodes.NoInput;
        }
        var chosen = matches.Count == 1 ? matches[0] : Choose(cli, matches, named);
        if (chosen is null) return cli.Interactive ? ExitCodes.Ok : ExitCodes.Usage;
        return copiesOnly ? RemoveCopies(cli, chosen) : RemoveApp(cli, chosen, cache);
    }

    /// <summary>The id of the app that ran from a path: a program's directory (or a program in it), or a bundle file.</summary>
    private static string? IdOfPath(CliContext cli, string path)
    {
        if (Directory.Exists(path)) return Path.GetFileName(AppStorage.DirectoryFor(path));
        if (!File.Exists(path))
        {
            cli.Messages.WriteLine($"hlvm rm: cannot read '{Inputs.Shown(path)}': no such file or directory");
            return null;
        }
        if (!path.EndsWith(".hlb", StringComparison.Ordinal)) return Path.GetFileName(AppStorage.DirectoryFor(Path.GetDirectoryName(Path.GetFullPath(path))!));
        try
        {
            // The front alone, from a regular file: reading the whole bundle held it all in memory (and a FIFO blocked).
            using var source = new FileBundleSource(path);
            return Bundle.AppIdOf(Bundle.ReadFront(source), Path.GetFullPath(path));
        }
        catch (Exception e) when (e is BundleException or IOException or UnauthorizedAccessException)
        {
            cli.Messages.WriteLine($"hlvm rm: cannot read the bundle '{Inputs.Shown(path)}': {(e is BundleException ? e.Message : Inputs.Why(e))}");
            return null;
        }
    }

    /// <summary>Several apps match: at a terminal, ask which; elsewhere, list their ids and remove nothing.</summary>
    private static StoredApps.App? Choose(CliContext cli, List<StoredApps.App> matches, string named)
    {
        cli.Out.Flush();
        if (!cli.Interactive)
        {
            cli.Messages.WriteLine($"hlvm rm: {matches.Count} apps are {named}; nothing removed. Name the one to remove by its id:");
            foreach (var app in matches) cli.Messages.WriteLine($"  hlvm rm {Inputs.Shown(app.Id)}    # {Inputs.Shown(app.Describe())}");
            return null;
        }
        cli.Messages.WriteLine($"{matches.Count} apps are {named}:");
        for (int i = 0; i < matches.Count; i++)
        {
            cli.Messages.WriteLine($"  {i + 1}. {Inputs.Shown(matches[i].Id)}: {Inputs.Shown(matches[i].Describe())}");
            foreach (var line in DataCommand.Details(matches[i])) cli.Messages.WriteLine($"       {line}");
        }
        cli.Messages.Write($"Remove which (1-{matches.Count}; anything else removes nothing)? ");
        string? answer = cli.In.ReadLine()?.Trim();
        if (int.TryParse(answer, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= matches.Count)
            return matches[n - 1];
        cli.Messages.WriteLine("hlvm rm: nothing removed");
        return null;
    }

    private static int RemoveApp(CliContext cli, StoredApps.App app, ContentCache cache)
    {
        cli.Out.WriteLine($"removing {Inputs.Shown(app.Id)}: {Inputs.Shown(app.Describe())}");
        foreach (var line in DataCommand.Details(app)) cli.Out.WriteLine($"  {line}");
        int removed = StoredApps.Remove(app, cache);
        // The details above count every entry the app used; those another app uses too stay, and are said to.
        int kept = app.CachedEntries - removed;
        string shared = kept > 0 ? $" ({CliContext.Count(kept, "other", "others")} kept: another app uses {(kept == 1 ? "it" : "them")})" : "";
        cli.Out.WriteLine($"removed {Inputs.Shown(app.Id)}: its data{(app.IsBundle ? $" and {CliContext.Count(removed, "cached entry", "cached entries")}{shared}" : "")}");
        return ExitCodes.Ok;
    }

    private static int RemoveCopies(CliContext cli, StoredApps.App app)
    {
        var (copies, _) = StoredApps.Usage(app.Storage is null ? null : Path.Combine(app.Storage, "app"));
        if (app.Storage is not null) CopyOrigins.Remove(app.Storage);
        cli.Out.WriteLine($"removed {CliContext.Count(copies, "copy", "copies")} of /app files of {Inputs.Shown(app.Id)}: it reads its own files again; its /data stays");
        return ExitCodes.Ok;
    }
}
