namespace StratumProxy.Economics.Feeds;

/// <summary>The latest value a feed has, how old it is, and whether it may still be used.</summary>
/// <param name="Value">Latest good value, or null before the first one.</param>
/// <param name="ObservedAt">When that value was fetched.</param>
/// <param name="IsStale">No value, or the value is older than the feed's staleness limit.</param>
/// <param name="LastError">The last poll's error, or null after a good poll.</param>
/// <param name="Source">Where the value comes from (URL or "static").</param>
public readonly record struct FeedReading(double? Value, DateTimeOffset? ObservedAt, bool IsStale, string? LastError, string Source)
{
    public TimeSpan? AgeAt(DateTimeOffset now) => ObservedAt is { } t ? now - t : null;
}

/// <summary>Anything that yields a number over time: a coin price, a $/MWh price.</summary>
public interface IFeedValueSource
{
    FeedReading Read(DateTimeOffset now);
}

/// <summary>A value from configuration: never stale.</summary>
public sealed record StaticFeedValue(double Value) : IFeedValueSource
{
    public FeedReading Read(DateTimeOffset now) => new(Value, now, IsStale: false, LastError: null, Source: "static");
}
