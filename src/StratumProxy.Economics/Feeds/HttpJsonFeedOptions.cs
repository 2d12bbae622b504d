namespace StratumProxy.Economics.Feeds;

/// <summary>
/// An HTTP JSON poller: where the number is, how often to fetch it, and how long it stays usable. A description
/// only (tariff files name one); the host runs the poller.
/// </summary>
public sealed class HttpJsonFeedOptions
{
    /// <summary>Absolute http(s) URL of the JSON document.</summary>
    public Uri? Url { get; set; }

    /// <summary>Where the number sits in the document (a small JSONPath subset: <c>$</c>, <c>.name</c>, <c>['name']</c> and <c>[index]</c>, e.g. <c>$.bitcoin.usd</c>).</summary>
    public string JsonPath { get; set; } = DefaultJsonPath;

    public TimeSpan Interval { get; set; } = DefaultInterval;

    /// <summary>Whole-poll timeout, including the resilience handler's retries.</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    /// <summary>A value older than this is reported stale and not used as live data.</summary>
    public TimeSpan StalenessLimit { get; set; } = DefaultStalenessLimit;

    /// <summary>The defaults, for settings that describe a feed of their own (the farm's price feed).</summary>
    public const string DefaultJsonPath = "$";

    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan DefaultStalenessLimit = TimeSpan.FromMinutes(10);

    /// <summary>Values outside [Minimum, Maximum] are rejected as bad data.</summary>
    public double Minimum { get; set; }

    public double Maximum { get; set; } = double.MaxValue;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Url is null || !Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttp && Url.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add("Url must be an absolute http or https URL");
        }

        if (string.IsNullOrWhiteSpace(JsonPath))
        {
            errors.Add("JsonPath is required");
        }

        if (Interval <= TimeSpan.Zero || Timeout <= TimeSpan.Zero)
        {
            errors.Add("Interval and Timeout must be positive");
        }

        if (Timeout > Interval)
        {
            errors.Add("Timeout must not exceed Interval");
        }

        if (StalenessLimit < Interval)
        {
            errors.Add("StalenessLimit must be at least one Interval");
        }

        if (!(Minimum <= Maximum))
        {
            errors.Add("Minimum must not exceed Maximum");
        }

        return errors;
    }
}
