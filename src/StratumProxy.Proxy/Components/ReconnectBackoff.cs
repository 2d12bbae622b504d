using Microsoft.Extensions.Options;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Proxy.Components;

/// <summary>Which jitter <see cref="ReconnectBackoff"/> applies.</summary>
public enum BackoffJitter
{
    /// <summary>
    /// "Decorrelated jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015):
    /// <c>delay = min(cap, uniform(base, previous × 3))</c>, starting from <c>previous = base</c>. Never below base, so
    /// a dead pool is not hammered right after the first failure; grows about ×1.5..×2 a step on average.
    /// </summary>
    Decorrelated,

    /// <summary>
    /// "Full jitter": <c>delay = uniform(0, min(cap, base × 2^attempt))</c>. Spreads a fleet of reconnects the most,
    /// but may retry almost at once.
    /// </summary>
    Full,
}

/// <summary>Settings of <see cref="ReconnectBackoff"/>.</summary>
public sealed class ReconnectBackoffOptions
{
    /// <summary>The rules of these settings: the first broken one, named by its setting.</summary>
    public static IValidateOptions<ReconnectBackoffOptions> Validator { get; } = OptionsGuard.Rule<ReconnectBackoffOptions>(FirstProblem);

    /// <summary>Smallest delay (Decorrelated) / scale of the first step (Full).</summary>
    public TimeSpan Base { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest delay.</summary>
    public TimeSpan Cap { get; init; } = TimeSpan.FromSeconds(60);

    public BackoffJitter Jitter { get; init; } = BackoffJitter.Decorrelated;

    private static string? FirstProblem(ReconnectBackoffOptions o) =>
        o.Base <= TimeSpan.Zero ? "Base must be positive"
        : o.Cap < o.Base ? $"Cap ({o.Cap}) must be at least Base ({o.Base})"
        : null;
}

/// <summary>
/// Jittered exponential back-off for reconnecting an upstream pool: call <see cref="NextDelay"/> after each failed
/// attempt and wait that long (with the same TimeProvider the caller uses for everything else), and
/// <see cref="Reset"/> once a connection is established and subscribed. Default jitter:
/// <see cref="BackoffJitter.Decorrelated"/>, base 1 s, cap 60 s.
/// </summary>
/// <remarks>
/// Jitter matters because a farm proxy typically holds several upstream connections to one pool; without it they
/// all come back in lock-step after an outage. Not thread-safe: one instance belongs to one reconnect loop. Pass a
/// seeded <see cref="Random"/> for deterministic tests; the default is <see cref="Random.Shared"/>.
/// </remarks>
public sealed class ReconnectBackoff
{
    private readonly ReconnectBackoffOptions _options;
    private readonly Random _random;
    private double _previousSeconds;

    public ReconnectBackoff(ReconnectBackoffOptions options, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionsGuard.ThrowIfInvalid(ReconnectBackoffOptions.Validator, options);

        _options = options;
        _random = random ?? Random.Shared;
        _previousSeconds = options.Base.TotalSeconds;
    }

    /// <summary>Failed attempts since construction or the last <see cref="Reset"/>.</summary>
    public int Attempt { get; private set; }

    /// <summary>The delay before the next attempt; counts one failed attempt.</summary>
    public TimeSpan NextDelay()
    {
        var baseSeconds = _options.Base.TotalSeconds;
        var capSeconds = _options.Cap.TotalSeconds;
        double seconds;
        if (_options.Jitter == BackoffJitter.Full)
        {
            // Exponent bounded so 2^attempt cannot overflow to infinity after a very long outage.
            var ceiling = Math.Min(capSeconds, baseSeconds * Math.Pow(2, Math.Min(Attempt, 62)));
            seconds = _random.NextDouble() * ceiling;
        }
        else
        {
            var upper = Math.Max(baseSeconds, _previousSeconds * 3);
            seconds = Math.Min(capSeconds, baseSeconds + (_random.NextDouble() * (upper - baseSeconds)));
            _previousSeconds = seconds;
        }

        Attempt++;
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Call after a successful connection: the next failure starts from the base again.</summary>
    public void Reset()
    {
        Attempt = 0;
        _previousSeconds = _options.Base.TotalSeconds;
    }
}
