namespace Hlvm.Runtime.Execution;

/// <summary>
/// The program asked to end at once (<c>env.exit</c>). Not a <see cref="VmError"/>: the interpreter neither turns
/// it into an error object nor looks for handlers, so no <c>catch</c> sees it and no <c>finally</c> runs, as with
/// Java's <c>System.exit</c>. <see cref="Vm.RunMain"/> catches it and returns <see cref="Code"/>.
/// </summary>
public sealed class ProgramExit(int code) : Exception($"the program exited with code {code}")
{
    /// <summary>The exit code the program chose (0 to 125; <c>env.exit</c> checks it).</summary>
    public int Code { get; } = code;
}
