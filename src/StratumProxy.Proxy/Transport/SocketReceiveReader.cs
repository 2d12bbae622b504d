using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// The receive side of a plain TCP connection as a <see cref="PipeReader"/> with no pipe and no loop behind it: a read
/// that finds nothing new waits on the socket with a zero-byte receive, then receives into a buffer rented only while
/// bytes are pending (a block of the miners' <see cref="BlockMemoryPool"/> when the options name it, which allocates
/// nothing when thousands of connections hold one at once; the shared array pool otherwise and for longer lines) and
/// returned once the reader has consumed them all. An idle
/// connection therefore holds its socket's pending receive and this object, nothing else. Bytes are received only when
/// the reader asks for more, so what the reader has not asked for stays in the kernel (a reader that stops reading
/// holds no more than it had), and a receive completion hands its bytes to the waiting read on the same thread.
/// <see cref="StopAsync"/> ends the receive side for the upgrade handover without taking another byte from the peer
/// and returns what was received and not consumed.
/// </summary>
internal sealed class SocketReceiveReader : PipeReader, IValueTaskSource<ReadResult>
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

    private readonly Socket _socket;
    private readonly BlockMemoryPool? _blocks;
    private readonly int _maxBuffered;
    private readonly Action _onReceived;
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
    public SocketReceiveReader(Socket socket, PipeOptions options, ReadOnlySpan<byte> unread)
    {
        _socket = socket;
        _blocks = options.Pool as BlockMemoryPool;
        _maxBuffered = (int)Math.Clamp(options.PauseWriterThreshold, MinimumBuffer, Array.MaxLength);
        _onReceived = OnReceived;
        if (!unread.IsEmpty)
        {
            Rent(unread.Length);
            unread.CopyTo(_buffer);
            _end = unread.Length;
        }
    }

    /// <summary>The socket error that ended the stream (a reset), once it has; null for a clean end.</summary>
    public IOException? ReceiveError => Volatile.Read(ref _receiveError);

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
                _flags |= ReceivePending;
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

    public override void Complete(Exception? exception = null)
    {
        lock (this)
        {
            _flags |= ReaderCompleted;
            ReleaseBufferIfIdle();
        }
    }

    /// <summary>
    /// Ends the receive side for a handover (the socket object already points at a dummy or is disposed): waits for a
    /// receive in flight to end (one already in the kernel keeps its bytes) and returns every byte received and not
    /// consumed. Precondition: no read is pending. Throws if the stream had failed (not a reset) before.
    /// </summary>
    public async ValueTask<byte[]> StopAsync()
    {
        Task? wait = null;
        lock (this)
        {
            _flags |= Stopping;
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

    // Owns the receive in flight (ReceivePending set): a zero-byte wait for the peer, then a receive of what it sent.
    private void Receive()
    {
        while (true)
        {
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
                awaiter.UnsafeOnCompleted(_onReceived);
                return;
            }

            if (!Received(awaiter))
            {
                return;
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

    // A receive ended. True: go on with the receive of the bytes the zero-byte wait announced.
    private bool Received(ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter awaiter)
    {
        int received;
        Exception? error = null;
        try
        {
            received = awaiter.GetResult();
        }
        catch (Exception ex)
        {
            received = 0;
            error = ex;
        }

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
            else if (!data && (_flags & ReaderCompleted) != 0)
            {
                // The reader is done, so nothing will receive again: a read still waiting (the connection disposed
                // under it) ends with the stream instead of waiting for a receive no one will start.
                _flags = (_flags & ~ReceivePending) | PeerEnded;
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
