namespace Hlvm.Runtime.Execution;

/// <summary>
/// What a control character a program chose becomes where hlvm shows it (its output at a terminal, a profile's
/// names): a C0 control its Control Picture (U+2400 and on), DEL its own (U+2421), anything else U+FFFD. Which
/// characters are replaced is the caller's: the sandbox's output keeps tabs and line breaks, a profile's names
/// keep none.
/// </summary>
public static class ControlPictures
{
    public static char Of(char c) => c < ' ' ? (char)(0x2400 + c) : c == '\x7f' ? '\u2421' : '\uFFFD';
}
