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

/// <summary>A rig as the policy sees it (GET /api/rigs).</summary>
public sealed record RigView(
    string Rig,
    string Model,
    string State,
    string? Pool,
    string? Pin,
    DateTimeOffset LastPowerChange,
    double ObservedTerahashes,
    string LastReason,
    string? Warning);

/// <summary>Source-generated JSON for the audit log and the rig API.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(CurtailmentEntry))]
[JsonSerializable(typeof(IReadOnlyList<RigView>))]
public sealed partial class CurtailmentJsonContext : JsonSerializerContext;
