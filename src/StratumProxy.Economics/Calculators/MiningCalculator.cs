using StratumProxy.Economics.Market;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Calculators;

/// <summary>
/// A market and a pool folded into the two numbers every rig on that pool shares: coins and dollars per H/s per
/// day. Computing these once per pool keeps the per-rig work to a few multiplications.
/// </summary>
/// <param name="Pool">The pool.</param>
/// <param name="CoinsPerHashPerDay">Expected coins paid per day for each H/s, after fee and rejects.</param>
/// <param name="Price">Coin price.</param>
public readonly record struct PoolQuote(PoolTerms Pool, double CoinsPerHashPerDay, CoinPrice Price)
{
    public static PoolQuote Create(MarketSnapshot market, PoolTerms pool)
    {
        ArgumentNullException.ThrowIfNull(market);
        ArgumentNullException.ThrowIfNull(pool);
        return new PoolQuote(pool, MiningCalculator.CoinsPerHashPerDay(market, pool), market.Price);
    }
}

/// <summary>
/// The formulas of docs/economics.md. Pure: no I/O, no clock.
/// </summary>
public static class MiningCalculator
{
    public const double SecondsPerDay = 86_400.0;

    /// <summary>Expected blocks found per day per H/s: 86400 ÷ (difficulty × 2^32).</summary>
    public static double BlocksPerHashPerDay(Difficulty difficulty) =>
        SecondsPerDay / (difficulty.Value * Difficulty.HashesPerUnit);

    /// <summary>
    /// Coins a pool pays per H/s per day: blocks per H/s per day × (subsidy + fees, or subsidy alone under PPS)
    /// × (1 − pool fee) × (1 − reject rate).
    /// </summary>
    public static double CoinsPerHashPerDay(MarketSnapshot market, PoolTerms pool)
    {
        ArgumentNullException.ThrowIfNull(market);
        ArgumentNullException.ThrowIfNull(pool);
        var reward = pool.PaysFees ? market.BlockReward.Amount : market.Subsidy.Amount;
        return BlocksPerHashPerDay(market.Difficulty) * reward * (1.0 - (pool.FeePercent / 100.0)) * (1.0 - pool.RejectRate);
    }

    /// <summary>Expected coins per day for <paramref name="hashrate"/> on <paramref name="pool"/>.</summary>
    public static Coins CoinsPerDay(Hashrate hashrate, MarketSnapshot market, PoolTerms pool) =>
        new(hashrate.HashesPerSecond * CoinsPerHashPerDay(market, pool));

    /// <summary>Network hashprice: USD per PH/s per day on <paramref name="pool"/>.</summary>
    public static double HashpriceUsdPerPhDay(MarketSnapshot market, PoolTerms pool)
    {
        ArgumentNullException.ThrowIfNull(market);
        return CoinsPerHashPerDay(market, pool) * Hashrate.Peta * market.Price.UsdPerCoin;
    }

    public static RigEconomics Evaluate(Hashrate hashrate, Power power, MarketSnapshot market, PoolTerms pool, EnergyPrice energy) =>
        Evaluate(hashrate, power, PoolQuote.Create(market, pool), energy);

    /// <summary>The hot path: one rig, one operating point, one pool. No allocation.</summary>
    public static RigEconomics Evaluate(Hashrate hashrate, Power power, in PoolQuote quote, EnergyPrice energy)
    {
        var coins = hashrate.HashesPerSecond * quote.CoinsPerHashPerDay;
        var revenue = coins * quote.Price.UsdPerCoin;
        var kwh = power.Kilowatts * 24.0;
        var allIn = (energy.Energy.Value * energy.Pue) + energy.Hosting.Value;
        var cost = kwh * allIn;
        var shutdown = coins > 0 ? cost / coins : double.PositiveInfinity;
        // Profit is zero where revenue = kWh × (p × PUE + hosting): p = (revenue ÷ kWh − hosting) ÷ PUE.
        var breakeven = kwh > 0 ? ((revenue / kwh) - energy.Hosting.Value) / energy.Pue : double.PositiveInfinity;
        return new RigEconomics(
            hashrate,
            power,
            new Coins(coins),
            new Usd(revenue),
            new Energy(kwh),
            new Usd(cost),
            new CoinPrice(shutdown),
            new UsdPerKwh(breakeven));
    }
}
