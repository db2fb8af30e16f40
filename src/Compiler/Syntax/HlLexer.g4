// The lexer of the Hlvm language; see HlParser.g4 for the grammar as a whole.
lexer grammar HlLexer;

@members {
    /// <summary>An unbalanced '}' must not pop an empty mode stack (ANTLR would throw); it stays in the
    /// default mode and the parser reports the stray brace.</summary>
    public override int PopMode() => ModeStack.Count > 0 ? base.PopMode() : DEFAULT_MODE;

    /// <summary>
    /// A line break inside an interpolation means its '}' is missing (strings are one line): the break becomes
    /// an UNCLOSED_INTERP token and the lexer leaves the string, so that the next line lexes normally.
    /// </summary>
    private void OnLineBreak()
    {
        if (!ModeStack.Contains(STRING))
        {
            Channel = Hidden;
            return;
        }
        Type = UNCLOSED_INTERP;
        LeaveStrings();
    }

    /// <summary>
    /// A '}' pops the mode its '{' pushed; the one that closes an interpolation (the mode under it is the string's)
    /// is an INTERP_END, so that the parser never takes it for a block's end: after an error inside an
    /// interpolation, its recovery took the '}' for the end of the enclosing block, and every line after it was
    /// reported as standing outside any function.
    /// </summary>
    private void OnRightBrace()
    {
        if (ModeStack.Count > 0 && ModeStack.Peek() == STRING) Type = INTERP_END;
        PopMode();
    }

    /// <summary>Pops modes until the lexer is outside every string literal (and so back in the default mode).</summary>
    private void LeaveStrings()
    {
        while (ModeStack.Contains(STRING)) base.PopMode();
        if (CurrentMode == STRING) PopMode();
    }
}

// '{' pushes the default mode and '}' pops it, so that the '}' closing an interpolation returns to STRING (as an
// INTERP_END: see OnRightBrace).
LBRACE        : '{' -> pushMode(DEFAULT_MODE) ;
RBRACE        : '}' { OnRightBrace(); } ;
IMPORT        : 'import' ;
AS            : 'as' ;
PUB           : 'pub' ;
FN            : 'fn' ;
LET           : 'let' ;
VAR           : 'var' ;
IF            : 'if' ;
ELSE          : 'else' ;
WHILE         : 'while' ;
FOR           : 'for' ;
IN            : 'in' ;
BREAK         : 'break' ;
CONTINUE      : 'continue' ;
RETURN        : 'return' ;
TRUE          : 'true' ;
FALSE         : 'false' ;
NULL          : 'null' ;
CLASS         : 'class' ;
INTERFACE     : 'interface' ;
INIT          : 'init' ;
SELF          : 'self' ;
SUPER         : 'super' ;
OVERRIDE      : 'override' ;
TRY           : 'try' ;
CATCH         : 'catch' ;
FINALLY       : 'finally' ;
THROW         : 'throw' ;
SHL_ASSIGN    : '<<=' ;
SHR_ASSIGN    : '>>=' ;
ARROW         : '->' ;
FAT_ARROW     : '=>' ;
QQ            : '??' ;
QDOT          : '?.' ;
DOTDOT        : '..' ;
ADD_ASSIGN    : '+=' ;
SUB_ASSIGN    : '-=' ;
MUL_ASSIGN    : '*=' ;
DIV_ASSIGN    : '/=' ;
MOD_ASSIGN    : '%=' ;
AND_ASSIGN    : '&=' ;
OR_ASSIGN     : '|=' ;
XOR_ASSIGN    : '^=' ;
EQ            : '==' ;
NE            : '!=' ;
LE            : '<=' ;
GE            : '>=' ;
SHL           : '<<' ;
SHR           : '>>' ;
ANDAND        : '&&' ;
OROR          : '||' ;
DOT           : '.' ;
QUESTION      : '?' ;
LPAREN        : '(' ;
RPAREN        : ')' ;
LBRACK        : '[' ;
RBRACK        : ']' ;
COMMA         : ',' ;
COLON         : ':' ;
SEMI          : ';' ;
LT            : '<' ;
GT            : '>' ;
ASSIGN        : '=' ;
PLUS          : '+' ;
MINUS         : '-' ;
STAR          : '*' ;
SLASH         : '/' ;
PERCENT       : '%' ;
BANG          : '!' ;
TILDE         : '~' ;
AMP           : '&' ;
CARET         : '^' ;
PIPE          : '|' ;
ID            : [a-zA-Z_] [a-zA-Z_0-9]* ;
FLOAT         : DIGITS '.' DIGITS EXPONENT? | DIGITS EXPONENT ;
INT           : DIGITS | '0x' [0-9a-fA-F] [0-9a-fA-F_]* | '0b' [01] [01_]* ;
// '0x' or '0b' with no digit after it (with one, INT is the longer match), a prefix the language does not have
// (upper case, octal), or a binary literal with a digit past 1 (`0b12`, longer than the INT `0b1`): an error token
// the parser reports.
NO_DIGITS     : '0x' | '0b' | '0X' | '0B' | '0o' | '0O' | '0b' [01_]* [2-9] [0-9_]* ;
fragment DIGITS   : [0-9] [0-9_]* ;
fragment EXPONENT : [eE] [+-]? [0-9]+ ;
STR_START     : '"' -> pushMode(STRING) ;
LINE_COMMENT  : '//' ~[\r\n]* -> channel(HIDDEN) ;
BLOCK_COMMENT : '/*' .*? '*/' -> channel(HIDDEN) ;
UNCLOSED_COMMENT : '/*' ( ~[*] | '*'+ ~[*/] )* '*'* EOF ;
WS            : [ \t]+ -> channel(HIDDEN) ;
NEWLINE       : ('\r'? '\n' | '\r') { OnLineBreak(); } ;
UNCLOSED_INTERP : '\u0000' '\u0000' '\u0000' ;  // never matched: the type OnLineBreak gives a line break in an interpolation
INTERP_END    : '\u0000' '\u0000' '\u0001' ;  // never matched: the type OnRightBrace gives the '}' that closes an interpolation
// Any other character is an error token the parser reports, never a lexer exception.
BAD_CHAR      : . ;

mode STRING;
STR_END       : '"' -> popMode ;
STR_TEXT      : ~["\\{\r\n]+ ;
STR_UNICODE   : '\\u{' [0-9a-fA-F]+ '}' ;
// A backslash never takes the line break after it: the string ends unterminated there (STR_NEWLINE), as without one.
// The text is read as UTF-16, so a character past U+FFFF is a surrogate pair: an escape takes both halves (an
// unknown escape's message shows the character, not half of it).
STR_ESCAPE    : '\\' ([\uD800-\uDBFF] [\uDC00-\uDFFF] | ~[\r\n])? ;
INTERP_START  : '{' -> pushMode(DEFAULT_MODE) ;
// A line break before the closing quote: the literal is unterminated.
STR_NEWLINE   : [\r\n] { LeaveStrings(); } ;
