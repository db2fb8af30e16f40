using System.CommandLine;
using Hlvm.Cli.Parsing;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm keygen [-o NAME]</c>: makes a key pair for signing bundles, <c>NAME.key</c> (private, 0600) and <c>NAME.pub</c>.</summary>
internal static class KeygenCommand
{
    public static Command Create(CliContext cli)
    {
        var output = OptionKinds.Output("--output", "NAME", "the key pair's files, NAME.key and NAME.pub (a path without the extension; one of the two names is taken as the pair's)", ["-o"], "hlvm", device: false);
        var command = new Command("keygen", "Make a key pair for signing bundles: NAME.key (private: keep it) and NAME.pub (give it to your users)") { output };
        command.SetAction(p => Keygen(cli, output.Get(p) ?? "hlvm"));
        return command;
    }

    private static int Keygen(CliContext cli, string given)
    {
        // -o me.key (or me.pub) names the pair by one of its files: me.key and me.pub, not me.key.key and me.key.pub.
        string name = given.EndsWith(".key", StringComparison.Ordinal) || given.EndsWith(".pub", StringComparison.Ordinal) ? given[..^4] : given;
        // A directory alone (-o keys/, or keys/.key) made the hidden files keys/.key and keys/.pub.
        if (Path.GetFileName(name) is "" or "." or "..")
        {
            cli.Messages.WriteLine($"hlvm keygen: -o '{Inputs.Shown(given)}' names no file; give the key pair a name, as in -o {Inputs.Shown(Path.Combine(name, "me"))}");
            return ExitCodes.Usage;
        }
        string keyFile = name + ".key", pubFile = name + ".pub";
        foreach (var file in new[] { keyFile, pubFile })
        {
            if (File.Exists(file))
            {
                cli.Messages.WriteLine($"hlvm: '{Inputs.Shown(file)}' exists already; choose another name with -o");
                return ExitCodes.CantCreate;
            }
            if (new Inputs(cli).RefuseUnwritable(file) is { } refused) return refused;
        }
        var (privateKey, publicKey) = Signing.CreateKeyPair();
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(keyFile, options))
            using (var writer = new StreamWriter(stream)) writer.WriteLine(privateKey);
            File.WriteAllText(pubFile, publicKey + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            cli.Messages.WriteLine($"hlvm: cannot write the key pair '{Inputs.Shown(name)}': {Inputs.Why(e)}");
            return ExitCodes.CantCreate;
        }
        cli.Out.WriteLine($"{keyFile}: the private key (keep it to yourself)");
        cli.Out.WriteLine($"{pubFile}: the public key, {publicKey}");
        return ExitCodes.Ok;
    }
}
