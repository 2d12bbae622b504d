using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Routing;

/// <summary>
/// Accepts miners on every configured listener: bind (fails fast on a bad or busy address), accept, wrap, run the
/// session, always dispose. Enforces the connection cap before a session is created, and drains sessions on stop.
/// </summary>
public sealed class MinerListener : IAsyncDisposable, MinerSession.ISessionRunner
{
    private readonly ProxyEngine _engine;
    private readonly ILogger _logger;
    private readonly IConnectionListenerFactory _transport;
    private readonly List<(ListenerOptions Options, IConnectionListener Listener)> _bound = [];
    // Every session running (a session's hash code is its identity): disposing the listener stops each one. The sessions
    // run without the stopping token, so an idle one holds no registration on it (80 bytes a session). A set under a
    // lock rather than a concurrent dictionary of the sessions' tasks: a session costs the set about 28 bytes (measured
    // at 10,000) where the dictionary's node and bucket cost about 75, and sessions come and go far less often than
    // they are served. Who waits for the sessions to end waits on _allEnded, completed when the set empties.
    private readonly HashSet<MinerSession> _running = [];
    private readonly Lock _runningLock = new();
    private TaskCompletionSource? _allEnded;
    private bool _stoppingSessions;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _acceptLoops = [];
    private readonly IpConnectionLimiter _perAddress;
    private readonly DescriptorBudget _descriptors;
    private int _connections;
    private int _disposed;

    /// <summary>Creates the listener set for an engine, on sockets unless another transport is given.</summary>
    public MinerListener(ProxyEngine engine, ILogger logger, IConnectionListenerFactory? transport = null)
    {
        _engine = engine;
        _logger = logger;
        _transport = transport ?? SocketListenerFactory.Instance;
        _perAddress = new IpConnectionLimiter(engine.Time);
        _descriptors = new DescriptorBudget(engine.Time);
        engine.Sessions.SourceAdmission = session =>
        {
            if (!AdmitAddress(session.Listener, session.RemoteEndPoint, out var held))
            {
                return false;
            }

            session.HeldAddress = held;
            return true;
        };
    }

    /// <summary>Connections open now from <paramref name="address"/> (as the per-address limit counts them).</summary>
    public int ConnectionsFrom(IPAddress address) => _perAddress.OpenFrom(address);

    /// <summary>The addresses actually bound (port 0 resolved), in listener order.</summary>
    public IReadOnlyList<IPEndPoint> Endpoints => [.. _bound.Select(b => b.Listener.LocalEndPoint).OfType<IPEndPoint>()];

    /// <summary>Miner connections open now.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>
    /// Binds every listener; throws with the endpoint named when one cannot be bound. A listener found in
    /// <paramref name="adopted"/> (by name: a socket handed over by the process that ran before) is taken as it is.
    /// </summary>
    public void Bind(IEnumerable<ListenerOptions> listeners, IReadOnlyDictionary<string, IConnectionListener>? adopted = null)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        foreach (var listener in listeners)
        {
            if (adopted is not null && adopted.TryGetValue(listener.Name, out var taken))
            {
                _bound.Add((listener, taken));
                Log.Listening(_logger, listener.Name, taken.LocalEndPoint.ToString()!, listener.PoolGroup);
                continue;
            }

            if (!EndpointParser.TryParse(listener.Endpoint, out var endpoint, out var reason))
            {
                throw new InvalidOperationException($"Listener '{listener.Name}': {reason}");
            }

            try
            {
                var bound = _transport.Bind(endpoint);
                _bound.Add((listener, bound));
                Log.Listening(_logger, listener.Name, bound.LocalEndPoint.ToString()!, listener.PoolGroup);
            }
            catch (SocketException ex)
            {
                throw new InvalidOperationException($"Listener '{listener.Name}' cannot bind {listener.Endpoint}: {ex.SocketErrorCode} ({ex.Message})", ex);
            }
        }
    }

    /// <summary>Starts the accept loops.</summary>
    public void Start()
    {
        _accepting = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        foreach (var (options, bound) in _bound)
        {
            _acceptLoops.Add(AcceptLoopAsync(options, bound, _accepting.Token));
        }
    }

    private CancellationTokenSource? _accepting;

    /// <summary>The bound listeners, in listener order (a handover hands their sockets on).</summary>
    internal IReadOnlyList<(ListenerOptions Options, IConnectionListener Listener)> Bound => _bound;

    /// <summary>
    /// Stops accepting for a while (a handover): the listening sockets stay open, so connections that arrive meanwhile
    /// wait in the kernel's backlog for whichever process accepts next.
    /// </summary>
    internal async Task PauseAcceptingAsync()
    {
        if (_accepting is { } accepting)
        {
            await accepting.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        _acceptLoops.Clear();
        _accepting?.Dispose();
        _accepting = null;
    }

    /// <summary>
    /// Listens on listeners taken back after a handover that failed once their sockets had been handed (a detached
    /// listener accepts nothing more): one per bound listener, in order; a null one could not be taken back and is
    /// dropped (bind it again with <see cref="BindAgain"/>).
    /// </summary>
    internal void ReplaceListeners(IReadOnlyList<IConnectionListener?> listeners)
    {
        var count = Math.Min(_bound.Count, listeners.Count);
        for (var i = count - 1; i >= 0; i--)
        {
            if (listeners[i] is { } listener)
            {
                _bound[i] = (_bound[i].Options, listener);
            }
            else
            {
                _bound.RemoveAt(i);
            }
        }
    }

    /// <summary>
    /// Binds a listener dropped by <see cref="ReplaceListeners"/> again and, when this set accepts, accepts on it.
    /// Throws as <see cref="Bind"/> does.
    /// </summary>
    internal void BindAgain(ListenerOptions listener)
    {
        var before = _bound.Count;
        Bind([listener]);
        if (_accepting is { } accepting && _bound.Count > before)
        {
            var (options, bound) = _bound[^1];
            _acceptLoops.Add(AcceptLoopAsync(options, bound, accepting.Token));
        }
    }

    /// <summary>Accepts again after <see cref="PauseAcceptingAsync"/> (the handover did not happen).</summary>
    internal void ResumeAccepting()
    {
        if (_accepting is null && Volatile.Read(ref _disposed) == 0)
        {
            Start();
        }
    }

    /// <summary>Runs a session handed over by another process (counted as if it had been accepted here).</summary>
    internal void RunImported(MinerSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        Interlocked.Increment(ref _connections);
        if (session.RemoteEndPoint is IPEndPoint { Address: var address } && _perAddress.TryAcquire(address, int.MaxValue, TimeSpan.Zero) == IpAdmission.Admitted)
        {
            session.HeldAddress = address;
        }

        _engine.Metrics.MinerConnections.WithLabels(session.Listener.Name).Inc();
        Run(session);
    }

    private async Task AcceptLoopAsync(ListenerOptions listener, IConnectionListener bound, CancellationToken accepting)
    {
        var admission = new Admission(this, listener);
        while (await bound.AcceptAsync(_engine.Options.Miners.MaxLineLength, admission, accepting).ConfigureAwait(false) is { } connection)
        {
            OnAccepted(listener, connection);
        }
    }

    /// <summary>The connection cap, checked before anything is allocated for the miner.</summary>
    private sealed class Admission(MinerListener owner, ListenerOptions listener) : IConnectionAdmission
    {
        /// <summary>How long the listener waits after an accept that failed for want of descriptors or memory.</summary>
        private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(100);

        /// <summary>How often failed accepts and refusals for want of descriptors are logged while they go on (each is counted).</summary>
        private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(10);

        private Occurrences _acceptFailures = new();
        private Occurrences _descriptorRefusals = new();

        /// <summary>Two in passthrough mode (each miner has its own pool connection), else one.</summary>
        private int DescriptorsPerMiner()
        {
            foreach (var pool in owner._engine.Options.Pools)
            {
                if (pool.Mode == PoolMode.Passthrough)
                {
                    return 2;
                }
            }

            return 1;
        }

        public bool TryAdmit(EndPoint? remote)
        {
            var max = owner._engine.Options.Miners.MaxConnections;
            var connections = Interlocked.Increment(ref owner._connections);
            if (connections <= max && owner._descriptors.TryAdmit(connections - 1, DescriptorsPerMiner()))
            {
                return true;
            }

            if (connections <= max)
            {
                Interlocked.Decrement(ref owner._connections);
                owner._engine.Metrics.MinerConnectionsRefused.WithLabels(listener.Name, "descriptor_limit").Inc();
                if (_descriptorRefusals.Report(owner._engine.Time, ReportEvery) is { } refused)
                {
                    // A storm of refusals is one line every 10 s with their number.
                    var (limit, open) = owner._descriptors.Last;
                    Log.ConnectionRefused(owner._logger, remote?.ToString(), listener.Name, $"the open-file limit {limit} is nearly reached (about {open} open, the last {DescriptorBudget.Reserve} kept for the process; {refused} miners refused since the last report): raise it (ulimit -n, systemd LimitNOFILE)");
                }

                return false;
            }

            Interlocked.Decrement(ref owner._connections);
            owner._engine.Metrics.MinerConnectionsRefused.WithLabels(listener.Name, "connection_limit").Inc();
            Log.ConnectionRefused(owner._logger, remote?.ToString(), listener.Name, $"connection limit {max} reached");
            return false;
        }

        public void Release() => Interlocked.Decrement(ref owner._connections);

        /// <summary>
        /// Something that may happen many times a second, logged at most once every interval with how many times it
        /// happened since (the first at once). Used by the one accept loop of the listener.
        /// </summary>
        private struct Occurrences()
        {
            private long _reported = -1;
            private int _since;

            /// <summary>Counts one; the count to log when a report is due (then starts again), else null.</summary>
            public int? Report(TimeProvider time, TimeSpan every)
            {
                _since++;
                var now = time.GetTimestamp();
                if (_reported >= 0 && time.GetElapsedTime(_reported, now) < every)
                {
                    return null;
                }

                _reported = now;
                var count = _since;
                _since = 0;
                return count;
            }
        }

        public async ValueTask AcceptFailedAsync(System.Net.Sockets.SocketException error, CancellationToken cancellationToken)
        {
            owner._engine.Metrics.MinerConnectionsRefused.WithLabels(listener.Name, "accept_failed").Inc();
            if (_acceptFailures.Report(owner._engine.Time, ReportEvery) is { } failures)
            {
                Log.AcceptFailed(owner._logger, listener.Name, error.SocketErrorCode.ToString(), error.Message, failures);
            }

            await Task.Delay(AcceptRetryDelay, owner._engine.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The per-address limit (Proxy:Limits): true takes one connection for the peer's address, held until the session
    /// ends. On a PROXY-protocol listener it is asked once the header names the peer, so HAProxy's own address never
    /// counts; elsewhere at accept, before a session exists.
    /// </summary>
    private bool AdmitAddress(ListenerOptions listener, EndPoint? remote, out IPAddress? held)
    {
        held = null;
        if (remote is not IPEndPoint { Address: var address })
        {
            return true;
        }

        var limits = _engine.Options.Limits;
        var ban = TimeSpan.FromSeconds(limits.BanSeconds);
        var verdict = _perAddress.TryAcquire(address, limits.MaxConnectionsPerIp, ban);
        if (verdict == IpAdmission.Admitted)
        {
            held = address;
            return true;
        }

        var metrics = _engine.Metrics;
        if (verdict == IpAdmission.OverLimit && ban > TimeSpan.Zero)
        {
            metrics.MinerIpBans.Inc();
            Log.AddressBanned(_logger, address.ToString(), limits.MaxConnectionsPerIp, listener.Name, limits.BanSeconds);
        }

        var reason = verdict == IpAdmission.Banned ? "ip_banned" : "ip_limit";
        metrics.MinerConnectionsRefused.WithLabels(listener.Name, reason).Inc();
        Log.AddressRefused(_logger, address.ToString(), listener.Name, reason);
        return false;
    }

    private void OnAccepted(ListenerOptions listener, ProxyConnection connection)
    {
        var metrics = _engine.Metrics;
        IPAddress? held = null;
        if (listener.ProxyProtocol == ProxyProtocolMode.None && !AdmitAddress(listener, connection.RemoteEndPoint, out held))
        {
            Interlocked.Decrement(ref _connections);
            _ = connection.DisposeAsync().AsTask();
            return;
        }

        var session = new MinerSession(connection, listener, _engine.Sessions);
        session.HeldAddress = held;

        metrics.MinerConnections.WithLabels(listener.Name).Inc();
        metrics.MinerConnectionsTotal.WithLabels(listener.Name).Inc();
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            var remote = connection.RemoteEndPoint?.ToString();
            Log.MinerConnected(_logger, session.Id, remote, listener.Name);
        }
        _engine.Track(session);
        Run(session);
    }

    // The session joins the set before it runs, so it cannot end (and leave the set) before it was added. Its task is
    // not kept: it never faults (the session hands a fault to OnFaulted), and its end is heard in OnEnded.
    private void Run(MinerSession session)
    {
        bool stopping;
        lock (_runningLock)
        {
            _running.Add(session);
            stopping = _stoppingSessions;
        }

        if (stopping)
        {
            // Disposal has already stopped the sessions it found and waits for every one: one joining now (handed back
            // to this process meanwhile) is stopped too, or the wait would last as long as its miner stays.
            session.Stop("proxy stopping");
        }

        _ = session.RunAsync(this);
    }

    void MinerSession.ISessionRunner.OnFaulted(MinerSession session, Exception exception) => Log.SessionFaulted(_logger, session.Id, exception);

    void MinerSession.ISessionRunner.OnEnded(MinerSession session)
    {
        try
        {
            if (session.HeldAddress is { } address)
            {
                session.HeldAddress = null;
                _perAddress.Release(address);
            }

            Interlocked.Decrement(ref _connections);
            _engine.Metrics.MinerConnections.WithLabels(session.Listener.Name).Dec();
            _engine.OnClosed(session, lastPool: null);
        }
        finally
        {
            // Whatever the above did, the session has ended: who waits for the sessions must not wait for it.
            lock (_runningLock)
            {
                _running.Remove(session);
                if (_running.Count == 0 && _allEnded is { } allEnded)
                {
                    _allEnded = null;
                    allEnded.TrySetResult();
                }
            }
        }
    }

    /// <summary>Stops accepting (closes the listening sockets); the open sessions carry on.</summary>
    public async Task StopAcceptingAsync()
    {
        foreach (var (_, bound) in _bound)
        {
            await bound.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
    }

    /// <summary>
    /// Completes when every session open now has ended (call after <see cref="StopAcceptingAsync"/>; a session that starts
    /// meanwhile, one handed over to this process, is waited for too).
    /// </summary>
    public Task SessionsEndedAsync()
    {
        lock (_runningLock)
        {
            return _running.Count == 0 ? Task.CompletedTask : (_allEnded ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    /// <summary>Stops accepting, closes every session and waits for them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var (_, bound) in _bound)
        {
            await bound.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        MinerSession[] running;
        lock (_runningLock)
        {
            _stoppingSessions = true;
            running = [.. _running];
        }

        foreach (var session in running)
        {
            // Closed, and nothing more written: what is still queued for the miner is dropped.
            session.Stop("proxy stopping");
        }

        await SessionsEndedAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
