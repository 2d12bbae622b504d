using System.Numerics;

namespace StratumProxy.LoadTest;

/// <summary>
/// A lock-free log-linear histogram of durations in microseconds: 32 linear steps per power of two (about 3 %
/// resolution) from 1 µs to ~70 minutes. Recording is one interlocked increment.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBits = 5;
    private const int SubCount = 1 << SubBits;
    private readonly long[] _counts = new long[(64 - SubBits + 1) * SubCount];
    private long _count;
    private long _sumMicros;
    private long _maxMicros;

    public long Count => Interlocked.Read(ref _count);

    public void Record(long micros)
    {
        micros = Math.Max(0, micros);
        Interlocked.Increment(ref _counts[Index(micros)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sumMicros, micros);
        long max;
        while (micros > (max = Interlocked.Read(ref _maxMicros)) && Interlocked.CompareExchange(ref _maxMicros, micros, max) != max)
        {
        }
    }

    /// <summary>The upper edge (µs) of the bucket holding the <paramref name="quantile"/> of recorded values.</summary>
    public long Percentile(double quantile)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(UpperEdge(i), Interlocked.Read(ref _maxMicros));
            }
        }

        return Interlocked.Read(ref _maxMicros);
    }

    public LatencySummary Summarize()
    {
        var count = Count;
        return new LatencySummary(
            count,
            count == 0 ? 0 : Interlocked.Read(ref _sumMicros) / (double)count / 1000,
            Percentile(0.50) / 1000.0,
            Percentile(0.90) / 1000.0,
            Percentile(0.99) / 1000.0,
            Percentile(0.999) / 1000.0,
            Interlocked.Read(ref _maxMicros) / 1000.0);
    }

    private static int Index(long value)
    {
        if (value < SubCount)
        {
            return (int)value;
        }

        var magnitude = 63 - BitOperations.LeadingZeroCount((ulong)value); // ≥ SubBits
        var shift = magnitude - SubBits;
        var sub = (int)((value >> shift) & (SubCount - 1));
        return ((shift + 1) * SubCount) + sub;
    }

    private static long UpperEdge(int index)
    {
        if (index < SubCount)
        {
            return index;
        }

        var shift = (index / SubCount) - 1;
        var sub = index % SubCount;
        return ((long)(SubCount + sub + 1) << shift) - 1;
    }
}

/// <summary>Latency figures in milliseconds.</summary>
public sealed record LatencySummary(long Count, double MeanMs, double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs);
