using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace StratumProxy.Proxy.Components;

/// <summary>Outcome of <see cref="ProxyProtocolReader.TryRead"/>.</summary>
public enum ProxyProtocolStatus
{
    /// <summary>The bytes so far are a valid prefix of a header; read more and call again with the whole buffer.</summary>
    NeedMoreData,

    /// <summary>A complete header was parsed; skip <see cref="ProxyProtocolResult.BytesConsumed"/> bytes.</summary>
    Success,

    /// <summary>The bytes cannot start a valid header; close the connection.</summary>
    Invalid,
}

/// <summary>
/// Result of parsing a HAProxy PROXY protocol header. On <see cref="ProxyProtocolStatus.Success"/> the endpoints are
/// null when the header carries no address to use (v1 <c>UNKNOWN</c>, v2 <c>LOCAL</c>, v2 <c>AF_UNSPEC</c> or
/// <c>AF_UNIX</c>): the spec then says to keep the socket's own endpoints.
/// </summary>
public readonly struct ProxyProtocolResult
{
    public ProxyProtocolStatus Status { get; private init; }

    /// <summary>1 or 2 once known (also on <see cref="ProxyProtocolStatus.Invalid"/> when it got that far), else 0.</summary>
    public int Version { get; private init; }

    /// <summary>Length of the whole header, TLVs included; 0 unless <see cref="ProxyProtocolStatus.Success"/>.</summary>
    public long BytesConsumed { get; private init; }

    /// <summary>The original client (the miner) as seen by the load balancer.</summary>
    public IPEndPoint? Source { get; private init; }

    /// <summary>The address the client connected to on the load balancer.</summary>
    public IPEndPoint? Destination { get; private init; }

    /// <summary>Why the header was refused; bounded text that never echoes peer bytes. Null unless Invalid.</summary>
    public string? Error { get; private init; }

    /// <summary>True for a successful header that carries addresses.</summary>
    public bool HasAddresses => Source is not null;

    internal static ProxyProtocolResult NeedMore(int version) => new() { Status = ProxyProtocolStatus.NeedMoreData, Version = version };

    internal static ProxyProtocolResult Invalid(int version, string error) => new() { Status = ProxyProtocolStatus.Invalid, Version = version, Error = error };

    internal static ProxyProtocolResult Ok(int version, long consumed, IPEndPoint? source, IPEndPoint? destination) =>
        new() { Status = ProxyProtocolStatus.Success, Version = version, BytesConsumed = consumed, Source = source, Destination = destination };

    public override string ToString() => Status switch
    {
        ProxyProtocolStatus.Success => HasAddresses ? $"PROXY v{Version} {Source} -> {Destination} ({BytesConsumed} bytes)" : $"PROXY v{Version} without addresses ({BytesConsumed} bytes)",
        ProxyProtocolStatus.Invalid => $"invalid PROXY header: {Error}",
        _ => "need more data",
    };
}

/// <summary>
/// Parses the HAProxy PROXY protocol header (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt) at the start
/// of a connection, version 1 (text) and version 2 (binary), from a <see cref="ReadOnlySequence{T}"/> of any
/// segmentation.
/// </summary>
/// <remarks>
/// <para>Contract for the listener's read loop: on <see cref="ProxyProtocolStatus.NeedMoreData"/> call
/// <c>AdvanceTo(buffer.Start, buffer.End)</c> and read again; on Success slice off <c>BytesConsumed</c> and hand the
/// rest to the Stratum framer; on Invalid close. The first byte decides: anything but <c>'P'</c> (v1) or <c>0x0D</c>
/// (v2) is Invalid at once, so a listener where PROXY is mandatory refuses a direct miner after one byte.</para>
/// <para>Bounds: a v1 line is at most 107 bytes including CRLF (spec §2.1); a v2 header is 16 bytes plus a
/// length field, refused above <c>maxV2PayloadLength</c> so a hostile length cannot make the listener buffer 64 KiB.
/// Only the first 16 + 216 bytes are ever copied (to the stack); TLVs are skipped, not parsed.</para>
/// <para>Runs once per connection, so the endpoints it returns are allocated; it never throws on peer input.</para>
/// </remarks>
public static class ProxyProtocolReader
{
    /// <summary>Longest v1 header, "PROXY TCP6 &lt;39&gt; &lt;39&gt; 65535 65535\r\n" (spec §2.1).</summary>
    public const int V1MaxLength = 107;

    /// <summary>Fixed part of a v2 header: signature (12), version/command, family/transport, length (2).</summary>
    public const int V2HeaderLength = 16;

    /// <summary>Default cap on the v2 length field: addresses (at most 216 for AF_UNIX) plus room for TLVs.</summary>
    public const int DefaultMaxV2PayloadLength = 1024;

    private const int V2Ipv4BlockLength = 12;
    private const int V2Ipv6BlockLength = 36;
    private const int V2UnixBlockLength = 216;
    private const int ScratchLength = V2HeaderLength + V2UnixBlockLength;

    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>Parses a header at the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">Everything received so far on the connection.</param>
    /// <param name="maxV2PayloadLength">Largest accepted v2 length field (bytes after the 16-byte header).</param>
    public static ProxyProtocolResult TryRead(in ReadOnlySequence<byte> buffer, int maxV2PayloadLength = DefaultMaxV2PayloadLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxV2PayloadLength, V2Ipv6BlockLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxV2PayloadLength, ushort.MaxValue);

        if (buffer.IsEmpty)
        {
            return ProxyProtocolResult.NeedMore(0);
        }

        // Copying at most 232 bytes to the stack makes the parse independent of segmentation.
        Span<byte> scratch = stackalloc byte[ScratchLength];
        var available = (int)Math.Min(buffer.Length, ScratchLength);
        buffer.Slice(0, available).CopyTo(scratch);
        var head = scratch[..available];

        return head[0] switch
        {
            (byte)'P' => ParseV1(head),
            0x0D => ParseV2(head, buffer.Length, maxV2PayloadLength),
            _ => ProxyProtocolResult.Invalid(0, "no PROXY protocol header: the first byte is neither 'P' (v1) nor 0x0D (v2)"),
        };
    }

    private static ProxyProtocolResult ParseV1(ReadOnlySpan<byte> head)
    {
        var prefixLength = Math.Min(head.Length, V1Prefix.Length);
        if (!head[..prefixLength].SequenceEqual(V1Prefix[..prefixLength]))
        {
            return ProxyProtocolResult.Invalid(1, "v1 header does not start with \"PROXY \"");
        }

        var window = head[..Math.Min(head.Length, V1MaxLength)];
        var lf = window.IndexOf((byte)'\n');
        if (lf < 0)
        {
            return head.Length >= V1MaxLength
                ? ProxyProtocolResult.Invalid(1, "v1 header has no CRLF within 107 bytes")
                : ProxyProtocolResult.NeedMore(1);
        }

        if (lf < V1Prefix.Length + 1 || window[lf - 1] != (byte)'\r')
        {
            return ProxyProtocolResult.Invalid(1, "v1 header line does not end with CRLF");
        }

        var consumed = lf + 1;
        var line = window[V1Prefix.Length..(lf - 1)];
        var space = line.IndexOf((byte)' ');
        var protocol = space < 0 ? line : line[..space];

        if (protocol.SequenceEqual("UNKNOWN"u8))
        {
            // Spec: the receiver must ignore anything after UNKNOWN up to the CRLF.
            return ProxyProtocolResult.Ok(1, consumed, null, null);
        }

        var isV4 = protocol.SequenceEqual("TCP4"u8);
        if (!isV4 && !protocol.SequenceEqual("TCP6"u8))
        {
            return ProxyProtocolResult.Invalid(1, "v1 protocol is not TCP4, TCP6 or UNKNOWN");
        }

        if (space < 0)
        {
            return ProxyProtocolResult.Invalid(1, "v1 header has no addresses");
        }

        var rest = line[(space + 1)..];
        if (!NextField(ref rest, out var srcText) || !NextField(ref rest, out var dstText)
            || !NextField(ref rest, out var srcPortText) || rest.IsEmpty || rest.Contains((byte)' '))
        {
            return ProxyProtocolResult.Invalid(1, "v1 header must be: PROXY TCP4|TCP6 <src> <dst> <srcport> <dstport>");
        }

        IPAddress? src;
        IPAddress? dst;
        if (isV4)
        {
            src = ParseStrictIpv4(srcText);
            dst = ParseStrictIpv4(dstText);
        }
        else
        {
            src = ParseIpv6(srcText);
            dst = ParseIpv6(dstText);
        }

        if (src is null || dst is null)
        {
            return ProxyProtocolResult.Invalid(1, isV4 ? "v1 TCP4 address is not a dotted quad" : "v1 TCP6 address is not an IPv6 address");
        }

        if (!TryParsePort(srcPortText, out var srcPort) || !TryParsePort(rest, out var dstPort))
        {
            return ProxyProtocolResult.Invalid(1, "v1 port is not a decimal number in 0..65535");
        }

        return ProxyProtocolResult.Ok(1, consumed, new IPEndPoint(src, srcPort), new IPEndPoint(dst, dstPort));
    }

    /// <summary>Splits off one field ended by a single space; an empty field (double space) fails.</summary>
    private static bool NextField(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> field)
    {
        var space = rest.IndexOf((byte)' ');
        if (space <= 0)
        {
            field = default;
            return false;
        }

        field = rest[..space];
        rest = rest[(space + 1)..];
        return true;
    }

    /// <summary>Exactly four decimal octets 0..255 without leading zeros (the spec forbids them: octal ambiguity).</summary>
    private static IPAddress? ParseStrictIpv4(ReadOnlySpan<byte> text)
    {
        Span<byte> octets = stackalloc byte[4];
        for (var i = 0; i < 4; i++)
        {
            var dot = text.IndexOf((byte)'.');
            var part = i < 3 ? (dot < 0 ? default : text[..dot]) : text;
            if (i == 3 && dot >= 0)
            {
                return null;
            }

            if (!TryParseDecimal(part, 3, out var value) || value > 255)
            {
                return null;
            }

            octets[i] = (byte)value;
            text = i < 3 ? text[(dot + 1)..] : default;
        }

        return new IPAddress(octets);
    }

    private static IPAddress? ParseIpv6(ReadOnlySpan<byte> text)
    {
        // 45 = the longest textual IPv6 form (with an embedded IPv4 tail); anything longer is not an address.
        if (text.Length > 45)
        {
            return null;
        }

        Span<char> chars = stackalloc char[45];
        for (var i = 0; i < text.Length; i++)
        {
            var b = text[i];
            if (!(char.IsAsciiHexDigit((char)b) || b == (byte)':' || b == (byte)'.'))
            {
                return null;
            }

            chars[i] = (char)b;
        }

        return IPAddress.TryParse(chars[..text.Length], out var address) && address.AddressFamily == AddressFamily.InterNetworkV6
            ? address
            : null;
    }

    private static bool TryParsePort(ReadOnlySpan<byte> text, out int port) =>
        TryParseDecimal(text, 5, out port) && port <= ushort.MaxValue;

    private static bool TryParseDecimal(ReadOnlySpan<byte> text, int maxDigits, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > maxDigits || (text.Length > 1 && text[0] == (byte)'0'))
        {
            return false;
        }

        foreach (var b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = (value * 10) + (b - '0');
        }

        return true;
    }

    private static ProxyProtocolResult ParseV2(ReadOnlySpan<byte> head, long totalAvailable, int maxPayload)
    {
        var signatureLength = Math.Min(head.Length, V2Signature.Length);
        if (!head[..signatureLength].SequenceEqual(V2Signature[..signatureLength]))
        {
            return ProxyProtocolResult.Invalid(2, "v2 signature mismatch");
        }

        if (head.Length > 12 && (head[12] >> 4) != 2)
        {
            return ProxyProtocolResult.Invalid(2, "v2 version nibble is not 2");
        }

        var command = head.Length > 12 ? head[12] & 0x0F : 0;
        if (command > 1)
        {
            return ProxyProtocolResult.Invalid(2, "v2 command is neither LOCAL (0) nor PROXY (1)");
        }

        if (head.Length > 13 && !IsValidFamilyTransport(head[13]))
        {
            return ProxyProtocolResult.Invalid(2, "v2 address family/transport byte is not one the spec defines");
        }

        if (head.Length < V2HeaderLength)
        {
            return ProxyProtocolResult.NeedMore(2);
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(head[14..16]);
        if (payloadLength > maxPayload)
        {
            return ProxyProtocolResult.Invalid(2, $"v2 header length {payloadLength} exceeds the limit {maxPayload}");
        }

        var family = head[13] >> 4;
        var blockLength = family switch
        {
            1 => V2Ipv4BlockLength,
            2 => V2Ipv6BlockLength,
            3 => V2UnixBlockLength,
            _ => 0,
        };

        // LOCAL ignores the block, but a PROXY header shorter than its family's addresses is malformed.
        if (command == 1 && payloadLength < blockLength)
        {
            return ProxyProtocolResult.Invalid(2, $"v2 header length {payloadLength} is shorter than the {blockLength}-byte address block");
        }

        var total = V2HeaderLength + payloadLength;
        if (totalAvailable < total)
        {
            return ProxyProtocolResult.NeedMore(2);
        }

        if (command == 0 || family is 0 or 3)
        {
            return ProxyProtocolResult.Ok(2, total, null, null);
        }

        var block = head.Slice(V2HeaderLength, blockLength);
        IPEndPoint source;
        IPEndPoint destination;
        if (family == 1)
        {
            source = new IPEndPoint(new IPAddress(block[..4]), BinaryPrimitives.ReadUInt16BigEndian(block[8..10]));
            destination = new IPEndPoint(new IPAddress(block[4..8]), BinaryPrimitives.ReadUInt16BigEndian(block[10..12]));
        }
        else
        {
            source = new IPEndPoint(new IPAddress(block[..16]), BinaryPrimitives.ReadUInt16BigEndian(block[32..34]));
            destination = new IPEndPoint(new IPAddress(block[16..32]), BinaryPrimitives.ReadUInt16BigEndian(block[34..36]));
        }

        return ProxyProtocolResult.Ok(2, total, source, destination);
    }

    /// <summary>Spec §2.2: 0x00, and families 1..3 with STREAM (1) or DGRAM (2); "other values must be rejected".</summary>
    private static bool IsValidFamilyTransport(byte value) =>
        value == 0x00 || ((value >> 4) is >= 1 and <= 3 && (value & 0x0F) is 1 or 2);
}
