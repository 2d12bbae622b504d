using Microsoft.Extensions.Logging;
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
public sealed class PoolRuntime
{
    private const int MaxRedirectsPerHour = 5;

    private readonly UpstreamContext _context;
    private readonly ReconnectBackoff _backoff;
    private readonly Queue<long> _redirects = new();
    private readonly Dictionary<long, UpstreamConnection> _dedicated = [];
    private readonly HashSet<long> _starting = [];
    private readonly Lock _lock = new();
    private List<ForwardedShare> _carried = [];
    private string? _lastExtranonce1;
    private int _lastExtranonce2Size;
    private PoolUrl _target;
    private long _readySince = -1;
    private long _passthroughRetryAt;

    internal PoolRuntime(PoolOptions options, PoolUrl url, UpstreamContext context, FailoverOptions failover)
    {
        Options = options;
        Url = url;
        _target = url;
        _context = context;
        Failover = failover;
        Health = new PoolHealth(new PoolHealthOptions(), context.Time);
        _backoff = new ReconnectBackoff(new ReconnectBackoffOptions { Base = failover.BackoffBase, Cap = failover.BackoffMax });
    }

    /// <summary>The pool's configuration.</summary>
    public PoolOptions Options { get; }

    /// <summary>The configured address.</summary>
    public PoolUrl Url { get; }

    /// <summary>Failover settings in force.</summary>
    public FailoverOptions Failover { get; internal set; }

    /// <summary>Latency, rejects and errors.</summary>
    public PoolHealth Health { get; }

    /// <summary>The shared connection (aggregating mode), while one exists.</summary>
    public UpstreamConnection? Primary { get; private set; }

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
    public TimeSpan ReadyFor => Volatile.Read(ref _readySince) is var since and >= 0 ? _context.Time.GetElapsedTime(since) : TimeSpan.Zero;

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

    /// <summary>Keeps the shared connection up until <paramref name="stopping"/> (aggregating mode).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        if (Options.Mode == PoolMode.Passthrough)
        {
            // Passthrough pools connect per miner; they count as ready until a connection attempt fails.
            Volatile.Write(ref _readySince, _context.Time.GetTimestamp());
            _context.Metrics.PoolUp.WithLabels(Options.Name).Set(1);
            return;
        }

        while (!stopping.IsCancellationRequested)
        {
            var delay = await RunOnceAsync(stopping).ConfigureAwait(false);
            if (stopping.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(delay, _context.Time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        Primary?.Close("proxy stopping");
    }

    private async Task<TimeSpan> RunOnceAsync(CancellationToken stopping)
    {
        UpstreamConnection upstream;
        try
        {
            upstream = await ConnectAsync(_target, Options.User, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            return OnConnectFailed(Reason(ex));
        }

        Primary = upstream;
        var run = upstream.RunAsync(stopping);
        var ready = await WaitReadyAsync(upstream, stopping).ConfigureAwait(false);
        if (!ready)
        {
            upstream.Close("no answer to subscribe/authorize in time");
            await run.ConfigureAwait(false);
            Primary = null;
            _target = Url;
            return OnConnectFailed(upstream.CloseReason);
        }

        OnReady(upstream);
        var reason = await run.ConfigureAwait(false);
        Primary = null;
        Volatile.Write(ref _readySince, -1);
        Health.OnDisconnected();
        LastError = reason;
        _context.Metrics.PoolUp.WithLabels(Options.Name).Set(0);
        Log.PoolDisconnected(_context.Logger, Options.Name, reason);
        CarryInFlight(upstream);
        return NextDelayAfterClose(upstream);
    }

    private async Task<UpstreamConnection> ConnectAsync(PoolUrl url, string worker, CancellationToken stopping, string? userAgent = null)
    {
        using var timeout = new CancellationTokenSource(Failover.ConnectTimeout, _context.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
        var connection = await SocketTransport.ConnectAsync(url, Options.AllowInvalidCertificate, _context.MaxLineLength, linked.Token).ConfigureAwait(false);
        var pool = worker == Options.User ? Options : Clone(Options, worker);
        var upstream = new UpstreamConnection(connection, _context, pool, url, userAgent is null ? _lastExtranonce1 : null, userAgent);
        upstream.PoolVerdict = (accepted, latency) => Health.OnSubmitResult(accepted, latency);
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

    private void OnReady(UpstreamConnection upstream)
    {
        _backoff.Reset();
        Health.OnConnected();
        LastError = null;
        Volatile.Write(ref _readySince, _context.Time.GetTimestamp());
        _context.Metrics.PoolUp.WithLabels(Options.Name).Set(1);
        _context.Metrics.UpstreamReconnects.WithLabels(Options.Name).Inc();
        _context.Metrics.PoolDifficulty.WithLabels(Options.Name).Set(upstream.Difficulty);

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
            _context.Metrics.PoolShares.WithLabels(Options.Name, "resent").Inc(sent);
            Log.SharesResent(_context.Logger, Options.Name, sent);
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

    /// <summary>Periodic work: the submit timeout sweep, shares carried too long, and job keepalive.</summary>
    internal void Tick(long now)
    {
        var timeoutTicks = (long)(Failover.SubmitTimeout.TotalSeconds * _context.Time.TimestampFrequency);
        var primary = Primary;
        if (primary is not null)
        {
            var expired = primary.TakePending(now - timeoutTicks);
            if (expired.Count > 0)
            {
                Health.OnSubmitTimeout(Failover.SubmitTimeout);
                LoseAll(expired, $"no verdict from the pool within {Failover.SubmitTimeout.TotalSeconds:0} s");
            }

            if (primary.State == UpstreamState.Ready && primary.CurrentJob is { } job
                && _context.Time.GetElapsedTime(primary.LastJobTimestamp, now) > Failover.JobKeepalive)
            {
                var elapsed = (uint)_context.Time.GetElapsedTime(job.CreatedTimestamp, now).TotalSeconds;
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
            upstream = await ConnectAsync(_target, MinerSession.UpstreamWorkerName(Options, session.Worker!), stopping, userAgent).ConfigureAwait(false);
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
            _backoff.Reset();
            Volatile.Write(ref _passthroughRetryAt, 0);
            Interlocked.CompareExchange(ref _readySince, _context.Time.GetTimestamp(), -1);
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
        var delay = OnConnectFailed(reason);
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

    private TimeSpan OnConnectFailed(string reason)
    {
        LastError = reason;
        Health.OnError();
        Volatile.Write(ref _readySince, -1);
        _context.Metrics.PoolUp.WithLabels(Options.Name).Set(0);
        _context.Metrics.UpstreamConnectFailures.WithLabels(Options.Name, ReasonLabel(reason)).Inc();
        var delay = _backoff.NextDelay();
        Log.PoolConnectFailed(_context.Logger, Options.Name, _target.ToString(), reason, delay);
        return delay;
    }

    private TimeSpan NextDelayAfterClose(UpstreamConnection upstream)
    {
        // client.reconnect: honour the redirect (bounded), else reconnect to the configured address.
        if (upstream.ReconnectRequest is { } request && TakeRedirect())
        {
            _target = new PoolUrl(request.Host ?? Url.Host, request.Port ?? Url.Port, Url.UseTls);
            return TimeSpan.FromSeconds(Math.Min(request.WaitSeconds, 60));
        }

        _target = Url;
        return _backoff.NextDelay();
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

    private static PoolOptions Clone(PoolOptions pool, string user) => new()
    {
        Name = pool.Name,
        Url = pool.Url,
        User = user,
        Password = pool.Password,
        Priority = pool.Priority,
        Weight = pool.Weight,
        TargetTerahashes = pool.TargetTerahashes,
        Group = pool.Group,
        Mode = pool.Mode,
        WorkerNaming = pool.WorkerNaming,
        AllowInvalidCertificate = pool.AllowInvalidCertificate,
        VersionRolling = pool.VersionRolling,
    };
}
