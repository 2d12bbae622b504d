using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Routing;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// A real proxy in-process on a loopback port (engine + listener, as the host wires them) over real test pools,
/// with its own metrics registry.
/// </summary>
internal sealed class ProxyHarness : IAsyncDisposable
{
    private ProxyHarness(ProxyEngine engine, MinerListener listener, CollectorRegistry registry)
    {
        Engine = engine;
        Listener = listener;
        Registry = registry;
    }

    public ProxyEngine Engine { get; }

    public MinerListener Listener { get; }

    public CollectorRegistry Registry { get; }

    public int Port => Listener.Endpoints[0].Port;

    public static ProxyOptions Options(params TestPool[] pools) => Options(PoolMode.Aggregating, pools);

    public static ProxyOptions Options(PoolMode mode, params TestPool[] pools) => new()
    {
        Listeners = [new ListenerOptions { Name = "test", Endpoint = "127.0.0.1:0", PoolGroup = "default" }],
        Pools = [.. pools.Select((p, i) => new PoolOptions
        {
            Name = $"pool{i}",
            Url = p.Url,
            User = "acct",
            Priority = i,
            Group = "default",
            Mode = mode,
        })],
        Difficulty = new DifficultyOptions { Start = 1e-5, Min = 1e-7, Max = 1e6, PowerOfTwo = false, TargetShareSeconds = 0.2 },
        Failover = new FailoverOptions
        {
            BackoffBase = TimeSpan.FromMilliseconds(50),
            BackoffMax = TimeSpan.FromMilliseconds(200),
            FailBackDelay = TimeSpan.FromMilliseconds(200),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        },
    };

    /// <summary>The options with pool <paramref name="index"/> changed.</summary>
    public static ProxyOptions WithPool(ProxyOptions options, int index, Func<PoolOptions, PoolOptions> change) =>
        options with { Pools = [.. options.Pools.Select((p, i) => i == index ? change(p) : p)] };

    /// <summary>The options with one more pool.</summary>
    public static ProxyOptions WithPool(ProxyOptions options, PoolOptions pool) => options with { Pools = [.. options.Pools, pool] };

    public static async Task<ProxyHarness> StartAsync(ProxyOptions options, ILogger? logger = null, TimeProvider? time = null, bool waitForPool = true)
    {
        var errors = new ProxyOptionsValidator().Validate(null, options);
        Assert.False(errors.Failed, errors.FailureMessage);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(registry));
        var engine = new ProxyEngine(options, time ?? TimeProvider.System, logger ?? NullLogger.Instance, metrics);
        var listener = new MinerListener(engine, logger ?? NullLogger.Instance);
        listener.Bind(options.Listeners);
        engine.Start();
        listener.Start();
        var harness = new ProxyHarness(engine, listener, registry);
        if (waitForPool)
        {
            await harness.WaitUntilAsync(() => engine.Pools.Any(p => p.IsReady), TimeSpan.FromSeconds(10), "a pool ready");
        }

        return harness;
    }

    public TestMinerOptions Miner(string worker, MinerIdStyle style = MinerIdStyle.Numeric, bool versionRolling = false) => new()
    {
        Host = "127.0.0.1",
        Port = Port,
        Worker = worker,
        IdStyle = style,
        VersionRolling = versionRolling,
    };

    public async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for {what}");
            }
        }
    }

    public async Task<string> ScrapeAsync()
    {
        Engine.UpdateGauges();
        using var stream = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(stream);
        await WriteWorkerSeriesAsync(Engine.Ledger, stream, ExpositionFormat.PrometheusText);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The ledger's per-worker series, written into <paramref name="stream"/> as a scrape writes them.</summary>
    public static async Task WriteWorkerSeriesAsync(StratumProxy.Proxy.Accounting.ShareLedger ledger, Stream stream, ExpositionFormat format)
    {
        var output = System.IO.Pipelines.PipeWriter.Create(stream, new System.IO.Pipelines.StreamPipeWriterOptions(leaveOpen: true));
        await ledger.WriteWorkerSeriesAsync(output, format);
        await output.CompleteAsync();
    }

    /// <summary>The value of one exported series, written exactly as exported (<c>name{label="v",…}</c>); null when absent.</summary>
    public static double? MetricValue(string scrape, string series)
    {
        foreach (var line in scrape.Split('\n'))
        {
            if (line.Length > series.Length && line.StartsWith(series, StringComparison.Ordinal) && line[series.Length] == ' ')
            {
                return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>Scrapes and returns one series' value, or 0 when the series does not exist (yet).</summary>
    public async Task<double> MetricAsync(string series) => MetricValue(await ScrapeAsync(), series) ?? 0;

    public async ValueTask DisposeAsync()
    {
        await Listener.DisposeAsync();
        await Engine.DisposeAsync();
    }
}
