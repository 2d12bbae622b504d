using System.Globalization;
using System.Security;
using System.Text.Json;
using System.Text.Json.Nodes;
using StratumProxy.Economics.Feeds;
using StratumProxy.Economics.Serialization;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Tariffs;

/// <summary>
/// Reads a tariff file's JSON (config/tariffs/*.json) into an <see cref="EnergyCostModel"/>; the caller opens the
/// file. A live tariff needs a feed: the caller turns the file's feed options into one (the host polls it over HTTP).
/// </summary>
public static class TariffConfig
{
    public static EnergyCostModel Parse(Stream json, string origin, Func<HttpJsonFeedOptions, IFeedValueSource>? liveFeed = null)
    {
        TariffDocument? doc;
        try
        {
            var node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            doc = node is null ? null : Normalize(node).Deserialize(EconomicsConfigJsonContext.Default.TariffDocument);
        }
        // InvalidOperationException: a name or string that is not valid UTF-8 (System.Text.Json refuses to transcode it);
        // ArgumentException: a name given twice in one object.
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException($"tariff {origin}: {e.Message}", e);
        }

        if (doc is null)
        {
            throw new FormatException($"tariff {origin}: empty document");
        }

        try
        {
            return Build(doc, liveFeed);
        }
        // OverflowException: a duration in seconds too large for a TimeSpan.
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            throw new FormatException($"tariff {origin}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Tariff files are written in either naming style: the files' own snake_case with <c>*_seconds</c>
    /// (<c>"usd_per_kwh"</c>, <c>"interval_seconds": 300</c>), or the appsettings style, PascalCase with
    /// <c>hh:mm:ss</c> durations (<c>"UsdPerKwh"</c>, <c>"Interval": "00:05:00"</c>, <c>"Kind": "TimeOfUse"</c>).
    /// Both become the snake_case document.
    /// </summary>
    private static JsonNode Normalize(JsonNode node)
    {
        switch (node)
        {
            case JsonObject obj:
                var result = new JsonObject();
                foreach (var (name, value) in obj.ToList())
                {
                    var key = JsonNamingPolicy.SnakeCaseLower.ConvertName(name);
                    var copy = value is null ? null : Normalize(value.DeepClone());
                    if (key is "interval" or "timeout" or "staleness" or "staleness_limit"
                        && copy is JsonValue duration && duration.TryGetValue<string>(out var text))
                    {
                        if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span))
                        {
                            throw new FormatException($"'{name}': '{text}' is not a duration (hh:mm:ss)");
                        }

                        key = (key == "staleness_limit" ? "staleness" : key) + "_seconds";
                        copy = JsonValue.Create(span.TotalSeconds);
                    }
                    else if (key is "kind" or "days" && copy is JsonValue word && word.TryGetValue<string>(out var label))
                    {
                        copy = JsonValue.Create(JsonNamingPolicy.SnakeCaseLower.ConvertName(label));
                    }

                    if (!result.TryAdd(key, copy))
                    {
                        throw new FormatException($"'{name}' is given twice (as {key} in the other naming style)");
                    }
                }

                return result;
            case JsonArray array:
                var items = new JsonArray();
                foreach (var item in array)
                {
                    items.Add(item is null ? null : Normalize(item.DeepClone()));
                }

                return items;
            default:
                return node;
        }
    }

    /// <summary>The feed options of a live tariff file, for the host to register the poller.</summary>
    public static HttpJsonFeedOptions FeedOptions(TariffFeed feed)
    {
        ArgumentNullException.ThrowIfNull(feed);
        var options = new HttpJsonFeedOptions
        {
            Url = Uri.TryCreate(feed.Url, UriKind.Absolute, out var url) ? url : null,
            JsonPath = feed.JsonPath ?? "$",
            Interval = TimeSpan.FromSeconds(feed.IntervalSeconds ?? 300),
            Timeout = TimeSpan.FromSeconds(feed.TimeoutSeconds ?? 10),
            StalenessLimit = TimeSpan.FromSeconds(feed.StalenessSeconds ?? 1800),
            Minimum = -1000, // wholesale $/MWh can go negative
            Maximum = 100_000,
        };
        var errors = options.Validate();
        return errors.Count > 0 ? throw new FormatException("feed: " + string.Join("; ", errors)) : options;
    }

    private static EnergyCostModel Build(TariffDocument doc, Func<HttpJsonFeedOptions, IFeedValueSource>? liveFeed)
    {
        ITariff tariff = doc.Kind switch
        {
            "flat" => new FlatTariff(Price(doc.UsdPerKwh, "usd_per_kwh")),
            "time_of_use" => BuildTimeOfUse(doc),
            "live" => new LiveTariff(
                (liveFeed ?? throw new ArgumentException("a live tariff needs a feed factory"))(
                    FeedOptions(doc.Feed ?? throw new ArgumentException("a live tariff needs 'feed'"))),
                Price(doc.FallbackUsdPerKwh, "fallback_usd_per_kwh"),
                doc.CapUsdPerKwh is { } cap ? Price(cap, "cap_usd_per_kwh") : null),
            _ => throw new ArgumentException($"kind must be flat, time_of_use or live, not '{doc.Kind}'"),
        };

        var pue = doc.Pue ?? 1.0;
        if (!(pue >= 1.0 && pue < 3.0))
        {
            throw new ArgumentException("pue must be in [1, 3)");
        }

        var windows = new List<DemandResponseWindow>();
        foreach (var w in doc.DemandResponse ?? [])
        {
            if (w.To <= w.From)
            {
                throw new ArgumentException("a demand-response window must end after it starts");
            }

            windows.Add(new DemandResponseWindow(w.From, w.To, w.Reason ?? "demand response"));
        }

        return new EnergyCostModel(tariff, pue, doc.HostingUsdPerKwh is { } h ? Price(h, "hosting_usd_per_kwh") : default, windows);
    }

    private static TimeOfUseTariff BuildTimeOfUse(TariffDocument doc)
    {
        var zone = Zone(doc.TimeZone ?? throw new ArgumentException("time_of_use needs time_zone"));
        var seasons = new List<TouSeason>();
        foreach (var s in doc.Seasons ?? [])
        {
            var months = new HashSet<int>(s.Months is { Count: > 0 } m ? m : Enumerable.Range(1, 12));
            if (months.Any(x => x is < 1 or > 12))
            {
                throw new ArgumentException($"season '{s.Name}': months are 1–12");
            }

            var bands = new List<TouBand>();
            foreach (var b in s.Bands ?? [])
            {
                var days = b.Days switch
                {
                    null or "all" => DayKind.All,
                    "weekday" => DayKind.Weekday,
                    "weekend" => DayKind.Weekend,
                    _ => throw new ArgumentException($"band '{b.Name}': days must be all, weekday or weekend"),
                };
                bands.Add(new TouBand(days, Time(b.From), Time(b.To), Price(b.UsdPerKwh, $"band '{b.Name}' usd_per_kwh"), b.Name ?? "band"));
            }

            seasons.Add(new TouSeason(s.Name ?? "season", months, bands));
        }

        return new TimeOfUseTariff(zone, Price(doc.DefaultUsdPerKwh, "default_usd_per_kwh"), seasons);
    }

    /// <summary>
    /// The tariff's time zone by its IANA name. A region's name alone (<c>America</c>, <c>Etc</c>) names a folder of
    /// the zone database, which the runtime reports as a file it may not read (<see cref="SecurityException"/>); it is
    /// refused like an unknown name.
    /// </summary>
    private static TimeZoneInfo Zone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or SecurityException)
        {
            var why = e is SecurityException ? "names a folder of zones or a file that cannot be read" : e.Message;
            throw new ArgumentException($"time_zone '{id}' is not a time zone: {why} (an IANA name such as America/New_York)", e);
        }
    }

    private static TimeOnly Time(string? hhmm) =>
        TimeOnly.TryParseExact(hhmm, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)
            ? t
            : throw new ArgumentException($"time '{hhmm}' is not HH:mm");

    private static UsdPerKwh Price(double? value, string field) =>
        value is { } v && v >= 0 && double.IsFinite(v) ? new UsdPerKwh(v) : throw new ArgumentException($"{field} must be a number ≥ 0");
}

public sealed class TariffDocument
{
    public string? Kind { get; set; }
    public string? Description { get; set; }
    public double? UsdPerKwh { get; set; }
    public string? TimeZone { get; set; }
    public double? DefaultUsdPerKwh { get; set; }
    public List<TariffSeason>? Seasons { get; set; }
    public TariffFeed? Feed { get; set; }
    public double? FallbackUsdPerKwh { get; set; }
    public double? CapUsdPerKwh { get; set; }
    public double? Pue { get; set; }
    public double? HostingUsdPerKwh { get; set; }
    public List<TariffDemandResponse>? DemandResponse { get; set; }
}

public sealed class TariffSeason
{
    public string? Name { get; set; }
    public List<int>? Months { get; set; }
    public List<TariffBand>? Bands { get; set; }
}

public sealed class TariffBand
{
    public string? Name { get; set; }
    public string? Days { get; set; }
    public string? From { get; set; }
    public string? To { get; set; }
    public double? UsdPerKwh { get; set; }
}

public sealed class TariffFeed
{
    public string? Url { get; set; }
    public string? JsonPath { get; set; }
    public double? IntervalSeconds { get; set; }
    public double? TimeoutSeconds { get; set; }
    public double? StalenessSeconds { get; set; }
}

public sealed class TariffDemandResponse
{
    public DateTimeOffset From { get; set; }
    public DateTimeOffset To { get; set; }
    public string? Reason { get; set; }
}
