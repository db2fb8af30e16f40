using Hlvm.Runtime.Bytecode;
using Hlvm.Sandbox;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli.Commands;

/// <summary>
/// <c>hlvm run</c> of a bundle, from a file or an http(s) URL: the trusted keys, the opening and checking of its
/// front, the permissions its manifest asks for, and its entry module run sandboxed with its resources at <c>/app</c>.
/// </summary>
internal sealed class BundleRunner(CliContext cli, Runner run)
{
    public int Run(RunSettings s, string location)
    {
        var trusted = new List<byte[]>();
        try
        {
            trusted.AddRange(TrustPolicy.ReadKeysFile(TrustPolicy.DefaultKeysFile));
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            cli.Messages.WriteLine($"hlvm: {TrustPolicy.DefaultKeysFile}: {(e is FormatException ? e.Message : Inputs.Why(e))}");
            return e is FormatException ? ExitCodes.DataError : ExitCodes.NoInput;
        }
        foreach (var key in s.Trust)
        {
            if (ReadTrustedKey(key, out int exitCode) is { } bytes) trusted.Add(bytes);
            else return exitCode;
        }
        if (Inputs.IsUrl(location))
        {
            string? wrong = !location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !location.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
                ? $"'{Inputs.Shown(location)}': a bundle is read from a file or an http:// or https:// URL"
                // It was read as a file's name, and "no such file" said nothing of what was wrong.
                : !Uri.TryCreate(location, UriKind.Absolute, out var uri) ? $"'{Inputs.Shown(location)}' is not a valid URL"
                // .NET sends no credentials from a URL, and the URL is kept with the app's data and shown by `data list`.
                : uri.UserInfo.Length > 0 ? $"'{uri.Scheme}://...@{Inputs.Shown(uri.Authority)}...': a bundle's URL can't carry a user name or password; hlvm sends none"
                : null;
            if (wrong is not null)
            {
                cli.Messages.WriteLine($"hlvm: {wrong}");
                return ExitCodes.Usage;
            }
        }
        if (!Inputs.IsUrl(location) && !File.Exists(location))
        {
            cli.Messages.WriteLine($"hlvm: cannot read '{Inputs.Shown(location)}': {(Directory.Exists(location) ? "it is a directory" : "no such file")}");
            return ExitCodes.NoInput;
        }
        var cache = new ContentCache(ContentCache.DefaultRoot);
        Bundle bundle;
        // Each request waits at most what is left of --timeout (and never more than the default 30 s). A request
        // that waited that long ran the time out, whatever the clock says a moment later: its timer and the
        // deadline's clock are not the same clock.
        var network = run.Remaining is { } remaining && remaining < TimeSpan.FromSeconds(30) ? remaining : (TimeSpan?)null;
        bool TimeRanOut(Exception e) => run.Remaining == TimeSpan.Zero || (network is not null && e is BundleException { TimedOut: true });
        try
        {
            bundle = Bundle.Open(location, cache, new TrustPolicy(trusted, s.AllowUnsigned), network);
        }
        catch (BundleException e) when (TimeRanOut(e))
        {
            cli.Messages.WriteLine($"hlvm: limit exceeded (timeout): {location}: the time ran out while the bundle was fetched ({e.Message})");
            return ExitCodes.LimitExceeded;
        }
        catch (BundleException e)
        {
            // A message may quote what a server or a file said: show it, don't send it.
            cli.Messages.WriteLine(ControlCharacters.MakeVisible($"hlvm: {location}: {e.Message}"));
            // Not there or not reachable is a missing input; anything else is a bundle that is wrong.
            return e.Unavailable ? ExitCodes.NoInput : ExitCodes.DataError;
        }
        using (bundle)
        {
            var manifest = bundle.Front.Manifest;
            if (bundle.Offline) cli.Messages.WriteLine($"hlvm: {location} can't be reached; running {manifest.Name} {manifest.Version} from the cache");
            if (manifest.Permissions.Count > 0)
            {
                var flags = manifest.Permissions.Select(x => Packer.TryParsePermission(x, out var kind, out var target) ? Flag(kind, target) : x);
                cli.Messages.WriteLine($"hlvm: {manifest.Name} {manifest.Version} asks for {string.Join(" ", flags)}; it gets what this command line grants{(cli.Interactive ? " and what you grant now" : "")}");
            }
            // The entry module is held whole before the run: it may be no larger than the heap the app is given.
            var entry = bundle.EntryModule;
            if (Math.Max(entry.Size, entry.StoredSize) > s.MaxHeap)
            {
                cli.Messages.WriteLine($"hlvm: limit exceeded (max-heap): {location}: the entry module '{entry.Name}' is {Math.Max(entry.Size, entry.StoredSize)} bytes, more than the app's heap limit of {s.MaxHeap} bytes");
                return ExitCodes.LimitExceeded;
            }
            Module module;
            try
            {
                using var time = run.Remaining is { } left ? new CancellationTokenSource(left) : null;
                module = ModuleFormat.Read(bundle.Read(entry, time?.Token ?? default));
            }
            catch (Exception e) when (e is OperationCanceledException || TimeRanOut(e))
            {
                cli.Messages.WriteLine($"hlvm: limit exceeded (timeout): {location}: the time ran out while the entry module was fetched");
                return ExitCodes.LimitExceeded;
            }
            catch (Exception e) when (e is BundleException or ModuleFormatException)
            {
                cli.Messages.WriteLine(ControlCharacters.MakeVisible($"hlvm: {location}: {e.Message}"));
                return e is BundleException { Unavailable: true } ? ExitCodes.NoInput : ExitCodes.DataError;
            }
            Permissions permissions;
            try
            {
                permissions = s.Permissions();
                Ask(permissions, manifest.Permissions);
            }
            catch (ArgumentException e)
            {
                cli.Messages.WriteLine($"hlvm: {e.Message}");
                return ExitCodes.Usage;
            }
            return run.RunSandboxed(s, location, module,
                o => o with { AppFiles = new BundleAppFiles(bundle, s.MaxHeap), StorageDirectory = AppStorage.DirectoryForId(bundle.AppId), About = AppAbout.Bundle(bundle.Front, Inputs.IsUrl(location) ? location : Path.GetFullPath(location)) },
                permissions);
        }
    }

    /// <summary>A grant as a flag that gives it: <c>--allow-env=USER</c>, <c>--allow-env='*'</c>.</summary>
    private static string Flag(string kind, string? target) => target is null ? $"--allow-{kind}='*'" : $"--allow-{kind}={target}";

    /// <summary>
    /// A key of <c>--trust</c>: <c>ed25519:BASE64</c> itself, or a file that holds it. A missing or unreadable
    /// file is exit 66, one that holds no key 65, a malformed key on the command line 64.
    /// </summary>
    private byte[]? ReadTrustedKey(string key, out int exitCode)
    {
        exitCode = ExitCodes.Ok;
        bool inline = key.StartsWith("ed25519:", StringComparison.Ordinal) && !File.Exists(key);
        string text;
        if (inline) text = key;
        else
        {
            if (Inputs.ReadSmallText(key, out string why) is not { } read)
            {
                cli.Messages.WriteLine($"hlvm: --trust: cannot read '{Inputs.Shown(key)}': {why} (a key is ed25519:BASE64 or a file holding it)");
                exitCode = ExitCodes.NoInput;
                return null;
            }
            text = read;
        }
        try
        {
            return Signing.ParsePublicKey(text);
        }
        catch (FormatException e)
        {
            cli.Messages.WriteLine($"hlvm: --trust: {(inline ? "" : $"{Inputs.Shown(key)}: ")}{e.Message}");
            exitCode = inline ? ExitCodes.Usage : ExitCodes.DataError;
            return null;
        }
    }

    /// <summary>
    /// Asks, on a terminal only, for each permission a bundle requests that the command line did not grant;
    /// a "y" grants it for this run. Without a terminal nothing is asked and nothing more is granted.
    /// </summary>
    private void Ask(Permissions permissions, IReadOnlyList<string> requested)
    {
        if (!cli.Interactive) return;
        foreach (var request in requested)
        {
            if (!Packer.TryParsePermission(request, out var kind, out var target)) continue;
            // The target as it will be granted (a path made absolute, its .. resolved), not as the bundle spelled it.
            if (kind is "read" or "write" && target is not null) target = Path.GetFullPath(target);
            string probe = target ?? (kind is "read" or "write" ? "/" : "*");
            if (permissions.IsAllowed(kind, probe)) continue;
            cli.Messages.Write(ControlCharacters.MakeVisible($"hlvm: grant {(target is null ? $"{Flag(kind, null)} (all of it)" : Flag(kind, target))} for this run? [y/N] "));
            cli.Err.Flush();
            if (cli.In.ReadLine()?.Trim() is "y" or "Y" or "yes") permissions.Allow(kind, target);
        }
    }
}
