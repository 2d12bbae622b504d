using System.Text;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Stratum.Tests.Mining;

public sealed class HexTests
{
    [Theory]
    [InlineData("8d84ae6a", 0x8d84ae6au)]
    [InlineData("8D84AE6A", 0x8d84ae6au)]
    [InlineData("8d84Ae6A", 0x8d84ae6au)]
    [InlineData("00000000", 0u)]
    [InlineData("ffffffff", uint.MaxValue)]
    [InlineData("1d00ffff", 0x1d00ffffu)]
    public void TryParseUInt32BigEndianHex_ValidDigits_ParsesBothCases(string text, uint expected)
    {
        Assert.True(Hex.TryParseUInt32BigEndianHex(text, out var fromChars));
        Assert.True(Hex.TryParseUInt32BigEndianHex(Encoding.ASCII.GetBytes(text), out var fromUtf8));
        Assert.Equal(expected, fromChars);
        Assert.Equal(expected, fromUtf8);
    }

    [Theory]
    [InlineData("")]
    [InlineData("8d84ae6")]
    [InlineData("8d84ae6a0")]
    [InlineData("8d84ae6g")]
    [InlineData("0x84ae6a")]
    [InlineData(" 8d84ae6")]
    [InlineData("8d84ae6\u0660")]
    public void TryParseUInt32BigEndianHex_WrongLengthOrDigit_Fails(string text)
    {
        Assert.False(Hex.TryParseUInt32BigEndianHex(text, out var fromChars));
        Assert.False(Hex.TryParseUInt32BigEndianHex(Encoding.UTF8.GetBytes(text), out var fromUtf8));
        Assert.Equal(0u, fromChars);
        Assert.Equal(0u, fromUtf8);
    }

    [Fact]
    public void TryDecode_MixedCase_DecodesBytes()
    {
        var destination = new byte[5];

        Assert.True(Hex.TryDecode("00fFaB10", destination, out var written));
        Assert.Equal(4, written);
        Assert.Equal(new byte[] { 0x00, 0xff, 0xab, 0x10, 0x00 }, destination);

        Assert.True(Hex.TryDecode("00fFaB10"u8, destination, out written));
        Assert.Equal(4, written);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("zz")]
    [InlineData("0g")]
    [InlineData("g0")]
    public void TryDecode_OddLengthOrBadDigit_Fails(string text)
    {
        var destination = new byte[4];

        Assert.False(Hex.TryDecode(text, destination, out var written));
        Assert.False(Hex.TryDecode(Encoding.ASCII.GetBytes(text), destination, out _));
        Assert.Equal(0, written);
    }

    [Fact]
    public void TryDecode_DestinationTooShort_Fails()
    {
        Assert.False(Hex.TryDecode("00112233", new byte[3], out _));
        Assert.False(Hex.TryDecodeExact("00112233", new byte[5]));
        Assert.True(Hex.TryDecodeExact("00112233", new byte[4]));
    }

    [Fact]
    public void Decode_BadInput_ThrowsFormatException()
    {
        Assert.Throws<FormatException>(() => Hex.Decode("0"));
        Assert.Throws<FormatException>(() => Hex.Decode("0x"));
        Assert.Equal(new byte[] { 0xde, 0xad }, Hex.Decode("DEad"));
    }

    [Fact]
    public void TryEncodeLower_WritesLowerCaseIntoBytesAndChars()
    {
        byte[] source = [0x00, 0x9f, 0xAB, 0xff];
        var utf8 = new byte[8];
        var chars = new char[9];

        Assert.True(Hex.TryEncodeLower(source, utf8, out var bytesWritten));
        Assert.True(Hex.TryEncodeLower(source, chars, out var charsWritten));

        Assert.Equal("009fabff", Encoding.ASCII.GetString(utf8));
        Assert.Equal("009fabff", new string(chars, 0, charsWritten));
        Assert.Equal(8, bytesWritten);
        Assert.False(Hex.TryEncodeLower(source, new byte[7], out _));
    }

    [Fact]
    public void TryWriteUInt32BigEndianHex_WritesEightLowerDigits()
    {
        var destination = new byte[8];

        Assert.True(Hex.TryWriteUInt32BigEndianHex(0x0E596000, destination));

        Assert.Equal("0e596000", Encoding.ASCII.GetString(destination));
        Assert.False(Hex.TryWriteUInt32BigEndianHex(1, new byte[7]));
    }
}
