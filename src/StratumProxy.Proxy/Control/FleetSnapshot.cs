using System.Collections.Frozen;
using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Control;

/// <summary>The proxy's fleet at one moment (<see cref="IProxyControl.Snapshot()"/>, or for a few workers <see cref="IProxyControl.Snapshot(IReadOnlySet{string})"/>): plain values, nothing live.</summary>
/// <param name="At">When it was taken (the proxy's clock); hashrates are as of then.</param>
/// <param name="Pools">The running pools.</param>
/// <param name="Sessions">The open miner sessions (authorized or not yet).</param>
/// <param name="Workers">Every worker the books know, with its counters.</param>
public sealed record FleetSnapshot(
    DateTimeOffset At,
    IReadOnlyList<PoolView> Pools,
    IReadOnlyList<SessionView> Sessions,
    IReadOnlyList<WorkerView> Workers)
{
    private readonly FrozenDictionary<string, WorkerView> _workers = Workers.ToFrozenDictionary(w => w.Name, StringComparer.Ordinal);

    /// <summary>A worker's books, or null when it has none.</summary>
    public WorkerView? Worker(string name) => _workers.GetValueOrDefault(name);

    /// <summary>The pool the worker's first session is on (null: not connected, or not placed).</summary>
    public string? PoolOf(string worker)
    {
        foreach (var session in Sessions)
        {
            if (string.Equals(session.Worker, worker, StringComparison.Ordinal))
            {
                return session.Pool;
            }
        }

        return null;
    }
}

/// <summary>One running pool.</summary>
/// <param name="Name">Its configured name.</param>
/// <param name="Url">Its configured address.</param>
/// <param name="Mode">"aggregating" or "passthrough".</param>
/// <param name="Priority">Its priority (lower is preferred).</param>
/// <param name="Group">Its pool group.</param>
/// <param name="IsReady">True when miners can be sent to it now.</param>
/// <param name="HealthScore">Its health score (latency, rejects, errors).</param>
/// <param name="LatencySeconds">Its submit latency (EWMA), once known.</param>
/// <param name="Difficulty">The difficulty of its first connection.</param>
/// <param name="Extranonce1Hex">Its first connection's extranonce1.</param>
/// <param name="Extranonce2Size">Its first connection's extranonce2 size N (0 before its answer).</param>
/// <param name="VersionMask">Its first connection's version-rolling mask.</param>
/// <param name="Miners">Sessions on it now.</param>
/// <param name="InFlight">Shares forwarded on its first connection and not yet answered.</param>
/// <param name="HashesPerSecond">Its 5-minute hashrate from the shares it accepted.</param>
/// <param name="LastError">The last reason a connection to it ended or failed.</param>
/// <param name="Layout">How miners fit in its extranonce2.</param>
public sealed record PoolView(
    string Name,
    string Url,
    string Mode,
    int Priority,
    string Group,
    bool IsReady,
    double HealthScore,
    double? LatencySeconds,
    double Difficulty,
    string Extranonce1Hex,
    int Extranonce2Size,
    uint VersionMask,
    int Miners,
    int InFlight,
    double HashesPerSecond,
    string? LastError,
    PoolLayoutView Layout);

/// <summary>How miners fit in a pool's extranonce2 (docs/extranonce.md).</summary>
/// <param name="Miner">The k and n of the miners its connections carry (its group's layout before it answers).</param>
/// <param name="Connections">Connections it uses (shared ones, or dedicated ones in passthrough mode).</param>
/// <param name="MaxConnections">The configured cap on connections.</param>
/// <param name="Extranonce2SizeHint">The configured hint of its N.</param>
/// <param name="Adapting">True when its N forces its group's new miners below the configured layout.</param>
/// <param name="GroupLayout">The layout new miners of its group get now.</param>
public sealed record PoolLayoutView(
    MinerLayout Miner,
    int Connections,
    int MaxConnections,
    int? Extranonce2SizeHint,
    bool Adapting,
    MinerLayout GroupLayout);

/// <summary>One open miner session.</summary>
/// <param name="Id">The session's id.</param>
/// <param name="Worker">The worker it authorized as (null before).</param>
/// <param name="Remote">The miner's address.</param>
/// <param name="UserAgent">What it said it is at subscribe.</param>
/// <param name="Pool">The pool it is on (null: none yet).</param>
/// <param name="Difficulty">Its difficulty now.</param>
/// <param name="ConnectedAt">When it connected.</param>
/// <param name="Extranonce1Hex">Its extranonce1.</param>
/// <param name="Extranonce2Size">Its extranonce2 size.</param>
public sealed record SessionView(
    long Id,
    string? Worker,
    string? Remote,
    string? UserAgent,
    string? Pool,
    double Difficulty,
    DateTimeOffset ConnectedAt,
    string Extranonce1Hex,
    int Extranonce2Size);

/// <summary>The books of one worker.</summary>
/// <param name="Name">The worker's name.</param>
/// <param name="Label">Its metric label (its name, or the overflow label past the series cap).</param>
/// <param name="Sessions">Its open sessions.</param>
/// <param name="Accepted">Shares accepted.</param>
/// <param name="Stale">Shares on a stale job.</param>
/// <param name="Duplicate">Duplicate shares.</param>
/// <param name="LowDifficulty">Shares below its difficulty.</param>
/// <param name="Invalid">Invalid shares.</param>
/// <param name="PoolRejected">Shares the pool rejected.</param>
/// <param name="Lost">Shares forwarded and never answered.</param>
/// <param name="AcceptedDifficulty">The sum of the difficulty of its accepted shares.</param>
/// <param name="Hashrate1m">Its 1-minute hashrate (H/s).</param>
/// <param name="Hashrate5m">Its 5-minute hashrate (H/s).</param>
/// <param name="Hashrate1h">Its 1-hour hashrate (H/s).</param>
/// <param name="Hashrate5mRelativeUncertainty">The relative uncertainty of the 5-minute hashrate (infinite with no shares).</param>
/// <param name="LastShareUnixMs">When its last share came (Unix ms; 0: never).</param>
/// <param name="Pools">Its reconciliation per pool.</param>
public sealed record WorkerView(
    string Name,
    string Label,
    int Sessions,
    long Accepted,
    long Stale,
    long Duplicate,
    long LowDifficulty,
    long Invalid,
    long PoolRejected,
    long Lost,
    double AcceptedDifficulty,
    double Hashrate1m,
    double Hashrate5m,
    double Hashrate1h,
    double Hashrate5mRelativeUncertainty,
    long LastShareUnixMs,
    IReadOnlyList<WorkerPoolView> Pools);

/// <summary>Reconciliation of one worker on one pool.</summary>
/// <param name="Pool">The pool's name.</param>
/// <param name="Accepted">Shares accepted locally for this pool.</param>
/// <param name="Forwarded">Shares forwarded to it.</param>
/// <param name="PoolAccepted">Shares it accepted.</param>
/// <param name="PoolRejected">Shares it rejected.</param>
/// <param name="InFlight">Shares forwarded and not yet answered.</param>
/// <param name="Lost">Shares forwarded and never answered.</param>
/// <param name="Gap">Forwarded minus answered minus in flight (0 when the books balance).</param>
public sealed record WorkerPoolView(
    string Pool,
    long Accepted,
    long Forwarded,
    long PoolAccepted,
    long PoolRejected,
    long InFlight,
    long Lost,
    long Gap);
