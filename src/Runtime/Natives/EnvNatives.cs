using Hlvm.Runtime.Bytecode;
using Hlvm.Runtime.Execution;

namespace Hlvm.Runtime.Natives;

/// <summary>
/// The natives of <c>std.env</c>: the program's arguments, the host's environment variables, and ending the
/// program with an exit code.
/// </summary>
internal static class EnvNatives
{
    private static readonly VmType S = VmType.String, I = VmType.Int, V = VmType.Void;

    /// <summary>
    /// The largest code <c>env.exit</c> accepts. Shells give 126 and up their own meanings (126: cannot execute,
    /// 127: not found, 128 + n: killed by signal n) and only the low 8 bits of a code survive, so a program keeps
    /// to 0..125. Codes 64 to 78 are sysexits.h's, which the VM uses too (70 for an uncaught error): a program
    /// may use them in the same sense.
    /// </summary>
    public const int MaxExitCode = 125;

    /// <summary>Whether an environment variable may have the name <paramref name="name"/>: not empty, no '=' and
    /// no NUL. <c>env.get</c> of any other name is null, which needs no grant (it says nothing of the environment),
    /// and <c>--allow-env</c> refuses one.</summary>
    public static bool IsVariableName(string name) => name.Length > 0 && !name.Contains('=') && !name.Contains('\0');

    public static readonly NativeDef[] All =
    [
        new("env.args", [], VmType.ArrayOf(S), null, "the program's arguments: a new array of the strings main(args) receives",
            (vm, a) => StringNatives.NewStringArray(vm.Heap, [.. vm.Args])),
        new("env.get", [S], S.AsNullable(), "env", "the value of an environment variable, or null when it is not set (or the name can't be one)",
            (vm, a) =>
            {
                string name = StringNatives.Str(vm, a[0]);
                if (!IsVariableName(name)) return 0;
                return vm.Host.GetEnvironmentVariable(name) is { } value ? StringNatives.NewString(vm, value) : 0;
            }),
        new("env.exit", [I], V, null, "ends the program at once with an exit code 0 to 125 (126 and up mean other things to shells): no finally runs; ValueError for another code",
            (vm, a) => a[0] is >= 0 and <= MaxExitCode
                ? throw new ProgramExit((int)a[0])
                : throw new VmError(ErrorClasses.Value, $"exit({a[0]}): an exit code must be 0 to {MaxExitCode}")),
    ];
}
