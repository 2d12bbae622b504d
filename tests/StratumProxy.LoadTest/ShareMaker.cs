using System.Buffers.Binary;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.LoadTest;

/// <summary>A job as one session received it.</summary>
internal sealed class SessionJob(NotifyMessage notify, byte[] jobId, double difficulty)
{
    private ShareJobTemplate? _template;

    public NotifyMessage Notify { get; } = notify;

    public byte[] JobId { get; } = jobId;

    /// <summary>The session's difficulty when the job arrived (the one the job is judged at).</summary>
    public double Difficulty { get; } = difficulty;

    /// <summary>Built on first use: a session that only sends bad nonces at a tight target never needs it.</summary>
    public ShareJobTemplate Template => _template ??= ShareJobTemplate.Create(
        Notify.PrevHash,
        Notify.Coinbase1,
        Notify.Coinbase2,
        [.. Notify.MerkleBranches.SelectMany(b => b)],
        Notify.Version,
        Notify.NBits,
        Notify.NTime);
}

/// <summary>One submit's fields.</summary>
internal readonly record struct ShareFields(byte[] JobId, byte[] Extranonce2, uint NTime, uint Nonce, uint? VersionBits);

/// <summary>
/// Makes the shares of one session with the product's share math (<see cref="ShareHasher"/>, the SHA-256 compressor,
/// <see cref="BlockHeader"/>): valid ones by a nonce search from the header midstate (two compressions a nonce), each
/// re-checked by rebuilding the whole header as a pool does; bad ones by a nonce whose hash misses the target.
/// Not thread-safe: the owning session calls it under its lock.
/// </summary>
internal sealed class ShareMaker(Random random)
{
    /// <summary>Below this chance of a random nonce meeting the target, a bad nonce is not re-checked.</summary>
    private const double NegligibleChance = 1e-6;

    private readonly byte[] _header = new byte[BlockHeader.Size];
    private ulong _extranonce2Counter = (ulong)random.NextInt64();

    /// <summary>Nonces hashed so far (valid searches).</summary>
    public long Hashes { get; private set; }

    /// <summary>
    /// Searches for a share meeting <paramref name="difficulty"/>; false when <paramref name="maxNonces"/> nonces were
    /// not enough (the target is too hard for this tool to reach).
    /// </summary>
    public bool TryMakeValid(SessionJob job, ReadOnlySpan<byte> extranonce1, int extranonce2Size, uint versionMask, double difficulty, long maxNonces, out ShareFields share)
    {
        var template = job.Template;
        var target = Difficulty.ToTarget(difficulty);
        var extranonce2 = NextExtranonce2(extranonce2Size);
        uint? versionBits = null;
        var version = template.Version;
        if (versionMask != 0)
        {
            // Rolls the lowest granted bit on every other extranonce2, as a version-rolling ASIC does.
            var bits = (_extranonce2Counter & 1) != 0 ? versionMask & (~versionMask + 1) : 0;
            versionBits = bits;
            version = VersionRolling.Apply(template.Version, bits, versionMask);
        }

        Span<byte> root = stackalloc byte[32];
        ShareHasher.Default.ComputeMerkleRoot(template, extranonce1, extranonce2, root);
        BlockHeader.Write(_header, version, template.PrevHash, root, template.NTime, template.NBits, 0);
        var compressor = ShareHasher.Default.Compressor;
        var midstate = compressor.ComputeMidstate(_header.AsSpan(0, 64), out var absorbed);
        Span<byte> digest = stackalloc byte[32];
        var nonce = (uint)random.Next();
        for (long i = 0; i < maxNonces; i++, nonce++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(BlockHeader.NonceOffset), nonce);
            var state = midstate;
            compressor.DoubleHashFrom(ref state, absorbed, _header.AsSpan(absorbed), digest);
            if (Difficulty.MeetsTarget(digest, target))
            {
                Hashes += i + 1;
                Span<byte> check = stackalloc byte[32];
                ShareHasher.Default.ComputeBlockHash(template, extranonce1, extranonce2, template.NTime, nonce, version, check);
                if (!check.SequenceEqual(digest))
                {
                    throw new InvalidOperationException("the midstate search disagrees with ShareHasher");
                }

                share = new ShareFields(job.JobId, extranonce2, template.NTime, nonce, versionBits);
                return true;
            }
        }

        Hashes += maxNonces;
        share = default;
        return false;
    }

    /// <summary>A share of <paramref name="job"/> whose hash misses <paramref name="difficulty"/>'s target.</summary>
    public ShareFields MakeBadNonce(SessionJob job, ReadOnlySpan<byte> extranonce1, int extranonce2Size, double difficulty)
    {
        var extranonce2 = NextExtranonce2(extranonce2Size);
        var nonce = (uint)random.Next();
        var ntime = job.Notify.NTime;
        // A random hash meets difficulty d with chance 1 / (d · 2^32); only a loose target needs the check.
        if (1 / (difficulty * 4294967296.0) >= NegligibleChance)
        {
            var template = job.Template;
            var target = Difficulty.ToTarget(difficulty);
            Span<byte> hash = stackalloc byte[32];
            for (var tries = 0; tries < 64; tries++, nonce++)
            {
                ShareHasher.Default.ComputeBlockHash(template, extranonce1, extranonce2, ntime, nonce, template.Version, hash);
                if (!Difficulty.MeetsTarget(hash, target))
                {
                    break;
                }
            }
        }

        return new ShareFields(job.JobId, extranonce2, ntime, nonce, null);
    }

    /// <summary>A share naming a job that is no longer (or never was) current.</summary>
    public ShareFields MakeStale(byte[] jobId, uint ntime, int extranonce2Size) =>
        new(jobId, NextExtranonce2(extranonce2Size), ntime, (uint)random.Next(), null);

    private byte[] NextExtranonce2(int size)
    {
        // A little-endian counter from a random start, as cgminer keeps it: never repeats within a session.
        var counter = ++_extranonce2Counter;
        var bytes = new byte[size];
        for (var i = 0; i < size && i < 8; i++)
        {
            bytes[i] = (byte)(counter >> (8 * i));
        }

        return bytes;
    }
}
