namespace Hlvm.Tests;

/// <summary>
/// The language sketch in the design document (DESIGN.md, beside the repository) compiles and runs as written.
/// </summary>
public sealed class DesignSketchTests
{
    private static readonly string Design = Path.Combine(TestSupport.Root, "..", "shared", "DESIGN.md");

    [Fact]
    public void TheSketchRunsAsWritten()
    {
        Assert.True(File.Exists(Design), $"the design document is not at {Design}");
        string text = File.ReadAllText(Design);
        int start = text.IndexOf("```\nimport std.math", StringComparison.Ordinal);
        Assert.True(start >= 0, "the design document has no sketch starting with `import std.math`");
        start += 4;
        int end = text.IndexOf("```", start, StringComparison.Ordinal);
        string file = Path.Combine(Path.GetTempPath(), $"hlvm-sketch-{Environment.ProcessId}.hl");
        File.WriteAllText(file, text[start..end]);
        try
        {
            var result = TestSupport.Hlvm("run", file);
            Assert.True(result.ExitCode == 0, result.Stderr);
            // fib(20) = 6765 is pushed onto [1, 2, 3]; Vec(3, 4) has length 5; xs[10] is out of range.
            Assert.Equal(
                "4 items, last 6765, length 5.0\nx = 1\nx = 2\nx = 3\nx = 6765\nindex 10 is out of range for an array of length 4\n",
                result.Stdout);
            // The sketch declares two variables it never reads; they are warnings, not errors.
            Assert.Contains("warning: variable 'ages' is never used", result.Stderr);
            Assert.Contains("warning: variable 'r' is never used", result.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
