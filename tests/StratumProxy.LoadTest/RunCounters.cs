using System.Collections.Concurrent;

namespace StratumProxy.LoadTest;

/// <summary>The run's counts, updated lock-free from every session.</summary>
internal sealed class RunCounters
{
    private readonly KindCounters[] _kinds = [.. Enum.GetValues<ShareKind>().Select(_ => new KindCounters())];
    private long _connected;
    private long _connectFailed;
    private long _closedByPeer;
    private long _ready;
    private long _sentInWindow;
    private long _answeredInWindow;
    private long _malformed;
    private long _notifies;
    private long _unexpectedAnswers;
    private long _validSearchExhausted;

    public long ConnectedCount => Interlocked.Read(ref _connected);

    public long ConnectFailedCount => Interlocked.Read(ref _connectFailed);

    public long ClosedByPeerCount => Interlocked.Read(ref _closedByPeer);

    public long ReadyCount => Interlocked.Read(ref _ready);

    public long SentInWindow => Interlocked.Read(ref _sentInWindow);

    public long AnsweredInWindow => Interlocked.Read(ref _answeredInWindow);

    public long NotifyCount => Interlocked.Read(ref _notifies);

    public long MalformedCount => Interlocked.Read(ref _malformed);

    public long UnexpectedAnswers => Interlocked.Read(ref _unexpectedAnswers);

    public long ValidSearchExhaustedCount => Interlocked.Read(ref _validSearchExhausted);

    public KindCounters Of(ShareKind kind) => _kinds[(int)kind];

    public long TotalSent => _kinds.Sum(k => k.SentCount);

    public long TotalAnswered => _kinds.Sum(k => k.AcceptedCount + k.RejectedCount);

    public void Connected() => Interlocked.Increment(ref _connected);

    public void ConnectFailed() => Interlocked.Increment(ref _connectFailed);

    public void ClosedByPeer() => Interlocked.Increment(ref _closedByPeer);

    public void Ready() => Interlocked.Increment(ref _ready);

    public void Notified() => Interlocked.Increment(ref _notifies);

    public void Malformed() => Interlocked.Increment(ref _malformed);

    public void UnexpectedAnswer() => Interlocked.Increment(ref _unexpectedAnswers);

    public void ValidSearchExhausted() => Interlocked.Increment(ref _validSearchExhausted);

    public void Sent(ShareKind kind, bool inWindow)
    {
        Interlocked.Increment(ref _kinds[(int)kind].Sent);
        if (inWindow)
        {
            Interlocked.Increment(ref _sentInWindow);
        }
    }

    /// <summary>An answer; <paramref name="code"/> is null when accepted, else the error code (or ckpool's reject reason).</summary>
    public void Answered(ShareKind kind, bool accepted, string? code, bool sentInWindow, bool answeredInWindow)
    {
        var counters = _kinds[(int)kind];
        if (accepted)
        {
            Interlocked.Increment(ref counters.Accepted);
        }
        else
        {
            Interlocked.Increment(ref counters.Rejected);
            counters.Codes.AddOrUpdate(code ?? "?", 1, (_, n) => n + 1);
        }

        if (answeredInWindow && sentInWindow)
        {
            Interlocked.Increment(ref _answeredInWindow);
        }
    }

    internal sealed class KindCounters
    {
        public long Sent;
        public long Accepted;
        public long Rejected;

        public ConcurrentDictionary<string, long> Codes { get; } = new(StringComparer.Ordinal);

        public long SentCount => Interlocked.Read(ref Sent);

        public long AcceptedCount => Interlocked.Read(ref Accepted);

        public long RejectedCount => Interlocked.Read(ref Rejected);
    }
}

/// <summary>
/// Notify fan-out: for each stamped job, when each session's copy arrived against the time the pool stamped into
/// it. The first and last copies of a job bound its fan-out.
/// </summary>
internal sealed class FanoutRecorder(TimeProvider time)
{
    private readonly object _gate = new();
    private readonly Dictionary<DateTimeOffset, JobFanout> _jobs = [];
    private long _sinceUtcTicks = long.MaxValue;

    public LatencyHistogram Copies { get; } = new();

    /// <summary>From now on, jobs stamped later are measured (earlier ones arrive with the handshake, not by fan-out).</summary>
    public void Start() => Volatile.Write(ref _sinceUtcTicks, time.GetUtcNow().UtcTicks);

    public void Record(DateTimeOffset stamped, DateTimeOffset arrived, int bytes)
    {
        if (stamped.UtcTicks < Volatile.Read(ref _sinceUtcTicks))
        {
            return;
        }

        var micros = (long)(arrived - stamped).TotalMicroseconds;
        Copies.Record(micros);
        lock (_gate)
        {
            if (!_jobs.TryGetValue(stamped, out var job))
            {
                job = new JobFanout();
                _jobs[stamped] = job;
            }

            job.Count++;
            job.Bytes += bytes;
            job.FirstMicros = Math.Min(job.FirstMicros, micros);
            job.LastMicros = Math.Max(job.LastMicros, micros);
        }
    }

    public FanoutReport? Report(long sessions)
    {
        List<(DateTimeOffset Stamp, JobFanout Job)> jobs;
        lock (_gate)
        {
            jobs = [.. _jobs.Select(p => (p.Key, p.Value)).OrderBy(p => p.Key)];
        }

        if (jobs.Count == 0)
        {
            return null;
        }

        var last = new LatencyHistogram();
        foreach (var (_, job) in jobs.Where(j => j.Job.Count >= sessions))
        {
            last.Record(job.LastMicros);
        }

        return new FanoutReport(
            jobs.Count,
            jobs.Count(j => j.Job.Count >= sessions),
            jobs.Sum(j => j.Job.Count),
            jobs.Sum(j => j.Job.Bytes) / Math.Max(1, jobs.Sum(j => j.Job.Count)),
            Copies.Summarize(),
            last.Summarize(),
            [.. jobs.Select(j => new JobFanoutReport(j.Job.Count, j.Job.Bytes, j.Job.FirstMicros / 1000.0, j.Job.LastMicros / 1000.0))]);
    }

    private sealed class JobFanout
    {
        public long Count;
        public long Bytes;
        public long FirstMicros = long.MaxValue;
        public long LastMicros;
    }
}
