using System.Threading.Tasks.Sources;

namespace StratumProxy.Proxy.Sessions;

/// <summary>
/// A session's queue of messages for its write loop: many writers, one reader, bounded, as a bounded channel with
/// <c>SingleReader</c> would be, in one small object. A bounded channel costs an idle session about 1 KiB (the
/// channel, its reader and writer, and four reusable waiter objects); this holds its monitor, a ring that starts empty
/// and grows by doubling up to the capacity, and one reusable waiter for the reader. Nothing is allocated per message
/// or per wait once the ring has grown; a session shrinks its ring once, after its handshake's answers are written.
/// </summary>
/// <typeparam name="T">The message type (a struct, queued by value).</typeparam>
internal sealed class OutboundQueue<T> : IValueTaskSource<bool>
    where T : struct
{
    // The queue's own monitor guards it (lock (this)): nothing outside this internal class can take it, and a
    // separate lock object would cost every session 40 bytes.
    private readonly int _capacity;
    private T[] _ring = [];
    private int _head;
    private int _count;
    private bool _completed;
    private bool _readerWaiting;

    // The reader's wait. Continuations run on the thread pool, never inline in a writer: a writer may be a pool
    // connection's read loop sending a job to thousands of miners.
    private ManualResetValueTaskSourceCore<bool> _wait = new() { RunContinuationsAsynchronously = true };

    /// <summary>Creates a queue that holds at most <paramref name="capacity"/> messages.</summary>
    public OutboundQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>Messages waiting now.</summary>
    public int Count
    {
        get
        {
            lock (this)
            {
                return _count;
            }
        }
    }

    /// <summary>Queues a message; false when the queue is full or completed (any thread).</summary>
    public bool TryWrite(in T item)
    {
        lock (this)
        {
            if (_completed || _count == _capacity)
            {
                return false;
            }

            if (_count == _ring.Length)
            {
                Grow();
            }

            _ring[(_head + _count) % _ring.Length] = item;
            _count++;
            if (!_readerWaiting)
            {
                return true;
            }

            _readerWaiting = false;
        }

        _wait.SetResult(true);
        return true;
    }

    /// <summary>Takes the oldest message (the reader only).</summary>
    public bool TryRead(out T item)
    {
        lock (this)
        {
            if (_count == 0)
            {
                item = default;
                return false;
            }

            item = _ring[_head];
            _ring[_head] = default;
            _head = (_head + 1) % _ring.Length;
            _count--;
            return true;
        }
    }

    /// <summary>
    /// True when a message is waiting (at once, or when one arrives); false once the queue is completed and empty.
    /// The reader only, one wait at a time.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (this)
        {
            if (_count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _wait.Reset();
            _readerWaiting = true;
            return new ValueTask<bool>(this, _wait.Version);
        }
    }

    /// <summary>Slots in the ring now (it grows by doubling as messages pile up; <see cref="TryShrink"/> shrinks it).</summary>
    internal int RingLength
    {
        get
        {
            lock (this)
            {
                return _ring.Length;
            }
        }
    }

    /// <summary>
    /// When nothing is queued, replaces a ring of more than one slot by a one-slot ring, which grows again by doubling
    /// if messages pile up: a burst's ring (a handshake's answers) is not kept for the rest of a connection. True when
    /// the queue was empty (shrunk, or nothing to shrink); false when messages wait (the ring is left as it is).
    /// </summary>
    public bool TryShrink()
    {
        lock (this)
        {
            if (_count != 0)
            {
                return false;
            }

            if (_ring.Length > 1)
            {
                _ring = new T[1];
                _head = 0;
            }

            return true;
        }
    }

    /// <summary>No more messages: the reader drains what is queued, then its wait returns false. False if already completed.</summary>
    public bool TryComplete()
    {
        lock (this)
        {
            if (_completed)
            {
                return false;
            }

            _completed = true;
            if (!_readerWaiting)
            {
                return true;
            }

            // A waiting reader means the queue is empty.
            _readerWaiting = false;
        }

        _wait.SetResult(false);
        return true;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);

    private void Grow()
    {
        var bigger = new T[Math.Min(_capacity, _ring.Length == 0 ? 4 : _ring.Length * 2)];
        for (var i = 0; i < _count; i++)
        {
            bigger[i] = _ring[(_head + i) % _ring.Length];
        }

        _ring = bigger;
        _head = 0;
    }
}
