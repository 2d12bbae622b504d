using System.Collections.Concurrent;
using System.IO.Pipelines;
using Prometheus;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Accounting;

/// <summary>
/// The per-rig books: one <see cref="WorkerStats"/> per worker name and a hashrate meter per pool. Lookups happen
/// when a miner authorizes; the share path holds its own references.
/// </summary>
public sealed class ShareLedger
{
    private readonly ConcurrentDictionary<string, WorkerStats> _workers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PoolMeter> _pools = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly ProxyMetrics _metrics;

    /// <summary>Creates the ledger.</summary>
    public ShareLedger(TimeProvider time, ProxyMetrics metrics)
    {
        _time = time;
        _metrics = metrics;
    }

    /// <summary>All workers seen since start.</summary>
    public ICollection<WorkerStats> Workers => _workers.Values;

    /// <summary>The stats of a worker, created on first use.</summary>
    public WorkerStats Worker(string name) =>
        _workers.GetOrAdd(name, static (n, self) => new WorkerStats(n, self._metrics.WorkerLabel(n), self._time), this);

    /// <summary>A worker's stats when it exists.</summary>
    public bool TryGetWorker(string name, out WorkerStats stats) => _workers.TryGetValue(name, out stats!);

    /// <summary>The hashrate meter of a pool (what the proxy's miners send it), created on first use.</summary>
    public PoolMeter Pool(string name) => _pools.GetOrAdd(name, static (_, time) => new PoolMeter(time), _time);

    /// <summary>
    /// Writes the per-worker series as of now into a <c>/metrics</c> response, as exposition text in
    /// <paramref name="format"/> (after the main registry's families; an OpenMetrics <c># EOF</c> is the caller's),
    /// flushing <paramref name="output"/> as it goes. The sessions count into plain fields, not into prometheus-net
    /// children, and the series are written from those fields, so nothing per worker is kept or built for a scrape.
    /// </summary>
    public Task WriteWorkerSeriesAsync(PipeWriter output, ExpositionFormat format, CancellationToken cancellationToken = default) =>
        WorkerSeriesExport.WriteAsync(_workers, _metrics, _time.GetTimestamp(), output, format, cancellationToken);
}

/// <summary>A pool's hashrate meter (shares the proxy accepted from miners routed to it).</summary>
public sealed class PoolMeter
{
    private readonly HashrateMeter _meter;
    private readonly Lock _lock = new();

    internal PoolMeter(TimeProvider time) => _meter = new HashrateMeter(time);

    /// <summary>Records an accepted share.</summary>
    public void Record(double difficulty, long timestamp)
    {
        lock (_lock)
        {
            _meter.Record(difficulty, timestamp);
        }
    }

    /// <summary>The estimate over a window.</summary>
    public HashrateEstimate Hashrate(HashrateWindow window, long now)
    {
        lock (_lock)
        {
            return _meter.Estimate(window, now);
        }
    }
}
