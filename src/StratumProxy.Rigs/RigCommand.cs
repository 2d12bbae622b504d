namespace StratumProxy.Rigs;

public enum RigCommandKind
{
    ReadStatus,
    Sleep,
    Wake,
    SetPowerTarget,
    SetWorkMode,
    SwitchPool,
}

/// <summary>A command for <see cref="RigCommander"/>; build it with the static factories.</summary>
public sealed record RigCommand(RigCommandKind Kind, int? Watts = null, RigWorkMode? Mode = null, int? PoolIndex = null)
{
    public static RigCommand ReadStatus { get; } = new(RigCommandKind.ReadStatus);

    public static RigCommand Sleep { get; } = new(RigCommandKind.Sleep);

    public static RigCommand Wake { get; } = new(RigCommandKind.Wake);

    public static RigCommand SetPowerTarget(int watts) => new(RigCommandKind.SetPowerTarget, Watts: watts);

    public static RigCommand SetWorkMode(RigWorkMode mode) => new(RigCommandKind.SetWorkMode, Mode: mode);

    public static RigCommand SwitchPool(int poolIndex) => new(RigCommandKind.SwitchPool, PoolIndex: poolIndex);

    public override string ToString() => Kind switch
    {
        RigCommandKind.SetPowerTarget => FormattableString.Invariant($"SetPowerTarget({Watts} W)"),
        RigCommandKind.SetWorkMode => FormattableString.Invariant($"SetWorkMode({Mode})"),
        RigCommandKind.SwitchPool => FormattableString.Invariant($"SwitchPool({PoolIndex})"),
        _ => Kind.ToString(),
    };
}

/// <summary>Everything the audit log needs about one command: what, when, how many tries, and the outcome.</summary>
public sealed record RigCommandReport(
    string RigId,
    RigFamily Family,
    RigCommand Command,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    RigCommandResult Result,
    int ConnectAttempts,
    int ReadBacks,
    RigStatus? Status);
