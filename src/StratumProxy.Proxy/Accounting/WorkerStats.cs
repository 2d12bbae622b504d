using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Accounting;

/// <summary>
/// Everything counted for one worker name (a rig), across its sessions: shares by result, the difficulty-weighted
/// sum, a hashrate meter, and per pool the forwarded/accepted/rejected/lost counts used for reconciliation.
/// Counters are updated with interlocked operations; the meter behind a lock (its own monitor, no lock object)
/// because two rigs may share a name. The per-pool counters are an array replaced whole when a pool is added: a worker
/// is on one or two pools, and a dictionary with its lock cost ~300 bytes more per worker.
/// </summary>
public sealed class WorkerStats
{
    private ShareResultCounts _shares;
    private readonly HashrateMeter _meter;
    private PoolCounters[] _pools = [];
    private double _acceptedDifficulty;
    private long _lastShareUnixMs;
    private int _sessions;
    private double _difficulty = double.NaN;
    private long[]? _unroutedResults;

    internal WorkerStats(string name, string label, TimeProvider time)
    {
        Name = name;
        Label = label;
        _meter = new HashrateMeter(time);
    }

    /// <summary>The worker name the miner authorized with.</summary>
    public string Name { get; }

    /// <summary>The metrics label for this worker (the name, or <c>other</c> past the series cap).</summary>
    public string Label { get; }

    /// <summary>Sessions open now under this name.</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    /// <summary>Sum of the difficulty of accepted shares.</summary>
    public double AcceptedDifficulty => Volatile.Read(ref _acceptedDifficulty);

    /// <summary>Unix milliseconds of the last accepted share, or 0.</summary>
    public long LastShareUnixMs => Volatile.Read(ref _lastShareUnixMs);

    /// <summary>Shares with the given result.</summary>
    public long Count(ShareResult result) => Volatile.Read(ref _shares[(int)result]);

    /// <summary>Counts a share's result; for accepted ones also the difficulty and the hashrate meter.</summary>
    public void Record(ShareResult result, double difficulty, long timestamp, long unixMs)
    {
        Interlocked.Increment(ref _shares[(int)result]);
        if (result != ShareResult.Accepted)
        {
            return;
        }

        AddDouble(ref _acceptedDifficulty, difficulty);
        Volatile.Write(ref _lastShareUnixMs, unixMs);
        lock (_meter)
        {
            _meter.Record(difficulty, timestamp);
        }
    }

    /// <summary>The hashrate estimate over a window.</summary>
    public HashrateEstimate Hashrate(HashrateWindow window, long now)
    {
        lock (_meter)
        {
            return _meter.Estimate(window, now);
        }
    }

    /// <summary>The reconciliation counters of this worker on a pool (created on first use, at attach time).</summary>
    public PoolCounters ForPool(string pool)
    {
        PoolCounters? created = null;
        while (true)
        {
            var pools = Volatile.Read(ref _pools);
            foreach (var counters in pools)
            {
                if (string.Equals(counters.Pool, pool, StringComparison.Ordinal))
                {
                    return counters;
                }
            }

            created ??= new PoolCounters(pool);
            if (Interlocked.CompareExchange(ref _pools, [.. pools, created], pools) == pools)
            {
                return created;
            }
        }
    }

    /// <summary>The per-pool counters, in the order the pools were first used (an array never changed once published).</summary>
    public IReadOnlyList<PoolCounters> Pools() => Volatile.Read(ref _pools);

    /// <summary>The difficulty the worker was last sent (NaN until the first).</summary>
    public double Difficulty => Volatile.Read(ref _difficulty);

    /// <summary>Records the difficulty a session of this worker now mines at.</summary>
    public void SetDifficulty(double difficulty) => Volatile.Write(ref _difficulty, difficulty);

    /// <summary>Counts a share result that came while the worker had no pool (exported under pool <c>none</c>).</summary>
    public void CountUnrouted(ShareResult result)
    {
        var results = Volatile.Read(ref _unroutedResults);
        if (results is null)
        {
            // Once per worker, and only for a worker that submits before it has a pool.
            Interlocked.CompareExchange(ref _unroutedResults, new long[ShareResultLabels.All.Count], null);
            results = Volatile.Read(ref _unroutedResults)!;
        }

        Interlocked.Increment(ref results[(int)result]);
    }

    /// <summary>Share results counted without a pool, by <see cref="ShareResult"/>; null while there were none.</summary>
    internal long[]? UnroutedResults => Volatile.Read(ref _unroutedResults);

    internal void SessionOpened() => Interlocked.Increment(ref _sessions);

    internal void SessionClosed() => Interlocked.Decrement(ref _sessions);

    internal static void AddDouble(ref double target, double value)
    {
        var current = Volatile.Read(ref target);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref target, current + value, current);
            if (seen.Equals(current))
            {
                return;
            }

            current = seen;
        }
    }
}

/// <summary>
/// Reconciliation of one worker on one pool: shares the proxy accepted locally, forwarded, and what the pool said.
/// <see cref="Gap"/> = forwarded − (pool accepted + pool rejected) − in flight: a share that was acked to the miner
/// and never confirmed upstream shows here.
/// </summary>
public sealed class PoolCounters(string pool)
{
    private long _accepted;
    private long _forwarded;
    private long _poolAccepted;
    private long _poolRejected;
    private long _lost;
    private long _inFlight;
    private double _acceptedDifficulty;
    private ShareResultCounts _results;

    /// <summary>The pool's name.</summary>
    public string Pool { get; } = pool;

    /// <summary>Shares the proxy accepted (at the miner's target) while on this pool.</summary>
    public long Accepted => Volatile.Read(ref _accepted);

    /// <summary>Difficulty-weighted sum of <see cref="Accepted"/>.</summary>
    public double AcceptedDifficulty => Volatile.Read(ref _acceptedDifficulty);

    /// <summary>Shares sent to the pool.</summary>
    public long Forwarded => Volatile.Read(ref _forwarded);

    /// <summary>Forwarded shares the pool accepted.</summary>
    public long PoolAccepted => Volatile.Read(ref _poolAccepted);

    /// <summary>Forwarded shares the pool rejected.</summary>
    public long PoolRejected => Volatile.Read(ref _poolRejected);

    /// <summary>Forwarded shares with no verdict because the connection dropped and they could not be re-sent.</summary>
    public long Lost => Volatile.Read(ref _lost);

    /// <summary>Forwarded shares awaiting a verdict now.</summary>
    public long InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Forwarded shares the pool never ruled on and that are not in flight (should stay 0).</summary>
    public long Gap => Forwarded - PoolAccepted - PoolRejected - InFlight;

    /// <summary>
    /// Share results of this worker on this pool (<c>stratumproxy_shares_total</c>); accepted ones are
    /// <see cref="Accepted"/>, counted once by <see cref="OnAccepted"/>.
    /// </summary>
    public long Results(ShareResult result) => result == ShareResult.Accepted ? Accepted : Volatile.Read(ref _results[(int)result]);

    /// <summary>Accepted difficulty on this pool (<c>stratumproxy_share_difficulty_total</c>): <see cref="AcceptedDifficulty"/>.</summary>
    public double ShareDifficulty => AcceptedDifficulty;

    /// <summary>Counts a refused share's result on this route (accepted ones are counted by <see cref="OnAccepted"/>).</summary>
    public void CountResult(ShareResult result) => Interlocked.Increment(ref _results[(int)result]);

    internal void OnAccepted(double difficulty)
    {
        Interlocked.Increment(ref _accepted);
        WorkerStats.AddDouble(ref _acceptedDifficulty, difficulty);
    }

    internal void OnForwarded()
    {
        Interlocked.Increment(ref _forwarded);
        Interlocked.Increment(ref _inFlight);
    }

    internal void OnVerdict(bool accepted)
    {
        Interlocked.Decrement(ref _inFlight);
        Interlocked.Increment(ref accepted ? ref _poolAccepted : ref _poolRejected);
    }

    internal void OnLost()
    {
        Interlocked.Decrement(ref _inFlight);
        Interlocked.Increment(ref _lost);
    }
}
