using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StratumProxy.Stratum.Crypto;

/// <summary>
/// The eight 32-bit chaining words (H0..H7) of SHA-256, in host byte order. Small enough to copy by value, which is
/// what a midstate is: the state after some whole 64-byte blocks, reused by every share of a job.
/// </summary>
[InlineArray(8)]
public struct Sha256State : IEquatable<Sha256State>
{
    private uint _h0;

    // Read through a field so callers get one wide copy instead of eight narrow stores; a wide load of data just
    // written by narrow stores (the native block function loads 16 bytes at a time) stalls store forwarding.
    private static readonly Sha256State InitialValue = CreateInitial();

    /// <summary>The FIPS 180-4 initial hash value.</summary>
    public static Sha256State Initial
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => InitialValue;
    }

    /// <summary>Writes the digest this state stands for (each word big-endian) into the first 32 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void WriteDigest(Span<byte> digest)
    {
        if (digest.Length < Sha256Compressor.DigestSize)
        {
            ThrowDigestTooShort(nameof(digest));
        }

        if (Vector128.IsHardwareAccelerated && BitConverter.IsLittleEndian)
        {
            // Two 16-byte byte-swapping shuffles: the next compression reads this digest back 16 bytes at a time.
            ref var source = ref Unsafe.As<Sha256State, byte>(ref Unsafe.AsRef(in this));
            ref var destination = ref MemoryMarshal.GetReference(digest);
            var swap = Vector128.Create((byte)3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
            Vector128.Shuffle(Vector128.LoadUnsafe(ref source), swap).StoreUnsafe(ref destination);
            Vector128.Shuffle(Vector128.LoadUnsafe(ref source, 16), swap).StoreUnsafe(ref destination, 16);
            return;
        }

        BinaryPrimitives.WriteUInt32BigEndian(digest, this[0]);
        BinaryPrimitives.WriteUInt32BigEndian(digest[4..], this[1]);
        BinaryPrimitives.WriteUInt32BigEndian(digest[8..], this[2]);
        BinaryPrimitives.WriteUInt32BigEndian(digest[12..], this[3]);
        BinaryPrimitives.WriteUInt32BigEndian(digest[16..], this[4]);
        BinaryPrimitives.WriteUInt32BigEndian(digest[20..], this[5]);
        BinaryPrimitives.WriteUInt32BigEndian(digest[24..], this[6]);
        BinaryPrimitives.WriteUInt32BigEndian(digest[28..], this[7]);
    }

    public readonly bool Equals(Sha256State other)
    {
        for (var i = 0; i < 8; i++)
        {
            if (this[i] != other[i])
            {
                return false;
            }
        }

        return true;
    }

    public override readonly bool Equals(object? obj) => obj is Sha256State other && Equals(other);

    public override readonly int GetHashCode() => HashCode.Combine(this[0], this[1], this[2], this[7]);

    public static bool operator ==(Sha256State left, Sha256State right) => left.Equals(right);

    public static bool operator !=(Sha256State left, Sha256State right) => !left.Equals(right);

    private static Sha256State CreateInitial()
    {
        Sha256State s = default;
        s[0] = 0x6a09e667;
        s[1] = 0xbb67ae85;
        s[2] = 0x3c6ef372;
        s[3] = 0xa54ff53a;
        s[4] = 0x510e527f;
        s[5] = 0x9b05688c;
        s[6] = 0x1f83d9ab;
        s[7] = 0x5be0cd19;
        return s;
    }

    private static void ThrowDigestTooShort(string paramName) =>
        throw new ArgumentException("The digest destination needs 32 bytes.", paramName);
}
