using System.Net;

namespace StratumProxy.Proxy.Components;

/// <summary>What <see cref="IpConnectionLimiter.TryAcquire"/> decided.</summary>
public enum IpAdmission
{
    /// <summary>Taken: the address holds one more connection until <see cref="IpConnectionLimiter.Release"/>.</summary>
    Admitted,

    /// <summary>Refused: the address is already at its limit (and is banned from now on, when bans are on).</summary>
    OverLimit,

    /// <summary>Refused: the address is banned until its ban expires.</summary>
    Banned,
}

/// <summary>
/// Open miner connections per address and the bans of addresses that went over the limit. Memory is bounded: an
/// address is held only while it has open connections or an unexpired ban, and at most <see cref="MaxBans"/> bans
/// are kept (expired ones are dropped first, then the oldest). Thread-safe; time comes from the
/// <see cref="TimeProvider"/>.
/// </summary>
public sealed class IpConnectionLimiter(TimeProvider time)
{
    /// <summary>The most bans kept at once.</summary>
    public const int MaxBans = 65_536;

    private readonly Dictionary<IPAddress, int> _open = [];
    private readonly Dictionary<IPAddress, DateTimeOffset> _bans = [];
    private readonly Lock _lock = new();

    /// <summary>Addresses banned now (expired bans are not counted).</summary>
    public int BannedCount
    {
        get
        {
            var now = time.GetUtcNow();
            lock (_lock)
            {
                return _bans.Values.Count(until => until > now);
            }
        }
    }

    /// <summary>Takes one connection for <paramref name="address"/> when it is under <paramref name="maxPerAddress"/> and not banned.</summary>
    public IpAdmission TryAcquire(IPAddress address, int maxPerAddress, TimeSpan ban)
    {
        ArgumentNullException.ThrowIfNull(address);
        address = Normalize(address);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_bans.TryGetValue(address, out var until))
            {
                if (until > now)
                {
                    return IpAdmission.Banned;
                }

                _bans.Remove(address);
            }

            var open = _open.GetValueOrDefault(address);
            if (maxPerAddress > 0 && open >= maxPerAddress)
            {
                if (ban > TimeSpan.Zero)
                {
                    Ban(address, now + ban, now);
                }

                return IpAdmission.OverLimit;
            }

            _open[address] = open + 1;
            return IpAdmission.Admitted;
        }
    }

    /// <summary>Gives back a connection taken by <see cref="TryAcquire"/>.</summary>
    public void Release(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        address = Normalize(address);
        lock (_lock)
        {
            if (_open.TryGetValue(address, out var open))
            {
                if (open <= 1)
                {
                    _open.Remove(address);
                }
                else
                {
                    _open[address] = open - 1;
                }
            }
        }
    }

    /// <summary>Connections open now from <paramref name="address"/>.</summary>
    public int OpenFrom(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_lock)
        {
            return _open.GetValueOrDefault(Normalize(address));
        }
    }

    private void Ban(IPAddress address, DateTimeOffset until, DateTimeOffset now)
    {
        if (_bans.Count >= MaxBans)
        {
            foreach (var expired in _bans.Where(b => b.Value <= now).Select(b => b.Key).ToList())
            {
                _bans.Remove(expired);
            }

            if (_bans.Count >= MaxBans)
            {
                _bans.Remove(_bans.MinBy(b => b.Value).Key);
            }
        }

        _bans[address] = until;
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
