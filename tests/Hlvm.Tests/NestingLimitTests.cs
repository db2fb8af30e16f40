using System.Text;
using Hlvm.Compiler;
using Hlvm.Compiler.Binding;
using Hlvm.Compiler.Syntax;

namespace Hlvm.Tests;

/// <summary>
/// The nesting limits of docs/language.md ("Lexical structure"), at their edges: a limit of N accepts N and
/// rejects N + 1, and the two limits of the parser (brackets open at once, prefix operators in a row) are counted
/// apart.
/// </summary>
public class NestingLimitTests
{
    private static IReadOnlyList<string> Errors(string expression)
    {
        var result = Compilation.Compile("nest.hl", $"fn main() {{\n    let x = {expression}\n    println(x)\n}}\n");
        return result.Diagnostics.Where(d => d.Severity == Compiler.Diagnostics.Severity.Error).Select(d => d.Message).ToList();
    }

    private static string Repeat(string s, int n) => new StringBuilder(s.Length * n).Insert(0, s, n).ToString();

    [Fact]
    public void AChainOfExactlyTheLimitOfOperationsCompiles()
    {
        int n = Binder.MaxExpressionDepth;
        Assert.Empty(Errors("1" + Repeat(" + 1", n)));
        var errors = Errors("1" + Repeat(" + 1", n + 1));
        Assert.Equal([$"this expression nests more than {n} operations deep; split it into several statements"], errors);
    }

    [Fact]
    public void BracketsOpenAtOnceAreLimited()
    {
        int n = SyntaxParser.MaxNesting;
        // The function's own brace is one level, the `let` value's brackets the rest.
        Assert.Empty(Errors(Repeat("(", n - 1) + "1" + Repeat(")", n - 1)));
        Assert.Equal([$"the program nests more than {n} levels deep here; split the expression or the block"],
            Errors(Repeat("(", n) + "1" + Repeat(")", n)));
    }

    [Fact]
    public void PrefixOperatorsInARowAreLimitedApartFromBrackets()
    {
        int n = SyntaxParser.MaxNesting;
        Assert.Empty(Errors(Repeat("- ", n) + "1"));
        Assert.Single(Errors(Repeat("- ", n + 1) + "1"));
        // Alternating with brackets, neither count passes its limit: 500 brackets, and runs of one prefix.
        Assert.Empty(Errors(Repeat("-(", n / 2) + "1" + Repeat(")", n / 2)));
    }
}
