using System.Text;
using StratumProxy.Proxy.Components;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Upstream;

public sealed partial class UpstreamConnection
{
    private bool _subscribed;
    private bool _authorized;
    private byte[] _scratch = [];

    private void BeginHandshake()
    {
        lock (_lock)
        {
            if (Pool.VersionRolling)
            {
                _pendingRequests[1] = new PendingRequest(RequestKind.Configure, null);
            }

            _pendingRequests[2] = new PendingRequest(RequestKind.Subscribe, null);
            _pendingRequests[3] = new PendingRequest(RequestKind.Authorize, Pool.User);
            _authorizedWorkers.Add(Pool.User);
        }

        // Pipelined like real miners: configure, subscribe, authorize; answers may come in any order (PEERS.md #4).
        if (Pool.VersionRolling)
        {
            _outbound.Writer.TryWrite(new Outbound(OutboundKind.Configure, 1, null));
        }

        _outbound.Writer.TryWrite(new Outbound(OutboundKind.Subscribe, 2, ResumeSessionId));
        _outbound.Writer.TryWrite(new Outbound(OutboundKind.Authorize, 3, Pool.User));
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        var input = _connection.Transport.Input;
        _scratch = new byte[_context.MaxLineLength];
        while (State != UpstreamState.Closed)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled && (State == UpstreamState.Closed || !ParkRequested))
            {
                SetClosed(_closeReason == "closed" ? "closed by the proxy" : _closeReason);
                return;
            }

            if (ParkRequested)
            {
                // A handover: what the pool sent stays unread for whoever reads next.
                input.AdvanceTo(result.Buffer.Start);
                if (!await ParkedLoopAsync().ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }

            var buffer = result.Buffer;
            while (true)
            {
                var status = LineFramer.TryReadLine(ref buffer, _context.MaxLineLength, out var line);
                if (status == FrameStatus.NeedMoreData)
                {
                    break;
                }

                if (status == FrameStatus.TooLong)
                {
                    _context.Metrics.ProtocolErrors.WithLabels("pool", "line_too_long").Inc();
                    SetClosed($"the pool sent a line longer than {_context.MaxLineLength} bytes");
                    return;
                }

                if (!line.IsEmpty)
                {
                    HandleLine(LineFramer.AsContiguous(line, _scratch));
                }
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                SetClosed("the pool closed the connection");
                return;
            }
        }
    }

    private void HandleLine(ReadOnlySpan<byte> line)
    {
        if (!StratumEnvelope.TryParse(line, out var envelope, out var error))
        {
            _context.Metrics.ProtocolErrors.WithLabels("pool", error.Label).Inc();
            Log.PoolBadLine(_logger, Pool.Name, error.Reason);
            return;
        }

        if (envelope.Kind == StratumMessageKind.Response)
        {
            HandleResponse(line, envelope);
            return;
        }

        switch (envelope.Method)
        {
            case StratumMethod.Notify:
                if (NotifyMessage.TryParse(line, envelope, out var notify, out error))
                {
                    OnNotify(notify!);
                }
                else if (error.Kind == StratumParseErrorKind.TooManyMerkleBranches)
                {
                    // A read limit: a pool that sends jobs no block can have is not worked for.
                    BadLine(error);
                    _context.Metrics.UpstreamRefused.WithLabels(Pool.Name).Inc();
                    Log.PoolRefused(_logger, Pool.Name, error.Reason);
                    Fail(error.Reason);
                    return;
                }
                else
                {
                    BadLine(error);
                }

                break;
            case StratumMethod.SetDifficulty or StratumMethod.SetTarget:
                if (TryReadDifficulty(line, envelope, out var difficulty, out error))
                {
                    // Applies to the jobs that follow (the Stratum convention); the current job keeps its own.
                    _pendingDifficulty = difficulty;
                    if (CurrentJob is null)
                    {
                        Difficulty = difficulty;
                    }

                    _context.Metrics.PoolDifficulty.WithLabels(Pool.Name).Set(difficulty);
                }
                else
                {
                    BadLine(error);
                }

                break;
            case StratumMethod.SetExtranonce:
                if (SetExtranonceMessage.TryParse(line, envelope, out var setExtranonce, out error))
                {
                    OnSetExtranonce(setExtranonce!.Extranonce1, setExtranonce.Extranonce2Size);
                }
                else
                {
                    BadLine(error);
                }

                break;
            case StratumMethod.SetVersionMask:
                if (PoolParams.TryParseVersionMask(line, envelope, out var mask, out error))
                {
                    VersionMask = mask;
                    foreach (var session in Sessions)
                    {
                        session.OnVersionMaskChanged(mask);
                    }
                }
                else
                {
                    BadLine(error);
                }

                break;
            case StratumMethod.Reconnect:
                if (ReconnectMessage.TryParse(line, envelope, out var reconnect, out _))
                {
                    ReconnectRequest = reconnect;
                    Log.PoolReconnectRequested(_logger, Pool.Name, reconnect.Host ?? Url.Host, reconnect.Port ?? Url.Port, reconnect.WaitSeconds);
                    Close("the pool asked to reconnect (client.reconnect)");
                }

                break;
            case StratumMethod.ShowMessage:
                var text = PoolParams.ReadMessageText(line, envelope);
                if (text is not null)
                {
                    Log.PoolMessage(_logger, Pool.Name, text.Length > 200 ? text[..200] : text);
                }

                break;
            case StratumMethod.GetVersion:
                if (envelope.Kind == StratumMessageKind.Request)
                {
                    _outbound.Writer.TryWrite(new Outbound(OutboundKind.Response, 0, Encoding.UTF8.GetString(envelope.Id.RawJson)));
                }

                break;
            default:
                // Unknown pool methods are ignored: they are extensions the proxy does not need.
                _context.Metrics.ProtocolErrors.WithLabels("pool", "unknown_method").Inc();
                break;
        }
    }

    /// <summary>A client.reconnect target the pool sent, honoured by the pool runtime (bounded).</summary>
    public ReconnectMessage? ReconnectRequest { get; private set; }

    /// <summary>The difficulty a pool sets: mining.set_difficulty's number, or the difficulty of mining.set_target's target.</summary>
    private static bool TryReadDifficulty(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out double difficulty, out StratumParseError error)
    {
        if (envelope.Method == StratumMethod.SetDifficulty)
        {
            return PoolParams.TryParseDifficulty(line, envelope, out difficulty, out error);
        }

        Span<byte> target = stackalloc byte[32];
        difficulty = 0;
        if (!TargetParam.TryParse(line, envelope, target, out error))
        {
            return false;
        }

        var value = Stratum.Mining.UInt256.FromBigEndian(target);
        if (value.IsZero)
        {
            // No hash meets a zero target: its difficulty is infinite, and no job can be made at it.
            error = new StratumParseError(StratumParseErrorKind.InvalidParams, "mining.set_target params[0] must be a target above zero");
            return false;
        }

        difficulty = Stratum.Mining.Difficulty.FromTarget(value);
        return true;
    }

    private void BadLine(StratumParseError error)
    {
        _context.Metrics.ProtocolErrors.WithLabels("pool", error.Label).Inc();
        Log.PoolBadLine(_logger, Pool.Name, error.Reason);
    }

    private void HandleResponse(ReadOnlySpan<byte> line, in StratumEnvelope envelope)
    {
        if (!envelope.Id.TryGetNumber(out var id))
        {
            return;
        }

        ForwardedShare share;
        PendingRequest request;
        bool isShare;
        lock (_lock)
        {
            isShare = _pendingShares.Remove(id, out share);
            if (isShare)
            {
                SignalQuiet();
            }

            request = default;
            if (!isShare && !_pendingRequests.Remove(id, out request))
            {
                return;
            }
        }

        if (isShare)
        {
            var verdict = StratumResponse.ReadVerdict(line, envelope);
            var latency = _context.Time.GetElapsedTime(share.SentTimestamp);
            share.Session.OnPoolVerdict(ref share, verdict, latency);
            PoolVerdict?.Invoke(verdict.Accepted, latency);
            return;
        }

        switch (request.Kind)
        {
            case RequestKind.Configure:
                if (ConfigureResult.TryParse(line, envelope, out var configure) && configure.VersionRolling)
                {
                    VersionMask = configure.VersionRollingMask;
                }

                break;
            case RequestKind.Subscribe:
                if (!SubscribeResult.TryParse(line, envelope, out var subscribe, out var error))
                {
                    Fail($"the pool's subscribe answer was not understood: {error.Reason}");
                    return;
                }

                if (!TryCreateLayout(subscribe!.Extranonce1, subscribe.Extranonce2Size, out var layout, out var reason))
                {
                    _context.Metrics.UpstreamRefused.WithLabels(Pool.Name).Inc();
                    Log.PoolRefused(_logger, Pool.Name, reason);
                    Fail(reason);
                    return;
                }

                SetLayout(layout);
                _subscribed = true;
                TryBecomeReady();
                break;
            case RequestKind.Authorize:
                var ok = StratumResponse.ReadVerdict(line, envelope).Accepted;
                if (string.Equals(request.Worker, Pool.User, StringComparison.Ordinal) && !_authorized)
                {
                    if (!ok)
                    {
                        Fail($"the pool rejected the authorization of '{Pool.User}'");
                        return;
                    }

                    _authorized = true;
                    TryBecomeReady();
                }
                else if (!ok)
                {
                    Log.PoolAuthorizeRejected(_logger, Pool.Name, request.Worker ?? string.Empty);
                }

                break;
        }
    }

    /// <summary>Raised with the new N when the pool sent mining.set_extranonce (on the read loop).</summary>
    internal Action<int>? Extranonce2SizeChanged { get; set; }

    /// <summary>Raised with each pool verdict (accepted, round trip), for the pool's health score.</summary>
    internal Action<bool, TimeSpan>? PoolVerdict { get; set; }

    private void Fail(string reason)
    {
        SetClosed(reason);
        _connection.Transport.Input.CancelPendingRead();
    }

    private void TryBecomeReady()
    {
        if (!_subscribed || !_authorized || State != UpstreamState.Handshaking)
        {
            return;
        }

        if (_pendingDifficulty > 0)
        {
            Difficulty = _pendingDifficulty;
        }

        Interlocked.CompareExchange(ref _state, (int)UpstreamState.Ready, (int)UpstreamState.Handshaking);
        var url = Url.ToString();
        var extranonce1 = Extranonce1Hex;
        Log.PoolReady(_logger, Pool.Name, url, extranonce1, Layout!.PoolExtranonce2Size, Difficulty, VersionMask);

        // A notify that came before the answers (ckpool, bfgminer's server) is held until now.
        if (_earlyNotify is { } early)
        {
            _earlyNotify = null;
            OnNotify(early);
        }

        _ready.TrySetResult(true);
    }

    private NotifyMessage? _earlyNotify;

    private void OnNotify(NotifyMessage notify)
    {
        if (State == UpstreamState.Handshaking || Layout is null)
        {
            _earlyNotify = notify;
            return;
        }

        if (_pendingDifficulty > 0)
        {
            Difficulty = _pendingDifficulty;
        }

        Span<byte> suffix = stackalloc byte[Layout.MinerCoinbase1SuffixLength];
        Layout.WriteMinerCoinbase1Suffix(suffix);
        var job = UpstreamJob.Create(this, notify, suffix, Difficulty, _context.Time.GetTimestamp());
        PublishJob(job, notify.CleanJobs);
        if (_context.JobObserved is { } observe)
        {
            try
            {
                observe(this, notify);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or OverflowException)
            {
                // A coinbase the estimator cannot read says nothing about the job's validity for mining.
                _context.Metrics.ProtocolErrors.WithLabels("pool", "unreadable_coinbase").Inc();
            }
        }
    }

    private void PublishJob(UpstreamJob job, bool clean)
    {
        lock (_lock)
        {
            if (State == UpstreamState.Closed)
            {
                return;
            }

            if (clean)
            {
                foreach (var old in _jobs)
                {
                    old.MarkStale();
                    _context.Jobs.Remove(old);
                    _duplicates.Retire(old.Id);
                }

                _jobs.Clear();
            }
            else if (_jobs.Count >= MaxJobsKept)
            {
                var oldest = _jobs.Dequeue();
                oldest.MarkStale();
                _context.Jobs.Remove(oldest);
                _duplicates.Retire(oldest.Id);
            }

            _jobs.Enqueue(job);
            _context.Jobs.Add(job);
            _duplicates.OpenJob(job.Id, cleanJobs: false);

            CurrentJob = job;
            LastJobTimestamp = job.CreatedTimestamp;
        }

        foreach (var session in Sessions)
        {
            session.OnJob(job, clean);
        }
    }

    /// <summary>The layout for the pool's E and N, with the miner layout the runtime chooses for N.</summary>
    private bool TryCreateLayout(byte[] extranonce1, int extranonce2Size, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ExtranonceLayout? layout, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason)
    {
        var configured = new MinerLayout(_context.MinerPrefixSize, _context.MinerExtranonce2Size);
        var miner = ChooseLayout is { } choose ? choose(extranonce2Size) : MinerLayout.Fit(extranonce2Size, configured);
        if (miner is not { } chosen)
        {
            layout = null;
            reason = $"pool extranonce2 size N={extranonce2Size} is too small: miners need at least {MinerLayout.MinExtranonce2Size} bytes of extranonce2";
            return false;
        }

        return ExtranonceLayout.TryCreate(extranonce1, extranonce2Size, chosen.PrefixSize, chosen.Extranonce2Size, out layout, out reason);
    }

    private void SetLayout(ExtranonceLayout layout)
    {
        if (_slots is null || _slots.PrefixSize != layout.PrefixSize)
        {
            _slots = new ExtranonceAllocator(layout.PrefixSize);
        }

        Layout = layout;
    }

    private void OnSetExtranonce(byte[] extranonce1, int extranonce2Size)
    {
        // The miners on this connection keep their (k, n): the new N must still hold them, else the connection is
        // dropped and opened again (the runtime then fits a layout to the new N and routing re-places the miners).
        Extranonce2SizeChanged?.Invoke(extranonce2Size);
        var current = Layout?.Miner;
        if (current is { } miner && !miner.FitsIn(extranonce2Size))
        {
            var why = $"the pool's mining.set_extranonce gives N={extranonce2Size}, too small for the {miner} of the miners on this connection";
            Log.PoolRefused(_logger, Pool.Name, why);
            Fail(why);
            return;
        }

        if (!ExtranonceLayout.TryCreate(extranonce1, extranonce2Size, current?.PrefixSize ?? _context.MinerPrefixSize, current?.Extranonce2Size ?? _context.MinerExtranonce2Size, out var layout, out var reason))
        {
            _context.Metrics.UpstreamRefused.WithLabels(Pool.Name).Inc();
            Log.PoolRefused(_logger, Pool.Name, reason);
            Fail(reason);
            return;
        }

        lock (_lock)
        {
            foreach (var job in _jobs)
            {
                job.MarkStale();
                _context.Jobs.Remove(job);
            }

            _jobs.Clear();
            CurrentJob = null;
            SetLayout(layout);
        }

        foreach (var session in Sessions)
        {
            session.OnUpstreamExtranonceChanged(this);
        }
    }
}
