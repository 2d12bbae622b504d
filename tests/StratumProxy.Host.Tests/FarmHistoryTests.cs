using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StratumProxy.Cli;
using StratumProxy.Hosting;
using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests;

/// <summary>/api/farm and /api/history, which the status page's summary and charts are drawn from.</summary>
public sealed class FarmHistoryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-history-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Farm_and_history_report_the_priced_rigs_totals_and_their_ratings()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var cli = CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", pool.Url, "--user", "acct", "--start-difficulty", "0.00001",
            "--Economics:Rigs:0:Worker=farm.rig9", "--Economics:Rigs:0:Model=Antminer S21", "--Economics:Interval=00:00:00.100",
            "--Economics:PriceUsd=60000", "--Economics:ElectricityUsdPerKwh=0.08", "--Admin:Notice=site B"]);
        await using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        await using var miner = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = app.Services.GetRequiredService<ProxyService>().Endpoints[0].Port, Worker = "farm.rig9" });
        await miner.StartAsync();
        await miner.WaitForAcceptedAsync(3, TimeSpan.FromSeconds(30));

        // Points accumulate once per evaluation while the rig earns.
        JsonElement history;
        do
        {
            await Task.Delay(50, deadline.Token);
            history = await Json(http, "/api/history", deadline.Token);
        }
        while (history.GetProperty("points").EnumerateArray().Count(p => p.GetProperty("revenue_usd_per_day").GetDouble() > 0) < 3);

        Assert.Equal(0.1, history.GetProperty("interval_seconds").GetDouble(), 9);
        var points = history.GetProperty("points").EnumerateArray().ToList();
        var times = points.Select(p => p.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(times.Order(), times);
        Assert.Equal(times.Count, times.Distinct().Count());

        // Thinned for a chart: at most the number asked for, evenly spaced, the newest point kept.
        var all = (await Json(http, "/api/history", deadline.Token)).GetProperty("points").EnumerateArray().Select(p => p.GetProperty("at").GetDateTimeOffset()).ToList();
        var two = (await Json(http, "/api/history?max=2", deadline.Token)).GetProperty("points").EnumerateArray().Select(p => p.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(2, two.Count);
        Assert.True(two[1] >= all[^1], "the newest point is kept");
        Assert.Single((await Json(http, "/api/history?max=1", deadline.Token)).GetProperty("points").EnumerateArray());

        var farm = await Json(http, "/api/farm", deadline.Token);
        var economics = await Json(http, "/api/economics", deadline.Token);
        var now = farm.GetProperty("now");
        var rig = Assert.Single(economics.GetProperty("rigs").EnumerateArray());
        if (now.GetProperty("at").GetDateTimeOffset() == economics.GetProperty("market").GetProperty("at").GetDateTimeOffset())
        {
            // The same evaluation: the farm is its one running rig.
            Assert.Equal(rig.GetProperty("revenue_usd_per_day").GetDouble(), now.GetProperty("revenue_usd_per_day").GetDouble(), 9);
            Assert.Equal(rig.GetProperty("hashrate_terahashes").GetDouble() * 1e12, now.GetProperty("hashrate_hashes_per_second").GetDouble(), 3);
        }

        Assert.Equal(1, now.GetProperty("rigs_running").GetInt32());
        Assert.Equal(0, now.GetProperty("rigs_sleeping").GetInt32());
        Assert.Equal(3500, now.GetProperty("power_watts").GetDouble());
        Assert.Equal(3.5 * 24 * 0.08, now.GetProperty("power_cost_usd_per_day").GetDouble(), 9);

        // The shutdown price: revenue is proportional to the price, so it is where revenue equals the power cost.
        var revenue = now.GetProperty("revenue_usd_per_day").GetDouble();
        Assert.Equal(60000 * (3.5 * 24 * 0.08) / revenue, farm.GetProperty("shutdown_price_usd").GetDouble(), 6);

        var rating = Assert.Single(farm.GetProperty("rigs").EnumerateArray());
        Assert.Equal(("farm.rig9", "Antminer S21", 200.0, 3500.0, 17.5), (
            rating.GetProperty("worker").GetString(),
            rating.GetProperty("model").GetString(),
            rating.GetProperty("nominal_terahashes").GetDouble(),
            rating.GetProperty("nominal_watts").GetDouble(),
            rating.GetProperty("joules_per_terahash").GetDouble()));

        var status = await Json(http, "/api/status", deadline.Token);
        Assert.Equal("site B", status.GetProperty("notice").GetString());
        var page = await http.GetStringAsync(new Uri("/status.js", UriKind.Relative), deadline.Token);
        Assert.Contains("api/history", page, StringComparison.Ordinal);
        await app.StopAsync(deadline.Token);
    }

    private static async Task<JsonElement> Json(HttpClient http, string path, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(path, UriKind.Relative), cancellationToken));
        return document.RootElement.Clone();
    }
}
