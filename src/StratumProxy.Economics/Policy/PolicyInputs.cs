using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Tariffs;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Policy;

/// <summary>Everything outside the farm that one evaluation depends on. Time is an input: the policy reads no clock.</summary>
/// <param name="Now">The evaluation instant (the caller's <see cref="TimeProvider"/>).</param>
/// <param name="Market">Price, difficulty, subsidy and fees; null when there is none.</param>
/// <param name="Pools">The pools, in the index order of <see cref="RigOption.Pool"/> and <see cref="RigState.PoolMask"/> (at most 64).</param>
/// <param name="Energy">What a kWh costs now (tariff × PUE + hosting): <see cref="EnergyCostModel.PriceAt"/>.</param>
public sealed record PolicyInputs(DateTimeOffset Now, MarketSnapshot? Market, IReadOnlyList<PoolTerms> Pools, EnergyPrice Energy)
{
    /// <summary>The demand-response window from <see cref="EnergyCostModel.CurtailmentAt"/>; it applies when it contains <see cref="Now"/>.</summary>
    public DemandResponseWindow? DemandResponse { get; init; }

    /// <summary>The projected difficulty at the next retarget, when known.</summary>
    public DifficultyOutlook? Outlook { get; init; }

    /// <summary>
    /// Fees in the newest block templates (the fee trend): when they are above the market's average, the near term
    /// pays more and a rig may wake earlier; lower fees never make a rig sleep on their own. Null: not used.
    /// </summary>
    public Coins? NearTermFeesPerBlock { get; init; }

    /// <summary>
    /// Per-pool markets, for pools that mine another SHA-256 coin (BCH, …): entry <c>p</c> prices pool <c>p</c>;
    /// null (or a null entry) means <see cref="Market"/>. A pool whose own market is stale is not chosen.
    /// </summary>
    public IReadOnlyList<MarketSnapshot?>? PoolMarkets { get; init; }

    /// <summary>Strike-price mode only: the watch returned by the previous evaluation.</summary>
    public StrikeWatch Strike { get; init; }

    /// <summary>Builds the inputs at <paramref name="now"/> from an energy cost model (price and demand response).</summary>
    public static PolicyInputs At(DateTimeOffset now, MarketSnapshot? market, IReadOnlyList<PoolTerms> pools, EnergyCostModel energy)
    {
        ArgumentNullException.ThrowIfNull(energy);
        return new PolicyInputs(now, market, pools, energy.PriceAt(now)) { DemandResponse = energy.CurtailmentAt(now) };
    }
}
