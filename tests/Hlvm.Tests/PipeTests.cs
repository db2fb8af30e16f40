using System.Diagnostics;

namespace Hlvm.Tests;

/// <summary>
/// <c>hlvm</c> as a process whose standard output is a real pipe that its reader closes: the program stops at its
/// next write with exit code 141 (as SIGPIPE stops a C or Go program), prints nothing more, and the host does not
/// crash or hang.
/// </summary>
public sealed class PipeTests
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "hlvm.dll");

    /// <summary>How long a test waits for a process that should end; past it, the test fails as hung (not a timing assertion).</summary>
    private static readonly TimeSpan Hang = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task AnEndlessPrinterStopsWhenItsReaderCloses()
    {
        using var dir = new TestSupport.TempDir();
        string prog = dir.File("yes.hl", "fn main() {\n    var i = 0\n    while true {\n        println(\"line {i}\")\n        i = i + 1\n    }\n}\n");
        var psi = new ProcessStartInfo("dotnet", [Dll, "run", prog]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.Equal("line 0", p.StandardOutput.ReadLine());
        Assert.Equal("line 1", p.StandardOutput.ReadLine());
        p.StandardOutput.Close(); // the reader goes, as head does after its lines
        bool ended = p.WaitForExit(Hang);
        if (!ended) p.Kill(entireProcessTree: true);
        Assert.True(ended, "hlvm kept running after its standard output was closed");
        Assert.Equal(141, p.ExitCode);
        Assert.Equal("", await stderr);
    }

    [Fact]
    public async Task AProgramPipedIntoHeadStopsAndPrintsNothingAfter()
    {
        using var dir = new TestSupport.TempDir();
        // 200,000 lines (well over a pipe's buffer and hlvm's), then a line on stderr that must never be printed.
        string prog = dir.File("many.hl", "fn main() {\n    for i in 0..200000 {\n        println(\"line {i}\")\n    }\n    eprintln(\"finished\")\n}\n");
        string script = $"set -o pipefail; dotnet '{Dll}' run '{prog}' | head -2; echo \"status ${{PIPESTATUS[0]}}\" >&2";
        var psi = new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(Hang), "the pipeline did not end");
        Assert.Equal("line 0\nline 1\n", stdout);
        Assert.Equal("status 141\n", await stderr);
    }

    [Fact]
    public async Task AClosedPipeStopsOtherCommandsToo()
    {
        // disasm of a program with many lines of bytecode, into a reader that takes one line.
        using var dir = new TestSupport.TempDir();
        var source = new System.Text.StringBuilder("fn main() {\n");
        for (int i = 0; i < 5000; i++) source.Append($"    println(\"{i}\")\n");
        string prog = dir.File("long.hl", source.Append("}\n").ToString());
        var psi = new ProcessStartInfo("dotnet", [Dll, "disasm", prog]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.NotNull(p.StandardOutput.ReadLine());
        p.StandardOutput.Close();
        bool ended = p.WaitForExit(Hang);
        if (!ended) p.Kill(entireProcessTree: true);
        Assert.True(ended);
        Assert.Equal(141, p.ExitCode);
        Assert.Equal("", await stderr);
    }
}
