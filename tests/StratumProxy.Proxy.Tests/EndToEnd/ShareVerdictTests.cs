using StratumProxy.Proxy.Metrics;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// Every local verdict of issue 3 ("Every share"), through the real proxy: each bad share gets its code and the
/// connection stays open — ASICs mark a pool dead when it hangs up on them — so the next valid share is accepted.
/// </summary>
public sealed class ShareVerdictTests
{
    private const double PoolDifficulty = 1e-6;
    private const string Worker = "farm.verdicts";

    [Fact]
    public async Task Each_bad_share_gets_its_code_and_the_next_valid_share_is_still_accepted()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = PoolDifficulty });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var client = await WireClient.ConnectAsync(proxy.Port);
        await client.HandshakeAsync(Worker, versionRolling: true);
        var id = 10;
        byte tag = 0;

        async Task AssertAcceptedAsync()
        {
            var extranonce2 = new byte[] { ++tag, 0xee, 0, 0 };
            var job = client.LastNotify!.JobId;
            var ntime = client.Template().NTime;
            var response = await client.SubmitAsync(++id, Worker, job, extranonce2, ntime, client.FindNonce(extranonce2, PoolDifficulty));
            Assert.Null(WireClient.ErrorCode(response));
            Assert.True(response.GetProperty("result").GetBoolean());
        }

        // Duplicate: the same submit twice.
        var en2 = new byte[] { 1, 2, 3, 4 };
        var jobId = client.LastNotify!.JobId;
        var template = client.Template();
        var nonce = client.FindNonce(en2, PoolDifficulty);
        Assert.Null(WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, jobId, en2, template.NTime, nonce)));
        Assert.Equal(22, WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, jobId, en2, template.NTime, nonce)));
        await AssertAcceptedAsync();

        // Unknown job.
        Assert.Equal(21, WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, "deadbeef", en2, template.NTime, nonce)));
        await AssertAcceptedAsync();

        // Low difficulty: a nonce whose hash misses the miner's target.
        var low = client.FindNonce(new byte[] { 5, 5, 5, 5 }, PoolDifficulty, meets: false);
        Assert.Equal(23, WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, jobId, [5, 5, 5, 5], template.NTime, low)));
        await AssertAcceptedAsync();

        // extranonce2 of the wrong length (the proxy gave 4 bytes).
        Assert.Equal(20, WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, jobId, [1, 2], template.NTime, nonce)));
        Assert.Equal(20, WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, jobId, [1, 2, 3, 4, 5, 6, 7, 8], template.NTime, nonce)));
        await AssertAcceptedAsync();

        // ntime beyond the allowed roll (2 h by default), and far before the job.
        Assert.Equal(20, WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, jobId, en2, template.NTime + 7201, nonce)));
        Assert.Equal(20, WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, jobId, en2, template.NTime - 3600, nonce)));
        await AssertAcceptedAsync();

        // Version bits outside the negotiated 1fffe000 mask.
        Assert.Equal(20, WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, jobId, [7, 7, 7, 7], template.NTime, nonce, versionBits: 0x00000100)));
        Assert.Equal(20, WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, jobId, [7, 7, 7, 7], template.NTime, nonce, versionBits: 0xe0000000)));
        await AssertAcceptedAsync();

        // Stale: the pool replaces the job with a clean one; the old job id is refused.
        await pool.BroadcastJobAsync(cleanJobs: true);
        var fresh = await client.ReadNotifyAsync();
        Assert.NotEqual(jobId, fresh.JobId);
        var staleNonce = client.FindNonce([8, 8, 8, 8], PoolDifficulty);
        Assert.Equal(21, WireClient.ErrorCode(await client.SubmitAsync(++id, Worker, jobId, [8, 8, 8, 8], fresh.NTime, staleNonce)));
        await AssertAcceptedAsync();

        // The books: every verdict counted under its result; the pool saw only the valid, unique shares.
        Assert.True(proxy.Engine.Ledger.TryGetWorker(Worker, out var stats));
        Assert.Equal(8, stats.Count(ShareResult.Accepted));
        Assert.Equal(1, stats.Count(ShareResult.Duplicate));
        Assert.Equal(2, stats.Count(ShareResult.Stale));
        Assert.Equal(1, stats.Count(ShareResult.LowDifficulty));
        Assert.Equal(6, stats.Count(ShareResult.Invalid));
        await pool.WaitForAcceptedAsync(8, TimeSpan.FromSeconds(5));
        Assert.Equal(0, pool.Rejected);
        Assert.Empty(pool.AuditAcceptedShares());
        Assert.Equal(1, pool.TotalConnections);
    }
}
