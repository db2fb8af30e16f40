using System.Diagnostics;

namespace Hlvm.Tests;

/// <summary>The committed parser is what the grammar generates: regenerating it changes nothing.</summary>
public sealed class ParserGenerationTests
{
    [Fact]
    public void CommittedParserMatchesTheGrammar()
    {
        using var dir = new TestSupport.TempDir();
        var psi = new ProcessStartInfo("bash", [Path.Combine(TestSupport.Root, "scripts", "gen-parser.sh"), dir.Path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        string stderr = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "scripts/gen-parser.sh failed: " + stderr);
        string committed = Path.Combine(TestSupport.Root, "src", "Compiler", "Syntax", "Generated");
        var generated = Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(Directory.GetFiles(committed).Select(Path.GetFileName).Order().ToList(), generated);
        foreach (var name in generated)
        {
            Assert.True(File.ReadAllText(Path.Combine(committed, name!)) == File.ReadAllText(Path.Combine(dir.Path, name!)),
                $"{name} differs from what the grammar generates; run scripts/gen-parser.sh and commit the result");
        }
    }
}
