namespace StratumProxy.Economics.Policy;

/// <summary>Why the policy chose what it chose. <see cref="CurtailmentReasons.Code"/> gives the stable snake_case code.</summary>
public enum CurtailmentReason : byte
{
    /// <summary>The chosen running option is the most profitable one worth its change cost (kept or changed to).</summary>
    MostProfitable,

    /// <summary>Every running option loses money: off (sleep, or stay asleep).</summary>
    EveryOptionLosesMoney,

    /// <summary>A better option exists, but its gain after change costs does not exceed the margin: keep the current one.</summary>
    Hysteresis,

    /// <summary>Wake (or stay on) because revenue at the difficulty expected after an imminent retarget makes it pay.</summary>
    DifficultyDropAhead,

    /// <summary>The rig should sleep but has not been on for the minimum on-dwell time.</summary>
    MinOnDwell,

    /// <summary>The rig should wake but has not been off for the minimum off-dwell time.</summary>
    MinOffDwell,

    /// <summary>The change was deferred: this evaluation already made as many power changes as allowed.</summary>
    ChangeCap,

    /// <summary>Running because the operator pinned it on.</summary>
    PinnedOn,

    /// <summary>Off because the operator pinned it off.</summary>
    PinnedOff,

    /// <summary>Put to sleep to keep the farm under its power cap (worst J/TH first).</summary>
    PowerCapShed,

    /// <summary>The wake was deferred: it would take the farm over its power cap.</summary>
    PowerCapHeadroom,

    /// <summary>Off: a demand-response window is in force.</summary>
    DemandResponse,

    /// <summary>Market data too old or flagged stale: the operator's default applies.</summary>
    MarketStale,

    /// <summary>No market data: the operator's default applies.</summary>
    MarketMissing,

    /// <summary>Strike-price mode: the energy price stayed above the sleep strike long enough.</summary>
    StrikeSleep,

    /// <summary>Strike-price mode: the energy price stayed below the wake strike long enough.</summary>
    StrikeWake,

    /// <summary>Strike-price mode: neither strike has held long enough; keep the current state.</summary>
    StrikeHold,

    /// <summary>The rig has no pool it may use: off.</summary>
    NoOptions,
}

public static class CurtailmentReasons
{
    /// <summary>The machine-readable code for logs, metrics labels and the audit log (no allocation).</summary>
    public static string Code(this CurtailmentReason reason) => reason switch
    {
        CurtailmentReason.MostProfitable => "most_profitable",
        CurtailmentReason.EveryOptionLosesMoney => "every_option_loses_money",
        CurtailmentReason.Hysteresis => "hysteresis",
        CurtailmentReason.DifficultyDropAhead => "difficulty_drop_ahead",
        CurtailmentReason.MinOnDwell => "min_on_dwell",
        CurtailmentReason.MinOffDwell => "min_off_dwell",
        CurtailmentReason.ChangeCap => "change_cap",
        CurtailmentReason.PinnedOn => "pinned_on",
        CurtailmentReason.PinnedOff => "pinned_off",
        CurtailmentReason.PowerCapShed => "power_cap_shed",
        CurtailmentReason.PowerCapHeadroom => "power_cap_headroom",
        CurtailmentReason.DemandResponse => "demand_response",
        CurtailmentReason.MarketStale => "market_stale",
        CurtailmentReason.MarketMissing => "market_missing",
        CurtailmentReason.StrikeSleep => "strike_sleep",
        CurtailmentReason.StrikeWake => "strike_wake",
        CurtailmentReason.StrikeHold => "strike_hold",
        CurtailmentReason.NoOptions => "no_options",
        _ => "unknown",
    };
}
