using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text;
using Hlvm.Compiler;
using Hlvm.Compiler.Assembly;
using Hlvm.Compiler.Diagnostics;
using Hlvm.Runtime;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Verification;
using Hlvm.Sandbox;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Cli;

/// <summary>The <c>hlvm</c> command: run, build, check, disassemble and assemble programs.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        EndProcessOnStuckTimeout = true;
        using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        using var stderr = new StreamWriter(Console.OpenStandardError(), new UTF8Encoding(false)) { AutoFlush = true };
        int code = Run(args, stdout, stderr);
        stdout.Flush();
        return code;
    }

    /// <summary>
    /// Whether a program that does not stop within a grace period after its <c>--timeout</c> (stuck in a write
    /// to a pipe nobody reads, say) ends the whole process: for the command, never for a host running it in-process.
    /// </summary>
    private static bool EndProcessOnStuckTimeout;

    /// <summary>Runs the command line with the given output streams and returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, TextReader? stdin = null)
    {
        var cli = new CommandLine(stdout, stderr, stdin ?? Console.In);
        var parse = cli.Root.Parse(CommandLine.MarkBareGrants(args));
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) stderr.WriteLine($"hlvm: {error.Message}");
            stderr.WriteLine("Run 'hlvm --help' for usage.");
            return ExitCodes.Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stdout.Flush();
            stderr.WriteLine($"hlvm: internal error: {e}");
            return ExitCodes.RuntimeError;
        }
    }

    /// <summary>Writes to one writer after flushing another, so that output to the two keeps its order.</summary>
    private sealed class FlushingWriter(TextWriter first, TextWriter target) : TextWriter
    {
        public override System.Text.Encoding Encoding => target.Encoding;

        public override void Write(char value)
        {
            first.Flush();
            target.Write(value);
        }

        public override void Write(ReadOnlySpan<char> buffer)
        {
            first.Flush();
            target.Write(buffer);
        }
    }

    private sealed class CommandLine
    {
        private readonly TextWriter _out;
        private readonly TextWriter _err;
        public RootCommand Root { get; }

        private readonly Argument<string> _file = new("file") { Description = "a program (.hl), a compiled module (.hlc), or a bundle (.hlb, or an http:// URL)" };
        private readonly Argument<string[]> _programArgs = new("args") { Description = "arguments passed to the program's main (put them after --)", Arity = ArgumentArity.ZeroOrMore };
        private readonly Option<string> _engine = new("--engine") { Description = "the execution engine: interp", DefaultValueFactory = _ => "interp" };
        private readonly Option<int> _maxStack = new("--max-stack") { Description = $"most nested calls before a StackOverflowError (default {InterpreterOptions.DefaultMaxFrames})", DefaultValueFactory = _ => InterpreterOptions.DefaultMaxFrames };
        private readonly Option<long> _maxHeap = new("--max-heap") { HelpName = "SIZE", Description = "most bytes of live objects on the heap, with k/m/g suffixes (default 1g)", DefaultValueFactory = _ => 1L << 30, CustomParser = ParseSize };
        private readonly Option<long?> _fuel = new("--fuel") { Description = "most instructions to execute before stopping (exit code 75)" };
        private readonly Option<bool> _gcStress = new("--gc-stress") { Description = "collect garbage at every allocation (debugging)" };
        private readonly Option<bool> _gcLog = new("--gc-log") { Description = "print a line per garbage collection to stderr" };
        private readonly Option<bool> _verifyHeap = new("--verify-heap") { Description = "check the heap's invariants after every collection (debugging)" };
        private readonly Option<bool> _checked = new("--checked") { Description = "check before every instruction that the stack holds the types the verifier promised (debugging; slow)" };
        private readonly Option<string?> _output = new("--output", "-o") { Description = "the module file to write (default: the source name with .hlc)" };
        private readonly Option<TimeSpan?> _timeout = new("--timeout") { HelpName = "DURATION", Description = "most wall time the program may run, waiting included: 500ms, 10s, 2m, 1h (a bare number is seconds)", CustomParser = ParseDuration };
        private readonly Option<long?> _maxOutput = new("--max-output") { HelpName = "SIZE", Description = "most bytes the program may write to stdout and stderr together, with k/m/g suffixes", CustomParser = ParseOptionalSize };
        private readonly Option<int> _maxOpenFiles = new("--max-open-files") { Description = $"most connections and listeners open at once (default {OpenFilesLimit.Default})", DefaultValueFactory = _ => OpenFilesLimit.Default };
        private readonly Option<string?> _audit = new("--audit") { HelpName = "FILE", Description = "append one JSON line per permission check (time, native, permission, target, allowed) to FILE" };
        private readonly Option<string[]> _trust = new("--trust") { HelpName = "KEY", Description = "trust bundles signed by this public key (ed25519:BASE64, or a file holding it); repeatable", AllowMultipleArgumentsPerToken = false };
        private readonly Option<bool> _allowUnsigned = new("--allow-unsigned") { Description = "run a bundle that is not signed" };
        private readonly Option<string?> _key = new("--key") { Description = "sign the bundle with the private key in this file (from hlvm keygen)" };
        private readonly Option<int> _port = new("--port") { Description = "the port to listen on (127.0.0.1)", DefaultValueFactory = _ => 8080 };
        private readonly Argument<string> _directory = new("dir") { Description = "the directory" };
        private readonly Argument<string> _app = new("app") { Description = "the app's name, as its manifest gives it" };
        private readonly Option<bool> _allowEscapes = new("--allow-escapes") { Description = "let the program's control characters (terminal escape sequences) through unchanged" };
        private readonly Dictionary<string, (Option<string[]> Allow, Option<string[]> Deny)> _grants = Permissions.Kinds.ToDictionary(k => k, k => (
            new Option<string[]>($"--allow-{k}") { HelpName = TargetName(k), Description = GrantHelp(k, "grant"), Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false },
            new Option<string[]>($"--deny-{k}") { HelpName = TargetName(k), Description = GrantHelp(k, "deny"), Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false }));

        /// <summary>What a bare <c>--allow-read</c> (or <c>--deny-read</c>, ...) becomes before parsing: the
        /// option with a value no target can have, meaning every target. A bare flag could otherwise take the
        /// next word (the program's file) as its value.</summary>
        private const string Everything = "\0all";

        private static string TargetName(string kind) => kind switch { "net" => "HOST[:PORT]", "env" => "NAME", _ => "PATH" };

        private static string GrantHelp(string kind, string verb) => (kind, verb) switch
        {
            ("read", "grant") => "let the program read PATH and what is under it (repeatable; bare: every path)",
            ("write", "grant") => "let the program write PATH and what is under it (repeatable; bare: every path)",
            ("net", "grant") => "let the program connect to or listen on HOST or HOST:PORT (repeatable; bare: any)",
            ("env", "grant") => "let the program read the environment variable NAME (repeatable; bare: all)",
            _ => $"refuse {kind} access to the target even where a grant covers it (repeatable; bare: all)",
        };

        /// <summary>Rewrites bare grant and denial flags (before any <c>--</c>) into their every-target form.</summary>
        public static string[] MarkBareGrants(string[] args)
        {
            var result = (string[])args.Clone();
            for (int i = 0; i < result.Length && result[i] != "--"; i++)
                if (Permissions.Kinds.Any(k => result[i] == $"--allow-{k}" || result[i] == $"--deny-{k}")) result[i] += "=" + Everything;
            return result;
        }

        private readonly TextReader _in;

        public CommandLine(TextWriter stdout, TextWriter stderr, TextReader stdin)
        {
            _out = stdout;
            _err = stderr;
            _in = stdin;
            _engine.AcceptOnlyFromAmong("interp");
            _maxStack.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<int>() < 1) r.AddError("--max-stack must be at least 1");
            });
            _fuel.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<long?>() is < 0) r.AddError("--fuel must not be negative");
            });

            var run = new Command("run", "Compile (if needed), verify and run a program")
            {
                _file, _programArgs, _engine, _maxStack, _maxHeap, _fuel, _timeout, _maxOutput, _maxOpenFiles, _audit, _allowEscapes,
                _gcStress, _gcLog, _verifyHeap, _checked, _trust, _allowUnsigned,
            };
            foreach (var (allow, deny) in _grants.Values)
            {
                run.Options.Add(allow);
                run.Options.Add(deny);
            }
            _maxOpenFiles.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<int>() < 0) r.AddError("--max-open-files must not be negative");
            });
            run.SetAction(Run);
            var build = new Command("build", "Compile a program to a module file") { _file, _output };
            build.SetAction(Build);
            var check = new Command("check", "Compile a program and report its errors without running it") { _file };
            check.SetAction(p => Check(p.GetValue(_file)!));
            var disasm = new Command("disasm", "Print a program's or module's bytecode") { _file };
            disasm.SetAction(p => Disasm(p.GetValue(_file)!));
            var asm = new Command("asm", "Assemble a module's text form (.hlasm, as disasm prints it) to a module file, without verifying it")
            {
                _file, _output,
            };
            asm.SetAction(Asm);
            var keygen = new Command("keygen", "Make a key pair for signing bundles: NAME.key (private) and NAME.pub") { _output };
            keygen.SetAction(p => Keygen(p.GetValue(_output) ?? "hlvm"));
            var pack = new Command("pack", "Pack an app directory (with its hlvm.toml) into one bundle file") { _directory, _output, _key };
            pack.SetAction(Pack);
            var serve = new Command("serve", "Serve a directory's files over HTTP with range requests, for development") { _directory, _port };
            serve.SetAction(p => Serve(p.GetValue(_directory)!, p.GetValue(_port)));
            var cacheList = new Command("list", "List the cached entries and the apps that use them");
            cacheList.SetAction(_ => CacheList());
            var cacheClear = new Command("clear", "Remove every cached entry");
            cacheClear.SetAction(_ => CacheClear());
            var cacheVerify = new Command("verify", "Rehash every cached entry and remove those that do not match");
            cacheVerify.SetAction(_ => CacheVerify());
            var cache = new Command("cache", "The cache of bundle entries shared by all apps") { cacheList, cacheClear, cacheVerify };
            var rm = new Command("rm", "Remove an app's private data and the cached entries no other app uses") { _app };
            rm.SetAction(p => Remove(p.GetValue(_app)!));
            Root = new RootCommand($"""
                Hlvm: a virtual machine for a small statically typed language.

                  hlvm run hello.hl            compile and run a program
                  hlvm build hello.hl -o h.hlc compile to a module file
                  hlvm run h.hlc               verify and run a module
                  hlvm disasm h.hlc > h.hlasm  print a module as text
                  hlvm asm h.hlasm -o h.hlc    assemble the text back into a module
                  hlvm keygen -o me            make a signing key pair (me.key, me.pub)
                  hlvm pack app/ -o app.hlb --key me.key
                  hlvm run app.hlb --trust me.pub        (or http://host/app.hlb)

                {ExitCodes.Help}
                """)
            {
                run, build, check, disasm, asm, keygen, pack, serve, cache, rm,
            };
            // The default prints the entry assembly's version, which is the host's when hlvm is embedded.
            foreach (var version in Root.Options.OfType<VersionOption>()) version.Action = new PrintVersion();
        }

        private sealed class PrintVersion : SynchronousCommandLineAction
        {
            public override int Invoke(ParseResult parseResult)
            {
                string version = typeof(Program).Assembly
                    .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                    .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";
                parseResult.InvocationConfiguration.Output.WriteLine($"{version.Split('+')[0]}");
                return ExitCodes.Ok;
            }
        }

        private static long? ParseOptionalSize(ArgumentResult result) => ParseSize(result);

        private static TimeSpan? ParseDuration(ArgumentResult result)
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            var m = System.Text.RegularExpressions.Regex.Match(text, @"^(\d+(?:\.\d+)?)(ms|s|m|h)?$");
            if (m.Success && double.TryParse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture, out double n))
            {
                double ms = n * m.Groups[2].Value switch { "ms" => 1, "m" => 60_000, "h" => 3_600_000, _ => 1000 };
                if (ms is > 0 and <= int.MaxValue) return TimeSpan.FromMilliseconds(ms);
            }
            result.AddError($"'{text}' is not a duration: write a positive number with ms, s, m or h (e.g. 500ms, 10s; at most 24 days)");
            return null;
        }

        private static long ParseSize(ArgumentResult result)
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (SizeParser.TryParse(text, out long bytes)) return bytes;
            result.AddError($"'{text}' is not a size: write a positive number of bytes, optionally with k, m or g (e.g. 64m)");
            return 0;
        }

        // ---------------------------------------------------------------------------------------- inputs

        /// <summary>Reads an input file, or reports why not (exit 66).</summary>
        private byte[]? ReadInput(string path)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    _err.WriteLine($"hlvm: cannot read '{path}': it is a directory");
                    return null;
                }
                return File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                string why = e switch
                {
                    FileNotFoundException or DirectoryNotFoundException => "no such file",
                    UnauthorizedAccessException => "permission denied",
                    _ => e.Message,
                };
                _err.WriteLine($"hlvm: cannot read '{path}': {why}");
                return null;
            }
        }

        private static bool IsModule(byte[] bytes) => bytes.AsSpan().StartsWith(ModuleFormat.Magic);

        /// <summary>Compiles source bytes, printing diagnostics; null when there were errors.</summary>
        private Module? CompileSource(string path, byte[] bytes)
        {
            string text = new UTF8Encoding(false, false).GetString(bytes);
            if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
            var result = Compilation.Compile(path, text);
            // A diagnostic quotes the source, which may hold control characters: show them, don't send them.
            foreach (var d in result.Diagnostics) _err.WriteLine(ControlCharacters.MakeVisible(d.Format()));
            int errors = result.Diagnostics.Count(d => d.Severity == Severity.Error);
            if (errors > 0) _err.WriteLine($"{errors} error{(errors == 1 ? "" : "s")}");
            return result.Module;
        }

        /// <summary>A module from a source or module file; null (with the exit code set) when there is none.</summary>
        private Module? LoadModule(string path, out int exitCode)
        {
            exitCode = ExitCodes.Ok;
            var bytes = ReadInput(path);
            if (bytes is null)
            {
                exitCode = ExitCodes.NoInput;
                return null;
            }
            if (IsModule(bytes))
            {
                try
                {
                    return ModuleFormat.Read(bytes);
                }
                catch (ModuleFormatException e)
                {
                    _err.WriteLine($"hlvm: {path}: {e.Message}");
                    exitCode = ExitCodes.DataError;
                    return null;
                }
            }
            var module = CompileSource(path, bytes);
            if (module is null) exitCode = ExitCodes.DataError;
            return module;
        }

        // ---------------------------------------------------------------------------------------- commands

        private int Run(ParseResult p)
        {
            string path = p.GetValue(_file)!;
            if (IsBundle(path)) return RunBundle(p, path);
            var module = LoadModule(path, out int exitCode);
            if (module is null) return exitCode;
            return RunSandboxed(p, path, module, o => o with { AppDirectory = Path.GetDirectoryName(Path.GetFullPath(path))! });
        }

        /// <summary>Runs a module in an isolate with the command line's grants and limits; <paramref name="app"/>
        /// says where the app's files are.</summary>
        private int RunSandboxed(ParseResult p, string path, Module module, Func<IsolateOptions, IsolateOptions> app, IReadOnlyList<string>? requested = null)
        {
            var permissions = new Permissions();
            try
            {
                foreach (var (kind, (allow, deny)) in _grants)
                {
                    foreach (var target in p.GetValue(allow) ?? []) permissions.Allow(kind, target == Everything ? null : target);
                    foreach (var target in p.GetValue(deny) ?? []) permissions.Deny(kind, target == Everything ? null : target);
                }
                if (requested is not null) Ask(permissions, requested);
            }
            catch (ArgumentException e)
            {
                _err.WriteLine($"hlvm: {e.Message}");
                return ExitCodes.Usage;
            }
            var limits = new List<Limit> { new HeapLimit(p.GetValue(_maxHeap)), new StackLimit(p.GetValue(_maxStack)), new OpenFilesLimit(p.GetValue(_maxOpenFiles)) };
            if (p.GetValue(_fuel) is { } fuel) limits.Add(new FuelLimit(fuel));
            if (p.GetValue(_timeout) is { } timeout) limits.Add(new TimeLimit(timeout));
            if (p.GetValue(_maxOutput) is { } maxOutput) limits.Add(new OutputLimit(maxOutput));
            bool allowEscapes = p.GetValue(_allowEscapes);
            StreamWriter? auditFile = null;
            try
            {
                if (p.GetValue(_audit) is { } auditPath)
                {
                    try
                    {
                        auditFile = new StreamWriter(new FileStream(auditPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                    {
                        _err.WriteLine($"hlvm: cannot write the audit log '{auditPath}': {e.Message}");
                        return ExitCodes.CantCreate;
                    }
                }
                Isolate isolate;
                try
                {
                    isolate = new Isolate(app(new IsolateOptions
                    {
                        Permissions = permissions,
                        Limits = limits,
                        Out = _out,
                        In = _in,
                        // The program's stderr comes after what it printed to stdout before it.
                        Error = new FlushingWriter(_out, _err),
                        Audit = auditFile is null ? null : new AuditLog(auditFile),
                        AllowEscapes = allowEscapes,
                        Heap = new HeapOptions
                        {
                            Stress = p.GetValue(_gcStress),
                            Verify = p.GetValue(_verifyHeap),
                            TrackObjects = p.GetValue(_checked),
                            Log = p.GetValue(_gcLog) ? line => { _out.Flush(); _err.WriteLine(line); } : null,
                        },
                        Interpreter = new InterpreterOptions { Checked = p.GetValue(_checked) },
                    }));
                }
                catch (ArgumentException e)
                {
                    _err.WriteLine($"hlvm: {e.Message}");
                    return ExitCodes.Usage;
                }
                using (isolate)
                {
                    LoadedModule loaded;
                    try
                    {
                        loaded = isolate.Load(module);
                    }
                    catch (VerifyException e)
                    {
                        _err.WriteLine($"hlvm: {path}: {e.Message}");
                        return ExitCodes.DataError;
                    }
                    if (loaded.Entry is null)
                    {
                        _err.WriteLine($"hlvm: {path}: the module has no entry function (main)");
                        return ExitCodes.DataError;
                    }
                    using var stuck = EndProcessOnStuckTimeout && p.GetValue(_timeout) is { } t ? new Timer(_ => EndStuck(t), null, t + StuckGrace, Timeout.InfiniteTimeSpan) : null;
                    return RunIsolate(isolate, loaded, p.GetValue(_programArgs) ?? [], allowEscapes);
                }
            }
            finally
            {
                auditFile?.Dispose();
            }
        }

        /// <summary>How long after its timeout a program that has not stopped ends the process.</summary>
        private static readonly TimeSpan StuckGrace = TimeSpan.FromSeconds(2);

        private void EndStuck(TimeSpan timeout)
        {
            try
            {
                _err.WriteLine($"hlvm: limit exceeded (timeout): the app ran longer than {timeout} and did not stop within {StuckGrace.TotalSeconds:0}s more; ending the process");
                _err.Flush();
            }
            finally
            {
                Environment.Exit(ExitCodes.LimitExceeded);
            }
        }

        private int RunIsolate(Isolate isolate, LoadedModule loaded, IReadOnlyList<string> args, bool allowEscapes)
        {
            try
            {
                long result = isolate.Run(loaded, args);
                _out.Flush();
                return (int)(result & 0xFF);
            }
            catch (LimitExceededError e)
            {
                _out.Flush();
                _err.WriteLine(Visible($"hlvm: limit exceeded: {e.Message}", allowEscapes));
                foreach (var line in e.FormatTrace()) _err.WriteLine(Visible(line, allowEscapes));
                return ExitCodes.LimitExceeded;
            }
            catch (VmError e)
            {
                _out.Flush();
                _err.WriteLine(Visible(e.Format(), allowEscapes));
                return e.ErrorClass == ErrorClasses.Permission ? ExitCodes.NoPermission : ExitCodes.RuntimeError;
            }
        }

        /// <summary>An error's text as the terminal should see it: its message may hold the program's strings.</summary>
        private static string Visible(string text, bool allowEscapes) => allowEscapes ? text : ControlCharacters.MakeVisible(text);

        // ---------------------------------------------------------------------------------------- bundles

        private static bool IsBundle(string path) =>
            path.Contains("://", StringComparison.Ordinal) || path.EndsWith(".hlb", StringComparison.Ordinal);

        private int RunBundle(ParseResult p, string location)
        {
            var trusted = new List<byte[]>();
            try
            {
                trusted.AddRange(TrustPolicy.ReadKeysFile(TrustPolicy.DefaultKeysFile));
                foreach (var key in p.GetValue(_trust) ?? []) trusted.Add(Signing.ParsePublicKey(File.Exists(key) ? File.ReadAllText(key) : key));
            }
            catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
            {
                _err.WriteLine($"hlvm: {e.Message}");
                return ExitCodes.Usage;
            }
            if (location.Contains("://", StringComparison.Ordinal) && !location.StartsWith("http://", StringComparison.Ordinal) && !location.StartsWith("https://", StringComparison.Ordinal))
            {
                _err.WriteLine($"hlvm: '{location}': a bundle is read from a file or an http:// or https:// URL");
                return ExitCodes.Usage;
            }
            if (!location.Contains("://", StringComparison.Ordinal) && !File.Exists(location))
            {
                _err.WriteLine($"hlvm: cannot read '{location}': {(Directory.Exists(location) ? "it is a directory" : "no such file")}");
                return ExitCodes.NoInput;
            }
            var cache = new ContentCache(ContentCache.DefaultRoot);
            Bundle bundle;
            try
            {
                bundle = Bundle.Open(location, cache, new TrustPolicy(trusted, p.GetValue(_allowUnsigned)));
            }
            catch (BundleException e)
            {
                // A message may quote what a server or a file said: show it, don't send it.
                _err.WriteLine(ControlCharacters.MakeVisible($"hlvm: {location}: {e.Message}"));
                return ExitCodes.DataError;
            }
            using (bundle)
            {
                var manifest = bundle.Front.Manifest;
                if (bundle.Offline) _err.WriteLine($"hlvm: {location} can't be reached; running {manifest.Name} {manifest.Version} from the cache");
                if (manifest.Permissions.Count > 0)
                {
                    var flags = manifest.Permissions.Select(x => Packer.TryParsePermission(x, out var kind, out var target) ? target is null ? $"--allow-{kind}" : $"--allow-{kind}={target}" : x);
                    _err.WriteLine($"hlvm: {manifest.Name} {manifest.Version} asks for {string.Join(" ", flags)}; it gets what this command line grants{(Interactive ? " and what you grant now" : "")}");
                }
                Module module;
                try
                {
                    module = ModuleFormat.Read(bundle.Read(bundle.EntryModule));
                }
                catch (Exception e) when (e is BundleException or ModuleFormatException)
                {
                    _err.WriteLine(ControlCharacters.MakeVisible($"hlvm: {location}: {e.Message}"));
                    return ExitCodes.DataError;
                }
                return RunSandboxed(p, location, module, o => o with { AppFiles = new BundleAppFiles(bundle, p.GetValue(_maxHeap)), StorageDirectory = AppStorage.DirectoryForId(bundle.AppId) },
                    manifest.Permissions);
            }
        }

        /// <summary>
        /// Asks, on a terminal only, for each permission a bundle requests that the command line did not grant;
        /// a "y" grants it for this run. Without a terminal nothing is asked and nothing more is granted.
        /// </summary>
        private void Ask(Permissions permissions, IReadOnlyList<string> requested)
        {
            if (!Interactive) return;
            foreach (var request in requested)
            {
                if (!Packer.TryParsePermission(request, out var kind, out var target)) continue;
                // The target as it will be granted (a path made absolute, its .. resolved), not as the bundle spelled it.
                if (kind is "read" or "write" && target is not null) target = Path.GetFullPath(target);
                string probe = target ?? (kind is "read" or "write" ? "/" : "*");
                if (permissions.IsAllowed(kind, probe)) continue;
                _err.Write(ControlCharacters.MakeVisible($"hlvm: grant {(target is null ? $"--allow-{kind} (all of it)" : $"--allow-{kind}={target}")} for this run? [y/N] "));
                _err.Flush();
                if (_in.ReadLine()?.Trim() is "y" or "Y" or "yes") permissions.Allow(kind, target);
            }
        }

        /// <summary>Whether hlvm talks to a person: standard input and standard error are a terminal.</summary>
        private static bool Interactive => EndProcessOnStuckTimeout && !Console.IsInputRedirected && !Console.IsErrorRedirected;

        private int Keygen(string name)
        {
            var (privateKey, publicKey) = Signing.CreateKeyPair();
            string keyFile = name + ".key", pubFile = name + ".pub";
            if (File.Exists(keyFile))
            {
                _err.WriteLine($"hlvm: '{keyFile}' exists already; choose another name with -o");
                return ExitCodes.CantCreate;
            }
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using (var stream = new FileStream(keyFile, options))
                using (var writer = new StreamWriter(stream)) writer.WriteLine(privateKey);
                File.WriteAllText(pubFile, publicKey + "\n");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _err.WriteLine($"hlvm: cannot write the key pair: {e.Message}");
                return ExitCodes.CantCreate;
            }
            _out.WriteLine($"{keyFile}: the private key (keep it to yourself)");
            _out.WriteLine($"{pubFile}: the public key, {publicKey}");
            return ExitCodes.Ok;
        }

        private int Pack(ParseResult p)
        {
            string dir = p.GetValue(_directory)!;
            if (!Directory.Exists(dir))
            {
                _err.WriteLine($"hlvm: '{dir}' is not a directory");
                return ExitCodes.NoInput;
            }
            string output = p.GetValue(_output) ?? Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')) + ".hlb";
            string? key = null;
            if (p.GetValue(_key) is { } keyFile)
            {
                try
                {
                    key = File.ReadAllText(keyFile);
                    Signing.Signer(key);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
                {
                    _err.WriteLine($"hlvm: {keyFile}: {(e is FileNotFoundException ? "no such file" : e.Message)}");
                    return e is FormatException ? ExitCodes.DataError : ExitCodes.NoInput;
                }
            }
            try
            {
                var front = Packer.Pack(dir, output, source =>
                {
                    var module = LoadModule(source, out _) ?? throw new BundleException($"{source} does not compile");
                    return ModuleFormat.Write(module);
                }, key, line => _err.WriteLine($"hlvm: {line}"));
                long size = new FileInfo(output).Length;
                _out.WriteLine($"{output}: {front.Manifest.Name} {front.Manifest.Version}, {front.Entries.Count} entries, {size} bytes, {(key is null ? "unsigned" : "signed")}");
                return ExitCodes.Ok;
            }
            catch (BundleException e)
            {
                _err.WriteLine($"hlvm: {e.Message}");
                return ExitCodes.DataError;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _err.WriteLine($"hlvm: cannot write '{output}': {e.Message}");
                return ExitCodes.CantCreate;
            }
        }

        private int Serve(string dir, int port)
        {
            if (!Directory.Exists(dir))
            {
                _err.WriteLine($"hlvm: '{dir}' is not a directory");
                return ExitCodes.NoInput;
            }
            try
            {
                using var server = new DevServer(dir, port, line => _err.WriteLine(line));
                _out.WriteLine($"serving {Path.GetFullPath(dir)} at {server.Url} (Ctrl-C stops)");
                _out.Flush();
                using var stop = new ManualResetEventSlim();
                Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Set(); };
                stop.Wait();
                return ExitCodes.Ok;
            }
            catch (System.Net.HttpListenerException e)
            {
                _err.WriteLine($"hlvm: cannot listen on port {port}: {e.Message}");
                return ExitCodes.CantCreate;
            }
        }

        private int CacheList()
        {
            var cache = new ContentCache(ContentCache.DefaultRoot);
            var entries = cache.Entries().ToList();
            _out.WriteLine($"{cache.Root}: {entries.Count} entries, {entries.Sum(e => e.Size)} bytes");
            foreach (var (app, hashes) in cache.Apps().OrderBy(a => a.Key, StringComparer.Ordinal))
                _out.WriteLine($"  {app}: {hashes.Length} entries");
            return ExitCodes.Ok;
        }

        private int CacheClear()
        {
            var cache = new ContentCache(ContentCache.DefaultRoot);
            cache.Clear();
            _out.WriteLine($"{cache.Root}: cleared");
            return ExitCodes.Ok;
        }

        private int CacheVerify()
        {
            var cache = new ContentCache(ContentCache.DefaultRoot);
            var bad = cache.Verify();
            foreach (var hash in bad) _out.WriteLine($"removed {hash}: its contents no longer match");
            _out.WriteLine($"{cache.Root}: {cache.Entries().Count()} entries verified, {bad.Count} removed");
            return bad.Count == 0 ? ExitCodes.Ok : ExitCodes.DataError;
        }

        private int Remove(string name)
        {
            if (!BundleFront.IsAppName(name))
            {
                _err.WriteLine($"hlvm: '{name}' is not an app's name (letters, digits, '-', '_' and '.')");
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
                _err.WriteLine($"hlvm: no app named '{name}' has run here");
                return ExitCodes.NoInput;
            }
            foreach (var id in ids.Order(StringComparer.Ordinal))
            {
                int removed = cache.RemoveApp(id);
                string storage = AppStorage.DirectoryForId(id);
                if (Directory.Exists(storage)) Directory.Delete(storage, recursive: true);
                _out.WriteLine($"removed {id}: its data and {removed} cached entries");
            }
            return ExitCodes.Ok;
        }

        private int Build(ParseResult p)
        {
            string path = p.GetValue(_file)!;
            var bytes = ReadInput(path);
            if (bytes is null) return ExitCodes.NoInput;
            if (IsModule(bytes))
            {
                _err.WriteLine($"hlvm: '{path}' is already a compiled module");
                return ExitCodes.Usage;
            }
            var module = CompileSource(path, bytes);
            if (module is null) return ExitCodes.DataError;
            return WriteModule(p.GetValue(_output) ?? Path.ChangeExtension(path, ".hlc"), module);
        }

        private int Asm(ParseResult p)
        {
            string path = p.GetValue(_file)!;
            var bytes = ReadInput(path);
            if (bytes is null) return ExitCodes.NoInput;
            string text = new UTF8Encoding(false, false).GetString(bytes);
            if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
            var result = Assembler.Assemble(path, text);
            foreach (var d in result.Diagnostics) _err.WriteLine(d.Format());
            if (result.Module is null)
            {
                int errors = result.Diagnostics.Count(d => d.Severity == Severity.Error);
                _err.WriteLine($"{errors} error{(errors == 1 ? "" : "s")}");
                return ExitCodes.DataError;
            }
            return WriteModule(p.GetValue(_output) ?? Path.ChangeExtension(path, ".hlc"), result.Module);
        }

        /// <summary>Writes a module file beside its target and renames it into place, so that a failed write never
        /// leaves a partial module behind.</summary>
        private int WriteModule(string output, Module module)
        {
            string temp = output + ".tmp-" + Environment.ProcessId;
            try
            {
                File.WriteAllBytes(temp, ModuleFormat.Write(module));
                File.Move(temp, output, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                try { File.Delete(temp); } catch (Exception) { /* nothing was written */ }
                _err.WriteLine($"hlvm: cannot write '{output}': {e.Message}");
                return ExitCodes.CantCreate;
            }
            return ExitCodes.Ok;
        }

        private int Check(string path)
        {
            var bytes = ReadInput(path);
            if (bytes is null) return ExitCodes.NoInput;
            if (IsModule(bytes))
            {
                try
                {
                    Verifier.Verify(ModuleFormat.Read(bytes));
                    return ExitCodes.Ok;
                }
                catch (Exception e) when (e is ModuleFormatException or VerifyException)
                {
                    _err.WriteLine($"hlvm: {path}: {e.Message}");
                    return ExitCodes.DataError;
                }
            }
            return CompileSource(path, bytes) is null ? ExitCodes.DataError : ExitCodes.Ok;
        }

        private int Disasm(string path)
        {
            var module = LoadModule(path, out int exitCode);
            if (module is null) return exitCode;
            _out.Write(Disassembler.Disassemble(module));
            return ExitCodes.Ok;
        }
    }
}
