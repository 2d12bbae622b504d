using System.Globalization;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Calculators;

/// <summary>Why an option was chosen.</summary>
public enum DecisionReason
{
    /// <summary>The chosen mode and pool has the highest profit, and it is positive.</summary>
    MostProfitable,

    /// <summary>Every mode on every pool loses money, so off (profit 0) wins.</summary>
    EveryOptionLosesMoney,

    /// <summary>A demand-response window is in force: off regardless of profit.</summary>
    DemandResponse,

    /// <summary>There was nothing to evaluate (no mode or no pool).</summary>
    NoOptions,
}

/// <summary>
/// The best of {each mode} × {each pool} ∪ {off} for one rig. <see cref="Best"/> is the most profitable running
/// option even when the decision is off, so a policy can report how far from profitable the rig is.
/// </summary>
public readonly record struct RigDecision(int ModeIndex, int PoolIndex, RigEconomics Best, Usd RunnerUpProfit, DecisionReason Reason)
{
    public bool Run => Reason == DecisionReason.MostProfitable;

    /// <summary>Profit per day of the decision: the best option's, or zero when off.</summary>
    public Usd DecidedProfitPerDay => Run ? Best.ProfitPerDay : Usd.Zero;

    /// <summary>A one-line reason for logs and the audit trail (allocates; not for the hot path).</summary>
    public string Describe(ReadOnlySpan<PowerMode> modes, ReadOnlySpan<PoolQuote> pools)
    {
        var inv = CultureInfo.InvariantCulture;
        if (Reason == DecisionReason.NoOptions)
        {
            return "off: no power mode or pool to evaluate";
        }

        var option = string.Create(inv, $"{modes[ModeIndex].Name} on {pools[PoolIndex].Pool.Name}");
        return Reason switch
        {
            DecisionReason.MostProfitable => string.Create(
                inv,
                $"run {option}: profit {Best.ProfitPerDay}/day, {(Best.ProfitPerDay - RunnerUpProfit)}/day more than the next best option"),
            DecisionReason.EveryOptionLosesMoney => string.Create(
                inv,
                $"off: every option loses money; the best, {option}, makes {Best.ProfitPerDay}/day (shutdown price {Best.ShutdownPrice.UsdPerCoin:0.00})"),
            _ => string.Create(inv, $"off: demand-response window (would make {Best.ProfitPerDay}/day with {option})"),
        };
    }
}

/// <summary>Chooses a rig's best operating point and pool. Pure and allocation-free.</summary>
public static class OptionChooser
{
    public static RigDecision Choose(ReadOnlySpan<PowerMode> modes, ReadOnlySpan<PoolQuote> pools, EnergyPrice energy, bool curtailed = false)
    {
        if (modes.IsEmpty || pools.IsEmpty)
        {
            return new RigDecision(-1, -1, default, Usd.Zero, DecisionReason.NoOptions);
        }

        var bestMode = 0;
        var bestPool = 0;
        RigEconomics best = default;
        var bestProfit = double.NegativeInfinity;
        var runnerUp = 0.0; // "off" is always an option, so the runner-up is never below zero profit.
        for (var m = 0; m < modes.Length; m++)
        {
            var mode = modes[m];
            for (var p = 0; p < pools.Length; p++)
            {
                var e = MiningCalculator.Evaluate(mode.Hashrate, mode.Power, pools[p], energy);
                var profit = e.RevenuePerDay.Amount - e.PowerCostPerDay.Amount;
                if (profit > bestProfit)
                {
                    if (bestProfit > runnerUp)
                    {
                        runnerUp = bestProfit;
                    }

                    bestProfit = profit;
                    best = e;
                    bestMode = m;
                    bestPool = p;
                }
                else if (profit > runnerUp)
                {
                    runnerUp = profit;
                }
            }
        }

        var reason = curtailed
            ? DecisionReason.DemandResponse
            : bestProfit > 0 ? DecisionReason.MostProfitable : DecisionReason.EveryOptionLosesMoney;
        return new RigDecision(bestMode, bestPool, best, new Usd(runnerUp), reason);
    }
}

/// <summary>Sums of many rigs' economics: per model or per farm.</summary>
public struct EconomicsTotals
{
    public int Rigs { get; private set; }
    public Hashrate Hashrate { get; private set; }
    public Power Power { get; private set; }
    public Coins CoinsPerDay { get; private set; }
    public Usd RevenuePerDay { get; private set; }
    public Usd PowerCostPerDay { get; private set; }

    public readonly Usd ProfitPerDay => RevenuePerDay - PowerCostPerDay;

    /// <summary>Shutdown price of the whole group: total cost ÷ total coins.</summary>
    public readonly CoinPrice ShutdownPrice => new(CoinsPerDay.Amount > 0 ? PowerCostPerDay.Amount / CoinsPerDay.Amount : double.PositiveInfinity);

    public void Add(in RigEconomics e)
    {
        Rigs++;
        Hashrate += e.Hashrate;
        Power += e.Power;
        CoinsPerDay += e.CoinsPerDay;
        RevenuePerDay += e.RevenuePerDay;
        PowerCostPerDay += e.PowerCostPerDay;
    }
}
