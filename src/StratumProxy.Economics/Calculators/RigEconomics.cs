using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Calculators;

/// <summary>
/// The daily economics of one rig at one operating point on one pool. Every "per day" is a 24-hour expectation.
/// </summary>
/// <param name="Hashrate">Hash rate evaluated.</param>
/// <param name="Power">Power drawn at the wall by the rig (IT load, before PUE).</param>
/// <param name="CoinsPerDay">Expected coins paid per day after the pool fee and rejects.</param>
/// <param name="RevenuePerDay">CoinsPerDay × price.</param>
/// <param name="EnergyPerDay">kWh per day at the rig: kW × 24.</param>
/// <param name="PowerCostPerDay">EnergyPerDay × all-in $/kWh (energy × PUE + hosting).</param>
/// <param name="ShutdownPrice">Coin price at which profit is zero: cost ÷ coins per day. Infinite when the rig earns nothing.</param>
/// <param name="BreakevenEnergyPrice">Energy price ($/kWh, before PUE and hosting) at which profit is zero.</param>
public readonly record struct RigEconomics(
    Hashrate Hashrate,
    Power Power,
    Coins CoinsPerDay,
    Usd RevenuePerDay,
    Energy EnergyPerDay,
    Usd PowerCostPerDay,
    CoinPrice ShutdownPrice,
    UsdPerKwh BreakevenEnergyPrice)
{
    public Usd ProfitPerDay => RevenuePerDay - PowerCostPerDay;

    /// <summary>Profit ÷ revenue (negative when losing money; −∞ never: zero revenue gives NaN).</summary>
    public double Margin => ProfitPerDay.Amount / RevenuePerDay.Amount;

    /// <summary>USD per PH/s per day this rig is paid: revenue ÷ hash rate in PH/s.</summary>
    public double HashpriceUsdPerPhDay => RevenuePerDay.Amount / Hashrate.Petahashes;

    /// <summary>W ÷ TH/s.</summary>
    public double EfficiencyJoulesPerTerahash => Power.Watts / Hashrate.Terahashes;
}
