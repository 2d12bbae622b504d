using Prometheus;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Upstream;

/// <summary>
/// A pool's verdict metrics (a share's latency and outcome), resolved once per pool connection and shared by every
/// miner on it, so a verdict or a lost share is counted without a labelled lookup.
/// </summary>
internal sealed class PoolVerdictMetrics(ProxyMetrics metrics, string pool)
{
    /// <summary>stratumproxy_pool_submit_latency_seconds child.</summary>
    public Histogram.Child Latency { get; } = metrics.PoolSubmitLatency.WithLabels(pool);

    /// <summary>stratumproxy_pool_shares_total, accepted.</summary>
    public Counter.Child Accepted { get; } = metrics.PoolShares.WithLabels(pool, "accepted");

    /// <summary>stratumproxy_pool_shares_total, rejected.</summary>
    public Counter.Child Rejected { get; } = metrics.PoolShares.WithLabels(pool, "rejected");

    /// <summary>stratumproxy_pool_shares_total, lost (no verdict: the connection ended, or the submit timed out).</summary>
    public Counter.Child Lost { get; } = metrics.PoolShares.WithLabels(pool, "lost");
}
