using System.CommandLine;
using System.Runtime.InteropServices;
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
    private readonly TextOption _engine = OptionKinds.Choice("--engine",
        "the execution engine: tiered interprets and compiles hot functions and loops to CIL; jit compiles every function before it first runs; interp never compiles; "
        + "compare runs the program under interp and under jit (twice: what it does to the network or to files outside its own /data it does twice; its /data changes once, the JIT's run having a copy) and reports 'same' or the first difference in stdout, stderr, the gc log (with --gc-log; pause times aside) or the exit code (exit 1)",
        RunSettings.Engines);
    private readonly NumberOption _jitThreshold = OptionKinds.Count("--jit-threshold", "N",
        $"tiered: compile a function after N calls, or a loop after N iterations (0: before it first runs; default {ExecutionOptions.DefaultJitThreshold} calls, {ExecutionOptions.DefaultJitLoopThreshold} iterations)",
        0, int.MaxValue, 100);
    private readonly FlagOption _jitSync = OptionKinds.Flag("--jit-sync",
        "tiered: .NET compiles each hot function to machine code at its first call, on the program's thread, which waits; by default it does so on a thread of its own while the interpreter goes on running the function (which calls run compiled then varies from run to run; the output does not)");
    private readonly FlagOption _jitLog = OptionKinds.Flag("--jit-log", "one line per compiled function on stderr: name, bytecode and CIL size, the time to emit the CIL, why, and the functions whose calls it compiled in place; at the end, what .NET's compile of that CIL to machine code took on the JIT's thread (tiered, without --jit-sync)");
    private readonly NumberOption _maxStack = OptionKinds.Count("--max-stack", "N", "most nested calls; one more is a StackOverflowError (exit 75)",
        1, int.MaxValue, 1000, RunSettings.DefaultMaxStack);
    private readonly NumberOption _maxHeap = OptionKinds.Size("--max-heap", "most bytes of live objects on the heap; past it, an OutOfMemoryError (exit 75)", "1g", RunSettings.DefaultMaxHeap);
    private readonly NumberOption _fuel = OptionKinds.Count("--fuel", "N", "most bytecode instructions to execute; running out stops the program (exit 75)",
        0, long.MaxValue, 1_000_000);
    private readonly DurationOption _timeout = OptionKinds.Duration("--timeout", "most wall time, waiting included: 500ms, 10s, 2m, 1h (a bare number is seconds)");
    private readonly NumberOption _maxOutput = OptionKinds.Size("--max-output", "most bytes the program may write to stdout and stderr together");
    private readonly NumberOption _maxOpenFiles = OptionKinds.Count("--max-open-files", "N", "most connections and listeners open at once",
        0, int.MaxValue, 16, RunSettings.DefaultMaxOpenFiles);
    private readonly NumberOption _maxDisk = OptionKinds.Size("--max-disk", "most bytes the app's /data and its private copies of /app files may take (the lengths of their files, earlier runs' included); a write past it is not made and stops the program (exit 75)",
        "1g", RunSettings.DefaultMaxDisk);
    private readonly TextOption _audit = OptionKinds.Path("--audit", "FILE", "append one JSON line per permission check (time, native, permission, target, allowed) to FILE");
    private readonly FlagOption _allowEscapes = OptionKinds.Flag("--allow-escapes", "let control characters (terminal escape sequences) through to the terminal unchanged");
    private readonly FlagOption _gcStress = OptionKinds.Flag("--gc-stress", "collect at every allocation (debugging the VM)");
    private readonly FlagOption _gcLog = OptionKinds.Flag("--gc-log", "one line per collection on stderr: number, kind, pause, bytes before and after, heap size, bytes allocated");
    private readonly FlagOption _verifyHeap = OptionKinds.Flag("--verify-heap", "check the heap's invariants after every collection (debugging the VM)");
    private readonly FlagOption _checked = OptionKinds.Flag("--checked", "before every instruction, check that the stack holds the types the verifier promised (debugging the VM; slow)");
    private readonly ListOption _trust = OptionKinds.Paths("--trust", "KEY", "run bundles signed by this public key (ed25519:BASE64, or a file holding it, as keygen writes NAME.pub); repeatable");
    private readonly FlagOption _allowUnsigned = OptionKinds.Flag("--allow-unsigned", "run a bundle that is not signed");

    /// <summary>The grant and denial of each kind of permission, in the order of <see cref="Sandbox.Permissions.Kinds"/>.</summary>
    private readonly (ListOption Allow, ListOption Deny)[] _grants = GrantOptions();

    // hlvm prof's own options.
    private readonly TextOption _profileOutput = OptionKinds.Output("--output", "FILE",
        "also write the profile to FILE, in the format its name ends with: .html (an interactive flame graph), .speedscope.json or .json, .svg, .folded (collapsed stacks), .txt; a name that ends otherwise (a device such as /dev/stdout) needs --format",
        ["-o"]);
    private readonly TextOption _profileFormat = OptionKinds.Choice("--format", "the format of --output when its name does not say", ["auto", .. Runtime.Profiling.ProfileFormats.Formats]);
    private readonly NumberOption _rate = OptionKinds.Count("--rate", "N", "samples a second, by time", 1, 100_000, 1000, Runtime.Profiling.Profiler.DefaultRate);
    private readonly FlagOption _compareEngines = OptionKinds.Flag("--compare",
        "profile the program under the interpreter and under the JIT (it runs twice; its /data changes once, the JIT's run having a copy) and show, per function, the time in each and the speed-up; the HTML's flame graph shows which frames got faster");
    private readonly NumberOption _every = OptionKinds.Count("--every", "N",
        "instead, a sample every N instructions: the same profile on every run (the program runs in the interpreter)", 1, long.MaxValue, 10_000);

    private readonly bool _profiling;

    /// <summary>What this command line asks <c>run</c> to do: every option's value or its default.</summary>
    internal RunSettings Settings(ParseResult p) => new(p.GetValue(_file)!, p.GetValue(_programArgs) ?? [])
    {
        Profile = _profiling ? new ProfileSettings(_profileOutput.Get(p), _profileFormat.Get(p)!, (int)_rate.Get(p)!.Value, _every.Get(p), _compareEngines.Get(p)) : null,
        Engine = _engine.Get(p)!,
        JitThreshold = (int?)_jitThreshold.Get(p) ?? ExecutionOptions.DefaultJitThreshold,
        JitLoopThreshold = (int?)_jitThreshold.Get(p) ?? ExecutionOptions.DefaultJitLoopThreshold,
        JitLog = _jitLog.Get(p),
        JitSync = _jitSync.Get(p),
        MaxStack = (int)_maxStack.Get(p)!.Value,
        MaxHeap = _maxHeap.Get(p)!.Value,
        Fuel = _fuel.Get(p),
        Timeout = _timeout.Get(p),
        MaxOutput = _maxOutput.Get(p),
        MaxOpenFiles = (int)_maxOpenFiles.Get(p)!.Value,
        MaxDisk = _maxDisk.Get(p)!.Value,
        Audit = _audit.Get(p),
        AllowEscapes = _allowEscapes.Get(p),
        GcStress = _gcStress.Get(p),
        GcLog = _gcLog.Get(p),
        VerifyHeap = _verifyHeap.Get(p),
        Checked = _checked.Get(p),
        Trust = _trust.Get(p)!,
        AllowUnsigned = _allowUnsigned.Get(p),
        Grants = GrantsOf(p),
    };

    private static (ListOption Allow, ListOption Deny)[] GrantOptions()
    {
        var options = new (ListOption, ListOption)[Sandbox.Permissions.Kinds.Length];
        for (int i = 0; i < options.Length; i++)
            options[i] = (OptionKinds.Grant(Sandbox.Permissions.Kinds[i], allow: true), OptionKinds.Grant(Sandbox.Permissions.Kinds[i], allow: false));
        return options;
    }

    /// <summary>Each kind's grants, then its denials, in the order they were given.</summary>
    private List<RunSettings.Grant> GrantsOf(ParseResult p)
    {
        var grants = new List<RunSettings.Grant>();
        for (int i = 0; i < _grants.Length; i++)
        {
            string kind = Sandbox.Permissions.Kinds[i];
            foreach (string? target in _grants[i].Allow.Get(p)) grants.Add(new RunSettings.Grant(kind, true, target));
            foreach (string? target in _grants[i].Deny.Get(p)) grants.Add(new RunSettings.Grant(kind, false, target));
        }
        return grants;
    }

    public RunCommand(CliContext cli, bool profiling = false)
    {
        _profiling = profiling;
        Command = new Command(profiling ? "prof" : "run", (profiling
            ? "Run a program as 'run' does (same options, sandbox, limits and engine) while sampling its call stack, and print\n"
              + "where its time went when it ends: per function (self and total time, calls, the share compiled), the hottest\n"
              + "lines, the collector and the JIT. The report goes to stderr; -o writes it to a file as well.\n"
            : "Compile (if needed), verify and run a program, a module or a bundle, in a sandbox.\n")
            + "Options may come before or after FILE, up to '--'; everything after '--' goes to the program.\n"
            + "A grant or denial of a whole kind is spelled with '*': --allow-read='*' (quoted for the shell).")
        {
            _file, _programArgs, _engine, _jitThreshold, _jitSync, _jitLog, _maxStack, _maxHeap, _fuel, _timeout, _maxOutput, _maxOpenFiles, _maxDisk, _audit, _allowEscapes,
            _gcStress, _gcLog, _verifyHeap, _checked, _trust, _allowUnsigned,
        };
        foreach (var (allow, deny) in _grants)
        {
            Command.Options.Add(allow);
            Command.Options.Add(deny);
        }
        if (profiling)
        {
            Command.Options.Add(_profileOutput);
            Command.Options.Add(_profileFormat);
            Command.Options.Add(_rate);
            Command.Options.Add(_every);
            Command.Options.Add(_compareEngines);
        }
        Command.SetAction(p =>
        {
            if (Contradiction(p) is not { } said) return new Runner(cli).Run(Settings(p));
            cli.Messages.WriteLine($"hlvm {Command.Name}: {said}");
            return ExitCodes.Usage;
        });
    }

    /// <summary>
    /// Why this command line's options contradict one another, or null when they don't: an option that would do
    /// nothing under the engine that runs (a JIT option where nothing is compiled, --jit-threshold where tiered does
    /// not run), or an engine that would not run (--checked and --every interpret whatever the engine). Said rather
    /// than ignored: `--engine compare --checked` reported the engines the same when the JIT had never run.
    /// </summary>
    private string? Contradiction(ParseResult p)
    {
        string engine = _engine.Get(p)!;
        bool compareProfiles = _profiling && _compareEngines.Get(p);
        bool every = _profiling && _every.IsGiven(p);
        if (_profiling && _profileFormat.IsGiven(p) && !_profileOutput.IsGiven(p))
            return "--format is the format of the file -o names, and there is none (the report on stderr is text)";
        if (every && _rate.IsGiven(p))
            return "--every takes a sample every N instructions, so --rate (samples a second) would do nothing";
        if (_profiling && engine == "compare")
            return "--engine compare compares the engines' output, not their profiles; to profile the program under both engines, use --compare";
        if (compareProfiles && every)
            return "--compare times the engines; --every counts instructions, which the JIT does not (the program would run interpreted twice)";
        HlvmOption[] tuning = [_jitThreshold, _jitSync, _jitLog];
        string? FirstGiven(params HlvmOption[] options) => options.FirstOrDefault(o => o.IsGiven(p))?.Name;
        string? interpreterOnly = _checked.Get(p) ? "--checked runs the program in the interpreter alone (it checks the stack before every instruction)"
            : every ? "--every runs the program in the interpreter alone (it counts instructions)" : null;
        if (interpreterOnly is not null)
        {
            if (_engine.IsGiven(p) && engine != "interp") return $"{interpreterOnly}, so it can't be combined with --engine {engine}";
            if (compareProfiles) return $"{interpreterOnly}, so it can't be combined with --compare (both runs would be interpreted)";
            if (FirstGiven(tuning) is { } jitOption) return $"{interpreterOnly}, so {jitOption} would do nothing";
            return null;
        }
        if (compareProfiles && _engine.IsGiven(p)) return $"--compare profiles the program under interp and under jit, so it can't be combined with --engine {engine}";
        if (engine == "interp" && FirstGiven(tuning) is { } unused) return $"--engine interp never compiles, so {unused} would do nothing";
        string? runs = compareProfiles ? "--compare runs interp and jit" : engine switch
        {
            "jit" => "--engine jit compiles every function before it first runs, on the program's thread",
            "compare" => "--engine compare runs interp and jit",
            _ => null,
        };
        if (runs is not null && FirstGiven(_jitThreshold, _jitSync) is { } tieredOnly) return $"{tieredOnly} tunes --engine tiered; {runs}";
        return null;
    }
}

/// <summary>Carries out <c>hlvm run</c> with its settings, whether System.CommandLine read them or <see cref="RunSettings.Plain"/> did.</summary>
internal sealed class Runner(CliContext cli)
{
    private readonly CliContext _cli = cli;
    private readonly Inputs _inputs = new(cli);

    /// <summary>Where the run keeps the app's storage (its /data and its copies of /app files), given where the app's
    /// own is; null for the app's own (<c>--engine compare</c> gives the JIT's run a copy).</summary>
    internal Func<string, string>? Storage { get; init; }

    /// <summary>When the whole command must be over (--timeout from the start), or null without a time limit.</summary>
    private DateTime? _deadline;

    /// <summary>What is left of --timeout (never negative), or null without one.</summary>
    internal TimeSpan? Remaining => _deadline is { } d ? TimeSpan.FromTicks(Math.Max(0, (d - DateTime.UtcNow).Ticks)) : null;

    public int Run(RunSettings s)
    {
        // The profile is written when the run ends: a file that plainly can't be written is said before it starts.
        if (s.Profile?.Output is { } output && (_inputs.RefuseUnwritable(output) ?? _inputs.RefuseOverwritingInput("prof", output, s.File)) is { } refused) return refused;
        // The audit log is appended to: named as the program itself, it made the program a syntax error.
        if (s.Audit is { } audit && _inputs.RefuseOverwritingInput(s.Command, audit, s.File, "--audit") is { } appended) return appended;
        if (s.Profile?.FormatProblem() is { } problem)
        {
            _cli.Messages.WriteLine($"hlvm prof: {problem}");
            return ExitCodes.Usage;
        }
        if (s.Engine == "compare") return new EngineComparison(_cli).Run(s);
        if (s.Profile is { Compare: true } profile) return CompareProfiles(s, profile);
        string path = s.File;
        // --timeout covers the whole command: fetching a bundle, compiling, verifying and running. The run gets what
        // the phases before it left; a phase that can't be interrupted (compiling, verifying) is ended with the
        // process, as a stuck run is.
        _deadline = s.Timeout is { } total ? DateTime.UtcNow + total : null;
        using var stuck = _cli.IsProcess && s.Timeout is { } t ? new Timer(_ => EndStuck(t), null, t + StuckGrace, Timeout.InfiniteTimeSpan) : null;
        if (Inputs.IsBundle(path)) return new BundleRunner(_cli, this).Run(s, path);
        Func<IsolateOptions, IsolateOptions> app = o => o with { AppDirectory = Path.GetDirectoryName(Path.GetFullPath(path))! };
        // The isolate needs nothing of the program, so where there is a second core it is made on another thread
        // while this one reads (or compiles) it: most of making one is the first use of the runtime's code, about
        // 7 ms of a short program's start alone (the two threads slow each other, so the run ends 2 to 7 ms sooner
        // for about 5 ms more CPU time; bench/README.md). Not with --timeout, whose time left is taken when the
        // isolate is made, nor with --audit, whose log is not created for a program that does not load.
        using var early = s.Timeout is null && s.Audit is null && Environment.ProcessorCount > 1
            ? new EarlyIsolate(() => MakeIsolate(s, app, null)) : null;
        var bytes = _inputs.Read(path, out bool bundle);
        // A bundle under another name (renamed, or saved so) is one by its bytes, or by its first bytes when it is
        // too large for a program: it was read as a module and called malformed. Told from the bytes the run reads
        // anyway: opening the file to look first cost 14 ms of a start.
        if (bundle) return new BundleRunner(_cli, this).Run(s, path);
        if (bytes is null) return ExitCodes.NoInput;
        // Said rather than ignored, as an option the engine would not use is (RunCommand.Contradiction): a bundle is
        // known by its bytes too, so only now is it known that none runs.
        if (s.Trust.Count > 0 || s.AllowUnsigned)
        {
            _cli.Messages.WriteLine($"hlvm {s.Command}: {(s.Trust.Count > 0 ? "--trust" : "--allow-unsigned")} says which bundles may run, and '{Inputs.Shown(path)}' is {(Inputs.IsModule(bytes) ? "a module" : "a program")}, not a bundle, so it would do nothing");
            return ExitCodes.Usage;
        }
        var module = _inputs.LoadModule(path, bytes, out int exitCode, new ProgramCache(ProgramCache.DefaultRoot));
        if (module is null) return exitCode;
        // Verified here, while the other thread may still be making the isolate (verifying needs only the
        // natives), and before an isolate with --audit creates its log: a program that does not verify does not load.
        LoadedModule verified;
        try
        {
            verified = Isolate.Verify(module);
        }
        catch (VerifyException e)
        {
            return Unverifiable(path, e);
        }
        return RunMade(s, path, module, early is not null ? early.Take() : MakeIsolate(s, app, null), verified);
    }

    private int Unverifiable(string path, VerifyException e)
    {
        _cli.Messages.WriteLine($"hlvm: {Inputs.Shown(path)}: {e.Message}");
        return ExitCodes.DataError;
    }

    /// <summary>Runs a module in an isolate with the given permissions and the command line's limits; <paramref name="app"/>
    /// says where the app's files are. The timeout runs from the start of the command (<see cref="Run"/>: a bundle's
    /// fetch is in it), or from here for a module run alone (each of <c>hlvm bench</c>'s runs).</summary>
    internal int RunSandboxed(RunSettings s, string path, Module module, Func<IsolateOptions, IsolateOptions> app, Permissions? permissions = null)
    {
        _deadline ??= s.Timeout is { } total ? DateTime.UtcNow + total : null;
        return RunMade(s, path, module, MakeIsolate(s, app, permissions));
    }

    /// <summary>An isolate made for a run and the audit log it writes to; or why it could not be made, to be said
    /// (with <see cref="Code"/>) only if the program loads.</summary>
    private sealed record Made(Isolate? Isolate, StreamWriter? AuditFile, string? Error, int Code) : IDisposable
    {
        public void Dispose()
        {
            Isolate?.Dispose();
            AuditFile?.Dispose();
        }
    }

    /// <summary>An isolate made on a thread of its own (<see cref="Runner.Run"/>); disposed unless taken.</summary>
    private sealed class EarlyIsolate : IDisposable
    {
        private readonly Thread _thread;
        private Made? _made;
        private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _failure;

        public EarlyIsolate(Func<Made> make)
        {
            _thread = new Thread(() =>
            {
                try
                {
                    _made = make();
                }
                catch (Exception e)
                {
                    _failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
                }
            })
            { Name = "hlvm isolate", IsBackground = true };
            _thread.Start();
        }

        /// <summary>The isolate, once made; an exception its making threw is thrown here.</summary>
        public Made Take()
        {
            _thread.Join();
            _failure?.Throw();
            var made = _made!;
            _made = null;
            return made;
        }

        public void Dispose()
        {
            _thread.Join();
            _made?.Dispose();
        }
    }

    /// <summary>The isolate's options with the storage <see cref="Storage"/> says.</summary>
    private IsolateOptions Stored(IsolateOptions options) => Storage is { } storage
        ? options with { StorageDirectory = storage(options.StorageDirectory ?? AppStorage.DirectoryFor(options.AppDirectory!)) }
        : options;

    private Made MakeIsolate(RunSettings s, Func<IsolateOptions, IsolateOptions> app, Permissions? permissions)
    {
        try
        {
            permissions ??= s.Permissions();
        }
        catch (ArgumentException e)
        {
            return new Made(null, null, $"hlvm: {e.Message}", ExitCodes.Usage);
        }
        var limits = new List<Limit> { new HeapLimit(s.MaxHeap), new StackLimit(s.MaxStack), new OpenFilesLimit(s.MaxOpenFiles), new DiskLimit(s.MaxDisk) };
        if (s.Fuel is { } fuel) limits.Add(new FuelLimit(fuel));
        if (Remaining is { } left)
        {
            if (left <= TimeSpan.Zero)
                return new Made(null, null, $"hlvm: limit exceeded (timeout): --timeout {TimeLimit.Format(s.Timeout!.Value)} ran out before the program started (fetching, compiling and verifying it took that long)", ExitCodes.LimitExceeded);
            limits.Add(new TimeLimit(left, s.Timeout));
        }
        if (s.MaxOutput is { } maxOutput) limits.Add(new OutputLimit(maxOutput));
        StreamWriter? auditFile = null;
        if (s.Audit is { } auditPath)
        {
            try
            {
                auditFile = new StreamWriter(new FileStream(auditPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                return new Made(null, null, $"hlvm: cannot write the audit log '{Inputs.Shown(auditPath)}': {Inputs.Why(e)}", ExitCodes.CantCreate);
            }
        }
        try
        {
            return new Made(new Isolate(Stored(app(new IsolateOptions
            {
                Permissions = permissions,
                Limits = limits,
                Out = _cli.Out,
                In = _cli.In,
                // The program's stderr comes after what it printed to stdout before it.
                Error = new FlushingWriter(_cli.Out, _cli.Err),
                Notes = new FlushingWriter(_cli.Out, _cli.Err),
                Audit = auditFile is null ? null : new AuditLog(auditFile, Path.GetFullPath(s.Audit!)),
                AllowEscapes = s.AllowEscapes,
                Heap = new HeapOptions
                {
                    Stress = s.GcStress,
                    Verify = s.VerifyHeap,
                    TrackObjects = s.Checked,
                    Log = s.GcLog ? line => _cli.WriteLog(_cli.GcLog, line) : null,
                },
                Execution = new ExecutionOptions
                {
                    Checked = s.Checked,
                    Compiler = _compiler = s.Engine == "interp" ? null : NewCompiler(s),
                    JitThreshold = s.Engine == "jit" ? 0 : s.JitThreshold,
                    JitLoopThreshold = s.Engine == "jit" ? 0 : s.JitLoopThreshold,
                    Profiler = _profiler = s.Profile is { } prof ? new Runtime.Profiling.Profiler(prof.Rate, prof.Every) : null,
                },
            }))), auditFile, null, ExitCodes.Ok);
        }
        catch (ArgumentException e)
        {
            auditFile?.Dispose();
            return new Made(null, null, $"hlvm: {e.Message}", ExitCodes.Usage);
        }
        catch
        {
            auditFile?.Dispose();
            throw;
        }
    }

    /// <summary>The JIT for the run: a method of its own, so that a run under the interpreter does not load the
    /// JIT's assembly (ReadyToRun code loads the types a method names before the method first runs).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private Hlvm.Jit.CilCompiler NewCompiler(RunSettings s) => new()
    {
        Log = s.JitLog ? line => _cli.WriteLog(_cli.JitLog, line) : null,
        CountCalls = s.Profile is not null,
        Background = s.Engine == "tiered" && !s.JitSync,
    };

    /// <summary>Verifies (unless <paramref name="verified"/> is the module verified already) and runs a module in
    /// the isolate made for it (or says why none was made), then disposes both.</summary>
    private int RunMade(RunSettings s, string path, Module module, Made made, LoadedModule? verified = null)
    {
        try
        {
            if (made.Isolate is not { } isolate)
            {
                _cli.Messages.WriteLine(made.Error);
                return made.Code;
            }
            LoadedModule loaded;
            try
            {
                loaded = verified is not null ? isolate.Load(verified) : isolate.Load(module);
            }
            catch (VerifyException e)
            {
                return Unverifiable(path, e);
            }
            if (loaded.Entry is null) return _inputs.NoEntry(path);
            Ran = true;
            int code;
            // hlvm prof: a Ctrl-C stops the program where it is, and the profile of what ran is written (a long or
            // endless program is profiled as far as the user lets it run); a second one ends the process at once.
            int interrupted = 0;
            using (s.Profile is not null && _cli.IsProcess ? PosixSignalRegistration.Create(PosixSignal.SIGINT, signal =>
            {
                if (Interlocked.Exchange(ref interrupted, 1) != 0) return;
                signal.Cancel = true;
                isolate.Stop(new LimitExceededError(InterruptLimit, "interrupted (Ctrl-C); the profile of what ran follows"));
            }) : null)
                code = RunIsolate(isolate, loaded, s.Args, s.AllowEscapes);
            if (Volatile.Read(ref interrupted) != 0) code = ExitCodes.Interrupted;
            // Nothing more is compiled for this run: what the report and the log say of the compiles holds.
            _compiler?.Abandon();
            if (s.Profile is { } profile) return Report(profile, code, path);
            // The log's lines say what emitting each function took; .NET's compile of it, known once the JIT's
            // thread has made it, is said at the end (a profile's report says it too).
            if (s.JitLog && _compiler is { } compiler && Runtime.Profiling.ProfileFormats.MachineCode(compiler.Records) is { Length: > 0 } line)
                _cli.WriteLog(_cli.JitLog, "jit: " + line);
            return code;
        }
        finally
        {
            made.Dispose();
            _compiler?.Abandon();
        }
    }

    private Hlvm.Jit.CilCompiler? _compiler;
    private Runtime.Profiling.Profiler? _profiler;

    /// <summary>Whether the program started: it was found, compiled, verified and loaded, and its isolate made. Its
    /// exit code alone can't tell (<c>main</c> may return 65 as a compile error exits).</summary>
    internal bool Ran { get; private set; }

    /// <summary>
    /// <c>hlvm prof --compare</c>: the program profiled under the interpreter (its output shown) and under the JIT
    /// (its output compared, not shown); the comparison on stderr, and in the file asked for.
    /// </summary>
    private int CompareProfiles(RunSettings s, ProfileSettings settings)
    {
        const string Command = "hlvm prof --compare";
        using var input = new RepeatedInput(_cli.In);
        using var before = new StorageCopy(Command);
        var profiles = new List<Runtime.Profiling.Profile>();
        var cutShort = new List<string>();
        int interpCode = 0;
        string interpOut = "";
        var inputWait = TimeSpan.Zero;
        foreach (var engine in new[] { "interp", "jit" })
        {
            var output = new StringWriter { NewLine = "\n" };
            var error = new StringWriter { NewLine = "\n" };
            // As run --engine compare does: the app's storage changes once, and the JIT's run has a copy of it; the
            // JIT's log goes to stderr.
            var runner = new Runner(new CliContext(output, error, input.Next(), IsProcess: false) { JitLog = _cli.Messages })
            {
                Storage = profiles.Count == 0 ? before.Take : before.Give,
            };
            int code;
            try
            {
                code = runner.Run(s with { Engine = engine, Profile = settings with { Compare = false, Output = null } });
            }
            catch (StorageCopy.Failed e)
            {
                return e.Said(_cli);
            }
            if (!runner.Ran)
            {
                // It did not run (a missing file, a compile error): say why, once.
                _cli.Out.Write(output.ToString());
                _cli.Out.Flush();
                _cli.Messages.Write(error.ToString());
                return code;
            }
            profiles.Add(runner._lastProfile!);
            if (runner.EndedBy == "timeout") cutShort.Add(engine);
            if (engine == "interp")
            {
                if (input.TooLong(_cli, Command)) return ExitCodes.LimitExceeded;
                inputWait = input.FirstWaited;
                interpCode = code;
                interpOut = output.ToString();
                _cli.Out.Write(interpOut);
                _cli.Out.Flush();
                // The program's own stderr, without the interpreter's report.
                string err = error.ToString();
                int report = err.IndexOf("hlvm prof: ", StringComparison.Ordinal);
                _cli.Err.Write(report >= 0 ? err[..report] : err);
            }
            else if (output.ToString() != interpOut || code != interpCode)
            {
                _cli.Messages.WriteLine("hlvm prof: warning: the JIT's run printed other output or exited otherwise than the interpreter's; check it with 'hlvm run --engine compare'");
            }
        }
        var comparison = new Runtime.Profiling.ProfileComparison(profiles[0], profiles[1]) { CutShort = [.. cutShort], InputWait = inputWait };
        _cli.Messages.Write(comparison.Text());
        if (settings.Output is not { } path) return ReportLost ? ExitCodes.CantCreate : interpCode;
        string format = settings.FormatFor(path);
        string text = format switch
        {
            "html" => comparison.Html(),
            "text" => comparison.Text(),
            _ => Runtime.Profiling.ProfileFormats.Render(profiles[1], format),
        };
        if (_inputs.WriteFile(path, new System.Text.UTF8Encoding(false).GetBytes(text)) is not ExitCodes.Ok and var failed) return failed;
        _cli.Messages.WriteLine($"hlvm prof: wrote {Inputs.Shown(path)} ({format}{(format is "html" or "text" ? ", the comparison" : ", the JIT's profile")})");
        return interpCode;
    }

    /// <summary>The last report <see cref="Report"/> made.</summary>
    private Runtime.Profiling.Profile? _lastProfile;

    /// <summary><c>hlvm prof</c>: the report on stderr, and in the file asked for; the program's exit code, or
    /// the file's error. A module that names no source file and has no name of its own is called by its
    /// <paramref name="file"/>.</summary>
    private int Report(ProfileSettings settings, int code, string file)
    {
        var profile = _profiler!.Report(_compiler?.Records, _compiler?.JitThreadTime ?? default, _compiler?.NotCompiled);
        if (profile.Program.Length == 0) profile = profile with { Program = Inputs.Shown(Path.GetFileName(file)) };
        _lastProfile = profile;
        _cli.Out.Flush();
        _cli.Messages.Write(Runtime.Profiling.ProfileFormats.Text(profile));
        if (settings.Output is not { } path) return ReportLost ? ExitCodes.CantCreate : code;
        string format = settings.FormatFor(path);
        if (_inputs.WriteFile(path, new System.Text.UTF8Encoding(false).GetBytes(Runtime.Profiling.ProfileFormats.Render(profile, format))) is not ExitCodes.Ok and var failed)
            return failed;
        _cli.Messages.WriteLine($"hlvm prof: wrote {Inputs.Shown(path)} ({format})");
        return code;
    }

    /// <summary>Whether the report, written to standard error, was lost there (a full disk, a closed stream): with no
    /// <c>-o</c> nothing holds the profile, and prof ends with <see cref="ExitCodes.CantCreate"/>, which it can't
    /// say in words.</summary>
    private bool ReportLost => _cli.Err is StandardError { Broken: true };

    /// <summary>How long after its timeout a program that has not stopped ends the process.</summary>
    private static readonly TimeSpan StuckGrace = TimeSpan.FromSeconds(2);

    /// <summary>How long a stuck run's end waits for the output it had written to go out.</summary>
    private static readonly TimeSpan StuckFlush = TimeSpan.FromMilliseconds(500);

    private void EndStuck(TimeSpan timeout)
    {
        try
        {
            // What the program wrote before it got stuck is still in standard output's buffer: it goes out first, as
            // at any other end of a run. The program's thread may itself be stuck writing (to a pipe no one reads),
            // so the flush is not waited for past a moment; the process ends either way.
            try { Task.Run(_cli.Out.Flush).Wait(StuckFlush); }
            catch (AggregateException) { }
            _cli.Messages.WriteLine($"hlvm: limit exceeded (timeout): the command (fetching, compiling, verifying and running the app) took longer than {TimeLimit.Format(timeout)} and did not stop within {StuckGrace.TotalSeconds:0}s more; ending the process");
            _cli.Err.Flush();
        }
        finally
        {
            Environment.Exit(ExitCodes.LimitExceeded);
        }
    }

    /// <summary>What stops a profiled program at a Ctrl-C: not a limit of the sandbox, but it stops the run as one.</summary>
    private const string InterruptLimit = "interrupt";

    /// <summary>The limit that ended the program's run (its flag's name: timeout, fuel, ...), or null.</summary>
    internal string? EndedBy { get; private set; }

    /// <summary>Whether the program ended as it meant to: main returned, or it called <c>env.exit</c> (its exit code
    /// is then its own, whatever it is), not stopped by an error or a limit.</summary>
    internal bool Returned { get; private set; }

    /// <summary>How the report of a limit that ended the run begins, on standard error, after the program's own.</summary>
    internal const string LimitReport = "hlvm: limit exceeded: ";

    private int RunIsolate(Isolate isolate, LoadedModule loaded, IReadOnlyList<string> args, bool allowEscapes)
    {
        try
        {
            long result = isolate.Run(loaded, args);
            Returned = true;
            _cli.Out.Flush();
            return (int)(result & 0xFF);
        }
        catch (LimitExceededError e)
        {
            EndedBy = e.Limit;
            _cli.Out.Flush();
            _cli.StartLine();
            _cli.Err.WriteLine(Visible(e.Limit == InterruptLimit ? $"hlvm prof: {e.ReportedMessage}" : LimitReport + e.ReportedMessage, allowEscapes));
            foreach (var line in e.FormatTrace()) _cli.Err.WriteLine(Visible(line, allowEscapes));
            return ExitCodes.LimitExceeded;
        }
        catch (VmError e)
        {
            _cli.Out.Flush();
            _cli.StartLine();
            _cli.Err.WriteLine(Visible(e.Format(), allowEscapes));
            return e.ErrorClass == ErrorClasses.Permission ? ExitCodes.NoPermission : ExitCodes.RuntimeError;
        }
    }

    /// <summary>An error's text as the terminal should see it: its message may hold the program's strings.</summary>
    private static string Visible(string text, bool allowEscapes) => allowEscapes ? text : ControlCharacters.MakeVisible(text);
}

/// <summary>What <c>hlvm prof</c> adds to a run: where the profile goes, and how it samples.</summary>
internal sealed record ProfileSettings(string? Output, string Format, int Rate, long? Every, bool Compare = false)
{
    /// <summary>The format of the file at <paramref name="path"/>: --format, or what its name ends with (see <see cref="FormatProblem"/>).</summary>
    public string FormatFor(string path) => Format != "auto" ? Format : Runtime.Profiling.ProfileFormats.FormatOf(path) ?? "text";

    /// <summary>
    /// Why the format of <see cref="Output"/> is not plain, or null: its name says none and --format is not given
    /// (p.json, out.xyz were written as the text report, which was seldom what was asked for), or --format names
    /// another format than the name (-o p.svg --format html wrote a page into p.svg).
    /// </summary>
    public string? FormatProblem()
    {
        if (Output is not { } path) return null;
        string? named = Runtime.Profiling.ProfileFormats.FormatOf(path);
        string shown = Inputs.Shown(path);
        if (named is null && Format == "auto")
            return $"-o '{shown}': its name does not say the format ({Runtime.Profiling.ProfileFormats.Endings}); give one with --format";
        if (named is not null && Format != "auto" && named != Format)
            return $"-o '{shown}' is named for the {named} format, but --format says {Format}; leave --format out, or name the file for its format";
        return null;
    }
}

/// <summary>
/// Everything <c>hlvm run</c> is told: the file, the program's arguments, and each option's value or its default.
/// <see cref="Plain"/> reads the commonest command line, <c>hlvm run FILE [WORDS...]</c>, without building the
/// command definitions: that is most of the start-up time of a short program (see bench/README.md). A test
/// checks that it reads such a line exactly as System.CommandLine does.
/// </summary>
internal sealed record RunSettings(string File, IReadOnlyList<string> Args)
{
    public const int DefaultMaxStack = ExecutionOptions.DefaultMaxFrames;
    public const long DefaultMaxHeap = 1L << 30;
    public const int DefaultMaxOpenFiles = OpenFilesLimit.Default;
    public const long DefaultMaxDisk = DiskLimit.Default;

    /// <summary>The engines <c>--engine</c> names, the default first.</summary>
    public static readonly string[] Engines = ["tiered", "jit", "interp", "compare"];

    public string Engine { get; init; } = Engines[0];

    /// <summary><c>hlvm prof</c>: the profiler's settings; null for <c>hlvm run</c>.</summary>
    public ProfileSettings? Profile { get; init; }
    public int JitThreshold { get; init; } = ExecutionOptions.DefaultJitThreshold;
    public int JitLoopThreshold { get; init; } = ExecutionOptions.DefaultJitLoopThreshold;
    public bool JitLog { get; init; }
    public bool JitSync { get; init; }
    public int MaxStack { get; init; } = DefaultMaxStack;
    public long MaxHeap { get; init; } = DefaultMaxHeap;
    public long? Fuel { get; init; }
    public TimeSpan? Timeout { get; init; }
    public long? MaxOutput { get; init; }
    public int MaxOpenFiles { get; init; } = DefaultMaxOpenFiles;
    public long MaxDisk { get; init; } = DefaultMaxDisk;
    public string? Audit { get; init; }
    public bool AllowEscapes { get; init; }
    public bool GcStress { get; init; }
    public bool GcLog { get; init; }
    public bool VerifyHeap { get; init; }
    public bool Checked { get; init; }
    public IReadOnlyList<string> Trust { get; init; } = [];
    public bool AllowUnsigned { get; init; }

    /// <summary>The command these settings were read for, as its messages name it.</summary>
    public string Command => Profile is null ? "run" : "prof";

    /// <summary>Each grant (<c>Allow</c>) and denial of the command line, in its order: the kind and the target (null: all).</summary>
    public IReadOnlyList<Grant> Grants { get; init; } = [];

    /// <summary>A grant (<paramref name="Allow"/>) or denial of a kind of permission; the target null means all.
    /// (A class, not a tuple: a list of tuples is compiled at run time at every start.)</summary>
    public sealed record Grant(string Kind, bool Allow, string? Target);

    /// <summary>The permissions the command line grants and denies.</summary>
    /// <exception cref="ArgumentException">a target that can't be granted</exception>
    public Permissions Permissions()
    {
        var permissions = new Permissions();
        foreach (var (kind, allow, target) in Grants)
        {
            if (allow) permissions.Allow(kind, target);
            else permissions.Deny(kind, target);
        }
        return permissions;
    }

    /// <summary>
    /// The settings of <c>run FILE [WORDS...]</c> or <c>prof FILE [WORDS...]</c> when no word after the command
    /// starts with '-' (no option, no <c>--</c>): the file, the words as the program's arguments, every option at
    /// its default. Null for any other command line, which System.CommandLine reads.
    /// </summary>
    public static RunSettings? Plain(string[] args)
    {
        if (args.Length < 2 || args[0] is not ("run" or "prof")) return null;
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i].Length == 0 || args[i][0] == '-') return null;
        }
        var plain = new RunSettings(args[1], args[2..]);
        return args[0] == "run" ? plain : plain with { Profile = new ProfileSettings(null, "auto", Runtime.Profiling.Profiler.DefaultRate, null) };
    }
}
