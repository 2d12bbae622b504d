using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Control;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// Pools that leave the proxy a small extranonce2 (NiceHash 3–4 bytes, ckpool in proxy mode 4): with the default
/// configuration (k = 2, n = 4) the proxy fits the miners' layout to the pool instead of refusing it
/// (docs/extranonce.md), and every share the pool gets is valid.
/// </summary>
public sealed class SmallSliceTests
{
    [Theory]
    [InlineData(3, 1, 2)]
    [InlineData(4, 1, 3)]
    [InlineData(5, 2, 3)]
    [InlineData(6, 2, 4)]
    [InlineData(8, 2, 4)]
    public async Task Hashing_miners_work_through_a_pool_of_any_extranonce2_size_with_the_default_configuration(int poolExtranonce2Size, int k, int n)
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Extranonce2Size = poolExtranonce2Size });
        var options = ProxyHarness.Options(pool);
        Assert.Equal(2, options.Miners.Extranonce1Size);
        Assert.Equal(4, options.Miners.Extranonce2Size);
        await using var proxy = await ProxyHarness.StartAsync(options);
        await using var fleet = new MinerFleet(4, proxy.Miner("farm.slice"), (i, o) => o with { VersionRolling = i % 2 == 1, IdStyle = (MinerIdStyle)i });
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(3, TimeSpan.FromSeconds(30));
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        Assert.Equal(0, pool.Rejected);
        Assert.Empty(pool.AuditAcceptedShares());
        Assert.Equal(0, fleet.Rejected);
        Assert.Equal(new MinerLayout(k, n), proxy.Engine.LayoutForGroup("default"));
        Assert.Equal(0, await proxy.MetricAsync("stratumproxy_upstream_refused_total{pool=\"pool0\"}"));
        foreach (var miner in fleet.Miners)
        {
            Assert.Equal(1, miner.Connections);
            Assert.Equal(n, miner.Extranonce2Size);
            Assert.Equal(k * 2, miner.Extranonce1!.Length);
            Assert.True(proxy.Engine.Ledger.TryGetWorker(miner.Worker, out var stats));
            var counters = Assert.Single(stats.Pools());
            Assert.Equal(counters.Forwarded, counters.PoolAccepted);
            Assert.Equal(pool.Worker("acct." + miner.Worker.Split('.')[1]).Accepted, counters.PoolAccepted);
        }

        // Distinct miners never share an extranonce1 on one upstream connection.
        Assert.Equal(4, fleet.Miners.Select(m => m.Extranonce1).Distinct().Count());
    }

    [Fact]
    public async Task A_pool_with_an_eight_byte_extranonce1_and_a_three_byte_extranonce2_works()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Extranonce1Size = 12, Extranonce2Size = 3 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var fleet = new MinerFleet(2, proxy.Miner("farm.wide"));
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(3, TimeSpan.FromSeconds(30));
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        Assert.Equal(0, pool.Rejected);
        Assert.Empty(pool.AuditAcceptedShares());
        Assert.Equal(24, proxy.Engine.Pools[0].Primary!.Extranonce1Hex.Length);
    }

    [Fact]
    public async Task A_miner_moved_between_a_four_byte_and_an_eight_byte_pool_and_back_keeps_its_connection_and_its_shares_count_on_both()
    {
        await using var small = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Extranonce2Size = 4 });
        await using var large = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Extranonce2Size = 8 });
        var options = ProxyHarness.Options(small, large);
        await using var proxy = await ProxyHarness.StartAsync(options);
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools.All(p => p.IsReady), TimeSpan.FromSeconds(10), "both pools ready");
        await using var fleet = new MinerFleet(2, proxy.Miner("farm.mover"), (i, o) => o with { VersionRolling = i == 1 });
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(2, TimeSpan.FromSeconds(20));

        // Both pools are known before the miners came: their layout fits the smaller one (N = 4 → k = 1, n = 3).
        Assert.All(fleet.Miners, m => Assert.Equal(3, m.Extranonce2Size));
        var upstream = fleet.Miners.ToDictionary(m => m.Worker, m => "acct." + m.Worker.Split('.')[1]);
        await small.WaitUntilAsync(p => fleet.Miners.All(m => p.Worker(upstream[m.Worker]).Accepted >= 1), TimeSpan.FromSeconds(10), "shares on the N=4 pool");

        // The N = 8 pool's first connection may carry the configured k = 2, n = 4 (it subscribed before the N = 4 pool
        // was known): the miners then wait for a second connection opened for their layout, and are pinned meanwhile.
        Assert.InRange(proxy.Engine.Switch("pool1", _ => true, pin: true), 0, 2);
        await large.WaitUntilAsync(p => fleet.Miners.All(m => p.Worker(upstream[m.Worker]).Accepted >= 2), TimeSpan.FromSeconds(15), "shares on the N=8 pool");
        var onSmall = fleet.Miners.ToDictionary(m => m.Worker, m => small.Worker(upstream[m.Worker]).Accepted);

        Assert.Equal(2, proxy.Engine.Switch("pool0", _ => true, pin: true));
        await small.WaitUntilAsync(p => fleet.Miners.All(m => p.Worker(upstream[m.Worker]).Accepted >= onSmall[m.Worker] + 2), TimeSpan.FromSeconds(15), "shares on the N=4 pool again");
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        Assert.Equal(0, small.Rejected);
        Assert.Equal(0, large.Rejected);
        Assert.Empty(small.AuditAcceptedShares());
        Assert.Empty(large.AuditAcceptedShares());
        foreach (var miner in fleet.Miners)
        {
            Assert.Equal(1, miner.Connections);

            // Only shares of a job from the pool the miner just left may come back stale; none is refused upstream.
            Assert.All(miner.Submits.Where(s => s.Outcome == SubmitOutcome.Rejected), s => Assert.Equal(21, s.ErrorCode));
            Assert.True(proxy.Engine.Ledger.TryGetWorker(miner.Worker, out var stats));
            var counters = stats.Pools().ToDictionary(p => p.Pool);
            Assert.Equal(small.Worker(upstream[miner.Worker]).Accepted, counters["pool0"].PoolAccepted);
            Assert.Equal(large.Worker(upstream[miner.Worker]).Accepted, counters["pool1"].PoolAccepted);
            Assert.Equal(0, counters["pool0"].PoolRejected + counters["pool1"].PoolRejected);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_miner_whose_layout_no_ready_pool_can_carry_is_never_sent_there_and_gets_a_layout_that_fits(bool extranonceSubscribe)
    {
        // The miners arrive while only the N = 8 pool is known: they get the configured k = 2, n = 4 (6 bytes).
        await using var large = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Extranonce2Size = 8 });
        await using var small = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Extranonce2Size = 4 });
        var options = ProxyHarness.Options(large);

        // Shares in flight when the large pool dies get their "lost" answer after the submit timeout.
        options = options with { Failover = options.Failover with { SubmitTimeout = TimeSpan.FromSeconds(1) } };
        await using var proxy = await ProxyHarness.StartAsync(options);
        await using var miner = new TestMiner(proxy.Miner("farm.early") with { SubscribeExtranonce = extranonceSubscribe });
        await miner.StartAsync();
        await miner.WaitForAcceptedAsync(2, TimeSpan.FromSeconds(20));
        Assert.Equal(4, miner.Extranonce2Size);

        // A reload adds the N = 4 pool at a better priority: the miner stays where its shares fit.
        var reloaded = ProxyHarness.Options(large);
        reloaded = ProxyHarness.WithPool(reloaded, new PoolOptions { Name = "small", Url = small.Url, User = "acct", Priority = -1 });
        reloaded = reloaded with { Failover = reloaded.Failover with { SubmitTimeout = options.Failover.SubmitTimeout } };
        proxy.Engine.ApplyOptions(reloaded);
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools.Single(p => p.Options.Name == "small").IsReady, TimeSpan.FromSeconds(10), "the small pool ready");
        var before = miner.Accepted;
        await miner.WaitForAcceptedAsync(before + 3, TimeSpan.FromSeconds(20));
        Assert.Equal(0, small.Accepted);
        Assert.Equal(1, miner.Connections);
        Assert.Equal(new MinerLayout(1, 3), proxy.Engine.LayoutForGroup("default"));
        Assert.Same(proxy.Engine.Pools.Single(p => p.Options.Name == "small"), proxy.Engine.AdaptingPool("default"));
        var fleet = ((IProxyControl)proxy.Engine).Snapshot();
        var smallView = Assert.Single(fleet.Pools, p => p.Name == "small");
        Assert.Equal((true, new MinerLayout(1, 3)), (smallView.Layout.Adapting, smallView.Layout.GroupLayout));
        Assert.False(Assert.Single(fleet.Pools, p => p.Name == "pool0").Layout.Adapting);
        Assert.Equal(("pool0", 4), (fleet.PoolOf("farm.early"), fleet.Sessions.Single().Extranonce2Size));

        // The large pool goes away: no pool can carry k + n = 6 any more. A miner that said
        // mining.extranonce.subscribe gets mining.set_extranonce (k = 1, n = 3) on its connection; any other is
        // closed, comes back and gets k = 1, n = 3 at its new subscribe. Either way it then mines on the small pool.
        await large.StopAsync();
        await miner.WaitUntilAsync(m => m.Extranonce2Size == 3, TimeSpan.FromSeconds(20), "n = 3");
        Assert.Equal(extranonceSubscribe ? 1 : 2, miner.Connections);
        Assert.Equal(2, miner.Extranonce1!.Length);
        await small.WaitForAcceptedAsync(2, TimeSpan.FromSeconds(20));
        await miner.StopHashingAsync();
        await miner.WaitForAnswersAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, small.Rejected);
        Assert.Empty(small.AuditAcceptedShares());
    }

    [Fact]
    public async Task More_miners_than_one_connection_holds_get_more_upstream_connections_up_to_the_cap()
    {
        // N = 2 forces k = 0: an empty extranonce1 and one miner per upstream connection; the cap is 2.
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Extranonce2Size = 2 });
        var options = ProxyHarness.Options(pool);
        options = ProxyHarness.WithPool(options, 0, p => p with { MaxConnections = 2 });
        await using var proxy = await ProxyHarness.StartAsync(options);
        await using var fleet = new MinerFleet(3, proxy.Miner("farm.lane"));
        await fleet.StartAsync();
        await proxy.WaitUntilAsync(() => proxy.Engine.MinerSessions.Count(s => s.PoolName is not null) == 2, TimeSpan.FromSeconds(20), "two miners placed");
        await pool.WaitUntilAsync(p => p.Accepted >= 4, TimeSpan.FromSeconds(20), "shares");

        Assert.Equal(2, pool.OpenConnections);
        Assert.Equal(2, proxy.Engine.Pools[0].Connections.Count);
        Assert.All(fleet.Miners, m => Assert.Equal(string.Empty, m.Extranonce1));
        Assert.Equal(1, proxy.Engine.MinerSessions.Count(s => s.PoolName is null));
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, pool.Rejected);
        Assert.Empty(pool.AuditAcceptedShares());
    }

    [Fact]
    public async Task A_miner_that_finds_no_place_on_the_preferred_pool_works_on_the_next_one_that_fits()
    {
        await using var tight = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Extranonce2Size = 2 });
        await using var roomy = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(tight, roomy);
        options = ProxyHarness.WithPool(options, 0, p => p with { MaxConnections = 2 });
        await using var proxy = await ProxyHarness.StartAsync(options);
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools.All(p => p.IsReady), TimeSpan.FromSeconds(10), "both pools ready");
        await using var fleet = new MinerFleet(3, proxy.Miner("farm.spill"));
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(2, TimeSpan.FromSeconds(20));

        Assert.Equal(2, proxy.Engine.MinerSessions.Count(s => s.PoolName == "pool0"));
        Assert.Equal(1, proxy.Engine.MinerSessions.Count(s => s.PoolName == "pool1"));
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, tight.Rejected + roomy.Rejected);
        Assert.All(fleet.Miners, m => Assert.Equal(1, m.Connections));
    }

    [Fact]
    public async Task A_configured_hint_shapes_the_layout_before_the_pool_is_reached()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        options = ProxyHarness.WithPool(options, new PoolOptions { Name = "later", Url = "stratum+tcp://127.0.0.1:1", User = "acct", Priority = 5, Extranonce2SizeHint = 3 });
        await using var proxy = await ProxyHarness.StartAsync(options);
        await using var miner = new TestMiner(proxy.Miner("farm.hinted"));
        await miner.StartAsync();
        await miner.WaitForAcceptedAsync(2, TimeSpan.FromSeconds(20));

        Assert.Equal(2, miner.Extranonce2Size);
        Assert.Equal(2, miner.Extranonce1!.Length);
        Assert.Equal(0, pool.Rejected);
    }
}
