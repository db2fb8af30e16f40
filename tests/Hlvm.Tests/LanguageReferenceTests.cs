using System.Text.RegularExpressions;

namespace Hlvm.Tests;

/// <summary>Every ```hl example in docs/language.md compiles, runs and prints what its // expect: comments say.</summary>
public sealed partial class LanguageReferenceTests
{
    public static TheoryData<int> Examples()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Blocks().Count; i++) data.Add(i);
        return data;
    }

    private static List<string> Blocks()
    {
        string text = File.ReadAllText(Path.Combine(TestSupport.Root, "docs", "language.md"));
        return Block().Matches(text).Select(m => m.Groups[1].Value).ToList();
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void ExampleRunsAsDocumented(int index)
    {
        string code = Blocks()[index];
        var expected = code.Split('\n').Select(l => Expect().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(expected);
        using var dir = new TestSupport.TempDir();
        var r = TestSupport.Hlvm("run", dir.File($"example{index}.hl", code));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(expected, r.Stdout.TrimEnd('\n').Split('\n'));
    }

    [GeneratedRegex(@"```hl\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex Block();

    [GeneratedRegex(@"//\s*expect:\s?(.*?)\s*$")]
    private static partial Regex Expect();
}
