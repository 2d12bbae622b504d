using System.Text.Json;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Routing;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Proxy.Transport;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Proxy.Tests.Sessions;

/// <summary>A miner session over in-memory pipes: no sockets, a real upstream connection to an in-memory pool.</summary>
public sealed class MinerSessionTests
{
    private static CancellationTokenSource Deadline() => new(TimeSpan.FromSeconds(60));

    [Theory]
    [InlineData(WorkerNaming.AccountPlusWorker, "farm", "farm.rig42", "farm.rig42")]
    [InlineData(WorkerNaming.AccountPlusWorker, "farm", "someone.rig42", "farm.rig42")]
    [InlineData(WorkerNaming.AccountPlusWorker, "farm.proxy", "farm.rig42", "farm.rig42")]
    [InlineData(WorkerNaming.AccountPlusWorker, "farm", "rig42", "farm.rig42")]
    [InlineData(WorkerNaming.AccountPlusWorker, "farm", "farmer.rig42", "farm.rig42")]
    [InlineData(WorkerNaming.AccountPlusWorker, "farm", "far.rig42", "farm.rig42")]
    [InlineData(WorkerNaming.AccountPlusWorker, "farm", "farm.", "farm")]
    [InlineData(WorkerNaming.AccountPlusWorker, "farm.proxy", "someone.", "farm")]
    [InlineData(WorkerNaming.AccountPlusWorker, "farm", "farm.rig.1", "farm.rig.1")]
    [InlineData(WorkerNaming.Miner, "farm", "someone.rig42", "someone.rig42")]
    [InlineData(WorkerNaming.Fixed, "farm.proxy", "someone.rig42", "farm.proxy")]
    public void UpstreamWorkerName_FollowsThePoolsNamingRule(WorkerNaming naming, string poolUser, string minerWorker, string expected)
    {
        var pool = new PoolOptions { Name = "p", Url = "stratum+tcp://127.0.0.1:1", User = poolUser, WorkerNaming = naming };

        Assert.Equal(expected, MinerSession.UpstreamWorkerName(pool, minerWorker));
    }

    [Fact]
    public void UpstreamWorkerName_OfAMinerAlreadyNamedAfterThePoolsAccount_IsTheMinersOwnString()
    {
        // A session holds this name for as long as it works for the pool: no copy of the miner's own.
        var pool = new PoolOptions { Name = "p", Url = "stratum+tcp://127.0.0.1:1", User = "farm" };
        var minerWorker = string.Concat("farm", ".rig42");

        Assert.Same(minerWorker, MinerSession.UpstreamWorkerName(pool, minerWorker));
    }

    [Fact]
    public async Task RunAsync_ForARunner_HandsItTheFaultThenTheEnd()
    {
        // A bug inside the session (here: the per-address admission throwing once a PROXY header names the peer) must
        // not escape to the listener: the runner is told of it, then of the session's end, and the task completes.
        using var deadline = Deadline();
        var harness = new SessionHarness();
        harness.Context.SourceAdmission = _ => throw new NotSupportedException("a bug in admission");
        var duplex = new InMemoryDuplex();
        var session = new MinerSession(
            new ProxyConnection(duplex.A, null, null, null), new ListenerOptions { ProxyProtocol = ProxyProtocolMode.Required }, harness.Context);
        var runner = new RecordingRunner();

        var run = session.RunAsync(runner);
        await new LinePeer(duplex.B).WriteRawAsync("PROXY TCP4 10.1.2.3 10.0.0.1 40001 3333\r\n", deadline.Token);
        await run.WaitAsync(deadline.Token);

        Assert.Equal(["faulted: a bug in admission", "ended"], runner.Calls);
        Assert.True(session.IsClosed);
    }

    [Fact]
    public async Task RunAsync_WithoutARunner_ThrowsTheFault()
    {
        using var deadline = Deadline();
        var harness = new SessionHarness();
        harness.Context.SourceAdmission = _ => throw new NotSupportedException("a bug in admission");
        var duplex = new InMemoryDuplex();
        var session = new MinerSession(
            new ProxyConnection(duplex.A, null, null, null), new ListenerOptions { ProxyProtocol = ProxyProtocolMode.Required }, harness.Context);

        var run = session.RunAsync(deadline.Token);
        await new LinePeer(duplex.B).WriteRawAsync("PROXY TCP4 10.1.2.3 10.0.0.1 40001 3333\r\n", deadline.Token);

        var fault = await Assert.ThrowsAsync<NotSupportedException>(() => run.WaitAsync(deadline.Token));
        Assert.Equal("a bug in admission", fault.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunAsync_WithAToken_StopsAsTheProxyDoesWhenItFires_WhetherServingOrLingering(bool lingering)
    {
        // A session run with a token (tests, tools) stops as a listener's session does when the proxy stops: at once,
        // without lingering for its miner, and even when it is already lingering for a miner that never hangs up. The
        // clock stands still, so the linger's grace never ends it: only the token can.
        using var deadline = Deadline();
        var harness = new SessionHarness(clock: new Microsoft.Extensions.Time.Testing.FakeTimeProvider());
        var (session, miner) = harness.Open();
        using var stopping = new CancellationTokenSource();
        var run = session.RunAsync(stopping.Token);
        await miner.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}", deadline.Token);
        Assert.Contains("\"id\":1", await miner.ReadLineAsync(deadline.Token));
        if (lingering)
        {
            // Dropped for its 21st unparseable line: the session answers, sends its FIN and waits (up to its grace)
            // for the miner to close; this miner never does.
            for (var i = 0; i < 21; i++)
            {
                await miner.WriteAsync("{\"id\":2,\"method\":\"mining.nonsense\"", deadline.Token);
            }

            // Every error answer, then the session's FIN.
            while (await miner.ReadLineAsync(deadline.Token) is not null)
            {
            }

            Assert.True(session.IsClosed);
            Assert.False(run.IsCompleted);
        }

        await stopping.CancelAsync();
        await run.WaitAsync(deadline.Token);

        Assert.True(session.IsClosed);
        Assert.StartsWith(lingering ? "bad lines" : "proxy stopping", session.CloseReason, StringComparison.Ordinal);
    }

    private sealed class RecordingRunner : MinerSession.ISessionRunner
    {
        public List<string> Calls { get; } = [];

        public void OnFaulted(MinerSession session, Exception exception) => Calls.Add("faulted: " + exception.Message);

        public void OnEnded(MinerSession session) => Calls.Add("ended");
    }

    [Fact]
    public async Task ALineSplitAcrossTwoPipeSegments_IsHandledWhole()
    {
        using var deadline = Deadline();
        var harness = new SessionHarness();
        var (session, miner) = harness.Open();
        var run = session.RunAsync(deadline.Token);

        // One write of more than a pipe segment (4 KiB): the first line is padded (whitespace between JSON tokens)
        // so that the second one starts before the segment's end and finishes in the next segment.
        var first = "{\"id\":1,\"method\":\"mining.subscribe\"," + new string(' ', 4030) + "\"params\":[]}\n";
        var second = "{\"id\":\"split-2\",\"method\":\"mining.authorize\",\"params\":[\"farm.rig1\",\"x\"]}\n";
        Assert.InRange(first.Length, 4096 - second.Length + 1, 4095);
        await miner.WriteRawAsync(first + second, deadline.Token);

        Assert.StartsWith("{\"id\":1,", await miner.ReadLineAsync(deadline.Token), StringComparison.Ordinal);
        Assert.Equal("{\"id\":\"split-2\",\"result\":true,\"error\":null}", await miner.ReadLineAsync(deadline.Token));
        Assert.Equal("farm.rig1", session.Worker);
        session.Close("test over");
        await run;
    }

    [Fact]
    public async Task Subscribe_AnswersTheLayoutsExtranonce1AndSizeWithTheMinersOwnId()
    {
        using var deadline = Deadline();
        var harness = new SessionHarness();
        var (session, miner) = harness.Open();
        var run = session.RunAsync(deadline.Token);

        await miner.WriteAsync("{\"id\":\"sub-1\",\"method\":\"mining.subscribe\",\"params\":[\"cgminer/4.11.1\"]}", deadline.Token);
        var answer = await miner.ReadLineAsync(deadline.Token);

        using var doc = JsonDocument.Parse(answer!);
        Assert.Equal("sub-1", doc.RootElement.GetProperty("id").GetString());
        var result = doc.RootElement.GetProperty("result");
        Assert.Equal(Convert.ToHexStringLower(session.Extranonce1), result[1].GetString());
        Assert.Equal(2, session.Extranonce1.Length);
        Assert.Equal(4, result[2].GetInt32());
        Assert.Equal("cgminer/4.11.1", session.UserAgent);
        session.Close("test over");
        await run;
    }

    [Fact]
    public async Task Submit_BeforeSubscribe_IsAnsweredNotSubscribed()
    {
        using var deadline = Deadline();
        var harness = new SessionHarness();
        var (session, miner) = harness.Open();
        var run = session.RunAsync(deadline.Token);

        await miner.WriteAsync("{\"id\":41,\"method\":\"mining.submit\",\"params\":[\"w\",\"1\",\"00000000\",\"5f5e1000\",\"00000000\"]}", deadline.Token);
        var answer = await miner.ReadLineAsync(deadline.Token);

        Assert.Equal("{\"id\":41,\"result\":null,\"error\":[25,\"Not subscribed\",null]}", answer);
        session.Close("test over");
        await run;
    }

    [Fact]
    public async Task Tick_MinerSilentAfterAPartialLine_IsClosedIdleEvenWhenEventsWakeTheSession()
    {
        using var deadline = Deadline();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000));
        var options = new ProxyOptions { Miners = new MinerOptions { IdleTimeout = TimeSpan.FromSeconds(10) } };
        var harness = new SessionHarness(options, time);
        var (session, miner) = harness.Open();
        var run = session.RunAsync(deadline.Token);
        await miner.WriteAsync("{\"id\":1,\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"1fffe000\"}]}", deadline.Token);
        await miner.WriteAsync("{\"id\":2,\"method\":\"mining.subscribe\",\"params\":[]}", deadline.Token);
        await miner.WriteAsync("{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"farm.rig1\",\"x\"]}", deadline.Token);
        await miner.WriteRawAsync("{\"id\":4,\"method\":\"mining.ping\",\"params\":[]}\n{\"id\":5,\"meth", deadline.Token);
        await miner.ReadUntilAsync(line => line.StartsWith("{\"id\":4,", StringComparison.Ordinal), deadline.Token);

        // Events wake the session's loop, which sees the same unfinished line again: that is not the miner talking.
        // Two wake-ups in turn: the second is applied only after the loop has finished with the first.
        time.Advance(TimeSpan.FromSeconds(5));
        session.OnVersionMaskChanged(0x00ffe000);
        await miner.ReadUntilAsync(line => line.Contains("mining.set_version_mask", StringComparison.Ordinal), deadline.Token);
        session.OnVersionMaskChanged(0x01ffe000);
        await miner.ReadUntilAsync(line => line.Contains("mining.set_version_mask", StringComparison.Ordinal), deadline.Token);
        time.Advance(TimeSpan.FromSeconds(6));
        session.Tick(time.GetTimestamp());

        Assert.StartsWith("idle", session.CloseReason, StringComparison.Ordinal);
        await miner.CompleteAsync();
        await run;
    }

    [Theory]
    [InlineData("{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[2]}")]
    [InlineData("{\"id\":null,\"method\":\"mining.set_target\",\"params\":[\"000000007fff8000000000000000000000000000000000000000000000000000\"]}")]
    public async Task Upstream_SetDifficultyOrSetTarget_AppliesFromTheNextJob_AndShowsInThePoolDifficultyGauge(string line)
    {
        using var deadline = Deadline();
        var harness = new SessionHarness();
        var pool = new InMemoryPool(harness, "pool-a", 0xa);
        await pool.StartAsync(deadline.Token);
        var first = pool.Upstream.CurrentJob;

        await pool.Server.SendLineAsync(line, deadline.Token);
        await pool.Server.SendJobAsync(clean: false, deadline.Token);
        while (pool.Upstream.CurrentJob == first)
        {
            await Task.Yield();
            deadline.Token.ThrowIfCancellationRequested();
        }

        Assert.Equal(2, pool.Upstream.Difficulty, 9);
        Assert.Equal(2, pool.Upstream.CurrentJob!.PoolDifficulty, 9);
        Assert.Equal(2, harness.UpstreamContext.Metrics.PoolDifficulty.WithLabels("pool-a").Value, 9);
    }

    [Fact]
    public async Task Upstream_SetTargetOfZero_IsRefusedAsABadLine_AndTheNextJobKeepsTheDifficultyItHad()
    {
        // No hash meets a zero target (its difficulty is infinite). Taken as is, the next notify threw while making its
        // job, out of the read loop, and the pool's lane never reconnected.
        using var deadline = Deadline();
        var harness = new SessionHarness();
        var pool = new InMemoryPool(harness, "pool-a", 0xa);
        await pool.StartAsync(deadline.Token);
        var first = pool.Upstream.CurrentJob!;
        var errors = harness.UpstreamContext.Metrics.ProtocolErrors.WithLabels("pool", "invalid_params").Value;

        await pool.Server.SendLineAsync("{\"id\":null,\"method\":\"mining.set_target\",\"params\":[\"" + new string('0', 64) + "\"]}", deadline.Token);
        await pool.Server.SendJobAsync(clean: false, deadline.Token);
        while (pool.Upstream.CurrentJob == first)
        {
            await Task.Yield();
            deadline.Token.ThrowIfCancellationRequested();
        }

        Assert.Equal(first.PoolDifficulty, pool.Upstream.CurrentJob!.PoolDifficulty);
        Assert.Equal(StratumProxy.Proxy.Upstream.UpstreamState.Ready, pool.Upstream.State);
        Assert.Equal(errors + 1, harness.UpstreamContext.Metrics.ProtocolErrors.WithLabels("pool", "invalid_params").Value);
    }

    [Fact]
    public async Task Upstream_AMessageTheProxyFailsToHandle_ClosesTheConnectionWithTheReason_InsteadOfFaultingItsRun()
    {
        // A defect behind a pool's message (here: a job observer that throws what nobody expects) ends that connection
        // as any close does, so its lane reconnects; escaping the run, it ended the lane for good, with no log line.
        using var deadline = Deadline();
        var harness = new SessionHarness();
        var pool = new InMemoryPool(harness, "pool-a", 0xa);
        await pool.StartAsync(deadline.Token);
        harness.UpstreamContext.JobObserved = (_, _) => throw new NullReferenceException("a defect in the observer");

        await pool.Server.SendJobAsync(clean: false, deadline.Token);
        while (pool.Upstream.State != StratumProxy.Proxy.Upstream.UpstreamState.Closed)
        {
            await Task.Delay(1, deadline.Token);
        }

        Assert.Equal("a message from the pool could not be handled (NullReferenceException: a defect in the observer)", pool.Upstream.CloseReason);
        Assert.Equal(1, harness.UpstreamContext.Metrics.ProtocolErrors.WithLabels("pool", "unhandled").Value);
    }

    [Fact]
    public async Task AttachTo_FromAnotherThread_SendsDifficultyThenACleanJobAndAShareOnItIsAccepted()
    {
        using var deadline = Deadline();
        var options = new ProxyOptions { Difficulty = new DifficultyOptions { Start = 1e-70, Min = 1e-70, Max = 1e-70, PowerOfTwo = false } };
        var harness = new SessionHarness(options);
        var pool = new InMemoryPool(harness, "pool-a", 0xa);
        await pool.StartAsync(deadline.Token);
        var (session, miner) = harness.Open();
        var run = session.RunAsync(deadline.Token);
        await miner.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}", deadline.Token);
        await miner.WriteAsync("{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"farm.rig1\",\"x\"]}", deadline.Token);
        await miner.ReadUntilAsync(line => line.StartsWith("{\"id\":2,", StringComparison.Ordinal), deadline.Token);

        Assert.True(await Task.Run(() => session.AttachTo(pool.Upstream), deadline.Token));
        Assert.Equal(pool.Upstream, session.Upstream);
        var difficulty = await miner.ReadLineAsync(deadline.Token);
        var notify = await miner.ReadLineAsync(deadline.Token);

        Assert.Contains("mining.set_difficulty", difficulty, StringComparison.Ordinal);
        Assert.Contains("mining.notify", notify, StringComparison.Ordinal);
        Assert.EndsWith("true]}", notify, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(notify!);
        var jobId = doc.RootElement.GetProperty("params")[0].GetString();
        var ntime = doc.RootElement.GetProperty("params")[7].GetString();
        await miner.WriteAsync($"{{\"id\":3,\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{jobId}\",\"00000001\",\"{ntime}\",\"00000007\"]}}", deadline.Token);
        Assert.Equal("{\"id\":3,\"result\":true,\"error\":null}", await miner.ReadLineAsync(deadline.Token));
        session.Close("test over");
        await run;
    }

    [Fact]
    public async Task AttachTo_AwayAndStraightBackBeforeTheLoopMoves_IsAcceptedAndTheMinerStaysWhereItWas()
    {
        using var deadline = Deadline();
        var options = new ProxyOptions { Difficulty = new DifficultyOptions { Start = 1e-70, Min = 1e-70, Max = 1e-70, PowerOfTwo = false } };
        var harness = new SessionHarness(options);
        var poolA = new InMemoryPool(harness, "pool-a", 0xa);
        var poolB = new InMemoryPool(harness, "pool-b", 0xb);
        await poolA.StartAsync(deadline.Token);
        await poolB.StartAsync(deadline.Token);
        var (session, miner) = harness.Open();
        var run = session.RunAsync(deadline.Token);
        await miner.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}", deadline.Token);
        await miner.WriteAsync("{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"farm.rig1\",\"x\"]}", deadline.Token);
        await miner.ReadUntilAsync(line => line.StartsWith("{\"id\":2,", StringComparison.Ordinal), deadline.Token);
        Assert.True(session.AttachTo(poolA.Upstream));
        var notify = await miner.ReadUntilAsync(line => line.Contains("mining.notify", StringComparison.Ordinal), deadline.Token);

        // Two moves in a row, before the session's loop has left pool-a: its own extranonce1 there is no clash.
        Assert.True(session.AttachTo(poolB.Upstream));
        Assert.True(session.AttachTo(poolA.Upstream));
        Assert.Equal(poolA.Upstream, session.Upstream);

        using var doc = JsonDocument.Parse(notify!);
        var jobId = doc.RootElement.GetProperty("params")[0].GetString();
        var ntime = doc.RootElement.GetProperty("params")[7].GetString();
        await miner.WriteAsync($"{{\"id\":3,\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{jobId}\",\"00000001\",\"{ntime}\",\"00000007\"]}}", deadline.Token);
        Assert.Equal("{\"id\":3,\"result\":true,\"error\":null}", await miner.ReadUntilAsync(line => line.StartsWith("{\"id\":3,", StringComparison.Ordinal), deadline.Token));
        Assert.Equal(poolA.Upstream, session.Upstream);
        session.Close("test over");
        await run;
    }

    /// <summary>
    /// Attach, jobs, difficulty, version masks, the pool's extranonce and ticks come from five threads at once while
    /// the miner submits; the session must answer every submit exactly once with the miner's own id, send each pool's
    /// jobs in order, judge every share by the difficulty the miner was told for its job, and never fail.
    /// </summary>
    [Fact]
    public async Task Session_UnderConcurrentAttachJobsMasksExtranonceAndTicks_KeepsItsInvariants()
    {
        const int Submits = 150;
        const int JobsPerPool = 60;
        using var deadline = Deadline();
        var options = new ProxyOptions
        {
            Difficulty = new DifficultyOptions { Start = 1, Min = 1, Max = 1, PowerOfTwo = false },
            Miners = new MinerOptions { MaxSubmitsPerSecond = 1e9 },
        };
        var harness = new SessionHarness(options);
        var pools = new[] { new InMemoryPool(harness, "pool-a", 0xa), new InMemoryPool(harness, "pool-b", 0xb) };
        foreach (var pool in pools)
        {
            await pool.StartAsync(deadline.Token);
        }

        var (session, miner) = harness.Open();
        var run = session.RunAsync(deadline.Token);
        await miner.WriteAsync("{\"id\":1,\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"1fffe000\"}]}", deadline.Token);
        await miner.WriteAsync("{\"id\":2,\"method\":\"mining.subscribe\",\"params\":[]}", deadline.Token);
        await miner.WriteAsync("{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"farm.rig1\",\"x\"]}", deadline.Token);
        var subscribed = await miner.ReadUntilAsync(line => line.StartsWith("{\"id\":2,", StringComparison.Ordinal), deadline.Token);
        await miner.ReadUntilAsync(line => line.StartsWith("{\"id\":3,", StringComparison.Ordinal), deadline.Token);
        string extranonce1;
        using (var doc = JsonDocument.Parse(subscribed))
        {
            extranonce1 = doc.RootElement.GetProperty("result")[1].GetString()!;
        }

        Assert.True(session.AttachTo(pools[0].Upstream));
        var done = new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(done.Token, deadline.Token);
        // Each background thread acts once per share the miner sends, so the events interleave with the whole run: a
        // gate lets a thread take step k once answer k is in, and the miner sends share k + 2 only once every thread has
        // finished step k (a thread may still be in the middle of step k + 1 while it goes). The threads cannot run
        // ahead of the miner, nor fall behind it: on a loaded machine the thread pool can leave them waiting until the
        // miner has finished, and a run whose events came after its last share would check nothing.
        var gates = Enumerable.Range(0, 4).Select(_ => new SemaphoreSlim(0)).ToArray();
        var finished = Enumerable.Range(0, 4).Select(_ => new SemaphoreSlim(0)).ToArray();
        int[] steps = [Submits, JobsPerPool, JobsPerPool, Submits];
        var random = new Random(11);
        var seeds = Enumerable.Range(0, 8).Select(_ => random.Next()).ToArray();
        var attacher = Task.Run(
            async () =>
            {
                for (var i = 0; i < Submits && await Pace(gates[0], stop.Token); i++)
                {
                    session.AttachTo(pools[i % 3 == 0 ? 1 : 0].Upstream);
                    finished[0].Release();
                }
            },
            deadline.Token);
        var feeders = pools.Select((pool, p) => Task.Run(
            async () =>
            {
                var rng = new Random(seeds[p]);
                for (var i = 0; i < JobsPerPool && await Pace(gates[1 + p], stop.Token); i++)
                {
                    await pool.Server.SendDifficultyAsync(Math.Pow(2, -rng.Next(30, 33)), deadline.Token);
                    await pool.Server.SendJobAsync(clean: rng.Next(4) == 0, deadline.Token);
                    if (i % 10 == 5)
                    {
                        await pool.Server.SendVersionMaskAsync(i % 20 == 5 ? 0x1fffe000u : 0x00ffe000u, deadline.Token);
                    }

                    if (i % 25 == 20)
                    {
                        await pool.Server.SendExtranonceAsync(i % 50 == 20 ? "0a0b0c0e" : "0a0b0c0d", deadline.Token);
                        await pool.Server.SendJobAsync(clean: true, deadline.Token);
                    }

                    finished[1 + p].Release();
                }
            },
            deadline.Token)).ToArray();
        var ticker = Task.Run(
            async () =>
            {
                for (var i = 0; i < Submits && await Pace(gates[3], stop.Token); i++)
                {
                    session.Tick(TimeProvider.System.GetTimestamp());
                    finished[3].Release();
                }
            },
            deadline.Token);

        var model = new MinerModel(Convert.FromHexString(extranonce1));
        var answers = new Dictionary<long, string>();
        for (var k = 1; k <= Submits; k++)
        {
            while (model.Job is null)
            {
                model.Read(await miner.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("the session closed: " + session.CloseReason));
            }

            for (var t = 0; t < finished.Length; t++)
            {
                var step = k - 2;
                if (step >= 1 && step <= steps[t])
                {
                    await finished[t].WaitAsync(deadline.Token);
                }
            }

            var id = 100 + k;
            await miner.WriteAsync(model.Share(id, k), deadline.Token);
            while (true)
            {
                var line = await miner.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("the session closed: " + session.CloseReason);
                if (model.Read(line) is { } answer)
                {
                    Assert.True(answer.Id == id, $"answer for id {answer.Id} while {id} was outstanding: {line}");
                    Assert.True(answers.TryAdd(answer.Id, line), $"second answer for {answer.Id}");
                    Assert.True(answer.Accepted || answer.ErrorCode == 21, $"share {id} on a job at difficulty {model.JobDifficulty(answer.JobId)}: {line}");
                    foreach (var gate in gates)
                    {
                        gate.Release();
                    }

                    break;
                }
            }
        }

        await done.CancelAsync();
        await Task.WhenAll([attacher, ticker, .. feeders]);
        foreach (var gate in gates.Concat(finished))
        {
            gate.Dispose();
        }

        Assert.Equal(Submits, answers.Count);
        Assert.Contains(answers.Values, line => line.Contains("true", StringComparison.Ordinal));
        Assert.Empty(model.OrderViolations);
        Assert.True(model.JobsSeen > 2, $"only {model.JobsSeen} jobs reached the miner");
        Assert.False(session.IsClosed, "closed: " + session.CloseReason);
        session.Close("test over");
        await run;
        done.Dispose();
    }

    [Fact]
    public async Task Proxy_OverAnInMemoryTransport_CarriesAMinersShareToThePoolWithoutSockets()
    {
        using var deadline = Deadline();
        var transport = new InMemoryTransport();
        var options = new ProxyOptions
        {
            Listeners = [new ListenerOptions { Name = "memory", Endpoint = "127.0.0.1:3333" }],
            Pools = [new PoolOptions { Name = "pool0", Url = "stratum+tcp://pool.invalid:3333", User = "acct" }],
            Difficulty = new DifficultyOptions { Start = 1, Min = 1, Max = 1, PowerOfTwo = false },
        };
        var metrics = new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        await using var engine = new ProxyEngine(options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, metrics, connector: transport);
        await using var listener = new MinerListener(engine, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, transport);
        listener.Bind(options.Listeners);
        engine.Start();
        listener.Start();
        while (!engine.Pools.Any(p => p.IsReady))
        {
            await Task.Delay(20, deadline.Token);
        }

        var miner = transport.ConnectMiner();
        await miner.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}", deadline.Token);
        await miner.WriteAsync("{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"farm.mem1\",\"x\"]}", deadline.Token);
        var subscribed = await miner.ReadUntilAsync(line => line.StartsWith("{\"id\":1,", StringComparison.Ordinal), deadline.Token);
        using var doc = JsonDocument.Parse(subscribed);
        var model = new MinerModel(Convert.FromHexString(doc.RootElement.GetProperty("result")[1].GetString()!));
        while (model.Job is null)
        {
            model.Read(await miner.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("closed"));
        }

        string? answer = null;
        for (var attempt = 1; attempt <= 5 && (answer is null || answer.Contains("[21,", StringComparison.Ordinal)); attempt++)
        {
            // A share on a job the proxy has just replaced is stale (21): the miner goes on with the newest job.
            await miner.WriteAsync(model.Share(7, attempt, newest: true), deadline.Token);
            while (true)
            {
                var line = await miner.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("closed");
                if (model.Read(line) is not null)
                {
                    answer = line;
                    break;
                }
            }
        }

        Assert.Equal("{\"id\":7,\"result\":true,\"error\":null}", answer);
        Assert.Equal(1, transport.PoolConnections);
        Assert.Equal("pool0", engine.MinerSessions.Single().PoolName);
        Assert.Equal(1, listener.Connections);
        transport.Stop();
    }

    private static async Task<bool> Pace(SemaphoreSlim gate, CancellationToken stop)
    {
        try
        {
            await gate.WaitAsync(stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The miner's view: the jobs and difficulties it was sent, in order, and shares that meet them.</summary>
    private sealed class MinerModel(byte[] extranonce1)
    {
        private readonly Dictionary<string, (ShareJobTemplate Template, double Difficulty)> _jobs = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _lastSequence = new(StringComparer.Ordinal);
        private readonly Dictionary<long, string> _submitted = [];
        private readonly List<string> _recent = [];
        private double _difficulty;

        public string? Job { get; private set; }

        public List<string> OrderViolations { get; } = [];

        public int JobsSeen { get; private set; }

        public double JobDifficulty(string? jobId) => jobId is not null && _jobs.TryGetValue(jobId, out var job) ? job.Difficulty : double.NaN;

        /// <summary>Takes a line from the proxy; returns the answer when it is one.</summary>
        public (long Id, bool Accepted, int ErrorCode, string? JobId)? Read(string line)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.TryGetProperty("method", out var method))
            {
                var p = root.GetProperty("params");
                switch (method.GetString())
                {
                    case "mining.set_difficulty":
                        _difficulty = p[0].GetDouble();
                        break;
                    case "mining.notify":
                        var id = p[0].GetString()!;
                        var prevHash = p[1].GetString()!;
                        var (sequence, marker) = InMemoryPoolServer.JobOrder(prevHash);
                        if (_lastSequence.TryGetValue(marker, out var last) && sequence < last)
                        {
                            OrderViolations.Add($"pool {marker}: job {sequence} after {last}");
                        }

                        _lastSequence[marker] = sequence;
                        var template = ShareJobTemplate.FromHex(prevHash, p[2].GetString()!, p[3].GetString()!, [.. p[4].EnumerateArray().Select(b => b.GetString()!)], p[5].GetString()!, p[6].GetString()!, p[7].GetString()!);
                        _jobs[id] = (template, _difficulty);
                        Job = id;
                        _recent.Add(id);
                        if (_recent.Count > 4)
                        {
                            _recent.RemoveAt(0);
                        }

                        JobsSeen++;
                        break;
                }

                return null;
            }

            var answerId = root.GetProperty("id").GetInt64();
            var accepted = root.GetProperty("result").ValueKind == JsonValueKind.True;
            var code = accepted ? 0 : root.GetProperty("error")[0].GetInt32();
            return (answerId, accepted, code, _submitted.GetValueOrDefault(answerId));
        }

        /// <summary>A share on one of the last jobs (or the newest) that meets the difficulty the miner was told for that job.</summary>
        public string Share(long id, int k, bool newest = false)
        {
            var job = newest ? Job! : _recent[k % _recent.Count];
            var (template, difficulty) = _jobs[job];
            var target = Difficulty.ToTarget(difficulty);
            var extranonce2 = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(extranonce2, k);
            Span<byte> hash = stackalloc byte[32];
            for (uint nonce = 0; nonce < 1u << 20; nonce++)
            {
                ShareHasher.Default.ComputeBlockHash(template, extranonce1, extranonce2, template.NTime, nonce, template.Version, hash);
                if (UInt256.FromLittleEndian(hash) <= target)
                {
                    _submitted[id] = job;
                    return $"{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{job}\",\"{Convert.ToHexStringLower(extranonce2)}\",\"{template.NTime:x8}\",\"{nonce:x8}\"]}}";
                }
            }

            throw new InvalidOperationException($"no share found at difficulty {difficulty}");
        }
    }
}
