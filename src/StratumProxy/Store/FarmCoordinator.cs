using Npgsql;
using Prometheus;
using StratumProxy.Farm;

namespace StratumProxy.Store;

/// <summary>
/// This instance's part in a farm of many instances on one shared store: whether it leads (and under which epoch),
/// whether the store can be reached, and what the other instances hold (their sessions and hashrates, refreshed by
/// <see cref="FarmStoreService"/>). The curtailment loop asks it before every evaluation (<see cref="LeadAsync"/>) and
/// before every rig command (<see cref="ClaimAsync"/>). While the store cannot be reached nobody can claim a command:
/// the policy holds still, says so once in the log and in <c>stratumproxy_store_up</c> and
/// <c>stratumproxy_curtailment_holding</c>, and the proxy keeps carrying shares.
/// </summary>
/// <remarks>Nothing is contacted until the first call.</remarks>
public sealed partial class FarmCoordinator(PostgresFarmStore store, StoreOptions options, IMetricFactory metrics, ILogger logger) : IFarmFence
{
    private readonly PostgresFarmStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly ILogger _logger = logger;
    private readonly Gauge _storeUp = metrics.CreateGauge("stratumproxy_store_up", "1 when the shared farm store answered the last call, 0 when it could not be reached.");
    private readonly Gauge _leader = metrics.CreateGauge("stratumproxy_leader", "1 while this instance leads the farm (runs the curtailment policy over every rig), else 0.");
    private readonly Gauge _epochGauge = metrics.CreateGauge("stratumproxy_leader_epoch", "The leader epoch (fencing token) this instance last held; 0 before it first led.");
    private readonly Gauge _holding = metrics.CreateGauge("stratumproxy_curtailment_holding", "1 while the curtailment policy holds still because the shared store cannot be reached.");
    private readonly Counter _errors = metrics.CreateCounter("stratumproxy_store_errors_total", "Calls to the shared farm store that failed because it could not be reached.");
    private readonly Counter _pruned = PrunedCounter(metrics);
    private readonly Counter _refused = metrics.CreateCounter("stratumproxy_store_fenced_writes_total", "Commands and commits the store refused because their epoch was no longer the leader's.");
    private readonly Lock _lock = new();
    private long? _epoch;
    private bool? _reachable;
    private RemoteFleet _remote = RemoteFleet.Empty;
    private DateTimeOffset _lastPrune = DateTimeOffset.MinValue;

    /// <summary>The Store section in force.</summary>
    public StoreOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>The store.</summary>
    public PostgresFarmStore Store => _store;

    /// <summary>The epoch under which this instance leads now (null: it follows, or the store is unreachable).</summary>
    public long? Epoch
    {
        get
        {
            lock (_lock)
            {
                return _epoch;
            }
        }
    }

    /// <summary>False while the store cannot be reached (null before the first call).</summary>
    public bool? StoreReachable
    {
        get
        {
            lock (_lock)
            {
                return _reachable;
            }
        }
    }

    /// <summary>What the other instances hold, as last read.</summary>
    public RemoteFleet Remote
    {
        get
        {
            lock (_lock)
            {
                return _remote;
            }
        }

        set
        {
            lock (_lock)
            {
                _remote = value;
            }
        }
    }

    /// <summary>Takes or renews the lease: the epoch to evaluate under, or null (another instance leads, or the store is down).</summary>
    public async Task<long?> LeadAsync(CancellationToken cancellationToken)
    {
        long? epoch;
        try
        {
            epoch = await _store.TryLeadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnreachable(ex, cancellationToken))
        {
            Unreachable(ex);
            return null;
        }

        Reachable();
        long? before;
        lock (_lock)
        {
            before = _epoch;
            _epoch = epoch;
        }

        _leader.Set(epoch is null ? 0 : 1);
        if (epoch is { } e)
        {
            _epochGauge.Set(e);
        }

        if (before != epoch)
        {
            if (epoch is { } now)
            {
                LogLeading(_logger, Options.Instance, now);
            }
            else
            {
                LogFollowing(_logger, Options.Instance);
            }
        }

        return epoch;
    }

    /// <summary>Steps down: this instance no longer leads (its epoch was refused).</summary>
    public void Deposed()
    {
        _refused.Inc();
        lock (_lock)
        {
            _epoch = null;
        }

        _leader.Set(0);
        LogDeposed(_logger, Options.Instance);
    }

    /// <summary>Gives the lease up on a clean stop, so another instance leads without waiting for it to expire.</summary>
    public async Task ResignAsync(CancellationToken cancellationToken)
    {
        if (Epoch is not { } epoch)
        {
            return;
        }

        try
        {
            await _store.ResignAsync(epoch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnreachable(ex, cancellationToken))
        {
            Unreachable(ex);
        }
    }

    /// <inheritdoc/>
    public async Task<bool> ClaimAsync(long epoch, string decisionId, string rig, string kind, CancellationToken cancellationToken)
    {
        bool claimed;
        try
        {
            claimed = await _store.ClaimCommandAsync(epoch, decisionId, rig, kind, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnreachable(ex, cancellationToken))
        {
            Unreachable(ex);
            return false;
        }

        Reachable();
        if (!claimed)
        {
            LogClaimRefused(_logger, rig, kind, decisionId);
        }

        return claimed;
    }

    /// <inheritdoc/>
    public async Task CompleteAsync(string decisionId, string outcome, string detail, CancellationToken cancellationToken)
    {
        try
        {
            await _store.CompleteCommandAsync(decisionId, outcome, detail, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnreachable(ex, cancellationToken))
        {
            // The command was sent and its audit line written; the commit of this evaluation will fail the same way.
            Unreachable(ex);
        }
    }

    /// <summary>How often the leader prunes the history tables at most.</summary>
    public static readonly TimeSpan PruneEvery = TimeSpan.FromHours(1);

    /// <summary>How many rows one pruning statement deletes at most (each in its own short transaction).</summary>
    public const int PruneBatch = 10_000;

    /// <summary>
    /// While this instance leads and the last prune is at least <see cref="PruneEvery"/> before <paramref name="now"/>,
    /// deletes the evaluations, rig commands and audit lines older than <see cref="StoreOptions.Retention"/>, fenced by
    /// the epoch: the rows deleted per table, or null when it did not prune (a follower, too soon, the store down,
    /// or deposed meanwhile).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>?> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        long epoch;
        lock (_lock)
        {
            if (_epoch is not { } e || now - _lastPrune < PruneEvery)
            {
                return null;
            }

            epoch = e;
            _lastPrune = now;
        }

        IReadOnlyDictionary<string, long> deleted;
        try
        {
            deleted = await _store.PruneAsync(epoch, Options.Retention, PruneBatch, cancellationToken).ConfigureAwait(false);
        }
        catch (StaleEpochException)
        {
            Deposed();
            return null;
        }
        catch (Exception ex) when (IsUnreachable(ex, cancellationToken))
        {
            Unreachable(ex);
            return null;
        }

        Reachable();
        foreach (var (table, rows) in deleted)
        {
            _pruned.WithLabels(table).Inc(rows);
        }

        LogPruned(_logger, Options.Retention, deleted.GetValueOrDefault("evaluation"), deleted.GetValueOrDefault("rig_command"), deleted.GetValueOrDefault("audit"), epoch);
        return deleted;
    }

    /// <summary>The pruning counter, with every table's series exported from start at 0.</summary>
    private static Counter PrunedCounter(IMetricFactory metrics)
    {
        var counter = metrics.CreateCounter("stratumproxy_store_rows_pruned_total", "History rows the leader deleted from the shared store for being older than Store:Retention, by table.", ["table"]);
        foreach (var (table, _) in PostgresFarmStore.PrunedTables)
        {
            counter.WithLabels(table);
        }

        return counter;
    }

    /// <summary>Records that a call to the store succeeded.</summary>
    public void Reachable()
    {
        bool? before;
        lock (_lock)
        {
            before = _reachable;
            _reachable = true;
        }

        _storeUp.Set(1);
        _holding.Set(0);
        if (before == false)
        {
            LogStoreBack(_logger);
        }
    }

    /// <summary>Records that the store could not be reached: this instance stops leading until it answers again.</summary>
    public void Unreachable(Exception exception)
    {
        bool? before;
        lock (_lock)
        {
            before = _reachable;
            _reachable = false;
            _epoch = null;
        }

        _errors.Inc();
        _storeUp.Set(0);
        _holding.Set(1);
        _leader.Set(0);
        if (before != false)
        {
            // Only the exception's type and message: the connection string is never part of what is logged.
            LogStoreDown(_logger, exception.GetType().Name, exception.Message);
        }
    }

    /// <summary>True for the failures that mean the store cannot be reached now (not a bug, not a stop).</summary>
    public static bool IsUnreachable(Exception exception, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested
        && exception is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or IOException
            or OperationCanceledException;

    [LoggerMessage(EventId = 970, Level = LogLevel.Information, Message = "Store: instance {Instance} leads the farm (epoch {Epoch}): it runs the curtailment policy over every rig")]
    private static partial void LogLeading(ILogger logger, string instance, long epoch);

    [LoggerMessage(EventId = 971, Level = LogLevel.Information, Message = "Store: instance {Instance} follows: another instance leads; it applies the assignments for the miners it holds")]
    private static partial void LogFollowing(ILogger logger, string instance);

    [LoggerMessage(EventId = 972, Level = LogLevel.Warning, Message = "Store: instance {Instance} no longer leads (its epoch was refused): it follows")]
    private static partial void LogDeposed(ILogger logger, string instance);

    [LoggerMessage(EventId = 973, Level = LogLevel.Error, Message = "Store unreachable ({Kind}: {Reason}): the proxy keeps carrying shares; the curtailment policy holds still (no rig is commanded) until the store answers")]
    private static partial void LogStoreDown(ILogger logger, string kind, string reason);

    [LoggerMessage(EventId = 974, Level = LogLevel.Information, Message = "Store reachable again: the curtailment policy resumes")]
    private static partial void LogStoreBack(ILogger logger);

    [LoggerMessage(EventId = 975, Level = LogLevel.Warning, Message = "Store: the command {Kind} to {Worker} (decision {Decision}) was refused: the epoch is no longer the leader's, or the decision was already commanded")]
    private static partial void LogClaimRefused(ILogger logger, string worker, string kind, string decision);

    [LoggerMessage(EventId = 978, Level = LogLevel.Information, Message = "Store: pruned the history older than {Retention}: {Evaluations} evaluations, {Commands} rig commands, {Audit} audit lines (epoch {Epoch}); the ledger is kept")]
    private static partial void LogPruned(ILogger logger, TimeSpan retention, long evaluations, long commands, long audit, long epoch);
}
