using StratumProxy.Economics.Market;
using StratumProxy.Economics.Policy;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Units;
using static StratumProxy.Economics.Tests.Policy.PolicyFixtures;

namespace StratumProxy.Economics.Tests.Policy;

public sealed class MultiCoinTests
{
    private static readonly PoolTerms[] BtcAndBch = [new("btc-pool", 0), new("bch-pool", 0)];

    [Fact]
    public void A_pool_of_another_sha256_coin_is_priced_by_its_own_market_and_left_alone_when_that_is_stale()
    {
        // Efficient: 200 TH/s earns $6.00 a day on BTC at $96 000 (PolicyFixtures). On BCH with 1/100 of the
        // difficulty and a $1 200 price the same hashes earn 100 × 3.125e-7 × 200 × 1 200 = $7.50 a day.
        var policy = new CurtailmentPolicy(Frictionless, [Efficient]);
        var bch = new MarketSnapshot(Coin.BitcoinCash, new CoinPrice(1_200), new Difficulty(RoundDifficulty.Value / 100), new Coins(3.125), Coins.Zero, T0);
        var inputs = Inputs(T0, 96_000, 0.03, BtcAndBch) with { PoolMarkets = [null, bch] };
        var result = policy.Evaluate([On(0)], inputs);
        Assert.Equal(RigOption.Run(1, 0), result.Decisions[0].Chosen);
        Assert.Equal(ChangeKind.PoolSwitch, result.Decisions[0].Kind);
        Assert.Equal(7.50 - 2.16, result.ProfitOf(0, RigOption.Run(1, 0)), 9);
        Assert.Equal(6.00 - 2.16, result.ProfitOf(0, RigOption.Run(0, 0)), 9);

        var stale = policy.Evaluate([On(0)], inputs with { PoolMarkets = [null, bch with { PriceIsStale = true }] });
        Assert.Equal(RigOption.Run(0, 0), stale.Decisions[0].Chosen);
        Assert.True(double.IsNaN(stale.ProfitOf(0, RigOption.Run(1, 0))));
    }

    [Fact]
    public void Rising_fees_can_only_make_running_look_better()
    {
        // Subsidy 3.125 and average fees 0.125: a block pays 3.25. Near-term fees of 0.375 make it 3.5 (× 1.0769…).
        var market = MarketAt(96_000, T0) with { FeesPerBlock = new Coins(0.125) };
        Assert.Equal(3.5 / 3.25, CurtailmentPolicy.FeeTrendFactor(market, new Coins(0.375)), 12);
        Assert.Equal(1.0, CurtailmentPolicy.FeeTrendFactor(market, new Coins(0.05)));
        Assert.Equal(1.0, CurtailmentPolicy.FeeTrendFactor(market, null));
        Assert.Equal(2.0, CurtailmentPolicy.FeeTrendFactor(market, new Coins(50)));

        // Oldest earns $3.00 a day on BTC at $96 000 without fees and costs $3.60 at $0.05/kWh: it sleeps. With
        // the same 3.125 BTC reward but templates paying 1 BTC in fees now, the near term pays 4.125/3.125 × $3.00
        // = $3.96: it keeps running.
        var policy = new CurtailmentPolicy(Frictionless, [Oldest]);
        Assert.Equal(RigOption.Off, policy.Evaluate([On(0)], Inputs(T0, 96_000, 0.05)).Decisions[0].Chosen);
        var rising = policy.Evaluate([On(0)], Inputs(T0, 96_000, 0.05) with { NearTermFeesPerBlock = new Coins(1) });
        Assert.Equal(RigOption.Run(0, 0), rising.Decisions[0].Chosen);
        Assert.Equal(3.96 - 3.60, rising.Decisions[0].ChosenProfitPerDay, 9);
    }
}
