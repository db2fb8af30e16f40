using System.CommandLine;
using Hlvm.Cli.Parsing;
using Hlvm.Runtime.Bytecode;
using Hlvm.Sandbox;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm pack DIR [-o FILE.hlb] [--key NAME.key]</c>: packs an app directory (with its <c>hlvm.toml</c>) into one bundle.</summary>
internal static class PackCommand
{
    public static Command Create(CliContext cli)
    {
        var directory = Arguments.Directory("the app's directory, with its manifest hlvm.toml");
        var output = OptionKinds.Output("--output", "FILE", "the bundle file to write", ["-o"], "the directory's name with .hlb");
        var key = OptionKinds.Path("--key", "FILE", "sign the bundle with the private key in FILE (NAME.key, from hlvm keygen)");
        var command = new Command("pack", "Pack an app directory (with its hlvm.toml) into one bundle file, signed with --key") { directory, output, key };
        var inputs = new Inputs(cli);
        command.SetAction(p =>
        {
            string dir = p.GetValue(directory)!;
            if (!Directory.Exists(dir))
            {
                cli.Messages.WriteLine($"hlvm: '{Inputs.Shown(dir)}' is not a directory");
                return ExitCodes.NoInput;
            }
            string target = output.Get(p) ?? Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')) + ".hlb";
            string? privateKey = null;
            if (key.Get(p) is { } keyFile)
            {
                if (Inputs.ReadSmallText(keyFile, out string why) is not { } text)
                {
                    cli.Messages.WriteLine($"hlvm: --key: {Inputs.Shown(keyFile)}: {why}");
                    return ExitCodes.NoInput;
                }
                try
                {
                    Signing.Signer(text);
                    privateKey = text;
                }
                catch (FormatException e)
                {
                    cli.Messages.WriteLine($"hlvm: --key: {Inputs.Shown(keyFile)}: {e.Message}");
                    return ExitCodes.DataError;
                }
            }
            // The bundle may be written inside the app's directory only as a bundle (.hlb), which packing skips: any
            // other name there replaced a file of the app (its main.hl, its hlvm.toml) with the bundle.
            if (HostPaths.IsWithin(target, dir) && !target.EndsWith(".hlb", StringComparison.Ordinal))
            {
                cli.Messages.WriteLine(Directory.Exists(target) && HostPaths.IsWithin(dir, target)
                    ? $"hlvm pack: the output '{Inputs.Shown(target)}' is the app's directory itself; name the bundle's file, such as {Inputs.Shown(Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')))}.hlb"
                    : $"hlvm pack: the output '{Inputs.Shown(target)}' is inside the app's directory; a bundle there must end with .hlb");
                return ExitCodes.Usage;
            }
            if (inputs.RefuseUnwritable(target) is { } refused) return refused;
            try
            {
                var front = Packer.Pack(dir, target, source =>
                {
                    var module = inputs.LoadModule(source, out _) ?? throw new BundleException($"{source} does not compile");
                    return ModuleFormat.Write(module);
                }, privateKey, line => cli.Messages.WriteLine($"hlvm: {line}"));
                long size = new FileInfo(target).Length;
                cli.Out.WriteLine($"{target}: {front.Manifest.Name} {front.Manifest.Version}, {CliContext.Count(front.Entries.Count, "entry", "entries")}, {size} bytes, {(privateKey is null ? "unsigned" : "signed")}");
                return ExitCodes.Ok;
            }
            catch (BundleException e)
            {
                // Each line of a message of many (a manifest's errors, one a line) is hlvm's.
                foreach (var line in e.Message.Split('\n')) cli.Messages.WriteLine($"hlvm: {Inputs.Shown(line)}");
                return ExitCodes.DataError;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                cli.Messages.WriteLine($"hlvm: cannot write '{Inputs.Shown(target)}': {Inputs.Why(e)}");
                return ExitCodes.CantCreate;
            }
        });
        return command;
    }
}
