using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StratumProxy.Economics.Feeds;

namespace StratumProxy.Feeds;

/// <summary>Registration of the economics feeds for the host.</summary>
public static class FeedServiceCollectionExtensions
{
    /// <summary>
    /// Registers a named HTTP JSON feed: validated options (at start and on reload), a named HttpClient with the
    /// standard resilience handler (retry with backoff, circuit breaker, attempt timeout), and the feed itself as a
    /// keyed singleton under <paramref name="name"/>. The host runs <see cref="HttpJsonFeed.RunAsync"/>.
    /// </summary>
    public static IHttpClientBuilder AddHttpJsonFeed(this IServiceCollection services, string name, Action<HttpJsonFeedOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        services.AddOptions<HttpJsonFeedOptions>(name).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpJsonFeedOptions>, HttpJsonFeedOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddKeyedSingleton(name, (sp, _) => new HttpJsonFeed(
            sp.GetRequiredService<IHttpClientFactory>(),
            name,
            sp.GetRequiredService<IOptionsMonitor<HttpJsonFeedOptions>>().Get(name),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<HttpJsonFeed>>()));
        var builder = services.AddHttpClient(name);
        builder.AddStandardResilienceHandler();
        return builder;
    }
}
