using System.Collections.Concurrent;
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

    /// <summary>Publishes per-worker hashrate and reconciliation gauges; called before each scrape.</summary>
    public void UpdateGauges()
    {
        var now = _time.GetTimestamp();
        foreach (var worker in _workers.Values)
        {
            _metrics.WorkerHashrate.WithLabels(worker.Label, "1m").Set(worker.Hashrate(HashrateWindow.OneMinute, now).HashesPerSecond);
            _metrics.WorkerHashrate.WithLabels(worker.Label, "5m").Set(worker.Hashrate(HashrateWindow.FiveMinutes, now).HashesPerSecond);
            _metrics.WorkerHashrate.WithLabels(worker.Label, "1h").Set(worker.Hashrate(HashrateWindow.OneHour, now).HashesPerSecond);
            if (worker.LastShareUnixMs > 0)
            {
                _metrics.WorkerLastShare.WithLabels(worker.Label).Set(worker.LastShareUnixMs / 1000.0);
            }

            foreach (var pool in worker.Pools())
            {
                _metrics.ReconciliationGap.WithLabels(worker.Label, pool.Pool).Set(pool.Gap + pool.Lost);
            }
        }
    }
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
