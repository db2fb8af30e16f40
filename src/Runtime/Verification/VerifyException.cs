namespace Hlvm.Runtime.Verification;

/// <summary>A module failed verification: it is well formed but would not be safe to run.</summary>
public sealed class VerifyException(string module, string function, int offset, string reason)
    : Exception($"verify error in {module}: function '{function}' at offset {offset}: {reason}")
{
    public string Module { get; } = module;
    public string Function { get; } = function;

    /// <summary>Byte offset of the offending instruction in the function's code, or -1 for the function as a whole.</summary>
    public int Offset { get; } = offset;

    public string Reason { get; } = reason;
}
