namespace StratumProxy.TestKit;

/// <summary>Why the pool refused a submit. Each maps to a Stratum code and a ckpool reject-reason.</summary>
public enum ShareRejectReason
{
    /// <summary>The job id was never issued (21, "Invalid JobID").</summary>
    UnknownJob,

    /// <summary>The job was issued but a clean job or the history limit retired it (21, "Stale").</summary>
    StaleJob,

    /// <summary>Same job, extranonce1, extranonce2, ntime, nonce and version as an earlier share (22).</summary>
    Duplicate,

    /// <summary>The hash does not meet the share target (23, "Above target").</summary>
    LowDifficulty,

    /// <summary>extranonce2 is not the announced size (20).</summary>
    InvalidExtranonce2,

    /// <summary>ntime before the job's or too far ahead (20).</summary>
    NTimeOutOfRange,

    /// <summary>Version bits outside the granted mask, or without any mask granted (20).</summary>
    InvalidVersionBits,

    /// <summary>The worker was not authorized on this connection (24).</summary>
    Unauthorized,

    /// <summary>Submit before subscribe (25).</summary>
    NotSubscribed,

    /// <summary>The params could not be read (20).</summary>
    Malformed,
}

/// <summary>
/// A share the pool accepted, with everything needed to rebuild and re-check its header.
/// <see cref="Version"/> is the header version after rolling; <see cref="Difficulty"/> is what the pool credited;
/// <see cref="HashDifficulty"/> is the difficulty the hash itself reaches.
/// </summary>
public sealed record AcceptedShare(
    string Worker,
    string JobId,
    int ConnectionId,
    string Extranonce1,
    string Extranonce2,
    uint NTime,
    uint Nonce,
    uint Version,
    double Difficulty,
    double HashDifficulty,
    bool IsBlockCandidate);

/// <summary>One worker's counts at the pool.</summary>
public sealed record PoolWorkerStats(
    string Worker,
    long Accepted,
    double AcceptedDifficulty,
    IReadOnlyDictionary<ShareRejectReason, long> Rejected)
{
    public long RejectedTotal => Rejected.Values.Sum();
}

/// <summary>A snapshot of one client connection at the pool.</summary>
public sealed record PoolSessionInfo(
    int ConnectionId,
    string RemoteEndPoint,
    string? UserAgent,
    string Extranonce1,
    uint VersionRollingMask,
    double Difficulty,
    IReadOnlyList<string> AuthorizedWorkers,
    bool IsOpen);
