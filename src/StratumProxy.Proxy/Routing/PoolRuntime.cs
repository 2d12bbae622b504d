using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Proxy.Transport;
using StratumProxy.Proxy.Upstream;

namespace StratumProxy.Proxy.Routing;

/// <summary>
/// One configured pool while the proxy runs: keeps its shared upstream connection alive (aggregating mode) with
/// jittered exponential back-off, or opens one connection per miner (passthrough), and keeps its health score.
/// </summary>
internal sealed class PoolRuntime
{
    private const int MaxRedirectsPerHour = 5;

    /// <summary>An extra connection (lane) with no miners for this long is closed.</summary>
    private static readonly TimeSpan IdleLaneTimeout = TimeSpan.FromMinutes(2);

    private readonly UpstreamContext _context;
    private readonly Queue<long> _redirects = new();
    private readonly Dictionary<long, UpstreamConnection> _dedicated = [];
    private readonly HashSet<long> _starting = [];
    private readonly Lock _lock = new();
    private readonly List<Lane> _lanes = [];
    private readonly Lane _first;
    private readonly Func<string, MinerLayout> _groupLayout;
    private readonly Action<PoolRuntime, int> _extranonce2SizeSeen;
    private CancellationToken _stopping;
    private PoolUrl _target;
    private long _passthroughRetryAt;
    private int _extranonce2Size;

    internal PoolRuntime(PoolOptions options, PoolUrl url, UpstreamContext context, FailoverOptions failover, Func<string, MinerLayout>? groupLayout = null, Action<PoolRuntime, int>? extranonce2SizeSeen = null)
    {
        Options = options;
        Url = url;
        _target = url;
        _context = context;
        Failover = failover;
        Health = new PoolHealth(new PoolHealthOptions(), context.Time);
        Configured = new MinerLayout(context.MinerPrefixSize, context.MinerExtranonce2Size);
        _groupLayout = groupLayout ?? (_ => Configured);
        _extranonce2SizeSeen = extranonce2SizeSeen ?? ((_, _) => { });
        _first = new Lane(this, requested: null);
        _lanes.Add(_first);
        _passthroughBackoff = new ReconnectBackoff(new ReconnectBackoffOptions { Base = failover.BackoffBase, Cap = failover.BackoffMax });
    }

    /// <summary>The pool's configuration.</summary>
    public PoolOptions Options { get; }

    /// <summary>The configured address.</summary>
    public PoolUrl Url { get; }

    /// <summary>Failover settings in force.</summary>
    public FailoverOptions Failover { get; internal set; }

    /// <summary>Latency, rejects and errors.</summary>
    public PoolHealth Health { get; }

    /// <summary>The configured miner layout (Proxy:Miners sizes).</summary>
    public MinerLayout Configured { get; }

    /// <summary>The first shared connection (aggregating mode), while one exists.</summary>
    public UpstreamConnection? Primary => _first.Connection;

    /// <summary>Every open shared connection (aggregating mode): the first, and those opened for more miners.</summary>
    public IReadOnlyList<UpstreamConnection> Connections
    {
        get
        {
            lock (_lock)
            {
                return [.. _lanes.Select(l => l.Connection).OfType<UpstreamConnection>()];
            }
        }
    }

    /// <summary>The pool's extranonce2 size N from its last subscribe answer (or set_extranonce); null before.</summary>
    public int? Extranonce2Size => Volatile.Read(ref _extranonce2Size) is > 0 and var n ? n : null;

    /// <summary>N as far as it is known: seen from the pool, else the configured hint, else null.</summary>
    public int? KnownExtranonce2Size => Extranonce2Size ?? Options.Extranonce2SizeHint;

    /// <summary>The last reason a connection ended or failed.</summary>
    public string? LastError { get; private set; }

    /// <summary>
    /// True when miners can be sent here now. A passthrough pool is ready unless its last dedicated connection
    /// failed and the back-off since has not run out.
    /// </summary>
    public bool IsReady => Options.Mode == PoolMode.Passthrough
        ? _context.Time.GetTimestamp() >= Volatile.Read(ref _passthroughRetryAt)
        : Primary is { State: UpstreamState.Ready };

    /// <summary>How long the pool has been ready without interruption.</summary>
    public TimeSpan ReadyFor => Options.Mode == PoolMode.Passthrough
        ? (Volatile.Read(ref _passthroughReadySince) is var since and >= 0 ? _context.Time.GetElapsedTime(since) : TimeSpan.Zero)
        : _first.ReadyFor;

    private long _passthroughReadySince = -1;
    private readonly ReconnectBackoff _passthroughBackoff;

    /// <summary>Dedicated connections (passthrough mode).</summary>
    public int DedicatedCount
    {
        get
        {
            lock (_lock)
            {
                return _dedicated.Count;
            }
        }
    }

    /// <summary>True when miners of this layout can work here: the pool's known N holds k + n (unknown N: assume so).</summary>
    public bool Fits(MinerLayout layout) => PoolSelector.Fits(KnownExtranonce2Size, layout);

    /// <summary>The pool as routing sees it now.</summary>
    internal PoolCandidate AsCandidate() =>
        new(Options.Name, Options.Group, Options.Priority, Options.Weight, Options.TargetTerahashes, IsReady, ReadyFor, KnownExtranonce2Size);

    /// <summary>Keeps the shared connection up until <paramref name="stopping"/> (aggregating mode).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        lock (_lock)
        {
            _stopping = stopping;
            _started = true;
        }

        if (Options.Mode == PoolMode.Passthrough)
        {
            // Passthrough pools connect per miner; they count as ready until a connection attempt fails.
            Volatile.Write(ref _passthroughReadySince, _context.Time.GetTimestamp());
            _context.Metrics.PoolUp.WithLabels(Options.Name).Set(1);
            return;
        }

        lock (_lock)
        {
            foreach (var lane in _lanes.Skip(1))
            {
                // Extra connections handed over by another process, adopted before the pool started.
                lane.Start(stopping);
            }
        }

        await _first.RunAsync(stopping).ConfigureAwait(false);
        Task[] others;
        lock (_lock)
        {
            others = [.. _lanes.Skip(1).Select(l => l.Task).OfType<Task>()];
        }

        await Task.WhenAll(others).ConfigureAwait(false);
    }

    /// <summary>
    /// Aggregating mode: attaches the session to a ready connection that carries its layout and has its extranonce1
    /// free. When none has, opens one more connection for that layout (up to <see cref="PoolOptions.MaxConnections"/>)
    /// and returns false: the next routing tick places the miner once it is ready.
    /// </summary>
    internal bool TryAttach(MinerSession session)
    {
        // A session being closed attaches nowhere: it must not open a connection either (one whose take-back failed
        // after a handover, closed while a routing tick still lists it, would leave an idle extra connection).
        if (session.IsClosed || session.Layout is not { } layout || !Fits(layout))
        {
            return false;
        }

        Lane[] lanes;
        lock (_lock)
        {
            lanes = [.. _lanes];
        }

        var opening = false;
        foreach (var lane in lanes)
        {
            if (lane.Connection is { State: UpstreamState.Ready } upstream && session.AttachTo(upstream))
            {
                return true;
            }

            // A lane still connecting for this layout (or not yet knowing its own) will take the miner soon.
            opening |= lane.Connection is not { State: UpstreamState.Ready } && (lane.Requested is null || lane.Requested == layout);
        }

        if (!opening)
        {
            OpenLane(layout);
        }

        return false;
    }

    /// <summary>
    /// Takes over a live pool connection another process handed over (or this one, when its handover failed after the
    /// connections had left their transports): the pool's first connection, or one more for its miner layout. Before
    /// the pool runs, or while it runs.
    /// </summary>
    internal UpstreamConnection Adopt(ProxyConnection connection, Takeover.PoolConnectionState state, UpstreamConnection? replacing = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var url = PoolUrl.TryParse(state.Url, out var parsed, out _) ? parsed : Url;
        var upstream = new UpstreamConnection(state, connection, _context, Options, url)
        {
            ChooseLayout = n => LayoutFor(_first, n),
            Extranonce2SizeChanged = n =>
            {
                Volatile.Write(ref _extranonce2Size, n);
                _extranonce2SizeSeen(this, n);
            },
            PoolVerdict = (accepted, latency) => Health.OnSubmitResult(accepted, latency),
        };
        Volatile.Write(ref _extranonce2Size, state.Extranonce2Size);
        Lane lane;
        var start = false;
        lock (_lock)
        {
            if (replacing is not null && _lanes.Find(l => l.Connection == replacing) is { } same)
            {
                lane = same;
            }
            else if (!state.Extra || (_first.Connection is null && !_first.HasAdopted))
            {
                lane = _first;
            }
            else
            {
                lane = new Lane(this, new MinerLayout(state.MinerPrefixSize, state.MinerExtranonce2Size));
                _lanes.Add(lane);
                start = _started;
            }
        }

        lane.Adopt(upstream);
        if (start)
        {
            lane.Start(_stopping);
        }

        return upstream;
    }

    private bool _started;

    /// <summary>Opens one more shared connection for miners of <paramref name="layout"/>, within the cap.</summary>
    private void OpenLane(MinerLayout layout)
    {
        Lane lane;
        lock (_lock)
        {
            if (_stopping.IsCancellationRequested || _lanes.Count >= Options.MaxConnections)
            {
                return;
            }

            lane = new Lane(this, layout);
            _lanes.Add(lane);
        }

        Log.PoolLaneOpened(_context.Logger, Options.Name, _lanes.Count, layout.PrefixSize, layout.Extranonce2Size);
        lane.Start(_stopping);
    }

    /// <summary>The miner layout a new connection of this pool uses once it knows N.</summary>
    private MinerLayout? LayoutFor(Lane lane, int extranonce2Size)
    {
        Volatile.Write(ref _extranonce2Size, extranonce2Size);
        _extranonce2SizeSeen(this, extranonce2Size);
        var wanted = lane.Requested ?? _groupLayout(Options.Group);
        return wanted.FitsIn(extranonce2Size) ? wanted : MinerLayout.Fit(extranonce2Size, Configured);
    }

    private async Task<UpstreamConnection> ConnectAsync(PoolUrl url, string worker, string? userAgent, string? resume, Func<int, MinerLayout?> chooseLayout, CancellationToken stopping)
    {
        using var timeout = new CancellationTokenSource(Failover.ConnectTimeout, _context.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
        var connection = await _context.Connector.ConnectAsync(url, Options.AllowInvalidCertificate, _context.MaxLineLength, linked.Token).ConfigureAwait(false);
        var pool = worker == Options.User ? Options : Options with { User = worker };
        var upstream = new UpstreamConnection(connection, _context, pool, url, resume, userAgent)
        {
            ChooseLayout = chooseLayout,
            Extranonce2SizeChanged = n =>
            {
                Volatile.Write(ref _extranonce2Size, n);
                _extranonce2SizeSeen(this, n);
            },
            PoolVerdict = (accepted, latency) => Health.OnSubmitResult(accepted, latency),
        };
        return upstream;
    }

    private async Task<bool> WaitReadyAsync(UpstreamConnection upstream, CancellationToken stopping)
    {
        try
        {
            return await upstream.Ready.WaitAsync(Failover.ConnectTimeout, _context.Time, stopping).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// One shared upstream connection kept alive with jittered back-off: the first lane always, more when the pool's
    /// extranonce2 leaves room for few miners per connection.
    /// </summary>
    private sealed class Lane
    {
        private readonly PoolRuntime _pool;
        private readonly ReconnectBackoff _backoff;
        private readonly Lock _lock = new();
        private List<ForwardedShare> _carried = [];
        private UpstreamConnection? _adopted;
        private TaskCompletionSource? _adoptedSignal;
        private string? _lastExtranonce1;
        private int _lastExtranonce2Size;
        private long _readySince = -1;
        private long _idleSince = -1;
        private CancellationTokenSource? _stop;

        public Lane(PoolRuntime pool, MinerLayout? requested)
        {
            _pool = pool;
            Requested = requested;
            _backoff = new ReconnectBackoff(new ReconnectBackoffOptions { Base = pool.Failover.BackoffBase, Cap = pool.Failover.BackoffMax });
        }

        /// <summary>The miner layout this lane was opened for; null for the first lane (the group's layout).</summary>
        public MinerLayout? Requested { get; }

        public UpstreamConnection? Connection { get; private set; }

        /// <summary>True while a handed-over connection waits to be taken by the lane's loop.</summary>
        public bool HasAdopted => Volatile.Read(ref _adopted) is not null;

        /// <summary>The lane's next connection is this live one (a handover), not a new dial.</summary>
        public void Adopt(UpstreamConnection upstream)
        {
            Volatile.Write(ref _adopted, upstream);
            Interlocked.Exchange(ref _adoptedSignal, null)?.TrySetResult();
        }

        public Task? Task { get; private set; }

        public TimeSpan ReadyFor => Volatile.Read(ref _readySince) is var since and >= 0 ? _pool._context.Time.GetElapsedTime(since) : TimeSpan.Zero;

        private UpstreamContext Context => _pool._context;

        private bool IsFirst => Requested is null;

        public void Start(CancellationToken stopping)
        {
            _stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var token = _stop.Token;
            Task = System.Threading.Tasks.Task.Run(async () =>
            {
                try
                {
                    await RunAsync(token).ConfigureAwait(false);
                }
                finally
                {
                    _pool.RemoveLane(this);
                }
            }, CancellationToken.None);
        }

        /// <summary>Closes an extra lane that has carried no miner for a while.</summary>
        public void Stop(string reason)
        {
            Connection?.Close(reason);
            try
            {
                _stop?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The lane has already ended.
            }
        }

        /// <summary>True for an extra lane that has had no miners for <see cref="IdleLaneTimeout"/>.</summary>
        public bool IsIdle(long now)
        {
            if (Connection is not { State: UpstreamState.Ready } connection || connection.SessionCount > 0)
            {
                _idleSince = -1;
                return false;
            }

            if (_idleSince < 0)
            {
                _idleSince = now;
            }

            return Context.Time.GetElapsedTime(_idleSince, now) > IdleLaneTimeout;
        }

        public async Task RunAsync(CancellationToken stopping)
        {
            while (!stopping.IsCancellationRequested)
            {
                var delay = await RunOnceAsync(stopping).ConfigureAwait(false);
                if (stopping.IsCancellationRequested)
                {
                    break;
                }

                try
                {
                    await System.Threading.Tasks.Task.Delay(delay, Context.Time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            Connection?.Close("proxy stopping");
            _stop?.Dispose();
        }

        private async Task<TimeSpan> RunOnceAsync(CancellationToken stopping)
        {
            UpstreamConnection upstream;
            if (Interlocked.Exchange(ref _adopted, null) is { } adopted)
            {
                upstream = adopted;
            }
            else
            {
                try
                {
                    upstream = await _pool.ConnectAsync(_pool._target, _pool.Options.User, null, _lastExtranonce1, n => _pool.LayoutFor(this, n), stopping).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
                {
                    return _pool.OnConnectFailed(Reason(ex), _backoff, IsFirst);
                }
            }

            Connection = upstream;
            var run = upstream.RunAsync(stopping);
            var ready = await _pool.WaitReadyAsync(upstream, stopping).ConfigureAwait(false);
            if (!ready)
            {
                upstream.Close("no answer to subscribe/authorize in time");
                await run.ConfigureAwait(false);
                Connection = null;
                _pool._target = _pool.Url;
                return _pool.OnConnectFailed(upstream.CloseReason, _backoff, IsFirst);
            }

            OnReady(upstream);
            var reason = await run.ConfigureAwait(false);
            Connection = null;
            if (upstream.WasHandedOver)
            {
                // The connection lives on elsewhere: no reconnect from here. When this process took it back (a
                // failed handover) the lane goes on with that; otherwise the process is about to exit.
                await WaitForAdoptedAsync(stopping).ConfigureAwait(false);
                return TimeSpan.Zero;
            }

            Volatile.Write(ref _readySince, -1);
            _pool.Health.OnDisconnected();
            _pool.LastError = reason;
            if (IsFirst)
            {
                Context.Metrics.PoolUp.WithLabels(_pool.Options.Name).Set(0);
            }

            Log.PoolDisconnected(Context.Logger, _pool.Options.Name, reason);
            CarryInFlight(upstream);
            return _pool.NextDelayAfterClose(upstream, _backoff);
        }

        private async Task WaitForAdoptedAsync(CancellationToken stopping)
        {
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _adoptedSignal, signal);
            if (HasAdopted)
            {
                return;
            }

            try
            {
                await signal.Task.WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }

        private void OnReady(UpstreamConnection upstream)
        {
            var options = _pool.Options;
            _backoff.Reset();
            _pool.Health.OnConnected();
            _pool.LastError = null;
            Volatile.Write(ref _readySince, Context.Time.GetTimestamp());
            Context.Metrics.PoolUp.WithLabels(options.Name).Set(1);
            Context.Metrics.UpstreamReconnects.WithLabels(options.Name).Inc();
            Context.Metrics.PoolDifficulty.WithLabels(options.Name).Set(upstream.Difficulty);

            // A pool that resumed our session (same extranonce1) still knows the jobs: re-send what was in flight.
            List<ForwardedShare> carried;
            lock (_lock)
            {
                carried = _carried;
                _carried = [];
            }

            var resumed = upstream.Extranonce1Hex == _lastExtranonce1 && upstream.Layout!.PoolExtranonce2Size == _lastExtranonce2Size;
            _lastExtranonce1 = upstream.Extranonce1Hex;
            _lastExtranonce2Size = upstream.Layout!.PoolExtranonce2Size;
            if (carried.Count == 0)
            {
                return;
            }

            if (resumed)
            {
                var sent = upstream.Resend(carried);
                Context.Metrics.PoolShares.WithLabels(options.Name, "resent").Inc(sent);
                Log.SharesResent(Context.Logger, options.Name, sent);
                carried = carried[sent..];
            }

            LoseAll(carried, "pool connection lost before its verdict; the pool did not resume the session");
        }

        private void CarryInFlight(UpstreamConnection upstream)
        {
            var pending = upstream.TakePending();
            if (pending.Count == 0)
            {
                return;
            }

            lock (_lock)
            {
                _carried.AddRange(pending);
            }
        }

        public void Tick(long now)
        {
            var failover = _pool.Failover;
            var timeoutTicks = (long)(failover.SubmitTimeout.TotalSeconds * Context.Time.TimestampFrequency);
            var primary = Connection;
            if (primary is not null)
            {
                var expired = primary.TakePending(now - timeoutTicks);
                if (expired.Count > 0)
                {
                    _pool.Health.OnSubmitTimeout(failover.SubmitTimeout);
                    LoseAll(expired, $"no verdict from the pool within {failover.SubmitTimeout.TotalSeconds:0} s");
                }

                if (primary.State == UpstreamState.Ready && primary.CurrentJob is { } job
                    && Context.Time.GetElapsedTime(primary.LastJobTimestamp, now) > failover.JobKeepalive)
                {
                    var elapsed = (uint)Context.Time.GetElapsedTime(job.CreatedTimestamp, now).TotalSeconds;
                    primary.RefreshJob(job.NTime + elapsed);
                }
            }

            List<ForwardedShare> stale = [];
            lock (_lock)
            {
                if (_carried.Count > 0)
                {
                    stale = _carried.FindAll(s => s.SentTimestamp < now - timeoutTicks);
                    _carried.RemoveAll(s => s.SentTimestamp < now - timeoutTicks);
                }
            }

            LoseAll(stale, "pool connection lost before its verdict");
        }
    }

    private void RemoveLane(Lane lane)
    {
        lock (_lock)
        {
            _lanes.Remove(lane);
        }
    }

    /// <summary>Periodic work: the submit timeout sweep, shares carried too long, job keepalive, idle extra lanes.</summary>
    internal void Tick(long now)
    {
        Lane[] lanes;
        lock (_lock)
        {
            lanes = [.. _lanes];
        }

        for (var i = 0; i < lanes.Length; i++)
        {
            lanes[i].Tick(now);
            if (i > 0 && lanes[i].IsIdle(now))
            {
                lanes[i].Stop("no miners left on this extra connection");
            }
        }
    }

    /// <summary>
    /// Passthrough: claims the right to open a miner's dedicated connection; false while one is being opened or is
    /// open. Without it every routing tick during a slow handshake would open (and leak) another connection.
    /// </summary>
    internal bool TryBeginDedicated(MinerSession session)
    {
        lock (_lock)
        {
            if (_dedicated.TryGetValue(session.Id, out var existing) && existing.State != UpstreamState.Closed)
            {
                return false;
            }

            return _starting.Add(session.Id);
        }
    }

    /// <summary>Passthrough: opens a connection for one miner and attaches it when ready.</summary>
    internal async Task RunDedicatedAsync(MinerSession session, CancellationToken stopping)
    {
        UpstreamConnection upstream;
        try
        {
            // Identity pass-through: with WorkerNaming Miner a dedicated connection carries the rig's own user agent too.
            var userAgent = Options.WorkerNaming == WorkerNaming.Miner ? session.UserAgent ?? _context.UserAgent : _context.UserAgent;
            // The pool's N must hold this miner's (k, n): it has one miner, so any extranonce1 value is free.
            var layout = session.Layout ?? Configured;
            upstream = await ConnectAsync(_target, MinerSession.UpstreamWorkerName(Options, session.Worker!), userAgent, null, n =>
            {
                Volatile.Write(ref _extranonce2Size, n);
                _extranonce2SizeSeen(this, n);
                return layout.FitsIn(n) ? layout : null;
            }, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            lock (_lock)
            {
                _starting.Remove(session.Id);
            }

            OnDedicatedFailed(Reason(ex));
            return;
        }

        lock (_lock)
        {
            _dedicated[session.Id] = upstream;
            _starting.Remove(session.Id);
        }

        var run = upstream.RunAsync(stopping);
        if (await WaitReadyAsync(upstream, stopping).ConfigureAwait(false))
        {
            Health.OnConnected();
            _passthroughBackoff.Reset();
            Volatile.Write(ref _passthroughRetryAt, 0);
            Interlocked.CompareExchange(ref _passthroughReadySince, _context.Time.GetTimestamp(), -1);
            _context.Metrics.PoolUp.WithLabels(Options.Name).Set(1);
            _context.Metrics.UpstreamReconnects.WithLabels(Options.Name).Inc();
            session.AttachTo(upstream);
        }
        else
        {
            upstream.Close("no answer to subscribe/authorize in time");
            OnDedicatedFailed(upstream.CloseReason);
        }

        await run.ConfigureAwait(false);
        LoseAll(upstream.TakePending(), "pool connection lost before its verdict");
        lock (_lock)
        {
            if (_dedicated.TryGetValue(session.Id, out var current) && current == upstream)
            {
                _dedicated.Remove(session.Id);
            }
        }
    }

    /// <summary>Passthrough: closes a miner's dedicated connection.</summary>
    internal void CloseDedicated(MinerSession session)
    {
        UpstreamConnection? upstream;
        lock (_lock)
        {
            _dedicated.TryGetValue(session.Id, out upstream);
        }

        upstream?.Close("miner left");
    }

    /// <summary>A passthrough connection failed: the pool takes no miners until the jittered back-off has passed.</summary>
    private void OnDedicatedFailed(string reason)
    {
        var delay = OnConnectFailed(reason, _passthroughBackoff);
        Volatile.Write(ref _passthroughReadySince, -1);
        Volatile.Write(ref _passthroughRetryAt, _context.Time.GetTimestamp() + (long)(delay.TotalSeconds * _context.Time.TimestampFrequency));
    }

    private static void LoseAll(List<ForwardedShare> shares, string reason)
    {
        for (var i = 0; i < shares.Count; i++)
        {
            var share = shares[i];
            share.Session.OnShareLost(ref share, reason);
        }
    }

    private TimeSpan OnConnectFailed(string reason, ReconnectBackoff backoff, bool primary = true)
    {
        LastError = reason;
        Health.OnError();
        if (primary)
        {
            _context.Metrics.PoolUp.WithLabels(Options.Name).Set(0);
        }

        _context.Metrics.UpstreamConnectFailures.WithLabels(Options.Name, ReasonLabel(reason)).Inc();
        var delay = backoff.NextDelay();
        Log.PoolConnectFailed(_context.Logger, Options.Name, _target.ToString(), reason, delay);
        return delay;
    }

    private TimeSpan NextDelayAfterClose(UpstreamConnection upstream, ReconnectBackoff backoff)
    {
        // client.reconnect: honour the redirect (bounded), else reconnect to the configured address.
        if (upstream.ReconnectRequest is { } request && TakeRedirect())
        {
            _target = new PoolUrl(request.Host ?? Url.Host, request.Port ?? Url.Port, Url.UseTls);
            return TimeSpan.FromSeconds(Math.Min(request.WaitSeconds, 60));
        }

        _target = Url;
        return backoff.NextDelay();
    }

    private bool TakeRedirect()
    {
        var now = _context.Time.GetTimestamp();
        while (_redirects.Count > 0 && _context.Time.GetElapsedTime(_redirects.Peek(), now) > TimeSpan.FromHours(1))
        {
            _redirects.Dequeue();
        }

        if (_redirects.Count >= MaxRedirectsPerHour)
        {
            return false;
        }

        _redirects.Enqueue(now);
        return true;
    }

    private static string Reason(Exception ex) => ex switch
    {
        OperationCanceledException => "connect timed out",
        System.Net.Sockets.SocketException se => se.SocketErrorCode.ToString(),
        System.Security.Authentication.AuthenticationException => "TLS handshake failed: " + ex.Message,
        _ => ex.Message,
    };

    private static string ReasonLabel(string reason) => reason switch
    {
        "connect timed out" => "timeout",
        "ConnectionRefused" => "refused",
        "HostNotFound" or "TryAgain" or "NoData" => "dns",
        _ when reason.StartsWith("TLS", StringComparison.Ordinal) => "tls",
        _ when reason.Contains("authoriz", StringComparison.Ordinal) => "unauthorized",
        _ when reason.Contains("extranonce", StringComparison.Ordinal) => "extranonce",
        _ when reason.Contains("subscribe", StringComparison.Ordinal) => "handshake",
        _ => "other",
    };
}
