using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.Components;

public sealed class VarDiffControllerTests
{
    private readonly FakeTimeProvider _time = new();

    /// <summary>Advances the clock and submits a share; returns what the controller said.</summary>
    private double? ShareAfter(VarDiffController controller, TimeSpan gap)
    {
        _time.Advance(gap);
        return controller.OnShare(_time.GetTimestamp());
    }

    [Fact]
    public void OnShare_TenTimesTooFast_RetargetsAfterSampleCountSharesToNearestPowerOfTwo()
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);

        Assert.Null(ShareAfter(controller, TimeSpan.FromSeconds(1))); // primes the clock
        for (var i = 0; i < 9; i++)
        {
            Assert.Null(ShareAfter(controller, TimeSpan.FromSeconds(1)));
        }

        // 10 intervals of 1 s: 16384 × 10 s / 1 s = 163840, nearest power of two (log2 = 17.32) is 2^17.
        Assert.Equal(131072, ShareAfter(controller, TimeSpan.FromSeconds(1)));
        Assert.Equal(131072, controller.Current);
    }

    [Fact]
    public void OnShare_TenTimesTooSlow_RetargetsDownOnceTheRetargetIntervalPassed()
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);

        Assert.Null(ShareAfter(controller, TimeSpan.FromSeconds(100)));

        // 16384 × 10 / 100 = 1638.4, log2 = 10.68 → 2^11.
        Assert.Equal(2048, ShareAfter(controller, TimeSpan.FromSeconds(100)));
    }

    [Fact]
    public void OnShare_AfterASilenceOfMonths_LowersByOneStepOnly()
    {
        // The ring keeps whole milliseconds: a silence past what they hold (24 days) counts as the longest they hold,
        // which still asks for far less than one step down.
        var controller = new VarDiffController(new VarDiffOptions { PowerOfTwo = false }, _time);
        Assert.Null(ShareAfter(controller, TimeSpan.FromSeconds(1)));

        Assert.Equal(16384.0 / 16, ShareAfter(controller, TimeSpan.FromDays(90)));
    }

    [Theory]
    [InlineData(6999)]
    [InlineData(13001)]
    public void OnShare_IntervalsAMillisecondOutsideTheVarianceBand_Retarget_ByTheirExactMean(int intervalMs)
    {
        // 10 s ± 30 % is 7 s..13 s, both ends inside. A millisecond outside either end must count as outside: the
        // intervals are kept to the millisecond, not rounded to whole seconds (which would put both inside).
        var controller = new VarDiffController(new VarDiffOptions { PowerOfTwo = false, RetargetInterval = TimeSpan.FromDays(1) }, _time);
        Assert.Null(ShareAfter(controller, TimeSpan.FromSeconds(1)));
        for (var i = 0; i < 9; i++)
        {
            Assert.Null(ShareAfter(controller, TimeSpan.FromMilliseconds(intervalMs)));
        }

        Assert.Equal(16384 * 10 / (intervalMs / 1000.0), ShareAfter(controller, TimeSpan.FromMilliseconds(intervalMs))!.Value, 6);
    }

    [Fact]
    public void OnShare_WithinVariance_NeverChanges()
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);

        // 12 s is inside 10 s ± 30 %.
        for (var i = 0; i < 100; i++)
        {
            Assert.Null(ShareAfter(controller, TimeSpan.FromSeconds(12)));
        }

        Assert.Equal(16384, controller.Current);
    }

    [Fact]
    public void OnShare_JustOutsideVariance_Changes()
    {
        var controller = new VarDiffController(new VarDiffOptions { PowerOfTwo = false }, _time);

        ShareAfter(controller, TimeSpan.FromSeconds(14));
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(ShareAfter(controller, TimeSpan.FromSeconds(14)));
        }

        // Shares at 14, 28, 42, 56: the one at 70 s is past the 60 s retarget interval; 16384 × 10 / 14.
        Assert.Equal(16384 * 10 / 14.0, ShareAfter(controller, TimeSpan.FromSeconds(14)));
    }

    [Fact]
    public void OnShare_FarTooFast_LimitedToMaxStepFactor()
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);

        ShareAfter(controller, TimeSpan.FromMilliseconds(1));
        double? result = null;
        for (var i = 0; i < 10; i++)
        {
            result = ShareAfter(controller, TimeSpan.FromMilliseconds(1));
        }

        // 10,000× too fast, but one step is at most ×16: 16384 × 16 = 2^18.
        Assert.Equal(262144, result);
    }

    [Fact]
    public void OnShare_SharesWithIdenticalTimestamps_StepUpByMaxFactor()
    {
        var controller = new VarDiffController(new VarDiffOptions { SampleCount = 3 }, _time);

        var results = Enumerable.Range(0, 4).Select(_ => controller.OnShare(_time.GetTimestamp())).ToArray();

        Assert.Equal([null, null, null, 262144], results);
    }

    [Fact]
    public void OnShare_ProposalAboveMax_HeldAtLargestPowerOfTwoWithinMax()
    {
        var controller = new VarDiffController(new VarDiffOptions { MaxDifficulty = 20000 }, _time);

        ShareAfter(controller, TimeSpan.FromSeconds(1));
        double? last = 0;
        for (var i = 0; i < 10; i++)
        {
            last = ShareAfter(controller, TimeSpan.FromSeconds(1));
        }

        // 163840 is bounded to 20000, whose largest power of two below is 16384: the current value, so no change.
        Assert.Null(last);
        Assert.Equal(16384, controller.Current);
    }

    [Fact]
    public void OnShare_ProposalAboveMaxWithoutRounding_IsMaxExactly()
    {
        var controller = new VarDiffController(new VarDiffOptions { MaxDifficulty = 20000, PowerOfTwo = false }, _time);

        ShareAfter(controller, TimeSpan.FromSeconds(1));
        double? last = 0;
        for (var i = 0; i < 10; i++)
        {
            last = ShareAfter(controller, TimeSpan.FromSeconds(1));
        }

        Assert.Equal(20000, last);
    }

    [Fact]
    public void OnShare_SlowCpuMinerWithFractionalMinimum_WalksDownInBoundedSteps()
    {
        var options = new VarDiffOptions { StartDifficulty = 1, MinDifficulty = 0.001 };
        var controller = new VarDiffController(options, _time);
        var gap = TimeSpan.FromSeconds(1000); // 100× too slow

        ShareAfter(controller, gap);
        var steps = Enumerable.Range(0, 4).Select(_ => ShareAfter(controller, gap)).ToArray();

        // 1 → 1/16 (step limit) → 1/256 (step limit) → max(1/4096, 0.001) = 0.001, rounded to the power of two
        // inside the bounds, 2^-9 → then nothing can go lower.
        Assert.Equal([0.0625, 0.00390625, 0.001953125, null], steps);
    }

    [Fact]
    public void OnShare_FractionalMinimumWithoutRounding_ReachesMinimumExactly()
    {
        var options = new VarDiffOptions { StartDifficulty = 0.002, MinDifficulty = 0.001, PowerOfTwo = false };
        var controller = new VarDiffController(options, _time);

        ShareAfter(controller, TimeSpan.FromSeconds(1000));

        Assert.Equal(0.001, ShareAfter(controller, TimeSpan.FromSeconds(1000)));
    }

    [Fact]
    public void OnShare_AfterAChange_MeasuresAfreshAtTheNewDifficulty()
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);
        ShareAfter(controller, TimeSpan.FromSeconds(100));
        Assert.Equal(2048, ShareAfter(controller, TimeSpan.FromSeconds(100)));

        // At 2048 the miner now hits the target; the 100 s intervals from before must not drag it down again.
        for (var i = 0; i < 30; i++)
        {
            Assert.Null(ShareAfter(controller, TimeSpan.FromSeconds(10)));
        }

        Assert.Equal(2048, controller.Current);
    }

    [Fact]
    public void OnIdle_SilentMiner_LowersAfterEachRetargetInterval()
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Null(controller.OnIdle(_time.GetTimestamp()));

        // 60 s of silence: 16384 × 10 / 60 = 2730.7, log2 = 11.41 → 2^11.
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2048, controller.OnIdle(_time.GetTimestamp()));

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Null(controller.OnIdle(_time.GetTimestamp()));

        // Another 60 s: 2048 × 10 / 60 = 341.3, log2 = 8.41 → 2^8.
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(256, controller.OnIdle(_time.GetTimestamp()));
    }

    [Fact]
    public void OnIdle_ActiveMiner_NeverLowers()
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);

        for (var i = 0; i < 50; i++)
        {
            ShareAfter(controller, TimeSpan.FromSeconds(10));
            Assert.Null(controller.OnIdle(_time.GetTimestamp()));
        }
    }

    [Fact]
    public void OnIdle_AtMinimum_NoChange()
    {
        var controller = new VarDiffController(new VarDiffOptions { StartDifficulty = 1 }, _time);

        _time.Advance(TimeSpan.FromMinutes(10));

        Assert.Null(controller.OnIdle(_time.GetTimestamp()));
        Assert.Equal(1, controller.Current);
    }

    [Theory]
    [InlineData(5000, 4096)]
    [InlineData(2800, 2048)] // log2 = 11.45
    [InlineData(1e15, 4398046511104)] // the 2^42 default maximum
    [InlineData(0.5, 1)] // below the default minimum of 1
    public void Suggest_BoundedAndRounded(double suggested, double expected)
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);

        Assert.Equal(expected, controller.Suggest(suggested));
        Assert.Equal(expected, controller.Current);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-4)]
    [InlineData(double.NaN)]
    public void Suggest_NonPositive_Ignored(double suggested)
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);

        Assert.Equal(16384, controller.Suggest(suggested));
    }

    [Fact]
    public void Suggest_FractionalWithinBoundsWithoutRounding_TakenAsIs()
    {
        var controller = new VarDiffController(new VarDiffOptions { MinDifficulty = 0.001, PowerOfTwo = false }, _time);

        Assert.Equal(0.0025, controller.Suggest(0.0025));
    }

    [Fact]
    public void Suggest_RestartsTheMeasurement()
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);
        ShareAfter(controller, TimeSpan.FromSeconds(1));
        for (var i = 0; i < 8; i++)
        {
            ShareAfter(controller, TimeSpan.FromSeconds(1));
        }

        controller.Suggest(131072);

        // Nine fast intervals were recorded at 16384; after the suggestion one more share must not retarget.
        Assert.Null(ShareAfter(controller, TimeSpan.FromSeconds(10)));
        Assert.Equal(131072, controller.Current);
    }

    [Fact]
    public void Constructor_StartDifficultyOverride_BoundedAndRounded()
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time, startDifficulty: 3000);

        Assert.Equal(4096, controller.Current);
    }

    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(2, 1, 2)]
    [InlineData(1, 1, 0.5)]
    public void Constructor_InvalidBounds_ThrowsNamingTheSetting(double min, double max, double start)
    {
        var options = new VarDiffOptions { MinDifficulty = min, MaxDifficulty = max, StartDifficulty = start };

        var ex = Assert.Throws<ArgumentException>(() => new VarDiffController(options, _time));

        Assert.Contains("Difficulty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnShare_SteadyState_AllocatesNothing()
    {
        var controller = new VarDiffController(new VarDiffOptions(), _time);
        var step = (long)(_time.TimestampFrequency * 10);
        var now = _time.GetTimestamp();
        for (var i = 0; i < 100; i++)
        {
            controller.OnShare(now += step);
            controller.OnIdle(now);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            controller.OnShare(now += step);
            controller.OnIdle(now);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
