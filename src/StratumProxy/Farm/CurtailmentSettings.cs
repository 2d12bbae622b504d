using StratumProxy.Economics.Policy;

namespace StratumProxy.Farm;

/// <summary>
/// The <c>Curtailment</c> section: whether the proxy acts on the economics (switch pools, sleep and wake rigs), how
/// cautiously, and where it keeps its audit log and energy ledger. Dry-run (the shipped default) decides and logs
/// and acts on nothing. Immutable and compared by value; the host binds the section into <c>CurtailmentSection</c>.
/// </summary>
public sealed record CurtailmentSettings
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Curtailment";

    /// <summary>Run the policy at all.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Decide and log only; act on nothing (pools stay, rigs are not commanded).</summary>
    public bool DryRun { get; init; } = true;

    /// <summary>How often the policy runs.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>A gain must exceed this many USD per day to change anything.</summary>
    public double MarginUsdPerDay { get; init; } = 0.10;

    /// <summary>…and this share of the current profit, in percent.</summary>
    public double MarginPercent { get; init; } = 5;

    /// <summary>The wear of one sleep/wake cycle, in USD.</summary>
    public double PowerCycleCostUsd { get; init; } = 0.10;

    /// <summary>Least time a rig stays on after waking.</summary>
    public TimeSpan MinOnDwell { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Least time a rig stays off after sleeping.</summary>
    public TimeSpan MinOffDwell { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>At most this many rigs sleep or wake per evaluation (no power spikes when a farm wakes).</summary>
    public int MaxPowerChangesPerEvaluation { get; init; } = 50;

    /// <summary>A farm-wide power cap in kW (none when unset).</summary>
    public double? PowerCapKw { get; init; }

    /// <summary>Older market data is stale: the policy falls back to running.</summary>
    public TimeSpan MaxMarketAge { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Strike-price mode: sleep above this $/MWh for <see cref="StrikeSleepAfter"/> (none: off).</summary>
    public double? StrikeSleepAboveUsdPerMwh { get; init; }

    /// <summary>How long the price must stay above the sleep strike.</summary>
    public TimeSpan StrikeSleepAfter { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Wake below this $/MWh for <see cref="StrikeWakeAfter"/>.</summary>
    public double? StrikeWakeBelowUsdPerMwh { get; init; }

    /// <summary>How long the price must stay below the wake strike.</summary>
    public TimeSpan StrikeWakeAfter { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>The append-only decision log (JSON lines, rotated).</summary>
    public string AuditLog { get; init; } = "data/decisions.jsonl";

    /// <summary>The SQLite energy and money ledger (also the loop's memory of every rig, kept across restarts).</summary>
    public string Ledger { get; init; } = "data/energy.db";

    /// <summary>
    /// The horizon over which the wear and lost hashing of one sleep/wake cycle is weighed (pool and mode changes use one
    /// hour); see docs/curtailment.md, "Policy versus the strike price".
    /// </summary>
    public TimeSpan CycleHorizon { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How long one rig's status read may take before the rig counts as unknown for this evaluation.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>At most this many rigs are read at the same time.</summary>
    public int MaxConcurrentReads { get; init; } = 16;

    /// <summary>What happens to sleeping rigs when the proxy stops: <c>leave</c> them (default) or <c>wake</c> them.</summary>
    public ShutdownAction OnShutdown { get; init; } = ShutdownAction.Leave;

    /// <summary>The policy options these settings describe.</summary>
    public CurtailmentOptions ToPolicyOptions() => new()
    {
        MarginUsdPerDay = MarginUsdPerDay,
        MarginPercent = MarginPercent,
        PowerCycleCostUsd = PowerCycleCostUsd,
        CycleHorizon = CycleHorizon,
        MinOnDwell = MinOnDwell,
        MinOffDwell = MinOffDwell,
        MaxPowerChangesPerEvaluation = MaxPowerChangesPerEvaluation,
        PowerCapKw = PowerCapKw,
        MaxMarketAge = MaxMarketAge,
        Strike = StrikeSleepAboveUsdPerMwh is { } sleep && StrikeWakeBelowUsdPerMwh is { } wake
            ? new StrikePriceOptions(sleep, StrikeSleepAfter, wake, StrikeWakeAfter)
            : null,
    };
}

/// <summary>What the proxy does with the rigs it put to sleep when it stops (<c>Curtailment:OnShutdown</c>).</summary>
public enum ShutdownAction
{
    /// <summary>
    /// Leave every rig as it is: a sleep may be a demand-response commitment that must hold through a deploy; the
    /// next start reads the rigs and carries on from the ledger.
    /// </summary>
    Leave,

    /// <summary>Wake every sleeping rig before exiting: for a proxy that may not come back (decommissioning, a move).</summary>
    Wake,
}
