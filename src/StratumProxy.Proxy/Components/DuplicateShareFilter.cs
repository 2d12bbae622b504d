namespace StratumProxy.Proxy.Components;

/// <summary>
/// What makes a share unique within one job. All fields are parsed numbers, so the hex case the miner used cannot
/// matter. <see cref="Extranonce2"/> holds up to 8 bytes (the miner's extranonce2 size is fixed per connection, so
/// its length needs no field); <see cref="Version"/> is the rolled version actually hashed (0 without rolling is fine
/// as long as the caller is consistent).
/// </summary>
public readonly struct ShareKey(uint extranonce1, ulong extranonce2, uint ntime, uint nonce, uint version) : IEquatable<ShareKey>
{
    public ulong Extranonce2 { get; } = extranonce2;

    public uint Extranonce1 { get; } = extranonce1;

    public uint NTime { get; } = ntime;

    public uint Nonce { get; } = nonce;

    public uint Version { get; } = version;

    public static bool operator ==(ShareKey left, ShareKey right) => left.Equals(right);

    public static bool operator !=(ShareKey left, ShareKey right) => !left.Equals(right);

    public bool Equals(ShareKey other) =>
        Extranonce2 == other.Extranonce2 && Extranonce1 == other.Extranonce1 && NTime == other.NTime
        && Nonce == other.Nonce && Version == other.Version;

    public override bool Equals(object? obj) => obj is ShareKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Extranonce1, Extranonce2, NTime, Nonce, Version);
}

/// <summary>Outcome of <see cref="DuplicateShareFilter.Add"/>.</summary>
public enum ShareFilterResult
{
    /// <summary>First time this share is seen for the job; it is now recorded.</summary>
    Added,

    /// <summary>Seen before for this job: answer error 22 (duplicate share).</summary>
    Duplicate,

    /// <summary>The job is not open (never opened, retired by clean_jobs, or evicted): answer error 21 (stale).</summary>
    UnknownJob,

    /// <summary>
    /// The job already holds <see cref="DuplicateShareFilter.MaxSharesPerJob"/> shares, so uniqueness cannot be
    /// proved; the share is not recorded and must not be forwarded. Answer error 20 ("too many shares for this
    /// job") and count it: with a sensible capacity this only happens to a miner replaying or flooding, and the next
    /// job starts empty.
    /// </summary>
    JobFull,
}

/// <summary>
/// Detects duplicate shares per job, for one scope the caller chooses (typically one upstream connection, whose
/// miners are told apart by extranonce1 in the key).
/// </summary>
/// <remarks>
/// <para><b>Lifecycle.</b> <see cref="OpenJob"/> when a job is sent to miners; with <c>cleanJobs</c> every other job is
/// retired in bulk first, as mining.notify's clean_jobs says. At most <see cref="MaxJobs"/> jobs stay open: opening
/// one more retires the oldest (pools that never send clean_jobs cannot grow memory); the job book should keep the
/// same limit so a share on an evicted job is stale there too.</para>
/// <para><b>Memory.</b> At most MaxJobs × MaxSharesPerJob keys (about 36 bytes each in a HashSet). Size
/// <c>maxSharesPerJob</c> at least miners × longest job lifetime ÷ target share interval, with headroom; e.g. 5,000
/// miners, 120 s jobs, 10 s interval → 60,000; the default 262,144 covers ~20,000 such miners.</para>
/// <para><b>Allocation.</b> Retired jobs' sets go to a free list and are reused after <c>Clear()</c>, which keeps
/// their capacity, so once the sets have grown to the working size neither <see cref="Add"/> nor
/// <see cref="OpenJob"/> allocates. <see cref="ShareKey"/> is an <see cref="IEquatable{T}"/> struct: no boxing.</para>
/// <para><b>Threads.</b> One lock around each call: shares of many miner sessions on the same upstream arrive on
/// different threads, and the critical section is one hash lookup.</para>
/// </remarks>
public sealed class DuplicateShareFilter
{
    public const int DefaultMaxSharesPerJob = 262_144;
    public const int DefaultMaxJobs = 16;
    public const int DefaultInitialSharesPerJob = 1024;

    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, JobEntry> _jobs;
    private readonly Stack<JobEntry> _free;
    private readonly int _initialSharesPerJob;
    private long _sequence;

    /// <param name="maxSharesPerJob">Shares recorded per job before <see cref="ShareFilterResult.JobFull"/>.</param>
    /// <param name="maxJobs">Jobs open at once before the oldest is evicted.</param>
    /// <param name="initialSharesPerJob">Capacity each job's set starts with (it grows up to the maximum).</param>
    public DuplicateShareFilter(int maxSharesPerJob = DefaultMaxSharesPerJob, int maxJobs = DefaultMaxJobs, int initialSharesPerJob = DefaultInitialSharesPerJob)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSharesPerJob, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxJobs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(initialSharesPerJob, 0);

        MaxSharesPerJob = maxSharesPerJob;
        MaxJobs = maxJobs;
        _initialSharesPerJob = Math.Min(initialSharesPerJob, maxSharesPerJob);
        _jobs = new Dictionary<ulong, JobEntry>(maxJobs + 1);
        _free = new Stack<JobEntry>(maxJobs + 1);
    }

    public int MaxSharesPerJob { get; }

    public int MaxJobs { get; }

    /// <summary>Jobs currently open.</summary>
    public int JobCount
    {
        get
        {
            lock (_gate)
            {
                return _jobs.Count;
            }
        }
    }

    /// <summary>Shares recorded for a job; 0 when it is not open.</summary>
    public int ShareCount(ulong jobId)
    {
        lock (_gate)
        {
            return _jobs.TryGetValue(jobId, out var entry) ? entry.Shares.Count : 0;
        }
    }

    public bool IsOpen(ulong jobId)
    {
        lock (_gate)
        {
            return _jobs.ContainsKey(jobId);
        }
    }

    /// <summary>
    /// Opens a job for shares. With <paramref name="cleanJobs"/> all other jobs are retired first. Opening a job
    /// that is already open keeps its shares.
    /// </summary>
    public void OpenJob(ulong jobId, bool cleanJobs)
    {
        lock (_gate)
        {
            if (cleanJobs)
            {
                foreach (var (id, entry) in _jobs)
                {
                    if (id != jobId)
                    {
                        Recycle(entry);
                        _jobs.Remove(id);
                    }
                }
            }

            if (_jobs.ContainsKey(jobId))
            {
                return;
            }

            if (_jobs.Count >= MaxJobs)
            {
                EvictOldest();
            }

            var fresh = _free.Count > 0 ? _free.Pop() : new JobEntry(_initialSharesPerJob);
            fresh.Sequence = ++_sequence;
            _jobs.Add(jobId, fresh);
        }
    }

    /// <summary>Records a share, or says why it cannot be.</summary>
    public ShareFilterResult Add(ulong jobId, in ShareKey key)
    {
        lock (_gate)
        {
            if (!_jobs.TryGetValue(jobId, out var entry))
            {
                return ShareFilterResult.UnknownJob;
            }

            var shares = entry.Shares;
            if (shares.Count >= MaxSharesPerJob)
            {
                return shares.Contains(key) ? ShareFilterResult.Duplicate : ShareFilterResult.JobFull;
            }

            return shares.Add(key) ? ShareFilterResult.Added : ShareFilterResult.Duplicate;
        }
    }

    /// <summary>True when the share was recorded; false for a duplicate, and also for an unknown or full job
    /// (use <see cref="Add"/> to tell them apart).</summary>
    public bool TryAdd(ulong jobId, in ShareKey key) => Add(jobId, key) == ShareFilterResult.Added;

    /// <summary>Retires one job; false when it was not open.</summary>
    public bool Retire(ulong jobId)
    {
        lock (_gate)
        {
            if (!_jobs.Remove(jobId, out var entry))
            {
                return false;
            }

            Recycle(entry);
            return true;
        }
    }

    /// <summary>Retires every job (for example when the upstream connection is lost).</summary>
    public void RetireAll()
    {
        lock (_gate)
        {
            foreach (var entry in _jobs.Values)
            {
                Recycle(entry);
            }

            _jobs.Clear();
        }
    }

    private void EvictOldest()
    {
        var oldestId = 0UL;
        var oldestSequence = long.MaxValue;
        foreach (var (id, entry) in _jobs)
        {
            if (entry.Sequence < oldestSequence)
            {
                oldestSequence = entry.Sequence;
                oldestId = id;
            }
        }

        if (_jobs.Remove(oldestId, out var oldest))
        {
            Recycle(oldest);
        }
    }

    private void Recycle(JobEntry entry)
    {
        entry.Shares.Clear();
        _free.Push(entry);
    }

    private sealed class JobEntry(int capacity)
    {
        public HashSet<ShareKey> Shares { get; } = new(capacity);

        public long Sequence { get; set; }
    }
}
