using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Control;

namespace StratumProxy.Store;

/// <summary>
/// The proxy as the leader's curtailment loop sees it when many instances share the farm: this instance's fleet with
/// the other instances' sessions and hashrates added (as last reported to the store), so the policy weighs every rig
/// of the farm. A switch moves the sessions held here at once; a rig whose miner is on another instance moves when
/// that instance applies the assignment the leader commits at the end of the evaluation.
/// </summary>
public sealed class FarmProxyControl(IProxyControl local, FarmCoordinator coordinator) : IProxyControl
{
    /// <inheritdoc/>
    public ProxyOptions Options => local.Options;

    /// <inheritdoc/>
    public FleetSnapshot Snapshot() => Merge(local.Snapshot(), null);

    /// <inheritdoc/>
    public FleetSnapshot Snapshot(IReadOnlySet<string> workers)
    {
        ArgumentNullException.ThrowIfNull(workers);
        return Merge(local.Snapshot(workers), workers);
    }

    private FleetSnapshot Merge(FleetSnapshot here, IReadOnlySet<string>? only)
    {
        var remote = coordinator.Remote;
        if (only is not null)
        {
            remote = remote with
            {
                Sessions = [.. remote.Sessions.Where(s => s.Worker is { } w && only.Contains(w))],
                Workers = [.. remote.Workers.Where(w => only.Contains(w.Worker))],
            };
        }

        if (remote.Sessions.Count == 0 && remote.Workers.Count == 0)
        {
            return here;
        }

        var localWorkers = here.Workers.Where(w => w.Sessions > 0).Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        var sessions = here.Sessions.Concat(remote.Sessions
            .Where(s => s.Worker is null || !localWorkers.Contains(s.Worker))
            .Select(s => new SessionView(-s.Id, s.Worker, s.Remote, null, s.Pool, 0, s.ConnectedAt, string.Empty, 0))).ToList();
        var workers = here.Workers.Where(w => localWorkers.Contains(w.Name) || !remote.Workers.Any(r => r.Worker == w.Name))
            .Concat(remote.Workers.Where(r => !localWorkers.Contains(r.Worker)).Select(r => new WorkerView(
                r.Worker, r.Worker, remote.Sessions.Count(s => s.Worker == r.Worker), r.Accepted, 0, 0, 0, 0, 0, 0,
                r.AcceptedDifficulty, r.Hashrate5m, r.Hashrate5m, r.Hashrate5m, double.PositiveInfinity, r.LastShareUnixMs, [])))
            .ToList();
        return new FleetSnapshot(here.At, here.Pools, sessions, workers);
    }

    /// <inheritdoc/>
    public int Switch(string pool, IReadOnlyCollection<string>? workers, bool pin) => local.Switch(pool, workers, pin);

    /// <inheritdoc/>
    public void Unpin(string worker) => local.Unpin(worker);

    /// <inheritdoc/>
    public void ApplyOptions(ProxyOptions options) => local.ApplyOptions(options);
}
