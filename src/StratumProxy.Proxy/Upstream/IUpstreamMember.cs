using StratumProxy.Proxy.Components;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Upstream;

/// <summary>
/// A miner attached to an upstream connection, as the connection sees it: its extranonce1 and layout (for the
/// connection's slots), and what the connection tells it from its read loop. The miner session implements it; the
/// upstream side knows nothing more of sessions (the dependency runs Sessions → Upstream only). Every call here is
/// made on the upstream's read loop (or the pool runtime's, for lost shares) and must only post or count: the member's
/// state belongs to its own loop.
/// </summary>
public interface IUpstreamMember
{
    /// <summary>The member's layout (k, n); null before it subscribed.</summary>
    MinerLayout? Layout { get; }

    /// <summary>The member's extranonce1 as a prefix value.</summary>
    MinerExtranoncePrefix Prefix { get; }

    /// <summary>A new job on the connection.</summary>
    void OnJob(UpstreamJob job, bool clean);

    /// <summary>The pool changed its version-rolling mask.</summary>
    void OnVersionMaskChanged(uint poolMask);

    /// <summary>The pool changed this connection's extranonce (same size): routes must be rebuilt.</summary>
    void OnUpstreamExtranonceChanged(UpstreamConnection upstream);

    /// <summary>The pool ruled on a share this member forwarded.</summary>
    void OnPoolVerdict(ref ForwardedShare share, ResponseVerdict verdict, TimeSpan latency);

    /// <summary>A forwarded share got no verdict (connection lost and not re-sent, or timed out).</summary>
    void OnShareLost(ref ForwardedShare share, string reason);
}
