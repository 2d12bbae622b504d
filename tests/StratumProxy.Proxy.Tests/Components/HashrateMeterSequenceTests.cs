using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.Components;

/// <summary>
/// A known share sequence (two hours of shares at varying difficulties and gaps, including idle stretches) against a
/// direct computation of the documented estimate from the whole list: Σd over the shares in the summed buckets,
/// divided by the covered span, for each window at many moments. Guards the meter's bucket layout.
/// </summary>
public sealed class HashrateMeterSequenceTests
{
    private static readonly (HashrateWindow Window, int BucketSeconds, int Buckets)[] Windows =
    [
        (HashrateWindow.OneMinute, 5, 12),
        (HashrateWindow.FiveMinutes, 15, 20),
        (HashrateWindow.OneHour, 60, 60),
    ];

    [Fact]
    public void Every_window_matches_the_estimate_computed_from_the_whole_sequence()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var origin = time.GetTimestamp();
        var frequency = time.TimestampFrequency;
        var meter = new HashrateMeter(time);
        var shares = new List<(long Offset, double Difficulty)>();
        var random = new Random(20261130);
        var offset = 0L;
        var checks = 0;
        while (offset < 2 * 3600 * frequency)
        {
            // Mostly a share every 0–4 s, sometimes a pause of up to 10 minutes; difficulties from 1 to 65,536.
            var gap = random.Next(100) == 0 ? random.Next(600_000) : random.Next(4_000);
            offset += gap * frequency / 1000;
            var difficulty = Math.Pow(2, random.Next(17)) * (1 + (random.Next(4) / 4.0));
            meter.Record(difficulty, origin + offset);
            shares.Add((offset, difficulty));

            var now = offset + (random.Next(5_000) * frequency / 1000);
            foreach (var (window, bucketSeconds, buckets) in Windows)
            {
                var width = bucketSeconds * frequency;
                var newest = now / width;
                var oldest = Math.Max(0, newest - buckets + 1);
                var summed = shares.Where(s => s.Offset / width >= oldest && s.Offset / width <= newest).ToList();
                var sum = summed.Sum(s => s.Difficulty);
                var covered = (now - (oldest * width)) / (double)frequency;
                var estimate = meter.Estimate(window, origin + now);

                Assert.Equal(summed.Count, estimate.ShareCount);
                Assert.Equal(sum, estimate.DifficultySum, sum * 1e-12);
                Assert.Equal(covered, estimate.CoveredSeconds, 1e-9);
                Assert.Equal(sum * HashrateMeter.HashesPerDifficulty / covered, estimate.HashesPerSecond, estimate.HashesPerSecond * 1e-12);
                var uncertainty = sum > 0 ? Math.Sqrt(summed.Sum(s => s.Difficulty * s.Difficulty)) / sum : double.PositiveInfinity;
                Assert.Equal(uncertainty, estimate.RelativeUncertainty, 1e-12);
                checks++;
            }
        }

        Assert.True(checks > 3_000, $"only {checks} checks");
    }

    [Fact]
    public void Shares_out_of_order_count_while_their_bucket_is_in_the_ring_and_are_dropped_after()
    {
        // Two sessions of one worker record with their own clocks' readings, so a share can be seconds older than the
        // newest one recorded. It counts when its bucket is still in a ring (index > newest index − buckets) and is
        // dropped from that ring otherwise; each ring decides on its own.
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var origin = time.GetTimestamp();
        var frequency = time.TimestampFrequency;
        var meter = new HashrateMeter(time);
        var kept = Windows.Select(_ => new List<(long Offset, double Difficulty)>()).ToArray();
        var heads = Windows.Select(_ => -1L).ToArray();
        var random = new Random(7);
        var latest = 0L;
        var checks = 0;
        var dropped = 0;
        while (latest < 3 * 3600 * frequency)
        {
            latest += random.Next(100) == 0 ? random.Next(400_000) * frequency / 1000 : random.Next(3_000) * frequency / 1000;
            // Up to 90 s late, sometimes 10 minutes late: older than the 1- and 5-minute rings, inside the hour's.
            var late = random.Next(50) == 0 ? 600_000 : random.Next(90_000);
            var offset = Math.Max(0, latest - (late * frequency / 1000));
            var difficulty = 1 + random.Next(64);
            meter.Record(difficulty, origin + offset);
            for (var w = 0; w < Windows.Length; w++)
            {
                var index = offset / (Windows[w].BucketSeconds * frequency);
                heads[w] = Math.Max(heads[w], index);
                if (index > heads[w] - Windows[w].Buckets)
                {
                    kept[w].Add((offset, difficulty));
                }
                else
                {
                    dropped++;
                }
            }

            var now = latest + (random.Next(5_000) * frequency / 1000);
            for (var w = 0; w < Windows.Length; w++)
            {
                var width = Windows[w].BucketSeconds * frequency;
                var newest = now / width;
                var oldest = Math.Max(0, newest - Windows[w].Buckets + 1);
                var summed = kept[w].Where(s => s.Offset / width >= oldest && s.Offset / width <= newest).ToList();
                var estimate = meter.Estimate(Windows[w].Window, origin + now);

                Assert.Equal(summed.Count, estimate.ShareCount);
                Assert.Equal(summed.Sum(s => s.Difficulty), estimate.DifficultySum, 1e-9);
                checks++;
            }
        }

        Assert.True(checks > 3_000, $"only {checks} checks");
        Assert.True(dropped > 100, $"only {dropped} shares were too old for a ring");
    }
}
