using Hlvm.Compiler;
using Hlvm.Compiler.Diagnostics;

namespace Hlvm.Tests;

/// <summary>
/// Declarations as other languages write them are answered with the language's own way of writing them, at the
/// word that gives them away. They were "unexpected name 'def'; expected end of file, 'import', 'pub', 'fn', 'let',
/// 'class' or 'interface'", or "expected ':' before 'fn'" in a class. Each program is one declaration (the recovery
/// that goes on after such a mistake is tested by tests/lang/syntax/top_level_recovery.hl).
/// </summary>
public class HabitMessageTests
{
    [Theory]
    [InlineData("def twice(x: int) -> int { return 2 * x }", 1, 1, "a function is declared with `fn`, as in `fn name(x: int) -> int { ... }`")]
    [InlineData("function half(x: int) -> int { return x / 2 }", 1, 1, "a function is declared with `fn`, as in `fn name(x: int) -> int { ... }`")]
    [InlineData("const LIMIT = 3", 1, 1, "a constant is declared with `let`, as in `let N = 3`")]
    [InlineData("public fn shown() { }", 1, 1, "'pub' marks what a module exports, at its top level, as in `pub fn f()`; a class's members are public wherever the class is")]
    [InlineData("static fn helper() { }", 1, 1, "there are no static members: a function of the file, outside the class, serves for one")]
    [InlineData("fn f() { }\nvar counter = 0", 2, 1, "there are no top-level variables: keep what changes in a class or pass it along; a constant of the file is a `let`, as in `let N = 3`")]
    [InlineData("enum Color { Red, Green }", 1, 1, "there are no enums: use constants of the file (`let RED = 0`) or a class for each case")]
    [InlineData("struct Pair { a: int }", 1, 1, "a type with fields is a class, as in `class Point { x: int  y: int }`")]
    [InlineData("class Dog extends Error { }", 1, 11, "a class names its superclass and its interfaces after ':', as in `class Dog : Animal, Named { ... }`")]
    [InlineData("class Cat implements Named { }", 1, 11, "a class names its superclass and its interfaces after ':', as in `class Dog : Animal, Named { ... }`")]
    [InlineData("fn withDefault(x: int = 3) { }", 1, 23, "a parameter has no default value: a call gives every argument")]
    [InlineData("class P {\n    private x: int\n}", 2, 13, "there are no private members: a class's fields and methods are usable wherever the class is, and a module's names are its own unless marked `pub`")]
    [InlineData("class P {\n    static fn origin() -> int { return 0 }\n}", 2, 12, "there are no static members: a function of the file, outside the class, serves for one")]
    [InlineData("class P {\n    x: int\n    fn init(v: int) { x = v }\n}", 3, 8, "a class's constructor is written `init(...) { ... }`, without `fn`")]
    [InlineData("class P {\n    constructor(v: int) { }\n}", 2, 16, "a class's constructor is written `init(...) { ... }`")]
    public void ADeclarationFromAnotherLanguageIsAnsweredWithTheLanguagesOwn(string declaration, int line, int column, string message)
    {
        var result = Compilation.Compile("habit.hl", declaration + "\nfn main() { }\n");
        Assert.Null(result.Module);
        // In a class, the parser's recovery may report the class's closing '}' after it: the first error is the one.
        var error = result.Diagnostics.First(d => d.Severity == Severity.Error);
        Assert.Equal((line, column, message), (error.Line, error.Column, error.Message));
    }

    /// <summary>
    /// Inside a function's body no hint of declarations is given: an unfinished statement runs into the next line's
    /// first word, which may be a variable named `val` or `record`, or a `var` at the line's start. A review found
    /// each of these told to declare a constant with `let`, a function with `fn` or no variables at the top; and
    /// `x[]` in a map told the array type, `0...5` a float's leading digit.
    /// </summary>
    [Theory]
    [InlineData("fn main() {\n    var val = [1, 2]\n    println(val.len()\n    val.push(3)\n}")]
    [InlineData("fn record(x: int) -> int { return x }\nfn main() {\n    let r = (1 +\n    record(2)\n}")]
    [InlineData("fn main() {\nvar x = 1 +\nvar y = 2\n}")]
    [InlineData("fn main() {\n    let x = [1]\n    let q = {\"a\": x[] }\n}")]
    [InlineData("fn main() {\n    for i in 0...5 { }\n}")]
    public void AStatementLeftUnfinishedGetsNoHintMeantForAnotherLanguage(string program)
    {
        var result = Compilation.Compile("unfinished.hl", program + "\n");
        Assert.Null(result.Module);
        foreach (var error in result.Diagnostics)
            Assert.DoesNotMatch("declared with|top-level variables|an array type is written|a float needs a digit before", error.Message);
    }

    /// <summary>A word a declaration of another language starts with is a name like any other where it is one: a
    /// variable, a field, a parameter.</summary>
    [Fact]
    public void TheWordsAreNamesWhereTheyAreNames()
    {
        var result = Compilation.Compile("names.hl", """
            class Record {
                data: int
                static: int
            }
            fn struct(def: int, function: int) -> int { return def + function }
            fn main() {
                let enum = Record(1, 2)
                var val = struct(enum.data, enum.static)
                val += 1
                println(val)
            }
            """);
        Assert.Empty(result.Diagnostics);
    }
}
