using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Transport;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Upstream;

/// <summary>The state of one upstream connection.</summary>
public enum UpstreamState
{
    /// <summary>Subscribe/authorize sent, answers awaited.</summary>
    Handshaking,

    /// <summary>Subscribed and authorized: jobs flow, shares can be sent.</summary>
    Ready,

    /// <summary>The connection is gone.</summary>
    Closed,
}

/// <summary>
/// One connection to a pool. It owns the pool's extranonce1/extranonce2 size (the <see cref="ExtranonceLayout"/>),
/// difficulty, version mask and jobs; many miner sessions attach to it (aggregating mode) or exactly one
/// (passthrough). One read loop parses what the pool sends; one write loop drains a channel of outbound requests,
/// so submits from many sessions never interleave bytes.
/// </summary>
#pragma warning disable CA1001 // The connection disposes what it owns when RunAsync ends; it has no other lifetime.
public sealed partial class UpstreamConnection
#pragma warning restore CA1001
{
    private const int MaxJobsKept = 16;

    private readonly ProxyConnection _connection;
    private readonly UpstreamContext _context;
    private readonly ILogger _logger;
    private readonly Channel<Outbound> _outbound = Channel.CreateUnbounded<Outbound>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly Dictionary<long, ForwardedShare> _pendingShares = [];
    private readonly Dictionary<long, PendingRequest> _pendingRequests = [];
    private readonly HashSet<string> _authorizedWorkers = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly Queue<UpstreamJob> _jobs = new();
    private readonly StratumWriter _writer = new();
    private readonly DuplicateShareFilter _duplicates = new(maxJobs: MaxJobsKept + 4);
    private readonly TaskCompletionSource<bool> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // The attached sessions: a list changed under _lock, and a snapshot for readers (the job fan-out) rebuilt on the
    // first read after a change. Copying the whole array on every attach made connecting n miners cost n²/2 copied
    // references (400 MB of garbage for 10,000 miners, most of it on the large-object heap).
    private readonly List<IUpstreamMember> _members = [];
    private IUpstreamMember[]? _snapshot = [];
    private int _memberCount;
    private long _nextRequestId = 10;
    private double _pendingDifficulty;
    private string _closeReason = "closed";
    private int _state;

    internal UpstreamConnection(ProxyConnection connection, UpstreamContext context, PoolOptions pool, PoolUrl url, string? resumeSessionId, string? userAgent = null)
    {
        UserAgent = userAgent ?? context.UserAgent;
        _connection = connection;
        _context = context;
        _logger = context.Logger;
        Pool = pool;
        Url = url;
        ResumeSessionId = resumeSessionId;
        Difficulty = 1;
        VerdictMetrics = new PoolVerdictMetrics(context.Metrics, pool.Name);
    }

    /// <summary>The pool's configuration.</summary>
    public PoolOptions Pool { get; }

    /// <summary>The metric children a verdict of this pool counts in (resolved once per connection, not per miner).</summary>
    internal PoolVerdictMetrics VerdictMetrics { get; }

    /// <summary>The pool's address.</summary>
    public PoolUrl Url { get; }

    /// <summary>The user agent sent in mining.subscribe (the miner's own in passthrough identity mode).</summary>
    public string UserAgent { get; }

    /// <summary>The session id offered to the pool for resumption (the previous connection's extranonce1).</summary>
    public string? ResumeSessionId { get; }

    /// <summary>The connection's state.</summary>
    public UpstreamState State => (UpstreamState)Volatile.Read(ref _state);

    /// <summary>The extranonce layout once subscribed.</summary>
    public ExtranonceLayout? Layout { get; private set; }

    /// <summary>
    /// Chooses the miners' layout (k, n) once the pool's extranonce2 size N is known; null refuses the pool. Set by
    /// the pool runtime before <see cref="RunAsync"/>; the default is the adaptive rule over the configured sizes.
    /// </summary>
    internal Func<int, MinerLayout?>? ChooseLayout { get; set; }

    /// <summary>The miners' extranonce1 values live on this connection (k bytes of the layout).</summary>
    private ExtranonceAllocator? _slots;

    /// <summary>The pool's extranonce1 (hex) once subscribed.</summary>
    public string Extranonce1Hex => Layout is null ? string.Empty : Convert.ToHexStringLower(Layout.PoolExtranonce1.Span);

    /// <summary>The pool's current share difficulty.</summary>
    public double Difficulty { get; private set; }

    /// <summary>The version-rolling mask the pool granted (0 when none).</summary>
    public uint VersionMask { get; private set; }

    /// <summary>The newest job, or null before the first notify.</summary>
    public UpstreamJob? CurrentJob { get; private set; }

    /// <summary>When the last notify (or keepalive refresh) arrived.</summary>
    public long LastJobTimestamp { get; private set; }

    /// <summary>Sessions attached now.</summary>
    public int SessionCount => Volatile.Read(ref _memberCount);

    /// <summary>Forwarded shares awaiting a verdict.</summary>
    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _pendingShares.Count;
            }
        }
    }

    /// <summary>Why the connection closed.</summary>
    public string CloseReason => _closeReason;

    /// <summary>Completes when the connection is ready (true) or failed before that (false).</summary>
    public Task<bool> Ready => _ready.Task;

    /// <summary>The attached sessions (a snapshot).</summary>
    public IReadOnlyList<IUpstreamMember> Sessions
    {
        get
        {
            if (Volatile.Read(ref _snapshot) is { } snapshot)
            {
                return snapshot;
            }

            lock (_lock)
            {
                return _snapshot ??= [.. _members];
            }
        }
    }

    /// <summary>Connects, runs the handshake and the read/write loops until the connection ends; returns the reason.</summary>
    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writeLoop = WriteLoopAsync(cts.Token);
        try
        {
            if (!_restored)
            {
                BeginHandshake();
            }

            await ReadLoopAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            SetClosed("proxy stopping");
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            SetClosed(ex.Message);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A pool message this proxy failed to handle: the connection ends like any other (its lane reconnects with
            // back-off, its in-flight shares are carried) instead of the exception ending the lane for good.
            _context.Metrics.ProtocolErrors.WithLabels("pool", "unhandled").Inc();
            Log.PoolMessageFailed(_logger, Pool.Name, ex);
            SetClosed($"a message from the pool could not be handled ({ex.GetType().Name}: {ex.Message})");
        }
        finally
        {
            SetClosed(_handedOver is not null ? "handed over to another process" : _connection.ReceiveError?.Message ?? "connection closed by the pool");
            Volatile.Read(ref _parked)?.TrySetResult(false);
            _outbound.Writer.TryComplete();
            await cts.CancelAsync().ConfigureAwait(false);
            try
            {
                await writeLoop.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
            {
                // The write side ends with the connection.
            }

            if (_handedOver is { } release)
            {
                // Another process reads and writes this connection now: it is neither written to nor closed here.
                await release(_connection).ConfigureAwait(false);
            }
            else
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
            }

            _writer.Dispose();
        }

        return _closeReason;
    }

    /// <summary>Stops the connection (graceful: the read loop sees a cancelled read).</summary>
    public void Close(string reason)
    {
        SetClosed(reason);
        _connection.Transport.Input.CancelPendingRead();
    }

    /// <summary>
    /// Attaches a session; false when the connection is not ready, carries another miner layout, or already carries a
    /// miner with the same extranonce1 (their shares would overlap).
    /// </summary>
    public bool Attach(IUpstreamMember session)
    {
        lock (_lock)
        {
            if (State != UpstreamState.Ready || !CanCarry(session) || !_slots!.TryReserve(session.Prefix))
            {
                return false;
            }

            _members.Add(session);
            MembersChanged();
        }

        return true;
    }

    /// <summary>
    /// True when the session's layout is this connection's and its extranonce1 is free here, or already its own (a
    /// miner moved away and straight back before its loop left this connection).
    /// </summary>
    public bool CanCarry(IUpstreamMember session)
    {
        if (Layout is not { } layout || session.Layout is not { } miner || miner != layout.Miner)
        {
            return false;
        }

        // The slot and the list are read together under the lock (Detach changes both under it).
        lock (_lock)
        {
            return _slots is { } slots && (!slots.IsAllocated(session.Prefix) || _members.Contains(session));
        }
    }

    /// <summary>Detaches a session.</summary>
    public void Detach(IUpstreamMember session)
    {
        lock (_lock)
        {
            var index = _members.IndexOf(session);
            if (index >= 0)
            {
                _slots?.Release(session.Prefix);
                _members.RemoveAt(index);
                MembersChanged();
            }
        }
    }

    private void MembersChanged()
    {
        Volatile.Write(ref _memberCount, _members.Count);
        Volatile.Write(ref _snapshot, null);
    }

    /// <summary>
    /// Asks the pool to authorize a per-rig worker name on this connection (identity pass-through) the first time it
    /// is used. Submits may follow at once: pools process requests in order.
    /// </summary>
    public void EnsureAuthorized(string worker)
    {
        long id;
        lock (_lock)
        {
            if (!_authorizedWorkers.Add(worker))
            {
                return;
            }

            id = ++_nextRequestId;
            _pendingRequests[id] = new PendingRequest(RequestKind.Authorize, worker);
        }

        _outbound.Writer.TryWrite(new Outbound(OutboundKind.Authorize, id, worker));
    }

    /// <summary>The connection's duplicate filter (one per connection; it takes its own lock, once per share).</summary>
    internal DuplicateShareFilter Duplicates => _duplicates;

    /// <summary>
    /// Checks a share against the connection's duplicate filter (which takes its own lock: one per share).
    /// </summary>
    public ShareFilterResult CheckDuplicate(UpstreamJob job, in ShareKey key)
    {
        return _duplicates.Add(job.Id, key);
    }

    /// <summary>Queues a share for the pool; false when the connection is not ready (the caller answers the miner).</summary>
    public bool TrySubmit(ref ForwardedShare share)
    {
        long id;
        lock (_lock)
        {
            if (State != UpstreamState.Ready)
            {
                return false;
            }

            id = ++_nextRequestId;
            share.SentTimestamp = _context.Time.GetTimestamp();
            _pendingShares.Add(id, share);
        }

        share.Counters.OnForwarded();
        return _outbound.Writer.TryWrite(new Outbound(OutboundKind.Submit, id, null));
    }

    /// <summary>Removes and returns the shares still waiting for a verdict (on close, or for the timeout sweep).</summary>
    internal List<ForwardedShare> TakePending(long olderThan = long.MaxValue)
    {
        var taken = new List<ForwardedShare>();
        lock (_lock)
        {
            foreach (var (id, share) in _pendingShares)
            {
                if (share.SentTimestamp <= olderThan)
                {
                    taken.Add(share);
                    _pendingShares.Remove(id);
                }
            }

            SignalQuiet();
        }

        return taken;
    }

    /// <summary>Re-sends shares that were in flight on a previous connection to the same pool session.</summary>
    internal int Resend(List<ForwardedShare> shares)
    {
        var sent = 0;
        foreach (var original in shares)
        {
            var share = original;
            long id;
            lock (_lock)
            {
                if (State != UpstreamState.Ready)
                {
                    break;
                }

                id = ++_nextRequestId;
                share.SentTimestamp = _context.Time.GetTimestamp();
                _pendingShares.Add(id, share);
            }

            _outbound.Writer.TryWrite(new Outbound(OutboundKind.Submit, id, null));
            sent++;
        }

        return sent;
    }

    /// <summary>Publishes a refreshed copy of the current job with a later ntime (keepalive on a quiet pool).</summary>
    internal void RefreshJob(uint ntime)
    {
        var current = CurrentJob;
        if (current is null || State != UpstreamState.Ready)
        {
            return;
        }

        var refreshed = current.Refresh(ntime, _context.Time.GetTimestamp());
        PublishJob(refreshed, clean: false);
    }

    private void SetClosed(string reason)
    {
        if (Interlocked.Exchange(ref _state, (int)UpstreamState.Closed) == (int)UpstreamState.Closed)
        {
            return;
        }

        _closeReason = reason;
        _ready.TrySetResult(false);
        lock (_lock)
        {
            foreach (var job in _jobs)
            {
                job.MarkStale();
                _context.Jobs.Remove(job);
            }

            _jobs.Clear();
        }
    }

    private enum OutboundKind
    {
        Configure,
        Subscribe,
        Authorize,
        Submit,
        Response,
        Marker,
    }

    private enum RequestKind
    {
        Configure,
        Subscribe,
        Authorize,
    }

    private readonly record struct Outbound(OutboundKind Kind, long Id, string? Text);

    private readonly record struct PendingRequest(RequestKind Kind, string? Worker);
}
