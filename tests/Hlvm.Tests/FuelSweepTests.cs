namespace Hlvm.Tests;

/// <summary>
/// --fuel N stops a program at the same instruction in every engine: for each example and many values of N, the
/// output, the error and its trace, and the exit code are the same in the interpreter, with every function
/// compiled, and tiered with frames of both engines mixed. (Compiled code counts every instruction against the
/// same budget as the metered interpreter and refills through its code.)
/// </summary>
public sealed class FuelSweepTests
{
    public static TheoryData<string> Programs()
    {
        var data = new TheoryData<string>();
        foreach (var name in new[] { "bank.hl", "calc.hl", "errors.hl", "fib.hl", "primes.hl", "sorting.hl", "strings.hl" }) data.Add(name);
        return data;
    }

    private static readonly long[] Budgets = [1, 7, 50, 333, 1_000, 4_321, 10_000, 65_535, 65_536, 65_537, 100_003, 250_000, 1_000_000, 10_000_000];

    [Theory]
    [MemberData(nameof(Programs))]
    public void StopsAtTheSameInstructionInEveryEngine(string name)
    {
        string path = Path.Combine(TestSupport.Root, "examples", name);
        foreach (long fuel in Budgets)
        {
            var expected = TestSupport.Hlvm("run", "--engine", "interp", "--fuel", $"{fuel}", path);
            foreach (var engine in JitTests.Engines.Skip(1))
            {
                var result = TestSupport.Hlvm(["run", .. engine, "--fuel", $"{fuel}", path]);
                Assert.True(expected == result, $"{name} --fuel {fuel} {string.Join(' ', engine)}:\ninterp: {expected}\nother:  {result}");
            }
        }
    }
}
