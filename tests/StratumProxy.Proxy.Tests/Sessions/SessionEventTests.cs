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
        // A session's queue holds up to four events; each kind's fields share one object and one 64-bit slot.
        Assert.Equal(24, Unsafe.SizeOf<SessionEvent>());
    }
}
