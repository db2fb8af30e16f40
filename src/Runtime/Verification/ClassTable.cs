using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Verification;

/// <summary>
/// Checks a module's classes and interfaces and lays them out: superclass chains end (no cycles) and name
/// classes, interface lists name interfaces, methods name functions whose receiver is the class, an override
/// keeps the overridden method's parameters and return type, and every class implements every method of every
/// interface it (or a superclass) declares.
/// </summary>
internal static class ClassTable
{
    /// <summary>Most entries (fields, method slots, ancestors, interface slots, counted per class) a module's classes may have.</summary>
    public const long MaxEntries = 1 << 22;

    public static RuntimeClass[] Build(Module module, string moduleName)
    {
        var defs = module.Classes;
        var built = new RuntimeClass?[defs.Count];
        var visiting = new bool[defs.Count];
        var depth = new int[defs.Count];
        long entries = 0;

        VerifyException Fail(int c, string reason) => new(moduleName, $"<class {defs[c].Name}>", -1, reason);

        // A class is laid out after its superclass. The chain is walked up with a loop, not a recursion, so that
        // no chain a module can declare exhausts the host's stack; its depth is capped (Module.MaxInheritanceDepth),
        // which bounds the inherited fields, methods and ancestors each class copies.
        void BuildChain(int c)
        {
            var chain = new List<int>();
            for (int k = c; k >= 0 && built[k] is null; k = defs[k].Super)
            {
                if (visiting[k]) throw Fail(k, "the class inherits from itself");
                visiting[k] = true;
                chain.Add(k);
                if (defs[k].Super >= 0 && (defs[k].IsInterface || defs[defs[k].Super].IsInterface)) break; // BuildOne says why
            }
            for (int i = chain.Count - 1; i >= 0; i--) BuildOne(chain[i]);
        }

        void BuildOne(int c)
        {
            var def = defs[c];
            RuntimeClass? super = null;
            if (def.Super >= 0)
            {
                if (def.IsInterface) throw Fail(c, "an interface cannot have a superclass");
                if (defs[def.Super].IsInterface) throw Fail(c, $"its superclass '{defs[def.Super].Name}' is an interface");
                super = built[def.Super]!;
                depth[c] = depth[def.Super] + 1;
                if (depth[c] > Module.MaxInheritanceDepth)
                    throw Fail(c, $"it is more than {Module.MaxInheritanceDepth} superclasses deep");
            }
            if (def.IsInterface && (def.Fields.Count > 0 || def.Methods.Count > 0 || def.Interfaces.Length > 0))
                throw Fail(c, "an interface has only method signatures");
            if (!def.IsInterface && def.Signatures.Count > 0) throw Fail(c, "a class has no interface signatures");

            var inherited = super?.Fields ?? [];
            var fields = new FieldDef[inherited.Length + def.Fields.Count];
            inherited.CopyTo(fields, 0);
            def.Fields.CopyTo(fields, inherited.Length);
            var names = new HashSet<string>();
            foreach (var f in fields)
            {
                if (!names.Add(f.Name)) throw Fail(c, $"field '{f.Name}' is declared twice (or hides an inherited field)");
                if (f.Type.Kind == TypeKind.Void) throw Fail(c, $"field '{f.Name}' has type void");
            }

            // Copied by loops: a List made from an array copies it through the framework's generic array code, which
            // .NET compiles at run time for a value type (see SortedDistinct).
            var vtable = new List<int>();
            foreach (int slot in super?.VTable ?? []) vtable.Add(slot);
            var vnames = new List<string>(super?.VTableNames ?? []);
            var own = new HashSet<string>();
            foreach (var m in def.Methods)
            {
                if (!own.Add(m.Name)) throw Fail(c, $"method '{m.Name}' is declared twice");
                if (m.Function < 0 || m.Function >= module.Functions.Count) throw Fail(c, $"method '{m.Name}' names function {m.Function}, which does not exist");
                var fn = module.Functions[m.Function];
                if (fn.Params.Length == 0 || fn.Params[0] != VmType.ObjectOf(c))
                    throw Fail(c, $"method '{m.Name}' is function '{fn.Name}', whose first parameter is not a {def.Name}");
                int slot = vnames.IndexOf(m.Name);
                if (slot >= 0)
                {
                    var old = module.Functions[vtable[slot]];
                    if (!SameParams(old.Params, 1, fn.Params, 1) || old.Return != fn.Return)
                        throw Fail(c, $"method '{m.Name}' overrides '{old.Name}' with a different signature");
                    vtable[slot] = m.Function;
                }
                else
                {
                    vtable.Add(m.Function);
                    vnames.Add(m.Name);
                }
            }

            var ancestorList = new List<int>();
            foreach (int ancestor in super?.Ancestors ?? []) ancestorList.Add(ancestor);
            ancestorList.Add(c);
            var itables = new Dictionary<int, int[]>(super?.ITables ?? []);
            foreach (int i in def.Interfaces)
            {
                if (!defs[i].IsInterface) throw Fail(c, $"'{defs[i].Name}' is a class, not an interface");
                ancestorList.Add(i);
            }
            int[] ancestors = SortedDistinct(ancestorList);
            if (!def.IsInterface)
            {
                // Every interface of the class, its own or inherited, maps to the current method table, so that an
                // override in this class also serves the interface.
                foreach (int i in ancestors)
                {
                    if (!defs[i].IsInterface) continue;
                    var signatures = defs[i].Signatures;
                    var slots = new int[signatures.Count];
                    for (int k = 0; k < slots.Length; k++)
                    {
                        var sig = signatures[k];
                        int slot = vnames.IndexOf(sig.Name);
                        if (slot < 0) throw Fail(c, $"it does not implement method '{sig.Name}' of interface '{defs[i].Name}'");
                        var fn = module.Functions[vtable[slot]];
                        if (!SameParams(fn.Params, 1, sig.Params, 0) || fn.Return != sig.Return)
                            throw Fail(c, $"its method '{sig.Name}' does not have the signature interface '{defs[i].Name}' requires");
                        slots[k] = vtable[slot];
                    }
                    itables[i] = slots;
                }
            }
            else
            {
                var sigNames = new HashSet<string>();
                foreach (var sig in def.Signatures)
                {
                    if (!sigNames.Add(sig.Name)) throw Fail(c, $"interface method '{sig.Name}' is declared twice");
                    foreach (var p in sig.Params)
                        if (p.Kind == TypeKind.Void) throw Fail(c, $"interface method '{sig.Name}' has a void parameter");
                }
            }

            // Each class copies what it inherits; the sum over the module is capped, so that a small module of
            // many classes can't make the tables quadratically large (time and host memory before any limit).
            entries += fields.Length + vtable.Count + ancestors.Length;
            foreach (var slots in itables.Values) entries += slots.Length;
            if (entries > MaxEntries)
                throw Fail(c, $"the module's classes inherit more than {MaxEntries} fields, methods and interfaces in all (counted per class)");

            var refFields = new bool[fields.Length];
            var nonNullFields = new bool[fields.Length];
            for (int f = 0; f < fields.Length; f++)
            {
                refFields[f] = fields[f].Type.IsReference;
                nonNullFields[f] = fields[f].Type.IsReference && !fields[f].Type.Nullable;
            }
            var rc = new RuntimeClass
            {
                Index = c,
                Def = def,
                Super = super,
                Fields = fields,
                RefFields = refFields,
                NonNullFields = nonNullFields,
                MessageField = FieldIndex(fields, "message", TypeKind.String),
                TraceField = FieldIndex(fields, RuntimeClass.TraceFieldName, TypeKind.Int),
                VTable = [.. vtable],
                VTableNames = [.. vnames],
                ITables = itables,
                Ancestors = ancestors,
            };
            visiting[c] = false;
            built[c] = rc;
        }

        for (int c = 0; c < defs.Count; c++) BuildChain(c);
        return built!;
    }

    // The helpers below are loops and spans rather than LINQ and List.Sort: every module has classes (the prelude's
    // errors), so this code runs at the start of every program, where each generic type of the framework that it
    // touches is loaded for the first time (LINQ's iterators, the sort's helpers) and costs more than the work.

    /// <summary>The class indices in ascending order, each once (an insertion sort: a class has few ancestors).</summary>
    private static int[] SortedDistinct(List<int> indices)
    {
        var sorted = new int[indices.Count];
        int n = 0;
        foreach (int index in indices)
        {
            int at = n;
            while (at > 0 && sorted[at - 1] > index) at--;
            if (at > 0 && sorted[at - 1] == index) continue;
            Array.Copy(sorted, at, sorted, at + 1, n - at);
            sorted[at] = index;
            n++;
        }
        var distinct = new int[n];
        Array.Copy(sorted, distinct, n);
        return distinct;
    }

    /// <summary>Whether <paramref name="a"/> from <paramref name="fromA"/> on and <paramref name="b"/> from
    /// <paramref name="fromB"/> on are the same types.</summary>
    private static bool SameParams(VmType[] a, int fromA, VmType[] b, int fromB) =>
        a.AsSpan(Math.Min(fromA, a.Length)).SequenceEqual(b.AsSpan(Math.Min(fromB, b.Length)));

    /// <summary>The index of the field named <paramref name="name"/> of kind <paramref name="kind"/>, or -1.</summary>
    private static int FieldIndex(FieldDef[] fields, string name, TypeKind kind)
    {
        for (int i = 0; i < fields.Length; i++)
            if (fields[i].Name == name && fields[i].Type.Kind == kind) return i;
        return -1;
    }
}

/// <summary>Assignability and joins of types, given a module's classes.</summary>
internal sealed class TypeRules(Module module, RuntimeClass[] classes)
{
    /// <summary>True when a value of type <paramref name="from"/> may be used where <paramref name="to"/> is expected.</summary>
    public bool IsAssignable(VmType from, VmType to) =>
        VmType.IsAssignable(from, to, (a, b) => classes[a].Is(b));

    /// <summary>The most precise type both may be used as, or null when there is none (the paths disagree).</summary>
    public VmType? Join(VmType a, VmType b)
    {
        if (a == b) return a;
        if (IsAssignable(a, b)) return b;
        if (IsAssignable(b, a)) return a;
        if (!a.IsReference || !b.IsReference) return null;
        if (a.Kind == TypeKind.Null) return b.AsNullable();
        if (b.Kind == TypeKind.Null) return a.AsNullable();
        bool nullable = a.Nullable || b.Nullable;
        if (a.Kind != b.Kind || a.Kind != TypeKind.Object) return IsAssignable(a.AsNullable(), b.AsNullable()) ? b.AsNullable() : null;
        // The nearest superclass of a that b also is; failing that, the first interface of a that b implements.
        for (var c = classes[a.ClassIndex]; c is not null; c = c.Super)
            if (classes[b.ClassIndex].Is(c.Index)) return VmType.ObjectOf(c.Index) with { Nullable = nullable };
        foreach (int i in classes[a.ClassIndex].Ancestors)
            if (module.Classes[i].IsInterface && classes[b.ClassIndex].Is(i)) return VmType.ObjectOf(i) with { Nullable = nullable };
        return null;
    }
}
