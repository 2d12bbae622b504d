using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.Components;

public sealed class ExtranonceLayoutTests
{
    [Fact]
    public void Create_DocumentedExample_PadsAndPlacesPrefixBeforeMinerExtranonce2()
    {
        // The example in ExtranonceLayout's remarks: E = 08000002, N = 8, k = 2, n = 4.
        var layout = ExtranonceLayout.Create(Convert.FromHexString("08000002"), 8, 2, 4);
        var suffix = new byte[layout.MinerCoinbase1SuffixLength];
        var poolExtranonce2 = new byte[8];

        layout.WriteMinerCoinbase1Suffix(suffix);
        var written = layout.WritePoolExtranonce2(new MinerExtranoncePrefix(0x0001, 2), Convert.FromHexString("deadbeef"), poolExtranonce2);

        Assert.Equal(2, layout.PadSize);
        Assert.Equal("080000020000", Convert.ToHexStringLower(suffix));
        Assert.Equal(8, written);
        Assert.Equal("00000001deadbeef", Convert.ToHexStringLower(poolExtranonce2));
    }

    [Fact]
    public void MinerCoinbase_EqualsPoolCoinbaseWithSubmittedExtranonce2()
    {
        // Whatever the miner builds from coinbase1' and its own extranonces must be exactly the pool's coinbase with
        // the extranonce2 the proxy submits: the invariant the whole scheme rests on.
        var coinbase1 = Convert.FromHexString("01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008");
        var coinbase2 = Convert.FromHexString("072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000");
        var e = Convert.FromHexString("f8002c90");
        var layout = ExtranonceLayout.Create(e, poolExtranonce2Size: 8, prefixSize: 1, minerExtranonce2Size: 4);
        var m = new MinerExtranoncePrefix(0x7f, 1);
        var minerE2 = Convert.FromHexString("00000003");

        var suffix = new byte[layout.MinerCoinbase1SuffixLength];
        layout.WriteMinerCoinbase1Suffix(suffix);
        var mBytes = new byte[1];
        m.WriteTo(mBytes);
        byte[] minerCoinbase = [.. coinbase1, .. suffix, .. mBytes, .. minerE2, .. coinbase2];

        var poolE2 = new byte[8];
        layout.WritePoolExtranonce2(m, minerE2, poolE2);
        byte[] poolCoinbase = [.. coinbase1, .. e, .. poolE2, .. coinbase2];

        Assert.Equal(poolCoinbase, minerCoinbase);
        Assert.Equal("0000007f00000003", Convert.ToHexStringLower(poolE2));
    }

    [Fact]
    public void Create_ExactFit_HasNoPad()
    {
        var layout = ExtranonceLayout.Create([0xAA], poolExtranonce2Size: 6, prefixSize: 2, minerExtranonce2Size: 4);
        var poolE2 = new byte[6];

        layout.WritePoolExtranonce2(new MinerExtranoncePrefix(0xBEEF, 2), [1, 2, 3, 4], poolE2);

        Assert.Equal(0, layout.PadSize);
        Assert.Equal("beef01020304", Convert.ToHexStringLower(poolE2));
    }

    [Fact]
    public void TryCreate_PoolExtranonce2TooSmall_RefusesNamingTheNumbers()
    {
        var ok = ExtranonceLayout.TryCreate([1, 2, 3, 4], poolExtranonce2Size: 4, prefixSize: 2, minerExtranonce2Size: 4, out var layout, out var error);

        Assert.False(ok);
        Assert.Null(layout);
        Assert.Contains("N=4", error, StringComparison.Ordinal);
        Assert.Contains("k=2", error, StringComparison.Ordinal);
        Assert.Contains("n=4", error, StringComparison.Ordinal);
        Assert.Contains("= 6 bytes", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_PoolExtranonce2TooSmall_ThrowsWithTheSameMessage()
    {
        var ex = Assert.Throws<ArgumentException>(() => ExtranonceLayout.Create([1], 3, 1, 4));

        Assert.Contains("N=3", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1, 4)]
    [InlineData(5, 4)]
    [InlineData(2, 0)]
    [InlineData(2, 9)]
    public void TryCreate_SizesOutOfRange_Refused(int k, int n)
    {
        Assert.False(ExtranonceLayout.TryCreate([1], 32, k, n, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void WritePoolExtranonce2_WrongMinerExtranonce2Length_Throws()
    {
        var layout = ExtranonceLayout.Create([1], 8, 2, 4);

        Assert.Throws<ArgumentException>(() => layout.WritePoolExtranonce2(new MinerExtranoncePrefix(1, 2), [1, 2, 3], new byte[8]));
    }

    [Fact]
    public void Create_CopiesPoolExtranonce1()
    {
        var e = new byte[] { 1, 2 };
        var layout = ExtranonceLayout.Create(e, 8, 2, 4);
        e[0] = 9;

        Assert.Equal(new byte[] { 1, 2 }, layout.PoolExtranonce1.ToArray());
    }
}
