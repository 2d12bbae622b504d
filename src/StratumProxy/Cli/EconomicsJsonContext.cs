using System.Text.Json.Serialization;

namespace StratumProxy.Cli;

/// <summary>One rig in the --json output; its keys are part of the command's output contract.</summary>
internal sealed record EconomicsRow(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("hashrate_ths")] double HashrateThs,
    [property: JsonPropertyName("power_w")] double PowerW,
    [property: JsonPropertyName("efficiency_j_per_th")] double EfficiencyJPerTh,
    [property: JsonPropertyName("btc_per_day")] double BtcPerDay,
    [property: JsonPropertyName("revenue_usd_per_day")] double RevenueUsdPerDay,
    [property: JsonPropertyName("power_cost_usd_per_day")] double PowerCostUsdPerDay,
    [property: JsonPropertyName("profit_usd_per_day")] double ProfitUsdPerDay,
    [property: JsonPropertyName("shutdown_price_usd")] double? ShutdownPriceUsd,
    [property: JsonPropertyName("breakeven_usd_per_kwh")] double BreakevenUsdPerKwh,
    [property: JsonPropertyName("hashprice_usd_per_ph_day")] double HashpriceUsdPerPhDay);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(List<EconomicsRow>))]
internal sealed partial class EconomicsCliJsonContext : JsonSerializerContext;
