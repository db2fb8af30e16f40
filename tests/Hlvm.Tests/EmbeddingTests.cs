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

    /// <summary>
    /// A loaded module runs on the VM it was loaded into, and a VM runs one program at a time; a host that does
    /// otherwise gets an InvalidOperationException saying so. A module loaded into VM A and run by VM B used A's
    /// class ids and string constants on B's heap (its strings printed empty, and the collector found B's heap
    /// corrupt); a module verified but never loaded indexed past its string table; two runs at once on one VM
    /// moved each other's objects. Fails when any of them runs again.
    /// </summary>
    [Fact]
    public void AModuleRunsOnTheVmItWasLoadedIntoAndAVmRunsOneAtATime()
    {
        var module = Compile("fn main() { println(\"hello\") }");
        var a = new Vm(new VmOptions { Out = new StringWriter() });
        var b = new Vm(new VmOptions { Out = new StringWriter() });
        var onA = a.Load(module);
        var e = Assert.Throws<InvalidOperationException>(() => b.RunMain(onA, []));
        Assert.Equal("module 'embedded' is loaded into another VM: run it there, or verify it again and load it into this one", e.Message);
        var verifiedOnly = Verifier.Verify(module, Runtime.Natives.NativeTable.All);
        e = Assert.Throws<InvalidOperationException>(() => b.RunMain(verifiedOnly, []));
        Assert.Equal("module 'embedded' is not loaded into this VM: run what Load returned", e.Message);
        Assert.Equal(0, a.RunMain(onA, [])); // where it belongs, it runs
        Assert.Equal("hello\n", a.Options.Out.ToString());

        var looping = a.Load(Compile("fn main() {\n    var i = 0\n    while true { i += 1 }\n}"));
        var first = Task.Run(() => a.RunMain(looping, []));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        InvalidOperationException? second = null;
        while (second is null && DateTime.UtcNow < deadline)
        {
            if (first.IsCompleted)
            {
                // The endless program lost the race to one of the runs below: it found the VM running, and was
                // refused as the second is to be. It starts again.
                Assert.Equal("this VM is running a program already; a VM runs one at a time", Assert.IsType<InvalidOperationException>(first.Exception?.InnerException).Message);
                first = Task.Run(() => a.RunMain(looping, []));
            }
            try { a.RunMain(onA, []); Thread.Sleep(1); }
            catch (InvalidOperationException running) { second = running; }
        }
        Assert.Equal("this VM is running a program already; a VM runs one at a time", second?.Message);
        a.Interrupt(new LimitExceededError("stopped", "the test is over"));
        Assert.Equal("the test is over", Assert.Throws<LimitExceededError>(() => first.GetAwaiter().GetResult()).Message);
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

    [Fact]
    public void AModuleVerifiedBeforeItsVmIsMadeLoadsIntoOneVmWithTheSameNatives()
    {
        var module = Compile("fn main() { println(\"verified first\") }");
        var verified = Verifier.Verify(module, VmOptions.DefaultNatives);
        var output = new StringWriter();
        var vm = new Vm(new VmOptions { Out = output });
        vm.RunMain(vm.Load(verified), []);
        Assert.Equal("verified first\n", output.ToString());

        // Loaded once: its strings and classes are on that VM's heap.
        var again = Assert.Throws<InvalidOperationException>(() => new Vm().Load(verified));
        Assert.Contains("is loaded into a VM already", again.Message);

        // A VM whose println is another native refuses a module bound to the standard one.
        var other = new Vm(new VmOptions { Natives = NativesWhosePrintlnRunsOutOfMemory() });
        var e = Assert.Throws<ArgumentException>(() => other.Load(Verifier.Verify(module, VmOptions.DefaultNatives)));
        Assert.Contains("native 'println' that this VM does not have", e.Message);
    }

    /// <summary>The natives, with println's host side failing as .NET does when the process has no memory left.</summary>
    private static Runtime.Natives.NativeDef[] NativesWhosePrintlnRunsOutOfMemory() =>
        Runtime.Natives.NativeTable.All.Select(n => n.Name == "println" ? n with { Fn = (_, _) => throw new OutOfMemoryException() } : n).ToArray();

    [Fact]
    public void DotNetOutOfMemoryInAnIsolateIsTheProgramsOutOfMemoryErrorNotTheHosts()
    {
        var module = Compile("fn main() {\n    println(\"x\")\n}");
        var vm = new Vm(new VmOptions { Out = new StringWriter(), Natives = NativesWhosePrintlnRunsOutOfMemory() });
        var e = Assert.Throws<VmError>(() => vm.RunMain(vm.Load(module), []));
        Assert.Equal("OutOfMemoryError", e.ErrorClass);
        Assert.Equal("the host ran out of memory", e.Message);
        Assert.Equal("main (embedded.hl:2)", Assert.Single(e.StackTrace));

        // The program may catch it like the heap limit's, and the VM goes on.
        var caught = Compile("fn main() {\n    try { println(\"x\") } catch e: OutOfMemoryError { eprintln(e.message) }\n}");
        var err = new StringWriter();
        var again = new Vm(new VmOptions { Out = new StringWriter(), Error = err, Natives = NativesWhosePrintlnRunsOutOfMemory() });
        again.RunMain(again.Load(caught), []);
        Assert.Equal("the host ran out of memory\n", err.ToString());
    }
}
