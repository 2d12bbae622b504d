using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.Components;

public sealed class HashrateMeterTests
{
    private const double TwoTo32 = 4294967296.0;

    private readonly FakeTimeProvider _time = new();

    private long At(double seconds, long origin) => origin + (long)(seconds * _time.TimestampFrequency);

    [Fact]
    public void Estimate_MeterYoungerThanWindow_DividesByItsAge()
    {
        var origin = _time.GetTimestamp();
        var meter = new HashrateMeter(_time);
        meter.Record(1000, At(2, origin));
        meter.Record(3000, At(7, origin));

        var estimate = meter.Estimate(HashrateWindow.OneMinute, At(10, origin));

        // (1000 + 3000) · 2^32 / 10 s
        Assert.Equal(4000 * TwoTo32 / 10, estimate.HashesPerSecond, 6);
        Assert.Equal(2, estimate.ShareCount);
        Assert.Equal(4000, estimate.DifficultySum);
        Assert.Equal(10, estimate.CoveredSeconds, 9);
        // √(1000² + 3000²) / 4000 = √10,000,000 / 4000
        Assert.Equal(0.790569415, estimate.RelativeUncertainty, 6);
    }

    [Fact]
    public void Estimate_SteadyMinerOverTwoMinutes_EachWindowSumsItsOwnSpan()
    {
        var origin = _time.GetTimestamp();
        var meter = new HashrateMeter(_time);
        for (var second = 1; second <= 120; second++)
        {
            meter.Record(2, At(second, origin));
        }

        var now = At(120, origin);
        var oneMinute = meter.Estimate(HashrateWindow.OneMinute, now);
        var fiveMinutes = meter.Estimate(HashrateWindow.FiveMinutes, now);
        var oneHour = meter.Estimate(HashrateWindow.OneHour, now);

        // 1 min: 5 s buckets 13..24 (the one holding t = 120 and the 11 before) start at t = 65, so the estimate covers
        // 55 s and holds the shares at t = 65..120: 56 shares of difficulty 2.
        Assert.Equal(55, oneMinute.CoveredSeconds, 9);
        Assert.Equal(56, oneMinute.ShareCount);
        Assert.Equal(112 * TwoTo32 / 55, oneMinute.HashesPerSecond, 3);
        Assert.Equal(1 / Math.Sqrt(56), oneMinute.RelativeUncertainty, 12);

        // 5 min and 1 h: the meter is 120 s old, all 120 shares, exactly 2 · 2^32 H/s.
        Assert.Equal(120, fiveMinutes.CoveredSeconds, 9);
        Assert.Equal(120, fiveMinutes.ShareCount);
        Assert.Equal(2 * TwoTo32, fiveMinutes.HashesPerSecond, 3);
        Assert.Equal(2 * TwoTo32, oneHour.HashesPerSecond, 3);
        Assert.Equal(1 / Math.Sqrt(120), oneHour.RelativeUncertainty, 12);
    }

    [Fact]
    public void Estimate_ShareOlderThanWindow_Expires()
    {
        var origin = _time.GetTimestamp();
        var meter = new HashrateMeter(_time);
        meter.Record(100, At(1, origin));

        var before = meter.Estimate(HashrateWindow.OneMinute, At(59, origin));
        var after = meter.Estimate(HashrateWindow.OneMinute, At(61, origin));

        Assert.Equal(1, before.ShareCount);
        Assert.Equal(100 * TwoTo32 / 59, before.HashesPerSecond, 3);
        Assert.Equal(0, after.ShareCount);
        Assert.Equal(0, after.HashesPerSecond);
        Assert.Equal(56, after.CoveredSeconds, 9); // buckets from t = 5 to now
        Assert.Equal(double.PositiveInfinity, after.RelativeUncertainty);
    }

    [Fact]
    public void Estimate_OneHourWindowAfterTwoHours_CoversTheLastFullBuckets()
    {
        var origin = _time.GetTimestamp();
        var meter = new HashrateMeter(_time);
        // One share of difficulty 65536 per minute, at hh:mm:30, for two hours.
        for (var minute = 0; minute < 120; minute++)
        {
            meter.Record(65536, At((minute * 60) + 30, origin));
        }

        var estimate = meter.Estimate(HashrateWindow.OneHour, At(7200, origin));

        // Now = 7200 s is the start of 60 s bucket 120; buckets 61..120 start at 3660 s: 3540 s covered, shares of
        // minutes 61..119 = 59 shares.
        Assert.Equal(3540, estimate.CoveredSeconds, 9);
        Assert.Equal(59, estimate.ShareCount);
        Assert.Equal(59 * 65536 * TwoTo32 / 3540, estimate.HashesPerSecond, 1);
    }

    [Fact]
    public void Estimate_BeforeAnythingElapsed_IsZeroWithInfiniteUncertainty()
    {
        var meter = new HashrateMeter(_time);

        var estimate = meter.Estimate(HashrateWindow.FiveMinutes, _time.GetTimestamp());

        Assert.Equal(new HashrateEstimate(0, 0, 0, 0, double.PositiveInfinity), estimate);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Record_NonPositiveOrNonFiniteDifficulty_Ignored(double difficulty)
    {
        var origin = _time.GetTimestamp();
        var meter = new HashrateMeter(_time);

        meter.Record(difficulty, At(1, origin));

        Assert.Equal(0, meter.Estimate(HashrateWindow.OneMinute, At(2, origin)).ShareCount);
    }

    [Fact]
    public async Task EstimateAll_ConcurrentWithWriter_AlwaysSeesAConsistentSnapshot()
    {
        // Every share lands in all three windows, and Record updates the three rings one after the other: a reader
        // that interleaved with a Record would see different counts (or Σd ≠ n with difficulty 1).
        var origin = _time.GetTimestamp();
        var meter = new HashrateMeter(_time);
        var now = At(30, origin);
        var writerDone = 0;
        var torn = 0;
        var reads = 0;

        var writer = Task.Run(() =>
        {
            for (var i = 0; i < 2_000_000; i++)
            {
                meter.Record(1, At(i % 30, origin));
            }

            Volatile.Write(ref writerDone, 1);
        });

        var reader = Task.Run(() =>
        {
            while (Volatile.Read(ref writerDone) == 0 || reads == 0)
            {
                var all = meter.EstimateAll(now);
                if (all.OneMinute.ShareCount != all.FiveMinutes.ShareCount || all.FiveMinutes.ShareCount != all.OneHour.ShareCount
                    || all.OneMinute.DifficultySum != all.OneMinute.ShareCount)
                {
                    torn++;
                }

                reads++;
            }
        });

        await Task.WhenAll(writer, reader).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, torn);
        Assert.Equal(2_000_000, meter.EstimateAll(now).OneHour.ShareCount);
    }

    [Fact]
    public void EstimateAll_MatchesEstimatePerWindow()
    {
        var origin = _time.GetTimestamp();
        var meter = new HashrateMeter(_time);
        for (var second = 0; second < 400; second += 7)
        {
            meter.Record(second + 1, At(second, origin));
        }

        var now = At(400, origin);
        var all = meter.EstimateAll(now);

        Assert.Equal(meter.Estimate(HashrateWindow.OneMinute, now), all.OneMinute);
        Assert.Equal(meter.Estimate(HashrateWindow.FiveMinutes, now), all.FiveMinutes);
        Assert.Equal(meter.Estimate(HashrateWindow.OneHour, now), all.OneHour);
    }

    [Fact]
    public void New_NoShareYet_HoldsNoBuckets()
    {
        // An idle worker's meter is the object alone; the 92 buckets (1,864 bytes) come with its first share.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var meter = new HashrateMeter(_time);
        var constructed = GC.GetAllocatedBytesForCurrentThread() - before;
        meter.Estimate(HashrateWindow.OneHour, _time.GetTimestamp() + (long)_time.TimestampFrequency);
        meter.EstimateAll(_time.GetTimestamp() + (long)_time.TimestampFrequency);
        var estimated = GC.GetAllocatedBytesForCurrentThread() - before;
        meter.Record(1, _time.GetTimestamp());
        var recorded = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(constructed < 128, $"a new meter allocated {constructed} bytes");
        Assert.Equal(constructed, estimated);
        Assert.True(recorded - constructed >= 92 * 20, $"the first share allocated {recorded - constructed} bytes");
    }

    [Fact]
    public void EstimateAll_NoShareYet_EqualsAMeterWhoseSharesAllExpired()
    {
        // The meter without buckets answers what the same windows over empty buckets answer: no shares, covered
        // spans by the bucket layout, infinite uncertainty.
        var origin = _time.GetTimestamp();
        var idle = new HashrateMeter(_time);
        var expired = new HashrateMeter(_time);
        expired.Record(4096, At(1, origin));

        foreach (var seconds in new[] { 3 * 3600, (3 * 3600) + 7.5, (5 * 3600) + 59 })
        {
            var now = At(seconds, origin);
            var all = idle.EstimateAll(now);

            Assert.Equal(expired.EstimateAll(now), all);
            Assert.Equal(0, all.OneHour.ShareCount);
            Assert.Equal(double.PositiveInfinity, all.FiveMinutes.RelativeUncertainty);
            Assert.InRange(all.OneMinute.CoveredSeconds, 55, 60);
        }

        // Young meters too: covered is the meter's age.
        Assert.Equal(new HashrateEstimate(0, 0, 0, 42, double.PositiveInfinity), idle.Estimate(HashrateWindow.OneHour, At(42, origin)));
    }

    [Fact]
    public void RecordAndEstimate_SteadyState_AllocateNothing()
    {
        var origin = _time.GetTimestamp();
        var meter = new HashrateMeter(_time);
        var step = (long)_time.TimestampFrequency;
        var now = origin;
        for (var i = 0; i < 100; i++)
        {
            meter.Record(1024, now += step);
            meter.Estimate(HashrateWindow.FiveMinutes, now);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            meter.Record(1024, now += step);
            meter.Estimate(HashrateWindow.OneMinute, now);
            meter.EstimateAll(now);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
