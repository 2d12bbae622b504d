using StratumProxy.Proxy.Sessions;

namespace StratumProxy.Proxy.Tests.Sessions;

public sealed class OutboundQueueTests
{
    [Fact]
    public void TryWrite_UpToTheCapacity_ThenRefuses_AndReadsComeOutInOrder()
    {
        var queue = new OutboundQueue<int>(capacity: 6);
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
        var queue = new OutboundQueue<long>(capacity: 64);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(queue.TryWrite(i));
        }

        Assert.Equal(8, queue.RingLength);
        Assert.True(queue.TryRead(out _));
        Assert.False(queue.TryShrink());
        Assert.Equal(8, queue.RingLength);
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
    public async Task WaitToReadAsync_Pending_CompletesWhenAMessageArrives()
    {
        var queue = new OutboundQueue<int>(capacity: 4);
        var wait = queue.WaitToReadAsync();
        Assert.False(wait.IsCompleted);

        Assert.True(queue.TryWrite(7));

        Assert.True(await wait.AsTask().WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.True(queue.TryRead(out var item));
        Assert.Equal(7, item);
    }

    [Fact]
    public async Task TryComplete_LetsTheReaderDrainThenEnds_AndRefusesWrites()
    {
        var queue = new OutboundQueue<int>(capacity: 4);
        Assert.True(queue.TryWrite(1));
        Assert.True(queue.TryComplete());
        Assert.False(queue.TryComplete());
        Assert.False(queue.TryWrite(2));

        Assert.True(await queue.WaitToReadAsync());
        Assert.True(queue.TryRead(out var item));
        Assert.Equal(1, item);
        Assert.False(await queue.WaitToReadAsync());
    }

    [Fact]
    public async Task TryComplete_WithTheReaderWaiting_EndsItsWait()
    {
        var queue = new OutboundQueue<int>(capacity: 4);
        var wait = queue.WaitToReadAsync();

        queue.TryComplete();

        Assert.False(await wait.AsTask().WaitAsync(TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task TheWaiter_IsReusedAcrossManyWaits()
    {
        var queue = new OutboundQueue<int>(capacity: 4);
        var reader = Task.Run(async () =>
        {
            var sum = 0;
            while (await queue.WaitToReadAsync())
            {
                while (queue.TryRead(out var item))
                {
                    sum += item;
                }
            }

            return sum;
        });

        var expected = 0;
        for (var i = 1; i <= 2000; i++)
        {
            while (!queue.TryWrite(i))
            {
                await Task.Yield();
            }

            expected += i;
        }

        queue.TryComplete();
        Assert.Equal(expected, await reader.WaitAsync(TimeSpan.FromMinutes(1)));
    }
}
