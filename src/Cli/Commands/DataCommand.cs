using System.CommandLine;
using Hlvm.Sandbox;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli.Commands;

/// <summary>
/// <c>hlvm data list</c>: the apps that have left something here, each by the id <c>hlvm rm</c> takes, with whose
/// it is (a program's directory; a bundle's name, version and signer) and what it holds.
/// </summary>
internal static class DataCommand
{
    public static Command Create(CliContext cli)
    {
        var list = new Command("list", "List the apps that keep data here: each one's id (for hlvm rm), whose it is, and what it holds");
        list.SetAction(_ =>
        {
            var apps = StoredApps.All(new ContentCache(ContentCache.DefaultRoot));
            cli.Out.WriteLine($"{AppStorage.Root}: {CliContext.Count(apps.Count, "app", "apps")}");
            foreach (var app in apps)
            {
                cli.Out.WriteLine($"{Inputs.Shown(app.Id)}: {Inputs.Shown(app.Describe())}");
                foreach (var line in Details(app)) cli.Out.WriteLine($"  {line}");
            }
            return ExitCodes.Ok;
        });
        return new Command("data", "The private data of the apps and programs that have run here") { list };
    }

    /// <summary>What an app holds, one line per kind: its /data, its copies of /app files (and which are stale), its cached entries.</summary>
    public static IEnumerable<string> Details(StoredApps.App app)
    {
        var (files, bytes) = StoredApps.Usage(app.Storage is null ? null : Path.Combine(app.Storage, "data"));
        if (files > 0) yield return $"/data: {Amount(files, bytes)}";
        var (copies, copyBytes) = StoredApps.Usage(app.Storage is null ? null : Path.Combine(app.Storage, "app"));
        if (copies > 0)
        {
            var stale = app.About?.Directory is { } directory ? CopyOrigins.Stale(app.Storage!, directory) : [];
            yield return $"copies of /app files it wrote: {Amount(copies, copyBytes)}"
                + (stale.Count == 0 ? "" : $"; changed in {app.About!.Directory} since: {Inputs.Shown(string.Join(", ", stale))}");
        }
        if (app.CachedEntries > 0) yield return CliContext.Count(app.CachedEntries, "cached entry", "cached entries");
        if (files == 0 && copies == 0 && app.CachedEntries == 0) yield return "nothing but its record";
    }

    private static string Amount(int files, long bytes) => $"{CliContext.Count(files, "file", "files")}, {CliContext.Count(bytes, "byte", "bytes")}";
}
