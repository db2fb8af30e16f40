using System.Text;
using Hlvm.Compiler;
using Hlvm.Runtime;
using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Memory;
using Hlvm.Runtime.Verification;

namespace Hlvm.AflFuzz;

/// <summary>What each fuzz target does with one input; an exception that escapes is a crash.</summary>
public static class Targets
{
    public static byte[] ReadAll(Stream stream)
    {
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    /// <summary>
    /// The module loader, verifier and interpreter. Allowed: a malformed module (<see cref="ModuleFormatException"/>),
    /// an unverifiable one (<see cref="VerifyException"/>), and runtime errors and exceeded limits (<see cref="VmError"/>).
    /// </summary>
    public static void Modules(byte[] input)
    {
        Module module;
        try { module = ModuleFormat.Read(input); }
        catch (ModuleFormatException) { return; }
        RunModule(module);
    }

    /// <summary>
    /// The compiler. Every exception is a crash, a failed compilation must say why, and a module the compiler
    /// produces must pass the verifier both as compiled and after a round trip through the module format.
    /// </summary>
    public static void Compiler(byte[] input)
    {
        // Decoded as the hlvm command decodes a source file.
        string text = new UTF8Encoding(false, false).GetString(input);
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var result = Compilation.Compile("fuzz.hl", text);
        if (result.Module is null)
        {
            if (result.Diagnostics.Count == 0) throw new InvalidOperationException("compilation failed without a diagnostic");
            foreach (var d in result.Diagnostics) _ = d.Format();
            return;
        }
        MustVerify(result.Module, "as compiled");
        MustVerify(ModuleFormat.Read(ModuleFormat.Write(result.Module)), "after writing and reading it back");
    }

    private static void MustVerify(Module module, string how)
    {
        try { Verifier.Verify(module); }
        catch (VerifyException e)
        {
            throw new InvalidOperationException($"the compiler emitted a module the verifier rejects ({how}): {e.Message}", e);
        }
    }

    /// <summary>Runs a module exactly as the deterministic fuzzer does (tests/Hlvm.Fuzz).</summary>
    private static void RunModule(Module module) => Hlvm.Fuzz.Fuzzer.RunModule(module);
}
