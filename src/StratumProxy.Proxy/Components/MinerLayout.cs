namespace StratumProxy.Proxy.Components;

/// <summary>
/// The miner side of an <see cref="ExtranonceLayout"/>: k (the miner's extranonce1 size, its prefix <c>m</c>) and
/// n (the extranonce2 size it is told). Fixed for a miner's whole connection; every upstream connection carries
/// miners of exactly one layout, so their pool extranonce2 ranges <c>pad | m | e2</c> never overlap.
/// </summary>
/// <remarks>
/// <para><b>The adaptive rule</b> (<see cref="Fit"/>, docs/extranonce.md): start from the configured k and n; while
/// k + n is larger than the pool's extranonce2 size N, first give up bytes of n down to
/// <see cref="ComfortableExtranonce2Size"/> (3: 2^24 coinbases per job, minutes of work for the fastest ASIC even
/// without version rolling), then bytes of k down to 1 (256 miners per upstream connection), then n down to
/// <see cref="MinExtranonce2Size"/> (2), then k down to 0 (one miner per upstream connection, an empty
/// extranonce1). A pool with N &lt; 2 cannot be served.</para>
/// <para>For the default k = 2, n = 4: N ≥ 6 → (2, 4); N = 5 → (2, 3); N = 4 → (1, 3); N = 3 → (1, 2); N = 2 → (0, 2).</para>
/// </remarks>
public readonly record struct MinerLayout
{
    /// <summary>The smallest extranonce2 size a miner is told (cgminer and its forks refuse less).</summary>
    public const int MinExtranonce2Size = 2;

    /// <summary>n is not lowered below this while k can still shrink instead.</summary>
    public const int ComfortableExtranonce2Size = 3;

    public MinerLayout(int prefixSize, int extranonce2Size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(prefixSize, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixSize, ExtranonceAllocator.MaxPrefixSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(extranonce2Size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(extranonce2Size, ExtranonceLayout.MaxMinerExtranonce2Size);
        PrefixSize = prefixSize;
        Extranonce2Size = extranonce2Size;
    }

    /// <summary>k.</summary>
    public int PrefixSize { get; }

    /// <summary>n.</summary>
    public int Extranonce2Size { get; }

    /// <summary>k + n: the least pool extranonce2 size N that can carry miners of this layout.</summary>
    public int Width => PrefixSize + Extranonce2Size;

    /// <summary>Miners one upstream connection can carry: 256^k.</summary>
    public long MinersPerConnection => 1L << (8 * PrefixSize);

    /// <summary>True when a pool giving <paramref name="poolExtranonce2Size"/> bytes can carry this layout.</summary>
    public bool FitsIn(int poolExtranonce2Size) => Width <= poolExtranonce2Size;

    /// <summary>
    /// The layout for a pool extranonce2 size N, starting from the configured one (the adaptive rule above);
    /// null when N is below <see cref="MinExtranonce2Size"/>.
    /// </summary>
    public static MinerLayout? Fit(int poolExtranonce2Size, MinerLayout configured)
    {
        if (poolExtranonce2Size < MinExtranonce2Size)
        {
            return null;
        }

        var k = configured.PrefixSize;
        var n = configured.Extranonce2Size;
        while (k + n > poolExtranonce2Size && n > ComfortableExtranonce2Size)
        {
            n--;
        }

        while (k + n > poolExtranonce2Size && k > 1)
        {
            k--;
        }

        while (k + n > poolExtranonce2Size && n > MinExtranonce2Size)
        {
            n--;
        }

        while (k + n > poolExtranonce2Size && k > 0)
        {
            k--;
        }

        return new MinerLayout(k, n);
    }

    /// <summary>
    /// The layout for miners that may be sent to any of the pools of a group: fitted to the smallest N among them
    /// (known from a subscribe answer, else the configured hint); the configured layout when none is known.
    /// </summary>
    public static MinerLayout? ForGroup(ReadOnlySpan<int> poolExtranonce2Sizes, MinerLayout configured)
    {
        var smallest = int.MaxValue;
        foreach (var size in poolExtranonce2Sizes)
        {
            // A pool too small for any layout is refused on its own; it does not shrink everyone else's.
            if (size >= MinExtranonce2Size)
            {
                smallest = Math.Min(smallest, size);
            }
        }

        return smallest == int.MaxValue ? configured : Fit(smallest, configured);
    }

    public override string ToString() => $"k={PrefixSize}, n={Extranonce2Size}";
}
