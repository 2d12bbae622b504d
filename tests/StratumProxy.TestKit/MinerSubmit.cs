namespace StratumProxy.TestKit;

/// <summary>Where a submit stands.</summary>
public enum SubmitOutcome
{
    /// <summary>Sent; no answer yet on a live connection.</summary>
    Pending,

    Accepted,

    Rejected,

    /// <summary>The connection ended before an answer came.</summary>
    Unanswered,
}

/// <summary>One mining.submit the miner sent and what came back.</summary>
public sealed record MinerSubmit(
    long Sequence,
    int ConnectionNumber,
    string Id,
    string JobId,
    string Extranonce1,
    string Extranonce2,
    uint NTime,
    uint Nonce,
    uint? VersionBits,
    double Difficulty,
    SubmitOutcome Outcome,
    int? ErrorCode,
    string? Reason);
