using System.Text.RegularExpressions;

namespace Hlvm.Tests;

/// <summary>
/// Runs every program under <c>tests/lang</c> and checks it against the expectations written in its comments:
/// <list type="bullet">
/// <item><c>// expect: TEXT</c> — the next line of standard output</item>
/// <item><c>// expect runtime error: Class: message</c> — the first line of standard error; exit code 70</item>
/// <item><c>// expect limit: message</c> — a breached limit: standard error starts <c>hlvm: limit exceeded: message</c>; exit code 75</item>
/// <item><c>// error: TEXT</c> — a compile error on this line whose message contains TEXT; exit code 65</item>
/// <item><c>// warning: TEXT</c> — a compile warning on this line whose message contains TEXT; a program that
///   compiles must have exactly the warnings it states</item>
/// <item><c>// exit: N</c> — the exit code; <c>// flags: ...</c> — flags for <c>hlvm run</c>;
///   <c>// args: ...</c> — the program's arguments (<c>$TMP</c>, here or in the flags, stands for a new empty directory, removed after); <c>// stderr: TEXT</c> — standard error contains TEXT;
///   <c>// stdin: TEXT</c> — a line of standard input</item>
/// </list>
/// Files under a <c>lib/</c> directory are modules the programs beside it import, not programs of their own.
/// With HLVM_GC_STRESS=1 every program also runs with --gc-stress, --verify-heap and --checked (without --checked
/// when HLVM_ENGINE names an engine: checked mode never compiles); HLVM_ENGINE chooses the engine.
/// </summary>
public sealed partial class LanguageTests
{
    private static readonly string LangDir = Path.Combine(TestSupport.Root, "tests", "lang");

    /// <summary>Tests that can't run under GC stress, each with its reason.</summary>
    private static readonly Dictionary<string, string> SkipUnderStress = new()
    {
        ["limit/alloc_10gib.hl"] = "allocates 10 GiB; a collection per allocation would take hours, and the normal pass covers it",
        ["limit/heap_48mib_fits.hl"] = "collecting 48 MiB of live data at each of its allocations takes minutes; the normal pass covers it",
        ["limit/heap_80mib_oom.hl"] = "as heap_48mib_fits",
        ["classes/gc_tree.hl"] = "copies a live tree of 100,000 objects at each of its allocations (hours); classes/gc_graph.hl covers object tracing under stress",
    };

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(LangDir, "*.hl", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string name = Path.GetRelativePath(LangDir, file).Replace('\\', '/');
            // Files under a lib/ directory are modules that the tests beside it import, not programs.
            if (!name.Contains("/lib/", StringComparison.Ordinal)) data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Program(string name)
    {
        if (TestSupport.GcStress && SkipUnderStress.ContainsKey(name)) return;
        string path = Path.Combine(LangDir, name);
        var lines = File.ReadAllLines(path);
        var expectedOut = new List<string>();
        var expectedErrors = new List<(int line, string text)>();
        var expectedWarnings = new List<(int line, string text)>();
        var expectedStderr = new List<string>();
        string? runtimeError = null;
        int? exit = null;
        var flags = new List<string>();
        var args = new List<string>();
        var stdin = new System.Text.StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            var m = Expectation().Match(lines[i]);
            if (!m.Success) continue;
            string value = m.Groups["value"].Value;
            switch (m.Groups["kind"].Value)
            {
                case "expect": expectedOut.Add(value); break;
                case "expect runtime error": runtimeError = value; break;
                case "expect limit": runtimeError = "hlvm: limit exceeded: " + value; exit ??= 75; break;
                case "error": expectedErrors.Add((i + 1, value)); break;
                case "warning": expectedWarnings.Add((i + 1, value)); break;
                case "exit": exit = int.Parse(value); break;
                case "flags": flags.AddRange(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)); break;
                case "args": args.AddRange(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)); break;
                case "stderr": expectedStderr.Add(value); break;
                case "stdin": stdin.Append(value).Append('\n'); break;
            }
        }
        Assert.True(expectedOut.Count + expectedErrors.Count + expectedWarnings.Count + expectedStderr.Count > 0 || runtimeError is not null || exit is not null,
            $"{name} states no expectation");

        var command = new List<string> { "run" };
        command.AddRange(TestSupport.RunFlags(checkHeap: true));
        command.AddRange(flags);
        command.Add(path);
        if (args.Count > 0) command.Add("--");
        var temp = args.Contains("$TMP") || flags.Any(f => f.Contains("$TMP")) ? Directory.CreateTempSubdirectory("hlvm-lang-") : null;
        for (int i = 0; i < command.Count; i++) command[i] = command[i].Replace("$TMP", temp?.FullName);
        command.AddRange(args.Select(a => a == "$TMP" ? temp!.FullName : a));
        TestSupport.Result result;
        try
        {
            result = TestSupport.HlvmWithInput(stdin.ToString(), [.. command]);
        }
        finally
        {
            temp?.Delete(recursive: true);
        }

        int expectedExit = exit ?? (expectedErrors.Count > 0 ? 65 : runtimeError is not null ? 70 : 0);
        Assert.True(expectedExit == result.ExitCode, $"exit code {result.ExitCode}, expected {expectedExit}\nstderr:\n{result.Stderr}");

        var actualOut = result.Stdout.Split('\n').ToList();
        if (actualOut.Count > 0 && actualOut[^1] == "") actualOut.RemoveAt(actualOut.Count - 1);
        Assert.Equal(expectedOut, actualOut);

        if (runtimeError is not null) Assert.Equal(runtimeError, result.Stderr.Split('\n')[0]);
        CheckDiagnostics(result.Stderr, path, "error", expectedErrors);
        // Warnings are shown only for programs without errors; then they must be exactly the expected ones.
        if (expectedErrors.Count == 0) CheckDiagnostics(result.Stderr, path, "warning", expectedWarnings);
        foreach (var text in expectedStderr) Assert.Contains(text, result.Stderr);
    }

    private static void CheckDiagnostics(string stderr, string path, string severity, List<(int line, string text)> expected)
    {
        var lines = stderr.Split('\n');
        foreach (var (line, text) in expected)
        {
            bool found = lines.Any(l =>
                l.StartsWith($"{path}:{line}:", StringComparison.Ordinal) && l.Contains($": {severity}: ", StringComparison.Ordinal) && l.Contains(text, StringComparison.Ordinal));
            Assert.True(found, $"no {severity} containing \"{text}\" on line {line}; stderr:\n{stderr}");
        }
        int reported = lines.Count(l => l.StartsWith(path + ":", StringComparison.Ordinal) && l.Contains($": {severity}: ", StringComparison.Ordinal));
        Assert.True(reported == expected.Count, $"{reported} {severity}s reported, {expected.Count} expected; stderr:\n{stderr}");
    }

    [GeneratedRegex(@"//\s*(?<kind>expect runtime error|expect limit|expect|error|warning|exit|flags|args|stderr|stdin):\s?(?<value>.*?)\s*$")]
    private static partial Regex Expectation();
}
