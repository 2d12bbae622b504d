using System.Net.Sockets;
using StratumProxy.TestKit;
using Xunit.Abstractions;

namespace StratumProxy.Proxy.Tests.TestKit;

/// <summary>Fleets, job changes, difficulty changes, reconnects and pool restarts, straight against the TestPool.</summary>
public sealed class MinerFleetTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Fleet_ThroughNewJobsAndDifficulty_PoolAndMinersAgreePerWorker()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Seed = 11 });
        await using var fleet = new MinerFleet(
            4,
            new TestMinerOptions { Host = pool.Host, Port = pool.Port, Worker = "farm.rig" },
            (i, o) => o with { VersionRolling = i % 2 == 1, IdStyle = (MinerIdStyle)(i % 4), RollNTime = i == 3 });

        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(3, Timeout);
        await pool.BroadcastJobAsync(cleanJobs: false);
        var cleanJob = await pool.BroadcastJobAsync(cleanJobs: true);
        await fleet.WaitUntilAsync(_ => pool.AcceptedShares.Count(s => s.JobId == cleanJob) >= 4, Timeout, "4 shares of the clean job");
        await pool.SetDifficultyAsync(2e-5);
        var lastJob = pool.CurrentJobId;
        await fleet.WaitUntilAsync(_ => pool.AcceptedShares.Count(s => s.JobId == lastJob) >= 8, Timeout, "8 shares of the last job");
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(Timeout);
        output.WriteLine(string.Join(Environment.NewLine, fleet.Miners));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        foreach (var miner in fleet.Miners)
        {
            var stats = pool.Worker(miner.Worker);
            Assert.Equal(miner.Accepted, stats.Accepted);
            Assert.Equal(miner.Rejected, stats.RejectedTotal);
            Assert.Equal(miner.AcceptedDifficulty, stats.AcceptedDifficulty, 12);
            Assert.Equal(4, miner.JobsReceived);
            Assert.Equal(2, miner.CleanJobsReceived);
        }

        Assert.Equal(fleet.Accepted, pool.Accepted);
        Assert.Equal(4, pool.Sessions.Select(s => s.Extranonce1).Distinct().Count());
        Assert.All(pool.AcceptedShares.Where(s => s.JobId == lastJob), s => Assert.Equal(2e-5, s.Difficulty));
        Assert.Empty(pool.AuditAcceptedShares());
    }

    [Fact]
    public async Task Pool_StoppedAndRestartedOnSamePort_MinerComesBackAndNothingIsCountedTwice()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var miner = new TestMiner(new TestMinerOptions { Host = pool.Host, Port = pool.Port, RetryDelay = TimeSpan.FromMilliseconds(20) });
        await miner.StartAsync();
        await miner.WaitForAcceptedAsync(3, Timeout);
        var port = pool.Port;

        await pool.StopAsync();
        await miner.WaitUntilAsync(m => !m.IsConnected, Timeout, "disconnect");
        using (var probe = new TcpClient())
        {
            await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync("127.0.0.1", port));
        }

        var acceptedBefore = miner.Accepted;
        await pool.RestartAsync();
        await miner.WaitUntilAsync(m => m.Connections >= 2 && m.Accepted >= acceptedBefore + 3, Timeout, "3 more accepted after the restart");
        await miner.StopHashingAsync();
        await miner.WaitForAnswersAsync(Timeout);

        Assert.Equal(port, pool.Port);
        Assert.Equal(0, miner.UnexpectedAnswers);
        Assert.Equal(0, miner.Rejected);

        // A share in flight when the pool stopped may be counted by the pool with its answer lost, never the reverse.
        Assert.InRange(pool.Accepted, miner.Accepted, miner.Accepted + miner.Unanswered);
        Assert.Empty(pool.AuditAcceptedShares());
    }

    [Fact]
    public async Task Miner_ShowMessageAndReconnect_MovesToTheOtherPoolAndKeepsMining()
    {
        await using var first = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var second = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, ReplyStyle = PoolReplyStyle.Ckpool });
        await using var miner = new TestMiner(new TestMinerOptions { Host = first.Host, Port = first.Port, Worker = "acct.mover" });
        await miner.StartAsync();
        await first.WaitForAcceptedAsync(2, Timeout);

        await first.SendShowMessageAsync("maintenance: moving you");
        await first.SendReconnectAsync(second.Host, second.Port);
        await second.WaitForAcceptedAsync(2, Timeout, "acct.mover");
        await first.WaitForOpenConnectionsAsync(0, Timeout);

        Assert.Equal(["maintenance: moving you"], miner.Messages);
        Assert.Equal(2, miner.Connections);
        Assert.Equal(0, first.Rejected + second.Rejected);
    }
}
