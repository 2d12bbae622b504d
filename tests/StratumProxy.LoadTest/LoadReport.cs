using System.Text.Json.Serialization;

namespace StratumProxy.LoadTest;

/// <summary>What one run measured; written as JSON (camelCase).</summary>
public sealed record LoadReport(
    string Target,
    string Mix,
    int Window,
    double Rate,
    DateTimeOffset StartedAt,
    SessionsReport Sessions,
    SubmitsReport Submits,
    IReadOnlyDictionary<string, KindReport> ByKind,
    IReadOnlyDictionary<string, long> ErrorsByCode,
    LatencySummary LatencyMs,
    FanoutReport? Notify,
    ProxyReport? Proxy,
    GeneratorReport Generator);

/// <summary>Sessions opened, and how long the connects took.</summary>
public sealed record SessionsReport(int Requested, long Connected, long Ready, long ConnectFailed, long ClosedByPeer, double ConnectSeconds);

/// <summary>
/// Submit counts over the whole run, and the measured window: submits sent in it, and those of them answered
/// before it closed. <see cref="Mismatched"/> counts answers that differ from what the share was made to get
/// (a valid share rejected, an invalid one accepted, or another error code than expected).
/// </summary>
public sealed record SubmitsReport(
    long Sent,
    long Answered,
    long Unanswered,
    long Accepted,
    long Rejected,
    long Mismatched,
    long UnexpectedAnswers,
    long Malformed,
    long ValidSearchExhausted,
    double WindowSeconds,
    long SentInWindow,
    long AnsweredInWindow,
    double SentPerSecond,
    double AnsweredPerSecond);

/// <summary>One kind of share: sent, its answers, and the error codes it drew.</summary>
public sealed record KindReport(long Sent, long Accepted, long Rejected, string Expected, IReadOnlyDictionary<string, long> ErrorsByCode);

/// <summary>Notify fan-out, from the pool's stamp to each session's copy.</summary>
public sealed record FanoutReport(
    int Jobs,
    int CompleteJobs,
    long Copies,
    long BytesPerCopy,
    LatencySummary CopyMs,
    LatencySummary LastCopyMs,
    IReadOnlyList<JobFanoutReport> PerJob);

/// <summary>One job: copies received, bytes, and its first and last copy (ms after the stamp).</summary>
public sealed record JobFanoutReport(long Copies, long Bytes, double FirstMs, double LastMs);

/// <summary>
/// The process under test, sampled before the connects, after they settled, at both ends of the window and at the
/// end. Growth per session is (settled − before) / ready sessions; native = RSS − managed heap. Each sample also holds
/// the GC's committed memory (live objects and the free space it keeps) when the process exports it: 0 before its
/// first collection, so no growth per session is made of it. Allocated bytes per
/// answered submit are the managed bytes the process allocated in the window over the submits answered in it (jobs,
/// scrapes and timers included), when it exports the counter; GC pause seconds in the window likewise (the part of
/// the window the process stood still for collections).
/// </summary>
public sealed record ProxyReport(
    int Pid,
    ProcessSample? Before,
    ProcessSample? Settled,
    ProcessSample? WindowStart,
    ProcessSample? WindowEnd,
    ProcessSample? End,
    double? CpuSecondsInWindow,
    double? AnsweredPerCpuSecond,
    double? RssPerSessionBytes,
    double? ManagedPerSessionBytes,
    double? NativePerSessionBytes,
    double? RssPerSessionAtEndBytes,
    double? ManagedPerSessionAtEndBytes,
    long? AllocatedBytesInWindow = null,
    double? AllocatedBytesPerAnswered = null,
    double? GcPauseSecondsInWindow = null);

/// <summary>The load generator's own cost (it shares the machine with what it measures).</summary>
public sealed record GeneratorReport(double CpuSeconds, long RssBytes, int Threads, long ValidShareHashes);

/// <summary>
/// What a soak measured: its length and load, the totals the verdict was drawn from, the latency over the whole run,
/// answers other than the share was made to get (not judged: around pool drops a stale or lost answer is right),
/// shares the pools and the rigs saw accepted, and every sample.
/// </summary>
public sealed record SoakReport(
    double Seconds,
    int Sessions,
    double Rate,
    double Churn,
    long Reconnects,
    long ClosedByPeer,
    SoakTotals Totals,
    LatencySummary LatencyMs,
    long Mismatched,
    IReadOnlyDictionary<string, KindReport> ByKind,
    long PoolAccepted,
    long RigAccepted,
    long PoolDrops,
    SoakVerdict Verdict,
    IReadOnlyList<SoakSample> Samples);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LoadReport))]
[JsonSerializable(typeof(PoolSummary))]
[JsonSerializable(typeof(SoakReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
