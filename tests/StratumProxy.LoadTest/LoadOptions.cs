using System.Globalization;
using System.Net;

namespace StratumProxy.LoadTest;

/// <summary>What a submit is meant to be, and so which answer it expects.</summary>
public enum ShareKind
{
    /// <summary>A real share: SHA-256d of the rebuilt header meets the session's target. Expects acceptance.</summary>
    Valid,

    /// <summary>A nonce whose hash misses the target. Expects code 23 (low difficulty).</summary>
    BadNonce,

    /// <summary>A job retired by a clean job (or, before the first one, an id never issued). Expects code 21.</summary>
    Stale,

    /// <summary>The session's last valid share again. Expects code 22.</summary>
    Duplicate,
}

/// <summary>
/// The share mix as weights (e.g. <c>valid=10,bad-nonce=80,stale=5,duplicate=5</c>). Submits follow a fixed
/// repeating schedule per session, so counts are exact and runs are comparable.
/// </summary>
public sealed class ShareMix
{
    private readonly ShareKind[] _schedule;

    private ShareMix(ShareKind[] schedule, IReadOnlyDictionary<ShareKind, int> weights)
    {
        _schedule = schedule;
        Weights = weights;
    }

    public IReadOnlyDictionary<ShareKind, int> Weights { get; }

    public bool HasValid => Weights.GetValueOrDefault(ShareKind.Valid) > 0 || Weights.GetValueOrDefault(ShareKind.Duplicate) > 0;

    /// <summary>The kind of a session's <paramref name="index"/>-th submit.</summary>
    public ShareKind KindOf(long index) => _schedule[(int)(index % _schedule.Length)];

    public static ShareMix Create(IReadOnlyDictionary<ShareKind, int> weights)
    {
        if (weights.Values.Any(w => w < 0) || weights.Values.Sum() <= 0)
        {
            throw new ArgumentException("the mix needs at least one positive weight and no negative one");
        }

        // Interleave the kinds (largest remainder first) so a short run already has the mix's proportions.
        var total = weights.Values.Sum();
        var schedule = new ShareKind[total];
        var credit = weights.ToDictionary(p => p.Key, _ => 0.0);
        for (var i = 0; i < total; i++)
        {
            foreach (var (kind, weight) in weights)
            {
                credit[kind] += weight;
            }

            var next = credit.OrderByDescending(p => p.Value).ThenBy(p => p.Key).First().Key;
            credit[next] -= total;
            schedule[i] = next;
        }

        return new ShareMix(schedule, new Dictionary<ShareKind, int>(weights));
    }

    /// <summary>Parses <c>kind=weight,…</c> with kinds <c>valid</c>, <c>bad-nonce</c>, <c>stale</c>, <c>duplicate</c>.</summary>
    public static ShareMix Parse(string text)
    {
        var weights = new Dictionary<ShareKind, int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2);
            if (pair.Length != 2 || !int.TryParse(pair[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var weight))
            {
                throw new ArgumentException($"--mix: '{part}' is not kind=weight");
            }

            weights[ParseKind(pair[0])] = weight;
        }

        return Create(weights);
    }

    public override string ToString() =>
        string.Join(',', Weights.Where(p => p.Value > 0).Select(p => $"{Name(p.Key)}={p.Value.ToString(CultureInfo.InvariantCulture)}"));

    public static string Name(ShareKind kind) => kind switch
    {
        ShareKind.Valid => "valid",
        ShareKind.BadNonce => "bad-nonce",
        ShareKind.Stale => "stale",
        _ => "duplicate",
    };

    private static ShareKind ParseKind(string name) => name.ToUpperInvariant() switch
    {
        "VALID" => ShareKind.Valid,
        "BAD-NONCE" or "BADNONCE" or "INVALID" => ShareKind.BadNonce,
        "STALE" => ShareKind.Stale,
        "DUPLICATE" or "DUP" => ShareKind.Duplicate,
        _ => throw new ArgumentException($"--mix: unknown kind '{name}' (valid, bad-nonce, stale, duplicate)"),
    };
}

/// <summary>Settings of one load run (the <c>run</c> command).</summary>
public sealed record LoadOptions
{
    /// <summary>The Stratum endpoint under test (loopback only).</summary>
    public required IPEndPoint Target { get; init; }

    public int Sessions { get; init; } = 100;

    /// <summary>Submits in flight per session (pipelined: sent before earlier ones are answered).</summary>
    public int Window { get; init; } = 8;

    /// <summary>Submits per second over all sessions; 0 sends as fast as the window refills.</summary>
    public double Rate { get; init; }

    /// <summary>New connections per second.</summary>
    public double ConnectRate { get; init; } = 2000;

    /// <summary>Bound on the wait for every session to be authorized and have a job.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Idle time between the last session becoming ready and the first submit (memory settles).</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Submits sent before the measured window opens (JIT, pools, vardiff warm up).</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.Zero;

    /// <summary>Length of the measured window.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Stop after this many submits (over all sessions), even before <see cref="Duration"/> ends.</summary>
    public long? MaxSubmits { get; init; }

    /// <summary>Bound on the wait for answers after the last submit.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(10);

    public ShareMix Mix { get; init; } = ShareMix.Create(new Dictionary<ShareKind, int> { [ShareKind.BadNonce] = 1 });

    /// <summary>Account; each session authorizes as <c>User.wN</c>.</summary>
    public string User { get; init; } = "loadtest";

    public string Password { get; init; } = "x";

    /// <summary>Ask for BIP310 version rolling (<c>mining.configure</c>) and roll version bits in valid shares.</summary>
    public bool VersionRolling { get; init; } = true;

    /// <summary>Most nonces tried for one valid share before it is sent as a bad nonce instead (counted).</summary>
    public long MaxValidSearch { get; init; } = 1L << 22;

    /// <summary>The process under test: its CPU time and RSS are read from /proc.</summary>
    public int? ProxyPid { get; init; }

    /// <summary>Its Prometheus endpoint: managed heap (<c>dotnet_total_memory_bytes</c>) and GC counts.</summary>
    public Uri? ProxyMetrics { get; init; }

    /// <summary>Period of the shared timer that paces connects and rate-limited submits.</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMilliseconds(5);

    public const int MaxWindow = 1024;

    public void Validate()
    {
        if (!IPAddress.IsLoopback(Target.Address))
        {
            throw new ArgumentException($"--target {Target}: only loopback addresses are allowed");
        }

        if (Sessions < 1 || Window < 1 || Window > MaxWindow || Rate < 0 || ConnectRate <= 0 || Duration <= TimeSpan.Zero)
        {
            throw new ArgumentException("--sessions ≥ 1, 1 ≤ --window ≤ 1024, --rate ≥ 0, --connect-rate > 0 and --duration > 0");
        }
    }
}
