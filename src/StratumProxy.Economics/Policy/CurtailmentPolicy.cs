using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Policy;

/// <summary>
/// Decides, for every rig of a farm, which pool and power mode it runs or whether it sleeps (docs/curtailment.md).
/// Pure: the decisions depend only on the arguments (time included); nothing is read from a clock, a file or the
/// network, and nothing is acted on. Thread-safe; one evaluation writes only into the <see cref="PolicyResult"/> it
/// is given, so a caller that reuses one result allocates nothing per evaluation.
/// </summary>
public sealed partial class CurtailmentPolicy
{
    public const int MaxPools = 64;

    private const double SecondsPerDay = 86_400.0;

    private readonly PolicyModel[] _models;
    private readonly int _modeSlots;

    public CurtailmentPolicy(CurtailmentOptions options, IReadOnlyList<PolicyModel> models)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(models);
        if (new CurtailmentOptionsValidator().Validate(null, options) is { Failed: true } invalid)
        {
            throw new ArgumentException("curtailment options: " + string.Join("; ", invalid.Failures ?? []), nameof(options));
        }

        if (models.Count == 0)
        {
            throw new ArgumentException("at least one rig model is needed", nameof(models));
        }

        Options = options;
        _models = [.. models];
        Models = _models;
        _modeSlots = _models.Max(m => m.Modes.Count);
    }

    public CurtailmentOptions Options { get; }

    public IReadOnlyList<PolicyModel> Models { get; }

    /// <summary>Evaluates into a new result (allocates; tests and one-off callers).</summary>
    public PolicyResult Evaluate(ReadOnlySpan<RigState> rigs, PolicyInputs inputs)
    {
        var result = new PolicyResult();
        Evaluate(rigs, inputs, result);
        return result;
    }

    public void Evaluate(ReadOnlySpan<RigState> rigs, PolicyInputs inputs, PolicyResult result)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(inputs.Pools);
        var poolCount = inputs.Pools.Count;
        if (poolCount > MaxPools)
        {
            throw new ArgumentException($"at most {MaxPools} pools", nameof(inputs));
        }

        var o = Options;
        var now = inputs.Now;
        result.Begin(this, inputs, rigs.Length, poolCount, _modeSlots);

        var market = inputs.Market;
        var condition = market is null
            ? MarketCondition.Missing
            : market.PriceIsStale || now - market.AsOf > o.MaxMarketAge || !Usable(market) ? MarketCondition.Stale : MarketCondition.Fresh;
        result.Market = condition;
        var fresh = condition == MarketCondition.Fresh;

        var revenueFactor = fresh ? LookaheadFactor(inputs.Outlook, now) * FeeTrendFactor(market!, inputs.NearTermFeesPerBlock) : 1.0;
        result.RevenueFactor = revenueFactor;
        var usdPerHashDay = result.UsdPerHashDay;
        for (var p = 0; p < poolCount; p++)
        {
            var own = inputs.PoolMarkets is { } markets && p < markets.Count ? markets[p] : null;
            if (own is not null && !ReferenceEquals(own, market))
            {
                // Another coin: priced by its own market, with no look-ahead (the outlook is the main coin's).
                var ownFresh = fresh && !own.PriceIsStale && now - own.AsOf <= o.MaxMarketAge && Usable(own);
                usdPerHashDay[p] = ownFresh ? MiningCalculator.CoinsPerHashPerDay(own, inputs.Pools[p]) * own.Price.UsdPerCoin : double.NaN;
                continue;
            }

            usdPerHashDay[p] = fresh
                ? MiningCalculator.CoinsPerHashPerDay(market!, inputs.Pools[p]) * market!.Price.UsdPerCoin * revenueFactor
                : double.NaN;
        }

        var signal = StrikeSignal.Hold;
        if (o.Strike is { } strike)
        {
            var watch = inputs.Strike.Observe(inputs.Energy.Energy, now, strike);
            signal = watch.SignalAt(now, strike);
            result.Strike = watch;
            result.StrikeSignal = signal;
        }

        var context = new Context(
            now,
            fresh,
            condition == MarketCondition.Missing ? CurtailmentReason.MarketMissing : CurtailmentReason.MarketStale,
            poolCount,
            inputs.Energy.AllIn.Value,
            o.PaybackHorizon.TotalDays,
            o.CycleHorizon.TotalDays,
            revenueFactor,
            inputs.DemandResponse is { } window && window.Contains(now),
            o.Strike is not null,
            signal);

        // Phase 1: every rig's own decision. Sleeps and wakes that the cap and the power cap may defer are queued.
        var sleeps = 0;
        var wakes = 0;
        var committedKw = 0.0;
        for (var i = 0; i < rigs.Length; i++)
        {
            ref readonly var rig = ref rigs[i];
            if ((uint)rig.Model >= (uint)_models.Length)
            {
                throw new ArgumentException($"rig {i}: model index {rig.Model} is not one of the policy's {_models.Length} models", nameof(rigs));
            }

            var model = _models[rig.Model];
            result.SetModel(i, rig.Model);
            var d = Decide(i, rig, model, context, result, out var forced);
            var pending = Pending.None;
            if (!forced && d.Kind is ChangeKind.Sleep or ChangeKind.Wake)
            {
                var since = now - rig.LastPowerChange;
                if (d.Kind == ChangeKind.Sleep && since < o.MinOnDwell)
                {
                    d = Defer(d, CurtailmentReason.MinOnDwell);
                }
                else if (d.Kind == ChangeKind.Wake && since < o.MinOffDwell)
                {
                    d = Defer(d, CurtailmentReason.MinOffDwell);
                }
                else
                {
                    pending = d.Kind == ChangeKind.Sleep ? Pending.Sleep : Pending.Wake;
                }
            }

            switch (pending)
            {
                case Pending.Sleep:
                    result.SleepQueue[sleeps++] = new Candidate(i, rig.PriorityGroup, Jth(model, d.Previous.Mode));
                    break;
                case Pending.Wake:
                    result.WakeQueue[wakes++] = new Candidate(i, rig.PriorityGroup, Jth(model, d.Chosen.Mode));
                    break;
                default:
                    committedKw += d.Chosen.IsOff ? 0 : model.Kilowatts[d.Chosen.Mode];
                    break;
            }

            result.MutableDecisions[i] = d;
        }

        var decisions = result.MutableDecisions;
        var budget = o.MaxPowerChangesPerEvaluation;

        // Phase 2: sleeps, worst J/TH first (within the least important group first), up to the cap.
        var sleepSpan = result.SleepQueue.AsSpan(0, sleeps);
        sleepSpan.Sort(CandidateOrder.WorstFirst);
        foreach (var c in sleepSpan)
        {
            if (budget > 0)
            {
                budget--;
                continue;
            }

            ref var d = ref decisions[c.Rig];
            committedKw += _models[rigs[c.Rig].Model].Kilowatts[d.Previous.Mode];
            d = Defer(d, CurtailmentReason.ChangeCap);
        }

        // Phase 3: the power cap. Running rigs are shed worst first until the farm fits (pins on are never shed).
        var capKw = o.PowerCapKw ?? double.PositiveInfinity;
        if (committedKw > capKw)
        {
            var shed = 0;
            for (var i = 0; i < decisions.Length; i++)
            {
                ref readonly var d = ref decisions[i];
                if (!d.Chosen.IsOff && d.Kind != ChangeKind.Wake && rigs[i].Pin != RigPin.AlwaysOn)
                {
                    result.SleepQueue[shed++] = new Candidate(i, rigs[i].PriorityGroup, Jth(_models[rigs[i].Model], d.Chosen.Mode));
                }
            }

            var shedSpan = result.SleepQueue.AsSpan(0, shed);
            shedSpan.Sort(CandidateOrder.WorstFirst);
            foreach (var c in shedSpan)
            {
                if (committedKw <= capKw)
                {
                    break;
                }

                ref var d = ref decisions[c.Rig];
                committedKw -= _models[rigs[c.Rig].Model].Kilowatts[d.Chosen.Mode];
                d = d with { Alternative = d.Chosen, Chosen = RigOption.Off, ChosenProfitPerDay = 0, Reason = CurtailmentReason.PowerCapShed };
            }
        }

        // Phase 4: wakes, best J/TH first (most important group first), within the cap and the power headroom.
        var wakeSpan = result.WakeQueue.AsSpan(0, wakes);
        wakeSpan.Sort(CandidateOrder.BestFirst);
        foreach (var c in wakeSpan)
        {
            ref var d = ref decisions[c.Rig];
            var kw = _models[rigs[c.Rig].Model].Kilowatts[d.Chosen.Mode];
            if (budget <= 0)
            {
                d = Defer(d, CurtailmentReason.ChangeCap);
            }
            else if (committedKw + kw > capKw)
            {
                d = Defer(d, CurtailmentReason.PowerCapHeadroom);
            }
            else
            {
                budget--;
                committedKw += kw;
            }
        }

        result.PlannedPower = Units.Power.FromKilowatts(committedKw);
    }

    private enum Pending
    {
        None,
        Sleep,
        Wake,
    }

    private static bool Usable(MarketSnapshot m) =>
        m.Price.UsdPerCoin >= 0 && double.IsFinite(m.Price.UsdPerCoin) &&
        m.Difficulty.Value > 0 && double.IsFinite(m.Difficulty.Value) &&
        m.Subsidy.Amount >= 0 && m.FeesPerBlock.Amount >= 0;

    private static double Jth(PolicyModel model, int mode) =>
        model.Kilowatts[mode] * 1000.0 / (model.HashesPerSecond[mode] / 1e12);

    private static CurtailmentDecision Defer(in CurtailmentDecision d, CurtailmentReason reason) =>
        d with { Alternative = d.Chosen, Chosen = d.Previous, ChosenProfitPerDay = d.CurrentProfitPerDay, Reason = reason };

    /// <summary>
    /// Revenue weight for an expected difficulty drop: the share of the look-ahead horizon after the retarget earns
    /// at the projected difficulty. Only drops count: a forecast rise never puts a rig to sleep early.
    /// </summary>
    /// <summary>
    /// (subsidy + near-term fees) ÷ (subsidy + average fees) when fees are rising, at most 2; else 1. Like the
    /// difficulty look-ahead it can only make running look better, never put a rig to sleep.
    /// </summary>
    internal static double FeeTrendFactor(MarketSnapshot market, Coins? nearTermFees)
    {
        if (nearTermFees is not { } near || near.Amount <= market.FeesPerBlock.Amount || market.BlockReward.Amount <= 0)
        {
            return 1.0;
        }

        return Math.Min(2.0, (market.Subsidy.Amount + near.Amount) / market.BlockReward.Amount);
    }

    private double LookaheadFactor(DifficultyOutlook? outlook, DateTimeOffset now)
    {
        var horizon = Options.LookaheadHorizon;
        if (outlook is null || horizon <= TimeSpan.Zero || !(outlook.Projected.Value > 0) || !(outlook.Projected.Value < outlook.Current.Value))
        {
            return 1.0;
        }

        var after = Math.Clamp((horizon - (outlook.EstimatedRetargetTime - now)) / horizon, 0.0, 1.0);
        return 1.0 - after + (after * outlook.Current.Value / outlook.Projected.Value);
    }
}
