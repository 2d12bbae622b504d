using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// The receive side of a plain TCP connection as a <see cref="PipeReader"/> with no pipe and no loop behind it: a read
/// that finds nothing new receives what the kernel holds and, when it holds nothing, waits: armed once in the miners'
/// <see cref="SocketPoller"/> (a slot there, nothing else), or without a poller with the runtime's zero-byte receive.
/// Bytes go into a buffer rented only while they are pending (a block of the miners' <see cref="BlockMemoryPool"/>
/// when the options name it, which allocates nothing when thousands of connections hold one at once; the shared array
/// pool otherwise and for longer lines) and returned once the reader has consumed them all. An idle connection
/// therefore holds its wait and this object, nothing else. Bytes are received only when the reader asks for more, so
/// what the reader has not asked for stays in the kernel (a reader that stops reading holds no more than it had), and
/// a receive hands its bytes to the waiting read on the same thread.
/// <see cref="StopAsync"/> ends the receive side for the upgrade handover without taking another byte from the peer
/// and returns what was received and not consumed.
/// </summary>
internal sealed class SocketReceiveReader : PipeReader, IValueTaskSource<ReadResult>, IThreadPoolWorkItem
{
    private const int MinimumBuffer = 4096;

    // _flags, under the monitor of this object.
    private const int ReadPending = 1;        // a ReadAsync waits for _read
    private const int ReceivePending = 2;     // a socket receive is in flight (owned by the receive path)
    private const int ReceivingData = 4;      // ... and it writes into _buffer[_end..] (not the zero-byte wait)
    private const int CancelRequested = 8;    // CancelPendingRead with no read waiting: the next read returns cancelled
    private const int PeerEnded = 16;         // FIN, reset or fault: no more receives
    private const int ReaderCompleted = 32;
    private const int Stopping = 64;          // StopAsync: no more receives, the bytes are being handed over
    private const int ResultOutstanding = 128; // the reader holds positions into _buffer: it must not move
    private const int Armed = 256;            // with the poller: the receive in flight is a one-shot wait armed there

    private readonly Socket _socket;
    private readonly SocketPoller? _poller;
    private readonly SafeSocketHandle _handle;
    private readonly BlockMemoryPool? _blocks;
    private readonly int _maxBuffered;
    private readonly Action? _onReceived;
    private long _registration;
    private ManualResetValueTaskSourceCore<ReadResult> _read;
    private ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter _receive;
    private CancellationTokenRegistration _readCancellation;
    private byte[]? _buffer;
    private IMemoryOwner<byte>? _block;
    private int _start;
    private int _end;
    private int _examined;
    private int _flags;
    private Exception? _fault;
    private IOException? _receiveError;
    private TaskCompletionSource? _stopped;

    /// <param name="socket">The connected socket; this reader is its only receiver.</param>
    /// <param name="options">Of a pipe's options, the pause threshold (at most that many unconsumed bytes are held: a
    /// reader that has examined them all and asks for more waits) and the pool, when it is a <see cref="BlockMemoryPool"/>.</param>
    /// <param name="unread">Bytes received from the peer earlier (by another process) that come first.</param>
    /// <param name="poller">Where the socket waits for its peer (it must be non-blocking then, see
    /// <see cref="SocketPoller.SetNonBlocking"/>); null: it waits with the runtime's zero-byte receive.</param>
    public SocketReceiveReader(Socket socket, PipeOptions options, ReadOnlySpan<byte> unread, SocketPoller? poller = null)
    {
        _socket = socket;
        _handle = socket.SafeHandle;
        _poller = poller;
        _blocks = options.Pool as BlockMemoryPool;
        _maxBuffered = (int)Math.Clamp(options.PauseWriterThreshold, MinimumBuffer, Array.MaxLength);
        if (poller is null)
        {
            _onReceived = OnReceived;
        }

        if (!unread.IsEmpty)
        {
            Rent(unread.Length);
            unread.CopyTo(_buffer);
            _end = unread.Length;
        }
    }

    /// <summary>The socket error that ended the stream (a reset), once it has; null for a clean end.</summary>
    public IOException? ReceiveError => Volatile.Read(ref _receiveError);

    /// <summary>True while a read waits on a receive that is taking bytes (or finding none) outside the monitor.</summary>
    internal bool ReceivingForARead => (Volatile.Read(ref _flags) & (ReadPending | ReceivePending | ReceivingData)) == (ReadPending | ReceivePending | ReceivingData);

    /// <summary>True while a buffer is rented (bytes pending or a receive writing into it); false for an idle reader.</summary>
    internal bool HoldsBuffer
    {
        get
        {
            lock (this)
            {
                return _buffer is not null;
            }
        }
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        bool receive;
        short token;
        lock (this)
        {
            if ((_flags & ReaderCompleted) != 0)
            {
                throw new InvalidOperationException("Reading is not allowed after the reader was completed.");
            }

            if ((_flags & ReadPending) != 0)
            {
                throw new InvalidOperationException("Concurrent reads are not supported.");
            }

            cancellationToken.ThrowIfCancellationRequested();
            _flags &= ~ResultOutstanding;
            if (TryTakeResult(out var ready))
            {
                return new ValueTask<ReadResult>(ready);
            }

            _read.Reset();
            _read.RunContinuationsAsynchronously = false;
            token = _read.Version;
            _flags |= ReadPending;
            if (cancellationToken.CanBeCanceled)
            {
                // Under the monitor, so every completion finds it (one cancelled meanwhile runs here, re-entering it).
                _readCancellation = cancellationToken.UnsafeRegister(static (state, ct) => ((SocketReceiveReader)state!).CancelRead(ct), this);
            }

            receive = (_flags & (ReadPending | ReceivePending | PeerEnded | Stopping)) == ReadPending && _end - _start < _maxBuffered;
            if (receive)
            {
                // With the poller, what the kernel already holds is received at once: a wait only when it holds nothing.
                _flags |= _poller is not null && MakeRoom() ? ReceivePending | ReceivingData : ReceivePending;
            }
        }

        if (receive)
        {
            Receive();
        }

        return new ValueTask<ReadResult>(this, token);
    }

    public override bool TryRead(out ReadResult result)
    {
        lock (this)
        {
            if ((_flags & (ReaderCompleted | ReadPending)) != 0)
            {
                throw new InvalidOperationException("TryRead is not allowed while a read is pending or after the reader was completed.");
            }

            _flags &= ~ResultOutstanding;
            return TryTakeResult(out result);
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        lock (this)
        {
            _flags &= ~ResultOutstanding;
            if (_buffer is null)
            {
                return;
            }

            if ((consumed.GetObject() is { } c && !ReferenceEquals(c, _buffer)) || (examined.GetObject() is { } e && !ReferenceEquals(e, _buffer)))
            {
                throw new InvalidOperationException("The positions do not belong to the last buffer read.");
            }

            var start = consumed.GetObject() is null ? _start : consumed.GetInteger();
            var seen = examined.GetObject() is null ? start : examined.GetInteger();
            if (start < _start || start > _end || seen < start || seen > _end)
            {
                throw new InvalidOperationException("The positions are outside the unconsumed bytes.");
            }

            _start = start;
            _examined = seen;
            ReleaseBufferIfIdle();
        }
    }

    public override void CancelPendingRead()
    {
        CancellationTokenRegistration registration;
        ReadResult result;
        lock (this)
        {
            if ((_flags & ReadPending) == 0)
            {
                _flags |= CancelRequested;
                return;
            }

            _flags = (_flags & ~ReadPending) | ResultOutstanding;
            registration = TakeRegistration();
            result = new ReadResult(Buffered(), isCanceled: true, isCompleted: false);
        }

        // From any thread: the reader's continuation never runs on the caller's stack.
        registration.Dispose();
        _read.RunContinuationsAsynchronously = true;
        _read.SetResult(result);
    }

    /// <summary>
    /// Nothing will read what an armed wait would announce: it ends here, and a read still waiting (completed under it
    /// as the connection is disposed) ends with the stream.
    /// </summary>
    public override void Complete(Exception? exception = null) => EndWait(ReaderCompleted);

    /// <summary>
    /// The first step of a handover, while the socket is still this process's: no receive starts from now on, and a
    /// wait armed in the poller is removed (a receive in flight ends in <see cref="StopAsync"/>).
    /// </summary>
    public void StopReceiving()
    {
        lock (this)
        {
            _flags |= Stopping;
            if ((_flags & Armed) != 0)
            {
                _flags &= ~(Armed | ReceivePending);
            }

            if ((_flags & ReceivePending) == 0)
            {
                Unregister();
            }
            else if (_registration != 0)
            {
                // A receive runs (and will not wait again): the socket leaves the epoll now, while its number still
                // names it, and the slot when that receive ends.
                _poller!.Remove(_handle, _registration);
            }
        }
    }

    /// <summary>
    /// Ends the receive side for a handover (the socket object already points at a dummy or is disposed): waits for a
    /// receive in flight to end (one already in the kernel keeps its bytes) and returns every byte received and not
    /// consumed. Precondition: no read is pending. Throws if the stream had failed (not a reset) before.
    /// </summary>
    public async ValueTask<byte[]> StopAsync()
    {
        StopReceiving();
        Task? wait = null;
        lock (this)
        {
            if ((_flags & ReceivePending) != 0)
            {
                _stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _stopped.Task;
            }
        }

        if (wait is not null)
        {
            await wait.ConfigureAwait(false);
        }

        lock (this)
        {
            var unread = _buffer is null ? [] : _buffer.AsSpan(_start, _end - _start).ToArray();
            _flags |= ReaderCompleted;
            ReleaseBufferIfIdle();
            return _fault is { } fault ? throw fault : unread;
        }
    }

    /// <summary>
    /// The socket was closed under this reader (its connection reset or disposed): a wait armed in the poller, which
    /// the closed socket will never wake, ends as the stream's end. The runtime's own receive ends by itself.
    /// </summary>
    public void SocketClosed() => EndWait(0);

    // From another thread (the input completed, the socket closed), with the flag that says so: an armed wait becomes
    // this thread's receive, which ends the stream (on the closed socket, or for the completed reader), and a read still
    // waiting resumes on the thread pool, never on this caller's stack. Without one, a receive in flight ends by itself
    // and nothing else holds the poller's slot.
    private void EndWait(int flag)
    {
        lock (this)
        {
            _flags |= flag;
            if ((_flags & Armed) == 0)
            {
                if ((_flags & ReceivePending) == 0)
                {
                    Unregister();
                }

                ReleaseBufferIfIdle();
                return;
            }

            _flags &= ~Armed;
            _read.RunContinuationsAsynchronously = true;
        }

        if (Received(0, null, wouldBlock: false))
        {
            Receive();
        }
    }

    /// <summary>The poller found the socket readable (or ended): the armed wait is over.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        lock (this)
        {
            if ((_flags & Armed) == 0)
            {
                // Ended meanwhile (completed, stopped, closed), or a wake for a slot this reader no longer holds.
                return;
            }

            _flags &= ~Armed;
        }

        if (Received(0, null, wouldBlock: false))
        {
            Receive();
        }
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    // Under the monitor. A result for the reader now, if there is one: a cancellation asked for, bytes it has not
    // examined, or the end of the stream.
    private bool TryTakeResult(out ReadResult result)
    {
        if ((_flags & CancelRequested) != 0)
        {
            _flags = (_flags & ~CancelRequested) | ResultOutstanding;
            result = new ReadResult(Buffered(), isCanceled: true, isCompleted: false);
            return true;
        }

        var ended = (_flags & PeerEnded) != 0;
        if (_end > _examined || ended)
        {
            if (ended && _fault is { } fault)
            {
                throw fault;
            }

            _flags |= ResultOutstanding;
            result = new ReadResult(Buffered(), isCanceled: false, isCompleted: ended);
            return true;
        }

        result = default;
        return false;
    }

    // Under the monitor: the waiting read's token registration, which its completer disposes outside the monitor.
    private CancellationTokenRegistration TakeRegistration()
    {
        var registration = _readCancellation;
        _readCancellation = default;
        return registration;
    }

    private ReadOnlySequence<byte> Buffered() =>
        _buffer is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_buffer, _start, _end - _start);

    // Under the monitor: the buffer goes back to the pool when nothing is in it, or the reader is done, and no receive
    // writes into it.
    private void ReleaseBufferIfIdle()
    {
        if (_buffer is not null && (_flags & ReceivingData) == 0 && (_start == _end || (_flags & ReaderCompleted) != 0))
        {
            ReturnBuffer();
            _start = _end = _examined = 0;
        }
    }

    // Under the monitor, or before the reader is shared.
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_buffer))]
    private void Rent(int length)
    {
        if (_blocks is not null && length <= BlockMemoryPool.BlockSize)
        {
            _block = _blocks.Rent(length);
            _buffer = System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(_block.Memory, out var segment) && segment.Offset == 0
                ? segment.Array!
                : throw new InvalidOperationException("A pool block is not a whole array.");
        }
        else
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(MinimumBuffer, length));
        }
    }

    private void ReturnBuffer()
    {
        if (_block is { } block)
        {
            _block = null;
            block.Dispose();
        }
        else if (_buffer is { } array)
        {
            ArrayPool<byte>.Shared.Return(array);
        }

        _buffer = null;
    }

    // Under the monitor: the poller forgets the socket (no receive is in flight and none will wait again).
    private void Unregister()
    {
        if (_registration != 0)
        {
            _poller!.Unregister(_handle, ref _registration);
        }
    }

    // Owns the receive in flight (ReceivePending set). With the poller: a receive of what the kernel holds and, when it
    // holds nothing, a one-shot wait in the poller. Without it: a zero-byte wait for the peer, then a receive of what
    // it sent.
    private void Receive()
    {
        while (true)
        {
            if (_poller is not null)
            {
                if ((Volatile.Read(ref _flags) & ReceivingData) == 0)
                {
                    if (!Arm(out var armError))
                    {
                        return;
                    }

                    if (!Received(0, armError, wouldBlock: false))
                    {
                        return;
                    }

                    continue;
                }

                int received;
                Exception? error = null;
                try
                {
                    received = SocketPoller.Receive(_handle, _buffer.AsSpan(_end));
                }
                catch (Exception ex)
                {
                    received = 0;
                    error = ex;
                }

                if (!Received(Math.Max(received, 0), error, wouldBlock: received < 0))
                {
                    return;
                }

                continue;
            }

            ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter awaiter;
#pragma warning disable CA2012 // Each receive's awaiter is consumed exactly once: GetResult in Received.
            try
            {
                var memory = (Volatile.Read(ref _flags) & ReceivingData) != 0 ? _buffer.AsMemory(_end) : Memory<byte>.Empty;
                awaiter = _socket.ReceiveAsync(memory, SocketFlags.None, CancellationToken.None).ConfigureAwait(false).GetAwaiter();
            }
            catch (Exception ex)
            {
                // Thrown before the receive started (the socket disposed, say).
                awaiter = ValueTask.FromException<int>(ex).ConfigureAwait(false).GetAwaiter();
            }
#pragma warning restore CA2012

            if (!awaiter.IsCompleted)
            {
                _receive = awaiter;
                awaiter.UnsafeOnCompleted(_onReceived!);
                return;
            }

            if (!Received(awaiter))
            {
                return;
            }
        }
    }

    // With the poller, the receive in flight waits: armed there (false), or it could not be (true, with the error, or
    // with none when the receive must end for another reason: see Received).
    private bool Arm(out Exception? error)
    {
        error = null;
        lock (this)
        {
            if ((_flags & (Stopping | ReaderCompleted)) != 0)
            {
                // Stopped or completed while this receive ran: it ends without waiting.
                return true;
            }

            try
            {
                _poller!.Arm(_handle, ref _registration, this);
                _flags |= Armed;
                return false;
            }
            catch (Exception ex)
            {
                error = ex;
                return true;
            }
        }
    }

    private void OnReceived()
    {
        var awaiter = _receive;
        _receive = default;
        if (Received(awaiter))
        {
            Receive();
        }
    }

    private bool Received(ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter awaiter)
    {
        try
        {
            return Received(awaiter.GetResult(), null, wouldBlock: false);
        }
        catch (Exception ex)
        {
            return Received(0, ex, wouldBlock: false);
        }
    }

    // A receive ended (or, with the poller, a wait). True: go on with the receive in flight (the receive of the bytes a
    // wait announced, or with the poller a wait again). wouldBlock: a poller receive found nothing in the kernel.
    private bool Received(int received, Exception? error, bool wouldBlock)
    {
        ReadResult result = default;
        Exception? readError = null;
        TaskCompletionSource? stopped = null;
        CancellationTokenRegistration registration = default;
        lock (this)
        {
            var data = (_flags & ReceivingData) != 0;
            if (data && error is null && received > 0)
            {
                _end += received;
            }

            if ((_flags & Stopping) != 0)
            {
                // Handing over: whatever was in flight has landed (or ended on the dummy without taking a byte).
                _flags &= ~(ReceivePending | ReceivingData);
                stopped = _stopped;
            }
            else if (wouldBlock && (_flags & ReaderCompleted) == 0)
            {
                // Nothing in the kernel yet: wait in the poller, holding no buffer meanwhile.
                _flags &= ~ReceivingData;
                ReleaseBufferIfIdle();
                return true;
            }
            else if (error is not null || (data && received == 0))
            {
                _flags = (_flags & ~(ReceivePending | ReceivingData)) | PeerEnded;
                switch (error)
                {
                    case null or ObjectDisposedException:
                        // A FIN, or disposed under a pending receive: a clean end.
                        break;
                    case SocketException se:
                        // A reset (or any error) after the peer's last bytes: the stream ends cleanly so the reader
                        // still gets what came before it (a pool's last answers), and the error is kept for the close
                        // reason. Failing the reads would drop those bytes.
                        Volatile.Write(ref _receiveError, new IOException(se.Message, se));
                        break;
                    default:
                        // Anything else the runtime throws (a failed epoll registration, say) ends the stream as an
                        // error, never as a clean end the session would take for the peer's FIN.
                        _fault = new IOException(error.Message, error);
                        break;
                }
            }
            else if ((_flags & ReaderCompleted) != 0)
            {
                // The reader is done (completed while this receive ran, or before the wait it announced ended), so
                // nothing will receive again and what came is not wanted: a read still waiting (the connection disposed
                // under it) ends with the stream instead of waiting for a receive no one will start.
                _flags = (_flags & ~(ReceivePending | ReceivingData)) | PeerEnded;
            }
            else if (!data)
            {
                // The peer sent something (or its FIN). Receive it into free space, unless the reader still holds
                // positions into the buffer (then the bytes wait in the kernel for its next read).
                if ((_flags & ResultOutstanding) != 0 || !MakeRoom())
                {
                    _flags &= ~ReceivePending;
                }
                else
                {
                    _flags |= ReceivingData;
                    return true;
                }
            }
            else
            {
                _flags &= ~(ReceivePending | ReceivingData);
            }

            if ((_flags & ReceivePending) == 0 && (_flags & (PeerEnded | ReaderCompleted | Stopping)) != 0)
            {
                // No receive is in flight and none will start again.
                Unregister();
            }

            ReleaseBufferIfIdle();
            if (stopped is null && (_flags & ReadPending) != 0 && (_flags & ReceivePending) == 0)
            {
                _flags &= ~ReadPending;
                registration = TakeRegistration();
                try
                {
                    if (!TryTakeResult(out result))
                    {
                        // Nothing new (the reader still held the buffer, or it is full): receive again.
                        _flags |= ReadPending;
                        _readCancellation = registration;
                        if ((_flags & (PeerEnded | Stopping | ReaderCompleted)) == 0 && _end - _start < _maxBuffered)
                        {
                            _flags |= ReceivePending;
                            return true;
                        }

                        return false;
                    }
                }
                catch (IOException ex)
                {
                    readError = ex;
                }
            }
            else if (stopped is null)
            {
                return false;
            }
        }

        if (stopped is not null)
        {
            stopped.TrySetResult();
            return false;
        }

        registration.Dispose();
        if (readError is not null)
        {
            _read.SetException(readError);
        }
        else
        {
            _read.SetResult(result);
        }

        return false;
    }

    // Under the monitor, no data receive in flight and no positions held by the reader: free space at the end of the
    // buffer, compacting or growing it; false when the unconsumed bytes already fill the limit.
    private bool MakeRoom()
    {
        if (_buffer is null)
        {
            Rent(MinimumBuffer);
            _start = _end = _examined = 0;
            return true;
        }

        if (_end < _buffer.Length)
        {
            return true;
        }

        var length = _end - _start;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, length).CopyTo(_buffer);
        }
        else
        {
            if (length >= _maxBuffered)
            {
                return false;
            }

            var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)_buffer.Length * 2, _maxBuffered));
            _buffer.AsSpan(0, length).CopyTo(larger);
            ReturnBuffer();
            _buffer = larger;
        }

        _examined -= _start;
        _start = 0;
        _end = length;
        return true;
    }

    private void CancelRead(CancellationToken cancellationToken)
    {
        lock (this)
        {
            if ((_flags & ReadPending) == 0)
            {
                return;
            }

            _flags &= ~ReadPending;
            _ = TakeRegistration();
        }

        _read.RunContinuationsAsynchronously = true;
        _read.SetException(new OperationCanceledException(cancellationToken));
    }
}
