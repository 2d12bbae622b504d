using System.Buffers;
using System.Text;
using StratumProxy.Proxy.Components;

namespace StratumProxy.Fuzz.Harnesses;

/// <summary>
/// The HAProxy PROXY protocol v1/v2 header a load balancer puts before a miner's first line, read as one segment and
/// as many small ones. The contract is a three-way result (need more, success, invalid): no exception is allowed, and
/// a success never claims more bytes than there are.
/// </summary>
internal sealed class ProxyHeaderHarness : Harness
{
    private static readonly byte[] V2Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    public override string Name => "proxy-header";

    public override string Summary => "PROXY protocol v1 (text) and v2 (binary) header before a miner's first line (no exception allowed)";

    public override void Run(byte[] input)
    {
        Check(new ReadOnlySequence<byte>(input), input.Length);
        Check(Segments.Split(input, 5), input.Length);
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        const string Subscribe = "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"cgminer/4.11.1\"]}\n";
        yield return new Seed("v1-tcp4", Encoding.ASCII.GetBytes("PROXY TCP4 192.0.2.10 198.51.100.1 51234 3333\r\n" + Subscribe));
        yield return new Seed("v1-tcp6", Encoding.ASCII.GetBytes("PROXY TCP6 2001:db8::10 2001:db8::1 51234 3333\r\n" + Subscribe));
        yield return new Seed("v1-unknown", Encoding.ASCII.GetBytes("PROXY UNKNOWN\r\n" + Subscribe));
        yield return new Seed("v2-tcp4", V2(0x21, 0x11, [192, 0, 2, 10, 198, 51, 100, 1, 0xC8, 0x22, 0x0D, 0x05], Subscribe));
        var v6 = new byte[36];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[15] = 0x10;
        v6[16] = 0x20;
        v6[17] = 0x01;
        v6[31] = 0x01;
        v6[32] = 0xC8;
        v6[33] = 0x22;
        v6[34] = 0x0D;
        v6[35] = 0x05;
        yield return new Seed("v2-tcp6", V2(0x21, 0x21, v6, Subscribe));
        yield return new Seed("v2-local", V2(0x20, 0x00, [], Subscribe));
        yield return new Seed("v2-unix", V2(0x21, 0x31, new byte[216], Subscribe));
        // IPv4 addresses followed by TLVs: ALPN (0x01) and a NOOP (0x04).
        yield return new Seed("v2-tcp4-tlv", V2(0x21, 0x11, [192, 0, 2, 10, 198, 51, 100, 1, 0xC8, 0x22, 0x0D, 0x05, 0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x01, 0x00], Subscribe));
    }

    private static void Check(in ReadOnlySequence<byte> buffer, int length)
    {
        var result = ProxyProtocolReader.TryRead(buffer);
        _ = result.ToString();
        if (result.Status == ProxyProtocolStatus.Success && (result.BytesConsumed <= 0 || result.BytesConsumed > length))
        {
            throw new FuzzFindingException($"PROXY header success claims {result.BytesConsumed} bytes of {length}");
        }
    }

    private static byte[] V2(byte versionCommand, byte family, byte[] addresses, string after)
    {
        var tail = Encoding.ASCII.GetBytes(after);
        var bytes = new byte[16 + addresses.Length + tail.Length];
        V2Signature.CopyTo(bytes, 0);
        bytes[12] = versionCommand;
        bytes[13] = family;
        bytes[14] = (byte)(addresses.Length >> 8);
        bytes[15] = (byte)addresses.Length;
        addresses.CopyTo(bytes, 16);
        tail.CopyTo(bytes, 16 + addresses.Length);
        return bytes;
    }
}
