namespace Hlvm.Tests;

/// <summary>Every program in <c>examples/</c> runs and prints exactly its <c>examples/expected/NAME.out</c>.</summary>
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
        string[] flags = TestSupport.GcStress ? ["run", "--gc-stress", Path.Combine(Dir, name)] : ["run", Path.Combine(Dir, name)];
        var result = TestSupport.Hlvm(flags);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(File.ReadAllText(expectedFile), result.Stdout);
    }

    [Fact]
    public void ThereAreAtLeastFiveExamples() => Assert.True(Examples().Count >= 5);
}
