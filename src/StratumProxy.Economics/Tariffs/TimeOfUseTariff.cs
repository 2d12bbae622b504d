using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Tariffs;

/// <summary>Which days a band applies to.</summary>
public enum DayKind
{
    All,
    Weekday,
    Weekend,
}

/// <summary>
/// A price for a span of local clock time on some days. [From, To) in local wall-clock time; To ≤ From wraps past
/// midnight (22:00–06:00), and From = To = 00:00 is the whole day.
/// </summary>
public sealed record TouBand(DayKind Days, TimeOnly From, TimeOnly To, UsdPerKwh Price, string Name)
{
    public bool Matches(DateTime local)
    {
        var isWeekend = local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;
        if ((Days == DayKind.Weekday && isWeekend) || (Days == DayKind.Weekend && !isWeekend))
        {
            return false;
        }

        var time = TimeOnly.FromDateTime(local);
        return From < To ? time >= From && time < To : time >= From || time < To;
    }
}

/// <summary>A season: the months it covers and its bands, checked in order (first match wins).</summary>
public sealed record TouSeason(string Name, IReadOnlySet<int> Months, IReadOnlyList<TouBand> Bands);

/// <summary>
/// A time-of-use tariff in the utility's own time zone: the instant is converted to local wall-clock time with
/// <see cref="TimeZoneInfo"/>, so DST changes move the bands in UTC exactly as the utility's clock does.
/// </summary>
public sealed record TimeOfUseTariff(TimeZoneInfo Zone, UsdPerKwh DefaultPrice, IReadOnlyList<TouSeason> Seasons) : ITariff
{
    public TariffQuote QuoteAt(DateTimeOffset at)
    {
        var local = TimeZoneInfo.ConvertTime(at, Zone).DateTime;
        foreach (var season in Seasons)
        {
            if (!season.Months.Contains(local.Month))
            {
                continue;
            }

            foreach (var band in season.Bands)
            {
                if (band.Matches(local))
                {
                    return new TariffQuote(band.Price, season.Name + "/" + band.Name);
                }
            }
        }

        return new TariffQuote(DefaultPrice, "default");
    }
}
