using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.TestKit;

/// <summary>
/// A real Stratum V1 pool on 127.0.0.1 for tests. It hands out jobs built like a real pool's, validates every share
/// it receives (job known and current, extranonce2 size, ntime range, version bits within the granted mask, no
/// duplicate, SHA-256d of the rebuilt header at or below the target) and counts the outcome per worker.
/// Thread-safe; all waits are token-bound, never sleeps.
/// </summary>
public sealed partial class TestPool : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly ChangeSignal _changed = new();
    private readonly SemaphoreSlim _workLock = new(1, 1);
    private readonly PoolJobFactory _jobFactory;
    private readonly Dictionary<string, PoolJob> _activeJobs = new(StringComparer.Ordinal);
    private readonly Queue<string> _activeOrder = new();
    private readonly Dictionary<string, PoolJob> _allJobs = new(StringComparer.Ordinal);
    private readonly HashSet<ShareKey> _seen = [];
    private readonly Dictionary<string, WorkerCounters> _workers = new(StringComparer.Ordinal);
    private readonly List<AcceptedShare> _accepted = [];
    private readonly Dictionary<int, PoolSession> _sessions = [];
    private readonly List<Task> _sessionTasks = [];
    private Socket? _listener;
    private CancellationTokenSource? _lifetime;
    private Task _acceptLoop = Task.CompletedTask;
    private PoolJob _currentJob;
    private double _difficulty;
    private int _nextConnectionId;
    private uint _nextExtranonce1;
    private long _acceptedCount;
    private long _rejectedCount;
    private long _blockCandidates;
    private double _acceptedDifficulty;

    private TestPool(TestPoolOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.Extranonce1Size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Extranonce1Size, 16);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Extranonce2Size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Extranonce2Size, 16);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Difficulty);
        Options = options;
        _difficulty = options.Difficulty;
        _jobFactory = new PoolJobFactory(options);
        _currentJob = RegisterJob(cleanJobs: true);
        Port = options.Port;
    }

    public TestPoolOptions Options { get; }

    /// <summary>Always the loopback address.</summary>
#pragma warning disable CA1822 // An instance member so that tests read pool.Host next to pool.Port.
    public string Host => "127.0.0.1";
#pragma warning restore CA1822

    /// <summary>The port; the same across <see cref="StopAsync"/> and <see cref="RestartAsync"/>.</summary>
    public int Port { get; private set; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary><c>stratum+tcp://127.0.0.1:port</c>.</summary>
    public string Url => $"stratum+tcp://{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    public bool IsRunning { get; private set; }

    public double Difficulty
    {
        get
        {
            lock (_gate)
            {
                return _difficulty;
            }
        }
    }

    public string CurrentJobId
    {
        get
        {
            lock (_gate)
            {
                return _currentJob.JobId;
            }
        }
    }

    /// <summary>Starts a pool listening on 127.0.0.1 (port 0 unless the options name one).</summary>
    public static Task<TestPool> StartAsync(TestPoolOptions? options = null)
    {
        var pool = new TestPool(options ?? new TestPoolOptions());
        pool.Listen();
        return Task.FromResult(pool);
    }

    /// <summary>Broadcasts a new job to every connection that has work; returns its id.</summary>
    public async Task<string> BroadcastJobAsync(bool cleanJobs = false)
    {
        await _workLock.WaitAsync().ConfigureAwait(false);
        try
        {
            PoolJob job;
            List<PoolSession> targets;
            lock (_gate)
            {
                job = RegisterJob(cleanJobs);
                _currentJob = job;
                targets = [.. _sessions.Values.Where(s => s.IsOpen && s.WorkSent)];
                foreach (var session in targets)
                {
                    session.JobDifficulty[job.JobId] = session.Difficulty;
                    session.JobExtranonce[job.JobId] = (session.Extranonce1, session.Extranonce2Size);
                }
            }

            await Task.WhenAll(targets.Select(s => s.Connection.SendAsync((w, o) => WriteNotify(w, o, job, job.CleanJobs)))).ConfigureAwait(false);
            return job.JobId;
        }
        finally
        {
            _workLock.Release();
        }
    }

    /// <summary>
    /// Sets the difficulty of every connection and sends <c>mining.set_difficulty</c>. The new difficulty applies to
    /// jobs sent afterwards (Stratum's rule), so by default a new job follows at once.
    /// </summary>
    public async Task SetDifficultyAsync(double difficulty, bool sendNewJob = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(difficulty);
        await _workLock.WaitAsync().ConfigureAwait(false);
        try
        {
            List<PoolSession> targets;
            lock (_gate)
            {
                _difficulty = difficulty;
                foreach (var session in _sessions.Values)
                {
                    session.Difficulty = difficulty;
                }

                targets = [.. _sessions.Values.Where(s => s.IsOpen && s.WorkSent)];
            }

            await Task.WhenAll(targets.Select(s => s.Connection.SendAsync((w, o) => WriteSetDifficulty(w, o, difficulty)))).ConfigureAwait(false);
        }
        finally
        {
            _workLock.Release();
        }

        if (sendNewJob)
        {
            await BroadcastJobAsync(cleanJobs: false).ConfigureAwait(false);
        }
    }

    /// <summary>Sends <c>client.reconnect</c> to every open connection (host and port optional).</summary>
    public Task SendReconnectAsync(string? host = null, int? port = null, int waitSeconds = 0) =>
        SendToAllAsync((w, o) => w.WriteReconnect(o, host, port, waitSeconds));

    /// <summary>
    /// Gives every subscribed connection a new extranonce1 (a fresh value of the same length) and
    /// <paramref name="extranonce2Size"/> with <c>mining.set_extranonce</c>, then a clean job: shares on jobs sent
    /// before are still checked against the extranonce they were sent with.
    /// </summary>
    public async Task SendSetExtranonceAsync(int extranonce2Size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(extranonce2Size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(extranonce2Size, 16);
        await _workLock.WaitAsync().ConfigureAwait(false);
        try
        {
            List<PoolSession> targets;
            lock (_gate)
            {
                targets = [.. _sessions.Values.Where(s => s.IsOpen && s.Subscribed)];
                foreach (var session in targets)
                {
                    session.Extranonce1 = NextExtranonce1();
                    session.Extranonce2Size = extranonce2Size;
                }
            }

            await Task.WhenAll(targets.Select(s => s.Connection.SendAsync((w, o) => w.WriteSetExtranonce(o, s.Extranonce1, s.Extranonce2Size)))).ConfigureAwait(false);
        }
        finally
        {
            _workLock.Release();
        }

        await BroadcastJobAsync(cleanJobs: true).ConfigureAwait(false);
    }

    /// <summary>Sends <c>client.show_message</c> to every open connection.</summary>
    public Task SendShowMessageAsync(string text) => SendToAllAsync((w, o) => w.WriteShowMessage(o, text));

    /// <summary>Closes every client connection but keeps listening.</summary>
    public async Task DropConnectionsAsync(bool abortive = false)
    {
        List<PoolSession> open;
        Task[] tasks;
        lock (_gate)
        {
            open = [.. _sessions.Values.Where(s => s.IsOpen)];
            tasks = [.. _sessionTasks];
        }

        foreach (var session in open)
        {
            session.Connection.Close(abortive);
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Stops listening and drops every connection; new connections are refused until <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync(bool abortive = false)
    {
        if (!IsRunning)
        {
            return;
        }

        IsRunning = false;
        _lifetime?.Cancel();
        _listener?.Close();
        await _acceptLoop.ConfigureAwait(false);
        await DropConnectionsAsync(abortive).ConfigureAwait(false);
        _lifetime?.Dispose();
        _lifetime = null;
        _changed.Notify();
    }

    /// <summary>Listens again on the same port; jobs, counters and the duplicate set are kept.</summary>
    public Task RestartAsync()
    {
        if (!IsRunning)
        {
            Listen();
        }

        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _workLock.Dispose();
    }

    /// <summary>The Stratum error code the pool uses for a reject reason.</summary>
    public static int RejectCode(ShareRejectReason reason) => reason switch
    {
        ShareRejectReason.UnknownJob or ShareRejectReason.StaleJob => (int)StratumErrorCode.JobNotFound,
        ShareRejectReason.Duplicate => (int)StratumErrorCode.DuplicateShare,
        ShareRejectReason.LowDifficulty => (int)StratumErrorCode.LowDifficulty,
        ShareRejectReason.Unauthorized => (int)StratumErrorCode.Unauthorized,
        ShareRejectReason.NotSubscribed => (int)StratumErrorCode.NotSubscribed,
        _ => (int)StratumErrorCode.Other,
    };

    /// <summary>The message (Standard) or reject-reason (Ckpool, ckpool's own wording) for a reject reason.</summary>
    public static string RejectMessage(ShareRejectReason reason, PoolReplyStyle style) => (reason, style) switch
    {
        (ShareRejectReason.UnknownJob, PoolReplyStyle.Ckpool) => "Invalid JobID",
        (ShareRejectReason.UnknownJob, _) => "Job not found",
        (ShareRejectReason.StaleJob, PoolReplyStyle.Ckpool) => "Stale",
        (ShareRejectReason.StaleJob, _) => "Stale share",
        (ShareRejectReason.Duplicate, PoolReplyStyle.Ckpool) => "Duplicate",
        (ShareRejectReason.Duplicate, _) => "Duplicate share",
        (ShareRejectReason.LowDifficulty, PoolReplyStyle.Ckpool) => "Above target",
        (ShareRejectReason.LowDifficulty, _) => "Low difficulty share",
        (ShareRejectReason.InvalidExtranonce2, PoolReplyStyle.Ckpool) => "Invalid nonce2 length",
        (ShareRejectReason.InvalidExtranonce2, _) => "Incorrect size of extranonce2",
        (ShareRejectReason.NTimeOutOfRange, PoolReplyStyle.Ckpool) => "Ntime out of range",
        (ShareRejectReason.NTimeOutOfRange, _) => "ntime out of range",
        (ShareRejectReason.InvalidVersionBits, _) => "Invalid version mask",
        (ShareRejectReason.Unauthorized, _) => "Unauthorized worker",
        (ShareRejectReason.NotSubscribed, _) => "Not subscribed",
        _ => "Invalid params",
    };

    private void Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Lets RestartAsync bind the same port while closed connections linger in TIME_WAIT.
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, Port));
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        _listener = listener;
        _lifetime = new CancellationTokenSource();
        IsRunning = true;
        _acceptLoop = AcceptLoopAsync(listener, _lifetime.Token);
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            var task = RunSessionAsync(socket, cancellationToken);
            lock (_gate)
            {
                _sessionTasks.RemoveAll(t => t.IsCompleted);
                _sessionTasks.Add(task);
            }
        }
    }

    /// <summary>A fresh extranonce1 (a counter); call under the gate.</summary>
    private byte[] NextExtranonce1()
    {
        var extranonce1 = new byte[Options.Extranonce1Size];
        var counter = ++_nextExtranonce1;
        for (var i = extranonce1.Length - 1; i >= 0; i--)
        {
            extranonce1[i] = (byte)counter;
            counter >>= 8;
        }

        return extranonce1;
    }

    private async Task RunSessionAsync(Socket socket, CancellationToken cancellationToken)
    {
        PoolSession session;
        lock (_gate)
        {
            var id = ++_nextConnectionId;
            var extranonce1 = NextExtranonce1();

            var connection = new LineConnection(socket, $"pool#{id.ToString(CultureInfo.InvariantCulture)}", Options.Trace);
            session = new PoolSession(id, extranonce1, connection, socket.RemoteEndPoint, _difficulty, Options.Extranonce2Size);
            _sessions[id] = session;
        }

        _changed.Notify();
        await using (session.Connection.ConfigureAwait(false))
        {
            try
            {
                await Task.Yield();
                await session.Connection.ReadLinesAsync(
                    line => HandleLineAsync(session, line),
                    Options.MaxLineLength,
                    Options.CloseOnNonJsonFirstByte,
                    cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    session.IsOpen = false;
                }

                session.Connection.Close();
                _changed.Notify();
            }
        }
    }

    private PoolJob RegisterJob(bool cleanJobs)
    {
        var job = _jobFactory.Next(cleanJobs);
        if (cleanJobs)
        {
            _activeJobs.Clear();
            _activeOrder.Clear();
        }

        _activeJobs[job.JobId] = job;
        _activeOrder.Enqueue(job.JobId);
        while (_activeOrder.Count > Math.Max(1, Options.JobHistory))
        {
            _activeJobs.Remove(_activeOrder.Dequeue());
        }

        _allJobs[job.JobId] = job;
        return job;
    }

    private async Task SendToAllAsync(Action<StratumWriter, IBufferWriter<byte>> write)
    {
        List<PoolSession> open;
        lock (_gate)
        {
            open = [.. _sessions.Values.Where(s => s.IsOpen)];
        }

        await Task.WhenAll(open.Select(s => s.Connection.SendAsync(write))).ConfigureAwait(false);
    }

    private void WriteSetDifficulty(StratumWriter writer, IBufferWriter<byte> output, double difficulty)
    {
        if (Options.ReplyStyle == PoolReplyStyle.Ckpool)
        {
            // ckpool's member order (params first) and a plain decimal number.
            WriteText(output, "{\"params\":[" + difficulty.ToString("0.####################", CultureInfo.InvariantCulture) + "],\"id\":null,\"method\":\"mining.set_difficulty\"}\n");
        }
        else
        {
            writer.WriteSetDifficulty(output, difficulty);
        }
    }

    private static void WriteNotify(StratumWriter writer, IBufferWriter<byte> output, PoolJob job, bool cleanJobs) =>
        writer.WriteNotify(
            output,
            Encoding.UTF8.GetBytes(job.JobId),
            job.PrevHashStratum,
            job.Coinbase1,
            job.Coinbase2,
            job.MerkleBranches,
            job.Version,
            job.NBits,
            job.NTime,
            cleanJobs);

    private static void WriteText(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        var written = Encoding.UTF8.GetBytes(text, span);
        output.Advance(written);
    }

    private readonly record struct ShareKey(string JobId, string Extranonce1, string Extranonce2, uint NTime, uint Nonce, uint Version);

    private sealed class WorkerCounters
    {
        public long Accepted;
        public double AcceptedDifficulty;
        public readonly Dictionary<ShareRejectReason, long> Rejected = [];
    }
}
