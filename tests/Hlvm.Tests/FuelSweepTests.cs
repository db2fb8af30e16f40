namespace Hlvm.Tests;

/// <summary>
/// --fuel N stops a program at the same instruction in every engine: for each example and many values of N, the
/// output, the error and its trace, and the exit code are the same in the interpreter, with every function
/// compiled, and tiered with frames of both engines mixed. (Compiled code counts every instruction against the
/// same budget as the metered interpreter: a basic block at a time, a fault giving back what its block did not run,
/// the block the budget can't cover run in the metered interpreter.)
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

    /// <summary>
    /// Faults in the middle of compiled blocks (a null cast, an index out of range, a division by zero, in the
    /// function that catches them and in one it calls), each caught and followed by a line of output: at every
    /// budget, in every engine, the same lines come out before the stop. A block charged whole but left by a
    /// fault without the instructions after it given back would stop the compiled program before a line the
    /// interpreter prints, at a few budgets in each round; so would a block the budget can't cover run compiled.
    /// </summary>
    [Fact]
    public void FaultsInsideCompiledBlocksGiveBackWhatTheyDidNotRun()
    {
        using var dir = new TestSupport.TempDir();
        string path = dir.File("faults.hl", """
            class Box {
                var n: int = 0
            }

            fn work(i: int, boxes: [Box?], xs: [int]) -> int {
                let a = i * 7 + 3
                let b = (boxes[i % 3] as Box).n + a
                let c = 100 / (i % 5) + b
                return xs[i % 9] + c
            }

            fn main() {
                let boxes: [Box?] = [Box(), null, Box()]
                let xs = [1, 2, 3, 4, 5, 6, 7]
                var total = 0
                for i in 0..6 {
                    try {
                        total += work(i, boxes, xs)
                        var j = i * 2
                        j = j + xs[j % 8] * (boxes[j % 3] as Box).n + 10 / (j % 7)
                        total += j
                    } catch e: Error {
                        total += 1
                    }
                    println("{i} {total}")
                }
            }
            """);
        var full = TestSupport.Hlvm("run", "--engine", "interp", path);
        Assert.Equal(0, full.ExitCode);
        Assert.Equal(6, full.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        // Every budget from 1 until the program runs to its end.
        for (long fuel = 1; ; fuel++)
        {
            var expected = TestSupport.Hlvm("run", "--engine", "interp", "--fuel", $"{fuel}", path);
            // Compiled before the first run, and tiered with the loop entering compiled code at its first turn.
            foreach (var engine in JitTests.Engines[1..3])
            {
                var result = TestSupport.Hlvm(["run", .. engine, "--fuel", $"{fuel}", path]);
                Assert.True(expected == result, $"--fuel {fuel} {string.Join(' ', engine)}:\ninterp: {expected}\nother:  {result}");
            }
            if (expected.ExitCode == 0)
            {
                Assert.Equal(full, expected);
                break;
            }
        }
    }

    /// <summary>
    /// A search or a sort of strings that share long prefixes learns its work as it goes: it stops once it has done
    /// more than the fuel left can pay for, and the charge of what it did ends the run. They used to do all of it
    /// first: 100 strings of 100,000 equal characters sorted under a budget of a few hundred thousand compared
    /// about 70 million characters before the charge ended the run. Seen here in what the run was charged: at most
    /// the budget and one comparison's characters.
    /// </summary>
    [Theory]
    [InlineData("xs.sort()")]
    [InlineData("println(xs.contains(other))")]
    [InlineData("println(xs.indexOf(other))")]
    public void AStringSearchOrSortStopsAtTheFuelsWorth(string statement)
    {
        var module = Compiler.Compilation.Compile("work.hl", $$"""
            fn main() {
                let big = "a".repeat(100000)
                let other = "a".repeat(99999) + "b"
                var xs = [big].repeat(100)
                {{statement}}
            }
            """).Module!;
        var loaded = Runtime.Verification.Verifier.Verify(module, Runtime.Natives.NativeTable.All);
        var heap = new Runtime.Memory.Heap();
        loaded.Attach(heap);
        const long fuel = 500_000;
        var interpreter = new Runtime.Execution.Interpreter(loaded, heap, TextWriter.Null, new Runtime.Execution.ExecutionOptions { Fuel = fuel });
        var stop = Assert.Throws<Runtime.Execution.LimitExceededError>(() => interpreter.Run(loaded.Entry!));
        Assert.Equal("fuel", stop.Limit);
        // Charged beyond the budget: the work past it, at most one more comparison of 100,000 characters.
        Assert.InRange(-interpreter._fuel, 1, 2 * 100_001);
    }
}
