using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hlvm.Tests;

/// <summary>
/// A bundle streamed from a real web server, nginx, as a publisher would host it: a static file, nothing in front
/// of it. The run must fetch the bundle with range requests only (every answer a 206) and fetch only what the app
/// reads: a few MiB of resources it never opens must stay on the server.
/// </summary>
[Collection(BundleTests.BundleCache)]
public sealed class NginxStreamingTests
{
    /// <summary>A random line in the program and in its startup resource, so that no entry of this app can be in
    /// the cache already (the tests share one), whatever ran before.</summary>
    private readonly string _nonce = Guid.NewGuid().ToString("N");

    private const int BigBytes = 4 << 20;

    [Fact]
    public void ABundleServedByNginxStreamsOnlyWhatTheAppReads()
    {
        string nginx = EnsureNginx();
        using var dir = new TestSupport.TempDir();
        string www = Directory.CreateDirectory(Path.Combine(dir.Path, "www")).FullName;
        string bundle = Path.Combine(www, "app.hlb");
        string publicKey = PackApp(dir.Path, bundle);
        long size = new FileInfo(bundle).Length;
        Assert.True(size > BigBytes / 2, $"the bundle is {size} bytes: the large resource is missing");

        using var server = NginxServer.Start(nginx, Directory.CreateDirectory(Path.Combine(dir.Path, "nginx")).FullName, www);
        var r = TestSupport.Hlvm("run", $"http://127.0.0.1:{server.Port}/app.hlb", "--trust", publicKey);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        Assert.Equal($"ready {_nonce}\nhello {_nonce}\n", r.Stdout);

        // Stop nginx gracefully, so that every request it answered is in its access log.
        var log = server.StopAndReadAccessLog();
        Assert.NotEmpty(log);
        foreach (var (status, bytes, range) in log)
        {
            Assert.True(status == 206, $"nginx answered {status} to Range: {range}; the access log:\n{server.AccessLogText}");
            Assert.Matches(@"^bytes=\d+-\d+$", range);
        }
        long sent = log.Sum(l => l.Bytes);
        Assert.True(sent < size / 20, $"{sent} of the bundle's {size} bytes were fetched in {log.Count} requests; the access log:\n{server.AccessLogText}");
    }

    /// <summary>The path of nginx, installed by scripts/ensure-nginx.sh if it is missing.</summary>
    private static string EnsureNginx() => TestSupport.EnsureTool("ensure-nginx.sh");

    /// <summary>Makes the app, a key pair and the signed bundle with the command line; returns the public key file.</summary>
    private string PackApp(string root, string bundle)
    {
        string app = Path.Combine(root, "app");
        Directory.CreateDirectory(Path.Combine(app, "data"));
        File.WriteAllText(Path.Combine(app, "main.hl"), $$"""
            import std.fs

            fn main(args: [string]) {
                println("ready {{_nonce}}")
                println(fs.readText("/app/data/greeting.txt"))
            }
            """);
        File.WriteAllText(Path.Combine(app, "data", "greeting.txt"), $"hello {_nonce}");
        var random = new Random(3);
        var big = new byte[BigBytes];
        for (int i = 0; i < big.Length; i++) big[i] = (byte)('a' + random.Next(26));
        File.WriteAllBytes(Path.Combine(app, "data", "big.txt"), big);
        File.WriteAllText(Path.Combine(app, "hlvm.toml"), "name = \"nginxapp\"\nversion = \"1.0.0\"\nentry = \"main.hl\"\nstartup = [\"data/greeting.txt\"]\n");

        string keys = Path.Combine(root, "me");
        var keygen = TestSupport.Hlvm("keygen", "-o", keys);
        Assert.True(keygen.ExitCode == 0, keygen.Stderr);
        var pack = TestSupport.Hlvm("pack", app, "-o", bundle, "--key", keys + ".key");
        Assert.True(pack.ExitCode == 0, pack.Stderr);
        return keys + ".pub";
    }

    /// <summary>
    /// nginx as a child process with a configuration of its own: one process, in the foreground, listening on a
    /// free loopback port, every file it writes (pid, logs, temporary files) under its prefix directory. Killed
    /// when disposed if it is still running.
    /// </summary>
    private sealed class NginxServer : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly string _binary, _prefix, _conf;

        public int Port { get; }

        private string AccessLog => Path.Combine(_prefix, "access.log");
        private string ErrorLog => Path.Combine(_prefix, "error.log");

        public string AccessLogText => File.Exists(AccessLog) ? File.ReadAllText(AccessLog) : "(none)";

        private NginxServer(string binary, string prefix, string root, int port)
        {
            _binary = binary;
            _prefix = prefix;
            Port = port;
            _conf = Path.Combine(prefix, "nginx.conf");
            File.WriteAllText(_conf, Config(binary, prefix, root, port));
            var psi = new ProcessStartInfo(binary, ["-p", prefix + "/", "-c", _conf])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            _process = new Process { StartInfo = psi };
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        /// <summary>Starts nginx and waits until its port accepts connections; tries another port if the free one
        /// was taken in between.</summary>
        public static NginxServer Start(string binary, string prefix, string root)
        {
            for (int attempt = 1; ; attempt++)
            {
                var server = new NginxServer(binary, prefix, root, FreePort());
                try
                {
                    if (server.WaitUntilListening(TimeSpan.FromSeconds(20))) return server;
                    string why = server.Diagnostics();
                    if (attempt < 3 && why.Contains("Address already in use", StringComparison.Ordinal))
                    {
                        server.Dispose();
                        continue;
                    }
                    Assert.Fail($"nginx did not start listening on 127.0.0.1:{server.Port}:\n{why}");
                }
                catch
                {
                    server.Dispose();
                    throw;
                }
            }
        }

        private bool WaitUntilListening(TimeSpan limit)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < limit)
            {
                if (_process.HasExited) return false;
                try
                {
                    using var probe = new TcpClient();
                    probe.Connect(IPAddress.Loopback, Port);
                    return true;
                }
                catch (SocketException)
                {
                    Thread.Sleep(50);
                }
            }
            return false;
        }

        /// <summary>What nginx printed and its error log, for a failure's message.</summary>
        private string Diagnostics()
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit();
            string output;
            lock (_output) output = _output.ToString();
            return output + (File.Exists(ErrorLog) ? File.ReadAllText(ErrorLog) : "");
        }

        /// <summary>Asks nginx to finish its requests and exit (<c>-s quit</c>), then reads the access log: each
        /// request's status, body bytes sent and Range header.</summary>
        public List<(int Status, long Bytes, string Range)> StopAndReadAccessLog()
        {
            using (var quit = Process.Start(new ProcessStartInfo(_binary, ["-p", _prefix + "/", "-c", _conf, "-s", "quit"])
                   {
                       RedirectStandardOutput = true,
                       RedirectStandardError = true,
                   })!)
            {
                quit.StandardError.ReadToEndAsync();
                quit.StandardOutput.ReadToEnd();
                quit.WaitForExit();
            }
            if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
                Assert.Fail("nginx did not exit within 10 s of -s quit");
            var lines = File.ReadAllLines(AccessLog).Where(l => l.Length > 0);
            return lines.Select(line =>
            {
                var parts = line.Split(' ');
                Assert.True(parts.Length == 3, $"an access log line of the wrong form: '{line}'");
                return (int.Parse(parts[0]), long.Parse(parts[1]), parts[2]);
            }).ToList();
        }

        /// <summary>The configuration: <c>root</c> is where the bundle is; the log format is status, body bytes
        /// and the Range header. A temporary path is set only for the modules this nginx was built with.</summary>
        private static string Config(string binary, string prefix, string root, int port)
        {
            string built = BuildOptions(binary);
            var temps = new StringBuilder();
            temps.AppendLine($"    client_body_temp_path {prefix}/client_body_temp;");
            foreach (var module in new[] { "proxy", "fastcgi", "uwsgi", "scgi" })
                if (!built.Contains($"--without-http_{module}_module", StringComparison.Ordinal))
                    temps.AppendLine($"    {module}_temp_path {prefix}/{module}_temp;");
            return $$"""
                daemon off;
                master_process off;
                worker_processes 1;
                pid {{prefix}}/nginx.pid;
                error_log {{prefix}}/error.log info;
                events {
                    worker_connections 64;
                }
                http {
                    log_format ranges '$status $body_bytes_sent $http_range';
                    access_log {{prefix}}/access.log ranges;
                {{temps}}    default_type application/octet-stream;
                    server {
                        listen 127.0.0.1:{{port}};
                        root {{root}};
                    }
                }

                """;
        }

        private static string BuildOptions(string binary)
        {
            using var p = Process.Start(new ProcessStartInfo(binary, ["-V"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return stderr + stdout.Result;
        }

        private static int FreePort()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            return ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(TimeSpan.FromSeconds(10));
                }
            }
            catch (InvalidOperationException) { /* it exited in between */ }
            _process.Dispose();
        }
    }
}
