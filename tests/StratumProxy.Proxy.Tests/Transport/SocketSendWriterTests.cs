using System.Buffers;
using System.Net;
using System.Net.Sockets;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Tests.Transport;

public sealed class SocketSendWriterTests
{
    private const int Total = 2 * 1024 * 1024;

    // Completing the writer while a flush still waits for a miner that reads slowly: the flush finishes, every byte
    // it took reaches the miner, and the FIN follows the last one (as a pipe's send loop did). Shutting the send side
    // at the completion cut the flush off after the first ~40 KB.
    [Fact]
    public async Task Complete_while_a_flush_is_sending_still_delivers_every_byte_flushed()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(16 * 1024, ct);
        using var _ = peer;
        var output = connection.Transport.Output;
        output.Write(new byte[Total]);
        var flushing = output.FlushAsync(ct).AsTask();
        Assert.True(SpinWait.SpinUntil(() => ((SocketSendWriter)output).Sending, TimeSpan.FromSeconds(30)));
        Assert.False(flushing.IsCompleted);
        output.Complete();
        var received = await DrainAsync(peer, ct);
        var result = await flushing.WaitAsync(ct);
        await connection.DisposeAsync();
        Assert.True(received == Total, $"peer got {received} of {Total} bytes; flush IsCompleted={result.IsCompleted} IsCanceled={result.IsCanceled}");
    }

    private static async Task<long> DrainAsync(Socket peer, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        try
        {
            while (true)
            {
                var n = await peer.ReceiveAsync(buffer, SocketFlags.None, ct);
                if (n == 0)
                {
                    return total;
                }

                total += n;
            }
        }
        catch (SocketException)
        {
            return total;
        }
    }

    private static async Task<(ProxyConnection Connection, Socket Peer)> MinerPairAsync(int buffers, CancellationToken ct)
    {
        using var listener = SocketTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = buffers };
        await peer.ConnectAsync(listener.LocalEndPoint!, ct);
        var accepted = await listener.AcceptAsync(ct);
        accepted.SendBufferSize = buffers;
        return (SocketTransport.WrapAccepted(accepted, 4096), peer);
    }
}
