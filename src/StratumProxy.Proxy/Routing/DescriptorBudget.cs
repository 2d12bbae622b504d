using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Routing;

/// <summary>
/// Keeps the last <see cref="Reserve"/> descriptors of the process's open-file limit for what is not a miner. The
/// runtime needs descriptors to start a thread, and a process with none left dies of it (the runtime's "Out of
/// memory."); pools, the admin endpoint and files need theirs too. A miner that would eat into the reserve is refused
/// at accept, as over the connection limit.
/// </summary>
/// <remarks>
/// The use is estimated from the miners connected now (one descriptor each, two in passthrough mode, where each has
/// its own pool connection) and the rest of the process (the descriptors counted in <c>/proc/self/fd</c> beyond the
/// miners'). Far under the limit nothing is counted; within <see cref="Margin"/> of the reserve the rest is counted
/// again at most every <see cref="RecountEvery"/>, and before a refusal at most every <see cref="RecountWhenRefusing"/>
/// (each interval from the end of the last count: a count lists every descriptor).
/// </remarks>
internal sealed class DescriptorBudget(TimeProvider time)
{
    /// <summary>Descriptors kept for the runtime's threads, the pools, the admin endpoint and files.</summary>
    public const int Reserve = 128;

    private static readonly TimeSpan RecountEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RecountWhenRefusing = TimeSpan.FromMilliseconds(100);

    private readonly Lock _gate = new();
    private long _limit;
    private long _rest = -1;
    private long _countedAt = -1;

    /// <summary>The limit and the estimated use at the last decision (0 limit: none, or not known).</summary>
    public (long Limit, long Open) Last { get; private set; }

    /// <summary>
    /// True when one more miner leaves the reserve whole. <paramref name="miners"/> is how many are connected now;
    /// <paramref name="perMiner"/> the descriptors each one takes (2 when a pool of the proxy is in passthrough mode).
    /// </summary>
    public bool TryAdmit(int miners, int perMiner)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        lock (_gate)
        {
            // Read at every accept (a getrlimit call): the limit can be raised under a running process (prlimit).
            _limit = LinuxDescriptors.OpenFileLimit() is { } limit and <= int.MaxValue ? (long)limit : 0;
            if (_limit == 0)
            {
                return true;
            }

            if (_rest < 0)
            {
                Count(miners, perMiner);
            }

            var ceiling = _limit - Reserve;
            var estimate = Estimate(miners, perMiner);
            if (estimate >= ceiling - Margin(_limit) && Since() >= (estimate >= ceiling ? RecountWhenRefusing : RecountEvery))
            {
                Count(miners, perMiner);
                estimate = Estimate(miners, perMiner);
            }

            Last = (_limit, estimate);
            return estimate < ceiling;
        }
    }

    /// <summary>How near the reserve the rest of the process is counted again: a sixteenth of the limit, at least 64.</summary>
    private static long Margin(long limit) => Math.Max(64, limit / 16);

    /// <summary>What is open once one more miner is in: the rest of the process and every miner's descriptors.</summary>
    private long Estimate(int miners, int perMiner) => _rest + ((long)miners + 1) * perMiner;

    private TimeSpan Since() => time.GetElapsedTime(_countedAt);

    /// <summary>
    /// Counts the descriptors open now, and keeps what is not the miners'. A count that fails (at the limit itself,
    /// listing takes a descriptor; or no /proc) keeps the last figure.
    /// </summary>
    private void Count(int miners, int perMiner)
    {
        if (ProcessStats.OpenDescriptors() is { } open)
        {
            // In passthrough a miner still in its handshake has no pool connection yet: the rest is then under what
            // it is, and the miner's second descriptor is still counted in the estimate.
            _rest = Math.Max(0, open - ((long)miners * perMiner));
        }
        else if (_rest < 0)
        {
            _rest = 0;
        }

        _countedAt = time.GetTimestamp();
    }
}
