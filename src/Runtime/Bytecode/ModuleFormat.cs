using System.Buffers.Binary;
using System.Text;

namespace Hlvm.Runtime.Bytecode;

/// <summary>
/// The binary module format (<c>.hlc</c>). All integers are little-endian; "uleb" is an unsigned LEB128 of at
/// most 32 bits; a string is a uleb byte length followed by UTF-8 (WTF-8: a lone surrogate is spelt as its code point
/// would be, see <see cref="Wtf8"/>); a type is a kind byte (bit 7 set: nullable),
/// followed for an array by its element type and for an object by a uleb class index. The layout:
/// <code>
///   magic "HLVM"  u16 version  u16 flags (bit 0: a table of function sources follows the entry)
///   string name   string sourceFile
///   uleb n  string × n                           string constants
///   uleb n  class × n                            classes and interfaces
///   uleb n  type × n                             type table
///   uleb n  (string name, uleb p, type × p, type ret) × n          native imports
///   uleb n  function × n
///   uleb entry + 1 (0 = none)
///   class:    string name, u8 flags (1: interface), uleb super + 1, uleb i, uleb × i (interfaces),
///             uleb f, (string name, type) × f, uleb m, (string name, uleb function) × m,
///             uleb s, (string name, uleb p, type × p, type ret) × s
///   function: string name, uleb p, type × p, type ret, uleb extraLocals, type × extraLocals,
///             uleb maxStack, uleb codeLength, code bytes, uleb lines, (uleb offsetDelta, uleb line) × lines,
///             uleb handlers, (uleb start, uleb end, uleb handler, uleb class) × handlers
/// </code>
///   with flag bit 0: uleb n, (uleb function, string sourceFile) × n, function indexes increasing: the source
///   file of each function that comes from another file than the module's
/// Nothing else may follow.
/// </summary>
public static class ModuleFormat
{
    public static ReadOnlySpan<byte> Magic => "HLVM"u8;
    public const ushort Version = 1;

    /// <summary>Bounds that keep a hostile file from asking for absurd amounts of memory.</summary>
    public const int MaxCodeLength = 1 << 24, MaxLocals = ushort.MaxValue + 1, MaxStackLimit = 1 << 16;

    public static byte[] Write(Module module)
    {
        var w = new Writer();
        // The functions with a source file of their own. (Counted in a loop: LINQ over (string, int) pairs is the
        // framework's generic code for a value type, which .NET compiled at every write, 25 methods.)
        int sources = 0;
        foreach (var f in module.Functions) if (f.SourceFile is not null) sources++;
        w.Bytes(Magic);
        w.U16(Version);
        w.U16(sources > 0 ? (ushort)1 : (ushort)0);
        w.Str(module.Name);
        w.Str(module.SourceFile);
        w.Uleb(module.Strings.Count);
        foreach (var s in module.Strings) w.Str(s);
        w.Uleb(module.Classes.Count);
        foreach (var c in module.Classes)
        {
            w.Str(c.Name);
            w.Byte(c.IsInterface ? (byte)1 : (byte)0);
            w.Uleb(c.Super + 1);
            w.Uleb(c.Interfaces.Length);
            foreach (int i in c.Interfaces) w.Uleb(i);
            w.Uleb(c.Fields.Count);
            foreach (var f in c.Fields)
            {
                w.Str(f.Name);
                w.Type(f.Type);
            }
            w.Uleb(c.Methods.Count);
            foreach (var m in c.Methods)
            {
                w.Str(m.Name);
                w.Uleb(m.Function);
            }
            w.Uleb(c.Signatures.Count);
            foreach (var sig in c.Signatures) w.Signature(sig.Name, sig.Params, sig.Return);
        }
        w.Uleb(module.Types.Count);
        foreach (var t in module.Types) w.Type(t);
        w.Uleb(module.Natives.Count);
        foreach (var n in module.Natives) w.Signature(n.Name, n.Params, n.Return);
        w.Uleb(module.Functions.Count);
        foreach (var f in module.Functions)
        {
            w.Str(f.Name);
            w.Uleb(f.Params.Length);
            foreach (var p in f.Params) w.Type(p);
            w.Type(f.Return);
            w.Uleb(f.Locals.Length - f.Params.Length);
            foreach (var l in f.Locals.Skip(f.Params.Length)) w.Type(l);
            w.Uleb(f.MaxStack);
            w.Uleb(f.Code.Length);
            w.Bytes(f.Code);
            w.Uleb(f.Lines.Length);
            int prev = 0;
            foreach (var line in f.Lines)
            {
                w.Uleb(line.Offset - prev);
                w.Uleb(line.Line);
                prev = line.Offset;
            }
            w.Uleb(f.Handlers.Length);
            foreach (var h in f.Handlers)
            {
                w.Uleb(h.Start);
                w.Uleb(h.End);
                w.Uleb(h.Handler);
                w.Uleb(h.Class);
            }
        }
        w.Uleb(module.EntryFunction + 1);
        if (sources > 0)
        {
            w.Uleb(sources);
            for (int i = 0; i < module.Functions.Count; i++)
            {
                if (module.Functions[i].SourceFile is not { } file) continue;
                w.Uleb(i);
                w.Str(file);
            }
        }
        return w.ToArray();
    }

    /// <summary>Reads a module, or throws <see cref="ModuleFormatException"/> saying what is wrong and where.</summary>
    public static Module Read(ReadOnlySpan<byte> data)
    {
        var r = new Reader(data);
        if (data.Length < Magic.Length || !data[..Magic.Length].SequenceEqual(Magic))
            throw new ModuleFormatException(0, "not an Hlvm module (bad magic; expected \"HLVM\")");
        if (data.Length < 8) throw new ModuleFormatException(data.Length, $"truncated: the header needs 8 bytes, the file has {data.Length}");
        r.Skip(4);
        ushort version = r.U16();
        if (version != Version)
            throw new ModuleFormatException(4, $"unsupported module format version {version} (this runtime reads version {Version})");
        ushort flags = r.U16();
        if ((flags & ~1) != 0) throw new ModuleFormatException(6, $"unknown module flags 0x{flags:x4}");
        var m = new Module { Name = r.Str("module name"), SourceFile = r.Str("source file name") };
        int n = r.Count("string constants", 1);
        for (int i = 0; i < n; i++) m.Strings.Add(r.Str("string constant"));
        n = r.Count("classes", 6);
        r.ClassCount = n;
        var classNames = new HashSet<string>();
        for (int i = 0; i < n; i++)
        {
            int at = r.Position;
            var c = new ClassDef { Name = r.Str("class name") };
            if (!classNames.Add(c.Name)) throw new ModuleFormatException(at, $"duplicate class '{c.Name}'");
            byte classFlags = r.Bytes(1)[0];
            if (classFlags > 1) throw new ModuleFormatException(r.Position - 1, $"unknown class flags 0x{classFlags:x2}");
            c.IsInterface = classFlags == 1;
            c.Super = r.Index("superclass", n + 1) - 1;
            c.Interfaces = new int[r.Count("interfaces", 1)];
            for (int j = 0; j < c.Interfaces.Length; j++) c.Interfaces[j] = r.Index("interface", n);
            int fields = r.Count("fields", 2);
            for (int j = 0; j < fields; j++) c.Fields.Add(new FieldDef(r.Str("field name"), r.Type()));
            int methods = r.Count("methods", 2);
            for (int j = 0; j < methods; j++) c.Methods.Add(new MethodDef(r.Str("method name"), r.Uleb("method function")));
            int signatures = r.Count("interface methods", 3);
            for (int j = 0; j < signatures; j++)
            {
                string name = r.Str("interface method name");
                var ps = new VmType[r.Count("interface method parameters", 1)];
                for (int k = 0; k < ps.Length; k++) ps[k] = r.Type();
                c.Signatures.Add(new InterfaceMethod(name, ps, r.Type()));
            }
            m.Classes.Add(c);
        }
        n = r.Count("types", 1);
        for (int i = 0; i < n; i++) m.Types.Add(r.Type());
        n = r.Count("native imports", 3);
        var nativeNames = new HashSet<string>();
        for (int i = 0; i < n; i++)
        {
            int at = r.Position;
            string name = r.Str("native name");
            if (!nativeNames.Add(name)) throw new ModuleFormatException(at, $"duplicate native import '{name}'");
            var ps = new VmType[r.Count("native parameters", 1)];
            for (int j = 0; j < ps.Length; j++) ps[j] = r.Type();
            m.Natives.Add(new NativeImport(name, ps, r.Type()));
        }
        n = r.Count("functions", 6);
        var names = new HashSet<string>();
        for (int i = 0; i < n; i++)
        {
            int at = r.Position;
            var f = new FunctionDef { Name = r.Str("function name") };
            if (!names.Add(f.Name)) throw new ModuleFormatException(at, $"duplicate function '{f.Name}'");
            f.Params = new VmType[r.Count("parameters", 1)];
            for (int j = 0; j < f.Params.Length; j++) f.Params[j] = r.Type();
            f.Return = r.Type();
            int extra = r.Count("locals", 1);
            if (f.Params.Length + extra > MaxLocals)
                throw new ModuleFormatException(r.Position, $"function '{f.Name}' has {f.Params.Length + extra} locals (at most {MaxLocals})");
            f.Locals = new VmType[f.Params.Length + extra];
            f.Params.CopyTo(f.Locals, 0);
            for (int j = 0; j < extra; j++) f.Locals[f.Params.Length + j] = r.Type();
            foreach (var l in f.Locals)
                if (l.Kind == TypeKind.Void) throw new ModuleFormatException(r.Position, $"function '{f.Name}' has a local or parameter of type void");
            f.MaxStack = r.Uleb("max stack");
            if (f.MaxStack > MaxStackLimit)
                throw new ModuleFormatException(r.Position, $"function '{f.Name}' declares max stack {f.MaxStack} (at most {MaxStackLimit})");
            int codeLength = r.Count("code bytes", 1);
            if (codeLength > MaxCodeLength)
                throw new ModuleFormatException(r.Position, $"function '{f.Name}' has {codeLength} bytes of code (at most {MaxCodeLength})");
            f.Code = r.Bytes(codeLength).ToArray();
            var lines = new LineEntry[r.Count("line entries", 2)];
            long offset = 0;
            for (int j = 0; j < lines.Length; j++)
            {
                offset += r.Uleb("line offset");
                if (offset > codeLength) throw new ModuleFormatException(r.Position, $"line table of '{f.Name}' points past its code");
                lines[j] = new LineEntry((int)offset, r.Uleb("line number"));
            }
            f.Lines = lines;
            var handlers = new ExceptionHandler[r.Count("exception handlers", 4)];
            for (int j = 0; j < handlers.Length; j++)
            {
                int hat = r.Position;
                var h = new ExceptionHandler(r.Uleb("handler start"), r.Uleb("handler end"), r.Uleb("handler offset"), r.Index("handler class", m.Classes.Count));
                if (h.Start >= h.End || h.End > codeLength || h.Handler >= codeLength)
                    throw new ModuleFormatException(hat, $"exception handler {j} of '{f.Name}' covers [{h.Start}, {h.End}) and starts at {h.Handler}, which does not fit its {codeLength} bytes of code");
                handlers[j] = h;
            }
            f.Handlers = handlers;
            m.Functions.Add(f);
        }
        int entry = r.Uleb("entry function") - 1;
        if (entry < -1 || entry >= m.Functions.Count)
            throw new ModuleFormatException(r.Position, $"entry function index {entry} is out of range ({m.Functions.Count} functions)");
        m.EntryFunction = entry;
        if ((flags & 1) != 0)
        {
            int sources = r.Count("function sources", 2);
            if (sources == 0) throw new ModuleFormatException(r.Position, "the module flags announce a table of function sources, but it is empty");
            int last = -1;
            for (int i = 0; i < sources; i++)
            {
                int at = r.Position;
                int fn = r.Uleb("function of a source");
                if (fn <= last || fn >= m.Functions.Count)
                    throw new ModuleFormatException(at, $"function source {i} names function {fn}: indexes must increase and be below {m.Functions.Count}");
                m.Functions[fn].SourceFile = r.Str("function source file");
                last = fn;
            }
        }
        if (r.Position != data.Length)
            throw new ModuleFormatException(r.Position, $"{data.Length - r.Position} unexpected bytes after the end of the module");
        return m;
    }

    private sealed class Writer
    {
        private readonly MemoryStream _out = new();
        public void Bytes(ReadOnlySpan<byte> b) => _out.Write(b);
        public void U16(ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); _out.Write(b); }
        public void Uleb(int value)
        {
            uint v = checked((uint)value);
            do
            {
                byte b = (byte)(v & 0x7f);
                v >>= 7;
                _out.WriteByte(v != 0 ? (byte)(b | 0x80) : b);
            } while (v != 0);
        }
        public void Str(string s) { var b = Wtf8.Encode(s); Uleb(b.Length); Bytes(b); }
        public void Byte(byte b) => _out.WriteByte(b);

        /// <summary>A name, then a count of parameter types and the types, then the return type.</summary>
        public void Signature(string name, VmType[] parameters, VmType ret)
        {
            Str(name);
            Uleb(parameters.Length);
            foreach (var p in parameters) Type(p);
            Type(ret);
        }

        public void Type(VmType t)
        {
            if (t.Kind == TypeKind.Null) throw new ArgumentException("the null type has no encoding");
            _out.WriteByte((byte)((byte)t.Kind | (t.Nullable ? 0x80 : 0)));
            if (t.Kind == TypeKind.Array) Type(t.Element!);
            if (t.Kind == TypeKind.Object) Uleb(t.ClassIndex);
            if (t.Kind == TypeKind.Map)
            {
                Type(t.Key!);
                Type(t.Element!);
            }
            if (t.Kind == TypeKind.Func)
            {
                Uleb(t.Params!.Length);
                foreach (var p in t.Params) Type(p);
                Type(t.Element!);
            }
        }
        public byte[] ToArray() => _out.ToArray();
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private static readonly UTF8Encoding StrictUtf8 = new(false, true);
        public int Position { get; private set; }

        /// <summary>Classes in the module: object types must name one of them.</summary>
        public int ClassCount { get; set; }

        /// <summary>A uleb that must be below <paramref name="limit"/>.</summary>
        public int Index(string what, int limit)
        {
            int start = Position;
            int v = Uleb(what);
            if (v >= limit) throw new ModuleFormatException(start, $"{what} index {v} is out of range ({limit} allowed)");
            return v;
        }

        private readonly int Remaining => _data.Length - Position;

        public void Skip(int n) => Position += n;

        public ReadOnlySpan<byte> Bytes(int n)
        {
            if (n > Remaining) throw new ModuleFormatException(Position, $"truncated: needs {n} bytes, {Remaining} remain");
            var s = _data.Slice(Position, n);
            Position += n;
            return s;
        }

        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2));

        public int Uleb(string what)
        {
            int start = Position;
            uint result = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (Remaining == 0) throw new ModuleFormatException(start, $"truncated while reading {what}");
                byte b = _data[Position++];
                if (shift == 28 && (b & 0x70) != 0) throw new ModuleFormatException(start, $"{what} does not fit in 32 bits");
                result |= (uint)(b & 0x7f) << shift;
                if ((b & 0x80) == 0) break;
                if (shift == 28) throw new ModuleFormatException(start, $"{what} does not fit in 32 bits");
            }
            if (result > int.MaxValue) throw new ModuleFormatException(start, $"{what} {result} is too large");
            return (int)result;
        }

        /// <summary>A count of items that each take at least <paramref name="minBytes"/>; absurd counts fail here,
        /// before anything is allocated for them.</summary>
        public int Count(string what, int minBytes)
        {
            int start = Position;
            int n = Uleb(what);
            if ((long)n * minBytes > Remaining)
                throw new ModuleFormatException(start, $"{n} {what} cannot fit in the {Remaining} bytes that remain");
            return n;
        }

        public string Str(string what)
        {
            int start = Position;
            int n = Uleb(what);
            if (n > Remaining) throw new ModuleFormatException(start, $"{what} of {n} bytes cannot fit in the {Remaining} bytes that remain");
            var bytes = Bytes(n);
            if (Ascii(bytes) is { } ascii) return ascii;
            try { return StrictUtf8.GetString(bytes); }
            catch (DecoderFallbackException)
            {
                // A lone surrogate (Wtf8), which only a string constant holds.
                return Wtf8.Decode(bytes) ?? throw new ModuleFormatException(start, $"{what} is not valid UTF-8");
            }
        }

        /// <summary>
        /// ASCII bytes as a string, widened one by one; null when there is another byte. Nearly every name and
        /// constant of a module is ASCII, and the first use of .NET's UTF-8 decoder took 3.4 ms of every run's start
        /// (the types of its vectorised code, loaded on the thread that reads the program; time stamps in an
        /// instrumented build), where reading the whole of <c>hello.hlc</c> now takes 2.
        /// </summary>
        private static string? Ascii(ReadOnlySpan<byte> bytes)
        {
            foreach (byte b in bytes)
                if (b >= 0x80) return null;
            return string.Create(bytes.Length, bytes, static (chars, from) =>
            {
                for (int i = 0; i < from.Length; i++) chars[i] = (char)from[i];
            });
        }

        public VmType Type(int depth = 0)
        {
            int start = Position;
            if (depth > VmType.MaxDepth) throw new ModuleFormatException(start, $"type nested deeper than {VmType.MaxDepth}");
            byte b = Bytes(1)[0];
            bool nullable = (b & 0x80) != 0;
            byte k = (byte)(b & 0x7f);
            var t = (TypeKind)k switch
            {
                TypeKind.Void => VmType.Void,
                TypeKind.Int => VmType.Int,
                TypeKind.Float => VmType.Float,
                TypeKind.Bool => VmType.Bool,
                TypeKind.String => VmType.String,
                TypeKind.Array => ArrayType(depth, start),
                TypeKind.Object => VmType.ObjectOf(Index("class", ClassCount)),
                TypeKind.Map => MapType(depth, start),
                TypeKind.Func => FuncType(depth, start),
                _ => throw new ModuleFormatException(start, $"unknown type kind {k}"),
            };
            if (!nullable) return t;
            if (!t.IsReference) throw new ModuleFormatException(start, $"type {t} cannot be nullable");
            return t.AsNullable();
        }

        private VmType MapType(int depth, int start)
        {
            var key = Type(depth + 1);
            if (!VmType.IsMapKey(key)) throw new ModuleFormatException(start, $"a map cannot be keyed by {key} (keys are int, bool or string)");
            var value = Type(depth + 1);
            if (value.Kind == TypeKind.Void) throw new ModuleFormatException(start, "map of void");
            return VmType.MapOf(key, value);
        }

        private VmType FuncType(int depth, int start)
        {
            int n = Count("function type parameters", 1);
            if (n > VmType.MaxParams) throw new ModuleFormatException(start, $"function type with {n} parameters (at most {VmType.MaxParams})");
            var ps = new VmType[n];
            for (int i = 0; i < n; i++)
            {
                ps[i] = Type(depth + 1);
                if (ps[i].Kind == TypeKind.Void) throw new ModuleFormatException(start, "function type with a void parameter");
            }
            return VmType.FuncOf(ps, Type(depth + 1));
        }

        private VmType ArrayType(int depth, int start)
        {
            var e = Type(depth + 1);
            if (e.Kind == TypeKind.Void) throw new ModuleFormatException(start, "array of void");
            return VmType.ArrayOf(e);
        }
    }
}

/// <summary>A module file that is malformed: not a module, truncated, or inconsistent.</summary>
public sealed class ModuleFormatException(int offset, string reason)
    : Exception($"malformed module at byte {offset}: {reason}")
{
    public int Offset { get; } = offset;
    public string Reason { get; } = reason;
}
