using Microsoft.Extensions.Options;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Configuration;

/// <summary>Attribute rules (ranges, required), generated at compile time.</summary>
[OptionsValidator]
public sealed partial class ProxyOptionsAttributeValidator : IValidateOptions<ProxyOptions>;

/// <summary>
/// Cross-field rules with messages that name the offending key, so an operator can fix the file from the log line.
/// </summary>
public sealed class ProxyOptionsValidator : IValidateOptions<ProxyOptions>
{
    private readonly ProxyOptionsAttributeValidator _attributes = new();

    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, ProxyOptions options)
    {
        var errors = new List<string>();
        var attributes = _attributes.Validate(name, options);
        if (attributes.Failed)
        {
            errors.AddRange(attributes.Failures ?? []);
        }

        if (options.Listeners.Count == 0)
        {
            errors.Add("Proxy:Listeners: at least one listener is needed (e.g. {\"Endpoint\": \"0.0.0.0:3333\"}).");
        }

        for (var i = 0; i < options.Listeners.Count; i++)
        {
            var listener = options.Listeners[i];
            if (!EndpointParser.TryParse(listener.Endpoint, out _, out var reason))
            {
                errors.Add($"Proxy:Listeners:{i}:Endpoint '{listener.Endpoint}': {reason}");
            }

            if (options.Pools.Count > 0 && !options.Pools.Any(p => string.Equals(p.Group, listener.PoolGroup, StringComparison.Ordinal)))
            {
                errors.Add($"Proxy:Listeners:{i}:PoolGroup '{listener.PoolGroup}': no pool has this Group.");
            }
        }

        DuplicateNames(options.Listeners.Select(l => l.Name), "Proxy:Listeners", errors);
        DuplicateNames(options.Listeners.Select(l => l.Endpoint), "Proxy:Listeners (Endpoint)", errors);

        // No pool at all is a valid start: the proxy listens, serves the admin page and says that no pool is
        // configured; miners get no work until one is (nobody's hashes go to an account nobody chose).
        for (var i = 0; i < options.Pools.Count; i++)
        {
            var pool = options.Pools[i];
            if (string.IsNullOrWhiteSpace(pool.Name))
            {
                errors.Add($"Proxy:Pools:{i}:Name: a pool needs a name.");
            }
            else if (string.Equals(pool.Name, ProxyMetrics.NoPoolLabel, StringComparison.Ordinal))
            {
                errors.Add($"Proxy:Pools:{i}:Name 'none' is reserved: it is the pool label of shares and switches that had no pool; choose another name.");
            }

            if (!PoolUrl.TryParse(pool.Url, out _, out var reason))
            {
                errors.Add($"Proxy:Pools:{i}:Url '{pool.Url}': {reason}");
            }

            if (pool.Extranonce2SizeHint is < 2 or > 16)
            {
                errors.Add($"Proxy:Pools:{i}:Extranonce2SizeHint ({pool.Extranonce2SizeHint}): a pool's extranonce2 size is 2..16 bytes.");
            }

            if (pool.MaxConnections is < 1 or > 4096)
            {
                errors.Add($"Proxy:Pools:{i}:MaxConnections ({pool.MaxConnections}) must be 1..4096.");
            }

            if (pool.WorkerNaming != WorkerNaming.Miner && string.IsNullOrWhiteSpace(pool.User))
            {
                errors.Add($"Proxy:Pools:{i}:User: an account is needed unless WorkerNaming is Miner.");
            }
        }

        DuplicateNames(options.Pools.Select(p => p.Name), "Proxy:Pools", errors);

        foreach (var (worker, pool) in options.Pins)
        {
            if (!options.Pools.Any(p => string.Equals(p.Name, pool, StringComparison.Ordinal)))
            {
                errors.Add($"Proxy:Pins:{worker}: no pool is named '{pool}'.");
            }
        }

        var d = options.Difficulty;
        if (d.Min > d.Max)
        {
            errors.Add($"Proxy:Difficulty: Min ({d.Min}) is above Max ({d.Max}).");
        }

        if (d.Start < d.Min || d.Start > d.Max)
        {
            errors.Add($"Proxy:Difficulty:Start ({d.Start}) must lie between Min ({d.Min}) and Max ({d.Max}).");
        }

        var m = options.Miners;
        Positive("Proxy:Miners:HandshakeTimeout", m.HandshakeTimeout, errors);
        Positive("Proxy:Miners:IdleTimeout", m.IdleTimeout, errors);

        var f = options.Failover;
        Positive("Proxy:Failover:BackoffBase", f.BackoffBase, errors);
        if (f.BackoffMax < f.BackoffBase)
        {
            errors.Add($"Proxy:Failover:BackoffMax ({f.BackoffMax}) must not be below BackoffBase ({f.BackoffBase}).");
        }

        Positive("Proxy:Failover:ConnectTimeout", f.ConnectTimeout, errors);
        Positive("Proxy:Failover:SubmitTimeout", f.SubmitTimeout, errors);
        Positive("Proxy:Failover:JobKeepalive", f.JobKeepalive, errors);

        var drain = options.Drain;
        if (drain.Period < TimeSpan.Zero || drain.Period > DrainOptions.MaxPeriod)
        {
            errors.Add($"Proxy:Drain:Period ({drain.Period}) must lie between 00:00:00 (all at once) and {DrainOptions.MaxPeriod}.");
        }

        if (drain.Grace < TimeSpan.Zero || drain.Grace > DrainOptions.MaxPeriod)
        {
            errors.Add($"Proxy:Drain:Grace ({drain.Grace}) must lie between 00:00:00 and {DrainOptions.MaxPeriod}.");
        }

        var takeover = options.Takeover;
        if (takeover.QuiesceTimeout <= TimeSpan.Zero || takeover.QuiesceTimeout > TakeoverOptions.MaxQuiesceTimeout)
        {
            errors.Add($"Proxy:Takeover:QuiesceTimeout ({takeover.QuiesceTimeout}) must lie above 00:00:00 and at most {TakeoverOptions.MaxQuiesceTimeout}.");
        }

        // The quiesce waits for every forwarded share's verdict; a pool's submit timeout shorter than that would give
        // up those shares as unanswered ("no verdict") in the middle of a handover.
        if (takeover.SocketPath is not null && f.SubmitTimeout > TimeSpan.Zero && takeover.QuiesceTimeout > f.SubmitTimeout)
        {
            errors.Add($"Proxy:Takeover:QuiesceTimeout ({takeover.QuiesceTimeout}) must not be longer than Proxy:Failover:SubmitTimeout ({f.SubmitTimeout}): shares still awaiting their pool's verdict during a handover would be given up as unanswered; shorten the quiesce or lengthen the submit timeout.");
        }

        if (takeover.SocketPath is { Length: > 107 } path)
        {
            errors.Add($"Proxy:Takeover:SocketPath is {path.Length} bytes long; a Unix socket path holds at most 107.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// Settings that are valid but cannot take effect on this host: the proxy starts and runs without them. Today that is
    /// <c>Proxy:Takeover:SocketPath</c> off Linux (descriptors travel as SCM_RIGHTS, which only Linux is built for).
    /// </summary>
    /// <param name="options">The checked options.</param>
    /// <param name="takeoverSupported">Whether this host can hand over connections; <see cref="OperatingSystem.IsLinux"/> unless given.</param>
    public static IReadOnlyList<string> Warnings(ProxyOptions options, Func<bool>? takeoverSupported = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var warnings = new List<string>();
        if (options.Takeover.SocketPath is not null && !(takeoverSupported ?? OperatingSystem.IsLinux)())
        {
            warnings.Add("Proxy:Takeover:SocketPath is set, but takeovers need Linux: this process runs without a takeover socket (upgrade it with a restart or the drain).");
        }

        return warnings;
    }

    private static void Positive(string key, TimeSpan value, List<string> errors)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} ({value}) must be positive.");
        }
    }

    private static void DuplicateNames(IEnumerable<string> names, string key, List<string> errors)
    {
        foreach (var group in names.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"{key}: '{group.Key}' appears {group.Count()} times; names must be unique.");
        }
    }
}
