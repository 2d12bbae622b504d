using System.Text.Json;
using StratumProxy.Admin;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Host.Tests.Curtailment;

/// <summary>A rig held asleep is priced asleep, the same way in /api/economics, the dollar metrics and /api/farm.</summary>
public sealed partial class CurtailmentLoopTests
{
    /// <summary>Accepted shares, one every 15 s for <paramref name="span"/> (the clock moves on), at rates in TH/s by worker.</summary>
    private void Hash(TimeSpan span, params (string Worker, double Terahashes)[] rigs)
    {
        var stats = rigs.Select(r => (Stats: _engine.Ledger.Worker(r.Worker), Difficulty: r.Terahashes * 1e12 * 15 / HashrateMeter.HashesPerDifficulty)).ToList();
        for (var t = TimeSpan.Zero; t < span; t += TimeSpan.FromSeconds(15))
        {
            _time.Advance(TimeSpan.FromSeconds(15));
            foreach (var (worker, difficulty) in stats)
            {
                worker.Record(ShareResult.Accepted, difficulty, _time.GetTimestamp(), _time.GetUtcNow().ToUnixTimeMilliseconds());
            }
        }
    }

    private async Task<string> MetricsText()
    {
        using var stream = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public async Task A_rig_held_asleep_draws_and_earns_nothing_in_the_economics_the_metrics_and_the_farm_totals_alike()
    {
        // Both rigs hashed through the proxy for five minutes; the S19j Pro loses money at $0.08/kWh and is slept.
        Hash(TimeSpan.FromMinutes(6), (S19, 104), (S21, 270));
        var rigs = new FakeRigs();
        using var loop = Live(rigs);
        var history = new FarmHistory(_farm, loop);
        _farm.Evaluate();
        Assert.True(_farm.LastRigs.Single(r => r.Worker == S19).RevenueUsdPerDay > 0);

        await loop.EvaluateAsync(CancellationToken.None);
        Assert.False(rigs.IsAwake(S19));
        Assert.Equal("sleeping", Rig(loop, S19).State);

        // Its 5-minute rate still shows nearly all of its hashing, but it is asleep: no revenue, no power, no pool;
        // the farm's figures were brought up to date by the loop itself, not at the next economics tick.
        var asleep = _farm.LastRigs.Single(r => r.Worker == S19);
        Assert.Equal(("sleeping", true), (asleep.State, asleep.Asleep));
        Assert.Equal((0.0, 0.0, 0.0, 0.0, 0.0), (asleep.HashrateTerahashes, asleep.PowerWatts, asleep.RevenueUsdPerDay, asleep.PowerCostUsdPerDay, asleep.ProfitUsdPerDay));
        Assert.Null(asleep.Pool);
        Assert.True(asleep.ShutdownPriceUsd > 45_000); // its rating's: above today's price, which is why it sleeps
        var running = _farm.LastRigs.Single(r => r.Worker == S21);
        Assert.Equal(("running", false), (running.State, running.Asleep));
        Assert.True(running.RevenueUsdPerDay > 0);

        // /api/economics shows the state; the metrics and /api/farm hold the same figures.
        var json = JsonSerializer.Serialize(new EconomicsResponse(_farm.LastMarket, _farm.LastRigs), AdminJson.Context.EconomicsResponse);
        var s19 = JsonDocument.Parse(json).RootElement.GetProperty("rigs").EnumerateArray().Single(r => r.GetProperty("worker").GetString() == S19);
        Assert.Equal("sleeping", s19.GetProperty("state").GetString());
        Assert.True(s19.GetProperty("asleep").GetBoolean());
        var metrics = await MetricsText();
        Assert.Contains("stratumproxy_rig_revenue_usd_per_day{worker=\"farm.s19\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("stratumproxy_rig_power_cost_usd_per_day{worker=\"farm.s19\"} 0\n", metrics, StringComparison.Ordinal);
        var farmRevenue = System.Text.RegularExpressions.Regex.Match(metrics, "stratumproxy_farm_usd_per_day\\{kind=\"revenue\"\\} (\\S+)").Groups[1].Value;
        Assert.Equal(running.RevenueUsdPerDay, double.Parse(farmRevenue, System.Globalization.CultureInfo.InvariantCulture), 6);
        var now = history.Current()!;
        Assert.Equal((1, 1), (now.RigsRunning, now.RigsSleeping));
        Assert.Equal(running.RevenueUsdPerDay, now.RevenueUsdPerDay, 9);
        Assert.Equal(running.PowerWatts, now.PowerWatts, 9);
    }
}
