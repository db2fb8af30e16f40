// The grammar of the Hlvm language (the lexer is HlLexer.g4). The C# lexer and parser in Generated/ are made by
// scripts/gen-parser.sh (antlr-ng, targeting Antlr4.Runtime.Standard 4.13.1); a test regenerates them and
// fails when the committed files differ.
//
// Statements are not separated by semicolons: the grammar needs no separator because no statement can run
// into the next one, except that a line starting with '(' or '[' continues the expression of the line before
// it (as in JavaScript without semicolons). A ';' may be written anywhere a statement ends.
//
// String literals are lexed in a mode of their own so that interpolations ("x = {x}") can hold any
// expression, including string literals and braces: '{' in a string pushes the default mode and the
// matching '}' pops it.
parser grammar HlParser;

options { tokenVocab = HlLexer; }

@members {
    /// <summary>True when the next token is on the line of the token just matched.</summary>
    private bool SameLine() => TokenStream.LT(1).Line == TokenStream.LT(-1).Line;
}

program       : importDecl* topDecl* EOF ;
importDecl    : IMPORT qualifiedName (AS ID)? SEMI? ;
qualifiedName : ID (DOT ID)* ;
topDecl       : functionDecl | classDecl | interfaceDecl | constDecl ;

// A constant of the module: `pub let PI = 3.14159`. Its value is a literal (a negated number included).
constDecl     : PUB? LET name=ID (COLON type)? ASSIGN expr ;

// A class or interface name, qualified by an imported module's name when it comes from one: `shapes.Circle`.
typeName      : (module=ID DOT)? name=ID ;

// class Name : Base, Interface { fields, init, methods }: at most one base class, any number of interfaces.
classDecl     : PUB? CLASS name=ID (COLON supers+=typeName (COMMA supers+=typeName)*)? LBRACE classMember* RBRACE ;
classMember   : fieldDecl | initDecl | methodDecl | SEMI ;
fieldDecl     : (LET | VAR)? name=ID COLON type (ASSIGN expr)? ;
initDecl      : INIT LPAREN paramList? RPAREN block ;
methodDecl    : OVERRIDE? functionDecl ;
interfaceDecl : PUB? INTERFACE name=ID LBRACE (signature | SEMI)* RBRACE ;
signature     : FN name=ID LPAREN paramList? RPAREN (ARROW returnType=type)? ;
functionDecl  : PUB? FN name=ID LPAREN paramList? RPAREN (ARROW returnType=type)? block ;
paramList     : param (COMMA param)* COMMA? ;
param         : ID COLON type ;

type          : typeName                                  # namedType
              | LBRACK type RBRACK                              # arrayType
              | type QUESTION                                   # nullableType
              | LBRACE key=type COLON value=type RBRACE         # mapType
              // fn(int, string) -> bool; without '->' the function returns nothing. (fn() -> int)? is nullable.
              | FN LPAREN (type (COMMA type)*)? RPAREN (ARROW returnType=type)?  # funcType
              | LPAREN type RPAREN                              # parenType
              ;

// A ';' may end any statement; stray ones are empty statements.
block         : LBRACE (statement | SEMI)* RBRACE ;

// The body of an if, while or for must be a block. Any statement parses as a body, and the binder says when it is
// not a block, instead of the parser's recovery producing a cascade of errors. (A rule `block | statement` would be
// ambiguous, a block being a statement too: prediction would scan every body to its end to find that out, which
// made the first parse in a process several times slower.)
body          : statement ;

statement     : (LET | VAR) ID (COLON type)? ASSIGN expr                # letStmt
              | IF expr body (ELSE elseBody=statement)?              # ifStmt
              | WHILE expr body                                    # whileStmt
              | FOR ID IN expr (DOTDOT rangeEnd=expr)? body        # forStmt
              | BREAK                                              # breakStmt
              | CONTINUE                                           # continueStmt
              // `return` takes a value only from its own line: `return` then a call on the next line is two statements.
              | RETURN ({SameLine()}? expr)?                       # returnStmt
              | TRY block catchClause* (FINALLY finallyBlock=block)?  # tryStmt
              | THROW expr                                         # throwStmt
              | block                                              # blockStmt
              | target=expr op=(ASSIGN | ADD_ASSIGN | SUB_ASSIGN | MUL_ASSIGN | DIV_ASSIGN | MOD_ASSIGN | AND_ASSIGN | OR_ASSIGN | XOR_ASSIGN | SHL_ASSIGN | SHR_ASSIGN) value=expr  # assignStmt
              | expr                                               # exprStmt
              ;

expr          : primary                                              # primaryExpr
              | expr DOT ID LPAREN argList? RPAREN                         # methodCallExpr
              | expr DOT ID                                          # memberExpr
              | expr QDOT ID LPAREN argList? RPAREN                  # safeMethodCallExpr
              | expr QDOT ID                                         # safeMemberExpr
              | expr LPAREN argList? RPAREN                                # callExpr
              | expr LBRACK expr RBRACK                                    # indexExpr
              | op=(MINUS | BANG | TILDE) expr                            # unaryExpr
              | expr AS type                                       # castExpr
              | expr op=(STAR | SLASH | PERCENT) expr                       # binaryExpr
              | expr op=(PLUS | MINUS) expr                             # binaryExpr
              | expr op=(SHL | SHR) expr                           # binaryExpr
              | expr op=AMP expr                                     # binaryExpr
              | expr op=CARET expr                                     # binaryExpr
              | expr op=PIPE expr                                     # binaryExpr
              | expr op=(EQ | NE | LT | LE | GT | GE) expr # binaryExpr
              | expr op=ANDAND expr                                    # binaryExpr
              | expr op=OROR expr                                    # binaryExpr
              | <assoc=right> expr op=QQ expr                        # coalesceExpr
              ;

mapEntry      : key=expr COLON value=expr ;

catchClause   : CATCH ID (COLON type)? block ;

argList       : expr (COMMA expr)* COMMA? ;

primary       : INT                                                  # intLit
              | NULL                                                 # nullLit
              | SELF                                                 # selfExpr
              | SUPER                                                # superExpr
              | FLOAT                                                # floatLit
              | (TRUE | FALSE)                                   # boolLit
              | stringLit                                            # stringLitExpr
              | ID                                                   # nameExpr
              | LPAREN expr RPAREN                                         # parenExpr
              | LBRACK (expr (COMMA expr)* COMMA?)? RBRACK                     # arrayLit
              | LBRACE (mapEntry (COMMA mapEntry)* COMMA?)? RBRACE             # mapLit
              // A function value: fn(x: int) -> int { return x + 1 } or fn(x: int) => x + 1. Parameter types may be
              // left out where the context gives them (an argument of a function type, a typed variable).
              | FN LPAREN lambdaParams? RPAREN (ARROW returnType=type)? (block | FAT_ARROW expr)  # lambdaExpr
              ;

lambdaParams  : lambdaParam (COMMA lambdaParam)* COMMA? ;
lambdaParam   : ID (COLON type)? ;

stringLit     : STR_START stringPart* STR_END ;
stringPart    : STR_TEXT                                             # textPart
              | (STR_ESCAPE | STR_UNICODE)                           # escapePart
              | INTERP_START expr? INTERP_END                           # interpPart
              ;

