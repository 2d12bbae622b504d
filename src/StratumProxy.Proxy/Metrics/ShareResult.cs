namespace StratumProxy.Proxy.Metrics;

/// <summary>What became of a share a miner submitted. A bounded set: a metric label.</summary>
public enum ShareResult
{
    /// <summary>Valid at the miner's target (forwarded when it also met the pool's, and the pool agreed).</summary>
    Accepted,

    /// <summary>The job was unknown or replaced by a clean job (error 21).</summary>
    Stale,

    /// <summary>The same share again (error 22).</summary>
    Duplicate,

    /// <summary>Below the miner's target (error 23).</summary>
    LowDifficulty,

    /// <summary>Malformed or out of range: extranonce2 size, ntime, version bits (error 20).</summary>
    Invalid,

    /// <summary>The pool rejected a share the proxy forwarded.</summary>
    PoolRejected,

    /// <summary>The upstream went away before its verdict, and the share could not be re-sent.</summary>
    Lost,

    /// <summary>The miner was not authorized or not subscribed (errors 24/25).</summary>
    Unauthorized,
}

/// <summary>
/// One counter per <see cref="ShareResult"/>, held inline in its owner (a worker, a worker's pool) instead of in an
/// array of its own: 32 bytes less per owner. Indexed by the result; its length is <see cref="ShareResultLabels.Count"/>.
/// </summary>
[System.Runtime.CompilerServices.InlineArray(ShareResultLabels.Count)]
internal struct ShareResultCounts
{
    private long _first;
}

/// <summary>Label text for <see cref="ShareResult"/>.</summary>
public static class ShareResultLabels
{
    /// <summary>How many results there are (a test checks it against the enum).</summary>
    public const int Count = 8;

    private static readonly string[] Labels =
        ["accepted", "stale", "duplicate", "low_difficulty", "invalid", "pool_rejected", "lost", "unauthorized"];

    /// <summary>Every result, in enum order.</summary>
    public static IReadOnlyList<string> All => Labels;

    /// <summary>The label of a result.</summary>
    public static string Label(this ShareResult result) => Labels[(int)result];
}
