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

    /// <summary>
    /// Lambdas nested in one another as deep as a module can write their types (32 levels) are each named after the
    /// named function around them all (`main$lambda7`), so that no name grows with the nesting: each lambda's
    /// name used to repeat every enclosing lambda's, and 9,990 nested lambdas took 19 s and gigabytes to compile.
    /// Fails when a name holds more than one lambda's part.
    /// </summary>
    [Fact]
    public void NestedLambdasAreNamedAfterTheNamedFunctionAroundThem()
    {
        const int depth = 30;
        var nested = string.Concat(Enumerable.Range(0, depth).Select(i => $"fn(a{i}: int) => ")) + "a0";
        var result = Compilation.Compile("nest.hl", $"fn main() {{\n    let f = {nested}\n    println(f{Repeat("(1)", depth)})\n}}\n");
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == Compiler.Diagnostics.Severity.Error);
        var lambdas = result.Module!.Functions.Select(f => f.Name).Where(n => n.Contains('$')).ToList();
        Assert.Equal(Enumerable.Range(1, depth).Select(i => $"main$lambda{i}").Order(), lambdas.Order());
    }

    [Fact]
    public void AChainOfExactlyTheLimitOfOperationsCompiles()
    {
        int n = Binder.MaxExpressionDepth;
        Assert.Empty(Errors("1" + Repeat(" + 1", n)));
        var errors = Errors("1" + Repeat(" + 1", n + 1));
        Assert.Equal([$"this expression nests more than {n} operations deep; split it into several statements"], errors);
    }

    /// <summary>
    /// Brackets don't count towards the limit of operations (the parser limits them): a chain of exactly the limit
    /// compiles in a call's argument, an interpolation, an array, a map, parentheses or an index as it does alone,
    /// and one more operator is one error, in the program. The limit counted the call or the brackets around the
    /// chain, and reaching it left the binder's count raised: the prelude, bound next, was said to nest too deep too.
    /// </summary>
    [Theory]
    [InlineData("println({0})")]
    [InlineData("println(f({0}))")]
    [InlineData("println(\"{{{0}}}\")")]
    [InlineData("println([{0}])")]
    [InlineData("println({{\"k\": {0}}})")]
    [InlineData("println(({0}))")]
    [InlineData("println([1][{0}])")]
    public void AChainOfExactlyTheLimitCompilesInsideBrackets(string statement)
    {
        int n = Binder.MaxExpressionDepth;
        static CompileResult Compile(string s) => Compilation.Compile("nest.hl", $"fn f(x: int) -> int {{ return x }}\nfn main() {{\n    {s}\n}}\n");
        var fits = Compile(string.Format(statement, "1" + Repeat(" + 1", n)));
        Assert.True(fits.Success, string.Join("\n", fits.Diagnostics));
        var over = Compile(string.Format(statement, "1" + Repeat(" + 1", n + 1)));
        var error = Assert.Single(over.Diagnostics);
        Assert.Equal(("nest.hl", 3), (error.Source.Path, error.Line));
        Assert.Equal($"this expression nests more than {n} operations deep; split it into several statements", error.Message);
    }

    /// <summary>An operation around the brackets counts: `-(chain)` or `1 + f(chain)`, with a chain of the limit, is one too many.</summary>
    [Theory]
    [InlineData("let x = -({0})")]
    [InlineData("let x = 1 + f({0})")]
    public void AnOperationAroundBracketsCounts(string statement)
    {
        int n = Binder.MaxExpressionDepth;
        var result = Compilation.Compile("nest.hl", $"fn f(x: int) -> int {{ return x }}\nfn main() {{\n    {string.Format(statement, "1" + Repeat(" + 1", n))}\n    println(x)\n}}\n");
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal(("nest.hl", 3), (error.Source.Path, error.Line));
    }

    /// <summary>
    /// A function may have as many locals as an instruction can name (ModuleFormat.MaxLocals): one more is a compile
    /// error, not an internal error (the limit was checked after the code was written, whose local operands had
    /// overflowed by then). Every unused variable is warned about, each once.
    /// </summary>
    [Fact]
    public void AFunctionWithMoreLocalsThanAnInstructionCanNameIsACompileError()
    {
        static CompileResult Compile(int locals, string prefix)
        {
            var source = new StringBuilder("fn main() {\n");
            for (int i = 0; i < locals; i++) source.Append($"    let {prefix}{i} = {i}\n");
            return Compilation.Compile("locals.hl", source.Append("}\n").ToString());
        }
        int max = Runtime.Bytecode.ModuleFormat.MaxLocals;
        Assert.Empty(Compile(max, "_v").Diagnostics);
        var over = Compile(max + 1, "v");
        Assert.Null(over.Module);
        var error = Assert.Single(over.Diagnostics, d => d.Severity == Compiler.Diagnostics.Severity.Error);
        Assert.Equal($"function 'main' needs {max + 1} local slots (at most {max})", error.Message);
        Assert.Equal(1, error.Line); // the function's
        Assert.Equal(max + 1, over.Diagnostics.Count(d => d.Severity == Compiler.Diagnostics.Severity.Warning));
    }

    /// <summary>
    /// A `finally` is emitted once, however many ways lead out of its `try`: 40 nested ones, each left by a break,
    /// a continue, a return and the end of its body, make code that grows as the nesting does, and run in order.
    /// They were emitted again for every way out, so that the code doubled with each level: 17 levels passed the
    /// locals a function may have, and 15 levels of 1,000 statements took 17.5 s and 1.9 GB to compile.
    /// </summary>
    [Fact]
    public void NestedFinallyBlocksAreEmittedOnceEach()
    {
        static string Program(int depth)
        {
            var source = new StringBuilder("fn f(n: int) -> int {\n    var i = 0\n    while i < 3 {\n        i += 1\n");
            for (int k = 0; k < depth; k++)
                source.Append($"        try {{\n            if n == {k} {{ break }}\n            if n == {k + 100} {{ continue }}\n            if n == {k + 200} {{ return {k} }}\n");
            source.Append("        println(\"in\")\n");
            for (int k = depth - 1; k >= 0; k--) source.Append($"        }} finally {{ print(\"{k} \") }}\n");
            return source.Append("    }\n    return -1\n}\n\nfn main() {\n    println(f(1))\n    println(f(102))\n    println(f(203))\n}\n").ToString();
        }
        int CodeOf(int depth)
        {
            var result = Compilation.Compile("finally.hl", Program(depth));
            Assert.Empty(result.Diagnostics);
            return result.Module!.Functions.Single(f => f.Name == "f").Code.Length;
        }
        var (ten, twenty, forty) = (CodeOf(10), CodeOf(20), CodeOf(40));
        // Linear: each level adds the same code (a finally tells apart its exits' places, here a break, a continue
        // and a return, not the exits of every try inside it; emitted for every way out, each level doubled it).
        Assert.Equal(twenty - ten, (forty - twenty) / 2);
        using var dir = new TestSupport.TempDir();
        var run = TestSupport.Hlvm("run", dir.File("finally.hl", Program(40)));
        Assert.Equal(0, run.ExitCode);
        // f(1) breaks out of the loop at level 1 (the finally blocks of levels 1 and 0 run, innermost first), then
        // returns -1; f(102) continues at level 2 on each of the loop's three passes; f(203) returns 3 at level 3.
        Assert.Equal("1 0 -1\n2 1 0 2 1 0 2 1 0 -1\n3 2 1 0 3\n", run.Stdout);
    }

    /// <summary>
    /// A function whose stack passes what a module may declare is a compile error (21 array literals open at once,
    /// the last of 65,520 elements): it compiled and ran from source, and its .hlc was refused as malformed.
    /// </summary>
    [Fact]
    public void AFunctionWhoseStackPassesTheModulesBoundIsACompileError()
    {
        string Program(int elements) =>
            "fn main() {\n    let a = [" + Repeat("[0], ", 20) + "[" + string.Join(", ", Enumerable.Repeat("0", elements)) + "]]\n    println(a.len())\n}\n";
        var fits = Compilation.Compile("stack.hl", Program(65_000));
        Assert.NotNull(fits.Module);
        Assert.NotNull(Runtime.Bytecode.ModuleFormat.Read(Runtime.Bytecode.ModuleFormat.Write(fits.Module!)));
        var over = Compilation.Compile("stack.hl", Program(65_520));
        Assert.Null(over.Module);
        var error = Assert.Single(over.Diagnostics);
        Assert.Equal($"function 'main' needs a stack of 65540 values, more than the {Runtime.Bytecode.ModuleFormat.MaxStackLimit} a module's function may have; build the largest array and map literals in steps (`push`)", error.Message);
        Assert.Equal(1, error.Line);
    }

    /// <summary>
    /// The code of a function stops at the most a module's function may have, as it is emitted: past it, the compile
    /// is an error where it had reached (the emitter's <c>CodeTooLongException</c>), never a function the module
    /// reader refuses. (A program reaching it is a 16 MB source; the bound is checked on the builder itself.)
    /// </summary>
    [Fact]
    public void CodePastTheModulesBoundIsRefusedAsItIsEmitted()
    {
        var code = new Compiler.Emit.CodeBuilder();
        for (int i = 0; i < Runtime.Bytecode.ModuleFormat.MaxCodeLength; i++) code.Emit(Runtime.Bytecode.Opcode.Nop);
        Assert.Equal(Runtime.Bytecode.ModuleFormat.MaxCodeLength, code.Offset);
        Assert.Throws<Compiler.Emit.CodeTooLongException>(() => code.Emit(Runtime.Bytecode.Opcode.Nop));
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

/// <summary>
/// The depth of class hierarchies (Module.MaxInheritanceDepth) and the size of a module's class tables, in the
/// compiler and in the verifier: a chain of any length a module can declare is an error, never a crash of the
/// host's stack, and the limit accepts exactly what it says.
/// </summary>
public class InheritanceLimitTests
{
    private static string Chain(int classes, bool useLast) =>
        "class C0 { }\n" + string.Concat(Enumerable.Range(1, classes - 1).Select(i => $"class C{i} : C{i - 1} {{ }}\n"))
        + (useLast ? $"fn main() {{\n    let top: C0 = C{classes - 1}()\n    println((top as C{classes - 1}) == top)\n}}\n" : "fn main() { }\n");

    [Fact]
    public void TheCompilerAcceptsTheDeepestHierarchyAndReportsADeeperOneOnce()
    {
        int n = Hlvm.Runtime.Bytecode.Module.MaxInheritanceDepth;
        var ok = Compilation.Compile("deep.hl", Chain(n + 1, useLast: true));
        Assert.True(ok.Success, string.Join("\n", ok.Diagnostics));
        var tooDeep = Compilation.Compile("deep.hl", Chain(5 * n, useLast: false));
        var error = Assert.Single(tooDeep.Diagnostics, d => d.Severity == Compiler.Diagnostics.Severity.Error);
        Assert.Contains($"class 'C{n + 1}' would have more than {n} superclasses above it", error.Message);
    }

    /// <summary>A module written by hand with a chain of classes of the given length and fields per class.</summary>
    private static Hlvm.Runtime.Bytecode.Module Module(int classes, int fieldsPerClass)
    {
        var m = Asm.Module(Asm.Code(Hlvm.Runtime.Bytecode.Opcode.IConst, 0, Hlvm.Runtime.Bytecode.Opcode.Ret));
        for (int i = 0; i < classes; i++)
        {
            var c = new Hlvm.Runtime.Bytecode.ClassDef { Name = $"C{i}", Super = i - 1 };
            for (int f = 0; f < fieldsPerClass; f++) c.Fields.Add(new Hlvm.Runtime.Bytecode.FieldDef($"f{i}_{f}", Hlvm.Runtime.Bytecode.VmType.Int));
            m.Classes.Add(c);
        }
        return m;
    }

    [Fact]
    public void TheVerifierRejectsAChainPastTheLimitWithoutRecursingPerClass()
    {
        int n = Hlvm.Runtime.Bytecode.Module.MaxInheritanceDepth;
        Hlvm.Runtime.Verification.Verifier.Verify(Module(n + 1, 0));
        // Far longer than the host's stack could take one frame per class.
        var e = Assert.Throws<Hlvm.Runtime.Verification.VerifyException>(() => Hlvm.Runtime.Verification.Verifier.Verify(Module(200_000, 0)));
        Assert.Contains($"more than {n} superclasses deep", e.Reason);
        Assert.Contains($"<class C{n + 1}>", e.Message);
    }

    [Fact]
    public void TheVerifierCapsWhatClassesInheritInAll()
    {
        // 1000 classes of 10 fields in one chain inherit about 5 million fields, counted per class.
        var e = Assert.Throws<Hlvm.Runtime.Verification.VerifyException>(() => Hlvm.Runtime.Verification.Verifier.Verify(Module(1000, 10)));
        Assert.Contains("more than 4194304 fields, methods and interfaces in all", e.Reason);
        Hlvm.Runtime.Verification.Verifier.Verify(Module(500, 10));
    }
}

/// <summary>
/// The verifier's work is bounded (Verifier.MaxWork): linear for the code compilers emit, and a clear error for a
/// function that combines thousands of exception handlers with thousands of branch targets.
/// </summary>
public class VerifierWorkTests
{
    /// <summary><paramref name="jumps"/> jumps, each to the next, all covered by <paramref name="handlers"/> handlers.</summary>
    private static Hlvm.Runtime.Bytecode.Module Jumps(int jumps, int handlers)
    {
        var items = new List<object>();
        for (int i = 0; i < jumps; i++) items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Jmp, (i + 1) * 5]);
        int end = jumps * 5;
        items.AddRange([Hlvm.Runtime.Bytecode.Opcode.IConst, 0, Hlvm.Runtime.Bytecode.Opcode.Ret]);
        int handler = end + 10;
        items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Pop, Hlvm.Runtime.Bytecode.Opcode.IConst, 1, Hlvm.Runtime.Bytecode.Opcode.Ret]);
        var m = Asm.Module(Asm.Code([.. items]));
        m.Classes.Add(new Hlvm.Runtime.Bytecode.ClassDef { Name = "E" });
        m.Functions[0].Handlers = Enumerable.Range(0, handlers).Select(_ => new Hlvm.Runtime.Bytecode.ExceptionHandler(0, end, handler, 0)).ToArray();
        return m;
    }

    /// <summary>
    /// <paramref name="diamonds"/> times: a branch around a store of a local of its own, then a join, where the
    /// local is written on one path only. The locals are ints after a bool and an int parameter.
    /// </summary>
    private static Hlvm.Runtime.Bytecode.Module Diamonds(int diamonds)
    {
        var items = new List<object>();
        for (int k = 0; k < diamonds; k++)
        {
            int at = k * 19; // load 3, jmpifnot 5, jmp 5, load 3, store 3
            items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Load, 0, Hlvm.Runtime.Bytecode.Opcode.JmpIfNot, at + 13, Hlvm.Runtime.Bytecode.Opcode.Jmp, at + 19,
                Hlvm.Runtime.Bytecode.Opcode.Load, 1, Hlvm.Runtime.Bytecode.Opcode.Store, 2 + k]);
        }
        items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Load, 1, Hlvm.Runtime.Bytecode.Opcode.Ret]);
        var locals = new Hlvm.Runtime.Bytecode.VmType[2 + diamonds];
        locals[0] = Hlvm.Runtime.Bytecode.VmType.Bool;
        for (int i = 1; i < locals.Length; i++) locals[i] = Hlvm.Runtime.Bytecode.VmType.Int;
        return Asm.Module(Asm.Code([.. items]), locals: locals, name: "f", parameters: [Hlvm.Runtime.Bytecode.VmType.Bool, Hlvm.Runtime.Bytecode.VmType.Int]);
    }

    /// <summary>
    /// The data flow takes the lowest instruction waiting first, so code whose jumps all go forward is checked
    /// once through. Taken last in first out, every join that left a local unwritten had the rest of the function
    /// checked again: 4,000 such joins took more than the whole budget (a module of 312 KB written so took 14 s
    /// to be refused), and now verify.
    /// </summary>
    [Fact]
    public void BranchesThatEachLeaveALocalUnwrittenAreCheckedOnceThrough()
    {
        var loaded = Hlvm.Runtime.Verification.Verifier.Verify(Diamonds(4000));
        Assert.Equal(4000 * 5 + 2, loaded.Functions[0].Code.Length);
    }

    /// <summary>
    /// <paramref name="rungs"/> times: a store of a local of its own, then a branch to the next instruction, which
    /// makes it a join whose set of locals written is new (it holds every local stored so far). The locals are ints
    /// after a bool and an int parameter.
    /// </summary>
    private static Hlvm.Runtime.Bytecode.Module Ladder(int rungs)
    {
        var items = new List<object>();
        for (int k = 0; k < rungs; k++)
        {
            int next = (k + 1) * 14; // load 3, store 3, load 3, jmpifnot 5
            items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Load, 1, Hlvm.Runtime.Bytecode.Opcode.Store, 2 + k,
                Hlvm.Runtime.Bytecode.Opcode.Load, 0, Hlvm.Runtime.Bytecode.Opcode.JmpIfNot, next]);
        }
        items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Load, 1, Hlvm.Runtime.Bytecode.Opcode.Ret]);
        var locals = new Hlvm.Runtime.Bytecode.VmType[2 + rungs];
        locals[0] = Hlvm.Runtime.Bytecode.VmType.Bool;
        for (int i = 1; i < locals.Length; i++) locals[i] = Hlvm.Runtime.Bytecode.VmType.Int;
        return Asm.Module(Asm.Code([.. items]), locals: locals, name: "f", parameters: [Hlvm.Runtime.Bytecode.VmType.Bool, Hlvm.Runtime.Bytecode.VmType.Int]);
    }

    /// <summary>
    /// <paramref name="crossings"/> times: a branch to two paths that each store one local in every 1,024 of 65,536
    /// (local 2 + 1,024k on one path, 3 + 1,024k on the other), joined after them. Each path's set differs from the
    /// one before the branch in all 64 of its chunks, and so does the join's intersection (the same locals as before
    /// the branch, but made anew), so that every crossing keeps two sets of 64 new chunks.
    /// </summary>
    private static Hlvm.Runtime.Bytecode.Module Crossings(int crossings)
    {
        const int Chunks = 64, Size = 8 + Chunks * 12 + 5; // load 3, jmpifnot 5; per chunk and path load 3, store 3; jmp 5
        var items = new List<object>();
        for (int c = 0; c < crossings; c++)
        {
            int at = c * Size;
            items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Load, 0, Hlvm.Runtime.Bytecode.Opcode.JmpIfNot, at + 8 + Chunks * 6 + 5]);
            for (int k = 0; k < Chunks; k++) items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Load, 1, Hlvm.Runtime.Bytecode.Opcode.Store, 2 + 1024 * k]);
            items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Jmp, at + Size]);
            for (int k = 0; k < Chunks; k++) items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Load, 1, Hlvm.Runtime.Bytecode.Opcode.Store, 3 + 1024 * k]);
        }
        items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Load, 1, Hlvm.Runtime.Bytecode.Opcode.Ret]);
        var locals = new Hlvm.Runtime.Bytecode.VmType[65_536];
        locals[0] = Hlvm.Runtime.Bytecode.VmType.Bool;
        for (int i = 1; i < locals.Length; i++) locals[i] = Hlvm.Runtime.Bytecode.VmType.Int;
        return Asm.Module(Asm.Code([.. items]), locals: locals, name: "f", parameters: [Hlvm.Runtime.Bytecode.VmType.Bool, Hlvm.Runtime.Bytecode.VmType.Int]);
    }

    /// <summary>
    /// The sets of locals written that the data flow keeps at its joins are bounded (Verifier.MaxKeptWords): 4,000
    /// crossings keep 8,000 sets of 64 chunks of 16 words, with their tables and the objects' headers, 95 MB, and
    /// are refused by name; 2,500 keep 59 MB and verify.
    /// </summary>
    [Fact]
    public void TheLocalsKeptAtJoinsAreBounded()
    {
        var e = Assert.Throws<Hlvm.Runtime.Verification.VerifyException>(() => Hlvm.Runtime.Verification.Verifier.Verify(Crossings(4000)));
        Assert.Contains($"needs more than {Hlvm.Runtime.Verification.Verifier.MaxKeptWords * 8 >> 20} MiB for the locals written where its paths join", e.Reason);
        Assert.Equal(2500 * (2 + 64 * 4 + 1) + 2, Hlvm.Runtime.Verification.Verifier.Verify(Crossings(2500)).Functions[0].Code.Length);
    }

    /// <summary>
    /// Sets of locals share the chunks they have in common: a ladder of 30,000 rungs keeps 30,000 different sets,
    /// each of which changed one chunk of the set before it, 1.7 M words (14 MB) with the objects' headers. As one array of words a set, as
    /// until 2026-12-06, they kept 469 words each, 112 MB, and were refused, and so was a program of 24,000 branches,
    /// each after a local of its own.
    /// </summary>
    [Fact]
    public void SetsOfLocalsShareTheirUnchangedChunks()
    {
        Assert.Equal(30_000 * 4 + 2, Hlvm.Runtime.Verification.Verifier.Verify(Ladder(30_000)).Functions[0].Code.Length);
    }

    /// <summary>
    /// A set of locals that several joins keep is counted against that bound once: 20,000 diamonds, each a store on
    /// one path only, keep the same set at all of their 40,000 joins. Counted at every join, as until 2026-12-06,
    /// they passed the bound: 100 MB counted for one set of 2.5 KB.
    /// </summary>
    [Fact]
    public void ASetKeptAtManyJoinsIsCountedOnce()
    {
        var loaded = Hlvm.Runtime.Verification.Verifier.Verify(Diamonds(20_000));
        Assert.Equal(20_000 * 5 + 2, loaded.Functions[0].Code.Length);
    }

    /// <summary>
    /// Two paths that each push 65,535 values of their own, then <paramref name="joins"/> branches of the second to
    /// the point where the first joins it: every join walks both stacks to the bottom.
    /// </summary>
    private static Hlvm.Runtime.Bytecode.Module DeepJoins(int joins)
    {
        const int Depth = 65_535;
        int Size(Hlvm.Runtime.Bytecode.Opcode op) => Hlvm.Runtime.Bytecode.OpcodeInfo.Of(op).Size;
        int bconst = Size(Hlvm.Runtime.Bytecode.Opcode.BConst), jmpif = Size(Hlvm.Runtime.Bytecode.Opcode.JmpIf);
        int iconst = Size(Hlvm.Runtime.Bytecode.Opcode.IConst), jmp = Size(Hlvm.Runtime.Bytecode.Opcode.Jmp);
        int second = bconst + jmpif + Depth * iconst + jmp;
        int join = second + Depth * iconst + joins * (bconst + jmpif);
        var items = new List<object> { Hlvm.Runtime.Bytecode.Opcode.BConst, 1, Hlvm.Runtime.Bytecode.Opcode.JmpIf, second };
        for (int i = 0; i < Depth; i++) items.AddRange([Hlvm.Runtime.Bytecode.Opcode.IConst, 0]);
        items.AddRange([Hlvm.Runtime.Bytecode.Opcode.Jmp, join]);
        for (int i = 0; i < Depth; i++) items.AddRange([Hlvm.Runtime.Bytecode.Opcode.IConst, 1]);
        for (int i = 0; i < joins; i++) items.AddRange([Hlvm.Runtime.Bytecode.Opcode.BConst, 1, Hlvm.Runtime.Bytecode.Opcode.JmpIf, join]);
        items.Add(Hlvm.Runtime.Bytecode.Opcode.Ret);
        return Asm.Module(Asm.Code([.. items]), maxStack: Depth + 1);
    }

    /// <summary>
    /// A join is charged the stack entries it walks: 1,100 joins of two unshared stacks 65,535 deep walked 72 million
    /// entries charged one step each (a module of 1.4 MB so made took 30 s to verify, and was accepted); now the
    /// budget refuses them, and a few such joins verify.
    /// </summary>
    [Fact]
    public void JoinsOfDeepStacksAreChargedTheEntriesTheyWalk()
    {
        var e = Assert.Throws<Hlvm.Runtime.Verification.VerifyException>(() => Hlvm.Runtime.Verification.Verifier.Verify(DeepJoins(1100)));
        Assert.Contains($"verifying the module takes more than {Hlvm.Runtime.Verification.Verifier.MaxWork} steps", e.Reason);
        Hlvm.Runtime.Verification.Verifier.Verify(DeepJoins(10));
    }

    [Fact]
    public void ManyHandlersOverManyBranchTargetsAreRefusedNotVerifiedForever()
    {
        // 20,000 targets under 20,000 handlers: 400 million merges, past the budget.
        var e = Assert.Throws<Hlvm.Runtime.Verification.VerifyException>(() => Hlvm.Runtime.Verification.Verifier.Verify(Jumps(20_000, 20_000)));
        Assert.Contains($"verifying the module takes more than {Hlvm.Runtime.Verification.Verifier.MaxWork} steps", e.Reason);
        // A long function under a few handlers, or many handlers over a short one, verifies.
        Hlvm.Runtime.Verification.Verifier.Verify(Jumps(20_000, 20));
        Hlvm.Runtime.Verification.Verifier.Verify(Jumps(20, 20_000));
    }
}
