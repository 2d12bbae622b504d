using System.Net;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Transport;
using StratumProxy.Proxy.Upstream;

namespace StratumProxy.Proxy.Sessions;

/// <summary>
/// One miner's connection: a read loop that answers the handshake and validates every submit, and a writer that
/// drains a bounded queue into the socket when there is something in it (responses, difficulty, jobs). The session owns the miner's extranonce1
/// (<c>m</c>) for its whole connection, so moving it to another pool is only a clean job and a difficulty.
/// </summary>
#pragma warning disable CA1001 // The session disposes what it owns when RunAsync ends; it has no other lifetime.
public sealed partial class MinerSession : IUpstreamMember, IThreadPoolWorkItem
#pragma warning restore CA1001
{
    /// <summary>What runs sessions (the listener): told of a session's fault and of its end.</summary>
    internal interface ISessionRunner
    {
        /// <summary>An exception the session did not handle ended it (logged; never rethrown).</summary>
        void OnFaulted(MinerSession session, Exception exception);

        /// <summary>The session has ended (its connection disposed or handed over): release what it held.</summary>
        void OnEnded(MinerSession session);
    }

    /// <summary>The version bits a miner may roll when the pool's mask is not known yet (BIP320's general bits).</summary>
    public const uint DefaultVersionMask = 0x1fffe000;

    private static long s_nextId;

    private readonly ProxyConnection _connection;
    private readonly SessionContext _context;
    private readonly OutboundQueue<MinerOutbound> _outbound;
    private readonly ShareValidator _validator;
    private readonly MinerProtocol _protocol = new();
    private MinerIdentity? _identity;
    private bool _prefixOwned;
    private string _closeReason = "closed by the miner";
    private int _closing;

    /// <summary>Creates a session for an accepted connection.</summary>
    public MinerSession(ProxyConnection connection, ListenerOptions listener, SessionContext context)
    {
        _connection = connection;
        _context = context;
        Listener = listener;
        Id = Interlocked.Increment(ref s_nextId);
        var options = context.Options;
        MaxLineLength = options.Miners.MaxLineLength;
        _outbound = new OutboundQueue<MinerOutbound>(OutboundCapacity, this);
        ConnectedTimestamp = context.Time.GetTimestamp();
        _connectedAtUtcTicks = context.Time.GetUtcNow().UtcTicks;
        LastReceiveTimestamp = ConnectedTimestamp;
        _vardiff = new VarDiffController(SharedVarDiff(options.Difficulty), context.Time);
        _validator = new ShareValidator(context.Hasher);
        _submitTokens = options.Miners.MaxSubmitsPerSecond;
        _lastRefill = ConnectedTimestamp;
    }

    /// <summary>
    /// Chooses the miner's layout and extranonce1 once, when it subscribes (or authorizes without subscribing):
    /// they stay for the whole connection (unless routing changes them with mining.set_extranonce).
    /// </summary>
    private void EnsureLayout()
    {
        if (_identity is null)
        {
            SetIdentity(_context.Router.LayoutFor(Listener));
        }
    }

    /// <summary>Mints an extranonce1 of the layout's size and publishes the new identity (on the session's loop).</summary>
    private MinerIdentity SetIdentity(MinerLayout layout)
    {
        var prefix = _context.Extranonces.Mint(layout.PrefixSize, out _prefixOwned);
        var extranonce1 = new byte[prefix.Size];
        prefix.WriteTo(extranonce1);
        var identity = new MinerIdentity(layout, prefix, extranonce1);
        Volatile.Write(ref _identity, identity);
        return identity;
    }

    /// <summary>How many messages may wait for a slow miner before it is dropped.</summary>
    public const int OutboundCapacity = 1024;

    /// <summary>A process-unique session number (logs, the status API; never a metric label).</summary>
    public long Id { get; }

    /// <summary>The listener the miner came in on.</summary>
    public ListenerOptions Listener { get; }

    /// <summary>The miner's address (the PROXY protocol's source when a balancer sent one).</summary>
    public EndPoint? RemoteEndPoint => _connection.RemoteEndPoint;

    /// <summary>
    /// The address whose per-address connection slot this session holds (the listener's, released when the session
    /// ends); kept on the session rather than in a table of its own.
    /// </summary>
    internal IPAddress? HeldAddress { get; set; }

    /// <summary>The worker name from mining.authorize, once authorized (written once).</summary>
    public string? Worker => _protocol.Worker;

    /// <summary>The user agent from mining.subscribe.</summary>
    public string? UserAgent => _protocol.UserAgent;

    /// <summary>The worker's books.</summary>
    public WorkerStats? Stats { get; private set; }

    /// <summary>
    /// The upstream the miner is assigned to: where it works now, or where routing has just sent it (the session's
    /// loop applies the move next). A snapshot, safe from any thread.
    /// </summary>
    public UpstreamConnection? Upstream => Volatile.Read(ref _assigned);

    /// <summary>The pool the miner works for now (a snapshot).</summary>
    public string? PoolName => Upstream?.Pool.Name;

    /// <summary>The difficulty the miner was last told.</summary>
    public double Difficulty => _validator.Difficulty;

    /// <summary>When the connection opened (TimeProvider timestamp).</summary>
    public long ConnectedTimestamp { get; }

    /// <summary>When the connection opened (wall clock, UTC; kept as ticks, 8 bytes instead of 16).</summary>
    public DateTimeOffset ConnectedAt => new(_connectedAtUtcTicks, TimeSpan.Zero);

    private readonly long _connectedAtUtcTicks;

    /// <summary>When the miner last sent a line (written by the read loop, read by the tick).</summary>
    public long LastReceiveTimestamp
    {
        get => Volatile.Read(ref _lastReceiveTimestamp);
        private set => Volatile.Write(ref _lastReceiveTimestamp, value);
    }

    private long _lastReceiveTimestamp;

    /// <summary>True once authorized.</summary>
    public bool IsAuthorized => Worker is not null;

    /// <summary>The miner's extranonce1 (m).</summary>
    public ReadOnlySpan<byte> Extranonce1 => Volatile.Read(ref _identity) is { } identity ? identity.Extranonce1 : [];

    /// <summary>
    /// Gives a miner that sent mining.extranonce.subscribe a new layout (a new extranonce1 and n) with
    /// mining.set_extranonce, when no ready pool of its group can carry its old one. Routing asks (from its tick); the
    /// session's loop applies it: it leaves its upstream (so no share of it can be valid meanwhile), and the new layout
    /// applies from the next job, which routing sends when it attaches the miner again.
    /// </summary>
    internal void ChangeLayout(MinerLayout layout) => Post(SessionEvent.ChangeLayout(layout));

    private void ApplyChangeLayout(MinerLayout layout)
    {
        if (_identity is null || _closing != 0)
        {
            return;
        }

        var current = _current;
        Volatile.Write(ref _current, null);
        Interlocked.CompareExchange(ref _assigned, null, current?.Upstream);
        current?.Upstream.Detach(this);
        if (_prefixOwned)
        {
            _context.Extranonces.Release(_identity.Prefix);
        }

        var identity = SetIdentity(layout);
        Enqueue(MinerOutbound.SetExtranonce(identity.Extranonce1, layout.Extranonce2Size));
    }

    /// <summary>The extranonce2 size the miner was told (n); 0 before it subscribed.</summary>
    public int Extranonce2Size => Volatile.Read(ref _identity)?.Layout.Extranonce2Size ?? 0;

    /// <summary>The miner's layout (k, n), fixed at subscribe; null before.</summary>
    public MinerLayout? Layout => Volatile.Read(ref _identity)?.Layout;

    /// <summary>The miner's extranonce1 as a prefix value (meaningful once <see cref="Layout"/> is set).</summary>
    public MinerExtranoncePrefix Prefix => Volatile.Read(ref _identity)?.Prefix ?? default;

    /// <summary>True when the miner sent mining.extranonce.subscribe.</summary>
    public bool WantsExtranonceUpdates => _protocol.WantsExtranonceUpdates;

    /// <summary>The longest line the miner may send.</summary>
    public int MaxLineLength { get; }

    /// <summary>
    /// True once the session was closed (from any thread). A flag, not a cancellation token: nothing waits on a
    /// session's close through a token, and a token source cost every idle session an object.
    /// </summary>
    public bool IsClosed => Volatile.Read(ref _closing) != 0;

    /// <summary>Why the session closed.</summary>
    public string CloseReason => _closeReason;

    /// <summary>
    /// Runs the session until the miner leaves or is dropped, or until <paramref name="stopping"/> fires, which stops it as
    /// the proxy's stop does (tests and tools; a listener stops its sessions itself, so a running session holds no
    /// registration).
    /// </summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var stopRegistration = stopping.UnsafeRegister(static state => ((MinerSession)state!).Stop("proxy stopping"), this);
        await RunAsync(runner: null).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the session for <paramref name="runner"/> (the listener): off the caller's thread, any exception the
    /// session's own handling lets through is handed to the runner instead of thrown, and the runner hears when the
    /// session has ended. In this method rather than in an async wrapper of the runner's, so a running session keeps
    /// no extra state machine alive.
    /// </summary>
    internal async Task RunAsync(ISessionRunner? runner)
    {
        if (runner is not null)
        {
            // Off the caller's thread (an accept loop, a takeover) before the session runs a line of it.
            await Task.Yield();
        }

        try
        {
            // Neither the read loop nor the writer waits with a token. Close cancels the read loop's pending read
            // (CancelPendingRead), and StopWriting ends the writer (the queue completes, a pending flush is cancelled);
            // the proxy stopping does both (Stop). Tokens would cost every idle session linked token sources and
            // callback registrations, and a channel wait with a token allocates a waiter each time.
            // The writer outlives Close: the answers queued before it (the error that explains why the miner is
            // dropped, verdicts of its last submits) must still reach the miner. DrainWriterAsync bounds that wait.
            _outbound.Start();
            try
            {
                // The read loop: one read loop per connection, its awaits in this method rather than in an async method
                // of its own (an idle session keeps one state machine alive for it, not two); OnRead handles each read.
                var input = _connection.Transport.Input;
                _proxyHeaderDone |= Listener.ProxyProtocol == ProxyProtocolMode.None;
                while (true)
                {
                    // The read's result in a local of its own: as an argument next to input, the compiler would keep a
                    // second copy of input in the state machine across the await.
                    var result = await input.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                    var step = OnRead(input, result);
                    if (step == ReadStep.Stop || (step == ReadStep.Park && !await ParkedLoopAsync().ConfigureAwait(false)))
                    {
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (Volatile.Read(ref _stopped) != 0)
            {
                Close("proxy stopping");
            }
            catch (OperationCanceledException) when (IsClosed)
            {
                // Closed on purpose; the reason is already recorded.
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
            {
                Close(ex is IOException io && io.InnerException is System.Net.Sockets.SocketException se ? se.SocketErrorCode.ToString() : "connection error");
            }
            finally
            {
                // One await of one method here: each await of another kind would be one more field in the state
                // machine that every running session keeps.
                await EndAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (runner is not null)
        {
            // A bug in one session must never reach the host or other sessions.
            runner.OnFaulted(this, ex);
        }
        finally
        {
            runner?.OnEnded(this);
        }
    }

    /// <summary>The end of the session, after its read loop: handed over, or closed (the writer drained, then the connection).</summary>
    private async Task EndAsync()
    {
        if (_handedOver is { } release)
        {
            // Another process serves the miner now: nothing more is written or closed here.
            await EndHandedOverAsync(release).ConfigureAwait(false);
        }
        else
        {
            Close(_closeReason);
            _outbound.TryComplete();
            await DrainWriterAsync().ConfigureAwait(false);
            await LingerAsync().ConfigureAwait(false);
            Teardown();
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>How long a closing session keeps writing what was queued for the miner before it gives up.</summary>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    private async Task DrainWriterAsync()
    {
        var writer = WriterEnded();
        try
        {
            if (_closeReason.StartsWith("slow", StringComparison.Ordinal))
            {
                // A miner that does not read gets nothing more.
                StopWriting();
            }

            await writer.WaitAsync(CloseGrace, _context.Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            StopWriting();
            await EndWriterAsync(writer).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The write side ends with the connection.
        }
    }

    /// <summary>
    /// A graceful close when the proxy drops a miner: send FIN after the last answer, then discard what the miner
    /// still sends until it closes too (bounded). Closing a socket with unread input makes the kernel send a reset,
    /// and the miner would lose the error that says why it was dropped (a flood, an over-long line).
    /// </summary>
    private async Task LingerAsync()
    {
        if (Volatile.Read(ref _stopped) != 0 || _closeReason.StartsWith("closed by the miner", StringComparison.Ordinal))
        {
            return;
        }

        var input = _connection.Transport.Input;
        try
        {
            await _connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
            using var grace = new CancellationTokenSource(CloseGrace, _context.Time);
            while (true)
            {
                // The first read may report the cancellation Close requested; the loop simply reads on. Stop (the proxy
                // stopping) cancels a read too, and ends the linger.
                var result = await input.ReadAsync(grace.Token).ConfigureAwait(false);
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || (result.IsCanceled && Volatile.Read(ref _stopped) != 0))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // Grace over, or the connection is already gone.
        }
    }

    private static async Task EndWriterAsync(Task writer)
    {
        try
        {
            await writer.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The write side ends with the connection.
        }
    }

    /// <summary>Closes the session (from any thread): the read loop sees a cancelled read and ends.</summary>
    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        _closeReason = reason;

        // A session parked for a handover is woken by its command queue, not by its read.
        Volatile.Read(ref _park)?.Commands.Writer.TryWrite(ParkCommand.Closed);
        _connection.Transport.Input.CancelPendingRead();
    }

    private void Teardown()
    {
        LeaveUpstreams();
        if (_prefixOwned && _identity is { } identity)
        {
            _context.Extranonces.Release(identity.Prefix);
            _prefixOwned = false;
        }

        // Forwarded shares of this session that are still in flight get their verdict counted, but nobody to answer.
        Stats?.SessionClosed();
        _context.Metrics.MinerDisconnects.WithLabels(DisconnectLabel(_closeReason)).Inc();
        Log.MinerDisconnected(_context.Logger, Id, Worker, _closeReason);
    }

    /// <summary>
    /// The session's end on this side, closed or handed over: queued events are dropped, no move stays queued, both
    /// routes are detached and routing forgets the session.
    /// </summary>
    private void LeaveUpstreams()
    {
        // Events posted from now on find no loop to apply them; they hold nothing (attaching happens when applied).
        ClearEvents();
        var current = _current;
        Volatile.Write(ref _current, null);
        UpstreamConnection? assigned;
        lock (Sync)
        {
            // After Close no move is queued any more (AttachTo checks _closing under this lock).
            assigned = _assigned;
            _assigned = null;
        }

        current?.Upstream.Detach(this);
        _previous?.Upstream.Detach(this);

        // The pool routing counted it on (PoolName): the one it was last assigned, even if that move was not applied yet.
        _context.Router.OnClosed(this, assigned?.Pool.Name);
    }

    private static string DisconnectLabel(string reason) => reason switch
    {
        _ when reason.StartsWith("closed by the miner", StringComparison.Ordinal) => "miner_closed",
        _ when reason.StartsWith("proxy stopping", StringComparison.Ordinal) => "proxy_stopping",
        _ when reason.StartsWith("handshake", StringComparison.Ordinal) => "handshake_timeout",
        _ when reason.StartsWith("idle", StringComparison.Ordinal) => "idle_timeout",
        _ when reason.StartsWith("line", StringComparison.Ordinal) => "line_too_long",
        _ when reason.StartsWith("not Stratum", StringComparison.Ordinal) => "not_stratum",
        _ when reason.StartsWith("slow", StringComparison.Ordinal) => "slow_consumer",
        _ when reason.StartsWith("too many", StringComparison.Ordinal) => "rate_limited",
        _ when reason.StartsWith("bad", StringComparison.Ordinal) => "protocol_error",
        _ when reason.StartsWith("PROXY", StringComparison.Ordinal) => "proxy_protocol",
        _ when reason.StartsWith("address over", StringComparison.Ordinal) => "ip_limit",
        _ => "other",
    };

    private static VarDiffSource? s_varDiff;

    /// <summary>
    /// The vardiff settings for the current options, built once and shared by every session (settings are
    /// immutable; a reload brings a new <see cref="DifficultyOptions"/> and so a new instance).
    /// </summary>
    private static VarDiffOptions SharedVarDiff(DifficultyOptions d)
    {
        var cached = Volatile.Read(ref s_varDiff);
        if (cached is null || !ReferenceEquals(cached.Source, d))
        {
            cached = new VarDiffSource(d, ToVarDiff(d));
            Volatile.Write(ref s_varDiff, cached);
        }

        return cached.VarDiff;
    }

    private sealed record VarDiffSource(DifficultyOptions Source, VarDiffOptions VarDiff);

    internal static VarDiffOptions ToVarDiff(DifficultyOptions d) => new()
    {
        StartDifficulty = d.Start,
        MinDifficulty = d.Min,
        MaxDifficulty = d.Max,
        TargetShareInterval = TimeSpan.FromSeconds(d.TargetShareSeconds),
        RetargetInterval = d.RetargetInterval,
        VariancePercent = d.VariancePercent,
        PowerOfTwo = d.PowerOfTwo,
    };
}
