using System.Runtime.CompilerServices;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Sessions;

namespace StratumProxy.Proxy.Tests.Sessions;

public sealed class SessionEventTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(2, 4)]
    [InlineData(ExtranonceAllocator.MaxPrefixSize, ExtranonceLayout.MaxMinerExtranonce2Size)]
    public void ChangeLayout_Layout_ReadsBackWhatWasPosted(int prefixSize, int extranonce2Size)
    {
        var layout = new MinerLayout(prefixSize, extranonce2Size);

        var message = SessionEvent.ChangeLayout(layout);

        Assert.Equal(SessionEventKind.ChangeLayout, message.Kind);
        Assert.Equal(layout, message.Layout);
        Assert.Null(message.Upstream);
        Assert.Null(message.Job);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(0x1fffe000u)]
    [InlineData(uint.MaxValue)]
    public void VersionMask_Mask_ReadsBackWhatWasPosted(uint mask)
    {
        var message = SessionEvent.VersionMask(mask);

        Assert.Equal(SessionEventKind.VersionMask, message.Kind);
        Assert.Equal(mask, message.Mask);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1_234_567_890_123_456L)]
    [InlineData(long.MaxValue)]
    public void Tick_Now_ReadsBackWhatWasPosted(long now)
    {
        var message = SessionEvent.Tick(now);

        Assert.Equal(SessionEventKind.Tick, message.Kind);
        Assert.Equal(now, message.Now);
        Assert.False(message.Clean);
    }

    [Fact]
    public void SessionEvent_Size_IsOneReferenceAndOneNumber()
    {
        // A session holds two events in place; each kind's fields share one object and one 64-bit slot.
        Assert.Equal(24, Unsafe.SizeOf<SessionEvent>());
    }

    [Fact]
    public void SessionEventQueue_MoreThanTwoWaiting_ComeOutInTheOrderTheyWentIn_EvenWhenTakingAndPostingInterleave()
    {
        var queue = default(SessionEventQueue);
        var taken = new List<long>();

        // Three wait (two in place, one spilled); one is taken, which frees a place while one is still spilled; two more
        // come (they must queue behind the spilled one); then everything is taken.
        queue.Enqueue(SessionEvent.Tick(1));
        queue.Enqueue(SessionEvent.Tick(2));
        queue.Enqueue(SessionEvent.Tick(3));
        Assert.Equal(3, queue.Count);
        taken.Add(Take(ref queue));
        queue.Enqueue(SessionEvent.Tick(4));
        queue.Enqueue(SessionEvent.Tick(5));
        Assert.Equal(4, queue.Count);
        while (queue.TryDequeue(out var message))
        {
            taken.Add(message.Now);
        }

        Assert.Equal([1, 2, 3, 4, 5], taken);
        Assert.Equal(0, queue.Count);

        // Drained, it holds events in place again, in order across the wrap of its two places.
        queue.Enqueue(SessionEvent.Tick(6));
        taken.Clear();
        taken.Add(Take(ref queue));
        queue.Enqueue(SessionEvent.Tick(7));
        queue.Enqueue(SessionEvent.Tick(8));
        taken.Add(Take(ref queue));
        taken.Add(Take(ref queue));
        Assert.Equal([6, 7, 8], taken);
        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void SessionEventQueue_Clear_DropsEveryEventInPlaceAndSpilled()
    {
        var queue = default(SessionEventQueue);
        for (var i = 0; i < 5; i++)
        {
            queue.Enqueue(SessionEvent.Tick(i));
        }

        queue.Clear();

        Assert.Equal(0, queue.Count);
        Assert.False(queue.TryDequeue(out _));
        queue.Enqueue(SessionEvent.Tick(9));
        Assert.Equal(9, Take(ref queue));
    }

    private static long Take(ref SessionEventQueue queue)
    {
        Assert.True(queue.TryDequeue(out var message));
        return message.Now;
    }
}
