using System.Runtime.CompilerServices;
using StratumProxy.Stratum.Crypto;

namespace StratumProxy.Stratum.Mining;

/// <summary>
/// The merkle root of a Stratum job: start from the coinbase's SHA-256d (its txid in internal order) and, for each
/// branch in order, root = SHA-256d(root ‖ branch). Branches are in internal byte order, as mining.notify sends them.
/// </summary>
[SkipLocalsInit]
public static class MerkleRoot
{
    /// <summary>
    /// Folds <paramref name="branches"/> (concatenated 32-byte hashes) onto <paramref name="coinbaseHash"/> and writes
    /// the root (internal order, as it goes into the header) into <paramref name="root"/>. Three compressions per
    /// branch, padding precomputed.
    /// </summary>
    public static void Compute(Sha256Compressor sha, ReadOnlySpan<byte> coinbaseHash, ReadOnlySpan<byte> branches, Span<byte> root)
    {
        ArgumentNullException.ThrowIfNull(sha);
        if (coinbaseHash.Length != 32 || branches.Length % 32 != 0 || root.Length < 32)
        {
            throw new ArgumentException("Hashes are 32 bytes; branches a multiple of 32; the root needs 32 bytes.", nameof(branches));
        }

        Span<byte> pair = stackalloc byte[2 * Sha256Compressor.BlockSize];
        Span<byte> outer = stackalloc byte[Sha256Compressor.BlockSize];
        coinbaseHash.CopyTo(pair);
        PrepareBuffers(pair, outer);
        Fold(sha, pair, outer, branches);
        pair[..32].CopyTo(root);
    }

    /// <inheritdoc cref="Compute(Sha256Compressor, ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/>
    public static void Compute(ReadOnlySpan<byte> coinbaseHash, ReadOnlySpan<byte> branches, Span<byte> root) =>
        Compute(Sha256Compressor.Default, coinbaseHash, branches, root);

    /// <summary>Puts the constant padding into the work buffers <see cref="Fold"/> uses.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PrepareBuffers(Span<byte> pair128, Span<byte> outer64)
    {
        Sha256Padding.Pad64.CopyTo(pair128[Sha256Compressor.BlockSize..]);
        Sha256Padding.Pad32.CopyTo(outer64[Sha256Compressor.DigestSize..]);
    }

    /// <summary>
    /// The fold itself over prepared buffers: <paramref name="pair128"/> is [root | branch | padding block] and
    /// <paramref name="outer64"/> is [inner digest | padding]. The root stays in pair128[0..32).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Fold(Sha256Compressor sha, Span<byte> pair128, Span<byte> outer64, ReadOnlySpan<byte> branches)
    {
        for (var offset = 0; offset < branches.Length; offset += 32)
        {
            branches.Slice(offset, 32).CopyTo(pair128[32..]);
            sha.DoubleHashPadded(pair128, outer64, pair128);
        }
    }
}
