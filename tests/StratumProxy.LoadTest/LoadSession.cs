using System.Buffers;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;
using StratumProxy.TestKit;

namespace StratumProxy.LoadTest;

/// <summary>
/// One simulated miner: a socket, one receive loop (no thread of its own: an awaited receive into a buffer it owns),
/// and its Stratum state. Submits are written under the session's lock, from the receive loop (when an answer frees
/// a window slot) or from the run's shared timer (pacing); the lock keeps each line whole and each pending id known.
/// </summary>
internal sealed class LoadSession
{
    private const long ConfigureId = 1;
    private const long SubscribeId = 2;
    private const long AuthorizeId = 3;
    private const int MaxLineLength = 1 << 20;

    [ThreadStatic]
    private static StratumWriter? t_writer;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    private readonly LoadRun _run;
    private readonly object _gate = new();
    private readonly Dictionary<long, Pending> _pending = [];
    private readonly ShareMaker _shares;
    private readonly string _worker;
    private Socket? _socket;
    private byte[] _buffer = new byte[4096];
    private long _nextId = 10;
    private long _submitIndex;
    private SessionJob? _job;
    private byte[]? _retiredJobId;
    private double _difficulty = 1;
    private uint _versionMask;
    private byte[]? _extranonce1;
    private int _extranonce2Size;
    private bool _authorized;
    private ShareFields? _lastValid;
    private int _inFlight;
    private bool _retiring;

    public LoadSession(LoadRun run, int number)
    {
        _run = run;
        Number = number;
        _worker = $"{run.Options.User}.w{number}";
        _shares = new ShareMaker(new Random(number * 7919));
    }

    public int Number { get; }

    public bool IsReady { get; private set; }

    public bool IsClosed { get; private set; }

    /// <summary>Set by <see cref="Retire"/>: no more submits; the owner closes the session once its answers are in.</summary>
    public bool IsRetiring => Volatile.Read(ref _retiring);

    /// <summary>Submits sent and not yet answered (read without the lock).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public long Hashes
    {
        get
        {
            lock (_gate)
            {
                return _shares.Hashes;
            }
        }
    }

    /// <summary>Connects, opens the Stratum session and reads until the peer or the run closes it.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(_run.Options.Target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendTimeout = 10_000 };
        try
        {
            await socket.ConnectAsync(_run.Options.Target, cancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            _run.Counters.ConnectFailed();
            IsClosed = true;
            return;
        }

        lock (_gate)
        {
            _socket = socket;
            Write((w, o) =>
            {
                if (_run.Options.VersionRolling)
                {
                    w.WriteConfigureVersionRolling(o, JsonRpcId.FromNumber(ConfigureId), VersionRolling.Bip320Mask, 2);
                }

                w.WriteSubscribe(o, JsonRpcId.FromNumber(SubscribeId), "stratum-loadtest/1.0");
            });
        }

        _run.Counters.Connected();
        try
        {
            await ReceiveLoopAsync(socket, cancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Closed by the run or by the peer.
        }
        finally
        {
            lock (_gate)
            {
                if (!IsClosed && !cancellationToken.IsCancellationRequested)
                {
                    _run.Counters.ClosedByPeer();
                }

                IsClosed = true;
                IsReady = false;
                _socket = null;
            }

            socket.Dispose();
        }
    }

    /// <summary>Closes the connection (the end of the run).</summary>
    public void Close()
    {
        lock (_gate)
        {
            IsClosed = true;
            try
            {
                _socket?.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already gone.
            }

            _socket?.Close();
        }
    }

    /// <summary>Stops sending submits (a miner about to disconnect); those in flight are still answered and counted.</summary>
    public void Retire() => Volatile.Write(ref _retiring, true);

    /// <summary>Sends up to <paramref name="budget"/> submits while the window has room; returns how many went.</summary>
    public int Submit(int budget)
    {
        if (!IsReady || budget <= 0 || InFlight >= _run.Options.Window || IsRetiring)
        {
            return 0;
        }

        lock (_gate)
        {
            if (!IsReady || _socket is null || _job is not { } job || _extranonce1 is not { } extranonce1)
            {
                return 0;
            }

            var buffer = Buffer();
            var writer = Writer();
            var sent = 0;
            while (sent < budget && _pending.Count < _run.Options.Window)
            {
                // Read before the reservation: the run closes the window only once the cap is reserved.
                var inWindow = _run.InWindow;
                if (!_run.TryReserveSubmit())
                {
                    break;
                }

                var kind = _run.Options.Mix.KindOf(_submitIndex++);
                var share = MakeShare(ref kind, job, extranonce1);
                var id = _nextId++;
                writer.WriteSubmit(buffer, JsonRpcId.FromNumber(id), _worker, share.JobId, [], share.Extranonce2, share.NTime, share.Nonce, share.VersionBits);
                _pending[id] = new Pending(_run.Time.GetTimestamp(), kind, inWindow);
                Interlocked.Increment(ref _inFlight);
                _run.Counters.Sent(kind, inWindow);
                sent++;
            }

            if (buffer.WrittenCount > 0)
            {
                SendLocked(buffer.WrittenSpan);
            }

            return sent;
        }
    }

    private ShareFields MakeShare(ref ShareKind kind, SessionJob job, byte[] extranonce1)
    {
        var difficulty = Math.Max(job.Difficulty, _difficulty);
        if (kind == ShareKind.Duplicate)
        {
            if (_lastValid is { } last && last.JobId.AsSpan().SequenceEqual(job.JobId))
            {
                return last;
            }

            // Nothing to repeat on this job yet: a valid share now, so a later duplicate has one.
            kind = ShareKind.Valid;
        }

        switch (kind)
        {
            case ShareKind.Valid:
                if (_shares.TryMakeValid(job, extranonce1, _extranonce2Size, _versionMask, difficulty, _run.Options.MaxValidSearch, out var valid))
                {
                    _lastValid = valid;
                    return valid;
                }

                _run.Counters.ValidSearchExhausted();
                kind = ShareKind.BadNonce;
                return _shares.MakeBadNonce(job, extranonce1, _extranonce2Size, difficulty);
            case ShareKind.Stale:
                return _shares.MakeStale(_retiredJobId ?? "5ca1ab1e"u8.ToArray(), job.Notify.NTime, _extranonce2Size);
            default:
                return _shares.MakeBadNonce(job, extranonce1, _extranonce2Size, difficulty);
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (true)
        {
            if (filled == _buffer.Length)
            {
                if (_buffer.Length >= MaxLineLength)
                {
                    return;
                }

                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var read = await socket.ReceiveAsync(_buffer.AsMemory(filled), SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                return;
            }

            // Both clocks at once, before any parsing: latency uses the monotonic one, fan-out the wall clock the
            // pool stamped its jobs with.
            var arrived = _run.Time.GetTimestamp();
            var arrivedWall = _run.Time.GetUtcNow();
            filled += read;
            var start = 0;
            var answered = false;
            while (true)
            {
                var end = Array.IndexOf(_buffer, (byte)'\n', start, filled - start);
                if (end < 0)
                {
                    break;
                }

                var line = _buffer.AsSpan(start, end - start).TrimEnd((byte)'\r');
                start = end + 1;
                if (!line.IsEmpty)
                {
                    answered |= HandleLine(line, arrived, arrivedWall);
                }
            }

            if (start > 0)
            {
                _buffer.AsSpan(start, filled - start).CopyTo(_buffer);
                filled -= start;
            }

            // Answers free window slots: refill at once unless a rate paces the run.
            if (answered && _run.Options.Rate == 0 && _run.Sending)
            {
                Submit(int.MaxValue);
            }
        }
    }

    /// <summary>Handles one line; true when it answered a submit.</summary>
    private bool HandleLine(ReadOnlySpan<byte> line, long arrived, DateTimeOffset arrivedWall)
    {
        if (!StratumEnvelope.TryParse(line, out var envelope, out _))
        {
            _run.Counters.Malformed();
            return false;
        }

        if (envelope.Kind == StratumMessageKind.Response)
        {
            if (!envelope.Id.TryGetNumber(out var id))
            {
                _run.Counters.Malformed();
                return false;
            }

            switch (id)
            {
                case ConfigureId:
                    if (ConfigureResult.TryParse(line, envelope, out var configured) && configured.VersionRolling)
                    {
                        lock (_gate)
                        {
                            _versionMask = configured.VersionRollingMask & VersionRolling.Bip320Mask;
                        }
                    }

                    return false;
                case SubscribeId:
                    OnSubscribed(line, envelope);
                    return false;
                case AuthorizeId:
                    lock (_gate)
                    {
                        _authorized = StratumResponse.ReadVerdict(line, envelope).Accepted;
                        UpdateReadyLocked();
                    }

                    return false;
                default:
                    return OnSubmitAnswer(id, line, envelope, arrived);
            }
        }

        switch (envelope.Method)
        {
            case StratumMethod.SetDifficulty:
                if (PoolParams.TryParseDifficulty(line, envelope, out var difficulty, out _) && double.IsFinite(difficulty) && difficulty > 0)
                {
                    lock (_gate)
                    {
                        _difficulty = difficulty;
                    }
                }

                break;
            case StratumMethod.SetVersionMask:
                if (PoolParams.TryParseVersionMask(line, envelope, out var mask, out _))
                {
                    lock (_gate)
                    {
                        _versionMask = _run.Options.VersionRolling ? mask & VersionRolling.Bip320Mask : 0;
                    }
                }

                break;
            case StratumMethod.Notify:
                OnNotify(line, envelope, arrivedWall);
                break;
            default:
                break;
        }

        return false;
    }

    private void OnSubscribed(ReadOnlySpan<byte> line, in StratumEnvelope envelope)
    {
        if (!SubscribeResult.TryParse(line, envelope, out var result, out _) || result is null)
        {
            _run.Counters.Malformed();
            Close();
            return;
        }

        lock (_gate)
        {
            _extranonce1 = result.Extranonce1;
            _extranonce2Size = result.Extranonce2Size;
            Write((w, o) => w.WriteAuthorize(o, JsonRpcId.FromNumber(AuthorizeId), _worker, _run.Options.Password));
        }
    }

    private void OnNotify(ReadOnlySpan<byte> line, in StratumEnvelope envelope, DateTimeOffset arrivedWall)
    {
        if (!NotifyMessage.TryParse(line, envelope, out var notify, out _) || notify is null)
        {
            _run.Counters.Malformed();
            return;
        }

        if (PoolJobStamp.TryRead(notify.Coinbase2, out var stamped))
        {
            _run.Fanout.Record(stamped, arrivedWall, line.Length + 1);
        }

        lock (_gate)
        {
            if (notify.CleanJobs && _job is not null)
            {
                _retiredJobId = _job.JobId;
            }

            _job = new SessionJob(notify, Encoding.UTF8.GetBytes(notify.JobId), _difficulty);
            UpdateReadyLocked();
        }

        _run.Counters.Notified();
    }

    private bool OnSubmitAnswer(long id, ReadOnlySpan<byte> line, in StratumEnvelope envelope, long arrived)
    {
        Pending pending;
        lock (_gate)
        {
            if (!_pending.Remove(id, out pending))
            {
                _run.Counters.UnexpectedAnswer();
                return false;
            }
        }

        var verdict = StratumResponse.ReadVerdict(line, envelope);
        var code = verdict.Accepted ? null : verdict.ErrorCode != (int)StratumErrorCode.Other || verdict.Reason is null
            ? verdict.ErrorCode.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : verdict.Reason;
        _run.Counters.Answered(pending.Kind, verdict.Accepted, code, pending.InWindow, _run.InWindow);
        if (pending.InWindow)
        {
            _run.RecordLatency((long)_run.Time.GetElapsedTime(pending.SentAt, arrived).TotalMicroseconds);
        }

        // Last: the drain ends on zero in flight, by then this answer is in every count.
        Interlocked.Decrement(ref _inFlight);

        return true;
    }

    private void UpdateReadyLocked()
    {
        var ready = _authorized && _job is not null && _extranonce1 is not null && !IsClosed;
        if (ready && !IsReady)
        {
            IsReady = true;
            _run.Counters.Ready();
        }
    }

    private void Write(Action<StratumWriter, ArrayBufferWriter<byte>> write)
    {
        var buffer = Buffer();
        write(Writer(), buffer);
        SendLocked(buffer.WrittenSpan);
    }

    private void SendLocked(ReadOnlySpan<byte> bytes)
    {
        if (_socket is null)
        {
            return;
        }

        try
        {
            while (!bytes.IsEmpty)
            {
                bytes = bytes[_socket.Send(bytes, SocketFlags.None)..];
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The receive loop sees the close and ends the session.
        }
    }

    private static StratumWriter Writer() => t_writer ??= new StratumWriter();

    private static ArrayBufferWriter<byte> Buffer()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        return buffer;
    }

    private readonly record struct Pending(long SentAt, ShareKind Kind, bool InWindow);
}
