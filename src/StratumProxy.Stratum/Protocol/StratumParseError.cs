namespace StratumProxy.Stratum.Protocol;

/// <summary>Why a line was refused. A bounded set: safe as a metric label.</summary>
public enum StratumParseErrorKind : byte
{
    /// <summary>No error.</summary>
    None,

    /// <summary>Not well-formed JSON (truncated, bad tokens, invalid UTF-8, too deeply nested).</summary>
    InvalidJson,

    /// <summary>Well-formed JSON, but not an object at the top level.</summary>
    NotAnObject,

    /// <summary>An object with neither <c>method</c> nor <c>result</c>/<c>error</c>.</summary>
    NotJsonRpc,

    /// <summary>A member has the wrong JSON type (e.g. <c>method</c> is a number).</summary>
    WrongType,

    /// <summary>The params of a known method are missing, too few, or of the wrong type or form.</summary>
    InvalidParams,

    /// <summary>A notify with more merkle branches than a block can have (<see cref="NotifyMessage.MaxMerkleBranches"/>).</summary>
    TooManyMerkleBranches,
}

/// <summary>A parse failure: its kind and a fixed human-readable reason (never built from peer input).</summary>
public readonly record struct StratumParseError(StratumParseErrorKind Kind, string Reason)
{
    /// <summary>The absence of an error.</summary>
    public static StratumParseError None => default;

    /// <summary>True when this is an error.</summary>
    public bool IsError => Kind != StratumParseErrorKind.None;

    /// <summary>A label for metrics.</summary>
    public string Label => Kind switch
    {
        StratumParseErrorKind.InvalidJson => "invalid_json",
        StratumParseErrorKind.NotAnObject => "not_an_object",
        StratumParseErrorKind.NotJsonRpc => "not_json_rpc",
        StratumParseErrorKind.WrongType => "wrong_type",
        StratumParseErrorKind.InvalidParams => "invalid_params",
        StratumParseErrorKind.TooManyMerkleBranches => "too_many_merkle_branches",
        _ => "none",
    };

    internal static StratumParseError Json(string reason) => new(StratumParseErrorKind.InvalidJson, reason);

    internal static StratumParseError Params(string reason) => new(StratumParseErrorKind.InvalidParams, reason);
}

/// <summary>The de-facto Stratum error codes (miningcore, ckpool, cgminer agree on these).</summary>
public enum StratumErrorCode
{
    /// <summary>Other/unknown.</summary>
    Other = 20,

    /// <summary>Job not found (stale).</summary>
    JobNotFound = 21,

    /// <summary>Duplicate share.</summary>
    DuplicateShare = 22,

    /// <summary>Low difficulty share.</summary>
    LowDifficulty = 23,

    /// <summary>Unauthorized worker.</summary>
    Unauthorized = 24,

    /// <summary>Not subscribed.</summary>
    NotSubscribed = 25,
}
