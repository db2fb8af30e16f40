using Hlvm.Compiler.Binding;
using Hlvm.Compiler.Diagnostics;
using Hlvm.Compiler.Emit;
using Hlvm.Compiler.Syntax;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Compiler;

/// <summary>The result of compiling one source file: a module when there were no errors, and the diagnostics.</summary>
public sealed record CompileResult(Module? Module, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Success => Module is not null;
}

/// <summary>The compiler's entry point: parse, bind and type-check, emit.</summary>
public static class Compilation
{
    /// <summary>
    /// The compiler's passes recurse over the syntax tree. They run on a thread of their own with this much stack,
    /// and the nesting limits of <see cref="SyntaxParser"/> and the binder keep any input within it.
    /// </summary>
    private const int StackBytes = 256 << 20;

    /// <summary>Compiles the program in <paramref name="text"/>; <paramref name="path"/> names it in messages.</summary>
    public static CompileResult Compile(string path, string text)
    {
        CompileResult? result = null;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try { result = CompileHere(path, text); }
            catch (Exception e) { failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
        }, StackBytes) { Name = "hlvm compiler" };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result!;
    }

    /// <summary>The prelude (stdlib/prelude.hl, built into the compiler): the classes every program has.</summary>
    private static Syntax.HlParser.ProgramContext Prelude()
    {
        using var stream = typeof(Compilation).Assembly.GetManifestResourceStream("prelude.hl")
            ?? throw new InvalidOperationException("the compiler was built without its prelude");
        string text = new StreamReader(stream).ReadToEnd();
        var diagnostics = new DiagnosticBag();
        var tree = SyntaxParser.Parse(new SourceText("prelude.hl", text), diagnostics);
        if (tree is null || diagnostics.HasErrors)
            throw new InvalidOperationException("the prelude does not parse: " + string.Join("; ", diagnostics.Items));
        return tree;
    }

    private static CompileResult CompileHere(string path, string text)
    {
        var source = new SourceText(path, text);
        var diagnostics = new DiagnosticBag();
        var tree = SyntaxParser.Parse(source, diagnostics);
        // A tree with syntax errors is incomplete; binding it would only add confusing follow-on errors.
        if (tree is null || diagnostics.HasErrors) return new CompileResult(null, diagnostics.Items);
        var program = Binder.BindProgram(Prelude(), tree, source, diagnostics);
        // Warnings wait until the errors are fixed: next to an error they are mostly its echoes.
        if (diagnostics.HasErrors) return new CompileResult(null, diagnostics.Items.Where(d => d.Severity == Severity.Error).ToList());
        string fileName = Path.GetFileName(path);
        try
        {
            var module = Emitter.Emit(Path.GetFileNameWithoutExtension(fileName), fileName, program);
            return new CompileResult(module, diagnostics.Items);
        }
        catch (CompileLimitException e)
        {
            var all = diagnostics.Items.Append(new Diagnostic(Severity.Error, source, 1, 1, e.Message)).ToList();
            return new CompileResult(null, all);
        }
    }
}
