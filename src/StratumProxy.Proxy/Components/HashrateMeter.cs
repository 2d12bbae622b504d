using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StratumProxy.Proxy.Components;

/// <summary>The rolling windows of a <see cref="HashrateMeter"/>.</summary>
public enum HashrateWindow
{
    /// <summary>1 minute, 12 buckets of 5 s.</summary>
    OneMinute,

    /// <summary>5 minutes, 20 buckets of 15 s.</summary>
    FiveMinutes,

    /// <summary>1 hour, 60 buckets of 60 s.</summary>
    OneHour,
}

/// <summary>A hashrate estimate over one window.</summary>
/// <param name="HashesPerSecond">Σdifficulty · 2³² / <paramref name="CoveredSeconds"/>; 0 when nothing was covered.</param>
/// <param name="ShareCount">Shares in the covered span.</param>
/// <param name="DifficultySum">Σdifficulty of those shares.</param>
/// <param name="CoveredSeconds">The time the estimate is over (see <see cref="HashrateMeter"/>), at most the window.</param>
/// <param name="RelativeUncertainty">
/// One standard deviation relative to the estimate: √(Σd²) / Σd, which is 1/√n when all n shares have the same
/// difficulty; +∞ with no shares.
/// </param>
public readonly record struct HashrateEstimate(
    double HashesPerSecond,
    long ShareCount,
    double DifficultySum,
    double CoveredSeconds,
    double RelativeUncertainty);

/// <summary>The three windows of a <see cref="HashrateMeter"/> taken from one snapshot.</summary>
public readonly record struct HashrateEstimates(HashrateEstimate OneMinute, HashrateEstimate FiveMinutes, HashrateEstimate OneHour);

/// <summary>
/// Rolling difficulty-weighted share sums in fixed time buckets, for hashrate over 1 min, 5 min and 1 h.
/// </summary>
/// <remarks>
/// <para><b>Estimate.</b> A share of difficulty d stands for d·2³² hashes on average, so hashrate =
/// Σd·2³² / covered time. Shares arrive as a Poisson process, so the sum has variance Σd² and the relative
/// standard error is √(Σd²)/Σd = 1/√n for equal difficulties: 100 shares are ±10 %, 4 shares ±50 %.</para>
/// <para><b>Covered time.</b> Buckets are aligned to the meter's creation. An estimate at time <c>now</c> sums the
/// bucket holding <c>now</c> and the B − 1 before it, and divides by the time from the start of the oldest of those
/// buckets (or from the meter's creation, when the meter is younger than the window) to <c>now</c>. That span lies
/// in (window − bucket width, window], and it is exactly the span the summed shares came from, so the estimate is
/// unbiased at every moment instead of sagging while the newest bucket fills.</para>
/// <para><b>Threads.</b> One writer (the session's read loop calls <see cref="Record"/>) and any number of readers (a
/// metrics scrape calls <see cref="Estimate"/>). A sequence lock: the writer bumps a version to odd, updates one
/// bucket per ring, and bumps it to even; a reader copies the ring and retries if the version was odd or changed.
/// The writer therefore never waits for a scrape and never takes a lock on the share path (one interlocked increment
/// and a few stores), and readers, which are rare, pay the retries. Two concurrent writers are not supported.</para>
/// <para><b>Memory.</b> 92 buckets of 20 bytes per meter in one array (~1.8 KiB), allocated by the first share
/// <see cref="Record"/> counts: a meter that has seen no share (a worker that has not had a share accepted yet) holds
/// none, and estimates as empty buckets would. A bucket holds Σd, Σd² and the count, and each ring keeps the newest
/// bucket index it holds (a bucket's own index is implied by its slot), clearing the buckets it moves past; after the
/// first share <see cref="Record"/> allocates nothing, and <see cref="Estimate"/>/<see cref="EstimateAll"/> never
/// do.</para>
/// </remarks>
public sealed class HashrateMeter
{
    /// <summary>Hashes per unit of difficulty.</summary>
    public const double HashesPerDifficulty = 4294967296.0;

    // The three rings one after the other in one array: (bucket seconds, buckets, first bucket).
    private static readonly (int Seconds, int Length, int Start)[] Rings = [(5, 12, 0), (15, 20, 12), (60, 60, 32)];

    private const int BucketCount = 92;

    // Null until the first share: most of a meter's memory, and an idle worker never needs it.
    private Bucket[]? _buckets;
    private readonly long _origin;
    private readonly double _frequency;
    private Heads _heads = Heads.Empty;
    private int _version;

    public HashrateMeter(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _origin = time.GetTimestamp();
        _frequency = time.TimestampFrequency;
    }

    /// <summary>Window length in seconds.</summary>
    public static double WindowSeconds(HashrateWindow window) => window switch
    {
        HashrateWindow.OneMinute => 60,
        HashrateWindow.FiveMinutes => 300,
        HashrateWindow.OneHour => 3600,
        _ => throw new ArgumentOutOfRangeException(nameof(window)),
    };

    /// <summary>Adds an accepted share of <paramref name="difficulty"/> at <paramref name="timestamp"/>. Single writer.</summary>
    public void Record(double difficulty, long timestamp)
    {
        if (!(difficulty > 0) || double.IsInfinity(difficulty))
        {
            return;
        }

        var offset = Math.Max(0, timestamp - _origin);
        // Allocated before the version turns odd: empty buckets estimate as none do, and an allocation that fails
        // leaves the version even instead of keeping every reader spinning.
        var buckets = _buckets ??= new Bucket[BucketCount];
        Interlocked.Increment(ref _version);
        for (var r = 0; r < Rings.Length; r++)
        {
            Add(buckets, r, offset / Width(r), difficulty);
        }

        Volatile.Write(ref _version, _version + 1);
    }

    /// <summary>The estimate over <paramref name="window"/> as of <paramref name="now"/>. Safe from any thread.</summary>
    public HashrateEstimate Estimate(HashrateWindow window, long now)
    {
        var index = window switch
        {
            HashrateWindow.OneMinute => 0,
            HashrateWindow.FiveMinutes => 1,
            HashrateWindow.OneHour => 2,
            _ => throw new ArgumentOutOfRangeException(nameof(window)),
        };

        Span<HashrateEstimate> totals = stackalloc HashrateEstimate[1];
        return Snapshot(now, index, index, totals)[0];
    }

    /// <summary>All three windows from one consistent snapshot (for a metrics scrape). Safe from any thread.</summary>
    public HashrateEstimates EstimateAll(long now)
    {
        Span<HashrateEstimate> totals = stackalloc HashrateEstimate[3];
        Snapshot(now, 0, 2, totals);
        return new HashrateEstimates(totals[0], totals[1], totals[2]);
    }

    private Span<HashrateEstimate> Snapshot(long now, int firstRing, int lastRing, Span<HashrateEstimate> totals)
    {
        var offset = now - _origin;
        if (offset <= 0)
        {
            totals.Fill(new HashrateEstimate(0, 0, 0, 0, double.PositiveInfinity));
            return totals;
        }

        var spins = new SpinWait();
        while (true)
        {
            var before = Volatile.Read(ref _version);
            if ((before & 1) == 0)
            {
                var buckets = Volatile.Read(ref _buckets);
                for (var r = firstRing; r <= lastRing; r++)
                {
                    var width = Width(r);
                    var newest = offset / width;
                    var oldest = Math.Max(0, newest - Rings[r].Length + 1);
                    Sum(buckets, r, oldest, newest, out var sum, out var sumOfSquares, out var count);
                    var covered = (offset - (oldest * width)) / _frequency;
                    var uncertainty = sum > 0 ? Math.Sqrt(sumOfSquares) / sum : double.PositiveInfinity;
                    totals[r - firstRing] = new HashrateEstimate(sum * HashesPerDifficulty / covered, count, sum, covered, uncertainty);
                }

                // Full fence: the bucket reads above must complete before the version is read again.
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref _version) == before)
                {
                    return totals;
                }
            }

            spins.SpinOnce();
        }
    }

    private long Width(int ring) => (long)(Rings[ring].Seconds * _frequency);

    private void Add(Bucket[] buckets, int ring, long index, double difficulty)
    {
        var (_, length, start) = Rings[ring];
        var compact = (int)index; // a bucket index fits: 2³¹ buckets of 5 s are 340 years
        var head = _heads[ring];
        if (compact > head)
        {
            // The ring moves on: the buckets of the indices it skips (at most the whole ring) start again from zero.
            var first = Math.Max(head + 1, compact - length + 1);
            for (var i = first; i <= compact; i++)
            {
                buckets[start + (i % length)] = default;
            }

            _heads[ring] = head = compact;
        }
        else if (compact <= head - length)
        {
            return; // older than anything the ring still holds
        }

        ref var bucket = ref buckets[start + (compact % length)];
        bucket.Sum += difficulty;
        bucket.SumOfSquares += difficulty * difficulty;
        bucket.Count++;
    }

    private void Sum(Bucket[]? buckets, int ring, long oldest, long newest, out double sum, out double sumOfSquares, out long count)
    {
        var (_, length, start) = Rings[ring];
        sum = 0;
        sumOfSquares = 0;
        count = 0;
        if (buckets is null)
        {
            return; // no share yet: every bucket is empty
        }

        long head = _heads[ring];
        for (var slot = 0; slot < length; slot++)
        {
            // The ring holds the indices head − length + 1 … head; slot s holds the one of them that is s modulo length.
            var index = head - ((head - slot) % length + length) % length;
            if (index >= oldest && index <= newest)
            {
                ref readonly var bucket = ref buckets[start + slot];
                sum += bucket.Sum;
                sumOfSquares += bucket.SumOfSquares;
                count += bucket.Count;
            }
        }
    }

    // 20 bytes: the sums and the count, no index (each ring's head says which index a slot holds).
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct Bucket
    {
        public double Sum;
        public double SumOfSquares;
        public int Count;
    }

    // The newest bucket index each ring holds, −1 before its first share.
    [InlineArray(3)]
    private struct Heads
    {
        private int _element;

        public static Heads Empty
        {
            get
            {
                var heads = default(Heads);
                ((Span<int>)heads).Fill(-1);
                return heads;
            }
        }
    }
}
