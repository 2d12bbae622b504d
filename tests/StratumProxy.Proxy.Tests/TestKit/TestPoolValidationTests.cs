using System.Net.Sockets;
using StratumProxy.Stratum.Protocol;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.TestKit;

/// <summary>The pool refuses every kind of bad share, in both reply styles, and counts each refusal once.</summary>
public sealed class TestPoolValidationTests
{
    private const double PoolDifficulty = 1e-6;
    private const string Worker = "acct.raw";
    private const string Extranonce2 = "0100000000000000";

    [Theory]
    [InlineData(PoolReplyStyle.Standard)]
    [InlineData(PoolReplyStyle.Ckpool)]
    public async Task Pool_ValidAndTamperedShares_AcceptsOnlyTheValidOne(PoolReplyStyle style)
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = PoolDifficulty, ReplyStyle = style, MerkleBranchCount = 3, Seed = 7 });
        await using var client = await RawStratumClient.ConnectAsync(pool.Port);
        await client.HandshakeAsync(Worker);
        var job = client.LastNotify!;
        var en2 = Convert.FromHexString(Extranonce2);
        var good = client.FindNonce(en2, PoolDifficulty, meets: true);
        var secondGood = client.FindNonce(en2, PoolDifficulty, meets: true, start: good + 1);
        var bad = client.FindNonce(en2, PoolDifficulty, meets: false, start: good + 1);

        Assert.True((await client.SubmitAsync(10, Worker, job.JobId, Extranonce2, job.NTime, good)).Accepted);
        AssertRejected(await client.SubmitAsync(11, Worker, job.JobId, Extranonce2, job.NTime, good), style, 22, "Duplicate");
        AssertRejected(await client.SubmitAsync(12, Worker, job.JobId, Extranonce2, job.NTime, bad), style, 23, "Above target");
        AssertRejected(await client.SubmitAsync(13, Worker, "ffffffff", Extranonce2, job.NTime, good), style, 21, "Invalid JobID");
        AssertRejected(await client.SubmitAsync(14, Worker, job.JobId, "01000000", job.NTime, good), style, 20, "Invalid nonce2 length");
        AssertRejected(await client.SubmitAsync(15, Worker, job.JobId, Extranonce2, job.NTime - 1, good), style, 20, "Ntime out of range");
        AssertRejected(await client.SubmitAsync(16, Worker, job.JobId, Extranonce2, job.NTime, good, versionBits: 0x00002000), style, 20, "Invalid version mask");
        AssertRejected(await client.SubmitAsync(17, "acct.other", job.JobId, Extranonce2, job.NTime, good), style, 24, "Unauthorized worker");

        await pool.BroadcastJobAsync(cleanJobs: true);
        await client.ReadNotifyAsync();
        AssertRejected(await client.SubmitAsync(18, Worker, job.JobId, Extranonce2, job.NTime, secondGood), style, 21, "Stale");

        Assert.Equal(1, pool.Accepted);
        Assert.Equal(8, pool.Rejected);
        var stats = pool.Worker(Worker);
        Assert.Equal(1, stats.Accepted);
        Assert.Equal(PoolDifficulty, stats.AcceptedDifficulty);
        foreach (var reason in new[] { ShareRejectReason.Duplicate, ShareRejectReason.LowDifficulty, ShareRejectReason.UnknownJob, ShareRejectReason.InvalidExtranonce2, ShareRejectReason.NTimeOutOfRange, ShareRejectReason.InvalidVersionBits, ShareRejectReason.StaleJob })
        {
            Assert.Equal(1, stats.Rejected.GetValueOrDefault(reason));
        }

        Assert.Equal(1, pool.Worker("acct.other").Rejected.GetValueOrDefault(ShareRejectReason.Unauthorized));
        var accepted = Assert.Single(pool.AcceptedShares);
        Assert.Equal((job.JobId, Extranonce2, good), (accepted.JobId, accepted.Extranonce2, accepted.Nonce));
        Assert.Empty(pool.AuditAcceptedShares());
    }

    [Fact]
    public async Task Pool_VersionBits_AcceptedInsideGrantedMaskOnly()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-10, MerkleBranchCount = 0 });
        await using var client = await RawStratumClient.ConnectAsync(pool.Port);
        await client.SendAsync("{\"id\":0,\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"ffffffff\",\"version-rolling.min-bit-count\":2}]}");
        var (line, envelope) = await client.ReadResponseAsync("0");
        Assert.True(ConfigureResult.TryParse(line, envelope, out var configured));
        Assert.Equal(new ConfigureResult(true, 0x1fffe000, false), configured);
        await client.HandshakeAsync(Worker);
        var job = client.LastNotify!;

        // At difficulty 1e-10 the target is 2^256-1: every hash is a share, so nonce 0 serves for both submits.
        Assert.True((await client.SubmitAsync(3, Worker, job.JobId, Extranonce2, job.NTime, 0, versionBits: 0x00006000)).Accepted);
        Assert.False((await client.SubmitAsync(4, Worker, job.JobId, Extranonce2, job.NTime, 0, versionBits: 0x40000000)).Accepted);
        Assert.Equal(0x20006000u, Assert.Single(pool.AcceptedShares).Version);
        Assert.Equal(1, pool.RejectedFor(ShareRejectReason.InvalidVersionBits));
    }

    [Fact]
    public async Task Pool_BlockCandidateBelowShareTarget_IsAccepted()
    {
        // Regtest nbits: about half of all hashes meet the network target, none the share difficulty of 1e6.
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e6, NBits = 0x207fffff, MerkleBranchCount = 1 });
        await using var client = await RawStratumClient.ConnectAsync(pool.Port);
        await client.HandshakeAsync(Worker);
        var job = client.LastNotify!;
        var nonce = client.FindNonce(Convert.FromHexString(Extranonce2), StratumProxy.Stratum.Mining.Difficulty.NetworkDifficulty(0x207fffff), meets: true);

        var verdict = await client.SubmitAsync(3, Worker, job.JobId, Extranonce2, job.NTime, nonce);

        Assert.True(verdict.Accepted);
        Assert.Equal(1, pool.BlockCandidates);
        Assert.True(Assert.Single(pool.AcceptedShares).IsBlockCandidate);
    }

    [Fact]
    public async Task Pool_SilentMode_AnswersNeitherExtranonceSubscribeNorPing()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { SilentOnExtranonceSubscribeAndPing = true });
        await using var client = await RawStratumClient.ConnectAsync(pool.Port);
        await client.SendAsync("{\"id\":1,\"method\":\"mining.extranonce.subscribe\",\"params\":[]}");
        await client.SendAsync("{\"id\":2,\"method\":\"mining.ping\",\"params\":[]}");
        await client.SendAsync("{\"id\":3,\"method\":\"mining.subscribe\",\"params\":[\"raw/1.0\"]}");

        var (line, envelope) = await client.ReadResponseAsync("3");

        Assert.True(SubscribeResult.TryParse(line, envelope, out _, out _));
        Assert.Equal(0, client.OtherResponses);
    }

    [Fact]
    public async Task Pool_TlsClientHelloFirst_ClosesAtOnce()
    {
        await using var pool = await TestPool.StartAsync();
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", pool.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x05 });

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var read = await stream.ReadAsync(new byte[16], timeout.Token);

        Assert.Equal(0, read);
    }

    private static void AssertRejected(ResponseVerdict verdict, PoolReplyStyle style, int code, string ckpoolReason)
    {
        Assert.False(verdict.Accepted);
        if (style == PoolReplyStyle.Ckpool)
        {
            Assert.Equal(ckpoolReason, verdict.Reason);
        }
        else
        {
            Assert.Equal(code, verdict.ErrorCode);
        }
    }
}
