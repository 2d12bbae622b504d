using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Market;

/// <summary>
/// Everything about the coin's market that the calculators need, frozen at one instant.
/// </summary>
/// <param name="Coin">The coin mined.</param>
/// <param name="Price">Price of one coin in USD.</param>
/// <param name="Difficulty">Network difficulty the revenue is computed at.</param>
/// <param name="Subsidy">Block subsidy, coins per block.</param>
/// <param name="FeesPerBlock">Average transaction fees per block, coins.</param>
/// <param name="AsOf">When these inputs were true.</param>
/// <param name="PriceIsStale">The price came from a feed that stopped updating.</param>
public sealed record MarketSnapshot(
    Coin Coin,
    CoinPrice Price,
    Difficulty Difficulty,
    Coins Subsidy,
    Coins FeesPerBlock,
    DateTimeOffset AsOf,
    bool PriceIsStale = false)
{
    /// <summary>Subsidy + fees: what one block pays its finder.</summary>
    public Coins BlockReward => Subsidy + FeesPerBlock;

    /// <summary>Returns the validation errors of this snapshot (empty when usable).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(Price.UsdPerCoin >= 0) || double.IsInfinity(Price.UsdPerCoin))
        {
            errors.Add("price must be a finite number ≥ 0");
        }

        if (!(Difficulty.Value > 0) || double.IsInfinity(Difficulty.Value))
        {
            errors.Add("difficulty must be a finite number > 0");
        }

        if (!(Subsidy.Amount >= 0) || !(FeesPerBlock.Amount >= 0))
        {
            errors.Add("subsidy and fees must be ≥ 0");
        }

        return errors;
    }
}
