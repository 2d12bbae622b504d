using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Proxy.Tests.Routing;

public sealed class LayoutOptionsTests
{
    [Theory]
    [InlineData(1, 16, "Extranonce2SizeHint")]
    [InlineData(17, 16, "Extranonce2SizeHint")]
    [InlineData(null, 0, "MaxConnections")]
    [InlineData(null, 5000, "MaxConnections")]
    public void Validator_OutOfRangeLayoutKeys_RefusedNamingTheKey(int? hint, int maxConnections, string key)
    {
        var options = Valid();
        options = options with { Pools = [options.Pools[0] with { Extranonce2SizeHint = hint, MaxConnections = maxConnections }] };

        var result = new ProxyOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains($"Proxy:Pools:0:{key}", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validator_HintAndCapInRange_Accepted()
    {
        var options = Valid();
        options = options with { Pools = [options.Pools[0] with { Extranonce2SizeHint = 3, MaxConnections = 64 }] };

        Assert.False(new ProxyOptionsValidator().Validate(null, options).Failed);
    }

    private static ProxyOptions Valid() => new()
    {
        Listeners = [new ListenerOptions { Name = "l", Endpoint = "127.0.0.1:0", PoolGroup = "default" }],
        Pools = [new PoolOptions { Name = "p", Url = "stratum+tcp://127.0.0.1:3333", User = "acct" }],
    };
}
