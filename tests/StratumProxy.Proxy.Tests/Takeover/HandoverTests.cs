using System.Text;
using System.Text.Json;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Tests.Sessions;
using StratumProxy.Proxy.Upstream;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Takeover;

/// <summary>
/// One proxy hands its listener, pool connection and miner session to another over in-memory pipes (the descriptor
/// step is a test double; the process test does it with sockets): the miner keeps its connection, its job and its
/// difficulty; the pool is not dialled again; a refused or broken-off handover leaves the first proxy serving.
/// </summary>
public sealed class HandoverTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task HandOver_ToANewProxy_MinerKeepsItsConnection_PoolIsNotDialledAgain_AndAShareOnAJobSentBeforeIsJudgedThere()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        await using var old = TakeoverProxies.New(transport);
        old.Start();
        var miner = transport.ConnectMiner();
        var (job, ntime) = await TakeoverProxies.HandshakeAsync(miner, token);

        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        var mover = new PipeMover();
        await using var next = TakeoverProxies.New(transport);
        var handing = old.HandOverAsync(oldEnd, mover, Patience, Patience, token);
        var taken = await next.TakeOverAsync(newEnd, mover, Patience, token);

        Assert.True(await handing);
        Assert.True(old.HandedOver);
        Assert.Equal((1, 1, 1), (taken.Sessions, taken.Pools, taken.Listeners));
        Assert.Equal(1, transport.PoolConnections);
        var session = Assert.Single(next.Control.Snapshot().Sessions);
        Assert.Equal(("farm.rig1", "pool0"), (session.Worker, session.Pool));

        // A share on the job sent before the handover: judged against that job by the new proxy (a low-difficulty
        // verdict or an acceptance; never "job not found"), answered once.
        await miner.WriteAsync($"{{\"id\":7,\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{job}\",\"00000001\",\"{ntime}\",\"00000000\"]}}", token);
        var answer = await miner.ReadUntilAsync(l => l.StartsWith("{\"id\":7,", StringComparison.Ordinal), token);
        Assert.DoesNotContain("[21,", answer, StringComparison.Ordinal);
        Assert.Contains("farm.rig1", next.Control.Snapshot().Workers.Select(w => w.Name));

        // New miners are accepted by the new proxy on the handed listener.
        var second = transport.ConnectMiner();
        await second.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}", token);
        await second.ReadUntilAsync(l => l.StartsWith("{\"id\":1,", StringComparison.Ordinal), token);
        transport.Stop();
    }

    [Fact]
    public async Task HandOver_APoolConnectionThatCannotMove_IsDialledAgainByTheNewProxy_AndItsMinerGetsADifficultyAndACleanJob()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        await using var old = TakeoverProxies.New(transport);
        old.Start();
        var miner = transport.ConnectMiner();
        await TakeoverProxies.HandshakeAsync(miner, token);

        // As a TLS pool connection: its keys cannot leave the process, so only the miner and the listener move.
        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        var mover = new PipeMover(connection => connection.LocalEndPoint is not null);
        await using var next = TakeoverProxies.New(transport);
        var handing = old.HandOverAsync(oldEnd, mover, Patience, Patience, token);
        var taken = await next.TakeOverAsync(newEnd, mover, Patience, token);

        Assert.True(await handing);
        Assert.Equal((1, 0, 1), (taken.Sessions, taken.Pools, taken.Listeners));
        await miner.ReadUntilAsync(l => l.Contains("\"method\":\"mining.set_difficulty\"", StringComparison.Ordinal), token);
        // The new pool connection's second job (the pool sends one after each authorize, the rig's own is the second).
        var notify = await miner.ReadUntilAsync(l => l.Contains("\"method\":\"mining.notify\"", StringComparison.Ordinal) && l.Contains("\"00000002000000c2", StringComparison.Ordinal), token);
        Assert.Equal(2, transport.PoolConnections);
        using var doc = JsonDocument.Parse(notify);
        var parameters = doc.RootElement.GetProperty("params");
        await miner.WriteAsync($"{{\"id\":7,\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{parameters[0].GetString()}\",\"00000001\",\"{parameters[7].GetString()}\",\"00000000\"]}}", token);
        var answer = await miner.ReadUntilAsync(l => l.StartsWith("{\"id\":7,", StringComparison.Ordinal), token);
        Assert.DoesNotContain("[21,", answer, StringComparison.Ordinal);
        Assert.Equal("pool0", Assert.Single(next.Control.Snapshot().Sessions).Pool);
        transport.Stop();
    }

    [Fact]
    public async Task HandOver_NewProcessOfAnotherStateFormat_IsRefused_AndTheOldProxyServesOn()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        await using var old = TakeoverProxies.New(transport);
        old.Start();
        var miner = transport.ConnectMiner();
        var (job, ntime) = await TakeoverProxies.HandshakeAsync(miner, token);
        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        var mover = new PipeMover();

        var handing = old.HandOverAsync(oldEnd, mover, Patience, Patience, token);
        await newEnd.SendAsync(TakeoverConversation.Hello(TakeoverState.CurrentFormat + 1, 1), [], token);
        var (reply, handles) = await newEnd.ReceiveAsync(token);

        Assert.False(await handing);
        Assert.False(old.HandedOver);
        Assert.Empty(handles);
        Assert.Contains("\"refused\"", Encoding.UTF8.GetString(reply), StringComparison.Ordinal);
        Assert.Contains($"format {TakeoverState.CurrentFormat + 1}", Encoding.UTF8.GetString(reply), StringComparison.Ordinal);
        Assert.Equal(0, mover.Detached);
        await AssertServesAsync(old, transport, miner, job, ntime, token);
    }

    [Fact]
    public async Task HandOver_NewProcessGoesAwayAfterReceivingEverything_TheOldProxyTakesItsConnectionsBack()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        await using var old = TakeoverProxies.New(transport);
        old.Start();
        var miner = transport.ConnectMiner();
        var (job, ntime) = await TakeoverProxies.HandshakeAsync(miner, token);
        var leaving = Assert.Single(old.Engine.MinerSessions);
        var leavingUpstream = leaving.Upstream!;
        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        var mover = new PipeMover();

        var handing = old.HandOverAsync(oldEnd, mover, Patience, Patience, token);
        await newEnd.SendAsync(TakeoverConversation.Hello(TakeoverState.CurrentFormat, 1), [], token);
        var (payload, handles) = await newEnd.ReceiveAsync(token);
        var state = TakeoverState.Read(payload, out var error);
        Assert.True(state is not null, error);
        Assert.Equal(3, handles.Count);
        var session = Assert.Single(state.Sessions);
        Assert.Equal(("farm.rig1", 0), (session.Worker, session.Pool));
        Assert.True(session.VersionRolling);
        Assert.Contains(state.Pools[0].Jobs, j => j.Id.ToString("x", System.Globalization.CultureInfo.InvariantCulture) == job);
        await newEnd.DisposeAsync();

        Assert.False(await handing);
        Assert.False(old.HandedOver);
        Assert.Equal(2, mover.Detached);

        // The objects that served before are out of service by the time the tick can run again, not once their loops
        // end: a tick that still listed the old session would find its extranonce1 taken on the pool connection (by
        // the new session) and open a second one.
        Assert.True(leaving.IsClosed);
        Assert.Equal(UpstreamState.Closed, leavingUpstream.State);
        var serving = Assert.Single(old.Engine.MinerSessions);
        Assert.NotSame(leaving, serving);
        Assert.NotSame(leavingUpstream, serving.Upstream);
        await AssertServesAsync(old, transport, miner, job, ntime, token);
    }

    [Fact]
    public async Task HandOver_TakingAMinerBackFails_TheMinerIsDisconnected_CountedAndLogged_AndTheProxyServesOn()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        var metrics = TakeoverProxies.Metrics();
        var logger = new EndToEnd.RecordingLogger();
        await using var old = TakeoverProxies.New(transport, logger, metrics);
        old.Start();
        // Closed, not leaked: the miner's connection ends (it reconnects).
        await HandOverAndFailTheTakeBackAsync(transport, old, m => m.AdoptMinerFailure = new IOException("descriptor gone"), token);

        Assert.Equal(1, metrics.Takeovers.WithLabels("old", "take_back_failed").Value);
        Assert.Equal(1, metrics.TakeoverConnectionsClosed.WithLabels("old", "miner").Value);
        Assert.Contains("descriptor gone", Assert.Single(logger.Messages(510)), StringComparison.Ordinal);

        // The pool connection was taken back and new miners are served on it.
        var second = transport.ConnectMiner();
        await second.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}", token);
        await second.ReadUntilAsync(l => l.StartsWith("{\"id\":1,", StringComparison.Ordinal), token);
        await second.WriteAsync("{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"farm.rig2\",\"x\"]}", token);
        await second.ReadUntilAsync(l => l.Contains("\"method\":\"mining.notify\"", StringComparison.Ordinal), token);
        Assert.Equal(1, transport.PoolConnections);
        transport.Stop();
    }

    [Fact]
    public async Task HandOver_TakingThePoolConnectionBackFails_ThePoolIsDialledAgain_ItsMinersAreClosed_CountedAndLogged()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        var metrics = TakeoverProxies.Metrics();
        var logger = new EndToEnd.RecordingLogger();
        await using var old = TakeoverProxies.New(transport, logger, metrics);
        old.Start();
        // Its pool connection could not be trusted: the handed miner is closed (it reconnects), never left hanging.
        await HandOverAndFailTheTakeBackAsync(transport, old, m => m.AdoptPoolFailure = new IOException("pool descriptor gone"), token);

        Assert.Equal(1, metrics.Takeovers.WithLabels("old", "take_back_failed").Value);
        Assert.Equal(1, metrics.TakeoverConnectionsClosed.WithLabels("old", "pool").Value);
        Assert.Equal(1, metrics.TakeoverConnectionsClosed.WithLabels("old", "miner").Value);
        var line = Assert.Single(logger.Messages(510));
        Assert.Contains("1 miner connections and 1 pool connections could not be taken back", line, StringComparison.Ordinal);
        Assert.Contains("pool descriptor gone", line, StringComparison.Ordinal);

        // The pool is dialled again (a second connection) and a miner that connects now is served on it.
        var second = transport.ConnectMiner();
        await second.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}", token);
        await second.ReadUntilAsync(l => l.StartsWith("{\"id\":1,", StringComparison.Ordinal), token);
        await second.WriteAsync("{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"farm.rig2\",\"x\"]}", token);
        await second.ReadUntilAsync(l => l.Contains("\"method\":\"mining.notify\"", StringComparison.Ordinal), token);
        Assert.Equal(2, transport.PoolConnections);
        // The closed session leaves the table from its own loop, so for a moment both can be listed.
        Assert.True(
            SpinWait.SpinUntil(() => old.Control.Snapshot().Sessions.Count == 1, TimeSpan.FromSeconds(30)),
            $"{old.Control.Snapshot().Sessions.Count} sessions listed after the take-back");
        Assert.Equal("farm.rig2", Assert.Single(old.Control.Snapshot().Sessions).Worker);
        transport.Stop();
    }

    [Fact]
    public async Task HandOver_TakingAListenerBackFails_ItIsBoundFresh_LoggedAndCounted_AndTheProxyServesOn()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        var metrics = TakeoverProxies.Metrics();
        var logger = new EndToEnd.RecordingLogger();
        await using var old = TakeoverProxies.New(transport, logger, metrics);
        old.Start();
        var miner = transport.ConnectMiner();
        var (job, ntime) = await TakeoverProxies.HandshakeAsync(miner, token);
        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        var mover = new PipeMover();

        var handing = old.HandOverAsync(oldEnd, mover, Patience, Patience, token);
        await newEnd.SendAsync(TakeoverConversation.Hello(TakeoverState.CurrentFormat, 1), [], token);
        _ = await newEnd.ReceiveAsync(token);
        mover.AdoptListenerFailure = new IOException("listener descriptor gone");
        await newEnd.DisposeAsync();

        Assert.False(await handing);
        Assert.False(old.HandedOver);
        Assert.Equal(1, metrics.Takeovers.WithLabels("old", "take_back_failed").Value);
        Assert.Equal(1, metrics.TakeoverConnectionsClosed.WithLabels("old", "listener").Value);
        Assert.Contains("listener memory (127.0.0.1:3333) could not be taken back: listener descriptor gone; it is bound fresh", Assert.Single(logger.Messages(516)), StringComparison.Ordinal);
        Assert.Contains("took them back and keeps serving", Assert.Single(logger.Messages(502)), StringComparison.Ordinal);
        Assert.Single(old.Endpoints);

        // The miner that was handed is served on, and a new one is accepted on the listener bound fresh.
        await AssertServesAsync(old, transport, miner, job, ntime, token);
    }

    [Fact]
    public async Task TakeOver_AMinerCannotBeAdopted_ItsConnectionIsClosed_CountedAndLogged_AndTheRestIsServed()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        await using var old = TakeoverProxies.New(transport);
        old.Start();
        var miner = transport.ConnectMiner();
        await TakeoverProxies.HandshakeAsync(miner, token);

        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        var mover = new PipeMover { AdoptMinerFailure = new IOException("descriptor gone") };
        var metrics = TakeoverProxies.Metrics();
        var logger = new EndToEnd.RecordingLogger();
        await using var next = TakeoverProxies.New(transport, logger, metrics);
        var handing = old.HandOverAsync(oldEnd, mover, Patience, Patience, token);
        var taken = await next.TakeOverAsync(newEnd, mover, Patience, token);

        Assert.True(await handing);
        Assert.Equal((1, 1, 1), (taken.Sessions, taken.Pools, taken.Listeners));
        Assert.True(Assert.Single(mover.MinerHandles).IsClosed);
        Assert.Empty(next.Control.Snapshot().Sessions);
        Assert.Equal(1, metrics.TakeoverConnectionsClosed.WithLabels("new", "miner").Value);
        Assert.Equal(1, metrics.Takeovers.WithLabels("new", "taken_over_partly").Value);
        Assert.Contains("descriptor gone", Assert.Single(logger.Messages(511)), StringComparison.Ordinal);

        // The handed listener and pool connection serve a new miner.
        var second = transport.ConnectMiner();
        await second.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}", token);
        await second.ReadUntilAsync(l => l.StartsWith("{\"id\":1,", StringComparison.Ordinal), token);
        Assert.Equal(1, transport.PoolConnections);
        transport.Stop();
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    public async Task TakeOver_AnEmptyOrNullState_IsRefusedWithAReason_AndNothingStarts(string body)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        await using var next = TakeoverProxies.New(transport);

        var taking = next.TakeOverAsync(newEnd, new PipeMover(), Patience, token);
        await oldEnd.ReceiveAsync(token);
        await oldEnd.SendAsync(Encoding.UTF8.GetBytes(body), [], token);
        var refused = await Assert.ThrowsAsync<TakeoverException>(() => taking);
        var (reply, _) = await oldEnd.ReceiveAsync(token);

        Assert.Equal("the state is empty", refused.Message);
        Assert.Contains("\"refused\"", Encoding.UTF8.GetString(reply), StringComparison.Ordinal);
        Assert.Contains("the state is empty", Encoding.UTF8.GetString(reply), StringComparison.Ordinal);
        Assert.Equal(0, transport.PoolConnections);
    }

    [Fact]
    public async Task TakeOver_TheRunningProcessRefuses_IsCountedAsRefusedAndLogged_AndNothingStarts()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        // Not started: it refuses every takeover.
        await using var old = TakeoverProxies.New(transport);
        var metrics = TakeoverProxies.Metrics();
        var logger = new EndToEnd.RecordingLogger();
        await using var next = TakeoverProxies.New(transport, logger, metrics);
        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();

        var handing = old.HandOverAsync(oldEnd, new PipeMover(), Patience, Patience, token);
        var refused = await Assert.ThrowsAsync<TakeoverException>(() => next.TakeOverAsync(newEnd, new PipeMover(), Patience, token));

        Assert.False(await handing);
        Assert.True(refused.RefusedByRunningProcess);
        Assert.StartsWith("the running process refused: this process is not serving", refused.Message, StringComparison.Ordinal);
        Assert.Equal(1, metrics.Takeovers.WithLabels("new", "refused").Value);
        Assert.Equal(0, metrics.Takeovers.WithLabels("new", "failed").Value);
        var line = Assert.Single(logger.Messages(515));
        Assert.Contains("the running process refused: this process is not serving", line, StringComparison.Ordinal);
        Assert.EndsWith("the running process keeps serving; this process does not start", line, StringComparison.Ordinal);
        Assert.Equal(0, transport.PoolConnections);
    }

    [Fact]
    public async Task TakeOver_AHandedListenerIsNotAListeningSocket_IsRefusedBeforeConfirming_AndTheOldProxyServesOn()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var old = await Serving.StartAsync(deadline.Token);
        await using var next = TakeoverProxies.New(old.Transport);

        var (handing, taking) = old.HandOverTo(next, new PipeMover { ListenersAreNot = true }, deadline.Token);
        var refused = await Assert.ThrowsAsync<TakeoverException>(() => taking);

        Assert.Equal("listener memory's descriptor is not a listening socket", refused.Message);
        Assert.False(await handing);
        Assert.False(old.Proxy.HandedOver);
        await old.AssertServedByAsync(old.Proxy, deadline.Token);
    }

    [Fact]
    public async Task TakeOver_AListenerCannotBeAdoptedAfterGo_ItIsBoundFresh_LoggedAndCounted_AndTheMinerIsServed()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var old = await Serving.StartAsync(deadline.Token);
        var metrics = TakeoverProxies.Metrics();
        var logger = new EndToEnd.RecordingLogger();
        await using var next = TakeoverProxies.New(old.Transport, logger, metrics);

        var (handing, taking) = old.HandOverTo(next, new PipeMover { AdoptListenerFailure = new IOException("not a socket") }, deadline.Token);
        var taken = await taking;

        Assert.True(await handing);
        Assert.Equal((1, 1, 0), (taken.Sessions, taken.Pools, taken.Listeners));
        Assert.Equal(1, metrics.TakeoverConnectionsClosed.WithLabels("new", "listener").Value);
        Assert.Contains("listener memory (127.0.0.1:3333) could not be adopted and is bound fresh: not a socket", Assert.Single(logger.Messages(512)), StringComparison.Ordinal);
        Assert.Single(next.Endpoints);
        await old.AssertServedByAsync(next, deadline.Token);
    }

    [Fact]
    public async Task TakeOver_AListenerNeitherAdoptedNorBoundFresh_FailsTheStartWithTheBindError_AfterRetryingWhileTheOldProcessExits()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var old = await Serving.StartAsync(deadline.Token);
        var metrics = TakeoverProxies.Metrics();
        var logger = new EndToEnd.RecordingLogger();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var inUse = new AddressInUse(int.MaxValue, old.Transport);
        await using var next = TakeoverProxies.New(old.Transport, logger, metrics, clock, inUse);

        var (handing, taking) = old.HandOverTo(next, new PipeMover { AdoptListenerFailure = new IOException("not a socket") }, deadline.Token);
        await inUse.RetryEachAttemptAsync(clock, taking, deadline.Token);
        var failed = await Assert.ThrowsAsync<TakeoverException>(() => taking);

        Assert.True(await handing);
        Assert.StartsWith("the takeover could not listen: Listener 'memory' cannot bind 127.0.0.1:3333: AddressAlreadyInUse", failed.Message, StringComparison.Ordinal);
        Assert.EndsWith("the address was still in use after 30 s (is the old process still running?)", failed.Message, StringComparison.Ordinal);
        Assert.Equal(1 + (int)(Patience / ProxyLifetime.BindRetryInterval), inUse.Attempts);
        Assert.Empty(next.Control.Snapshot().Sessions);

        // Failed clearly: counted and logged once, saying the handed connections are gone and this process does not start.
        Assert.Equal(1, metrics.Takeovers.WithLabels("new", "failed").Value);
        Assert.Equal(0, metrics.Takeovers.WithLabels("new", "taken_over").Value + metrics.Takeovers.WithLabels("new", "taken_over_partly").Value);
        var line = Assert.Single(logger.Messages(515));
        Assert.Contains("the takeover could not listen: Listener 'memory' cannot bind", line, StringComparison.Ordinal);
        Assert.Contains("the running process had let go", line, StringComparison.Ordinal);
        old.Transport.Stop();
    }

    [Fact]
    public async Task TakeOver_AListenerBoundFreshFindsItsAddressStillHeld_TriesAgainUntilTheOldProcessLetsGo_AndTheMinerIsServed()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var old = await Serving.StartAsync(deadline.Token);
        var metrics = TakeoverProxies.Metrics();
        var logger = new EndToEnd.RecordingLogger();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var inUse = new AddressInUse(3, old.Transport);
        await using var next = TakeoverProxies.New(old.Transport, logger, metrics, clock, inUse);

        var (handing, taking) = old.HandOverTo(next, new PipeMover { AdoptListenerFailure = new IOException("not a socket") }, deadline.Token);
        await inUse.RetryEachAttemptAsync(clock, taking, deadline.Token);
        var taken = await taking;

        Assert.True(await handing);
        Assert.Equal((1, 1, 0), (taken.Sessions, taken.Pools, taken.Listeners));
        Assert.Equal(4, inUse.Attempts);
        Assert.Contains("cannot bind 127.0.0.1:3333: AddressAlreadyInUse", Assert.Single(logger.Messages(514)), StringComparison.Ordinal);
        Assert.Single(next.Endpoints);
        await old.AssertServedByAsync(next, deadline.Token);
    }

    [Fact]
    public async Task HandOver_TwiceInARow_TheProxyThatTookOverHandsOverAgain_AndTheMinerKeepsItsConnection()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        var transport = new InMemoryTransport();
        await using var first = TakeoverProxies.New(transport);
        first.Start();
        var miner = transport.ConnectMiner();
        var (job, ntime) = await TakeoverProxies.HandshakeAsync(miner, token);
        var mover = new PipeMover();

        await using var second = TakeoverProxies.New(transport);
        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        var handing = first.HandOverAsync(oldEnd, mover, Patience, Patience, token);
        await second.TakeOverAsync(newEnd, mover, Patience, token);
        Assert.True(await handing);

        await using var third = TakeoverProxies.New(transport);
        (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        handing = second.HandOverAsync(oldEnd, mover, Patience, Patience, token);
        var taken = await third.TakeOverAsync(newEnd, mover, Patience, token);

        Assert.True(await handing);
        Assert.True(second.HandedOver);
        Assert.Equal((1, 1, 1), (taken.Sessions, taken.Pools, taken.Listeners));
        Assert.Empty(second.Control.Snapshot().Sessions);
        await AssertServesAsync(third, transport, miner, job, ntime, token);
    }

    [Fact]
    public async Task HandOver_AMinerWhoseWriterEndedBeforeItWasParked_IsExportedAtOnce_AndTheOldProxyStops()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        await using var first = await Serving.StartAsync(token);
        var (job, ntime) = first.Work;

        // The miner's receive side goes away (a reset seen only by the proxy's writes): the answer to its next submit
        // finds the output done, and the session's writer ends while the session itself reads on.
        await first.Miner.StopReadingAsync();
        await first.Miner.WriteAsync($"{{\"id\":9,\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{job}\",\"00000002\",\"{ntime}\",\"00000000\"]}}", token);
        var session = Assert.Single(first.Proxy.Engine.MinerSessions);
        while (!session.WriterHasEnded)
        {
            await Task.Delay(10, token);
        }

        // The export's flush marker has no writer to read it: it must not wait for one (the handover would give up on
        // the miner after its patience, and the old proxy's stop would wait on the session for ever).
        await using var second = TakeoverProxies.New(first.Transport);
        var (handing, taking) = first.HandOverTo(second, new PipeMover(), token);
        var taken = await taking.WaitAsync(Patience / 3, token);
        Assert.True(await handing.WaitAsync(Patience / 3, token));
        Assert.Equal(1, taken.Sessions);
        await first.Proxy.DisposeAsync().AsTask().WaitAsync(Patience / 3, token);
    }

    /// <summary>The old proxy still answers the miner (on the job sent before), carries it on the same pool connection, and accepts new miners.</summary>
    private static async Task AssertServesAsync(ProxyLifetime proxy, InMemoryTransport transport, LinePeer miner, string job, string ntime, CancellationToken token)
    {
        await miner.WriteAsync($"{{\"id\":9,\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{job}\",\"00000002\",\"{ntime}\",\"00000000\"]}}", token);
        var answer = await miner.ReadUntilAsync(l => l.StartsWith("{\"id\":9,", StringComparison.Ordinal), token);
        Assert.DoesNotContain("[21,", answer, StringComparison.Ordinal);

        // A session taken back is a new session object on the same connection; the parked one left the table then.
        var session = Assert.Single(proxy.Control.Snapshot().Sessions);
        Assert.Equal(("farm.rig1", "pool0"), (session.Worker, session.Pool));
        Assert.Equal(1, transport.PoolConnections);
        var second = transport.ConnectMiner();
        await second.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}", token);
        await second.ReadUntilAsync(l => l.StartsWith("{\"id\":1,", StringComparison.Ordinal), token);
        transport.Stop();
    }

    /// <summary>A listener factory whose first <paramref name="failures"/> binds find the address taken (the old process still holds it); then <paramref name="then"/> binds.</summary>
    private sealed class AddressInUse(int failures, StratumProxy.Proxy.Transport.IConnectionListenerFactory then) : StratumProxy.Proxy.Transport.IConnectionListenerFactory
    {
        private readonly System.Threading.Channels.Channel<int> _attempted = System.Threading.Channels.Channel.CreateUnbounded<int>();
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public StratumProxy.Proxy.Transport.IConnectionListener Bind(System.Net.EndPoint endpoint)
        {
            var attempt = Interlocked.Increment(ref _attempts);
            _attempted.Writer.TryWrite(attempt);
            return attempt <= failures
                ? throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.AddressAlreadyInUse)
                : then.Bind(endpoint);
        }

        /// <summary>After each bind attempt, moves the clock on by the retry interval, until <paramref name="until"/> ends.</summary>
        public async Task RetryEachAttemptAsync(Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, Task until, CancellationToken token)
        {
            while (true)
            {
                var attempt = _attempted.Reader.ReadAsync(token).AsTask();
                if (await Task.WhenAny(attempt, until) == until)
                {
                    return;
                }

                clock.Advance(ProxyLifetime.BindRetryInterval);
            }
        }
    }

    /// <summary>A started proxy over in-memory pipes with one miner through its handshake (configure, subscribe, authorize).</summary>
    /// <param name="Transport">The pipes' transport.</param>
    /// <param name="Proxy">The proxy.</param>
    /// <param name="Miner">The miner.</param>
    /// <param name="Work">The miner's first job and its ntime.</param>
    private sealed record Serving(InMemoryTransport Transport, ProxyLifetime Proxy, LinePeer Miner, (string Job, string NTime) Work) : IAsyncDisposable
    {
        public static async Task<Serving> StartAsync(CancellationToken token)
        {
            var transport = new InMemoryTransport();
            var proxy = TakeoverProxies.New(transport);
            proxy.Start();
            var miner = transport.ConnectMiner();
            return new Serving(transport, proxy, miner, await TakeoverProxies.HandshakeAsync(miner, token));
        }

        /// <summary>Starts handing over to <paramref name="next"/>: the old side's task and the new side's.</summary>
        public (Task<bool> Handing, Task<TakeoverResult> Taking) HandOverTo(ProxyLifetime next, PipeMover mover, CancellationToken token)
        {
            var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
            return (Proxy.HandOverAsync(oldEnd, mover, Patience, Patience, token), next.TakeOverAsync(newEnd, mover, Patience, token));
        }

        /// <summary><see cref="AssertServesAsync"/> for this miner on <paramref name="proxy"/>.</summary>
        public Task AssertServedByAsync(ProxyLifetime proxy, CancellationToken token) => AssertServesAsync(proxy, Transport, Miner, Work.Job, Work.NTime, token);

        public ValueTask DisposeAsync() => Proxy.DisposeAsync();
    }

    /// <summary>
    /// One connected miner is handed over, the new process hangs up after the state, and taking the connections back
    /// fails as <paramref name="breakTakeBack"/> makes it: returns once the old process said it kept serving and the
    /// handed miner's connection has ended.
    /// </summary>
    private static async Task HandOverAndFailTheTakeBackAsync(InMemoryTransport transport, ProxyLifetime old, Action<PipeMover> breakTakeBack, CancellationToken token)
    {
        var miner = transport.ConnectMiner();
        await TakeoverProxies.HandshakeAsync(miner, token);
        var (oldEnd, newEnd) = InMemoryHandoverChannel.Pair();
        var mover = new PipeMover();

        var handing = old.HandOverAsync(oldEnd, mover, Patience, Patience, token);
        await newEnd.SendAsync(TakeoverConversation.Hello(TakeoverState.CurrentFormat, 1), [], token);
        _ = await newEnd.ReceiveAsync(token);
        breakTakeBack(mover);
        await newEnd.DisposeAsync();

        Assert.False(await handing);
        Assert.False(old.HandedOver);
        while (await miner.ReadLineAsync(token) is not null)
        {
        }
    }
}
