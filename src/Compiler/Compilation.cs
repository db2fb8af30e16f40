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
    /// <summary>Compiles the program in <paramref name="text"/>; <paramref name="path"/> names it in messages.</summary>
    public static CompileResult Compile(string path, string text)
    {
        var source = new SourceText(path, text);
        var diagnostics = new DiagnosticBag();
        var tree = SyntaxParser.Parse(source, diagnostics);
        // A tree with syntax errors is incomplete; binding it would only add confusing follow-on errors.
        if (diagnostics.HasErrors) return new CompileResult(null, diagnostics.Items);
        var functions = Binder.BindProgram(tree, source, diagnostics);
        if (diagnostics.HasErrors) return new CompileResult(null, diagnostics.Items);
        string fileName = Path.GetFileName(path);
        try
        {
            var module = Emitter.Emit(Path.GetFileNameWithoutExtension(fileName), fileName, functions);
            return new CompileResult(module, diagnostics.Items);
        }
        catch (CompileLimitException e)
        {
            var all = diagnostics.Items.Append(new Diagnostic(Severity.Error, source, 1, 1, e.Message)).ToList();
            return new CompileResult(null, all);
        }
    }
}
