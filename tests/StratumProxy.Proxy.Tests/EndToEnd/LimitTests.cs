using System.Text;
using StratumProxy.Proxy.Configuration;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>Per-session limits close only the offender; an upstream the proxy cannot slice is refused, not fatal.</summary>
public sealed class LimitTests
{
    [Fact]
    public async Task An_over_long_line_closes_only_that_miner()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        options = options with { Miners = options.Miners with { MaxLineLength = 512 } };
        await using var proxy = await ProxyHarness.StartAsync(options);
        await using var fleet = new MinerFleet(2, proxy.Miner("farm.calm"));
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(1, TimeSpan.FromSeconds(20));

        await using var offender = await WireClient.ConnectAsync(proxy.Port);
        await offender.HandshakeAsync("farm.long");
        await offender.SendAsync("{\"id\":3,\"method\":\"mining.subscribe\",\"params\":[\"" + new string('a', 2000) + "\"]}");
        Assert.True(await offender.ClosedWithinAsync(TimeSpan.FromSeconds(5)), "the proxy kept a miner that sent an over-long line");
        Assert.Contains(offender.Received, l => l.Contains("line longer than 512 bytes", StringComparison.Ordinal));
        Assert.Equal(1, await proxy.MetricAsync("stratumproxy_protocol_errors_total{side=\"miner\",kind=\"line_too_long\"}"));

        // The session is counted as dropped once the miner has closed its side too.
        await offender.DisposeAsync();
        await proxy.WaitUntilAsync(() => proxy.Engine.Metrics.MinerDisconnects.WithLabels("line_too_long").Value == 1, TimeSpan.FromSeconds(5), "the disconnect counted");

        var before = fleet.Miners.ToDictionary(m => m.Worker, m => m.Accepted);
        await fleet.WaitUntilAsync(f => f.Miners.All(m => m.Accepted >= before[m.Worker] + 2), TimeSpan.FromSeconds(20), "the others keep mining");
        Assert.All(fleet.Miners, m => Assert.Equal(1, m.Connections));
    }

    [Fact]
    public async Task A_submit_flood_closes_that_miner_and_no_other()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-6 });
        var options = ProxyHarness.Options(pool);
        options = options with { Miners = options.Miners with { MaxSubmitsPerSecond = 5 } };
        await using var proxy = await ProxyHarness.StartAsync(options);
        await using var calm = await WireClient.ConnectAsync(proxy.Port);
        await calm.HandshakeAsync("farm.calm");
        await using var flooder = await WireClient.ConnectAsync(proxy.Port);
        await flooder.HandshakeAsync("farm.flood");

        // Twenty submits in one write: the burst allows five, the sixth is answered with an error and the session ends.
        var flood = new StringBuilder();
        for (var i = 0; i < 20; i++)
        {
            flood.Append("{\"id\":").Append(100 + i).Append(",\"method\":\"mining.submit\",\"params\":[\"farm.flood\",\"deadbeef\",\"00000000\",\"00000000\",\"00000000\"]}\n");
        }

        await flooder.SendBytesAsync(Encoding.UTF8.GetBytes(flood.ToString()));
        Assert.True(await flooder.ClosedWithinAsync(TimeSpan.FromSeconds(5)), "the proxy kept a flooding miner");
        Assert.Contains(flooder.Received, l => l.Contains("\"id\":105", StringComparison.Ordinal) && l.Contains("too many submits", StringComparison.Ordinal));
        Assert.DoesNotContain(flooder.Received, l => l.Contains("\"id\":106", StringComparison.Ordinal));
        Assert.Equal(5, flooder.Received.Count(l => l.Contains("[21,", StringComparison.Ordinal)));
        await flooder.DisposeAsync();
        await proxy.WaitUntilAsync(() => proxy.Engine.Metrics.MinerDisconnects.WithLabels("rate_limited").Value == 1, TimeSpan.FromSeconds(5), "the disconnect counted");
        Assert.Equal(1, await proxy.MetricAsync("stratumproxy_miner_disconnects_total{reason=\"rate_limited\"}"));

        var extranonce2 = new byte[] { 1, 0, 0, 0 };
        var response = await calm.SubmitAsync(7, "farm.calm", calm.LastNotify!.JobId, extranonce2, calm.Template().NTime, calm.FindNonce(extranonce2, 1e-6));
        Assert.Null(WireClient.ErrorCode(response));
    }

    [Fact]
    public async Task A_connection_flood_from_one_address_is_refused_and_the_address_banned_while_its_open_connections_keep_mining()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        options = options with { Limits = new LimitOptions { MaxConnectionsPerIp = 3, BanSeconds = 3600 } };
        await using var proxy = await ProxyHarness.StartAsync(options);
        var open = new List<WireClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var client = await WireClient.ConnectAsync(proxy.Port);
                open.Add(client);
                await client.HandshakeAsync($"farm.rig{i}");
            }

            // The fourth from the same address is closed before a session starts, and the address is banned.
            await using (var fourth = await WireClient.ConnectAsync(proxy.Port))
            {
                Assert.True(await fourth.ClosedWithinAsync(TimeSpan.FromSeconds(10)), "the proxy kept a fourth connection from one address");
            }

            Assert.Equal(1, await proxy.MetricAsync("stratumproxy_miner_connections_refused_total{listener=\"test\",reason=\"ip_limit\"}"));
            Assert.Equal(1, await proxy.MetricAsync("stratumproxy_miner_ip_bans_total"));

            // Below the limit again, still banned: refused, counted as banned; the three open ones still get answers.
            await open[0].DisposeAsync();
            open.RemoveAt(0);
            await proxy.WaitUntilAsync(() => proxy.Listener.ConnectionsFrom(System.Net.IPAddress.Loopback) == 2, TimeSpan.FromSeconds(10), "the closed connection released");
            await using (var banned = await WireClient.ConnectAsync(proxy.Port))
            {
                Assert.True(await banned.ClosedWithinAsync(TimeSpan.FromSeconds(10)), "the proxy took a connection from a banned address");
            }

            Assert.Equal(1, await proxy.MetricAsync("stratumproxy_miner_connections_refused_total{listener=\"test\",reason=\"ip_banned\"}"));
            var extranonce2 = new byte[] { 1, 0, 0, 0 };
            var survivor = open[0];
            var response = await survivor.SubmitAsync(9, "farm.rig1", survivor.LastNotify!.JobId, extranonce2, survivor.Template().NTime, survivor.FindNonce(extranonce2, 1e-5));
            Assert.Null(WireClient.ErrorCode(response));
        }
        finally
        {
            foreach (var client in open)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Behind_haproxy_the_address_in_the_proxy_protocol_header_is_the_one_limited()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var options = ProxyHarness.Options(pool);
        options = options with
        {
            Listeners = [options.Listeners[0] with { ProxyProtocol = ProxyProtocolMode.Required }],
            Limits = new LimitOptions { MaxConnectionsPerIp = 2, BanSeconds = 0 },
        };
        await using var proxy = await ProxyHarness.StartAsync(options);
        var clients = new List<(WireClient Client, string Source)>();
        try
        {
            // Every connection comes from HAProxy's address (loopback here); the header names the rig's.
            foreach (var (source, held) in new[] { ("10.1.2.3", 1), ("10.1.2.3", 2), ("10.1.2.3", 2), ("10.9.9.9", 1) })
            {
                var client = await WireClient.ConnectAsync(proxy.Port);
                clients.Add((client, source));
                await client.SendBytesAsync(Encoding.ASCII.GetBytes($"PROXY TCP4 {source} 127.0.0.1 40001 3333\r\n"));
                if (clients.Count == 3)
                {
                    Assert.True(await client.ClosedWithinAsync(TimeSpan.FromSeconds(10)), "a third connection from 10.1.2.3 was kept");
                }

                var address = System.Net.IPAddress.Parse(source);
                await proxy.WaitUntilAsync(() => proxy.Listener.ConnectionsFrom(address) == held, TimeSpan.FromSeconds(10), $"{held} connections held for {source}");
            }

            await clients[0].Client.HandshakeAsync("farm.a");
            await clients[1].Client.HandshakeAsync("farm.b");
            await clients[3].Client.HandshakeAsync("farm.c");
            Assert.Equal(2, proxy.Listener.ConnectionsFrom(System.Net.IPAddress.Parse("10.1.2.3")));
            Assert.Equal(0, proxy.Listener.ConnectionsFrom(System.Net.IPAddress.Loopback));
            Assert.Equal(1, await proxy.MetricAsync("stratumproxy_miner_connections_refused_total{listener=\"test\",reason=\"ip_limit\"}"));
            Assert.Equal(0, await proxy.MetricAsync("stratumproxy_miner_ip_bans_total"));
            await proxy.WaitUntilAsync(() => proxy.Engine.Metrics.MinerDisconnects.WithLabels("ip_limit").Value == 1, TimeSpan.FromSeconds(10), "the disconnect counted");
        }
        finally
        {
            foreach (var (client, _) in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_pool_with_too_small_an_extranonce2_is_refused_and_miners_use_the_next_pool()
    {
        // Miners need at least n = 2 bytes of extranonce2 whatever their k; this pool offers 1.
        await using var small = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, Extranonce2Size = 1 });
        await using var fine = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(small, fine));
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools.Single(p => p.Options.Name == "pool0").LastError is not null, TimeSpan.FromSeconds(5), "the refusal");

        var refused = proxy.Engine.Pools.Single(p => p.Options.Name == "pool0");
        Assert.False(refused.IsReady);
        Assert.Contains("extranonce2 size N=1 is too small", refused.LastError, StringComparison.Ordinal);
        Assert.True(await proxy.MetricAsync("stratumproxy_upstream_refused_total{pool=\"pool0\"}") >= 1);
        Assert.Equal(0, await proxy.MetricAsync("stratumproxy_pool_up{pool=\"pool0\"}"));

        await using var miner = new TestMiner(proxy.Miner("farm.next"));
        await miner.StartAsync();
        await miner.WaitForAcceptedAsync(3, TimeSpan.FromSeconds(20));
        Assert.Equal(0, small.Accepted);
        Assert.True(fine.Worker("acct.next").Accepted >= 1);
        Assert.Equal(1, miner.Connections);
    }

    [Theory]
    [InlineData(33, "more than 32 merkle branches")]
    [InlineData(10_000, "line longer than 262144 bytes")]
    public async Task A_pool_sending_a_notify_with_too_many_merkle_branches_is_refused_and_miners_use_the_next_pool(int branches, string why)
    {
        await using var hostile = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5, MerkleBranchCount = branches });
        await using var fine = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(hostile, fine));
        var refused = proxy.Engine.Pools.Single(p => p.Options.Name == "pool0");
        await proxy.WaitUntilAsync(() => refused.LastError?.Contains(why, StringComparison.Ordinal) == true, TimeSpan.FromSeconds(10), "the pool refused: " + why);

        var scrape = await proxy.ScrapeAsync();
        var kind = branches > 1000 ? "line_too_long" : "too_many_merkle_branches";
        Assert.True(ProxyHarness.MetricValue(scrape, $"stratumproxy_protocol_errors_total{{side=\"pool\",kind=\"{kind}\"}}") >= 1, scrape);
        if (branches <= 1000)
        {
            Assert.True(ProxyHarness.MetricValue(scrape, "stratumproxy_upstream_refused_total{pool=\"pool0\"}") >= 1);
        }

        await using var miner = new TestMiner(proxy.Miner("farm.next"));
        await miner.StartAsync();
        await miner.WaitForAcceptedAsync(3, TimeSpan.FromSeconds(20));
        Assert.Equal(0, hostile.Accepted);
        Assert.True(fine.Worker("acct.next").Accepted >= 1);
    }

    [Fact]
    public async Task A_pool_sending_a_100_MB_line_is_cut_off_after_the_line_limit()
    {
        await using var flood = FloodingPool.Start();
        var options = ProxyHarness.Options();
        options = options with { Pools = [new PoolOptions { Name = "flood", Url = flood.Url, User = "acct", Group = "default" }] };
        await using var proxy = await ProxyHarness.StartAsync(options, waitForPool: false);
        await flood.Done.WaitAsync(TimeSpan.FromSeconds(60));

        var pool = proxy.Engine.Pools.Single();
        await proxy.WaitUntilAsync(() => pool.LastError?.Contains("line longer than 262144 bytes", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(10), "the pool cut off");
        Assert.True(flood.Written < 100L * 1024 * 1024, $"the proxy read the whole {flood.Written} bytes");
        Assert.True(await proxy.MetricAsync("stratumproxy_protocol_errors_total{side=\"pool\",kind=\"line_too_long\"}") >= 1);
    }

    [Fact]
    public async Task A_pool_line_over_a_configured_MaxPoolLineLength_is_refused_and_counted()
    {
        // 32 KiB: the flood's first 64 KiB write is already over it, though far under the 256 KiB default.
        await using var flood = FloodingPool.Start();
        var options = ProxyHarness.Options();
        options = options with
        {
            Pools = [new PoolOptions { Name = "flood", Url = flood.Url, User = "acct", Group = "default" }],
            Limits = options.Limits with { MaxPoolLineLength = 32 * 1024 },
        };
        await using var proxy = await ProxyHarness.StartAsync(options, waitForPool: false);
        await flood.Done.WaitAsync(TimeSpan.FromSeconds(60));

        var pool = proxy.Engine.Pools.Single();
        await proxy.WaitUntilAsync(() => pool.LastError?.Contains("line longer than 32768 bytes", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(10), "the pool cut off at 32 KiB");
        Assert.True(flood.Written < 100L * 1024 * 1024, $"the proxy read the whole {flood.Written} bytes");
        Assert.True(await proxy.MetricAsync("stratumproxy_protocol_errors_total{side=\"pool\",kind=\"line_too_long\"}") >= 1);
    }

    /// <summary>A pool on loopback that answers its first connection with one line of 100 MB, 64 KiB a write, until it is cut off.</summary>
    private sealed class FloodingPool : IAsyncDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
        private long _written;

        private FloodingPool()
        {
            _listener.Start();
            Url = $"stratum+tcp://127.0.0.1:{((System.Net.IPEndPoint)_listener.LocalEndpoint).Port}";
        }

        public string Url { get; }

        /// <summary>Ends when the whole line was written or the proxy closed the connection.</summary>
        public Task Done { get; private set; } = Task.CompletedTask;

        public long Written => Interlocked.Read(ref _written);

        public static FloodingPool Start()
        {
            var pool = new FloodingPool();
            pool.Done = Task.Run(pool.FloodAsync);
            return pool;
        }

        public ValueTask DisposeAsync()
        {
            _listener.Dispose();
            return ValueTask.CompletedTask;
        }

        private async Task FloodAsync()
        {
            using var client = await _listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var chunk = Encoding.ASCII.GetBytes("{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"" + new string('a', 64 * 1024));
            Array.Fill(chunk, (byte)'a', 60, chunk.Length - 60);
            try
            {
                while (Written < 100L * 1024 * 1024)
                {
                    await stream.WriteAsync(chunk);
                    Interlocked.Add(ref _written, chunk.Length);
                }
            }
            catch (IOException)
            {
                // The proxy closed the connection: the rest of the line is never sent.
            }
        }
    }
}
