using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Hosting;

/// <summary>
/// The binding shape of the <c>Proxy</c> section (<see cref="BindingShape{T}"/>): each setting of the records once, the
/// lists, the pins and the nested sections converted in <see cref="ToOptions"/>.
/// </summary>
internal sealed class ProxySection : BindingShape<ProxyOptions>
{
    public List<ListenerSection> Listeners { get; set; } = [];

    public List<PoolSection> Pools { get; set; } = [];

    public MinerSection Miners { get; set; } = new();

    public DifficultySection Difficulty { get; set; } = new();

    public FailoverSection Failover { get; set; } = new();

    public LimitSection Limits { get; set; } = new();

    public DrainSection Drain { get; set; } = new();

    public TakeoverSection Takeover { get; set; } = new();

    public Dictionary<string, string> Pins { get; set; } = new(StringComparer.Ordinal);

    public int MaxWorkerSeries { get => Options.MaxWorkerSeries; set => Options = Options with { MaxWorkerSeries = value }; }

    public override ProxyOptions ToOptions() => Options with
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
    };
}

/// <summary>The binding shape of <see cref="ListenerOptions"/>.</summary>
internal sealed class ListenerSection : BindingShape<ListenerOptions>
{
    public string Name { get => Options.Name; set => Options = Options with { Name = value }; }

    public string Endpoint { get => Options.Endpoint; set => Options = Options with { Endpoint = value }; }

    public string PoolGroup { get => Options.PoolGroup; set => Options = Options with { PoolGroup = value }; }

    public ProxyProtocolMode ProxyProtocol { get => Options.ProxyProtocol; set => Options = Options with { ProxyProtocol = value }; }
}

/// <summary>The binding shape of <see cref="PoolOptions"/>.</summary>
internal sealed class PoolSection : BindingShape<PoolOptions>
{
    public string Name { get => Options.Name; set => Options = Options with { Name = value }; }

    public string Url { get => Options.Url; set => Options = Options with { Url = value }; }

    public string User { get => Options.User; set => Options = Options with { User = value }; }

    public string Password { get => Options.Password; set => Options = Options with { Password = value }; }

    public int Priority { get => Options.Priority; set => Options = Options with { Priority = value }; }

    public double Weight { get => Options.Weight; set => Options = Options with { Weight = value }; }

    public double TargetTerahashes { get => Options.TargetTerahashes; set => Options = Options with { TargetTerahashes = value }; }

    public string Group { get => Options.Group; set => Options = Options with { Group = value }; }

    public PoolMode Mode { get => Options.Mode; set => Options = Options with { Mode = value }; }

    public WorkerNaming WorkerNaming { get => Options.WorkerNaming; set => Options = Options with { WorkerNaming = value }; }

    public bool AllowInvalidCertificate { get => Options.AllowInvalidCertificate; set => Options = Options with { AllowInvalidCertificate = value }; }

    public bool VersionRolling { get => Options.VersionRolling; set => Options = Options with { VersionRolling = value }; }

    public int? Extranonce2SizeHint { get => Options.Extranonce2SizeHint; set => Options = Options with { Extranonce2SizeHint = value }; }

    public int MaxConnections { get => Options.MaxConnections; set => Options = Options with { MaxConnections = value }; }
}

/// <summary>The binding shape of <see cref="MinerOptions"/>.</summary>
internal sealed class MinerSection : BindingShape<MinerOptions>
{
    public int MaxLineLength { get => Options.MaxLineLength; set => Options = Options with { MaxLineLength = value }; }

    public int Extranonce1Size { get => Options.Extranonce1Size; set => Options = Options with { Extranonce1Size = value }; }

    public int Extranonce2Size { get => Options.Extranonce2Size; set => Options = Options with { Extranonce2Size = value }; }

    public TimeSpan HandshakeTimeout { get => Options.HandshakeTimeout; set => Options = Options with { HandshakeTimeout = value }; }

    public TimeSpan IdleTimeout { get => Options.IdleTimeout; set => Options = Options with { IdleTimeout = value }; }

    public int MaxPendingSubmits { get => Options.MaxPendingSubmits; set => Options = Options with { MaxPendingSubmits = value }; }

    public double MaxSubmitsPerSecond { get => Options.MaxSubmitsPerSecond; set => Options = Options with { MaxSubmitsPerSecond = value }; }

    public int MaxConnections { get => Options.MaxConnections; set => Options = Options with { MaxConnections = value }; }

    public int MaxNTimeRollSeconds { get => Options.MaxNTimeRollSeconds; set => Options = Options with { MaxNTimeRollSeconds = value }; }
}

/// <summary>The binding shape of <see cref="DifficultyOptions"/>.</summary>
internal sealed class DifficultySection : BindingShape<DifficultyOptions>
{
    public double Start { get => Options.Start; set => Options = Options with { Start = value }; }

    public double Min { get => Options.Min; set => Options = Options with { Min = value }; }

    public double Max { get => Options.Max; set => Options = Options with { Max = value }; }

    public double TargetShareSeconds { get => Options.TargetShareSeconds; set => Options = Options with { TargetShareSeconds = value }; }

    public TimeSpan RetargetInterval { get => Options.RetargetInterval; set => Options = Options with { RetargetInterval = value }; }

    public double VariancePercent { get => Options.VariancePercent; set => Options = Options with { VariancePercent = value }; }

    public bool PowerOfTwo { get => Options.PowerOfTwo; set => Options = Options with { PowerOfTwo = value }; }
}

/// <summary>The binding shape of <see cref="FailoverOptions"/>.</summary>
internal sealed class FailoverSection : BindingShape<FailoverOptions>
{
    public TimeSpan BackoffBase { get => Options.BackoffBase; set => Options = Options with { BackoffBase = value }; }

    public TimeSpan BackoffMax { get => Options.BackoffMax; set => Options = Options with { BackoffMax = value }; }

    public bool FailBack { get => Options.FailBack; set => Options = Options with { FailBack = value }; }

    public TimeSpan FailBackDelay { get => Options.FailBackDelay; set => Options = Options with { FailBackDelay = value }; }

    public TimeSpan ConnectTimeout { get => Options.ConnectTimeout; set => Options = Options with { ConnectTimeout = value }; }

    public TimeSpan JobKeepalive { get => Options.JobKeepalive; set => Options = Options with { JobKeepalive = value }; }

    public TimeSpan SubmitTimeout { get => Options.SubmitTimeout; set => Options = Options with { SubmitTimeout = value }; }
}

/// <summary>The binding shape of <see cref="LimitOptions"/>.</summary>
internal sealed class LimitSection : BindingShape<LimitOptions>
{
    public int MaxConnectionsPerIp { get => Options.MaxConnectionsPerIp; set => Options = Options with { MaxConnectionsPerIp = value }; }

    public int BanSeconds { get => Options.BanSeconds; set => Options = Options with { BanSeconds = value }; }

    public int MaxPoolLineLength { get => Options.MaxPoolLineLength; set => Options = Options with { MaxPoolLineLength = value }; }
}

/// <summary>The binding shape of <see cref="DrainOptions"/>.</summary>
internal sealed class DrainSection : BindingShape<DrainOptions>
{
    public TimeSpan Period { get => Options.Period; set => Options = Options with { Period = value }; }

    public TimeSpan Grace { get => Options.Grace; set => Options = Options with { Grace = value }; }
}

/// <summary>The binding shape of <see cref="TakeoverOptions"/>.</summary>
internal sealed class TakeoverSection : BindingShape<TakeoverOptions>
{
    public string? SocketPath { get => Options.SocketPath; set => Options = Options with { SocketPath = value }; }

    public TimeSpan QuiesceTimeout { get => Options.QuiesceTimeout; set => Options = Options with { QuiesceTimeout = value }; }
}
