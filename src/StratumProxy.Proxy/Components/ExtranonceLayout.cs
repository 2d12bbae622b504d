using System.Diagnostics.CodeAnalysis;

namespace StratumProxy.Proxy.Components;

/// <summary>
/// How a miner's extranonce fits inside one upstream connection's extranonce2 (aggregating mode, DESIGN.md
/// "Extranonce ownership"). Immutable; built once when the pool answers mining.subscribe (or set_extranonce).
/// </summary>
/// <remarks>
/// <code>
///  pool's view of the coinbase:   coinbase1 | E (pool extranonce1)  | pool extranonce2 (N bytes)          | coinbase2
///                                                                   | pad (N-k-n) | m (k)  | e2 (n)       |
///  miner's view of the coinbase:  coinbase1' = coinbase1 | E | pad  | extranonce1 = m | extranonce2 = e2  | coinbase2
///
///  E    bytes the pool assigned to this upstream connection (any length, usually 4..8)
///  N    the pool's extranonce2 size for this connection
///  pad  N - k - n bytes chosen by the proxy, constant per upstream connection: zeros
///  m    the miner's extranonce1, k bytes (0..4, default 2), unique among the miners on this connection
///       (ExtranonceAllocator), fixed for the miner's whole TCP connection
///  e2   the miner's own extranonce2, n bytes (2..8, default 4; cgminer-era firmware keeps en2 in a uint64)
///
///  k and n are chosen per pool group from the pools' N (MinerLayout.Fit, docs/extranonce.md); one upstream
///  connection carries miners of one (k, n) only.
/// </code>
/// <para>The miner hashes <c>coinbase1 + E + pad + m + e2 + coinbase2</c>, which is byte for byte the pool's
/// coinbase with pool-extranonce2 = <c>pad | m | e2</c>: that is what the proxy submits
/// (<see cref="WritePoolExtranonce2"/>). Moving the miner to another pool changes only E, N and pad — m and n stay —
/// so the miner needs a clean job, never mining.set_extranonce (which most ASIC firmware ignores).</para>
/// <para>Uniqueness: two miners on one connection differ in m, so their pool extranonce2 values never collide; a
/// miner cannot reach another miner's range because it only controls the last n bytes.</para>
/// <para>Worked example: E = 0x08000002, N = 8, k = 2, n = 4 → pad = 2 bytes; miner m = 0x0001 gets extranonce1
/// "0001", extranonce2_size 4, coinbase1' = coinbase1 + "08000002" + "0000"; its e2 "deadbeef" is submitted to the
/// pool as extranonce2 "00000001deadbeef".</para>
/// </remarks>
public sealed class ExtranonceLayout
{
    public const int DefaultMinerExtranonce2Size = 4;
    public const int MaxMinerExtranonce2Size = 8;

    private readonly byte[] _poolExtranonce1;

    private ExtranonceLayout(byte[] poolExtranonce1, int poolExtranonce2Size, int prefixSize, int minerExtranonce2Size)
    {
        _poolExtranonce1 = poolExtranonce1;
        PoolExtranonce2Size = poolExtranonce2Size;
        PrefixSize = prefixSize;
        MinerExtranonce2Size = minerExtranonce2Size;
    }

    /// <summary>E.</summary>
    public ReadOnlyMemory<byte> PoolExtranonce1 => _poolExtranonce1;

    /// <summary>N.</summary>
    public int PoolExtranonce2Size { get; }

    /// <summary>k.</summary>
    public int PrefixSize { get; }

    /// <summary>n, the extranonce2_size the miner is told.</summary>
    public int MinerExtranonce2Size { get; }

    /// <summary>(k, n): the miners this connection carries.</summary>
    public MinerLayout Miner => new(PrefixSize, MinerExtranonce2Size);

    /// <summary>N − k − n.</summary>
    public int PadSize => PoolExtranonce2Size - PrefixSize - MinerExtranonce2Size;

    /// <summary>Bytes appended to the pool's coinbase1 for the miner: |E| + pad.</summary>
    public int MinerCoinbase1SuffixLength => _poolExtranonce1.Length + PadSize;

    /// <summary>Computes the layout, or explains (naming the numbers) why this pool connection cannot carry it.</summary>
    public static bool TryCreate(
        ReadOnlySpan<byte> poolExtranonce1,
        int poolExtranonce2Size,
        int prefixSize,
        int minerExtranonce2Size,
        [NotNullWhen(true)] out ExtranonceLayout? layout,
        [NotNullWhen(false)] out string? error)
    {
        layout = null;
        if (prefixSize is < ExtranonceAllocator.MinPrefixSize or > ExtranonceAllocator.MaxPrefixSize)
        {
            error = $"miner extranonce1 prefix size k={prefixSize} is outside {ExtranonceAllocator.MinPrefixSize}..{ExtranonceAllocator.MaxPrefixSize}";
            return false;
        }

        if (minerExtranonce2Size is < 1 or > MaxMinerExtranonce2Size)
        {
            error = $"miner extranonce2 size n={minerExtranonce2Size} is outside 1..{MaxMinerExtranonce2Size}";
            return false;
        }

        if (poolExtranonce2Size < prefixSize + minerExtranonce2Size)
        {
            error = $"pool extranonce2 size N={poolExtranonce2Size} is too small: the proxy needs k={prefixSize} (miner extranonce1 prefix) + " +
                    $"n={minerExtranonce2Size} (miner extranonce2) = {prefixSize + minerExtranonce2Size} bytes; this miner layout cannot use this pool";
            return false;
        }

        layout = new ExtranonceLayout(poolExtranonce1.ToArray(), poolExtranonce2Size, prefixSize, minerExtranonce2Size);
        error = null;
        return true;
    }

    /// <summary>Like <see cref="TryCreate"/> but throws <see cref="ArgumentException"/> with the same message.</summary>
    public static ExtranonceLayout Create(ReadOnlySpan<byte> poolExtranonce1, int poolExtranonce2Size, int prefixSize, int minerExtranonce2Size) =>
        TryCreate(poolExtranonce1, poolExtranonce2Size, prefixSize, minerExtranonce2Size, out var layout, out var error)
            ? layout
            : throw new ArgumentException(error);

    /// <summary>Writes E + pad (append to the pool's coinbase1 to get the miner's coinbase1').</summary>
    public void WriteMinerCoinbase1Suffix(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, MinerCoinbase1SuffixLength, nameof(destination));
        _poolExtranonce1.CopyTo(destination);
        destination.Slice(_poolExtranonce1.Length, PadSize).Clear();
    }

    /// <summary>Writes the pool extranonce2 <c>pad | m | e2</c> for a miner's share; returns N. Allocation-free.</summary>
    public int WritePoolExtranonce2(MinerExtranoncePrefix prefix, ReadOnlySpan<byte> minerExtranonce2, Span<byte> destination)
    {
        if (prefix.Size != PrefixSize)
        {
            throw new ArgumentException($"prefix has {prefix.Size} byte(s); the layout expects k={PrefixSize}", nameof(prefix));
        }

        if (minerExtranonce2.Length != MinerExtranonce2Size)
        {
            throw new ArgumentException($"miner extranonce2 has {minerExtranonce2.Length} byte(s); the layout expects n={MinerExtranonce2Size}", nameof(minerExtranonce2));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, PoolExtranonce2Size, nameof(destination));
        var pad = PadSize;
        destination[..pad].Clear();
        prefix.WriteTo(destination.Slice(pad, PrefixSize));
        minerExtranonce2.CopyTo(destination[(pad + PrefixSize)..]);
        return PoolExtranonce2Size;
    }
}
