using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Policy;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Backtest;

/// <summary>Totals of one scenario over the whole series.</summary>
public readonly record struct ScenarioTotals(double EnergyKwh, double RevenueUsd, double PowerCostUsd, long PowerCycles)
{
    public double ProfitUsd => RevenueUsd - PowerCostUsd;
}

/// <summary>The three scenarios of a backtest.</summary>
public sealed record BacktestReport(ScenarioTotals Policy, ScenarioTotals AlwaysOn, ScenarioTotals StrikePrice);

/// <summary>
/// How far a backtest has got: the scenario being replayed (0 = policy, 1 = always-on, 2 = strike price), the share of
/// the series it has replayed, and the series time it has reached.
/// </summary>
public readonly record struct BacktestProgress(int Scenario, double Fraction, DateTimeOffset At)
{
    public const int ScenarioCount = 3;

    /// <summary>The share of the whole backtest done, 0 to 1.</summary>
    public double Overall => (Scenario + Fraction) / ScenarioCount;
}

/// <summary>A group of identical rigs.</summary>
public sealed record BacktestRigs(PolicyModel Model, int Count, int PriorityGroup = 0);

/// <summary>What to replay and how.</summary>
/// <param name="Series">The rows, in time order.</param>
/// <param name="Rigs">The farm; every rig starts running on pool 0 in its first mode, with its dwell time served.</param>
/// <param name="Pools">The pools (the series gives one market for all).</param>
/// <param name="Options">The policy's options (<see cref="CurtailmentOptions.Strike"/> is ignored for the policy scenario).</param>
/// <param name="Strike">The plain strike price: the same options with this strike rule.</param>
/// <param name="Step">Evaluation interval; evaluations also happen at every row boundary.</param>
public sealed record BacktestSetup(
    IReadOnlyList<SeriesRow> Series,
    IReadOnlyList<BacktestRigs> Rigs,
    IReadOnlyList<PoolTerms> Pools,
    CurtailmentOptions Options,
    StrikePriceOptions Strike,
    TimeSpan Step);

/// <summary>
/// Replays a series through <see cref="CurtailmentPolicy"/> three times: the policy, every rig pinned on (always-on,
/// still through the policy), and the strike-price mode. Accounting per step: a running rig draws its mode's
/// power for the whole step and earns its mode's hash rate × the row's USD per hash per day on its pool, except
/// during a transition (wake, pool switch, mode change), when it draws power and earns nothing; a sleeping rig
/// draws nothing. A power cycle is one sleep.
/// </summary>
public static class Backtester
{
    /// <param name="setup">What to replay.</param>
    /// <param name="progress">Told at most once per thousandth of each scenario, synchronously on the caller's thread.</param>
    public static BacktestReport Run(BacktestSetup setup, IProgress<BacktestProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(setup);
        if (setup.Series.Count < 2)
        {
            throw new ArgumentException("the series needs at least two rows", nameof(setup));
        }

        if (setup.Step <= TimeSpan.Zero)
        {
            throw new ArgumentException("the step must be positive", nameof(setup));
        }

        var economic = setup.Options with { Strike = null };
        var policy = Replay(setup, economic, pinAllOn: false, 0, progress);
        var alwaysOn = Replay(setup, economic, pinAllOn: true, 1, progress);
        var strike = Replay(setup, setup.Options with { Strike = setup.Strike }, pinAllOn: false, 2, progress);
        return new BacktestReport(policy, alwaysOn, strike);
    }

    /// <summary>The series' end: the last row holds as long as the interval before it.</summary>
    public static DateTimeOffset End(IReadOnlyList<SeriesRow> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        return series[^1].Time + (series[^1].Time - series[^2].Time);
    }

    /// <summary>
    /// How many times one scenario evaluates the farm at most: once a step over the series' span, and once more at each
    /// row boundary. Times the rigs and the three scenarios, that is the replay's work.
    /// </summary>
    public static long Evaluations(IReadOnlyList<SeriesRow> series, TimeSpan step)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(step, TimeSpan.Zero);
        var steps = Math.Ceiling((End(series) - series[0].Time).Ticks / (double)step.Ticks);
        return steps >= long.MaxValue / 2 ? long.MaxValue / 2 : (long)steps + series.Count;
    }

    private static ScenarioTotals Replay(BacktestSetup setup, CurtailmentOptions options, bool pinAllOn, int scenario, IProgress<BacktestProgress>? progress)
    {
        var models = setup.Rigs.Select(r => r.Model).Distinct().ToList();
        var policy = new CurtailmentPolicy(options, models);
        var total = setup.Rigs.Sum(r => r.Count);
        var series = setup.Series;
        var start = series[0].Time;
        var state = new RigState[total];
        var modelOf = new PolicyModel[total];
        var n = 0;
        foreach (var group in setup.Rigs)
        {
            var modelIndex = models.IndexOf(group.Model);
            for (var k = 0; k < group.Count; k++)
            {
                modelOf[n] = group.Model;
                state[n++] = new RigState(
                    modelIndex,
                    RigOption.Run(0, 0),
                    start - options.MinOnDwell - options.MinOffDwell - TimeSpan.FromDays(1),
                    pinAllOn ? RigPin.AlwaysOn : RigPin.None,
                    group.PriorityGroup);
            }
        }

        // Ticks until which each rig hashes nothing (it is waking, switching or re-tuning).
        var darkUntil = new long[total];
        var usdPerHashDay = new double[setup.Pools.Count];
        var result = new PolicyResult();
        var strike = default(StrikeWatch);
        var end = End(series);
        double energy = 0, revenue = 0, cost = 0;
        long cycles = 0;
        var row = 0;
        var span = (end - start).Ticks;
        var reported = -1L;
        var t = start;
        while (t < end)
        {
            while (row + 1 < series.Count && series[row + 1].Time <= t)
            {
                row++;
            }

            var r = series[row];
            var rowEnd = row + 1 < series.Count ? series[row + 1].Time : end;
            var next = t + setup.Step < rowEnd ? t + setup.Step : rowEnd;
            var market = new MarketSnapshot(Coin.Bitcoin, new CoinPrice(r.BtcPriceUsd), new Difficulty(r.Difficulty), new Coins(r.SubsidyBtc), new Coins(r.FeesBtcPerBlock), t);
            var inputs = new PolicyInputs(t, market, setup.Pools, EnergyPrice.Flat(r.ElectricityUsdPerKwh)) { Strike = strike };
            policy.Evaluate(state, inputs, result);
            strike = result.Strike;

            var decisions = result.Decisions;
            for (var i = 0; i < total; i++)
            {
                ref readonly var d = ref decisions[i];
                if (!d.IsChange)
                {
                    continue;
                }

                var transitions = modelOf[i].Transitions;
                var dark = d.Kind switch
                {
                    ChangeKind.Wake => transitions.Wake,
                    ChangeKind.PoolSwitch => transitions.PoolSwitch,
                    ChangeKind.ModeChange => d.Chosen.Pool != d.Previous.Pool && transitions.PoolSwitch > transitions.ModeChange
                        ? transitions.PoolSwitch
                        : transitions.ModeChange,
                    _ => TimeSpan.Zero,
                };
                darkUntil[i] = (t + dark).UtcTicks;
                cycles += d.Kind == ChangeKind.Sleep ? 1 : 0;
            }

            result.ApplyTo(state);

            for (var p = 0; p < usdPerHashDay.Length; p++)
            {
                usdPerHashDay[p] = MiningCalculator.CoinsPerHashPerDay(market, setup.Pools[p]) * r.BtcPriceUsd;
            }

            var stepDays = (next - t).TotalDays;
            var stepEnergy = 0.0;
            var stepRevenue = 0.0;
            for (var i = 0; i < total; i++)
            {
                var current = state[i].Current;
                if (current.IsOff)
                {
                    continue;
                }

                var model = modelOf[i];
                stepEnergy += model.Kilowatts[current.Mode] * 24.0 * stepDays;
                var darkDays = Math.Clamp(TimeSpan.FromTicks(darkUntil[i] - t.UtcTicks).TotalDays, 0, stepDays);
                stepRevenue += model.HashesPerSecond[current.Mode] * usdPerHashDay[current.Pool] * (stepDays - darkDays);
            }

            energy += stepEnergy;
            revenue += stepRevenue;
            cost += stepEnergy * r.ElectricityUsdPerKwh;
            t = next;
            if (progress is not null)
            {
                var done = (double)(t - start).Ticks / span;
                var permille = (long)(done * 1000);
                if (permille > reported)
                {
                    reported = permille;
                    progress.Report(new BacktestProgress(scenario, done, t));
                }
            }
        }

        return new ScenarioTotals(energy, revenue, cost, cycles);
    }
}
