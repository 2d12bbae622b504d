using Microsoft.Extensions.Primitives;
using Prometheus;
using StratumProxy.Proxy.Control;

namespace StratumProxy.Hosting;

/// <summary>
/// Runs the proxy inside the generic host. Binding happens in <see cref="StartAsync"/> so that a busy or bad
/// address fails start-up with a clear message (on .NET 10 a BackgroundService's ExecuteAsync runs detached).
/// Watches the configuration: a valid change is applied, an invalid one is refused, logged and counted. The proxy
/// itself is a <see cref="ProxyLifetime"/>: started here, given each applied configuration, stopped here.
/// </summary>
/// <param name="proxy">The proxy this service runs.</param>
/// <param name="loader">Reads and checks the configuration on every reload, the way start-up did.</param>
/// <param name="lastGood">The configuration in force; a reload replaces it only when valid.</param>
/// <param name="configuration">The configuration whose reload token is watched.</param>
/// <param name="logger">Where reloads are logged.</param>
/// <param name="metrics">Where <c>stratumproxy_config_reloads_total</c> is counted.</param>
/// <param name="farm">The farm economics, given the Economics section and energy model of each applied reload.</param>
/// <param name="curtailment">The curtailment loop, given the Curtailment section of each applied reload.</param>
/// <param name="environment">Where the operator's appsettings.json is (named when no pool is configured).</param>
/// <param name="proxyMetrics">The proxy's metrics, seeded again with each applied configuration.</param>
/// <param name="takeover">The upgrade handover: how this process starts (<c>run --takeover</c>) and where it hands over.</param>
/// <param name="started">Set once the proxy runs (the curtailment loop waits for it).</param>
public sealed class ProxyService(
    ProxyLifetime proxy,
    ConfigLoader loader,
    LastGoodConfig lastGood,
    IConfiguration configuration,
    ILogger<ProxyService> logger,
    IMetricFactory metrics,
    Farm.FarmEconomics? farm = null,
    Farm.CurtailmentLoop? curtailment = null,
    IHostEnvironment? environment = null,
    Proxy.Metrics.ProxyMetrics? proxyMetrics = null,
    TakeoverHost? takeover = null,
    ProxyStarted? started = null) : IHostedLifecycleService, IAsyncDisposable
{
    private readonly Counter _reloads = ReloadCounter(metrics);
    private IDisposable? _watch;

    /// <summary>True once the stop has begun to drain miners (Proxy:Drain): the instance is not ready any more.</summary>
    public bool IsDraining => proxy.IsDraining;

    /// <summary>The bound miner endpoints.</summary>
    public IReadOnlyList<System.Net.IPEndPoint> Endpoints => proxy.Endpoints;

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (takeover is { TakeOver: true })
        {
            // Instead of binding and dialling: the running process's listeners, miners and pool connections.
            await takeover.TakeOverAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            proxy.Start();
        }

        takeover?.Listen();
        started?.Set();
        if (proxy.Control.Options.Pools.Count == 0)
        {
            HostLog.NoPoolConfigured(logger, Path.Combine(environment?.ContentRootPath ?? Directory.GetCurrentDirectory(), "appsettings.json"));
        }

        _watch = ChangeToken.OnChange(configuration.GetReloadToken, () => Reload());

        // A change made after the start read the configuration and before this watch began (a takeover's start waits
        // for the running process's handover) fired no reload here: the configuration is read as it is now.
        if (lastGood.ChangedSinceStart(configuration))
        {
            HostLog.ConfigChangedDuringStart(logger);
            Reload();
        }
    }

    /// <inheritdoc/>
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The drain runs here, before any hosted service stops, so the admin endpoint (stopped first, as the web host
    /// starts last) still answers /readyz and /metrics while the miners move.
    /// </summary>
    public Task StoppingAsync(CancellationToken cancellationToken) => proxy.DrainAsync(cancellationToken);

    /// <inheritdoc/>
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Stops watching the configuration, drains (already done in <see cref="StoppingAsync"/> when the host stops; a
    /// direct stop drains here), then stops the proxy (<see cref="ProxyLifetime.StopAsync"/>).
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _watch?.Dispose();
        if (takeover is not null)
        {
            await takeover.DisposeAsync().ConfigureAwait(false);
        }

        await proxy.DrainAsync(cancellationToken).ConfigureAwait(false);
        await proxy.StopAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    /// <summary>
    /// Re-reads the configuration; applies it when valid. During an upgrade handover it is deferred (false now) and
    /// runs when the handover ends with this process still serving.
    /// </summary>
    public bool Reload()
    {
        if (proxy.ReloadUnlessHandingOver(ReloadNow) is { } applied)
        {
            return applied;
        }

        HostLog.ReloadDeferred(logger);
        return false;
    }

    private bool ReloadNow()
    {
        // A file that is not valid JSON reads as empty: refuse before binding what is left.
        var syntax = loader.SyntaxErrors();
        if (syntax.Count > 0)
        {
            return Refuse(syntax);
        }

        var candidate = loader.LoadAll(out var errors);
        if (errors.Count > 0)
        {
            return Refuse(errors);
        }

        // The tariff was read and checked by the load: the model is built from those same contents.
        var energy = farm is null ? null : candidate.EnergyModel(farm.LiveFeedFactory);
        foreach (var warning in loader.UnknownKeys())
        {
            HostLog.ConfigWarning(logger, warning);
        }

        var (config, listenersNeedRestart, extranonceNeedsRestart, poolLineLimitNeedsRestart) = lastGood.Prepare(candidate);
        if (listenersNeedRestart)
        {
            HostLog.ListenersNeedRestart(logger, string.Join(", ", config.Proxy.Listeners.Select(l => l.Endpoint)));
        }

        if (extranonceNeedsRestart)
        {
            var running = lastGood.Current.Proxy.Miners;
            HostLog.ExtranonceNeedsRestart(logger, running.Extranonce1Size, running.Extranonce2Size);
        }

        if (poolLineLimitNeedsRestart)
        {
            HostLog.PoolLineLimitNeedsRestart(logger, lastGood.Current.Proxy.Limits.MaxPoolLineLength);
        }

        proxy.Apply(config.Proxy);
        if (farm is not null && energy is not null)
        {
            farm.Options = config.Farm;
            farm.Energy = energy;
        }

        curtailment?.Apply(config.Curtailment);
        if (proxyMetrics is not null)
        {
            MetricSeeds.Seed(metrics, proxyMetrics, config.Proxy, [.. config.Farm.Rigs.Select(r => r.Worker)], config.Curtailment.DryRun);
        }

        lastGood.Commit(config);
        _reloads.WithLabels("applied").Inc();
        HostLog.ConfigApplied(logger);
        return true;
    }

    private static Counter ReloadCounter(IMetricFactory metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var reloads = metrics.CreateCounter("stratumproxy_config_reloads_total", "Configuration reloads, by result (applied, refused).", ["result"]);
        reloads.WithLabels("applied");
        reloads.WithLabels("refused");
        return reloads;
    }

    private bool Refuse(IReadOnlyList<string> errors)
    {
        _reloads.WithLabels("refused").Inc();
        var secrets = loader.SecretValues();
        foreach (var error in errors)
        {
            HostLog.ConfigRefused(logger, Secrets.Scrub(error, secrets));
        }

        return false;
    }
}
