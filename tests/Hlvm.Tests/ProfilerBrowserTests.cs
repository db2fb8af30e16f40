using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Hlvm.Tests;

/// <summary>
/// hlvm prof's HTML page opened in a real headless browser (Debian's Chromium, installed by
/// scripts/ensure-chromium.sh when missing): its script draws the flame graph, the hot function's frame is the
/// widest, and a search for it highlights it.
/// </summary>
public sealed partial class ProfilerBrowserTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hlvm-prof-html-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void TheFlameGraphIsDrawnWithTheHotFunctionWidestAndSearchHighlightsIt()
    {
        string program = Path.Combine(_dir.FullName, "hot.hl");
        File.WriteAllText(program, """
            fn busy(n: int) -> int {
                var s = 0
                for i in 0..n { s = (s + i * 7) % 1000003 }
                return s
            }
            fn light(n: int) -> int { return n + 1 }
            fn main() {
                var total = 0
                for k in 0..100 { total += busy(20000) + light(k) }
                println(total)
            }
            """);
        string page = Path.Combine(_dir.FullName, "profile.html");
        var result = TestSupport.Hlvm("prof", "--every", "2000", "-o", page, program);
        Assert.True(result.ExitCode == 0, result.Stderr);

        string dom = Dom(page, "search=busy");
        var frames = FrameDiv().Matches(dom)
            .Select(m => (Classes: m.Groups[1].Value, Name: m.Groups[2].Value, Width: double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)))
            .ToList();
        Assert.True(frames.Count >= 3, "the script drew no flame graph:\n" + dom[..Math.Min(dom.Length, 3000)]);
        var below = frames.Where(f => f.Name is not ("all" or "main")).ToList();
        Assert.Equal("busy", below.MaxBy(f => f.Width).Name);
        Assert.All(frames, f => Assert.Equal(f.Name == "busy", f.Classes.Contains("match")));
        Assert.Contains("1 frames match", dom);
    }

    [Fact]
    public void TheTimelineShowsTheCollectionsAndTheCompiles()
    {
        string program = Path.Combine(_dir.FullName, "alloc.hl");
        File.WriteAllText(program, """
            fn chunk(n: int) -> [int] { return [n].repeat(10000) }
            fn main() {
                var total = 0
                for k in 0..400 { total += chunk(k).len() }
                println(total)
            }
            """);
        string page = Path.Combine(_dir.FullName, "alloc.html");
        var result = TestSupport.Hlvm("prof", "--engine", "jit", "--max-heap", "4m", "-o", page, program);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var collections = Regex.Match(result.Stderr, @"collector: ([\d,]+) collections");
        Assert.True(collections.Success && int.Parse(collections.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture) > 0, result.Stderr);
        string dom = Dom(page, "");
        Assert.Contains("class=\"event gc\"", dom);
        Assert.Contains("class=\"event jit\"", dom);
        Assert.Contains("compiled chunk", dom);
    }

    /// <summary>The page's DOM after its script ran, from headless Chromium.</summary>
    private string Dom(string page, string hash)
    {
        var psi = new ProcessStartInfo(Chromium(),
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,800", $"--user-data-dir={Path.Combine(_dir.FullName, "profile")}",
            "--dump-dom", new Uri(page).AbsoluteUri + "#" + hash,
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string dom = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "chromium did not finish in two minutes");
        Assert.True(p.ExitCode == 0, "chromium failed: " + stderr.Result);
        return dom;
    }

    private static string Chromium() => TestSupport.EnsureTool("ensure-chromium.sh");

    // A frame as the page's script draws it, serialised by Chromium:
    // <div class="frame[ match]" data-name="NAME" title="..." style="left: 0px; width: Wpx; ...">
    [GeneratedRegex(@"<div class=""(frame[^""]*)"" data-name=""([^""]*)"" title=""[^""]*"" style=""[^""]*width: ([\d.]+)px;")]
    private static partial Regex FrameDiv();
}
