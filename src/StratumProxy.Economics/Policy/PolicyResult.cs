using System.Globalization;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Policy;

/// <summary>How usable the market data of an evaluation was.</summary>
public enum MarketCondition : byte
{
    Fresh,
    Stale,
    Missing,
}

/// <summary>
/// The output of one evaluation, and the buffers it is written into. Keep one and pass it to every
/// <see cref="CurtailmentPolicy.Evaluate(ReadOnlySpan{RigState}, PolicyInputs, PolicyResult)"/>: after the first
/// evaluation of a farm of a given size nothing is allocated.
/// </summary>
public sealed class PolicyResult
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private CurtailmentDecision[] _decisions = [];
    private int[] _models = [];
    private double[] _profits = [];
    private CurtailmentPolicy? _policy;
    private PolicyInputs? _inputs;

    internal double[] UsdPerHashDay { get; private set; } = [];

    internal Candidate[] SleepQueue { get; private set; } = [];

    internal Candidate[] WakeQueue { get; private set; } = [];

    /// <summary>Rigs evaluated.</summary>
    public int Count { get; private set; }

    /// <summary>Option slots per rig: 1 (off) + pools × mode slots.</summary>
    public int Stride { get; private set; }

    /// <summary>The largest number of modes of any model: each pool has this many slots.</summary>
    public int ModeSlots { get; private set; }

    public int PoolCount { get; private set; }

    /// <summary>The instant of the inputs last evaluated (default before the first evaluation).</summary>
    public DateTimeOffset EvaluatedAt => _inputs?.Now ?? default;

    public MarketCondition Market { get; internal set; }

    /// <summary>Revenue multiplier from the difficulty look-ahead (1 when none applied).</summary>
    public double RevenueFactor { get; internal set; } = 1;

    /// <summary>Strike-price mode: the updated watch (pass it back next time) and what it said.</summary>
    public StrikeWatch Strike { get; internal set; }

    public StrikeSignal StrikeSignal { get; internal set; }

    /// <summary>Draw of every rig that runs after the decisions are carried out (catalog power of the chosen mode).</summary>
    public Power PlannedPower { get; internal set; }

    public int Sleeps => CountKind(ChangeKind.Sleep);

    public int Wakes => CountKind(ChangeKind.Wake);

    public int Changes
    {
        get
        {
            var n = 0;
            foreach (ref readonly var d in Decisions)
            {
                n += d.IsChange ? 1 : 0;
            }

            return n;
        }
    }

    public ReadOnlySpan<CurtailmentDecision> Decisions => _decisions.AsSpan(0, Count);

    /// <summary>Profit in USD/day of every option of a rig: slot 0 is off (0), then pool-major; NaN where the option does not exist, the pool is not allowed, or market data was unusable.</summary>
    public ReadOnlySpan<double> OptionProfits(int rig) => _profits.AsSpan(Slot(rig, 0), Stride);

    internal Span<double> ProfitsFor(int rig) => _profits.AsSpan(Slot(rig, 0), Stride);

    internal Span<CurtailmentDecision> MutableDecisions => _decisions.AsSpan(0, Count);

    /// <summary>The option of a slot of <see cref="OptionProfits"/>.</summary>
    public RigOption OptionAt(int slot) =>
        slot == 0 ? RigOption.Off : RigOption.Run((slot - 1) / ModeSlots, (slot - 1) % ModeSlots);

    public double ProfitOf(int rig, RigOption option) =>
        option.IsOff ? 0 : _profits[Slot(rig, 1 + (option.Pool * ModeSlots) + option.Mode)];

    /// <summary>Carries the decisions out on the state, as a caller does once the actuators confirmed them.</summary>
    public void ApplyTo(Span<RigState> rigs)
    {
        if (rigs.Length != Count)
        {
            throw new ArgumentException("the state must be the one that was evaluated", nameof(rigs));
        }

        var decisions = Decisions;
        for (var i = 0; i < rigs.Length; i++)
        {
            ref readonly var d = ref decisions[i];
            if (!d.IsChange)
            {
                continue;
            }

            ref var s = ref rigs[i];
            if (d.Chosen.IsOff != d.Previous.IsOff)
            {
                s.LastPowerChange = EvaluatedAt;
            }

            if (d.Chosen.IsOff || d.Chosen.Mode != d.Previous.Mode)
            {
                s.ObservedHashrate = default; // measured in the old mode
            }

            s.Current = d.Chosen;
        }
    }

    /// <summary>A human-readable line for one rig's decision (allocates: for the audit log, not the hot path).</summary>
    public string Describe(int rig)
    {
        var policy = _policy ?? throw new InvalidOperationException("nothing evaluated yet");
        var inputs = _inputs!;
        var d = _decisions[rig];
        var model = policy.Models[_models[rig]];
        var o = policy.Options;
        var chosen = Label(model, inputs, d.Chosen);
        var previous = Label(model, inputs, d.Previous);
        var alternative = Label(model, inputs, d.Alternative);
        FormattableString line = d.Reason switch
        {
            CurtailmentReason.MostProfitable when d.Kind == ChangeKind.Wake =>
                $"wake to {chosen}: {Money(d.ChosenProfitPerDay)}/day, {Money(d.GainPerDay)}/day after the wake cost",
            CurtailmentReason.MostProfitable when d.IsChange =>
                $"switch {previous} → {chosen}: {Money(d.ChosenProfitPerDay)}/day vs {Money(d.CurrentProfitPerDay)}/day, +{Money(d.GainPerDay)}/day after change costs",
            CurtailmentReason.MostProfitable =>
                $"keep {chosen}: the most profitable option, {Money(d.ChosenProfitPerDay)}/day",
            CurtailmentReason.EveryOptionLosesMoney =>
                $"{(d.IsChange ? "sleep" : "stay off")}: every running option loses money; the best, {alternative}, makes {Money(ProfitOf(rig, d.Alternative))}/day",
            CurtailmentReason.Hysteresis =>
                $"keep {previous}: {alternative} gains {Money(d.GainPerDay)}/day after change costs, not more than the margin (max of {Money(o.MarginUsdPerDay)}/day and {o.MarginPercent}% of |{Money(d.CurrentProfitPerDay)}|)",
            CurtailmentReason.DifficultyDropAhead =>
                $"wake to {chosen} ahead of the difficulty retarget: revenue weighted ×{RevenueFactor:0.0000} by the projected drop makes {Money(d.ChosenProfitPerDay)}/day",
            CurtailmentReason.MinOnDwell =>
                $"keep {previous}: wants {alternative}, but it has been on for less than the minimum on-dwell ({o.MinOnDwell})",
            CurtailmentReason.MinOffDwell =>
                $"stay off: wants {alternative}, but it has been off for less than the minimum off-dwell ({o.MinOffDwell})",
            CurtailmentReason.ChangeCap =>
                $"deferred {previous} → {alternative}: this evaluation reached its cap of {o.MaxPowerChangesPerEvaluation} sleeps and wakes",
            CurtailmentReason.PinnedOn => $"pinned on by the operator: {chosen}",
            CurtailmentReason.PinnedOff => $"pinned off by the operator",
            CurtailmentReason.PowerCapShed =>
                $"sleep: shed to keep the farm under its power cap of {o.PowerCapKw} kW (worst J/TH first)",
            CurtailmentReason.PowerCapHeadroom =>
                $"stay off: waking to {alternative} would take the farm over its power cap of {o.PowerCapKw} kW",
            CurtailmentReason.DemandResponse =>
                $"off: demand-response window '{inputs.DemandResponse?.Reason}' until {inputs.DemandResponse?.To:O}",
            CurtailmentReason.MarketStale or CurtailmentReason.MarketMissing =>
                $"market data {(d.Reason == CurtailmentReason.MarketStale ? "stale" : "missing")}: operator default '{o.StaleMarket}' → {chosen}{(inputs.Market is { } m ? string.Create(Inv, $" (data as of {m.AsOf:O}{(m.PriceIsStale ? ", price feed stale" : "")})") : "")}",
            CurtailmentReason.StrikeSleep =>
                $"strike price: energy {inputs.Energy.Energy.UsdPerMwh:0.##} $/MWh above {o.Strike?.SleepAboveUsdPerMwh:0.##} since {Strike.AboveSince:O} → off",
            CurtailmentReason.StrikeWake =>
                $"strike price: energy {inputs.Energy.Energy.UsdPerMwh:0.##} $/MWh below {o.Strike?.WakeBelowUsdPerMwh:0.##} since {Strike.BelowSince:O} → {chosen}",
            CurtailmentReason.StrikeHold =>
                $"strike price: energy {inputs.Energy.Energy.UsdPerMwh:0.##} $/MWh, no strike held long enough: keep {previous}",
            CurtailmentReason.NoOptions => $"off: no pool this rig may use",
            _ => $"{d.Reason.Code()}",
        };
        return line.ToString(Inv);
    }

    internal void Begin(CurtailmentPolicy policy, PolicyInputs inputs, int rigs, int pools, int modeSlots)
    {
        _policy = policy;
        _inputs = inputs;
        Count = rigs;
        PoolCount = pools;
        ModeSlots = modeSlots;
        Stride = 1 + (pools * modeSlots);
        RevenueFactor = 1;
        Strike = default;
        StrikeSignal = StrikeSignal.Hold;
        if (_decisions.Length < rigs)
        {
            _decisions = new CurtailmentDecision[rigs];
            _models = new int[rigs];
            SleepQueue = new Candidate[rigs];
            WakeQueue = new Candidate[rigs];
        }

        var slots = (long)rigs * Stride;
        if (_profits.Length < slots)
        {
            _profits = new double[slots];
        }

        if (UsdPerHashDay.Length < pools)
        {
            UsdPerHashDay = new double[pools];
        }
    }

    internal void SetModel(int rig, int model) => _models[rig] = model;

    private int Slot(int rig, int slot)
    {
        if ((uint)rig >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(rig));
        }

        return (rig * Stride) + slot;
    }

    private int CountKind(ChangeKind kind)
    {
        var n = 0;
        foreach (ref readonly var d in Decisions)
        {
            n += d.Kind == kind ? 1 : 0;
        }

        return n;
    }

    private static string Label(PolicyModel model, PolicyInputs inputs, RigOption option) =>
        option.IsOff
            ? "off"
            : (uint)option.Mode < (uint)model.Modes.Count && (uint)option.Pool < (uint)inputs.Pools.Count
                ? model.Modes[option.Mode].Name + " on " + inputs.Pools[option.Pool].Name
                : option.ToString();

    private static string Money(double usd) =>
        double.IsNaN(usd) ? "n/a" : (usd < 0 ? "-$" : "$") + Math.Abs(usd).ToString("0.00", Inv);
}

/// <summary>A rig waiting for a sleep or wake slot, ranked by priority group and J/TH.</summary>
internal readonly record struct Candidate(int Rig, int Group, double JoulesPerTerahash);

/// <summary>Orders of the sleep and wake queues (cached delegates: sorting a span with them allocates nothing).</summary>
internal static class CandidateOrder
{
    /// <summary>Worst first: the highest group number, then the highest J/TH, then the lowest index (deterministic).</summary>
    public static readonly Comparison<Candidate> WorstFirst = static (x, y) => ThenByIndex(Rank(y, x), x, y);

    /// <summary>Best first: the lowest group number, then the lowest J/TH, then the lowest index.</summary>
    public static readonly Comparison<Candidate> BestFirst = static (x, y) => ThenByIndex(Rank(x, y), x, y);

    /// <summary>Group, then J/TH, ascending.</summary>
    private static int Rank(in Candidate a, in Candidate b)
    {
        var c = a.Group.CompareTo(b.Group);
        return c != 0 ? c : a.JoulesPerTerahash.CompareTo(b.JoulesPerTerahash);
    }

    /// <summary>Ties broken by the lowest index in both orders, so a sort is deterministic.</summary>
    private static int ThenByIndex(int rank, in Candidate x, in Candidate y) => rank != 0 ? rank : x.Rig.CompareTo(y.Rig);
}
