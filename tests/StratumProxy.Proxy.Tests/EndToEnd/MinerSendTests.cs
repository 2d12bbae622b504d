using StratumProxy.Proxy.Transport;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>Plain-TCP miners get each job from the one shared line, and an idle session holds no send buffer.</summary>
public sealed class MinerSendTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task After_a_job_reaches_every_miner_no_session_holds_a_send_buffer()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var fleet = new MinerFleet(20, proxy.Miner("farm.rig"));
        await fleet.StartAsync();
        await fleet.WaitUntilAsync(f => f.Miners.All(m => m.JobsReceived > 0), Timeout, "a first job on every miner");
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(Timeout);

        var cleanBefore = fleet.Miners.Select(m => m.CleanJobsReceived).ToArray();
        var job = await pool.BroadcastJobAsync(cleanJobs: true);
        await fleet.WaitUntilAsync(
            f => f.Miners.Select((m, i) => m.CleanJobsReceived > cleanBefore[i] && m.CurrentJobId is not null).All(x => x),
            Timeout,
            "the clean job on every miner");

        // Every session writes straight to its socket, and once its flushes are over it holds nothing of them.
        var sessions = proxy.Engine.MinerSessions.ToArray();
        Assert.Equal(20, sessions.Length);
        var writers = sessions.Select(s => Assert.IsType<SocketSendWriter>(s.Connection.Transport.Output)).ToArray();
        await proxy.WaitUntilAsync(() => writers.All(w => !w.Sending && !w.HoldsBuffer), Timeout, "idle writers holding no buffer");
        Assert.NotNull(job);
    }

    [Fact]
    public async Task After_its_handshake_an_idle_session_keeps_no_ring_of_the_handshakes_answers()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var fleet = new MinerFleet(10, proxy.Miner("farm.rig", versionRolling: true) with { ShareLimit = 0 });
        await fleet.StartAsync();
        await fleet.WaitUntilAsync(f => f.Miners.All(m => m.JobsReceived > 0), Timeout, "a first job on every miner");

        // The configure, subscribe and authorize answers, the difficulty and the mask grow a session's ring to 4 slots
        // of 120 bytes; once they are written one slot is kept, and a message or two after them may grow it to 2.
        var sessions = proxy.Engine.MinerSessions.ToArray();
        Assert.Equal(10, sessions.Length);
        await proxy.WaitUntilAsync(() => sessions.All(s => s.OutboundSlots <= 2), Timeout, "idle sessions with at most 2 outbound slots");
    }
}
