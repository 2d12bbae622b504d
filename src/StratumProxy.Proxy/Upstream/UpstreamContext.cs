using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Upstream;

/// <summary>What every upstream connection shares: time, logs, metrics, the job registry and the miner-side sizes.</summary>
public sealed class UpstreamContext(
    TimeProvider time,
    ILogger logger,
    ProxyMetrics metrics,
    JobRegistry jobs,
    int minerPrefixSize,
    int minerExtranonce2Size,
    int maxLineLength) : ProxyContext(time, logger, metrics, jobs)
{
    /// <summary>k: bytes of each miner's extranonce1.</summary>
    public int MinerPrefixSize { get; } = minerPrefixSize;

    /// <summary>n: the miners' extranonce2 size.</summary>
    public int MinerExtranonce2Size { get; } = minerExtranonce2Size;

    /// <summary>The longest line accepted from a pool.</summary>
    public int MaxLineLength { get; } = maxLineLength;

    /// <summary>
    /// Called with every job a pool sends (on that connection's read loop): the economics side reads network
    /// difficulty and the coinbase value from it. Exceptions are caught and counted, never passed to the connection.
    /// </summary>
    public Action<UpstreamConnection, NotifyMessage>? JobObserved { get; set; }

    /// <summary>How pool connections are opened (sockets unless a test or another transport says otherwise).</summary>
    public Transport.IUpstreamConnector Connector { get; init; } = Transport.SocketConnector.Instance;

    /// <summary>The user agent sent to pools.</summary>
    public string UserAgent { get; init; } = "stratum-proxy/1.0";
}
