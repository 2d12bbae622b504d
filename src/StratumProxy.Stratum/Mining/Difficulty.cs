using System.Runtime.CompilerServices;

namespace StratumProxy.Stratum.Mining;

/// <summary>
/// Difficulty and targets. Difficulty 1 is the target <c>0x00000000FFFF0000…</c> = 0xFFFF·2^208 (the "pdiff"
/// convention of cgminer, ckpool, ESP-Miner and Bitcoin Core's <c>getdifficulty</c>); a share of difficulty D has a
/// hash at most <c>Diff1Target / D</c>.
/// </summary>
public static class Difficulty
{
    /// <summary>0xFFFF·2^208: the target of difficulty 1 (nbits 0x1d00ffff).</summary>
    public static UInt256 Diff1Target { get; } = new(0x00000000FFFF0000, 0, 0, 0);

    // Diff1Target as a double: exact (16 significant bits).
    private static readonly double Diff1 = Math.ScaleB(0xFFFF, 208);

    private static readonly double TwoPow64 = Math.ScaleB(1.0, 64);

    /// <summary>
    /// The share target for a pool difficulty: floor(Diff1Target / difficulty). Whole difficulties up to 2^64 divide
    /// exactly; others (0.001, 1e15 with a fraction, …) go through a double, as cgminer and ckpool do, so the target
    /// carries 53 significant bits. Difficulties so small that the target would exceed 2^256−1 give
    /// <see cref="UInt256.MaxValue"/>.
    /// </summary>
    public static UInt256 ToTarget(double difficulty)
    {
        if (!double.IsFinite(difficulty) || difficulty <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(difficulty), difficulty, "Difficulty must be a positive finite number.");
        }

        if (difficulty >= 1 && difficulty < TwoPow64 && Math.Floor(difficulty) == difficulty)
        {
            return Diff1Target.DivideBy((ulong)difficulty, out _);
        }

        return UInt256.FromDouble(Diff1 / difficulty);
    }

    /// <summary>The difficulty a target stands for: Diff1Target / target (+∞ for a zero target).</summary>
    public static double FromTarget(UInt256 target) =>
        target.IsZero ? double.PositiveInfinity : Diff1 / target.ToDouble();

    /// <summary>
    /// The difficulty of a share whose SHA-256d digest (internal byte order, i.e. little-endian integer) is
    /// <paramref name="hash32"/>: the largest pool difficulty it would meet.
    /// </summary>
    public static double OfHash(ReadOnlySpan<byte> hash32) => FromTarget(UInt256.FromLittleEndian(hash32));

    /// <summary>True when the digest (internal byte order) read as a little-endian integer is at most <paramref name="target"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MeetsTarget(ReadOnlySpan<byte> hash32, UInt256 target) => UInt256.FromLittleEndian(hash32) <= target;

    /// <summary>
    /// Expands the compact "nbits" form (a sign bit, an 8-bit byte-count exponent, a 23-bit mantissa) to the target
    /// it encodes. False for negative or overflowing encodings, which no valid block header carries.
    /// </summary>
    public static bool TryTargetFromCompact(uint nbits, out UInt256 target)
    {
        target = UInt256.Zero;
        var exponent = (int)(nbits >> 24);
        var mantissa = nbits & 0x007FFFFF;
        var negative = (nbits & 0x00800000) != 0;
        if (mantissa == 0)
        {
            return !negative;
        }

        if (negative)
        {
            return false;
        }

        if (exponent <= 3)
        {
            target = new UInt256(0, 0, 0, mantissa >> (8 * (3 - exponent)));
            return true;
        }

        var shift = 8 * (exponent - 3);
        var significantBits = 32 - System.Numerics.BitOperations.LeadingZeroCount(mantissa);
        if (significantBits + shift > 256)
        {
            return false;
        }

        target = new UInt256(0, 0, 0, mantissa) << shift;
        return true;
    }

    /// <summary>Expands nbits; throws <see cref="ArgumentOutOfRangeException"/> for negative or overflowing encodings.</summary>
    public static UInt256 TargetFromCompact(uint nbits) =>
        TryTargetFromCompact(nbits, out var target)
            ? target
            : throw new ArgumentOutOfRangeException(nameof(nbits), nbits, "Negative or overflowing compact target.");

    /// <summary>The compact (nbits) encoding of a target, rounding the mantissa down as Bitcoin Core's GetCompact does.</summary>
    public static uint ToCompact(UInt256 target)
    {
        var size = (256 - target.LeadingZeroCount + 7) / 8;
        uint mantissa;
        if (size <= 3)
        {
            mantissa = (uint)(target.ToLowUInt64() << (8 * (3 - size)));
        }
        else
        {
            mantissa = (uint)(target >> (8 * (size - 3))).ToLowUInt64();
        }

        // The mantissa's top bit is the sign bit: move to a larger exponent instead.
        if ((mantissa & 0x00800000) != 0)
        {
            mantissa >>= 8;
            size++;
        }

        return ((uint)size << 24) | mantissa;
    }

    /// <summary>Network difficulty of a job's nbits: Diff1Target / target (1 for 0x1d00ffff).</summary>
    public static double NetworkDifficulty(uint nbits) => FromTarget(TargetFromCompact(nbits));
}
