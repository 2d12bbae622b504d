namespace StratumProxy.Rigs;

/// <summary>
/// One rig, spoken to through its firmware family's management API. Implementations never retry a write and never
/// claim a write took effect: a write returns <see cref="RigUnconfirmed"/> (with what a read-back should show),
/// <see cref="RigFailed"/> or <see cref="RigUnsupported"/>. <see cref="RigCommander"/> adds the per-rig lock, connect
/// retries and the read-back that turns <see cref="RigUnconfirmed"/> into <see cref="RigConfirmed"/>.
/// </summary>
public interface IRigClient
{
    RigFamily Family { get; }

    /// <summary>What this adapter can do, so the policy only offers options the rig can carry out.</summary>
    RigCapabilities Capabilities { get; }

    /// <summary>What the adapter was checked against (captured replies, library fixtures, vendor documentation, mocks).</summary>
    RigEvidence Evidence { get; }

    Task<RigReadResult> ReadStatusAsync(CancellationToken cancellationToken);

    Task<RigCommandResult> SleepAsync(CancellationToken cancellationToken);

    Task<RigCommandResult> WakeAsync(CancellationToken cancellationToken);

    Task<RigCommandResult> SetPowerTargetAsync(int watts, CancellationToken cancellationToken);

    Task<RigCommandResult> SetWorkModeAsync(RigWorkMode mode, CancellationToken cancellationToken);

    /// <summary>Makes the rig's own pool number <paramref name="poolIndex"/> (as the rig numbers them) the active one.</summary>
    Task<RigCommandResult> SwitchPoolAsync(int poolIndex, CancellationToken cancellationToken);
}

public enum RigFamily
{
    Cgminer,
    BraiinsOs,
    LuxOs,
    WhatsminerV2,
    WhatsminerV3,
    Avalon,
    AntminerStock,
}

[Flags]
public enum RigCapabilities
{
    None = 0,
    ReadStatus = 1,
    Sleep = 2,
    Wake = 4,
    PowerTarget = 8,
    WorkMode = 16,
    SwitchPool = 32,

    /// <summary>The status read includes a power figure in watts (measured or the firmware's estimate).</summary>
    ReportsPower = 64,

    /// <summary>Only part of the family's protocol is implemented (what the recorded examples allow); see the adapter's remarks.</summary>
    PartialProtocol = 128,
}

/// <summary>The strongest evidence an adapter's request and reply handling was checked against.</summary>
public enum RigEvidence
{
    /// <summary>Replies recorded from real firmware, replayed byte for byte in the tests.</summary>
    CapturedReplies,

    /// <summary>Replies from public client libraries' fixtures (recorded from hardware, possibly trimmed).</summary>
    LibraryFixtures,

    /// <summary>Vendor documentation examples and values computed from the documented algorithms only.</summary>
    VendorDocumentation,

    /// <summary>Shapes from mock servers only.</summary>
    MockOnly,
}

public enum RigWorkMode
{
    Normal,
    LowPower,
    HighPerformance,
}
