using Hlvm.Cli;
using Hlvm.Compiler;
using Hlvm.Runtime.Bytecode;
using Hlvm.Sandbox;
using Xunit;
using static Hlvm.Tests.TestSupport;

namespace Hlvm.Tests;

/// <summary>
/// The cache of compiled programs that <c>hlvm run FILE.hl</c> keeps: a second run of an unchanged program takes
/// its module from the cache; anything its compilation depended on, changed, compiles it again; what a compiling
/// run prints, a cached run prints too.
/// In the collection of the tests that point <c>HLVM_CACHE_HOME</c> elsewhere for a while.
/// </summary>
[Collection(BundleTests.BundleCache)]
public sealed class ProgramCacheTests
{
    private static readonly ProgramCache Cache = new(ProgramCache.DefaultRoot);

    /// <summary>A program no other test runs (the cache is shared by the test process).</summary>
    private static string Unique(string body) => $"// {Guid.NewGuid()}\n{body}";

    private static byte[] Compiled(string path, string source) => ModuleFormat.Write(Compilation.Compile(path, source).Module!);

    [Fact]
    public void ASecondRunTakesTheModuleFromTheCache()
    {
        using var dir = new TempDir();
        string path = dir.File("prog.hl", Unique("fn main() { println(\"compiled\") }"));
        var bytes = File.ReadAllBytes(path);
        Assert.Null(Cache.Find(Inputs.CacheContext(path), bytes));
        Assert.Equal("compiled\n", TestSupport.Hlvm("run", path).Stdout);
        Assert.NotNull(Cache.Find(Inputs.CacheContext(path), bytes));
        // The entry is what the next run uses: put another program's module there, and that one runs.
        Assert.True(Cache.Store(Inputs.CacheContext(path), bytes, Compiled(path, "fn main() { println(\"from the cache\") }")));
        var r = TestSupport.Hlvm("run", path);
        Assert.Equal((0, "from the cache\n", ""), (r.ExitCode, r.Stdout, r.Stderr));
    }

    [Fact]
    public void AnEditedProgramIsCompiledAgain()
    {
        using var dir = new TempDir();
        string path = dir.File("prog.hl", Unique("fn main() { println(1) }"));
        Assert.Equal("1\n", TestSupport.Hlvm("run", path).Stdout);
        File.WriteAllText(path, Unique("fn main() { println(2) }"));
        Assert.Equal("2\n", TestSupport.Hlvm("run", path).Stdout);
    }

    [Fact]
    public void TheSameTextUnderAnotherNameIsAnotherEntry()
    {
        // A module records its file's name for its traces.
        using var dir = new TempDir();
        string text = Unique("fn main() { let xs = [1]\n println(xs[3]) }");
        string first = dir.File("first.hl", text), second = dir.File("second.hl", text);
        Assert.Contains("(first.hl:", TestSupport.Hlvm("run", first).Stderr);
        Assert.Contains("(second.hl:", TestSupport.Hlvm("run", second).Stderr);
        Assert.Contains("(first.hl:", TestSupport.Hlvm("run", first).Stderr);
    }

    [Fact]
    public void AProgramWithWarningsIsNotKeptAndWarnsAtEveryRun()
    {
        using var dir = new TempDir();
        string path = dir.File("warn.hl", Unique("fn main() {\n    let unused = 1\n    println(2)\n}"));
        for (int run = 0; run < 2; run++)
        {
            var r = TestSupport.Hlvm("run", path);
            Assert.Equal("2\n", r.Stdout);
            Assert.Contains("warning: variable 'unused' is never used", r.Stderr);
        }
        Assert.Null(Cache.Find(Inputs.CacheContext(path), File.ReadAllBytes(path)));
    }

    [Fact]
    public void AProgramThatImportsItsOwnModulesIsNotKept()
    {
        using var dir = new TempDir();
        dir.File("lib.hl", "pub fn greeting() -> string { return \"one\" }");
        string path = dir.File("main.hl", Unique("import lib\nfn main() { println(lib.greeting()) }"));
        Assert.Equal("one\n", TestSupport.Hlvm("run", path).Stdout);
        Assert.Null(Cache.Find(Inputs.CacheContext(path), File.ReadAllBytes(path)));
        // The module changed, the program did not: the run sees the change.
        dir.File("lib.hl", "pub fn greeting() -> string { return \"two\" }");
        Assert.Equal("two\n", TestSupport.Hlvm("run", path).Stdout);
    }

    [Fact]
    public void ADamagedEntryIsCompiledAgainAndReplaced()
    {
        using var dir = new TempDir();
        string path = dir.File("prog.hl", Unique("fn main() { println(3) }"));
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("3\n", TestSupport.Hlvm("run", path).Stdout);
        string entry = Cache.EntryPath(Inputs.CacheContext(path), bytes);
        var stored = File.ReadAllBytes(entry);
        // Damage that leaves a module which verifies: the module of another program in place of this one's, the
        // same length, the entry's checksum left as it was. Run, it would print 4.
        string text = File.ReadAllText(path);
        byte[] mine = Compiled(path, text), other = Compiled(path, text.Replace("println(3)", "println(4)"));
        Assert.Equal(mine.Length, other.Length);
        int at = stored.AsSpan().IndexOf(mine);
        Assert.True(at > 0);
        byte[] swapped = [.. stored];
        other.CopyTo(swapped, at);
        foreach (var damaged in new[] { stored[..^1], stored.Concat(new byte[] { 0 }).ToArray(), "HLVMPC2\n"u8.ToArray(), [], swapped })
        {
            File.WriteAllBytes(entry, damaged);
            Assert.Null(Cache.Find(Inputs.CacheContext(path), bytes));
            var r = TestSupport.Hlvm("run", path);
            Assert.Equal((0, "3\n", ""), (r.ExitCode, r.Stdout, r.Stderr));
            Assert.Equal(stored, File.ReadAllBytes(entry));
        }
        // cache verify finds the same damage, says so, and removes the entry; the next run compiles again.
        string? home = Environment.GetEnvironmentVariable("HLVM_CACHE_HOME");
        File.WriteAllBytes(entry, swapped);
        var verify = TestSupport.Hlvm("cache", "verify");
        Assert.Equal(65, verify.ExitCode);
        Assert.Contains($"removed program {Path.GetFileName(entry)}: damaged", verify.Stdout);
        Assert.Matches(@"programs: \d+ compiled programs? verified, 1 removed\n$", verify.Stdout);
        Assert.False(File.Exists(entry));
        Assert.Equal(0, TestSupport.Hlvm("cache", "verify").ExitCode);
        Assert.Equal("3\n", TestSupport.Hlvm("run", path).Stdout);
        Assert.Equal(stored, File.ReadAllBytes(entry));
        // An entry that parses but whose module does not verify is refused when it is loaded, as any module is.
        var module = Compilation.Compile(path, "fn main() { println(3) }").Module!;
        module.Functions[module.EntryFunction].Code[0] = 0xFF;
        Cache.Store(Inputs.CacheContext(path), bytes, ModuleFormat.Write(module));
        var refused = TestSupport.Hlvm("run", path);
        Assert.Equal(65, refused.ExitCode);
        Assert.Contains("unknown opcode 0xff", refused.Stderr);
    }

    [Fact]
    public void CacheListCountsTheCompiledProgramsAndCacheClearRemovesThem()
    {
        using var dir = new TempDir();
        string path = dir.File("prog.hl", Unique("fn main() { println(4) }"));
        TestSupport.Hlvm("run", path);
        var (count, bytes) = Cache.Size();
        Assert.True(count >= 1 && bytes > 0);
        var list = TestSupport.Hlvm("cache", "list");
        Assert.Contains($"{Cache.Root}: {count} compiled program{(count == 1 ? "" : "s")}, {bytes} bytes\n", list.Stdout);
        Assert.Equal(0, TestSupport.Hlvm("cache", "clear").ExitCode);
        Assert.Equal((0, 0L), Cache.Size());
        Assert.Null(Cache.Find(Inputs.CacheContext(path), File.ReadAllBytes(path)));
        Assert.Equal("4\n", TestSupport.Hlvm("run", path).Stdout);
    }

    /// <summary>
    /// `cache clear` removes the caches' own directories and nothing else under HLVM_CACHE_HOME, which the user
    /// chooses: it deleted the directory whole, with a file of the user's in it and, where the same directory held
    /// the apps' data (HLVM_DATA_HOME), every app's /data.
    /// </summary>
    [Fact]
    public void CacheClearRemovesOnlyTheCaches()
    {
        using var dir = new TempDir();
        string home = Path.Combine(dir.Path, "home");
        string thesis = Path.Combine(home, "important", "thesis.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(thesis)!);
        File.WriteAllText(thesis, "years of work");
        string path = dir.File("prog.hl", Unique("fn main() { println(5) }"));
        string? before = Environment.GetEnvironmentVariable("HLVM_CACHE_HOME");
        Environment.SetEnvironmentVariable("HLVM_CACHE_HOME", home);
        try
        {
            Assert.Equal("5\n", TestSupport.Hlvm("run", path).Stdout);
            Assert.True(Directory.Exists(Path.Combine(home, "programs")));
            var clear = TestSupport.Hlvm("cache", "clear");
            Assert.Equal(0, clear.ExitCode);
            Assert.Equal($"{home}: cleared\n", clear.Stdout);
            Assert.False(Directory.Exists(Path.Combine(home, "programs")));
            Assert.Equal("years of work", File.ReadAllText(thesis));
        }
        finally
        {
            Environment.SetEnvironmentVariable("HLVM_CACHE_HOME", before);
        }
    }

    [Fact]
    public void AnEntryIsUsedOnlyForItsOwnContextAndSource()
    {
        using var dir = new TempDir();
        var cache = new ProgramCache(dir.Path);
        byte[] source = "fn main() {}"u8.ToArray(), module = [1, 2, 3];
        Assert.True(cache.Store("context", source, module));
        Assert.Equal(module, cache.Find("context", source));
        Assert.Null(cache.Find("another context", source));
        Assert.Null(cache.Find("context", "fn main() { }"u8.ToArray()));
        // Written whole: no temporary file is left beside the entry.
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void TheCacheKeepsTheEntriesUsedLast()
    {
        using var dir = new TempDir();
        var cache = new ProgramCache(dir.Path);
        byte[] first = "first"u8.ToArray();
        Assert.True(cache.Store("c", first, [1]));
        File.SetLastWriteTimeUtc(cache.EntryPath("c", first), DateTime.UtcNow.AddDays(-1));
        for (int i = 0; i < ProgramCache.MaxEntries; i++) Assert.True(cache.Store("c", BitConverter.GetBytes(i), [2]));
        Assert.Equal(ProgramCache.MaxEntries, Directory.GetFiles(dir.Path, "*.hlc").Length);
        Assert.Null(cache.Find("c", first));
        Assert.NotNull(cache.Find("c", BitConverter.GetBytes(0)));
    }

    [Fact]
    public void AnUnwritableCacheOnlyMeansCompiling()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "not-a-directory"), "");
        var cache = new ProgramCache(Path.Combine(dir.Path, "not-a-directory", "programs"));
        Assert.False(cache.Store("c", [1], [2]));
        Assert.Null(cache.Find("c", [1]));
    }
}
