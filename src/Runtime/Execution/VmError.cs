namespace Hlvm.Runtime.Execution;

/// <summary>
/// A runtime error raised by the program or the VM on its behalf (index out of range, division by zero, stack
/// overflow, heap exhausted). <see cref="ErrorClass"/> is the language-level class name; the interpreter fills
/// <see cref="StackTrace"/> with the program's frames, innermost first, as it unwinds.
/// </summary>
public class VmError(string errorClass, string message) : Exception(message)
{
    public string ErrorClass { get; } = errorClass;

    /// <summary>The program's frames when the error was raised, innermost first: <c>function (file:line)</c>.</summary>
    public new IReadOnlyList<string> StackTrace { get; internal set; } = [];

    /// <summary>
    /// The error as the CLI prints it: class, message, then one frame per line. The message is the program's own
    /// text and may be any length; a report shows at most <see cref="MaxReportedMessage"/> characters of it.
    /// </summary>
    public string Format() => string.Join('\n', [$"{ErrorClass}: {ReportedMessage}", .. FormatTrace()]);

    /// <summary>Most characters of a message an error report shows (its two ends, and how much is left out).</summary>
    public const int MaxReportedMessage = 2000;

    /// <summary>The message as a report shows it.</summary>
    public string ReportedMessage => Excerpt.Of(Message, MaxReportedMessage);

    /// <summary>The stack trace as printed: one indented line per frame.</summary>
    public IEnumerable<string> FormatTrace() =>
        StackTrace.Select(f => f.StartsWith("...", StringComparison.Ordinal) ? "  " + f : "  at " + f);
}

/// <summary>
/// A resource limit was reached (fuel, wall time, output, open files) or the host stopped the program. Not an
/// error of the program, and not catchable by it: the program ends.
/// </summary>
public sealed class LimitExceededError(string limit, string message) : VmError("LimitExceeded", message)
{
    /// <summary>The limit's name as its flag spells it without dashes, e.g. <c>fuel</c>, <c>timeout</c>, <c>max-output</c>.</summary>
    public string Limit { get; } = limit;
}

/// <summary>Names of the error classes the VM raises.</summary>
public static class ErrorClasses
{
    public const string Index = "IndexError";
    public const string DivisionByZero = "DivisionByZeroError";
    public const string StackOverflow = "StackOverflowError";
    public const string OutOfMemory = "OutOfMemoryError";
    public const string Null = "NullError";
    public const string Cast = "CastError";
    public const string Key = "KeyError";
    public const string Value = "ValueError";
    public const string IO = "IOError";
    public const string Permission = "PermissionError";
}
