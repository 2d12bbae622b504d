using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Tests.Sessions;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Tests.Takeover;

/// <summary>The proxies the handover tests hand from one to another, over in-memory pipes, and their miners' handshake.</summary>
internal static class TakeoverProxies
{
    /// <summary>configure (version rolling), subscribe, authorize; returns the first job's id and ntime.</summary>
    public static async Task<(string Job, string NTime)> HandshakeAsync(LinePeer miner, CancellationToken token)
    {
        await miner.WriteAsync("{\"id\":1,\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"1fffe000\",\"version-rolling.min-bit-count\":2}]}", token);
        await miner.WriteAsync("{\"id\":2,\"method\":\"mining.subscribe\",\"params\":[\"test/1.0\"]}", token);
        await miner.WriteAsync("{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"farm.rig1\",\"x\"]}", token);
        // The pool sends a clean job after each authorize: its first (the proxy's account), then the worker's. The
        // second one (sequence 2 in its prevhash) is the one the miner works on.
        var notify = await miner.ReadUntilAsync(l => l.Contains("\"method\":\"mining.notify\"", StringComparison.Ordinal) && l.Contains("\"00000002", StringComparison.Ordinal), token);
        using var doc = JsonDocument.Parse(notify);
        var parameters = doc.RootElement.GetProperty("params");
        return (parameters[0].GetString()!, parameters[7].GetString()!);
    }

    /// <summary>One listener (memory) and one pool (pool0).</summary>
    public static ProxyOptions Options() => new()
    {
        Listeners = [new ListenerOptions { Name = "memory", Endpoint = "127.0.0.1:3333" }],
        Pools = [new PoolOptions { Name = "pool0", Url = "stratum+tcp://pool.invalid:3333", User = "acct" }],
    };

    /// <summary>A proxy of <paramref name="options"/> (or <see cref="Options"/>) over <paramref name="transport"/> (its listeners, unless given, and its pools, unless <paramref name="connector"/> is).</summary>
    public static ProxyLifetime New(
        InMemoryTransport transport,
        ILogger? logger = null,
        ProxyMetrics? metrics = null,
        TimeProvider? time = null,
        IConnectionListenerFactory? listeners = null,
        IUpstreamConnector? connector = null,
        ProxyOptions? options = null) =>
        new(options ?? Options(), time ?? TimeProvider.System, logger ?? NullLogger.Instance, metrics ?? Metrics(), listeners ?? transport, connector ?? transport);

    /// <summary>Metrics in a registry of their own.</summary>
    public static ProxyMetrics Metrics() => new(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
}
