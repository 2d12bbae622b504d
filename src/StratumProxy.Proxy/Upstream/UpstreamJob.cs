using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Upstream;

/// <summary>
/// One pool job as miners see it through one upstream connection: the proxy's own job id, coinbase1 rewritten to
/// <c>coinbase1 | E | pad</c> (see <see cref="Components.ExtranonceLayout"/>), the share template with its
/// precomputed midstate, and the notify line rendered once for every miner on the connection.
/// </summary>
public sealed class UpstreamJob
{
    private static long s_nextId;

    private UpstreamJob(UpstreamConnection upstream, NotifyMessage notify, ShareJobTemplate template, byte[] coinbase1, uint ntime, double poolDifficulty, long timestamp, ulong? id = null)
    {
        Id = id ?? (ulong)Interlocked.Increment(ref s_nextId);
        IdText = Encoding.ASCII.GetBytes(Id.ToString("x", CultureInfo.InvariantCulture));
        Upstream = upstream;
        Notify = notify;
        PoolJobId = Encoding.UTF8.GetBytes(notify.JobId);
        Template = template;
        NTime = ntime;
        PoolDifficulty = poolDifficulty;
        PoolTarget = Difficulty.ToTarget(poolDifficulty);
        CreatedTimestamp = timestamp;
        using var writer = new StratumWriter();
        NotifyLine = Render(writer, coinbase1, ntime, notify.CleanJobs);
        CleanNotifyLine = notify.CleanJobs ? NotifyLine : Render(writer, coinbase1, ntime, cleanJobs: true);
    }

    /// <summary>The proxy's job id (unique in the process, increasing).</summary>
    public ulong Id { get; }

    /// <summary>The job id as miners see it: lower-case hex of <see cref="Id"/>.</summary>
    public byte[] IdText { get; }

    /// <summary>The connection the job came from.</summary>
    public UpstreamConnection Upstream { get; }

    /// <summary>The pool's notify, as parsed.</summary>
    public NotifyMessage Notify { get; }

    /// <summary>The pool's job id (UTF-8), used when submitting.</summary>
    public byte[] PoolJobId { get; }

    /// <summary>The share template over the miner-facing coinbase1.</summary>
    public ShareJobTemplate Template { get; }

    /// <summary>The job's ntime (advanced on keepalive refreshes).</summary>
    public uint NTime { get; }

    /// <summary>The pool's difficulty when the job arrived.</summary>
    public double PoolDifficulty { get; }

    /// <summary>The pool's share target for this job: shares at or under it are forwarded.</summary>
    public UInt256 PoolTarget { get; }

    /// <summary>When the job arrived (TimeProvider timestamp).</summary>
    public long CreatedTimestamp { get; }

    /// <summary>The notify line with the pool's clean_jobs flag (ends in a newline).</summary>
    public byte[] NotifyLine { get; }

    /// <summary>The notify line with clean_jobs=true, for miners that just arrived on this connection.</summary>
    public byte[] CleanNotifyLine { get; }

    /// <summary>True once a clean job, a lost connection or an extranonce change retired the job.</summary>
    public bool IsStale { get; private set; }

    internal void MarkStale() => IsStale = true;

    /// <summary>The id the next job gets (a handover carries it, so ids stay unique across the two processes).</summary>
    internal static ulong NextId => (ulong)Interlocked.Read(ref s_nextId) + 1;

    /// <summary>Makes every job created from now on get an id of at least <paramref name="next"/>.</summary>
    internal static void ContinueFrom(ulong next)
    {
        var wanted = (long)next - 1;
        var current = Interlocked.Read(ref s_nextId);
        while (current < wanted && Interlocked.CompareExchange(ref s_nextId, wanted, current) != current)
        {
            current = Interlocked.Read(ref s_nextId);
        }
    }

    internal static UpstreamJob Create(UpstreamConnection upstream, NotifyMessage notify, ReadOnlySpan<byte> coinbase1Suffix, double poolDifficulty, long timestamp, uint? ntime = null, ulong? id = null)
    {
        var coinbase1 = new byte[notify.Coinbase1.Length + coinbase1Suffix.Length];
        notify.Coinbase1.CopyTo(coinbase1, 0);
        coinbase1Suffix.CopyTo(coinbase1.AsSpan(notify.Coinbase1.Length));
        var branches = new byte[notify.MerkleBranches.Length * 32];
        for (var i = 0; i < notify.MerkleBranches.Length; i++)
        {
            notify.MerkleBranches[i].CopyTo(branches, i * 32);
        }

        var time = ntime ?? notify.NTime;
        var template = ShareJobTemplate.Create(notify.PrevHash, coinbase1, notify.Coinbase2, branches, notify.Version, notify.NBits, time);
        return new UpstreamJob(upstream, notify, template, coinbase1, time, poolDifficulty, timestamp, id);
    }

    /// <summary>A copy of this job with a later ntime and a new id (keepalive on a quiet pool).</summary>
    internal UpstreamJob Refresh(uint ntime, long timestamp) =>
        Create(Upstream, Notify with { CleanJobs = false }, Template.Coinbase1[Notify.Coinbase1.Length..], PoolDifficulty, timestamp, ntime);

    private byte[] Render(StratumWriter writer, byte[] coinbase1, uint ntime, bool cleanJobs)
    {
        var buffer = new ArrayBufferWriter<byte>(512 + (coinbase1.Length * 2) + (Notify.Coinbase2.Length * 2) + (Notify.MerkleBranches.Length * 70));
        writer.WriteNotify(buffer, IdText, Notify.PrevHash, coinbase1, Notify.Coinbase2, Notify.MerkleBranches, Notify.Version, Notify.NBits, ntime, cleanJobs);
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>Every live job by the proxy's job id, across all upstream connections (lock-free lookups per share).</summary>
public sealed class JobRegistry
{
    private readonly ConcurrentDictionary<ulong, UpstreamJob> _jobs = new();

    /// <summary>Jobs held now.</summary>
    public int Count => _jobs.Count;

    /// <summary>Adds a job.</summary>
    public void Add(UpstreamJob job) => _jobs[job.Id] = job;

    /// <summary>Removes a job.</summary>
    public void Remove(UpstreamJob job)
    {
        ArgumentNullException.ThrowIfNull(job);

        // Only this job: after a handover to this same process a restored job carries the same id.
        _jobs.TryRemove(new KeyValuePair<ulong, UpstreamJob>(job.Id, job));
    }

    /// <summary>Looks up a job by its id.</summary>
    public bool TryGet(ulong id, out UpstreamJob job) => _jobs.TryGetValue(id, out job!);

    /// <summary>Looks up a job by the id text a miner sent (hex); false for anything unknown.</summary>
    public bool TryGet(ReadOnlySpan<byte> idText, out UpstreamJob job)
    {
        job = null!;
        if (idText.IsEmpty || idText.Length > 16)
        {
            return false;
        }

        ulong id = 0;
        foreach (var c in idText)
        {
            var nibble = c switch
            {
                >= (byte)'0' and <= (byte)'9' => c - '0',
                >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
                _ => -1,
            };
            if (nibble < 0)
            {
                return false;
            }

            id = (id << 4) | (uint)nibble;
        }

        return _jobs.TryGetValue(id, out job!);
    }
}
