using System.Net;
using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Routing;
using StratumProxy.Proxy.Transport;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Control;

/// <summary>
/// The running proxy as its host holds it: the engine (pools, sessions, routing) and the miner listeners, started,
/// given new options and stopped together. The host sees this and <see cref="IProxyControl"/>, never the engine.
/// </summary>
/// <remarks>
/// <see cref="Start"/> binds every listener first, so a bad or busy address fails before any pool is dialled;
/// <see cref="StopAsync"/> is the one way down (stop accepting, close every session, stop the pools) and is safe to
/// call more than once.
/// </remarks>
public sealed partial class ProxyLifetime : IAsyncDisposable
{
    private readonly ProxyEngine _engine;
    private readonly MinerListener _listener;
    private readonly MinerDrain _drain;
    private int _state; // 0 created, 1 started, 2 stopped

    /// <summary>Creates the proxy; nothing binds or connects until <see cref="Start"/>.</summary>
    /// <param name="options">The validated options to start with.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where the proxy logs.</param>
    /// <param name="metrics">The proxy's metrics.</param>
    /// <param name="listeners">Binds miner listeners (sockets unless given).</param>
    /// <param name="connector">Connects to pools (sockets unless given).</param>
    public ProxyLifetime(ProxyOptions options, TimeProvider time, ILogger logger, ProxyMetrics metrics, IConnectionListenerFactory? listeners = null, IUpstreamConnector? connector = null)
    {
        _logger = logger;
        _engine = new ProxyEngine(options, time, logger, metrics, connector: connector);
        _listener = new MinerListener(_engine, logger, listeners);
        _drain = new MinerDrain(_engine, _listener, time, logger);
    }

    /// <summary>The control surface: the fleet snapshot, switch and pin, the options in force.</summary>
    public IProxyControl Control => _engine;

    /// <summary>The engine (tests read where a handover's quiesce is through it).</summary>
    internal ProxyEngine Engine => _engine;

    /// <summary>The bound miner endpoints (port 0 resolved), in listener order; empty before <see cref="Start"/>.</summary>
    public IReadOnlyList<IPEndPoint> Endpoints => _listener.Endpoints;

    /// <summary>
    /// Every job any pool sends: (pool name, the notify, extranonce1 bytes + extranonce2 size of its connection).
    /// Set before <see cref="Start"/>; called on the pool connection's read loop, so keep it short.
    /// </summary>
    public Action<string, NotifyMessage, int>? JobReceived
    {
        get => _engine.JobReceived;
        set => _engine.JobReceived = value;
    }

    /// <summary>Binds the listeners of the options in force, starts the pools and the tick, then accepts miners.</summary>
    /// <exception cref="InvalidOperationException">A listener cannot be bound (the endpoint is named), or it was started before.</exception>
    public void Start()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The proxy has been started before.");
        }

        _listener.Bind(_engine.Options.Listeners);
        _engine.Start();
        _listener.Start();
    }

    /// <summary>
    /// Applies a validated configuration while running: limits, pins, difficulty bounds, pools added, changed or
    /// removed. Listeners and extranonce sizes stay those of the start.
    /// </summary>
    public void Apply(ProxyOptions options) => _engine.ApplyOptions(options);

    /// <summary>Brings the allocation and GC pause counters up to date (call before each metrics export).</summary>
    public void UpdateGauges() => _engine.UpdateGauges();

    /// <summary>Writes the per-worker series into a scrape's output, after the main registry's (see <see cref="Accounting.ShareLedger.WriteWorkerSeriesAsync"/>).</summary>
    public Task WriteWorkerSeriesAsync(System.IO.Pipelines.PipeWriter output, Prometheus.ExpositionFormat format, CancellationToken cancellationToken) => _engine.Ledger.WriteWorkerSeriesAsync(output, format, cancellationToken);

    /// <summary>True once the drain has begun (the instance is no longer ready for miners).</summary>
    public bool IsDraining => _drain.IsDraining;

    /// <summary>
    /// The graceful first step of a stop (Proxy:Drain): stop accepting, ask the miners to reconnect elsewhere spread
    /// over the period, carry them until they leave or the period and grace end. Runs once, and only when started;
    /// <see cref="StopAsync"/> then closes whoever is left. Cancelling cuts it short without throwing.
    /// </summary>
    public Task<DrainResult> DrainAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _state) == 1 && !HandedOver ? _drain.RunAsync(cancellationToken) : Task.FromResult(new DrainResult(0, 0, 0, TimeSpan.Zero));

    /// <summary>Stops accepting, closes every miner session and waits for it, then stops the pools and the tick.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
        {
            return;
        }

        if (HandedOver)
        {
            // Another process serves every connection that moved: none is written to, shut down or closed here. The
            // process exits next, and the kernel's close of its descriptors leaves the other process's copies open.
            return;
        }

        await _listener.DisposeAsync().ConfigureAwait(false);
        await _engine.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
