using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Hosting;

/// <summary>
/// The binding shape of the <c>Proxy</c> section: what the source-generated configuration binder fills (it sets
/// properties with public setters only; init-only ones, and lists of records built with them, stay unbound). Each
/// shape starts from the defaults of its record and converts to it in <c>ToOptions</c>, the one place that copies
/// setting by setting; a test checks that every setting of every record is carried.
/// </summary>
internal sealed class ProxySection
{
    private static readonly ProxyOptions Defaults = new();

    public List<ListenerSection> Listeners { get; set; } = [];

    public List<PoolSection> Pools { get; set; } = [];

    public MinerSection Miners { get; set; } = new();

    public DifficultySection Difficulty { get; set; } = new();

    public FailoverSection Failover { get; set; } = new();

    public LimitSection Limits { get; set; } = new();

    public DrainSection Drain { get; set; } = new();

    public TakeoverSection Takeover { get; set; } = new();

    public Dictionary<string, string> Pins { get; set; } = new(StringComparer.Ordinal);

    public int MaxWorkerSeries { get; set; } = Defaults.MaxWorkerSeries;

    public ProxyOptions ToOptions() => new()
    {
        Listeners = [.. Listeners.Select(l => l.ToOptions())],
        Pools = [.. Pools.Select(p => p.ToOptions())],
        Miners = Miners.ToOptions(),
        Difficulty = Difficulty.ToOptions(),
        Failover = Failover.ToOptions(),
        Limits = Limits.ToOptions(),
        Drain = Drain.ToOptions(),
        Takeover = Takeover.ToOptions(),
        Pins = new Dictionary<string, string>(Pins, StringComparer.Ordinal),
        MaxWorkerSeries = MaxWorkerSeries,
    };
}

/// <summary>The binding shape of <see cref="ListenerOptions"/>.</summary>
internal sealed class ListenerSection
{
    private static readonly ListenerOptions Defaults = new();

    public string Name { get; set; } = Defaults.Name;

    public string Endpoint { get; set; } = Defaults.Endpoint;

    public string PoolGroup { get; set; } = Defaults.PoolGroup;

    public ProxyProtocolMode ProxyProtocol { get; set; } = Defaults.ProxyProtocol;

    public ListenerOptions ToOptions() => new()
    {
        Name = Name,
        Endpoint = Endpoint,
        PoolGroup = PoolGroup,
        ProxyProtocol = ProxyProtocol,
    };
}

/// <summary>The binding shape of <see cref="PoolOptions"/>.</summary>
internal sealed class PoolSection
{
    private static readonly PoolOptions Defaults = new();

    public string Name { get; set; } = Defaults.Name;

    public string Url { get; set; } = Defaults.Url;

    public string User { get; set; } = Defaults.User;

    public string Password { get; set; } = Defaults.Password;

    public int Priority { get; set; } = Defaults.Priority;

    public double Weight { get; set; } = Defaults.Weight;

    public double TargetTerahashes { get; set; } = Defaults.TargetTerahashes;

    public string Group { get; set; } = Defaults.Group;

    public PoolMode Mode { get; set; } = Defaults.Mode;

    public WorkerNaming WorkerNaming { get; set; } = Defaults.WorkerNaming;

    public bool AllowInvalidCertificate { get; set; } = Defaults.AllowInvalidCertificate;

    public bool VersionRolling { get; set; } = Defaults.VersionRolling;

    public int? Extranonce2SizeHint { get; set; } = Defaults.Extranonce2SizeHint;

    public int MaxConnections { get; set; } = Defaults.MaxConnections;

    public PoolOptions ToOptions() => new()
    {
        Name = Name,
        Url = Url,
        User = User,
        Password = Password,
        Priority = Priority,
        Weight = Weight,
        TargetTerahashes = TargetTerahashes,
        Group = Group,
        Mode = Mode,
        WorkerNaming = WorkerNaming,
        AllowInvalidCertificate = AllowInvalidCertificate,
        VersionRolling = VersionRolling,
        Extranonce2SizeHint = Extranonce2SizeHint,
        MaxConnections = MaxConnections,
    };
}

/// <summary>The binding shape of <see cref="MinerOptions"/>.</summary>
internal sealed class MinerSection
{
    private static readonly MinerOptions Defaults = new();

    public int MaxLineLength { get; set; } = Defaults.MaxLineLength;

    public int Extranonce1Size { get; set; } = Defaults.Extranonce1Size;

    public int Extranonce2Size { get; set; } = Defaults.Extranonce2Size;

    public TimeSpan HandshakeTimeout { get; set; } = Defaults.HandshakeTimeout;

    public TimeSpan IdleTimeout { get; set; } = Defaults.IdleTimeout;

    public int MaxPendingSubmits { get; set; } = Defaults.MaxPendingSubmits;

    public double MaxSubmitsPerSecond { get; set; } = Defaults.MaxSubmitsPerSecond;

    public int MaxConnections { get; set; } = Defaults.MaxConnections;

    public int MaxNTimeRollSeconds { get; set; } = Defaults.MaxNTimeRollSeconds;

    public MinerOptions ToOptions() => new()
    {
        MaxLineLength = MaxLineLength,
        Extranonce1Size = Extranonce1Size,
        Extranonce2Size = Extranonce2Size,
        HandshakeTimeout = HandshakeTimeout,
        IdleTimeout = IdleTimeout,
        MaxPendingSubmits = MaxPendingSubmits,
        MaxSubmitsPerSecond = MaxSubmitsPerSecond,
        MaxConnections = MaxConnections,
        MaxNTimeRollSeconds = MaxNTimeRollSeconds,
    };
}

/// <summary>The binding shape of <see cref="DifficultyOptions"/>.</summary>
internal sealed class DifficultySection
{
    private static readonly DifficultyOptions Defaults = new();

    public double Start { get; set; } = Defaults.Start;

    public double Min { get; set; } = Defaults.Min;

    public double Max { get; set; } = Defaults.Max;

    public double TargetShareSeconds { get; set; } = Defaults.TargetShareSeconds;

    public TimeSpan RetargetInterval { get; set; } = Defaults.RetargetInterval;

    public double VariancePercent { get; set; } = Defaults.VariancePercent;

    public bool PowerOfTwo { get; set; } = Defaults.PowerOfTwo;

    public DifficultyOptions ToOptions() => new()
    {
        Start = Start,
        Min = Min,
        Max = Max,
        TargetShareSeconds = TargetShareSeconds,
        RetargetInterval = RetargetInterval,
        VariancePercent = VariancePercent,
        PowerOfTwo = PowerOfTwo,
    };
}

/// <summary>The binding shape of <see cref="FailoverOptions"/>.</summary>
internal sealed class FailoverSection
{
    private static readonly FailoverOptions Defaults = new();

    public TimeSpan BackoffBase { get; set; } = Defaults.BackoffBase;

    public TimeSpan BackoffMax { get; set; } = Defaults.BackoffMax;

    public bool FailBack { get; set; } = Defaults.FailBack;

    public TimeSpan FailBackDelay { get; set; } = Defaults.FailBackDelay;

    public TimeSpan ConnectTimeout { get; set; } = Defaults.ConnectTimeout;

    public TimeSpan JobKeepalive { get; set; } = Defaults.JobKeepalive;

    public TimeSpan SubmitTimeout { get; set; } = Defaults.SubmitTimeout;

    public FailoverOptions ToOptions() => new()
    {
        BackoffBase = BackoffBase,
        BackoffMax = BackoffMax,
        FailBack = FailBack,
        FailBackDelay = FailBackDelay,
        ConnectTimeout = ConnectTimeout,
        JobKeepalive = JobKeepalive,
        SubmitTimeout = SubmitTimeout,
    };
}

/// <summary>The binding shape of <see cref="LimitOptions"/>.</summary>
internal sealed class LimitSection
{
    private static readonly LimitOptions Defaults = new();

    public int MaxConnectionsPerIp { get; set; } = Defaults.MaxConnectionsPerIp;

    public int BanSeconds { get; set; } = Defaults.BanSeconds;

    public LimitOptions ToOptions() => new()
    {
        MaxConnectionsPerIp = MaxConnectionsPerIp,
        BanSeconds = BanSeconds,
    };
}

/// <summary>The binding shape of <see cref="DrainOptions"/>.</summary>
internal sealed class DrainSection
{
    private static readonly DrainOptions Defaults = new();

    public TimeSpan Period { get; set; } = Defaults.Period;

    public TimeSpan Grace { get; set; } = Defaults.Grace;

    public DrainOptions ToOptions() => new()
    {
        Period = Period,
        Grace = Grace,
    };
}

/// <summary>The binding shape of <see cref="TakeoverOptions"/>.</summary>
internal sealed class TakeoverSection
{
    private static readonly TakeoverOptions Defaults = new();

    public string? SocketPath { get; set; } = Defaults.SocketPath;

    public TimeSpan QuiesceTimeout { get; set; } = Defaults.QuiesceTimeout;

    public TakeoverOptions ToOptions() => new()
    {
        SocketPath = SocketPath,
        QuiesceTimeout = QuiesceTimeout,
    };
}
