using Microsoft.Extensions.Logging.Abstractions;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Tests.Sessions;

namespace StratumProxy.Proxy.Tests.Control;

/// <summary>The proxy as its host holds it: started once, stopped by one method that closes every miner.</summary>
public sealed class ProxyLifetimeTests
{
    [Fact]
    public async Task StopAsync_AMinerConnected_ClosesItAndCanBeRepeated()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var transport = new InMemoryTransport();
        await using var proxy = New(transport);
        proxy.Start();
        var miner = transport.ConnectMiner();
        await miner.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}", deadline.Token);
        await miner.ReadUntilAsync(line => line.StartsWith("{\"id\":1,", StringComparison.Ordinal), deadline.Token);

        await proxy.StopAsync();

        while (await miner.ReadLineAsync(deadline.Token) is not null)
        {
            // Lines written before the close; the stream then ends.
        }

        await proxy.StopAsync();
        transport.Stop();
    }

    [Fact]
    public async Task StopAsync_AMinerDroppedAndLingeringForItsHangUp_EndsAtOnce_WithoutWaitingOutTheGrace()
    {
        // The clock never moves: the close grace (2 s) and the linger can only end because the proxy stops.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var transport = new InMemoryTransport();
        await using var proxy = New(transport, new Microsoft.Extensions.Time.Testing.FakeTimeProvider());
        proxy.Start();
        var miner = transport.ConnectMiner();
        await miner.WriteRawAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"" + new string('x', 20 * 1024), deadline.Token);
        var error = await miner.ReadUntilAsync(line => line.Contains("longer than", StringComparison.Ordinal), deadline.Token);
        Assert.Contains("\"error\"", error, StringComparison.Ordinal);

        // The miner keeps its end open, so the session lingers for it to hang up (as a miner's reset would otherwise
        // cut the error it was sent); stopping ends that.
        await proxy.StopAsync().WaitAsync(deadline.Token);
        Assert.Null(await miner.ReadLineAsync(deadline.Token));
        transport.Stop();
    }

    [Fact]
    public async Task Start_Twice_Throws()
    {
        var transport = new InMemoryTransport();
        await using var proxy = New(transport);
        proxy.Start();

        Assert.Throws<InvalidOperationException>(proxy.Start);
        transport.Stop();
    }

    [Fact]
    public async Task Apply_NewLimits_AreTheOptionsInForce_ExtranonceSizesStayThoseOfTheStart()
    {
        var transport = new InMemoryTransport();
        await using var proxy = New(transport);
        proxy.Start();
        var options = proxy.Control.Options;

        proxy.Apply(options with { Miners = options.Miners with { MaxSubmitsPerSecond = 5, Extranonce2Size = 8 } });

        Assert.Equal(5, proxy.Control.Options.Miners.MaxSubmitsPerSecond);
        Assert.Equal(options.Miners.Extranonce2Size, proxy.Control.Options.Miners.Extranonce2Size);
        transport.Stop();
    }

    private static ProxyLifetime New(InMemoryTransport transport, TimeProvider? time = null) => new(
        new ProxyOptions
        {
            Listeners = [new ListenerOptions { Name = "memory", Endpoint = "127.0.0.1:3333" }],
            Pools = [new PoolOptions { Name = "pool0", Url = "stratum+tcp://pool.invalid:3333", User = "acct" }],
        },
        time ?? TimeProvider.System,
        NullLogger.Instance,
        new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())),
        transport,
        transport);
}
