using StratumProxy.Stratum.Mining;

namespace StratumProxy.TestKit;

/// <summary>How the pool answers a rejected share (PEERS.md #3).</summary>
public enum PoolReplyStyle
{
    /// <summary><c>{"id":…,"result":null,"error":[code,"message",null]}</c> (MiningCore, NOMP, the python test pool).</summary>
    Standard,

    /// <summary>
    /// <c>{"reject-reason":"…","result":false,"error":null,"id":…}</c>, like ckpool; ckpool is also silent on
    /// <c>mining.suggest_difficulty</c> and answers it with a <c>set_difficulty</c> only.
    /// </summary>
    Ckpool,
}

/// <summary>When the pool sends its first <c>set_difficulty</c> and <c>notify</c> relative to its replies (PEERS.md #4).</summary>
public enum PoolWorkOrdering
{
    /// <summary>After the authorize result (cpuminer's python pool).</summary>
    AfterAuthorizeResult,

    /// <summary>Between the authorize request and its result (ckpool, npm stratum, bfgminer's server).</summary>
    BeforeAuthorizeResult,

    /// <summary>Even before the subscribe result: the harshest ordering a client can meet.</summary>
    BeforeSubscribeResult,
}

/// <summary>Settings of a <see cref="TestPool"/>. Every share it receives is validated against these.</summary>
public sealed record TestPoolOptions
{
    /// <summary>Bytes of extranonce1; each connection gets a distinct value (a counter).</summary>
    public int Extranonce1Size { get; init; } = 4;

    /// <summary>Bytes of extranonce2 announced to the client (8 like ckpool).</summary>
    public int Extranonce2Size { get; init; } = 8;

    /// <summary>Share difficulty for new connections; fractional values below 1 are fine.</summary>
    public double Difficulty { get; init; } = 1e-5;

    /// <summary>The version-rolling mask granted on mining.configure; null refuses version rolling.</summary>
    public uint? VersionRollingMask { get; init; } = VersionRolling.Bip320Mask;

    public PoolReplyStyle ReplyStyle { get; init; } = PoolReplyStyle.Standard;

    public PoolWorkOrdering WorkOrdering { get; init; } = PoolWorkOrdering.AfterAuthorizeResult;

    /// <summary>Give no reply at all to mining.extranonce.subscribe and mining.ping, as ckpool does (PEERS.md #5).</summary>
    public bool SilentOnExtranonceSubscribeAndPing { get; init; }

    /// <summary>Merkle branches per job; null draws 0–12 at random for each job.</summary>
    public int? MerkleBranchCount { get; init; }

    /// <summary>nbits of every job: 1d00ffff (difficulty 1) by default; 207fffff makes every share a block candidate.</summary>
    public uint NBits { get; init; } = 0x1d00ffff;

    /// <summary>Block version of every job.</summary>
    public uint Version { get; init; } = 0x20000000;

    /// <summary>How far (seconds) a share's ntime may run ahead of the job's ntime or the pool's clock; below the job's is refused.</summary>
    public uint MaxNTimeAheadSeconds { get; init; } = 7000;

    /// <summary>Jobs kept for non-clean broadcasts; older ones become stale.</summary>
    public int JobHistory { get; init; } = 16;

    /// <summary>Close a connection whose first byte is not <c>{</c> (PEERS.md #6).</summary>
    public bool CloseOnNonJsonFirstByte { get; init; } = true;

    /// <summary>Refuse submits for a worker not authorized on that connection (code 24).</summary>
    public bool RequireAuthorizedWorker { get; init; } = true;

    /// <summary>Decides mining.authorize; null accepts every worker.</summary>
    public Func<string, string?, bool>? Authorize { get; init; }

    /// <summary>The clock jobs take their ntime from (and the ntime check uses).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Awaited before each submit is judged (on the connection's read loop): holds the verdicts until it completes.</summary>
    public Func<Task>? BeforeVerdict { get; init; }

    /// <summary>Seed of the job generator; null is random.</summary>
    public int? Seed { get; init; }

    /// <summary>The port to listen on (127.0.0.1 only); 0 picks a free one.</summary>
    public int Port { get; init; }

    public int MaxLineLength { get; init; } = 64 * 1024;

    /// <summary>
    /// Writes each job's build time (Unix microseconds from <see cref="TimeProvider"/>) into coinbase2 behind the
    /// marker <c>/spt</c>, so a client can measure how long the job took to reach it (notify fan-out through a proxy,
    /// which passes coinbase2 on unchanged). See <see cref="PoolJobStamp"/>.
    /// </summary>
    public bool StampJobs { get; init; }

    /// <summary>
    /// Keep every accepted share for <see cref="TestPool.AcceptedShares"/> and the audit; a long load run turns it
    /// off so the pool's memory stays flat (counts and the duplicate check still hold).
    /// </summary>
    public bool KeepAcceptedShares { get; init; } = true;

    /// <summary>Receives every line in and out (for test output); null traces nothing.</summary>
    public Action<string>? Trace { get; init; }
}
