using StratumProxy.Economics.Market;
using StratumProxy.Economics.Units;
using StratumProxy.Farm;

namespace StratumProxy.Host.Tests.Curtailment;

public sealed class OutlookTrackerTests
{
    [Fact]
    public void Slow_blocks_seen_by_the_proxy_project_a_difficulty_drop()
    {
        var tracker = new OutlookTracker(Coin.Bitcoin, minimumBlocks: 6);
        var t0 = new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);
        var difficulty = new Difficulty(1.1e14);
        tracker.Observe(967_680 + 100, difficulty, t0);
        Assert.Null(tracker.Current);

        // Blocks every 12.5 minutes instead of 10: the projection is 10/12.5 = 0.8 of today's difficulty. Repeated
        // jobs of one height keep that height's first time.
        for (var i = 1; i <= 10; i++)
        {
            tracker.Observe(967_780 + i, difficulty, t0.AddMinutes(12.5 * i));
            tracker.Observe(967_780 + i, difficulty, t0.AddMinutes((12.5 * i) + 3));
        }

        var outlook = tracker.Current!;
        Assert.Equal(-0.2, outlook.Change, 9);
        Assert.Equal(969_696, outlook.RetargetHeight);

        // A new epoch forgets the old one's blocks.
        tracker.Observe(969_696, difficulty, t0.AddDays(1));
        Assert.Null(tracker.Current);
    }
}
