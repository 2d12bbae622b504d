using Microsoft.Extensions.Time.Testing;
using StratumProxy.Economics.Feeds;
using StratumProxy.Economics.Tariffs;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Tests;

public sealed class TimeOfUseTariffTests
{
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    // Winter weekdays: 07:00–11:00 local at 12 ¢, 17:00–21:00 at 14 ¢, otherwise 6 ¢ (a 22:00–06:00 night band at
    // 4 ¢ checks wrap-around). Weekends: 6 ¢ all day.
    private static readonly TimeOfUseTariff Tariff = new(
        NewYork,
        new UsdPerKwh(0.06),
        [
            new TouSeason("winter", new HashSet<int> { 1, 2, 3, 4, 5, 10, 11, 12 },
            [
                new TouBand(DayKind.Weekday, new TimeOnly(7, 0), new TimeOnly(11, 0), new UsdPerKwh(0.12), "morning"),
                new TouBand(DayKind.Weekday, new TimeOnly(17, 0), new TimeOnly(21, 0), new UsdPerKwh(0.14), "evening"),
                new TouBand(DayKind.Weekday, new TimeOnly(22, 0), new TimeOnly(6, 0), new UsdPerKwh(0.04), "night"),
            ]),
            new TouSeason("summer", new HashSet<int> { 6, 7, 8, 9 },
            [
                new TouBand(DayKind.Weekday, new TimeOnly(14, 0), new TimeOnly(19, 0), new UsdPerKwh(0.19), "on-peak"),
            ]),
        ]);

    private static Dictionary<DateTimeOffset, TariffQuote> WalkHourly(DateTimeOffset fromUtc, int hours)
    {
        var clock = new FakeTimeProvider(fromUtc);
        var quotes = new Dictionary<DateTimeOffset, TariffQuote>();
        for (var i = 0; i < hours; i++)
        {
            quotes[clock.GetUtcNow()] = Tariff.QuoteAt(clock.GetUtcNow());
            clock.Advance(TimeSpan.FromHours(1));
        }

        return quotes;
    }

    private static DateTimeOffset Utc(int month, int day, int hour) => new(2026, month, day, hour, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Spring_forward_moves_the_bands_one_hour_earlier_in_utc()
    {
        // DST starts Sunday 2026-03-08 02:00 EST → 03:00 EDT. Friday 6 March is EST (UTC−5), Monday 9 March EDT (UTC−4).
        var quotes = WalkHourly(Utc(3, 6, 0), 24 * 4);

        // Friday: 07:00–11:00 EST = 12:00–16:00 UTC; 17:00–21:00 EST = 22:00–02:00 UTC (next day).
        Assert.Equal("winter/night", quotes[Utc(3, 6, 10)].Band); // 05:00 EST
        Assert.Equal("default", quotes[Utc(3, 6, 11)].Band); // 06:00 EST: the night band ends at 06:00
        Assert.Equal(0.12, quotes[Utc(3, 6, 12)].Price.Value);
        Assert.Equal(0.12, quotes[Utc(3, 6, 15)].Price.Value);
        Assert.Equal(0.06, quotes[Utc(3, 6, 16)].Price.Value);
        Assert.Equal(0.14, quotes[Utc(3, 6, 22)].Price.Value);
        Assert.Equal(0.14, quotes[Utc(3, 7, 1)].Price.Value); // Friday 20:00 EST
        Assert.Equal(0.06, quotes[Utc(3, 7, 2)].Price.Value); // Friday 21:00 EST

        // Monday: 07:00–11:00 EDT = 11:00–15:00 UTC.
        Assert.Equal(0.04, quotes[Utc(3, 9, 9)].Price.Value); // 05:00 EDT: night band
        Assert.Equal(0.06, quotes[Utc(3, 9, 10)].Price.Value); // 06:00 EDT
        Assert.Equal(0.12, quotes[Utc(3, 9, 11)].Price.Value); // 07:00 EDT
        Assert.Equal(0.12, quotes[Utc(3, 9, 14)].Price.Value);
        Assert.Equal(0.06, quotes[Utc(3, 9, 15)].Price.Value); // 11:00 EDT
        Assert.Equal(0.14, quotes[Utc(3, 9, 21)].Price.Value); // 17:00 EDT

        // The weekend is off-peak all day, and Sunday 8 March has only 23 local hours.
        var sunday = quotes.Keys.Where(t => TimeZoneInfo.ConvertTime(t, NewYork).Date == new DateTime(2026, 3, 8)).ToList();
        Assert.Equal(23, sunday.Count);
        Assert.All(sunday, t => Assert.Equal(0.06, quotes[t].Price.Value));
    }

    [Fact]
    public void Fall_back_moves_the_bands_one_hour_later_in_utc_and_the_day_has_25_hours()
    {
        // DST ends Sunday 2026-11-01 02:00 EDT → 01:00 EST.
        var quotes = WalkHourly(Utc(10, 30, 0), 24 * 5);

        // Friday 30 October (EDT): evening peak 17:00–21:00 = 21:00–01:00 UTC.
        Assert.Equal(0.06, quotes[Utc(10, 30, 20)].Price.Value);
        Assert.Equal(0.14, quotes[Utc(10, 30, 21)].Price.Value);
        Assert.Equal(0.04, quotes[Utc(10, 31, 2)].Price.Value); // 22:00 EDT Friday: night band

        // Monday 2 November (EST): evening peak = 22:00–02:00 UTC.
        Assert.Equal(0.06, quotes[Utc(11, 2, 21)].Price.Value);
        Assert.Equal(0.14, quotes[Utc(11, 2, 22)].Price.Value);
        Assert.Equal(0.14, quotes[Utc(11, 3, 1)].Price.Value);
        Assert.Equal(0.04, quotes[Utc(11, 3, 3)].Price.Value);

        var sunday = quotes.Keys.Where(t => TimeZoneInfo.ConvertTime(t, NewYork).Date == new DateTime(2026, 11, 1)).ToList();
        Assert.Equal(25, sunday.Count);
    }

    [Fact]
    public void Seasons_select_their_bands()
    {
        // Wednesday 15 July 2026 15:00 EDT = 19:00 UTC: summer on-peak. 20:00 EDT: summer has no band → default.
        Assert.Equal(new TariffQuote(new UsdPerKwh(0.19), "summer/on-peak"), Tariff.QuoteAt(Utc(7, 15, 19)));
        Assert.Equal(new TariffQuote(new UsdPerKwh(0.06), "default"), Tariff.QuoteAt(Utc(7, 16, 0)));
    }
}

public sealed class EnergyCostModelTests
{
    private sealed class StubFeed(FeedReading reading) : IFeedValueSource
    {
        public FeedReading Read(DateTimeOffset now) => reading;
    }

    [Fact]
    public void Live_tariff_converts_mwh_caps_and_falls_back_when_stale()
    {
        var now = DateTimeOffset.UnixEpoch;
        var fresh = new LiveTariff(new StubFeed(new FeedReading(42.5, now, false, null, "u")), new UsdPerKwh(0.07), new UsdPerKwh(0.5));
        Assert.Equal(new TariffQuote(new UsdPerKwh(0.0425), "live"), fresh.QuoteAt(now));

        var spike = new LiveTariff(new StubFeed(new FeedReading(9000, now, false, null, "u")), new UsdPerKwh(0.07), new UsdPerKwh(0.5));
        Assert.Equal(0.5, spike.QuoteAt(now).Price.Value);

        var negative = new LiveTariff(new StubFeed(new FeedReading(-12, now, false, null, "u")), new UsdPerKwh(0.07));
        Assert.Equal(-0.012, negative.QuoteAt(now).Price.Value, 12);

        var stale = new LiveTariff(new StubFeed(new FeedReading(42.5, now, true, "HTTP 503", "u")), new UsdPerKwh(0.07));
        var q = stale.QuoteAt(now);
        Assert.True(q.IsStale);
        Assert.Equal(0.07, q.Price.Value);
    }

    [Fact]
    public void Pue_hosting_and_demand_response_windows()
    {
        var from = new DateTimeOffset(2026, 7, 20, 15, 0, 0, TimeSpan.FromHours(-4));
        var model = new EnergyCostModel(
            new FlatTariff(new UsdPerKwh(0.05)), 1.2, new UsdPerKwh(0.01), [new DemandResponseWindow(from, from.AddHours(4), "peak")]);
        Assert.Equal(0.07, model.PriceAt(from).AllIn.Value, 12);
        Assert.Null(model.CurtailmentAt(from.AddMinutes(-1)));
        Assert.Equal("peak", model.CurtailmentAt(from)!.Reason);
        Assert.NotNull(model.CurtailmentAt(from.AddHours(4).AddTicks(-1)));
        Assert.Null(model.CurtailmentAt(from.AddHours(4)));
    }

    [Fact]
    public void Average_price_over_a_day_weights_each_band_by_its_hours()
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var tariff = new TimeOfUseTariff(zone, new UsdPerKwh(0.10), [
            new TouSeason("all", new HashSet<int>(Enumerable.Range(1, 12)),
                [new TouBand(DayKind.All, new TimeOnly(8, 0), new TimeOnly(20, 0), new UsdPerKwh(0.30), "day")]),
        ]);
        var model = new EnergyCostModel(tariff);
        // 12 h at 0.30 + 12 h at 0.10 over a normal Berlin day (midnight CET = 23:00 UTC the day before).
        var avg = model.AverageEnergyPrice(new DateTimeOffset(2026, 1, 14, 23, 0, 0, TimeSpan.Zero), TimeSpan.FromDays(1), TimeSpan.FromMinutes(15));
        Assert.Equal(0.20, avg.Value, 12);
    }
}

public sealed class TariffConfigTests
{
    private static string File(string name) => Path.Combine(AppContext.BaseDirectory, "tariffs", name);

    private static EnergyCostModel Load(string path, Func<HttpJsonFeedOptions, IFeedValueSource>? liveFeed = null)
    {
        using var stream = System.IO.File.OpenRead(path);
        return TariffConfig.Parse(stream, path, liveFeed);
    }

    [Fact]
    public void Flat_example_loads()
    {
        var model = Load(File("flat.json"));
        Assert.Equal(0.08, model.Tariff.QuoteAt(DateTimeOffset.UnixEpoch).Price.Value);
        Assert.Equal(1.05, model.Pue);
    }

    [Fact]
    public void Time_of_use_example_loads_with_its_zone_and_demand_response()
    {
        var model = Load(File("time-of-use.json"));
        // Monday 20 July 2026 15:00 EDT: summer weekday on-peak, and inside the demand-response event.
        var at = new DateTimeOffset(2026, 7, 20, 19, 0, 0, TimeSpan.Zero);
        Assert.Equal(new TariffQuote(new UsdPerKwh(0.19), "summer/on-peak"), model.Tariff.QuoteAt(at));
        Assert.NotNull(model.CurtailmentAt(at));
        // Saturday 18 July 12:00 EDT: off-peak band.
        Assert.Equal("summer/off-peak", model.Tariff.QuoteAt(new DateTimeOffset(2026, 7, 18, 16, 0, 0, TimeSpan.Zero)).Band);
        Assert.Equal((0.19 * 1.1) + 0.005, model.PriceAt(at).AllIn.Value, 12);
    }

    [Fact]
    public void Live_example_hands_its_feed_options_to_the_factory()
    {
        HttpJsonFeedOptions? seen = null;
        var model = Load(File("live-feed.json"), o =>
        {
            seen = o;
            return new StaticFeedValue(30);
        });
        Assert.Equal("$.data[0].price_usd_per_mwh", seen!.JsonPath);
        Assert.Equal(TimeSpan.FromMinutes(30), seen.StalenessLimit);
        Assert.Equal(0.03, model.Tariff.QuoteAt(DateTimeOffset.UnixEpoch).Price.Value, 12);
    }

    [Theory]
    [InlineData("""{"kind":"flat"}""", "usd_per_kwh")]
    [InlineData("""{"kind":"flat","usd_per_kwh":-0.1}""", "usd_per_kwh")]
    [InlineData("""{"kind":"time_of_use","time_zone":"Mars/Olympus","default_usd_per_kwh":0.1}""", "Mars/Olympus")]
    [InlineData("""{"kind":"time_of_use","time_zone":"America","default_usd_per_kwh":0.1}""", "time_zone 'America'")]
    [InlineData("""{"kind":"time_of_use","time_zone":"Etc/","default_usd_per_kwh":0.1}""", "time_zone 'Etc/'")]
    [InlineData("""{"kind":"hourly"}""", "kind")]
    [InlineData("""{"kind":"flat","usd_per_kwh":0.1,"pue":0.8}""", "pue")]
    [InlineData("""{"kind":"flat","usd_per_kwh":0.1,"colour":"red"}""", "colour")]
    public void Bad_tariffs_are_refused_with_the_reason(string json, string mentioned)
    {
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json));
        var e = Assert.Throws<FormatException>(() => TariffConfig.Parse(stream, "test.json"));
        Assert.Contains(mentioned, e.Message, StringComparison.Ordinal);
    }
    // Found by the tariff-file fuzz target: bytes that are not UTF-8 inside a name, a duration too long for a
    // TimeSpan, and a name given twice escaped as InvalidOperationException, OverflowException and ArgumentException
    // instead of the documented FormatException (`economics --tariff FILE` then died with a stack trace).
    [Theory]
    [InlineData("{\"kind\":\"flat\",\"usd_per_\u00d6wh\":0.085}", true)]
    [InlineData("{\"kind\":\"\u0080lat\",\"usd_per_kwh\":0.085}", true)]
    [InlineData("{\"kind\":\"live\",\"feed\":{\"url\":\"https://p.example/x\",\"json_path\":\"$.p\",\"interval_seconds\":3000000000000000},\"fallback_usd_per_kwh\":0.07}", false)]
    [InlineData("{\"kind\":\"flat\",\"usd_per_kwh\":0.085,\"pue\":1.1,\"pue\":1.2}", false)]
    public void Tariff_files_with_bytes_that_are_not_utf8_or_durations_out_of_range_are_refused(string text, bool latin1)
    {
        // The Latin-1 rows put one raw byte >= 0x80 into the file: invalid UTF-8, as the fuzzer's inputs did.
        var bytes = latin1 ? System.Text.Encoding.Latin1.GetBytes(text) : System.Text.Encoding.UTF8.GetBytes(text);
        using var stream = new MemoryStream(bytes);
        Assert.Throws<FormatException>(() => TariffConfig.Parse(stream, "test.json", _ => new StaticFeedValue(0.05)));
    }
}
