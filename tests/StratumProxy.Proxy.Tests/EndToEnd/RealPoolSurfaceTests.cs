using StratumProxy.Proxy.Configuration;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// The rest of what real pools do on the wire, end to end through the proxy: mining.set_extranonce, pools that send
/// work before their answers or a difficulty after the job, client.show_message, and the layout adaptation log.
/// </summary>
public sealed class RealPoolSurfaceTests
{
    [Fact]
    public async Task A_pool_changing_the_extranonce_mid_run_keeps_the_miners_on_their_connection_and_their_shares_valid()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var fleet = new MinerFleet(3, proxy.Miner("farm.setx"), (i, o) => o with { SubscribeExtranonce = i == 0, VersionRolling = i == 1 });
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(2, TimeSpan.FromSeconds(20));
        var before = proxy.Engine.Pools[0].Primary!.Extranonce1Hex;
        var extranonce1 = fleet.Miners.ToDictionary(m => m.Worker, m => m.Extranonce1);

        // The pool gives the proxy's connection a new extranonce1 and a 6-byte extranonce2: still room for k=2, n=4.
        await pool.SendSetExtranonceAsync(6);
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools[0].Primary?.Layout?.PoolExtranonce2Size == 6, TimeSpan.FromSeconds(10), "the new layout");
        var accepted = pool.Accepted;
        await pool.WaitUntilAsync(p => p.Accepted >= accepted + 6, TimeSpan.FromSeconds(20), "shares after set_extranonce");
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.NotEqual(before, proxy.Engine.Pools[0].Primary!.Extranonce1Hex);
        Assert.Equal(0, proxy.Engine.Pools[0].Primary!.Layout!.PadSize);
        Assert.True(fleet.EverySubmitAnsweredOnce);
        // A share the proxy forwarded just before the pool's clean job reached it is stale at the pool (it ends the
        // old jobs on its side first): answered to the miner as stale, nothing else is refused.
        Assert.Equal(pool.Rejected, pool.RejectedFor(ShareRejectReason.StaleJob));
        Assert.Empty(pool.AuditAcceptedShares());
        Assert.Equal(1, pool.TotalConnections);
        Assert.Contains(pool.AcceptedShares, s => s.Extranonce1 == proxy.Engine.Pools[0].Primary!.Extranonce1Hex && s.Extranonce2.Length == 12);
        foreach (var miner in fleet.Miners)
        {
            // The miner's own extranonce1 and n never change: the pool's change is absorbed in coinbase1.
            Assert.Equal(1, miner.Connections);
            Assert.Equal(extranonce1[miner.Worker], miner.Extranonce1);
            Assert.Equal(4, miner.Extranonce2Size);
            Assert.All(miner.Submits.Where(s => s.Outcome == SubmitOutcome.Rejected), s => Assert.Equal(21, s.ErrorCode));
        }
    }

    [Fact]
    public async Task A_pool_whose_new_extranonce_is_too_small_for_its_miners_is_reconnected_and_nothing_is_refused_upstream()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var miner = new TestMiner(proxy.Miner("farm.shrunk"));
        await miner.StartAsync();
        await miner.WaitForAcceptedAsync(2, TimeSpan.FromSeconds(20));

        // N = 4 cannot hold the miner's k + n = 6: the proxy drops that connection instead of sending shares that
        // could not fit, connects again, and the miner goes on.
        await pool.SendSetExtranonceAsync(4);
        await pool.WaitUntilAsync(p => p.TotalConnections >= 2, TimeSpan.FromSeconds(10), "a new upstream connection");
        var accepted = pool.Accepted;
        await pool.WaitUntilAsync(p => p.Accepted >= accepted + 2, TimeSpan.FromSeconds(20), "shares on the new connection");
        await miner.StopHashingAsync();
        await miner.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        // A share forwarded before the pool's set_extranonce and clean job reached the proxy is either stale at the
        // pool (it ended the old jobs first) or still unanswered when the proxy drops that connection; the new
        // connection is a new pool session, so it cannot be re-sent and the miner is told it was lost. Nothing that
        // could not fit is ever sent, so nothing else is refused, and every submit is answered.
        Assert.Equal(pool.Rejected, pool.RejectedFor(ShareRejectReason.StaleJob));
        Assert.Empty(pool.AuditAcceptedShares());
        Assert.Equal(1, miner.Connections);
        Assert.DoesNotContain(miner.Submits, s => s.Outcome == SubmitOutcome.Unanswered);
        Assert.All(
            miner.Submits.Where(s => s.Outcome == SubmitOutcome.Rejected),
            s => Assert.True(s.ErrorCode == 21 || (s.ErrorCode == 20 && s.Reason!.Contains("pool connection lost", StringComparison.Ordinal)), $"{s.ErrorCode} {s.Reason}"));
    }

    [Theory]
    [InlineData(PoolWorkOrdering.BeforeAuthorizeResult)]
    [InlineData(PoolWorkOrdering.BeforeSubscribeResult)]
    public async Task A_pool_sending_work_before_its_answers_and_a_difficulty_after_the_job_is_followed(PoolWorkOrdering ordering)
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, WorkOrdering = ordering, Extranonce2Size = 4 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var fleet = new MinerFleet(2, proxy.Miner("farm.order"));
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(2, TimeSpan.FromSeconds(20));

        // set_difficulty after the notify: it applies from the next job on (Stratum's rule), which the pool sends.
        await pool.SetDifficultyAsync(2e-5, sendNewJob: false);
        await pool.BroadcastJobAsync();
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools[0].Primary!.CurrentJob!.PoolDifficulty.Equals(2e-5), TimeSpan.FromSeconds(10), "the new pool difficulty");
        var accepted = pool.Accepted;
        await pool.WaitUntilAsync(p => p.Accepted >= accepted + 4, TimeSpan.FromSeconds(20), "shares at the new difficulty");
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        Assert.Equal(0, pool.Rejected);
        Assert.Empty(pool.AuditAcceptedShares());
    }

    [Fact]
    public async Task Show_message_and_a_forced_layout_are_logged_once()
    {
        var logger = new RecordingLogger();
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Extranonce2Size = 4 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool), logger);
        await using var miner = new TestMiner(proxy.Miner("farm.msg"));
        await miner.StartAsync();
        await miner.WaitForAcceptedAsync(1, TimeSpan.FromSeconds(20));

        await pool.SendShowMessageAsync("maintenance at 14:00 UTC");
        await proxy.WaitUntilAsync(() => logger.Messages(205).Count > 0, TimeSpan.FromSeconds(10), "the message logged");
        await pool.DropConnectionsAsync();
        await proxy.WaitUntilAsync(() => pool.TotalConnections >= 2 && proxy.Engine.Pools[0].IsReady, TimeSpan.FromSeconds(10), "the pool again");

        Assert.Equal("Pool pool0 says: maintenance at 14:00 UTC", Assert.Single(logger.Messages(205)));
        var adapted = Assert.Single(logger.Messages(211));
        Assert.Contains("extranonce2 size 4", adapted, StringComparison.Ordinal);
        Assert.Contains("k=1, n=3", adapted, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Switching_a_passthrough_miner_to_another_passthrough_pool_closes_its_old_connection()
    {
        await using var first = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var second = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(PoolMode.Passthrough, first, second));
        await using var miner = new TestMiner(proxy.Miner("farm.pt"));
        await miner.StartAsync();
        await first.WaitForAcceptedAsync(2, TimeSpan.FromSeconds(20));
        Assert.Equal(1, first.OpenConnections);

        Assert.Equal(1, proxy.Engine.Switch("pool1", _ => true, pin: true));
        await second.WaitForAcceptedAsync(2, TimeSpan.FromSeconds(20));
        await first.WaitUntilAsync(p => p.OpenConnections == 0, TimeSpan.FromSeconds(10), "the old dedicated connection closed");

        Assert.Equal(1, second.OpenConnections);
        Assert.Equal(1, miner.Connections);
        Assert.Equal(0, first.Rejected + second.Rejected);
        Assert.Equal(0, proxy.Engine.Pools[0].DedicatedCount);
    }
}
