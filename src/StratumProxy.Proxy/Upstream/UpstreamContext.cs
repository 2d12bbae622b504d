using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Upstream;

/// <summary>What every upstream connection shares: time, logs, metrics, the job registry and the miner-side sizes.</summary>
public sealed class UpstreamContext(
    TimeProvider time,
    ILogger logger,
    ProxyMetrics metrics,
    JobRegistry jobs,
    int minerPrefixSize,
    int minerExtranonce2Size,
    int maxLineLength)
{
    /// <summary>The clock.</summary>
    public TimeProvider Time { get; } = time;

    /// <summary>The logger.</summary>
    public ILogger Logger { get; } = logger;

    /// <summary>The metrics.</summary>
    public ProxyMetrics Metrics { get; } = metrics;

    /// <summary>Every live job.</summary>
    public JobRegistry Jobs { get; } = jobs;

    /// <summary>k: bytes of each miner's extranonce1.</summary>
    public int MinerPrefixSize { get; } = minerPrefixSize;

    /// <summary>n: the miners' extranonce2 size.</summary>
    public int MinerExtranonce2Size { get; } = minerExtranonce2Size;

    /// <summary>The longest line accepted from a pool.</summary>
    public int MaxLineLength { get; } = maxLineLength;

    /// <summary>The user agent sent to pools.</summary>
    public string UserAgent { get; init; } = "stratum-proxy/1.0";
}
