using System.CommandLine;
using Hlvm.Sandbox;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm cache list|clear|verify</c>: the cache of bundle entries shared by all apps, and of compiled programs.</summary>
internal static class CacheCommand
{
    public static Command Create(CliContext cli)
    {
        var list = new Command("list", "List the cached bundle entries and the apps that use them, and count the compiled programs");
        list.SetAction(_ =>
        {
            var cache = new ContentCache(ContentCache.DefaultRoot);
            var entries = cache.Entries().ToList();
            cli.Out.WriteLine($"{cache.Root}: {CliContext.Count(entries.Count, "entry", "entries")}, {CliContext.Count(entries.Sum(e => e.Size), "byte", "bytes")}");
            foreach (var (app, hashes) in cache.Apps().OrderBy(a => a.Key, StringComparer.Ordinal))
                cli.Out.WriteLine($"  {app}: {CliContext.Count(hashes.Length, "entry", "entries")}");
            var programs = new ProgramCache(ProgramCache.DefaultRoot);
            var (count, bytes) = programs.Size();
            cli.Out.WriteLine($"{programs.Root}: {CliContext.Count(count, "compiled program", "compiled programs")}, {CliContext.Count(bytes, "byte", "bytes")}");
            return ExitCodes.Ok;
        });
        var clear = new Command("clear", "Remove every cached bundle entry and compiled program");
        clear.SetAction(_ =>
        {
            var cache = new ContentCache(ContentCache.DefaultRoot);
            try
            {
                cache.Clear();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                cli.Messages.WriteLine($"hlvm: cannot clear the cache in {Inputs.Shown(cache.Root)}: {Inputs.Shown(e.Message)}");
                return ExitCodes.CantCreate;
            }
            cli.Out.WriteLine($"{cache.Root}: cleared");
            return ExitCodes.Ok;
        });
        var verify = new Command("verify", "Rehash every cached entry and compiled program, check every cached bundle front, and remove those that do not match (exit 65 when one did not)");
        verify.SetAction(_ =>
        {
            var cache = new ContentCache(ContentCache.DefaultRoot);
            var bad = cache.Verify();
            foreach (var hash in bad) cli.Out.WriteLine($"removed {hash}: its contents no longer match");
            cli.Out.WriteLine($"{cache.Root}: {CliContext.Count(cache.Entries().Count(), "entry", "entries")} verified, {bad.Count} removed");
            var (fronts, frontCount) = cache.VerifyFronts();
            foreach (var (name, damage) in fronts) cli.Out.WriteLine($"removed front {name}: damaged ({Inputs.Shown(damage)}; an offline run could not have used it)");
            cli.Out.WriteLine($"{cache.Root}: {CliContext.Count(frontCount - fronts.Count, "bundle front", "bundle fronts")} verified, {fronts.Count} removed");
            var programs = new ProgramCache(ProgramCache.DefaultRoot);
            var (damaged, checkedCount) = programs.Verify();
            foreach (var name in damaged) cli.Out.WriteLine($"removed program {name}: damaged (it would have been compiled again)");
            cli.Out.WriteLine($"{programs.Root}: {CliContext.Count(checkedCount - damaged.Count, "compiled program", "compiled programs")} verified, {damaged.Count} removed");
            return bad.Count == 0 && fronts.Count == 0 && damaged.Count == 0 ? ExitCodes.Ok : ExitCodes.DataError;
        });
        return new Command("cache", "The caches: bundle entries shared by all apps, and compiled programs") { list, clear, verify };
    }
}
