using System.Buffers;
using System.Net;
using System.Text;
using StratumProxy.Proxy.Components;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Components;

public sealed class ProxyProtocolReaderTests
{
    private static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>The first line a real miner sends after the header; it must be left unconsumed.</summary>
    private static readonly byte[] Payload = Encoding.ASCII.GetBytes("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n");

    private sealed record Sample(byte[] Header, int Version, string? Source, string? Destination);

    private static readonly Dictionary<string, Sample> Valid = new()
    {
        // The spec's §2.1 examples.
        ["v1-tcp4-spec"] = new(Ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"), 1, "192.168.0.1:56324", "192.168.0.11:443"),
        ["v1-tcp4-widest"] = new(Ascii("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"), 1, "255.255.255.255:65535", "255.255.255.255:65535"),
        ["v1-tcp6-widest"] = new(
            Ascii("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
            1,
            "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
            "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
        ["v1-tcp6-short"] = new(Ascii("PROXY TCP6 2001:db8::1 2001:db8::2 3333 0\r\n"), 1, "[2001:db8::1]:3333", "[2001:db8::2]:0"),
        ["v1-unknown"] = new(Ascii("PROXY UNKNOWN\r\n"), 1, null, null),
        // The spec's worst case: exactly 107 bytes.
        ["v1-unknown-107"] = new(
            Ascii("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
            1,
            null,
            null),
        ["v2-proxy-inet"] = new(
            [.. Signature, 0x21, 0x11, 0x00, 0x0C, 192, 168, 0, 1, 192, 168, 0, 11, 0xDC, 0x04, 0x01, 0xBB],
            2,
            "192.168.0.1:56324",
            "192.168.0.11:443"),
        ["v2-proxy-inet6-tlvs"] = new(
            [
                .. Signature, 0x21, 0x21, 0x00, 0x2F,
                0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
                0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
                0x0D, 0x05, 0x01, 0xBB,
                0x01, 0x00, 0x02, (byte)'h', (byte)'2', // PP2_TYPE_ALPN "h2"
                0x04, 0x00, 0x03, 0x00, 0x00, 0x00, // PP2_TYPE_NOOP, 3 bytes
            ],
            2,
            "[2001:db8::1]:3333",
            "[2001:db8::2]:443"),
        ["v2-local"] = new([.. Signature, 0x20, 0x00, 0x00, 0x00], 2, null, null),
        ["v2-local-with-block"] = new([.. Signature, 0x20, 0x11, 0x00, 0x0C, 10, 0, 0, 1, 10, 0, 0, 2, 0x0D, 0x05, 0x0D, 0x05], 2, null, null),
        ["v2-proxy-unspec"] = new([.. Signature, 0x21, 0x00, 0x00, 0x00], 2, null, null),
    };

    public static TheoryData<string, string> ValidCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var (name, sample) in Valid)
        {
            foreach (var segmentation in Segmentations.Names(sample.Header.Length + Payload.Length))
            {
                data.Add(name, segmentation);
            }
        }

        return data;
    }

    public static TheoryData<string> ValidNames() => [.. Valid.Keys];

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void TryRead_ValidHeaderFollowedByStratum_ParsesUnderEverySegmentation(string sample, string segmentation)
    {
        var expected = Valid[sample];
        var sequence = Segmentations.Build([.. expected.Header, .. Payload], segmentation);

        var result = ProxyProtocolReader.TryRead(sequence);

        Assert.Equal(ProxyProtocolStatus.Success, result.Status);
        Assert.Null(result.Error);
        Assert.Equal(expected.Version, result.Version);
        Assert.Equal(expected.Header.Length, result.BytesConsumed);
        Assert.Equal(expected.Source, result.Source?.ToString());
        Assert.Equal(expected.Destination, result.Destination?.ToString());
        Assert.Equal(expected.Source is not null, result.HasAddresses);
        Assert.Equal(Payload, sequence.Slice(result.BytesConsumed).ToArray());
    }

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void TryRead_EveryTruncationOfValidHeader_NeedsMoreData(string sample)
    {
        var header = Valid[sample].Header;
        for (var length = 0; length < header.Length; length++)
        {
            foreach (var (name, sequence) in new[]
            {
                ("single", new ReadOnlySequence<byte>(header[..length])),
                ("per-byte", Segmentations.FromChunks(header[..length].Select(b => new[] { b }).ToArray())),
            })
            {
                var result = ProxyProtocolReader.TryRead(sequence);
                Assert.True(result.Status == ProxyProtocolStatus.NeedMoreData, $"{sample} truncated to {length} ({name}): {result}");
                Assert.Equal(0, result.BytesConsumed);
            }
        }
    }

    [Theory]
    [InlineData("{\"id\":1,\"method\":\"mining.subscribe\"}\n")] // a miner talking Stratum directly
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("\u0016")] // the first byte of a TLS ClientHello
    [InlineData("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n")] // the keyword is upper case
    public void TryRead_FirstByteNeitherPNor0D_InvalidAtOnce(string text)
    {
        var bytes = Encoding.Latin1.GetBytes(text);

        var full = ProxyProtocolReader.TryRead(new ReadOnlySequence<byte>(bytes));
        var firstByteOnly = ProxyProtocolReader.TryRead(new ReadOnlySequence<byte>(bytes[..1]));

        Assert.Equal(ProxyProtocolStatus.Invalid, full.Status);
        Assert.Equal(ProxyProtocolStatus.Invalid, firstByteOnly.Status);
        Assert.Equal(0, firstByteOnly.Version);
        Assert.False(string.IsNullOrEmpty(firstByteOnly.Error));
    }

    [Fact]
    public void TryRead_Empty_NeedsMoreData()
    {
        Assert.Equal(ProxyProtocolStatus.NeedMoreData, ProxyProtocolReader.TryRead(ReadOnlySequence<byte>.Empty).Status);
    }

    [Theory]
    [InlineData("PROXZ")]
    [InlineData("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY\r\n")]
    [InlineData("PROXY \r\n")]
    [InlineData("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY UNKNOWNX\r\n")]
    [InlineData("PROXY TCP4\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n")] // missing destination port
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n")] // extra field
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n")] // trailing space
    [InlineData("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n")] // double space
    [InlineData("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n")] // three octets (IPAddress.Parse would accept it)
    [InlineData("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n")] // leading zero: octal ambiguity, forbidden by the spec
    [InlineData("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 02\r\n")]
    [InlineData("PROXY TCP4 ::1 5.6.7.8 1 2\r\n")] // IPv6 under TCP4
    [InlineData("PROXY TCP6 1.2.3.4 ::1 1 2\r\n")] // IPv4 under TCP6
    [InlineData("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n")] // scope ids are not part of the format
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n")] // LF without CR
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n")]
    public void TryRead_MalformedV1_Invalid(string text)
    {
        foreach (var (name, sequence) in Segmentations.All(Encoding.Latin1.GetBytes(text)))
        {
            var result = ProxyProtocolReader.TryRead(sequence);
            Assert.True(result.Status == ProxyProtocolStatus.Invalid, $"{text.ReplaceLineEndings("\\n")} ({name}): {result}");
            Assert.Equal(1, result.Version);
        }
    }

    [Fact]
    public void TryRead_V1WithoutCrlfWithin107Bytes_InvalidOnce107BytesArrived()
    {
        var line = Ascii("PROXY UNKNOWN " + new string('a', 200));

        Assert.Equal(ProxyProtocolStatus.NeedMoreData, ProxyProtocolReader.TryRead(new ReadOnlySequence<byte>(line[..106])).Status);
        var result = ProxyProtocolReader.TryRead(new ReadOnlySequence<byte>(line[..107]));
        Assert.Equal(ProxyProtocolStatus.Invalid, result.Status);
        Assert.Contains("107", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_V1Line108BytesLong_Invalid()
    {
        // One byte over the spec's maximum: the CRLF ends at byte 108.
        var line = Ascii("PROXY UNKNOWN " + new string('f', 92) + "\r\n");
        Assert.Equal(108, line.Length);

        foreach (var (name, sequence) in Segmentations.All(line))
        {
            Assert.True(ProxyProtocolReader.TryRead(sequence).Status == ProxyProtocolStatus.Invalid, name);
        }
    }

    public static TheoryData<string, byte[]> MalformedV2 => new()
    {
        { "signature differs at byte 5", [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0A] },
        { "version 1 nibble", [.. Signature, 0x11, 0x11, 0x00, 0x0C] },
        { "version 3 nibble", [.. Signature, 0x31, 0x11, 0x00, 0x0C] },
        { "command 2", [.. Signature, 0x22, 0x11, 0x00, 0x0C] },
        { "family 4", [.. Signature, 0x21, 0x41, 0x00, 0x0C] },
        { "transport 3", [.. Signature, 0x21, 0x13, 0x00, 0x0C] },
        { "UNSPEC family with STREAM", [.. Signature, 0x21, 0x01, 0x00, 0x00] },
        { "INET block shorter than 12", [.. Signature, 0x21, 0x11, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8] },
        { "INET6 block shorter than 36", [.. Signature, 0x21, 0x21, 0x00, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
        { "length above the limit", [.. Signature, 0x21, 0x11, 0xFF, 0xFF] },
    };

    [Theory]
    [MemberData(nameof(MalformedV2))]
    public void TryRead_MalformedV2_Invalid(string reason, byte[] bytes)
    {
        foreach (var (name, sequence) in Segmentations.All(bytes))
        {
            var result = ProxyProtocolReader.TryRead(sequence);
            Assert.True(result.Status == ProxyProtocolStatus.Invalid, $"{reason} ({name}): {result}");
            Assert.Equal(2, result.Version);
            Assert.False(string.IsNullOrEmpty(result.Error));
        }
    }

    [Fact]
    public void TryRead_V2LengthOverConfiguredLimit_InvalidBeforeTheBodyArrives()
    {
        // 12-byte address block + 1,100 bytes of TLVs = 1,112 > the default limit of 1,024.
        byte[] header = [.. Signature, 0x21, 0x11, 0x04, 0x58];

        var result = ProxyProtocolReader.TryRead(new ReadOnlySequence<byte>(header));

        Assert.Equal(ProxyProtocolStatus.Invalid, result.Status);
        Assert.Contains("1112", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_V2LengthWithinRaisedLimit_SkipsTheTlvs()
    {
        var tlvs = new byte[1100];
        tlvs[0] = 0x04; // PP2_TYPE_NOOP covering the rest: 1,097 bytes of value
        tlvs[1] = 0x04;
        tlvs[2] = 0x49;
        byte[] header = [.. Signature, 0x21, 0x11, 0x04, 0x58, 10, 0, 0, 7, 10, 0, 0, 1, 0x0D, 0x05, 0x0D, 0x05, .. tlvs];

        var partial = ProxyProtocolReader.TryRead(new ReadOnlySequence<byte>(header[..^1]), maxV2PayloadLength: 2048);
        var result = ProxyProtocolReader.TryRead(Segmentations.FromChunks(header[..500], header[500..], Payload), maxV2PayloadLength: 2048);

        Assert.Equal(ProxyProtocolStatus.NeedMoreData, partial.Status);
        Assert.Equal(ProxyProtocolStatus.Success, result.Status);
        Assert.Equal(16 + 1112, result.BytesConsumed);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.7"), 3333), result.Source);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 3333), result.Destination);
    }

    [Fact]
    public void TryRead_V2AfUnix_SucceedsWithoutAddresses()
    {
        byte[] header = [.. Signature, 0x21, 0x31, 0x00, 0xD8, .. new byte[216]];

        var result = ProxyProtocolReader.TryRead(new ReadOnlySequence<byte>(header));

        Assert.Equal(ProxyProtocolStatus.Success, result.Status);
        Assert.Equal(232, result.BytesConsumed);
        Assert.False(result.HasAddresses);
    }

    [Fact]
    public void TryRead_V2SignatureOnly_NeedsMoreDataUntilTheLengthIsKnown()
    {
        var result = ProxyProtocolReader.TryRead(new ReadOnlySequence<byte>(Signature));

        Assert.Equal(ProxyProtocolStatus.NeedMoreData, result.Status);
        Assert.Equal(2, result.Version);
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}
