using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace StratumProxy.Stratum.Mining;

/// <summary>
/// The 80-byte block header and Stratum's byte orders. mining.notify sends prevhash as the header's 32 bytes with
/// each 4-byte word reversed, and version/nbits/ntime/nonce as big-endian hex; the header stores those four
/// little-endian and prevhash/merkle root in internal order.
/// </summary>
public static class BlockHeader
{
    public const int Size = 80;
    public const int VersionOffset = 0;
    public const int PrevHashOffset = 4;
    public const int MerkleRootOffset = 36;
    public const int NTimeOffset = 68;
    public const int NBitsOffset = 72;
    public const int NonceOffset = 76;

    /// <summary>
    /// Converts between Stratum's prevhash and header byte order by reversing each 4-byte word (its own inverse).
    /// </summary>
    public static void SwapPrevHashWords(ReadOnlySpan<byte> source32, Span<byte> destination32)
    {
        if (source32.Length != 32 || destination32.Length < 32)
        {
            throw new ArgumentException("prevhash is 32 bytes.", nameof(source32));
        }

        for (var i = 0; i < 32; i += 4)
        {
            var word = BinaryPrimitives.ReadUInt32LittleEndian(source32[i..]);
            BinaryPrimitives.WriteUInt32BigEndian(destination32[i..], word);
        }
    }

    /// <summary>Reverses 32 bytes: internal (header) order ↔ display order of hashes as explorers and RPC show them.</summary>
    public static void ReverseHash(ReadOnlySpan<byte> source32, Span<byte> destination32)
    {
        if (source32.Length != 32 || destination32.Length < 32)
        {
            throw new ArgumentException("A hash is 32 bytes.", nameof(source32));
        }

        source32.CopyTo(destination32);
        destination32[..32].Reverse();
    }

    /// <summary>The display form (reversed, lower-case hex) of a 32-byte hash in internal order.</summary>
    public static string ToDisplayHex(ReadOnlySpan<byte> hash32)
    {
        Span<byte> reversed = stackalloc byte[32];
        ReverseHash(hash32, reversed);
        return Hex.EncodeLower(reversed);
    }

    /// <summary>
    /// Writes the 80-byte header. <paramref name="prevHashHeaderOrder"/> is already in header order (see
    /// <see cref="SwapPrevHashWords"/>); the 32-bit fields are values, written little-endian.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(
        Span<byte> destination,
        uint version,
        ReadOnlySpan<byte> prevHashHeaderOrder,
        ReadOnlySpan<byte> merkleRoot,
        uint ntime,
        uint nbits,
        uint nonce)
    {
        if (destination.Length < Size || prevHashHeaderOrder.Length != 32 || merkleRoot.Length != 32)
        {
            throw new ArgumentException("A header needs 80 bytes, a 32-byte prevhash and a 32-byte merkle root.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, version);
        prevHashHeaderOrder.CopyTo(destination[PrevHashOffset..]);
        merkleRoot.CopyTo(destination[MerkleRootOffset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[NTimeOffset..], ntime);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[NBitsOffset..], nbits);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[NonceOffset..], nonce);
    }
}
