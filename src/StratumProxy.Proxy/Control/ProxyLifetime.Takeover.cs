using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Routing;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Transport;
using StratumProxy.Proxy.Upstream;

namespace StratumProxy.Proxy.Control;

/// <summary>What a new process took over.</summary>
/// <param name="ProcessId">The process that handed over.</param>
/// <param name="Sessions">Miner sessions taken.</param>
/// <param name="Pools">Pool connections taken.</param>
/// <param name="Listeners">Listening sockets taken.</param>
public sealed record TakeoverResult(int ProcessId, int Sessions, int Pools, int Listeners);

/// <summary>The other side refused or broke off a takeover.</summary>
public sealed class TakeoverException(string message, Exception? inner = null) : InvalidOperationException(message, inner)
{
    /// <summary>True when the running process said no (it keeps serving; counted as <c>result="refused"</c>).</summary>
    public bool RefusedByRunningProcess { get; init; }
}

public sealed partial class ProxyLifetime
{
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _handover = new(1, 1);
    private readonly Lock _reloadGate = new();
    private Func<bool>? _deferredReload;
    private int _handedOver;

    /// <summary>True once this process has handed its connections to another one (it only exits from here on).</summary>
    public bool HandedOver => Volatile.Read(ref _handedOver) != 0;

    /// <summary>
    /// Runs when a handover is agreed, before the new process is told to go on (the host stops its curtailment loop
    /// here, so the two processes never command rigs at once).
    /// </summary>
    public Func<Task>? HandingOver { get; set; }

    /// <summary>
    /// Runs a configuration reload (<paramref name="reload"/>, true when it applied) unless an upgrade handover is under
    /// way. Then it returns null and the reload runs once the handover ends with this process still serving (the last
    /// one deferred; none once this process has handed over: the new process read the configuration at its start). A
    /// handover does not start while a reload runs.
    /// </summary>
    public bool? ReloadUnlessHandingOver(Func<bool> reload)
    {
        ArgumentNullException.ThrowIfNull(reload);
        lock (_reloadGate)
        {
            if (HandedOver || !_handover.Wait(0))
            {
                _deferredReload = HandedOver ? null : reload;
                return null;
            }
        }

        try
        {
            return reload();
        }
        finally
        {
            _handover.Release();
        }
    }

    /// <summary>
    /// The running side of a takeover, over one connection from the new process: checks its state format (a mismatch
    /// is refused and nothing changes), stops accepting, parks every session and waits (up to
    /// <paramref name="quiesce"/>) until every forwarded share is answered, then sends the listeners, the pool
    /// connections and the sessions with their state. True when the new process confirmed: every handed connection is
    /// then its own, and this process must exit without closing any. False when it refused, went away or was not
    /// quiet in time: this process keeps serving every connection, taking back those already handed.
    /// </summary>
    public async Task<bool> HandOverAsync(IHandoverChannel channel, IConnectionMover mover, TimeSpan quiesce, TimeSpan confirmTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(mover);
        if (Volatile.Read(ref _state) != 1 || HandedOver || IsDraining || !await _handover.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            await TrySendAsync(channel, Refusal("this process is not serving, or another takeover or a configuration reload is under way"), cancellationToken).ConfigureAwait(false);
            return false;
        }

        try
        {
            var hello = await ReceiveMessageAsync(channel, confirmTimeout, cancellationToken).ConfigureAwait(false);
            if (hello is not { Kind: "hello" } || hello.Format != TakeoverState.CurrentFormat)
            {
                var reason = hello is { Kind: "hello" }
                    ? $"the new process reads state format {hello.Format}, this one writes format {TakeoverState.CurrentFormat}"
                    : "the new process did not introduce itself";
                Log.TakeoverRefused(_logger, reason);
                _engine.Metrics.Takeovers.WithLabels("old", "refused").Inc();
                await TrySendAsync(channel, Refusal(reason), cancellationToken).ConfigureAwait(false);
                return false;
            }

            return await HandOverCoreAsync(channel, mover, hello.ProcessId, quiesce, confirmTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TakeoverException or IOException or JsonException or TimeoutException or OperationCanceledException)
        {
            Log.TakeoverRefused(_logger, ex.Message);
            _engine.Metrics.Takeovers.WithLabels("old", "refused").Inc();
            return false;
        }
        finally
        {
            Func<bool>? deferred;
            lock (_reloadGate)
            {
                _handover.Release();
                deferred = _deferredReload;
                _deferredReload = null;
            }

            if (deferred is not null && !HandedOver)
            {
                ReloadUnlessHandingOver(deferred);
            }
        }
    }

    private async Task<bool> HandOverCoreAsync(IHandoverChannel channel, IConnectionMover mover, int newProcess, TimeSpan quiesce, TimeSpan confirmTimeout, CancellationToken cancellationToken)
    {
        await _listener.PauseAcceptingAsync().ConfigureAwait(false);
        var parking = new EngineParking();
        Log.TakeoverParking(_logger, _engine.MinerSessions.Count, quiesce);
        try
        {
            await _engine.ParkAsync(mover.CanMove, quiesce, parking, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or OperationCanceledException)
        {
            _engine.ResumeParked(parking);
            _listener.ResumeAccepting();
            Log.TakeoverRefused(_logger, ex.Message);
            _engine.Metrics.Takeovers.WithLabels("old", "refused").Inc();
            await TrySendAsync(channel, Refusal(ex.Message), cancellationToken).ConfigureAwait(false);
            return false;
        }

        if (parking.LeftBehind.Count > 0)
        {
            _engine.Metrics.TakeoverConnectionsClosed.WithLabels("old", "miner").Inc(parking.LeftBehind.Count);
            Log.TakeoverMinersLeftBehind(_logger, parking.LeftBehind.Count, quiesce, ProxyEngine.Describe(parking.LeftBehind));
        }

        var handles = new List<SafeHandle>();
        var listenerHandles = new List<SafeHandle>();
        var pools = new MovedConnection?[parking.Pools.Count];
        var sessions = new MovedConnection?[parking.Sessions.Count];
        TakeoverState state;
        try
        {
            List<ListenerState> listeners = [];
            foreach (var (options, listener) in _listener.Bound)
            {
                listeners.Add(new ListenerState(options.Name, listener.LocalEndPoint.ToString()!, handles.Count));
                var handle = mover.DetachListener(listener);
                listenerHandles.Add(handle);
                handles.Add(handle);
            }

            var poolStates = await DetachAllAsync(parking.Pools, p => p.Upstream.Connection, pools, static (p, handle, unread) => p.State with { Handle = handle, UnreadInput = unread }).ConfigureAwait(false);
            var sessionStates = await DetachAllAsync(parking.Sessions, s => s.Session.Connection, sessions, static (s, handle, unread) => s.State with { Handle = handle, UnreadInput = unread }).ConfigureAwait(false);

            state = new TakeoverState
            {
                ProcessId = Environment.ProcessId,
                NextJobId = UpstreamJob.NextId,
                Listeners = listeners,
                Pools = poolStates,
                Sessions = sessionStates,
            };
            await channel.SendAsync(state.ToUtf8(), handles, cancellationToken).ConfigureAwait(false);
            var reply = await ReceiveMessageAsync(channel, confirmTimeout, cancellationToken).ConfigureAwait(false);
            if (reply is not { Kind: "confirmed" })
            {
                throw new TakeoverException(reply?.Reason ?? "the new process did not confirm");
            }
        }
        catch (Exception ex) when (ex is TakeoverException or IOException or JsonException or TimeoutException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            var (failedMiners, failedPools, failure) = TakeBack(parking, mover, pools, sessions);

            // A detached listener accepts nothing more: listen on the descriptors that would have gone. One that cannot
            // be taken back is closed and bound again once the new process has closed its copy (below).
            var lost = TakeBackListeners(mover, listenerHandles);
            var metrics = _engine.Metrics;
            metrics.Takeovers.WithLabels("old", failedMiners + failedPools + lost.Count == 0 ? "taken_back" : "take_back_failed").Inc();
            if (failedMiners + failedPools > 0)
            {
                metrics.TakeoverConnectionsClosed.WithLabels("old", "miner").Inc(failedMiners);
                metrics.TakeoverConnectionsClosed.WithLabels("old", "pool").Inc(failedPools);
                Log.TakeoverTakeBackFailed(_logger, failedMiners, failedPools, failure ?? "unknown");
            }

            metrics.TakeoverConnectionsClosed.WithLabels("old", "listener").Inc(lost.Count);
            _listener.ResumeAccepting();
            Log.TakeoverTakenBack(_logger, ex.Message);
            await TrySendAsync(channel, Refusal(ex.Message), CancellationToken.None).ConfigureAwait(false);
            foreach (var (listener, endpoint, reason) in lost)
            {
                await BindAgainAsync(listener, endpoint, reason, confirmTimeout, cancellationToken).ConfigureAwait(false);
            }

            return false;
        }

        // Agreed: from here on every handed connection is the new process's.
        Volatile.Write(ref _handedOver, 1);
        ProxyEngine.EndHandedOver(parking, mover.ReleaseAsync);

        // The handed sessions are the new process's now: they leave this one's routing table and views at once, not
        // when each one's end has run (as a session taken back does).
        foreach (var parked in parking.Sessions)
        {
            _engine.Forget(parked.Session);
        }
        if (HandingOver is { } handingOver)
        {
            try
            {
                await handingOver().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.TakeoverRefused(_logger, "stopping before the handover: " + ex.Message);
            }
        }

        await TrySendAsync(channel, new TakeoverMessage("go", TakeoverState.CurrentFormat, null, Environment.ProcessId), cancellationToken).ConfigureAwait(false);
        _engine.Metrics.Takeovers.WithLabels("old", "handed").Inc();
        Log.HandedOver(_logger, newProcess, state.Sessions.Count, state.Pools.Count, state.Listeners.Count);
        return true;

        // Takes each parked connection out of its transport, in order: its descriptor goes next in the list sent (the
        // state names it by that index, with the bytes not read yet), and the move is kept for a take-back.
        async Task<List<TState>> DetachAllAsync<TParked, TState>(IReadOnlyList<TParked> parked, Func<TParked, ProxyConnection> connection, MovedConnection?[] moves, Func<TParked, int, byte[], TState> handed)
        {
            List<TState> states = [];
            for (var i = 0; i < parked.Count; i++)
            {
                var moved = await mover.DetachAsync(connection(parked[i]), cancellationToken).ConfigureAwait(false);
                moves[i] = moved;
                states.Add(handed(parked[i], handles.Count, moved.UnreadInput));
                handles.Add(moved.Handle);
            }

            return states;
        }
    }

    /// <summary>
    /// Listens again on the listening sockets detached for a handover that failed (one per bound listener, in order):
    /// returns those whose descriptor could not be adopted again (it is closed; they are no longer bound).
    /// </summary>
    private List<(ListenerOptions Listener, string Endpoint, string Reason)> TakeBackListeners(IConnectionMover mover, List<SafeHandle> handles)
    {
        var taken = new IConnectionListener?[handles.Count];
        List<(ListenerOptions, string, string)> lost = [];
        for (var i = 0; i < handles.Count; i++)
        {
            try
            {
                taken[i] = mover.AdoptListener(handles[i]);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                handles[i].Dispose();
                var (options, listener) = _listener.Bound[i];
                lost.Add((options, listener.LocalEndPoint.ToString() ?? options.Endpoint, ex.Message));
            }
        }

        if (handles.Count > 0)
        {
            _listener.ReplaceListeners(taken);
        }

        return lost;
    }

    /// <summary>
    /// Binds a listener that could not be taken back after a failed handover. The new process may still hold a copy of
    /// the socket until it reads the refusal: while the address is in use this tries again every
    /// <see cref="BindRetryInterval"/> for up to <paramref name="limit"/>. Logged either way; when it cannot bind, the
    /// miners already connected are served on and new ones cannot connect on that listener until the process restarts.
    /// </summary>
    private async Task BindAgainAsync(ListenerOptions listener, string endpoint, string reason, TimeSpan limit, CancellationToken cancellationToken)
    {
        var started = _engine.Time.GetTimestamp();
        while (true)
        {
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var retry = Task.Delay(BindRetryInterval, _engine.Time, waiting.Token);
            var waited = _engine.Time.GetElapsedTime(started);
            try
            {
                _listener.BindAgain(listener);
                await waiting.CancelAsync().ConfigureAwait(false);
                Log.TakeoverListenerNotTakenBack(_logger, listener.Name, endpoint, reason, "it is bound fresh");
                return;
            }
            catch (InvalidOperationException ex)
            {
                var inUse = ex.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse };
                if (!inUse || waited >= limit)
                {
                    Log.TakeoverListenerNotTakenBack(_logger, listener.Name, endpoint, reason, $"binding it fresh failed too ({ex.Message}): the miners connected are served on, new miners cannot connect on it until this process restarts");
                    return;
                }
            }

            try
            {
                await retry.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Log.TakeoverListenerNotTakenBack(_logger, listener.Name, endpoint, reason, "this process is stopping");
                return;
            }
        }
    }

    /// <summary>
    /// A handover that failed after connections left their transports: this process adopts its own descriptors again
    /// (as the new process would have), and every connection that did not leave reads on.
    /// </summary>
    private (int FailedMiners, int FailedPools, string? Failure) TakeBack(EngineParking parking, IConnectionMover mover, MovedConnection?[] pools, MovedConnection?[] sessions)
    {
        var failedMiners = 0;
        var failedPools = 0;
        string? failure = null;
        var taken = new HashSet<MinerSession>();
        var poolsDone = false;
        try
        {
            var adoptedPools = new ProxyConnection?[pools.Length];
            var replacing = new UpstreamConnection?[pools.Length];
            for (var i = 0; i < pools.Length; i++)
            {
                if (pools[i] is { } moved)
                {
                    adoptedPools[i] = mover.AdoptPool(moved.Handle, moved.UnreadInput, _engine.PoolMaxLineLength);
                    replacing[i] = parking.Pools[i].Upstream;
                }
            }

            var state = new TakeoverState { NextJobId = UpstreamJob.NextId, Pools = [.. parking.Pools.Select(p => p.State)] };
            _engine.ImportPools(state, adoptedPools, replacing);
            for (var i = 0; i < parking.Pools.Count; i++)
            {
                if (pools[i] is not null)
                {
                    parking.Pools[i].Upstream.HandedOver(mover.ReleaseAsync);
                }
                else
                {
                    parking.Pools[i].Upstream.Resume();
                }
            }

            poolsDone = true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The pools' connections cannot be trusted any more: close them; the engine dials the pools again.
            failure = ex.Message;
            for (var i = 0; i < parking.Pools.Count; i++)
            {
                if (pools[i] is { } moved)
                {
                    moved.Handle.Dispose();
                    failedPools++;
                }

                parking.Pools[i].Upstream.Resume();
                parking.Pools[i].Upstream.Close("takeover take-back failed");
            }
        }

        for (var i = 0; i < parking.Sessions.Count; i++)
        {
            if (sessions[i] is not { } moved)
            {
                continue;
            }

            var old = parking.Sessions[i].Session;
            taken.Add(old);
            ProxyConnection? connection = null;
            try
            {
                if (!poolsDone)
                {
                    throw new InvalidOperationException("its pool connection could not be taken back");
                }

                connection = mover.AdoptMiner(moved.Handle, moved.UnreadInput, _engine.Options.Miners.MaxLineLength);
                var session = _engine.ImportSession(parking.Sessions[i].State, connection, old.Listener);
                old.HandedOver(mover.ReleaseAsync);
                _engine.Forget(old);
                _listener.RunImported(session);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Closed rather than leaked: the miner sees its connection end and reconnects.
                failure ??= ex.Message;
                failedMiners++;
                if (connection is not null)
                {
                    _ = connection.DisposeAsync().AsTask();
                }

                moved.Handle.Dispose();
                old.Close("takeover take-back failed");
            }
        }

        foreach (var upstream in parking.ParkedUpstreams.Where(u => !parking.Pools.Any(p => p.Upstream == u)))
        {
            upstream.Resume();
        }

        foreach (var session in parking.ParkedSessions.Where(s => !taken.Contains(s)))
        {
            session.Resume();
        }

        _engine.ResumeTick();
        return (failedMiners, failedPools, failure);
    }

    /// <summary>
    /// The new side of a takeover, instead of <see cref="Start"/>: introduces itself with its state format, receives
    /// the listeners, pool connections and sessions of the running process, confirms, and once told to go on adopts
    /// them all and serves (listeners and pools that are configured here but were not handed are bound and dialled as
    /// on a start). Throws <see cref="TakeoverException"/> when the running process refused (it keeps serving).
    /// </summary>
    public async Task<TakeoverResult> TakeOverAsync(IHandoverChannel channel, IConnectionMover mover, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(mover);
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The proxy has been started before.");
        }

        var letGo = new StrongBox<bool>();
        try
        {
            return await TakeOverCoreAsync(channel, mover, timeout, letGo, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Counted and logged once, whatever failed: this process does not serve (its start fails, exit code 1).
            var refused = ex is TakeoverException { RefusedByRunningProcess: true };
            _engine.Metrics.Takeovers.WithLabels("new", refused ? "refused" : "failed").Inc();
            Log.TakeoverFailed(_logger, ex.Message, letGo.Value
                ? "the running process had let go: the connections it handed are closed and this process does not start (start it again without --takeover)"
                : "the running process keeps serving; this process does not start");
            throw;
        }
    }

    private async Task<TakeoverResult> TakeOverCoreAsync(IHandoverChannel channel, IConnectionMover mover, TimeSpan timeout, StrongBox<bool> letGo, CancellationToken cancellationToken)
    {
        await channel.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new TakeoverMessage("hello", TakeoverState.CurrentFormat, null, Environment.ProcessId), TakeoverJsonContext.Default.TakeoverMessage), [], cancellationToken).ConfigureAwait(false);
        var (payload, handles) = await ReceiveAsync(channel, timeout, cancellationToken).ConfigureAwait(false);
        if (ReadMessage(payload) is { Kind: "refused" } refused)
        {
            throw new TakeoverException($"the running process refused: {refused.Reason}") { RefusedByRunningProcess = true };
        }

        var state = TakeoverState.Read(payload, out var error);
        var reason = state is null ? error ?? "the state is not valid" : Unusable(state, handles, mover);
        if (state is null || reason is not null)
        {
            reason ??= "the state is not valid";
            await TrySendAsync(channel, Refusal(reason), cancellationToken).ConfigureAwait(false);
            DisposeAll(handles);
            throw new TakeoverException(reason);
        }

        await channel.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new TakeoverMessage("confirmed", TakeoverState.CurrentFormat, null, Environment.ProcessId), TakeoverJsonContext.Default.TakeoverMessage), [], cancellationToken).ConfigureAwait(false);
        var go = await ReceiveMessageAsync(channel, timeout, cancellationToken).ConfigureAwait(false);
        if (go is not { Kind: "go" })
        {
            // The running process took its connections back: ours are copies, closed without a word to the peers.
            DisposeAll(handles);
            throw new TakeoverException($"the running process did not let go: {go?.Reason ?? "no answer"}") { RefusedByRunningProcess = go is { Kind: "refused" } };
        }

        letGo.Value = true;

        var listeners = new Dictionary<string, IConnectionListener>(StringComparer.Ordinal);
        foreach (var listener in state.Listeners)
        {
            if (!_engine.Options.Listeners.Any(l => string.Equals(l.Name, listener.Name, StringComparison.Ordinal)))
            {
                handles[listener.Handle].Dispose();
                continue;
            }

            try
            {
                listeners[listener.Name] = mover.AdoptListener(handles[listener.Handle]);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Not a listening socket this process can take (the bind below binds it fresh, as on a start).
                handles[listener.Handle].Dispose();
                _engine.Metrics.TakeoverConnectionsClosed.WithLabels("new", "listener").Inc();
                Log.TakeoverListenerNotAdopted(_logger, listener.Name, listener.Endpoint, ex.Message);
            }
        }

        try
        {
            await BindAfterTakeoverAsync(listeners, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            // Nothing runs yet: close what was handed (the peers reconnect) and fail the start with the bind's error.
            foreach (var listener in listeners.Values.Where(l => !_listener.Bound.Any(b => b.Listener == l)))
            {
                await listener.DisposeAsync().ConfigureAwait(false);
            }

            DisposeAll(handles);
            throw new TakeoverException($"the takeover could not listen: {ex.Message}", ex);
        }

        // From "go" on these connections are ours alone: one that cannot be adopted is closed (its peer reconnects),
        // counted and logged, and the rest are served.
        var failedPools = 0;
        var failedMiners = 0;
        string? failure = null;
        var pools = new List<ProxyConnection?>(state.Pools.Count);
        foreach (var p in state.Pools)
        {
            try
            {
                pools.Add(mover.AdoptPool(handles[p.Handle], p.UnreadInput, _engine.PoolMaxLineLength));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Not adopted: the pool is dialled as on a start, its miners are placed by routing.
                handles[p.Handle].Dispose();
                pools.Add(null);
                failedPools++;
                failure ??= ex.Message;
            }
        }

        _engine.ImportPools(state, pools);
        _engine.Start();
        var fallback = _engine.Options.Listeners[0];
        foreach (var saved in state.Sessions)
        {
            ProxyConnection? connection = null;
            try
            {
                connection = mover.AdoptMiner(handles[saved.Handle], saved.UnreadInput, _engine.Options.Miners.MaxLineLength);
                var listener = _engine.Options.Listeners.FirstOrDefault(l => string.Equals(l.Name, saved.Listener, StringComparison.Ordinal)) ?? fallback;
                _listener.RunImported(_engine.ImportSession(saved, connection, listener));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                if (connection is not null)
                {
                    _ = connection.DisposeAsync().AsTask();
                }

                handles[saved.Handle].Dispose();
                failedMiners++;
                failure ??= ex.Message;
            }
        }

        if (failedMiners + failedPools > 0)
        {
            _engine.Metrics.TakeoverConnectionsClosed.WithLabels("new", "miner").Inc(failedMiners);
            _engine.Metrics.TakeoverConnectionsClosed.WithLabels("new", "pool").Inc(failedPools);
            Log.TakeoverAdoptFailed(_logger, failedMiners, failedPools, failure ?? "unknown");
        }

        _engine.Metrics.Takeovers.WithLabels("new", failedMiners + failedPools == 0 ? "taken_over" : "taken_over_partly").Inc();

        _listener.Start();
        Log.TookOver(_logger, state.ProcessId, state.Sessions.Count, state.Pools.Count, listeners.Count);
        return new TakeoverResult(state.ProcessId, state.Sessions.Count, state.Pools.Count, listeners.Count);
    }

    /// <summary>How often a listener bound fresh after a takeover tries again while its address is still in use.</summary>
    public static readonly TimeSpan BindRetryInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Binds the configured listeners, the handed ones as adopted. A listener bound fresh may find its address still
    /// held by the old process, which lets go of it when it exits (moments after "go"): while the address is in use, it
    /// tries again every <see cref="BindRetryInterval"/> for up to <paramref name="limit"/>, then fails with the bind's
    /// error and how long it waited.
    /// </summary>
    private async Task BindAfterTakeoverAsync(Dictionary<string, IConnectionListener> adopted, TimeSpan limit, CancellationToken cancellationToken)
    {
        var started = _engine.Time.GetTimestamp();
        var logged = false;
        while (true)
        {
            // The wait is set before the attempt, so a clock moved once the attempt is seen always ends it.
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // So is the time waited: read before the attempt, a clock moved once the attempt is seen cannot change it.
            var retry = Task.Delay(BindRetryInterval, _engine.Time, waiting.Token);
            var waited = _engine.Time.GetElapsedTime(started);
            try
            {
                _listener.Bind(_engine.Options.Listeners.Where(l => !_listener.Bound.Any(b => b.Options == l)), adopted);
                await waiting.CancelAsync().ConfigureAwait(false);
                return;
            }
            catch (InvalidOperationException ex) when (ex.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse })
            {
                if (waited >= limit)
                {
                    throw new InvalidOperationException($"{ex.Message}; the address was still in use after {waited.TotalSeconds:0.#} s (is the old process still running?)", ex);
                }

                if (!logged)
                {
                    logged = true;
                    Log.TakeoverBindRetrying(_logger, ex.Message, limit);
                }

                await retry.ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Why the handed descriptors cannot be taken as the state says (each must be named exactly once, and a listener's
    /// must be a listening socket); null when they can.
    /// </summary>
    private static string? Unusable(TakeoverState state, IReadOnlyList<SafeHandle> handles, IConnectionMover mover)
    {
        var named = state.Listeners.Select(l => l.Handle).Concat(state.Pools.Select(p => p.Handle)).Concat(state.Sessions.Select(s => s.Handle)).ToList();
        if (named.Count != handles.Count || named.Any(h => h < 0 || h >= handles.Count) || named.Distinct().Count() != handles.Count)
        {
            return "the descriptors do not match the state";
        }

        return state.Listeners.FirstOrDefault(l => !mover.IsListener(handles[l.Handle])) is { } listener
            ? $"listener {listener.Name}'s descriptor is not a listening socket"
            : null;
    }

    private static TakeoverMessage Refusal(string reason) => new("refused", TakeoverState.CurrentFormat, reason, Environment.ProcessId);

    private static async Task<(byte[] Payload, IReadOnlyList<SafeHandle> Handles)> ReceiveAsync(IHandoverChannel channel, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return await channel.ReceiveAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer within {timeout.TotalSeconds:0.#} s");
        }
    }

    private static async Task<TakeoverMessage?> ReceiveMessageAsync(IHandoverChannel channel, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (payload, handles) = await ReceiveAsync(channel, timeout, cancellationToken).ConfigureAwait(false);
        DisposeAll(handles);
        return ReadMessage(payload);
    }

    /// <summary>A conversation message; null when the payload is empty, JSON <c>null</c> or not a message.</summary>
    private static TakeoverMessage? ReadMessage(byte[] payload)
    {
        try
        {
            return payload.Length == 0 ? null : JsonSerializer.Deserialize(payload, TakeoverJsonContext.Default.TakeoverMessage);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task TrySendAsync(IHandoverChannel channel, TakeoverMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await channel.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, TakeoverJsonContext.Default.TakeoverMessage), [], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // The other side has gone: nothing to tell it.
        }
    }

    private static void DisposeAll(IReadOnlyList<SafeHandle> handles)
    {
        foreach (var handle in handles)
        {
            handle.Dispose();
        }
    }
}
