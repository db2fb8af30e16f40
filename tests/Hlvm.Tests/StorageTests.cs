using Hlvm.Sandbox;
using Hlvm.Sandbox.Bundles;

namespace Hlvm.Tests;

/// <summary>
/// The private storage apps leave behind, as its user meets it: <c>hlvm data list</c> names every app by an id,
/// <c>hlvm rm</c> removes exactly one (asking, or refusing, when a name is ambiguous), and a copy of an
/// <c>/app</c> file whose original changed after it was made is pointed out rather than silently read.
/// </summary>
[Collection(BundleTests.BundleCache)]
public sealed class StorageTests
{
    /// <summary>A name no other test's app has (every test shares the run's storage).</summary>
    private static string Unique(string stem) => $"{stem}{Guid.NewGuid():N}"[..(stem.Length + 8)];

    private const string NotesProgram = """
        import std.fs

        fn main(args: [string]) {
            print(fs.readText("/app/notes.txt"))
            if args.len() > 0 {
                fs.appendText("/app/notes.txt", args[0] + "\n")
                fs.writeText("/data/last.txt", args[0])
            }
        }
        """;

    private static string ProgramId(string directory) => Path.GetFileName(AppStorage.DirectoryFor(directory));

    [Fact]
    public void APlainProgramsStorageIsListedByAnIdAndRmRemovesIt()
    {
        using var dir = new TestSupport.TempDir();
        string name = Unique("notes");
        string app = Directory.CreateDirectory(Path.Combine(dir.Path, name)).FullName;
        File.WriteAllText(Path.Combine(app, "notes.txt"), "first\n");
        string main = Path.Combine(app, "main.hl");
        File.WriteAllText(main, NotesProgram);
        Assert.Equal(0, TestSupport.Hlvm("run", main, "--", "second").ExitCode);
        string id = ProgramId(app);
        Assert.Matches($"^{name}-[0-9a-f]{{12}}$", id);

        var list = TestSupport.Hlvm("data", "list");
        Assert.Equal(0, list.ExitCode);
        // The id, whose it is, and what it holds: /data's one file of 6 bytes, the copy of notes.txt ("first\nsecond\n").
        Assert.Contains($"{id}: the programs in {app}\n  /data: 1 file, 6 bytes\n  copies of /app files it wrote: 1 file, 13 bytes\n", list.Stdout);

        // Each way of naming it names it: by name, by its directory, by a program in it, by its id.
        foreach (var way in new[] { name, app, main, id })
        {
            var rm = TestSupport.Hlvm("rm", way);
            Assert.True(rm.ExitCode == 0, $"rm {way}: {rm.Stderr}");
            Assert.Equal($"removing {id}: the programs in {app}\n  /data: 1 file, 6 bytes\n  copies of /app files it wrote: 1 file, 13 bytes\nremoved {id}: its data\n", rm.Stdout);
            Assert.False(Directory.Exists(AppStorage.DirectoryFor(app)));
            Assert.DoesNotContain(id, TestSupport.Hlvm("data", "list").Stdout);
            var again = TestSupport.Hlvm("rm", way);
            Assert.Equal(66, again.ExitCode);
            Assert.Contains("'hlvm data list' shows the apps that have", again.Stderr);
            // The next run starts afresh: the original notes.txt, no copy.
            Assert.Equal("first\n", TestSupport.Hlvm("run", main).Stdout);
            Assert.Equal(0, TestSupport.Hlvm("run", main, "--", "second").ExitCode);
        }
        Assert.Equal(0, TestSupport.Hlvm("rm", id).ExitCode);
        // Not a name, but it could be an id (an app that ran from a directory takes its name, spaces and all):
        // not found, which is what it was said to be after such an app's removal too.
        var unknown = TestSupport.Hlvm("rm", "no such name!");
        Assert.Equal(66, unknown.ExitCode);
        Assert.StartsWith("hlvm rm: no app here has the id 'no such name!'", unknown.Stderr);
    }

    [Fact]
    public void AProgramReachedThroughALinkToItsDirectoryKeepsOneStorage()
    {
        using var dir = new TestSupport.TempDir();
        string name = Unique("linked");
        string app = HostPaths.Real(Directory.CreateDirectory(Path.Combine(dir.Path, name)).FullName);
        File.WriteAllText(Path.Combine(app, "notes.txt"), "first\n");
        File.WriteAllText(Path.Combine(app, "main.hl"), NotesProgram);
        string link = Path.Combine(dir.Path, "link");
        Directory.CreateSymbolicLink(link, app);

        // Written through the link, read through the real directory: /data and the copy of /app/notes.txt are one app's.
        Assert.Equal(0, TestSupport.Hlvm("run", Path.Combine(link, "main.hl"), "--", "second").ExitCode);
        Assert.Equal(ProgramId(app), ProgramId(link));
        Assert.Equal("first\nsecond\n", TestSupport.Hlvm("run", Path.Combine(app, "main.hl")).Stdout);
        Assert.Equal("second", File.ReadAllText(Path.Combine(AppStorage.DirectoryFor(app), "data", "last.txt")));
        // Its record names the directory itself, not the link it was first reached through.
        Assert.Contains($"{ProgramId(app)}: the programs in {app}\n", TestSupport.Hlvm("data", "list").Stdout);
        Assert.Equal(0, TestSupport.Hlvm("rm", link).ExitCode);
        Assert.False(Directory.Exists(AppStorage.DirectoryFor(app)));
    }

    [Fact]
    public void ACopyWhoseOriginalChangedIsPointedOutAndCanBeDropped()
    {
        using var dir = new TestSupport.TempDir();
        string app = Directory.CreateDirectory(Path.Combine(dir.Path, Unique("stale"))).FullName;
        string notes = Path.Combine(app, "notes.txt");
        File.WriteAllText(notes, "first\n");
        string main = Path.Combine(app, "main.hl");
        File.WriteAllText(main, NotesProgram);
        string id = ProgramId(app);

        var write = TestSupport.Hlvm("run", main, "--", "second");
        Assert.Equal("first\n", write.Stdout);
        var current = TestSupport.Hlvm("run", main);
        Assert.Equal("first\nsecond\n", current.Stdout); // its own copy, and the original has not changed: no note
        Assert.Equal("", current.Stderr);

        File.WriteAllText(notes, "edited by hand\n");
        File.SetLastWriteTimeUtc(notes, File.GetLastWriteTimeUtc(notes).AddSeconds(5)); // a change however coarse the clock
        var stale = TestSupport.Hlvm("run", main);
        Assert.Equal(0, stale.ExitCode);
        Assert.Equal("first\nsecond\n", stale.Stdout); // still its copy, but no longer silently
        Assert.Equal($"hlvm: note: /app/notes.txt is this app's own copy, made when it first wrote the file; the original has changed since, and the app reads its copy ('hlvm rm {id} --copies' removes its copies)\n", stale.Stderr);
        Assert.Contains($"changed in {app} since: /app/notes.txt", TestSupport.Hlvm("data", "list").Stdout);

        var drop = TestSupport.Hlvm("rm", id, "--copies");
        Assert.Equal(0, drop.ExitCode);
        Assert.Equal($"removed 1 copy of /app files of {id}: it reads its own files again; its /data stays\n", drop.Stdout);
        var fresh = TestSupport.Hlvm("run", main);
        Assert.Equal("edited by hand\n", fresh.Stdout);
        Assert.Equal("", fresh.Stderr);
        Assert.Equal("second", File.ReadAllText(Path.Combine(AppStorage.DirectoryFor(app), "data", "last.txt")));
        Assert.Equal("edited by hand\n", File.ReadAllText(notes)); // the original was never written
        Assert.Equal(0, TestSupport.Hlvm("rm", id).ExitCode);
    }

    /// <summary>Two publishers' apps with one name: a bundle directory packed and signed with a key of its own, whose app writes /data.</summary>
    private static (string Bundle, string PublicKey) Publish(string dir, string name, string who)
    {
        string app = Directory.CreateDirectory(Path.Combine(dir, who)).FullName;
        File.WriteAllText(Path.Combine(app, "main.hl"), $"import std.fs\n\nfn main() {{\n    fs.writeText(\"/data/owner.txt\", \"{who}\")\n}}\n");
        File.WriteAllText(Path.Combine(app, "hlvm.toml"), $"name = \"{name}\"\nversion = \"1.0\"\nentry = \"main.hl\"\n");
        var (privateKey, publicKey) = Signing.CreateKeyPair();
        string key = Path.Combine(dir, who + ".key");
        File.WriteAllText(key, privateKey);
        string bundle = Path.Combine(dir, who + ".hlb");
        var pack = TestSupport.Hlvm("pack", app, "-o", bundle, "--key", key);
        Assert.True(pack.ExitCode == 0, pack.Stderr);
        var run = TestSupport.Hlvm("run", bundle, "--trust", publicKey);
        Assert.True(run.ExitCode == 0, run.Stderr);
        return (bundle, publicKey);
    }

    private static string BundleId(string bundle) => Bundle.AppIdOf(BundleFront.Read(File.ReadAllBytes(bundle)), Path.GetFullPath(bundle));

    private static string Owner(string id) => File.ReadAllText(Path.Combine(AppStorage.DirectoryForId(id), "data", "owner.txt"));

    [Fact]
    public void RmOfANameTwoSignersShareRemovesNeitherUntilToldWhich()
    {
        using var dir = new TestSupport.TempDir();
        string name = Unique("notes");
        var (popular, popularKey) = Publish(dir.Path, name, "popular");
        var (stranger, strangerKey) = Publish(dir.Path, name, "stranger");
        string popularId = BundleId(popular), strangerId = BundleId(stranger);
        Assert.NotEqual(popularId, strangerId);
        Assert.Equal("popular", Owner(popularId));
        Assert.Equal("stranger", Owner(strangerId));

        // Without a terminal: refused, both listed with their signers, nothing removed.
        var refused = TestSupport.Hlvm("rm", name);
        Assert.Equal(64, refused.ExitCode);
        Assert.Equal("", refused.Stdout);
        Assert.StartsWith($"hlvm rm: 2 apps are named '{name}'; nothing removed. Name the one to remove by its id:\n", refused.Stderr);
        Assert.Contains($"  hlvm rm {popularId}    # {name} 1.0, signed by {popularKey}\n", refused.Stderr);
        Assert.Contains($"  hlvm rm {strangerId}    # {name} 1.0, signed by {strangerKey}\n", refused.Stderr);
        Assert.Equal("popular", Owner(popularId));
        Assert.Equal("stranger", Owner(strangerId));

        // At a terminal: asked; an answer that is no choice removes nothing.
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        Assert.Equal(0, Cli.Program.RunAtTerminal(["rm", name], stdout, stderr, new StringReader("\n")));
        Assert.Contains("Remove which (1-2; anything else removes nothing)? ", stderr.ToString());
        Assert.Contains("hlvm rm: nothing removed", stderr.ToString());
        Assert.Equal("popular", Owner(popularId));
        Assert.Equal("stranger", Owner(strangerId));

        // The stranger's, chosen by its number in the list (ordered by id): only it goes.
        int strangerNumber = string.CompareOrdinal(popularId, strangerId) < 0 ? 2 : 1;
        stdout = new StringWriter { NewLine = "\n" };
        stderr = new StringWriter { NewLine = "\n" };
        Assert.Equal(0, Cli.Program.RunAtTerminal(["rm", name], stdout, stderr, new StringReader($"{strangerNumber}\n")));
        Assert.Contains($"  {strangerNumber}. {strangerId}: {name} 1.0, signed by {strangerKey}\n       /data: 1 file, 8 bytes\n", stderr.ToString());
        Assert.StartsWith($"removing {strangerId}: {name} 1.0, signed by {strangerKey}\n  /data: 1 file, 8 bytes\n  1 cached entry\n", stdout.ToString()); // its entry module
        Assert.EndsWith($"removed {strangerId}: its data and 1 cached entry\n", stdout.ToString());
        Assert.False(Directory.Exists(AppStorage.DirectoryForId(strangerId)));
        Assert.Equal("popular", Owner(popularId));

        // One left of that name: rm NAME is no longer ambiguous; the bundle file names it too.
        var rm = TestSupport.Hlvm("rm", popular);
        Assert.True(rm.ExitCode == 0, rm.Stderr);
        Assert.StartsWith($"removing {popularId}: {name} 1.0, signed by {popularKey}\n", rm.Stdout);
        Assert.False(Directory.Exists(AppStorage.DirectoryForId(popularId)));
        Assert.Equal(66, TestSupport.Hlvm("rm", name).ExitCode);
    }
}
