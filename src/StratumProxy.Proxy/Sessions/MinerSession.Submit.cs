using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Upstream;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Sessions;

public sealed partial class MinerSession
{
    private double _submitTokens;
    private long _lastRefill;
    private int _inFlight;

    // One message per size for the whole process: a miner with the wrong extranonce2 size sends every share with it,
    // and thousands of miners of one model all do.
    private static readonly string?[] s_extranonce2SizeErrors = new string?[17];

    private string Extranonce2SizeError => Extranonce2SizeErrorFor(Extranonce2Size);

    // A race formats the message twice, harmlessly.
    private static string Extranonce2SizeErrorFor(int size) =>
        (uint)size < (uint)s_extranonce2SizeErrors.Length
            ? s_extranonce2SizeErrors[size] ??= Extranonce2SizeMessage(size)
            : Extranonce2SizeMessage(size);

    private static string Extranonce2SizeMessage(int size) => $"extranonce2 must be {size} bytes";

    /// <summary>
    /// The hot path. Order of checks: session state, rate, params, job, extranonce2 size, ntime, version bits,
    /// duplicate, hash. Every submit gets exactly one answer: here, or when the pool's verdict comes back.
    /// </summary>
    private void OnSubmit(ReadOnlySpan<byte> line, in StratumEnvelope envelope)
    {
        var id = envelope.Id;
        switch (_protocol.SubmitPermission)
        {
            case SubmitPermission.NotSubscribed:
                Reject(id, StratumErrorCode.NotSubscribed, "Not subscribed", ShareResult.Unauthorized, null);
                return;
            case SubmitPermission.Unauthorized:
                Reject(id, StratumErrorCode.Unauthorized, "Unauthorized worker", ShareResult.Unauthorized, null);
                return;
        }

        var options = _context.Options.Miners;
        var now = _context.Time.GetTimestamp();
        if (!TakeSubmitToken(now, options.MaxSubmitsPerSecond))
        {
            Reject(id, StratumErrorCode.Other, "too many submits", ShareResult.Invalid, null);
            Close($"too many submits: more than {options.MaxSubmitsPerSecond} per second");
            return;
        }

        if (Volatile.Read(ref _inFlight) >= options.MaxPendingSubmits)
        {
            Reject(id, StratumErrorCode.Other, "too many shares awaiting the pool", ShareResult.Invalid, null);
            Close($"too many submits awaiting the pool (more than {options.MaxPendingSubmits})");
            return;
        }

        if (!SubmitRequest.TryParse(line, envelope, out var submit, out var error))
        {
            _context.Metrics.ProtocolErrors.WithLabels("miner", error.Label).Inc();
            Reject(id, StratumErrorCode.Other, error.Reason, ShareResult.Invalid, null);
            return;
        }

        if (!_context.Jobs.TryGet(submit.JobId.Of(line), out var job) || job.IsStale)
        {
            Reject(id, ShareRefusal.Stale, null);
            return;
        }

        var upstream = job.Upstream;
        var route = RouteFor(upstream);
        if (route is null)
        {
            // A job of a connection this miner was never attached to: not its job.
            Reject(id, ShareRefusal.Stale, null);
            return;
        }

        var identity = _identity!;
        var verdict = _validator.Validate(
            new ShareJob(job.Id, job.Template, job.NTime, job.PoolTarget),
            new ShareMiner(identity.Extranonce1, identity.Prefix.Value, identity.Layout.Extranonce2Size, _protocol.VersionRolling, _protocol.VersionMask),
            submit,
            (uint)_context.Time.GetUtcNow().ToUnixTimeSeconds(),
            (uint)options.MaxNTimeRollSeconds,
            upstream.Duplicates);
        if (verdict.Check != ShareCheck.Valid)
        {
            Reject(id, ShareRefusal.For(verdict.Check, Extranonce2SizeError), route);
            return;
        }

        var credited = verdict.Credited;
        if (verdict.IsBlock)
        {
            _context.Metrics.BlocksFound.WithLabels(upstream.Pool.Name).Inc();
            Log.BlockCandidate(_context.Logger, Worker!, upstream.Pool.Name, verdict.HashDifficulty);
        }

        if (verdict.ForPool)
        {
            var forwarded = new ForwardedShare
            {
                Session = this,
                MinerRequestId = id,
                Job = job,
                UpstreamWorker = route.UpstreamWorker,
                Extranonce2Prefix = route.Extranonce2Prefix,
                Extranonce2 = submit.Extranonce2,
                NTime = submit.NTime,
                Nonce = submit.Nonce,
                VersionBits = submit.VersionBits,
                HasVersionBits = submit.HasVersionBits,
                CreditedDifficulty = credited,
                Counters = route.Counters,
            };
            Interlocked.Increment(ref _inFlight);
            if (!upstream.TrySubmit(ref forwarded))
            {
                Interlocked.Decrement(ref _inFlight);
                Reject(id, StratumErrorCode.Other, "pool unavailable: share not forwarded", ShareResult.Lost, route);
                return;
            }

            OnVardiffShare(now);
            return;
        }

        Accept(id, credited, now, route);
        OnVardiffShare(now);
    }

    /// <summary>The pool ruled on a share this session forwarded (called on the upstream's read loop).</summary>
    public void OnPoolVerdict(ref ForwardedShare share, ResponseVerdict verdict, TimeSpan latency)
    {
        Interlocked.Decrement(ref _inFlight);
        share.Counters.OnVerdict(verdict.Accepted);
        var route = RouteFor(share.Job.Upstream);
        var metrics = share.Job.Upstream.VerdictMetrics;
        metrics.Latency.Observe(latency.TotalSeconds);
        (verdict.Accepted ? metrics.Accepted : metrics.Rejected).Inc();
        if (verdict.Accepted)
        {
            Accept(share.MinerRequestId, share.CreditedDifficulty, _context.Time.GetTimestamp(), route, share.Counters);
            OnForwardedAnswered();
            return;
        }

        Record(ShareResult.PoolRejected, 0, route);
        if (!share.MinerRequestId.IsNullOrMissing)
        {
            Enqueue(MinerOutbound.Error(share.MinerRequestId, verdict.ErrorCode is >= 20 and <= 25 ? verdict.ErrorCode : (int)StratumErrorCode.Other, verdict.Reason ?? "rejected by the pool"));
        }

        OnForwardedAnswered();
    }

    /// <summary>A forwarded share got no verdict (connection lost and not re-sent, or timed out).</summary>
    public void OnShareLost(ref ForwardedShare share, string reason)
    {
        Interlocked.Decrement(ref _inFlight);
        share.Counters.OnLost();
        share.Job.Upstream.VerdictMetrics.Lost.Inc();
        Record(ShareResult.Lost, 0, RouteFor(share.Job.Upstream));
        if (!share.MinerRequestId.IsNullOrMissing)
        {
            Enqueue(MinerOutbound.Error(share.MinerRequestId, StratumErrorCode.Other, reason));
        }

        OnForwardedAnswered();
    }

    private void Accept(in JsonRpcId id, double difficulty, long now, PoolRoute? route, Accounting.PoolCounters? counters = null)
    {
        if (!id.IsNullOrMissing)
        {
            Enqueue(MinerOutbound.Result(id, true));
        }

        var stats = Stats!;
        stats.Record(ShareResult.Accepted, difficulty, now, _context.Time.GetUtcNow().ToUnixTimeMilliseconds());
        (counters ?? route?.Counters)?.OnAccepted(difficulty);
        route?.PoolMeter.Record(difficulty, now);
    }

    private void Reject(in JsonRpcId id, ShareRefusal refusal, PoolRoute? route) => Reject(id, refusal.Code, refusal.Message, refusal.Result, route);

    private void Reject(in JsonRpcId id, StratumErrorCode code, string message, ShareResult result, PoolRoute? route)
    {
        if (!id.IsNullOrMissing)
        {
            Enqueue(MinerOutbound.Error(id, code, message));
        }

        Record(result, 0, route);
    }

    private void Record(ShareResult result, double difficulty, PoolRoute? route)
    {
        Stats?.Record(result, difficulty, _context.Time.GetTimestamp(), 0);
        if (route is not null)
        {
            route.Counters.CountResult(result);
        }
        else if (Stats is { } stats)
        {
            stats.CountUnrouted(result);
        }
        else
        {
            _context.Metrics.CountUnattributed(result);
        }
    }

    private bool TakeSubmitToken(long now, double perSecond)
    {
        var elapsed = (now - _lastRefill) / (double)_context.Time.TimestampFrequency;
        _lastRefill = now;
        _submitTokens = Math.Min(perSecond, _submitTokens + (elapsed * perSecond));
        if (_submitTokens < 1)
        {
            return false;
        }

        _submitTokens -= 1;
        return true;
    }
}
