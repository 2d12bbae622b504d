using System.Numerics;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Stratum.Tests.Mining;

public sealed class UInt256Tests
{
    [Fact]
    public void FromLittleEndian_ReadsLastByteAsMostSignificant()
    {
        var bytes = new byte[32];
        bytes[0] = 0x01;
        bytes[31] = 0x80;

        var value = UInt256.FromLittleEndian(bytes);

        Assert.Equal("8000000000000000000000000000000000000000000000000000000000000001", value.ToString());
        Assert.Equal(value, UInt256.FromBigEndian(bytes.Reverse().ToArray()));
    }

    [Fact]
    public void WriteEndianness_RoundTrips()
    {
        var value = UInt256.ParseHex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
        var little = new byte[32];
        var big = new byte[32];

        value.WriteLittleEndian(little);
        value.WriteBigEndian(big);

        Assert.Equal(0x20, little[0]);
        Assert.Equal(0x01, big[0]);
        Assert.Equal(value, UInt256.FromLittleEndian(little));
        Assert.Equal(value, UInt256.FromBigEndian(big));
    }

    [Fact]
    public void Comparison_OrdersByMostSignificantLimbFirst()
    {
        var small = new UInt256(0, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue);
        var large = new UInt256(1, 0, 0, 0);

        Assert.True(small < large);
        Assert.True(large > small);
        Assert.True(small <= new UInt256(0, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue));
        Assert.True(large >= small);
        Assert.True(small != large);
        Assert.Equal(0, large.CompareTo(new UInt256(1, 0, 0, 0)));
        Assert.True(UInt256.Zero < UInt256.One);
        Assert.True(UInt256.MaxValue > large);
    }

    [Fact]
    public void Shifts_AgreeWithBigInteger()
    {
        var random = new Random(5);
        for (var i = 0; i < 300; i++)
        {
            var bytes = new byte[32];
            random.NextBytes(bytes);
            var value = UInt256.FromBigEndian(bytes);
            var reference = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
            var shift = random.Next(0, 260);
            var mask = (BigInteger.One << 256) - 1;

            Assert.Equal(ToHex((reference << shift) & mask), (value << shift).ToString());
            Assert.Equal(ToHex(reference >> shift), (value >> shift).ToString());
        }
    }

    [Fact]
    public void DivideBy_AgreesWithBigInteger()
    {
        var random = new Random(6);
        for (var i = 0; i < 300; i++)
        {
            var bytes = new byte[32];
            random.NextBytes(bytes);
            var divisor = (ulong)random.NextInt64(1, long.MaxValue) >> random.Next(0, 62);
            divisor = Math.Max(divisor, 1);
            var reference = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);

            var quotient = UInt256.FromBigEndian(bytes).DivideBy(divisor, out var remainder);

            Assert.Equal(ToHex(BigInteger.DivRem(reference, divisor, out var expectedRemainder)), quotient.ToString());
            Assert.Equal((ulong)expectedRemainder, remainder);
        }
    }

    [Fact]
    public void Addition_CarriesAcrossLimbsAndWraps()
    {
        var value = new UInt256(0, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue) + UInt256.One;

        Assert.Equal(new UInt256(1, 0, 0, 0), value);
        Assert.Equal(UInt256.Zero, UInt256.MaxValue + UInt256.One);
    }

    [Fact]
    public void Subtraction_WrapsAndBorrowsAcrossLimbs()
    {
        var value = new UInt256(1, 0, 0, 0) - UInt256.One;

        Assert.Equal(new UInt256(0, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue), value);
        Assert.Equal(UInt256.MaxValue, UInt256.Zero - UInt256.One);
    }

    [Fact]
    public void ToDouble_RoundsToNearest()
    {
        Assert.Equal(0.0, UInt256.Zero.ToDouble());
        Assert.Equal(Math.ScaleB(1.0, 208), (UInt256.One << 208).ToDouble());
        Assert.Equal(Math.ScaleB(1.0, 256), UInt256.MaxValue.ToDouble());
        // 2^64 + 1 is not representable: nearest is 2^64. 2^200 + 2^147 + 1 rounds up (just above the halfway point).
        Assert.Equal(Math.ScaleB(1.0, 64), (new UInt256(0, 0, 1, 1)).ToDouble());
        var aboveHalf = (UInt256.One << 200) + (UInt256.One << 147) + UInt256.One;
        Assert.Equal(Math.ScaleB(1.0, 200) + Math.ScaleB(1.0, 148), aboveHalf.ToDouble());
        var exactlyHalf = (UInt256.One << 200) + (UInt256.One << 147);
        Assert.Equal(Math.ScaleB(1.0, 200), exactlyHalf.ToDouble());
    }

    [Fact]
    public void FromDouble_TruncatesAndSaturates()
    {
        Assert.Equal(UInt256.Zero, UInt256.FromDouble(0.99));
        Assert.Equal(new UInt256(0, 0, 0, 12345), UInt256.FromDouble(12345.9));
        Assert.Equal(UInt256.One << 200, UInt256.FromDouble(Math.ScaleB(1.0, 200)));
        Assert.Equal(new UInt256(0, 0, 0, 0x3E7FC18) << 208, UInt256.FromDouble(65535000.0 * Math.ScaleB(1.0, 208)));
        Assert.Equal(UInt256.MaxValue, UInt256.FromDouble(Math.ScaleB(1.0, 300)));
        Assert.Throws<ArgumentOutOfRangeException>(() => UInt256.FromDouble(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => UInt256.FromDouble(double.NaN));
    }

    [Fact]
    public void ParseHex_ShortAndInvalidInput()
    {
        Assert.Equal(new UInt256(0, 0, 0, 0xabc), UInt256.ParseHex("ABC"));
        Assert.False(UInt256.TryParseHex("", out _));
        Assert.False(UInt256.TryParseHex(new string('f', 65), out _));
        Assert.False(UInt256.TryParseHex("xyz", out _));
    }

    private static string ToHex(BigInteger value)
    {
        var bytes = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        return Convert.ToHexStringLower(bytes).PadLeft(64, '0');
    }
}
