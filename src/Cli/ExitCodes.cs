namespace Hlvm.Cli;

/// <summary>The exit codes of <c>hlvm</c> (after BSD's sysexits.h), documented in <c>--help</c> and the README.</summary>
public static class ExitCodes
{
    /// <summary>Success; for <c>run</c>, or the value <c>main</c> returned.</summary>
    public const int Ok = 0;
    /// <summary>The command line is wrong.</summary>
    public const int Usage = 64;
    /// <summary>The program does not compile, the module is malformed or fails verification, or a bundle is
    /// malformed, truncated, tampered with, unsigned or not trusted.</summary>
    public const int DataError = 65;
    /// <summary>An input file does not exist or cannot be read.</summary>
    public const int NoInput = 66;
    /// <summary>The program ended with an uncaught runtime error (or the VM failed).</summary>
    public const int RuntimeError = 70;
    /// <summary>An output file cannot be written.</summary>
    public const int CantCreate = 73;
    /// <summary>The program breached a resource limit (<c>--fuel</c>, <c>--timeout</c>, <c>--max-heap</c>, ...).</summary>
    public const int LimitExceeded = 75;
    /// <summary>The program ended with an uncaught <c>PermissionError</c>: the sandbox refused it something.</summary>
    public const int NoPermission = 77;

    public const string Help = """
        Exit codes:
          0   success (for run: or the int that main returned)
          64  bad usage of the command line
          65  compile error, a malformed or unverifiable module, or a bundle that is
              malformed, tampered with, unsigned or signed by an untrusted key
          66  input file not found or unreadable
          70  uncaught runtime error (IndexError, StackOverflowError, OutOfMemoryError, ...)
          73  output file cannot be written
          75  a resource limit was breached: --fuel, --timeout, --max-heap, --max-stack,
              --max-output, --max-open-files (the message names it)
          77  uncaught PermissionError: the program used a file, variable or host it
              was not granted (the message names the flag that grants it)
        """;
}
