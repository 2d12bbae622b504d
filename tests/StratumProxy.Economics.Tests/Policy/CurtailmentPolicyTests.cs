using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Policy;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Tariffs;
using StratumProxy.Economics.Units;
using static StratumProxy.Economics.Tests.Policy.PolicyFixtures;

namespace StratumProxy.Economics.Tests.Policy;

public sealed class CurtailmentPolicyTests
{
    private const double Cents = 1e-9;

    [Fact]
    public void Rig_below_its_shutdown_price_sleeps_and_profitable_rig_keeps_running()
    {
        // $0.05/kWh: 72 kWh cost $3.60. Efficient earns $6.00 (+2.40); oldest earns $3.00 (−0.60): its shutdown
        // price is 3.60 / (100 × 3.125e-7) = $115 200 > $96 000.
        var policy = new CurtailmentPolicy(new CurtailmentOptions { PowerCycleCostUsd = 0 }, [Efficient, Oldest]);
        RigState[] rigs = [On(0), On(1)];
        var result = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.05));

        var eff = result.Decisions[0];
        Assert.Equal(RigOption.Run(0, 0), eff.Chosen);
        Assert.Equal(CurtailmentReason.MostProfitable, eff.Reason);
        Assert.False(eff.IsChange);
        Assert.Equal(2.40, eff.ChosenProfitPerDay, Cents);

        var old = result.Decisions[1];
        Assert.Equal(RigOption.Off, old.Chosen);
        Assert.Equal(CurtailmentReason.EveryOptionLosesMoney, old.Reason);
        Assert.Equal(ChangeKind.Sleep, old.Kind);
        Assert.Equal(-0.60, old.CurrentProfitPerDay, Cents);
        Assert.Equal([0.0, -0.60], result.OptionProfits(1).ToArray().Select(p => Math.Round(p, 9)));
        Assert.Equal("every_option_loses_money", old.Reason.Code());
        Assert.StartsWith("sleep: every running option loses money", result.Describe(1), StringComparison.Ordinal);
        Assert.Equal(3.0, result.PlannedPower.Kilowatts, Cents);
    }

    [Fact]
    public void Change_cap_sleeps_the_worst_joules_per_terahash_first()
    {
        // $0.07/kWh: cost $5.04. Earnings: 15 J/TH $6.00, 20 J/TH $4.50, 25 J/TH $3.60, 30 J/TH $3.00: three lose.
        var policy = new CurtailmentPolicy(new CurtailmentOptions { PowerCycleCostUsd = 0, MaxPowerChangesPerEvaluation = 2 }, [Efficient, Middle, Older, Oldest]);
        RigState[] rigs = [On(1), On(2), On(0), On(3)];
        var result = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.07));

        Assert.Equal(CurtailmentReason.ChangeCap, result.Decisions[0].Reason); // 20 J/TH waits
        Assert.Equal(RigOption.Run(0, 0), result.Decisions[0].Chosen);
        Assert.Equal(RigOption.Off, result.Decisions[0].Alternative);
        Assert.Equal(ChangeKind.Sleep, result.Decisions[1].Kind); // 25 J/TH
        Assert.Equal(CurtailmentReason.MostProfitable, result.Decisions[2].Reason);
        Assert.Equal(ChangeKind.Sleep, result.Decisions[3].Kind); // 30 J/TH
        Assert.Equal(2, result.Sleeps);
        Assert.Equal("deferred normal on no-fee → off: this evaluation reached its cap of 2 sleeps and wakes", result.Describe(0));
        Assert.Equal("keep normal on no-fee: the most profitable option, $0.96/day", result.Describe(2));
    }

    [Fact]
    public void Change_cap_wakes_the_best_joules_per_terahash_first_and_priority_group_comes_before_efficiency()
    {
        var policy = new CurtailmentPolicy(new CurtailmentOptions { MaxPowerChangesPerEvaluation = 2 }, [Efficient, Middle, Oldest]);
        RigState[] rigs = [Off(2), Off(1), Off(0), Off(2) with { PriorityGroup = -1 }];
        var result = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.02)); // every rig profitable at 2 ¢

        Assert.Equal(CurtailmentReason.ChangeCap, result.Decisions[0].Reason);
        Assert.Equal(CurtailmentReason.ChangeCap, result.Decisions[1].Reason); // 20 J/TH loses to the priority rig
        Assert.Equal(ChangeKind.Wake, result.Decisions[2].Kind); // 15 J/TH
        Assert.Equal(ChangeKind.Wake, result.Decisions[3].Kind); // 30 J/TH but group −1
    }

    [Fact]
    public void Hysteresis_keeps_a_rig_from_flapping_around_breakeven()
    {
        // Oldest breaks even at 3.00 / 72 = $0.041667/kWh. At 4.24 ¢ it loses $0.0528/day, at 4.10 ¢ it makes $0.048/day.
        // A model that wakes and switches instantly, so only the margin and the cycle cost can hold it.
        var instant = Model("oldest-instant", 100, 3000, new RigTransitions(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero));
        int Flips(CurtailmentOptions options)
        {
            var policy = new CurtailmentPolicy(options, [instant]);
            RigState[] rigs = [On(0)];
            var flips = 0;
            for (var i = 0; i < 12; i++)
            {
                var now = T0.AddMinutes(5 * i);
                var result = policy.Evaluate(rigs, Inputs(now, 96_000, i % 2 == 0 ? 0.0424 : 0.0410));
                flips += result.Changes;
                result.ApplyTo(rigs);
            }

            return flips;
        }

        // Default margin $0.10/day and cycle cost: the loss never justifies a sleep.
        Assert.Equal(0, Flips(new CurtailmentOptions { MinOnDwell = TimeSpan.Zero, MinOffDwell = TimeSpan.Zero }));

        // Without hysteresis or change costs the same prices flip it at every evaluation.
        Assert.Equal(12, Flips(Frictionless));
    }

    [Fact]
    public void Hysteresis_reason_names_the_option_that_was_not_worth_it()
    {
        // Off, 4.10 ¢: running makes $0.048/day, but the 5-minute wake loses 3.00 × 300/86400 = $0.0104 of revenue,
        // which over a 1-hour cycle horizon (the worked example of docs/curtailment.md) is $0.25/day: −$0.202/day,
        // not above the $0.10 margin.
        var policy = new CurtailmentPolicy(new CurtailmentOptions { CycleHorizon = TimeSpan.FromHours(1) }, [Oldest]);
        RigState[] rigs = [Off(0)];
        var result = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.0410));
        var d = result.Decisions[0];
        Assert.Equal(CurtailmentReason.Hysteresis, d.Reason);
        Assert.Equal(RigOption.Off, d.Chosen);
        Assert.Equal(RigOption.Run(0, 0), d.Alternative);
        Assert.Equal(0.048 - 0.25, d.GainPerDay, Cents);
        Assert.StartsWith("keep off: normal on no-fee gains -$0.20/day after change costs, not more than the margin", result.Describe(0), StringComparison.Ordinal);
    }

    [Fact]
    public void Power_cycle_is_judged_over_the_cycle_horizon_not_the_first_hour()
    {
        // Oldest at 5 ¢ loses $0.60/day. Over a day the $0.10 cycle is $0.10/day: sleeping gains 0.50 > the margin.
        // Judged over one hour ($2.40/day) it would run at a loss until the price rose by 3 ¢ more.
        var policy = new CurtailmentPolicy(new CurtailmentOptions(), [Oldest]);
        Assert.Equal(TimeSpan.FromHours(24), policy.Options.CycleHorizon);
        RigState[] rigs = [On(0)];
        var sleep = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.05)).Decisions[0];
        Assert.Equal(ChangeKind.Sleep, sleep.Kind);
        Assert.Equal(CurtailmentReason.EveryOptionLosesMoney, sleep.Reason);
        Assert.Equal(-0.10 + 0.60, sleep.GainPerDay, Cents);

        var firstHour = new CurtailmentPolicy(new CurtailmentOptions { CycleHorizon = TimeSpan.FromHours(1) }, [Oldest]);
        Assert.Equal(CurtailmentReason.Hysteresis, firstHour.Evaluate(rigs, Inputs(T0, 96_000, 0.05)).Decisions[0].Reason);

        // Waking pays for its 5 minutes without hashing ($0.0104) over the day too: at 3.9 ¢ it makes $0.192/day,
        // 0.192 − 0.0104 > $0.10, it wakes; at 4.10 ¢ ($0.048/day) it stays off.
        RigState[] off = [Off(0)];
        Assert.Equal(ChangeKind.Wake, policy.Evaluate(off, Inputs(T0, 96_000, 0.039)).Decisions[0].Kind);
        var keep = policy.Evaluate(off, Inputs(T0, 96_000, 0.041)).Decisions[0];
        Assert.Equal(CurtailmentReason.Hysteresis, keep.Reason);
        Assert.Equal(0.048 - (3.0 * 300 / 86_400), keep.GainPerDay, Cents);

        // Pool switches and mode changes keep the one-hour payback horizon.
        Assert.Equal(TimeSpan.FromHours(1), policy.Options.PaybackHorizon);
        Assert.Contains("cycle_horizon", Assert.Throws<ArgumentException>(
            () => new CurtailmentPolicy(new CurtailmentOptions { CycleHorizon = TimeSpan.Zero }, [Oldest])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dwell_times_hold_a_rig_until_they_have_passed()
    {
        var options = new CurtailmentOptions { MinOnDwell = TimeSpan.FromMinutes(15), MinOffDwell = TimeSpan.FromMinutes(20), PowerCycleCostUsd = 0 };
        var policy = new CurtailmentPolicy(options, [Efficient]);
        RigState[] rigs = [On(0, since: T0)]; // just woke

        var early = policy.Evaluate(rigs, Inputs(T0.AddMinutes(10), 96_000, 0.20)); // losing 6 − 14.40
        Assert.Equal(CurtailmentReason.MinOnDwell, early.Decisions[0].Reason);
        Assert.False(early.Decisions[0].IsChange);
        Assert.Equal(RigOption.Off, early.Decisions[0].Alternative);

        var due = policy.Evaluate(rigs, Inputs(T0.AddMinutes(15), 96_000, 0.20));
        Assert.Equal(ChangeKind.Sleep, due.Decisions[0].Kind);
        due.ApplyTo(rigs);
        Assert.Equal(T0.AddMinutes(15), rigs[0].LastPowerChange);

        var cheap = policy.Evaluate(rigs, Inputs(T0.AddMinutes(30), 96_000, 0.02));
        Assert.Equal(CurtailmentReason.MinOffDwell, cheap.Decisions[0].Reason);
        Assert.Equal(RigOption.Off, cheap.Decisions[0].Chosen);

        var wake = policy.Evaluate(rigs, Inputs(T0.AddMinutes(35), 96_000, 0.02));
        Assert.Equal(ChangeKind.Wake, wake.Decisions[0].Kind);
        Assert.Equal(CurtailmentReason.MostProfitable, wake.Decisions[0].Reason);
    }

    [Fact]
    public void Pins_override_economics_dwell_and_the_change_cap()
    {
        var options = new CurtailmentOptions { MaxPowerChangesPerEvaluation = 1, MinOffDwell = TimeSpan.FromHours(1) };
        var policy = new CurtailmentPolicy(options, [Efficient, Oldest]);
        RigState[] rigs =
        [
            On(0) with { Pin = RigPin.AlwaysOff }, // profitable, pinned off
            Off(1, since: T0) with { Pin = RigPin.AlwaysOn }, // losing, just slept, pinned on
            Off(1, since: T0) with { Pin = RigPin.AlwaysOn },
        ];
        var result = policy.Evaluate(rigs, Inputs(T0.AddMinutes(1), 96_000, 0.05));

        Assert.Equal(RigOption.Off, result.Decisions[0].Chosen);
        Assert.Equal(CurtailmentReason.PinnedOff, result.Decisions[0].Reason);
        Assert.Equal(RigOption.Run(0, 0), result.Decisions[1].Chosen);
        Assert.Equal(CurtailmentReason.PinnedOn, result.Decisions[1].Reason);
        Assert.Equal(RigOption.Run(0, 0), result.Decisions[2].Chosen);
        Assert.Equal(3, result.Changes);
    }

    [Fact]
    public void Power_cap_sheds_the_worst_joules_per_terahash_and_refuses_wakes_without_headroom()
    {
        // Three 3 kW rigs running, one off; cap 7 kW: one running rig must go and the sleeping one may not wake.
        var options = new CurtailmentOptions { PowerCapKw = 7 };
        var policy = new CurtailmentPolicy(options, [Efficient, Middle, Oldest]);
        RigState[] rigs = [On(1), On(2), On(0), Off(0), On(2) with { Pin = RigPin.AlwaysOn }];
        var result = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.02));

        // Pinned 30 J/TH stays (3 kW); the unpinned 30 J/TH is shed; 15 + 20 J/TH would make 9 kW: 20 J/TH goes too.
        Assert.Equal(CurtailmentReason.PowerCapShed, result.Decisions[1].Reason);
        Assert.Equal(RigOption.Off, result.Decisions[1].Chosen);
        Assert.Equal(CurtailmentReason.PowerCapShed, result.Decisions[0].Reason);
        Assert.Equal(CurtailmentReason.MostProfitable, result.Decisions[2].Reason);
        Assert.Equal(CurtailmentReason.PowerCapHeadroom, result.Decisions[3].Reason);
        Assert.Equal(RigOption.Off, result.Decisions[3].Chosen);
        Assert.Equal(CurtailmentReason.PinnedOn, result.Decisions[4].Reason);
        Assert.Equal(6.0, result.PlannedPower.Kilowatts, Cents);
        Assert.StartsWith("sleep: shed to keep the farm under its power cap of 7 kW", result.Describe(1), StringComparison.Ordinal);
        Assert.StartsWith("stay off: waking to normal on no-fee would take the farm over", result.Describe(3), StringComparison.Ordinal);
    }

    [Fact]
    public void Stale_or_missing_market_data_falls_back_to_run_with_a_reason()
    {
        var policy = new CurtailmentPolicy(new CurtailmentOptions(), [Oldest]);
        RigState[] rigs = [Off(0), On(0)];
        var now = T0;

        var old = new PolicyInputs(now, MarketAt(96_000, now.AddHours(-2)), OnePool, EnergyPrice.Flat(0.30));
        var stale = policy.Evaluate(rigs, old);
        Assert.Equal(MarketCondition.Stale, stale.Market);
        Assert.Equal(ChangeKind.Wake, stale.Decisions[0].Kind);
        Assert.Equal(CurtailmentReason.MarketStale, stale.Decisions[0].Reason);
        Assert.Equal(CurtailmentReason.MarketStale, stale.Decisions[1].Reason);
        Assert.False(stale.Decisions[1].IsChange);
        Assert.True(double.IsNaN(stale.Decisions[1].ChosenProfitPerDay));
        Assert.Contains("market data stale", stale.Describe(0), StringComparison.Ordinal);

        var flagged = policy.Evaluate(rigs, old with { Market = MarketAt(96_000, now) with { PriceIsStale = true } });
        Assert.Equal(CurtailmentReason.MarketStale, flagged.Decisions[0].Reason);

        var missing = policy.Evaluate(rigs, old with { Market = null });
        Assert.Equal(MarketCondition.Missing, missing.Market);
        Assert.Equal(CurtailmentReason.MarketMissing, missing.Decisions[0].Reason);
        Assert.Equal(ChangeKind.Wake, missing.Decisions[0].Kind);

        var hold = new CurtailmentPolicy(new CurtailmentOptions { StaleMarket = StaleMarketAction.Hold }, [Oldest]).Evaluate(rigs, old);
        Assert.Equal(RigOption.Off, hold.Decisions[0].Chosen);
        Assert.Equal(CurtailmentReason.MarketStale, hold.Decisions[0].Reason);

        // The same inputs with fresh data sleep the running rig: the fallback really came from staleness.
        var fresh = policy.Evaluate(rigs, old with { Market = MarketAt(96_000, now) });
        Assert.Equal(ChangeKind.Sleep, fresh.Decisions[1].Kind);
    }

    [Fact]
    public void Demand_response_window_idles_every_unpinned_rig_even_within_its_dwell()
    {
        var window = new DemandResponseWindow(T0, T0.AddHours(2), "utility event");
        var energy = new EnergyCostModel(new FlatTariff(new UsdPerKwh(0.02)), DemandResponse: [window]);
        var policy = new CurtailmentPolicy(new CurtailmentOptions { MaxPowerChangesPerEvaluation = 1 }, [Efficient]);
        RigState[] rigs = [On(0, since: T0.AddMinutes(-1)), On(0), On(0) with { Pin = RigPin.AlwaysOn }];

        var during = policy.Evaluate(rigs, PolicyInputs.At(T0.AddMinutes(30), MarketAt(96_000, T0.AddMinutes(30)), OnePool, energy));
        Assert.Equal(CurtailmentReason.DemandResponse, during.Decisions[0].Reason);
        Assert.Equal(RigOption.Off, during.Decisions[0].Chosen);
        Assert.Equal(RigOption.Off, during.Decisions[1].Chosen);
        Assert.Equal(CurtailmentReason.PinnedOn, during.Decisions[2].Reason);
        Assert.Contains("utility event", during.Describe(0), StringComparison.Ordinal);

        var after = policy.Evaluate(rigs, PolicyInputs.At(T0.AddHours(2), MarketAt(96_000, T0.AddHours(2)), OnePool, energy));
        Assert.Equal(CurtailmentReason.MostProfitable, after.Decisions[0].Reason);
    }

    [Fact]
    public void Best_profit_across_pools_and_power_modes_and_idle_only_when_all_lose()
    {
        // Modes: normal 200 TH/s at 3000 W, eco 150 TH/s at 1800 W (12 J/TH). At 10 ¢: normal 6.00 − 7.20 = −1.20,
        // eco 4.50 − 4.32 = +0.18 on the no-fee pool; on a 4 % pool eco makes 4.32 − 4.32 = 0.
        var model = new PolicyModel("two-mode", [
            new PowerMode("normal", Hashrate.FromTerahashes(200), new Power(3000)),
            new PowerMode("eco", Hashrate.FromTerahashes(150), new Power(1800)),
        ], RigTransitions.Default);
        PoolTerms[] pools = [new("fee-4", 4), NoFee];
        var policy = new CurtailmentPolicy(new CurtailmentOptions(), [model]);
        RigState[] rigs = [On(0, pool: 0, mode: 0)];
        var result = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.10, pools));

        var d = result.Decisions[0];
        Assert.Equal(RigOption.Run(1, 1), d.Chosen);
        Assert.Equal(ChangeKind.ModeChange, d.Kind);
        Assert.Equal(CurtailmentReason.MostProfitable, d.Reason);
        Assert.Equal(0.18, d.ChosenProfitPerDay, Cents);
        var profits = result.OptionProfits(0);
        Assert.Equal(5, profits.Length); // off + 2 pools × 2 modes
        Assert.Equal(0, profits[0]);
        Assert.Equal((6.00 * 0.96) - 7.20, profits[1], Cents);
        Assert.Equal(0.0, profits[2], Cents);
        Assert.Equal(-1.20, profits[3], Cents);
        Assert.Equal(0.18, profits[4], Cents);
        Assert.Equal(RigOption.Run(1, 1), result.OptionAt(4));
    }

    [Fact]
    public void Pool_switch_needs_a_gain_above_the_margin()
    {
        // At 5 ¢ a 200 TH/s rig makes 6.00 − 3.60 = 2.40 on the no-fee pool. On a 1 % pool it makes 2.34: a switch
        // gains 0.06 (less the 2 s of lost hashing), under the $0.117 margin (the larger of 5 % of 2.34 and $0.10): it stays.
        // On a 4 % pool it makes 2.16: the switch gains ≈ 0.24 > 0.108: it moves.
        var policy = new CurtailmentPolicy(new CurtailmentOptions(), [Efficient]);
        RigState[] rigs = [On(0, pool: 0), On(0, pool: 1)];
        PoolTerms[] pools = [new("fee-1", 1), new("fee-4", 4), NoFee];
        var result = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.05, pools));

        Assert.Equal(CurtailmentReason.Hysteresis, result.Decisions[0].Reason);
        Assert.Equal(RigOption.Run(2, 0), result.Decisions[0].Alternative);
        Assert.Equal(ChangeKind.PoolSwitch, result.Decisions[1].Kind);
        Assert.Equal(RigOption.Run(2, 0), result.Decisions[1].Chosen);
        Assert.Equal(0.24 - (6.00 * 2 / 86_400 * 24), result.Decisions[1].GainPerDay, Cents);
    }

    [Fact]
    public void Pool_mask_limits_a_rig_to_its_pools_and_no_pool_means_off()
    {
        var policy = new CurtailmentPolicy(new CurtailmentOptions(), [Efficient]);
        PoolTerms[] pools = [NoFee, new("fee-4", 4)];
        RigState[] rigs = [On(0, pool: 1) with { PoolMask = 0b10 }, On(0) with { PoolMask = 0b100 }];
        var result = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.05, pools));
        Assert.False(result.Decisions[0].IsChange);
        Assert.True(double.IsNaN(result.OptionProfits(0)[1]));
        Assert.Equal(RigOption.Off, result.Decisions[1].Chosen);
        Assert.Equal(CurtailmentReason.NoOptions, result.Decisions[1].Reason);
    }

    [Fact]
    public void Expected_difficulty_drop_wakes_a_rig_ahead_of_the_retarget()
    {
        // Oldest at 4 ¢: 3.00 − 2.88 = 0.12/day, minus the wake (3.00 × 300/86400 over 1 h = 0.25/day): −0.13, stays off.
        // A 10 % drop 1 h ahead with a 6 h look-ahead weights revenue by 1/6 + 5/6 × 1/0.9 = 1.09259…:
        // 3.2778 − 2.88 − 0.2731 = +0.1247/day > $0.10: it wakes, and says why. (The worked example's 1-hour cycle horizon.)
        var policy = new CurtailmentPolicy(new CurtailmentOptions { CycleHorizon = TimeSpan.FromHours(1) }, [Oldest]);
        RigState[] rigs = [Off(0)];
        var plain = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.04));
        Assert.Equal(CurtailmentReason.Hysteresis, plain.Decisions[0].Reason);

        var outlook = new DifficultyOutlook(RoundDifficulty, new Difficulty(RoundDifficulty.Value * 0.9), 1_000_000, T0.AddHours(1));
        var ahead = policy.Evaluate(rigs, Inputs(T0, 96_000, 0.04) with { Outlook = outlook });
        var factor = (1.0 / 6) + (5.0 / 6 / 0.9);
        Assert.Equal(factor, ahead.RevenueFactor, 1e-12);
        Assert.Equal(ChangeKind.Wake, ahead.Decisions[0].Kind);
        Assert.Equal(CurtailmentReason.DifficultyDropAhead, ahead.Decisions[0].Reason);
        Assert.Equal((3.0 * factor) - 2.88, ahead.Decisions[0].ChosenProfitPerDay, Cents);

        // A projected rise is ignored: nothing sleeps on a forecast.
        var rise = outlook with { Projected = new Difficulty(RoundDifficulty.Value * 1.1) };
        Assert.Equal(1.0, policy.Evaluate(rigs, Inputs(T0, 96_000, 0.04) with { Outlook = rise }).RevenueFactor);
    }

    [Fact]
    public void Reason_codes_are_distinct_snake_case()
    {
        var codes = Enum.GetValues<CurtailmentReason>().Select(r => r.Code()).ToList();
        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.All(codes, c => Assert.Matches("^[a-z_]+$", c));
        Assert.DoesNotContain("unknown", codes);
    }

    [Fact]
    public void Invalid_options_are_refused_with_every_error()
    {
        var e = Assert.Throws<ArgumentException>(() => new CurtailmentPolicy(
            new CurtailmentOptions { MarginUsdPerDay = -1, MaxPowerChangesPerEvaluation = 0, Strike = new StrikePriceOptions(50, TimeSpan.Zero, 60, TimeSpan.Zero) },
            [Efficient]));
        Assert.Contains("margin_usd_per_day", e.Message, StringComparison.Ordinal);
        Assert.Contains("max_power_changes_per_evaluation", e.Message, StringComparison.Ordinal);
        Assert.Contains("wake strike", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reused_result_evaluates_a_large_farm_without_allocating()
    {
        var policy = new CurtailmentPolicy(new CurtailmentOptions { MaxPowerChangesPerEvaluation = 100, PowerCapKw = 250_000 }, [Efficient, Middle, Older, Oldest]);
        var rigs = new RigState[100_000];
        for (var i = 0; i < rigs.Length; i++)
        {
            rigs[i] = i % 3 == 0 ? Off(i % 4) : On(i % 4);
        }

        var result = new PolicyResult();
        var inputs = Inputs(T0, 96_000, 0.045);
        policy.Evaluate(rigs, inputs, result); // sizes the buffers
        var before = GC.GetAllocatedBytesForCurrentThread();
        policy.Evaluate(rigs, inputs, result);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(100, result.Sleeps + result.Wakes);
        // The 30 J/TH rigs lose $0.24/day, more than the $0.10 cycle spread over a day plus the margin: they want to
        // sleep, the cap lets 100 go (sleeps come first) and defers the rest, so no wake gets a slot.
        Assert.Equal(100, result.Sleeps);
        Assert.Equal((66_666 - 100) * 3.0, result.PlannedPower.Kilowatts, 1e-6);
    }
}
