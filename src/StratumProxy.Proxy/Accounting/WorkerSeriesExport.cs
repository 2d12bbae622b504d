using System.Collections.Concurrent;
using System.IO.Pipelines;
using Prometheus;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Accounting;

/// <summary>
/// The six per-worker families, written for one scrape straight from the ledger's counters as exposition text:
/// <c>stratumproxy_shares_total</c> {worker, pool, result}, <c>stratumproxy_share_difficulty_total</c> {worker, pool},
/// <c>stratumproxy_worker_hashrate_hashes_per_second</c> {worker, window},
/// <c>stratumproxy_worker_last_share_timestamp_seconds</c> {worker}, <c>stratumproxy_worker_difficulty</c> {worker} and
/// <c>stratumproxy_share_reconciliation_gap</c> {worker, pool}.
/// </summary>
/// <remarks>
/// <para>Each family is one pass over the workers; a worker whose label is its own name writes its lines as it is
/// read. Workers that share a label (<c>other</c> past <c>Proxy:MaxWorkerSeries</c>, <c>unknown</c>) are summed
/// first, in a pass of their own, and written at the end of each family; the last share is the latest of them.</para>
/// <para>Zero-valued series are written as prometheus-net children were: every result of a worker's pool from its
/// first route on, a result without a pool (<c>none</c>) from its first share, <c>unknown</c>/<c>none</c> from the
/// first session without a worker (<see cref="ProxyMetrics.SeedsUnattributed"/>) and the hashrate of each configured
/// rig (<see cref="ProxyMetrics.SeedWorker"/>) from start.</para>
/// <para>The output is flushed every <see cref="FlushBytes"/>, so a scrape of 10,000 workers (megabytes of text)
/// does not sit in the response's buffers whole. Per worker nothing is allocated beyond the copy of its routes
/// (<see cref="WorkerStats.Pools"/>) in each of the three families that list them.</para>
/// </remarks>
internal static class WorkerSeriesExport
{
    /// <summary>How much text is written between two flushes of the output.</summary>
    internal const int FlushBytes = 32 * 1024;

    private const string OtherLabel = ProxyMetrics.OtherWorkerLabel;
    private const string UnknownLabel = "unknown";

    private static ReadOnlySpan<byte> Shares => "stratumproxy_shares_total"u8;

    private static ReadOnlySpan<byte> ShareDifficulty => "stratumproxy_share_difficulty_total"u8;

    private static ReadOnlySpan<byte> Hashrate => "stratumproxy_worker_hashrate_hashes_per_second"u8;

    private static ReadOnlySpan<byte> LastShare => "stratumproxy_worker_last_share_timestamp_seconds"u8;

    private static ReadOnlySpan<byte> Difficulty => "stratumproxy_worker_difficulty"u8;

    private static ReadOnlySpan<byte> Gap => "stratumproxy_share_reconciliation_gap"u8;

    private static ReadOnlySpan<byte> Worker => "worker"u8;

    private static ReadOnlySpan<byte> Pool => "pool"u8;

    private static ReadOnlySpan<byte> None => "none"u8;

    private static readonly byte[][] ResultLabels = [.. ShareResultLabels.All.Select(System.Text.Encoding.ASCII.GetBytes)];

    private static readonly byte[][] WindowLabels = ["1m"u8.ToArray(), "5m"u8.ToArray(), "1h"u8.ToArray()];

    private static readonly HashrateWindow[] Windows = [HashrateWindow.OneMinute, HashrateWindow.FiveMinutes, HashrateWindow.OneHour];

    /// <summary>Writes the six families of <paramref name="workers"/> into <paramref name="output"/>, flushing it as it goes (not at the end).</summary>
    public static async Task WriteAsync(
        ConcurrentDictionary<string, WorkerStats> workers,
        ProxyMetrics metrics,
        long now,
        PipeWriter output,
        ExpositionFormat format,
        CancellationToken cancellationToken)
    {
        var writer = new ExpositionWriter(output, format);
        var shared = SharedLabels.Sum(workers, now);

        writer.Family(Shares, "Shares submitted by miners, by result."u8, FamilyType.Counter);
        await EachLabelAsync(
            static (writer, worker, _) =>
            {
                var routes = worker.Pools();
                for (var r = 0; r < routes.Count; r++)
                {
                    WriteResults(writer, worker.Label, routes[r].Pool, routes[r]);
                }

                WriteUnrouted(writer, worker.Label, worker.UnroutedResults, seeded: false);
            },
            static (writer, label) =>
            {
                foreach (var (pool, route) in label.Routes)
                {
                    WriteResults(writer, label.Label, pool, route);
                }

                if (label.Label != UnknownLabel)
                {
                    WriteUnrouted(writer, label.Label, label.Unrouted, seeded: false);
                }
            }).ConfigureAwait(false);

        // Sessions that had not authorized yet count under worker "unknown" and pool "none", with any worker whose
        // label is "unknown" too.
        var unattributed = new long[ShareResultLabels.All.Count];
        for (var i = 0; i < unattributed.Length; i++)
        {
            unattributed[i] = metrics.Unattributed((ShareResult)i) + (shared.Unknown?.Unrouted?[i] ?? 0);
        }

        WriteUnrouted(writer, UnknownLabel, unattributed, seeded: metrics.SeedsUnattributed);

        writer.Family(ShareDifficulty, "Sum of the difficulty of accepted shares (difficulty-1 units)."u8, FamilyType.Counter);
        await EachLabelAsync(
            static (writer, worker, _) => WriteRoutes(writer, ShareDifficulty, worker, static route => route.ShareDifficulty),
            static (writer, label) =>
            {
                foreach (var (pool, route) in label.Routes)
                {
                    WriteRoute(writer, ShareDifficulty, label.Label, pool, route.Difficulty);
                }
            }).ConfigureAwait(false);

        writer.Family(Hashrate, "Hashrate estimated from difficulty-weighted shares."u8, FamilyType.Gauge);
        foreach (var label in metrics.SeededWorkers())
        {
            if (!shared.Has(label) && !(workers.TryGetValue(label, out var seen) && seen.Label == label))
            {
                for (var w = 0; w < WindowLabels.Length; w++)
                {
                    WriteHashrate(writer, label, w, 0);
                }
            }
        }

        await EachLabelAsync(
            static (writer, worker, now) =>
            {
                for (var w = 0; w < Windows.Length; w++)
                {
                    WriteHashrate(writer, worker.Label, w, worker.Hashrate(Windows[w], now).HashesPerSecond);
                }
            },
            static (writer, label) =>
            {
                for (var w = 0; w < WindowLabels.Length; w++)
                {
                    WriteHashrate(writer, label.Label, w, label.Hashrate[w]);
                }
            }).ConfigureAwait(false);

        writer.Family(LastShare, "Unix time of the worker's last accepted share."u8, FamilyType.Gauge);
        await EachLabelAsync(
            static (writer, worker, _) => WriteLastShare(writer, worker.Label, worker.LastShareUnixMs),
            static (writer, label) => WriteLastShare(writer, label.Label, label.LastShareUnixMs)).ConfigureAwait(false);

        writer.Family(Difficulty, "The difficulty the worker is mining at."u8, FamilyType.Gauge);
        await EachLabelAsync(
            static (writer, worker, _) => WriteDifficulty(writer, worker.Label, worker.Difficulty),
            static (writer, label) => WriteDifficulty(writer, label.Label, label.Difficulty)).ConfigureAwait(false);
        if (double.IsNaN(shared.Unknown?.Difficulty ?? double.NaN))
        {
            WriteDifficulty(writer, UnknownLabel, metrics.UnattributedDifficulty);
        }

        writer.Family(Gap, "Shares forwarded to a pool that have no pool verdict yet, or were lost (per worker and pool)."u8, FamilyType.Gauge);
        await EachLabelAsync(
            static (writer, worker, _) => WriteRoutes(writer, Gap, worker, static route => route.Gap + route.Lost),
            static (writer, label) =>
            {
                foreach (var (pool, route) in label.Routes)
                {
                    WriteRoute(writer, Gap, label.Label, pool, route.Gap);
                }
            }).ConfigureAwait(false);

        // One family's samples: each worker under its own name (flushing as the text grows), then the shared labels' sums.
        async ValueTask EachLabelAsync(Action<ExpositionWriter, WorkerStats, long> own, Action<ExpositionWriter, LabelTotals> sum)
        {
            foreach (var (_, worker) in workers)
            {
                if (!IsShared(worker.Label))
                {
                    own(writer, worker, now);
                    await FlushIfFullAsync(writer, output, cancellationToken).ConfigureAwait(false);
                }
            }

            foreach (var label in shared.All)
            {
                sum(writer, label);
            }
        }
    }

    /// <summary>True for the labels several workers can share; every other label is its worker's own name.</summary>
    private static bool IsShared(string label) => label is OtherLabel or UnknownLabel;

    private static async ValueTask FlushIfFullAsync(ExpositionWriter writer, PipeWriter output, CancellationToken cancellationToken)
    {
        if (writer.Written >= FlushBytes)
        {
            writer.ResetWritten();
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static void WriteResults(ExpositionWriter writer, string label, string pool, PoolCounters route)
    {
        for (var i = 0; i < ResultLabels.Length; i++)
        {
            WriteResult(writer, label, pool, i, route.Results((ShareResult)i));
        }
    }

    private static void WriteResults(ExpositionWriter writer, string label, string pool, RouteTotals route)
    {
        for (var i = 0; i < ResultLabels.Length; i++)
        {
            WriteResult(writer, label, pool, i, route.Results[i]);
        }
    }

    private static void WriteUnrouted(ExpositionWriter writer, string label, long[]? results, bool seeded)
    {
        if (results is null)
        {
            return;
        }

        for (var i = 0; i < results.Length; i++)
        {
            // A result without a pool appears with its first share, as a counter child did on its first increment.
            var count = Volatile.Read(ref results[i]);
            if (seeded || count > 0)
            {
                writer.BeginSample(Shares);
                writer.Label(Worker, label);
                writer.Label(Pool, None);
                writer.Label("result"u8, ResultLabels[i]);
                writer.EndSample(count);
            }
        }
    }

    private static void WriteResult(ExpositionWriter writer, string label, string pool, int result, long count)
    {
        writer.BeginSample(Shares);
        writer.Label(Worker, label);
        writer.Label(Pool, pool);
        writer.Label("result"u8, ResultLabels[result]);
        writer.EndSample(count);
    }

    private static void WriteRoutes(ExpositionWriter writer, ReadOnlySpan<byte> family, WorkerStats worker, Func<PoolCounters, double> value)
    {
        var routes = worker.Pools();
        for (var r = 0; r < routes.Count; r++)
        {
            WriteRoute(writer, family, worker.Label, routes[r].Pool, value(routes[r]));
        }
    }

    private static void WriteRoute(ExpositionWriter writer, ReadOnlySpan<byte> family, string label, string pool, double value)
    {
        writer.BeginSample(family);
        writer.Label(Worker, label);
        writer.Label(Pool, pool);
        writer.EndSample(value);
    }

    private static void WriteHashrate(ExpositionWriter writer, string label, int window, double value)
    {
        writer.BeginSample(Hashrate);
        writer.Label(Worker, label);
        writer.Label("window"u8, WindowLabels[window]);
        writer.EndSample(value);
    }

    private static void WriteLastShare(ExpositionWriter writer, string label, long unixMs)
    {
        if (unixMs > 0)
        {
            writer.BeginSample(LastShare);
            writer.Label(Worker, label);
            writer.EndSample(unixMs / 1000.0);
        }
    }

    private static void WriteDifficulty(ExpositionWriter writer, string label, double difficulty)
    {
        if (!double.IsNaN(difficulty))
        {
            writer.BeginSample(Difficulty);
            writer.Label(Worker, label);
            writer.EndSample(difficulty);
        }
    }

    /// <summary>The sums of the workers under <c>other</c> and <c>unknown</c>; allocated only when there are such workers.</summary>
    private sealed class SharedLabels
    {
        private SharedLabels()
        {
        }

        public LabelTotals? Other { get; private set; }

        public LabelTotals? Unknown { get; private set; }

        public IEnumerable<LabelTotals> All => Other is null ? (Unknown is null ? [] : [Unknown]) : (Unknown is null ? [Other] : [Other, Unknown]);

        public bool Has(string label) => label switch
        {
            OtherLabel => Other is not null,
            UnknownLabel => Unknown is not null,
            _ => false,
        };

        public static SharedLabels Sum(ConcurrentDictionary<string, WorkerStats> workers, long now)
        {
            var shared = new SharedLabels();
            foreach (var (_, worker) in workers)
            {
                if (!IsShared(worker.Label))
                {
                    continue;
                }

                var totals = worker.Label == OtherLabel ? shared.Other ??= new LabelTotals(OtherLabel) : shared.Unknown ??= new LabelTotals(UnknownLabel);
                totals.Add(worker, now);
            }

            return shared;
        }
    }

    private sealed class LabelTotals(string label)
    {
        public string Label { get; } = label;

        public double[] Hashrate { get; } = new double[3];

        public long LastShareUnixMs { get; private set; }

        public double Difficulty { get; private set; } = double.NaN;

        public long[]? Unrouted { get; private set; }

        public Dictionary<string, RouteTotals> Routes { get; } = new(StringComparer.Ordinal);

        public void Add(WorkerStats worker, long now)
        {
            for (var w = 0; w < Windows.Length; w++)
            {
                Hashrate[w] += worker.Hashrate(Windows[w], now).HashesPerSecond;
            }

            LastShareUnixMs = Math.Max(LastShareUnixMs, worker.LastShareUnixMs);
            if (!double.IsNaN(worker.Difficulty))
            {
                Difficulty = worker.Difficulty;
            }

            if (worker.UnroutedResults is { } routeless)
            {
                Unrouted ??= new long[ShareResultLabels.All.Count];
                for (var i = 0; i < routeless.Length; i++)
                {
                    Unrouted[i] += Volatile.Read(ref routeless[i]);
                }
            }

            foreach (var pool in worker.Pools())
            {
                if (!Routes.TryGetValue(pool.Pool, out var route))
                {
                    route = new RouteTotals();
                    Routes.Add(pool.Pool, route);
                }

                for (var i = 0; i < route.Results.Length; i++)
                {
                    route.Results[i] += pool.Results((ShareResult)i);
                }

                route.Difficulty += pool.ShareDifficulty;
                route.Gap += pool.Gap + pool.Lost;
            }
        }
    }

    private sealed class RouteTotals
    {
        public long[] Results { get; } = new long[ShareResultLabels.All.Count];

        public double Difficulty { get; set; }

        public long Gap { get; set; }
    }
}
