using Hlvm.Runtime.Bytecode;

namespace Hlvm.Compiler.Assembly;

// The parsed form of one line of a .hlasm file. AsmGrammar produces it; Assembler gives it meaning. Columns are
// 1-based, for error messages.

/// <summary>A word of a line (a number, a name, a label) or, when <paramref name="Quoted"/>, a string literal
/// whose <paramref name="Text"/> is the decoded value.</summary>
internal sealed record Token(int Column, string Text, bool Quoted)
{
    /// <summary>How the token appears in messages.</summary>
    public string Shown => Quoted ? Disassembler.Quote(Text, 40) : $"'{Text}'";
}

/// <summary>One statement: a directive, a label or an instruction.</summary>
internal abstract record Statement(int Column);

/// <summary><c>.module</c>, <c>.source</c> or <c>.string</c> with its string.</summary>
internal sealed record TextDirective(int Column, string Directive, Token Value) : Statement(Column);

/// <summary><c>.entry NAME</c> or <c>.entry INDEX</c>.</summary>
internal sealed record EntryDirective(int Column, Token Function) : Statement(Column);

/// <summary><c>.type T</c>: an entry of the type table.</summary>
internal sealed record TypeDirective(int Column, VmType Type) : Statement(Column);

/// <summary><c>.native NAME(T, ...) -> T</c> or <c>.fn NAME(T, ...) -> T</c>.</summary>
internal sealed record SignatureDirective(int Column, bool IsFunction, Token Name, VmType[] Params, VmType Return) : Statement(Column);

/// <summary><c>.locals T, ...</c>: the function's local slots after its parameters.</summary>
internal sealed record LocalsDirective(int Column, VmType[] Types) : Statement(Column);

/// <summary><c>.maxstack N</c> or <c>.line N</c>.</summary>
internal sealed record NumberDirective(int Column, string Directive, Token Value) : Statement(Column);

/// <summary><c>.bytes XX ...</c>: raw code bytes.</summary>
internal sealed record BytesDirective(int Column, byte[] Bytes) : Statement(Column);

/// <summary><c>.class NAME</c> or <c>.interface NAME</c>: starts a class, ended by <c>.end</c>.</summary>
internal sealed record ClassDirective(int Column, bool IsInterface, Token Name) : Statement(Column);

/// <summary><c>.super C</c>, <c>.implements C ...</c>, <c>.method NAME FUNCTION</c>: class references by name or index.</summary>
internal sealed record ClassMemberDirective(int Column, string Directive, Token[] Operands) : Statement(Column);

/// <summary><c>.field NAME T</c>.</summary>
internal sealed record FieldDirective(int Column, Token Name, VmType Type) : Statement(Column);

/// <summary><c>.sig NAME(T, ...) -> T</c>: a method an interface requires.</summary>
internal sealed record SigDirective(int Column, SignatureDirective Signature) : Statement(Column);

/// <summary><c>.end</c>: the end of a function.</summary>
internal sealed record EndDirective(int Column) : Statement(Column);

/// <summary><c>NAME:</c>: names the offset of what follows.</summary>
internal sealed record LabelStatement(int Column, string Name) : Statement(Column);

/// <summary>A mnemonic and its operands, not yet checked against the instruction table.</summary>
internal sealed record InstructionStatement(int Column, Token Mnemonic, Token[] Operands) : Statement(Column);
