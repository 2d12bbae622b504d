using System.Text.RegularExpressions;
using PuppeteerSharp;

namespace StratumProxy.Browser.Tests;

/// <summary>
/// The demo as a user sees it: the real executable runs <c>demo</c> on free loopback ports, headless Chromium opens
/// its status page, and the page must load without a console error, fill its tables from the live API, and then show
/// them changing (hash rates updating, curtailment decisions arriving). A screenshot goes to TestResults.
/// </summary>
public sealed partial class StatusPageBrowserTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-browser-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [ChromiumFact]
    public async Task Demo_status_page_fills_changes_and_has_no_console_errors()
    {
        Assert.True(Chromium.Path is not null, $"Chromium is not installed ({Chromium.Missing}); CI installs it with `apt-get install -y chromium` in .ci/run.");
        using var deadline = new CancellationTokenSource(Patience);
        await using var demo = DemoProcess.Start(_directory, "--admin", "127.0.0.1:0", "--listen", "127.0.0.1:0");
        var url = await demo.PageAsync(deadline.Token);
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/$", url);

        await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            Headless = true,
            ExecutablePath = Chromium.Path,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
        });
        await using var page = await browser.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, e) =>
        {
            if (e.Message.Type == ConsoleType.Error)
            {
                lock (problems)
                {
                    problems.Add("console: " + e.Message.Text);
                }
            }
        };
        page.PageError += (_, e) =>
        {
            lock (problems)
            {
                problems.Add("page error: " + e.Message);
            }
        };
        page.RequestFailed += (_, e) =>
        {
            lock (problems)
            {
                problems.Add($"request failed: {e.Request.Url} {e.Request.FailureText}");
            }
        };
        await page.SetViewportAsync(new ViewPortOptions { Width = 1440, Height = 1000 });
        await page.GoToAsync(url, new NavigationOptions { WaitUntil = [WaitUntilNavigation.Load] });
        var wait = new WaitForFunctionOptions { Timeout = (int)Patience.TotalMilliseconds, PollingInterval = 250 };

        // The tables fill: twelve rigs with a state, both pools ready, the summary priced.
        await page.WaitForFunctionAsync(
            """
            () => document.querySelectorAll('#rigs tbody tr .badge.running, #rigs tbody tr .badge.sleeping').length >= 12
               && document.querySelectorAll('#pools tbody .badge.ready').length === 2
               && /\$/.test(document.querySelector('#summary').textContent)
            """,
            wait).WaitAsync(deadline.Token);
        var rigNames = await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#rigs tbody tr td:first-child')].map(c => c.textContent)");
        Assert.Equal(12, rigNames.Length);
        Assert.Contains("s19jpro-01", rigNames);
        Assert.Contains("s23-01", rigNames);
        var before = await RigsText(page);

        // Then they change: the live numbers move, and the curtailment loop's confirmed decisions (pool switches, and
        // sleeps and wakes through the rigs' cgminer APIs) appear in the timeline.
        await page.WaitForFunctionAsync(
            "(before) => [...document.querySelectorAll('#rigs tbody tr')].map(r => r.textContent).join('\\n') !== before",
            wait,
            before).WaitAsync(deadline.Token);
        await page.WaitForFunctionAsync(
            "() => [...document.querySelectorAll('#decisions li')].some(li => /confirmed/.test(li.textContent))",
            wait).WaitAsync(deadline.Token);
        await page.WaitForFunctionAsync("() => Number(document.body.dataset.refreshed) >= 3", wait).WaitAsync(deadline.Token);
        var after = await RigsText(page);
        Assert.NotEqual(before, after);
        Assert.DoesNotContain("did not answer", await page.EvaluateExpressionAsync<string>("document.getElementById('error').hidden ? '' : document.getElementById('error').textContent"), StringComparison.Ordinal);

        var screenshot = Path.Combine(ResultsDirectory(), "status-page.png");
        await page.ScreenshotAsync(screenshot, new ScreenshotOptions { FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is empty");

        lock (problems)
        {
            Assert.True(problems.Count == 0, "the page reported problems:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }

        // Ctrl+C stops the demo cleanly and its temporary data folder goes with it.
        var data = DataFolder().Match(demo.Output);
        Assert.True(data.Success, demo.Output);
        Assert.True(Directory.Exists(data.Groups[1].Value));
        Assert.Equal(0, await demo.InterruptAsync(deadline.Token));
        Assert.False(Directory.Exists(data.Groups[1].Value), "the demo's data folder outlived it");
    }

    private static Task<string> RigsText(IPage page) =>
        page.EvaluateExpressionAsync<string>("[...document.querySelectorAll('#rigs tbody tr')].map(r => r.textContent).join('\\n')");

    /// <summary>TestResults at the repository root (beside the TRX files), or beside the tests outside a clone.</summary>
    private static string ResultsDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StratumProxy.sln")))
            {
                return Directory.CreateDirectory(Path.Combine(dir.FullName, "TestResults")).FullName;
            }
        }

        return Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "TestResults")).FullName;
    }

    [GeneratedRegex(@"data files are in (\S+) \(removed on exit\)")]
    private static partial Regex DataFolder();
}
