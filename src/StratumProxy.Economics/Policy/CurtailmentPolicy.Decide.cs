namespace StratumProxy.Economics.Policy;

public sealed partial class CurtailmentPolicy
{
    /// <summary>What one evaluation shares across rigs.</summary>
    private readonly record struct Context(
        DateTimeOffset Now,
        bool Fresh,
        CurtailmentReason StaleReason,
        int PoolCount,
        double AllInUsdPerKwh,
        double HorizonDays,
        double CycleHorizonDays,
        double RevenueFactor,
        bool DemandResponse,
        bool StrikeMode,
        StrikeSignal Strike);

    /// <summary>
    /// One rig on its own: fills its option profits and returns what it should do before the farm-wide limits
    /// (dwell, change cap, power cap). <paramref name="forced"/>: pins, demand response and "no pool" bypass them.
    /// </summary>
    private CurtailmentDecision Decide(int index, in RigState s, PolicyModel model, in Context c, PolicyResult result, out bool forced)
    {
        forced = false;
        var o = Options;
        var hs = model.HashesPerSecond;
        var kw = model.Kilowatts;
        var modeCount = hs.Length;
        var cur = s.Current;
        var curValid = cur.IsOff || ((uint)cur.Pool < (uint)c.PoolCount && (uint)cur.Mode < (uint)modeCount && s.MayUse(cur.Pool));

        // A rig measured below (or above) its catalog rate is assumed to be so in every mode.
        var factor = 1.0;
        var observed = s.ObservedHashrate.HashesPerSecond;
        if (!cur.IsOff && curValid && observed > 0 && double.IsFinite(observed))
        {
            factor = observed / hs[cur.Mode];
        }

        var profits = result.ProfitsFor(index);
        profits[0] = 0;
        var usdPerHashDay = result.UsdPerHashDay;
        var costPerKwDay = 24.0 * c.AllInUsdPerKwh;
        var curRaw = cur.IsOff ? 0.0 : double.NaN;
        var bestRaw = double.NegativeInfinity;
        var bestRawOption = RigOption.Off;
        var bestEff = double.NegativeInfinity;
        var bestEffOption = RigOption.Off;
        var firstPool = -1;
        for (var p = 0; p < c.PoolCount; p++)
        {
            var slots = profits.Slice(1 + (p * _modeSlots), _modeSlots);
            if (!s.MayUse(p))
            {
                slots.Fill(double.NaN);
                continue;
            }

            if (firstPool < 0)
            {
                firstPool = p;
            }

            for (var m = 0; m < modeCount; m++)
            {
                var revenue = hs[m] * factor * usdPerHashDay[p];
                var raw = revenue - (kw[m] * costPerKwDay);
                slots[m] = raw;
                if (!c.Fresh)
                {
                    continue;
                }

                if (cur.Pool == p && cur.Mode == m)
                {
                    curRaw = raw;
                }

                if (raw > bestRaw)
                {
                    bestRaw = raw;
                    bestRawOption = new RigOption(p, m);
                }

                var eff = raw - (ChangeCostUsd(cur, p, m, revenue, model) / (cur.IsOff ? c.CycleHorizonDays : c.HorizonDays));
                if (eff > bestEff)
                {
                    bestEff = eff;
                    bestEffOption = new RigOption(p, m);
                }
            }

            if (modeCount < _modeSlots)
            {
                slots[modeCount..].Fill(double.NaN);
            }
        }

        var currentProfit = cur.IsOff ? 0 : curValid ? curRaw : double.NaN;
        if (firstPool < 0)
        {
            forced = true;
            return Make(profits, cur, currentProfit, RigOption.Off, CurtailmentReason.NoOptions, RigOption.Off, 0);
        }

        var fallback = !cur.IsOff && curValid ? cur : RigOption.Run(firstPool, 0);
        var margin = Math.Max(o.MarginUsdPerDay, o.MarginPercent / 100.0 * Math.Abs(cur.IsOff ? 0 : curRaw));

        if (s.Pin == RigPin.AlwaysOff)
        {
            forced = true;
            return Make(profits, cur, currentProfit, RigOption.Off, CurtailmentReason.PinnedOff, bestRawOption, 0);
        }

        if (s.Pin == RigPin.AlwaysOn)
        {
            forced = true;
            var pinned = !c.Fresh ? fallback
                : cur.IsOff || !curValid || (bestEffOption != cur && bestEff - curRaw > margin) ? bestEffOption
                : cur;
            return Make(profits, cur, currentProfit, pinned, CurtailmentReason.PinnedOn, pinned, c.Fresh ? bestEff - curRaw : double.NaN);
        }

        if (c.DemandResponse)
        {
            forced = true;
            return Make(profits, cur, currentProfit, RigOption.Off, CurtailmentReason.DemandResponse, bestRawOption, 0);
        }

        if (c.StrikeMode)
        {
            return c.Strike switch
            {
                StrikeSignal.Sleep => Make(profits, cur, currentProfit, RigOption.Off, CurtailmentReason.StrikeSleep, RigOption.Off, 0),
                StrikeSignal.Wake => Make(
                    profits, cur, currentProfit, cur.IsOff && c.Fresh ? bestRawOption : fallback, CurtailmentReason.StrikeWake, fallback, 0),
                _ => Make(profits, cur, currentProfit, cur.IsOff ? RigOption.Off : fallback, CurtailmentReason.StrikeHold, cur, 0),
            };
        }

        if (!c.Fresh)
        {
            var target = o.StaleMarket == StaleMarketAction.Run || !cur.IsOff ? fallback : RigOption.Off;
            return Make(profits, cur, currentProfit, target, c.StaleReason, target, double.NaN);
        }

        // Off is a candidate only when every running option loses money (or the rig is already off).
        var offAllowed = cur.IsOff || bestRaw <= 0;
        // A power cycle (the wear charged here, the wake paid later) is judged over the cycle horizon.
        var offEff = cur.IsOff ? 0.0 : -o.PowerCycleCostUsd / c.CycleHorizonDays;
        var best = bestEffOption;
        var bestValue = bestEff;
        if (offAllowed && offEff >= bestValue)
        {
            best = RigOption.Off;
            bestValue = offEff;
        }

        if (best == cur)
        {
            if (cur.IsOff)
            {
                return Make(profits, cur, currentProfit, RigOption.Off, bestRaw <= 0 ? CurtailmentReason.EveryOptionLosesMoney : CurtailmentReason.Hysteresis, bestRawOption, bestEff);
            }

            return bestRaw <= 0
                ? Make(profits, cur, currentProfit, cur, CurtailmentReason.Hysteresis, RigOption.Off, offEff - curRaw)
                : Make(profits, cur, currentProfit, cur, CurtailmentReason.MostProfitable, cur, 0);
        }

        var gain = bestValue - curRaw;
        if (curValid && !(gain > margin))
        {
            return Make(profits, cur, currentProfit, cur, CurtailmentReason.Hysteresis, best, gain);
        }

        var reason = best.IsOff ? CurtailmentReason.EveryOptionLosesMoney : CurtailmentReason.MostProfitable;
        if (cur.IsOff && !best.IsOff && c.RevenueFactor > 1)
        {
            // Would it wake without the look-ahead? If not, say that the expected drop is why.
            var revenue = hs[best.Mode] * factor * usdPerHashDay[best.Pool] / c.RevenueFactor;
            var plain = revenue - (kw[best.Mode] * costPerKwDay) - (ChangeCostUsd(cur, best.Pool, best.Mode, revenue, model) / c.CycleHorizonDays);
            if (!(plain > margin))
            {
                reason = CurtailmentReason.DifficultyDropAhead;
            }
        }

        return Make(profits, cur, currentProfit, best, reason, best, gain);
    }

    private CurtailmentDecision Make(
        ReadOnlySpan<double> profits, RigOption current, double currentProfit, RigOption chosen, CurtailmentReason why, RigOption alternative, double gainPerDay) =>
        new(
            chosen,
            current,
            why,
            chosen.IsOff ? 0 : profits[1 + (chosen.Pool * _modeSlots) + chosen.Mode],
            currentProfit,
            alternative,
            gainPerDay);

    /// <summary>Revenue lost while the rig hashes nothing during the change (it still draws power), USD.</summary>
    private static double ChangeCostUsd(RigOption from, int pool, int mode, double revenuePerDay, PolicyModel model)
    {
        TimeSpan dark;
        if (from.IsOff)
        {
            dark = model.Transitions.Wake;
        }
        else if (from.Pool == pool && from.Mode == mode)
        {
            return 0;
        }
        else
        {
            var switching = from.Pool != pool ? model.Transitions.PoolSwitch : TimeSpan.Zero;
            var retune = from.Mode != mode ? model.Transitions.ModeChange : TimeSpan.Zero;
            dark = switching > retune ? switching : retune;
        }

        return revenuePerDay * dark.TotalSeconds / SecondsPerDay;
    }
}
