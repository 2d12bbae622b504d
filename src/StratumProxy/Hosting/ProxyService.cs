using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Prometheus;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Routing;

namespace StratumProxy.Hosting;

/// <summary>
/// Runs the proxy inside the generic host. Binding happens in <see cref="StartAsync"/> so that a busy or bad
/// address fails start-up with a clear message (on .NET 10 a BackgroundService's ExecuteAsync runs detached).
/// Watches the configuration: a valid change is applied, an invalid one is refused, logged and counted. It owns the
/// engine's lifetime (start, the miner listener, dispose); besides that it reads and applies options only
/// (<see cref="Proxy.Control.IProxyControl.Options"/>, <see cref="Proxy.Control.IProxyControl.ApplyOptions"/>).
/// </summary>
public sealed class ProxyService : IHostedLifecycleService, IAsyncDisposable
{
    private readonly ProxyEngine _engine;
    private readonly MinerListener _listener;
    private readonly ConfigLoader _loader;
    private readonly LastGoodConfig _lastGood;
    private readonly IConfiguration _configuration;
    private readonly ILogger _logger;
    private readonly Counter _reloads;
    private readonly Farm.FarmEconomics? _farm;
    private readonly Farm.CurtailmentLoop? _curtailment;
    private readonly string _directory;
    private readonly IMetricFactory _metricFactory;
    private readonly Proxy.Metrics.ProxyMetrics? _proxyMetrics;
    private IDisposable? _watch;
    private bool _started;

    /// <summary>Creates the service.</summary>
    public ProxyService(ProxyEngine engine, ConfigLoader loader, LastGoodConfig lastGood, IConfiguration configuration, ILogger<ProxyService> logger, IMetricFactory metrics, Farm.FarmEconomics? farm = null, Farm.CurtailmentLoop? curtailment = null, IHostEnvironment? environment = null, Proxy.Metrics.ProxyMetrics? proxyMetrics = null, TimeProvider? time = null)
    {
        _metricFactory = metrics;
        _proxyMetrics = proxyMetrics;
        _farm = farm;
        _curtailment = curtailment;
        _directory = environment?.ContentRootPath ?? Directory.GetCurrentDirectory();
        ArgumentNullException.ThrowIfNull(metrics);
        _engine = engine;
        _loader = loader;
        _lastGood = lastGood;
        _configuration = configuration;
        _logger = logger;
        _listener = new MinerListener(engine, logger);
        Drain = new MinerDrain(engine, _listener, time ?? TimeProvider.System, logger);
        _reloads = metrics.CreateCounter("stratumproxy_config_reloads_total", "Configuration reloads, by result (applied, refused).", ["result"]);
        _reloads.WithLabels("applied");
        _reloads.WithLabels("refused");
    }

    /// <summary>The drain the stop runs first (Proxy:Drain); draining, the instance is not ready.</summary>
    public MinerDrain Drain { get; }

    /// <summary>The bound miner endpoints.</summary>
    public IReadOnlyList<System.Net.IPEndPoint> Endpoints => _listener.Endpoints;

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener.Bind(_engine.Options.Listeners);
        _engine.Start();
        _listener.Start();
        _started = true;
        if (_engine.Options.Pools.Count == 0)
        {
            HostLog.NoPoolConfigured(_logger, Path.Combine(_directory, "appsettings.json"));
        }

        _watch = ChangeToken.OnChange(_configuration.GetReloadToken, () => Reload());
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The drain runs here, before any hosted service stops, so the admin endpoint (stopped first, as the web host
    /// starts last) still answers /readyz and /metrics while the miners move.
    /// </summary>
    public Task StoppingAsync(CancellationToken cancellationToken) =>
        _started ? Drain.RunAsync(cancellationToken) : Task.CompletedTask;

    /// <inheritdoc/>
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _watch?.Dispose();
        if (!_started)
        {
            return;
        }

        _started = false;

        // Already done in StoppingAsync when the host stops; a direct stop drains here.
        await Drain.RunAsync(cancellationToken).ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
        await _engine.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _watch?.Dispose();
        if (_started)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Re-reads the configuration; applies it when valid.</summary>
    public bool Reload()
    {
        // A file that is not valid JSON reads as empty: refuse before binding what is left.
        var syntax = _loader.SyntaxErrors();
        if (syntax.Count > 0)
        {
            return Refuse(syntax);
        }

        var candidate = _loader.LoadAll(out var loadErrors);
        List<string> errors = [.. loadErrors];
        Economics.Tariffs.EnergyCostModel? energy = null;
        if (errors.Count == 0 && _farm is not null)
        {
            try
            {
                energy = candidate.EnergyModel(_farm.LiveFeedFactory);
            }
            catch (Exception ex) when (ex is IOException or FormatException or ArgumentException or InvalidOperationException or System.Text.Json.JsonException)
            {
                errors.Add($"Economics:TariffFile '{candidate.Farm.TariffFile}': {ex.Message}");
            }
        }

        if (errors.Count > 0)
        {
            return Refuse(errors);
        }

        foreach (var warning in _loader.UnknownKeys())
        {
            HostLog.ConfigWarning(_logger, warning);
        }

        var (config, listenersNeedRestart, extranonceNeedsRestart) = _lastGood.Prepare(candidate);
        if (listenersNeedRestart)
        {
            HostLog.ListenersNeedRestart(_logger, string.Join(", ", config.Proxy.Listeners.Select(l => l.Endpoint)));
        }

        if (extranonceNeedsRestart)
        {
            var running = _lastGood.Current.Proxy.Miners;
            HostLog.ExtranonceNeedsRestart(_logger, running.Extranonce1Size, running.Extranonce2Size);
        }

        var (options, farm, curtailment, _) = config;
        _engine.ApplyOptions(options);
        if (_farm is not null && energy is not null)
        {
            _farm.Options = farm;
            _farm.Energy = energy;
        }

        _curtailment?.Apply(curtailment);
        if (_proxyMetrics is not null)
        {
            MetricSeeds.Seed(_metricFactory, _proxyMetrics, options, [.. farm.Rigs.Select(r => r.Worker)], curtailment.DryRun);
        }

        _lastGood.Commit(config);
        _reloads.WithLabels("applied").Inc();
        HostLog.ConfigApplied(_logger);
        return true;
    }

    private bool Refuse(IReadOnlyList<string> errors)
    {
        _reloads.WithLabels("refused").Inc();
        foreach (var error in errors)
        {
            HostLog.ConfigRefused(_logger, error);
        }

        return false;
    }
}
