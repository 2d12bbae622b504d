using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Calculators;

/// <summary>
/// What one kWh drawn by a rig costs: the energy price × PUE (cooling and facility overhead are paid per kWh of
/// the rig's own draw) + a hosting fee per kWh of the rig's draw.
/// </summary>
/// <param name="Energy">Tariff price of energy.</param>
/// <param name="Pue">Power usage effectiveness (facility kWh ÷ IT kWh), ≥ 1.</param>
/// <param name="Hosting">Hosting fee per kWh of the rig's draw.</param>
public readonly record struct EnergyPrice(UsdPerKwh Energy, double Pue = 1.0, UsdPerKwh Hosting = default)
{
    /// <summary>All-in cost of one kWh at the rig.</summary>
    public UsdPerKwh AllIn => new((Energy.Value * Pue) + Hosting.Value);

    /// <summary>Inverts <see cref="AllIn"/>: the energy price that gives the all-in price <paramref name="allIn"/>.</summary>
    public UsdPerKwh EnergyPriceFor(UsdPerKwh allIn) => new((allIn.Value - Hosting.Value) / Pue);

    public static EnergyPrice Flat(double usdPerKwh) => new(new UsdPerKwh(usdPerKwh));
}
