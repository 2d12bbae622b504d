using Microsoft.Extensions.Options;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Policy;

/// <summary>What to do when market data is stale or missing.</summary>
public enum StaleMarketAction
{
    /// <summary>Run every rig that may run (sleeping rigs wake, within dwell, cap and power cap): the safe default for revenue.</summary>
    Run,

    /// <summary>Keep every rig as it is.</summary>
    Hold,
}

/// <summary>
/// The fleet-tool rule: sleep when the energy price has been above <paramref name="SleepAboveUsdPerMwh"/> for
/// <paramref name="SleepAfter"/>, wake when it has been below <paramref name="WakeBelowUsdPerMwh"/> for
/// <paramref name="WakeAfter"/>. The price compared is the tariff's energy price (before PUE and hosting).
/// </summary>
public sealed record StrikePriceOptions(double SleepAboveUsdPerMwh, TimeSpan SleepAfter, double WakeBelowUsdPerMwh, TimeSpan WakeAfter);

/// <summary>The operator's policy settings. Defaults are the shipped ones (docs/curtailment.md).</summary>
public sealed record CurtailmentOptions
{
    /// <summary>A change must gain more than this (after change costs), in USD per rig per day.</summary>
    public double MarginUsdPerDay { get; init; } = 0.10;

    /// <summary>… and more than this percentage of the current option's |profit|. The larger of the two margins applies.</summary>
    public double MarginPercent { get; init; } = 5;

    /// <summary>Cost charged to every sleep, for the thermal stress of one power cycle, USD.</summary>
    public double PowerCycleCostUsd { get; init; } = 0.10;

    /// <summary>One-off change costs (hashing lost, power cycle) are spread over this horizon to compare them with $/day rates.</summary>
    public TimeSpan PaybackHorizon { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The one-off costs of a power cycle (<see cref="PowerCycleCostUsd"/> charged to a sleep, the hashing lost while
    /// a rig wakes) are spread over this horizon instead: a sleep lasts as long as the dear power does (an evening
    /// peak, a heat wave, a price dip), not one hour. Judged over one hour, a rig ran at a loss through the first
    /// hours of every peak and then slept anyway, paying the loss and the cycle (docs/curtailment.md, "Policy versus
    /// the strike price").
    /// </summary>
    public TimeSpan CycleHorizon { get; init; } = TimeSpan.FromHours(24);

    /// <summary>A rig that woke stays on at least this long (unless pinned off, demand response or the power cap).</summary>
    public TimeSpan MinOnDwell { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>A rig that slept stays off at least this long (unless pinned on).</summary>
    public TimeSpan MinOffDwell { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>At most this many sleeps + wakes per evaluation (pool switches and mode changes are not counted).</summary>
    public int MaxPowerChangesPerEvaluation { get; init; } = int.MaxValue;

    /// <summary>Farm-wide limit on the draw of running rigs, kW (IT load, before PUE); null = none.</summary>
    public double? PowerCapKw { get; init; }

    /// <summary>Market data older than this (by <see cref="Market.MarketSnapshot.AsOf"/>) counts as stale.</summary>
    public TimeSpan MaxMarketAge { get; init; } = TimeSpan.FromMinutes(30);

    public StaleMarketAction StaleMarket { get; init; } = StaleMarketAction.Run;

    /// <summary>
    /// When a difficulty outlook predicts a drop at a retarget within this horizon, revenue is weighted by the part
    /// of the horizon after the retarget (rigs wake a little early). Zero turns the look-ahead off.
    /// </summary>
    public TimeSpan LookaheadHorizon { get; init; } = TimeSpan.FromHours(6);

    /// <summary>Non-null: strike-price mode replaces the profit test (pins, dwell, caps and demand response still apply).</summary>
    public StrikePriceOptions? Strike { get; init; }
}

/// <summary>What the strike-price rule says at an instant.</summary>
public enum StrikeSignal : byte
{
    Hold,
    Sleep,
    Wake,
}

/// <summary>
/// Since when the energy price has been above the sleep strike and below the wake strike. The policy returns the
/// updated watch in <see cref="PolicyResult.Strike"/>; pass it back in the next <see cref="PolicyInputs"/>.
/// </summary>
public readonly record struct StrikeWatch(DateTimeOffset? AboveSince, DateTimeOffset? BelowSince)
{
    public StrikeWatch Observe(UsdPerKwh price, DateTimeOffset at, StrikePriceOptions strike)
    {
        ArgumentNullException.ThrowIfNull(strike);
        var mwh = price.UsdPerMwh;
        return new StrikeWatch(
            mwh > strike.SleepAboveUsdPerMwh ? AboveSince ?? at : null,
            mwh < strike.WakeBelowUsdPerMwh ? BelowSince ?? at : null);
    }

    public StrikeSignal SignalAt(DateTimeOffset now, StrikePriceOptions strike)
    {
        ArgumentNullException.ThrowIfNull(strike);
        if (AboveSince is { } above && now - above >= strike.SleepAfter)
        {
            return StrikeSignal.Sleep;
        }

        return BelowSince is { } below && now - below >= strike.WakeAfter ? StrikeSignal.Wake : StrikeSignal.Hold;
    }
}

/// <summary>The policy's rules, each message naming its field (<c>margin_percent must be …</c>).</summary>
public sealed class CurtailmentOptionsValidator : IValidateOptions<CurtailmentOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, CurtailmentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!(options.MarginUsdPerDay >= 0) || !double.IsFinite(options.MarginUsdPerDay))
        {
            errors.Add("margin_usd_per_day must be a number ≥ 0");
        }

        if (!(options.MarginPercent >= 0) || !double.IsFinite(options.MarginPercent))
        {
            errors.Add("margin_percent must be a number ≥ 0");
        }

        if (!(options.PowerCycleCostUsd >= 0) || !double.IsFinite(options.PowerCycleCostUsd))
        {
            errors.Add("power_cycle_cost_usd must be a number ≥ 0");
        }

        if (options.PaybackHorizon <= TimeSpan.Zero)
        {
            errors.Add("payback_horizon must be positive");
        }

        if (options.CycleHorizon <= TimeSpan.Zero)
        {
            errors.Add("cycle_horizon must be positive");
        }

        if (options.MinOnDwell < TimeSpan.Zero || options.MinOffDwell < TimeSpan.Zero || options.LookaheadHorizon < TimeSpan.Zero)
        {
            errors.Add("dwell times and the look-ahead horizon cannot be negative");
        }

        if (options.MaxPowerChangesPerEvaluation < 1)
        {
            errors.Add("max_power_changes_per_evaluation must be ≥ 1");
        }

        if (options.PowerCapKw is { } cap && (!(cap > 0) || !double.IsFinite(cap)))
        {
            errors.Add("power_cap_kw must be a number > 0");
        }

        if (options.MaxMarketAge <= TimeSpan.Zero)
        {
            errors.Add("max_market_age must be positive");
        }

        if (options.Strike is { } s)
        {
            if (!double.IsFinite(s.SleepAboveUsdPerMwh) || !double.IsFinite(s.WakeBelowUsdPerMwh))
            {
                errors.Add("strike prices must be numbers");
            }
            else if (s.WakeBelowUsdPerMwh > s.SleepAboveUsdPerMwh)
            {
                errors.Add("the wake strike must not be above the sleep strike");
            }

            if (s.SleepAfter < TimeSpan.Zero || s.WakeAfter < TimeSpan.Zero)
            {
                errors.Add("strike durations cannot be negative");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
