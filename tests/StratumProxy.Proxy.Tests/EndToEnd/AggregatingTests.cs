using StratumProxy.Proxy.Metrics;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

public sealed class AggregatingTests
{
    [Fact]
    public async Task Several_miners_share_one_upstream_and_the_pool_sees_only_valid_unique_shares()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var fleet = new MinerFleet(4, proxy.Miner("farm.rig"), (i, o) => o with
        {
            VersionRolling = i % 2 == 1,
            IdStyle = (MinerIdStyle)(i % 4),
        });
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(5, TimeSpan.FromSeconds(30));
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        Assert.Empty(pool.AuditAcceptedShares());
        Assert.Equal(0, pool.Rejected);
        Assert.Equal(1, pool.TotalConnections);

        // The proxy's books equal the pool's, per worker.
        foreach (var miner in fleet.Miners)
        {
            var worker = miner.Options.Worker;
            Assert.True(proxy.Engine.Ledger.TryGetWorker(worker, out var stats), worker);
            Assert.Equal(miner.Accepted, stats.Count(ShareResult.Accepted));
            var counters = Assert.Single(stats.Pools());
            Assert.Equal(counters.Forwarded, counters.PoolAccepted);
            Assert.Equal(0, counters.Gap);
            var upstreamWorker = "acct." + worker.Split('.')[1];
            Assert.Equal(counters.PoolAccepted, pool.Worker(upstreamWorker).Accepted);
        }

        var metrics = await proxy.ScrapeAsync();
        Assert.Contains("stratumproxy_shares_total{worker=\"farm.rig01\",pool=\"pool0\",result=\"accepted\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("stratumproxy_worker_hashrate_hashes_per_second{worker=\"farm.rig01\",window=\"1m\"}", metrics, StringComparison.Ordinal);
    }
}
