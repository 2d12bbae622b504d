using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.Components;

public sealed class MinerLayoutTests
{
    private static readonly MinerLayout Default = new(2, 4);

    [Theory]
    [InlineData(16, 2, 4)]
    [InlineData(8, 2, 4)]
    [InlineData(6, 2, 4)]
    [InlineData(5, 2, 3)]
    [InlineData(4, 1, 3)]
    [InlineData(3, 1, 2)]
    [InlineData(2, 0, 2)]
    public void Fit_DefaultLayout_FollowsTheDocumentedTable(int poolExtranonce2Size, int k, int n)
    {
        var fitted = MinerLayout.Fit(poolExtranonce2Size, Default);

        Assert.Equal(new MinerLayout(k, n), fitted);
        Assert.True(fitted!.Value.FitsIn(poolExtranonce2Size));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void Fit_BelowTwoBytes_Refused(int poolExtranonce2Size)
    {
        Assert.Null(MinerLayout.Fit(poolExtranonce2Size, Default));
    }

    [Theory]
    [InlineData(3, 8, 12, 3, 8)]
    [InlineData(3, 8, 9, 3, 6)]
    [InlineData(3, 8, 5, 2, 3)]
    [InlineData(4, 2, 4, 2, 2)]
    public void Fit_OtherConfiguredLayouts_ShrinkNToThreeThenKThenNThenK(int k0, int n0, int poolExtranonce2Size, int k, int n)
    {
        Assert.Equal(new MinerLayout(k, n), MinerLayout.Fit(poolExtranonce2Size, new MinerLayout(k0, n0)));
    }

    [Fact]
    public void ForGroup_TakesTheSmallestKnownSizeAndIgnoresUnservablePools()
    {
        Assert.Equal(Default, MinerLayout.ForGroup([], Default));
        Assert.Equal(Default, MinerLayout.ForGroup([8, 6], Default));
        Assert.Equal(new MinerLayout(1, 3), MinerLayout.ForGroup([8, 4, 6], Default));
        Assert.Equal(new MinerLayout(1, 3), MinerLayout.ForGroup([1, 4], Default));
    }

    [Theory]
    [InlineData(0, 1L)]
    [InlineData(1, 256L)]
    [InlineData(2, 65_536L)]
    public void MinersPerConnection_Is256ToTheK(int k, long expected)
    {
        Assert.Equal(expected, new MinerLayout(k, 2).MinersPerConnection);
    }
}
