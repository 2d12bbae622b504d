using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using StratumProxy.Stratum.Crypto;

namespace StratumProxy.Stratum.Mining;

/// <summary>
/// Rebuilds a share's block header from a job template plus the miner's extranonce1, extranonce2, ntime, nonce and
/// (rolled) version, and hashes it. Per share, for a coinbase of C bytes after the midstate and B branches, that is
/// ⌈(C+9)/64⌉+1 compressions for the coinbase txid, 3·B for the merkle root and 3 for the header, with every
/// padding block precomputed. No allocation: all buffers are on the stack (a pooled array only for coinbases
/// longer than <see cref="StackCoinbaseLimit"/>).
/// </summary>
[SkipLocalsInit]
public sealed class ShareHasher
{
    /// <summary>Coinbase tails (after the midstate) up to this many bytes, with padding, are built on the stack.</summary>
    public const int StackCoinbaseLimit = 1024;

    private static readonly Lazy<ShareHasher> DefaultInstance = new(() => new ShareHasher(Sha256Compressor.Default));

    public ShareHasher(Sha256Compressor compressor)
    {
        ArgumentNullException.ThrowIfNull(compressor);
        Compressor = compressor;
    }

    /// <summary>A hasher over <see cref="Sha256Compressor.Default"/>.</summary>
    public static ShareHasher Default => DefaultInstance.Value;

    public Sha256Compressor Compressor { get; }

    /// <summary>
    /// Writes the share's SHA-256d block hash (32 bytes, internal order: read it as a little-endian integer, or
    /// reverse it for display) into <paramref name="blockHash"/>, and the 80-byte header into
    /// <paramref name="header"/> unless that is empty. <paramref name="version"/> is the header version after
    /// BIP310 rolling (see <see cref="VersionRolling.Apply"/>).
    /// </summary>
    public void ComputeBlockHash(
        ShareJobTemplate job,
        ReadOnlySpan<byte> extranonce1,
        ReadOnlySpan<byte> extranonce2,
        uint ntime,
        uint nonce,
        uint version,
        Span<byte> blockHash,
        Span<byte> header = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (blockHash.Length < 32)
        {
            throw new ArgumentException("The block hash needs 32 bytes.", nameof(blockHash));
        }

        if (!header.IsEmpty && header.Length < BlockHeader.Size)
        {
            throw new ArgumentException("The header needs 80 bytes.", nameof(header));
        }

        var sha = Compressor;

        // pair: [merkle root | branch | padding block], later reused as the header's two padded blocks.
        Span<byte> pair = stackalloc byte[2 * Sha256Compressor.BlockSize];
        Span<byte> outer = stackalloc byte[Sha256Compressor.BlockSize];
        FoldMerkleRoot(sha, job, extranonce1, extranonce2, pair, outer);

        // The root is already at pair[0..32); the header puts it at offset 36, so build the header around a copy.
        Span<byte> headerBlocks = stackalloc byte[2 * Sha256Compressor.BlockSize];
        BinaryPrimitives.WriteUInt32LittleEndian(headerBlocks, version);
        job.PrevHash.CopyTo(headerBlocks[BlockHeader.PrevHashOffset..]);
        pair[..32].CopyTo(headerBlocks[BlockHeader.MerkleRootOffset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(headerBlocks[BlockHeader.NTimeOffset..], ntime);
        BinaryPrimitives.WriteUInt32LittleEndian(headerBlocks[BlockHeader.NBitsOffset..], job.NBits);
        BinaryPrimitives.WriteUInt32LittleEndian(headerBlocks[BlockHeader.NonceOffset..], nonce);
        Sha256Padding.Pad80.CopyTo(headerBlocks[BlockHeader.Size..]);

        sha.DoubleHashPadded(headerBlocks, outer, blockHash);

        if (!header.IsEmpty)
        {
            headerBlocks[..BlockHeader.Size].CopyTo(header);
        }
    }

    /// <summary>Writes the merkle root (internal order) of the share's coinbase.</summary>
    public void ComputeMerkleRoot(ShareJobTemplate job, ReadOnlySpan<byte> extranonce1, ReadOnlySpan<byte> extranonce2, Span<byte> root)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (root.Length < 32)
        {
            throw new ArgumentException("The root needs 32 bytes.", nameof(root));
        }

        Span<byte> pair = stackalloc byte[2 * Sha256Compressor.BlockSize];
        Span<byte> outer = stackalloc byte[Sha256Compressor.BlockSize];
        FoldMerkleRoot(Compressor, job, extranonce1, extranonce2, pair, outer);
        pair[..32].CopyTo(root);
    }

    /// <summary>
    /// Hashes the coinbase and folds the branches: the merkle root (internal order) ends in <c>pair[0..32)</c>.
    /// <paramref name="pair"/> is two blocks, <paramref name="outer"/> one; both are scratch.
    /// </summary>
    private static void FoldMerkleRoot(
        Sha256Compressor sha, ShareJobTemplate job, ReadOnlySpan<byte> extranonce1, ReadOnlySpan<byte> extranonce2, Span<byte> pair, Span<byte> outer)
    {
        MerkleRoot.PrepareBuffers(pair, outer);
        HashCoinbase(sha, job, extranonce1, extranonce2, outer);
        var state = Sha256State.Initial;
        sha.Compress(ref state, outer);
        state.WriteDigest(pair);
        MerkleRoot.Fold(sha, pair, outer, job.MerkleBranches);
    }

    /// <summary>Writes coinbase1 ‖ extranonce1 ‖ extranonce2 ‖ coinbase2 (the coinbase transaction) and returns its length.</summary>
    public static int WriteCoinbase(ShareJobTemplate job, ReadOnlySpan<byte> extranonce1, ReadOnlySpan<byte> extranonce2, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(job);
        var length = job.CoinbaseLength(extranonce1.Length, extranonce2.Length);
        if (destination.Length < length)
        {
            throw new ArgumentException($"The coinbase needs {length} bytes.", nameof(destination));
        }

        var position = 0;
        Append(destination, ref position, job.Coinbase1);
        Append(destination, ref position, extranonce1);
        Append(destination, ref position, extranonce2);
        Append(destination, ref position, job.Coinbase2);
        return length;
    }

    /// <summary>
    /// First SHA-256 of the coinbase, resumed from the job's midstate: the remaining bytes of coinbase1, the
    /// extranonces, coinbase2 and the padding are laid out once and compressed in one call. Leaves the digest in
    /// outer64[0..32) (whose second half already holds the 32-byte padding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HashCoinbase(Sha256Compressor sha, ShareJobTemplate job, ReadOnlySpan<byte> extranonce1, ReadOnlySpan<byte> extranonce2, Span<byte> outer64)
    {
        var coinbase1Rest = job.Coinbase1[job.MidstateLength..];
        var tailLength = coinbase1Rest.Length + extranonce1.Length + extranonce2.Length + job.Coinbase2.Length;
        var paddedLength = (tailLength + 9 + Sha256Compressor.BlockSize - 1) & ~(Sha256Compressor.BlockSize - 1);

        byte[]? rented = null;
        var tail = paddedLength <= StackCoinbaseLimit
            ? stackalloc byte[StackCoinbaseLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(paddedLength));
        try
        {
            var position = 0;
            Append(tail, ref position, coinbase1Rest);
            Append(tail, ref position, extranonce1);
            Append(tail, ref position, extranonce2);
            Append(tail, ref position, job.Coinbase2);
            tail[position] = 0x80;
            tail[(position + 1)..(paddedLength - 8)].Clear();
            var totalBits = (ulong)(job.MidstateLength + tailLength) * 8;
            BinaryPrimitives.WriteUInt64BigEndian(tail[(paddedLength - 8)..], totalBits);

            var state = job.Coinbase1Midstate;
            sha.Compress(ref state, tail[..paddedLength]);
            state.WriteDigest(outer64);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Append(Span<byte> destination, ref int position, ReadOnlySpan<byte> source)
    {
        source.CopyTo(destination[position..]);
        position += source.Length;
    }
}
