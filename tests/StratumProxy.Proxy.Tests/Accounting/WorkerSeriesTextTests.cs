using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Tests.EndToEnd;

namespace StratumProxy.Proxy.Tests.Accounting;

/// <summary>
/// The per-worker series are written as exposition text without prometheus-net: every line must parse as the
/// exposition format, label values must be escaped, and the text must be what prometheus-net writes for the same
/// series (families, HELP/TYPE lines, label order, number format) in both the Prometheus and the OpenMetrics format.
/// </summary>
public sealed partial class WorkerSeriesTextTests
{
    /// <summary>A worker name a miner can send (JSON allows any string): quotes, backslashes, a line feed, non-ASCII.</summary>
    private const string OddName = "farm.\"rack\\7\"\nrig-ü";

    private static readonly (string Name, string Help, bool Counter, string[] Labels)[] Families =
    [
        ("stratumproxy_shares_total", "Shares submitted by miners, by result.", true, ["worker", "pool", "result"]),
        ("stratumproxy_share_difficulty_total", "Sum of the difficulty of accepted shares (difficulty-1 units).", true, ["worker", "pool"]),
        ("stratumproxy_worker_hashrate_hashes_per_second", "Hashrate estimated from difficulty-weighted shares.", false, ["worker", "window"]),
        ("stratumproxy_worker_last_share_timestamp_seconds", "Unix time of the worker's last accepted share.", false, ["worker"]),
        ("stratumproxy_worker_difficulty", "The difficulty the worker is mining at.", false, ["worker"]),
        ("stratumproxy_share_reconciliation_gap", "Shares forwarded to a pool that have no pool verdict yet, or were lost (per worker and pool).", false, ["worker", "pool"]),
    ];

    private static readonly string[] Results = ["accepted", "stale", "duplicate", "low_difficulty", "invalid", "pool_rejected", "lost", "unauthorized"];

    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
    private readonly ProxyMetrics _metrics;
    private readonly ShareLedger _ledger;

    public WorkerSeriesTextTests()
    {
        _metrics = new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()), maxWorkerSeries: 3);
        _ledger = new ShareLedger(_time, _metrics);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_line_is_exposition_format_and_each_series_appears_once_under_its_family(bool openMetrics)
    {
        Farm();

        var lines = await ScrapeLinesAsync(openMetrics);

        var declared = new List<string>();
        var series = new HashSet<string>(StringComparer.Ordinal);
        string? family = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (Help().Match(line) is { Success: true } help)
            {
                var type = Type().Match(lines[++i]);
                Assert.True(type.Success, $"no TYPE after: {line}");
                Assert.Equal(help.Groups[1].Value, type.Groups[1].Value);
                family = help.Groups[1].Value;
                Assert.DoesNotContain(family, declared);
                declared.Add(family);
                continue;
            }

            var sample = Sample().Match(line);
            Assert.True(sample.Success, $"not a sample line: {line}");
            Assert.NotNull(family);
            var name = sample.Groups["name"].Value;
            Assert.Equal(family, openMetrics && name.EndsWith("_total", StringComparison.Ordinal) ? name[..^"_total".Length] : name);
            Assert.True(series.Add(name + sample.Groups["labels"].Value), $"series written twice: {line}");
            if (openMetrics)
            {
                Assert.Matches("[.e]|Inf|NaN", sample.Groups["value"].Value);
            }
        }

        Assert.Equal([.. Families.Select(f => openMetrics && f.Counter ? f.Name[..^"_total".Length] : f.Name)], declared);
    }

    [Fact]
    public async Task A_worker_name_with_quotes_backslashes_and_a_line_feed_is_escaped_and_reads_back_whole()
    {
        Farm();

        var lines = await ScrapeLinesAsync(openMetrics: false);

        var difficulty = Assert.Single(lines, l => l.StartsWith("stratumproxy_worker_difficulty{worker=\"farm.\\\"", StringComparison.Ordinal));
        Assert.Equal("stratumproxy_worker_difficulty{worker=\"farm.\\\"rack\\\\7\\\"\\nrig-ü\"} 8", difficulty);
        var samples = lines.Where(l => !l.StartsWith('#')).Select(ParseSample).ToList();
        Assert.Equal(
            (2 * Results.Length) + 2 + 3 + 1 + 1 + 2,
            samples.Count(s => s.Labels.TryGetValue("worker", out var worker) && worker == OddName));
    }

    [Fact]
    public async Task The_series_are_those_of_the_ledger_state_and_no_other()
    {
        Farm();

        var samples = (await ScrapeLinesAsync(openMetrics: false)).Where(l => !l.StartsWith('#')).Select(ParseSample).ToList();

        string[] expected =
        [
            // Each worker within the cap: every result of its route, its difficulty sum, hashrate, last share, difficulty, gap.
            .. Results.Select(r => Key("stratumproxy_shares_total", "farm.a", "pool0", r)),
            .. Results.Select(r => Key("stratumproxy_shares_total", OddName, "pool0", r)),
            .. Results.Select(r => Key("stratumproxy_shares_total", OddName, "pool1", r)),
            .. Results.Select(r => Key("stratumproxy_shares_total", "other", "pool0", r)),
            .. Results.Select(r => Key("stratumproxy_shares_total", "unknown", "none", r)),
            Key("stratumproxy_shares_total", "farm.a", "none", "unauthorized"),
            Key("stratumproxy_share_difficulty_total", "farm.a", "pool0"),
            Key("stratumproxy_share_difficulty_total", OddName, "pool0"),
            Key("stratumproxy_share_difficulty_total", OddName, "pool1"),
            Key("stratumproxy_share_difficulty_total", "other", "pool0"),
            .. new[] { "farm.a", OddName, "farm.b", "farm.rig-never-seen", "other" }.SelectMany(w => new[] { "1m", "5m", "1h" }.Select(x => Key("stratumproxy_worker_hashrate_hashes_per_second", w, x))),
            Key("stratumproxy_worker_last_share_timestamp_seconds", "farm.a"),
            Key("stratumproxy_worker_last_share_timestamp_seconds", OddName),
            Key("stratumproxy_worker_last_share_timestamp_seconds", "other"),
            Key("stratumproxy_worker_difficulty", OddName),
            Key("stratumproxy_worker_difficulty", "other"),
            Key("stratumproxy_worker_difficulty", "unknown"),
            Key("stratumproxy_share_reconciliation_gap", "farm.a", "pool0"),
            Key("stratumproxy_share_reconciliation_gap", OddName, "pool0"),
            Key("stratumproxy_share_reconciliation_gap", OddName, "pool1"),
            Key("stratumproxy_share_reconciliation_gap", "other", "pool0"),
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), samples.Select(s => s.Key).Order(StringComparer.Ordinal));

        // The values: two workers past the cap are summed under "other"; the unknown session's difficulty shows.
        Assert.Equal(3, samples.Single(s => s.Key == Key("stratumproxy_shares_total", "other", "pool0", "accepted")).Value);
        Assert.Equal(1, samples.Single(s => s.Key == Key("stratumproxy_shares_total", OddName, "pool1", "stale")).Value);
        Assert.Equal(1, samples.Single(s => s.Key == Key("stratumproxy_shares_total", "unknown", "none", "invalid")).Value);
        Assert.Equal(12, samples.Single(s => s.Key == Key("stratumproxy_share_difficulty_total", "other", "pool0")).Value);
        Assert.Equal(2, samples.Single(s => s.Key == Key("stratumproxy_share_reconciliation_gap", OddName, "pool0")).Value);
        Assert.Equal(2, samples.Single(s => s.Key == Key("stratumproxy_worker_difficulty", "unknown")).Value);
        Assert.Equal(1_800_000_000.25, samples.Single(s => s.Key == Key("stratumproxy_worker_last_share_timestamp_seconds", OddName)).Value);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public async Task The_text_is_what_prometheus_net_writes_for_the_same_series(bool openMetrics, bool withWorkers)
    {
        if (withWorkers)
        {
            Farm();
        }

        var lines = await ScrapeLinesAsync(openMetrics);

        // The same samples, set as children of the same families in a registry of prometheus-net's own.
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var counters = Families.Where(f => f.Counter).ToDictionary(f => f.Name, f => factory.CreateCounter(f.Name, f.Help, f.Labels));
        var gauges = Families.Where(f => !f.Counter).ToDictionary(f => f.Name, f => factory.CreateGauge(f.Name, f.Help, f.Labels));
        foreach (var sample in lines.Where(l => !l.StartsWith('#')).Select(ParseSample))
        {
            var family = Families.Single(f => f.Name == sample.Name);
            var values = family.Labels.Select(l => sample.Labels[l]).ToArray();
            if (family.Counter)
            {
                counters[family.Name].WithLabels(values).IncTo(sample.Value);
            }
            else
            {
                gauges[family.Name].WithLabels(values).Set(sample.Value);
            }
        }

        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText);
        var expected = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').Where(l => l.Length > 0 && l != "# EOF");

        Assert.Equal(expected.Order(StringComparer.Ordinal), lines.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// farm.a (routed to pool0, one share without a pool), the odd name on two pools, two workers past the cap of 3
    /// (under <c>other</c>), a session with no worker, and a configured rig that never connected.
    /// </summary>
    private void Farm()
    {
        _metrics.SeedWorker("farm.rig-never-seen");
        _metrics.SeedUnattributed();
        var a = _ledger.Worker("farm.a");
        Accept(a, a.ForPool("pool0"), 1);
        a.CountUnrouted(ShareResult.Unauthorized);

        var odd = _ledger.Worker(OddName);
        var first = odd.ForPool("pool0");
        _time.Advance(TimeSpan.FromMilliseconds(250));
        Accept(odd, first, 8);
        first.OnForwarded();
        first.OnLost();
        odd.ForPool("pool1").CountResult(ShareResult.Stale);
        odd.SetDifficulty(8);

        // farm.b takes the last of the 3 worker labels (a seeded rig takes none here) and has no share yet.
        _ledger.Worker("farm.b");
        foreach (var name in new[] { "farm.c", "farm.d" })
        {
            var worker = _ledger.Worker(name);
            Assert.Equal("other", worker.Label);
            Accept(worker, worker.ForPool("pool0"), 4);
            worker.SetDifficulty(4);
        }

        Accept(_ledger.Worker("farm.c"), _ledger.Worker("farm.c").ForPool("pool0"), 4);
        _metrics.CountUnattributed(ShareResult.Invalid);
        _metrics.UnattributedDifficulty = 2;
    }

    private void Accept(WorkerStats worker, PoolCounters route, double difficulty)
    {
        worker.Record(ShareResult.Accepted, difficulty, _time.GetTimestamp(), _time.GetUtcNow().ToUnixTimeMilliseconds());
        route.OnAccepted(difficulty);
    }

    private async Task<string[]> ScrapeLinesAsync(bool openMetrics)
    {
        using var stream = new MemoryStream();
        await ProxyHarness.WriteWorkerSeriesAsync(_ledger, stream, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText);
        var text = Encoding.UTF8.GetString(stream.ToArray());
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return text[..^1].Split('\n');
    }

    private static string Key(string name, params string[] labels) => name + "|" + string.Join("|", labels);

    private static Parsed ParseSample(string line)
    {
        var match = Sample().Match(line);
        Assert.True(match.Success, line);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (Match label in LabelPair().Matches(match.Groups["labels"].Value))
        {
            var unescaped = Regex.Replace(label.Groups[2].Value, @"\\(.)", m => m.Groups[1].Value == "n" ? "\n" : m.Groups[1].Value);
            labels.Add(label.Groups[1].Value, unescaped);
            names.Add(unescaped);
        }

        var name = match.Groups["name"].Value;
        var value = match.Groups["value"].Value switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            var text => double.Parse(text, CultureInfo.InvariantCulture),
        };
        return new Parsed(name, labels, value, Key(name, [.. names]));
    }

    private sealed record Parsed(string Name, Dictionary<string, string> Labels, double Value, string Key);

    // The text exposition format: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label values with \\, \" and \n as the only
    // escapes (a raw quote, backslash or line feed is invalid), one space before the value.
    [GeneratedRegex(@"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]*$")]
    private static partial Regex Help();

    [GeneratedRegex(@"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$")]
    private static partial Regex Type();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<labels>\{[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\\n]|\\[\\""n])*""(?:,[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\\n]|\\[\\""n])*"")*\})? (?<value>[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN)$")]
    private static partial Regex Sample();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
