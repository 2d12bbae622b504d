using System.Buffers.Binary;
using StratumProxy.Proxy.Components;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;
using DifficultyMath = StratumProxy.Stratum.Mining.Difficulty;

namespace StratumProxy.Proxy.Sessions;

/// <summary>What <see cref="ShareValidator.Validate"/> found, in the order the checks run.</summary>
public enum ShareCheck : byte
{
    /// <summary>The share meets the difficulty it is credited at (or is a block candidate).</summary>
    Valid,

    /// <summary>extranonce2 is not the size the miner was told.</summary>
    BadExtranonce2Size,

    /// <summary>ntime is before the job's (by more than 10 minutes) or after the job's or the clock's (by more than the roll).</summary>
    NTimeOutOfRange,

    /// <summary>Version bits rolled outside the negotiated mask (or without version rolling).</summary>
    VersionOutsideMask,

    /// <summary>Seen before on this job.</summary>
    Duplicate,

    /// <summary>The job is no longer open for shares.</summary>
    Stale,

    /// <summary>The job holds as many shares as uniqueness can be proved for.</summary>
    JobFull,

    /// <summary>The hash meets neither the job's difficulty nor the current one.</summary>
    LowDifficulty,
}

/// <summary>The verdict on one share, before any pool sees it.</summary>
/// <param name="Check">The outcome.</param>
/// <param name="Version">The block version that was hashed (with the miner's rolled bits applied).</param>
/// <param name="Credited">The difficulty the share is credited at (0 unless valid and meeting a share target).</param>
/// <param name="IsBlock">The hash meets the network target.</param>
/// <param name="ForPool">The hash meets the pool's target (or is a block): the share goes to the pool.</param>
/// <param name="HashDifficulty">The difficulty of the hash itself, computed for block candidates only (0 otherwise).</param>
public readonly record struct ShareVerdict(ShareCheck Check, uint Version, double Credited, bool IsBlock, bool ForPool, double HashDifficulty);

/// <summary>The job a share names, as the validator needs it.</summary>
/// <param name="Id">The proxy's job id (the duplicate filter's and the difficulty memory's key).</param>
/// <param name="Template">The job's coinbase, branches and header fields.</param>
/// <param name="NTime">The job's ntime.</param>
/// <param name="PoolTarget">The pool's share target for the job.</param>
public readonly record struct ShareJob(ulong Id, ShareJobTemplate Template, uint NTime, UInt256 PoolTarget);

/// <summary>The miner's side of a share: its extranonce1 and what it negotiated.</summary>
public readonly ref struct ShareMiner
{
    /// <summary>Creates the miner's side.</summary>
    public ShareMiner(ReadOnlySpan<byte> extranonce1, uint prefix, int extranonce2Size, bool versionRolling, uint versionMask)
    {
        Extranonce1 = extranonce1;
        Prefix = prefix;
        Extranonce2Size = extranonce2Size;
        VersionRolling = versionRolling;
        VersionMask = versionMask;
    }

    /// <summary>The miner's extranonce1 (its prefix m as bytes).</summary>
    public ReadOnlySpan<byte> Extranonce1 { get; }

    /// <summary>m as a number (the duplicate key's extranonce1).</summary>
    public uint Prefix { get; }

    /// <summary>n.</summary>
    public int Extranonce2Size { get; }

    /// <summary>True when version rolling was negotiated.</summary>
    public bool VersionRolling { get; }

    /// <summary>The negotiated version-rolling mask.</summary>
    public uint VersionMask { get; }
}

/// <summary>
/// Judges one miner's shares: extranonce2 size, ntime, version bits, duplicates, the SHA-256d of the rebuilt header,
/// and the difficulty a share is credited at. It remembers the difficulty each job went out with, as firmware applies
/// a new difficulty from the next job on. Pure: no I/O and no clock (the caller passes the time); one instance per
/// session, used by the session's loop only. The duplicate filter it is handed is the upstream connection's, which
/// locks itself.
/// </summary>
public sealed class ShareValidator
{
    /// <summary>
    /// How many jobs sent to the miner remember the difficulty they were sent with (at a job every 30 s, the last four
    /// minutes; a share on an older job is credited at the current difficulty when it meets it). 128 bytes a session.
    /// </summary>
    public const int SentJobHistory = 8;

    /// <summary>How far before the job's ntime a miner may roll (10 minutes, Bitcoin's median-time slack).</summary>
    public const uint MaxNTimeBackwardSeconds = 600;

    private readonly ShareHasher _hasher;
    private readonly SentJob[] _sentJobs = new SentJob[SentJobHistory];
    private int _sentJobsNext;

    /// <summary>Creates a validator that hashes with <paramref name="hasher"/>.</summary>
    public ShareValidator(ShareHasher hasher)
    {
        _hasher = hasher;
    }

    /// <summary>The difficulty the miner was last told (0 before the first).</summary>
    public double Difficulty { get; private set; }

    /// <summary>The share target of <see cref="Difficulty"/>.</summary>
    public UInt256 Target { get; private set; }

    /// <summary>Sets the current difficulty; false when it is the one already in force.</summary>
    public bool SetDifficulty(double difficulty)
    {
        if (difficulty.Equals(Difficulty))
        {
            return false;
        }

        Difficulty = difficulty;
        Target = DifficultyMath.ToTarget(difficulty);
        return true;
    }

    /// <summary>A job goes out to the miner now: it remembers the current difficulty.</summary>
    public void JobSent(ulong jobId)
    {
        _sentJobs[_sentJobsNext] = new SentJob(jobId, Difficulty);
        _sentJobsNext = (_sentJobsNext + 1) % SentJobHistory;
    }

    /// <summary>The jobs sent and the difficulty each went out with, oldest first (a handover carries them).</summary>
    public IEnumerable<(ulong JobId, double Difficulty)> SentJobs()
    {
        for (var i = 0; i < SentJobHistory; i++)
        {
            var entry = _sentJobs[(_sentJobsNext + i) % SentJobHistory];
            if (entry.Difficulty > 0)
            {
                yield return (entry.JobId, entry.Difficulty);
            }
        }
    }

    /// <summary>Remembers jobs sent by another process (oldest first), as if they had been sent here.</summary>
    public void Restore(IEnumerable<(ulong JobId, double Difficulty)> sent)
    {
        ArgumentNullException.ThrowIfNull(sent);
        foreach (var (jobId, difficulty) in sent)
        {
            _sentJobs[_sentJobsNext] = new SentJob(jobId, difficulty);
            _sentJobsNext = (_sentJobsNext + 1) % SentJobHistory;
        }
    }

    /// <summary>
    /// The difficulty a share on <paramref name="jobId"/> is credited at: the harder of the job's own (as sent) and
    /// the current one that the hash meets, else the easier one it meets (ASIC firmware may apply a new difficulty at
    /// once). False when it meets neither.
    /// </summary>
    public bool TryCredit(ulong jobId, in UInt256 hash, out double credited)
    {
        var current = (Difficulty, Target);
        var sent = current;
        foreach (ref readonly var entry in _sentJobs.AsSpan())
        {
            if (entry.JobId == jobId && entry.Difficulty > 0)
            {
                // The ring keeps difficulties only (16 bytes an entry, not 48): the target is rebuilt in the rare
                // case that the job went out at another difficulty than the current one.
                sent = entry.Difficulty.Equals(current.Difficulty) ? current : (entry.Difficulty, DifficultyMath.ToTarget(entry.Difficulty));
                break;
            }
        }

        var easier = sent.Difficulty <= current.Difficulty ? sent : current;
        var harder = sent.Difficulty <= current.Difficulty ? current : sent;
        if (hash <= harder.Target)
        {
            credited = harder.Difficulty;
            return true;
        }

        if (hash <= easier.Target)
        {
            credited = easier.Difficulty;
            return true;
        }

        credited = 0;
        return false;
    }

    /// <summary>
    /// Judges a share on <paramref name="job"/>. The checks run in this order: extranonce2 size, ntime, version bits,
    /// duplicate (which records the share), hash and credit. <paramref name="nowUnixSeconds"/> is the wall clock.
    /// </summary>
    public ShareVerdict Validate(in ShareJob job, in ShareMiner miner, in SubmitRequest submit, uint nowUnixSeconds, uint maxNTimeRollSeconds, DuplicateShareFilter duplicates)
    {
        ArgumentNullException.ThrowIfNull(duplicates);
        var extranonce2 = submit.Extranonce2.Span;
        if (extranonce2.Length != miner.Extranonce2Size)
        {
            return Refused(ShareCheck.BadExtranonce2Size);
        }

        if (submit.NTime < job.NTime - Math.Min(job.NTime, MaxNTimeBackwardSeconds) || submit.NTime > job.NTime + maxNTimeRollSeconds || submit.NTime > nowUnixSeconds + maxNTimeRollSeconds)
        {
            return Refused(ShareCheck.NTimeOutOfRange);
        }

        var version = job.Template.Version;
        if (submit.HasVersionBits)
        {
            if (!miner.VersionRolling || !VersionRolling.IsWithinMask(submit.VersionBits, miner.VersionMask))
            {
                return Refused(ShareCheck.VersionOutsideMask);
            }

            version = VersionRolling.Apply(version, submit.VersionBits, miner.VersionMask);
        }

        var key = new ShareKey(miner.Prefix, ReadExtranonce2(extranonce2), submit.NTime, submit.Nonce, version);
        switch (duplicates.Add(job.Id, key))
        {
            case ShareFilterResult.Duplicate:
                return Refused(ShareCheck.Duplicate);
            case ShareFilterResult.UnknownJob:
                return Refused(ShareCheck.Stale);
            case ShareFilterResult.JobFull:
                return Refused(ShareCheck.JobFull);
        }

        Span<byte> hash = stackalloc byte[32];
        _hasher.ComputeBlockHash(job.Template, miner.Extranonce1, extranonce2, submit.NTime, submit.Nonce, version, hash);
        var value = UInt256.FromLittleEndian(hash);
        var isBlock = value <= job.Template.NetworkTarget;

        // Judged by the difficulty the job was sent with (or the current one, if easier). A block candidate below
        // the share target still goes to the pool, credited nothing (PEERS.md #10).
        if (!TryCredit(job.Id, value, out var credited) && !isBlock)
        {
            return new ShareVerdict(ShareCheck.LowDifficulty, version, 0, false, false, 0);
        }

        return new ShareVerdict(ShareCheck.Valid, version, credited, isBlock, isBlock || value <= job.PoolTarget, isBlock ? DifficultyMath.OfHash(hash) : 0);
    }

    private static ShareVerdict Refused(ShareCheck check) => new(check, 0, 0, false, false, 0);

    private static ulong ReadExtranonce2(ReadOnlySpan<byte> extranonce2)
    {
        Span<byte> padded = stackalloc byte[8];
        padded.Clear();
        extranonce2[..Math.Min(8, extranonce2.Length)].CopyTo(padded);
        return BinaryPrimitives.ReadUInt64LittleEndian(padded);
    }

    private readonly record struct SentJob(ulong JobId, double Difficulty);
}
