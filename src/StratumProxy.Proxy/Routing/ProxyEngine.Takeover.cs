using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Transport;
using StratumProxy.Proxy.Upstream;

namespace StratumProxy.Proxy.Routing;

/// <summary>A pool connection parked for a handover, with its state.</summary>
internal sealed record ParkedPool(PoolRuntime Runtime, UpstreamConnection Upstream, PoolConnectionState State);

/// <summary>A miner session parked for a handover, with its state and the parked pool it works on (an index), if any.</summary>
internal sealed record ParkedSession(MinerSession Session, SessionState State);

/// <summary>Everything parked for one handover: what moves and what stays (connections that cannot move).</summary>
internal sealed class EngineParking
{
    public List<MinerSession> ParkedSessions { get; } = [];

    public List<UpstreamConnection> ParkedUpstreams { get; } = [];

    public List<ParkedPool> Pools { get; } = [];

    public List<ParkedSession> Sessions { get; } = [];

    /// <summary>Sessions closed instead of moved: their miners did not take the bytes queued for them in time.</summary>
    public List<MinerSession> LeftBehind { get; } = [];

    /// <summary>What the quiesce waits for now (it moves on as each step is done).</summary>
    public QuiescePhase Phase { get => (QuiescePhase)Volatile.Read(ref _phase); set => Volatile.Write(ref _phase, (int)value); }

    /// <summary>Sessions asked to write out what is queued for their miner and describe themselves.</summary>
    public int Exporting => Volatile.Read(ref _exporting);

    /// <summary>Of <see cref="Exporting"/>, those that have.</summary>
    public int Exported => Volatile.Read(ref _exported);

    private int _phase;
    private int _exporting;
    private int _exported;

    /// <summary>Counts an export asked for, and once it completes, done.</summary>
    public void Track(Task export)
    {
        Interlocked.Increment(ref _exporting);
        _ = export.ContinueWith(static (_, parking) => Interlocked.Increment(ref ((EngineParking)parking!)._exported), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }
}

/// <summary>The steps of a handover's quiesce, in order.</summary>
internal enum QuiescePhase
{
    /// <summary>Every session stops handling its miner's lines.</summary>
    Sessions,

    /// <summary>Every share already forwarded gets its pool's verdict.</summary>
    Verdicts,

    /// <summary>The movable pool connections stop reading and describe themselves.</summary>
    Pools,

    /// <summary>Every session writes out what is queued for its miner and describes itself.</summary>
    Exports,
}

public sealed partial class ProxyEngine
{
    private readonly Dictionary<string, List<(ProxyConnection Connection, PoolConnectionState State, int Index)>> _adoptions = new(StringComparer.Ordinal);
    private readonly Dictionary<int, UpstreamConnection> _adopted = [];
    private EngineParking? _parking;
    private int _tickPaused;

    /// <summary>The last handover's parking (where its quiesce is, for tests that move a fake clock only once it waits there).</summary>
    internal EngineParking? Parking => Volatile.Read(ref _parking);

    /// <summary>
    /// The first half of a handover: the tick stops (no moves, no timeouts), every session stops handling its miner's
    /// lines (they stay unread), then, once every share already forwarded has its verdict (within
    /// <paramref name="quiesce"/>), the movable pool connections stop reading and every parked connection describes
    /// itself, each session after writing out what it had queued for its miner. Throws <see cref="TimeoutException"/>
    /// naming what was not quiet in time; <see cref="ResumeParked"/> undoes it all. A miner that does not take its
    /// bytes within <paramref name="quiesce"/> of being asked to (its receive window stays shut) would hold everyone's
    /// upgrade and cannot move with bytes still unsent: it is closed and listed in
    /// <see cref="EngineParking.LeftBehind"/>, and the others move.
    /// </summary>
    internal async Task<EngineParking> ParkAsync(Func<ProxyConnection, bool> canMove, TimeSpan quiesce, EngineParking parking, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _tickPaused, 1);
        Volatile.Write(ref _parking, parking);
        using var deadline = new CancellationTokenSource(quiesce, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        var token = linked.Token;
        var sessions = _sessions.Values.ToList();
        Task<bool>[] parked = [];
        List<(PoolRuntime Pool, UpstreamConnection Connection)> upstreams = [];
        try
        {
            lock (parking)
            {
                parking.ParkedSessions.AddRange(sessions);
            }

            parked = [.. sessions.Select(s => s.ParkAsync(token))];
            await Task.WhenAll(parked).ConfigureAwait(false);

            // Every submit already forwarded gets its verdict (written to its miner before the session is exported).
            parking.Phase = QuiescePhase.Verdicts;
            upstreams = [.. Pools.Where(p => p.Options.Mode == PoolMode.Aggregating).SelectMany(p => p.Connections.Select(c => (Pool: p, Connection: c)))];
            await Task.WhenAll(upstreams.Select(u => u.Connection.WhenNoSharesPendingAsync())).WaitAsync(token).ConfigureAwait(false);

            parking.Phase = QuiescePhase.Pools;
            var movable = upstreams.Where(u => u.Connection.State == UpstreamState.Ready && canMove(u.Connection.Connection)).ToList();
            lock (parking)
            {
                parking.ParkedUpstreams.AddRange(movable.Select(u => u.Connection));
            }

            var poolsParked = await Task.WhenAll(movable.Select(u => u.Connection.ParkAsync(token))).ConfigureAwait(false);
            var index = new Dictionary<UpstreamConnection, int>();
            for (var i = 0; i < movable.Count; i++)
            {
                if (!poolsParked[i])
                {
                    continue;
                }

                var (pool, upstream) = movable[i];
                var state = await upstream.ExportAsync(token).ConfigureAwait(false);
                index[upstream] = parking.Pools.Count;
                parking.Pools.Add(new ParkedPool(pool, upstream, state with { Extra = pool.Primary != upstream }));
            }

            await ExportSessionsAsync(sessions, [.. parked.Select(p => p.Result)], canMove, index, quiesce, parking, cancellationToken).ConfigureAwait(false);
            return parking;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"not quiet within {quiesce.TotalSeconds:0.#} s: " + parking.Phase switch
            {
                QuiescePhase.Sessions => NotParked(sessions, parked),
                QuiescePhase.Verdicts => Unanswered(upstreams),
                _ => "pool connections did not stop reading",
            });
        }
    }

    /// <summary>
    /// Each parked session that can move writes out what it had queued and describes itself, all at once; those whose
    /// miner has not taken its bytes after <paramref name="quiesce"/> are closed and left behind (their miners
    /// reconnect, to whichever process accepts then).
    /// </summary>
    private async Task ExportSessionsAsync(List<MinerSession> sessions, bool[] parked, Func<ProxyConnection, bool> canMove, Dictionary<UpstreamConnection, int> index, TimeSpan quiesce, EngineParking parking, CancellationToken cancellationToken)
    {
        var exporting = new List<(MinerSession Session, Task<SessionState> State)>();
        for (var i = 0; i < sessions.Count; i++)
        {
            if (parked[i] && canMove(sessions[i].Connection))
            {
                var export = sessions[i].ExportAsync(CancellationToken.None);
                parking.Track(export);
                exporting.Add((sessions[i], export));
            }
        }

        using var flushDeadline = new CancellationTokenSource(quiesce, Time);
        parking.Phase = QuiescePhase.Exports;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(flushDeadline.Token, cancellationToken);
        try
        {
            await Task.WhenAll(exporting.Select(e => e.State)).WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (flushDeadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The miners whose exports did not finish are those that take no bytes: left behind below.
        }

        foreach (var (session, exported) in exporting)
        {
            if (!exported.IsCompletedSuccessfully)
            {
                parking.LeftBehind.Add(session);
                session.CloseStuck($"slow consumer: did not take its queued bytes within the takeover's {quiesce.TotalSeconds:0.#} s");
                continue;
            }

            var pool = session.CurrentUpstream is { } up && index.TryGetValue(up, out var at) ? at : (int?)null;
            parking.Sessions.Add(new ParkedSession(session, exported.Result with { Pool = pool }));
        }
    }

    /// <summary>The sessions that had not parked (for a timeout's reason): count and the first few, named.</summary>
    private static string NotParked(List<MinerSession> sessions, Task<bool>[] parked)
    {
        var late = parked.Length == 0 ? sessions : [.. sessions.Where((_, i) => !parked[i].IsCompletedSuccessfully)];
        return $"{late.Count} miner sessions did not stop handling their lines ({Describe(late)})";
    }

    /// <summary>The pools with shares still awaiting a verdict (for a timeout's reason).</summary>
    private static string Unanswered(List<(PoolRuntime Pool, UpstreamConnection Connection)> upstreams) =>
        string.Join("; ", upstreams.Select(u => (u.Pool.Options.Name, Shares: u.Connection.InFlight)).Where(u => u.Shares > 0)
            .GroupBy(u => u.Name, StringComparer.Ordinal)
            .Select(g => $"pool {g.Key} had not given its verdict on {g.Sum(u => u.Shares)} forwarded share(s)"))
        is { Length: > 0 } text ? text : "shares still awaited their pool's verdict";

    /// <summary>Up to five miners by worker and address, and how many more.</summary>
    internal static string Describe(IReadOnlyCollection<MinerSession> sessions)
    {
        const int Named = 5;
        var named = string.Join(", ", sessions.Take(Named).Select(s => $"{s.Worker ?? "unauthorized"} from {s.RemoteEndPoint?.ToString() ?? "unknown"}"));
        return sessions.Count > Named ? $"{named} and {sessions.Count - Named} more" : named;
    }

    /// <summary>The handover did not happen and nothing left its transport: every parked connection reads on.</summary>
    internal void ResumeParked(EngineParking parking)
    {
        foreach (var upstream in parking.ParkedUpstreams)
        {
            upstream.Resume();
        }

        foreach (var session in parking.ParkedSessions)
        {
            session.Resume();
        }

        Volatile.Write(ref _tickPaused, 0);
    }

    /// <summary>
    /// Another process serves the parked connections now (or this one again, through <see cref="ImportPools"/> and <see cref="ImportSession"/>): each ends
    /// without a word to its peer, its connection released by <paramref name="release"/>. Sessions that could not
    /// move stay parked until the process stops.
    /// </summary>
    internal static void EndHandedOver(EngineParking parking, Func<ProxyConnection, ValueTask> release)
    {
        foreach (var pool in parking.Pools)
        {
            pool.Upstream.HandedOver(release);
        }

        foreach (var session in parking.Sessions)
        {
            session.Session.HandedOver(release);
        }
    }

    /// <summary>Lets the tick run again (after a handover to this same process).</summary>
    internal void ResumeTick() => Volatile.Write(ref _tickPaused, 0);

    /// <summary>
    /// Takes the handed-over pool connections (before <see cref="Start"/>: the pools begin on them instead of dialling;
    /// or while running, when a failed handover gives this process its own connections back).
    /// <paramref name="connections"/> is parallel to <see cref="TakeoverState.Pools"/>; a null entry did not move. A
    /// pool that is no longer configured is not taken (its connection is closed).
    /// </summary>
    internal void ImportPools(TakeoverState state, IReadOnlyList<ProxyConnection?> connections, IReadOnlyList<UpstreamConnection?>? replacing = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        UpstreamJob.ContinueFrom(state.NextJobId);
        for (var i = 0; i < state.Pools.Count; i++)
        {
            if (connections[i] is not { } connection)
            {
                continue;
            }

            var pool = state.Pools[i];
            PoolRuntime? runtime;
            lock (_poolsLock)
            {
                _pools.TryGetValue(pool.Pool, out runtime);
            }

            if (runtime is not null)
            {
                _adopted[i] = runtime.Adopt(connection, pool, replacing?[i]);
            }
            else if (Options.Pools.Any(p => string.Equals(p.Name, pool.Pool, StringComparison.Ordinal) && p.Mode == PoolMode.Aggregating))
            {
                // Not started yet: AddPool takes it.
                if (!_adoptions.TryGetValue(pool.Pool, out var list))
                {
                    _adoptions[pool.Pool] = list = [];
                }

                list.Add((connection, pool, i));
            }
            else
            {
                Log.TakeoverPoolDropped(_logger, pool.Pool);
                _ = connection.DisposeAsync().AsTask();
            }
        }
    }

    /// <summary>
    /// Restores one handed-over miner session (after <see cref="ImportPools"/>); the caller runs it. Its pool
    /// connection is the one handed with it; a miner whose pool connection did not move is placed by routing.
    /// </summary>
    internal MinerSession ImportSession(SessionState state, ProxyConnection connection, ListenerOptions listener)
    {
        ArgumentNullException.ThrowIfNull(state);
        var upstream = state.Pool is { } index && _adopted.TryGetValue(index, out var adopted) ? adopted : null;
        var session = new MinerSession(connection, listener, Sessions, state, upstream);
        _sessions[session.Id] = session;
        return session;
    }

    /// <summary>
    /// Takes a session that was handed back to this process (a new session object serves its miner now) out of the
    /// routing table at once, instead of when its own loop ends: the tick that resumes sees only the sessions that
    /// serve.
    /// </summary>
    internal void Forget(MinerSession session) => _sessions.TryRemove(KeyValuePair.Create(session.Id, session));

    private void TakeAdoptions(PoolRuntime runtime)
    {
        if (_adoptions.Remove(runtime.Options.Name, out var list))
        {
            foreach (var (connection, state, index) in list)
            {
                _adopted[index] = runtime.Adopt(connection, state);
            }
        }
    }
}
