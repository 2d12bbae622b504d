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
}

public sealed partial class ProxyEngine
{
    private readonly Dictionary<string, List<(ProxyConnection Connection, PoolConnectionState State, int Index)>> _adoptions = new(StringComparer.Ordinal);
    private readonly Dictionary<int, UpstreamConnection> _adopted = [];
    private int _tickPaused;

    /// <summary>
    /// The first half of a handover: the tick stops (no moves, no timeouts), every session stops handling its miner's
    /// lines (they stay unread), then, once every share already forwarded has its verdict written to its miner (within
    /// <paramref name="quiesce"/>), the movable pool connections stop reading and every parked connection describes
    /// itself. Throws <see cref="TimeoutException"/> when not quiet in time; <see cref="ResumeParked"/> undoes it all.
    /// </summary>
    internal async Task<EngineParking> ParkAsync(Func<ProxyConnection, bool> canMove, TimeSpan quiesce, EngineParking parking, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _tickPaused, 1);
        using var deadline = new CancellationTokenSource(quiesce, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        var token = linked.Token;
        try
        {
            var sessions = _sessions.Values.ToList();
            lock (parking)
            {
                parking.ParkedSessions.AddRange(sessions);
            }

            var parked = await Task.WhenAll(sessions.Select(s => s.ParkAsync(token))).ConfigureAwait(false);

            // Every submit already forwarded gets its verdict (written to its miner before the session is exported).
            var upstreams = Pools.Where(p => p.Options.Mode == PoolMode.Aggregating).SelectMany(p => p.Connections.Select(c => (Pool: p, Connection: c))).ToList();
            await Task.WhenAll(upstreams.Select(u => u.Connection.WhenNoSharesPendingAsync())).WaitAsync(token).ConfigureAwait(false);

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

            for (var i = 0; i < sessions.Count; i++)
            {
                var session = sessions[i];
                if (!parked[i] || !canMove(session.Connection))
                {
                    continue;
                }

                var state = await session.ExportAsync(token).ConfigureAwait(false);
                var pool = session.CurrentUpstream is { } up && index.TryGetValue(up, out var at) ? at : (int?)null;
                parking.Sessions.Add(new ParkedSession(session, state with { Pool = pool }));
            }

            return parking;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"not quiet within {quiesce.TotalSeconds:0.#} s: shares still awaited their pool's verdict");
        }
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
    /// Another process serves the parked connections now (or this one again, through <see cref="Import"/>): each ends
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
