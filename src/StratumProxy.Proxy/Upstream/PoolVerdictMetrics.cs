using Prometheus;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Upstream;

/// <summary>A pool's verdict metrics, resolved once per pool connection and shared by every miner on it.</summary>
internal sealed class PoolVerdictMetrics(ProxyMetrics metrics, string pool)
{
    /// <summary>stratumproxy_pool_submit_latency_seconds child.</summary>
    public Histogram.Child Latency { get; } = metrics.PoolSubmitLatency.WithLabels(pool);

    /// <summary>stratumproxy_pool_shares_total, accepted.</summary>
    public Counter.Child Accepted { get; } = metrics.PoolShares.WithLabels(pool, "accepted");

    /// <summary>stratumproxy_pool_shares_total, rejected.</summary>
    public Counter.Child Rejected { get; } = metrics.PoolShares.WithLabels(pool, "rejected");
}
