using StratumProxy.Stratum.Mining;

namespace StratumProxy.Stratum.Tests.Mining;

public sealed class BlockHeaderTests
{
    // miningcore-regtest-valid-share: the stratum prevhash, its header form inside header_hex, and the display form.
    private const string StratumPrevHash = "64da76bba907b72221c431082923817937fdc53b19b5be7b0909578500000000";
    private const string HeaderPrevHash = "bb76da6422b707a90831c421798123293bc5fd377bbeb5198557090900000000";
    private const string DisplayPrevHash = "000000000909578519b5be7b37fdc53b2923817921c43108a907b72264da76bb";

    [Fact]
    public void SwapPrevHashWords_StratumToHeader_ReversesEachWord()
    {
        var header = new byte[32];

        BlockHeader.SwapPrevHashWords(Hex.Decode(StratumPrevHash), header);

        Assert.Equal(HeaderPrevHash, Convert.ToHexStringLower(header));
    }

    [Fact]
    public void SwapPrevHashWords_IsItsOwnInverse()
    {
        var back = new byte[32];

        BlockHeader.SwapPrevHashWords(Hex.Decode(HeaderPrevHash), back);

        Assert.Equal(StratumPrevHash, Convert.ToHexStringLower(back));
    }

    [Fact]
    public void ToDisplayHex_ReversesHeaderOrder()
    {
        Assert.Equal(DisplayPrevHash, BlockHeader.ToDisplayHex(Hex.Decode(HeaderPrevHash)));
    }

    [Fact]
    public void Write_PutsFieldsLittleEndianAtTheirOffsets()
    {
        var header = new byte[80];
        var merkleRoot = Hex.Decode("fd5418fe788ef961678e4bacdd1fe3903185b9ec63865bb3d2d279bb0eb48c0b");

        BlockHeader.Write(header, 0x20000000, Hex.Decode(HeaderPrevHash), merkleRoot, 0x59ef86f2, 0x207fffff, 0x8d84ae6a);

        Assert.Equal(
            "00000020bb76da6422b707a90831c421798123293bc5fd377bbeb5198557090900000000fd5418fe788ef961678e4bacdd1fe3903185b9ec63865bb3d2d279bb0eb48c0bf286ef59ffff7f206aae848d",
            Convert.ToHexStringLower(header));
    }
}
