using System.Buffers;
using System.IO.Pipelines;
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

    // A miner that stopped reading while a flush waits, and the session gives up on it (CancelPendingFlush): the
    // kernel may hold part of a line by then. A FIN after it would end the stream cleanly on a cut line, which a
    // reader takes as the last line; the stream must end in a reset instead, or on a whole line.
    [Fact]
    public async Task CancelPendingFlush_on_a_stuck_send_never_ends_the_stream_cleanly_on_a_cut_line()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(16 * 1024, ct);
        using var _ = peer;
        var output = connection.Transport.Output;
        const int LineLength = 997;
        var line = new byte[LineLength];
        line.AsSpan().Fill((byte)'x');
        line[^1] = (byte)'\n';
        for (var i = 0; i < Total / LineLength; i++)
        {
            output.Write(line);
        }

        var flushing = output.FlushAsync(ct).AsTask();
        Assert.True(SpinWait.SpinUntil(() => ((SocketSendWriter)output).Sending, TimeSpan.FromSeconds(30)));
        output.CancelPendingFlush();
        var (received, reset, _) = await DrainToEndAsync(peer, keep: false, ct);
        await flushing.WaitAsync(ct);
        await connection.DisposeAsync();
        Assert.True(reset || received % LineLength == 0, $"the stream ended with a FIN after {received} bytes, {received % LineLength} bytes into a line");
    }

    // A flush asked for while a detach drains the connection (the answer to a verdict that came after the session was
    // exported) must not go out on the socket that is leaving: the new owner's bytes would follow it, or a cut part
    // of it. It waits for the detach; the connection left, so its bytes are dropped and counted.
    [Fact]
    public async Task Flush_asked_for_while_a_detach_drains_is_not_sent_and_is_counted_as_dropped()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(16 * 1024, ct);
        using var _ = peer;
        var output = connection.Transport.Output;
        var writer = (SocketSendWriter)output;

        // A first flush waits for the peer, so the detach waits for it; the second is asked for the moment the first
        // ends, on the thread that ends it, before the detach goes on.
        var first = Lines('a', 240);
        var late = Lines('b', 4);
        output.Write(first);
        var firstFlush = output.FlushAsync(ct);
        Assert.True(SpinWait.SpinUntil(() => writer.Sending, TimeSpan.FromSeconds(30)));
        var secondFlush = FlushAfterAsync(firstFlush, output, late, ct);
        var detaching = connection.DetachAsync(ct).AsTask();
        Assert.False(detaching.IsCompleted);

        var reading = DrainToEndAsync(peer, keep: true, ct);
        var detached = await detaching.WaitAsync(ct);
        var second = await secondFlush.WaitAsync(ct);
        await using (var adopted = SocketTransport.AdoptMiner(detached.Handle, detached.UnreadInput, 4096))
        {
            await adopted.Transport.Output.WriteAsync("c\n"u8.ToArray(), ct);
        }

        await connection.DisposeAsync();
        var (received, reset, bytes) = await reading;
        Assert.False(reset);
        Assert.Equal(first.Length + 2, received);
        Assert.Equal([.. first, .. "c\n"u8.ToArray()], bytes);
        Assert.True(second.IsCompleted);
        Assert.Equal(late.Length, writer.DroppedBytes);
    }

    private static async Task<FlushResult> FlushAfterAsync(ValueTask<FlushResult> before, PipeWriter output, byte[] bytes, CancellationToken ct)
    {
        await before;
        output.Write(bytes);
        return await output.FlushAsync(ct);
    }

    private static byte[] Lines(char fill, int kib)
    {
        var bytes = new byte[kib * 1024];
        bytes.AsSpan().Fill((byte)fill);
        for (var i = 1023; i < bytes.Length; i += 1024)
        {
            bytes[i] = (byte)'\n';
        }

        return bytes;
    }

    private static async Task<(long Received, bool Reset, byte[] Bytes)> DrainToEndAsync(Socket peer, bool keep, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        var kept = new MemoryStream();
        long total = 0;
        try
        {
            while (true)
            {
                var n = await peer.ReceiveAsync(buffer, SocketFlags.None, ct);
                if (n == 0)
                {
                    return (total, false, kept.ToArray());
                }

                total += n;
                if (keep)
                {
                    kept.Write(buffer, 0, n);
                }
            }
        }
        catch (SocketException)
        {
            return (total, true, kept.ToArray());
        }
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
