using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Routing;

/// <summary>The engine's control surface (<see cref="IProxyControl"/>): what the host reads and commands.</summary>
public sealed partial class ProxyEngine
{
    /// <inheritdoc/>
    public FleetSnapshot Snapshot() => Take(null);

    /// <inheritdoc/>
    public FleetSnapshot Snapshot(IReadOnlySet<string> workers)
    {
        ArgumentNullException.ThrowIfNull(workers);
        return Take(workers);
    }

    /// <summary>
    /// The fleet now; with <paramref name="only"/>, the sessions and books of those workers alone (the pools whole,
    /// their miner counts over every session). The sessions are enumerated in place, not copied into a list first.
    /// </summary>
    private FleetSnapshot Take(IReadOnlySet<string>? only)
    {
        var at = Time.GetUtcNow();
        var now = Time.GetTimestamp();
        var sessions = new List<SessionView>(only is null ? _sessions.Count : Math.Min(only.Count, _sessions.Count));
        var miners = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (_, s) in _sessions)
        {
            var pool = s.PoolName;
            if (pool is not null)
            {
                miners[pool] = miners.GetValueOrDefault(pool) + 1;
            }

            var worker = s.Worker;
            if (only is not null && (worker is null || !only.Contains(worker)))
            {
                continue;
            }

            sessions.Add(new SessionView(
                s.Id,
                worker,
                s.RemoteEndPoint?.ToString(),
                s.UserAgent,
                pool,
                s.Difficulty,
                s.ConnectedAt,
                Convert.ToHexStringLower(s.Extranonce1),
                s.Extranonce2Size));
        }

        var view = View();
        var pools = view.Runtimes.Select(p =>
        {
            var primary = p.Primary;
            var health = p.Health.Evaluate();
            var group = PoolSelector.LayoutFor(p.Options.Group, view.Candidates, Configured);
            var adapting = PoolSelector.AdaptingPool(p.Options.Group, view.Candidates, Configured);
            return new PoolView(
                p.Options.Name,
                p.Url.ToString(),
                p.Options.Mode.ToString().ToLowerInvariant(),
                p.Options.Priority,
                p.Options.Group,
                p.IsReady,
                health.Score,
                health.LatencyEwmaSeconds,
                primary?.Difficulty ?? 0,
                primary?.Extranonce1Hex ?? string.Empty,
                primary?.Layout?.PoolExtranonce2Size ?? 0,
                primary?.VersionMask ?? 0,
                miners.GetValueOrDefault(p.Options.Name),
                primary?.InFlight ?? 0,
                Ledger.Pool(p.Options.Name).Hashrate(HashrateWindow.FiveMinutes, now).HashesPerSecond,
                p.LastError,
                new PoolLayoutView(
                    primary?.Layout?.Miner ?? group,
                    p.Options.Mode == PoolMode.Passthrough ? p.DedicatedCount : p.Connections.Count,
                    p.Options.MaxConnections,
                    p.Options.Extranonce2SizeHint,
                    adapting is not null && adapting.Name == p.Options.Name,
                    group));
        }).ToList();

        var workers = new List<WorkerView>();
        if (only is null)
        {
            foreach (var w in Ledger.Workers)
            {
                workers.Add(WorkerViewOf(w, now));
            }
        }
        else
        {
            foreach (var name in only)
            {
                if (Ledger.TryGetWorker(name, out var w))
                {
                    workers.Add(WorkerViewOf(w, now));
                }
            }
        }

        return new FleetSnapshot(at, pools, sessions, workers);
    }

    private static WorkerView WorkerViewOf(Accounting.WorkerStats w, long now)
    {
        var five = w.Hashrate(HashrateWindow.FiveMinutes, now);
        return new WorkerView(
            w.Name,
            w.Label,
            w.Sessions,
            w.Count(ShareResult.Accepted),
            w.Count(ShareResult.Stale),
            w.Count(ShareResult.Duplicate),
            w.Count(ShareResult.LowDifficulty),
            w.Count(ShareResult.Invalid),
            w.Count(ShareResult.PoolRejected),
            w.Count(ShareResult.Lost),
            w.AcceptedDifficulty,
            w.Hashrate(HashrateWindow.OneMinute, now).HashesPerSecond,
            five.HashesPerSecond,
            w.Hashrate(HashrateWindow.OneHour, now).HashesPerSecond,
            five.RelativeUncertainty,
            w.LastShareUnixMs,
            [.. w.Pools().Select(p => new WorkerPoolView(p.Pool, p.Accepted, p.Forwarded, p.PoolAccepted, p.PoolRejected, p.InFlight, p.Lost, p.Gap))]);
    }

    /// <inheritdoc/>
    public int Switch(string pool, IReadOnlyCollection<string>? workers, bool pin)
    {
        if (workers is null)
        {
            return Switch(pool, _ => true, pin);
        }

        var wanted = workers.ToHashSet(StringComparer.Ordinal);
        if (wanted.Any(string.IsNullOrWhiteSpace))
        {
            // Refused before anything moves: a pin for a blank name would wait for a rig that never comes.
            throw new ArgumentException("A worker name is empty.", nameof(workers));
        }

        var moved = Switch(pool, s => wanted.Contains(s.Worker!), pin);
        if (pin)
        {
            // A named worker with no session now is pinned too: it goes to the pool when it connects (a rig the farm
            // loop switched while it was rebooting or asleep), not to wherever routing would send it.
            foreach (var worker in wanted)
            {
                _overrides[worker] = pool;
            }
        }

        return moved;
    }

    /// <summary>
    /// Brings the allocation and GC pause counters, the GC's committed memory and the process's resident memory and CPU
    /// time up to date (call before each metrics export; the per-worker series come from
    /// <see cref="Accounting.ShareLedger.WriteWorkerSeriesAsync"/>).
    /// </summary>
    public void UpdateGauges()
    {
        Metrics.AllocatedBytes.IncTo(GC.GetTotalAllocatedBytes());
        Metrics.GcPauseSeconds.IncTo(GC.GetTotalPauseDuration().TotalSeconds);
        Metrics.GcCommittedBytes.Set(GC.GetGCMemoryInfo().TotalCommittedBytes);
        Metrics.ResidentBytes.Set(Environment.WorkingSet);
        Metrics.CpuSeconds.IncTo(Environment.CpuUsage.TotalTime.TotalSeconds);
    }
}
