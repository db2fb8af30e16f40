// bench/programs/json.hl written directly in C#: the ceiling for the code hlvm's JIT emits for it. The same classes,
// virtual methods, interface, closures, maps and string building, step by step: generates a JSON document with an
// LCG, parses it into a tree of JsonValue classes, prints it back compactly and indented, parses the indented text
// again and queries the records.
using System.Globalization;

namespace Ceiling;

static class JsonProgram
{
    // ------------------------------------------------------------------------------------------------ the tree

    // The language's Error, and the program's subclass of it.
    class Error : Exception
    {
        public Error(string message) : base(message) { }
    }

    sealed class JsonError : Error
    {
        public readonly int Position;
        public JsonError(string message, int position) : base(message) { Position = position; }
    }

    // The language's printing of a float: the shortest text that reads back as the same float, always with a `.`
    // or an exponent.
    static string FormatFloat(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        string s = value.ToString("R", CultureInfo.InvariantCulture);
        if (s.Contains('E')) return s.Replace("E", "e");
        return s.Contains('.') ? s : s + ".0";
    }

    static string FormatBool(bool value) => value ? "true" : "false";

    // A JSON value. Every method is overridden where it means something; the defaults are for scalars.
    class JsonValue
    {
        // "null", "bool", "int", "float", "string", "array" or "object".
        public virtual string Kind() => "value";

        // Appends the compact text (no white space) of the value to out.
        public virtual void Write(List<string> output) { }

        // Appends the value as Python's json.dumps(indent=2) writes it; indent is the current level's spaces.
        public virtual void WritePretty(List<string> output, string indent) { Write(output); }

        // Calls the visitor for the value and then, depth first, for everything inside it.
        public virtual void Walk(IVisitor visitor, long depth) { visitor.Visit(this, depth); }

        public virtual JsonObject AsObject() => null;
        public virtual long IntValue() => throw new JsonError($"not an int: a {Kind()}", -1);
        public virtual double FloatValue() => throw new JsonError($"not a float: a {Kind()}", -1);
        public virtual bool BoolValue() => throw new JsonError($"not a bool: a {Kind()}", -1);
        public virtual string StringValue() => throw new JsonError($"not a string: a {Kind()}", -1);
        public virtual List<JsonValue> Items() => throw new JsonError($"not an array: a {Kind()}", -1);
    }

    sealed class JsonNull : JsonValue
    {
        public override string Kind() => "null";
        public override void Write(List<string> output) { output.Add("null"); }
    }

    sealed class JsonBool : JsonValue
    {
        readonly bool value;
        public JsonBool(bool value) { this.value = value; }
        public override string Kind() => "bool";
        public override void Write(List<string> output) { output.Add(FormatBool(value)); }
        public override bool BoolValue() => value;
    }

    sealed class JsonInt : JsonValue
    {
        readonly long value;
        public JsonInt(long value) { this.value = value; }
        public override string Kind() => "int";
        public override void Write(List<string> output) { output.Add(value.ToString(CultureInfo.InvariantCulture)); }
        public override long IntValue() => value;
    }

    sealed class JsonFloat : JsonValue
    {
        readonly double value;
        public JsonFloat(double value) { this.value = value; }
        public override string Kind() => "float";
        // The shortest text that reads back as the same float, as Python's repr (for the magnitudes used here).
        public override void Write(List<string> output) { output.Add(FormatFloat(value)); }
        public override double FloatValue() => value;
    }

    sealed class JsonString : JsonValue
    {
        readonly string value;
        public JsonString(string value) { this.value = value; }
        public override string Kind() => "string";
        public override void Write(List<string> output) { output.Add(Quote(value)); }
        public override string StringValue() => value;
    }

    sealed class JsonArray : JsonValue
    {
        readonly List<JsonValue> elements;
        public JsonArray(List<JsonValue> elements) { this.elements = elements; }

        public override string Kind() => "array";
        public override List<JsonValue> Items() => elements;

        public override void Write(List<string> output)
        {
            output.Add("[");
            for (int i = 0; i < elements.Count; i++)
            {
                if (i > 0) output.Add(",");
                elements[i].Write(output);
            }
            output.Add("]");
        }

        public override void WritePretty(List<string> output, string indent)
        {
            if (elements.Count == 0)
            {
                output.Add("[]");
                return;
            }
            string inner = indent + "  ";
            output.Add("[\n");
            for (int i = 0; i < elements.Count; i++)
            {
                if (i > 0) output.Add(",\n");
                output.Add(inner);
                elements[i].WritePretty(output, inner);
            }
            output.Add("\n" + indent + "]");
        }

        public override void Walk(IVisitor visitor, long depth)
        {
            visitor.Visit(this, depth);
            foreach (var e in elements) e.Walk(visitor, depth + 1);
        }
    }

    sealed class JsonObject : JsonValue
    {
        // The dictionary keeps the keys in the order they were added (nothing is ever removed), which is the order
        // of the text.
        readonly Dictionary<string, JsonValue> fields;
        public JsonObject(Dictionary<string, JsonValue> fields) { this.fields = fields; }

        public override string Kind() => "object";
        public override JsonObject AsObject() => this;

        public bool Has(string key) => fields.ContainsKey(key);

        public JsonValue Get(string key)
        {
            if (!fields.TryGetValue(key, out var v)) throw new JsonError($"no field \"{key}\"", -1);
            return v;
        }

        public override void Write(List<string> output)
        {
            output.Add("{");
            bool first = true;
            foreach (string key in fields.Keys)
            {
                if (!first) output.Add(",");
                first = false;
                output.Add(Quote(key));
                output.Add(":");
                fields[key].Write(output);
            }
            output.Add("}");
        }

        public override void WritePretty(List<string> output, string indent)
        {
            if (fields.Count == 0)
            {
                output.Add("{}");
                return;
            }
            string inner = indent + "  ";
            output.Add("{\n");
            bool first = true;
            foreach (string key in fields.Keys)
            {
                if (!first) output.Add(",\n");
                first = false;
                output.Add(inner);
                output.Add(Quote(key));
                output.Add(": ");
                fields[key].WritePretty(output, inner);
            }
            output.Add("\n" + indent + "}");
        }

        public override void Walk(IVisitor visitor, long depth)
        {
            visitor.Visit(this, depth);
            foreach (string key in fields.Keys) fields[key].Walk(visitor, depth + 1);
        }
    }

    // The JSON text of a string: in quotes, with the characters that need it escaped.
    static string Quote(string s)
    {
        if (!s.Contains('\\') && !s.Contains('"') && !s.Contains('\n') && !s.Contains('\t')) return "\"" + s + "\"";
        return "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\t", "\\t") + "\"";
    }

    static string Compact(JsonValue v)
    {
        var output = new List<string>();
        v.Write(output);
        return string.Join("", output);
    }

    static string Pretty(JsonValue v)
    {
        var output = new List<string>();
        v.WritePretty(output, "");
        return string.Join("", output);
    }

    // ------------------------------------------------------------------------------------------------ the parser

    // A recursive-descent parser of the JSON this program writes: objects, arrays, strings with the escapes
    // \" \\ \/ \n \t \r, ints, floats, true, false and null, with white space between tokens.
    sealed class Parser
    {
        readonly string text;
        int pos = 0;

        public Parser(string source) { text = source; }

        // The characters from start up to (not including) end.
        string Slice(int start, int end) => text.Substring(start, end - start);

        public JsonValue Parse()
        {
            var v = Value();
            SkipSpace();
            if (pos != text.Length) throw new JsonError("text after the value", pos);
            return v;
        }

        void SkipSpace()
        {
            while (pos < text.Length)
            {
                char c = text[pos];
                if (c != ' ' && c != '\n' && c != '\t' && c != '\r') return;
                pos += 1;
            }
        }

        char Peek()
        {
            if (pos >= text.Length) throw new JsonError("unexpected end of the text", pos);
            return text[pos];
        }

        void Expect(string word)
        {
            if (pos + word.Length > text.Length || Slice(pos, pos + word.Length) != word)
                throw new JsonError($"expected {word}", pos);
            pos += word.Length;
        }

        JsonValue Value()
        {
            SkipSpace();
            char c = Peek();
            if (c == '{') return Object();
            if (c == '[') return Array();
            if (c == '"') return new JsonString(StringLiteral());
            if (c == 't')
            {
                Expect("true");
                return new JsonBool(true);
            }
            if (c == 'f')
            {
                Expect("false");
                return new JsonBool(false);
            }
            if (c == 'n')
            {
                Expect("null");
                return new JsonNull();
            }
            return Number();
        }

        JsonObject Object()
        {
            pos += 1;
            var fields = new Dictionary<string, JsonValue>();
            SkipSpace();
            if (Peek() == '}')
            {
                pos += 1;
                return new JsonObject(fields);
            }
            while (true)
            {
                SkipSpace();
                if (Peek() != '"') throw new JsonError("expected a key", pos);
                string key = StringLiteral();
                SkipSpace();
                if (Peek() != ':') throw new JsonError("expected ':'", pos);
                pos += 1;
                fields[key] = Value();
                SkipSpace();
                char c = Peek();
                pos += 1;
                if (c == '}') return new JsonObject(fields);
                if (c != ',') throw new JsonError("expected ',' or '}'", pos - 1);
            }
        }

        JsonArray Array()
        {
            pos += 1;
            var elements = new List<JsonValue>();
            SkipSpace();
            if (Peek() == ']')
            {
                pos += 1;
                return new JsonArray(elements);
            }
            while (true)
            {
                elements.Add(Value());
                SkipSpace();
                char c = Peek();
                pos += 1;
                if (c == ']') return new JsonArray(elements);
                if (c != ',') throw new JsonError("expected ',' or ']'", pos - 1);
            }
        }

        // A string literal; pos is at its opening quote. Runs without escapes are taken whole with Substring.
        string StringLiteral()
        {
            pos += 1;
            var parts = new List<string>();
            int start = pos;
            while (true)
            {
                char c = Peek();
                if (c == '"')
                {
                    parts.Add(Slice(start, pos));
                    pos += 1;
                    return string.Join("", parts);
                }
                if (c == '\\')
                {
                    parts.Add(Slice(start, pos));
                    pos += 1;
                    char e = Peek();
                    if (e == 'n') parts.Add("\n");
                    else if (e == 't') parts.Add("\t");
                    else if (e == 'r') parts.Add("\r");
                    else if (e == '"' || e == '\\' || e == '/') parts.Add(e.ToString());
                    else throw new JsonError($"unknown escape \\{e}", pos);
                    pos += 1;
                    start = pos;
                }
                else
                {
                    pos += 1;
                }
            }
        }

        JsonValue Number()
        {
            int start = pos;
            bool isFloat = false;
            while (pos < text.Length && "-+0123456789.eE".Contains(text[pos]))
            {
                char c = text[pos];
                if (c == '.' || c == 'e' || c == 'E') isFloat = true;
                pos += 1;
            }
            if (pos == start) throw new JsonError($"unexpected '{text[pos]}'", pos);
            string digits = Slice(start, pos);
            if (isFloat) return new JsonFloat(double.Parse(digits, NumberStyles.Float, CultureInfo.InvariantCulture));
            return new JsonInt(long.Parse(digits, NumberStyles.Integer, CultureInfo.InvariantCulture));
        }
    }

    // ------------------------------------------------------------------------------------------------ visitors

    interface IVisitor
    {
        void Visit(JsonValue value, long depth);
    }

    // Counts the values by kind, and adds up what the check line reports.
    sealed class Stats : IVisitor
    {
        readonly Dictionary<string, long> byKind = new();
        public long IntSum = 0;
        public long StringChars = 0;
        public long MaxDepth = 0;

        public long Values() => byKind.Values.Aggregate(0L, (sum, n) => sum + n);

        public void Visit(JsonValue value, long depth)
        {
            string kind = value.Kind();
            byKind[kind] = byKind.GetValueOrDefault(kind, 0) + 1;
            if (depth > MaxDepth) MaxDepth = depth;
            if (kind == "int") IntSum += value.IntValue();
            if (kind == "string") StringChars += value.StringValue().Length;
        }
    }

    // A visitor made of a function, for walks written as a lambda where they are used.
    sealed class FnVisitor : IVisitor
    {
        readonly Action<JsonValue, long> f;
        public FnVisitor(Action<JsonValue, long> f) { this.f = f; }
        public void Visit(JsonValue value, long depth) { f(value, depth); }
    }

    // ------------------------------------------------------------------------------------------------ the document

    // Writes the document as JSON text, straight from the generator and not through the tree, so that the round
    // trip compares the parser and printer with something independent of them.
    sealed class Generator
    {
        readonly Rng rng;
        long nextId = 0;
        readonly List<string> output = new();
        // The words of names and tags are plain; those of notes include characters that JSON escapes, written here
        // as they are in JSON text.
        readonly List<string> names = new() { "ada", "bob", "cyd", "dee", "eve", "fay", "gus", "hal" };
        readonly List<string> tags = new() { "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta" };
        readonly List<string> words = new() { "lorem", "ipsum", "dolor", "sit", "amet", "say \\\"hi\\\"", "back\\\\slash",
            "new\\nline", "tab\\tbed", "{braces}", "a:b,c", "[x]", "unicode-free", "tail" };

        public Generator(Rng rng) { this.rng = rng; }

        string Pick(List<string> list) => list[(int)rng.Next(list.Count)];

        public string Document(long records)
        {
            output.Add($"{{\"title\":\"generated\",\"count\":{records},\"records\":[");
            for (long i = 0; i < records; i++)
            {
                if (i > 0) output.Add(",");
                Record(0);
            }
            output.Add("]}");
            return string.Join("", output);
        }

        void Record(long depth)
        {
            long id = nextId;
            nextId += 1;
            string name = Pick(names);
            double score = (double)(rng.Next(40000) - 20000) / 4.0;
            bool active = rng.Next(3) != 0;
            output.Add($"{{\"id\":{id},\"name\":\"{name}-{id}\",\"score\":{FormatFloat(score)},\"active\":{FormatBool(active)},\"tags\":[");
            long tagCount = rng.Next(4);
            for (long i = 0; i < tagCount; i++)
            {
                if (i > 0) output.Add(",");
                output.Add($"\"{Pick(tags)}\"");
            }
            output.Add("],\"note\":");
            if (rng.Next(4) == 0)
            {
                output.Add("null");
            }
            else
            {
                long n = 1 + rng.Next(4);
                var note = new List<string>();
                for (long i = 0; i < n; i++) note.Add(Pick(words));
                output.Add($"\"{string.Join(" ", note)}\"");
            }
            long views = rng.Next(100000);
            long likes = rng.Next(1000);
            output.Add($",\"stats\":{{\"views\":{views},\"likes\":{likes}}},\"children\":[");
            long children = 0;
            if (depth < 3) children = rng.Next(3);
            for (long i = 0; i < children; i++)
            {
                if (i > 0) output.Add(",");
                Record(depth + 1);
            }
            output.Add("]}");
        }
    }

    // ------------------------------------------------------------------------------------------------ main

    public static int Run(string[] args)
    {
        try
        {
            RunMain(args);
            return 0;
        }
        catch (Lang.ValueError e)
        {
            // A size that is not an int: the error escapes main, at its line.
            Console.Out.Flush();
            Console.Error.Write($"ValueError: {e.Message}\n  at main (json.hl:443)\n");
            return 70;
        }
        catch (Error e)
        {
            // An uncaught error ends the program with its class and message on standard error, and exit code 70.
            Console.Error.WriteLine($"{e.GetType().Name}: {e.Message}");
            return 70;
        }
    }

    static void RunMain(string[] args)
    {
        long size = 1500;
        if (args.Length > 0) size = Lang.ToInt(args[0]);
        string text = new Generator(new Rng(20261125)).Document(size);

        var doc = new Parser(text).Parse();
        if (Compact(doc) != text) throw new Error("the compact printing differs from the generated text");
        string indented = Pretty(doc);
        if (Compact(new Parser(indented).Parse()) != text) throw new Error("the indented text parses to a different tree");

        var stats = new Stats();
        doc.Walk(stats, 0);

        // Every object with an id is a record, at any depth.
        var records = new List<JsonObject>();
        doc.Walk(new FnVisitor((v, _) =>
        {
            var o = v.AsObject();
            if (o != null && o.Has("id")) records.Add(o);
        }), 0);

        var tagCounts = new Dictionary<string, long>();
        long activeViews = 0;
        foreach (var r in records)
        {
            foreach (var t in r.Get("tags").Items())
            {
                string tag = t.StringValue();
                tagCounts[tag] = tagCounts.GetValueOrDefault(tag, 0) + 1;
            }
            if (r.Get("active").BoolValue())
            {
                var recordStats = r.Get("stats").AsObject();
                if (recordStats != null) activeViews += recordStats.Get("views").IntValue();
            }
        }
        var tags = new List<string>(tagCounts.Keys);
        tags.Sort((a, b) =>
        {
            if (tagCounts[a] != tagCounts[b]) return Math.Sign(tagCounts[b] - tagCounts[a]);
            return string.CompareOrdinal(a, b);
        });

        // The best scores first; equal scores by id.
        records.Sort((a, b) =>
        {
            double sa = a.Get("score").FloatValue();
            double sb = b.Get("score").FloatValue();
            if (sa > sb) return -1;
            if (sa < sb) return 1;
            return Math.Sign(a.Get("id").IntValue() - b.Get("id").IntValue());
        });
        string best = string.Join(" ", records.GetRange(0, 3).ConvertAll(r => r.Get("id").IntValue().ToString(CultureInfo.InvariantCulture)));

        Console.WriteLine($"round trip ok: {stats.Values()} values, {records.Count} records, int sum {stats.IntSum}, " +
            $"{stats.StringChars} string chars, depth {stats.MaxDepth}, indented {indented.Length} chars, " +
            $"top tag \"{tags[0]}\" {tagCounts[tags[0]]}, active views {activeViews}, best {best}");
    }
}
