namespace StratumProxy.Rigs;

public enum RigFailureReason
{
    /// <summary>The rig refused the command for lack of rights (cgminer Code 45, Whatsminer 45/135/-4, HTTP 401/403).</summary>
    AccessDenied,

    /// <summary>The rig is held by someone else (LuxOS session, Whatsminer token limit).</summary>
    Busy,

    /// <summary>No reply in time, for a command that changes nothing (reads, connects).</summary>
    Timeout,

    /// <summary>The connection closed before any reply byte, for a command that changes nothing.</summary>
    ConnectionClosedWithoutReply,

    /// <summary>The reply could not be read (not JSON, undecryptable, missing fields).</summary>
    InvalidReply,

    /// <summary>The rig answered with an error status for the command.</summary>
    Rejected,

    /// <summary>No TCP connection could be made: nothing was sent, so the command may be tried again.</summary>
    ConnectFailed,

    /// <summary>The rig could not be reached after the bounded connect attempts, or was marked so earlier and is left alone.</summary>
    Unreachable,

    /// <summary>The caller cancelled before the command was sent.</summary>
    Cancelled,
}

/// <summary>What a read-back must show for a write to count as done; null fields are not checked.</summary>
public sealed record RigExpectation
{
    public RigMiningState? State { get; init; }

    public int? PowerLimitWatts { get; init; }

    public RigWorkMode? WorkMode { get; init; }

    public string? Profile { get; init; }

    public int? ActivePoolIndex { get; init; }

    public bool IsMetBy(RigStatus status) =>
        (State is null || status.State == State)
        && (PowerLimitWatts is null || status.PowerLimitWatts == PowerLimitWatts)
        && (WorkMode is null || status.WorkMode == WorkMode)
        && (Profile is null || string.Equals(status.Profile, Profile, StringComparison.OrdinalIgnoreCase))
        && (ActivePoolIndex is null || status.ActivePool?.Index == ActivePoolIndex);
}

/// <summary>The outcome of one rig command, for the caller and the audit log.</summary>
public abstract record RigCommandResult
{
    private protected RigCommandResult(string detail) => Detail = detail;

    public string Detail { get; init; }
}

/// <summary>A read-back showed the requested state.</summary>
public sealed record RigConfirmed(RigStatus Status, string Detail) : RigCommandResult(Detail);

/// <summary>
/// The write was sent but no read-back has shown its effect yet. <see cref="Acknowledged"/> is false when the rig never
/// answered (timeout or close after the request left): the outcome is unknown and the write must not be repeated blindly.
/// </summary>
public sealed record RigUnconfirmed(RigExpectation Expected, bool Acknowledged, string Detail, RigStatus? LastStatus = null)
    : RigCommandResult(Detail);

public sealed record RigFailed(RigFailureReason Reason, string Detail) : RigCommandResult(Detail)
{
    /// <summary>True when nothing reached the rig, so trying again cannot apply a write twice.</summary>
    public bool NothingSent => Reason is RigFailureReason.ConnectFailed or RigFailureReason.Unreachable;
}

public sealed record RigUnsupported(string Detail) : RigCommandResult(Detail);
