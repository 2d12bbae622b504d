using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Routing;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Tests.Sessions;
using StratumProxy.Proxy.Transport;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Takeover;

/// <summary>A handover waits for the shares in flight; when the pool does not answer in time, nothing moves and the proxy reads on.</summary>
public sealed class QuiesceTests
{
    private const int Window = 4096;

    /// <summary>
    /// The quiesce timeout: it runs on the proxy's clock, which the tests move once the quiesce waits where they expect.
    /// Far longer than a test runs, so a wait on any other clock would never end in time.
    /// </summary>
    private static readonly TimeSpan Quiesce = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task HandOver_AShareStillAwaitsThePool_IsRefusedAfterTheQuiesceTimeout_AndTheSessionReadsOn()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        var pool = new HoldingPool();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // The share waits longer than the quiesce without being given up as unanswered.
        var options = TakeoverProxies.Options() with { Failover = new FailoverOptions { SubmitTimeout = 2 * Quiesce } };
        await using var old = TakeoverProxies.New(transport, time: clock, connector: pool, options: options);
        old.Start();

        // The clock stands still, so the routing tick does not run: the miner comes once the pool is ready, to be placed at once.
        WaitUntil(() => old.Engine.Pools.All(p => p.IsReady), "the pool ready");
        var miner = transport.ConnectMiner();
        await miner.WriteAsync("{\"id\":2,\"method\":\"mining.subscribe\",\"params\":[]}", token);
        await miner.WriteAsync("{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"farm.rig1\",\"x\"]}", token);
        var notify = await miner.ReadUntilAsync(l => l.Contains("\"method\":\"mining.notify\"", StringComparison.Ordinal), token);
        using var doc = JsonDocument.Parse(notify);
        var job = doc.RootElement.GetProperty("params")[0].GetString();
        var ntime = doc.RootElement.GetProperty("params")[7].GetString();

        // At the pool's difficulty of 2^-32 every hash is a share for the pool: this one is forwarded and held there.
        await miner.WriteAsync($"{{\"id\":7,\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{job}\",\"00000001\",\"{ntime}\",\"00000000\"]}}", token);
        await pool.Submitted.Task.WaitAsync(token);

        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        var mover = new PipeMover();
        var handing = old.HandOverAsync(oldEnd, mover, Quiesce, TimeSpan.FromSeconds(30), token);
        await newEnd.SendAsync(TakeoverConversation.Hello(TakeoverState.CurrentFormat, 1), [], token);

        // The sessions have parked and the handover waits for the pool's verdict: it gives up only when the clock says so.
        WaitUntil(() => old.Engine.Parking is { Phase: QuiescePhase.Verdicts }, "the handover waits for the verdicts");
        Assert.False(handing.IsCompleted);
        clock.Advance(Quiesce - TimeSpan.FromTicks(1));
        Assert.False(handing.IsCompleted);
        clock.Advance(TimeSpan.FromTicks(1));
        var (reply, _) = await newEnd.ReceiveAsync(token);

        Assert.False(await handing);
        Assert.Contains("not quiet within 600 s: pool pool0 had not given its verdict on 1 forwarded share(s)", Encoding.UTF8.GetString(reply), StringComparison.Ordinal);
        Assert.Equal(0, mover.Detached);

        // The held share is answered once, and the session reads the miner's next line.
        pool.Release();
        var answer = await miner.ReadUntilAsync(l => l.StartsWith("{\"id\":7,", StringComparison.Ordinal), token);
        Assert.Contains("\"result\":true", answer, StringComparison.Ordinal);
        await miner.WriteAsync($"{{\"id\":8,\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{job}\",\"00000002\",\"{ntime}\",\"00000000\"]}}", token);
        await miner.ReadUntilAsync(l => l.StartsWith("{\"id\":8,", StringComparison.Ordinal), token);
        transport.Stop();
    }

    [Fact]
    public async Task HandOver_AMinerTakesNoBytes_IsClosedNamedAndCounted_AndTheOtherMinersMove()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        var metrics = TakeoverProxies.Metrics();
        var logger = new EndToEnd.RecordingLogger();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // Its disposal is bounded too: a session stuck behind a flush that never ends would hold it forever.
        var old = TakeoverProxies.New(transport, logger, metrics, clock);
        try
        {
            old.Start();
            WaitUntil(() => old.Engine.Pools.All(p => p.IsReady), "the pool ready");
            var miner = transport.ConnectMiner();
            await TakeoverProxies.HandshakeAsync(miner, token);
            var stuck = transport.ConnectMiner(new System.IO.Pipelines.PipeOptions(pauseWriterThreshold: Window, resumeWriterThreshold: Window / 2));
            await stuck.WriteAsync("{\"id\":2,\"method\":\"mining.subscribe\",\"params\":[]}", token);
            await stuck.WriteAsync("{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"farm.stuck\",\"x\"]}", token);
            await stuck.ReadUntilAsync(l => l.Contains("\"method\":\"mining.notify\"", StringComparison.Ordinal), token);

            // The pool's clean job after the second worker's authorize (sequence 3) is the one the first miner works on.
            using var notify = JsonDocument.Parse(await miner.ReadUntilAsync(l => l.Contains("\"method\":\"mining.notify\"", StringComparison.Ordinal) && l.Contains("\"00000003", StringComparison.Ordinal), token));
            var job = notify.RootElement.GetProperty("params")[0].GetString();
            var ntime = notify.RootElement.GetProperty("params")[7].GetString();

            // Its receive window shuts: it reads nothing more and asks for 200 answers (7,600 bytes), more than its
            // connection takes (4 KiB), so the proxy's flush to it waits. The wait is seen at the proxy's flush, not by
            // looking at the miner's unread bytes: bytes looked at no longer count against the window, so the proxy
            // could write all 200 answers and its flush never wait.
            await stuck.WriteRawAsync(string.Concat(Enumerable.Range(100, 200).Select(i => $"{{\"id\":{i},\"method\":\"mining.extranonce.subscribe\",\"params\":[]}}\n")), token);
            await stuck.WaitUntilOtherSideWaitsAsync(token);
            var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
            var mover = new PipeMover();
            await using var next = TakeoverProxies.New(transport);
            var handing = old.HandOverAsync(oldEnd, mover, Quiesce, TimeSpan.FromSeconds(30), token);
            var taking = next.TakeOverAsync(newEnd, mover, TimeSpan.FromSeconds(30), token);

            // Every session but the stuck one has written out its bytes; the stuck one is given up only when the clock
            // says the quiesce timeout has passed.
            WaitUntil(() => old.Engine.Parking is { Phase: QuiescePhase.Exports, Exporting: 2, Exported: 1 }, "one of two sessions exported");
            Assert.False(handing.IsCompleted);
            clock.Advance(Quiesce - TimeSpan.FromTicks(1));
            Assert.False(handing.IsCompleted);
            clock.Advance(TimeSpan.FromTicks(1));
            var taken = await taking;

            Assert.True(await handing);
            Assert.Equal((1, 1, 1), (taken.Sessions, taken.Pools, taken.Listeners));
            Assert.Equal(1, metrics.TakeoverConnectionsClosed.WithLabels("old", "miner").Value);
            Assert.Equal(1, metrics.Takeovers.WithLabels("old", "handed").Value);
            var left = Assert.Single(logger.Messages(513));
            Assert.Contains("1 miners did not take the bytes queued for them", left, StringComparison.Ordinal);
            Assert.Contains("farm.stuck", left, StringComparison.Ordinal);
            Assert.DoesNotContain("farm.rig1", left, StringComparison.Ordinal);

            // The stuck miner's connection ends (it reconnects); the other one is answered by the new proxy on its job.
            while (await stuck.ReadLineAsync(token) is not null)
            {
            }

            await miner.WriteAsync($"{{\"id\":7,\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{job}\",\"00000001\",\"{ntime}\",\"00000000\"]}}", token);
            var answer = await miner.ReadUntilAsync(l => l.StartsWith("{\"id\":7,", StringComparison.Ordinal), token);
            Assert.DoesNotContain("[21,", answer, StringComparison.Ordinal);
            Assert.Equal("farm.rig1", Assert.Single(next.Control.Snapshot().Sessions).Worker);
            transport.Stop();
        }
        finally
        {
            await old.DisposeAsync().AsTask().WaitAsync(token);
        }
    }

    /// <summary>Waits (bounded) for state the proxy reaches on its own.</summary>
    private static void WaitUntil(Func<bool> condition, string what) =>
        Assert.True(SpinWait.SpinUntil(condition, TimeSpan.FromSeconds(30)), "never: " + what);

    /// <summary>A pool at difficulty 2^-32 that answers the handshake at once and holds every submit's verdict until released.</summary>
    private sealed class HoldingPool : IUpstreamConnector
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _jobSent;

        public TaskCompletionSource Submitted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        public Task<ProxyConnection> ConnectAsync(PoolUrl url, bool allowInvalidCertificate, int maxLineLength, CancellationToken cancellationToken)
        {
            var duplex = new InMemoryDuplex();
            _ = ServeAsync(new LinePeer(duplex.B));
            return Task.FromResult(new ProxyConnection(duplex.A, null, null, null));
        }

        private async Task ServeAsync(LinePeer peer)
        {
            while (await peer.ReadLineAsync(CancellationToken.None) is { } line)
            {
                using var doc = JsonDocument.Parse(line);
                var id = doc.RootElement.GetProperty("id").GetRawText();
                switch (doc.RootElement.GetProperty("method").GetString())
                {
                    case "mining.subscribe":
                        await peer.WriteAsync($"{{\"id\":{id},\"result\":[[[\"mining.notify\",\"s1\"]],\"0a0b0c0d\",6],\"error\":null}}", CancellationToken.None);
                        break;
                    case "mining.authorize":
                        await peer.WriteAsync($"{{\"id\":{id},\"result\":true,\"error\":null}}", CancellationToken.None);
                        if (Interlocked.Exchange(ref _jobSent, 1) != 0)
                        {
                            // One job: the rigs' own authorizes that follow bring no new one.
                            break;
                        }

                        await peer.WriteAsync("{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[2.3283064365386963E-10]}", CancellationToken.None);
                        var ntime = ((uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds()).ToString("x8", CultureInfo.InvariantCulture);
                        await peer.WriteAsync($"{{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"j1\",\"{new string('0', 64)}\",\"{new string('1', 84)}\",\"{new string('2', 100)}\",[],\"20000000\",\"1d00ffff\",\"{ntime}\",true]}}", CancellationToken.None);
                        break;
                    case "mining.submit":
                        Submitted.TrySetResult();
                        await _release.Task;
                        await peer.WriteAsync($"{{\"id\":{id},\"result\":true,\"error\":null}}", CancellationToken.None);
                        break;
                    default:
                        await peer.WriteAsync($"{{\"id\":{id},\"result\":true,\"error\":null}}", CancellationToken.None);
                        break;
                }
            }
        }
    }
}
