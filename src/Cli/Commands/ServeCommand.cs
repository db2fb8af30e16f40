using System.CommandLine;
using Hlvm.Cli.Parsing;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli.Commands;

/// <summary><c>hlvm serve DIR [--port N]</c>: serves a directory over HTTP with range requests, for development.</summary>
internal static class ServeCommand
{
    public static Command Create(CliContext cli)
    {
        var directory = Arguments.Directory("the directory whose files to serve");
        var port = OptionKinds.Count("--port", "N", "the port to listen on, at 127.0.0.1", 1, 65535, 8080, 8080);
        var command = new Command("serve", "Serve a directory's files over HTTP with range requests, for development (Ctrl-C stops)") { directory, port };
        command.SetAction(p =>
        {
            string dir = p.GetValue(directory)!;
            int number = (int)port.Get(p)!.Value;
            if (!Directory.Exists(dir))
            {
                cli.Messages.WriteLine($"hlvm: '{Inputs.Shown(dir)}' is not a directory");
                return ExitCodes.NoInput;
            }
            try
            {
                using var server = new DevServer(dir, number, line => cli.Messages.WriteLine(line));
                cli.Out.WriteLine($"serving {Path.GetFullPath(dir)} at {server.Url} (Ctrl-C stops)");
                cli.Out.Flush();
                using var stop = new ManualResetEventSlim();
                Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Set(); };
                stop.Wait();
                return ExitCodes.Ok;
            }
            catch (System.Net.HttpListenerException e)
            {
                cli.Messages.WriteLine($"hlvm: cannot listen on port {number}: {e.Message}");
                return ExitCodes.CantCreate;
            }
        });
        return command;
    }
}
