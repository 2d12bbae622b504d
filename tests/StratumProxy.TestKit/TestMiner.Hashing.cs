using System.Buffers.Binary;
using StratumProxy.Stratum.Crypto;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.TestKit;

public sealed partial class TestMiner
{
    /// <summary>Nonces tried per (extranonce2, version) before moving on: about 24 shares at difficulty 1e-5.</summary>
    private const uint NonceSpan = 1u << 20;

    /// <summary>Version-bit values tried per extranonce2 when rolling is granted.</summary>
    private const int VersionsPerExtranonce2 = 4;

    private async Task HashLoopAsync(CancellationToken cancellationToken)
    {
        HashCursor? cursor = null;
        var found = new List<FoundShare>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var work = Volatile.Read(ref _work);
                if (work is null || ShareLimitReached())
                {
                    await _workChanged.WaitUntilAsync(
                        () => cancellationToken.IsCancellationRequested || (Volatile.Read(ref _work) is not null && !ShareLimitReached()),
                        Timeout.InfiniteTimeSpan,
                        () => "work",
                        cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (!ReferenceEquals(cursor?.Work, work))
                {
                    cursor = new HashCursor(work, NextExtranonce2(work.Extranonce2Size), Options.RollNTime ? Options.TimeProvider : null);
                }

                found.Clear();
                cursor.Run(Options.HashesPerYield, found, NextExtranonce2);
                Interlocked.Add(ref _hashes, Options.HashesPerYield);
                foreach (var share in found)
                {
                    if (ShareLimitReached())
                    {
                        break;
                    }

                    await SubmitAsync(work, share).ConfigureAwait(false);
                }

                // Lets the reader and other miners run: bounded CPU and a quick switch to new jobs.
                await Task.Yield();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private bool ShareLimitReached() => Options.ShareLimit is { } limit && Submitted >= limit;

    private byte[] NextExtranonce2(int size)
    {
        // A little-endian counter, as cgminer and bfgminer keep it (PEERS.md #8); never reset, so no two
        // searches of one job share an extranonce2.
        var counter = (ulong)Interlocked.Increment(ref _extranonce2Counter);
        var bytes = new byte[size];
        for (var i = 0; i < size && i < 8; i++)
        {
            bytes[i] = (byte)(counter >> (8 * i));
        }

        return bytes;
    }

    private async Task SubmitAsync(Work work, FoundShare share)
    {
        var session = work.Session;
        JsonRpcId id;
        int index;
        lock (_gate)
        {
            if (session.Connection.IsClosed)
            {
                return;
            }

            index = _submits.Count;
            id = session.NextId(StratumMethod.Submit);
            session.AddPending(id, new PendingRequest(StratumMethod.Submit, index));
            _submits.Add(new SubmitState(
                index + 1,
                session.Number,
                id.ToString(),
                work.JobId,
                Convert.ToHexStringLower(work.Extranonce1),
                Convert.ToHexStringLower(share.Extranonce2),
                share.NTime,
                share.Nonce,
                share.VersionBits,
                work.Difficulty));
        }

        var jobId = System.Text.Encoding.UTF8.GetBytes(work.JobId);
        var sent = await session.Connection.SendAsync((w, o) =>
            w.WriteSubmit(o, id, Options.Worker, jobId, [], share.Extranonce2, share.NTime, share.Nonce, share.VersionBits)).ConfigureAwait(false);
        if (!sent)
        {
            lock (_gate)
            {
                if (_submits[index].Outcome == SubmitOutcome.Pending)
                {
                    _submits[index].Outcome = SubmitOutcome.Unanswered;
                }
            }
        }

        _changed.Notify();
    }

    private readonly record struct FoundShare(byte[] Extranonce2, uint NTime, uint Nonce, uint? VersionBits);

    /// <summary>
    /// Walks the search space of one work item: extranonce2 → version bits → nonce. The header's first 64 bytes are
    /// fixed per (extranonce2, version), so each nonce costs two compressions from a midstate; every hit is
    /// re-checked with <see cref="ShareHasher"/> rebuilding the whole header from the job, as a pool would.
    /// </summary>
    private sealed class HashCursor
    {
        private static readonly byte[] HeaderTailPadding = BuildPadding(80);
        private static readonly byte[] DigestPadding = BuildPadding(32);

        private readonly TimeProvider? _ntimeClock;
        private readonly byte[] _header = new byte[BlockHeader.Size];
        private readonly byte[] _tailBlock = new byte[Sha256Compressor.BlockSize];
        private readonly byte[] _outerBlock = new byte[Sha256Compressor.BlockSize];
        private readonly Sha256Compressor _sha = ShareHasher.Default.Compressor;
        private byte[] _extranonce2;
        private int _versionIndex;
        private uint _versionBits;
        private uint _version;
        private uint _ntime;
        private uint _nonce;
        private Sha256State _midstate;

        public HashCursor(Work work, byte[] extranonce2, TimeProvider? ntimeClock)
        {
            Work = work;
            _extranonce2 = extranonce2;
            _ntimeClock = ntimeClock;
            _ntime = work.Template.NTime;
            HeaderTailPadding.AsSpan(16).CopyTo(_tailBlock.AsSpan(16));
            DigestPadding.AsSpan(32).CopyTo(_outerBlock.AsSpan(32));
            Prepare();
        }

        public Work Work { get; }

        public void Run(int count, List<FoundShare> found, Func<int, byte[]> nextExtranonce2)
        {
            if (_ntimeClock is not null)
            {
                var elapsed = (_ntimeClock.GetUtcNow() - Work.ReceivedAt).TotalSeconds;
                _ntime = Work.Template.NTime + (uint)Math.Max(0, elapsed);
                BinaryPrimitives.WriteUInt32LittleEndian(_tailBlock.AsSpan(BlockHeader.NTimeOffset - 64), _ntime);
            }

            Span<byte> digest = stackalloc byte[32];
            var nonceSpan = Work.Extranonce2Size == 0 ? uint.MaxValue : NonceSpan;
            for (var i = 0; i < count; i++)
            {
                var nonce = _nonce;
                BinaryPrimitives.WriteUInt32LittleEndian(_tailBlock.AsSpan(BlockHeader.NonceOffset - 64), nonce);
                var state = _midstate;
                _sha.Compress(ref state, _tailBlock);
                state.WriteDigest(_outerBlock);
                state = Sha256State.Initial;
                _sha.Compress(ref state, _outerBlock);
                state.WriteDigest(digest);
                if (Stratum.Mining.Difficulty.MeetsTarget(digest, Work.Target))
                {
                    Verify(nonce, digest);
                    found.Add(new FoundShare(_extranonce2, _ntime, nonce, Work.VersionMask == 0 ? null : _versionBits));
                }

                if (++_nonce >= nonceSpan)
                {
                    _nonce = 0;
                    if (Work.VersionMask != 0 && ++_versionIndex < VersionsPerExtranonce2)
                    {
                        Prepare();
                    }
                    else
                    {
                        _versionIndex = 0;
                        _extranonce2 = nextExtranonce2(Work.Extranonce2Size);
                        Prepare();
                    }
                }
            }
        }

        private void Prepare()
        {
            _versionBits = Work.VersionMask == 0 ? 0 : Deposit((uint)_versionIndex + 1, Work.VersionMask);
            _version = Work.VersionMask == 0 ? Work.Template.Version : VersionRolling.Apply(Work.Template.Version, _versionBits, Work.VersionMask);
            Span<byte> root = stackalloc byte[32];
            ShareHasher.Default.ComputeMerkleRoot(Work.Template, Work.Extranonce1, _extranonce2, root);
            BlockHeader.Write(_header, _version, Work.Template.PrevHash, root, _ntime, Work.Template.NBits, 0);
            _midstate = _sha.ComputeMidstate(_header.AsSpan(0, 64), out _);
            _header.AsSpan(64, 16).CopyTo(_tailBlock);
        }

        private void Verify(uint nonce, ReadOnlySpan<byte> digest)
        {
            Span<byte> check = stackalloc byte[32];
            ShareHasher.Default.ComputeBlockHash(Work.Template, Work.Extranonce1, _extranonce2, _ntime, nonce, _version, check);
            if (!check.SequenceEqual(digest))
            {
                throw new InvalidOperationException("The miner's midstate hash disagrees with ShareHasher: a bug in the test kit.");
            }
        }

        /// <summary>Spreads the bits of <paramref name="value"/> over the set bits of <paramref name="mask"/>, low first.</summary>
        private static uint Deposit(uint value, uint mask)
        {
            uint result = 0;
            for (var bit = 0; bit < 32 && value != 0; bit++)
            {
                if ((mask & (1u << bit)) != 0)
                {
                    if ((value & 1) != 0)
                    {
                        result |= 1u << bit;
                    }

                    value >>= 1;
                }
            }

            return result;
        }

        /// <summary>SHA-256 padding of the last block of a message of <paramref name="length"/> bytes (≤ 55 in that block).</summary>
        private static byte[] BuildPadding(int length)
        {
            var block = new byte[Sha256Compressor.BlockSize];
            block[length % Sha256Compressor.BlockSize] = 0x80;
            BinaryPrimitives.WriteUInt64BigEndian(block.AsSpan(56), (ulong)length * 8);
            return block;
        }
    }
}
