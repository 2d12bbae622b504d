using StratumProxy.Proxy.Metrics;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// A pool that dies, comes back, or asks the proxy to reconnect: miners keep their one TCP connection and keep
/// hashing, and every submit gets exactly one answer.
/// </summary>
public sealed class FailoverTests
{
    [Fact]
    public async Task Miners_fail_over_without_reconnecting_and_fail_back_when_the_primary_returns()
    {
        await using var primary = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var secondary = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(primary, secondary));
        await using var fleet = new MinerFleet(3, proxy.Miner("farm.fo"), (i, o) => o with { VersionRolling = i == 2, IdStyle = (MinerIdStyle)i });
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(2, TimeSpan.FromSeconds(20));
        await primary.WaitUntilAsync(p => fleet.Miners.All(m => p.Worker(Upstream(m)).Accepted >= 1), TimeSpan.FromSeconds(10), "shares on the primary");

        // Kill the primary mid-run (a hard reset, as when the pool host dies).
        await primary.StopAsync(abortive: true);
        await secondary.WaitUntilAsync(p => fleet.Miners.All(m => p.Worker(Upstream(m)).Accepted >= 2), TimeSpan.FromSeconds(15), "every miner on the secondary");
        Assert.All(fleet.Miners, m => Assert.Equal(1, m.Connections));
        Assert.Equal(0, await proxy.MetricAsync("stratumproxy_pool_up{pool=\"pool0\"}"));
        Assert.Equal(1, await proxy.MetricAsync("stratumproxy_pool_up{pool=\"pool1\"}"));

        // The primary returns; after the fail-back delay the miners are moved back, still on their one connection.
        var onPrimary = fleet.Miners.ToDictionary(m => m.Worker, m => primary.Worker(Upstream(m)).Accepted);
        await primary.RestartAsync();
        await primary.WaitUntilAsync(p => fleet.Miners.All(m => p.Worker(Upstream(m)).Accepted >= onPrimary[m.Worker] + 2), TimeSpan.FromSeconds(15), "fail-back");
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        Assert.Equal(1, await proxy.MetricAsync("stratumproxy_pool_up{pool=\"pool0\"}"));
        Assert.Empty(primary.AuditAcceptedShares());
        Assert.Empty(secondary.AuditAcceptedShares());
        Assert.Equal(0, primary.Rejected);
        Assert.Equal(0, secondary.Rejected);
        foreach (var miner in fleet.Miners)
        {
            Assert.Equal(1, miner.Connections);

            // Refused submits are the stale ones of the dead pool's jobs, or shares in flight when it died
            // (answered with a reason and counted as lost).
            var lost = miner.Submits.Count(s => s.Outcome == SubmitOutcome.Rejected && s.ErrorCode == 20);
            Assert.All(miner.Submits.Where(s => s.Outcome == SubmitOutcome.Rejected), s => Assert.True(s.ErrorCode is 20 or 21, $"{s.ErrorCode} {s.Reason}"));
            Assert.True(proxy.Engine.Ledger.TryGetWorker(miner.Worker, out var stats));
            Assert.Equal(miner.Accepted, stats.Count(ShareResult.Accepted));
            Assert.Equal(lost, stats.Count(ShareResult.Lost));
            Assert.Equal(miner.Rejected - lost, stats.Count(ShareResult.Stale));

            var counters = stats.Pools().ToDictionary(p => p.Pool);
            Assert.Equal(2, counters.Count);
            foreach (var (name, pool) in new[] { ("pool0", primary), ("pool1", secondary) })
            {
                var c = counters[name];
                Assert.Equal(0, c.InFlight);
                Assert.Equal(c.Forwarded, c.PoolAccepted + c.PoolRejected + c.Lost);
                Assert.Equal(pool.Worker(Upstream(miner)).Accepted, c.PoolAccepted);
            }

            Assert.Equal(stats.Count(ShareResult.Lost), counters.Values.Sum(c => c.Lost));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Client_reconnect_from_the_pool_is_honoured_and_miners_stay_connected(bool toAnotherPort)
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var other = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var fleet = new MinerFleet(2, proxy.Miner("farm.rc"));
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(2, TimeSpan.FromSeconds(20));

        var target = toAnotherPort ? other : pool;
        var before = fleet.Miners.ToDictionary(m => m.Worker, m => target.Worker(Upstream(m)).Accepted);
        await pool.SendReconnectAsync(toAnotherPort ? other.Host : null, toAnotherPort ? other.Port : null);
        await target.WaitUntilAsync(p => p.TotalConnections == (toAnotherPort ? 1 : 2), TimeSpan.FromSeconds(10), "the proxy's new upstream connection");
        await target.WaitUntilAsync(p => fleet.Miners.All(m => p.Worker(Upstream(m)).Accepted >= before[m.Worker] + 2), TimeSpan.FromSeconds(15), "shares after the reconnect");
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        Assert.All(fleet.Miners, m => Assert.Equal(1, m.Connections));
        Assert.Equal(1, target.OpenConnections);
        Assert.Equal(2, await proxy.MetricAsync("stratumproxy_upstream_reconnects_total{pool=\"pool0\"}"));
        Assert.Empty(pool.AuditAcceptedShares());
        Assert.Empty(other.AuditAcceptedShares());
    }

    private static string Upstream(TestMiner miner) => "acct." + miner.Worker.Split('.')[1];
}
