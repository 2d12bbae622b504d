using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Routing;
using StratumProxy.Proxy.Tests.EndToEnd;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Routing;

/// <summary>
/// The drain on stop, with real hashing test miners that follow <c>client.reconnect</c> as cgminer does (to the
/// address they dialled, closing at once): the draining instance stops accepting, asks one miner at a time on the
/// drain's own clock, and a second instance that takes over the address receives each miner in turn.
/// </summary>
public sealed class MinerDrainTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Drain_AsksEachMinerInTurnOverThePeriod_CarriesTheOthers_TheyMoveToTheNextInstance_EverySubmitAnswered()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        options = options with { Drain = new DrainOptions { Period = TimeSpan.FromSeconds(40), Grace = TimeSpan.FromSeconds(10) } };
        var logger = new RecordingLogger();
        await using var first = await ProxyHarness.StartAsync(options, logger);
        var port = first.Port;
        var clock = new FakeTimeProvider();
        var drain = new MinerDrain(first.Engine, first.Listener, clock, logger);

        // Four miners, connected one after the other (so the drain, oldest first, takes them in this order).
        List<TestMiner> miners = [];
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var miner = new TestMiner(first.Miner($"farm.drain{i}") with { HashesPerYield = 256 });
                miners.Add(miner);
                await miner.StartAsync();
                await miner.WaitUntilAsync(m => m.IsAuthorized, Patience, "authorized");
            }

            foreach (var miner in miners)
            {
                await miner.WaitForAcceptedAsync(2, Patience);
            }

            // The first miner's turn comes at once (see the loop below for why it stops hashing first).
            await miners[0].StopHashingAsync();
            await miners[0].WaitForAnswersAsync(Patience);
            var draining = drain.RunAsync(CancellationToken.None);
            Assert.True(drain.IsDraining);
            Assert.Equal(1, await first.MetricAsync("stratumproxy_draining"));

            // The first instance no longer accepts: the next instance can take the same address.
            await using var second = await StartOnAsync(pool, port);

            var step = TimeSpan.FromSeconds(10);
            for (var i = 0; i < miners.Count; i++)
            {
                // The miner whose turn comes finishes its submits first: a share it sent while the request was on
                // the wire would go unanswered on its side (it closes on reading the request, as cgminer does), and
                // that crossing is the wire's, not the proxy's. The others keep hashing through the draining proxy.
                var miner = miners[i];
                if (i > 0)
                {
                    await miner.StopHashingAsync();
                    await miner.WaitForAnswersAsync(Patience);

                    // Nothing more is sent until the drain's clock reaches the next slot.
                    await first.WaitUntilAsync(() => drain.Waits == i, Patience, $"the drain waiting for slot {i}");
                    Assert.Equal(i, drain.Sent);
                    Assert.All(miners.Skip(i), m => Assert.Equal(0, m.ReconnectsReceived));
                    clock.Advance(step);
                }

                await first.WaitUntilAsync(() => drain.Sent == i + 1, Patience, $"reconnect {i + 1} sent");
                await miner.WaitUntilAsync(m => m.ReconnectsReceived == 1 && m.Connections == 2 && m.IsAuthorized, Patience, "reconnected to the next instance");

                // The miners not asked yet are still carried by the draining instance.
                foreach (var later in miners.Skip(i + 1))
                {
                    Assert.Equal(1, later.Connections);
                    await later.WaitForAcceptedAsync(later.Accepted + 1, Patience);
                }
            }

            var result = await draining.WaitAsync(Patience);
            Assert.Equal(new DrainResult(4, 4, 0, result.Elapsed), result);
            Assert.Equal(TimeSpan.FromSeconds(30), result.Elapsed);
            Assert.Equal(4, await first.MetricAsync("stratumproxy_drain_reconnects_total"));
            Assert.Equal(0, await first.MetricAsync("stratumproxy_drain_miners_remaining"));
            Assert.Single(logger.Messages(400), m => m.Contains("asking 4 miners to reconnect over 00:00:40", StringComparison.Ordinal));
            Assert.Single(logger.Messages(402), m => m.Contains("4 miners asked to reconnect, 4 left, 0 still connected", StringComparison.Ordinal));

            // Each was asked once, moved to the next instance, and every submit got its one answer.
            Assert.Equal(miners.Count, second.Engine.MinerSessions.Count(s => s.IsAuthorized));
            foreach (var miner in miners)
            {
                Assert.Equal((1, 2, 0L), (miner.ReconnectsReceived, miner.Connections, miner.Rejected));
                Assert.True(miner.EverySubmitAnsweredOnce, miner.ToString());
                Assert.True(first.Engine.Ledger.TryGetWorker(miner.Worker, out var onFirst));
                Assert.All(onFirst.Pools(), c => Assert.Equal((0, 0L), (c.InFlight, c.Lost)));
            }
        }
        finally
        {
            foreach (var miner in miners)
            {
                await miner.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Drain_ZeroPeriod_AsksEveryMinerAtOnce_AndEndsWhenTheyHaveLeft()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        options = options with { Drain = new DrainOptions { Period = TimeSpan.Zero, Grace = TimeSpan.FromSeconds(10) } };
        await using var proxy = await ProxyHarness.StartAsync(options);
        var clock = new FakeTimeProvider();
        var drain = new MinerDrain(proxy.Engine, proxy.Listener, clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await using var fleet = new MinerFleet(3, proxy.Miner("farm.now") with { ReconnectOnDisconnect = false, HashesPerYield = 256 });
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(1, Patience);

        // No clock advance: all three are asked at once, leave, and the drain ends before its grace.
        var result = await drain.RunAsync(CancellationToken.None).WaitAsync(Patience);
        Assert.Equal((3, 3, 0, TimeSpan.Zero), (result.Miners, result.Sent, result.Remaining, result.Elapsed));
        Assert.All(fleet.Miners, m => Assert.Equal(1, m.ReconnectsReceived));
    }

    [Fact]
    public async Task Drain_MinerThatIgnoresTheRequest_IsCarriedUntilPeriodAndGraceEnd()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        options = options with { Drain = new DrainOptions { Period = TimeSpan.FromSeconds(4), Grace = TimeSpan.FromSeconds(6) } };
        await using var proxy = await ProxyHarness.StartAsync(options);
        var clock = new FakeTimeProvider();
        var drain = new MinerDrain(proxy.Engine, proxy.Listener, clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await using var deaf = new TestMiner(proxy.Miner("farm.deaf") with { FollowReconnect = false, HashesPerYield = 256 });
        await deaf.StartAsync();
        await deaf.WaitForAcceptedAsync(1, Patience);

        var draining = drain.RunAsync(CancellationToken.None);
        await deaf.WaitUntilAsync(m => m.ReconnectsReceived == 1, Patience, "the request");
        await proxy.WaitUntilAsync(() => drain.Waits == 1, Patience, "the drain waiting for its miner");

        // Still connected and still carried until period + grace (10 s on the drain's clock) have passed.
        clock.Advance(TimeSpan.FromSeconds(9));
        await deaf.WaitForAcceptedAsync(deaf.Accepted + 2, Patience);
        Assert.False(draining.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        var result = await draining.WaitAsync(Patience);
        Assert.Equal((1, 1, 1), (result.Miners, result.Sent, result.Remaining));
        Assert.Equal(1, await proxy.MetricAsync("stratumproxy_drain_miners_remaining"));
        Assert.Equal(1, deaf.Connections);
    }

    [Fact]
    public async Task Drain_RequestWaitsForTheVerdictOfAShareInFlight_SoTheMinerGetsItsAnswerFirst()
    {
        var verdicts = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, BeforeVerdict = () => verdicts.Task });
        var options = ProxyHarness.Options(pool);
        options = options with { Drain = new DrainOptions { Period = TimeSpan.Zero, Grace = TimeSpan.FromSeconds(30) } };
        await using var proxy = await ProxyHarness.StartAsync(options);
        var clock = new FakeTimeProvider();
        var drain = new MinerDrain(proxy.Engine, proxy.Listener, clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        try
        {
            // One share, forwarded to the pool, which holds its verdict.
            await using var miner = new TestMiner(proxy.Miner("farm.inflight") with { ShareLimit = 1, ReconnectOnDisconnect = false, HashesPerYield = 256 });
            await miner.StartAsync();
            await miner.WaitUntilAsync(m => m.Submitted == 1 && m.Pending == 1, Patience, "one share awaiting the pool");
            var session = Assert.Single(proxy.Engine.MinerSessions);
            await proxy.WaitUntilAsync(() => session.Upstream is not null && proxy.Engine.Ledger.TryGetWorker("farm.inflight", out var w) && w.Pools().Sum(c => c.InFlight) == 1, Patience, "the share in flight at the pool");

            // Asked to leave while the verdict is due: the request waits for it.
            var draining = drain.RunAsync(CancellationToken.None);
            await proxy.WaitUntilAsync(() => session.ReconnectWaitsForVerdict, Patience, "the request waiting for the verdict");
            Assert.Equal(0, miner.ReconnectsReceived);

            // The pool answers: the miner gets the verdict, then the request, and leaves.
            verdicts.SetResult();
            await miner.WaitUntilAsync(m => m.ReconnectsReceived == 1, Patience, "the request");
            var result = await draining.WaitAsync(Patience);
            Assert.Equal((1, 1, 0), (result.Miners, result.Sent, result.Remaining));
            Assert.True(miner.Accepted == 1 && miner.EverySubmitAnsweredOnce, miner.ToString());
        }
        finally
        {
            // A failed wait must not leave the pool's read loop held (its dispose would wait forever).
            verdicts.TrySetResult();
        }
    }

    [Fact]
    public async Task Drain_ConnectionThatNeverAuthorized_IsClosedAtOnce_AndCountsAsNoMiner()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        options = options with { Drain = new DrainOptions { Period = TimeSpan.FromSeconds(30), Grace = TimeSpan.FromSeconds(10) } };
        await using var proxy = await ProxyHarness.StartAsync(options);
        var drain = new MinerDrain(proxy.Engine, proxy.Listener, new FakeTimeProvider(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        // A connection that says nothing (a balancer's TCP check, a scanner): it would hold the drain for its grace.
        using var silent = new System.Net.Sockets.TcpClient();
        await silent.ConnectAsync(System.Net.IPAddress.Loopback, proxy.Port);
        await proxy.WaitUntilAsync(() => proxy.Engine.MinerSessions.Count == 1, Patience, "the silent connection's session");

        var result = await drain.RunAsync(CancellationToken.None).WaitAsync(Patience);
        Assert.Equal((0, 0, 0), (result.Miners, result.Sent, result.Remaining));
        var buffer = new byte[256];
        Assert.Equal(0, await silent.GetStream().ReadAsync(buffer).AsTask().WaitAsync(Patience));
    }

    [Theory]
    [InlineData("-00:00:01", "00:00:10", "Proxy:Drain:Period (-00:00:01) must lie between 00:00:00 (all at once) and 01:00:00.")]
    [InlineData("01:00:01", "00:00:10", "Proxy:Drain:Period (01:00:01) must lie between 00:00:00 (all at once) and 01:00:00.")]
    [InlineData("00:00:30", "-00:00:01", "Proxy:Drain:Grace (-00:00:01) must lie between 00:00:00 and 01:00:00.")]
    [InlineData("00:00:00", "00:00:00", null)]
    [InlineData("01:00:00", "01:00:00", null)]
    public void DrainOptions_PeriodAndGraceAreBetweenZeroAndAnHour(string period, string grace, string? error)
    {
        var options = new ProxyOptions
        {
            Listeners = [new ListenerOptions()],
            Drain = new DrainOptions { Period = TimeSpan.Parse(period, System.Globalization.CultureInfo.InvariantCulture), Grace = TimeSpan.Parse(grace, System.Globalization.CultureInfo.InvariantCulture) },
        };
        var result = new ProxyOptionsValidator().Validate(null, options);
        Assert.Equal(error is null ? [] : [error], result.Failures ?? []);
    }

    private static async Task<ProxyHarness> StartOnAsync(TestPool pool, int port)
    {
        var options = ProxyHarness.Options(pool) with { Listeners = [new ListenerOptions { Name = "test", Endpoint = $"127.0.0.1:{port}", PoolGroup = "default" }] };
        return await ProxyHarness.StartAsync(options);
    }
}
