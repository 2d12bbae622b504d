using System.Buffers.Binary;
using System.Globalization;

namespace StratumProxy.Proxy.Components;

/// <summary>
/// A miner's extranonce1 as the proxy assigns it: <see cref="Size"/> bytes (k, 0..4), big-endian <see cref="Value"/>.
/// The miner sees it as its extranonce1 in the mining.subscribe reply and keeps it for its whole connection.
/// </summary>
public readonly record struct MinerExtranoncePrefix
{
    public MinerExtranoncePrefix(uint value, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, ExtranonceAllocator.MinPrefixSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, ExtranonceAllocator.MaxPrefixSize);
        if (size < 4 && value >> (size * 8) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, $"does not fit in {size} byte(s)");
        }

        Value = value;
        Size = size;
    }

    public uint Value { get; }

    public int Size { get; }

    /// <summary>Writes the <see cref="Size"/> bytes, most significant first (so 0x0102 with k = 2 is "0102").</summary>
    public void WriteTo(Span<byte> destination)
    {
        Span<byte> all = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(all, Value);
        all[(4 - Size)..].CopyTo(destination);
    }

    /// <summary>Lower-case hex as sent to the miner (cold path: subscribe reply, logs).</summary>
    public override string ToString() => Size == 0 ? string.Empty : Value.ToString("x" + (Size * 2).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}

/// <summary>
/// Hands out unique miner extranonce1 prefixes (<c>m</c>, k bytes) among the miners sharing one upstream
/// connection in aggregating mode, and takes them back on disconnect. See <see cref="ExtranonceLayout"/> for where
/// <c>m</c> lands in the pool's extranonce2.
/// </summary>
/// <remarks>
/// <para><b>Space.</b> k bytes give 256^k prefixes: k = 0 → 1 miner, k = 1 → 256 miners, k = 2 (default) → 65,536, k = 3 → 16.7 M,
/// k = 4 → 4.29 G. An optional <c>maxAllocations</c> caps live prefixes below that (for example to the listener's
/// connection limit). Memory is proportional to live prefixes (a <see cref="HashSet{T}"/> of uint, ~12 bytes each),
/// not to the space, so k = 4 costs nothing up front — unlike a bitmap (SRI sizes its bitmap by max channels; a
/// 2^32 bitmap would be 512 MiB).</para>
/// <para><b>Exhaustion.</b> <see cref="TryAllocate"/> returns false when every prefix is live; the caller opens another
/// upstream connection (a new pool extranonce1, a fresh prefix space) and allocates there.</para>
/// <para><b>Reuse order.</b> Next-fit: the search resumes after the last prefix handed out, so a prefix freed by a
/// disconnect is reused as late as possible. A new miner given the prefix of one that just left would otherwise
/// start from the same extranonce2 on the same pool job and could repeat its shares, which the pool rejects as
/// duplicates.</para>
/// <para><b>Moving miners between upstreams.</b> A miner's <c>m</c> is fixed for its connection. To move it to another
/// upstream connection, call <see cref="TryReserve"/> with its prefix on the target's allocator; if that prefix is
/// taken there, pick (or open) another upstream connection where it is free. Using one proxy-wide allocator to mint
/// prefixes and per-upstream allocators only through <see cref="TryReserve"/> keeps such collisions to zero while the
/// proxy has fewer live miners than the space.</para>
/// <para><b>Threads.</b> All members lock: allocation happens on connect, disconnect and pool switch, never per share.</para>
/// </remarks>
public sealed class ExtranonceAllocator
{
    /// <summary>k = 0: an empty miner extranonce1, one miner per upstream connection.</summary>
    public const int MinPrefixSize = 0;
    public const int MaxPrefixSize = 4;
    public const int DefaultPrefixSize = 2;

    private readonly Lock _gate = new();
    private readonly HashSet<uint> _live = [];
    private readonly ulong _space;
    private ulong _cursor;

    /// <param name="prefixSize">k, the miner extranonce1 size in bytes, 0..4.</param>
    /// <param name="maxAllocations">Cap on live prefixes; 0 means the whole 256^k space.</param>
    public ExtranonceAllocator(int prefixSize = DefaultPrefixSize, long maxAllocations = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(prefixSize, MinPrefixSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixSize, MaxPrefixSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxAllocations);

        PrefixSize = prefixSize;
        _space = 1UL << (prefixSize * 8);
        Capacity = maxAllocations == 0 ? (long)_space : (long)Math.Min((ulong)maxAllocations, _space);
    }

    /// <summary>k, in bytes.</summary>
    public int PrefixSize { get; }

    /// <summary>How many prefixes can be live at once.</summary>
    public long Capacity { get; }

    /// <summary>Live prefixes.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _live.Count;
            }
        }
    }

    /// <summary>True when <see cref="TryAllocate"/> would fail.</summary>
    public bool IsExhausted
    {
        get
        {
            lock (_gate)
            {
                return _live.Count >= Capacity;
            }
        }
    }

    /// <summary>Allocates a fresh prefix; false when the upstream connection is full (open another).</summary>
    public bool TryAllocate(out MinerExtranoncePrefix prefix)
    {
        lock (_gate)
        {
            if (_live.Count >= Capacity)
            {
                prefix = default;
                return false;
            }

            // At most Count + 1 probes: only live prefixes can be skipped.
            while (true)
            {
                var candidate = (uint)_cursor;
                _cursor = (_cursor + 1) % _space;
                if (_live.Add(candidate))
                {
                    prefix = new MinerExtranoncePrefix(candidate, PrefixSize);
                    return true;
                }
            }
        }
    }

    /// <summary>
    /// Claims a specific prefix (a miner moving here from another upstream keeps its extranonce1). False when it is
    /// already live here or the allocator is full.
    /// </summary>
    public bool TryReserve(MinerExtranoncePrefix prefix)
    {
        CheckSize(prefix);
        lock (_gate)
        {
            return _live.Count < Capacity && _live.Add(prefix.Value);
        }
    }

    /// <summary>Frees a prefix on disconnect or when its miner moves away; false when it was not live.</summary>
    public bool Release(MinerExtranoncePrefix prefix)
    {
        CheckSize(prefix);
        lock (_gate)
        {
            return _live.Remove(prefix.Value);
        }
    }

    public bool IsAllocated(MinerExtranoncePrefix prefix)
    {
        CheckSize(prefix);
        lock (_gate)
        {
            return _live.Contains(prefix.Value);
        }
    }

    private void CheckSize(MinerExtranoncePrefix prefix)
    {
        if (prefix.Size != PrefixSize)
        {
            throw new ArgumentException($"prefix has {prefix.Size} byte(s); this allocator hands out {PrefixSize}", nameof(prefix));
        }
    }
}

/// <summary>
/// Mints miners' extranonce1 prefixes for every k (process-wide), unique while the k-byte space lasts. When it is
/// exhausted (k = 0 always, k = 1 past 256 live miners) a prefix is handed out again in turn: such a miner can only
/// share an upstream connection with miners of a different prefix, which each connection's own allocator
/// (<see cref="ExtranonceAllocator.TryReserve"/>) enforces — the pool then needs more connections.
/// </summary>
public sealed class ExtranoncePrefixes
{
    private readonly ExtranonceAllocator[] _unique = new ExtranonceAllocator[ExtranonceAllocator.MaxPrefixSize + 1];
    private readonly uint[] _shared = new uint[ExtranonceAllocator.MaxPrefixSize + 1];
    private readonly Lock _gate = new();

    public ExtranoncePrefixes()
    {
        for (var k = 0; k < _unique.Length; k++)
        {
            _unique[k] = new ExtranonceAllocator(k);
        }
    }

    /// <summary>A prefix of <paramref name="size"/> bytes; <paramref name="unique"/> says whether it must be released.</summary>
    public MinerExtranoncePrefix Mint(int size, out bool unique)
    {
        var allocator = _unique[size];
        if (allocator.TryAllocate(out var prefix))
        {
            unique = true;
            return prefix;
        }

        unique = false;
        lock (_gate)
        {
            var value = _shared[size];
            _shared[size] = size == 4 ? value + 1 : (value + 1) % (uint)(1 << (8 * size));
            return new MinerExtranoncePrefix(value, size);
        }
    }

    /// <summary>Takes a prefix minted unique by the process that handed its miner over (false: already live here).</summary>
    public bool Adopt(MinerExtranoncePrefix prefix) => _unique[prefix.Size].TryReserve(prefix);

    /// <summary>Gives back a prefix minted unique.</summary>
    public void Release(MinerExtranoncePrefix prefix) => _unique[prefix.Size].Release(prefix);

    /// <summary>Live unique prefixes of one size.</summary>
    public int Count(int size) => _unique[size].Count;
}
