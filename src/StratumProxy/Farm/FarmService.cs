using StratumProxy.Feeds;

namespace StratumProxy.Farm;

/// <summary>Runs the price feed (when one is configured) and evaluates the farm every <see cref="FarmOptions.Interval"/>.</summary>
public sealed partial class FarmService(FarmEconomics farm, TimeProvider time, IServiceProvider services, ILogger<FarmService> logger) : BackgroundService
{
    /// <summary>The keyed service name of the price feed.</summary>
    public const string PriceFeedName = "btc-price";

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!farm.Options.Enabled)
        {
            return;
        }

        var feed = services.GetKeyedService<HttpJsonFeed>(PriceFeedName);
        var feedTask = Task.WhenAll(
            feed?.RunAsync(stoppingToken) ?? Task.CompletedTask,
            services.GetService<LiveFeeds>()?.RunAsync(stoppingToken) ?? Task.CompletedTask);
        using var timer = new PeriodicTimer(farm.Options.Interval, time);
        try
        {
            do
            {
                try
                {
                    farm.Evaluate();
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or ArithmeticException)
                {
                    // Bad inputs (a zero difficulty from a broken feed, say) must not stop the proxy.
                    LogEvaluationFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        try
        {
            await feedTask.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    [LoggerMessage(EventId = 950, Level = LogLevel.Warning, Message = "Farm economics evaluation failed; the previous figures stay")]
    private static partial void LogEvaluationFailed(ILogger logger, Exception exception);
}
