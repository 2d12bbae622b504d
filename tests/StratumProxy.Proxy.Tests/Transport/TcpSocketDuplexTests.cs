using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Tests.Transport;

/// <summary>
/// How the plain-TCP transport ends a stream (every byte the peer sent reaches the session, even when a reset follows),
/// and how a miner connection's output reaches the socket: shared bytes uncopied, in order, nothing held afterwards.
/// </summary>
public sealed class TcpSocketDuplexTests
{
    // What wrapping an idle miner connection allocates on the accepting thread: 1,552 bytes in Release and 1,648 in
    // Debug on .NET 10.0.12; a token source per connection with its registration on the pending receive made it 208
    // bytes more (1,856 in Debug).
    private const long IdleReceiveBytes = 1700;

    [Fact]
    public async Task A_reset_right_after_the_peers_last_line_ends_the_input_cleanly_after_that_line()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        await using var connection = await SocketTransport.ConnectAsync(new PoolUrl("127.0.0.1", port, false), false, 64 * 1024, ct);
        using var pool = await listener.AcceptAsync(ct);

        // A pool answers a share it accepted and dies at once (a hard reset, as when its host goes down).
        const string answer = "{\"id\":7,\"result\":true,\"error\":null}\n";
        await pool.SendAsync(Encoding.ASCII.GetBytes(answer), SocketFlags.None, ct);
        pool.LingerState = new LingerOption(true, 0);
        pool.Close();

        // The transport sees the reset before the session reads: the answer must still be there.
        Assert.True(SpinWait.SpinUntil(() => connection.ReceiveError is not null, TimeSpan.FromSeconds(30)), "the reset was never seen");
        var input = connection.Transport.Input;
        var result = await input.ReadAsync(ct);
        Assert.Equal(answer, Encoding.ASCII.GetString(result.Buffer));
        input.AdvanceTo(result.Buffer.End);
        result = await input.ReadAsync(ct);
        Assert.True(result.IsCompleted);
        Assert.True(result.Buffer.IsEmpty);
        Assert.Contains("reset", connection.ReceiveError!.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_miners_output_sends_shared_and_formatted_bytes_in_the_order_written_and_holds_nothing_afterwards()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(ct);
        await using var _ = connection;
        using var __ = peer;
        var output = connection.Transport.Output;
        var shared = Assert.IsAssignableFrom<ISharedBytesWriter>(output);
        var sender = Assert.IsType<SocketSendWriter>(output);
        var job1 = Encoding.ASCII.GetBytes("{\"method\":\"mining.notify\",\"params\":[\"1\"]}\n");
        var job2 = Encoding.ASCII.GetBytes("{\"method\":\"mining.notify\",\"params\":[\"2\"]}\n");

        // A batch as a session's write loop makes them: answers, a difficulty, a job, more answers; then a job alone.
        output.Write("a\n"u8);
        shared.WriteShared(job1);
        output.Write("b\n"u8);
        Assert.True(sender.HoldsBuffer);
        Assert.False((await output.FlushAsync(ct)).IsCompleted);
        Assert.False(sender.HoldsBuffer);
        shared.WriteShared(job2);
        output.Write("c\n"u8);
        shared.WriteShared(job1);
        await output.FlushAsync(ct);
        shared.WriteShared(job2);
        await output.FlushAsync(ct);
        Assert.False(sender.HoldsBuffer);

        var expected = "a\n" + Encoding.ASCII.GetString(job1) + "b\n" + Encoding.ASCII.GetString(job2) + "c\n"
            + Encoding.ASCII.GetString(job1) + Encoding.ASCII.GetString(job2);
        Assert.Equal(expected, await ReceiveAsync(peer, expected.Length, ct));
    }

    [Fact]
    public async Task A_miners_connection_keeps_no_reference_to_the_shared_bytes_it_sent()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(ct);
        await using var _ = connection;
        using var __ = peer;

        // Idle connections must not keep a job's line (or a send buffer) alive through their socket operation.
        var sent = await SendSharedAsync(connection.Transport.Output, 1200, ct);
        Assert.Equal(1200, (await ReceiveAsync(peer, 1200, ct)).Length);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(sent.IsAlive, "the bytes sent are still referenced after the send completed");
    }

    [Fact]
    public async Task Cancelling_the_flush_of_a_miner_that_does_not_read_ends_it()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(ct, buffers: 16 * 1024);
        await using var _ = connection;
        using var __ = peer;
        var output = connection.Transport.Output;

        // 4 MiB cannot all reach the kernel while the peer reads nothing: the flush waits, as a session's write loop
        // would for a slow miner, until StopWriting cancels it (the close grace is over).
        output.Write(new byte[4 * 1024 * 1024]);
        var flushing = output.FlushAsync(ct).AsTask();
        Assert.True(SpinWait.SpinUntil(() => ((SocketSendWriter)output).Sending, TimeSpan.FromSeconds(30)));
        Assert.False(flushing.IsCompleted);
        output.CancelPendingFlush();
        var result = await flushing.WaitAsync(ct);
        Assert.True(result.IsCanceled || result.IsCompleted);
        Assert.False(((SocketSendWriter)output).HoldsBuffer);
    }

    [Fact]
    public async Task An_idle_miners_receive_waits_without_a_token_source_of_its_own()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var listener = SocketTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peers = new List<Socket>();
        var connections = new List<ProxyConnection>();
        try
        {
            // Wrapping an accepted socket starts its receive loop, whose zero-byte receive goes pending on this thread:
            // what this thread allocates is what an idle connection's receive side is made of (the input pipe, the
            // loop, the socket's receive operation and context, the direct output). A detach stops the receive through
            // the socket object (pointed at a dummy, then disposed), so no token source or registration is among them.
            var fewest = long.MaxValue;
            for (var i = 0; i < 8; i++)
            {
                var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                peers.Add(peer);
                await peer.ConnectAsync(listener.LocalEndPoint!, ct);
                var accepted = await listener.AcceptAsync(ct);
                var before = GC.GetAllocatedBytesForCurrentThread();
                connections.Add(SocketTransport.WrapAccepted(accepted, 4096));
                fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
            }

            Assert.True(fewest <= IdleReceiveBytes, $"wrapping an idle miner connection allocated {fewest} bytes");
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }

            peers.ForEach(p => p.Dispose());
        }
    }

    private static async Task<WeakReference> SendSharedAsync(PipeWriter output, int length, CancellationToken ct)
    {
        var line = new byte[length];
        line.AsSpan().Fill((byte)'x');
        ((ISharedBytesWriter)output).WriteShared(line);
        await output.FlushAsync(ct);
        return new WeakReference(line);
    }

    private static async Task<(ProxyConnection Connection, Socket Peer)> MinerPairAsync(CancellationToken ct, int buffers = 0)
    {
        using var listener = SocketTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (buffers > 0)
        {
            peer.ReceiveBufferSize = buffers;
        }

        await peer.ConnectAsync(listener.LocalEndPoint!, ct);
        var accepted = await listener.AcceptAsync(ct);
        if (buffers > 0)
        {
            accepted.SendBufferSize = buffers;
        }

        return (SocketTransport.WrapAccepted(accepted, 4096), peer);
    }

    private static async Task<string> ReceiveAsync(Socket peer, int length, CancellationToken ct)
    {
        var buffer = new byte[length];
        var received = 0;
        while (received < length)
        {
            var n = await peer.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, ct);
            Assert.NotEqual(0, n);
            received += n;
        }

        return Encoding.ASCII.GetString(buffer);
    }
}
