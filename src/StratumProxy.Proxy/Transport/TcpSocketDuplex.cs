using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// A plain TCP socket as a duplex pipe (the shape of Kestrel's socket connection): one receive loop that waits for data
/// with a zero-byte receive (an idle connection holds no buffer) and either one send loop draining an output pipe or,
/// for miners (no send options), an output written straight to the socket (<see cref="SocketSendWriter"/>: no pipe, no
/// loop, and nothing held between flushes, so a job's shared notify bytes go to thousands of sockets uncopied). Unlike
/// Pipelines.Sockets.Unofficial's loops, both can be stopped without touching the connection, which is what the
/// upgrade handover needs (<see cref="DetachAsync"/>): a pending receive is cancelled without consuming a byte, the
/// send loop reports when everything written has been handed to the kernel.
/// </summary>
internal sealed class TcpSocketDuplex : IDuplexPipe, IAsyncDisposable
{
    private const int Running = 0;
    private const int Detaching = 1;
    private const int Detached = 2;
    private const int Disposed = 3;

    private readonly Socket _socket;
    private readonly Pipe _input;
    private readonly Pipe? _output;
    private readonly SocketSendWriter? _sender;
    private readonly Task _receiving;
    private readonly Task? _sending;
    private TaskCompletionSource? _drainRequest;
    private IOException? _receiveError;
    private int _state;

    // Set by a detach before it points the socket object at the dummy: the receive loop then ends without touching the
    // input pipe. A flag, not a token source: an idle connection's pending receive holds no token registration.
    private int _stopReceiving;

    /// <summary>
    /// Starts the loops. <paramref name="sendOptions"/> null: <see cref="Output"/> writes straight to the socket (each
    /// flush completes once its bytes are in the kernel) instead of through a pipe and a send loop.
    /// </summary>
    public TcpSocketDuplex(Socket socket, PipeOptions? sendOptions, PipeOptions receiveOptions, ReadOnlyMemory<byte> unreadInput = default)
    {
        _socket = socket;
        _input = new Pipe(receiveOptions);
        _receiving = ReceiveLoopAsync(unreadInput);
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

    public PipeReader Input => _input.Reader;

    public PipeWriter Output => _sender ?? _output!.Writer;

    public Socket Socket => _socket;

    /// <summary>The socket error that ended the receive side (a reset), once it has; null for a clean end.</summary>
    public IOException? ReceiveError => Volatile.Read(ref _receiveError);

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
            var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // An exchange, not a plain write: with the flush's own exchange of its state before it reads this request,
            // one of the two always sees the other (a plain store may pass a later load, and both would miss).
            Interlocked.Exchange(ref _drainRequest, drained);
            if (_sender is not null)
            {
                // Written straight to the socket: drained when no flush is sending (the last one to end says so).
                if (_sender.Failed)
                {
                    drained.TrySetException(new IOException("The connection's send side has ended; there is nothing to hand over."));
                }
                else if (!_sender.Sending)
                {
                    drained.TrySetResult();
                }
            }
            else
            {
                _output!.Reader.CancelPendingRead();
                if (_sending!.IsCompleted)
                {
                    drained.TrySetException(new IOException("The connection's send side has ended; there is nothing to hand over."));
                }
            }

            await drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);

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
        // bytes go into the pipe before the loop ends. Epoll keeps the old registration of the real socket under the
        // old number until the last copy of it closes; events from it wake a context that is gone (or, once the number
        // is reused, a socket whose next read or write just finds nothing to do). The number is retired for this file:
        // a socket object adopting it again in this process must not get the same number (LinuxDescriptors.AvoidRetired).
        Volatile.Write(ref _stopReceiving, 1);
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

        // 4. The receive loop ends (a flush waiting for the session to read is cancelled).
        _input.Writer.CancelPendingFlush();
        await _receiving.ConfigureAwait(false);

        // 5. What the peer sent that the session has not consumed.
        var handle = new DescriptorHandle(duplicate);
        byte[] unread = [];
        try
        {
            if (_input.Reader.TryRead(out var result))
            {
                unread = result.Buffer.ToArray();
                _input.Reader.AdvanceTo(result.Buffer.End);
            }
        }
        catch
        {
            // The receive side had already failed (reset by the peer): the connection is not worth handing over.
            handle.Dispose();
            throw;
        }
        finally
        {
            await _input.Writer.CompleteAsync().ConfigureAwait(false);
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

    /// <summary>A flush of the direct output ended (every byte it took is in the kernel, unless it failed).</summary>
    internal void SendsIdle(bool failed)
    {
        if (Volatile.Read(ref _drainRequest) is { } drained)
        {
            if (failed)
            {
                drained.TrySetException(new IOException("The connection's send side ended before it drained."));
            }
            else
            {
                drained.TrySetResult();
            }
        }
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

    private async Task ReceiveLoopAsync(ReadOnlyMemory<byte> unreadInput)
    {
        var writer = _input.Writer;
        Exception? error = null;
        try
        {
            if (!unreadInput.IsEmpty)
            {
                var flushed = await writer.WriteAsync(unreadInput, CancellationToken.None).ConfigureAwait(false);
                if (flushed.IsCompleted)
                {
                    return;
                }
            }

            while (true)
            {
                await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
                var memory = writer.GetMemory();
                var received = await _socket.ReceiveAsync(memory, SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
                if (received == 0)
                {
                    return;
                }

                writer.Advance(received);
                var result = await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (Volatile.Read(ref _stopReceiving) != 0 && ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Detaching: stopped on the dummy or by the dispose, without taking a byte from the peer.
        }
        catch (SocketException ex)
        {
            // A reset (or any error) after the peer sent its last bytes: the pipe ends cleanly so the session still
            // reads what was received before it (a pool's last answers to shares it accepted), and the error is kept
            // for the close reason. Completing the pipe with the error would make the next read throw and drop them.
            Volatile.Write(ref _receiveError, new IOException(ex.Message, ex));
        }
        catch (ObjectDisposedException)
        {
            // Disposed while a receive was pending: the session is already gone.
        }
        catch (Exception ex)
        {
            // Anything else the runtime throws (a failed epoll registration, say) ends the stream as an error, never
            // as a clean end the session would take for the peer's FIN.
            error = new IOException(ex.Message, ex);
        }
        finally
        {
            if (Volatile.Read(ref _stopReceiving) == 0)
            {
                await writer.CompleteAsync(error).ConfigureAwait(false);
            }
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
