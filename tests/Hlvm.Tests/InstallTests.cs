using System.Diagnostics;

namespace Hlvm.Tests;

/// <summary>
/// The two ways the README installs the <c>hlvm</c> command, each done for real: the launcher script, which builds
/// hlvm as it is deployed (Release, ReadyToRun) on first use and runs it; and the .NET tool package, packed from
/// the repository and installed with <c>dotnet tool install</c>. One class, so that the two Release builds of the
/// same projects never run at once; and a collection that runs alone, so that two Release builds on the machine's
/// cores never starve the tests that give a program a second of wall time.
/// </summary>
[Collection(Alone)]
public sealed class InstallTests
{
    public const string Alone = "install (runs alone)";

    private static readonly string Hello = Path.Combine(TestSupport.Root, "examples", "hello.hl");

    private static (int ExitCode, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, params (string Name, string Value)[] environment)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestSupport.Root };
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not end");
        }
        return (p.ExitCode, stdout, stderr.GetAwaiter().GetResult());
    }

    /// <summary>Whether an assembly holds ReadyToRun code: its CLI header points to a native code header.</summary>
    private static bool IsReadyToRun(string path)
    {
        using var reader = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(path));
        return reader.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0;
    }

    [Fact]
    public void TheLauncherBuildsTheDeployedHlvmOnceAndRunsIt()
    {
        using var dir = new TestSupport.TempDir();
        string launcher = Path.Combine(TestSupport.Root, "scripts", "hlvm");
        var env = ("HLVM_BUILD_DIR", dir.Path);
        var first = Run(launcher, ["run", Hello], env);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal("Hello, world!\n", first.Stdout);
        Assert.Contains("hlvm: building hlvm (Release, ReadyToRun)", first.Stderr);
        // What it built is the deployed form: the Release configuration, compiled ahead of time.
        Assert.Contains("-c Release", File.ReadAllText(launcher));
        foreach (var assembly in new[] { "hlvm.dll", "Hlvm.Runtime.dll", "Hlvm.Compiler.dll", "Hlvm.Sandbox.dll" })
            Assert.True(IsReadyToRun(Path.Combine(dir.Path, assembly)), $"{assembly} is not compiled ahead of time");

        // Built once: the second run only runs, and its exit code is the program's.
        var second = Run(launcher, ["run", Path.Combine(TestSupport.Root, "examples", "sandbox.hl"), "--", "/etc/hostname"], env);
        Assert.Equal(77, second.ExitCode);
        Assert.DoesNotContain("building", second.Stderr);
        Assert.StartsWith("PermissionError: read access to \"/etc/hostname\" is not granted", second.Stderr);
    }

    [Fact]
    public void TheToolPackageInstallsAnHlvmCommand()
    {
        using var dir = new TestSupport.TempDir();
        string packages = Path.Combine(dir.Path, "packages"), tools = Path.Combine(dir.Path, "tools");
        var pack = Run("dotnet", ["pack", Path.Combine(TestSupport.Root, "src", "Cli"), "-c", "Release", "-r", "linux-x64", "-p:PublishReadyToRun=true",
            "-p:SelfContained=false", "-o", packages, "-v", "q", "-nologo"]);
        Assert.True(pack.ExitCode == 0, pack.Stdout + pack.Stderr);
        Assert.True(File.Exists(Path.Combine(packages, "hlvm.0.1.0.nupkg")), string.Join(", ", Directory.GetFiles(packages)));

        var install = Run("dotnet", ["tool", "install", "hlvm", "--tool-path", tools, "--add-source", packages, "--ignore-failed-sources"]);
        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);
        string hlvm = Path.Combine(tools, "hlvm");
        var version = Run(hlvm, ["--version"]);
        Assert.Equal((0, "0.1.0\n"), (version.ExitCode, version.Stdout));
        var hello = Run(hlvm, ["run", Hello]);
        Assert.True(hello.ExitCode == 0, hello.Stderr);
        Assert.Equal("Hello, world!\n", hello.Stdout);
        string installed = Path.GetDirectoryName(Path.GetFullPath(Path.Combine(tools, File.ResolveLinkTarget(hlvm, returnFinalTarget: true)!.FullName)))!;
        Assert.True(IsReadyToRun(Path.Combine(installed, "Hlvm.Runtime.dll")), "the tool's assemblies are not compiled ahead of time");
    }
}

/// <summary>Tests in this collection run after the others, one at a time (they build hlvm in Release).</summary>
[CollectionDefinition(InstallTests.Alone, DisableParallelization = true)]
public sealed class InstallCollection;
