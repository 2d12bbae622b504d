using StratumProxy.Proxy.Sessions;

namespace StratumProxy.Proxy.Tests.Sessions;

public sealed class OutboundQueueTests
{
    [Fact]
    public void TryWrite_UpToTheCapacity_ThenRefuses_AndReadsComeOutInOrder()
    {
        var queue = new OutboundQueue<int>(capacity: 6, new CountingReader());
        for (var i = 0; i < 6; i++)
        {
            Assert.True(queue.TryWrite(i));
        }

        Assert.False(queue.TryWrite(6));
        Assert.Equal(6, queue.Count);

        // Wrap around the ring: take three, add three, and the order holds.
        for (var i = 0; i < 3; i++)
        {
            Assert.True(queue.TryRead(out var item));
            Assert.Equal(i, item);
        }

        for (var i = 6; i < 9; i++)
        {
            Assert.True(queue.TryWrite(i));
        }

        var rest = new List<int>();
        while (queue.TryRead(out var item))
        {
            rest.Add(item);
        }

        Assert.Equal([3, 4, 5, 6, 7, 8], rest);
    }

    [Fact]
    public void TryShrink_KeepsOneSlotOnceDrained_AndTheRingGrowsBackWithoutAllocatingPerMessageAfterwards()
    {
        var queue = new OutboundQueue<long>(capacity: 64, new CountingReader());
        for (var i = 0; i < 5; i++)
        {
            Assert.True(queue.TryWrite(i));
        }

        var handshakeRing = queue.RingLength;
        Assert.InRange(handshakeRing, 5, 16);
        Assert.True(queue.TryRead(out _));
        Assert.False(queue.TryShrink());
        Assert.Equal(handshakeRing, queue.RingLength);
        while (queue.TryRead(out _))
        {
        }

        Assert.True(queue.TryShrink());
        Assert.Equal(1, queue.RingLength);
        Assert.True(queue.TryShrink());

        // Two waiting grow it to 2, in order; after that one message at a time allocates nothing.
        Assert.True(queue.TryWrite(10));
        Assert.True(queue.TryWrite(11));
        Assert.Equal(2, queue.RingLength);
        Assert.True(queue.TryRead(out var first));
        Assert.True(queue.TryRead(out var second));
        Assert.Equal((10, 11), (first, second));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            queue.TryWrite(i);
            queue.TryRead(out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(2, queue.RingLength);
    }

    [Fact]
    public void TheFirstRingIsRentedAndGivenBackAtTheShrink_SoTheNextQueuesHandshakeAllocatesNoRing()
    {
        // A type of the test's own, so no other code shares this array pool.
        var first = new OutboundQueue<Answer>(capacity: 1024, new CountingReader());
        Assert.Equal(5, Fill(first));
        Assert.Equal(1, first.RingLength);

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var second = new OutboundQueue<Answer>(capacity: 1024, new CountingReader());
        var queueOnly = GC.GetAllocatedBytesForCurrentThread() - allocated;
        var read = Fill(second);
        var withHandshake = GC.GetAllocatedBytesForCurrentThread() - allocated;

        // The second queue's handshake ring is the first's, back from the pool: only its one-slot ring is new.
        Assert.Equal(5, read);
        Assert.Equal(1, second.RingLength);
        Assert.Equal(queueOnly + ArrayBytes(1), withHandshake);

        // No assertion inside: an assertion allocates.
        static int Fill(OutboundQueue<Answer> queue)
        {
            for (var i = 0; i < 5; i++)
            {
                queue.TryWrite(new Answer(i, i));
            }

            var read = 0;
            while (queue.TryRead(out _))
            {
                read++;
            }

            return queue.TryShrink() ? read : -1;
        }

        static long ArrayBytes(int length)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            GC.KeepAlive(new Answer[length]);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
    }

    [Fact]
    public void ARingGrownPastTheRentedOne_KeepsTheOrder()
    {
        var queue = new OutboundQueue<Answer>(capacity: 1024, new CountingReader());
        for (var i = 0; i < 40; i++)
        {
            Assert.True(queue.TryWrite(new Answer(i, -i)));
        }

        Assert.True(queue.RingLength >= 40);
        for (var i = 0; i < 40; i++)
        {
            Assert.True(queue.TryRead(out var answer));
            Assert.Equal(new Answer(i, -i), answer);
        }

        Assert.True(queue.TryShrink());
        Assert.Equal(1, queue.RingLength);
    }

    [Fact]
    public void BeforeStart_WritesAreKeptAndScheduleNothing_StartWithMessagesSchedulesTheReaderOnce()
    {
        var reader = new CountingReader();
        var queue = new OutboundQueue<int>(capacity: 4, reader);
        Assert.True(queue.TryWrite(1));
        Assert.True(queue.TryWrite(2));
        Assert.Equal(0, reader.Scheduled);

        queue.Start();

        Assert.True(reader.WaitScheduled(1));
        Assert.Equal(OutboundQueue<int>.Next.More, queue.TryPark());
        Assert.True(queue.TryRead(out var first));
        Assert.True(queue.TryRead(out var second));
        Assert.Equal((1, 2), (first, second));
        Assert.Equal(OutboundQueue<int>.Next.Parked, queue.TryPark());
        Assert.Equal(1, reader.Scheduled);
    }

    [Fact]
    public void AParkedReader_IsScheduledOnceByTheNextMessage_NotAgainUntilItParks()
    {
        var reader = new CountingReader();
        var queue = new OutboundQueue<int>(capacity: 4, reader);
        queue.Start();
        Assert.Equal(0, reader.Scheduled);

        Assert.True(queue.TryWrite(7));
        Assert.True(queue.TryWrite(8));
        Assert.True(reader.WaitScheduled(1));

        // Running (not parked): more messages only queue.
        Assert.True(queue.TryRead(out var item));
        Assert.Equal(7, item);
        Assert.Equal(OutboundQueue<int>.Next.More, queue.TryPark());
        Assert.True(queue.TryRead(out item));
        Assert.Equal(8, item);
        Assert.Equal(OutboundQueue<int>.Next.Parked, queue.TryPark());

        Assert.True(queue.TryWrite(9));
        Assert.True(reader.WaitScheduled(2));
        Assert.Equal(2, reader.Scheduled);
    }

    [Fact]
    public void TryComplete_LetsTheReaderDrainThenEnds_AndRefusesWrites()
    {
        var reader = new CountingReader();
        var queue = new OutboundQueue<int>(capacity: 4, reader);
        queue.Start();
        Assert.True(queue.TryWrite(1));
        Assert.True(reader.WaitScheduled(1));
        Assert.True(queue.TryComplete());
        Assert.False(queue.TryComplete());
        Assert.False(queue.TryWrite(2));

        Assert.Equal(OutboundQueue<int>.Next.More, queue.TryPark());
        Assert.True(queue.TryRead(out var item));
        Assert.Equal(1, item);
        Assert.Equal(OutboundQueue<int>.Next.Ended, queue.TryPark());
        Assert.Equal(1, reader.Scheduled);
    }

    [Fact]
    public void TryComplete_WithTheReaderParked_SchedulesItToSeeTheEnd()
    {
        var reader = new CountingReader();
        var queue = new OutboundQueue<int>(capacity: 4, reader);
        queue.Start();

        queue.TryComplete();

        Assert.True(reader.WaitScheduled(1));
        Assert.Equal(OutboundQueue<int>.Next.Ended, queue.TryPark());
    }

    [Fact]
    public async Task ManyWritersAndThePoolScheduledReader_EveryMessageReadOnce_OneReaderAtATime()
    {
        var reader = new DrainingReader();
        var queue = new OutboundQueue<int>(capacity: 8, reader);
        reader.Queue = queue;
        queue.Start();

        const int PerWriter = 5000;
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 1; i <= PerWriter; i++)
            {
                while (!queue.TryWrite(i))
                {
                    await Task.Yield();
                }
            }
        })).ToArray();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromMinutes(1));
        queue.TryComplete();

        Assert.Equal(4L * PerWriter * (PerWriter + 1) / 2, await reader.Ended.Task.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(0, reader.Overlaps);
    }

    /// <summary>Counts how often the queue scheduled it; does nothing when run.</summary>
    private sealed class CountingReader : IThreadPoolWorkItem
    {
        private int _scheduled;

        public int Scheduled => Volatile.Read(ref _scheduled);

        public bool WaitScheduled(int count) => SpinWait.SpinUntil(() => Scheduled >= count, TimeSpan.FromMinutes(1));

        public void Execute() => Interlocked.Increment(ref _scheduled);
    }

    /// <summary>Reads everything queued each time it runs, then parks, as a session's writer does; notes any overlap.</summary>
    private sealed class DrainingReader : IThreadPoolWorkItem
    {
        private long _sum;
        private int _running;

        public OutboundQueue<int>? Queue { get; set; }

        public int Overlaps { get; private set; }

        public TaskCompletionSource<long> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Execute()
        {
            if (Interlocked.Exchange(ref _running, 1) != 0)
            {
                Overlaps++;
            }

            while (true)
            {
                while (Queue!.TryRead(out var item))
                {
                    _sum += item;
                }

                // Not running from here on: once parked, the next message may schedule another run at once.
                Volatile.Write(ref _running, 0);
                var next = Queue.TryPark();
                if (next == OutboundQueue<int>.Next.More)
                {
                    if (Interlocked.Exchange(ref _running, 1) != 0)
                    {
                        Overlaps++;
                    }

                    continue;
                }

                if (next == OutboundQueue<int>.Next.Ended)
                {
                    Ended.TrySetResult(_sum);
                }

                return;
            }
        }
    }

    private readonly record struct Answer(long Id, long Value);
}
