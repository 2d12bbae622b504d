using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Tests.Routing;
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

        // Each pool's verdict metrics agree with the workers' books, the shares lost with the dead pool included.
        foreach (var name in new[] { "pool0", "pool1" })
        {
            var books = fleet.Miners.Select(m => proxy.Engine.Ledger.TryGetWorker(m.Worker, out var stats) ? stats.Pools().Single(p => p.Pool == name) : null).OfType<StratumProxy.Proxy.Accounting.PoolCounters>().ToList();
            Assert.Equal(books.Sum(c => c.Lost), await proxy.MetricAsync($"stratumproxy_pool_shares_total{{pool=\"{name}\",result=\"lost\"}}"));
            Assert.Equal(books.Sum(c => c.PoolAccepted), await proxy.MetricAsync($"stratumproxy_pool_shares_total{{pool=\"{name}\",result=\"accepted\"}}"));
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

    /// <summary>
    /// A TLS pool connection ends while shares are forwarded and their verdicts not back: by a reset, by a reset
    /// right after one verdict and half a line, or by an orderly TLS close after half a line. As on plain TCP, a verdict
    /// that arrived before the end is delivered, every other share in flight is answered with the lost-share error, the
    /// miners fail over to the next pool on their one connection and back when the pool returns, and nothing is thrown
    /// where nobody observes it.
    /// </summary>
    [Theory]
    [InlineData(TlsDrop.Reset, false)]
    [InlineData(TlsDrop.Reset, true)]
    [InlineData(TlsDrop.Close, true)]
    public async Task A_tls_pool_connection_ending_mid_flight_answers_every_share_and_fails_over(TlsDrop how, bool answerAndHalfLine)
    {
        var unobserved = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => unobserved.Enqueue(e.Exception);
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            await using var primary = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
            await using var secondary = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
            await using var tls = new TlsTerminator(primary.Port);
            var options = ProxyHarness.WithPool(ProxyHarness.Options(primary, secondary), 0, p => p with { Url = $"stratum+ssl://127.0.0.1:{tls.Port}", AllowInvalidCertificate = true });
            await using var proxy = await ProxyHarness.StartAsync(options);
            await using var fleet = new MinerFleet(2, proxy.Miner("farm.tlsdrop"));
            await fleet.StartAsync();
            await primary.WaitUntilAsync(p => fleet.Miners.All(m => p.Worker(Upstream(m)).Accepted >= 2), TimeSpan.FromSeconds(30), "shares on the TLS pool");

            // The pool's answers stop half-way (held by the front) until several shares wait for their verdict.
            var upstream = proxy.Engine.Pools[0].Primary!;
            await tls.HoldAsync();
            await proxy.WaitUntilAsync(() => tls.AwaitingVerdicts >= 4, TimeSpan.FromSeconds(30), "shares in flight on the TLS pool");
            await proxy.WaitUntilAsync(() => PoolAccepted(proxy, fleet) == tls.AcceptedVerdicts, TimeSpan.FromSeconds(30), "every verdict passed on counted");

            // The connection ends; the pool stays unreachable for a while.
            tls.Refuse = true;
            var inFlight = upstream.InFlight;
            await tls.DropAsync(how, answerAndHalfLine ? last => $"{{\"id\":{last},\"result\":true,\"error\":null}}\n{{\"id\":1,\"result\":tr" : null);
            await secondary.WaitUntilAsync(p => fleet.Miners.All(m => p.Worker(Upstream(m)).Accepted >= 2), TimeSpan.FromSeconds(30), "every miner on the secondary");
            Assert.All(fleet.Miners, m => Assert.Equal(1, m.Connections));

            // The pool returns: the miners go back (the pool did not resume the session, so what was in flight is lost).
            var onPrimary = fleet.Miners.ToDictionary(m => m.Worker, m => primary.Worker(Upstream(m)).Accepted);
            tls.Refuse = false;
            await primary.WaitUntilAsync(p => fleet.Miners.All(m => p.Worker(Upstream(m)).Accepted >= onPrimary[m.Worker] + 2), TimeSpan.FromSeconds(30), "fail-back");
            await fleet.StopHashingAsync();
            await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(30));

            Assert.True(fleet.EverySubmitAnsweredOnce, string.Join("; ", fleet.Miners));
            Assert.All(fleet.Miners, m => Assert.Equal(1, m.Connections));
            var lost = 0L;
            foreach (var miner in fleet.Miners)
            {
                Assert.All(miner.Submits.Where(s => s.Outcome == SubmitOutcome.Rejected), s => Assert.True(
                    s.ErrorCode == 21 || (s.ErrorCode == 20 && s.Reason!.Contains("pool connection lost before its verdict", StringComparison.Ordinal)),
                    $"{s.ErrorCode} {s.Reason}"));
                Assert.True(proxy.Engine.Ledger.TryGetWorker(miner.Worker, out var stats));
                var c = stats.Pools().Single(p => p.Pool == "pool0");
                Assert.Equal(0, c.InFlight);
                Assert.Equal(c.Forwarded, c.PoolAccepted + c.PoolRejected + c.Lost);
                Assert.Equal(miner.Submits.Count(s => s.Outcome == SubmitOutcome.Rejected && s.ErrorCode == 20), stats.Count(ShareResult.Lost));
                lost += c.Lost;
            }

            // Every verdict that went out through TLS before the end (the injected one too) reached its miner.
            Assert.Equal(tls.AcceptedVerdicts, PoolAccepted(proxy, fleet));
            Assert.True(lost >= inFlight - (answerAndHalfLine ? 1 : 0), $"{inFlight} in flight at the end, {lost} lost");
        }
        finally
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }

        Assert.DoesNotContain(unobserved, e => e.ToString().Contains("StratumProxy.Proxy", StringComparison.Ordinal) || e.ToString().Contains("Pipelines.Sockets", StringComparison.Ordinal));
    }

    private static long PoolAccepted(ProxyHarness proxy, MinerFleet fleet) =>
        fleet.Miners.Sum(m => proxy.Engine.Ledger.TryGetWorker(m.Worker, out var stats) ? stats.Pools().Where(p => p.Pool == "pool0").Sum(p => p.PoolAccepted) : 0);

    private static string Upstream(TestMiner miner) => "acct." + miner.Worker.Split('.')[1];
}
