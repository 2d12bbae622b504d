using System.Globalization;
using System.Net;
using StratumProxy.Host.Tests;
using StratumProxy.Stratum.Mining;
using StratumProxy.TestKit;

namespace StratumProxy.LoadTest.Tests;

/// <summary>
/// The load tool against real peers: the validating TestPool directly, and the real stratum-proxy executable in
/// front of it. Counts are checked against what the pool saw; nothing here asserts a time.
/// </summary>
public sealed class LoadRunTests : IDisposable
{
    // A power of two, so the proxy (which rounds difficulties to powers of two) sends miners exactly the pool's.
    private const double PoolDifficulty = 1.0 / (1 << 24);
    private const uint JobVersion = 0x20000000;

    private readonly string _directory = Directory.CreateTempSubdirectory("loadtest-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static LoadOptions Options(IPEndPoint target, int submits) => new()
    {
        Target = target,
        Sessions = 12,
        Window = 4,
        MaxSubmits = submits,
        Duration = TimeSpan.FromMinutes(2),
        Drain = TimeSpan.FromMinutes(1),
        ConnectTimeout = TimeSpan.FromMinutes(1),
        Settle = TimeSpan.Zero,
        Mix = ShareMix.Parse("valid=4,bad-nonce=3,stale=2,duplicate=1"),
        User = "farm",
    };

    [Fact]
    public async Task Run_AgainstTestPool_EveryAnswerAsMadeAndCountsMatchThePool()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = PoolDifficulty, MerkleBranchCount = 12 });

        // A clean job once every session is ready: the job before it is what the stale shares name.
        var report = await new LoadRun(Options(pool.EndPoint, 600)) { WhenReady = CleanJob(pool) }.RunAsync(Deadline());

        Assert.Equal(12, report.Sessions.Ready);
        Assert.Equal(600, report.Submits.Sent);
        Assert.Equal(600, report.Submits.Answered);
        Assert.Equal(0, report.Submits.Mismatched);
        Assert.Equal(0, report.Submits.UnexpectedAnswers + report.Submits.Malformed + report.Submits.ValidSearchExhausted);

        // Every kind went out, and the pool's books agree with the tool's, reason by reason.
        Assert.All(new[] { "valid", "bad-nonce", "stale", "duplicate" }, k => Assert.True(report.ByKind[k].Sent > 0, k));
        Assert.Equal(report.Submits.Accepted, pool.Accepted);
        Assert.Equal(report.ByKind["valid"].Sent, pool.Accepted);
        Assert.Equal(report.ByKind["bad-nonce"].Sent, pool.RejectedFor(ShareRejectReason.LowDifficulty));
        Assert.Equal(report.ByKind["duplicate"].Sent, pool.RejectedFor(ShareRejectReason.Duplicate));
        Assert.Equal(report.ByKind["stale"].Sent, pool.RejectedFor(ShareRejectReason.StaleJob));
        Assert.Equal(report.Submits.Rejected, pool.Rejected);
        Assert.Equal(
            new Dictionary<string, long> { ["21"] = report.ByKind["stale"].Sent, ["22"] = report.ByKind["duplicate"].Sent, ["23"] = report.ByKind["bad-nonce"].Sent },
            report.ErrorsByCode);

        // Real shares: the pool re-checks each from scratch, and version rolling was negotiated and used.
        Assert.Empty(pool.AuditAcceptedShares());
        Assert.All(pool.Sessions, s => Assert.Equal(VersionRolling.Bip320Mask, s.VersionRollingMask));
        Assert.Contains(pool.AcceptedShares, s => s.Version != JobVersion);
        Assert.All(pool.Sessions, s => Assert.StartsWith("farm.w", Assert.Single(s.AuthorizedWorkers), StringComparison.Ordinal));
        Assert.Equal(600, report.LatencyMs.Count);
    }

    [Fact]
    public async Task Run_ThroughTheProxyExecutable_ProxyAnswersInvalidOnesAndForwardsEveryValidShare()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = PoolDifficulty, MerkleBranchCount = 12, StampJobs = true });
        var difficulty = PoolDifficulty.ToString("R", CultureInfo.InvariantCulture);
        await using var proxy = new RunningProxy(_directory,
        [
            "run", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", pool.Url, "--user", "acct",
            "--start-difficulty", difficulty, "--min-difficulty", difficulty, "--max-difficulty", difficulty,
        ]);
        var listening = await proxy.WaitForLineAsync(l => l.Contains("Listening for miners on 127.0.0.1:", StringComparison.Ordinal), "its miner listener");
        var admin = await proxy.WaitForLineAsync(l => l.Contains("Admin endpoint on http://", StringComparison.Ordinal), "its admin endpoint");
        var target = Program.ParseEndPoint(listening[listening.IndexOf("127.0.0.1:", StringComparison.Ordinal)..].Split(' ')[0]);
        var metrics = new Uri(admin[admin.IndexOf("http://", StringComparison.Ordinal)..].Split(' ')[0] + "/metrics");
        await pool.WaitForOpenConnectionsAsync(1, TimeSpan.FromMinutes(1), Deadline());

        // The clean job reaches every session through the proxy (its stamp gives the fan-out); the proxy's job
        // before it is what the stale shares name.
        var run = new LoadRun(Options(target, 500) with { ProxyPid = proxy.Id, ProxyMetrics = metrics }) { WhenReady = CleanJob(pool) };
        var report = await run.RunAsync(Deadline());

        Assert.Equal(12, report.Sessions.Ready);
        Assert.Equal(500, report.Submits.Answered);
        Assert.Equal(0, report.Submits.UnexpectedAnswers + report.Submits.Malformed + report.Submits.ValidSearchExhausted);

        // Valid shares meet the pool's target too, so each one accepted by the proxy was accepted by the pool; the
        // invalid ones never left the proxy.
        Assert.True(report.Submits.Accepted > 0);
        Assert.Equal(report.Submits.Accepted, pool.Accepted);
        Assert.Equal(report.ByKind["valid"].Sent, pool.Accepted);
        Assert.Equal(0, pool.Rejected);
        Assert.Empty(pool.AuditAcceptedShares());
        Assert.Equal(0, report.Submits.Mismatched);
        Assert.Equal(
            new Dictionary<string, long> { ["21"] = report.ByKind["stale"].Sent, ["22"] = report.ByKind["duplicate"].Sent, ["23"] = report.ByKind["bad-nonce"].Sent },
            report.ErrorsByCode);

        // The process figures come from /proc and the proxy's own /metrics.
        Assert.NotNull(report.Proxy);
        Assert.True(report.Proxy.End!.RssBytes > 0);
        Assert.True(report.Proxy.End.ManagedHeapBytes > 0);
        Assert.True(report.Proxy.End.AllocatedBytes > 0);
        Assert.True(report.Proxy.End.AllocatedBytes >= report.Proxy.Before!.AllocatedBytes);
        Assert.NotNull(report.Notify);
        Assert.Equal(1, report.Notify.CompleteJobs);
        Assert.Equal(12, report.Notify.Copies);
    }

    private static Func<CancellationToken, Task<bool>> CleanJob(TestPool pool) => async _ =>
    {
        await pool.BroadcastJobAsync(cleanJobs: true);
        return true;
    };

    private static CancellationToken Deadline() => new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token;
}
