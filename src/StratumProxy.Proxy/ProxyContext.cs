using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Upstream;

namespace StratumProxy.Proxy;

/// <summary>What every connection of the proxy shares, miner side and pool side: the clock, logs, metrics and jobs.</summary>
public abstract class ProxyContext(TimeProvider time, ILogger logger, ProxyMetrics metrics, JobRegistry jobs)
{
    /// <summary>The clock.</summary>
    public TimeProvider Time { get; } = time;

    /// <summary>The logger.</summary>
    public ILogger Logger { get; } = logger;

    /// <summary>The metrics.</summary>
    public ProxyMetrics Metrics { get; } = metrics;

    /// <summary>Every live job.</summary>
    public JobRegistry Jobs { get; } = jobs;
}
