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

    /// <summary>
    /// Compiles the program in <paramref name="text"/>; <paramref name="path"/> names it in messages. The modules
    /// it imports are read with <paramref name="readModule"/>, given a path relative to the program's directory
    /// (<c>app/util.hl</c> for <c>import app.util</c>), which returns null when there is no such file; by default
    /// they are read from the file system beside <paramref name="path"/>.
    /// </summary>
    public static CompileResult Compile(string path, string text, Func<string, string?>? readModule = null)
    {
        CompileResult? result = null;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try { result = CompileHere(path, text, readModule ?? BesideProgram(path)); }
            catch (Exception e) { failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
        }, StackBytes) { Name = "hlvm compiler" };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result!;
    }

    /// <summary>Reads modules from the directory of the program at <paramref name="path"/>.</summary>
    private static Func<string, string?> BesideProgram(string path)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        return relative =>
        {
            string file = Path.Combine(dir, relative);
            byte[] bytes;
            try { bytes = File.ReadAllBytes(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
            return Runtime.SourceEncoding.Decode(bytes);
        };
    }

    /// <summary>The text of a file built into the compiler (the prelude, the std modules), or null.</summary>
    private static string? Builtin(string name)
    {
        using var stream = typeof(Compilation).Assembly.GetManifestResourceStream(name);
        return stream is null ? null : new StreamReader(stream).ReadToEnd();
    }

    /// <summary>
    /// A file of the library built into the compiler that every program has: the prelude (stdlib/prelude.hl, the
    /// classes every program sees) and the array methods' templates (stdlib/array.hl).
    /// </summary>
    private static readonly Lazy<SourceModule> Prelude = new(() => BuiltinModule("prelude.hl"));
    private static readonly Lazy<SourceModule> ArrayTemplates = new(() => BuiltinModule("array.hl"));

    // Parsed once per process: the binder only reads the trees.
    private static SourceModule BuiltinModule(string file)
    {
        string text = Builtin(file) ?? throw new InvalidOperationException($"the compiler was built without stdlib/{file}");
        var diagnostics = new DiagnosticBag();
        var source = new SourceText(file, text);
        var tree = SyntaxParser.Parse(source, diagnostics);
        if (tree is null || diagnostics.HasErrors)
            throw new InvalidOperationException($"stdlib/{file} does not parse: " + string.Join("; ", diagnostics.Items));
        return new SourceModule("", source, tree, file);
    }

    /// <summary>Most modules one program may import, directly or not.</summary>
    public const int MaxModules = 1000;

    /// <summary>
    /// Parses the program and, following its imports, every module it uses. A module that cannot be found or
    /// does not parse is reported at the import that names it (syntax errors in its own file).
    /// </summary>
    private static List<SourceModule> LoadModules(SourceText root, DiagnosticBag diagnostics, Func<string, string?> readModule)
    {
        var modules = new List<SourceModule>();
        var tree = SyntaxParser.Parse(root, diagnostics);
        if (tree is null) return modules;
        modules.Add(new SourceModule("", root, tree, Path.GetFileName(root.Path)));
        string rootDir = Path.GetDirectoryName(root.Path) ?? "";
        var seen = new HashSet<string>();
        for (int k = 0; k < modules.Count; k++)
        {
            var importer = modules[k];
            var errorLines = diagnostics.Items.Where(d => d.Severity == Severity.Error && d.Source == importer.Source).Select(d => d.Line).ToHashSet();
            foreach (var import in importer.Tree.importDecl())
            {
                if (Malformed(import, errorLines)) continue;
                string name = import.qualifiedName().GetText();
                if (!seen.Add(name)) continue;
                bool std = name.StartsWith("std.", StringComparison.Ordinal);
                string file = std ? name[4..].Replace('.', '/') + ".hl" : name.Replace('.', '/') + ".hl";
                var at = import.qualifiedName().Start;
                string? text;
                try
                {
                    text = std ? Builtin("std/" + file) : name == "std" ? null : readModule(file);
                }
                catch (InvalidDataException e)
                {
                    // A file there, whose bytes are not source text (SourceEncoding): said at the import.
                    diagnostics.Add(new Diagnostic(Severity.Error, importer.Source, at.Line, at.Column + 1, $"cannot read module '{name}' ({file}): {e.Message}", name.Length));
                    continue;
                }
                if (text is null)
                {
                    string why = std ? $"the standard library has no module '{name}' (it has {string.Join(", ", StdModules())})"
                        : $"cannot find module '{name}': there is no file {file} in the program's directory";
                    diagnostics.Add(new Diagnostic(Severity.Error, importer.Source, at.Line, at.Column + 1, why, name.Length));
                    continue;
                }
                if (modules.Count >= MaxModules)
                {
                    diagnostics.Add(new Diagnostic(Severity.Error, importer.Source, at.Line, at.Column + 1, $"a program may use at most {MaxModules} modules", name.Length));
                    return modules;
                }
                // Messages name the file as the program's path does; stack traces relative to the program's directory.
                var source = new SourceText(std ? "std/" + file : Path.Combine(rootDir, file), text);
                if (SyntaxParser.Parse(source, diagnostics) is { } moduleTree) modules.Add(new SourceModule(name, source, moduleTree, std ? "std/" + file : file));
            }
        }
        return modules;
    }

    /// <summary>
    /// True when an import has a syntax error on its lines (<paramref name="errorLines"/> are those of its file with
    /// an error): its name is then not one to look up. The parser's recovery builds a name from whatever it skipped
    /// (`import "a"` named the module `"a"`, `import ..` a file outside the program's directory, and `import a.` the
    /// module `a.fnmain` from the next line's `fn main`).
    /// </summary>
    private static bool Malformed(HlParser.ImportDeclContext import, HashSet<int> errorLines)
    {
        var name = import.qualifiedName();
        if (import.exception is not null || name is null || name.exception is not null) return true;
        if (name.children is null || name.children.Any(c => c is Antlr4.Runtime.Tree.IErrorNode)) return true;
        int first = import.Start.Line, last = Math.Max(first, import.Stop?.Line ?? first);
        return errorLines.Any(line => line >= first && line <= last);
    }

    /// <summary>The names of the std modules built into the compiler.</summary>
    private static IEnumerable<string> StdModules() =>
        typeof(Compilation).Assembly.GetManifestResourceNames().Where(n => n.StartsWith("std/", StringComparison.Ordinal))
            .Select(n => "std." + Path.GetFileNameWithoutExtension(n)).Order(StringComparer.Ordinal);

    private static CompileResult CompileHere(string path, string text, Func<string, string?> readModule)
    {
        var source = new SourceText(path, text);
        var diagnostics = new DiagnosticBag();
        var modules = LoadModules(source, diagnostics, readModule);
        // A tree with syntax errors is incomplete; binding it would only add confusing follow-on errors.
        if (modules.Count == 0 || diagnostics.HasErrors) return new CompileResult(null, diagnostics.Items);
        var program = Binder.BindProgram(Prelude.Value, ArrayTemplates.Value, modules, diagnostics);
        // Warnings wait until the errors are fixed: next to an error they are mostly its echoes.
        if (diagnostics.HasErrors) return new CompileResult(null, diagnostics.Items.Where(d => d.Severity == Severity.Error).ToList());
        string fileName = Path.GetFileName(path);
        try
        {
            var module = Emitter.Emit(Path.GetFileNameWithoutExtension(fileName), fileName, program);
            if (Unwritable(module, source) is { } error) return new CompileResult(null, [.. diagnostics.Items, error]);
            return new CompileResult(module, diagnostics.Items);
        }
        catch (CompileLimitException e)
        {
            var all = diagnostics.Items.Append(new Diagnostic(Severity.Error, source, Math.Max(1, e.Line), 1, e.Message)).ToList();
            return new CompileResult(null, all);
        }
    }

    /// <summary>
    /// The first type of the module that a module can't hold (<see cref="VmType.Unwritable"/>), as an error at the
    /// start of the function or class that has it; null when there is none. The compiler builds types the program
    /// never writes (a map of a 32-deep array's values, a chain of lambdas, a function of 300 parameters taken as a
    /// value), and such a module compiled and ran, but as a .hlc, or from the cache of compiled programs, it did not load.
    /// </summary>
    private static Diagnostic? Unwritable(Module module, SourceText source)
    {
        Diagnostic At(FunctionDef? f, string what, string why)
        {
            int line = f is not null && f.SourceFile is null && f.Lines.Length > 0 ? f.Lines.Min(l => l.Line) : 1;
            string where = f is null ? "" : $" in '{f.Name}'{(f.SourceFile is { } file ? $" ({file})" : "")}";
            return new Diagnostic(Severity.Error, source, line, 1, $"the type of {what}{where} can't be written in a module: {why}");
        }
        static string? Why(IEnumerable<VmType> types) => types.Select(t => VmType.Unwritable(t)).FirstOrDefault(w => w is not null);
        foreach (var f in module.Functions)
        {
            if (Why(f.Params.Append(f.Return)) is { } why) return At(f, "a parameter or the result", why);
            if (Why(f.Locals) is { } local) return At(f, "a value", local);
        }
        if (Why(module.Types) is { } value) return At(null, "a value", value);
        foreach (var c in module.Classes)
        {
            foreach (var field in c.Fields)
                if (Why([field.Type]) is { } why) return At(null, $"field '{field.Name}' of '{c.Name}'", why);
            foreach (var m in c.Signatures)
                if (Why(m.Params.Append(m.Return)) is { } why) return At(null, $"method '{m.Name}' of '{c.Name}'", why);
        }
        return null;
    }
}
