using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Market;

/// <summary>
/// A SHA-256 proof-of-work coin: what the engine needs to turn hashes into coins. Bitcoin's parameters are the
/// default; BCH shares the subsidy schedule and block spacing (its per-block difficulty algorithm only changes how
/// difficulty moves, not what a hash earns at a given difficulty).
/// </summary>
public sealed record Coin(
    string Symbol,
    long InitialSubsidySatoshis,
    int HalvingInterval,
    TimeSpan TargetSpacing,
    int RetargetInterval)
{
    public static readonly Coin Bitcoin = new("BTC", 50 * Coins.SatoshisPerCoin, 210_000, TimeSpan.FromMinutes(10), 2016);
    public static readonly Coin BitcoinCash = new("BCH", 50 * Coins.SatoshisPerCoin, 210_000, TimeSpan.FromMinutes(10), 1);

    /// <summary>
    /// The block subsidy at <paramref name="height"/> in satoshis, exactly as consensus computes it
    /// (Bitcoin Core GetBlockSubsidy): the initial subsidy shifted right once per halving, zero after 64 halvings.
    /// </summary>
    public long SubsidySatoshisAt(long height)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        var halvings = height / HalvingInterval;
        return halvings >= 64 ? 0 : InitialSubsidySatoshis >> (int)halvings;
    }

    public Coins SubsidyAt(long height) => Coins.FromSatoshis(SubsidySatoshisAt(height));

    /// <summary>The first height of the next halving epoch after <paramref name="height"/>.</summary>
    public long NextHalvingHeight(long height) => (height / HalvingInterval + 1) * HalvingInterval;
}

/// <summary>
/// A point estimate of the chain tip from a known block and the target spacing: used when the operator gives no
/// height, so the CLI can pick the subsidy of the current halving epoch without any network access.
/// </summary>
public static class HeightEstimate
{
    /// <summary>Bitcoin block 881423 (hash 0000…9aa96cdd), header time 2025-01-30T00:01:45Z: the mainnet vector in tests/vectors.</summary>
    public const long AnchorHeight = 881_423;

    public static readonly DateTimeOffset AnchorTime = DateTimeOffset.FromUnixTimeSeconds(0x679ac169);

    /// <summary>Anchor height plus the elapsed time divided by the target spacing (never below the anchor).</summary>
    public static long BitcoinHeightAt(DateTimeOffset at)
    {
        var elapsed = at - AnchorTime;
        if (elapsed <= TimeSpan.Zero)
        {
            return AnchorHeight;
        }

        return AnchorHeight + (long)(elapsed.TotalSeconds / Coin.Bitcoin.TargetSpacing.TotalSeconds);
    }
}
