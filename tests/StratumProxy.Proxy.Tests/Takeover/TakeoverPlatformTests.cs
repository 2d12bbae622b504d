using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Tests.EndToEnd;
using StratumProxy.Proxy.Tests.Sessions;

namespace StratumProxy.Proxy.Tests.Takeover;

/// <summary>A takeover socket configured on a host that cannot hand descriptors over is a warning, not a failed start.</summary>
public sealed class TakeoverPlatformTests
{
    [Fact]
    public void Validator_SocketPathOffLinux_IsAWarningAndTheOptionsStayValid()
    {
        var options = WithSocket(Path.Combine(Path.GetTempPath(), "sp-platform.sock"));

        Assert.False(new ProxyOptionsValidator().Validate(null, options).Failed);
        var warning = Assert.Single(ProxyOptionsValidator.Warnings(options, takeoverSupported: () => false));
        Assert.Contains("Proxy:Takeover:SocketPath", warning, StringComparison.Ordinal);
        Assert.Contains("Linux", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Validator_SocketPathOnLinux_OrNoSocketPath_NoWarning()
    {
        Assert.Empty(ProxyOptionsValidator.Warnings(WithSocket(Path.Combine(Path.GetTempPath(), "sp-platform.sock")), takeoverSupported: () => true));
        Assert.Empty(ProxyOptionsValidator.Warnings(WithSocket(null), takeoverSupported: () => false));
    }

    [Fact]
    public async Task Listen_OffLinux_LogsAndRunsWithoutATakeoverSocket()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sp-platform-{Guid.NewGuid():N}.sock");
        var options = WithSocket(path);
        await using var proxy = new ProxyLifetime(
            options,
            TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())),
            new InMemoryTransport());
        var logger = new RecordingLogger();
        await using var endpoint = new TakeoverEndpoint(proxy, options.Takeover, new PipeMover(), TimeProvider.System, logger, supported: () => false);

        endpoint.Listen();

        Assert.False(File.Exists(path));
        var line = Assert.Single(logger.Messages(509));
        Assert.Contains(path, line, StringComparison.Ordinal);
    }

    private static ProxyOptions WithSocket(string? path) => new()
    {
        Listeners = [new ListenerOptions { Name = "memory", Endpoint = "127.0.0.1:3333" }],
        Pools = [new PoolOptions { Name = "pool0", Url = "stratum+tcp://pool.invalid:3333", User = "acct" }],
        Takeover = new TakeoverOptions { SocketPath = path },
    };
}
