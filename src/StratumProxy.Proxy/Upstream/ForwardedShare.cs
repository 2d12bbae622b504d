using StratumProxy.Proxy.Accounting;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Upstream;

/// <summary>
/// A share on its way to a pool, kept by value in the connection's pending table until the verdict comes back
/// (no allocation per share). Everything needed to answer the miner and to re-send it is here.
/// </summary>
public struct ForwardedShare
{
    /// <summary>The session that submitted it.</summary>
    public IUpstreamMember Session;

    /// <summary>The miner's request id, echoed with the verdict.</summary>
    public JsonRpcId MinerRequestId;

    /// <summary>The job it was found on.</summary>
    public UpstreamJob Job;

    /// <summary>The worker name the pool sees.</summary>
    public string UpstreamWorker;

    /// <summary>pad | m: what precedes the miner's extranonce2 in the pool's extranonce2.</summary>
    public byte[] Extranonce2Prefix;

    /// <summary>The miner's extranonce2.</summary>
    public SmallBytes Extranonce2;

    /// <summary>ntime as submitted.</summary>
    public uint NTime;

    /// <summary>nonce as submitted.</summary>
    public uint Nonce;

    /// <summary>BIP310 version bits, when the miner sent them.</summary>
    public uint VersionBits;

    /// <summary>True when <see cref="VersionBits"/> is set.</summary>
    public bool HasVersionBits;

    /// <summary>The difficulty credited to the miner for this share.</summary>
    public double CreditedDifficulty;

    /// <summary>When it was sent (TimeProvider timestamp), for the latency histogram and the timeout sweep.</summary>
    public long SentTimestamp;

    /// <summary>The reconciliation counters of this worker on this pool.</summary>
    public PoolCounters Counters;
}
