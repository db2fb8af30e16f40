using System.Text.RegularExpressions;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Tests;

/// <summary>Bundles as their users meet them: packed, signed, run from a file and over HTTP, cached, removed;
/// and hostile ones, which must never run a modified byte and never leave a bad entry in the cache.</summary>
/// Tests that point <c>HLVM_CACHE_HOME</c> elsewhere for a while restore it; the classes that use the cache are in
/// one collection, so that none runs while another has it pointed away (see <see cref="BundleCacheCollection"/>).
[Collection(BundleCache)]
public sealed class BundleTests
{
    public const string BundleCache = "bundle cache";

    private static readonly string SharedCache = ContentCache.DefaultRoot;

    private const string Program = """
        import std.fs

        fn main(args: [string]) {
            println("started")
            println(fs.readText("/app/data/greeting.txt"))
            if args.len() > 0 {
                println(fs.readText("/app/" + args[0]).len())
            }
        }
        """;

    /// <summary>An app directory with a program, a small resource read at start and a large one it reads only when asked; packed and signed.</summary>
    private sealed class App : IDisposable
    {
        public readonly TestSupport.TempDir Dir = new();
        public readonly string Bundle, PublicKey, PrivateKey;

        public App(int bigBytes = 1 << 20, bool sign = true)
        {
            Directory.CreateDirectory(Path.Combine(Dir.Path, "app", "data"));
            File.WriteAllText(Path.Combine(Dir.Path, "app", "main.hl"), Program);
            File.WriteAllText(Path.Combine(Dir.Path, "app", "data", "greeting.txt"), "hello from a resource");
            File.WriteAllText(Path.Combine(Dir.Path, "app", "data", "empty.txt"), "");
            var random = new Random(7);
            var big = new byte[bigBytes];
            for (int i = 0; i < big.Length; i++) big[i] = (byte)('a' + random.Next(26));
            File.WriteAllBytes(Path.Combine(Dir.Path, "app", "data", "big.bin"), big);
            File.WriteAllText(Path.Combine(Dir.Path, "app", "hlvm.toml"), "name = \"testapp\"\nversion = \"1.2.3\"\nentry = \"main.hl\"\nstartup = [\"data/greeting.txt\"]\n");
            (PrivateKey, PublicKey) = Signing.CreateKeyPair();
            File.WriteAllText(Path.Combine(Dir.Path, "me.key"), PrivateKey);
            Bundle = Path.Combine(Dir.Path, "app.hlb");
            string[] key = sign ? ["--key", Path.Combine(Dir.Path, "me.key")] : [];
            var r = TestSupport.Hlvm(["pack", Path.Combine(Dir.Path, "app"), "-o", Bundle, .. key]);
            Assert.True(r.ExitCode == 0, r.Stderr);
        }

        public TestSupport.Result Run(string location, params string[] extra) =>
            TestSupport.Hlvm(["run", location, "--trust", PublicKey, .. extra]);

        public void Dispose() => Dir.Dispose();
    }

    private static void AssertCacheIsSound()
    {
        var cache = new ContentCache(ContentCache.DefaultRoot);
        Assert.Empty(cache.Verify());
    }

    [Fact]
    public void APackedSignedBundleRunsOnlyWhenItsSignerIsTrusted()
    {
        using var app = new App();
        var r = app.Run(app.Bundle);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("started\nhello from a resource\n", r.Stdout);

        var untrusted = TestSupport.Hlvm("run", app.Bundle);
        Assert.Equal(65, untrusted.ExitCode);
        Assert.Contains($"the bundle is signed by {app.PublicKey}, a key you do not trust", untrusted.Stderr);
        Assert.Equal("", untrusted.Stdout);

        var other = Signing.CreateKeyPair().PublicKey;
        Assert.Equal(65, TestSupport.Hlvm("run", app.Bundle, "--trust", other).ExitCode);
    }

    [Fact]
    public void TheReadmesBundleWalkthroughWorks()
    {
        using var dir = new TestSupport.TempDir();
        string key = Path.Combine(dir.Path, "me");
        Assert.Equal(0, TestSupport.Hlvm("keygen", "-o", key).ExitCode);
        string bundle = Path.Combine(dir.Path, "greeter.hlb");
        var pack = TestSupport.Hlvm("pack", Path.Combine(TestSupport.Root, "examples", "greeter"), "-o", bundle, "--key", key + ".key");
        Assert.True(pack.ExitCode == 0, pack.Stderr);
        Assert.Equal($"{bundle}: greeter 1.0.0, 2 entries, {new FileInfo(bundle).Length} bytes, signed\n", pack.Stdout);
        using var server = new DevServer(dir.Path, FreePort());
        string url = server.Url + "greeter.hlb";
        var first = TestSupport.Hlvm("run", url, "--trust", key + ".pub");
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal("Hello from inside a bundle, stranger! (run 1)\n", first.Stdout);
        Assert.Contains("greeter 1.0.0 asks for --allow-env=USER; it gets what this command line grants", first.Stderr);
        Assert.Equal("Hello from inside a bundle, stranger! (run 2)\n", TestSupport.Hlvm("run", url, "--trust", key + ".pub").Stdout);
        // Each run from the URL noted the front it ran from; a second run adds no second line (the file grew by one
        // at every run).
        foreach (var appFile in Directory.GetFiles(Path.Combine(ContentCache.DefaultRoot, "apps")))
        {
            var fronts = File.ReadLines(appFile).Where(l => l.StartsWith("front:", StringComparison.Ordinal)).ToList();
            Assert.Equal(fronts.Distinct().Count(), fronts.Count);
        }
        var rm = TestSupport.Hlvm("rm", "greeter");
        string pub = File.ReadAllText(key + ".pub").Trim();
        Assert.Matches($@"^removing greeter-[0-9a-f]{{16}}: greeter 1\.0\.0, signed by {Regex.Escape(pub)}\n  /data: 1 file, 1 byte\n  2 cached entries\nremoved greeter-[0-9a-f]{{16}}: its data and 2 cached entries\n$", rm.Stdout);
        Assert.Equal("Hello from inside a bundle, stranger! (run 1)\n", TestSupport.Hlvm("run", url, "--trust", key + ".pub").Stdout);
        // The URL it ran from names it too (it was "no such file or directory"), by the front its run cached.
        var byUrl = TestSupport.Hlvm("rm", url);
        Assert.True(byUrl.ExitCode == 0, byUrl.Stderr);
        Assert.Matches(@"\nremoved greeter-[0-9a-f]{16}: its data and 2 cached entries\n$", byUrl.Stdout);
        Assert.Equal("Hello from inside a bundle, stranger! (run 1)\n", TestSupport.Hlvm("run", url, "--trust", key + ".pub").Stdout);
        // The same app signed by another key is another app with the same entries: removing one keeps the entries
        // the other uses, and says so (it said "0 cached entries" after listing 2).
        string other = Path.Combine(dir.Path, "other");
        Assert.Equal(0, TestSupport.Hlvm("keygen", "-o", other).ExitCode);
        string otherBundle = Path.Combine(dir.Path, "other.hlb");
        Assert.Equal(0, TestSupport.Hlvm("pack", Path.Combine(TestSupport.Root, "examples", "greeter"), "-o", otherBundle, "--key", other + ".key").ExitCode);
        Assert.Equal(0, TestSupport.Hlvm("run", otherBundle, "--trust", other + ".pub").ExitCode);
        var shared = TestSupport.Hlvm("rm", Path.Combine(dir.Path, "greeter.hlb"));
        Assert.EndsWith(": its data and 0 cached entries (2 others kept: another app uses them)\n", shared.Stdout);
        TestSupport.Hlvm("rm", otherBundle);
    }

    [Fact]
    public void AnUnsignedBundleRunsOnlyWithAllowUnsigned()
    {
        using var app = new App(sign: false);
        var r = TestSupport.Hlvm("run", app.Bundle);
        Assert.Equal(65, r.ExitCode);
        Assert.Contains("the bundle is not signed; run it with --allow-unsigned", r.Stderr);
        var allowed = TestSupport.Hlvm("run", app.Bundle, "--allow-unsigned");
        Assert.True(allowed.ExitCode == 0, allowed.Stderr);
        Assert.StartsWith("started\n", allowed.Stdout);
        // Under another name it is still a bundle (it was read as a module and called malformed), for prof too.
        string renamed = Path.Combine(app.Dir.Path, "app.bin");
        File.Copy(app.Bundle, renamed);
        foreach (var command in (string[])["run", "prof"])
        {
            var other = TestSupport.Hlvm(command, renamed, "--allow-unsigned");
            Assert.True(other.ExitCode == 0, other.Stderr);
            Assert.Equal(allowed.Stdout, other.Stdout);
        }
    }

    /// <summary>
    /// A bundle larger than any program (16 MiB) under another name is still a bundle, told from its first bytes:
    /// run and prof run it, and the commands that take programs only say it is one (it was "larger than 16 MiB").
    /// </summary>
    [Fact]
    public void ABundleLargerThanAnyProgramIsOneUnderAnyName()
    {
        using var app = new App(bigBytes: 32 << 20);
        string renamed = Path.Combine(app.Dir.Path, "app.data");
        File.Copy(app.Bundle, renamed);
        Assert.True(new FileInfo(renamed).Length > Sandbox.SourceFiles.MaxFileBytes);
        var run = app.Run(renamed);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.StartsWith("started\n", run.Stdout);
        var check = TestSupport.Hlvm("check", renamed);
        Assert.Equal((64, $"hlvm check: '{renamed}' is a bundle; check takes a program (.hl) or a compiled module (.hlc) (run and prof take bundles and URLs)\n"), (check.ExitCode, check.Stderr));
    }

    [Fact]
    public void OverHttpOnlyTheEntriesTheAppReadsAreFetched()
    {
        using var app = new App(bigBytes: 4 << 20);
        using var server = new DevServer(app.Dir.Path, FreePort());
        long size = new FileInfo(app.Bundle).Length;
        var r = app.Run(server.Url + "app.hlb");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("started\nhello from a resource\n", r.Stdout);
        Assert.True(server.BytesSent < size / 20, $"{server.BytesSent} of {size} bytes fetched");

        // Reading the large resource fetches it, once: the second read comes from the cache.
        var reads = app.Run(server.Url + "app.hlb", "--", "data/big.bin");
        Assert.Equal($"started\nhello from a resource\n{4 << 20}\n", reads.Stdout.Replace("\r", ""));
        long afterFirst = server.BytesSent;
        Assert.True(afterFirst > size / 2);
        app.Run(server.Url + "app.hlb", "--", "data/big.bin");
        Assert.True(server.BytesSent - afterFirst < size / 20);
        Assert.EndsWith("\n0\n", app.Run(server.Url + "app.hlb", "--", "data/empty.txt").Stdout); // an empty entry needs no request
        AssertCacheIsSound();
    }

    [Fact]
    public void ASecondRunWorksWithoutTheServerAndRmLeavesNoTrace()
    {
        using var app = new App();
        string url;
        using (var server = new DevServer(app.Dir.Path, FreePort()))
        {
            url = server.Url + "app.hlb";
            Assert.Equal(0, app.Run(url).ExitCode);
        }
        var offline = app.Run(url);
        Assert.True(offline.ExitCode == 0, offline.Stderr);
        Assert.Contains("can't be reached; running testapp 1.2.3 from the cache", offline.Stderr);

        // The cached front damaged: cache verify finds it and removes it (it checked entries and programs only),
        // and a run offline says that the copy is damaged, not that the bundle is malformed (exit 65).
        string front = Directory.GetFiles(Path.Combine(ContentCache.DefaultRoot, "fronts")).Single();
        byte[] whole = File.ReadAllBytes(front);
        foreach (int at in new[] { 10, whole.Length - 1 })
        {
            byte[] damaged = (byte[])whole.Clone();
            damaged[at] ^= 0x5A;
            File.WriteAllBytes(front, damaged);
            var verify = TestSupport.Hlvm("cache", "verify");
            Assert.Equal(65, verify.ExitCode);
            Assert.Contains($"removed front {Path.GetFileName(front)}: damaged (", verify.Stdout);
            Assert.Contains("0 bundle fronts verified, 1 removed", verify.Stdout);
            Assert.False(File.Exists(front));
            File.WriteAllBytes(front, damaged);
            var broken = app.Run(url);
            Assert.Equal(66, broken.ExitCode);
            Assert.Contains("and the copy of the bundle's front an earlier run cached is damaged (", broken.Stderr);
            Assert.False(File.Exists(front));
        }
        File.WriteAllBytes(front, whole);
        Assert.Contains("1 bundle front verified, 0 removed", TestSupport.Hlvm("cache", "verify").Stdout);

        // A server that answers, but not with the bundle, is an error, not a reason to run the cached copy.
        using (var empty = new TestSupport.TempDir())
        using (var other = new DevServer(empty.Path, new Uri(url).Port))
        {
            var gone = app.Run(url);
            Assert.Equal(66, gone.ExitCode); // not found: a missing input, like a missing file
            Assert.Contains("the server answered 404", gone.Stderr);
        }

        var cache = new ContentCache(ContentCache.DefaultRoot);
        var mine = cache.Apps()[Bundle.AppIdOf(BundleFront.Read(File.ReadAllBytes(app.Bundle)), url)];
        var rm = TestSupport.Hlvm("rm", "testapp");
        Assert.True(rm.ExitCode == 0, rm.Stderr);
        Assert.DoesNotContain(cache.Apps().Keys, k => k.StartsWith("testapp-", StringComparison.Ordinal));
        Assert.DoesNotContain(cache.Entries(), e => mine.Contains(e.Hash));
        var unreachable = app.Run(url); // nothing left to run from
        Assert.Equal(66, unreachable.ExitCode);
        Assert.StartsWith($"hlvm: {url}: ", unreachable.Stderr);
    }

    [Fact]
    public async Task TwoRunsAtOnceShareTheCacheSafely()
    {
        using var app = new App(bigBytes: 2 << 20);
        using var server = new DevServer(app.Dir.Path, FreePort());
        string url = server.Url + "app.hlb";
        var runs = Enumerable.Range(0, 4).Select(_ => Task.Run(() => app.Run(url, "--", "data/big.bin"))).ToArray();
        foreach (var r in await Task.WhenAll(runs))
        {
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal($"started\nhello from a resource\n{2 << 20}\n", r.Stdout);
        }
        AssertCacheIsSound();
        Assert.Empty(Directory.EnumerateFiles(ContentCache.DefaultRoot, ".*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void CacheVerifyRemovesADamagedEntryAndTheNextRunFetchesItAgain()
    {
        using var app = new App(bigBytes: 1024);
        Environment.SetEnvironmentVariable("HLVM_CACHE_HOME", Path.Combine(app.Dir.Path, "cache"));
        try
        {
            Assert.Equal(0, app.Run(app.Bundle).ExitCode);
            var list = TestSupport.Hlvm("cache", "list");
            Assert.Contains("2 entries", list.Stdout); // the module and the startup resource; not the unread one
            var cache = new ContentCache(ContentCache.DefaultRoot);
            var (hash, _) = cache.Entries().First();
            string file = Directory.EnumerateFiles(ContentCache.DefaultRoot, hash, SearchOption.AllDirectories).Single();
            File.WriteAllText(file, "damaged");
            var verify = TestSupport.Hlvm("cache", "verify");
            Assert.Equal(65, verify.ExitCode);
            Assert.Contains($"removed {hash}: its contents no longer match", verify.Stdout);
            Assert.Contains(": 1 entry verified, 1 removed\n", verify.Stdout);
            var afterVerify = TestSupport.Hlvm("cache", "list").Stdout;
            Assert.Matches(@"^\S+: 1 entry, \d+ bytes\n", afterVerify); // one: no "1 entries"
            // The app's own count agrees: the entry removed is not counted as its (it said 2 entries).
            Assert.DoesNotContain("2 entries", afterVerify);
            var again = app.Run(app.Bundle);
            Assert.True(again.ExitCode == 0, again.Stderr);
            Assert.Equal(0, TestSupport.Hlvm("cache", "verify").ExitCode);
            Assert.Equal(0, TestSupport.Hlvm("cache", "clear").ExitCode);
            Assert.Empty(new ContentCache(ContentCache.DefaultRoot).Entries());
        }
        finally
        {
            Environment.SetEnvironmentVariable("HLVM_CACHE_HOME", SharedCache);
        }
    }

    // ------------------------------------------------------------------------------------------------ hostile

    [Fact]
    public void ATruncatedBundleNeverRuns()
    {
        using var app = new App(bigBytes: 4096);
        byte[] whole = File.ReadAllBytes(app.Bundle);
        var front = BundleFront.Read(whole);
        var cuts = new SortedSet<long> { 0, 1, 8, 63, 64, front.DataOffset - 1, front.DataOffset, whole.Length - 1 };
        foreach (var e in front.Entries) { cuts.Add(front.DataOffset + e.Offset); cuts.Add(front.DataOffset + e.Offset + e.StoredSize - 1); }
        var random = new Random(11);
        for (int i = 0; i < 8; i++) cuts.Add(random.NextInt64(whole.Length));
        string cut = Path.Combine(app.Dir.Path, "cut.hlb");
        foreach (long at in cuts.Where(c => c < whole.Length))
        {
            File.WriteAllBytes(cut, whole[..(int)at]);
            var r = app.Run(cut, "--", "data/big.bin");
            Assert.True(r.ExitCode is 65 or 70, $"cut at {at}: exit {r.ExitCode}\n{r.Stderr}");
            Assert.Contains("truncated", r.Stderr);
            // What ran (if the front and the module were whole) saw no byte of the missing part.
            Assert.DoesNotContain("4096", r.Stdout);
        }
        AssertCacheIsSound();
    }

    [Fact]
    public void AFlippedByteAnywhereIsCaughtBeforeItIsUsed()
    {
        using var app = new App(bigBytes: 4096);
        byte[] whole = File.ReadAllBytes(app.Bundle);
        var front = BundleFront.Read(whole);
        var random = new Random(5);
        var places = new List<long> { 0, 9, 12, 30, 64, 70, front.DataOffset - 1, front.DataOffset - 40, front.DataOffset + 3 };
        for (int i = 0; i < 40; i++) places.Add(random.NextInt64(whole.Length));
        string flipped = Path.Combine(app.Dir.Path, "flipped.hlb");
        foreach (long at in places)
        {
            // A new cache for each, so that the entries come from the modified file.
            Environment.SetEnvironmentVariable("HLVM_CACHE_HOME", Path.Combine(app.Dir.Path, $"cache{at}"));
            try
            {
                var bytes = (byte[])whole.Clone();
                bytes[at] ^= (byte)(1 << random.Next(8));
                File.WriteAllBytes(flipped, bytes);
                var r = app.Run(flipped, "--", "data/big.bin");
                Assert.True(r.ExitCode != 0, $"flip at {at} ran: {r.Stdout}");
                if (at < front.DataOffset) Assert.Equal("", r.Stdout);  // the front: nothing runs
                else
                {
                    // An entry: the module never runs modified, and a resource never reaches the program modified.
                    Assert.True(r.Stdout is "" or "started\n" or "started\nhello from a resource\n", $"flip at {at}: {r.Stdout}");
                    Assert.Contains($"entry '", r.Stderr);
                    // As the README's exit codes say: a bundle that does not start is 65; a resource found
                    // modified once the app runs is an IOError in the app, uncaught here (70).
                    Assert.True(r.ExitCode == (r.Stdout == "" ? 65 : 70), $"flip at {at}: exit {r.ExitCode}\n{r.Stderr}");
                }
                AssertCacheIsSound();
            }
            finally
            {
                Environment.SetEnvironmentVariable("HLVM_CACHE_HOME", SharedCache);
            }
        }
    }

    [Theory]
    [InlineData("../escape.txt", "has a '..' component")]
    [InlineData("/etc/passwd", "is absolute")]
    [InlineData("data\\win.txt", "contains a backslash")]
    [InlineData("a//b", "has an empty component")]
    [InlineData("main.hlc/b", "the entry \"main.hlc\" is a file, and the directory of the entry \"main.hlc/b\"")] // a file and a directory at once
    public void AnEntryNameThatCouldLeaveTheAppIsRejected(string name, string why)
    {
        using var dir = new TestSupport.TempDir();
        var (privateKey, publicKey) = Signing.CreateKeyPair();
        byte[] data = "x"u8.ToArray();
        var entries = new List<BundleEntry>
        {
            new("main.hlc", EntryKind.Module, Compression.None, 0, 1, 1, BundleFront.Hash(data)),
            new(name, EntryKind.Resource, Compression.None, 1, 1, 1, BundleFront.Hash(data)),
        };
        var front = BundleFront.Write(new BundleManifest { Name = "evil", Version = "1", Entry = "main.hlc" }, entries, Signing.Signer(privateKey));
        string path = dir.File("evil.hlb");
        File.WriteAllBytes(path, [.. front, .. data, .. data]);
        var r = TestSupport.Hlvm("run", path, "--trust", publicKey);
        Assert.Equal(65, r.ExitCode);
        Assert.Contains(why, r.Stderr);
    }

    [Fact]
    public void DeclaredSizesThatLieAndDecompressionBombsAreRejected()
    {
        using var dir = new TestSupport.TempDir();
        var (privateKey, publicKey) = Signing.CreateKeyPair();
        // A module entry that decompresses to 64 MiB of zeros while declaring 10 bytes.
        var bomb = new MemoryStream();
        using (var brotli = new System.IO.Compression.BrotliStream(bomb, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
            brotli.Write(new byte[64 << 20]);
        byte[] stored = bomb.ToArray();
        var entries = new List<BundleEntry> { new("main.hlc", EntryKind.Module, Compression.Brotli, 0, stored.Length, 10, new byte[32]) };
        var front = BundleFront.Write(new BundleManifest { Name = "bomb", Version = "1", Entry = "main.hlc" }, entries, Signing.Signer(privateKey));
        string path = dir.File("bomb.hlb");
        File.WriteAllBytes(path, [.. front, .. stored]);
        var r = TestSupport.Hlvm("run", path, "--trust", publicKey);
        Assert.Equal(65, r.ExitCode);
        Assert.Contains("decompresses to more than the 10 bytes it declares", r.Stderr);

        // A table of contents whose sizes run past the end of the file.
        var lying = new List<BundleEntry> { new("main.hlc", EntryKind.Module, Compression.None, 0, 1000, 1000, new byte[32]) };
        var front2 = BundleFront.Write(new BundleManifest { Name = "liar", Version = "1", Entry = "main.hlc" }, lying, Signing.Signer(privateKey));
        File.WriteAllBytes(path, [.. front2, .. new byte[10]]);
        var r2 = TestSupport.Hlvm("run", path, "--trust", publicKey);
        Assert.Equal(65, r2.ExitCode);
        Assert.Contains("truncated", r2.Stderr);

        // Stored sizes so large that offset plus size wraps around.
        var wrapping = new List<BundleEntry>
        {
            new("main.hlc", EntryKind.Module, Compression.None, 0, 1, 1, new byte[32]),
            new("a", EntryKind.Resource, Compression.None, 1, long.MaxValue, long.MaxValue, new byte[32]),
        };
        var front3 = BundleFront.Write(new BundleManifest { Name = "wrap", Version = "1", Entry = "main.hlc" }, wrapping, Signing.Signer(privateKey));
        File.WriteAllBytes(path, [.. front3, 0]);
        var r3 = TestSupport.Hlvm("run", path, "--trust", publicKey);
        Assert.Equal(65, r3.ExitCode);
        Assert.Contains(": at offset ", r3.Stderr); // a format error, naming where

        // The same with a header whose total size is made consistent again: the table of contents' own check.
        var bytes = (byte[])front3.Clone();
        BitConverter.GetBytes(BitConverter.ToInt64(bytes, 24) + 1).CopyTo(bytes, 32);
        File.WriteAllBytes(path, [.. bytes, 0]);
        var r4 = TestSupport.Hlvm("run", path, "--trust", publicKey, "--allow-unsigned");
        Assert.Equal(65, r4.ExitCode);
        Assert.Contains("(entry 1)", r4.Stderr);
        AssertCacheIsSound();
    }

    [Fact]
    public void AnEntryModuleLargerThanTheHeapIsNotFetched()
    {
        using var dir = new TestSupport.TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "app"));
        // A module of about 10 KB: one long string constant.
        File.WriteAllText(Path.Combine(dir.Path, "app", "main.hl"), $"fn main() {{ println(\"{new string('z', 10_000)}\".len()) }}\n");
        File.WriteAllText(Path.Combine(dir.Path, "app", "hlvm.toml"), "name = \"bigentry\"\nversion = \"1.0.0\"\nentry = \"main.hl\"\n");
        string bundle = Path.Combine(dir.Path, "big.hlb");
        Assert.Equal(0, TestSupport.Hlvm("pack", Path.Combine(dir.Path, "app"), "-o", bundle).ExitCode);
        var r = TestSupport.Hlvm("run", bundle, "--allow-unsigned", "--max-heap=8k");
        Assert.Equal(75, r.ExitCode);
        Assert.Contains("hlvm: limit exceeded (max-heap):", r.Stderr);
        Assert.Contains("the entry module 'main.hlc' is 1", r.Stderr);
        Assert.Contains("more than the app's heap limit of 8192 bytes", r.Stderr);
        Assert.Equal("10000\n", TestSupport.Hlvm("run", bundle, "--allow-unsigned").Stdout); // under the default heap it runs
    }

    [Fact]
    public async Task TheTimeoutCoversFetchingTheBundle()
    {
        using var app = new App(bigBytes: 1024);
        // Every connection is accepted and never answered.
        await using var server = new LoopbackServer((_, _, stopping) => Task.Delay(Timeout.Infinite, stopping));
        var r = app.Run($"http://127.0.0.1:{server.Port}/app.hlb", "--timeout=1s");
        Assert.Equal(75, r.ExitCode);
        Assert.Contains("limit exceeded (timeout)", r.Stderr);
    }

    /// <summary>An https:// URL of a server that speaks plain HTTP is said to be that, in hlvm's words: .NET's message
    /// told the user to see an inner exception they never see.</summary>
    [Fact]
    public async Task AnHttpsUrlOfAPlainHttpServerSaysSo()
    {
        using var app = new App(bigBytes: 1024);
        await using var server = new LoopbackServer(async (client, _, stopping) =>
        {
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), stopping);
        });
        var r = app.Run($"https://127.0.0.1:{server.Port}/app.hlb");
        Assert.Equal(66, r.ExitCode);
        Assert.Contains("the secure (TLS) connection could not be made", r.Stderr);
        Assert.Contains("a server that speaks plain HTTP is reached with an http:// URL", r.Stderr);
        Assert.DoesNotContain("inner exception", r.Stderr);
    }

    [Fact]
    public async Task AServerThatSendsTheWrongRangeOrStallsIsRejectedInTime()
    {
        using var app = new App(bigBytes: 1024);
        byte[] whole = File.ReadAllBytes(app.Bundle);
        await using var server = new LoopbackServer(async (client, n, stopping) =>
        {
            var stream = client.GetStream();
            await LoopbackServer.ReadRequest(stream);
            if (n == 2)
            {
                // Headers and part of the body, then nothing.
                var part = $"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-63/{whole.Length}\r\nContent-Length: 64\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(part));
                await stream.WriteAsync(whole.AsMemory(0, 10));
            }
            if (n > 1) { await Task.Delay(Timeout.Infinite, stopping); return; } // stall
            // The first request gets bytes from elsewhere in the file than it asked for.
            var body = whole.AsSpan(100, 64).ToArray();
            var head = $"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-163/{whole.Length}\r\nContent-Length: 64\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(body);
        });
        string url = $"http://127.0.0.1:{server.Port}/app.hlb";
        var wrong = app.Run(url);
        Assert.Equal(65, wrong.ExitCode);
        Assert.Contains("asked for bytes 0-63, the server sent bytes 100-163", wrong.Stderr);

        using var source = new HttpBundleSource(new Uri(url), TimeSpan.FromSeconds(1));
        var halfway = Assert.Throws<BundleException>(() => source.Read(0, 64));
        Assert.Contains("no answer within 1 s", halfway.Message);
        var silent = Assert.Throws<BundleException>(() => source.Read(0, 64));
        Assert.Contains("no answer within 1 s", silent.Message);
        // A server that does not answer is one the bundle can't be had from (exit 66), not a bad bundle (65).
        Assert.True(silent.Unavailable && silent.Unreachable);
        AssertCacheIsSound();
    }

    /// <summary>
    /// A redirect is not followed, wherever it leads: .NET's handler followed one to any scheme, host or port, and a
    /// `Location: file:///etc/passwd` failed inside it with an exception nothing caught (the host's "internal error"
    /// and a .NET stack trace, exit 70, even mid-run, past the app's catch). It is now an answer the bundle can't be
    /// had from: exit 66 with the redirect's target named, and a BundleException from the source. Fails when
    /// redirects are followed again, or when the failure escapes as another exception.
    /// </summary>
    [Fact]
    public async Task ARedirectIsNotFollowedWhereverItLeads()
    {
        using var app = new App(bigBytes: 16);
        string[] targets = ["file:///etc/passwd", "http://127.0.0.1:{port}/elsewhere.hlb", "javascript:alert(1)"];
        await using var server = new LoopbackServer(async (client, n, _) =>
        {
            string target = targets[n % targets.Length];
            var stream = client.GetStream();
            await LoopbackServer.ReadRequest(stream);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        });
        targets[1] = targets[1].Replace("{port}", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        string url = $"http://127.0.0.1:{server.Port}/app.hlb";
        var r = app.Run(url);
        Assert.Equal(66, r.ExitCode);
        Assert.Contains($"hlvm: {url}: the server answered 302 Found, a redirect to '", r.Stderr);
        Assert.Contains("hlvm does not follow redirects", r.Stderr);
        Assert.DoesNotContain("internal error", r.Stderr);
        using var source = new HttpBundleSource(new Uri(url), TimeSpan.FromSeconds(10));
        foreach (var _ in targets)
        {
            var e = Assert.Throws<BundleException>(() => source.Read(0, 64));
            Assert.True(e.Unavailable, e.Message);
            Assert.Contains("a redirect to '", e.Message);
        }
        Assert.Equal(1 + targets.Length, server.Connections); // each answer read once, none followed
        AssertCacheIsSound();
    }

    [Fact]
    public async Task ATimeLimitEndsAWaitForAResourceThatNeverComes()
    {
        using var app = new App(bigBytes: 1 << 20);
        byte[] whole = File.ReadAllBytes(app.Bundle);
        var front = BundleFront.Read(whole);
        long bigStart = front.DataOffset + front.Entries.Single(e => e.Name == "data/big.bin").Offset;
        int port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try { context = await listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
                var m = System.Text.RegularExpressions.Regex.Match(context.Request.Headers["Range"] ?? "", @"bytes=(\d+)-(\d+)");
                long from = long.Parse(m.Groups[1].Value), to = long.Parse(m.Groups[2].Value);
                if (from >= bigStart) continue; // the large resource: never answered
                context.Response.StatusCode = 206;
                context.Response.Headers["Content-Range"] = $"bytes {from}-{to}/{whole.Length}";
                await context.Response.OutputStream.WriteAsync(whole.AsMemory((int)from, (int)(to - from + 1)));
                context.Response.Close();
            }
        });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // The time covers fetching the bundle's front and entry module too: enough for them, not for the resource.
        var r = app.Run($"http://127.0.0.1:{port}/app.hlb", "--timeout", "3s", "--", "data/big.bin");
        Assert.Equal(75, r.ExitCode);
        Assert.StartsWith("started\nhello from a resource\n", r.Stdout);
        Assert.Contains("hlvm: limit exceeded: the app ran longer than 3s (--timeout 3s)", r.Stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        await stop.CancelAsync();
        listener.Stop();
        await serving;
    }

    [Fact]
    public async Task TheDevelopmentServerAnswersRangesAndServesNothingOutsideItsDirectory()
    {
        using var dir = new TestSupport.TempDir();
        using var outside = new TestSupport.TempDir();
        File.WriteAllText(Path.Combine(outside.Path, "secret.txt"), "outside");
        File.WriteAllText(Path.Combine(dir.Path, "file.txt"), "0123456789");
        File.CreateSymbolicLink(Path.Combine(dir.Path, "out"), outside.Path);
        File.CreateSymbolicLink(Path.Combine(dir.Path, "alias.txt"), "file.txt");
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var server = new DevServer(dir.Path, FreePort(), log.Enqueue);
        using var client = new HttpClient();
        async Task<(HttpStatusCode, string)> Get(string path, string? range = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, server.Url + path);
            if (range is not null) request.Headers.TryAddWithoutValidation("Range", range);
            using var response = await client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        Assert.Equal((HttpStatusCode.PartialContent, "2345"), await Get("file.txt", "bytes=2-5"));
        Assert.Equal((HttpStatusCode.PartialContent, "789"), await Get("file.txt", "bytes=-3"));
        Assert.Equal((HttpStatusCode.OK, "0123456789"), await Get("file.txt"));
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await Get("file.txt", "bytes=20-30")).Item1);
        Assert.Equal((HttpStatusCode.OK, "0123456789"), await Get("file.txt", "bytes=0-0,2-3")); // several ranges: the whole file
        Assert.Equal((HttpStatusCode.OK, "0123456789"), await Get("alias.txt"));
        Assert.Equal(HttpStatusCode.NotFound, (await Get("out/secret.txt")).Item1);
        Assert.Equal(HttpStatusCode.NotFound, (await Get("..%2F" + Path.GetFileName(outside.Path) + "/secret.txt")).Item1);
        File.WriteAllText(Path.Combine(dir.Path, "me.key"), "ed25519-private:...");
        Assert.Equal(HttpStatusCode.Forbidden, (await Get("me.key")).Item1);
        // The private key is refused whatever spelling or link reaches it (these served it), and hidden files are
        // not served.
        File.CreateSymbolicLink(Path.Combine(dir.Path, "innocent.txt"), "me.key");
        foreach (var spelling in new[] { "me.key/", "me.key%2f", "me.key/.", "me.key%2F.", "innocent.txt", "./me.key" })
        {
            var (status, body) = await Get(spelling);
            Assert.True(status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound, $"{spelling}: {status}");
            Assert.DoesNotContain("ed25519-private", body);
        }
        Directory.CreateDirectory(Path.Combine(dir.Path, ".git"));
        File.WriteAllText(Path.Combine(dir.Path, ".git", "config"), "[remote]");
        File.WriteAllText(Path.Combine(dir.Path, ".hidden"), "hidden");
        File.CreateSymbolicLink(Path.Combine(dir.Path, "shown.txt"), ".hidden");
        foreach (var hidden in new[] { ".git/config", ".hidden", "shown.txt" })
            Assert.Equal(HttpStatusCode.NotFound, (await Get(hidden)).Item1);
        // Every request is logged, the refused ones too.
        Assert.Contains("GET /file.txt 206 bytes 2-5", log);
        Assert.Contains("GET /out/secret.txt 404", log);
        Assert.Contains("GET /me.key 403", log);
        Assert.Equal(HttpStatusCode.NotFound, (await Get("file.txt%00.html")).Item1);
        Assert.Contains("GET /file.txt\u2400.html 404", log); // the NUL made visible
        // A path of any length logs its start only.
        Assert.Equal(HttpStatusCode.NotFound, (await Get(new string('x', 5000))).Item1);
        Assert.Contains($"GET /{new string('x', 256)}... (4744 more characters) 404", log);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await Get("file.txt", "bytes=-")).Item1);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await Get("file.txt", "bytes=99999999999999999999-")).Item1);
        // Regular files only: a FIFO is not found, at once; opening it blocked the request for good, and every such
        // request held one of the server's threads.
        if (OperatingSystem.IsLinux())
        {
            using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [Path.Combine(dir.Path, "pipe.hlb")])) mkfifo.WaitForExit();
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            using var response = await client.GetAsync(server.Url + "pipe.hlb", bounded.Token);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("GET /pipe.hlb 404", log);
        }
    }

    /// <summary>A bundle with a manifest written as given (which the packer would never write), one module entry
    /// holding <paramref name="module"/> and the given resources, signed with <paramref name="privateKey"/>.</summary>
    private static byte[] Craft(string manifestJson, byte[] module, (string Name, byte[] Data, byte[]? Hash)[] resources, string privateKey)
    {
        var entries = new List<BundleEntry> { new("main.hlc", EntryKind.Module, Compression.None, 0, module.Length, module.Length, BundleFront.Hash(module)) };
        long offset = module.Length;
        foreach (var (name, data, hash) in resources)
        {
            entries.Add(new BundleEntry(name, EntryKind.Resource, Compression.None, offset, data.Length, data.Length, hash ?? BundleFront.Hash(data)));
            offset += data.Length;
        }
        var plain = BundleFront.Write(new BundleManifest { Name = "x", Version = "1", Entry = "main.hlc" }, entries, null);
        int oldManifest = BitConverter.ToInt32(plain, 12);
        byte[] manifest = Encoding.UTF8.GetBytes(manifestJson), toc = plain[(64 + oldManifest)..];
        byte[] header = plain[..64];
        BitConverter.GetBytes(manifest.Length).CopyTo(header, 12);
        BitConverter.GetBytes((short)1).CopyTo(header, 10);
        long dataOffset = 64 + manifest.Length + toc.Length + BundleFront.SignatureBlockSize;
        BitConverter.GetBytes(dataOffset).CopyTo(header, 24);
        BitConverter.GetBytes(dataOffset + offset).CopyTo(header, 32);
        byte[] signed = [.. header, .. manifest, .. toc];
        var (key, signature) = Signing.Signer(privateKey)(signed);
        return [.. signed, .. key, .. signature, .. module, .. resources.SelectMany(r => r.Data)];
    }

    private static byte[] ModuleOf(string source) =>
        Runtime.Bytecode.ModuleFormat.Write(Compiler.Compilation.Compile("app.hl", source).Module!);

    [Theory]
    [InlineData("""{"name":"../../../outside/evil","version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.1.0"}""", "the manifest's name")]
    [InlineData("""{"name":"/abs/path","version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.1.0"}""", "the manifest's name")]
    [InlineData("""{"name":null,"version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.1.0"}""", "the manifest's name")]
    [InlineData("""{"name":"ok","version":"1","entry":"main.hlc","permissions":null,"minRuntime":"0.1.0"}""", "permissions must be a list")]
    [InlineData("""{"name":"ok","version":"1","entry":"main.hlc","permissions":[null],"minRuntime":"0.1.0"}""", "permission")]
    [InlineData("""{"name":"ok","version":"1","entry":"main.hlc","permissions":["read:/tmp/x\u001b[8m/../../.."],"minRuntime":"0.1.0"}""", "is not KIND or KIND:TARGET")]
    [InlineData("""{"name":"ok","version":"1","entry":"main.hlc","permissions":["bogus"],"minRuntime":"0.1.0"}""", "is not KIND or KIND:TARGET")]
    [InlineData("""{"name":"ok","name":"again","version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.1.0"}""", "duplicate")]
    [InlineData("""{"name":"ok","version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.1"}""", "minRuntime")]
    [InlineData("""{"name":"ok","version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.1.0\n"}""", "minRuntime")]
    [InlineData("""{"name":"ok","version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.\u0661.0"}""", "minRuntime")]
    [InlineData("""{"name":"ok","version":"1","entry":"\u001b[31mRED","permissions":[],"minRuntime":"0.1.0"}""", "entry")]
    [InlineData("""{"name":"ok","version":"1","entry":"main.hlc","extra":1,"permissions":[],"minRuntime":"0.1.0"}""", "the manifest is not valid: it has a member the format does not know ($.extra)")]
    [InlineData("""{"version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.1.0"}""", "the manifest is not valid: it lacks a member the format requires (name, version and entry)")]
    public void AManifestThatBreaksTheFormatsRulesIsRejectedAndShownHarmlessly(string manifest, string why)
    {
        using var dir = new TestSupport.TempDir();
        var (privateKey, publicKey) = Signing.CreateKeyPair();
        string path = dir.File("bad.hlb");
        File.WriteAllBytes(path, Craft(manifest, ModuleOf("fn main() {\n    println(\"ran\")\n}\n"), [], privateKey));
        var r = TestSupport.Hlvm("run", path, "--trust", publicKey);
        Assert.Equal(65, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.True(r.Stderr.Contains(why, StringComparison.OrdinalIgnoreCase), r.Stderr);
        Assert.DoesNotContain('\u001b', r.Stderr);
        Assert.DoesNotContain(".NET", r.Stderr); // said in the format's terms
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "outside")));
    }

    [Fact]
    public void ABundleCantReadAnotherAppsCachedContentByNamingItsHash()
    {
        using var dir = new TestSupport.TempDir();
        var (privateKey, publicKey) = Signing.CreateKeyPair();
        byte[] secret = Encoding.UTF8.GetBytes("another app's secret " + Guid.NewGuid());
        const string reader = "import std.fs\n\nfn main() {\n    println(fs.readText(\"/app/s.txt\"))\n}\n";
        string a = dir.File("a.hlb"), b = dir.File("b.hlb");
        File.WriteAllBytes(a, Craft("""{"name":"owner","version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.1.0"}""", ModuleOf(reader), [("s.txt", secret, null)], privateKey));
        // B names the same hash, but holds other bytes of the same length.
        byte[] junk = new byte[secret.Length];
        File.WriteAllBytes(b, Craft("""{"name":"prober","version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.1.0"}""", ModuleOf(reader), [("s.txt", junk, BundleFront.Hash(secret))], privateKey));
        Assert.Equal(Encoding.UTF8.GetString(secret) + "\n", TestSupport.Hlvm("run", a, "--trust", publicKey).Stdout);
        var probe = TestSupport.Hlvm("run", b, "--trust", publicKey);
        Assert.Equal(70, probe.ExitCode);
        Assert.Contains("does not match its SHA-256", probe.Stderr);
        Assert.DoesNotContain("secret", probe.Stdout);
    }

    [Fact]
    public void BytesAfterTheEndOrAResourceTooLargeForTheHeapAreRefused()
    {
        using var dir = new TestSupport.TempDir();
        var (privateKey, publicKey) = Signing.CreateKeyPair();
        const string reader = "import std.fs\n\nfn main() {\n    println(fs.readText(\"/app/big\").len())\n}\n";
        byte[] bundle = Craft("""{"name":"big","version":"1","entry":"main.hlc","permissions":[],"minRuntime":"0.1.0"}""", ModuleOf(reader), [("big", new byte[8 << 20], null)], privateKey);
        string path = dir.File("big.hlb");
        File.WriteAllBytes(path, [.. bundle, 1, 2, 3]);
        var extra = TestSupport.Hlvm("run", path, "--trust", publicKey);
        Assert.Equal(65, extra.ExitCode);
        Assert.Contains("the bundle has 3 bytes after its end", extra.Stderr);

        File.WriteAllBytes(path, bundle);
        var r = TestSupport.Hlvm("run", path, "--trust", publicKey, "--max-heap", "1m");
        Assert.Equal(75, r.ExitCode);
        Assert.Contains("the file's 8388608 bytes exceed the heap limit", r.Stderr);
        Assert.DoesNotContain(new ContentCache(ContentCache.DefaultRoot).Entries(), e => e.Size == 8 << 20);
    }

    [Fact]
    public void RmRemovesAProgramsDataByItsDirectoryAndPackLeavesKeysAndBundlesOut()
    {
        using var dir = new TestSupport.TempDir();
        string notes = Directory.CreateDirectory(Path.Combine(dir.Path, "notes")).FullName;
        File.WriteAllText(Path.Combine(notes, "main.hl"), "import std.fs\n\nfn main() {\n    fs.writeText(\"/data/diary.txt\", \"dear diary\")\n}\n");
        Assert.Equal(0, TestSupport.Hlvm("run", Path.Combine(notes, "main.hl")).ExitCode);
        Assert.True(File.Exists(Path.Combine(Sandbox.AppStorage.DirectoryFor(notes), "data", "diary.txt")));
        var rm = TestSupport.Hlvm("rm", notes);
        Assert.True(rm.ExitCode == 0, rm.Stderr);
        Assert.False(Directory.Exists(Sandbox.AppStorage.DirectoryFor(notes)));
        Assert.Equal(66, TestSupport.Hlvm("rm", "../notes").ExitCode);

        File.WriteAllText(Path.Combine(notes, "hlvm.toml"), "name = \"notes\"\nversion = \"1\"\nentry = \"main.hl\"\n");
        Assert.Equal(0, TestSupport.Hlvm("keygen", "-o", Path.Combine(notes, "me")).ExitCode);
        File.WriteAllText(Path.Combine(notes, "old.hlb"), "an earlier bundle");
        string bundle = Path.Combine(dir.Path, "notes.hlb");
        var pack = TestSupport.Hlvm("pack", notes, "-o", bundle, "--key", Path.Combine(notes, "me.key"));
        Assert.True(pack.ExitCode == 0, pack.Stderr);
        var names = BundleFront.Read(File.ReadAllBytes(bundle)).Entries.Select(e => e.Name).ToList();
        Assert.Equal(["main.hlc", "me.pub"], names);

        File.WriteAllText(Path.Combine(notes, "main.hlc"), "a file with the module's name");
        File.Delete(bundle);
        var clash = TestSupport.Hlvm("pack", notes, "-o", bundle, "--key", Path.Combine(notes, "me.key"));
        Assert.Equal(65, clash.ExitCode);
        Assert.Contains("has the name its compiled program takes", clash.Stderr);
        Assert.False(File.Exists(bundle));
    }

    /// <summary>
    /// The manifest's entry is a source file of the app, named by its path in the app's directory, and not reached
    /// through a link: pack took any path, so that `entry = "/etc/passwd"` printed that file's first line in the
    /// compile error, and a `main.hl` linking to a source file elsewhere was packed (while pack said the link was
    /// left out). Each is refused (exit 65) before anything is read or written. Fails when the entry is taken
    /// as any path again.
    /// </summary>
    [Fact]
    public void PackTakesTheEntryFromTheAppsDirectoryOnly()
    {
        using var dir = new TestSupport.TempDir();
        string app = Directory.CreateDirectory(Path.Combine(dir.Path, "app")).FullName;
        string outside = Path.Combine(dir.Path, "private.hl");
        File.WriteAllText(outside, "fn main() { println(\"a secret from outside the app\") }\n");
        string bundle = Path.Combine(dir.Path, "app.hlb");
        (string Entry, string Said)[] cases =
        [
            ("/etc/passwd", "the entry '/etc/passwd' is absolute"),
            ("../private.hl", "the entry '../private.hl' has a '..' component"),
            ("main.hl", "the entry 'main.hl' is reached through a symbolic link (main.hl), which pack leaves out"),
            ("lib/main.hl", "the entry 'lib/main.hl' is reached through a symbolic link (lib), which pack leaves out"),
            (".hidden/main.hl", "the entry '.hidden/main.hl' is hidden"),
            ("notes.txt", "the entry 'notes.txt' is not a source file (.hl)"),
        ];
        File.CreateSymbolicLink(Path.Combine(app, "main.hl"), outside);
        File.CreateSymbolicLink(Path.Combine(app, "lib"), dir.Path);
        File.Copy(outside, Path.Combine(dir.Path, "main.hl"));
        Directory.CreateDirectory(Path.Combine(app, ".hidden"));
        File.Copy(outside, Path.Combine(app, ".hidden", "main.hl"));
        foreach (var (entry, said) in cases)
        {
            File.WriteAllText(Path.Combine(app, "hlvm.toml"), $"name = \"app\"\nversion = \"1\"\nentry = \"{entry}\"\n");
            var pack = TestSupport.Hlvm("pack", app, "-o", bundle);
            Assert.Equal(65, pack.ExitCode);
            Assert.Contains(said, pack.Stderr);
            Assert.DoesNotContain("root:", pack.Stderr);
            Assert.False(File.Exists(bundle), entry);
        }
        // A FIFO is not a source file to compile (it was "does not compile").
        File.Delete(Path.Combine(app, "main.hl"));
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [Path.Combine(app, "main.hl")])) mkfifo.WaitForExit();
        File.WriteAllText(Path.Combine(app, "hlvm.toml"), "name = \"app\"\nversion = \"1\"\nentry = \"main.hl\"\n");
        var fifo = TestSupport.Hlvm("pack", app, "-o", bundle);
        Assert.Equal(65, fifo.ExitCode);
        Assert.Contains("the entry 'main.hl' is not a regular file (a pipe, a socket or a device)", fifo.Stderr);
        // The app's own file, beside the manifest or beneath it, is packed as before.
        File.Delete(Path.Combine(app, "main.hl"));
        Directory.CreateDirectory(Path.Combine(app, "src"));
        File.WriteAllText(Path.Combine(app, "src", "main.hl"), "fn main() { println(\"inside\") }\n");
        File.WriteAllText(Path.Combine(app, "hlvm.toml"), "name = \"app\"\nversion = \"1\"\nentry = \"src/main.hl\"\n");
        var ok = TestSupport.Hlvm("pack", app, "-o", bundle);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Equal("inside\n", TestSupport.Hlvm("run", bundle, "--allow-unsigned").Stdout);
    }

    /// <summary>
    /// A bundle's URL with a user name and password is refused (exit 64) before anything is fetched or stored: .NET
    /// sends no credentials from a URL, and the URL went into the app's stored description, shown by `data list`.
    /// The password is not repeated in the message. Fails when such a URL is taken again.
    /// </summary>
    [Fact]
    public void ABundlesUrlCarriesNoPassword()
    {
        var r = TestSupport.Hlvm("run", "http://alice:s3cret@127.0.0.1:9/u.hlb");
        Assert.Equal(64, r.ExitCode);
        Assert.Contains("a bundle's URL can't carry a user name or password; hlvm sends none", r.Stderr);
        Assert.DoesNotContain("s3cret", r.Stderr);
        // A URL that is not one is said so (it was taken for a file's name: "no such file", exit 66); a scheme in
        // capitals is the same scheme (it was refused as not http).
        var invalid = TestSupport.Hlvm("run", "http://a b/x.hlb");
        Assert.Equal(64, invalid.ExitCode);
        Assert.Equal("hlvm: 'http://a b/x.hlb' is not a valid URL\n", invalid.Stderr);
        var capitals = TestSupport.Hlvm("run", "HTTP://127.0.0.1:9/x.hlb");
        Assert.Equal(66, capitals.ExitCode);
        Assert.Contains("Connection refused", capitals.Stderr);
    }

    /// <summary>
    /// An app file pack can't take is said as the app's (exit 65), by its name, before anything is read: a name that
    /// is not UTF-8 was "cannot write the bundle: no such file" (exit 73), a file past the format's 2 GiB "cannot
    /// write" too, after .NET refused to read it, and a name longer than the format's 1,024 bytes was said by its
    /// offset in the bundle once all was packed. No bundle is written. Fails when any of them is reported otherwise.
    /// </summary>
    [Fact]
    public void PackSaysWhichFileOfTheAppItCantTake()
    {
        using var dir = new TestSupport.TempDir();
        string bundle = Path.Combine(dir.Path, "app.hlb");
        string App(string name)
        {
            string app = Directory.CreateDirectory(Path.Combine(dir.Path, name)).FullName;
            File.WriteAllText(Path.Combine(app, "main.hl"), "fn main() { println(1) }\n");
            File.WriteAllText(Path.Combine(app, "hlvm.toml"), "name = \"app\"\nversion = \"1\"\nentry = \"main.hl\"\n");
            return app;
        }
        string badName = App("badname");
        // A name of bytes that are not UTF-8, made through the C library (a .NET string can't hold them).
        using (var touch = System.Diagnostics.Process.Start("sh", ["-c", "touch \"$1/$(printf 'bad\\377name.txt')\"", "sh", badName]))
        {
            touch.WaitForExit();
            Assert.Equal(0, touch.ExitCode);
        }
        string huge = App("huge");
        using (var file = File.Create(Path.Combine(huge, "huge.bin"))) file.SetLength(BundleFront.MaxEntrySize + 1); // sparse: nothing written
        string longName = App("longname");
        string deep = Path.Combine(longName, new string('d', 250), new string('e', 250), new string('f', 250), new string('g', 250), new string('h', 100));
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(deep, "x.txt"), "x");
        foreach (var (app, said) in new[]
        {
            (badName, "hlvm: the app's file name 'bad\uFFFDname.txt' is not UTF-8"),
            (huge, $"hlvm: the app's file 'huge.bin' is {BundleFront.MaxEntrySize + 1} bytes; a bundle's entry holds at most {BundleFront.MaxEntrySize}"),
            (longName, "is longer than 1024 bytes in UTF-8; rename it"),
        })
        {
            var pack = TestSupport.Hlvm("pack", app, "-o", bundle);
            Assert.True(pack.ExitCode == 65, $"{app}: exit {pack.ExitCode}\n{pack.Stderr}");
            Assert.Contains(said, pack.Stderr);
            Assert.False(File.Exists(bundle));
        }
    }

    /// <summary>
    /// A TCP server on loopback, as a misbehaving web server: each connection, numbered from 1, goes to the answer
    /// on a task of its own and is closed when the answer ends; disposing stops accepting and ends the answers that
    /// wait on the token they are given.
    /// </summary>
    private sealed class LoopbackServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;
        private int _connections;

        public LoopbackServer(Func<TcpClient, int, CancellationToken, Task> answer)
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _serving = Task.Run(async () =>
            {
                var answers = new List<Task>();
                while (true)
                {
                    TcpClient client;
                    try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                    catch (OperationCanceledException) { break; }
                    int n = Interlocked.Increment(ref _connections);
                    answers.Add(Task.Run(async () =>
                    {
                        using (client)
                        {
                            try { await answer(client, n, _stop.Token); }
                            catch (OperationCanceledException) { /* stopped */ }
                            catch (IOException) { /* the client went away */ }
                        }
                    }));
                }
                await Task.WhenAll(answers);
            });
        }

        public int Port { get; }

        /// <summary>The connections accepted so far.</summary>
        public int Connections => Volatile.Read(ref _connections);

        /// <summary>Reads a request's line and headers, up to the blank line that ends them.</summary>
        public static async Task ReadRequest(Stream stream)
        {
            var reader = new StreamReader(stream, Encoding.ASCII);
            while (await reader.ReadLineAsync() is { Length: > 0 }) { }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _serving;
            _listener.Stop();
            _stop.Dispose();
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

/// <summary>
/// The collection of the tests that point <c>HLVM_CACHE_HOME</c> elsewhere for a while. The variable is the
/// process's, and since every `hlvm run` of a source file keeps its compiled program in that cache, a test of
/// another collection running meanwhile would put its program in the cache these tests count and verify; so
/// they run after the others, one at a time.
/// </summary>
[CollectionDefinition(BundleTests.BundleCache, DisableParallelization = true)]
public sealed class BundleCacheCollection;
