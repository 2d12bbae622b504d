using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Proxy.Control;

/// <summary>
/// What the host may do with the running proxy: read the fleet (an immutable snapshot), move or pin workers to a
/// pool, and apply a new configuration. Nothing else of the engine is the host's to touch; docs/architecture.md
/// ("The proxy's control surface") lists the rules.
/// </summary>
public interface IProxyControl
{
    /// <summary>The options in force (as last applied; extranonce sizes stay those of the start).</summary>
    ProxyOptions Options { get; }

    /// <summary>
    /// The fleet now: pools, sessions, workers with their books and the extranonce layouts, copied into immutable
    /// records under the engine's own synchronisation, so it can be kept, enumerated and compared at leisure.
    /// </summary>
    FleetSnapshot Snapshot();

    /// <summary>
    /// The fleet now as <see cref="Snapshot()"/> gives it, with the sessions and books of <paramref name="workers"/>
    /// alone (the pools whole, their miner counts over every session): what a loop that weighs a few configured rigs
    /// reads, without copying every session of a large fleet.
    /// </summary>
    FleetSnapshot Snapshot(IReadOnlySet<string> workers);

    /// <summary>
    /// Moves the sessions of <paramref name="workers"/> (null: every authorized session) to the pool now; with
    /// <paramref name="pin"/> they stay there until <see cref="Unpin"/> (a pool that is not ready yet takes pinned
    /// workers when it is), and a named worker with no session now goes there when it connects.
    /// </summary>
    /// <returns>How many sessions moved now.</returns>
    /// <exception cref="ArgumentException">No pool has that name, or a worker name is empty.</exception>
    int Switch(string pool, IReadOnlyCollection<string>? workers, bool pin);

    /// <summary>Removes a pin set by <see cref="Switch"/> (a pin from the configuration stays).</summary>
    void Unpin(string worker);

    /// <summary>Applies a validated configuration while running: limits, pins, difficulty bounds, pools added or removed.</summary>
    void ApplyOptions(ProxyOptions options);
}
