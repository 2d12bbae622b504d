using System.Text;
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
}
