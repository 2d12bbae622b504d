using Microsoft.Extensions.Time.Testing;
using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Policy;
using StratumProxy.Economics.Tariffs;
using StratumProxy.Economics.Units;
using static StratumProxy.Economics.Tests.Policy.PolicyFixtures;

namespace StratumProxy.Economics.Tests.Policy;

/// <summary>A farm driven through time by a <see cref="FakeTimeProvider"/>: evaluate every 5 minutes, apply, advance.</summary>
public sealed class FarmSimulationTests
{
    private static readonly TimeZoneInfo Chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");

    /// <summary>Every sleep and wake: (rig, local time of day).</summary>
    private sealed record Log(List<(int Rig, TimeOnly At)> Sleeps, List<(int Rig, TimeOnly At)> Wakes, List<int> ChangesPerEvaluation);

    private static Log Simulate(
        CurtailmentPolicy policy, RigState[] rigs, FakeTimeProvider clock, DateTimeOffset until, Func<DateTimeOffset, PolicyInputs> inputs, Action<DateTimeOffset, RigState[]>? check = null)
    {
        var log = new Log([], [], []);
        var result = new PolicyResult();
        while (clock.GetUtcNow() < until)
        {
            var now = clock.GetUtcNow();
            policy.Evaluate(rigs, inputs(now), result);
            var local = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, Chicago).DateTime);
            for (var i = 0; i < rigs.Length; i++)
            {
                var kind = result.Decisions[i].Kind;
                if (kind == ChangeKind.Sleep)
                {
                    log.Sleeps.Add((i, local));
                }
                else if (kind == ChangeKind.Wake)
                {
                    log.Wakes.Add((i, local));
                }
            }

            log.ChangesPerEvaluation.Add(result.Sleeps + result.Wakes);
            result.ApplyTo(rigs);
            check?.Invoke(now, rigs);
            clock.Advance(TimeSpan.FromMinutes(5));
        }

        return log;
    }

    [Fact]
    public void Time_of_use_day_sleeps_rigs_in_the_peak_band_and_wakes_them_after_within_dwell_and_cap()
    {
        // Wednesday 15 July 2026 in Chicago (CDT, UTC−5): weekdays 15:00–20:00 cost 20 ¢, otherwise 4 ¢.
        // At 4 ¢ (72 kWh = $2.88/day) the 15 J/TH rigs make 6.00 − 2.88 and the 25 J/TH rigs 3.60 − 2.88: all run.
        // At 20 ¢ ($14.40/day) every rig loses money.
        var tariff = new TimeOfUseTariff(Chicago, new UsdPerKwh(0.04),
        [
            new TouSeason("summer", new HashSet<int> { 6, 7, 8, 9 },
                [new TouBand(DayKind.Weekday, new TimeOnly(15, 0), new TimeOnly(20, 0), new UsdPerKwh(0.20), "on-peak")]),
        ]);
        var energy = new EnergyCostModel(tariff);
        var options = new CurtailmentOptions
        {
            MaxPowerChangesPerEvaluation = 3,
            MinOnDwell = TimeSpan.FromMinutes(30),
            MinOffDwell = TimeSpan.FromMinutes(30),
        };
        var policy = new CurtailmentPolicy(options, [Efficient, Older]);
        var start = new DateTimeOffset(2026, 7, 15, 19, 50, 0, TimeSpan.Zero); // 14:50 CDT
        var clock = new FakeTimeProvider(start);

        // Rigs 0–3: 15 J/TH, on for a day. Rigs 4–11: 25 J/TH, woken at 14:50, so their on-dwell ends at 15:20.
        var rigs = new RigState[12];
        for (var i = 0; i < rigs.Length; i++)
        {
            rigs[i] = i < 4 ? On(0, since: start.AddDays(-1)) : On(1, since: start);
        }

        var onDuringPeak = new List<string>();
        var log = Simulate(
            policy,
            rigs,
            clock,
            start.AddHours(8), // until 22:50 CDT
            now => PolicyInputs.At(now, MarketAt(96_000, now), OnePool, energy),
            (now, state) =>
            {
                var local = TimeZoneInfo.ConvertTime(now, Chicago);
                if (local.Hour is >= 16 and < 20 && state.Any(r => !r.Current.IsOff))
                {
                    onDuringPeak.Add(local.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture));
                }
            });

        static TimeOnly T(int h, int m) => new(h, m);

        // Sleeps: three at a time; the 25 J/TH rigs only once their 30-minute on-dwell has passed.
        Assert.Equal(
            [(0, T(15, 0)), (1, T(15, 0)), (2, T(15, 0)), (3, T(15, 5)), (4, T(15, 20)), (5, T(15, 20)), (6, T(15, 20)),
             (7, T(15, 25)), (8, T(15, 25)), (9, T(15, 25)), (10, T(15, 30)), (11, T(15, 30))],
            log.Sleeps);

        // Wakes at 20:00 when the band ends: best J/TH first, three per evaluation.
        Assert.Equal(
            [(0, T(20, 0)), (1, T(20, 0)), (2, T(20, 0)), (3, T(20, 5)), (4, T(20, 5)), (5, T(20, 5)),
             (6, T(20, 10)), (7, T(20, 10)), (8, T(20, 10)), (9, T(20, 15)), (10, T(20, 15)), (11, T(20, 15))],
            log.Wakes);

        Assert.All(log.ChangesPerEvaluation, n => Assert.InRange(n, 0, 3));
        Assert.Empty(onDuringPeak);
        Assert.All(rigs, r => Assert.False(r.Current.IsOff));
    }

    [Fact]
    public void Price_drop_idles_the_worst_rig_first_and_recovery_wakes_it()
    {
        // Energy 3 ¢: every rig costs 72 × 0.03 = $2.16/day. Shutdown prices (2.16 ÷ BTC/day):
        // 30 J/TH 100 TH/s → $69 120; 20 J/TH 150 TH/s → $46 080; 15 J/TH 200 TH/s → $34 560.
        // BTC: $96 000, then $55 000 (below the 30 J/TH rig's), then $35 000 (below the 20 J/TH rig's too), then back.
        // With a 1 ¢ cycle cost over 1 h ($0.24/day): at $55 000 the 30 J/TH rig loses 0.441 > 0.24 + 0.10: it sleeps;
        // at $35 000 the 20 J/TH rig loses 0.519: it sleeps; the 15 J/TH rig still makes +0.0275.
        var options = new CurtailmentOptions { PowerCycleCostUsd = 0.01, MaxPowerChangesPerEvaluation = 1 };
        var policy = new CurtailmentPolicy(options, [Efficient, Middle, Oldest]);
        var clock = new FakeTimeProvider(T0);
        RigState[] rigs = [On(0), On(1), On(2)];
        double Price(DateTimeOffset now) => (now - T0).TotalMinutes switch
        {
            < 30 => 96_000,
            < 90 => 55_000,
            < 150 => 35_000,
            _ => 96_000,
        };

        var log = Simulate(policy, rigs, clock, T0.AddMinutes(200), now => Inputs(now, Price(now), 0.03));

        static TimeOnly Local(int minutes) => TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(T0.AddMinutes(minutes), Chicago).DateTime);
        Assert.Equal([(2, Local(30)), (1, Local(90))], log.Sleeps);
        // Recovery: one change per evaluation, best J/TH first.
        Assert.Equal([(1, Local(150)), (2, Local(155))], log.Wakes);
        Assert.All(rigs, r => Assert.False(r.Current.IsOff));
    }

    [Fact]
    public void Strike_price_mode_sleeps_after_the_price_holds_above_and_wakes_after_it_holds_below()
    {
        // Sleep above $100/MWh held 30 min, wake below $80/MWh held 60 min. A 10 J/TH rig stays profitable at
        // 11 ¢ (9.00 − 7.92) but the strike rule does not ask.
        var strike = new StrikePriceOptions(100, TimeSpan.FromMinutes(30), 80, TimeSpan.FromMinutes(60));
        var options = new CurtailmentOptions { Strike = strike, MinOnDwell = TimeSpan.Zero, MinOffDwell = TimeSpan.Zero };
        var tenJ = Model("ten-j", 300, 3000);
        var policy = new CurtailmentPolicy(options, [tenJ]);
        RigState[] rigs = [On(0), On(0)];
        var clock = new FakeTimeProvider(T0);
        double Usd(double minutes) => minutes switch
        {
            < 20 => 0.12,
            < 25 => 0.09, // between the strikes: the "above" clock restarts
            < 60 => 0.11,
            < 70 => 0.09,
            _ => 0.07,
        };

        var watch = default(StrikeWatch);
        var log = Simulate(policy, rigs, clock, T0.AddMinutes(150), now =>
        {
            var inputs = Inputs(now, 96_000, Usd((now - T0).TotalMinutes)) with { Strike = watch };
            watch = inputs.Strike.Observe(inputs.Energy.Energy, now, strike); // what the policy will return
            return inputs;
        });

        // Above since +25 → sleep at +55. Below since +70 → wake at +130.
        static TimeOnly Local(int minutes) => TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(T0.AddMinutes(minutes), Chicago).DateTime);
        Assert.Equal([(0, Local(55)), (1, Local(55))], log.Sleeps);
        Assert.Equal([(0, Local(130)), (1, Local(130))], log.Wakes);

        var result = policy.Evaluate([On(0), On(0)], Inputs(T0, 96_000, 0.12) with { Strike = new StrikeWatch(T0.AddMinutes(-30), null) });
        Assert.Equal(StrikeSignal.Sleep, result.StrikeSignal);
        Assert.Equal(CurtailmentReason.StrikeSleep, result.Decisions[0].Reason);
        Assert.StartsWith("strike price: energy 120 $/MWh above 100", result.Describe(0), StringComparison.Ordinal);
        Assert.Equal(9.00 - 8.64, result.OptionProfits(0)[1], 1e-9); // profits are still reported
    }

    [Fact]
    public void Strike_watch_restarts_when_the_price_leaves_the_band()
    {
        var strike = new StrikePriceOptions(100, TimeSpan.FromMinutes(30), 80, TimeSpan.FromMinutes(30));
        var w = default(StrikeWatch).Observe(UsdPerKwh.FromUsdPerMwh(120), T0, strike);
        Assert.Equal(T0, w.AboveSince);
        w = w.Observe(UsdPerKwh.FromUsdPerMwh(130), T0.AddMinutes(10), strike);
        Assert.Equal(T0, w.AboveSince);
        Assert.Equal(StrikeSignal.Hold, w.SignalAt(T0.AddMinutes(29), strike));
        Assert.Equal(StrikeSignal.Sleep, w.SignalAt(T0.AddMinutes(30), strike));
        w = w.Observe(UsdPerKwh.FromUsdPerMwh(100), T0.AddMinutes(31), strike); // not above
        Assert.Null(w.AboveSince);
        Assert.Null(w.BelowSince);
        Assert.Equal(StrikeSignal.Hold, w.SignalAt(T0.AddMinutes(31), strike));
    }

    [Fact]
    public void Strike_mode_still_respects_dwell_and_the_change_cap()
    {
        var strike = new StrikePriceOptions(100, TimeSpan.Zero, 80, TimeSpan.Zero);
        var options = new CurtailmentOptions { Strike = strike, MaxPowerChangesPerEvaluation = 1, MinOnDwell = TimeSpan.FromMinutes(15) };
        var policy = new CurtailmentPolicy(options, [Efficient, Oldest]);
        RigState[] rigs = [On(0), On(1), On(0, since: T0.AddMinutes(-5))];
        var result = policy.Evaluate(rigs, new PolicyInputs(T0, MarketAt(96_000, T0), OnePool, EnergyPrice.Flat(0.15)));
        Assert.Equal(CurtailmentReason.ChangeCap, result.Decisions[0].Reason);
        Assert.Equal(ChangeKind.Sleep, result.Decisions[1].Kind); // 30 J/TH first
        Assert.Equal(CurtailmentReason.StrikeSleep, result.Decisions[1].Reason);
        Assert.Equal(CurtailmentReason.MinOnDwell, result.Decisions[2].Reason);
    }
}
