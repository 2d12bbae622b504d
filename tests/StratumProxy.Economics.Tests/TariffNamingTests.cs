using System.Text;
using StratumProxy.Economics.Feeds;
using StratumProxy.Economics.Tariffs;

namespace StratumProxy.Economics.Tests;

/// <summary>Tariff files may use the appsettings naming (PascalCase, hh:mm:ss) as well as their own snake_case.</summary>
public sealed class TariffNamingTests
{
    private static EnergyCostModel Parse(string json, Func<HttpJsonFeedOptions, IFeedValueSource>? feed = null)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));
        return TariffConfig.Parse(stream, "test.json", feed);
    }

    [Fact]
    public void A_pascal_case_time_of_use_file_reads_like_the_shipped_snake_case_one()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "tariffs", "time-of-use.json");
        using var file = File.OpenRead(path);
        var shipped = TariffConfig.Parse(file, path);
        var pascal = Parse("""
            {
              "Kind": "TimeOfUse",
              "TimeZone": "America/New_York",
              "DefaultUsdPerKwh": 0.055,
              "Seasons": [
                { "Name": "summer", "Months": [6, 7, 8, 9], "Bands": [
                  { "Name": "on-peak", "Days": "Weekday", "From": "14:00", "To": "19:00", "UsdPerKwh": 0.19 },
                  { "Name": "shoulder", "Days": "Weekday", "From": "07:00", "To": "14:00", "UsdPerKwh": 0.09 },
                  { "Name": "off-peak", "Days": "All", "From": "00:00", "To": "00:00", "UsdPerKwh": 0.055 } ] },
                { "Name": "winter", "Months": [1, 2, 3, 4, 5, 10, 11, 12], "Bands": [
                  { "Name": "morning-peak", "Days": "Weekday", "From": "07:00", "To": "11:00", "UsdPerKwh": 0.12 },
                  { "Name": "evening-peak", "Days": "Weekday", "From": "17:00", "To": "21:00", "UsdPerKwh": 0.14 },
                  { "Name": "off-peak", "Days": "All", "From": "00:00", "To": "00:00", "UsdPerKwh": 0.06 } ] }
              ],
              "Pue": 1.1,
              "HostingUsdPerKwh": 0.005,
              "DemandResponse": [ { "From": "2026-07-20T15:00:00-04:00", "To": "2026-07-20T19:00:00-04:00", "Reason": "utility peak-load event" } ]
            }
            """);

        for (var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero); at.Year == 2026; at = at.AddHours(7))
        {
            Assert.Equal(shipped.Tariff.QuoteAt(at), pascal.Tariff.QuoteAt(at));
            Assert.Equal(shipped.PriceAt(at).AllIn, pascal.PriceAt(at).AllIn);
            Assert.Equal(shipped.CurtailmentAt(at) is null, pascal.CurtailmentAt(at) is null);
        }
    }

    [Fact]
    public void A_live_feed_takes_hh_mm_ss_durations_or_seconds()
    {
        HttpJsonFeedOptions? seconds = null;
        HttpJsonFeedOptions? durations = null;
        Parse("""{ "kind": "live", "feed": { "url": "http://127.0.0.1:1/p", "json_path": "$.p", "interval_seconds": 300, "timeout_seconds": 10, "staleness_seconds": 1800 }, "fallback_usd_per_kwh": 0.07 }""",
            o => { seconds = o; return new StaticFeedValue(30); });
        Parse("""{ "Kind": "Live", "Feed": { "Url": "http://127.0.0.1:1/p", "JsonPath": "$.p", "Interval": "00:05:00", "Timeout": "00:00:10", "StalenessLimit": "00:30:00" }, "FallbackUsdPerKwh": 0.07 }""",
            o => { durations = o; return new StaticFeedValue(30); });
        Assert.NotNull(seconds);
        Assert.NotNull(durations);
        Assert.Equal((seconds.Url, seconds.JsonPath, seconds.Interval, seconds.Timeout, seconds.StalenessLimit),
            (durations.Url, durations.JsonPath, durations.Interval, durations.Timeout, durations.StalenessLimit));
        Assert.Equal(TimeSpan.FromMinutes(30), durations.StalenessLimit);
    }

    [Theory]
    [InlineData("""{ "kind": "flat", "usd_per_kwh": 0.1, "UsdPerKwh": 0.2 }""", "given twice")]
    [InlineData("""{ "kind": "live", "feed": { "url": "http://127.0.0.1:1/p", "Interval": "five minutes" }, "fallback_usd_per_kwh": 0.07 }""", "not a duration")]
    [InlineData("""{ "Kind": "Flat", "UsdPerKwh": 0.1, "Colour": "red" }""", "colour")]
    public void Mixed_or_wrong_names_are_refused_with_the_reason(string json, string mentioned)
    {
        var e = Assert.Throws<FormatException>(() => Parse(json, _ => new StaticFeedValue(1)));
        Assert.Contains(mentioned, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("tariff test.json: ", e.Message, StringComparison.Ordinal);
    }
}
