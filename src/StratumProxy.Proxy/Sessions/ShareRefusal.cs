using StratumProxy.Proxy.Metrics;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Sessions;

/// <summary>What a miner is told when one of its shares is refused, and how the share is counted.</summary>
/// <param name="Code">The Stratum error code of the answer.</param>
/// <param name="Message">The error message of the answer.</param>
/// <param name="Result">How the share is counted.</param>
public readonly record struct ShareRefusal(StratumErrorCode Code, string Message, ShareResult Result)
{
    /// <summary>The job is unknown, replaced by a clean job, or not one of the miner's.</summary>
    public static readonly ShareRefusal Stale = new(StratumErrorCode.JobNotFound, "Job not found (stale)", ShareResult.Stale);

    /// <summary>
    /// The refusal for a validator verdict other than <see cref="ShareCheck.Valid"/>. The extranonce2 size message
    /// names the size the miner was told, so the session passes it in.
    /// </summary>
    public static ShareRefusal For(ShareCheck check, string extranonce2SizeMessage) => check switch
    {
        ShareCheck.Valid => throw new ArgumentOutOfRangeException(nameof(check), check, "a valid share is not refused"),
        ShareCheck.BadExtranonce2Size => new(StratumErrorCode.Other, extranonce2SizeMessage, ShareResult.Invalid),
        ShareCheck.NTimeOutOfRange => new(StratumErrorCode.Other, "ntime out of range", ShareResult.Invalid),
        ShareCheck.VersionOutsideMask => new(StratumErrorCode.Other, "version bits outside the negotiated mask", ShareResult.Invalid),
        ShareCheck.Duplicate => new(StratumErrorCode.DuplicateShare, "Duplicate share", ShareResult.Duplicate),
        ShareCheck.Stale => Stale,
        ShareCheck.JobFull => new(StratumErrorCode.Other, "too many shares for this job", ShareResult.Invalid),
        _ => new(StratumErrorCode.LowDifficulty, "Low difficulty share", ShareResult.LowDifficulty),
    };
}
