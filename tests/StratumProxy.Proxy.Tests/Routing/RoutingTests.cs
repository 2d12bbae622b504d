using System.Net;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Tests.EndToEnd;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Routing;

public sealed class RoutingTests
{
    [Fact]
    public async Task A_tls_upstream_carries_shares_and_an_untrusted_certificate_is_refused_unless_allowed()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var tls = new TlsTerminator(pool.Port);
        var options = ProxyHarness.Options(pool);
        options = ProxyHarness.WithPool(options, 0, p => p with { Url = $"stratum+ssl://127.0.0.1:{tls.Port}", AllowInvalidCertificate = true });
        await using (var proxy = await ProxyHarness.StartAsync(options))
        await using (var miner = new TestMiner(proxy.Miner("farm.tls")))
        {
            await miner.StartAsync();
            await miner.WaitForAcceptedAsync(3, TimeSpan.FromSeconds(30));
            await miner.StopHashingAsync();
            await miner.WaitForAnswersAsync(TimeSpan.FromSeconds(10));
            Assert.True(miner.EverySubmitAnsweredOnce);
            Assert.True(tls.Handshakes >= 1);
            Assert.Equal(0, pool.Rejected);
        }

        // The same pool without the opt-in: the self-signed certificate fails validation, the pool never gets ready,
        // and the failure is counted with a reason.
        options = ProxyHarness.WithPool(options, 0, p => p with { AllowInvalidCertificate = false });
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new StratumProxy.Proxy.Metrics.ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(registry));
        await using var engine = new StratumProxy.Proxy.Routing.ProxyEngine(options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, metrics);
        engine.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (engine.Pools[0].LastError is null)
        {
            await Task.Delay(20, cts.Token);
        }

        Assert.False(engine.Pools[0].IsReady);
        Assert.StartsWith("TLS handshake failed", engine.Pools[0].LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_required_proxy_protocol_header_gives_the_rig_address_and_a_missing_one_is_refused()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        options = options with { Listeners = [options.Listeners[0] with { ProxyProtocol = ProxyProtocolMode.Required }] };
        await using var proxy = await ProxyHarness.StartAsync(options);

        using var balanced = new TcpClient();
        await balanced.ConnectAsync(IPAddress.Loopback, proxy.Port);
        var stream = balanced.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("PROXY TCP4 10.1.2.3 127.0.0.1 40001 3333\r\n{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"cgminer/4.11.1\"]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"farm.rack1\",\"x\"]}\n"));
        using var reader = new StreamReader(stream);
        var subscribed = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("{\"id\":1,\"result\":[[[\"mining.set_difficulty\"", subscribed, StringComparison.Ordinal);
        await proxy.WaitUntilAsync(() => proxy.Engine.MinerSessions.Any(s => s.Worker == "farm.rack1"), TimeSpan.FromSeconds(10), "the session");
        var session = proxy.Engine.MinerSessions.Single(s => s.Worker == "farm.rack1");
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 40001), session.RemoteEndPoint);

        using var direct = new TcpClient();
        await direct.ConnectAsync(IPAddress.Loopback, proxy.Port);
        await direct.GetStream().WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n"u8.ToArray());
        var buffer = new byte[256];
        var read = await direct.GetStream().ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, read);
        var scrape = await proxy.ScrapeAsync();
        Assert.Contains("stratumproxy_protocol_errors_total{side=\"miner\",kind=\"proxy_protocol\"} 1", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pools_of_one_priority_split_miners_by_weight_and_the_switch_api_moves_and_pins_them()
    {
        await using var heavy = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var light = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(heavy, light);
        options = ProxyHarness.WithPool(options, 1, p => p with { Priority = 0, Weight = 1 });
        options = ProxyHarness.WithPool(options, 0, p => p with { Weight = 3 });
        await using var proxy = await ProxyHarness.StartAsync(options);
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools.All(p => p.IsReady), TimeSpan.FromSeconds(10), "both pools ready");

        var miners = new List<TestMiner>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var miner = new TestMiner(proxy.Miner($"farm.rig{i}") with { HashesPerYield = 256, ShareLimit = 0 });
                miners.Add(miner);
                await miner.StartAsync();
                await proxy.WaitUntilAsync(() => proxy.Engine.MinerSessions.Any(s => s.Worker == $"farm.rig{i}" && s.PoolName is not null), TimeSpan.FromSeconds(10), "assignment");
            }

            var byPool = proxy.Engine.MinerSessions.GroupBy(s => s.PoolName!).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(6, byPool["pool0"]);
            Assert.Equal(2, byPool["pool1"]);

            var moved = proxy.Engine.Switch("pool1", s => s.Worker is "farm.rig0" or "farm.rig1", pin: true);
            Assert.Equal(2, moved);
            Assert.Equal("pool1", proxy.Engine.MinerSessions.Single(s => s.Worker == "farm.rig0").PoolName);
            proxy.Engine.Tick();
            Assert.Equal("pool1", proxy.Engine.MinerSessions.Single(s => s.Worker == "farm.rig0").PoolName);
            Assert.Equal("pool1", proxy.Engine.PinnedPool("farm.rig0"));
            Assert.Throws<ArgumentException>(() => proxy.Engine.Switch("nope", _ => true, pin: false));
            Assert.All(miners, m => Assert.Equal(1, m.Connections));
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
    public async Task A_worker_pinned_while_it_is_not_connected_goes_to_that_pool_when_it_connects()
    {
        // The farm loop switches a rig that is rebooting or asleep: the pin must wait for it, not only move the
        // sessions there are now.
        await using var primary = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var backup = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(primary, backup));
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools.All(p => p.IsReady), TimeSpan.FromSeconds(10), "both pools ready");

        Assert.Equal(0, proxy.Engine.Switch("pool1", ["farm.late"], pin: true));

        await using var late = new TestMiner(proxy.Miner("farm.late") with { ShareLimit = 0 });
        await using var other = new TestMiner(proxy.Miner("farm.other") with { ShareLimit = 0 });
        await late.StartAsync();
        await other.StartAsync();
        await proxy.WaitUntilAsync(() => proxy.Engine.MinerSessions.Count(s => s.PoolName is not null) == 2, TimeSpan.FromSeconds(10), "both placed");

        Assert.Equal("pool1", proxy.Engine.MinerSessions.Single(s => s.Worker == "farm.late").PoolName);
        Assert.Equal("pool0", proxy.Engine.MinerSessions.Single(s => s.Worker == "farm.other").PoolName);
        Assert.Equal("pool1", proxy.Engine.PinnedPool("farm.late"));

        // A blank name is refused before anything moves or is pinned.
        Assert.Throws<ArgumentException>(() => proxy.Engine.Switch("pool1", ["farm.other", " "], pin: true));
        Assert.Equal("pool0", proxy.Engine.MinerSessions.Single(s => s.Worker == "farm.other").PoolName);
        Assert.Null(proxy.Engine.PinnedPool("farm.other"));
    }

    [Fact]
    public async Task Within_a_second_the_load_of_miners_placed_and_gone_is_carried_so_a_weighted_tier_stays_even()
    {
        // The clock does not move: the pools' load is summed from the sessions once, then only carried by each
        // placement and each miner that leaves. Miners that leave pool0 must make room there at once.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var first = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var second = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(first, second);
        options = ProxyHarness.WithPool(options, 1, p => p with { Priority = 0, Weight = 1 });
        options = ProxyHarness.WithPool(options, 0, p => p with { Weight = 1 });
        await using var proxy = await ProxyHarness.StartAsync(options, time: time);
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools.All(p => p.IsReady), TimeSpan.FromSeconds(10), "both pools ready");

        var miners = new Dictionary<string, TestMiner>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                await ConnectAsync($"farm.rig{i}");
            }

            Assert.Equal(["pool0", "pool0", "pool1", "pool1"], PoolsOf(miners.Keys));
            var onPool0 = proxy.Engine.MinerSessions.Where(s => s.PoolName == "pool0").Select(s => s.Worker!).ToList();
            foreach (var worker in onPool0)
            {
                await miners[worker].DisposeAsync();
                miners.Remove(worker);
            }

            await proxy.WaitUntilAsync(() => !proxy.Engine.MinerSessions.Any(s => onPool0.Contains(s.Worker!)), TimeSpan.FromSeconds(10), "the miners on pool0 gone");
            await ConnectAsync("farm.rig4");
            await ConnectAsync("farm.rig5");

            Assert.Equal(["pool0", "pool0"], PoolsOf(["farm.rig4", "farm.rig5"]));
        }
        finally
        {
            foreach (var miner in miners.Values)
            {
                await miner.DisposeAsync();
            }
        }

        async Task ConnectAsync(string worker)
        {
            var miner = new TestMiner(proxy.Miner(worker) with { ShareLimit = 0 });
            miners[worker] = miner;
            await miner.StartAsync();
            await proxy.WaitUntilAsync(() => proxy.Engine.MinerSessions.Any(s => s.Worker == worker && s.PoolName is not null), TimeSpan.FromSeconds(10), "assignment");
        }

        List<string> PoolsOf(IEnumerable<string> workers) =>
            [.. workers.Select(w => proxy.Engine.MinerSessions.Single(s => s.Worker == w).PoolName!).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task A_passthrough_pool_that_was_down_takes_miners_again_once_it_is_back()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(PoolMode.Passthrough, pool));
        await pool.StopAsync();

        await using var miner = new TestMiner(proxy.Miner("farm.pt"));
        await miner.StartAsync();
        var runtime = proxy.Engine.Pools[0];
        await proxy.WaitUntilAsync(() => runtime.LastError is not null && !runtime.IsReady, TimeSpan.FromSeconds(10), "the failed dedicated connection");

        await pool.RestartAsync();
        await miner.WaitForAcceptedAsync(3, TimeSpan.FromSeconds(30));
        Assert.True(runtime.IsReady);
        Assert.Equal(1, miner.Connections);
    }
}
