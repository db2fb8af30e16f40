using Hlvm.Runtime.Host;

namespace Hlvm.Tests;

/// <summary><see cref="AtomicFile.Write"/>, through which every part of Hlvm writes a host file whole or not at all.</summary>
public sealed class AtomicFileTests
{
    [Fact]
    public void AWriterThatFailsPartWayLeavesTheOldFileAndNoTemporaryFile()
    {
        using var dir = new TestSupport.TempDir();
        string path = dir.File("out.txt", "old contents");
        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("new, but cut short"u8);
            throw new InvalidOperationException("the writer failed");
        }));
        Assert.Equal("the writer failed", e.Message);
        Assert.Equal("old contents", File.ReadAllText(path));
        Assert.Equal(["out.txt"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    /// <summary>
    /// A write that the process's end cuts short (a `--timeout` that ends a command which does not stop, SIGTERM)
    /// leaves no temporary file: the process's exit removes the unfinished writes' files (RemoveUnfinished, called
    /// here as the exit calls it), where the write's own clean-up never ran and a hidden 1.6 GB file stayed in the
    /// cache of bundle entries. The write, released afterwards, makes no file. Fails when unfinished writes are
    /// not tracked.
    /// </summary>
    [Fact]
    public async Task TheProcesssEndRemovesTheTemporaryFileOfAWriteCutShort()
    {
        using var dir = new TestSupport.TempDir();
        string path = Path.Combine(dir.Path, "entry");
        using var writing = new ManualResetEventSlim(false);
        using var release = new ManualResetEventSlim(false);
        var write = Task.Run(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("part of it"u8);
            stream.Flush();
            writing.Set();
            release.Wait(TimeSpan.FromSeconds(30));
        }));
        Assert.True(writing.Wait(TimeSpan.FromSeconds(30)));
        var temp = Assert.Single(Directory.GetFiles(dir.Path));
        Assert.EndsWith(".tmp", temp);
        AtomicFile.RemoveUnfinished(dir.Path);
        Assert.Empty(Directory.GetFiles(dir.Path));
        release.Set();
        await Assert.ThrowsAnyAsync<IOException>(() => write);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void AnErrorNamesTheFileAskedForNeverTheTemporaryOne()
    {
        using var dir = new TestSupport.TempDir();
        string path = Path.Combine(dir.Path, "missing", "out.txt");
        var e = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Write(path, stream => stream.Write("x"u8)));
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void AReplacedFileKeepsItsPermissionsButNotItsSetIdBits()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TestSupport.TempDir();
        string path = dir.File("tool", "old");
        var rw = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(path, rw | UnixFileMode.SetUser | UnixFileMode.SetGroup);
        AtomicFile.Write(path, stream => stream.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(rw, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task ANamedPipeIsWrittenToNotReplaced()
    {
        // What -o /dev/stdout or /dev/null needs: renaming a file over a device, a pipe or a socket would replace
        // the node itself (for root, /dev/null). A named pipe in a directory of the test's own stands for them.
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TestSupport.TempDir();
        string fifo = Path.Combine(dir.Path, "pipe");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo])) mkfifo.WaitForExit();
        string hello = Path.Combine(TestSupport.Root, "examples", "hello.hl");
        string file = Path.Combine(dir.Path, "hello.hlc");
        Assert.Equal(0, TestSupport.Hlvm("build", hello, "-o", file).ExitCode);

        var reader = Task.Run(() => File.ReadAllBytes(fifo));
        Assert.Equal(0, TestSupport.Hlvm("build", hello, "-o", fifo).ExitCode);
        Assert.Equal(File.ReadAllBytes(file), await reader.WaitAsync(TimeSpan.FromSeconds(30)));
        // Through a link to it, as /dev/stdout is a link to /proc/self/fd/1.
        string link = Path.Combine(dir.Path, "link");
        File.CreateSymbolicLink(link, fifo);
        reader = Task.Run(() => File.ReadAllBytes(fifo));
        Assert.Equal(0, TestSupport.Hlvm("build", hello, "-o", link).ExitCode);
        Assert.Equal(File.ReadAllBytes(file), await reader.WaitAsync(TimeSpan.FromSeconds(30)));
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%F", fifo]) { RedirectStandardOutput = true })!;
        Assert.Equal("fifo", stat.StandardOutput.ReadToEnd().Trim());
        Assert.Equal(["hello.hlc", "link", "pipe"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void TheCliWritesThroughALinkAndKeepsTheTargetsPermissions()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TestSupport.TempDir();
        string target = dir.File("hello.hlc", "an older module");
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string link = Path.Combine(dir.Path, "link.hlc");
        File.CreateSymbolicLink(link, target);
        string hello = Path.Combine(TestSupport.Root, "examples", "hello.hl");
        var r = TestSupport.Hlvm("build", hello, "-o", link);
        Assert.Equal(0, r.ExitCode);
        Assert.NotNull(new FileInfo(link).LinkTarget); // still a link, to the module now
        Assert.Equal("Hello, world!\n", TestSupport.Hlvm("run", target).Stdout);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
        Assert.Equal(["hello.hlc", "link.hlc"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
    }
}
