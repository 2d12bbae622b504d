using System.Buffers;
using System.IO.Pipelines;
using StratumProxy.Proxy.Transport;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Sessions;

public sealed partial class MinerSession
{
    // One formatter per thread, not per session (its JSON writer and hex buffer are ~1.3 KiB): a message is formatted
    // in one synchronous call, so a writer is never shared between two sessions at once.
    [ThreadStatic]
    private static StratumWriter? t_writer;

    /// <summary>
    /// Queues a message for the miner. A miner that does not read (its queue is full) is dropped and counted: it
    /// would otherwise hold memory for jobs it will never use (slow-consumer policy: disconnect).
    /// </summary>
    private void Enqueue(in MinerOutbound message)
    {
        if (_outbound.TryWrite(message) || _closing != 0)
        {
            return;
        }

        _context.Metrics.SlowConsumers.Inc();
        Close($"slow consumer: more than {OutboundCapacity} messages waiting");
    }

    private int _stopWriting;
    private int _stopped;
    private bool _outboundShrunk;

    // The write side's end, completed once (EndWriting) and created by whichever of EndWriting and WriterEnded comes
    // first: a session pays for it only as it ends.
    private TaskCompletionSource? _writeEnded;

    /// <summary>Slots in the session's outbound ring now (tests: the handshake's ring is not kept).</summary>
    internal int OutboundSlots => _outbound.RingLength;

    /// <summary>
    /// The outbound queue schedules the writer on the thread pool when a message arrives while it is parked. Only the
    /// session's own queue may run it: a second writer would break the queue's single reader.
    /// </summary>
    void IThreadPoolWorkItem.Execute() => _ = WriteQueuedAsync();

    /// <summary>
    /// Writes what is queued and flushes it, then parks until the queue schedules it again: an idle session keeps no
    /// loop waiting. The write side ends for good (<see cref="WriterEnded"/>) once the queue is completed and
    /// drained (after the read loop ended, everything queued is still written), <see cref="StopWriting"/> is called,
    /// or the output is done. Only a flush that does not complete at once (the miner's socket is full) allocates.
    /// </summary>
    private async Task WriteQueuedAsync()
    {
        try
        {
            var output = _connection.Transport.Output;
            while (true)
            {
                var (marker, wrote) = (false, false);
                while (Volatile.Read(ref _stopWriting) == 0 && _outbound.TryRead(out var message))
                {
                    if (message.Type == MinerOutbound.Kind.Marker)
                    {
                        marker = true;
                        continue;
                    }

                    Format(output, message);
                    wrote = true;
                }

                if (Volatile.Read(ref _stopWriting) != 0)
                {
                    EndWriting(null);
                    return;
                }

                // Woken only by the queue's completion: nothing to flush (a flush could wait on a connection being
                // detached for a handover).
                var flush = wrote || marker ? await output.FlushAsync().ConfigureAwait(false) : default;

                // The handshake's answers are in the queue's first ring, rented from the shared pool (16 slots of 120
                // bytes); once the miner is authorized and they are written, the ring goes back to the pool and one slot
                // is kept (it grows again only if answers pile up), once per session.
                if (!_outboundShrunk && IsAuthorized)
                {
                    _outboundShrunk = _outbound.TryShrink();
                }

                if (marker)
                {
                    Interlocked.Exchange(ref _flushed, null)?.TrySetResult();
                }

                if (flush.IsCompleted || flush.IsCanceled)
                {
                    EndWriting(null);
                    return;
                }

                switch (_outbound.TryPark())
                {
                    case OutboundQueue<MinerOutbound>.Next.Parked:
                        return;
                    case OutboundQueue<MinerOutbound>.Next.Ended:
                        EndWriting(null);
                        return;
                }
            }
        }
#pragma warning disable CA1031 // Whatever ended the writer ends the write side; WriterEnded hands it to the session's end.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            EndWriting(ex);
        }
    }

    /// <summary>The write side ended for good (once): a flush awaited by a parked session's export ends too.</summary>
    private void EndWriting(Exception? error)
    {
        // The end first, then the waiting flush: an export that queues its marker after this sees the end
        // (FlushQueuedAsync), one that queued it before is released here.
        var ended = WriteEnd();
        if (error is null)
        {
            ended.TrySetResult();
        }
        else
        {
            ended.TrySetException(error);
        }

        Interlocked.Exchange(ref _flushed, null)?.TrySetResult();
    }

    /// <summary>True once the write side has ended for good (tests).</summary>
    internal bool WriterHasEnded => Volatile.Read(ref _writeEnded) is { Task.IsCompleted: true };

    /// <summary>Completes when the write side has ended (faulted with what ended it, if anything did).</summary>
    private Task WriterEnded() => WriteEnd().Task;

    private TaskCompletionSource WriteEnd()
    {
        if (Volatile.Read(ref _writeEnded) is { } ended)
        {
            return ended;
        }

        // Its waiter (the session's end) runs on the writer's thread as it ends, as an await of the writer's task did.
        var created = new TaskCompletionSource();
        return Interlocked.CompareExchange(ref _writeEnded, created, null) ?? created;
    }

    /// <summary>
    /// Ends the write side now, with what is still queued unsent: a miner that does not read, the close grace over,
    /// the proxy stopping. Callable from any thread; a session that is not closed yet must be closed first (a
    /// message queued after this finds the queue completed, which is only quiet for a closing session).
    /// </summary>
    private void StopWriting()
    {
        Volatile.Write(ref _stopWriting, 1);
        _outbound.TryComplete();
        try
        {
            _connection.Transport.Output.CancelPendingFlush();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            // The output is already completed: nothing is being written.
        }
    }

    /// <summary>
    /// Closes the session and ends its writing at once, with what is still queued unsent: the proxy stopping (the
    /// listener that runs the session calls it; a session run with a stopping token does the same when it fires).
    /// </summary>
    internal void Stop(string reason)
    {
        Volatile.Write(ref _stopped, 1);
        Close(reason);
        StopWriting();

        // A session already closing may be lingering for its miner to close first: that ends too.
        try
        {
            _connection.Transport.Input.CancelPendingRead();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            // The input is already completed.
        }
    }

    private static void Format(PipeWriter output, in MinerOutbound message)
    {
        var writer = t_writer ??= new StratumWriter();
        switch (message.Type)
        {
            case MinerOutbound.Kind.Result:
                writer.WriteResult(output, message.Id, message.Flag);
                break;
            case MinerOutbound.Kind.Error:
                writer.WriteError(output, message.Id, message.Code, message.Text ?? "error");
                break;
            case MinerOutbound.Kind.Subscribed:
                writer.WriteSubscribeResult(output, message.Id, message.Bytes, message.Bytes2, message.Code);
                break;
            case MinerOutbound.Kind.Configured:
                writer.WriteConfigureResult(output, message.Id, message.Option1, message.Mask, message.Option2);
                break;
            case MinerOutbound.Kind.SetDifficulty:
                writer.WriteSetDifficulty(output, message.Number);
                break;
            case MinerOutbound.Kind.VersionMask:
                writer.WriteSetVersionMask(output, message.Mask);
                break;
            case MinerOutbound.Kind.Raw:
                // A job's notify line is shared by every miner of the upstream: a socket's output sends it as it is.
                if (output is ISharedBytesWriter shared)
                {
                    shared.WriteShared(message.Bytes);
                }
                else
                {
                    output.Write(message.Bytes);
                }

                break;
            case MinerOutbound.Kind.RawResult:
                writer.WriteRawResult(output, message.Id, message.Bytes);
                break;
            case MinerOutbound.Kind.SetExtranonce:
                writer.WriteSetExtranonce(output, message.Bytes, message.Code);
                break;
            case MinerOutbound.Kind.Reconnect:
                writer.WriteReconnect(output, null, null, 0);
                break;
        }
    }
}
