using Hlvm.Fuzz;

namespace Hlvm.Tests;

/// <summary>
/// A few hundred inputs of each fuzzer on every test run, so that the drivers keep working and the commonest
/// crashes are caught at once; CI runs a longer campaign (.ci/run) and docs/fuzzing.md the long one.
/// </summary>
public sealed class FuzzSmokeTests
{
    [Theory]
    [InlineData("modules")]
    [InlineData("sources")]
    public void NoCrashes(string target)
    {
        using var dir = new TestSupport.TempDir();
        var options = new FuzzOptions { Target = target, Seed = 7, Count = 300, OutDir = dir.Path };
        var root = TestSupport.Root;
        FuzzStats stats = target == "modules"
            ? new ModuleFuzzer(options, Corpus.Modules(root)).Run()
            : new SourceFuzzer(options, Corpus.Sources(root)).Run();
        Assert.Equal(300, stats.Inputs);
        Assert.True(stats.Crashes == 0, string.Join("\n", Directory.GetFiles(dir.Path, "*.txt").Select(File.ReadAllText)));
        Assert.True(stats.Outcomes.Count > 1, "every input ended the same way: the mutations are not reaching anything");
    }
}
