using System.Text.RegularExpressions;

namespace Hlvm.Tests;

/// <summary>
/// Every ```hl example in docs/language.md compiles, runs and prints what its // expect: comments say. A block
/// whose fence names a file (```hl app/util.hl) is a module, not a program: it is written at that path beside
/// the next program of the page, which imports it.
/// </summary>
public sealed partial class LanguageReferenceTests
{
    private sealed record Example(string Code, List<(string Path, string Text)> Modules);

    public static TheoryData<int> Examples()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Programs().Count; i++) data.Add(i);
        return data;
    }

    private static List<Example> Programs()
    {
        string text = File.ReadAllText(Path.Combine(TestSupport.Root, "docs", "language.md"));
        var programs = new List<Example>();
        var modules = new List<(string, string)>();
        foreach (Match m in Block().Matches(text))
        {
            if (m.Groups[1].Success) modules.Add((m.Groups[1].Value, m.Groups[2].Value));
            else
            {
                programs.Add(new Example(m.Groups[2].Value, modules));
                modules = [];
            }
        }
        Assert.True(modules.Count == 0, $"the module {modules.FirstOrDefault().Item1} is not followed by a program that imports it");
        return programs;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void ExampleRunsAsDocumented(int index)
    {
        var example = Programs()[index];
        var expected = example.Code.Split('\n').Select(l => Expect().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(expected);
        using var dir = new TestSupport.TempDir();
        foreach (var (path, text) in example.Modules)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(dir.File(path))!);
            dir.File(path, text);
        }
        var r = TestSupport.Hlvm("run", dir.File($"example{index}.hl", example.Code));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(expected, r.Stdout.TrimEnd('\n').Split('\n'));
    }

    [GeneratedRegex(@"```hl(?: (\S+))?\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex Block();

    [GeneratedRegex(@"//\s*expect:\s?(.*?)\s*$")]
    private static partial Regex Expect();
}
