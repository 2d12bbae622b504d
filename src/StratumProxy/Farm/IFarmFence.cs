namespace StratumProxy.Farm;

/// <summary>
/// The fence between a leader and the rigs when several instances share one farm: a command is sent only after the
/// store accepted its claim under the leader's epoch and decision id. Absent for a single instance.
/// </summary>
public interface IFarmFence
{
    /// <summary>True when the command may be sent: the epoch is the leader's and the decision was not commanded before.</summary>
    Task<bool> ClaimAsync(long epoch, string decisionId, string rig, string kind, CancellationToken cancellationToken);

    /// <summary>Records what came of a claimed command.</summary>
    Task CompleteAsync(string decisionId, string outcome, string detail, CancellationToken cancellationToken);

    /// <summary>This instance's epoch was refused: it no longer leads.</summary>
    void Deposed();
}
