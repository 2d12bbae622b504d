using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace StratumProxy.Stratum.Mining;

/// <summary>
/// An unsigned 256-bit integer: a target, or a block hash read as a number. Bitcoin reads the 32 bytes of a
/// SHA-256d digest as a little-endian integer (so the "display" hex, reversed, is the big-endian form).
/// </summary>
public readonly struct UInt256 : IEquatable<UInt256>, IComparable<UInt256>
{
    // _u0 is the least significant 64 bits.
    private readonly ulong _u0;
    private readonly ulong _u1;
    private readonly ulong _u2;
    private readonly ulong _u3;

    /// <summary>Builds the value from four 64-bit limbs, most significant first (the order it is written in).</summary>
    public UInt256(ulong upper, ulong upperMiddle, ulong lowerMiddle, ulong lower)
    {
        _u3 = upper;
        _u2 = upperMiddle;
        _u1 = lowerMiddle;
        _u0 = lower;
    }

    private static readonly double TwoPow256 = Math.ScaleB(1.0, 256);

    public static UInt256 Zero => default;

    public static UInt256 One => new(0, 0, 0, 1);

    public static UInt256 MaxValue => new(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue);

    public bool IsZero => (_u0 | _u1 | _u2 | _u3) == 0;

    /// <summary>Reads 32 bytes as a little-endian integer: a hash in internal byte order, as Bitcoin compares it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt256 FromLittleEndian(ReadOnlySpan<byte> bytes32)
    {
        if (bytes32.Length < 32)
        {
            ThrowTooShort(nameof(bytes32));
        }

        return new UInt256(
            BinaryPrimitives.ReadUInt64LittleEndian(bytes32[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes32[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes32[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes32));
    }

    /// <summary>Reads 32 bytes as a big-endian integer (the display order of hashes and targets).</summary>
    public static UInt256 FromBigEndian(ReadOnlySpan<byte> bytes32)
    {
        if (bytes32.Length < 32)
        {
            ThrowTooShort(nameof(bytes32));
        }

        return new UInt256(
            BinaryPrimitives.ReadUInt64BigEndian(bytes32),
            BinaryPrimitives.ReadUInt64BigEndian(bytes32[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes32[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes32[24..]));
    }

    /// <summary>Parses up to 64 hex digits, most significant first (e.g. a block hash as explorers show it).</summary>
    public static bool TryParseHex(ReadOnlySpan<char> hex, out UInt256 value)
    {
        value = default;
        if (hex.IsEmpty || hex.Length > 64)
        {
            return false;
        }

        Span<char> padded = stackalloc char[64];
        padded[..(64 - hex.Length)].Fill('0');
        hex.CopyTo(padded[(64 - hex.Length)..]);
        Span<byte> bytes = stackalloc byte[32];
        if (!Hex.TryDecodeExact(padded, bytes))
        {
            return false;
        }

        value = FromBigEndian(bytes);
        return true;
    }

    /// <summary>Parses up to 64 hex digits, most significant first; throws <see cref="FormatException"/> on bad input.</summary>
    public static UInt256 ParseHex(ReadOnlySpan<char> hex) =>
        TryParseHex(hex, out var value) ? value : throw new FormatException("Expected 1 to 64 hex digits.");

    public void WriteLittleEndian(Span<byte> destination32)
    {
        if (destination32.Length < 32)
        {
            ThrowTooShort(nameof(destination32));
        }

        BinaryPrimitives.WriteUInt64LittleEndian(destination32, _u0);
        BinaryPrimitives.WriteUInt64LittleEndian(destination32[8..], _u1);
        BinaryPrimitives.WriteUInt64LittleEndian(destination32[16..], _u2);
        BinaryPrimitives.WriteUInt64LittleEndian(destination32[24..], _u3);
    }

    /// <summary>The 32 bytes most significant first: the little-endian form reversed.</summary>
    public void WriteBigEndian(Span<byte> destination32)
    {
        WriteLittleEndian(destination32);
        destination32[..32].Reverse();
    }

    /// <summary>The least significant 64 bits.</summary>
    public ulong ToLowUInt64() => _u0;

    /// <summary>Number of leading zero bits (256 for zero).</summary>
    public int LeadingZeroCount =>
        _u3 != 0 ? BitOperations.LeadingZeroCount(_u3)
        : _u2 != 0 ? 64 + BitOperations.LeadingZeroCount(_u2)
        : _u1 != 0 ? 128 + BitOperations.LeadingZeroCount(_u1)
        : 192 + BitOperations.LeadingZeroCount(_u0);

    /// <summary>The nearest double (round to nearest even on the top 53 significant bits).</summary>
    public double ToDouble()
    {
        var bits = 256 - LeadingZeroCount;
        if (bits <= 64)
        {
            return _u0;
        }

        // Keep the top 64 bits plus a sticky bit for everything below, so the conversion to double rounds once.
        var shift = bits - 64;
        var top = (this >> shift)._u0;
        var below = this & ((One << shift) - One);
        if (!below.IsZero)
        {
            top |= 1;
        }

        return Math.ScaleB(top, shift);
    }

    /// <summary>
    /// The integer part of a non-negative finite double; values at or above 2^256 saturate to <see cref="MaxValue"/>.
    /// </summary>
    public static UInt256 FromDouble(double value)
    {
        if (double.IsNaN(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "Must be a non-negative number.");
        }

        if (value < 1)
        {
            return Zero;
        }

        if (value >= TwoPow256)
        {
            return MaxValue;
        }

        var exponent = Math.ILogB(value);
        if (exponent < 64)
        {
            return new UInt256(0, 0, 0, (ulong)value);
        }

        // value = mantissa * 2^(exponent - 52), exactly.
        var mantissa = (ulong)Math.ScaleB(value, 52 - exponent);
        return new UInt256(0, 0, 0, mantissa) << (exponent - 52);
    }

    /// <summary>Divides by a 64-bit divisor, truncating.</summary>
    public UInt256 DivideBy(ulong divisor, out ulong remainder)
    {
        ArgumentOutOfRangeException.ThrowIfZero(divisor);
        var q3 = _u3 / divisor;
        var r = _u3 - (q3 * divisor);
        var q2 = DivRem128(r, _u2, divisor, out r);
        var q1 = DivRem128(r, _u1, divisor, out r);
        var q0 = DivRem128(r, _u0, divisor, out r);
        remainder = r;
        return new UInt256(q3, q2, q1, q0);
    }

    public static UInt256 operator <<(UInt256 value, int shift) => Shift(value, shift, left: true);

    public static UInt256 operator >>(UInt256 value, int shift) => Shift(value, shift, left: false);

    public static UInt256 operator &(UInt256 left, UInt256 right) =>
        new(left._u3 & right._u3, left._u2 & right._u2, left._u1 & right._u1, left._u0 & right._u0);

    /// <summary>Wrapping addition (mod 2^256).</summary>
    public static UInt256 operator +(UInt256 left, UInt256 right)
    {
        var s0 = left._u0 + right._u0;
        var carry = s0 < left._u0 ? 1UL : 0UL;
        var s1 = left._u1 + right._u1 + carry;
        carry = s1 < left._u1 || (s1 == left._u1 && carry == 1) ? 1UL : 0UL;
        var s2 = left._u2 + right._u2 + carry;
        carry = s2 < left._u2 || (s2 == left._u2 && carry == 1) ? 1UL : 0UL;
        var s3 = left._u3 + right._u3 + carry;
        return new UInt256(s3, s2, s1, s0);
    }

    /// <summary>Wrapping subtraction (mod 2^256).</summary>
    public static UInt256 operator -(UInt256 left, UInt256 right)
    {
        var d0 = left._u0 - right._u0;
        var borrow = left._u0 < right._u0 ? 1UL : 0UL;
        var d1 = left._u1 - right._u1 - borrow;
        borrow = left._u1 < right._u1 || (left._u1 == right._u1 && borrow == 1) ? 1UL : 0UL;
        var d2 = left._u2 - right._u2 - borrow;
        borrow = left._u2 < right._u2 || (left._u2 == right._u2 && borrow == 1) ? 1UL : 0UL;
        var d3 = left._u3 - right._u3 - borrow;
        return new UInt256(d3, d2, d1, d0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int CompareTo(UInt256 other)
    {
        if (_u3 != other._u3)
        {
            return _u3 < other._u3 ? -1 : 1;
        }

        if (_u2 != other._u2)
        {
            return _u2 < other._u2 ? -1 : 1;
        }

        if (_u1 != other._u1)
        {
            return _u1 < other._u1 ? -1 : 1;
        }

        return _u0 == other._u0 ? 0 : _u0 < other._u0 ? -1 : 1;
    }

    public bool Equals(UInt256 other) =>
        _u0 == other._u0 && _u1 == other._u1 && _u2 == other._u2 && _u3 == other._u3;

    public override bool Equals(object? obj) => obj is UInt256 other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_u0, _u1, _u2, _u3);

    /// <summary>64 lower-case hex digits, most significant first.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{_u3:x16}{_u2:x16}{_u1:x16}{_u0:x16}");

    public static bool operator ==(UInt256 left, UInt256 right) => left.Equals(right);

    public static bool operator !=(UInt256 left, UInt256 right) => !left.Equals(right);

    public static bool operator <(UInt256 left, UInt256 right) => left.CompareTo(right) < 0;

    public static bool operator >(UInt256 left, UInt256 right) => left.CompareTo(right) > 0;

    public static bool operator <=(UInt256 left, UInt256 right) => left.CompareTo(right) <= 0;

    public static bool operator >=(UInt256 left, UInt256 right) => left.CompareTo(right) >= 0;

    private static ulong DivRem128(ulong high, ulong low, ulong divisor, out ulong remainder)
    {
        var dividend = ((UInt128)high << 64) | low;
        var quotient = dividend / divisor;
        remainder = (ulong)(dividend - (quotient * divisor));
        return (ulong)quotient;
    }

    private static void ThrowTooShort(string paramName) =>
        throw new ArgumentException("A 256-bit value needs 32 bytes.", paramName);

    /// <summary>
    /// A logical shift by whole 64-bit limbs and then bits: each result limb takes its source limb shifted, plus the
    /// bits carried in from the neighbour on the side the shift comes from. Past 255 bits every bit is gone.
    /// </summary>
    private static UInt256 Shift(UInt256 value, int shift, bool left)
    {
        if ((uint)shift >= 256)
        {
            return Zero;
        }

        Span<ulong> limbs = [value._u0, value._u1, value._u2, value._u3];
        Span<ulong> result = stackalloc ulong[4];
        var words = shift >> 6;
        var bits = shift & 63;
        var step = left ? -1 : 1;
        for (var i = 0; i < 4; i++)
        {
            var source = i + (step * words);
            var neighbour = source + step;
            ulong limb = 0;
            if (source is >= 0 and < 4)
            {
                limb = left ? limbs[source] << bits : limbs[source] >> bits;
                if (bits != 0 && neighbour is >= 0 and < 4)
                {
                    limb |= left ? limbs[neighbour] >> (64 - bits) : limbs[neighbour] << (64 - bits);
                }
            }

            result[i] = limb;
        }

        return new UInt256(result[3], result[2], result[1], result[0]);
    }
}
