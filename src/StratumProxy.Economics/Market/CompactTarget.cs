using System.Globalization;
using System.Numerics;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Market;

/// <summary>The compact "nbits" encoding of a block target, as carried in every mining.notify.</summary>
public static class CompactTarget
{
    /// <summary>Target at difficulty 1: 0xFFFF × 2^208 (compact 0x1d00ffff).</summary>
    public static readonly BigInteger DifficultyOneTarget = new BigInteger(0xFFFF) << 208;

    /// <summary>Expands a compact target (exponent byte, 23-bit mantissa; the sign bit must be clear).</summary>
    public static BigInteger ToTarget(uint nbits)
    {
        var exponent = (int)(nbits >> 24);
        var mantissa = nbits & 0x007F_FFFFu;
        if ((nbits & 0x0080_0000u) != 0 || mantissa == 0)
        {
            throw new FormatException($"nbits {nbits:x8} is negative or zero");
        }

        return exponent <= 3
            ? new BigInteger(mantissa >> (8 * (3 - exponent)))
            : new BigInteger(mantissa) << (8 * (exponent - 3));
    }

    /// <summary>
    /// Difficulty for <paramref name="nbits"/>: diff-1 target / target. Computed as the ratio of mantissas times a
    /// power of two, which is exact to double precision for every encodable target.
    /// </summary>
    public static Difficulty ToDifficulty(uint nbits)
    {
        var target = ToTarget(nbits);
        if (target.IsZero)
        {
            throw new FormatException($"nbits {nbits:x8} encodes a zero target");
        }

        var exponent = (int)(nbits >> 24);
        var mantissa = (double)(nbits & 0x007F_FFFFu);
        // diff = 0xFFFF·2^208 / (mantissa·2^(8·(exponent−3)))
        return new Difficulty(0xFFFF / mantissa * Math.Pow(2, 208 - (8 * (exponent - 3))));
    }

    /// <summary>Parses the 8 hex digits that mining.notify carries (big-endian, as sent).</summary>
    public static uint ParseHex(string nbitsHex)
    {
        ArgumentNullException.ThrowIfNull(nbitsHex);
        if (nbitsHex.Length != 8 || !uint.TryParse(nbitsHex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
        {
            throw new FormatException($"nbits '{nbitsHex}' is not 8 hex digits");
        }

        return value;
    }
}
