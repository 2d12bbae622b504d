using System.Globalization;
using System.Net.Sockets;

namespace StratumProxy.TestKit;

/// <summary>
/// A real Stratum V1 miner for tests: subscribes (optionally negotiating BIP310 version rolling), authorizes, and
/// then hashes for real on a background task — extranonce2 counter, nonce and version bits rolled, SHA-256d of the
/// header — submitting every hash that meets its difficulty. It tracks each submit and its answer so a test can
/// assert that every submit got exactly one. It follows clean jobs, set_difficulty (for the next job, as Stratum
/// says), set_extranonce, set_version_mask, client.reconnect and show_message, and reconnects when dropped.
/// </summary>
public sealed partial class TestMiner : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly ChangeSignal _changed;
    private readonly ChangeSignal _workChanged = new();
    private readonly CancellationTokenSource _lifetime = new();
    private readonly CancellationTokenSource _hashing;
    private readonly List<SubmitState> _submits = [];
    private readonly List<string> _messages = [];
    private Task _connectionLoop = Task.CompletedTask;
    private Task _hashLoop = Task.CompletedTask;
    private MinerSession? _session;
    private Work? _work;
    private int _connectionCount;
    private long _jobsReceived;
    private long _cleanJobsReceived;
    private long _unexpectedAnswers;
    private int _reconnectsReceived;
    private long _hashes;
    private long _extranonce2Counter;
    private int _started;

    public TestMiner(TestMinerOptions options)
        : this(options, null)
    {
    }

    internal TestMiner(TestMinerOptions options, ChangeSignal? fleetSignal)
    {
        ArgumentNullException.ThrowIfNull(options);
        _changed = new ChangeSignal(fleetSignal);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.HashesPerYield);
        Options = options;
        _hashing = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
    }

    public TestMinerOptions Options { get; }

    public string Worker => Options.Worker;

    /// <summary>Connects and starts mining in the background; returns once the first connection is made.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The miner is already started.");
        }

        _connectionLoop = Task.Run(() => ConnectionLoopAsync(_lifetime.Token), CancellationToken.None);
        _hashLoop = Task.Run(() => HashLoopAsync(_hashing.Token), CancellationToken.None);
        await WaitUntilAsync(m => m.Connections > 0, TimeSpan.FromSeconds(10), "the first connection", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops hashing but keeps the connection, so answers to outstanding submits can still arrive.</summary>
    public async Task StopHashingAsync()
    {
        await _hashing.CancelAsync().ConfigureAwait(false);
        await _hashLoop.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync().ConfigureAwait(false);
        MinerSession? session;
        lock (_gate)
        {
            session = _session;
        }

        session?.Connection.Close();
        await Task.WhenAll(_hashLoop, _connectionLoop).ConfigureAwait(false);
        _hashing.Dispose();
        _lifetime.Dispose();
    }

    // ---- observation ----

    /// <summary>Connections made so far (the first one plus every reconnect).</summary>
    public int Connections
    {
        get
        {
            lock (_gate)
            {
                return _connectionCount;
            }
        }
    }

    public bool IsConnected
    {
        get
        {
            lock (_gate)
            {
                return _session is { Connection.IsClosed: false };
            }
        }
    }

    /// <summary>True once the current connection's authorize was accepted.</summary>
    public bool IsAuthorized
    {
        get
        {
            lock (_gate)
            {
                return _session is { Authorized: true };
            }
        }
    }

    /// <summary>The extranonce1 of the current connection (hex), or null before subscribe.</summary>
    public string? Extranonce1
    {
        get
        {
            lock (_gate)
            {
                return _session?.Extranonce1 is { } e ? Convert.ToHexStringLower(e) : null;
            }
        }
    }

    public int Extranonce2Size
    {
        get
        {
            lock (_gate)
            {
                return _session?.Extranonce2Size ?? 0;
            }
        }
    }

    /// <summary>The version-rolling mask granted on the current connection (0 when none).</summary>
    public uint VersionMask
    {
        get
        {
            lock (_gate)
            {
                return _session?.VersionMask ?? 0;
            }
        }
    }

    /// <summary>The difficulty the last set_difficulty announced.</summary>
    public double Difficulty
    {
        get
        {
            lock (_gate)
            {
                return _session?.Difficulty ?? 1;
            }
        }
    }

    /// <summary>The job being hashed, or null.</summary>
    public string? CurrentJobId => Volatile.Read(ref _work)?.JobId;

    public long JobsReceived => Interlocked.Read(ref _jobsReceived);

    public long CleanJobsReceived => Interlocked.Read(ref _cleanJobsReceived);

    public long Hashes => Interlocked.Read(ref _hashes);

    /// <summary>Answers whose id matched no outstanding request (a second answer to one submit lands here).</summary>
    public long UnexpectedAnswers => Interlocked.Read(ref _unexpectedAnswers);

    /// <summary>client.reconnect requests received (followed or not).</summary>
    public int ReconnectsReceived => Volatile.Read(ref _reconnectsReceived);

    /// <summary>client.show_message texts received.</summary>
    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_gate)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>Every submit sent, in order, with its answer.</summary>
    public IReadOnlyList<MinerSubmit> Submits
    {
        get
        {
            lock (_gate)
            {
                return [.. _submits.Select(s => s.Snapshot())];
            }
        }
    }

    public long Submitted => CountSubmits(_ => true);

    public long Accepted => CountSubmits(s => s.Outcome == SubmitOutcome.Accepted);

    public long Rejected => CountSubmits(s => s.Outcome == SubmitOutcome.Rejected);

    public long Pending => CountSubmits(s => s.Outcome == SubmitOutcome.Pending);

    public long Unanswered => CountSubmits(s => s.Outcome == SubmitOutcome.Unanswered);

    /// <summary>Σ difficulty of accepted submits (each at the difficulty of the job it was found for).</summary>
    public double AcceptedDifficulty
    {
        get
        {
            lock (_gate)
            {
                return _submits.Where(s => s.Outcome == SubmitOutcome.Accepted).Sum(s => s.Difficulty);
            }
        }
    }

    /// <summary>True when every submit got exactly one answer: none pending, none lost, no stray answers.</summary>
    public bool EverySubmitAnsweredOnce => Pending == 0 && Unanswered == 0 && UnexpectedAnswers == 0;

    public Task WaitForAcceptedAsync(long count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(m => m.Accepted >= count, timeout, $"{count.ToString(CultureInfo.InvariantCulture)} accepted", cancellationToken);

    public Task WaitForSubmittedAsync(long count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(m => m.Submitted >= count, timeout, $"{count.ToString(CultureInfo.InvariantCulture)} submitted", cancellationToken);

    /// <summary>Waits until no submit is pending (every one answered or lost).</summary>
    public Task WaitForAnswersAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(m => m.Pending == 0, timeout, "no pending submit", cancellationToken);

    /// <summary>Waits until <paramref name="condition"/> holds; re-checked on every message and share.</summary>
    public Task WaitUntilAsync(Func<TestMiner, bool> condition, TimeSpan timeout, string? what = null, CancellationToken cancellationToken = default) =>
        _changed.WaitUntilAsync(() => condition(this), timeout, () => $"{Worker} waiting for {what ?? "condition"}; miner has {Describe()}", cancellationToken);

    public override string ToString() => $"{Worker}: {Describe()}";

    private string Describe()
    {
        lock (_gate)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"submitted={_submits.Count} accepted={_submits.Count(s => s.Outcome == SubmitOutcome.Accepted)} rejected={_submits.Count(s => s.Outcome == SubmitOutcome.Rejected)} pending={_submits.Count(s => s.Outcome == SubmitOutcome.Pending)} unanswered={_submits.Count(s => s.Outcome == SubmitOutcome.Unanswered)} unexpected={_unexpectedAnswers} reconnects={_reconnectsReceived} connections={_connectionCount} jobs={_jobsReceived} hashes={Interlocked.Read(ref _hashes)} authorized={_session?.Authorized}");
        }
    }

    private long CountSubmits(Func<SubmitState, bool> predicate)
    {
        lock (_gate)
        {
            return _submits.Count(predicate);
        }
    }

    // ---- connections ----

    private async Task ConnectionLoopAsync(CancellationToken cancellationToken)
    {
        var host = Options.Host;
        var port = Options.Port;
        while (!cancellationToken.IsCancellationRequested)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                if (cancellationToken.IsCancellationRequested || !Options.ReconnectOnDisconnect)
                {
                    return;
                }

                await DelayAsync(Options.RetryDelay, cancellationToken).ConfigureAwait(false);
                continue;
            }

            MinerSession session;
            lock (_gate)
            {
                _connectionCount++;
                var name = $"miner {Worker}#{_connectionCount.ToString(CultureInfo.InvariantCulture)}";
                session = new MinerSession(_connectionCount, new LineConnection(socket, name, Options.Trace), Options.IdStyle);
                _session = session;
            }

            _changed.Notify();
            await using (session.Connection.ConfigureAwait(false))
            {
                await OpenAsync(session).ConfigureAwait(false);
                await session.Connection.ReadLinesAsync(line => HandleLineAsync(session, line), Options.MaxLineLength, requireJsonFirstByte: false, cancellationToken).ConfigureAwait(false);
                session.Connection.Close();
            }

            EndSession(session);
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            if (session.Reconnect is { } reconnect)
            {
                host = reconnect.Host ?? host;
                port = reconnect.Port ?? port;
                await DelayAsync(TimeSpan.FromSeconds(reconnect.WaitSeconds), cancellationToken).ConfigureAwait(false);
            }
            else if (!Options.ReconnectOnDisconnect)
            {
                return;
            }
            else
            {
                await DelayAsync(Options.RetryDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void EndSession(MinerSession session)
    {
        lock (_gate)
        {
            foreach (var submit in _submits.Where(s => s.ConnectionNumber == session.Number && s.Outcome == SubmitOutcome.Pending))
            {
                submit.Outcome = SubmitOutcome.Unanswered;
            }

            if (ReferenceEquals(_work?.Session, session))
            {
                Volatile.Write(ref _work, null);
            }
        }

        _changed.Notify();
        _workChanged.Notify();
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await Task.Delay(delay, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Disposed while waiting: the loop ends on its next check.
        }
    }

    /// <summary>One submit and its answer; mutated under the miner's gate.</summary>
    private sealed class SubmitState(long sequence, int connectionNumber, string id, string jobId, string extranonce1, string extranonce2, uint ntime, uint nonce, uint? versionBits, double difficulty)
    {
        public long Sequence { get; } = sequence;

        public int ConnectionNumber { get; } = connectionNumber;

        public double Difficulty { get; } = difficulty;

        public SubmitOutcome Outcome { get; set; }

        public int? ErrorCode { get; set; }

        public string? Reason { get; set; }

        public MinerSubmit Snapshot() =>
            new(Sequence, ConnectionNumber, id, jobId, extranonce1, extranonce2, ntime, nonce, versionBits, Difficulty, Outcome, ErrorCode, Reason);
    }
}
