using System.ComponentModel.DataAnnotations;

namespace StratumProxy.Proxy.Configuration;

/// <summary>
/// The <c>Proxy:Limits</c> section: limits that hold a flood from one address (applied while running), and the longest
/// line a pool may send (fixed for the process).
/// </summary>
public sealed record LimitOptions
{
    /// <summary>
    /// Miner connections open at once from one address (0 = no per-address limit). Behind HAProxy with the PROXY
    /// protocol the address is the one the header names, not HAProxy's. A site behind one NAT address counts as one.
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxConnectionsPerIp { get; init; }

    /// <summary>
    /// When an address goes over <see cref="MaxConnectionsPerIp"/>, new connections from it are refused for this long
    /// (its open connections stay); 0 refuses only the connections over the limit.
    /// </summary>
    [Range(0, 7 * 86_400)]
    public int BanSeconds { get; init; } = 300;

    /// <summary>The default of <see cref="MaxPoolLineLength"/>: 256 KiB.</summary>
    public const int DefaultMaxPoolLineLength = 256 * 1024;

    /// <summary>
    /// The longest line a pool may send (bytes). A longer one closes that pool connection (counted as
    /// <c>line_too_long</c>), which is then retried with back-off. A mining.notify is a few KiB; each pool connection
    /// keeps a buffer of this size. Read at start: a change needs a restart.
    /// </summary>
    [Range(16 * 1024, 16 * 1024 * 1024)]
    public int MaxPoolLineLength { get; init; } = DefaultMaxPoolLineLength;
}
