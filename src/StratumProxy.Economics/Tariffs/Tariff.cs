using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Feeds;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Tariffs;

/// <summary>The energy price in force at one instant and what set it.</summary>
/// <param name="Price">Energy price.</param>
/// <param name="Band">The band, season or source that applies (for logs and the status page).</param>
/// <param name="IsStale">A live price whose feed stopped updating: <paramref name="Price"/> is the fallback.</param>
public readonly record struct TariffQuote(UsdPerKwh Price, string Band, bool IsStale = false);

/// <summary>An electricity tariff: the energy price at any instant.</summary>
public interface ITariff
{
    TariffQuote QuoteAt(DateTimeOffset at);
}

/// <summary>One price at all times.</summary>
public sealed record FlatTariff(UsdPerKwh Price) : ITariff
{
    public TariffQuote QuoteAt(DateTimeOffset at) => new(Price, "flat");
}

/// <summary>
/// A live wholesale price in $/MWh from a feed. While the feed is fresh its price applies (converted to $/kWh and
/// capped at <paramref name="Cap"/> when set); when it is stale or missing the fallback applies and the quote says so.
/// </summary>
public sealed record LiveTariff(IFeedValueSource Feed, UsdPerKwh Fallback, UsdPerKwh? Cap = null) : ITariff
{
    public TariffQuote QuoteAt(DateTimeOffset at)
    {
        var reading = Feed.Read(at);
        if (reading.Value is not { } usdPerMwh || reading.IsStale)
        {
            return new TariffQuote(Fallback, "live feed unavailable: fallback", IsStale: true);
        }

        var price = UsdPerKwh.FromUsdPerMwh(usdPerMwh);
        if (Cap is { } cap && price.Value > cap.Value)
        {
            price = cap;
        }

        return new TariffQuote(price, "live");
    }
}

/// <summary>A period in which the farm has agreed to curtail (demand response), [From, To).</summary>
public sealed record DemandResponseWindow(DateTimeOffset From, DateTimeOffset To, string Reason)
{
    public bool Contains(DateTimeOffset at) => at >= From && at < To;
}

/// <summary>
/// Everything that sets what a rig's kWh costs at an instant: the tariff, the facility's PUE, a hosting fee per
/// kWh, and demand-response windows.
/// </summary>
public sealed record EnergyCostModel(ITariff Tariff, double Pue = 1.0, UsdPerKwh Hosting = default, IReadOnlyList<DemandResponseWindow>? DemandResponse = null)
{
    public EnergyPrice PriceAt(DateTimeOffset at) => new(Tariff.QuoteAt(at).Price, Pue, Hosting);

    /// <summary>The demand-response window in force at <paramref name="at"/>, if any.</summary>
    public DemandResponseWindow? CurtailmentAt(DateTimeOffset at)
    {
        if (DemandResponse is null)
        {
            return null;
        }

        foreach (var w in DemandResponse)
        {
            if (w.Contains(at))
            {
                return w;
            }
        }

        return null;
    }

    /// <summary>Time-weighted mean energy price over [from, from + duration), sampled every <paramref name="step"/>.</summary>
    public UsdPerKwh AverageEnergyPrice(DateTimeOffset from, TimeSpan duration, TimeSpan step)
    {
        if (step <= TimeSpan.Zero || duration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(step), "step and duration must be positive");
        }

        double sum = 0;
        double weight = 0;
        for (var t = TimeSpan.Zero; t < duration; t += step)
        {
            var slice = Math.Min(step.TotalHours, (duration - t).TotalHours);
            sum += Tariff.QuoteAt(from + t).Price.Value * slice;
            weight += slice;
        }

        return new UsdPerKwh(sum / weight);
    }
}
