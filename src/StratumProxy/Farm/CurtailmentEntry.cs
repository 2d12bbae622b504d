using System.Text.Json.Serialization;

namespace StratumProxy.Farm;

/// <summary>One line of the decision audit log: the inputs, every option's profit, the choice, the reason, the outcome.</summary>
public sealed record CurtailmentEntry(
    DateTimeOffset At,
    string Rig,
    string Model,
    string Kind,
    string From,
    string To,
    string Reason,
    string Description,
    double ChosenProfitUsdPerDay,
    double CurrentProfitUsdPerDay,
    double GainUsdPerDay,
    IReadOnlyList<OptionProfit> Options,
    double PriceUsd,
    double Difficulty,
    double EnergyUsdPerKwh,
    string Market,
    bool DryRun,
    string Outcome,
    string? OutcomeDetail);

/// <summary>One option's profit in a decision.</summary>
public sealed record OptionProfit(string Option, double ProfitUsdPerDay);

/// <summary>A rig as the loop sees it after reconciling with the rig (GET /api/rigs).</summary>
/// <param name="Rig">The worker name.</param>
/// <param name="Model">The policy model.</param>
/// <param name="State">running, sleeping or unknown (its API did not answer).</param>
/// <param name="Pool">The pool it runs on, when running.</param>
/// <param name="Pin">The operator's pin.</param>
/// <param name="LastPowerChange">The dwell clock: the last off↔on change.</param>
/// <param name="ObservedTerahashes">The hash rate the policy weighs, measured from its shares over time it was hashing only (0 = not measured yet: its mode's rating is weighed; see docs/curtailment.md).</param>
/// <param name="LastReason">The reason code of the policy's latest decision.</param>
/// <param name="Warning">A rig that did not do what it was told.</param>
public sealed record RigView(
    string Rig,
    string Model,
    string State,
    string? Pool,
    string? Pin,
    DateTimeOffset LastPowerChange,
    double ObservedTerahashes,
    string LastReason,
    string? Warning)
{
    /// <summary>False for a rig removed from the configuration that the loop is still releasing.</summary>
    public bool Managed { get; init; } = true;

    /// <summary>What the rig's last read said: awake, asleep, unreachable or no_api.</summary>
    public string? RigReports { get; init; }

    /// <summary>The last read in words.</summary>
    public string? RigDetail { get; init; }

    /// <summary>When the rig last answered a status read.</summary>
    public DateTimeOffset? LastReadBack { get; init; }

    /// <summary>The last disagreement between memory and rig: found_awake, found_asleep or unreachable.</summary>
    public string? LastDisagreement { get; init; }

    /// <summary>When.</summary>
    public DateTimeOffset? LastDisagreementAt { get; init; }

    /// <summary>The last command sent to the rig.</summary>
    public string? LastCommand { get; init; }

    /// <summary>Its outcome.</summary>
    public string? LastOutcome { get; init; }

    /// <summary>When it was sent.</summary>
    public DateTimeOffset? LastCommandAt { get; init; }

    /// <summary>The last share the proxy received from the rig.</summary>
    public DateTimeOffset? LastShareAt { get; init; }
}

/// <summary>Source-generated JSON for the audit log and the rig API.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(CurtailmentEntry))]
[JsonSerializable(typeof(IReadOnlyList<RigView>))]
public sealed partial class CurtailmentJsonContext : JsonSerializerContext;
