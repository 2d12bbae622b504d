using System.Collections.Concurrent;
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
    /// The per-worker series as of now, in a registry of their own made for one export (append its output to the main
    /// registry's). The sessions count into plain fields, not into prometheus-net children, so nothing per worker
    /// stays in prometheus-net between scrapes.
    /// </summary>
    public CollectorRegistry CollectWorkerSeries()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        WriteWorkerSeries(new WorkerFamilies(Prometheus.Metrics.WithCustomRegistry(registry)));
        return registry;
    }

    /// <summary>
    /// Writes the per-worker series from the ledger's counters into <paramref name="families"/>. Workers that share a
    /// label (<c>other</c> past the series cap, <c>unknown</c>) are summed; the last share is the latest of them.
    /// </summary>
    public void WriteWorkerSeries(WorkerFamilies families)
    {
        ArgumentNullException.ThrowIfNull(families);
        var now = _time.GetTimestamp();
        var labels = new Dictionary<string, LabelTotals>(StringComparer.Ordinal);
        foreach (var worker in _workers.Values)
        {
            var totals = Totals(labels, worker.Label);
            totals.Hashrate[0] += worker.Hashrate(HashrateWindow.OneMinute, now).HashesPerSecond;
            totals.Hashrate[1] += worker.Hashrate(HashrateWindow.FiveMinutes, now).HashesPerSecond;
            totals.Hashrate[2] += worker.Hashrate(HashrateWindow.OneHour, now).HashesPerSecond;
            totals.LastShareUnixMs = Math.Max(totals.LastShareUnixMs, worker.LastShareUnixMs);
            if (!double.IsNaN(worker.Difficulty))
            {
                totals.Difficulty = worker.Difficulty;
            }

            if (worker.UnroutedResults is { } routeless)
            {
                totals.Unrouted ??= new long[ShareResultLabels.All.Count];
                for (var i = 0; i < routeless.Length; i++)
                {
                    totals.Unrouted[i] += Volatile.Read(ref routeless[i]);
                }
            }

            foreach (var pool in worker.Pools())
            {
                if (!totals.Pools.TryGetValue(pool.Pool, out var route))
                {
                    route = new RouteTotals();
                    totals.Pools.Add(pool.Pool, route);
                }

                for (var i = 0; i < route.Results.Length; i++)
                {
                    route.Results[i] += pool.Results((ShareResult)i);
                }

                route.Difficulty += pool.ShareDifficulty;
                route.Gap += pool.Gap + pool.Lost;
            }
        }

        foreach (var label in _metrics.SeededWorkers())
        {
            if (!labels.ContainsKey(label))
            {
                foreach (var window in HashrateWindowLabels)
                {
                    families.WorkerHashrate.WithLabels(label, window).Set(0);
                }
            }
        }

        foreach (var (label, totals) in labels)
        {
            for (var w = 0; w < HashrateWindowLabels.Length; w++)
            {
                families.WorkerHashrate.WithLabels(label, HashrateWindowLabels[w]).Set(totals.Hashrate[w]);
            }

            if (totals.LastShareUnixMs > 0)
            {
                families.WorkerLastShare.WithLabels(label).Set(totals.LastShareUnixMs / 1000.0);
            }

            if (!double.IsNaN(totals.Difficulty))
            {
                families.WorkerDifficulty.WithLabels(label).Set(totals.Difficulty);
            }

            foreach (var (pool, route) in totals.Pools)
            {
                for (var i = 0; i < route.Results.Length; i++)
                {
                    families.Shares.WithLabels(label, pool, ShareResultLabels.All[i]).IncTo(route.Results[i]);
                }

                families.ShareDifficulty.WithLabels(label, pool).IncTo(route.Difficulty);
                families.ReconciliationGap.WithLabels(label, pool).Set(route.Gap);
            }

            if (label != UnknownLabel)
            {
                WriteUnrouted(families, label, totals.Unrouted, seeded: false);
            }
        }

        // Sessions that had not authorized yet count under worker "unknown" and pool "none", with any worker
        // whose label is "unknown" too.
        labels.TryGetValue(UnknownLabel, out var unknown);
        var unrouted = new long[ShareResultLabels.All.Count];
        for (var i = 0; i < unrouted.Length; i++)
        {
            unrouted[i] = _metrics.Unattributed((ShareResult)i) + (unknown?.Unrouted?[i] ?? 0);
        }

        WriteUnrouted(families, UnknownLabel, unrouted, seeded: _metrics.SeedsUnattributed);
        var unattributedDifficulty = _metrics.UnattributedDifficulty;
        if (!double.IsNaN(unattributedDifficulty) && (unknown is null || double.IsNaN(unknown.Difficulty)))
        {
            families.WorkerDifficulty.WithLabels(UnknownLabel).Set(unattributedDifficulty);
        }
    }

    private const string UnknownLabel = "unknown";

    private static readonly string[] HashrateWindowLabels = ["1m", "5m", "1h"];

    private static void WriteUnrouted(WorkerFamilies families, string label, long[]? results, bool seeded)
    {
        if (results is null)
        {
            return;
        }

        for (var i = 0; i < results.Length; i++)
        {
            // A result without a pool appears with its first share, as a counter child did on its first increment.
            if (seeded || results[i] > 0)
            {
                families.Shares.WithLabels(label, "none", ShareResultLabels.All[i]).IncTo(results[i]);
            }
        }
    }

    private static LabelTotals Totals(Dictionary<string, LabelTotals> labels, string label)
    {
        if (!labels.TryGetValue(label, out var totals))
        {
            totals = new LabelTotals();
            labels.Add(label, totals);
        }

        return totals;
    }

    private sealed class LabelTotals
    {
        public double[] Hashrate { get; } = new double[3];

        public long LastShareUnixMs { get; set; }

        public double Difficulty { get; set; } = double.NaN;

        public long[]? Unrouted { get; set; }

        public Dictionary<string, RouteTotals> Pools { get; } = new(StringComparer.Ordinal);
    }

    private sealed class RouteTotals
    {
        public long[] Results { get; } = new long[ShareResultLabels.All.Count];

        public double Difficulty { get; set; }

        public long Gap { get; set; }
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
