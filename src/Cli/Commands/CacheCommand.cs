using System.CommandLine;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm cache list|clear|verify</c>: the cache of bundle entries shared by all apps.</summary>
internal static class CacheCommand
{
    public static Command Create(CliContext cli)
    {
        var list = new Command("list", "List the cached entries and the apps that use them");
        list.SetAction(_ =>
        {
            var cache = new ContentCache(ContentCache.DefaultRoot);
            var entries = cache.Entries().ToList();
            cli.Out.WriteLine($"{cache.Root}: {CliContext.Count(entries.Count, "entry", "entries")}, {CliContext.Count(entries.Sum(e => e.Size), "byte", "bytes")}");
            foreach (var (app, hashes) in cache.Apps().OrderBy(a => a.Key, StringComparer.Ordinal))
                cli.Out.WriteLine($"  {app}: {CliContext.Count(hashes.Length, "entry", "entries")}");
            return ExitCodes.Ok;
        });
        var clear = new Command("clear", "Remove every cached entry");
        clear.SetAction(_ =>
        {
            var cache = new ContentCache(ContentCache.DefaultRoot);
            cache.Clear();
            cli.Out.WriteLine($"{cache.Root}: cleared");
            return ExitCodes.Ok;
        });
        var verify = new Command("verify", "Rehash every cached entry and remove those that do not match (exit 65 when one did not)");
        verify.SetAction(_ =>
        {
            var cache = new ContentCache(ContentCache.DefaultRoot);
            var bad = cache.Verify();
            foreach (var hash in bad) cli.Out.WriteLine($"removed {hash}: its contents no longer match");
            cli.Out.WriteLine($"{cache.Root}: {CliContext.Count(cache.Entries().Count(), "entry", "entries")} verified, {bad.Count} removed");
            return bad.Count == 0 ? ExitCodes.Ok : ExitCodes.DataError;
        });
        return new Command("cache", "The cache of bundle entries shared by all apps") { list, clear, verify };
    }
}
