using System.Security.Cryptography;
using System.Text;
using Hlvm.Runtime;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Verification;

namespace Hlvm.Sandbox;

/// <summary>Everything that configures an isolate: whose app it is, what it may reach, what it may use.</summary>
public sealed record IsolateOptions
{
    /// <summary>The app's own files, shown read-only at <c>/app</c>: a directory of the host's...</summary>
    public string? AppDirectory { get; init; }

    /// <summary>... or files that are not in a directory (a bundle's resources, <see cref="Bundles.BundleAppFiles"/>).</summary>
    public IAppFiles? AppFiles { get; init; }

    /// <summary>The app's private storage (<c>/data</c> and its copies of written <c>/app</c> files); by
    /// default a directory per app directory under the user's data directory (<see cref="AppStorage"/>).
    /// Required with <see cref="AppFiles"/>.</summary>
    public string? StorageDirectory { get; init; }

    /// <summary>Whose storage it is, recorded in it when a run leaves storage behind (<c>hlvm data list</c>); by
    /// default, for an app directory, the programs in that directory.</summary>
    public AppAbout? About { get; init; }

    /// <summary>Where hlvm's notes about the run go (a copy of an <c>/app</c> file whose original changed), or null.</summary>
    public TextWriter? Notes { get; init; }

    /// <summary>What relative paths are relative to (by default the host's current directory).</summary>
    public string? WorkingDirectory { get; init; }

    public Permissions Permissions { get; init; } = new();

    public IReadOnlyList<Limit> Limits { get; init; } = [];

    public TextWriter Out { get; init; } = TextWriter.Null;
    public TextWriter Error { get; init; } = TextWriter.Null;
    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>Where each checked call is recorded, or null.</summary>
    public AuditLog? Audit { get; init; }

    /// <summary>Let control characters (terminal escape sequences) through to the output unchanged.</summary>
    public bool AllowEscapes { get; init; }

    /// <summary>Debugging settings of the heap and the interpreter (GC stress, checked mode); the limits override theirs.</summary>
    public HeapOptions Heap { get; init; } = new();
    public ExecutionOptions Execution { get; init; } = new();
}

/// <summary>
/// A sandboxed app in a process that may hold many: its own heap, permissions, file view, sockets and limits.
/// Isolates share nothing mutable, so a host runs them side by side on as many threads as it likes; one
/// isolate's breach or crash is an exception on its own thread only. An isolate runs one program once and is
/// disposed when the run ends (sockets closed, heap dropped), whether it finished or was stopped.
/// <code>
///   using var isolate = new Isolate(new IsolateOptions
///   {
///       AppDirectory = "myapp", Out = Console.Out,
///       Permissions = new Permissions().Allow("read", "/srv/shared"),
///       Limits = [new HeapLimit(64 &lt;&lt; 20), new TimeLimit(TimeSpan.FromSeconds(5))],
///   });
///   long code = isolate.Run(isolate.Load(module), args);   // LimitExceededError on a breach
/// </code>
/// </summary>
public sealed class Isolate : IDisposable
{
    private readonly Vm _vm;
    private readonly SandboxHost _host;
    private readonly CancellationTokenSource _cancel = new();
    private readonly TimeLimit? _timeLimit;
    private readonly HeapLimit? _heapLimit;
    private readonly StackLimit? _stackLimit;
    private int _state; // 0 new, 1 running, 2 done
    /// <summary>The app's storage directory, found when first needed (finding it hashes the app's path).</summary>
    private readonly Lazy<string> _storage;
    private readonly AppAbout? _about;

    /// <summary>The last limit of a kind in the list (a loop, not LINQ's OfType: see <see cref="VirtualPath.Components"/>).</summary>
    private static T? Last<T>(IReadOnlyList<Limit> limits) where T : Limit
    {
        T? last = null;
        foreach (var limit in limits)
            if (limit is T one) last = one;
        return last;
    }

    /// <exception cref="ArgumentException">a grant that can't be given (a hidden directory)</exception>
    /// <exception cref="ArgumentNullException">the options, their output or error writer, or a limit is null
    /// (TextWriter.Null discards output)</exception>
    public Isolate(IsolateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Said here, not as a NullReferenceException at the program's first println.
        ArgumentNullException.ThrowIfNull(options.Out, "options.Out");
        ArgumentNullException.ThrowIfNull(options.Error, "options.Error");
        if (options.Limits.Any(l => l is null)) throw new ArgumentNullException("options.Limits", "a limit is null");
        var settings = new IsolateSettings { Heap = options.Heap, Execution = options.Execution };
        foreach (var limit in options.Limits) limit.Apply(settings);
        _timeLimit = Last<TimeLimit>(options.Limits);
        _heapLimit = Last<HeapLimit>(options.Limits);
        _stackLimit = Last<StackLimit>(options.Limits);
        var budget = new OutputBudget(settings.MaxOutput);
        var audit = options.Audit;
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the sandbox's file system needs Linux 5.6 or later (openat2)");
        if ((options.AppDirectory is null) == (options.AppFiles is null)) throw new ArgumentException("an isolate needs either an app directory or app files");
        if (options.StorageDirectory is null && options.AppDirectory is null) throw new ArgumentException("an isolate whose files are not a directory needs a storage directory");
        _storage = new Lazy<string>(() => options.StorageDirectory ?? AppStorage.DirectoryFor(options.AppDirectory!));
        _about = options.About ?? (options.AppDirectory is { } appDirectory ? AppAbout.Program(appDirectory) : null);
        var notes = options.Notes;
        var files = new VirtualFileSystem(options.AppDirectory ?? "/", () => _storage.Value, options.Permissions, options.WorkingDirectory, options.AppFiles,
            audit?.Path is { } auditPath ? [auditPath] : null)
        {
            OnDenied = (permission, target, why) => audit?.Record("fs", permission, target, allowed: false, why),
            OnStaleCopy = notes is null ? null : path => notes.WriteLine(
                $"hlvm: note: {ControlCharacters.MakeVisible(path)} is this app's own copy, made when it first wrote the file; the original has changed since, "
                + $"and the app reads its copy ('hlvm rm {Path.GetFileName(_storage.Value)} --copies' removes its copies)"),
            MaxCopyBytes = settings.Heap.MaxBytes,
            MaxDiskBytes = settings.MaxDisk,
        };
        if (options.AppFiles is Bundles.BundleAppFiles bundleFiles) bundleFiles.Cancellation = _cancel.Token;
        _host = new SandboxHost(options.Permissions, files, settings.MaxOpenFiles, audit, options.WorkingDirectory);
        _vm = new Vm(new VmOptions
        {
            Heap = settings.Heap,
            Execution = settings.Execution,
            Out = new GuardedWriter(options.Out, budget, options.AllowEscapes),
            Error = new GuardedWriter(options.Error, budget, options.AllowEscapes),
            In = options.In,
            Host = _host,
            Cancellation = _cancel.Token,
        });
    }

    /// <summary>Reads and verifies a module for this isolate.</summary>
    public LoadedModule Load(ReadOnlySpan<byte> bytes) => _vm.Load(bytes);

    /// <summary>Verifies a module for this isolate.</summary>
    public LoadedModule Load(Module module) => _vm.Load(module);

    /// <summary>A module verified as every isolate verifies one, before or while an isolate is made; give it to
    /// <see cref="Load(LoadedModule)"/>.</summary>
    /// <exception cref="VerifyException">the module is unsafe</exception>
    public static LoadedModule Verify(Module module) => Verifier.Verify(module, VmOptions.DefaultNatives);

    /// <summary>Loads a module that <see cref="Verify"/> checked into this isolate.</summary>
    public LoadedModule Load(LoadedModule verified) => _vm.Load(verified);

    /// <summary>
    /// Runs the module's main on the calling thread and returns what <see cref="Vm.RunMain"/> does; then the
    /// isolate is disposed.
    /// </summary>
    /// <exception cref="LimitExceededError">a limit was breached (uncaught heap exhaustion and stack overflow
    /// count as breaches of <c>max-heap</c> and <c>max-stack</c>), or <see cref="Stop"/> was called</exception>
    /// <exception cref="VmError">the program ended with another uncaught error</exception>
    public long Run(LoadedModule module, IReadOnlyList<string> args)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) throw new InvalidOperationException("an isolate runs one program once, and none once it is disposed");
        Deadline? deadline = null;
        try
        {
            deadline = _timeLimit is { } t ? new Deadline(t.Duration, () => Stop(t.Breach())) : null;
            return RunLoaded(module, args);
        }
        finally
        {
            deadline?.Dispose();
            Release();
        }
    }

    private long RunLoaded(LoadedModule module, IReadOnlyList<string> args)
    {
        try
        {
            return _vm.RunMain(module, args);
        }
        catch (VmError e) when (e is not LimitExceededError && e.ErrorClass is ErrorClasses.OutOfMemory or ErrorClasses.StackOverflow)
        {
            bool heap = e.ErrorClass == ErrorClasses.OutOfMemory;
            string flag = heap ? "max-heap" : "max-stack";
            string value = heap ? Size(_heapLimit?.Bytes ?? _vm.Heap.MaxBytes) : $"{_stackLimit?.Frames ?? ExecutionOptions.DefaultMaxFrames}";
            string message = e.Message.Contains($"--{flag}", StringComparison.Ordinal) ? e.Message : $"{e.Message} (--{flag} {value})";
            throw new LimitExceededError(flag, $"{e.ErrorClass}: {message}") { StackTrace = e.StackTrace };
        }
    }

    /// <summary>
    /// Calls back once a time has passed, unless disposed first: on a thread of its own, not a timer of .NET's
    /// thread pool, whose callbacks waited behind the pool's threads (isolates blocked reading their input held
    /// them) and fired a 100 ms limit a second late. A duration past what one wait takes is waited in steps.
    /// </summary>
    private sealed class Deadline : IDisposable
    {
        private readonly ManualResetEventSlim _cancelled = new();

        public Deadline(TimeSpan after, Action expire)
        {
            new Thread(() =>
            {
                for (var left = after; left > TimeSpan.Zero; left -= TimeSpan.FromDays(1))
                    if (_cancelled.Wait(left < TimeSpan.FromDays(1) ? left : TimeSpan.FromDays(1))) return;
                expire();
            }) { IsBackground = true, Name = "hlvm time limit" }.Start();
        }

        public void Dispose() => _cancelled.Set();
    }

    /// <summary>Stops the running program, from any thread: it ends with <paramref name="reason"/> at its next
    /// instruction, or at once if it waits in a host call.</summary>
    public void Stop(LimitExceededError reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        _vm.Interrupt(reason);
        try { _cancel.Cancel(); }
        catch (ObjectDisposedException) { /* the run is over */ }
    }

    /// <summary>
    /// Ends the isolate. Disposed while its program runs, it stops the program (a <see cref="LimitExceededError"/>
    /// from <see cref="Run"/>), and <see cref="Run"/> releases what the run holds when it returns: disposing then
    /// left the program running, with its sockets closed under it and new ones outliving it, and a wait in a
    /// native that the cancellation no longer reached.
    /// </summary>
    /// <remarks>The isolate's state moves in one step, so a <see cref="Run"/> on another thread either starts first
    /// (and is stopped) or finds the isolate ended (and refuses): reading the state and then releasing let a run
    /// start in between, and run unstoppable with its host torn down.</remarks>
    public void Dispose()
    {
        switch (Interlocked.CompareExchange(ref _state, 2, 0))
        {
            case 0:
                Free();
                break;
            case 1:
                Stop(new LimitExceededError("stopped", "the isolate was disposed while its program ran"));
                break;
        }
    }

    /// <summary>Ends the isolate when its run returns.</summary>
    private void Release()
    {
        if (Interlocked.Exchange(ref _state, 2) != 2) Free();
    }

    /// <summary>Releases what the isolate holds, once its state is ended.</summary>
    private void Free()
    {
        _host.Dispose();
        _cancel.Dispose();
        // A run that left storage says whose it is, for 'hlvm data list' and 'hlvm rm'.
        if (_storage.IsValueCreated && _about is not null)
        {
            try { _about.WriteTo(_storage.Value); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the storage stays, unnamed */ }
        }
    }

    private static string Size(long bytes) =>
        bytes % (1 << 30) == 0 ? $"{bytes >> 30}g" : bytes % (1 << 20) == 0 ? $"{bytes >> 20}m" : bytes % 1024 == 0 ? $"{bytes >> 10}k" : $"{bytes}";
}

/// <summary>Where apps keep their private files: one directory per app under the user's data directory.</summary>
public static class AppStorage
{
    /// <summary>
    /// <c>$HLVM_DATA_HOME</c>, else <c>$XDG_DATA_HOME/hlvm</c>, else <c>~/.local/share/hlvm</c>: the root of
    /// every app's storage.
    /// </summary>
    public static string Root => UserFiles.Root("HLVM_DATA_HOME", "XDG_DATA_HOME", ".local", "share");

    /// <summary>The storage of an app known by an id (a bundle's: its name and its signer).</summary>
    public static string DirectoryForId(string id) =>
        Bundles.BundleFront.IsAppName(id) ? Path.Combine(Root, "bundles", id) : throw new ArgumentException($"'{id}' is not an app id");

    /// <summary>The storage of the app in a directory: <c>programs/NAME-HASH</c>, the hash that of its full path with
    /// its links resolved, so that two apps with the same name never share and one app reached through a link to
    /// its directory (or to a directory above it) keeps one storage.</summary>
    public static string DirectoryFor(string appDirectory)
    {
        var (full, name) = ProgramDirectory(appDirectory);
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)))[..12];
        return Path.Combine(Root, "programs", $"{name}-{hash}");
    }

    /// <summary>A program directory as its storage and its record name it: its full path with its links resolved
    /// (empty for the root), and its own name ("root" for the root).</summary>
    internal static (string Full, string Name) ProgramDirectory(string directory)
    {
        string full = HostPaths.Real(directory).TrimEnd('/');
        return (full, Path.GetFileName(full) is { Length: > 0 } n ? n : "root");
    }
}
