using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace StratumProxy.Proxy.Configuration;

/// <summary>
/// The <c>Proxy</c> section: where miners connect, which pools they are carried to, and the limits. Immutable, like
/// every record below: a change is a new value (<c>with</c>), so what the proxy runs cannot change under it. The
/// host binds the section into its own binding shape and converts it here in one place.
/// </summary>
public sealed record ProxyOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Proxy";

    /// <summary>Endpoints miners connect to. Each maps to a pool group.</summary>
    [ValidateEnumeratedItems]
    public IReadOnlyList<ListenerOptions> Listeners { get; init; } = [];

    /// <summary>Upstream pools, in any order (priority decides).</summary>
    [ValidateEnumeratedItems]
    public IReadOnlyList<PoolOptions> Pools { get; init; } = [];

    /// <summary>Per-miner-session limits and extranonce sizes.</summary>
    [ValidateObjectMembers]
    public MinerOptions Miners { get; init; } = new();

    /// <summary>Vardiff settings.</summary>
    [ValidateObjectMembers]
    public DifficultyOptions Difficulty { get; init; } = new();

    /// <summary>Limits that hold a flood from one address (per-address connections, bans).</summary>
    [ValidateObjectMembers]
    public LimitOptions Limits { get; init; } = new();

    /// <summary>Failover and reconnect settings (checked by <see cref="ProxyOptionsValidator"/>).</summary>
    public FailoverOptions Failover { get; init; } = new();

    /// <summary>How a stopping instance hands its miners to the other instances (checked by <see cref="ProxyOptionsValidator"/>).</summary>
    public DrainOptions Drain { get; init; } = new();

    /// <summary>Upgrades without dropping a rig: where a new process asks for the connections (docs/upgrades.md).</summary>
    public TakeoverOptions Takeover { get; init; } = new();

    /// <summary>Rigs pinned to a pool by worker name: <c>"worker": "pool name"</c>.</summary>
    public IReadOnlyDictionary<string, string> Pins { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>At most this many distinct worker label values in metrics; the rest report as <c>other</c>.</summary>
    [Range(1, 1_000_000)]
    public int MaxWorkerSeries { get; init; } = 10_000;
}

/// <summary>Whether a listener expects the HAProxy PROXY protocol header.</summary>
public enum ProxyProtocolMode
{
    /// <summary>No header; the socket's peer is the rig.</summary>
    None,

    /// <summary>Use the header when present.</summary>
    Optional,

    /// <summary>Every connection must start with the header.</summary>
    Required,
}

/// <summary>One miner-facing listener. Compared by value: a reload that changes any setting needs a restart.</summary>
public sealed record ListenerOptions
{
    /// <summary>A short name for logs and metrics.</summary>
    [Required]
    public string Name { get; init; } = "default";

    /// <summary><c>HOST:PORT</c>; <c>0.0.0.0</c> or <c>[::]</c> for all interfaces.</summary>
    [Required]
    public string Endpoint { get; init; } = "0.0.0.0:3333";

    /// <summary>The pool group miners on this listener are routed to.</summary>
    [Required]
    public string PoolGroup { get; init; } = "default";

    /// <summary>HAProxy PROXY protocol handling.</summary>
    public ProxyProtocolMode ProxyProtocol { get; init; } = ProxyProtocolMode.None;
}

/// <summary>How miners share upstream connections.</summary>
public enum PoolMode
{
    /// <summary>Many miners share one upstream connection, each with its own extranonce slice.</summary>
    Aggregating,

    /// <summary>One upstream connection per miner.</summary>
    Passthrough,
}

/// <summary>How the worker name a pool sees is formed.</summary>
public enum WorkerNaming
{
    /// <summary>The pool's configured account plus the miner's worker suffix: <c>account.rig42</c>.</summary>
    AccountPlusWorker,

    /// <summary>The miner's own <c>account.worker</c>, unchanged (identity pass-through).</summary>
    Miner,

    /// <summary>The configured account for every miner.</summary>
    Fixed,
}

/// <summary>One upstream pool. Compared by value: a reload restarts a pool when any of its settings differs.</summary>
public sealed record PoolOptions
{
    /// <summary>A short unique name (logs, metrics, the switch API).</summary>
    [Required]
    public string Name { get; init; } = string.Empty;

    /// <summary><c>stratum+tcp://host:port</c> or <c>stratum+ssl://host:port</c>.</summary>
    [Required]
    public string Url { get; init; } = string.Empty;

    /// <summary>The pool account (often <c>account</c> or <c>account.worker</c>).</summary>
    public string User { get; init; } = string.Empty;

    /// <summary>The pool password (usually <c>x</c>).</summary>
    public string Password { get; init; } = "x";

    /// <summary>Lower is preferred; failover goes to the next priority.</summary>
    public int Priority { get; init; }

    /// <summary>Share of the group's hashrate among pools of the same priority.</summary>
    [Range(0.0, 1_000_000.0)]
    public double Weight { get; init; } = 1;

    /// <summary>Absolute hashrate target in TH/s for this pool within its group (0 = use weight).</summary>
    [Range(0.0, 1e12)]
    public double TargetTerahashes { get; init; }

    /// <summary>The pool group this pool belongs to.</summary>
    public string Group { get; init; } = "default";

    /// <summary>Aggregating (default) or passthrough.</summary>
    public PoolMode Mode { get; init; } = PoolMode.Aggregating;

    /// <summary>How the upstream worker name is formed.</summary>
    public WorkerNaming WorkerNaming { get; init; } = WorkerNaming.AccountPlusWorker;

    /// <summary>Accept a TLS certificate that does not validate (self-signed pool). Off by default.</summary>
    public bool AllowInvalidCertificate { get; init; }

    /// <summary>Ask the pool for BIP310 version rolling.</summary>
    public bool VersionRolling { get; init; } = true;

    /// <summary>
    /// The extranonce2 size the pool is expected to give, used until the pool has answered a subscribe: miners that
    /// arrive before then get a layout that will fit it (docs/extranonce.md). Null assumes the pool fits the
    /// configured sizes.
    /// </summary>
    [Range(2, 16)]
    public int? Extranonce2SizeHint { get; init; }

    /// <summary>
    /// Most upstream connections to this pool in aggregating mode. A pool whose small extranonce2 forces a short miner
    /// extranonce1 (k = 1: 256 miners per connection; k = 0: one) takes more connections, up to this cap.
    /// </summary>
    [Range(1, 4096)]
    public int MaxConnections { get; init; } = 16;

    /// <summary>The type's name only: the record holds a secret (<see cref="Password"/>), which is never printed.</summary>
    public override string ToString() => typeof(PoolOptions).FullName!;
}

/// <summary>Per-miner-session limits.</summary>
public sealed record MinerOptions
{
    /// <summary>The longest line a miner may send (bytes).</summary>
    [Range(256, 1 << 20)]
    public int MaxLineLength { get; init; } = 16 * 1024;

    /// <summary>
    /// Bytes of each miner's extranonce1 (its slice of the pool's extranonce2 space), when the pools leave room for
    /// it; smaller for pools with a small extranonce2 (docs/extranonce.md).
    /// </summary>
    [Range(1, 4)]
    public int Extranonce1Size { get; init; } = 2;

    /// <summary>
    /// The extranonce2 size miners are told (2..8; Whatsminer firmware fails above 8) when the pools leave room for
    /// it; smaller, down to 2, for pools with a small extranonce2 (docs/extranonce.md).
    /// </summary>
    [Range(2, 8)]
    public int Extranonce2Size { get; init; } = 4;

    /// <summary>Time allowed from connect to authorize.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A miner that sends nothing for this long is disconnected.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Submits awaiting a pool verdict, per session.</summary>
    [Range(1, 100_000)]
    public int MaxPendingSubmits { get; init; } = 1024;

    /// <summary>Sustained submits per second, per session (a token bucket with one second of burst).</summary>
    [Range(1.0, 1_000_000.0)]
    public double MaxSubmitsPerSecond { get; init; } = 1000;

    /// <summary>Miner connections across all listeners.</summary>
    [Range(1, 1_000_000)]
    public int MaxConnections { get; init; } = 100_000;

    /// <summary>Largest ntime drift allowed ahead of the job's ntime (seconds).</summary>
    [Range(0, 86_400)]
    public int MaxNTimeRollSeconds { get; init; } = 7200;
}

/// <summary>Vardiff settings.</summary>
public sealed record DifficultyOptions
{
    /// <summary>Difficulty a new miner starts at.</summary>
    [Range(1e-9, 1e15)]
    public double Start { get; init; } = 16384;

    /// <summary>Lowest difficulty (fractions allowed, for test rigs and CPU miners).</summary>
    [Range(1e-9, 1e15)]
    public double Min { get; init; } = 1;

    /// <summary>Highest difficulty.</summary>
    [Range(1e-9, 1e15)]
    public double Max { get; init; } = 1e12;

    /// <summary>Wanted seconds between shares.</summary>
    [Range(0.1, 3600.0)]
    public double TargetShareSeconds { get; init; } = 10;

    /// <summary>Minimum time between retargets.</summary>
    public TimeSpan RetargetInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Allowed deviation from the target interval before a retarget, in percent.</summary>
    [Range(0.0, 100.0)]
    public double VariancePercent { get; init; } = 30;

    /// <summary>Send difficulties rounded to powers of two (firmware compatibility).</summary>
    public bool PowerOfTwo { get; init; } = true;
}

/// <summary>Failover and reconnect settings.</summary>
public sealed record FailoverOptions
{
    /// <summary>First reconnect delay.</summary>
    public TimeSpan BackoffBase { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest reconnect delay.</summary>
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Move miners back to a higher-priority pool once it has recovered.</summary>
    public bool FailBack { get; init; } = true;

    /// <summary>How long a recovered pool must stay healthy before miners move back.</summary>
    public TimeSpan FailBackDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Time to wait for a pool's subscribe/authorize answers.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>When no new job arrives for this long, miners get the last job again with a fresh ntime.</summary>
    public TimeSpan JobKeepalive { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A submit the pool has not answered in this time counts as an error.</summary>
    public TimeSpan SubmitTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The drain on stop (SIGTERM): the instance stops accepting, asks its miners to reconnect (<c>client.reconnect</c>,
/// to the same address, so a balancer sends them to another instance) spread evenly over <see cref="Period"/>, keeps
/// carrying their shares until they leave or <see cref="Period"/> + <see cref="Grace"/> has passed, then stops.
/// </summary>
public sealed record DrainOptions
{
    /// <summary>The longest period allowed (the host's shutdown timeout is set from it).</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromHours(1);

    /// <summary>The time over which the reconnects are spread; zero sends them all at once.</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long after the last reconnect the miners still connected are carried before they are closed.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The whole drain at most: <see cref="Period"/> + <see cref="Grace"/>.</summary>
    public TimeSpan Total => Period + Grace;
}

/// <summary>Upgrades without dropping a rig: the running process hands its connections to a new one (docs/upgrades.md).</summary>
public sealed record TakeoverOptions
{
    /// <summary>The longest quiesce allowed.</summary>
    public static readonly TimeSpan MaxQuiesceTimeout = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A Unix socket path: when set, the running process listens on it for a new process (<c>run --takeover</c>) to
    /// take over its listeners, miner connections and pool connections. Null: no takeover.
    /// </summary>
    public string? SocketPath { get; init; }

    /// <summary>How long the running process waits for every forwarded share's verdict before it gives up the handover.</summary>
    public TimeSpan QuiesceTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
