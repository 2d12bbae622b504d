using StratumProxy.Stratum.Mining;

namespace StratumProxy.Stratum.Tests.Mining;

public sealed class DifficultyTests
{
    [Fact]
    public void ToTarget_DifficultyOne_IsFfffShiftedBy208()
    {
        Assert.Equal("00000000ffff0000000000000000000000000000000000000000000000000000", Difficulty.ToTarget(1).ToString());
        Assert.Equal(Difficulty.Diff1Target, Difficulty.ToTarget(1));
    }

    [Fact]
    public void ToTarget_TwoPow32_IsExact()
    {
        // 0xFFFF·2^208 / 2^32 = 0xFFFF·2^176.
        Assert.Equal("0000000000000000ffff" + new string('0', 44), Difficulty.ToTarget(4294967296).ToString());
    }

    [Fact]
    public void ToTarget_OneThousandth_Is65535000Shifted()
    {
        // 0xFFFF / 0.001 = 65535000 = 0x3E7FC18.
        Assert.Equal("000003e7fc18" + new string('0', 52), Difficulty.ToTarget(0.001).ToString());
    }

    [Fact]
    public void ToTarget_IntegerDifficulty_TruncatesLikeIntegerDivision()
    {
        // 0xFFFF·2^208 / 3 = 0x5555·2^208 exactly; / 7 leaves a remainder, so the target is rounded down.
        Assert.Equal(new UInt256(0x0000000055550000, 0, 0, 0), Difficulty.ToTarget(3));
        var seventh = Difficulty.ToTarget(7);
        var sevenTimes = UInt256.Zero;
        for (var i = 0; i < 7; i++)
        {
            sevenTimes += seventh;
        }

        Assert.True(sevenTimes <= Difficulty.Diff1Target);
        Assert.True(Difficulty.Diff1Target - sevenTimes < new UInt256(0, 0, 0, 7));
    }

    [Theory]
    [InlineData(0.001)]
    [InlineData(0.0010000000388821206)]
    [InlineData(0.5)]
    [InlineData(1)]
    [InlineData(3.7)]
    [InlineData(1000)]
    [InlineData(65536)]
    [InlineData(4294967296)]
    [InlineData(1e12)]
    [InlineData(1.2345678e15)]
    [InlineData(116627800000000.0)]
    [InlineData(1e20)]
    [InlineData(1e40)]
    public void ToTargetThenFromTarget_RoundTrips(double difficulty)
    {
        var target = Difficulty.ToTarget(difficulty);

        var back = Difficulty.FromTarget(target);

        Assert.Equal(1.0, back / difficulty, 10);
        Assert.True(target <= Difficulty.ToTarget(difficulty * 0.999));
        Assert.True(target >= Difficulty.ToTarget(difficulty * 1.001));
    }

    [Fact]
    public void ToTarget_TinyDifficulty_SaturatesAtMax()
    {
        Assert.Equal(UInt256.MaxValue, Difficulty.ToTarget(1e-80));
        Assert.True(Difficulty.ToTarget(1e-9) < UInt256.MaxValue);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void ToTarget_NonPositiveOrNonFinite_Throws(double difficulty)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Difficulty.ToTarget(difficulty));
    }

    [Fact]
    public void FromTarget_Zero_IsInfinite()
    {
        Assert.Equal(double.PositiveInfinity, Difficulty.FromTarget(UInt256.Zero));
    }

    [Fact]
    public void OfHash_HashEqualToDiff1Target_IsOne()
    {
        var hash = new byte[32];
        Difficulty.Diff1Target.WriteLittleEndian(hash);

        Assert.Equal(1.0, Difficulty.OfHash(hash));
        Assert.True(Difficulty.MeetsTarget(hash, Difficulty.Diff1Target));
        Assert.False(Difficulty.MeetsTarget(hash, Difficulty.Diff1Target - UInt256.One));
    }

    [Fact]
    public void NetworkDifficulty_1d00ffff_IsOne()
    {
        Assert.Equal(Difficulty.Diff1Target, Difficulty.TargetFromCompact(0x1d00ffff));
        Assert.Equal(1.0, Difficulty.NetworkDifficulty(0x1d00ffff));
    }

    [Fact]
    public void NetworkDifficulty_1705ae3a_IsMainnetDifficultyOfMay2023()
    {
        // Published difficulty of the epoch with bits 1705ae3a (blocks 788256–790271): 49,549,703,178,592.68.
        Assert.Equal(49_549_703_178_592.68, Difficulty.NetworkDifficulty(0x1705ae3a), 0.01);
        Assert.Equal("00000000000000000005ae3a" + new string('0', 40), Difficulty.TargetFromCompact(0x1705ae3a).ToString());
    }

    [Fact]
    public void NetworkDifficulty_207fffff_IsRegtestDifficulty()
    {
        // bitcoind -regtest getdifficulty prints 4.656542373906925e-10.
        Assert.Equal(1.0, Difficulty.NetworkDifficulty(0x207fffff) / 4.656542373906925e-10, 14);
        Assert.Equal("7fffff" + new string('0', 58), Difficulty.TargetFromCompact(0x207fffff).ToString());
    }

    // Cases from Bitcoin Core's arith_uint256 SetCompact tests.
    [Theory]
    [InlineData(0x00000000u, "0")]
    [InlineData(0x00123456u, "0")]
    [InlineData(0x01003456u, "0")]
    [InlineData(0x01123456u, "12")]
    [InlineData(0x02123456u, "1234")]
    [InlineData(0x03123456u, "123456")]
    [InlineData(0x04123456u, "12345600")]
    [InlineData(0x05009234u, "92340000")]
    [InlineData(0x20123456u, "1234560000000000000000000000000000000000000000000000000000000000")]
    public void TryTargetFromCompact_BitcoinCoreCases(uint nbits, string expectedHex)
    {
        Assert.True(Difficulty.TryTargetFromCompact(nbits, out var target));
        Assert.Equal(UInt256.ParseHex(expectedHex), target);
    }

    [Theory]
    [InlineData(0x01fedcbau)]
    [InlineData(0x04923456u)]
    [InlineData(0xff123456u)]
    [InlineData(0x21010000u)]
    public void TryTargetFromCompact_NegativeOrOverflow_Fails(uint nbits)
    {
        Assert.False(Difficulty.TryTargetFromCompact(nbits, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => Difficulty.TargetFromCompact(nbits));
    }

    [Theory]
    [InlineData(0x1d00ffffu)]
    [InlineData(0x1705ae3au)]
    [InlineData(0x17029a8au)]
    [InlineData(0x207fffffu)]
    [InlineData(0x05009234u)]
    [InlineData(0x03123456u)]
    public void ToCompact_OfExpandedTarget_GivesBackNbits(uint nbits)
    {
        Assert.Equal(nbits, Difficulty.ToCompact(Difficulty.TargetFromCompact(nbits)));
    }
}
