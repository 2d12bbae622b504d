using StratumProxy.Proxy.Metrics;
using StratumProxy.Stratum.Mining;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// Pools that answer like ckpool (result false + reject-reason), that send work before their replies (PEERS.md #3,
/// #4), that reject shares, and a block candidate that misses the share target (PEERS.md #10).
/// </summary>
public sealed class PoolStyleTests
{
    public static TheoryData<PoolReplyStyle, PoolWorkOrdering> Styles => new()
    {
        { PoolReplyStyle.Ckpool, PoolWorkOrdering.BeforeAuthorizeResult },
        { PoolReplyStyle.Ckpool, PoolWorkOrdering.BeforeSubscribeResult },
        { PoolReplyStyle.Standard, PoolWorkOrdering.BeforeSubscribeResult },
    };

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task Miners_work_through_pools_that_reply_late_or_like_ckpool(PoolReplyStyle style, PoolWorkOrdering ordering)
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions
        {
            Difficulty = 1e-5,
            ReplyStyle = style,
            WorkOrdering = ordering,
            SilentOnExtranonceSubscribeAndPing = style == PoolReplyStyle.Ckpool,
        });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var fleet = new MinerFleet(2, proxy.Miner("farm.style"), (i, o) => o with { VersionRolling = i == 1, SubscribeExtranonce = true });
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(3, TimeSpan.FromSeconds(20));
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        Assert.Equal(0, pool.Rejected);
        Assert.Empty(pool.AuditAcceptedShares());
        foreach (var miner in fleet.Miners)
        {
            Assert.True(proxy.Engine.Ledger.TryGetWorker(miner.Worker, out var stats));
            var counters = Assert.Single(stats.Pools());
            Assert.Equal(counters.Forwarded, counters.PoolAccepted);
            Assert.Equal(pool.Worker("acct." + miner.Worker.Split('.')[1]).Accepted, counters.PoolAccepted);
            Assert.Equal(miner.Accepted, stats.Count(ShareResult.Accepted));
        }
    }

    [Theory]
    [InlineData(PoolReplyStyle.Standard, 24)]
    [InlineData(PoolReplyStyle.Ckpool, 20)]
    public async Task A_pool_rejection_reaches_the_miner_under_its_own_id_and_counts_as_pool_rejected(PoolReplyStyle style, int expectedCode)
    {
        // The pool authorizes the proxy's account but none of the rigs' worker names: every share it gets is
        // refused as from an unauthorized worker, after the proxy itself found it valid.
        await using var pool = await TestPool.StartAsync(new TestPoolOptions
        {
            Difficulty = 1e-5,
            ReplyStyle = style,
            Authorize = (user, _) => user == "acct",
        });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var fleet = new MinerFleet(2, proxy.Miner("farm.refused"), (i, o) => o with { IdStyle = i == 0 ? MinerIdStyle.BfgMiner : MinerIdStyle.CpuMiner });
        await fleet.StartAsync();
        await fleet.WaitUntilAsync(f => f.Miners.All(m => m.Rejected >= 3), TimeSpan.FromSeconds(20), "3 rejects each");
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        Assert.Equal(0, fleet.Accepted);
        foreach (var miner in fleet.Miners)
        {
            Assert.Equal(1, miner.Connections);
            Assert.All(miner.Submits, s =>
            {
                Assert.Equal(SubmitOutcome.Rejected, s.Outcome);
                Assert.Equal(expectedCode, s.ErrorCode);
                Assert.Contains("Unauthorized", s.Reason, StringComparison.OrdinalIgnoreCase);
            });

            Assert.True(proxy.Engine.Ledger.TryGetWorker(miner.Worker, out var stats));
            Assert.Equal(miner.Rejected, stats.Count(ShareResult.PoolRejected));
            Assert.Equal(0, stats.Count(ShareResult.Accepted));
            var counters = Assert.Single(stats.Pools());
            var upstreamWorker = "acct." + miner.Worker.Split('.')[1];
            Assert.Equal(pool.Worker(upstreamWorker).Rejected[ShareRejectReason.Unauthorized], counters.PoolRejected);
            Assert.Equal(counters.Forwarded, counters.PoolRejected);
            Assert.Equal(0, counters.Gap);
            Assert.Equal(
                miner.Rejected,
                await proxy.MetricAsync($"stratumproxy_shares_total{{worker=\"{miner.Worker}\",pool=\"pool0\",result=\"pool_rejected\"}}"));
        }
    }

    [Fact]
    public async Task A_block_candidate_below_the_share_target_is_forwarded_and_accepted()
    {
        // Regtest-like nbits: half of all hashes are blocks, while the share difficulty is a million.
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e6, NBits = 0x207fffff });
        var options = ProxyHarness.Options(pool);
        options = options with { Difficulty = options.Difficulty with { Start = 1e5, Min = 1e5 } };
        await using var proxy = await ProxyHarness.StartAsync(options);
        await using var client = await WireClient.ConnectAsync(proxy.Port);
        await client.HandshakeAsync("farm.lucky");
        Assert.Equal(1e5, client.Difficulty);

        var template = client.Template();
        var extranonce2 = new byte[] { 1, 0, 0, 0 };
        var networkDifficulty = Difficulty.FromTarget(template.NetworkTarget);
        var nonce = client.FindNonce(extranonce2, networkDifficulty);
        Assert.Equal(nonce, client.FindNonce(extranonce2, 1e5, meets: false, start: nonce));

        var response = await client.SubmitAsync(5, "farm.lucky", client.LastNotify!.JobId, extranonce2, template.NTime, nonce);
        Assert.Null(WireClient.ErrorCode(response));
        await pool.WaitForAcceptedAsync(1, TimeSpan.FromSeconds(5));
        Assert.Equal(1, pool.BlockCandidates);
        Assert.True(Assert.Single(pool.AcceptedShares).IsBlockCandidate);
        Assert.Equal(1, await proxy.MetricAsync("stratumproxy_block_candidates_total{pool=\"pool0\"}"));

        // A plain low-difficulty hash that is not a block is still refused locally.
        var notBlock = client.FindNonce(extranonce2, networkDifficulty, meets: false);
        Assert.Equal(23, WireClient.ErrorCode(await client.SubmitAsync(6, "farm.lucky", client.LastNotify!.JobId, extranonce2, template.NTime, notBlock)));
    }
}
