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
    public void ClickingAFrameZoomsToItAndClickingABarBelowZoomsBackOut()
    {
        string program = Path.Combine(_dir.FullName, "zoom.hl");
        File.WriteAllText(program, """
            fn leaf(n: int) -> int { return n % 7 }
            fn inner(n: int) -> int {
                var s = 0
                for i in 0..n { s += leaf(i) }
                return s
            }
            fn outer(n: int) -> int { return inner(n) + inner(n / 2) }
            fn other(n: int) -> int {
                var s = 0
                for i in 0..n { s = (s + i) % 1000 }
                return s
            }
            fn main() {
                var total = 0
                for k in 0..60 { total += outer(3000) + other(3000) }
                println(total)
            }
            """);
        string page = Path.Combine(_dir.FullName, "zoom.html");
        var result = TestSupport.Hlvm("prof", "--every", "500", "-o", page, program);
        Assert.True(result.ExitCode == 0, result.Stderr);
        // The page's own script has drawn the graph when this one runs: it clicks as a user would and writes down
        // the frames drawn after each click.
        string html = File.ReadAllText(page);
        int end = html.LastIndexOf("</body>", StringComparison.Ordinal);
        File.WriteAllText(page, html[..end] + """
            <script>
            const shown = () => [...document.querySelectorAll('#graph .frame')].map(d => d.dataset.name).sort().join(',');
            const click = name => [...document.querySelectorAll('#graph .frame')].find(d => d.dataset.name === name)?.click();
            const steps = [shown()];
            click('inner'); steps.push(shown());
            click('outer'); steps.push(shown());
            click('all'); steps.push(shown());
            click('other'); steps.push(shown());
            click('other'); steps.push(shown());
            const out = document.createElement('pre'); out.id = 'steps'; out.textContent = steps.join('\n');
            document.body.appendChild(out);
            </script>
            """ + html[end..]);

        var steps = Regex.Match(Dom(page, ""), @"<pre id=""steps"">([^<]*)</pre>").Groups[1].Value.Split('\n');
        Assert.Equal(6, steps.Length);
        const string whole = "all,inner,leaf,main,other,outer";
        Assert.Equal(whole, steps[0]);
        // Zoomed to inner: the path down to it across the whole width, then it and its callee.
        Assert.Equal("all,inner,leaf,main,outer", steps[1]);
        // A bar of that path zooms to its frame, with its children (it used to be drawn alone, a dead end).
        Assert.Equal("all,inner,leaf,main,outer", steps[2]);
        // The bottom bar zooms back out to the whole graph.
        Assert.Equal(whole, steps[3]);
        Assert.Equal("all,main,other", steps[4]);
        // The zoomed frame itself zooms out by one level: to main, which is the whole graph here.
        Assert.Equal(whole, steps[5]);
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
