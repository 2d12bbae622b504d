using StratumProxy.Stratum.Mining;

namespace StratumProxy.Stratum.Tests.Mining;

public sealed class VersionRollingTests
{
    [Fact]
    public void Apply_CkpoolShare_GivesHeaderVersion2e596000()
    {
        // captured-ckpool-accepted-version-rolled-share-1: job 20000000, bits 0e596000, mask 1fffe000; the header
        // starts 0060592e, i.e. version 0x2e596000 little-endian.
        Assert.Equal(0x2e596000u, VersionRolling.Apply(0x20000000, 0x0e596000, 0x1fffe000));
    }

    [Fact]
    public void Apply_BitsOutsideMask_AreIgnored()
    {
        Assert.Equal(0x20002000u, VersionRolling.Apply(0x20000000, 0xE0003FFF, 0x00002000));
    }

    [Theory]
    [InlineData(0x0e596000u, 0x1fffe000u, true)]
    [InlineData(0x00000000u, 0x1fffe000u, true)]
    [InlineData(0x00001000u, 0x1fffe000u, false)]
    [InlineData(0x20000000u, 0x1fffe000u, false)]
    [InlineData(0x00002000u, 0x00003000u, true)]
    [InlineData(0x00004000u, 0x00003000u, false)]
    public void IsWithinMask_ChecksEveryBit(uint bits, uint mask, bool expected)
    {
        Assert.Equal(expected, VersionRolling.IsWithinMask(bits, mask));
    }

    [Fact]
    public void TryApply_FullVersionMatchingOutsideMask_IsAccepted()
    {
        Assert.True(VersionRolling.TryApply(0x20000000, 0x2e596000, 0x1fffe000, out var fromFull));
        Assert.True(VersionRolling.TryApply(0x20000000, 0x0e596000, 0x1fffe000, out var fromBits));
        Assert.False(VersionRolling.TryApply(0x20000000, 0x40002000, 0x1fffe000, out var rejected));

        Assert.Equal(0x2e596000u, fromFull);
        Assert.Equal(0x2e596000u, fromBits);
        Assert.Equal(0x20000000u, rejected);
    }

    [Fact]
    public void Negotiate_IntersectsMasks()
    {
        Assert.Equal(0x1fffe000u, VersionRolling.Negotiate(0x1fffe000, 0xffffffff));
        Assert.Equal(0x00002000u, VersionRolling.Negotiate(0x1fffe000, 0x00003000));
    }
}
