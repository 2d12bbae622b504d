namespace StratumProxy.Farm;

/// <summary>
/// Runs the curtailment loop every <see cref="CurtailmentSettings.Interval"/>, and at once when an input moves: a
/// new network difficulty, the price by more than <see cref="PriceMovePercent"/> %, the energy price or tariff band,
/// or a demand-response window starting or ending; also at once at start and after a reload, so the rigs are read and
/// reconciled before anything is assumed. A failing evaluation never stops the proxy. At stop it applies
/// <see cref="CurtailmentSettings.OnShutdown"/>.
/// </summary>
public sealed partial class CurtailmentService(CurtailmentLoop curtailment, FarmEconomics farm, TimeProvider time, ILogger<CurtailmentService> logger, Store.FarmCoordinator? coordinator = null, Hosting.ProxyStarted? proxyStarted = null) : BackgroundService
{
    private int _handedOver;

    /// <summary>
    /// The process is handing its connections to a new one (docs/upgrades.md): the loop stops now, and the stop of the
    /// host later applies no shutdown policy (the new process carries on from the ledger or the store).
    /// </summary>
    public async Task StopForHandoverAsync()
    {
        if (Interlocked.Exchange(ref _handedOver, 1) == 0)
        {
            await base.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>A price move that triggers an evaluation before the interval is up.</summary>
    public const double PriceMovePercent = 2;

    /// <summary>How often the inputs are checked for a move.</summary>
    public static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5);

    private Inputs? _last;
    private DateTimeOffset _lastRun = DateTimeOffset.MinValue;

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!curtailment.Settings.Enabled || !farm.Options.Enabled)
        {
            return;
        }

        if (proxyStarted is not null)
        {
            // A process that takes over starts the loop only once the connections are its own (the old one's loop has
            // stopped by then).
            await proxyStarted.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
        }

        var interval = curtailment.Settings.Interval;
        if (curtailment.TakeReconcileRequest())
        {
            // At start: read every rig and carry on from the ledger at once, not one interval later.
            _last = Read(time.GetUtcNow());
            _lastRun = time.GetUtcNow();
            await EvaluateAsync(stoppingToken).ConfigureAwait(false);
        }

        using var timer = new PeriodicTimer(interval < CheckEvery ? interval : CheckEvery, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = time.GetUtcNow();
                var inputs = Read(now);
                var due = now - _lastRun >= curtailment.Settings.Interval;
                var reconcile = curtailment.TakeReconcileRequest();
                if (!due && !Moved(_last, inputs) && !reconcile)
                {
                    continue;
                }

                _last = inputs;
                _lastRun = now;
                await EvaluateAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _handedOver) != 0)
        {
            return;
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (curtailment.Settings.Enabled && farm.Options.Enabled)
        {
            try
            {
                await curtailment.ShutdownAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(logger, ex);
            }
        }
    }

    /// <summary>
    /// One evaluation. With many instances on a shared store only the leader evaluates: the lease is taken or renewed
    /// first, and an instance that does not lead (or cannot reach the store) holds still until it does.
    /// </summary>
    private async Task EvaluateAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (coordinator is null)
            {
                await curtailment.EvaluateAsync(stoppingToken).ConfigureAwait(false);
                return;
            }

            if (await coordinator.LeadAsync(stoppingToken).ConfigureAwait(false) is { } epoch)
            {
                await curtailment.EvaluateAsLeaderAsync(epoch, stoppingToken).ConfigureAwait(false);
                coordinator.Reachable();
            }
        }
        catch (Store.StaleEpochException ex)
        {
            LogNotLeader(logger, ex.Message);
        }
        catch (Exception ex) when (coordinator is not null && Store.FarmCoordinator.IsUnreachable(ex, stoppingToken))
        {
            coordinator.Unreachable(ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, ex);
        }
    }

    /// <summary>True when the inputs moved enough to decide again before the interval is up.</summary>
    internal static bool Moved(Inputs? before, Inputs now) =>
        before is null
        || !before.Difficulty.Equals(now.Difficulty)
        || Math.Abs(now.Price - before.Price) > before.Price * PriceMovePercent / 100
        || Math.Abs(now.Energy - before.Energy) > Math.Max(1e-6, before.Energy * 0.01)
        || before.Band != now.Band
        || before.DemandResponse != now.DemandResponse;

    private Inputs Read(DateTimeOffset now)
    {
        var market = farm.Market(now, out _, out _);
        var quote = farm.Energy.Tariff.QuoteAt(now);
        return new Inputs(market.Price.UsdPerCoin, market.Difficulty.Value, quote.Price.Value, quote.Band, farm.Energy.CurtailmentAt(now) is not null);
    }

    /// <summary>What the trigger watches.</summary>
    internal sealed record Inputs(double Price, double Difficulty, double Energy, string Band, bool DemandResponse);

    [LoggerMessage(EventId = 964, Level = LogLevel.Warning, Message = "Curtailment evaluation stopped: {Reason}; nothing of it was committed, this instance follows")]
    private static partial void LogNotLeader(ILogger logger, string reason);

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
    public Task<ActuationOutcome> SetModeAsync(RigOptions rig, RigModeOptions mode, CancellationToken cancellationToken) => Task.FromResult(ActuationOutcome.NoApi);

    /// <inheritdoc/>
    public Task<RigReading> ReadAsync(RigOptions rig, CancellationToken cancellationToken) => Task.FromResult(RigReading.NoApi);
}
