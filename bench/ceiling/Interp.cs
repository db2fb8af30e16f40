// interp.hl written directly in C#: the ceiling for the code hlvm's JIT emits for it. The same program step by
// step: a tokenizer, a recursive-descent parser that builds a tree of statement and expression classes, and a
// tree-walking evaluator whose environments are dictionaries from names to values, chained to their parents.
// Values are objects of a small class hierarchy with virtual methods, expressions implement an interface,
// statements override a virtual exec, and the built-in functions are lambdas. The script's ints are 64-bit and
// wrap as the language's do; division and remainder by -1 do not trap (the language's rule).
// Argument: n (default 2500), read as the language's toInt reads it.

namespace Ceiling;

static class InterpProgram
{
    // -------------------------------------------------------------------------------------------- the script

    static string Script() => string.Join("\n", new List<string>
    {
        "fn isPrime(k)",
        "  if k < 2 then return false end",
        "  let d = 2",
        "  while d * d <= k do",
        "    if k % d == 0 then return false end",
        "    d = d + 1",
        "  end",
        "  return true",
        "end",
        "",
        "fn collatz(k)",
        "  let steps = 0",
        "  while k != 1 do",
        "    if k % 2 == 0 then k = k / 2 else k = 3 * k + 1 end",
        "    steps = steps + 1",
        "  end",
        "  return steps",
        "end",
        "",
        "fn makeCounter()",
        "  let count = 0",
        "  return fn(by)",
        "    count = count + by",
        "    return count",
        "  end",
        "end",
        "",
        "fn fizzbuzz(i)",
        "  if i % 15 == 0 then return 'FizzBuzz'",
        "  elif i % 3 == 0 then return 'Fizz'",
        "  elif i % 5 == 0 then return 'Buzz'",
        "  end",
        "  return str(i)",
        "end",
        "",
        "let primes = 0",
        "let longest = 0",
        "let longestAt = 0",
        "let fizzChars = 0",
        "let counter = makeCounter()",
        "let i = 1",
        "while i <= n do",
        "  if isPrime(i) then primes = primes + 1 end",
        "  let steps = collatz(i)",
        "  if steps > longest and not (i == 1) then",
        "    longest = steps",
        "    longestAt = i",
        "  end",
        "  fizzChars = fizzChars + len(fizzbuzz(i))",
        "  if i % 7 == 3 or i == -1 then counter(i) end",
        "  i = i + 1",
        "end",
        "print 'primes ' + primes + ', longest collatz ' + longest + ' at ' + longestAt +",
        "  ', fizzbuzz chars ' + fizzChars + ', counter ' + str(counter(0))",
    });

    sealed class ScriptError(string message, int line) : Exception(message)
    {
        public readonly int Line = line;
    }


    // -------------------------------------------------------------------------------------------- values

    const int NIL = 0;
    const int INT = 1;
    const int BOOL = 2;
    const int STR = 3;
    const int FUNC = 4;

    // A value of the script. The defaults suit no kind in particular; each kind overrides what it supports.
    class Value
    {
        public virtual int Kind() => NIL;
        public virtual string Show() => "nil";
        public virtual bool Truthy() => false;
        public virtual long AsInt(int line) => throw new ScriptError($"expected an int, not {Show()}", line);
        public virtual bool Equals(Value other) => other.Kind() == NIL;
        public virtual Value Call(List<Value> args, int line) => throw new ScriptError($"{Show()} is not a function", line);
    }

    sealed class IntValue(long value) : Value
    {
        readonly long value = value;
        public override int Kind() => INT;
        public override string Show() => value.ToString();
        public override bool Truthy() => value != 0;
        public override long AsInt(int line) => value;
        public override bool Equals(Value other) => other.Kind() == INT && other.AsInt(0) == value;
    }

    sealed class BoolValue(bool value) : Value
    {
        readonly bool value = value;
        public override int Kind() => BOOL;
        public override string Show() => value ? "true" : "false";
        public override bool Truthy() => value;
        public override bool Equals(Value other) => other.Kind() == BOOL && other.Truthy() == value;
    }

    sealed class StrValue(string value) : Value
    {
        readonly string value = value;
        public override int Kind() => STR;
        public override string Show() => value;
        public override bool Truthy() => value.Length > 0;
        public override bool Equals(Value other) => other.Kind() == STR && other.Show() == value;
    }

    // A function of the script: its parameters, its body and the environment it was made in.
    sealed class FnValue(string name, List<string> parameters, List<Stmt> body, Env env) : Value
    {
        readonly string name = name;
        readonly List<string> parameters = parameters;
        readonly List<Stmt> body = body;
        readonly Env env = env;

        public override int Kind() => FUNC;
        public override string Show() => $"<fn {name}>";
        public override bool Truthy() => true;
        public override bool Equals(Value other) => other == this;

        public override Value Call(List<Value> args, int line)
        {
            if (args.Count != parameters.Count)
                throw new ScriptError($"{name} takes {parameters.Count} arguments, not {args.Count}", line);
            var local = new Env(env);
            for (int i = 0; i < parameters.Count; i++) local.Define(parameters[i], args[i]);
            return ExecBlock(body, local) ?? new Value();
        }
    }

    // A built-in function: a lambda of this program.
    sealed class NativeValue(string name, Func<List<Value>, int, Value> f) : Value
    {
        readonly string name = name;
        readonly Func<List<Value>, int, Value> f = f;

        public override int Kind() => FUNC;
        public override string Show() => $"<built-in {name}>";
        public override bool Truthy() => true;
        public override bool Equals(Value other) => other == this;

        public override Value Call(List<Value> args, int line)
        {
            if (args.Count != 1) throw new ScriptError($"{name} takes 1 argument, not {args.Count}", line);
            return f(args, line);
        }
    }

    // The variables of one call (or of the script), and the environment around it.
    sealed class Env(Env parent)
    {
        readonly Env parent = parent;
        readonly Dictionary<string, Value> vars = new();

        public void Define(string name, Value v) => vars[name] = v;

        public Value Lookup(string name, int line)
        {
            if (vars.TryGetValue(name, out var v)) return v;
            var p = parent;
            if (p == null) throw new ScriptError($"undefined variable '{name}'", line);
            return p.Lookup(name, line);
        }

        public void Assign(string name, Value v, int line)
        {
            if (vars.ContainsKey(name))
            {
                vars[name] = v;
                return;
            }
            var p = parent;
            if (p == null) throw new ScriptError($"assignment to undefined variable '{name}'", line);
            p.Assign(name, v, line);
        }
    }

    // -------------------------------------------------------------------------------------------- the tree

    interface IExpr
    {
        Value Eval(Env env);
    }

    // A statement. Exec gives null when the statement finishes normally and the value when it runs a `return`.
    class Stmt
    {
        public virtual Value Exec(Env env) => null;
    }

    static Value ExecBlock(List<Stmt> stmts, Env env)
    {
        foreach (var s in stmts)
        {
            var r = s.Exec(env);
            if (r != null) return r;
        }
        return null;
    }

    sealed class Literal(Value value) : IExpr
    {
        readonly Value value = value;
        public Value Eval(Env env) => value;
    }

    sealed class Name(string name, int line) : IExpr
    {
        readonly string name = name;
        readonly int line = line;
        public Value Eval(Env env) => env.Lookup(name, line);
    }

    const int OP_OR = 0;
    const int OP_AND = 1;
    const int OP_EQ = 2;
    const int OP_NE = 3;
    const int OP_LT = 4;
    const int OP_LE = 5;
    const int OP_GT = 6;
    const int OP_GE = 7;
    const int OP_ADD = 8;
    const int OP_SUB = 9;
    const int OP_MUL = 10;
    const int OP_DIV = 11;
    const int OP_MOD = 12;

    sealed class Binary(int op, IExpr left, IExpr right, int line) : IExpr
    {
        readonly int op = op;
        readonly IExpr left = left;
        readonly IExpr right = right;
        readonly int line = line;

        public Value Eval(Env env)
        {
            var a = left.Eval(env);
            if (op == OP_OR)
            {
                if (a.Truthy()) return a;
                return right.Eval(env);
            }
            if (op == OP_AND)
            {
                if (!a.Truthy()) return a;
                return right.Eval(env);
            }
            var b = right.Eval(env);
            if (op == OP_EQ) return new BoolValue(a.Equals(b));
            if (op == OP_NE) return new BoolValue(!a.Equals(b));
            if (op == OP_ADD && (a.Kind() == STR || b.Kind() == STR)) return new StrValue(a.Show() + b.Show());
            long x = a.AsInt(line);
            long y = b.AsInt(line);
            if (op == OP_ADD) return new IntValue(x + y);
            if (op == OP_SUB) return new IntValue(x - y);
            if (op == OP_MUL) return new IntValue(x * y);
            if (op == OP_LT) return new BoolValue(x < y);
            if (op == OP_LE) return new BoolValue(x <= y);
            if (op == OP_GT) return new BoolValue(x > y);
            if (op == OP_GE) return new BoolValue(x >= y);
            if (y == 0) throw new ScriptError("division by zero", line);
            // The language's int division and remainder wrap where .NET's trap (long.MinValue by -1).
            if (op == OP_DIV) return new IntValue(y == -1 ? -x : x / y);
            return new IntValue(y == -1 ? 0 : x % y);
        }
    }

    sealed class Not(IExpr operand) : IExpr
    {
        readonly IExpr operand = operand;
        public Value Eval(Env env) => new BoolValue(!operand.Eval(env).Truthy());
    }

    sealed class Negate(IExpr operand, int line) : IExpr
    {
        readonly IExpr operand = operand;
        readonly int line = line;
        public Value Eval(Env env) => new IntValue(-operand.Eval(env).AsInt(line));
    }

    sealed class Call(IExpr callee, List<IExpr> args, int line) : IExpr
    {
        readonly IExpr callee = callee;
        readonly List<IExpr> args = args;
        readonly int line = line;

        public Value Eval(Env env)
        {
            var f = callee.Eval(env);
            return f.Call(args.ConvertAll(a => a.Eval(env)), line);
        }
    }

    sealed class Lambda(List<string> parameters, List<Stmt> body) : IExpr
    {
        readonly List<string> parameters = parameters;
        readonly List<Stmt> body = body;
        public Value Eval(Env env) => new FnValue("lambda", parameters, body, env);
    }

    sealed class Let(string name, IExpr value) : Stmt
    {
        readonly string name = name;
        readonly IExpr value = value;

        public override Value Exec(Env env)
        {
            env.Define(name, value.Eval(env));
            return null;
        }
    }

    sealed class Assign(string name, IExpr value, int line) : Stmt
    {
        readonly string name = name;
        readonly IExpr value = value;
        readonly int line = line;

        public override Value Exec(Env env)
        {
            env.Assign(name, value.Eval(env), line);
            return null;
        }
    }

    sealed class ExprStmt(IExpr expr) : Stmt
    {
        readonly IExpr expr = expr;

        public override Value Exec(Env env)
        {
            expr.Eval(env);
            return null;
        }
    }

    // if/elif chains: the first condition that holds runs its block; otherwise the else block (maybe empty) runs.
    sealed class If(List<IExpr> conditions, List<List<Stmt>> blocks, List<Stmt> otherwise) : Stmt
    {
        readonly List<IExpr> conditions = conditions;
        readonly List<List<Stmt>> blocks = blocks;
        readonly List<Stmt> otherwise = otherwise;

        public override Value Exec(Env env)
        {
            for (int i = 0; i < conditions.Count; i++)
            {
                if (conditions[i].Eval(env).Truthy()) return ExecBlock(blocks[i], env);
            }
            return ExecBlock(otherwise, env);
        }
    }

    sealed class While(IExpr condition, List<Stmt> body) : Stmt
    {
        readonly IExpr condition = condition;
        readonly List<Stmt> body = body;

        public override Value Exec(Env env)
        {
            while (condition.Eval(env).Truthy())
            {
                var r = ExecBlock(body, env);
                if (r != null) return r;
            }
            return null;
        }
    }

    sealed class Return(IExpr value) : Stmt
    {
        readonly IExpr value = value;
        public override Value Exec(Env env) => value.Eval(env);
    }

    sealed class Print(IExpr value, List<string> output) : Stmt
    {
        readonly IExpr value = value;
        readonly List<string> output = output;

        public override Value Exec(Env env)
        {
            output.Add(value.Eval(env).Show());
            return null;
        }
    }

    sealed class FnDef(string name, List<string> parameters, List<Stmt> body) : Stmt
    {
        readonly string name = name;
        readonly List<string> parameters = parameters;
        readonly List<Stmt> body = body;

        public override Value Exec(Env env)
        {
            env.Define(name, new FnValue(name, parameters, body, env));
            return null;
        }
    }

    // -------------------------------------------------------------------------------------------- tokens

    // Kind is "num", "str", "name" (keywords too), "op" or "eof".
    sealed class Token(string kind, string text, int line)
    {
        public readonly string Kind = kind;
        public readonly string Text = text;
        public readonly int Line = line;
    }

    static bool IsDigit(string c) => "0123456789".Contains(c);
    static bool IsLetter(string c) => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_".Contains(c);

    static List<Token> Tokenize(string source)
    {
        var tokens = new List<Token>();
        int pos = 0;
        int line = 1;
        int n = source.Length;
        while (pos < n)
        {
            string c = source[pos].ToString();
            int start = pos;
            if (c == "\n")
            {
                line += 1;
                pos += 1;
            }
            else if (c == " ")
            {
                pos += 1;
            }
            else if (IsDigit(c))
            {
                while (pos < n && IsDigit(source[pos].ToString())) pos += 1;
                tokens.Add(new Token("num", source.Substring(start, pos - start), line));
            }
            else if (IsLetter(c))
            {
                while (pos < n && (IsLetter(source[pos].ToString()) || IsDigit(source[pos].ToString()))) pos += 1;
                tokens.Add(new Token("name", source.Substring(start, pos - start), line));
            }
            else if (c == "'")
            {
                pos += 1;
                while (pos < n && source[pos].ToString() != "'") pos += 1;
                if (pos >= n) throw new ScriptError("unterminated string", line);
                pos += 1;
                tokens.Add(new Token("str", source.Substring(start + 1, pos - 1 - (start + 1)), line));
            }
            else if (pos + 1 < n && new List<string> { "==", "!=", "<=", ">=" }.Contains(source.Substring(pos, 2)))
            {
                pos += 2;
                tokens.Add(new Token("op", source.Substring(start, pos - start), line));
            }
            else if ("+-*/%<>=(),".Contains(c))
            {
                pos += 1;
                tokens.Add(new Token("op", c, line));
            }
            else
            {
                throw new ScriptError($"unexpected character '{c}'", line);
            }
        }
        tokens.Add(new Token("eof", "", line));
        return tokens;
    }

    // -------------------------------------------------------------------------------------------- the parser

    sealed class Parser(List<Token> tokens, List<string> output)
    {
        readonly List<Token> tokens = tokens;
        readonly List<string> output = output;
        int pos = 0;
        // The binary operators of each precedence level, loosest first, and their codes.
        readonly List<List<string>> levels = new()
        {
            new() { "or" }, new() { "and" }, new() { "==", "!=", "<", "<=", ">", ">=" }, new() { "+", "-" },
            new() { "*", "/", "%" },
        };
        readonly Dictionary<string, int> codes = new()
        {
            ["or"] = OP_OR, ["and"] = OP_AND, ["=="] = OP_EQ, ["!="] = OP_NE, ["<"] = OP_LT, ["<="] = OP_LE,
            [">"] = OP_GT, [">="] = OP_GE, ["+"] = OP_ADD, ["-"] = OP_SUB, ["*"] = OP_MUL, ["/"] = OP_DIV, ["%"] = OP_MOD,
        };

        Token Peek() => tokens[pos];

        bool At(string text)
        {
            var t = tokens[pos];
            return t.Text == text && (t.Kind == "op" || t.Kind == "name");
        }

        Token Next()
        {
            var t = tokens[pos];
            pos += 1;
            return t;
        }

        void Expect(string text)
        {
            if (!At(text)) throw new ScriptError($"expected '{text}', found '{Peek().Text}'", Peek().Line);
            pos += 1;
        }

        string ParseName()
        {
            var t = Next();
            if (t.Kind != "name") throw new ScriptError($"expected a name, found '{t.Text}'", t.Line);
            return t.Text;
        }

        public List<Stmt> ParseProgram()
        {
            var stmts = ParseBlock();
            if (Peek().Kind != "eof") throw new ScriptError($"unexpected '{Peek().Text}'", Peek().Line);
            return stmts;
        }

        // Statements up to one of the words that end a block (or the end of the script).
        List<Stmt> ParseBlock()
        {
            var stmts = new List<Stmt>();
            while (Peek().Kind != "eof" && !At("end") && !At("else") && !At("elif")) stmts.Add(ParseStatement());
            return stmts;
        }

        List<string> ParseParams()
        {
            Expect("(");
            var names = new List<string>();
            if (!At(")"))
            {
                names.Add(ParseName());
                while (At(","))
                {
                    pos += 1;
                    names.Add(ParseName());
                }
            }
            Expect(")");
            return names;
        }

        Stmt ParseStatement()
        {
            var t = Peek();
            if (At("let"))
            {
                pos += 1;
                var n = ParseName();
                Expect("=");
                return new Let(n, ParseExpression());
            }
            if (At("fn") && tokens[pos + 1].Kind == "name")
            {
                pos += 1;
                var n = ParseName();
                var ps = ParseParams();
                var body = ParseBlock();
                Expect("end");
                return new FnDef(n, ps, body);
            }
            if (At("if"))
            {
                pos += 1;
                var conditions = new List<IExpr> { ParseExpression() };
                Expect("then");
                var blocks = new List<List<Stmt>> { ParseBlock() };
                var otherwise = new List<Stmt>();
                while (At("elif"))
                {
                    pos += 1;
                    conditions.Add(ParseExpression());
                    Expect("then");
                    blocks.Add(ParseBlock());
                }
                if (At("else"))
                {
                    pos += 1;
                    otherwise = ParseBlock();
                }
                Expect("end");
                return new If(conditions, blocks, otherwise);
            }
            if (At("while"))
            {
                pos += 1;
                var condition = ParseExpression();
                Expect("do");
                var body = ParseBlock();
                Expect("end");
                return new While(condition, body);
            }
            if (At("return"))
            {
                pos += 1;
                return new Return(ParseExpression());
            }
            if (At("print"))
            {
                pos += 1;
                return new Print(ParseExpression(), output);
            }
            if (t.Kind == "name" && tokens[pos + 1].Text == "=" && tokens[pos + 1].Kind == "op")
            {
                pos += 2;
                return new Assign(t.Text, ParseExpression(), t.Line);
            }
            return new ExprStmt(ParseExpression());
        }

        IExpr ParseExpression() => ParseBinary(0);

        // Left-associative binary operators from precedence level `level` on.
        IExpr ParseBinary(int level)
        {
            if (level == levels.Count) return ParseUnary();
            var left = ParseBinary(level + 1);
            while (levels[level].Contains(Peek().Text) && Peek().Kind != "str")
            {
                var op = Next();
                left = new Binary(codes[op.Text], left, ParseBinary(level + 1), op.Line);
            }
            return left;
        }

        IExpr ParseUnary()
        {
            var t = Peek();
            if (At("not"))
            {
                pos += 1;
                return new Not(ParseUnary());
            }
            if (At("-"))
            {
                pos += 1;
                return new Negate(ParseUnary(), t.Line);
            }
            var e = ParsePrimary();
            while (At("("))
            {
                pos += 1;
                var args = new List<IExpr>();
                if (!At(")"))
                {
                    args.Add(ParseExpression());
                    while (At(","))
                    {
                        pos += 1;
                        args.Add(ParseExpression());
                    }
                }
                Expect(")");
                e = new Call(e, args, t.Line);
            }
            return e;
        }

        IExpr ParsePrimary()
        {
            var t = Next();
            if (t.Kind == "num") return new Literal(new IntValue(Lang.ToInt(t.Text)));
            if (t.Kind == "str") return new Literal(new StrValue(t.Text));
            if (t.Kind == "name")
            {
                if (t.Text == "true") return new Literal(new BoolValue(true));
                if (t.Text == "false") return new Literal(new BoolValue(false));
                if (t.Text == "nil") return new Literal(new Value());
                if (t.Text == "fn")
                {
                    var ps = ParseParams();
                    var body = ParseBlock();
                    Expect("end");
                    return new Lambda(ps, body);
                }
                return new Name(t.Text, t.Line);
            }
            if (t.Text == "(" && t.Kind == "op")
            {
                var e = ParseExpression();
                Expect(")");
                return e;
            }
            throw new ScriptError($"unexpected '{t.Text}'", t.Line);
        }
    }

    // -------------------------------------------------------------------------------------------- main

    public static int Run(string[] args)
    {
        try
        {
            return ScriptMain(args);
        }
        catch (Lang.ValueError e)
        {
            // An error the program does not catch, reported as the language reports one (exit code 70).
            Console.Error.Write($"ValueError: {e.Message}\n  at main (interp.hl:614)\n");
            return 70;
        }
    }

    // The .hl program's main.
    static int ScriptMain(string[] args)
    {
        long n = 2500;
        if (args.Length > 0) n = Lang.ToInt(args[0]);
        var builtins = new Env(null);
        builtins.Define("str", new NativeValue("str", (a, _line) => new StrValue(a[0].Show())));
        builtins.Define("len", new NativeValue("len", (a, line) =>
        {
            if (a[0].Kind() != STR) throw new ScriptError($"len of {a[0].Show()}", line);
            return new IntValue(a[0].Show().Length);
        }));
        var globals = new Env(builtins);
        globals.Define("n", new IntValue(n));
        var output = new List<string>();
        try
        {
            var program = new Parser(Tokenize(Script()), output).ParseProgram();
            ExecBlock(program, globals);
        }
        catch (ScriptError e)
        {
            Console.Error.Write($"script error at line {e.Line}: {e.Message}\n");
            return 1;
        }
        foreach (var line in output) Console.Out.Write(line + "\n");
        return 0;
    }
}
