using System.Buffers;
using System.IO.Pipelines;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Sessions;

public sealed partial class MinerSession
{
    private const int MaxBadLines = 20;

    private bool _sawFirstByte;
    private bool _proxyHeaderDone;
    private int _badLines;
    private long _unconsumed;

    /// <summary>What the read loop (in <see cref="RunAsync(ISessionRunner?)"/>) does after one read.</summary>
    private enum ReadStep : byte
    {
        /// <summary>Read again.</summary>
        Continue,

        /// <summary>A handover asked the session to park: what is not handled yet is left unexamined.</summary>
        Park,

        /// <summary>The session ends.</summary>
        Stop,
    }

    /// <summary>
    /// One turn of the read loop, between two reads: posted events, then every complete line. The loop itself (the
    /// awaits) is in <see cref="RunAsync(ISessionRunner?)"/>, so an idle session keeps one state machine alive for reading, not two.
    /// </summary>
    private ReadStep OnRead(PipeReader input, in ReadResult result)
    {
        // A cancelled read is either Close (then _closing is set) or a wake-up for posted events.
        DrainEvents();
        if (_closing != 0)
        {
            return ReadStep.Stop;
        }

        var buffer = result.Buffer;
        var keepGoing = true;
        if (!ParkRequested)
        {
            if (!buffer.IsEmpty && (!result.IsCanceled || buffer.Length != _unconsumed))
            {
                // New bytes (a wake-up for posted events returns the unconsumed tail again: that is not the miner).
                LastReceiveTimestamp = _context.Time.GetTimestamp();
            }

            keepGoing = ProcessBuffer(ref buffer);
            ApplyReconnect();
        }

        if (keepGoing && ParkRequested)
        {
            // A handover, asked before this read or between two of its lines: what is not handled yet is left
            // unexamined, so the next read (whoever makes it) returns it at once.
            input.AdvanceTo(buffer.Start);
            return ReadStep.Park;
        }

        _unconsumed = buffer.Length;
        input.AdvanceTo(buffer.Start, buffer.End);
        if (!keepGoing)
        {
            return ReadStep.Stop;
        }

        if (result.IsCompleted)
        {
            Close(buffer.IsEmpty ? "closed by the miner" : "closed by the miner mid-line");
            return ReadStep.Stop;
        }

        return ReadStep.Continue;
    }

    /// <summary>Handles every complete line in the buffer; false when the session must end.</summary>
    private bool ProcessBuffer(ref ReadOnlySequence<byte> buffer)
    {
        if (!_proxyHeaderDone && !ReadProxyHeader(ref buffer))
        {
            return _closing == 0;
        }

        if (!_sawFirstByte && !buffer.IsEmpty)
        {
            var first = FirstNonSpace(buffer);
            if (first is { } b)
            {
                _sawFirstByte = true;
                if (b != (byte)'{')
                {
                    // bfgminer probes with a TLS ClientHello (0x16); closing at once lets it fall back (PEERS.md #6).
                    _context.Metrics.ProtocolErrors.WithLabels("miner", "not_stratum").Inc();
                    Close(b == 0x16 ? "not Stratum: a TLS ClientHello on the plain port" : $"not Stratum: first byte 0x{b:x2}");
                    return false;
                }
            }
        }

        while (_closing == 0)
        {
            if (ParkRequested)
            {
                return true;
            }

            var status = LineFramer.TryReadLine(ref buffer, MaxLineLength, out var line);
            if (status == FrameStatus.NeedMoreData)
            {
                return true;
            }

            if (status == FrameStatus.TooLong)
            {
                _context.Metrics.ProtocolErrors.WithLabels("miner", "line_too_long").Inc();
                Enqueue(MinerOutbound.Error(JsonRpcId.Null, StratumErrorCode.Other, $"line longer than {MaxLineLength} bytes"));
                Close($"line longer than {MaxLineLength} bytes");
                return false;
            }

            if (line.IsSingleSegment)
            {
                if (!line.IsEmpty)
                {
                    HandleLine(line.FirstSpan);
                }
            }
            else if (!line.IsEmpty)
            {
                HandleSplitLine(line);
            }

            if (HasEvents)
            {
                // What a line caused elsewhere (authorize → routing attaches the miner) applies before the next line.
                DrainEvents();
            }
        }

        return false;
    }

    /// <summary>
    /// A line that spans two pipe segments, copied into a buffer borrowed for the one call: an idle session holds
    /// no line buffer of its own (a long-lived per-session buffer of <see cref="MaxLineLength"/> was most of its
    /// memory), and nothing keeps a span of the line once <see cref="HandleLine"/> returns.
    /// </summary>
    private void HandleSplitLine(in ReadOnlySequence<byte> line)
    {
        var rented = ArrayPool<byte>.Shared.Rent((int)line.Length);
        try
        {
            HandleLine(LineFramer.AsContiguous(line, rented));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private bool ReadProxyHeader(ref ReadOnlySequence<byte> buffer)
    {
        var result = ProxyProtocolReader.TryRead(buffer);
        switch (result.Status)
        {
            case ProxyProtocolStatus.NeedMoreData:
                return false;
            case ProxyProtocolStatus.Success:
                if (result.Source is { } source)
                {
                    _connection.RemoteEndPoint = source;
                }

                buffer = buffer.Slice(result.BytesConsumed);
                _proxyHeaderDone = true;
                return AdmitSource();
            default:
                if (Listener.ProxyProtocol == ProxyProtocolMode.Optional)
                {
                    _proxyHeaderDone = true;
                    return AdmitSource();
                }

                _context.Metrics.ProtocolErrors.WithLabels("miner", "proxy_protocol").Inc();
                Close($"PROXY protocol header required: {result.Error}");
                return false;
        }
    }

    /// <summary>The per-address limit, once the peer's address is known from the PROXY header.</summary>
    private bool AdmitSource()
    {
        if (_context.SourceAdmission is { } admit && !admit(this))
        {
            Close("address over its connection limit");
            return false;
        }

        return true;
    }

    private static byte? FirstNonSpace(in ReadOnlySequence<byte> buffer)
    {
        foreach (var segment in buffer)
        {
            foreach (var b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\r' or (byte)'\n' or (byte)'\t'))
                {
                    return b;
                }
            }
        }

        return null;
    }

    private void HandleLine(ReadOnlySpan<byte> line)
    {
        if (!StratumEnvelope.TryParse(line, out var envelope, out var error))
        {
            BadLine(error.Label, error.Reason);
            return;
        }

        if (envelope.Kind == StratumMessageKind.Response)
        {
            // The miner's answer to client.get_version or similar: nothing to do.
            return;
        }

        var id = envelope.Id;
        var answer = envelope.Kind == StratumMessageKind.Request;
        switch (envelope.Method)
        {
            case StratumMethod.Submit:
                OnSubmit(line, envelope);
                break;
            case StratumMethod.Subscribe:
                OnSubscribe(line, envelope);
                break;
            case StratumMethod.Authorize:
                OnAuthorize(line, envelope);
                break;
            case StratumMethod.Configure:
                OnConfigure(line, envelope);
                break;
            case StratumMethod.SuggestDifficulty or StratumMethod.SuggestTarget:
                if (TryReadSuggestion(line, envelope, out var suggested, out error))
                {
                    if (suggested is { } difficulty)
                    {
                        OnSuggestDifficulty(difficulty);
                    }

                    Answer(answer, id, true);
                }
                else
                {
                    BadParams(answer, id, error);
                }

                break;
            case StratumMethod.ExtranonceSubscribe:
                // Then the proxy may change the miner's extranonce (mining.set_extranonce) instead of leaving it
                // without a pool when no pool of its group can carry its layout any more.
                _protocol.SubscribeExtranonce();
                Answer(answer, id, true);
                break;
            case StratumMethod.Capabilities or StratumMethod.Ping:
                Answer(answer, id, true);
                break;
            case StratumMethod.GetTransactions:
                // The pool sends merkle branches, never the transactions: say so rather than claim an empty block.
                if (answer)
                {
                    Enqueue(MinerOutbound.Error(id, StratumErrorCode.Other, "transactions not available: the pool sends merkle branches only"));
                }

                break;
            default:
                _context.Metrics.ProtocolErrors.WithLabels("miner", "unsupported_method").Inc();
                if (answer)
                {
                    Enqueue(MinerOutbound.Error(id, StratumErrorCode.Other, "Unsupported method"));
                }

                break;
        }
    }

    /// <summary>
    /// The difficulty a miner suggests: mining.suggest_difficulty's number, or the difficulty of mining.suggest_target's
    /// target (null for a zero target, which suggests nothing).
    /// </summary>
    private static bool TryReadSuggestion(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out double? difficulty, out StratumParseError error)
    {
        difficulty = null;
        if (envelope.Method == StratumMethod.SuggestDifficulty)
        {
            if (!SuggestDifficultyRequest.TryParse(line, envelope, out var suggested, out error))
            {
                return false;
            }

            difficulty = suggested;
            return true;
        }

        Span<byte> target = stackalloc byte[32];
        if (!TargetParam.TryParse(line, envelope, target, out error))
        {
            return false;
        }

        difficulty = MinerProtocol.SuggestedDifficulty(UInt256.FromBigEndian(target));
        return true;
    }

    private void Answer(bool answer, in JsonRpcId id, bool result)
    {
        if (answer)
        {
            Enqueue(MinerOutbound.Result(id, result));
        }
    }

    private void BadParams(bool answer, in JsonRpcId id, StratumParseError error)
    {
        _context.Metrics.ProtocolErrors.WithLabels("miner", error.Label).Inc();
        if (answer)
        {
            Enqueue(MinerOutbound.Error(id, StratumErrorCode.Other, error.Reason));
        }
    }

    private void BadLine(string label, string reason)
    {
        _context.Metrics.ProtocolErrors.WithLabels("miner", label).Inc();
        if (++_badLines <= 3)
        {
            Log.MinerBadLine(_context.Logger, Id, Worker, reason);
        }

        if (_badLines > MaxBadLines)
        {
            Close($"bad lines: more than {MaxBadLines} unparseable lines");
        }
    }

    private void OnSubscribe(ReadOnlySpan<byte> line, in StratumEnvelope envelope)
    {
        if (!SubscribeRequest.TryParse(line, envelope, out var request, out var error))
        {
            BadParams(true, envelope.Id, error);
            return;
        }

        _protocol.Subscribe(request.UserAgent);
        EnsureLayout();
        Span<byte> subscription = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(subscription, Id);
        if (envelope.Kind == StratumMessageKind.Request)
        {
            Enqueue(MinerOutbound.Subscribed(envelope.Id, subscription.ToArray(), _identity!.Extranonce1, Extranonce2Size));
        }
    }

    private void OnAuthorize(ReadOnlySpan<byte> line, in StratumEnvelope envelope)
    {
        if (!AuthorizeRequest.TryParse(line, envelope, out var request, out var error))
        {
            BadParams(true, envelope.Id, error);
            return;
        }

        var outcome = _protocol.Authorize(request.Username);
        if (!outcome.Accepted)
        {
            Enqueue(MinerOutbound.Error(envelope.Id, StratumErrorCode.Unauthorized, outcome.Error!));
            return;
        }

        var first = outcome.First;
        if (first)
        {
            EnsureLayout();
            var worker = Worker!;
            Stats = _context.Ledger.Worker(worker);
            Stats.SessionOpened();
            Log.MinerAuthorized(_context.Logger, Id, worker, UserAgent);
        }

        // Answer before any job: firmware expects the authorize result first.
        Enqueue(MinerOutbound.Result(envelope.Id, true));
        if (first)
        {
            _context.Router.OnAuthorized(this);
        }
    }

    private void OnConfigure(ReadOnlySpan<byte> line, in StratumEnvelope envelope)
    {
        if (!ConfigureRequest.TryParse(line, envelope, out var request, out var error))
        {
            BadParams(true, envelope.Id, error);
            return;
        }

        var poolMask = _current?.Upstream is { VersionMask: not 0 } up ? up.VersionMask : DefaultVersionMask;
        var outcome = _protocol.Configure(request, poolMask, _vardiff);

        // Always answer configure: a VMASK-built cgminer drops the pool otherwise (PEERS.md #5).
        Enqueue(MinerOutbound.Configured(envelope.Id, outcome.VersionRolling, outcome.VersionMask, outcome.MinimumDifficulty));
    }
}
