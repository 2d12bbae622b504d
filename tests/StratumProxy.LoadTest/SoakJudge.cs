using System.Globalization;

namespace StratumProxy.LoadTest;

/// <summary>One reading of the proxy during a soak (every few seconds), and the load tool's counts at that moment.</summary>
public sealed record SoakSample(
    double Seconds,
    long RssBytes,
    int OpenFiles,
    int Threads,
    int PoolThreads,
    long? HeapBytes,
    double CpuSeconds,
    long SessionsReady,
    long Sent,
    long Answered,
    long LatencyCount,
    double P50Ms,
    double P99Ms,
    long Reconnects,
    long ClosedByPeer,
    long PoolDrops,
    long ReloadsApplied,
    long ReloadsRefused,
    long CurtailmentDecisions,
    long UpstreamReconnects)
{
    public const string CsvHeader =
        "seconds,rss_bytes,open_files,threads,pool_threads,heap_bytes,cpu_seconds,sessions_ready,sent,answered,latency_count,p50_ms,p99_ms," +
        "reconnects,closed_by_peer,pool_drops,reloads_applied,reloads_refused,curtailment_decisions,upstream_reconnects";

    public string ToCsv() => string.Join(',', new object?[]
    {
        Math.Round(Seconds, 1), RssBytes, OpenFiles, Threads, PoolThreads, HeapBytes, Math.Round(CpuSeconds, 2), SessionsReady, Sent, Answered, LatencyCount,
        Math.Round(P50Ms, 3), Math.Round(P99Ms, 3), Reconnects, ClosedByPeer, PoolDrops, ReloadsApplied, ReloadsRefused, CurtailmentDecisions, UpstreamReconnects,
    }.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)));
}

/// <summary>
/// What a growth trend may be: the least-squares slope over the judged part of the run (after the warm-up), times
/// the judged part's length, must stay within the larger of an absolute allowance and a fraction of the series'
/// mean there. A run that only wobbles (GC saw-tooth, connections in transit) passes; a steady climb does not.
/// </summary>
/// <remarks>
/// With a <see cref="FloorSeconds"/> window the trend is that of the series' floor: each judged sample stands for
/// the least value among the judged samples of the window ending at it. A managed heap saw-tooths between
/// collections; what a leak moves is the floor after each collection, not the peaks.
/// </remarks>
public sealed record TrendLimit(double Absolute, double Relative, double FloorSeconds = 0);

/// <summary>The limits a soak is judged by.</summary>
public sealed record SoakThresholds
{
    /// <summary>The part of the run, from its start, left out of the trends (allocators, pools and JIT settle).</summary>
    public double WarmupFraction { get; init; } = 0.5;

    /// <summary>RSS: 16 MiB or 5 % of its level over the judged part.</summary>
    public TrendLimit Rss { get; init; } = new(16 * 1024 * 1024, 0.05);

    /// <summary>Open descriptors: 32 or 2 % (sessions in transit move it by a few).</summary>
    public TrendLimit OpenFiles { get; init; } = new(32, 0.02);

    /// <summary>
    /// Threads other than the thread pool's workers (timers, socket engine, watchers, long-running loops): 4 or 10 %.
    /// These are what a leak of dedicated threads moves.
    /// </summary>
    public TrendLimit Threads { get; init; } = new(4, 0.10);

    /// <summary>
    /// The thread pool's workers: their floor over 60 s may move 8 or 25 %. The pool adds workers while its work items
    /// wait for a core (a pool drop's reconnects on a busy machine) and retires each after about 20 s idle, so the count
    /// swings with the machine's load; work items that block for good keep their workers and lift the floor.
    /// </summary>
    public TrendLimit PoolThreads { get; init; } = new(8, 0.25, FloorSeconds: 60);

    /// <summary>Managed heap: its floor over 60 s (it saw-tooths between collections) may move 16 MiB or 10 %.</summary>
    public TrendLimit Heap { get; init; } = new(16 * 1024 * 1024, 0.10, FloorSeconds: 60);

    /// <summary>Fewest samples in the judged part for a trend to mean anything.</summary>
    public int MinJudgedSamples { get; init; } = 5;
}

/// <summary>One series: first and last reading, and its trend over the judged part.</summary>
public sealed record TrendReport(string Name, double Start, double End, double Mean, double SlopePerHour, double Growth, double Allowance, bool Passed);

/// <summary>What the soak's totals were at its end (after the last answers were drained).</summary>
public sealed record SoakTotals(long Sent, long Answered, long AbandonedInFlight, bool ProxyExited, long ReloadsApplied, long ReloadsRefused, long ReloadsWritten);

/// <summary>The verdict: pass or the reasons it failed, and each trend.</summary>
public sealed record SoakVerdict(bool Passed, IReadOnlyList<string> Failures, IReadOnlyList<TrendReport> Trends);

/// <summary>
/// Judges a soak: every submit answered (sent = answered after the drain, none abandoned in flight), the proxy alive
/// to the end, every configuration reload written applied and none refused, answers flowing in every sample after the
/// warm-up (no stall), and no growth trend in RSS, descriptors, threads and managed heap after the warm-up.
/// </summary>
public static class SoakJudge
{
    /// <summary>Least-squares slope of <paramref name="y"/> against <paramref name="x"/> (units of y per unit of x); 0 for fewer than two points.</summary>
    public static double Slope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
        {
            throw new ArgumentException("x and y differ in length");
        }

        var n = x.Count;
        if (n < 2)
        {
            return 0;
        }

        var meanX = x.Average();
        var meanY = y.Average();
        double sxy = 0, sxx = 0;
        for (var i = 0; i < n; i++)
        {
            sxy += (x[i] - meanX) * (y[i] - meanY);
            sxx += (x[i] - meanX) * (x[i] - meanX);
        }

        return sxx == 0 ? 0 : sxy / sxx;
    }

    /// <summary>The trend of one series over the judged samples (seconds → per hour).</summary>
    public static TrendReport Trend(string name, IReadOnlyList<SoakSample> all, IReadOnlyList<SoakSample> judged, Func<SoakSample, double> value, TrendLimit limit)
    {
        ArgumentNullException.ThrowIfNull(all);
        ArgumentNullException.ThrowIfNull(judged);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(limit);
        var x = judged.Select(s => s.Seconds).ToList();
        var raw = judged.Select(value).ToList();
        var y = limit.FloorSeconds <= 0
            ? raw
            : [.. raw.Select((_, i) => Enumerable.Range(0, i + 1).Where(j => x[j] >= x[i] - limit.FloorSeconds).Min(j => raw[j]))];
        var slope = Slope(x, y);
        var span = x.Count > 1 ? x[^1] - x[0] : 0;
        var mean = y.Count > 0 ? y.Average() : 0;
        var growth = slope * span;
        var allowance = Math.Max(limit.Absolute, limit.Relative * mean);
        return new TrendReport(name, all.Count > 0 ? value(all[0]) : 0, all.Count > 0 ? value(all[^1]) : 0, mean, slope * 3600, growth, allowance, growth <= allowance);
    }

    public static SoakVerdict Judge(IReadOnlyList<SoakSample> samples, SoakTotals totals, SoakThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(totals);
        ArgumentNullException.ThrowIfNull(thresholds);
        var failures = new List<string>();
        if (totals.ProxyExited)
        {
            failures.Add("the proxy exited before the end of the run");
        }

        if (totals.Sent == 0)
        {
            failures.Add("no submit was sent");
        }

        if (totals.Answered < totals.Sent)
        {
            failures.Add(Invariant($"{totals.Sent - totals.Answered} of {totals.Sent} submits were never answered"));
        }

        if (totals.AbandonedInFlight > 0)
        {
            failures.Add(Invariant($"{totals.AbandonedInFlight} submits were still unanswered when their miner had waited 10 s to disconnect"));
        }

        if (totals.ReloadsRefused > 0)
        {
            failures.Add(Invariant($"{totals.ReloadsRefused} configuration reloads were refused"));
        }

        if (totals.ReloadsWritten > 0 && totals.ReloadsApplied < totals.ReloadsWritten)
        {
            failures.Add(Invariant($"{totals.ReloadsApplied} of {totals.ReloadsWritten} configuration edits were applied"));
        }

        var trends = new List<TrendReport>();
        if (samples.Count > 0)
        {
            var warmupEnd = samples[0].Seconds + ((samples[^1].Seconds - samples[0].Seconds) * thresholds.WarmupFraction);
            var judged = samples.Where(s => s.Seconds >= warmupEnd).ToList();
            if (judged.Count < thresholds.MinJudgedSamples)
            {
                failures.Add(Invariant($"only {judged.Count} samples after the warm-up (at least {thresholds.MinJudgedSamples} are needed to judge a trend)"));
            }

            for (var i = 1; i < judged.Count; i++)
            {
                if (judged[i].Answered <= judged[i - 1].Answered)
                {
                    failures.Add(Invariant($"no submit was answered between {judged[i - 1].Seconds:F0} s and {judged[i].Seconds:F0} s (a stall)"));
                    break;
                }
            }

            trends.Add(Trend("rss_bytes", samples, judged, s => s.RssBytes, thresholds.Rss));
            trends.Add(Trend("open_files", samples, judged, s => s.OpenFiles, thresholds.OpenFiles));
            trends.Add(Trend("threads", samples, judged, s => s.Threads - s.PoolThreads, thresholds.Threads));
            trends.Add(Trend("pool_threads", samples, judged, s => s.PoolThreads, thresholds.PoolThreads));
            if (samples.All(s => s.HeapBytes is not null))
            {
                trends.Add(Trend("heap_bytes", samples, judged, s => s.HeapBytes ?? 0, thresholds.Heap));
            }
            else
            {
                failures.Add("the managed heap (dotnet_total_memory_bytes) was missing from /metrics");
            }

            foreach (var trend in trends.Where(t => !t.Passed))
            {
                failures.Add(Invariant($"{trend.Name} grows: {trend.Growth:F0} over the judged part (slope {trend.SlopePerHour:F0}/h), above the allowance {trend.Allowance:F0}"));
            }
        }
        else
        {
            failures.Add("no sample was taken");
        }

        return new SoakVerdict(failures.Count == 0, failures, trends);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
