using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace StratumProxy.Farm;

/// <summary>Runs the curtailment loop every <see cref="CurtailmentSettings.Interval"/>; a failing evaluation never stops the proxy.</summary>
public sealed partial class CurtailmentService(CurtailmentLoop curtailment, FarmEconomics farm, TimeProvider time, ILogger<CurtailmentService> logger) : BackgroundService
{
    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!curtailment.Settings.Enabled || !farm.Options.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(curtailment.Settings.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await curtailment.EvaluateAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    [LoggerMessage(EventId = 962, Level = LogLevel.Error, Message = "Curtailment evaluation failed; rigs keep their state")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}

/// <summary>The actuator when no rig management adapter is available: every command is unsupported, reads give nothing.</summary>
public sealed class NoRigActuator : IRigActuator
{
    /// <inheritdoc/>
    public Task<ActuationOutcome> SleepAsync(RigOptions rig, CancellationToken cancellationToken) => Task.FromResult(ActuationOutcome.NoApi);

    /// <inheritdoc/>
    public Task<ActuationOutcome> WakeAsync(RigOptions rig, CancellationToken cancellationToken) => Task.FromResult(ActuationOutcome.NoApi);

    /// <inheritdoc/>
    public Task<double?> ReadHashrateAsync(RigOptions rig, CancellationToken cancellationToken) => Task.FromResult<double?>(null);
}
