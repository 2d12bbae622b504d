using System.IO.Pipelines;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Tests.EndToEnd;
using StratumProxy.Proxy.Transport;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Routing;

public sealed class TickAllocationTests
{
    [Fact]
    public async Task A_routing_tick_allocates_nothing_per_placed_session()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        await using var proxy = await ProxyHarness.StartAsync(options);
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools.All(p => p.IsReady), TimeSpan.FromSeconds(10), "pool ready");
        var pipes = new List<Pipe>();

        var few = TickBytes(proxy, options.Listeners[0], pipes, 10);
        var many = TickBytes(proxy, options.Listeners[0], pipes, 1_000);

        Assert.All(proxy.Engine.MinerSessions, s => Assert.Equal("pool0", s.PoolName));
        Assert.True(many - few < 990, $"a tick over 10 sessions allocated {few} bytes, over 1,000 sessions {many} bytes");
    }

    [Fact]
    public async Task A_snapshot_of_a_few_workers_copies_theirs_alone_and_allocates_nothing_per_other_session()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        await using var proxy = await ProxyHarness.StartAsync(options);
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools.All(p => p.IsReady), TimeSpan.FromSeconds(10), "pool ready");
        var pipes = new List<Pipe>();
        HashSet<string> rigs = ["farm.rig3", "farm.rig7", "farm.absent"];

        TickBytes(proxy, options.Listeners[0], pipes, 10);
        var few = SnapshotBytes(proxy, rigs);
        TickBytes(proxy, options.Listeners[0], pipes, 1_000);
        var many = SnapshotBytes(proxy, rigs);
        var fleet = proxy.Engine.Snapshot(rigs);

        Assert.Equal(["farm.rig3", "farm.rig7"], fleet.Sessions.Select(s => s.Worker).Order());
        Assert.All(fleet.Sessions, s => Assert.Equal("pool0", s.Pool));
        Assert.Equal("pool0", fleet.PoolOf("farm.rig7"));
        Assert.Null(fleet.PoolOf("farm.rig8"));
        Assert.NotNull(fleet.Worker("farm.rig3"));
        Assert.Null(fleet.Worker("farm.rig8"));
        Assert.Equal(["farm.rig3", "farm.rig7"], fleet.Workers.Select(w => w.Name).Order());
        Assert.Equal(1_000, Assert.Single(fleet.Pools).Miners);
        Assert.Equal(1_000, proxy.Engine.Snapshot().Sessions.Count);
        Assert.True(many - few < 990, $"a snapshot of 2 workers among 10 sessions allocated {few} bytes, among 1,000 sessions {many} bytes");
    }

    private static long SnapshotBytes(ProxyHarness proxy, IReadOnlySet<string> workers)
    {
        proxy.Engine.Snapshot(workers);
        var before = GC.GetAllocatedBytesForCurrentThread();
        proxy.Engine.Snapshot(workers);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public async Task The_pools_version_changes_when_a_pool_comes_goes_or_is_replaced_and_only_then()
    {
        var pool0 = new PoolOptions { Name = "pool0", Url = "stratum+tcp://127.0.0.1:1", User = "acct" };
        var pool1 = pool0 with { Name = "pool1" };
        var options = new ProxyOptions { Listeners = [new ListenerOptions { Name = "l", Endpoint = "127.0.0.1:0" }], Pools = [pool0] };
        await using var engine = new StratumProxy.Proxy.Routing.ProxyEngine(options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, new StratumProxy.Proxy.Metrics.ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())));
        engine.Start();
        var versions = new List<int> { engine.PoolsVersion };

        engine.ApplyOptions(options with { Miners = options.Miners with { MaxSubmitsPerSecond = 5 } });
        versions.Add(engine.PoolsVersion);
        engine.ApplyOptions(options with { Pools = [pool0, pool1] });
        versions.Add(engine.PoolsVersion);
        engine.ApplyOptions(options with { Pools = [pool0, pool1 with { Priority = 1 }] });
        versions.Add(engine.PoolsVersion);
        engine.ApplyOptions(options with { Pools = [pool0] });
        versions.Add(engine.PoolsVersion);

        Assert.Equal(versions[0], versions[1]);
        Assert.Equal(4, versions.Distinct().Count());
        Assert.Equal(["pool0"], engine.Pools.Select(p => p.Options.Name));
    }

    /// <summary>Grows the engine to <paramref name="sessions"/> authorized miners (in-memory, not running), lets the
    /// ticks place them, then returns the bytes one more tick allocates on this thread.</summary>
    private static long TickBytes(ProxyHarness proxy, ListenerOptions listener, List<Pipe> pipes, int sessions)
    {
        while (pipes.Count < sessions)
        {
            var pipe = new Pipe();
            pipes.Add(pipe);
            var state = new SessionState
            {
                Listener = listener.Name, ProxyHeaderDone = true, SawFirstByte = true, Subscribed = true,
                Worker = $"farm.rig{pipes.Count}", HasIdentity = true, PrefixSize = 2, Extranonce2Size = 4, Difficulty = 1,
            };
            proxy.Engine.ImportSession(state, new ProxyConnection(new DuplexPipe(pipe.Reader, pipe.Writer), null, null, null), listener);
        }

        for (var i = 0; i < 3; i++)
        {
            proxy.Engine.Tick();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        proxy.Engine.Tick();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
