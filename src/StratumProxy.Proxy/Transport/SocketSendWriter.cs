using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace StratumProxy.Proxy.Transport;

/// <summary>A writer that can send bytes many connections share (a job's notify line) from that memory itself.</summary>
internal interface ISharedBytesWriter
{
    /// <summary>
    /// Queues <paramref name="bytes"/> behind what was written before, to be sent by the next flush without a copy
    /// when nothing precedes them in this flush. The memory must not change until that flush completes.
    /// </summary>
    void WriteShared(ReadOnlyMemory<byte> bytes);
}

/// <summary>
/// A miner connection's output written straight to its socket, with no pipe and nothing held between flushes: formatted
/// messages go into a buffer rented from the shared array pool at the first write of a flush and returned when that
/// flush has sent it; shared bytes (<see cref="ISharedBytesWriter.WriteShared"/>) are sent from their own memory. A flush
/// completes when every byte written before it is in the kernel, in the order written. One writer at a time (the
/// session's write loop), as with a pipe; <see cref="CancelPendingFlush"/> from any thread; <see cref="Complete"/> from
/// the writer or once it has stopped writing: a flush still sending then finishes first and the FIN follows its last
/// byte. A detach holds the writer (<see cref="HoldAsync"/>): once no flush is sending none starts, and a flush asked
/// for meanwhile waits for the detach's outcome: sent if the connection stays (<see cref="Release"/>), dropped and
/// counted in <see cref="DroppedBytes"/> if it left (<see cref="Left"/>).
/// </summary>
internal sealed class SocketSendWriter : PipeWriter, ISharedBytesWriter
{
    private const int MinimumBufferSize = 4096;

    // _state: no flush sending, a flush sending, completed (no flush starts again). Changed by exchange, never by a
    // plain write, so Complete and the end of a flush cannot both miss that the other one ran.
    private const int Idle = 0;
    private const int SendingState = 1;
    private const int Done = 2;
    private const int Held = 3;

    private readonly TcpSocketDuplex _owner;
    private ReadOnlyMemory<byte> _shared;
    private byte[]? _buffer;
    private int _written;
    private int _bufferSent;
    private int _state;
    private int _cancelRequested;
    private int _completed;
    private bool _failed;

    // A detach in progress: it wants the writer (_holdWanted), learns when it has it (_held), and tells the flushes
    // that wait meanwhile whether the connection stayed (_released: true) or left (false).
    private int _holdWanted;
    private TaskCompletionSource? _held;
    private TaskCompletionSource<bool>? _released;
    private long _dropped;

    public SocketSendWriter(TcpSocketDuplex owner) => _owner = owner;

    /// <summary>True while a flush is sending.</summary>
    public bool Sending => Volatile.Read(ref _state) == SendingState;

    /// <summary>True once a send failed (the peer is gone): later flushes report the writer completed.</summary>
    public bool Failed => Volatile.Read(ref _failed);

    /// <summary>Bytes written for flushes that waited for a detach and were dropped because the connection left.</summary>
    public long DroppedBytes => Interlocked.Read(ref _dropped);

    /// <summary>True while the writer holds a rented buffer (between the first write of a flush and its end).</summary>
    internal bool HoldsBuffer => Volatile.Read(ref _buffer) is not null;

    /// <inheritdoc/>
    public override bool CanGetUnflushedBytes => true;

    /// <inheritdoc/>
    public override long UnflushedBytes => _shared.Length + _written - _bufferSent;

    /// <inheritdoc/>
    public void WriteShared(ReadOnlyMemory<byte> bytes)
    {
        if (_shared.IsEmpty && _written == 0)
        {
            _shared = bytes;
            return;
        }

        // Behind something else in the same flush (a difficulty before a job): one copy into the flush's buffer
        // costs less than a send of its own.
        this.Write(bytes.Span);
    }

    /// <inheritdoc/>
    public override void Advance(int bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        if (bytes < 0 || _buffer is null || _written + bytes > _buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes));
        }

        _written += bytes;
    }

    /// <inheritdoc/>
    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <inheritdoc/>
    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <inheritdoc/>
    public override void CancelPendingFlush()
    {
        Interlocked.Exchange(ref _cancelRequested, 1);
        if (Sending)
        {
            // A send waiting for a peer that does not read cannot be cancelled on its own, and the kernel may hold part
            // of a line: a FIN after it would hand the miner a cut line as if it were the last one. The connection is
            // reset instead (it is being dropped: the session stops writing only when it closes).
            _owner.AbortSend();
        }
    }

    /// <inheritdoc/>
    public override void Complete(Exception? exception = null)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        // A flush still sending keeps its buffer and its bytes until its last byte is in the kernel; it ends the
        // writer then (Finish). Otherwise nothing is sending and none will start.
        if (Interlocked.CompareExchange(ref _state, Done, Idle) == Idle)
        {
            End();
        }
    }

    /// <inheritdoc/>
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        var state = Interlocked.CompareExchange(ref _state, SendingState, Idle);
        if (state == Held)
        {
            // A detach holds the writer: this flush waits to learn whether the connection stays.
            return FlushAfterHoldAsync(cancellationToken);
        }

        if (state != Idle)
        {
            // Completed: nothing is sent any more (a flush is never started while another one sends).
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
        }

        if (Interlocked.Exchange(ref _cancelRequested, 0) != 0 || _failed)
        {
            // Stopped (or dead): what was written is dropped.
            return new ValueTask<FlushResult>(Finish(null, isCanceled: !_failed, failed: _failed));
        }

        SocketSendArgs? args = null;
        try
        {
            while (true)
            {
                var chunk = NextChunk();
                if (chunk.IsEmpty)
                {
                    return new ValueTask<FlushResult>(Finish(args, isCanceled: false, failed: false));
                }

                if (_owner.DirectHandle is { } handle && SocketPoller.Send(handle, chunk.Span) is > 0 and var taken)
                {
                    Consumed(taken);
                    continue;
                }

                args ??= SocketSendArgs.Rent();
                var sent = args.SendAsync(_owner.Socket, chunk);
                if (!sent.IsCompletedSuccessfully)
                {
                    return SendRestAsync(args, sent);
                }

                Consumed(sent.Result);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return new ValueTask<FlushResult>(Finish(args, isCanceled: false, failed: true));
        }
    }

    /// <summary>
    /// Takes the writer for a detach: the task completes once no flush is sending and none will start (flushes asked
    /// for from now on wait); it fails when the send side has ended (a failed send: nothing to hand over). Then either
    /// <see cref="Release"/> or <see cref="Left"/>.
    /// </summary>
    internal Task HoldAsync()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Failed)
        {
            held.TrySetException(new IOException("The connection's send side has ended; there is nothing to hand over."));
            return held.Task;
        }

        // The outcome before the wish: a flush that finds the writer held finds the outcome it waits for.
        Volatile.Write(ref _released, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        Volatile.Write(ref _held, held);
        Interlocked.Exchange(ref _holdWanted, 1);
        TakeHoldIfIdle();
        return held.Task;
    }

    /// <summary>The detach did not happen: the writer is the session's again, and flushes that waited send.</summary>
    internal void Release()
    {
        Interlocked.Exchange(ref _holdWanted, 0);
        Interlocked.CompareExchange(ref _state, Idle, Held);
        if (Volatile.Read(ref _completed) != 0 && Interlocked.CompareExchange(ref _state, Done, Idle) == Idle)
        {
            // Completed while held: the FIN the completion owed follows now.
            End();
        }

        Volatile.Read(ref _released)?.TrySetResult(true);
    }

    /// <summary>The connection left this process: the writer stays held, and flushes that waited drop their bytes.</summary>
    internal void Left() => Volatile.Read(ref _released)?.TrySetResult(false);

    private void TakeHoldIfIdle()
    {
        if (Volatile.Read(ref _holdWanted) == 0)
        {
            return;
        }

        var state = Interlocked.CompareExchange(ref _state, Held, Idle);
        if (state is Idle or Held or Done)
        {
            // Done: completed, no flush starts again either.
            Volatile.Read(ref _held)?.TrySetResult();
        }
    }

    private async ValueTask<FlushResult> FlushAfterHoldAsync(CancellationToken cancellationToken)
    {
        var released = Volatile.Read(ref _released)!;
        if (await released.Task.WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            return await FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        // The connection went to another process before these bytes could be sent here, and sending them now would
        // put them behind what the new owner writes: they are dropped, and counted.
        Interlocked.Add(ref _dropped, UnflushedBytes);
        _shared = default;
        ReturnBuffer();
        return new FlushResult(isCanceled: false, isCompleted: true);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> SendRestAsync(SocketSendArgs args, ValueTask<int> pending)
    {
        try
        {
            while (true)
            {
                Consumed(await pending.ConfigureAwait(false));
                var chunk = NextChunk();
                if (chunk.IsEmpty)
                {
                    return Finish(args, isCanceled: false, failed: false);
                }

                pending = args.SendAsync(_owner.Socket, chunk);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return Finish(args, isCanceled: Volatile.Read(ref _cancelRequested) != 0, failed: true);
        }
    }

    private ReadOnlyMemory<byte> NextChunk() =>
        !_shared.IsEmpty ? _shared : _buffer is null ? default : _buffer.AsMemory(_bufferSent, _written - _bufferSent);

    private void Consumed(int sent)
    {
        if (!_shared.IsEmpty)
        {
            _shared = _shared[sent..];
        }
        else
        {
            _bufferSent += sent;
        }
    }

    private FlushResult Finish(SocketSendArgs? args, bool isCanceled, bool failed)
    {
        args?.Return();
        _shared = default;
        ReturnBuffer();
        if (failed)
        {
            Volatile.Write(ref _failed, true);

            // A detach waiting for this flush learns that there is nothing to hand over.
            Volatile.Read(ref _held)?.TrySetException(new IOException("The connection's send side ended before it drained."));
        }

        if (isCanceled)
        {
            Interlocked.Exchange(ref _cancelRequested, 0);
        }

        // An exchange, then the detach's wish: with the detach's own exchange of its wish before it looks at the
        // state, one of the two always sees the other.
        Interlocked.Exchange(ref _state, Idle);
        TakeHoldIfIdle();
        var completed = Volatile.Read(ref _completed) != 0;
        if (completed && Interlocked.CompareExchange(ref _state, Done, Idle) == Idle)
        {
            // Completed while this flush was sending: every byte it took is in the kernel, so the FIN follows now.
            End();
        }

        return new FlushResult(isCanceled, failed || completed);
    }

    private void End()
    {
        ReturnBuffer();
        _shared = default;

        // The session finished writing and every flush it awaited is in the kernel: a FIN follows.
        if (!Failed)
        {
            _owner.ShutdownSend();
        }
    }

    private void Reserve(int sizeHint)
    {
        var need = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(need, MinimumBufferSize));
            return;
        }

        if (_buffer.Length - _written >= need)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + need));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    private void ReturnBuffer()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _written = 0;
        _bufferSent = 0;
    }
}

/// <summary>
/// The socket operation of one send, shared by all miner connections: taken for a flush and given back when it ends,
/// with its buffer cleared, so an idle connection references neither an operation nor the bytes it last sent. Each
/// thread keeps one idle operation of its own; the rest wait in a pool under a lock.
/// </summary>
internal sealed class SocketSendArgs : SocketAsyncEventArgs, IValueTaskSource<int>
{
    // Idle operations kept at most: flushes end in microseconds, so only the threads sending at once hold one;
    // beyond this a burst of sends to miners that do not read leaves the extra ones to the GC.
    private const int MaxIdle = 256;

    private static readonly Lock s_lock = new();
    private static readonly SocketSendArgs?[] s_idle = new SocketSendArgs?[MaxIdle];
    private static int s_count;

    // One idle operation per thread, taken and given back without the lock: a job's fan-out sends thousands of lines
    // from each of its threads in a row, and nearly every send completes at once on the thread that started it.
    [ThreadStatic]
    private static SocketSendArgs? t_idle;

    private ManualResetValueTaskSourceCore<int> _core;

    private SocketSendArgs()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    public static SocketSendArgs Rent()
    {
        if (t_idle is { } mine)
        {
            t_idle = null;
            return mine;
        }

        lock (s_lock)
        {
            if (s_count > 0)
            {
                var args = s_idle[--s_count]!;
                s_idle[s_count] = null;
                return args;
            }
        }

        return new SocketSendArgs();
    }

    public void Return()
    {
        SetBuffer(Memory<byte>.Empty);
        if (t_idle is null)
        {
            t_idle = this;
            return;
        }

        lock (s_lock)
        {
            if (s_count < MaxIdle)
            {
                s_idle[s_count++] = this;
            }
        }
    }

    /// <summary>Sends (some of) <paramref name="buffer"/>: the bytes the kernel took.</summary>
    public ValueTask<int> SendAsync(Socket socket, ReadOnlyMemory<byte> buffer)
    {
        _core.Reset();
        SetBuffer(MemoryMarshal.AsMemory(buffer));
        if (socket.SendAsync(this))
        {
            return new ValueTask<int>(this, _core.Version);
        }

        return SocketError == SocketError.Success
            ? new ValueTask<int>(BytesTransferred)
            : ValueTask.FromException<int>(new SocketException((int)SocketError));
    }

    int IValueTaskSource<int>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    /// <inheritdoc/>
    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        if (SocketError == SocketError.Success)
        {
            _core.SetResult(BytesTransferred);
        }
        else
        {
            _core.SetException(new SocketException((int)SocketError));
        }
    }
}
