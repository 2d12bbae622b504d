using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Upstream;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Proxy.Sessions;

/// <summary>Where an authorized miner is sent: the routing side of the engine, seen from a session.</summary>
public interface IMinerRouter
{
    /// <summary>Called once a miner has authorized: attach it to the best ready upstream of its group, if any.</summary>
    void OnAuthorized(MinerSession session);

    /// <summary>Called when a session ends; <paramref name="lastPool"/> is the pool it was on, if any.</summary>
    void OnClosed(MinerSession session, string? lastPool);

    /// <summary>
    /// The extranonce layout (k, n) a miner arriving on <paramref name="listener"/> gets now: one that fits every pool
    /// of the listener's group as far as their extranonce2 sizes are known (docs/extranonce.md).
    /// </summary>
    MinerLayout LayoutFor(ListenerOptions listener);
}

/// <summary>What every miner session shares.</summary>
public sealed class SessionContext(
    TimeProvider time,
    ILogger logger,
    ProxyMetrics metrics,
    ShareLedger ledger,
    JobRegistry jobs,
    ExtranoncePrefixes extranonces,
    ShareHasher hasher,
    IMinerRouter router) : ProxyContext(time, logger, metrics, jobs)
{
    /// <summary>The per-rig books.</summary>
    public ShareLedger Ledger { get; } = ledger;

    /// <summary>
    /// The miners' extranonce1 values, unique across the whole proxy while the k-byte space lasts (so a miner can move
    /// between pools); each upstream connection enforces uniqueness among its own miners.
    /// </summary>
    public ExtranoncePrefixes Extranonces { get; } = extranonces;

    /// <summary>Share hashing (the fast SHA-256d path).</summary>
    public ShareHasher Hasher { get; } = hasher;

    /// <summary>Routing.</summary>
    public IMinerRouter Router { get; } = router;

    /// <summary>The current proxy settings (replaced on a valid reload; sessions read it when they need it).</summary>
    public ProxyOptions Options { get; set; } = new();

    /// <summary>
    /// Asked once the PROXY protocol header of a session on a PROXY-protocol listener has been read (the address it
    /// names is the peer's): false closes the session (the per-address connection limit). Null admits every session.
    /// </summary>
    public Func<MinerSession, bool>? SourceAdmission { get; set; }
}
