using Hlvm.Compiler;
using Hlvm.Runtime;
using Hlvm.Runtime.Execution;
using Hlvm.Runtime.Verification;

namespace Hlvm.Tests;

/// <summary>The embedding API as a host program uses it.</summary>
public sealed class EmbeddingTests
{
    private static Runtime.Bytecode.Module Compile(string source)
    {
        var result = Compilation.Compile("embedded.hl", source);
        Assert.True(result.Module is not null, string.Join("\n", result.Diagnostics.Select(d => d.Format())));
        return result.Module!;
    }

    [Fact]
    public void AHostCanNarrowTheNativesAModuleMayImport()
    {
        var module = Compile("import std.fs\nfn main() { println(fs.exists(\"/\")) }");
        var narrowed = new Vm(new VmOptions { Natives = Runtime.Natives.NativeTable.All.Where(n => n.Permission is null).ToArray() });
        var e = Assert.Throws<VerifyException>(() => narrowed.Load(module));
        Assert.Contains("unknown native 'fs.exists'", e.Message);

        var output = new StringWriter();
        var full = new Vm(new VmOptions { Out = output, Host = Runtime.Host.HostAccess.FullTrust() });
        full.RunMain(full.Load(module), []);
        Assert.Equal("true\n", output.ToString());
    }

    [Fact]
    public void AVmDeniesEveryPermissionUnlessItsHostGrantsIt()
    {
        var module = Compile("import std.fs\nfn main() { println(fs.exists(\"/\")) }");
        var vm = new Vm(new VmOptions { Out = new StringWriter() });
        var e = Assert.Throws<VmError>(() => vm.RunMain(vm.Load(module), []));
        Assert.Equal("PermissionError", e.ErrorClass);
        Assert.Equal("read access to \"/\" is not granted (run with --allow-read=/ to allow it)", e.Message);
    }
}
