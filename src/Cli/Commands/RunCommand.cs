using System.CommandLine;
using System.Text;
using Hlvm.Cli.Parsing;
using Hlvm.Runtime;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Verification;
using Hlvm.Sandbox;

namespace Hlvm.Cli.Commands;

/// <summary>
/// <c>hlvm run</c>: compiles (if needed), verifies and runs a program, a module or a bundle in a sandbox with the
/// command line's grants and limits. Bundles are opened by <see cref="BundleRunner"/>.
/// </summary>
internal sealed class RunCommand
{
    private readonly CliContext _cli;
    private readonly Inputs _inputs;

    public Command Command { get; }

    private readonly Argument<string> _file = new("FILE")
    {
        Description = "a program (.hl), a compiled module (.hlc), or a bundle (.hlb, or an http:// or https:// URL)",
    };
    private readonly Argument<string[]> _programArgs = new("ARGS")
    {
        Description = "the program's arguments, given to its main; those that start with '-' go after '--'",
        Arity = ArgumentArity.ZeroOrMore,
    };
    private readonly HlvmOption<string> _engine = OptionKinds.Choice("--engine", "the execution engine", "interp");
    private readonly HlvmOption<long?> _maxStack = OptionKinds.Count("--max-stack", "N", "most nested calls; one more is a StackOverflowError (exit 75)",
        1, int.MaxValue, 1000, InterpreterOptions.DefaultMaxFrames);
    private readonly HlvmOption<long?> _maxHeap = OptionKinds.Size("--max-heap", "most bytes of live objects on the heap; past it, an OutOfMemoryError (exit 75)", "1g", 1L << 30);
    private readonly HlvmOption<long?> _fuel = OptionKinds.Count("--fuel", "N", "most bytecode instructions to execute; running out stops the program (exit 75)",
        0, long.MaxValue, 1_000_000);
    private readonly HlvmOption<TimeSpan?> _timeout = OptionKinds.Duration("--timeout", "most wall time, waiting included: 500ms, 10s, 2m, 1h (a bare number is seconds)");
    private readonly HlvmOption<long?> _maxOutput = OptionKinds.Size("--max-output", "most bytes the program may write to stdout and stderr together");
    private readonly HlvmOption<long?> _maxOpenFiles = OptionKinds.Count("--max-open-files", "N", "most connections and listeners open at once",
        0, int.MaxValue, 16, OpenFilesLimit.Default);
    private readonly HlvmOption<long?> _maxDisk = OptionKinds.Size("--max-disk", "most bytes the app's /data and its private copies of /app files may take (the lengths of their files, earlier runs' included); a write past it is not made and stops the program (exit 75)",
        "1g", DiskLimit.Default);
    private readonly HlvmOption<string?> _audit = OptionKinds.Path("--audit", "FILE", "append one JSON line per permission check (time, native, permission, target, allowed) to FILE");
    private readonly HlvmOption<bool> _allowEscapes = OptionKinds.Flag("--allow-escapes", "let control characters (terminal escape sequences) through to the terminal unchanged");
    private readonly HlvmOption<bool> _gcStress = OptionKinds.Flag("--gc-stress", "collect at every allocation (debugging the VM)");
    private readonly HlvmOption<bool> _gcLog = OptionKinds.Flag("--gc-log", "one line per collection on stderr: number, kind, pause, bytes before and after, heap size, bytes allocated");
    private readonly HlvmOption<bool> _verifyHeap = OptionKinds.Flag("--verify-heap", "check the heap's invariants after every collection (debugging the VM)");
    private readonly HlvmOption<bool> _checked = OptionKinds.Flag("--checked", "before every instruction, check that the stack holds the types the verifier promised (debugging the VM; slow)");
    private readonly HlvmOption<string[]> _trust = OptionKinds.Paths("--trust", "KEY", "run bundles signed by this public key (ed25519:BASE64, or a file holding it, as keygen writes NAME.pub); repeatable");
    private readonly HlvmOption<bool> _allowUnsigned = OptionKinds.Flag("--allow-unsigned", "run a bundle that is not signed");

    /// <summary>The grant and denial of each kind of permission.</summary>
    private readonly Dictionary<string, (HlvmOption<string?[]> Allow, HlvmOption<string?[]> Deny)> _grants =
        Sandbox.Permissions.Kinds.ToDictionary(k => k, k => (OptionKinds.Grant(k, allow: true), OptionKinds.Grant(k, allow: false)));

    /// <summary>The trusted keys the command line gives, and whether it runs unsigned bundles.</summary>
    internal IReadOnlyList<string> TrustedKeys(ParseResult p) => _trust.Get(p);

    internal bool AllowUnsigned(ParseResult p) => _allowUnsigned.Get(p);

    internal long MaxHeap(ParseResult p) => _maxHeap.Get(p)!.Value;

    /// <summary>The file to run and the program's arguments.</summary>
    internal (string File, string[] Args) Target(ParseResult p) => (p.GetValue(_file)!, p.GetValue(_programArgs) ?? []);

    public RunCommand(CliContext cli)
    {
        _cli = cli;
        _inputs = new Inputs(cli);
        Command = new Command("run", "Compile (if needed), verify and run a program, a module or a bundle, in a sandbox.\n"
            + "Options may come before or after FILE, up to '--'; everything after '--' goes to the program.\n"
            + "A grant or denial of a whole kind is spelled with '*': --allow-read='*' (quoted for the shell).")
        {
            _file, _programArgs, _engine, _maxStack, _maxHeap, _fuel, _timeout, _maxOutput, _maxOpenFiles, _maxDisk, _audit, _allowEscapes,
            _gcStress, _gcLog, _verifyHeap, _checked, _trust, _allowUnsigned,
        };
        foreach (var (allow, deny) in _grants.Values)
        {
            Command.Options.Add(allow);
            Command.Options.Add(deny);
        }
        Command.SetAction(Run);
    }

    private int Run(ParseResult p)
    {
        string path = p.GetValue(_file)!;
        if (Inputs.IsBundle(path)) return new BundleRunner(_cli, this).Run(p, path);
        var module = _inputs.LoadModule(path, out int exitCode);
        if (module is null) return exitCode;
        return RunSandboxed(p, path, module, o => o with { AppDirectory = Path.GetDirectoryName(Path.GetFullPath(path))! });
    }

    /// <summary>The permissions the command line grants and denies.</summary>
    internal Permissions Grants(ParseResult p)
    {
        var permissions = new Permissions();
        foreach (var (kind, (allow, deny)) in _grants)
        {
            foreach (var target in allow.Get(p)) permissions.Allow(kind, target);
            foreach (var target in deny.Get(p)) permissions.Deny(kind, target);
        }
        return permissions;
    }

    /// <summary>Runs a module in an isolate with the given permissions and the command line's limits; <paramref name="app"/>
    /// says where the app's files are.</summary>
    internal int RunSandboxed(ParseResult p, string path, Module module, Func<IsolateOptions, IsolateOptions> app, Permissions? permissions = null)
    {
        try
        {
            permissions ??= Grants(p);
        }
        catch (ArgumentException e)
        {
            _cli.Err.WriteLine($"hlvm: {e.Message}");
            return ExitCodes.Usage;
        }
        var limits = new List<Limit> { new HeapLimit(MaxHeap(p)), new StackLimit((int)_maxStack.Get(p)!.Value), new OpenFilesLimit((int)_maxOpenFiles.Get(p)!.Value), new DiskLimit(_maxDisk.Get(p)!.Value) };
        if (_fuel.Get(p) is { } fuel) limits.Add(new FuelLimit(fuel));
        if (_timeout.Get(p) is { } timeout) limits.Add(new TimeLimit(timeout));
        if (_maxOutput.Get(p) is { } maxOutput) limits.Add(new OutputLimit(maxOutput));
        bool allowEscapes = _allowEscapes.Get(p);
        StreamWriter? auditFile = null;
        try
        {
            if (_audit.Get(p) is { } auditPath)
            {
                try
                {
                    auditFile = new StreamWriter(new FileStream(auditPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                {
                    _cli.Err.WriteLine($"hlvm: cannot write the audit log '{Inputs.Shown(auditPath)}': {Inputs.Why(e)}");
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
                    Out = _cli.Out,
                    In = _cli.In,
                    // The program's stderr comes after what it printed to stdout before it.
                    Error = new FlushingWriter(_cli.Out, _cli.Err),
                    Audit = auditFile is null ? null : new AuditLog(auditFile),
                    AllowEscapes = allowEscapes,
                    Heap = new HeapOptions
                    {
                        Stress = _gcStress.Get(p),
                        Verify = _verifyHeap.Get(p),
                        TrackObjects = _checked.Get(p),
                        Log = _gcLog.Get(p) ? line => { _cli.Out.Flush(); _cli.Err.WriteLine(line); } : null,
                    },
                    Interpreter = new InterpreterOptions { Checked = _checked.Get(p) },
                }));
            }
            catch (ArgumentException e)
            {
                _cli.Err.WriteLine($"hlvm: {e.Message}");
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
                    _cli.Err.WriteLine($"hlvm: {Inputs.Shown(path)}: {e.Message}");
                    return ExitCodes.DataError;
                }
                if (loaded.Entry is null)
                {
                    _cli.Err.WriteLine($"hlvm: {Inputs.Shown(path)}: the module has no entry function (main)");
                    return ExitCodes.DataError;
                }
                using var stuck = _cli.IsProcess && _timeout.Get(p) is { } t ? new Timer(_ => EndStuck(t), null, t + StuckGrace, Timeout.InfiniteTimeSpan) : null;
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
            _cli.Err.WriteLine($"hlvm: limit exceeded (timeout): the app ran longer than {timeout} and did not stop within {StuckGrace.TotalSeconds:0}s more; ending the process");
            _cli.Err.Flush();
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
            _cli.Out.Flush();
            return (int)(result & 0xFF);
        }
        catch (LimitExceededError e)
        {
            _cli.Out.Flush();
            _cli.Err.WriteLine(Visible($"hlvm: limit exceeded: {e.Message}", allowEscapes));
            foreach (var line in e.FormatTrace()) _cli.Err.WriteLine(Visible(line, allowEscapes));
            return ExitCodes.LimitExceeded;
        }
        catch (VmError e)
        {
            _cli.Out.Flush();
            _cli.Err.WriteLine(Visible(e.Format(), allowEscapes));
            return e.ErrorClass == ErrorClasses.Permission ? ExitCodes.NoPermission : ExitCodes.RuntimeError;
        }
    }

    /// <summary>An error's text as the terminal should see it: its message may hold the program's strings.</summary>
    private static string Visible(string text, bool allowEscapes) => allowEscapes ? text : ControlCharacters.MakeVisible(text);
}
