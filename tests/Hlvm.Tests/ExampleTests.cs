namespace Hlvm.Tests;

/// <summary>
/// Every program in <c>examples/</c> runs and prints exactly its <c>examples/expected/NAME.out</c>. A program that
/// takes arguments has them in <c>examples/NAME.args</c>, one per line, as paths relative to <c>examples/</c> or, for
/// the program's own files as the sandbox shows them, absolute ones under <c>/app</c>.
/// </summary>
public sealed class ExampleTests
{
    private static readonly string Dir = Path.Combine(TestSupport.Root, "examples");

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.EnumerateFiles(Dir, "*.hl").Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void RunsAndPrintsItsExpectedOutput(string name)
    {
        string expectedFile = Path.Combine(Dir, "expected", Path.ChangeExtension(name, ".out"));
        Assert.True(File.Exists(expectedFile), $"{name} has no expected output file");
        string argsFile = Path.Combine(Dir, Path.ChangeExtension(name, ".args"));
        var args = File.Exists(argsFile) ? File.ReadAllLines(argsFile).Where(l => l.Length > 0).Select(a => Path.Combine(Dir, a)).ToArray() : [];
        string[] flags = ["run", .. TestSupport.RunFlags(), Path.Combine(Dir, name)];
        var result = TestSupport.Hlvm([.. flags, .. args.Length > 0 ? ["--", .. args] : Array.Empty<string>()]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(File.ReadAllText(expectedFile), result.Stdout);
    }

    [Fact]
    public void ThereAreAtLeastFiveExamples() => Assert.True(Examples().Count >= 5);
}
