using System.Globalization;
using System.Text;
using System.Text.Json;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Transport;
using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// An upgrade without dropping a rig, with the real executables: a proxy process serves a thousand miners (a few of
/// them hashing real shares that go to the pool, the others sending submits the proxy judges itself) in front of a
/// pool in the test process; <c>run --takeover</c> starts a new process that takes its listener, its pool connection
/// and every miner connection; the old one exits 0. No miner and not the pool sees a disconnect or a reconnect, and
/// every submit sent before, during and after gets exactly one answer. A takeover that breaks off leaves the old
/// process serving. The process that took over hands over again in the same way (two upgrades in a row).
/// </summary>
public sealed class TakeoverProcessTests : IDisposable
{
    private const int Hashing = 8;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-takeover-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string SocketPath => Path.Combine(_directory, "takeover.sock");

    private string[] Arguments(TestPool pool, params string[] more) =>
    [
        "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", pool.Url, "--user", "acct",
        "--start-difficulty", "0.00001", "--min-difficulty", "0.00001",
        $"--Proxy:Takeover:SocketPath={SocketPath}",
        "--Curtailment:Enabled=false", "--Economics:Enabled=false",
        .. more,
    ];

    [Fact]
    public async Task RunTakeover_AThousandLiveMiners_MoveToTheNewProcess_WithoutADisconnect_AndEverySubmitAnsweredOnce()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        var token = guard.Token;
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var old = await ProxyProcess.StartAsync(_directory, Arguments(pool), token);
        await using var fleet = new Fleet(old.MinerPort, wire: 1000 - Hashing, hashing: Hashing);
        await fleet.ConnectAsync(token);
        Assert.Equal(1, pool.TotalConnections);
        await fleet.Hashers.WaitForEachAcceptedAsync(2, Patience, token);

        // Submits go on while the new process starts, takes over, and serves.
        using var submitting = CancellationTokenSource.CreateLinkedTokenSource(token);
        var load = fleet.SubmitContinuouslyAsync(submitting.Token);
        await fleet.WaitForSubmitsAsync(fleet.Sent + 2000, token);
        var acceptedBefore = fleet.Hashers.Accepted;
        await using var next = await ProxyProcess.StartAsync(_directory, Arguments(pool, "--takeover"), token);
        await old.WaitForExitAsync(token);
        Assert.True(0 == old.ExitCode, old.Output);
        Assert.Contains("Handed over to process", old.Output, StringComparison.Ordinal);
        Assert.Contains("Took over from process", next.Output, StringComparison.Ordinal);
        Assert.Equal(old.MinerPort, next.MinerPort);

        // Shares after the takeover: accepted, answered by the new process (its counters start at zero).
        await fleet.Hashers.WaitForAcceptedAsync(acceptedBefore + (Hashing * 3), Patience, token);
        await fleet.WaitForSubmitsAsync(fleet.Sent + 2000, token);
        await submitting.CancelAsync();
        await load;
        await fleet.WaitForAnswersAsync(token);

        Assert.Equal(0, fleet.Disconnected);
        Assert.Equal(0, fleet.Reconnects);
        Assert.Equal(0, fleet.Unanswered);
        Assert.Equal(0, fleet.Extra);
        Assert.Equal((1, 1), (pool.TotalConnections, pool.OpenConnections));
        using var http = new HttpClient { BaseAddress = next.Admin };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), token);
        Assert.True(Metric(metrics, "stratumproxy_pool_shares_total{pool=\"primary\",result=\"accepted\"}") > 0, metrics);
        using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative), token);
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        var status = await http.GetStringAsync(new Uri("/api/status", UriKind.Relative), token);
        Assert.Equal(1000, JsonDocument.Parse(status).RootElement.GetProperty("sessions").GetArrayLength());
    }

    [Fact]
    public async Task RunTakeover_TwiceInARow_TheProcessThatTookOverHandsOverAgain_WithoutADisconnect_AndEverySubmitAnsweredOnce()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var token = guard.Token;
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var first = await ProxyProcess.StartAsync(_directory, Arguments(pool), token);
        await using var fleet = new Fleet(first.MinerPort, wire: 48, hashing: 2);
        await fleet.ConnectAsync(token);
        using var submitting = CancellationTokenSource.CreateLinkedTokenSource(token);
        var load = fleet.SubmitContinuouslyAsync(submitting.Token);
        await fleet.Hashers.WaitForEachAcceptedAsync(1, Patience, token);

        // old → new → newer, submits going on throughout.
        await using var second = await UpgradeAsync(first);
        await using var third = await UpgradeAsync(second);

        var acceptedBefore = fleet.Hashers.Accepted;
        await fleet.Hashers.WaitForAcceptedAsync(acceptedBefore + 4, Patience, token);
        await fleet.WaitForSubmitsAsync(fleet.Sent + 200, token);
        await submitting.CancelAsync();
        await load;
        await fleet.WaitForAnswersAsync(token);

        Assert.Equal(0, fleet.Disconnected);
        Assert.Equal(0, fleet.Reconnects);
        Assert.Equal(0, fleet.Unanswered);
        Assert.Equal(0, fleet.Extra);
        Assert.Equal((1, 1), (pool.TotalConnections, pool.OpenConnections));
        using var http = new HttpClient { BaseAddress = third.Admin };
        var status = await http.GetStringAsync(new Uri("/api/status", UriKind.Relative), token);
        Assert.Equal(50, JsonDocument.Parse(status).RootElement.GetProperty("sessions").GetArrayLength());

        async Task<ProxyProcess> UpgradeAsync(ProxyProcess serving)
        {
            await serving.WaitForLogAsync("Listening for a takeover on", token);
            await fleet.WaitForSubmitsAsync(fleet.Sent + 100, token);
            var next = await ProxyProcess.StartAsync(_directory, Arguments(pool, "--takeover"), token);
            await serving.WaitForExitAsync(token);
            Assert.True(0 == serving.ExitCode, serving.Output);
            Assert.Contains("Handed over to process", serving.Output, StringComparison.Ordinal);
            Assert.Contains("Took over from process", next.Output, StringComparison.Ordinal);
            Assert.Equal(serving.MinerPort, next.MinerPort);
            return next;
        }
    }

    [Fact]
    public async Task Takeover_RefusedForItsStateFormat_OrBrokenOffAfterTheDescriptorsLeft_LeavesTheOldProcessServingTheSameMiners()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var token = guard.Token;
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var old = await ProxyProcess.StartAsync(_directory, Arguments(pool), token);
        await using var fleet = new Fleet(old.MinerPort, wire: 48, hashing: 2);
        await fleet.ConnectAsync(token);
        using var submitting = CancellationTokenSource.CreateLinkedTokenSource(token);
        var load = fleet.SubmitContinuouslyAsync(submitting.Token);
        await fleet.Hashers.WaitForEachAcceptedAsync(1, Patience, token);

        // A new process of another state format: refused before anything stops.
        await using (var channel = await HandoverChannel.ConnectAsync(SocketPath, token))
        {
            await channel.SendAsync(Hello(TakeoverState.CurrentFormat + 1), [], token);
            using var reply = await channel.ReceiveAsync(token);
            var text = Encoding.UTF8.GetString(reply.Payload);
            Assert.Contains("\"refused\"", text, StringComparison.Ordinal);
            Assert.Contains($"format {TakeoverState.CurrentFormat + 1}", text, StringComparison.Ordinal);
            Assert.Empty(reply.Handles);
        }

        // A new process that dies once it has everything: the old one takes its descriptors back.
        await using (var channel = await HandoverChannel.ConnectAsync(SocketPath, token))
        {
            await channel.SendAsync(Hello(TakeoverState.CurrentFormat), [], token);
            using var state = await channel.ReceiveAsync(token);
            var parsed = TakeoverState.Read(state.Payload, out var error);
            Assert.True(parsed is not null, error);
            Assert.Equal(50, parsed.Sessions.Count);
            Assert.Equal(1 + 1 + 50, state.Handles.Count);
        }

        await old.WaitForLogAsync("took them back and keeps serving", token);
        var acceptedBefore = fleet.Hashers.Accepted;
        var sentBefore = fleet.Sent;
        await fleet.Hashers.WaitForAcceptedAsync(acceptedBefore + 4, Patience, token);
        await fleet.WaitForSubmitsAsync(sentBefore + 200, token);
        await submitting.CancelAsync();
        await load;
        await fleet.WaitForAnswersAsync(token);

        Assert.False(old.HasExited);
        Assert.Equal(0, fleet.Disconnected);
        Assert.Equal(0, fleet.Reconnects);
        Assert.Equal(0, fleet.Unanswered);
        Assert.Equal(0, fleet.Extra);
        Assert.True((1, 1) == (pool.TotalConnections, pool.OpenConnections), $"pool connections {pool.TotalConnections}, open {pool.OpenConnections}; the old process said:\n{old.Output}");

        // And it still accepts new miners.
        await using var late = new WireMiner("acct.late", 7);
        await late.ConnectAsync(old.MinerPort, token);
        await WaitAsync(() => late.IsReady && late.HasJob, "the late miner authorized with a job", token);
    }

    private static ReadOnlyMemory<byte> Hello(int format) => TakeoverConversation.Hello(format, Environment.ProcessId);

    private static double Metric(string scrape, string series) =>
        scrape.Split('\n').Where(l => l.StartsWith(series + " ", StringComparison.Ordinal)).Select(l => double.Parse(l[(series.Length + 1)..], CultureInfo.InvariantCulture)).FirstOrDefault();

    private static async Task WaitAsync(Func<bool> condition, string what, CancellationToken token)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        deadline.CancelAfter(Patience);
        try
        {
            while (!condition())
            {
                await Task.Delay(20, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new Xunit.Sdk.XunitException($"never: {what}");
        }
    }

    /// <summary>Hashing miners (real shares, forwarded to the pool) and wire miners (submits judged by the proxy).</summary>
    private sealed class Fleet(int port, int wire, int hashing) : IAsyncDisposable
    {
        private readonly WireMiner[] _wire = [.. Enumerable.Range(0, wire).Select(i => new WireMiner($"acct.wire{i:0000}", i))];

        public MinerFleet Hashers { get; } = new(hashing, new TestMinerOptions { Host = "127.0.0.1", Port = port, Worker = "acct.hash", VersionRolling = true, ReconnectOnDisconnect = false, HashesPerYield = 256 });

        public long Sent => _wire.Sum(m => m.Sent) + Hashers.Submitted;

        public long Unanswered => _wire.Sum(m => m.Unanswered) + Hashers.Pending + Hashers.Unanswered;

        public long Extra => _wire.Sum(m => m.Extra) + Hashers.UnexpectedAnswers;

        public int Disconnected => _wire.Count(m => m.SawEndOfStream) + Hashers.Miners.Count(m => !m.IsConnected || m.Connections != 1);

        public int Reconnects => _wire.Count(m => m.SawReconnect) + Hashers.Miners.Sum(m => m.ReconnectsReceived);

        public async Task ConnectAsync(CancellationToken token)
        {
            foreach (var chunk in _wire.Chunk(100))
            {
                await Task.WhenAll(chunk.Select(m => m.ConnectAsync(port, token)));
            }

            await Hashers.StartAsync(token);
            await WaitAsync(() => _wire.All(m => m.IsReady && m.HasJob) && Hashers.Miners.All(m => m.IsAuthorized), "every miner authorized with a job", token);
        }

        /// <summary>Every wire miner submits about once a second.</summary>
        public async Task SubmitContinuouslyAsync(CancellationToken token)
        {
            try
            {
                while (true)
                {
                    foreach (var chunk in _wire.Chunk(50))
                    {
                        await Task.WhenAll(chunk.Select(m => m.SubmitAsync(token)));
                        await Task.Delay(1000 / Math.Max(1, _wire.Length / 50), token);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        public Task WaitForSubmitsAsync(long total, CancellationToken token) => WaitAsync(() => Sent >= total, $"{total} submits sent", token);

        public async Task WaitForAnswersAsync(CancellationToken token)
        {
            await Hashers.StopHashingAsync();
            try
            {
                await WaitAsync(() => Unanswered == 0, "every submit answered", token);
            }
            catch (Xunit.Sdk.XunitException ex)
            {
                throw new Xunit.Sdk.XunitException(ex.Message + Environment.NewLine + Describe());
            }
        }

        /// <summary>Who waits for what (for a failure message).</summary>
        public string Describe() =>
            $"wire: {_wire.Sum(m => m.Sent)} sent, {_wire.Sum(m => m.Unanswered)} unanswered by {_wire.Count(m => m.Unanswered > 0)} miners (ids {string.Join(", ", _wire.Where(m => m.Unanswered > 0).Take(5).Select(m => m.UnansweredIds))}), {_wire.Sum(m => m.Extra)} extra, {_wire.Count(m => m.SawEndOfStream)} ended; "
            + $"hashing: {string.Join("; ", Hashers.Miners.Select(m => m.ToString()))}";

        public async ValueTask DisposeAsync()
        {
            await Hashers.DisposeAsync();
            foreach (var miner in _wire)
            {
                await miner.DisposeAsync();
            }
        }
    }
}
