using System.Text.Json.Serialization;
using StratumProxy.Economics.Backtest;

namespace StratumProxy.Cli;

/// <summary>One scenario in the --json output: its keys are part of the command's output contract.</summary>
internal sealed record ScenarioJson(double EnergyKwh, double RevenueUsd, double PowerCostUsd, double ProfitUsd, long PowerCycles)
{
    public static ScenarioJson From(ScenarioTotals t) => new(t.EnergyKwh, t.RevenueUsd, t.PowerCostUsd, t.ProfitUsd, t.PowerCycles);
}

/// <summary>The --json output: exactly policy, always_on and strike_price.</summary>
internal sealed record BacktestJson(ScenarioJson Policy, ScenarioJson AlwaysOn, ScenarioJson StrikePrice);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(BacktestJson))]
internal sealed partial class BacktestJsonContext : JsonSerializerContext;
