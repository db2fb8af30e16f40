using System.Text;

namespace Hlvm.Cli;

/// <summary>
/// The exit codes of <c>hlvm</c> (after BSD's sysexits.h). <see cref="Table"/> is their one description:
/// <c>hlvm --help</c> prints it, and a test checks that the README's table says the same words.
/// </summary>
public static class ExitCodes
{
    /// <summary>Success; for <c>run</c>, or the value <c>main</c> returned.</summary>
    public const int Ok = 0;
    /// <summary><c>run --engine compare</c>: the engines' outputs or exit codes differ.</summary>
    public const int EnginesDiffer = 1;
    /// <summary>The command line is wrong.</summary>
    public const int Usage = 64;
    /// <summary>The program does not compile, the module is malformed or fails verification, or a bundle is
    /// malformed, truncated, tampered with, unsigned or not trusted.</summary>
    public const int DataError = 65;
    /// <summary>An input (a file, a key file, a bundle's URL) does not exist, cannot be read or cannot be reached.</summary>
    public const int NoInput = 66;
    /// <summary>The program ended with an uncaught runtime error (or the VM failed).</summary>
    public const int RuntimeError = 70;
    /// <summary>An output file, standard output, or <c>prof</c>'s report (on standard error, without <c>-o</c>) cannot be written (or <c>serve</c> cannot listen).</summary>
    public const int CantCreate = 73;
    /// <summary>The program breached a resource limit (<c>--fuel</c>, <c>--timeout</c>, <c>--max-heap</c>, ...).</summary>
    public const int LimitExceeded = 75;
    /// <summary>The program ended with an uncaught <c>PermissionError</c>: the sandbox refused it something.</summary>
    public const int NoPermission = 77;
    /// <summary><c>prof</c> was interrupted (Ctrl-C): the program stopped and its profile was written; 128 + SIGINT,
    /// the status a shell shows for a program that the signal ends (as it ends every other command).</summary>
    public const int Interrupted = 130;
    /// <summary>Standard output is a pipe whose reader has gone: 128 + SIGPIPE, the status a shell shows for a
    /// program that the signal ends.</summary>
    public const int BrokenPipe = 141;

    /// <summary>Each code and what it means, as the README's table has it (with `code` marks there).</summary>
    public static readonly IReadOnlyList<(int Code, string Meaning)> Table =
    [
        (Ok, "success, or for `run` the `int` that `main` returned (modulo 256), or the code given to `env.exit` (0 to 125)"),
        (EnginesDiffer, "`run --engine compare`: the interpreter and the JIT gave different output or exit codes (the first difference is printed)"),
        (Usage, "bad usage of the command line: an unknown command or option, a missing or malformed value, a missing or extra argument"),
        (DataError, "a compile error, a source file that is not UTF-8, a malformed or unverifiable module (or, for check and run, one without an entry function), a bundle that is malformed, truncated, tampered with, unsigned or signed by a key not trusted (such a bundle never starts), an app file pack can't take, or cache verify finding a damaged entry (which it removes)"),
        (NoInput, "an input not found or unreadable: a file, a key file, or a bundle's URL that answers with an error or can't be reached (and is not cached)"),
        (RuntimeError, "an uncaught error: one the program threw, a runtime fault (`IndexError`, `KeyError`, `DivisionByZeroError`, `NullError`, `CastError`, `ValueError`, `IOError`; a bundle's resource that fails its check when the app reads it is an `IOError`), or an internal error of the VM"),
        (CantCreate, "an output file, standard output (a full disk), or the report of a `prof` without `-o` on standard error cannot be written, or `serve` cannot listen on its port"),
        (LimitExceeded, "a resource limit was breached: `--fuel`, `--timeout`, `--max-heap`, `--max-stack` (an uncaught `OutOfMemoryError` or `StackOverflowError`), `--max-output`, `--max-open-files`, `--max-disk`, or the 64 Mi characters of standard input that `--engine compare` keeps for the JIT's run; the message names it"),
        (NoPermission, "an uncaught `PermissionError`: the program used a file, variable or host it was not granted; the message names the flag that grants it"),
        (Interrupted, "`prof` interrupted by Ctrl-C (SIGINT): the program stopped where it was and the profile of what ran was written (a second Ctrl-C ends hlvm at once); every other command ends at the first, with the same code"),
        (BrokenPipe, "standard output is a pipe whose reader has gone (`hlvm run prog.hl | head -2`): the program stops at its next write and nothing more is printed, as SIGPIPE (128 + 13) stops a C or Go program"),
    ];

    /// <summary>The table as <c>hlvm --help</c> prints it: without the `code` marks, wrapped to 80 columns.</summary>
    public static string Help
    {
        get
        {
            var text = new StringBuilder("Exit codes:\n");
            foreach (var (code, meaning) in Table)
            {
                var line = new StringBuilder($"  {code,-4}");
                foreach (var word in meaning.Replace("`", "").Split(' '))
                {
                    if (line.Length + 1 + word.Length > 78 && line.Length > 6)
                    {
                        text.Append(line.ToString().TrimEnd()).Append('\n');
                        line.Clear().Append("      ");
                    }
                    else if (line.Length > 6) line.Append(' ');
                    line.Append(word);
                }
                text.Append(line).Append('\n');
            }
            return text.ToString().TrimEnd('\n');
        }
    }
}
