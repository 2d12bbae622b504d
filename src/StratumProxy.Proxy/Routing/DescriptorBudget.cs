using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Routing;

/// <summary>
/// Keeps the last <see cref="Reserve"/> descriptors of the process's open-file limit for what is not a miner. The
/// runtime needs descriptors to start a thread, and a process with none left dies of it (the runtime's "Out of
/// memory."); pools, the admin endpoint and files need theirs too. A miner that would eat into the reserve is refused
/// at accept, as over the connection limit. Far under the limit nothing is counted; near it the open descriptors are
/// counted at most every <see cref="RecountEvery"/> (with the miners admitted since added), and again before a refusal.
/// </summary>
internal sealed class DescriptorBudget(TimeProvider time)
{
    /// <summary>Descriptors kept for the runtime's threads, the pools, the admin endpoint and files.</summary>
    public const int Reserve = 128;

    private static readonly TimeSpan RecountEvery = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RereadLimitEvery = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RecountWhenRefusing = TimeSpan.FromMilliseconds(20);

    private readonly Lock _gate = new();
    private long _limitReadAt = -1;
    private long _limit;
    private long _countedAt = -1;
    private long _counted;
    private int _admittedSince;

    /// <summary>The limit as last read (0: none or not known), and the descriptors open at the last count.</summary>
    public (long Limit, long Open) Last
    {
        get
        {
            lock (_gate)
            {
                return (_limit, _counted + _admittedSince);
            }
        }
    }

    /// <summary>
    /// True when one more miner leaves the reserve whole. <paramref name="miners"/> is how many are connected now: while
    /// they are under a quarter of the limit (two descriptors a miner in passthrough mode, and the process's own few
    /// hundred), nothing is counted.
    /// </summary>
    public bool TryAdmit(int miners)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (_limitReadAt < 0 || time.GetElapsedTime(_limitReadAt, now) >= RereadLimitEvery || miners >= _limit / 4)
            {
                // The limit can be changed under a running process (prlimit): read again now and then, and always
                // near it (a getrlimit call).
                _limit = LinuxDescriptors.OpenFileLimit() is { } limit and <= int.MaxValue ? (long)limit : 0;
                _limitReadAt = now;
            }

            if (_limit == 0 || miners < _limit / 4)
            {
                return true;
            }

            if (_countedAt < 0 || time.GetElapsedTime(_countedAt, now) >= RecountEvery || Over())
            {
                // Listing the descriptors takes one; when that fails the process is at its limit. A refusal is
                // decided on a fresh count (miners may have left since), at most every RecountWhenRefusing.
                if (_countedAt < 0 || time.GetElapsedTime(_countedAt, now) >= RecountWhenRefusing)
                {
                    _counted = ProcessStats.OpenDescriptors() ?? _limit;
                    _countedAt = now;
                    _admittedSince = 0;
                }
            }

            if (Over())
            {
                return false;
            }

            _admittedSince++;
            return true;
        }

        bool Over() => _counted + _admittedSince + 1 > _limit - Reserve;
    }
}
