using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Upstream;

namespace StratumProxy.Proxy.Sessions;

/// <summary>
/// What a session needs per upstream it works for: the worker name the pool sees, the extranonce2 prefix
/// (pad | m), and the counters, resolved once at attach time (the verdict metrics are the connection's:
/// <see cref="PoolVerdictMetrics"/>).
/// </summary>
public sealed class PoolRoute
{
    internal PoolRoute(UpstreamConnection upstream, string upstreamWorker, byte[] extranonce2Prefix, PoolCounters counters, PoolMeter meter)
    {
        Upstream = upstream;
        UpstreamWorker = upstreamWorker;
        Extranonce2Prefix = extranonce2Prefix;
        Counters = counters;
        PoolMeter = meter;
    }

    /// <summary>The connection.</summary>
    public UpstreamConnection Upstream { get; }

    /// <summary>The worker name used in submits.</summary>
    public string UpstreamWorker { get; }

    /// <summary>pad | m.</summary>
    public byte[] Extranonce2Prefix { get; }

    /// <summary>Reconciliation counters, and the share results exported per worker and pool.</summary>
    public PoolCounters Counters { get; }

    /// <summary>The pool's meter.</summary>
    public PoolMeter PoolMeter { get; }
}

public sealed partial class MinerSession
{
    private readonly VarDiffController _vardiff;
    private UpstreamConnection? _assigned;
    private PoolRoute? _current;
    private PoolRoute? _previous;
    private bool _difficultyPending = true;
    private UpstreamJob? _lastJob;

    /// <summary>
    /// Asks the session to move to <paramref name="upstream"/>: a clean job and its difficulty, nothing else (no
    /// reconnect, no set_extranonce). Callable from any thread: the session's loop applies it. Returns false when the
    /// upstream is not ready or cannot carry this miner now; true when the move is queued (or the miner is there).
    /// </summary>
    public bool AttachTo(UpstreamConnection upstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        if (_closing != 0 || Worker is null || upstream.State != UpstreamState.Ready || upstream.Layout is null)
        {
            return false;
        }

        lock (Sync)
        {
            if (_closing != 0)
            {
                return false;
            }

            if (_assigned == upstream)
            {
                return true;
            }

            if (!upstream.CanCarry(this))
            {
                return false;
            }

            // The assignment is routing's decision, published at once (and in the order the moves are queued);
            // the route itself is the loop's, set when it applies the move.
            Volatile.Write(ref _assigned, upstream);
            Post(SessionEvent.Attach(upstream));
        }

        return true;
    }

    private void ApplyAttach(UpstreamConnection upstream)
    {
        if (_closing != 0 || _current?.Upstream == upstream || upstream.Layout is not { } layout)
        {
            return;
        }

        if (Volatile.Read(ref _assigned) != upstream)
        {
            // A later move superseded this one before the loop got to it: that move's event follows.
            return;
        }

        if (!upstream.Attach(this))
        {
            // Its place there went to another miner meanwhile, or it closed: routing's next tick places the miner.
            Interlocked.CompareExchange(ref _assigned, _current?.Upstream, upstream);
            return;
        }

        var route = CreateRoute(upstream, layout);
        var old = _current;
        Volatile.Write(ref _previous, old);
        Volatile.Write(ref _current, route);
        old?.Upstream.Detach(this);
        if (old?.Upstream is { Pool.Mode: PoolMode.Passthrough } dedicated)
        {
            // A dedicated connection serves this miner only: leaving it means closing it (verdicts still in flight
            // on it are answered as lost).
            dedicated.Close("the miner moved to another pool");
        }

        if (upstream.Pool.WorkerNaming != WorkerNaming.Fixed)
        {
            upstream.EnsureAuthorized(route.UpstreamWorker);
        }

        if (_protocol.OnAttach(upstream.VersionMask, out var mask))
        {
            Enqueue(MinerOutbound.VersionMask(mask));
        }

        _difficultyPending = true;
        if (upstream.CurrentJob is { } job)
        {
            SendJob(job, clean: true);
        }
    }

    /// <summary>A new job on the session's upstream (posted by that upstream's read loop).</summary>
    public void OnJob(UpstreamJob job, bool clean) => Post(SessionEvent.NewJob(job, clean));

    private void ApplyJob(UpstreamJob job, bool clean)
    {
        if (_current?.Upstream != job.Upstream || (_lastJob is { } last && last.Upstream == job.Upstream && job.Id <= last.Id))
        {
            // Not the miner's upstream (it moved on), or a job it was already sent when it attached.
            return;
        }

        SendJob(job, clean);
    }

    /// <summary>The pool changed its version mask: narrow the miner's (posted by the upstream's read loop).</summary>
    public void OnVersionMaskChanged(uint poolMask) => Post(SessionEvent.VersionMask(poolMask));

    private void ApplyVersionMask(uint poolMask)
    {
        if (_protocol.OnPoolMask(poolMask, out var mask))
        {
            Enqueue(MinerOutbound.VersionMask(mask));
        }
    }

    /// <summary>The pool changed this connection's extranonce: the prefix changes, m and n do not.</summary>
    public void OnUpstreamExtranonceChanged(UpstreamConnection upstream) => Post(SessionEvent.UpstreamExtranonce(upstream));

    private void ApplyUpstreamExtranonce(UpstreamConnection upstream)
    {
        if (_current?.Upstream != upstream || upstream.Layout is not { } layout)
        {
            return;
        }

        Volatile.Write(ref _current, CreateRoute(upstream, layout));
    }

    /// <summary>
    /// Periodic work from the engine's tick: the timeouts are decided here (closing is safe from any thread); vardiff
    /// for a silent miner is posted to the session's loop, at most one tick waiting at a time.
    /// </summary>
    internal void Tick(long now)
    {
        var options = _context.Options.Miners;
        if (Worker is null && _context.Time.GetElapsedTime(ConnectedTimestamp, now) > options.HandshakeTimeout)
        {
            Close($"handshake not finished within {options.HandshakeTimeout.TotalSeconds:0} s");
            return;
        }

        if (_context.Time.GetElapsedTime(LastReceiveTimestamp, now) > options.IdleTimeout)
        {
            Close($"idle: nothing received for {options.IdleTimeout.TotalSeconds:0} s");
            return;
        }

        if (Worker is not null && Interlocked.Exchange(ref _tickPending, 1) == 0)
        {
            Post(SessionEvent.Tick(now));
        }
    }

    private void ApplyTick(long now)
    {
        if (_vardiff.OnIdle(now) is not null)
        {
            _difficultyPending = true;
            if (_lastJob is { IsStale: false } job)
            {
                SendJob(job, clean: false);
            }
        }
    }

    /// <summary>The route of an upstream the miner works for now or worked for just before (any thread: snapshots).</summary>
    private PoolRoute? RouteFor(UpstreamConnection upstream) =>
        Volatile.Read(ref _current) is { } current && current.Upstream == upstream ? current
        : Volatile.Read(ref _previous) is { } previous && previous.Upstream == upstream ? previous : null;

    private PoolRoute CreateRoute(UpstreamConnection upstream, ExtranonceLayout layout)
    {
        var pool = upstream.Pool;
        var prefix = new byte[layout.PadSize + layout.PrefixSize];
        _identity!.Prefix.WriteTo(prefix.AsSpan(layout.PadSize));
        var worker = UpstreamWorkerName(pool, Worker!);
        var stats = Stats!;
        return new PoolRoute(
            upstream,
            worker,
            prefix,
            stats.ForPool(pool.Name),
            _context.Ledger.Pool(pool.Name));
    }

    /// <summary>The worker name a pool sees for a miner, by the pool's naming rule.</summary>
    public static string UpstreamWorkerName(PoolOptions pool, string minerWorker)
    {
        switch (pool.WorkerNaming)
        {
            case WorkerNaming.Miner:
                return minerWorker;
            case WorkerNaming.Fixed:
                return pool.User;
            default:
                var dot = minerWorker.IndexOf('.', StringComparison.Ordinal);
                var suffix = dot >= 0 ? minerWorker.AsSpan(dot + 1) : minerWorker;
                var account = pool.User.AsSpan();
                var accountDot = account.IndexOf('.');
                if (accountDot >= 0)
                {
                    account = account[..accountDot];
                }

                if (suffix.IsEmpty)
                {
                    return accountDot >= 0 ? account.ToString() : pool.User;
                }

                // Miners named after the pool's account already (account.rig) keep their own string: a session holds
                // this name for as long as it works for the pool, and a copy per session is 50 bytes for nothing.
                if (dot == account.Length && minerWorker.AsSpan(0, dot).SequenceEqual(account))
                {
                    return minerWorker;
                }

                return string.Concat(account, ".", suffix);
        }
    }

    private void SendJob(UpstreamJob job, bool clean)
    {
        var wanted = EffectiveDifficulty(job);
        if (_difficultyPending || !wanted.Equals(_validator.Difficulty))
        {
            _difficultyPending = false;
            if (_validator.SetDifficulty(wanted))
            {
                if (Stats is { } stats)
                {
                    stats.SetDifficulty(wanted);
                }
                else
                {
                    _context.Metrics.UnattributedDifficulty = wanted;
                }
            }

            Enqueue(MinerOutbound.SetDifficulty(wanted));
        }

        // Each job remembers the difficulty it went out with: a share on it is judged by that, whatever came
        // later (vardiff steps, a pool switch), as firmware applies a new difficulty from the next job on.
        _validator.JobSent(job.Id);
        _lastJob = job;
        Enqueue(MinerOutbound.Raw(clean ? job.CleanNotifyLine : job.NotifyLine));
    }

    /// <summary>The miner's vardiff, raised to its minimum, and never above the pool's (it then works at the pool's).</summary>
    private double EffectiveDifficulty(UpstreamJob job)
    {
        var wanted = Math.Max(_vardiff.Current, _protocol.MinimumDifficulty);
        return Math.Min(wanted, job.PoolDifficulty);
    }

    private void OnSuggestDifficulty(double difficulty)
    {
        _vardiff.Suggest(difficulty);
        _difficultyPending = true;
        if (_lastJob is { IsStale: false } job)
        {
            SendJob(job, clean: false);
        }
    }

    private void OnVardiffShare(long now)
    {
        if (_vardiff.OnShare(now) is not null)
        {
            // Takes effect with the next job (Stratum convention).
            _difficultyPending = true;
        }
    }
}
