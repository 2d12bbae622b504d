namespace StratumProxy.Rigs;

public enum RigMiningState
{
    Unknown,

    /// <summary>Hashing.</summary>
    Mining,

    /// <summary>Up and answering but not hashing, and not because it was put to sleep (no devices, no pool, starting).</summary>
    Idle,

    /// <summary>Put to sleep through its API (devices disabled, paused, curtailed, powered off, sleep mode).</summary>
    Asleep,
}

/// <summary>A pool as the rig itself numbers and reports it.</summary>
public sealed record RigPoolInfo(int Index, string Url, string? User, bool Alive, bool Active, int? Priority);

/// <summary>One read of a rig. Fields the family does not report are null.</summary>
public sealed record RigStatus
{
    public required RigMiningState State { get; init; }

    public double? HashrateThs { get; init; }

    public double? PowerWatts { get; init; }

    public int? PowerLimitWatts { get; init; }

    public RigWorkMode? WorkMode { get; init; }

    /// <summary>The firmware's named power/performance profile (LuxOS).</summary>
    public string? Profile { get; init; }

    public IReadOnlyList<RigPoolInfo> Pools { get; init; } = [];

    public TimeSpan? Uptime { get; init; }

    public string? Firmware { get; init; }

    public RigPoolInfo? ActivePool => Pools.FirstOrDefault(p => p.Active);
}

/// <summary>The outcome of a status read: a status, or the failure that prevented one.</summary>
public sealed record RigReadResult(RigStatus? Status, RigFailed? Failure)
{
    public bool IsSuccess => Status is not null;

    public static RigReadResult Ok(RigStatus status) => new(status, null);

    public static RigReadResult Fail(RigFailed failure) => new(null, failure);
}
