using System.Diagnostics;
using System.Globalization;

namespace StratumProxy.LoadTest;

/// <summary>
/// One load run: opens the sessions at the connect rate, waits for them to be ready, lets memory settle, sends
/// submits for the warm-up and the measured window, drains the answers and reports. One shared timer paces connects
/// and rate-limited submits; sessions refill their windows from their own receive loops when no rate is set.
/// Bounded in time (every phase has a deadline) and in count (sessions, window, optional submit cap).
/// </summary>
public sealed class LoadRun
{
    private readonly TextWriter? _progress;
    private long _reserved;
    private volatile bool _sending;
    private volatile bool _inWindow;

    public LoadRun(LoadOptions options, TimeProvider? time = null, TextWriter? progress = null)
    {
        options.Validate();
        Options = options;
        Time = time ?? TimeProvider.System;
        _progress = progress;
        Fanout = new FanoutRecorder(Time);
    }

    public LoadOptions Options { get; }

    internal TimeProvider Time { get; }

    internal RunCounters Counters { get; } = new();

    internal LatencyHistogram Latency { get; } = new();

    /// <summary>A second histogram that a caller swaps out per interval (the soak's samples); null when unused.</summary>
    internal LatencyHistogram? IntervalLatency { get; set; }

    internal FanoutRecorder Fanout { get; }

    /// <summary>
    /// Called once every session is ready, before the first submit (tests use it to send a job through the peer).
    /// When it returns true the run waits until every ready session has received one more notify.
    /// </summary>
    public Func<CancellationToken, Task<bool>>? WhenReady { get; init; }

    internal bool Sending => _sending;

    internal bool InWindow => _inWindow;

    /// <summary>Opens or closes sending and the measured window from outside the phases of <see cref="RunAsync"/> (the soak).</summary>
    internal void SetPhase(bool sending, bool inWindow)
    {
        _sending = sending;
        _inWindow = inWindow;
    }

    internal void RecordLatency(long micros)
    {
        Latency.Record(micros);
        IntervalLatency?.Record(micros);
    }

    internal bool TryReserveSubmit() =>
        Options.MaxSubmits is not { } max || Interlocked.Increment(ref _reserved) <= max;

    private bool SubmitCapReached => Options.MaxSubmits is { } max && Interlocked.Read(ref _reserved) >= max;

    public async Task<LoadReport> RunAsync(CancellationToken cancellationToken = default)
    {
        using var http = Options.ProxyMetrics is null ? null : new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var probe = Options.ProxyPid is { } pid ? new ProcessProbe(pid, Options.ProxyMetrics, http) : null;
        var startedAt = Time.GetUtcNow();
        var before = await SampleAsync(probe, cancellationToken);

        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sessions = new LoadSession[Options.Sessions];
        var tasks = new Task[Options.Sessions];
        var connectStart = Time.GetTimestamp();
        await ConnectAsync(sessions, tasks, lifetime.Token, cancellationToken);
        await WaitAsync(() => Counters.ReadyCount + Counters.ConnectFailedCount + Counters.ClosedByPeerCount >= Options.Sessions, Options.ConnectTimeout, cancellationToken);
        var connectSeconds = Time.GetElapsedTime(connectStart).TotalSeconds;
        var ready = Counters.ReadyCount;
        Progress($"{ready} of {Options.Sessions} sessions ready in {connectSeconds:F1} s ({Counters.ConnectFailedCount} connect failures, {Counters.ClosedByPeerCount} closed by the peer)");

        await Task.Delay(Options.Settle, Time, cancellationToken);
        var settled = await SampleAsync(probe, cancellationToken);
        Fanout.Start();
        if (WhenReady is { } hook)
        {
            var notifies = Counters.NotifyCount;
            if (await hook(cancellationToken))
            {
                await WaitAsync(() => Counters.NotifyCount >= notifies + ready, Options.ConnectTimeout, cancellationToken);
            }
        }

        _sending = true;
        if (Options.Warmup > TimeSpan.Zero)
        {
            await PaceAsync(sessions, Options.Warmup, cancellationToken);
        }

        var windowStart = await SampleAsync(probe, cancellationToken);
        var windowStartedAt = Time.GetTimestamp();
        _inWindow = true;
        Progress($"measuring for {Options.Duration.TotalSeconds:F0} s");
        await PaceAsync(sessions, Options.Duration, cancellationToken);
        _inWindow = false;
        var windowSeconds = Time.GetElapsedTime(windowStartedAt).TotalSeconds;
        var windowEnd = await SampleAsync(probe, cancellationToken);
        _sending = false;

        await WaitAsync(() => sessions.All(s => s is null || s.IsClosed || s.InFlight == 0), Options.Drain, cancellationToken);
        var end = await SampleAsync(probe, cancellationToken);

        foreach (var session in sessions)
        {
            session?.Close();
        }

        await lifetime.CancelAsync();
        try
        {
            await Task.WhenAll(tasks.Where(t => t is not null)).WaitAsync(TimeSpan.FromSeconds(30), Time, CancellationToken.None);
        }
        catch (TimeoutException)
        {
            Progress("some sessions did not close within 30 s; reporting anyway");
        }

        return BuildReport(startedAt, connectSeconds, ready, windowSeconds, sessions, probe, before, settled, windowStart, windowEnd, end);
    }

    private async Task ConnectAsync(LoadSession[] sessions, Task[] tasks, CancellationToken sessionToken, CancellationToken cancellationToken)
    {
        var opened = 0;
        var tokens = 1.0;
        var last = Time.GetTimestamp();
        while (true)
        {
            while (tokens >= 1 && opened < sessions.Length)
            {
                var session = new LoadSession(this, opened + 1);
                sessions[opened] = session;
                tasks[opened] = Task.Run(() => session.RunAsync(sessionToken), CancellationToken.None);
                opened++;
                tokens--;
            }

            if (opened == sessions.Length)
            {
                return;
            }

            await Task.Delay(Options.Tick, Time, cancellationToken);
            var now = Time.GetTimestamp();
            tokens = Math.Min(tokens + (Time.GetElapsedTime(last, now).TotalSeconds * Options.ConnectRate), Math.Max(1, Options.ConnectRate));
            last = now;
        }
    }

    /// <summary>Sends for <paramref name="length"/> (or until the submit cap): paced by the rate, or topping up idle windows.</summary>
    private async Task PaceAsync(LoadSession[] sessions, TimeSpan length, CancellationToken cancellationToken)
    {
        var start = Time.GetTimestamp();
        var last = start;
        var tokens = 0.0;
        var cursor = 0;
        while (Time.GetElapsedTime(start) < length && !SubmitCapReached)
        {
            if (Options.Rate == 0)
            {
                // Windows refill from the receive loops; this only starts sessions whose window is empty.
                foreach (var session in sessions)
                {
                    if (session.IsReady && session.InFlight == 0)
                    {
                        session.Submit(int.MaxValue);
                    }
                }
            }
            else
            {
                var now = Time.GetTimestamp();
                tokens = Math.Min(tokens + (Time.GetElapsedTime(last, now).TotalSeconds * Options.Rate), Math.Max(1, Options.Rate));
                last = now;
                SendPaced(sessions, ref tokens, ref cursor);
            }

            await Task.Delay(Options.Tick, Time, cancellationToken);
        }
    }

    /// <summary>
    /// Spends whole tokens on one submit each, round-robin from <paramref name="cursor"/>, skipping sessions whose
    /// window is full or that are not ready (null slots too), until a full turn finds none that takes one.
    /// </summary>
    internal static void SendPaced(IReadOnlyList<LoadSession?> sessions, ref double tokens, ref int cursor)
    {
        var idle = 0;
        while (tokens >= 1 && idle < sessions.Count)
        {
            cursor %= sessions.Count;
            var session = sessions[cursor];
            cursor = (cursor + 1) % sessions.Count;
            if (session is not null && session.Submit(1) == 1)
            {
                tokens--;
                idle = 0;
            }
            else
            {
                idle++;
            }
        }
    }

    private async Task WaitAsync(Func<bool> condition, TimeSpan limit, CancellationToken cancellationToken)
    {
        var start = Time.GetTimestamp();
        while (!condition() && Time.GetElapsedTime(start) < limit)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), Time, cancellationToken);
        }
    }

    private static async Task<ProcessSample?> SampleAsync(ProcessProbe? probe, CancellationToken cancellationToken) =>
        probe is null ? null : await probe.SampleAsync(cancellationToken);

    private LoadReport BuildReport(
        DateTimeOffset startedAt,
        double connectSeconds,
        long ready,
        double windowSeconds,
        LoadSession[] sessions,
        ProcessProbe? probe,
        ProcessSample? before,
        ProcessSample? settled,
        ProcessSample? windowStart,
        ProcessSample? windowEnd,
        ProcessSample? end)
    {
        var (byKind, errors, accepted, rejected, mismatched) = Tally(Counters);
        var sent = Counters.TotalSent;
        var submits = new SubmitsReport(
            sent,
            accepted + rejected,
            sent - accepted - rejected,
            accepted,
            rejected,
            mismatched,
            Counters.UnexpectedAnswers,
            Counters.MalformedCount,
            Counters.ValidSearchExhaustedCount,
            Math.Round(windowSeconds, 3),
            Counters.SentInWindow,
            Counters.AnsweredInWindow,
            Math.Round(Counters.SentInWindow / windowSeconds, 1),
            Math.Round(Counters.AnsweredInWindow / windowSeconds, 1));

        ProxyReport? proxy = null;
        if (probe is not null)
        {
            var cpu = windowEnd is not null && windowStart is not null ? windowEnd.CpuSeconds - windowStart.CpuSeconds : (double?)null;
            var perSession = ready > 0 ? (double)ready : double.NaN;
            double? rss = settled is not null && before is not null ? Math.Round((settled.RssBytes - before.RssBytes) / perSession) : null;
            double? managed = settled?.ManagedHeapBytes is { } m1 && before?.ManagedHeapBytes is { } m0 ? Math.Round((m1 - m0) / perSession) : null;
            long? allocated = windowEnd?.AllocatedBytes is { } a1 && windowStart?.AllocatedBytes is { } a0 ? a1 - a0 : null;
            proxy = new ProxyReport(
                probe.Pid,
                before,
                settled,
                windowStart,
                windowEnd,
                end,
                cpu is { } c ? Math.Round(c, 2) : null,
                cpu is > 0 ? Math.Round(Counters.AnsweredInWindow / cpu.Value) : null,
                rss,
                managed,
                rss is { } r && managed is { } g ? r - g : null,
                windowEnd is not null && before is not null ? Math.Round((windowEnd.RssBytes - before.RssBytes) / perSession) : null,
                windowEnd?.ManagedHeapBytes is { } m2 && before?.ManagedHeapBytes is { } m3 ? Math.Round((m2 - m3) / perSession) : null,
                allocated,
                allocated is { } a && Counters.AnsweredInWindow > 0 ? Math.Round((double)a / Counters.AnsweredInWindow, 2) : null,
                windowEnd?.GcPauseSeconds is { } p1 && windowStart?.GcPauseSeconds is { } p0 ? Math.Round(p1 - p0, 4) : null);
        }

        using var self = Process.GetCurrentProcess();
        var generator = new GeneratorReport(
            Math.Round(self.TotalProcessorTime.TotalSeconds, 2),
            self.WorkingSet64,
            self.Threads.Count,
            sessions.Where(s => s is not null).Sum(s => s.Hashes));

        return new LoadReport(
            $"{Options.Target.Address}:{Options.Target.Port.ToString(CultureInfo.InvariantCulture)}",
            Options.Mix.ToString(),
            Options.Window,
            Options.Rate,
            startedAt,
            new SessionsReport(Options.Sessions, Counters.ConnectedCount, ready, Counters.ConnectFailedCount, Counters.ClosedByPeerCount, Math.Round(connectSeconds, 2)),
            submits,
            byKind,
            errors,
            Latency.Summarize(),
            Fanout.Report(ready),
            proxy,
            generator);
    }

    /// <summary>
    /// Answers per share kind (with their error codes), errors by code over all kinds, accepted and rejected counts,
    /// and the answers other than the kind's expected one (a valid share rejected, an invalid one accepted, or
    /// another error code than expected).
    /// </summary>
    internal static (SortedDictionary<string, KindReport> ByKind, SortedDictionary<string, long> Errors, long Accepted, long Rejected, long Mismatched) Tally(RunCounters run)
    {
        var byKind = new SortedDictionary<string, KindReport>(StringComparer.Ordinal);
        var errors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long mismatched = 0, accepted = 0, rejected = 0;
        foreach (var kind in Enum.GetValues<ShareKind>())
        {
            var counters = run.Of(kind);
            var codes = new SortedDictionary<string, long>(counters.Codes, StringComparer.Ordinal);
            var expected = ExpectedAnswer(kind);
            accepted += counters.AcceptedCount;
            rejected += counters.RejectedCount;
            mismatched += kind == ShareKind.Valid ? counters.RejectedCount : counters.AcceptedCount + codes.Where(c => c.Key != expected).Sum(c => c.Value);
            foreach (var (code, count) in codes)
            {
                errors[code] = errors.GetValueOrDefault(code) + count;
            }

            if (counters.SentCount > 0)
            {
                byKind[ShareMix.Name(kind)] = new KindReport(counters.SentCount, counters.AcceptedCount, counters.RejectedCount, expected, codes);
            }
        }

        return (byKind, errors, accepted, rejected, mismatched);
    }

    /// <summary>The answer a share of <paramref name="kind"/> is made to get: <c>accepted</c> or a Stratum error code.</summary>
    public static string ExpectedAnswer(ShareKind kind) => kind switch
    {
        ShareKind.Valid => "accepted",
        ShareKind.BadNonce => "23",
        ShareKind.Stale => "21",
        _ => "22",
    };

    private void Progress(string text) => _progress?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{Time.GetUtcNow():HH:mm:ss}] {text}"));
}
