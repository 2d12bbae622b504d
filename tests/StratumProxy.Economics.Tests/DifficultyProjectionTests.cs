using StratumProxy.Economics.Market;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Tests;

public sealed class DifficultyProjectionTests
{
    private static readonly Difficulty Current = new(108_105_433_845_147.16);

    [Fact]
    public void Nine_minute_blocks_project_a_one_ninth_rise_at_the_next_multiple_of_2016()
    {
        var first = new DateTimeOffset(2025, 1, 27, 0, 0, 0, TimeSpan.Zero);
        // Epoch starts at 437 × 2016 = 880,992; 431 blocks later at 540 s each.
        var tip = first.AddSeconds(431 * 540);
        var outlook = DifficultyProjection.FromBlockTimes(Coin.Bitcoin, Current, 880_992, first, 881_423, tip);
        Assert.Equal(Current.Value * 600 / 540, outlook.Projected.Value, 1.0);
        Assert.Equal(883_008L, outlook.RetargetHeight);
        Assert.Equal(tip.AddSeconds(1585 * 540), outlook.EstimatedRetargetTime);
        Assert.Equal(1.0 / 9, outlook.Change, 12);
        Assert.Contains("+11.11%", DifficultyProjection.Describe(outlook), StringComparison.Ordinal);
    }

    [Fact]
    public void The_projection_is_clamped_to_the_consensus_factor_of_four()
    {
        var first = DateTimeOffset.UnixEpoch;
        var fast = DifficultyProjection.FromBlockTimes(Coin.Bitcoin, Current, 0, first, 100, first.AddSeconds(100 * 100));
        Assert.Equal(Current.Value * 4, fast.Projected.Value, 1.0);
        var slow = DifficultyProjection.FromBlockTimes(Coin.Bitcoin, Current, 0, first, 100, first.AddSeconds(100 * 6000));
        Assert.Equal(Current.Value / 4, slow.Projected.Value, 1.0);
    }

    [Fact]
    public void Reads_a_mempool_style_difficulty_adjustment_answer()
    {
        const string json = """
            {"progressPercent":21.38,"difficultyChange":-2.5,"estimatedRetargetDate":1739000000000,
             "remainingBlocks":1585,"remainingTime":951000000,"previousRetarget":4.1,"nextRetargetHeight":883008,
             "timeAvg":600000,"timeOffset":0,"expectedBlocks":431.2}
            """;
        var outlook = DifficultyProjection.FromMempoolAdjustment(json, Current);
        Assert.Equal(Current.Value * 0.975, outlook.Projected.Value, 1.0);
        Assert.Equal(883_008L, outlook.RetargetHeight);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_739_000_000), outlook.EstimatedRetargetTime);
    }

    [Fact]
    public void Block_times_must_move_forward() =>
        Assert.Throws<ArgumentException>(() =>
            DifficultyProjection.FromBlockTimes(Coin.Bitcoin, Current, 10, DateTimeOffset.UnixEpoch, 10, DateTimeOffset.UnixEpoch.AddHours(1)));
}
