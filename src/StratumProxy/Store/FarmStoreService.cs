using System.Threading.Channels;
using StratumProxy.Proxy.Control;

namespace StratumProxy.Store;

/// <summary>
/// Every instance's side of the shared store, every <see cref="StoreOptions.PollInterval"/> and whenever the leader
/// NOTIFYs a change: renews the leader's lease (when this instance leads), reports the instance's heartbeat, the sessions it holds and its workers' hashrates; reads what
/// the other instances hold (for the leader's farm-wide view); and applies the desired pool of every rig whose miner
/// is connected here, through the proxy's own switch (inside the proxy: no reconnect). A store that cannot be reached
/// stops none of this instance's proxying: each round that fails is simply tried again at the next one.
/// </summary>
/// <param name="coordinator">This instance's part in the farm.</param>
/// <param name="proxy">The local proxy.</param>
/// <param name="rollupEvery">How often the hashrate roll-ups are written: the evaluation interval (<c>Curtailment:Interval</c>).</param>
/// <param name="time">The clock.</param>
/// <param name="logger">The log.</param>
public sealed partial class FarmStoreService(FarmCoordinator coordinator, IProxyControl proxy, TimeSpan rollupEvery, TimeProvider time, ILogger<FarmStoreService> logger) : BackgroundService
{
    private DateTimeOffset _lastRollup = DateTimeOffset.MinValue;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listening = ListenAsync(stoppingToken);
        using var timer = new PeriodicTimer(coordinator.Options.PollInterval, time);
        var ticks = TickAsync(timer, stoppingToken);
        var pruning = PruneLoopAsync(stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await RoundAsync(stoppingToken).ConfigureAwait(false);
                await _wake.Reader.ReadAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }

        await Task.WhenAll(listening, ticks, pruning).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await coordinator.ResignAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One round: report, read the others, apply the assignments.</summary>
    internal async Task RoundAsync(CancellationToken cancellationToken)
    {
        var store = coordinator.Store;

        // The leader renews its lease every round, so an evaluation that takes long (rig commands wait for their
        // read-back) does not lose it; a leader that dies stops renewing and its lease runs out.
        if (coordinator.Epoch is not null)
        {
            await coordinator.LeadAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var fleet = proxy.Snapshot();
            var sessions = fleet.Sessions.Select(s => new RemoteSession(store.Instance, s.Id, s.Worker, s.Pool, s.Remote, s.ConnectedAt)).ToList();
            var held = new HashSet<string>(sessions.Select(s => s.Worker).OfType<string>(), StringComparer.Ordinal);
            var now = time.GetUtcNow();
            var rollup = now - _lastRollup >= rollupEvery;
            List<RemoteWorker> workers = rollup
                ? [.. fleet.Workers.Where(w => held.Contains(w.Name)).Select(w => new RemoteWorker(w.Name, store.Instance, w.Hashrate5m, w.Accepted, w.AcceptedDifficulty, w.LastShareUnixMs))]
                : [];
            await store.ReportAsync(new InstanceReport(now, _startedAt, coordinator.Epoch is not null, sessions, workers), cancellationToken).ConfigureAwait(false);
            if (rollup)
            {
                _lastRollup = now;
            }

            var lease = coordinator.Options.LeaderLease;
            coordinator.Remote = await store.OthersAsync(lease, rollupEvery * 2 > lease ? rollupEvery * 2 : lease, cancellationToken).ConfigureAwait(false);
            var assignments = await store.AssignmentsAsync(cancellationToken).ConfigureAwait(false);
            coordinator.Reachable();
            Apply(assignments, proxy.Snapshot());
        }
        catch (Exception ex) when (FarmCoordinator.IsUnreachable(ex, cancellationToken))
        {
            coordinator.Unreachable(ex);
        }
    }

    /// <summary>Moves each local session of an assigned, running rig to its assigned pool when it is elsewhere.</summary>
    private void Apply(IReadOnlyList<RigAssignment> assignments, FleetSnapshot fleet)
    {
        var known = proxy.Options.Pools.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var assignment in assignments)
        {
            if (assignment.Power != "running" || assignment.Pool is not { } pool || !known.Contains(pool))
            {
                continue;
            }

            if (!fleet.Sessions.Any(s => s.Worker == assignment.Rig && s.Pool != pool))
            {
                continue;
            }

            try
            {
                var moved = proxy.Switch(pool, [assignment.Rig], pin: true);
                LogApplied(logger, assignment.Rig, pool, assignment.Epoch, moved);
            }
            catch (ArgumentException)
            {
                // The pool left the configuration since the assignment was read: the next round skips it.
            }
        }
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var lost = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await coordinator.Store.ListenAsync(
                    () =>
                    {
                        lost = false;
                        _wake.Writer.TryWrite(true);
                    },
                    stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (FarmCoordinator.IsUnreachable(ex, stoppingToken))
            {
                // Polling carries on; LISTEN again after one interval (said once until it listens again).
                if (!lost)
                {
                    LogListenLost(logger, ex.GetType().Name);
                }

                lost = true;
            }

            try
            {
                await Task.Delay(coordinator.Options.PollInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The leader's pruning of the history tables, apart from the rounds (a long prune never delays a lease renewal or
    /// a heartbeat): looks every <see cref="StoreOptions.PollInterval"/>; the coordinator prunes at most once an hour.
    /// </summary>
    private async Task PruneLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(coordinator.Options.PollInterval, time, stoppingToken).ConfigureAwait(false);
                await coordinator.PruneAsync(time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task TickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                _wake.Writer.TryWrite(true);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    [LoggerMessage(EventId = 976, Level = LogLevel.Information, Message = "Store: {Worker} assigned to {Pool} by the leader (epoch {Epoch}); sessions moved here: {Moved}")]
    private static partial void LogApplied(ILogger logger, string worker, string pool, long epoch, int moved);

    [LoggerMessage(EventId = 977, Level = LogLevel.Warning, Message = "Store: LISTEN for assignments lost ({Kind}); polling meanwhile")]
    private static partial void LogListenLost(ILogger logger, string kind);
}
