using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Proxy.Transport;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Transport;

/// <summary>
/// A live TCP connection leaves one <see cref="ProxyConnection"/> and continues in another without the peer noticing:
/// no EOF, no reset, no byte lost or repeated in either direction.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ConnectionHandoverTests
{
    private const int MaxLine = 4096;

    [Fact]
    public void Adopt_ADescriptorThatIsNotAStreamSocket_IsRefusedAtAdoption_AndStaysWithItsHandle()
    {
        // A pipe, a regular file and a datagram socket: each is refused when it is adopted (the takeover then closes,
        // counts and logs it like any connection that cannot be adopted), not when the session first reads.
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);
        var path = Path.GetTempFileName();
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
            using var datagram = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

            var fromPipe = Assert.Throws<IOException>(() => SocketTransport.AdoptMiner(pipe.ClientSafePipeHandle, ReadOnlyMemory<byte>.Empty, MaxLine));
            Assert.EndsWith("is not a socket", fromPipe.Message, StringComparison.Ordinal);
            var fromFile = Assert.Throws<IOException>(() => SocketTransport.AdoptPool(file, ReadOnlyMemory<byte>.Empty, MaxLine));
            Assert.EndsWith("is not a socket", fromFile.Message, StringComparison.Ordinal);
            var fromDatagram = Assert.Throws<IOException>(() => SocketTransport.AdoptMiner(datagram.SafeHandle, ReadOnlyMemory<byte>.Empty, MaxLine));
            Assert.EndsWith("not a stream socket", fromDatagram.Message, StringComparison.Ordinal);

            // Each descriptor is still its handle's, to be closed by whoever holds it.
            Assert.All(new System.Runtime.InteropServices.SafeHandle[] { pipe.ClientSafePipeHandle, file, datagram.SafeHandle }, h => Assert.False(h.IsClosed || h.IsInvalid));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task DetachAsync_MidStreamBothWays_TheAdoptedConnectionContinuesTheStreamExactly()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var listener = SocketTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var client = await LineClient.ConnectAsync(listener.LocalEndPoint!, ct, receiveBuffer: 16 * 1024);
        var accepted = await listener.AcceptAsync(ct);
        accepted.SendBufferSize = 16 * 1024;
        var oldDescriptor = (int)accepted.Handle;
        var old = SocketTransport.WrapAccepted(accepted, MaxLine);
        Assert.True(old.CanHandOver);

        // The client sends 100 lines; the session consumes 50 and leaves the other 50 in its input pipe, unread.
        await client.SendLinesAsync("c", 1, 100, ct);
        Assert.Equal(NumberedLines.Of("c", 1, 50), await NumberedLines.ReadAsync(old.Transport.Input, 50, ct));
        await NumberedLines.WaitUntilBufferedAsync(old.Transport.Input, 50, ct);

        // The session writes 240 KiB in one flush while the client is not reading: the socket buffers (16 KiB each
        // way) and the client's one pending read take at most 128 KiB of it, the rest waits to be sent (a miner's
        // output writes straight to the socket, so its flush waits too). The detach cannot finish before the client
        // reads again and that flush has ended.
        client.PauseReading();
        var writing = NumberedLines.WriteAsync(old.Transport.Output, "s", 1, 480, ct, flushEvery: 480);
        var detaching = old.DetachAsync(ct).AsTask();
        Assert.False(detaching.IsCompleted);
        client.ResumeReading();
        await writing;
        var detached = await detaching;

        Assert.StartsWith("c0051\n", Encoding.ASCII.GetString(detached.UnreadInput), StringComparison.Ordinal);
        await using var adopted = SocketTransport.AdoptMiner(detached.Handle, detached.UnreadInput, MaxLine);
        Assert.True(detached.Handle.IsClosed);
        await old.DisposeAsync();

        // The number the old socket object held is free again: a new socket there must neither disturb nor be
        // disturbed by the handed-over connection (epoll still holds the old registration under that number).
        using var reuse = await OpenUntilDescriptorAsync(listener, oldDescriptor, ct);

        await client.SendLinesAsync("c", 101, 150, ct);
        Assert.Equal(NumberedLines.Of("c", 51, 150), await NumberedLines.ReadAsync(adopted.Transport.Input, 100, ct));
        await NumberedLines.WriteAsync(adopted.Transport.Output, "s", 481, 580, ct);
        Assert.Equal(NumberedLines.Of("s", 1, 580), await client.ReadLinesAsync(580, ct));

        if (reuse is not null)
        {
            await reuse.Value.Client.SendAsync("other\n"u8.ToArray(), ct);
            var buffer = new byte[6];
            Assert.Equal(6, await reuse.Value.Server.ReceiveAsync(buffer, ct));
        }

        // Still one open stream both ways after everything.
        await client.SendLinesAsync("c", 151, 151, ct);
        Assert.Equal(NumberedLines.Of("c", 151, 151), await NumberedLines.ReadAsync(adopted.Transport.Input, 1, ct));
        Assert.False(client.SawEnd);
        reuse?.Dispose();

        // Nothing the old process did reached the socket's options: its end will be a FIN, not a reset.
        Assert.False(((TcpSocketDuplex)adopted.Transport).Socket.LingerState!.Enabled);
    }

    [Fact]
    public async Task DetachAsync_APoolConnection_ContinuesInTheAdoptedOne()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var poolListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        poolListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        poolListener.Listen();
        var port = ((IPEndPoint)poolListener.LocalEndPoint!).Port;
        var old = await SocketTransport.ConnectAsync(
            new StratumProxy.Proxy.Configuration.PoolUrl("127.0.0.1", port, false), false, MaxLine, ct);
        await using var pool = new LineClient(await poolListener.AcceptAsync(ct));
        Assert.True(old.CanHandOver);

        await pool.SendLinesAsync("n", 1, 3, ct);
        Assert.Equal(NumberedLines.Of("n", 1, 1), await NumberedLines.ReadAsync(old.Transport.Input, 1, ct));
        await NumberedLines.WaitUntilBufferedAsync(old.Transport.Input, 2, ct);
        await NumberedLines.WriteAsync(old.Transport.Output, "u", 1, 10, ct);

        var detached = await old.DetachAsync(ct);
        await old.DisposeAsync();
        var adopted = SocketTransport.AdoptPool(detached.Handle, detached.UnreadInput, MaxLine);

        await pool.SendLinesAsync("n", 4, 4, ct);
        Assert.Equal(NumberedLines.Of("n", 2, 2), await NumberedLines.ReadAsync(adopted.Transport.Input, 1, ct));
        await NumberedLines.WriteAsync(adopted.Transport.Output, "u", 11, 12, ct);

        // A second upgrade: the adopted connection hands over again, with its own unread lines.
        Assert.True(adopted.CanHandOver);
        var again = await adopted.DetachAsync(ct);
        await adopted.DisposeAsync();
        await using var third = SocketTransport.AdoptPool(again.Handle, again.UnreadInput, MaxLine);
        await pool.SendLinesAsync("n", 5, 5, ct);
        Assert.Equal(NumberedLines.Of("n", 3, 5), await NumberedLines.ReadAsync(third.Transport.Input, 3, ct));
        await NumberedLines.WriteAsync(third.Transport.Output, "u", 13, 13, ct);
        Assert.Equal(NumberedLines.Of("u", 1, 13), await pool.ReadLinesAsync(13, ct));
        Assert.False(pool.SawEnd);
    }

    [Fact]
    public async Task CanHandOver_InMemoryPipes_IsFalseAndDetachRefuses()
    {
        var pipe = new Pipe();
        await using var connection = new ProxyConnection(new DuplexPipe(pipe.Reader, pipe.Writer), null, null, null);

        Assert.False(connection.CanHandOver);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await connection.DetachAsync(CancellationToken.None));
    }

    [Fact]
    public async Task DetachAsync_CancelledWhileThePeerDoesNotRead_LeavesTheConnectionServing()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var listener = SocketTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(listener.LocalEndPoint!, ct);
        var accepted = await listener.AcceptAsync(ct);
        accepted.SendBufferSize = 16 * 1024;
        peer.ReceiveBufferSize = 16 * 1024;
        await using var connection = SocketTransport.WrapAccepted(accepted, MaxLine);

        // The peer reads nothing: 8 MiB cannot all reach the kernel, so the drain cannot finish.
        var writing = NumberedLines.WriteAsync(connection.Transport.Output, "s", 1, 16_000, ct);
        using var giveUp = new CancellationTokenSource();
        var detaching = connection.DetachAsync(giveUp.Token).AsTask();
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => detaching);

        // Still one connection: the peer now reads everything, and what it sends arrives.
        await using var client = new LineClient(peer);
        Assert.Equal(NumberedLines.Of("s", 1, 16_000), await client.ReadLinesAsync(16_000, ct));
        await writing;
        await client.SendLinesAsync("c", 1, 1, ct);
        Assert.Equal(NumberedLines.Of("c", 1, 1), await NumberedLines.ReadAsync(connection.Transport.Input, 1, ct));
    }

    [Fact]
    public async Task SocketDispose_WithAReceivePending_LeavesLingerZeroOnASharedSocket_UnlessTheNumberHoldsADummy()
    {
        // The trap the detach is built around: .NET closes a socket whose operations it had to abort abortively, by
        // setting SO_LINGER to zero first. That option belongs to the socket, not the descriptor: a duplicate that
        // lives on (in this process or the successor) would later end the connection with a reset, losing unsent data.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ct = timeout.Token;
        using var listener = SocketTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        foreach (var withDummy in new[] { false, true })
        {
            using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await peer.ConnectAsync(listener.LocalEndPoint!, ct);
            var accepted = await listener.AcceptAsync(ct);
            var fd = (int)accepted.Handle;
            var duplicate = new Socket(new SafeSocketHandle(LinuxDescriptors.DuplicateCloseOnExec(fd), ownsHandle: true));
            var pending = accepted.ReceiveAsync(new byte[1], ct).AsTask();
            if (withDummy)
            {
                LinuxDescriptors.ReplaceWithDummy(fd, LinuxDescriptors.CreateClosedDummy());
            }

            accepted.Dispose();
            await Assert.ThrowsAnyAsync<Exception>(() => pending);

            // The connection still works through the duplicate either way...
            await duplicate.SendAsync("x"u8.ToArray(), ct);
            var buffer = new byte[1];
            Assert.Equal(1, await peer.ReceiveAsync(buffer, ct));
            Assert.Equal(!withDummy, duplicate.LingerState is { Enabled: true, LingerTime: 0 });

            // ...but without the dummy its end is a reset instead of a FIN.
            duplicate.Dispose();
            var ending = await Record.ExceptionAsync(async () => Assert.Equal(0, await peer.ReceiveAsync(buffer, ct)));
            Assert.Equal(withDummy, ending is null);
        }
    }

    [Fact]
    public async Task DetachListener_APendingAcceptReturnsNull_TheAdoptedListenerTakesTheQueuedConnection()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ct = timeout.Token;
        var old = SocketListenerFactory.Instance.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var endpoint = old.LocalEndPoint;
        var pending = old.AcceptAsync(MaxLine, AdmitAll.Instance, ct);

        var handle = old.DetachListener();

        Assert.Null(await pending);
        Assert.Null(await old.AcceptAsync(MaxLine, AdmitAll.Instance, ct));
        await old.DisposeAsync();

        // A miner that connects between the two processes waits in the kernel's queue.
        await using var client = await LineClient.ConnectAsync(endpoint, ct);
        await using var adopted = SocketListenerFactory.Instance.Adopt(handle);
        Assert.Equal(endpoint, adopted.LocalEndPoint);
        await using var connection = await adopted.AcceptAsync(MaxLine, AdmitAll.Instance, ct);
        Assert.NotNull(connection);
        await client.SendLinesAsync("c", 1, 1, ct);
        Assert.Equal(NumberedLines.Of("c", 1, 1), await NumberedLines.ReadAsync(connection.Transport.Input, 1, ct));
    }

    private static async Task<SocketPair?> OpenUntilDescriptorAsync(Socket listener, int descriptor, CancellationToken ct)
    {
        var opened = new List<SocketPair>();
        try
        {
            for (var i = 0; i < 32; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(listener.LocalEndPoint!, ct);
                var pair = new SocketPair(client, await listener.AcceptAsync(ct));
                if ((int)pair.Client.Handle == descriptor || (int)pair.Server.Handle == descriptor)
                {
                    return pair;
                }

                opened.Add(pair);
            }

            return null;
        }
        finally
        {
            foreach (var pair in opened)
            {
                pair.Dispose();
            }
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    private readonly record struct SocketPair(Socket Client, Socket Server) : IDisposable
    {
        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
        }
    }
}
