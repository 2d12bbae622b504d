using System.Buffers;
using System.Runtime.CompilerServices;

namespace StratumProxy.Proxy.Sessions;

/// <summary>
/// A session's queue of messages for its writer: many writers, one reader, bounded, in one small object. The reader
/// is not a loop waiting on the queue: it is a work item the queue schedules on the thread pool when a message arrives
/// (or the queue completes) while the reader is parked, and that parks again (<see cref="TryPark"/>) once it has
/// written everything. An idle session so keeps neither a waiting loop's state machine nor a waiter. A bounded channel
/// costs an idle session about 1 KiB (the channel, its reader and writer, and four reusable waiter objects); this
/// holds its monitor and a ring that starts empty and grows by doubling up to the capacity. Nothing is allocated per
/// message once the ring has grown; a session shrinks its ring once, after its handshake's answers are written.
/// The first ring, which those answers fill, is rented from the shared array pool and given back at that shrink, so
/// thousands of miners connecting at once (a pool's failover, a restart) reuse a few rings instead of each leaving
/// one of 500 bytes to the collector.
/// </summary>
/// <typeparam name="T">The message type (a struct, queued by value).</typeparam>
internal sealed class OutboundQueue<T>
    where T : struct
{
    // The queue's own monitor guards it (lock (this)): nothing outside this internal class can take it, and a
    // separate lock object would cost every session 40 bytes.
    private readonly int _capacity;
    private readonly IThreadPoolWorkItem _reader;
    private T[] _ring = [];
    private bool _ringRented;
    private int _head;
    private int _count;
    private bool _completed;

    // The reader has stopped with nothing to do: the next message, or the completion, schedules it. Scheduled only on
    // this flag's change under the monitor, so at most one reader runs at a time. Never a writer's thread: a writer
    // may be a pool connection's read loop sending a job to thousands of miners.
    private bool _readerParked;

    /// <summary>Creates a queue that holds at most <paramref name="capacity"/> messages, read by <paramref name="reader"/> once <see cref="Start"/> is called.</summary>
    public OutboundQueue(int capacity, IThreadPoolWorkItem reader)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentNullException.ThrowIfNull(reader);
        _capacity = capacity;
        _reader = reader;
    }

    /// <summary>What the reader does after <see cref="TryPark"/>.</summary>
    public enum Next
    {
        /// <summary>Nothing is queued: the reader stops, and is scheduled again when a message arrives or the queue completes.</summary>
        Parked,

        /// <summary>Messages arrived meanwhile: the reader reads on.</summary>
        More,

        /// <summary>The queue is completed and empty: the reader is done for good.</summary>
        Ended,
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
            if (!_readerParked)
            {
                return true;
            }

            _readerParked = false;
        }

        Schedule();
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
    /// Starts the reader (once): scheduled at once when messages or the completion already wait, else parked until they
    /// come. Messages queued before it are kept for it.
    /// </summary>
    public void Start()
    {
        lock (this)
        {
            if (_count == 0 && !_completed)
            {
                _readerParked = true;
                return;
            }
        }

        Schedule();
    }

    /// <summary>
    /// The reader, done with what it took: parks when nothing is queued (see <see cref="Next"/>). The reader only,
    /// after <see cref="Start"/>.
    /// </summary>
    public Next TryPark()
    {
        lock (this)
        {
            if (_count > 0)
            {
                return Next.More;
            }

            if (_completed)
            {
                return Next.Ended;
            }

            _readerParked = true;
            return Next.Parked;
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
                ReturnRented();
                _ring = new T[1];
                _head = 0;
            }

            return true;
        }
    }

    /// <summary>No more messages: the reader drains what is queued, then <see cref="TryPark"/> says it is done. False if already completed.</summary>
    public bool TryComplete()
    {
        lock (this)
        {
            if (_completed)
            {
                return false;
            }

            _completed = true;
            if (!_readerParked)
            {
                return true;
            }

            // A parked reader means the queue is empty: it runs once more to see the end.
            _readerParked = false;
        }

        Schedule();
        return true;
    }

    private void Schedule() => ThreadPool.UnsafeQueueUserWorkItem(_reader, preferLocal: false);

    private void Grow()
    {
        if (_ring.Length == 0)
        {
            // The first ring (at least 4 slots; the pool's smallest arrays have 16): nothing to copy.
            _ring = ArrayPool<T>.Shared.Rent(Math.Min(_capacity, 4));
            _ringRented = true;
            return;
        }

        var bigger = new T[Math.Min(_capacity, _ring.Length * 2)];
        for (var i = 0; i < _count; i++)
        {
            bigger[i] = _ring[(_head + i) % _ring.Length];
        }

        ReturnRented();
        _ring = bigger;
        _head = 0;
    }

    /// <summary>Gives the rented first ring back (under the monitor, as it is replaced; nothing else holds it).</summary>
    private void ReturnRented()
    {
        if (_ringRented)
        {
            _ringRented = false;
            ArrayPool<T>.Shared.Return(_ring, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        }
    }
}
