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
    // What wrapping an idle miner connection and starting its first read allocate on the calling thread: 488 bytes in
    // Debug on .NET 10.0.12 with the read waiting in the poller. With the runtime's zero-byte receive (its event args,
    // socket context, receive operation and callback) it was 1,232; with a pipe and a receive loop behind the input,
    // 1,648 (1,552 in Release); a token source per connection with its registration on the pending receive made that
    // 208 bytes more.
    private const long IdleReceiveBytes = 600;

    // A poller of this class's own, so its registrations can be counted (the tests of one class run one at a time).
    private static readonly SocketPoller TestPoller = new();

    [Theory]
    [InlineData("pool")]
    [InlineData("miner")]
    public async Task A_reset_right_after_the_peers_last_line_ends_the_input_cleanly_after_that_line(string peerKind)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = peerKind == "pool" ? await PoolPairAsync(ct) : await MinerPairAsync(ct);
        await using var _ = connection;
        using var __ = peer;

        // A pool answers a share it accepted, or a miner sends a submit, and its host goes down at once (a hard
        // reset). The pool's connection receives with the runtime's receive, the miner's in the poller.
        var line = peerKind == "pool" ? "{\"id\":7,\"result\":true,\"error\":null}\n" : "{\"id\":4,\"method\":\"mining.submit\",\"params\":[]}\n";
        await peer.SendAsync(Encoding.ASCII.GetBytes(line), SocketFlags.None, ct);
        peer.LingerState = new LingerOption(true, 0);
        peer.Close();

        // The reset is in the kernel before the session reads (on loopback it arrives within the peer's close): the
        // line must still be there, and the stream then ends cleanly with the reset kept as the reason.
        var input = connection.Transport.Input;
        var result = await input.ReadAsync(ct);
        Assert.Equal(line, Encoding.ASCII.GetString(result.Buffer));
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
        var reads = new List<ValueTask<ReadResult>>();
        try
        {
            // Wrapping an accepted socket and reading from it (as a session does at once) arms its wait in the poller on
            // this thread: what this thread allocates is what an idle connection's receive side is made of (the input
            // and the direct output). No pipe or loop is among them, no socket operation or context of the runtime's,
            // and no token source or registration (a detach removes the wait from the poller).
            var fewest = long.MaxValue;
            for (var i = 0; i < 8; i++)
            {
                var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                peers.Add(peer);
                await peer.ConnectAsync(listener.LocalEndPoint!, ct);
                var accepted = await listener.AcceptAsync(ct);
                var before = GC.GetAllocatedBytesForCurrentThread();
                var connection = SocketTransport.WrapAccepted(accepted, 4096);
#pragma warning disable CA2012 // Awaited once each, after the connections are disposed.
                reads.Add(connection.Transport.Input.ReadAsync(CancellationToken.None));
#pragma warning restore CA2012
                fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
                connections.Add(connection);
                Assert.False(reads[^1].IsCompleted);
            }

            Assert.True(fewest <= IdleReceiveBytes, $"wrapping an idle miner connection allocated {fewest} bytes");
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }

            foreach (var read in reads)
            {
                // Ends with the connection (the read sees the end of the stream).
                _ = await read;
            }

            peers.ForEach(p => p.Dispose());
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_read_waiting_when_the_input_is_completed_ends_with_the_stream_when_the_peer_then_sends_its_FIN(bool poller)
    {
        // A connection disposed from another thread while its session waits to read completes the input, then shuts
        // the socket; when the kernel reports the shutdown (or the peer's FIN) as an end of stream before the close
        // aborts the receive, the waiting read must end too, or the session waits for ever.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(ct, poller: poller);
        await using var _ = connection;
        using var __ = peer;
        var input = connection.Transport.Input;
        var read = input.ReadAsync(CancellationToken.None).AsTask();
        Assert.False(read.IsCompleted);

        await input.CompleteAsync();
        peer.Shutdown(SocketShutdown.Send);

        var result = await read.WaitAsync(ct);
        Assert.True(result.IsCompleted);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_miners_input_holds_a_buffer_only_while_bytes_are_unconsumed_and_grows_for_a_long_line(bool poller)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(ct, poller: poller);
        await using var _ = connection;
        using var __ = peer;
        var input = (SocketReceiveReader)connection.Transport.Input;
        Assert.False(input.HoldsBuffer);

        // A line longer than the first buffer, sent in two parts: the reader examines each part and asks for more.
        var line = new string('a', 10_000) + "\n";
        await peer.SendAsync(Encoding.ASCII.GetBytes(line[..6_000]), SocketFlags.None, ct);
        var seen = 0;
        var sentRest = false;
        while (true)
        {
            var result = await input.ReadAsync(ct);
            Assert.False(result.IsCompleted);
            Assert.True(result.Buffer.Length > seen, "a read returned nothing new");
            seen = (int)result.Buffer.Length;
            if (result.Buffer.PositionOf((byte)'\n') is { } end)
            {
                Assert.Equal(line, Encoding.ASCII.GetString(result.Buffer.Slice(0, result.Buffer.GetPosition(1, end))));
                input.AdvanceTo(result.Buffer.End);
                break;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            Assert.True(input.HoldsBuffer);
            if (!sentRest && seen == 6_000)
            {
                sentRest = true;
                await peer.SendAsync(Encoding.ASCII.GetBytes(line[6_000..]), SocketFlags.None, ct);
            }
        }

        // Everything consumed: the buffer went back to the pool, and an idle read holds none while it waits.
        Assert.False(input.HoldsBuffer);
        var waiting = input.ReadAsync(ct);
        Assert.False(waiting.IsCompleted);
        Assert.False(input.HoldsBuffer);
        await peer.SendAsync("{\"id\":1}\n"u8.ToArray(), SocketFlags.None, ct);
        var next = await waiting;
        Assert.Equal("{\"id\":1}\n", Encoding.ASCII.GetString(next.Buffer));
        input.AdvanceTo(next.Buffer.End);
        Assert.False(input.HoldsBuffer);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_waiting_read_ends_on_CancelPendingRead_or_its_token_and_the_next_read_gets_the_bytes_sent_later(bool poller)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(ct, poller: poller);
        await using var _ = connection;
        using var __ = peer;
        var input = connection.Transport.Input;

        var waiting = input.ReadAsync(ct);
        Assert.False(waiting.IsCompleted);
        input.CancelPendingRead();
        var cancelled = await waiting;
        Assert.True(cancelled.IsCanceled);
        Assert.True(cancelled.Buffer.IsEmpty);
        input.AdvanceTo(cancelled.Buffer.End);

        // A cancellation asked for while no read waits is reported by the next read.
        input.CancelPendingRead();
        var early = await input.ReadAsync(ct);
        Assert.True(early.IsCanceled);
        input.AdvanceTo(early.Buffer.End);

        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            var read = input.ReadAsync(stop.Token).AsTask();
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
        }

        // The socket receive those reads started is still the one that takes the next bytes.
        await peer.SendAsync("{\"id\":2}\n"u8.ToArray(), SocketFlags.None, ct);
        var result = await input.ReadAsync(ct);
        Assert.Equal("{\"id\":2}\n", Encoding.ASCII.GetString(result.Buffer));
        input.AdvanceTo(result.Buffer.End);

        peer.Shutdown(SocketShutdown.Send);
        result = await input.ReadAsync(ct);
        Assert.True(result.IsCompleted);
        Assert.True(result.Buffer.IsEmpty);
        Assert.Null(connection.ReceiveError);
    }

    [Fact]
    public async Task A_detach_after_a_cancelled_read_ends_the_receive_still_waiting_and_hands_over_the_unread_bytes()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, pool) = await PoolPairAsync(ct);
        using var _ = pool;
        Assert.True(connection.CanHandOver);
        var input = connection.Transport.Input;

        // A line read in part, then a read that waits on the socket and is cancelled (a pool connection parking for
        // a handover): its receive is still waiting when the connection is detached.
        await pool.SendAsync("{\"id\":1}\n{\"id\""u8.ToArray(), SocketFlags.None, ct);
        var first = await input.ReadAsync(ct);
        var end = first.Buffer.PositionOf((byte)'\n')!.Value;
        input.AdvanceTo(first.Buffer.GetPosition(1, end), first.Buffer.End);
        var waiting = input.ReadAsync(ct);
        input.CancelPendingRead();
        var cancelled = await waiting;
        Assert.True(cancelled.IsCanceled);
        input.AdvanceTo(cancelled.Buffer.Start);

        var detached = await connection.DetachAsync(ct).AsTask().WaitAsync(ct);
        await connection.DisposeAsync();
        using (detached.Handle)
        {
            Assert.Equal("{\"id\"", Encoding.ASCII.GetString(detached.UnreadInput));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Stopping_the_input_while_its_receive_waits_takes_no_byte_at_once_in_the_poller_or_when_that_receive_ends(bool poller)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var own = poller ? TestPoller : null;
        var (connection, peer) = await MinerPairAsync(ct, poller: poller, own: own);
        await using var _ = connection;
        using var __ = peer;
        var input = (SocketReceiveReader)connection.Transport.Input;

        // A read waits on the socket and is cancelled (the session parks): its wait stays (armed in the poller, or the
        // zero-byte receive in flight).
        var waiting = input.ReadAsync(ct);
        input.CancelPendingRead();
        var cancelled = await waiting;
        Assert.True(cancelled.IsCanceled);
        input.AdvanceTo(cancelled.Buffer.Start);

        // The handover stops the input before the peer's next line. In the poller the armed wait is removed and the
        // stop ends at once; the runtime's zero-byte receive cannot be withdrawn, so the stop waits for it to end (here
        // the line ends it). Either way the line stays in the kernel for whoever adopts the socket.
        var stopping = input.StopAsync().AsTask();
        if (poller)
        {
            Assert.Empty(await stopping.WaitAsync(ct));
            Assert.Equal(0, own!.Registered);
            Assert.Equal(0, own.KernelRegistrations());
            await peer.SendAsync("{\"id\":3}\n"u8.ToArray(), SocketFlags.None, ct);
            Assert.True(SpinWait.SpinUntil(() => connection.Transport is TcpSocketDuplex { Socket.Available: 9 }, TimeSpan.FromSeconds(30)));
        }
        else
        {
            Assert.False(stopping.IsCompleted);
            await peer.SendAsync("{\"id\":3}\n"u8.ToArray(), SocketFlags.None, ct);
            Assert.Empty(await stopping.WaitAsync(ct));
        }

        Assert.Equal(9, connection.Transport is TcpSocketDuplex duplex ? duplex.Socket.Available : -1);
    }

    [Theory]
    [InlineData("the miner's FIN")]
    [InlineData("the miner's reset")]
    [InlineData("the connection disposed")]
    [InlineData("the connection reset by the proxy")]
    public async Task A_read_waiting_in_the_poller_ends_with_the_connection_and_the_poller_forgets_the_socket(string end)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var own = TestPoller;
        var (connection, peer) = await MinerPairAsync(ct, own: own);
        await using var _ = connection;
        using var __ = peer;
        var input = connection.Transport.Input;

        // A line, then a read that waits: the socket is registered (and armed) for as long as the connection lives.
        await peer.SendAsync("{\"id\":1}\n"u8.ToArray(), SocketFlags.None, ct);
        var first = await input.ReadAsync(ct);
        input.AdvanceTo(first.Buffer.End);
        var waiting = input.ReadAsync(CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, own.Registered);
        Assert.Equal(1, own.KernelRegistrations());

        switch (end)
        {
            case "the miner's FIN":
                peer.Shutdown(SocketShutdown.Send);
                break;
            case "the miner's reset":
                peer.LingerState = new LingerOption(true, 0);
                peer.Close();
                break;
            case "the connection disposed":
                await connection.DisposeAsync();
                break;
            default:
                ((TcpSocketDuplex)connection.Transport).AbortSend();
                break;
        }

        var result = await waiting.WaitAsync(ct);
        Assert.True(result.IsCompleted);
        Assert.True(result.Buffer.IsEmpty);
        Assert.Equal(0, own.Registered);
        Assert.Equal(0, own.KernelRegistrations());
    }

    [Theory]
    [InlineData("completes the input")]
    [InlineData("resets the connection")]
    public async Task A_read_waiting_in_the_poller_ends_when_another_thread_completes_the_input_or_resets_the_connection_and_resumes_off_that_thread(string what)
    {
        // The session's read loop must never run on the stack of a thread that stops it (the listener's stop loop,
        // a takeover's export), and the read must end without any byte or FIN from the miner.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(ct, own: TestPoller);
        await using var _ = connection;
        using var __ = peer;
        var input = connection.Transport.Input;
        var resumedOn = 0;
        async Task ReadAsync()
        {
            var result = await input.ReadAsync(CancellationToken.None).ConfigureAwait(false);
            resumedOn = Environment.CurrentManagedThreadId;
            Assert.True(result.IsCompleted);
        }

        var reading = ReadAsync();
        Assert.False(reading.IsCompleted);
        var caller = 0;
        var thread = new Thread(() =>
        {
            caller = Environment.CurrentManagedThreadId;
            if (what == "completes the input")
            {
                input.Complete();
            }
            else
            {
                ((TcpSocketDuplex)connection.Transport).AbortSend();
            }
        });
        thread.Start();
        thread.Join();

        await reading.WaitAsync(ct);
        Assert.NotEqual(caller, resumedOn);
        Assert.Equal(0, TestPoller.Registered);
        Assert.Equal(0, TestPoller.KernelRegistrations());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_connection_disposed_while_a_reads_receive_runs_ends_that_read_and_leaves_the_poller(bool bytesWaiting)
    {
        // The receive a read starts runs outside the reader's monitor; another thread disposing the connection
        // meanwhile (completing the input, closing the socket) must still end the read, whether the receive finds
        // nothing or takes bytes, and the poller must forget the socket. Another thread takes the monitor as soon as
        // the receive is under way and disposes the connection holding it, so the receive's end comes after the
        // dispose; the window is narrow, so the attempt is repeated until it was hit a few times.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var hits = 0;
        for (var attempt = 0; attempt < 200 && hits < 3; attempt++)
        {
            var (connection, peer) = await MinerPairAsync(ct, own: TestPoller);
            using var __ = peer;
            var input = (SocketReceiveReader)connection.Transport.Input;
            if (bytesWaiting)
            {
                await peer.SendAsync("{\"id\":1}\n"u8.ToArray(), SocketFlags.None, ct);
                Assert.True(SpinWait.SpinUntil(() => ((TcpSocketDuplex)connection.Transport).Socket.Available == 9, TimeSpan.FromSeconds(10)));
            }

            var hit = false;
            var readReturned = false;
            var interloper = new Thread(() =>
            {
                // A miss ends as soon as the read's synchronous part (its receive) is over: spinning on would only
                // make a loaded machine run out of time before it hits.
                var deadline = Environment.TickCount64 + 2_000;
                while (!input.ReceivingForARead)
                {
                    if (Volatile.Read(ref readReturned) || Environment.TickCount64 > deadline)
                    {
                        return;
                    }
                }

                lock (input)
                {
                    hit = input.ReceivingForARead;
                    connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }) { IsBackground = true };
            interloper.Start();
            var read = input.ReadAsync(CancellationToken.None).AsTask();
            Volatile.Write(ref readReturned, true);
            interloper.Join();
            await connection.DisposeAsync();
            await read.WaitAsync(ct);
            Assert.Equal(0, TestPoller.Registered);
            hits += hit ? 1 : 0;
        }

        Assert.True(hits > 0, "the dispose never landed while a read's receive ran");
        Assert.Equal(0, TestPoller.KernelRegistrations());
    }

    [Fact]
    public async Task A_miners_detach_removes_its_wait_from_the_poller_before_the_descriptor_changes_and_hands_over_what_it_did_not_read()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (connection, peer) = await MinerPairAsync(ct, own: TestPoller);
        using var __ = peer;
        var input = connection.Transport.Input;

        // Half a line read, then a read that waits in the poller and is cancelled (the session parks).
        await peer.SendAsync("{\"id\":1}\n{\"id\""u8.ToArray(), SocketFlags.None, ct);
        var first = await input.ReadAsync(ct);
        var end = first.Buffer.PositionOf((byte)'\n')!.Value;
        input.AdvanceTo(first.Buffer.GetPosition(1, end), first.Buffer.End);
        var waiting = input.ReadAsync(ct);
        Assert.Equal(1, TestPoller.KernelRegistrations());
        input.CancelPendingRead();
        input.AdvanceTo((await waiting).Buffer.Start);

        // Removed while the number still named the socket: a removal after the dummy took the number would leave the
        // socket registered here for as long as the process that adopts it keeps it open.
        var detached = await connection.DetachAsync(ct).AsTask().WaitAsync(ct);
        await connection.DisposeAsync();
        using (detached.Handle)
        {
            Assert.Equal("{\"id\"", Encoding.ASCII.GetString(detached.UnreadInput));
            Assert.Equal(0, TestPoller.Registered);
            Assert.Equal(0, TestPoller.KernelRegistrations());
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

    // A pool connection as the proxy makes one (the runtime's receive, a send loop), and the pool's end of it.
    private static async Task<(ProxyConnection Connection, Socket Pool)> PoolPairAsync(CancellationToken ct)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var connection = await SocketTransport.ConnectAsync(new PoolUrl("127.0.0.1", port, false), false, 64 * 1024, ct);
        return (connection, await listener.AcceptAsync(ct));
    }

    // poller: the shared poller as in production (true), none (false: the runtime's zero-byte receive, as pools use),
    // or the one given (to count its registrations).
    private static async Task<(ProxyConnection Connection, Socket Peer)> MinerPairAsync(CancellationToken ct, int buffers = 0, bool poller = true, SocketPoller? own = null)
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

        if (poller && own is null)
        {
            return (SocketTransport.WrapAccepted(accepted, 4096), peer);
        }

        var duplex = new TcpSocketDuplex(accepted, sendOptions: null, PipeOptionsFactory.MinerReceive(4096), poller: own);
        return (new ProxyConnection(duplex, accepted.RemoteEndPoint, accepted.LocalEndPoint, duplex), peer);
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
