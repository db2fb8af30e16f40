namespace Hlvm.Tests;

/// <summary>
/// The language sketch of the project's design brief compiles and runs as written. The brief lives outside the
/// repository, so the sketch is kept in it, word for word, as <c>tests/design/sketch.hl</c>.
/// </summary>
public sealed class DesignSketchTests
{
    private static readonly string Sketch = Path.Combine(TestSupport.Root, "tests", "design", "sketch.hl");

    [Fact]
    public void TheSketchRunsAsWritten()
    {
        var result = TestSupport.Hlvm("run", Sketch);
        Assert.True(result.ExitCode == 0, result.Stderr);
        // fib(20) = 6765 is pushed onto [1, 2, 3]; Vec(3, 4) has length 5; xs[10] is out of range.
        Assert.Equal(
            "4 items, last 6765, length 5.0\nx = 1\nx = 2\nx = 3\nx = 6765\nindex 10 is out of range for an array of length 4\n",
            result.Stdout);
        // The sketch declares two variables it never reads; they are warnings, not errors.
        Assert.Contains("warning: variable 'ages' is never used", result.Stderr);
        Assert.Contains("warning: variable 'r' is never used", result.Stderr);
    }
}
