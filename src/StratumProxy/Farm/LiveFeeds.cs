using StratumProxy.Feeds;

namespace StratumProxy.Farm;

/// <summary>
/// The live tariff feeds a tariff file asks for (a $/MWh endpoint): created when the tariff is loaded, polled from
/// the moment the farm service starts until the host stops.
/// </summary>
public sealed class LiveFeeds
{
    private readonly List<HttpJsonFeed> _feeds = [];
    private readonly List<Task> _running = [];
    private readonly Lock _lock = new();
    private CancellationToken? _stopping;

    /// <summary>Registers a feed (and starts it when the service already runs).</summary>
    public HttpJsonFeed Add(HttpJsonFeed feed)
    {
        ArgumentNullException.ThrowIfNull(feed);
        lock (_lock)
        {
            _feeds.Add(feed);
            if (_stopping is { } token)
            {
                _running.Add(feed.RunAsync(token));
            }
        }

        return feed;
    }

    /// <summary>Starts every feed; returns a task that ends when they all have.</summary>
    public Task RunAsync(CancellationToken stopping)
    {
        lock (_lock)
        {
            _stopping = stopping;
            _running.AddRange(_feeds.Select(f => f.RunAsync(stopping)));
            return Task.WhenAll(_running);
        }
    }
}
