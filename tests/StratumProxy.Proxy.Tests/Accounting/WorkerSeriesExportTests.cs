using Microsoft.Extensions.Time.Testing;
using Prometheus;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Tests.EndToEnd;

namespace StratumProxy.Proxy.Tests.Accounting;

/// <summary>
/// The per-worker series are written from the ledger's counters as text for each export: what a scrape shows is what
/// every session's own prometheus-net children showed, and nothing per worker stays between scrapes.
/// </summary>
public sealed class WorkerSeriesExportTests
{
    private static readonly string[] WorkerFamilies =
    [
        "stratumproxy_shares_total",
        "stratumproxy_share_difficulty_total",
        "stratumproxy_worker_hashrate_hashes_per_second",
        "stratumproxy_worker_last_share_timestamp_seconds",
        "stratumproxy_worker_difficulty",
        "stratumproxy_share_reconciliation_gap",
    ];

    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly ProxyMetrics _metrics;
    private readonly ShareLedger _ledger;

    public WorkerSeriesExportTests()
    {
        _metrics = new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(_registry), maxWorkerSeries: 2);
        _ledger = new ShareLedger(_time, _metrics);
    }

    [Fact]
    public async Task A_scrape_shows_each_worker_route_with_every_result_and_its_values()
    {
        var worker = _ledger.Worker("farm.a");
        var route = worker.ForPool("pool0");
        _time.Advance(TimeSpan.FromSeconds(2));
        Accept(worker, route, 4);
        Accept(worker, route, 4);
        worker.Record(ShareResult.LowDifficulty, 0, _time.GetTimestamp(), 0);
        route.CountResult(ShareResult.LowDifficulty);
        route.OnForwarded();
        worker.SetDifficulty(4);
        _time.Advance(TimeSpan.FromSeconds(8));

        var scrape = await ScrapeAsync();

        Assert.Equal(2, Value(scrape, """stratumproxy_shares_total{worker="farm.a",pool="pool0",result="accepted"}"""));
        Assert.Equal(1, Value(scrape, """stratumproxy_shares_total{worker="farm.a",pool="pool0",result="low_difficulty"}"""));
        foreach (var result in new[] { "stale", "duplicate", "invalid", "pool_rejected", "lost", "unauthorized" })
        {
            Assert.Equal(0, Value(scrape, $$"""stratumproxy_shares_total{worker="farm.a",pool="pool0",result="{{result}}"}"""));
        }

        Assert.Equal(8, Value(scrape, """stratumproxy_share_difficulty_total{worker="farm.a",pool="pool0"}"""));
        Assert.Equal(8 * 4294967296.0 / 10, Value(scrape, """stratumproxy_worker_hashrate_hashes_per_second{worker="farm.a",window="1m"}"""));
        Assert.Equal(1_800_000_002, Value(scrape, """stratumproxy_worker_last_share_timestamp_seconds{worker="farm.a"}"""));
        Assert.Equal(4, Value(scrape, """stratumproxy_worker_difficulty{worker="farm.a"}"""));
        Assert.Equal(0, Value(scrape, """stratumproxy_share_reconciliation_gap{worker="farm.a",pool="pool0"}"""));
        Assert.Null(ProxyHarness.MetricValue(scrape, """stratumproxy_shares_total{worker="farm.a",pool="none",result="accepted"}"""));
    }

    [Fact]
    public async Task The_proxy_registry_holds_no_worker_series_and_each_scrape_writes_them_again()
    {
        var worker = _ledger.Worker("farm.a");
        var route = worker.ForPool("pool0");
        Accept(worker, route, 2);
        worker.CountUnrouted(ShareResult.Unauthorized);
        _metrics.CountUnattributed(ShareResult.Invalid);
        _metrics.SeedUnattributed();
        _metrics.SeedWorker("farm.rig-never-seen");
        _time.Advance(TimeSpan.FromSeconds(5));

        var first = WorkerLines(await ScrapeAsync());

        Assert.NotEmpty(first);
        Assert.Empty(WorkerLines(await ExportAsync(_registry)));
        Assert.Equal(first, WorkerLines(await ScrapeAsync()));
        Assert.Contains("""stratumproxy_shares_total{worker="farm.a",pool="none",result="unauthorized"} 1""", first);
        Assert.Contains("""stratumproxy_shares_total{worker="unknown",pool="none",result="invalid"} 1""", first);
        Assert.Contains("""stratumproxy_shares_total{worker="unknown",pool="none",result="stale"} 0""", first);
        Assert.Contains("""stratumproxy_worker_hashrate_hashes_per_second{worker="farm.rig-never-seen",window="1h"} 0""", first);
    }

    [Fact]
    public async Task Workers_past_the_series_cap_are_summed_under_other()
    {
        // The cap is 2 and the seeded rig above is not used here: a and b get their names, c and d share "other".
        var names = new[] { "farm.a", "farm.b", "farm.c", "farm.d" };
        foreach (var name in names)
        {
            var worker = _ledger.Worker(name);
            Accept(worker, worker.ForPool("pool0"), 1);
        }

        var scrape = await ScrapeAsync();

        Assert.Equal(1, Value(scrape, """stratumproxy_shares_total{worker="farm.a",pool="pool0",result="accepted"}"""));
        Assert.Equal(2, Value(scrape, """stratumproxy_shares_total{worker="other",pool="pool0",result="accepted"}"""));
        Assert.Equal(2, Value(scrape, """stratumproxy_share_difficulty_total{worker="other",pool="pool0"}"""));
    }

    private void Accept(WorkerStats worker, PoolCounters route, double difficulty)
    {
        worker.Record(ShareResult.Accepted, difficulty, _time.GetTimestamp(), _time.GetUtcNow().ToUnixTimeMilliseconds());
        route.OnAccepted(difficulty);
    }

    private async Task<string> ScrapeAsync()
    {
        using var stream = new MemoryStream();
        await ProxyHarness.WriteWorkerSeriesAsync(_ledger, stream, ExpositionFormat.PrometheusText);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static async Task<string> ExportAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string[] WorkerLines(string scrape) =>
        [.. scrape.Split('\n').Where(l => WorkerFamilies.Any(f => l.StartsWith(f + "{", StringComparison.Ordinal))).Order(StringComparer.Ordinal)];

    private static double Value(string scrape, string series) =>
        ProxyHarness.MetricValue(scrape, series) ?? throw new Xunit.Sdk.XunitException($"no series {series} in:\n{scrape}");
}
