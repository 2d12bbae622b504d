using Microsoft.Extensions.Options;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Proxy.Components;

/// <summary>Thresholds of <see cref="PoolHealth"/>; the defaults are the documented policy.</summary>
public sealed class PoolHealthOptions
{
    /// <summary>The rules of these settings: the first broken one, named by its setting.</summary>
    public static IValidateOptions<PoolHealthOptions> Validator { get; } = OptionsGuard.Rule<PoolHealthOptions>(FirstProblem);

    /// <summary>Submit round-trip (EWMA) at or below which latency costs nothing: 1 s.</summary>
    public TimeSpan LatencyGood { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Submit round-trip (EWMA) at or above which the latency factor is 0: 10 s.</summary>
    public TimeSpan LatencyBad { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Weight of the newest round-trip in the EWMA: 0.2 (roughly the last 5–10 submits).</summary>
    public double LatencyEwmaAlpha { get; init; } = 0.2;

    /// <summary>Reject rate at which the reject factor reaches 0: 0.5 (half of all submits rejected).</summary>
    public double RejectRateBad { get; init; } = 0.5;

    /// <summary>Fewer pool verdicts than this in the window and the reject rate is not judged: 10.</summary>
    public int MinVerdictsForRejectRate { get; init; } = 10;

    /// <summary>Errors + disconnects + submit timeouts in the window at which the error factor reaches 0: 5.</summary>
    public int ErrorBudget { get; init; } = 5;

    /// <summary>Span of the recent window for rejects and errors: 5 minutes (10 buckets).</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A healthy pool becomes unhealthy when its score falls below this: 0.3.</summary>
    public double UnhealthyBelow { get; init; } = 0.3;

    /// <summary>An unhealthy pool becomes healthy again at or above this: 0.6 (the gap stops flapping).</summary>
    public double HealthyAtOrAbove { get; init; } = 0.6;

    private static string? FirstProblem(PoolHealthOptions o)
    {
        if (o.LatencyGood < TimeSpan.Zero || o.LatencyBad <= o.LatencyGood)
        {
            return "LatencyBad must be above LatencyGood, both non-negative";
        }

        if (!(o.LatencyEwmaAlpha > 0 && o.LatencyEwmaAlpha <= 1))
        {
            return "LatencyEwmaAlpha must be in (0, 1]";
        }

        if (!(o.RejectRateBad > 0 && o.RejectRateBad <= 1))
        {
            return "RejectRateBad must be in (0, 1]";
        }

        if (o.MinVerdictsForRejectRate < 1 || o.ErrorBudget < 1)
        {
            return "MinVerdictsForRejectRate and ErrorBudget must be at least 1";
        }

        if (o.Window < TimeSpan.FromSeconds(10))
        {
            return "Window must be at least 10 s";
        }

        return o.UnhealthyBelow is >= 0 and <= 1 && o.HealthyAtOrAbove is >= 0 and <= 1 && o.UnhealthyBelow <= o.HealthyAtOrAbove
            ? null
            : "need 0 <= UnhealthyBelow <= HealthyAtOrAbove <= 1";
    }
}

/// <summary>A point-in-time view of an upstream's health, for the supervisor and /metrics.</summary>
public readonly record struct PoolHealthSnapshot(
    double Score,
    bool IsHealthy,
    bool IsConnected,
    double LatencyScore,
    double RejectScore,
    double ErrorScore,
    double? LatencyEwmaSeconds,
    long Accepted,
    long Rejected,
    long Errors);

/// <summary>
/// Health of one upstream pool, from submit latency, recent rejects and recent errors, as a score in 0..1 and a
/// healthy/unhealthy decision the failover supervisor acts on.
/// </summary>
/// <remarks>
/// <para><b>Score</b> = 0 while disconnected, else <c>latency × reject × error</c>, each factor in 0..1:</para>
/// <list type="bullet">
/// <item>latency: 1 at or below <see cref="PoolHealthOptions.LatencyGood"/>, 0 at or above
/// <see cref="PoolHealthOptions.LatencyBad"/>, linear between, on the EWMA of submit round-trips
/// (<c>ewma ← α·rtt + (1−α)·ewma</c>, first sample taken as is); 1 before any sample.</item>
/// <item>reject: <c>1 − min(1, rejectRate / RejectRateBad)</c> over the recent window, or 1 with fewer than
/// <see cref="PoolHealthOptions.MinVerdictsForRejectRate"/> verdicts (too few to judge).</item>
/// <item>error: <c>1 − min(1, errors / ErrorBudget)</c>, errors being pool error replies other than share rejects,
/// disconnects and submit timeouts in the recent window.</item>
/// </list>
/// <para><b>IsHealthy</b> is decided after every event and on every read (time alone can expire errors), with
/// hysteresis: connected and score ≥ <see cref="PoolHealthOptions.HealthyAtOrAbove"/> to
/// become healthy, and it stays healthy until disconnected or below <see cref="PoolHealthOptions.UnhealthyBelow"/>.
/// With the defaults a pool that rejects everything (reject factor 0), answers slower than 10 s, or has 5 errors in
/// 5 minutes is unhealthy; one disconnect alone costs 0.2 and a reconnected pool is healthy at once.</para>
/// <para>Which rejects count is the caller's choice; stale rejects right after a clean_jobs are normal and are better
/// left out. Time comes from the injected <see cref="TimeProvider"/>; all members lock (called per pool verdict and
/// per scrape, not per miner share).</para>
/// </remarks>
public sealed class PoolHealth
{
    private const int BucketCount = 10;

    private readonly PoolHealthOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Bucket[] _buckets = new Bucket[BucketCount];
    private readonly long _origin;
    private readonly long _bucketTicks;
    private double? _latencyEwma;
    private bool _connected;
    private bool _healthy;

    public PoolHealth(PoolHealthOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        OptionsGuard.ThrowIfInvalid(PoolHealthOptions.Validator, options);

        _options = options;
        _time = time;
        _origin = time.GetTimestamp();
        _bucketTicks = (long)(options.Window.TotalSeconds * time.TimestampFrequency / BucketCount);
        _buckets.AsSpan().Fill(new Bucket { Index = -1 });
    }

    /// <summary>Current score, 0..1.</summary>
    public double Score => Evaluate().Score;

    /// <summary>The failover decision (with hysteresis).</summary>
    public bool IsHealthy => Evaluate().IsHealthy;

    /// <summary>The upstream subscribed and authorized successfully.</summary>
    public void OnConnected()
    {
        lock (_gate)
        {
            _connected = true;
            EvaluateLocked();
        }
    }

    /// <summary>The upstream connection was lost or refused; counts as an error.</summary>
    public void OnDisconnected()
    {
        lock (_gate)
        {
            _connected = false;
            Current().Errors++;
            EvaluateLocked();
        }
    }

    /// <summary>A pool error other than a share verdict (bad reply, failed authorize, protocol error).</summary>
    public void OnError()
    {
        lock (_gate)
        {
            Current().Errors++;
            EvaluateLocked();
        }
    }

    /// <summary>The pool answered a submit after <paramref name="roundTrip"/>.</summary>
    public void OnSubmitResult(bool accepted, TimeSpan roundTrip)
    {
        lock (_gate)
        {
            ref var bucket = ref Current();
            if (accepted)
            {
                bucket.Accepted++;
            }
            else
            {
                bucket.Rejected++;
            }

            AddLatency(roundTrip.TotalSeconds);
            EvaluateLocked();
        }
    }

    /// <summary>
    /// A submit got no answer within <paramref name="timeout"/>: counts as an error, and the timeout enters the latency
    /// EWMA (a pool that stops answering must look slow, not unmeasured).
    /// </summary>
    public void OnSubmitTimeout(TimeSpan timeout)
    {
        lock (_gate)
        {
            Current().Errors++;
            AddLatency(timeout.TotalSeconds);
            EvaluateLocked();
        }
    }

    /// <summary>Scores the pool now and updates the healthy/unhealthy decision.</summary>
    public PoolHealthSnapshot Evaluate()
    {
        lock (_gate)
        {
            return EvaluateLocked();
        }
    }

    private PoolHealthSnapshot EvaluateLocked()
    {
        var index = BucketIndex();
        long accepted = 0;
        long rejected = 0;
        long errors = 0;
        foreach (ref readonly var bucket in _buckets.AsSpan())
        {
            if (bucket.Index > index - BucketCount && bucket.Index <= index)
            {
                accepted += bucket.Accepted;
                rejected += bucket.Rejected;
                errors += bucket.Errors;
            }
        }

        var good = _options.LatencyGood.TotalSeconds;
        var bad = _options.LatencyBad.TotalSeconds;
        var latencyScore = _latencyEwma is { } ewma ? Math.Clamp((bad - ewma) / (bad - good), 0, 1) : 1;

        var verdicts = accepted + rejected;
        var rejectScore = verdicts >= _options.MinVerdictsForRejectRate
            ? 1 - Math.Min(1, (double)rejected / verdicts / _options.RejectRateBad)
            : 1;

        var errorScore = 1 - Math.Min(1, (double)errors / _options.ErrorBudget);
        var score = _connected ? latencyScore * rejectScore * errorScore : 0;

        _healthy = _connected && (_healthy ? score >= _options.UnhealthyBelow : score >= _options.HealthyAtOrAbove);
        return new PoolHealthSnapshot(score, _healthy, _connected, latencyScore, rejectScore, errorScore, _latencyEwma, accepted, rejected, errors);
    }

    private void AddLatency(double seconds)
    {
        seconds = Math.Max(0, seconds);
        var alpha = _options.LatencyEwmaAlpha;
        _latencyEwma = _latencyEwma is { } previous ? (alpha * seconds) + ((1 - alpha) * previous) : seconds;
    }

    private long BucketIndex() => Math.Max(0, _time.GetTimestamp() - _origin) / _bucketTicks;

    private ref Bucket Current()
    {
        var index = BucketIndex();
        ref var bucket = ref _buckets[index % BucketCount];
        if (bucket.Index != index)
        {
            bucket = new Bucket { Index = index };
        }

        return ref bucket;
    }

    private struct Bucket
    {
        public long Index;
        public long Accepted;
        public long Rejected;
        public long Errors;
    }
}
