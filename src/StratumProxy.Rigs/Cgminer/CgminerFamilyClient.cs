using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.Cgminer;

/// <summary>
/// The families that speak the cgminer API over TCP with extensions of their own (LuxOS, Whatsminer v2, Avalon):
/// one connection, one opening for reading status (summary and pools, mapped by <see cref="CgminerSummary"/>, then
/// what the family reads besides), and the pool switch as cgminer takes it (a family without one says so instead). A family supplies its
/// identity, what it reads beyond the summary, and its writes. Every one reads status, sleeps and wakes; its
/// capabilities add what the family does besides.
/// </summary>
public abstract class CgminerFamilyClient : IRigClient
{
    private protected CgminerFamilyClient(RigEndpoint endpoint, TimeProvider timeProvider, RigFamily family, RigCapabilities familyCapabilities, RigEvidence evidence, string commandKey = "command")
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Family = family;
        Capabilities = RigCapabilities.ReadStatus | RigCapabilities.Sleep | RigCapabilities.Wake | familyCapabilities;
        Evidence = evidence;
        Time = timeProvider;
        Api = new CgminerApi(new TcpRpcTransport(endpoint, timeProvider), commandKey);
    }

    public RigFamily Family { get; }

    public RigCapabilities Capabilities { get; }

    public RigEvidence Evidence { get; }

    /// <summary>The rig's API connection.</summary>
    private protected CgminerApi Api { get; }

    /// <summary>The clock for deadlines, sessions and schedules.</summary>
    private protected TimeProvider Time { get; }

    public Task<RigReadResult> ReadStatusAsync(CancellationToken cancellationToken) =>
        CgminerSummary.ReadStatusAsync(Api, summary => ReadFamilyStatusAsync(summary, cancellationToken), cancellationToken);

    public abstract Task<RigCommandResult> SleepAsync(CancellationToken cancellationToken);

    public abstract Task<RigCommandResult> WakeAsync(CancellationToken cancellationToken);

    public abstract Task<RigCommandResult> SetPowerTargetAsync(int watts, CancellationToken cancellationToken);

    public abstract Task<RigCommandResult> SetWorkModeAsync(RigWorkMode mode, CancellationToken cancellationToken);

    public virtual Task<RigCommandResult> SwitchPoolAsync(int poolIndex, CancellationToken cancellationToken) =>
        CgminerRigClient.SwitchPoolAsync(Api, poolIndex, cancellationToken);

    /// <summary>The family's status: the shared fields of <paramref name="summary"/> with what the family reads besides.</summary>
    private protected abstract Task<RigStatus> ReadFamilyStatusAsync(CgminerSummary summary, CancellationToken cancellationToken);
}
