using StratumProxy.Curtailment;

namespace StratumProxy.Store;

/// <summary>
/// Where the curtailment loop keeps what must outlive it: each rig's reconciled state (its memory), loop-wide values
/// (the strike-price timers), the energy and money ledger, and (in a shared store) the audit trail and the desired
/// assignment of every rig. <see cref="EnergyLedger"/> (SQLite, one instance) and <see cref="PostgresFarmStore"/>
/// (PostgreSQL, many instances) implement it.
/// </summary>
public interface IFarmStore : IDisposable
{
    /// <summary>True when several instances share the store (one of them leads; memory is loaded when it starts to lead).</summary>
    bool Shared { get; }

    /// <summary>The memory of every rig, as last committed.</summary>
    IReadOnlyDictionary<string, RigMemory> LoadMemory();

    /// <summary>The loop-wide values, as last committed.</summary>
    IReadOnlyDictionary<string, string?> LoadValues();

    /// <summary>
    /// One evaluation's booking, in one transaction. In a shared store the commit is fenced: when
    /// <see cref="FarmCommit.Epoch"/> is no longer the leader's epoch nothing is written and
    /// <see cref="StaleEpochException"/> is thrown.
    /// </summary>
    void Commit(FarmCommit commit);

    /// <summary>The ledger rows of the hours in [from, to), optionally of one rig, in time order.</summary>
    IReadOnlyList<RigHour> Query(DateTimeOffset from, DateTimeOffset to, string? rig = null);
}

/// <summary>What one evaluation (or a shutdown) commits.</summary>
/// <param name="Rows">Amounts added to the rigs' hours.</param>
/// <param name="Memory">Every rig's memory (replaced); in a shared store also each rig's desired assignment.</param>
/// <param name="Forget">Rigs no longer managed.</param>
/// <param name="Values">Loop-wide values.</param>
public sealed record FarmCommit(
    IReadOnlyList<RigHour> Rows,
    IReadOnlyList<RigMemory> Memory,
    IReadOnlyList<string> Forget,
    IReadOnlyDictionary<string, string?> Values)
{
    /// <summary>The leader's epoch (fencing token); null for a store that is not shared.</summary>
    public long? Epoch { get; init; }

    /// <summary>When the evaluation ran (null for a commit that is not an evaluation, e.g. at shutdown).</summary>
    public DateTimeOffset? EvaluatedAt { get; init; }

    /// <summary>The audit lines of the evaluation (rig, time, the JSON line), kept in a shared store beside the files.</summary>
    public IReadOnlyList<AuditRecord> Audit { get; init; } = [];
}

/// <summary>One audit line as the shared store keeps it.</summary>
/// <param name="Rig">The rig it is about.</param>
/// <param name="At">When.</param>
/// <param name="Json">The whole line (the same JSON as in the audit log file).</param>
public sealed record AuditRecord(string Rig, DateTimeOffset At, string Json);

/// <summary>A write carried an epoch that is no longer the leader's: another instance leads now.</summary>
public sealed class StaleEpochException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StaleEpochException()
        : base("the leader's epoch moved on: this instance no longer leads")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public StaleEpochException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public StaleEpochException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
