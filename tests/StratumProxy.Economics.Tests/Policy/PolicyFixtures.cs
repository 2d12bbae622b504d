using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Policy;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Tests.Policy;

/// <summary>
/// Round numbers for hand computation. Difficulty 86 400 × 10¹⁹ / 2³² makes one H/s find 10⁻¹⁹ blocks a day, so with
/// a 3.125 BTC subsidy, no fees and no pool fee one TH/s earns 3.125 × 10⁻⁷ BTC a day: $0.03 at $96 000.
/// Every rig draws 3 kW = 72 kWh a day.
/// </summary>
internal static class PolicyFixtures
{
    public static readonly Difficulty RoundDifficulty = new(86_400e19 / 4_294_967_296.0);
    public static readonly DateTimeOffset T0 = new(2026, 7, 15, 12, 0, 0, TimeSpan.Zero);
    public static readonly PoolTerms NoFee = new("no-fee", 0);
    public static readonly PoolTerms[] OnePool = [NoFee];

    public static PolicyModel Model(string name, double ths, double watts, RigTransitions? transitions = null) =>
        new(name, [new PowerMode("normal", Hashrate.FromTerahashes(ths), new Power(watts))], transitions ?? RigTransitions.Default);

    /// <summary>15 J/TH: $6.00/day revenue at $96 000, breakeven $0.0833/kWh.</summary>
    public static readonly PolicyModel Efficient = Model("eff-200", 200, 3000);

    /// <summary>20 J/TH: $4.50/day at $96 000.</summary>
    public static readonly PolicyModel Middle = Model("mid-150", 150, 3000);

    /// <summary>25 J/TH: $3.60/day at $96 000, breakeven $0.05/kWh.</summary>
    public static readonly PolicyModel Older = Model("old-120", 120, 3000);

    /// <summary>30 J/TH: $3.00/day at $96 000, breakeven $0.04167/kWh.</summary>
    public static readonly PolicyModel Oldest = Model("oldest-100", 100, 3000);

    public static MarketSnapshot MarketAt(double price, DateTimeOffset asOf, Difficulty? difficulty = null) =>
        new(Coin.Bitcoin, new CoinPrice(price), difficulty ?? RoundDifficulty, new Coins(3.125), Coins.Zero, asOf);

    public static PolicyInputs Inputs(DateTimeOffset now, double btcPrice, double usdPerKwh, IReadOnlyList<PoolTerms>? pools = null) =>
        new(now, MarketAt(btcPrice, now), pools ?? OnePool, EnergyPrice.Flat(usdPerKwh));

    public static RigState On(int model, DateTimeOffset? since = null, int pool = 0, int mode = 0) =>
        new(model, RigOption.Run(pool, mode), since ?? T0.AddDays(-1));

    public static RigState Off(int model, DateTimeOffset? since = null) =>
        new(model, RigOption.Off, since ?? T0.AddDays(-1));

    /// <summary>No change costs and no margins: decisions follow the sign of profit alone.</summary>
    public static readonly CurtailmentOptions Frictionless = new()
    {
        PowerCycleCostUsd = 0,
        MarginUsdPerDay = 0,
        MarginPercent = 0,
        MinOnDwell = TimeSpan.Zero,
        MinOffDwell = TimeSpan.Zero,
    };
}
