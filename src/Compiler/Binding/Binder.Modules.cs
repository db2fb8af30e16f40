using Antlr4.Runtime;
using Hlvm.Compiler.Diagnostics;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Natives;
using static Hlvm.Compiler.Syntax.HlParser;

namespace Hlvm.Compiler.Binding;

/// <summary>One source file of a program: the root (the file run), an imported module, or the prelude.</summary>
/// <param name="Name">the module's name as imported (<c>std.math</c>, <c>app.util</c>); empty for the root and the prelude</param>
/// <param name="File">the file as stack traces name it: relative to the program's directory (<c>app/util.hl</c>)</param>
public sealed record SourceModule(string Name, SourceText Source, ProgramContext Tree, string File);

// Modules. Each file is a module with its own names: its functions, classes and constants. A module sees its own
// names, the prelude's classes and the built-in functions unqualified, and another module's names only through an
// import, qualified by the import's name (`import app.util` gives `util.f()`, `import app.util as u` gives
// `u.f()`), and only those it marks `pub`. The program is linked when it is compiled: every module's functions
// and classes go into the one bytecode module, named with their module's name (`app.util.f`) so that stack traces
// say where they come from.
//
// The std modules are files built into the compiler (stdlib/std/*.hl). Their natives are members too: `std.math`
// has the natives named `math.*` in the native table, and `std.io` the built-in functions.
public sealed partial class Binder
{
    private sealed class Unit(SourceModule module)
    {
        public SourceModule Module { get; } = module;
        public Dictionary<string, FunctionSymbol> Functions { get; } = [];
        public Dictionary<string, ClassSymbol> Classes { get; } = [];
        public Dictionary<string, BoundExpr> Constants { get; } = [];
        public Dictionary<string, Unit> Imports { get; } = [];

        /// <summary>The names the module marks `pub`.</summary>
        public HashSet<string> Public { get; } = [];

        /// <summary>What the module's functions and classes are called in bytecode: "app.util." (nothing for the root).</summary>
        public string Prefix => Module.Name.Length == 0 ? "" : Module.Name + ".";

        /// <summary>The prefix of the natives that are members of this module: "math." for std.math.</summary>
        public string? NativePrefix => Module.Name.StartsWith("std.", StringComparison.Ordinal) ? Module.Name[4..] + "." : null;

        public bool IsStdIo => Module.Name == "std.io";
    }

    private Unit _unit = null!;
    private Unit? _root;
    private readonly Dictionary<ClassSymbol, Unit> _classUnit = [];
    private readonly Dictionary<FunctionSymbol, Unit> _functionUnit = [];

    private Dictionary<string, FunctionSymbol> _functions => _unit.Functions;
    private Dictionary<string, ClassSymbol> _classes => _unit.Classes;

    private void Switch(Unit unit)
    {
        _unit = unit;
        _source = unit.Module.Source;
    }

    /// <summary>Binds the imports of every module (before its functions and constants are declared, which then must
    /// not take an import's name).</summary>
    private void BindImports(List<Unit> units)
    {
        var byName = units.Where(u => u.Module.Name.Length > 0).ToDictionary(u => u.Module.Name);
        foreach (var unit in units)
        {
            Switch(unit);
            foreach (var import in unit.Module.Tree.importDecl())
            {
                string name = import.qualifiedName().GetText();
                // A module the compiler could not find was reported when it looked for it.
                if (!byName.TryGetValue(name, out var target)) continue;
                var aliasToken = import.ID()?.Symbol ?? import.qualifiedName().ID()[^1].Symbol;
                string alias = aliasToken.Text;
                if (target == unit) Error(import.qualifiedName(), $"module '{name}' imports itself");
                else if (unit.Imports.TryGetValue(alias, out var named))
                    Error(aliasToken, named == target
                        ? $"module '{name}' is imported already, as '{alias}'"
                        : $"'{alias}' already names an imported module; import this one `as` another name");
                else if (unit.Classes.ContainsKey(alias) || Builtins.Contains(alias))
                    Error(aliasToken, $"the import's name '{alias}' is already the name of {(unit.Classes.ContainsKey(alias) ? "a class" : "a built-in function")} here; import it `as` another name");
                else unit.Imports[alias] = target;
            }
        }
    }

    /// <summary>A constant of the module: its value is a literal, bound once and used wherever it is named.</summary>
    private void DeclareConstant(ConstDeclContext decl)
    {
        string name = decl.name.Text;
        if (decl.PUB() != null) _unit.Public.Add(name);
        // Functions and classes are declared before constants, whatever their order in the file: the message says
        // what the name is already, since the other declaration may come later.
        string? taken = _functions.ContainsKey(name) ? "a function" : _classes.ContainsKey(name) ? "a class"
            : _unit.Constants.ContainsKey(name) ? "a constant" : _unit.Imports.ContainsKey(name) ? "an imported module"
            : Builtins.Contains(name) ? "a built-in function" : null;
        if (taken is not null)
        {
            Error(decl.name, $"'{name}' is already defined: it is the name of {taken} here");
            return;
        }
        VmType? declared = decl.type() is { } t ? BindType(t) : null;
        var value = ConstantValue(decl.expr(), declared);
        if (value is null)
        {
            Error(decl.expr(), "the value of a top-level constant must be a literal: a number, a string, true or false");
            value = new BoundError(LineOf(decl));
        }
        else if (declared is not null) value = Check(value, declared, decl.expr(), "the constant's declared type is");
        _unit.Constants[name] = value;
    }

    /// <summary>The literal a constant is given (a number may be negated), or null when it is something else.</summary>
    private BoundExpr? ConstantValue(ExprContext e, VmType? declared)
    {
        bool literal = e switch
        {
            PrimaryExprContext { } p => p.primary() is IntLitContext or FloatLitContext or BoolLitContext
                || (p.primary() is StringLitExprContext s && s.stringLit().stringPart().All(part => part is not InterpPartContext)),
            UnaryExprContext { op.Type: Syntax.HlLexer.MINUS } u => u.expr() is PrimaryExprContext { } q && q.primary() is IntLitContext or FloatLitContext,
            _ => false,
        };
        if (!literal) return null;
        var value = BindValue(e, declared);
        // -literal binds to a negation the emitter would compute at run time; fold it here.
        if (value is BoundOp { Op: Opcode.INeg, Left: BoundConst c }) return c with { Bits = -c.Bits };
        if (value is BoundOp { Op: Opcode.FNeg, Left: BoundConst f }) return f with { Bits = BitConverter.DoubleToInt64Bits(-BitConverter.Int64BitsToDouble(f.Bits)) };
        return value;
    }

    /// <summary>The module an unqualified name in an expression refers to, when it is an import (and no variable or field hides it).</summary>
    private Unit? ImportedModule(ExprContext e) =>
        AsName(e) is { } n && Lookup(n.GetText()) is null && FieldOfSelf(n.GetText()) is null && _unit.Imports.TryGetValue(n.GetText(), out var u) ? u : null;

    /// <summary>Reports a use of a module's member that is missing or not public; true when the member may be used.</summary>
    private bool CheckMember(Unit module, IToken name, bool exists)
    {
        if (!exists)
        {
            var names = module.Functions.Keys.Concat(module.Classes.Keys).Concat(module.Constants.Keys).Where(module.Public.Contains)
                .Concat(module.NativePrefix is { } prefix ? NativeTable.All.Where(n => n.Name.StartsWith(prefix, StringComparison.Ordinal)).Select(n => n.Name[prefix.Length..]) : [])
                .Concat(module.IsStdIo ? Builtins : []);
            Error(name, $"module '{module.Module.Name}' has no '{name.Text}'{Suggest(name.Text, names)}");
            return false;
        }
        if (!module.Public.Contains(name.Text))
        {
            Error(name, $"'{name.Text}' is not public in module '{module.Module.Name}'; mark it `pub` there to use it here");
            return false;
        }
        return true;
    }

    /// <summary><c>module.name(args)</c>: a call of a module's function, a native or a built-in, or a new instance of its class.</summary>
    private BoundExpr BindModuleCall(Unit module, MethodCallExprContext m)
    {
        int line = LineOf(m);
        var name = m.ID().Symbol;
        var args = m.argList()?.expr() ?? [];
        if (module.IsStdIo && Builtins.Contains(name.Text)) return BindPrint(m, name.Text, args);
        if (module.NativePrefix is { } prefix && !module.Functions.ContainsKey(name.Text) && NativeTable.Find(prefix + name.Text) is { } native)
        {
            var bound = BindArgs($"'{module.Module.Name}.{name.Text}'", name, native.Params, native.Params.Select((_, i) => $"#{i + 1}").ToArray(), args);
            return bound is null ? new BoundError(line) : new BoundNativeCall(line, native.Name, native.Params, native.Return, bound);
        }
        bool isFunction = module.Functions.TryGetValue(name.Text, out var fn);
        bool isClass = module.Classes.TryGetValue(name.Text, out var cls) && _classUnit.GetValueOrDefault(cls!) == module;
        if (!CheckMember(module, name, isFunction || isClass || module.Constants.ContainsKey(name.Text)))
        {
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        if (isClass) return BindNew(cls!, name, args, line);
        if (!isFunction)
        {
            Error(name, $"'{module.Module.Name}.{name.Text}' is a constant, not a function");
            foreach (var a in args) BindValue(a, null);
            return new BoundError(line);
        }
        var boundArgs = BindArgs($"'{module.Module.Name}.{name.Text}'", name, fn!.Parameters, fn.ParameterNames, args);
        if (boundArgs is null || fn.Return.IsError()) return new BoundError(line);
        return new BoundCall(line, fn, boundArgs);
    }

    /// <summary><c>module.name</c> as a value: a constant, or a function as a function value.</summary>
    private BoundExpr BindModuleMember(Unit module, string qualifier, IToken name, int line)
    {
        if (module.Constants.TryGetValue(name.Text, out var constant))
            return CheckMember(module, name, true) ? constant with { Line = line } : new BoundError(line);
        if (module.Functions.TryGetValue(name.Text, out var fn))
            return CheckMember(module, name, true) ? new BoundLambda(line, VmType.FuncOf(fn.Parameters, fn.Return), fn, IsLambda: false, []) : new BoundError(line);
        bool callable = (module.NativePrefix is { } prefix && NativeTable.Find(prefix + name.Text) is not null)
            || (module.IsStdIo && Builtins.Contains(name.Text)) || module.Classes.ContainsKey(name.Text);
        if (callable)
        {
            Error(name, $"'{module.Module.Name}.{name.Text}' must be called: write `{qualifier}.{name.Text}(...)`, or wrap it in a function value");
            return new BoundError(line);
        }
        CheckMember(module, name, false);
        return new BoundError(line);
    }

    /// <summary>A class named in a type, unqualified (the module's own or the prelude's) or through an import.</summary>
    private ClassSymbol? ClassNamed(TypeNameContext typeName, string what = "type")
    {
        var name = typeName.name;
        if (typeName.module is null)
        {
            if (_classes.TryGetValue(name.Text, out var own)) return own;
            string hint = what == "type" ? TypeHabitHint(name.Text) : "";
            Error(name, $"unknown {what} '{name.Text}'{(hint.Length > 0 ? hint : Suggest(name.Text, what == "type" ? ["int", "float", "bool", "string", .. _classes.Keys] : _classes.Keys))}");
            return null;
        }
        if (!_unit.Imports.TryGetValue(typeName.module.Text, out var module))
        {
            Error(typeName.module, $"'{typeName.module.Text}' is not an imported module{Suggest(typeName.module.Text, _unit.Imports.Keys)}");
            return null;
        }
        bool exists = module.Classes.TryGetValue(name.Text, out var cls) && _classUnit.GetValueOrDefault(cls!) == module;
        return CheckMember(module, name, exists) ? cls : null;
    }
}
