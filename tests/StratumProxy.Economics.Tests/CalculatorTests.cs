using CsCheck;
using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Tests;

public sealed class CalculatorTests
{
    // The worked example of docs/economics.md: BTC $60,000, difficulty 1.1e14, subsidy 3.125 + fees 0.02 BTC,
    // no pool fee, $0.08/kWh. Expected values computed by hand with exact fractions (see the doc):
    //   blocks/day per H/s = 86400 / (1.1e14 × 2^32) = 1.828780e-19
    private static readonly MarketSnapshot Market = new(
        Coin.Bitcoin, new CoinPrice(60_000), new Difficulty(1.1e14), new Coins(3.125), new Coins(0.02), DateTimeOffset.UnixEpoch);

    [Fact]
    public void Antminer_S21_at_the_worked_example()
    {
        var e = MiningCalculator.Evaluate(Hashrate.FromTerahashes(200), new Power(3500), Market, PoolTerms.NoFee, EnergyPrice.Flat(0.08));
        Assert.Equal(0.00011503019116, e.CoinsPerDay.Amount, 1e-14);
        Assert.Equal(6.901811469685, e.RevenuePerDay.Amount, 1e-9);
        Assert.Equal(84.0, e.EnergyPerDay.KilowattHours, 1e-12); // 3.5 kW × 24 h
        Assert.Equal(6.72, e.PowerCostPerDay.Amount, 1e-12); // 84 kWh × $0.08
        Assert.Equal(0.181811469685, e.ProfitPerDay.Amount, 1e-9);
        Assert.Equal(58_419.4456442, e.ShutdownPrice.UsdPerCoin, 1e-6); // 6.72 / 0.000115030…
        Assert.Equal(0.0821644222582, e.BreakevenEnergyPrice.Value, 1e-12); // 6.9018… / 84
        Assert.Equal(34.509057348425, e.HashpriceUsdPerPhDay, 1e-9);
        Assert.Equal(17.5, e.EfficiencyJoulesPerTerahash, 12);
        Assert.Equal(0.181811469685 / 6.901811469685, e.Margin, 1e-12);
    }

    [Fact]
    public void Antminer_S19j_Pro_loses_money_at_the_worked_example()
    {
        var e = MiningCalculator.Evaluate(Hashrate.FromTerahashes(100), new Power(2950), Market, PoolTerms.NoFee, EnergyPrice.Flat(0.08));
        Assert.Equal(-2.213094265158, e.ProfitPerDay.Amount, 1e-9);
        Assert.Equal(98_478.494086, e.ShutdownPrice.UsdPerCoin, 1e-5);
        Assert.Equal(0.0487416064243, e.BreakevenEnergyPrice.Value, 1e-12);
    }

    [Fact]
    public void Network_hashprice_and_implied_hashrate()
    {
        Assert.Equal(34.509057348425, MiningCalculator.HashpriceUsdPerPhDay(Market, PoolTerms.NoFee), 1e-9);
        // 1.1e14 × 2^32 / 600 s = 787.41 EH/s
        Assert.Equal(787.4106709333, Market.Difficulty.ImpliedNetworkHashrate(TimeSpan.FromMinutes(10)).Exahashes, 1e-9);
        Assert.Equal(1.1e14, Difficulty.FromNetworkHashrate(Hashrate.FromExahashes(787.4106709333333), TimeSpan.FromMinutes(10)).Value, 1.0);
    }

    [Fact]
    public void One_whole_network_earns_one_block_per_ten_minutes()
    {
        var network = Market.Difficulty.ImpliedNetworkHashrate(TimeSpan.FromMinutes(10));
        var coins = MiningCalculator.CoinsPerDay(network, Market, PoolTerms.NoFee);
        Assert.Equal(144 * 3.145, coins.Amount, 1e-9);
    }

    [Fact]
    public void Pool_fee_reject_rate_and_payout_scheme()
    {
        var h = Hashrate.FromPetahashes(1);
        var fpps = MiningCalculator.CoinsPerDay(h, Market, new PoolTerms("f", 2.5));
        var pps = MiningCalculator.CoinsPerDay(h, Market, new PoolTerms("p", 2.5, PayoutScheme.Pps));
        var pplns = MiningCalculator.CoinsPerDay(h, Market, new PoolTerms("l", 2.5, PayoutScheme.Pplns));
        var rejects = MiningCalculator.CoinsPerDay(h, Market, new PoolTerms("r", 2.5, PayoutScheme.Fpps, RejectRate: 0.01));
        var perBlock = 1e15 * 86_400 / (1.1e14 * 4_294_967_296.0);
        Assert.Equal(perBlock * 3.145 * 0.975, fpps.Amount, 1e-15);
        Assert.Equal(perBlock * 3.125 * 0.975, pps.Amount, 1e-15); // PPS keeps the fees
        Assert.Equal(fpps.Amount, pplns.Amount, 1e-18); // same expectation, more variance
        Assert.Equal(perBlock * 3.145 * 0.975 * 0.99, rejects.Amount, 1e-15);
    }

    [Fact]
    public void Pue_and_hosting_raise_the_cost_and_the_breakeven_is_an_energy_price()
    {
        var energy = new EnergyPrice(new UsdPerKwh(0.05), Pue: 1.2, Hosting: new UsdPerKwh(0.01));
        Assert.Equal(0.07, energy.AllIn.Value, 12);
        var e = MiningCalculator.Evaluate(Hashrate.FromTerahashes(200), new Power(3500), Market, PoolTerms.NoFee, energy);
        Assert.Equal(84 * 0.07, e.PowerCostPerDay.Amount, 1e-12);
        // revenue 6.901811… = 84 × (p × 1.2 + 0.01)  ⇒  p = (6.901811…/84 − 0.01) / 1.2
        Assert.Equal((0.0821644222582 - 0.01) / 1.2, e.BreakevenEnergyPrice.Value, 1e-12);
    }

    [Fact]
    public void A_rig_with_no_hashrate_has_no_shutdown_price()
    {
        var e = MiningCalculator.Evaluate(new Hashrate(0), new Power(100), Market, PoolTerms.NoFee, EnergyPrice.Flat(0.08));
        Assert.True(double.IsPositiveInfinity(e.ShutdownPrice.UsdPerCoin));
    }

    [Fact]
    public void Rig_overrides_and_live_measurements_replace_catalog_figures()
    {
        var model = new RigModel("X", "m", "air", [new PowerMode("normal", Hashrate.FromTerahashes(100), new Power(3000)), new PowerMode("eco", Hashrate.FromTerahashes(80), new Power(2000))], "s", "high");
        var rig = new Rig("r1", model, CurrentMode: "eco", ObservedHashrate: Hashrate.FromTerahashes(78), MeasuredPower: new Power(2050),
            ModeOverrides: [new PowerMode("normal", Hashrate.FromTerahashes(98), new Power(2950)), new PowerMode("turbo", Hashrate.FromTerahashes(110), new Power(3600))]);
        var modes = rig.EffectiveModes();
        Assert.Equal(3, modes.Length);
        Assert.Equal(new PowerMode("normal", Hashrate.FromTerahashes(98), new Power(2950)), modes[0]);
        Assert.Equal(new PowerMode("eco", Hashrate.FromTerahashes(78), new Power(2050)), modes[1]);
        Assert.Equal("turbo", modes[2].Name);
    }
}

public sealed class OptionChooserTests
{
    private static readonly MarketSnapshot Market = new(
        Coin.Bitcoin, new CoinPrice(60_000), new Difficulty(1.1e14), new Coins(3.125), new Coins(0.02), DateTimeOffset.UnixEpoch);

    private static readonly PowerMode[] Modes =
    [
        new("eco", Hashrate.FromTerahashes(160), new Power(2400)), // 15 J/TH
        new("normal", Hashrate.FromTerahashes(200), new Power(3500)), // 17.5 J/TH
        new("turbo", Hashrate.FromTerahashes(230), new Power(4600)), // 20 J/TH
    ];

    private static readonly PoolQuote[] Pools =
    [
        PoolQuote.Create(Market, new PoolTerms("pps-1%", 1, PayoutScheme.Pps)),
        PoolQuote.Create(Market, new PoolTerms("fpps-2.5%", 2.5)),
        PoolQuote.Create(Market, new PoolTerms("fpps-4%", 4)),
    ];

    [Fact]
    public void Picks_the_most_profitable_mode_and_pool_and_says_why()
    {
        // At $0.08/kWh the efficient eco mode wins; FPPS at 2.5 % pays 3.145 × 0.975 = 3.0664 > PPS 3.125 × 0.99 = 3.0938? No:
        // PPS pays more here (3.09375 vs 3.066375 BTC per block-equivalent), so PPS 1 % wins.
        var d = OptionChooser.Choose(Modes, Pools, EnergyPrice.Flat(0.06));
        Assert.Equal(DecisionReason.MostProfitable, d.Reason);
        Assert.Equal(0, d.ModeIndex);
        Assert.Equal(0, d.PoolIndex);
        var perHashDay = 86_400 / (1.1e14 * 4_294_967_296.0);
        var expected = (160e12 * perHashDay * 3.125 * 0.99 * 60_000) - (2.4 * 24 * 0.06);
        Assert.Equal(expected, d.Best.ProfitPerDay.Amount, 1e-9);
        Assert.True(d.Run);
        Assert.StartsWith("run eco on pps-1%", d.Describe(Modes, Pools), StringComparison.Ordinal);
    }

    [Fact]
    public void Switches_off_when_every_option_loses_money()
    {
        var d = OptionChooser.Choose(Modes, Pools, EnergyPrice.Flat(0.30));
        Assert.Equal(DecisionReason.EveryOptionLosesMoney, d.Reason);
        Assert.False(d.Run);
        Assert.Equal(Usd.Zero, d.DecidedProfitPerDay);
        Assert.True(d.Best.ProfitPerDay.Amount < 0);
        Assert.StartsWith("off: every option loses money", d.Describe(Modes, Pools), StringComparison.Ordinal);
    }

    [Fact]
    public void Demand_response_overrides_profit()
    {
        var d = OptionChooser.Choose(Modes, Pools, EnergyPrice.Flat(0.01), curtailed: true);
        Assert.Equal(DecisionReason.DemandResponse, d.Reason);
        Assert.False(d.Run);
    }

    [Fact]
    public void No_options_means_off()
    {
        Assert.Equal(DecisionReason.NoOptions, OptionChooser.Choose([], Pools, EnergyPrice.Flat(0.01)).Reason);
    }

    [Fact]
    public void Totals_add_up_and_give_a_group_shutdown_price()
    {
        var totals = default(EconomicsTotals);
        var a = MiningCalculator.Evaluate(Modes[0].Hashrate, Modes[0].Power, Pools[1], EnergyPrice.Flat(0.08));
        var b = MiningCalculator.Evaluate(Modes[2].Hashrate, Modes[2].Power, Pools[1], EnergyPrice.Flat(0.08));
        totals.Add(a);
        totals.Add(b);
        Assert.Equal(2, totals.Rigs);
        Assert.Equal(7000, totals.Power.Watts, 9);
        Assert.Equal(a.ProfitPerDay.Amount + b.ProfitPerDay.Amount, totals.ProfitPerDay.Amount, 1e-12);
        Assert.Equal((a.PowerCostPerDay.Amount + b.PowerCostPerDay.Amount) / (a.CoinsPerDay.Amount + b.CoinsPerDay.Amount), totals.ShutdownPrice.UsdPerCoin, 1e-6);
    }
}

public sealed class CalculatorPropertyTests
{
    private static readonly Gen<(double Th, double W, double Price, double Diff, double Reward, double Kwh, double Fee)> Inputs =
        Gen.Select(
            Gen.Double[1, 2000],
            Gen.Double[100, 12_000],
            Gen.Double[1_000, 500_000],
            Gen.Double[1e12, 1e16],
            Gen.Double[0.5, 7],
            Gen.Double[0.001, 0.5],
            Gen.Double[0, 5],
            (th, w, price, diff, reward, kwh, fee) => (th, w, price, diff, reward, kwh, fee));

    private static RigEconomics Eval(double th, double w, double price, double diff, double reward, double kwh, double fee) =>
        MiningCalculator.Evaluate(
            Hashrate.FromTerahashes(th),
            new Power(w),
            new MarketSnapshot(Coin.Bitcoin, new CoinPrice(price), new Difficulty(diff), new Coins(reward), Coins.Zero, DateTimeOffset.UnixEpoch),
            new PoolTerms("p", fee),
            EnergyPrice.Flat(kwh));

    [Fact]
    public void Profit_rises_with_price() =>
        Inputs.Select(Gen.Double[1.0001, 3]).Sample(x =>
        {
            var (i, k) = x;
            return Eval(i.Th, i.W, i.Price * k, i.Diff, i.Reward, i.Kwh, i.Fee).ProfitPerDay.Amount
                > Eval(i.Th, i.W, i.Price, i.Diff, i.Reward, i.Kwh, i.Fee).ProfitPerDay.Amount;
        });

    [Fact]
    public void Profit_falls_with_electricity_price() =>
        Inputs.Select(Gen.Double[1.0001, 3]).Sample(x =>
        {
            var (i, k) = x;
            return Eval(i.Th, i.W, i.Price, i.Diff, i.Reward, i.Kwh * k, i.Fee).ProfitPerDay.Amount
                < Eval(i.Th, i.W, i.Price, i.Diff, i.Reward, i.Kwh, i.Fee).ProfitPerDay.Amount;
        });

    [Fact]
    public void Profit_falls_with_difficulty() =>
        Inputs.Select(Gen.Double[1.0001, 3]).Sample(x =>
        {
            var (i, k) = x;
            return Eval(i.Th, i.W, i.Price, i.Diff * k, i.Reward, i.Kwh, i.Fee).RevenuePerDay.Amount
                < Eval(i.Th, i.W, i.Price, i.Diff, i.Reward, i.Kwh, i.Fee).RevenuePerDay.Amount;
        });

    [Fact]
    public void Shutdown_price_times_coins_per_day_is_the_cost() =>
        Inputs.Sample(i =>
        {
            var e = Eval(i.Th, i.W, i.Price, i.Diff, i.Reward, i.Kwh, i.Fee);
            return Math.Abs((e.ShutdownPrice.UsdPerCoin * e.CoinsPerDay.Amount) - e.PowerCostPerDay.Amount) <= 1e-9 * e.PowerCostPerDay.Amount;
        });

    [Fact]
    public void Profit_is_zero_at_the_shutdown_price_and_at_the_breakeven_electricity_price() =>
        Inputs.Sample(i =>
        {
            var e = Eval(i.Th, i.W, i.Price, i.Diff, i.Reward, i.Kwh, i.Fee);
            var atShutdown = Eval(i.Th, i.W, e.ShutdownPrice.UsdPerCoin, i.Diff, i.Reward, i.Kwh, i.Fee);
            var atBreakeven = Eval(i.Th, i.W, i.Price, i.Diff, i.Reward, e.BreakevenEnergyPrice.Value, i.Fee);
            return Math.Abs(atShutdown.ProfitPerDay.Amount) <= 1e-9 * atShutdown.PowerCostPerDay.Amount
                && Math.Abs(atBreakeven.ProfitPerDay.Amount) <= 1e-9 * atBreakeven.RevenuePerDay.Amount;
        });

    [Fact]
    public void Revenue_is_linear_in_hashrate_and_cost_linear_in_power() =>
        Inputs.Sample(i =>
        {
            var one = Eval(i.Th, i.W, i.Price, i.Diff, i.Reward, i.Kwh, i.Fee);
            var two = Eval(2 * i.Th, 2 * i.W, i.Price, i.Diff, i.Reward, i.Kwh, i.Fee);
            return Math.Abs(two.RevenuePerDay.Amount - (2 * one.RevenuePerDay.Amount)) <= 1e-9 * two.RevenuePerDay.Amount
                && Math.Abs(two.PowerCostPerDay.Amount - (2 * one.PowerCostPerDay.Amount)) <= 1e-9 * two.PowerCostPerDay.Amount
                && Math.Abs(two.ShutdownPrice.UsdPerCoin - one.ShutdownPrice.UsdPerCoin) <= 1e-9 * one.ShutdownPrice.UsdPerCoin;
        });

    [Fact]
    public void The_rig_is_profitable_exactly_when_price_exceeds_its_shutdown_price() =>
        Inputs.Sample(i =>
        {
            var e = Eval(i.Th, i.W, i.Price, i.Diff, i.Reward, i.Kwh, i.Fee);
            return (e.ProfitPerDay.Amount > 0) == (i.Price > e.ShutdownPrice.UsdPerCoin)
                || Math.Abs(i.Price - e.ShutdownPrice.UsdPerCoin) < 1e-9 * i.Price;
        });

    [Fact]
    public void The_chosen_option_is_never_worse_than_any_option() =>
        Gen.Select(Gen.Double[0.01, 0.2], Gen.Double[0, 5], Gen.Double[0, 5], Gen.Double[20_000, 200_000]).Sample((kwh, feeA, feeB, price) =>
        {
            var market = new MarketSnapshot(Coin.Bitcoin, new CoinPrice(price), new Difficulty(1.1e14), new Coins(3.125), new Coins(0.03), DateTimeOffset.UnixEpoch);
            PowerMode[] modes = [new("a", Hashrate.FromTerahashes(150), new Power(2200)), new("b", Hashrate.FromTerahashes(200), new Power(3500))];
            PoolQuote[] pools = [PoolQuote.Create(market, new PoolTerms("x", feeA)), PoolQuote.Create(market, new PoolTerms("y", feeB, PayoutScheme.Pps))];
            var d = OptionChooser.Choose(modes, pools, EnergyPrice.Flat(kwh));
            foreach (var m in modes)
            {
                foreach (var p in pools)
                {
                    if (MiningCalculator.Evaluate(m.Hashrate, m.Power, p, EnergyPrice.Flat(kwh)).ProfitPerDay.Amount > d.Best.ProfitPerDay.Amount)
                    {
                        return false;
                    }
                }
            }

            return d.Run == d.Best.ProfitPerDay.Amount > 0;
        });
}
