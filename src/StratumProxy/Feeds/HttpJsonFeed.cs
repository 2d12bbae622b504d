using System.Globalization;
using System.Text.Json;
using StratumProxy.Economics.Feeds;

namespace StratumProxy.Feeds;

/// <summary>
/// Polls one number from an HTTP JSON endpoint. The HttpClient comes from IHttpClientFactory (with the standard
/// resilience handler, see <see cref="FeedServiceCollectionExtensions"/>); each poll has its own timeout on the
/// injected TimeProvider. A failed poll keeps the last good value but records the error, and a value older than the
/// staleness limit is reported stale: callers see it and fall back, it is never silently used forever.
/// </summary>
public sealed partial class HttpJsonFeed : IFeedValueSource
{
    private readonly IHttpClientFactory _clients;
    private readonly string _clientName;
    private readonly HttpJsonFeedOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile State _state = new(null, null, null);

    public HttpJsonFeed(IHttpClientFactory clients, string clientName, HttpJsonFeedOptions options, TimeProvider time, ILogger<HttpJsonFeed> logger)
    {
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid feed options: " + string.Join("; ", errors), nameof(options));
        }

        _clients = clients;
        _clientName = clientName;
        _options = options;
        _time = time;
        _logger = logger;
        Source = Hosting.Secrets.Url(options.Url!);
    }

    /// <summary>The feed's URL as it may be logged and shown: query values (an API key) masked, no user or password.</summary>
    public string Source { get; }

    public FeedReading Read(DateTimeOffset now)
    {
        var s = _state;
        var stale = s.Value is null || s.ObservedAt is not { } at || now - at > _options.StalenessLimit;
        return new FeedReading(s.Value, s.ObservedAt, stale, s.Error, Source);
    }

    /// <summary>Fetches once now. Never throws for feed trouble: the error lands in the reading.</summary>
    public async Task<FeedReading> PollOnceAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        string? error;
        try
        {
            var client = _clients.CreateClient(_clientName);
            using var response = await client.GetAsync(_options.Url, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                error = string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode}");
            }
            else
            {
                var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    using var doc = await JsonDocument.ParseAsync(stream, cancellationToken: linked.Token).ConfigureAwait(false);
                    var value = JsonPathExtractor.ExtractNumber(doc.RootElement, _options.JsonPath);
                    if (!double.IsFinite(value) || value < _options.Minimum || value > _options.Maximum)
                    {
                        error = string.Create(CultureInfo.InvariantCulture, $"value {value} outside [{_options.Minimum}, {_options.Maximum}]");
                    }
                    else
                    {
                        _state = new State(value, _time.GetUtcNow(), null);
                        return Read(_time.GetUtcNow());
                    }
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"timed out after {_options.Timeout.TotalSeconds:0.#} s");
        }
        // InvalidOperationException: a string in the body that is not valid UTF-8 (System.Text.Json refuses to transcode it).
        // ExecutionRejectedException: the resilience handler's own refusals (its total timeout, an open circuit), which
        // end the poll before this one's timeout when that is the longer.
        catch (Exception e) when (e is HttpRequestException or JsonException or FormatException or IOException or InvalidOperationException or Polly.ExecutionRejectedException)
        {
            error = e.GetType().Name + ": " + e.Message;
        }

        var previous = _state;
        _state = previous with { Error = error };
        LogPollFailed(_logger, Source, error);
        return Read(_time.GetUtcNow());
    }

    /// <summary>Polls now and then every interval until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.Interval, _time);
        do
        {
            var reading = await PollOnceAsync(cancellationToken).ConfigureAwait(false);
            if (reading.IsStale)
            {
                LogStale(_logger, Source, reading.ObservedAt);
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Feed {Source} poll failed: {Error}")]
    private static partial void LogPollFailed(ILogger logger, string source, string? error);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Feed {Source} is stale (last good value at {ObservedAt})")]
    private static partial void LogStale(ILogger logger, string source, DateTimeOffset? observedAt);

    private sealed record State(double? Value, DateTimeOffset? ObservedAt, string? Error);
}
