using System.Text;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Tests.EndToEnd;

namespace StratumProxy.Proxy.Tests.Metrics;

/// <summary>Worker names a miner sends become label values only within bounds; pool names cannot take the "no pool" label.</summary>
public sealed class WorkerLabelTests
{
    [Fact]
    public async Task WorkerLabel_ANameOverTheCap_ReportsAsOther_IsCounted_AndNeverReachesTheScrape()
    {
        var metrics = new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var ledger = new ShareLedger(new FakeTimeProvider(), metrics);
        var longest = "farm." + new string('a', ProxyMetrics.MaxWorkerLabelLength - 5);
        var tooLong = "farm." + new string('b', 16 * 1024);

        var kept = ledger.Worker(longest);
        var capped = ledger.Worker(tooLong);
        capped.ForPool("p").OnAccepted(1);

        Assert.Equal(longest, kept.Label);
        Assert.Equal("other", capped.Label);
        Assert.Equal(1, metrics.WorkerNamesTooLong.Value);
        using var stream = new MemoryStream();
        await ProxyHarness.WriteWorkerSeriesAsync(ledger, stream, ExpositionFormat.PrometheusText);
        var text = Encoding.UTF8.GetString(stream.ToArray());
        Assert.DoesNotContain("bbbb", text, StringComparison.Ordinal);
        Assert.Contains("worker=\"other\"", text, StringComparison.Ordinal);
        Assert.Contains(longest, text, StringComparison.Ordinal);
    }

    [Fact]
    public void Validator_APoolNamedNone_IsRefusedNamingTheKey()
    {
        var options = new ProxyOptions
        {
            Listeners = [new ListenerOptions { Name = "l", Endpoint = "127.0.0.1:0" }],
            Pools = [new PoolOptions { Name = "none", Url = "stratum+tcp://127.0.0.1:3333", User = "acct" }],
        };

        var result = new ProxyOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Proxy:Pools:0:Name 'none' is reserved", result.FailureMessage, StringComparison.Ordinal);
        Assert.False(new ProxyOptionsValidator().Validate(null, options with { Pools = [options.Pools[0] with { Name = "None" }] }).Failed);
    }
}
