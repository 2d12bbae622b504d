using System.IO.Pipelines;
using System.Net.Sockets;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// A plain TCP socket as a duplex pipe: an input that receives only when its reader asks for more, waiting in the
/// miners' <see cref="SocketPoller"/> (or, without one, with the runtime's zero-byte receive) and holding a buffer only
/// while bytes are pending (<see cref="SocketReceiveReader"/>: no pipe and no loop, so an idle connection's receive
/// side is its wait and one object) and either one send
/// loop draining an output pipe or,
/// for miners (no send options), an output written straight to the socket (<see cref="SocketSendWriter"/>: no pipe, no
/// loop, and nothing held between flushes, so a job's shared notify bytes go to thousands of sockets uncopied). Unlike
/// Pipelines.Sockets.Unofficial's loops, both can be stopped without touching the connection, which is what the
/// upgrade handover needs (<see cref="DetachAsync"/>): a pending receive ends without consuming a byte, the send side
/// reports when everything written has been handed to the kernel.
/// </summary>
internal sealed class TcpSocketDuplex : IDuplexPipe, IAsyncDisposable
{
    private const int Running = 0;
    private const int Detaching = 1;
    private const int Detached = 2;
    private const int Disposed = 3;

    private readonly Socket _socket;
    private readonly SocketReceiveReader _input;
    private readonly Pipe? _output;
    private readonly SocketSendWriter? _sender;
    private readonly Task? _sending;
    private TaskCompletionSource? _drainRequest;
    private int _state;

    /// <summary>
    /// Wraps the socket. <paramref name="sendOptions"/> null: <see cref="Output"/> writes straight to the socket (each
    /// flush completes once its bytes are in the kernel) instead of through a pipe and a send loop. Of
    /// <paramref name="receiveOptions"/> the input keeps the pause threshold (at most that many unconsumed bytes are
    /// held) and the block pool.
    /// <paramref name="unreadInput"/> (bytes an earlier owner received) is read first.
    /// </summary>
    /// <param name="socket">The connected socket.</param>
    /// <param name="sendOptions">The send pipe's options; null for the direct output.</param>
    /// <param name="receiveOptions">The input's pause threshold and block pool.</param>
    /// <param name="unreadInput">Bytes an earlier owner received, read first.</param>
    /// <param name="poller">Where the socket waits for its peer, when given: the socket is made non-blocking and is
    /// received from and sent to with plain calls, the runtime's asynchronous operations only for a send the kernel
    /// cannot take at once.</param>
    public TcpSocketDuplex(Socket socket, PipeOptions? sendOptions, PipeOptions receiveOptions, ReadOnlyMemory<byte> unreadInput = default, SocketPoller? poller = null)
    {
        _socket = socket;
        if (poller is not null)
        {
            SocketPoller.SetNonBlocking(socket.SafeHandle);
            DirectHandle = socket.SafeHandle;
        }

        _input = new SocketReceiveReader(socket, receiveOptions, unreadInput.Span, poller);
        if (sendOptions is null)
        {
            _sender = new SocketSendWriter(this);
        }
        else
        {
            _output = new Pipe(sendOptions);
            _sending = SendLoopAsync(_output.Reader);
        }
    }

    public PipeReader Input => _input;

    public PipeWriter Output => _sender ?? _output!.Writer;

    public Socket Socket => _socket;

    /// <summary>The socket's handle when it is non-blocking (with a poller): sends try a plain send first.</summary>
    public SafeSocketHandle? DirectHandle { get; }

    /// <summary>The socket error that ended the receive side (a reset), once it has; null for a clean end.</summary>
    public IOException? ReceiveError => _input.ReceiveError;

    /// <summary>
    /// Takes the connection away from this process (see <see cref="ProxyConnection.DetachAsync"/>). Cancelling
    /// <paramref name="cancellationToken"/> while the send side drains leaves the connection as it was.
    /// </summary>
    public async ValueTask<DetachedSocket> DetachAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Detaching, Running) != Running)
        {
            throw new InvalidOperationException("The connection is already detached or disposed.");
        }

        int duplicate;
        int dummy;
        try
        {
            // 1. Everything the session wrote reaches the kernel (its send buffer belongs to the socket and survives).
            if (_sender is not null)
            {
                // Written straight to the socket: drained when no flush is sending, and none starts from then on (a
                // flush asked for meanwhile, say an answer to a verdict that came after the export, waits for the
                // outcome: sent if the connection stays, dropped and counted if it leaves).
                await _sender.HoldAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Interlocked.Exchange(ref _drainRequest, drained);
                _output!.Reader.CancelPendingRead();
                if (_sending!.IsCompleted)
                {
                    drained.TrySetException(new IOException("The connection's send side has ended; there is nothing to hand over."));
                }

                await drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            // 2. The descriptors the rest needs, before anything irreversible: running out of them fails here.
            duplicate = DuplicateSocket();
            try
            {
                dummy = LinuxDescriptors.CreateClosedDummy();
            }
            catch
            {
                _ = LinuxDescriptors.Close(duplicate);
                throw;
            }
        }
        catch
        {
            Volatile.Write(ref _drainRequest, null);
            _sender?.Release();
            if (Interlocked.CompareExchange(ref _state, Running, Detaching) == Disposed)
            {
                // Disposed while the detach waited: the dispose left the socket to us.
                CloseSocket();
            }

            throw;
        }

        // 3. No more reads from the peer here. This process's socket object now holds a dummy: its dispose (close,
        // linger, shutdown, disconnect) and any late I/O never reach the peer, and a pending receive ends on the dummy
        // or on the dispose without taking a byte; a receive already in the kernel finishes on the real socket and its
        // bytes are handed over with the rest. Epoll keeps the old registration of the real socket under the old
        // number until the last copy of it closes; events from it wake a context that is gone (or, once the number is
        // reused, a socket whose next read or write just finds nothing to do). The number is retired for this file: a
        // socket object adopting it again in this process must not get the same number (LinuxDescriptors.AvoidRetired).
        _input.StopReceiving();
        var added = false;
        _socket.SafeHandle.DangerousAddRef(ref added);
        try
        {
            var fd = (int)_socket.SafeHandle.DangerousGetHandle().ToInt64();
            LinuxDescriptors.Retire(fd);
            LinuxDescriptors.ReplaceWithDummy(fd, dummy);
        }
        finally
        {
            _socket.SafeHandle.DangerousRelease();
        }

        _socket.Dispose();
        _sender?.Left();

        // 4. The receive side ends; what the peer sent that the session has not consumed goes with the socket (what
        // the session never asked for is still in the kernel, in the socket's own buffer).
        var handle = new DescriptorHandle(duplicate);
        byte[] unread;
        try
        {
            unread = await _input.StopAsync().ConfigureAwait(false);
        }
        catch
        {
            // The receive side had already failed: the connection is not worth handing over.
            handle.Dispose();
            throw;
        }
        finally
        {
            _ = Interlocked.CompareExchange(ref _state, Detached, Detaching);
        }

        return new DetachedSocket(handle, unread);
    }

    public ValueTask DisposeAsync()
    {
        // A detach in progress owns the socket until it ends (it closes it, on success as a dummy).
        if (Interlocked.Exchange(ref _state, Disposed) == Running)
        {
            CloseSocket();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Sends a FIN after what is in the kernel (the direct output completed or stopped); never once the
    /// connection is leaving this process.</summary>
    internal void ShutdownSend()
    {
        if (Volatile.Read(ref _state) != Running)
        {
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Resets the connection (linger 0, close): a send that waits for a peer that does not read ends, and what the
    /// kernel holds of it is discarded rather than followed by a FIN. Never once the connection is leaving this process.
    /// </summary>
    internal void AbortSend()
    {
        if (Volatile.Read(ref _state) != Running)
        {
            return;
        }

        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
        _input.SocketClosed();
    }

    private void CloseSocket()
    {
        // As Pipelines.Sockets.Unofficial did: shut both directions (a FIN, and pending receives end), then close.
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
        _input.SocketClosed();
    }

    private int DuplicateSocket()
    {
        var added = false;
        _socket.SafeHandle.DangerousAddRef(ref added);
        try
        {
            return LinuxDescriptors.DuplicateCloseOnExec((int)_socket.SafeHandle.DangerousGetHandle().ToInt64());
        }
        finally
        {
            _socket.SafeHandle.DangerousRelease();
        }
    }

    private async Task SendLoopAsync(PipeReader reader)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    foreach (var segment in buffer)
                    {
                        var remaining = segment;
                        while (!remaining.IsEmpty)
                        {
                            var sent = await _socket.SendAsync(remaining, SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
                            remaining = remaining[sent..];
                        }
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }

                if (result.IsCanceled)
                {
                    // A detach asked: everything written so far is in the kernel once a read finds nothing more.
                    if (buffer.IsEmpty)
                    {
                        Volatile.Read(ref _drainRequest)?.TrySetResult();
                    }
                    else
                    {
                        reader.CancelPendingRead();
                    }

                    continue;
                }

                if (result.IsCompleted)
                {
                    // The session finished writing and all of it is in the kernel: a FIN follows it (a graceful
                    // close; the session may still read what the peer sends until it closes too). Never once the
                    // connection has left this process.
                    if (Volatile.Read(ref _state) == Running)
                    {
                        _socket.Shutdown(SocketShutdown.Send);
                    }

                    return;
                }
            }
        }
        catch (SocketException ex)
        {
            error = new IOException(ex.Message, ex);
        }
        catch (ObjectDisposedException)
        {
        }
        catch (Exception ex)
        {
            error = new IOException(ex.Message, ex);
        }
        finally
        {
            // The session learns of a dead send side at its next flush (reader completed); its writer stays its own.
            await reader.CompleteAsync(error).ConfigureAwait(false);
            Volatile.Read(ref _drainRequest)?.TrySetException(new IOException("The connection's send side ended before it drained.", error));
        }
    }
}
