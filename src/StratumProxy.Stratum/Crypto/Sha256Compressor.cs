using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace StratumProxy.Stratum.Crypto;

/// <summary>Which SHA-256 block function to use.</summary>
public enum Sha256Implementation
{
    /// <summary>OpenSSL when it loads and passes its self-test, otherwise managed.</summary>
    Auto,

    /// <summary>The portable managed block function.</summary>
    Managed,

    /// <summary>OpenSSL's <c>SHA256_Transform</c>/<c>SHA256_Update</c> from libcrypto (SHA-NI/AVX2 where the CPU has them).</summary>
    OpenSsl,
}

/// <summary>
/// SHA-256 reduced to its block function, so callers can reuse midstates and precomputed padding blocks instead of
/// paying a hash object's per-call overhead. Implementations provide <see cref="Compress"/>; the helpers here
/// (padding, double hashing of the fixed 32-, 64- and 80-byte shapes, midstates) are shared and allocation-free.
/// </summary>
[SkipLocalsInit]
public abstract class Sha256Compressor
{
    public const int BlockSize = 64;
    public const int DigestSize = 32;

    /// <summary>
    /// Set to <c>managed</c> to make <see cref="Default"/> skip OpenSSL (for bisecting a suspected native problem
    /// in the field without a rebuild).
    /// </summary>
    public const string ImplementationEnvironmentVariable = "STRATUMPROXY_SHA256";

    private static readonly Lazy<Sha256Compressor?> OpenSslInstance = new(OpenSslSha256Compressor.TryCreate);
    private static readonly Lazy<Sha256Compressor> DefaultInstance = new(SelectDefault);

    /// <summary>The portable managed block function; always available.</summary>
    public static Sha256Compressor Managed { get; } = new ManagedSha256Compressor();

    /// <summary>OpenSSL's block function, or null when libcrypto cannot be loaded or fails its self-test.</summary>
    public static Sha256Compressor? OpenSsl => OpenSslInstance.Value;

    /// <summary>The fastest available implementation, probed once per process.</summary>
    public static Sha256Compressor Default => DefaultInstance.Value;

    /// <summary>A short name for logs and metrics, e.g. <c>openssl</c> or <c>managed</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Returns the requested implementation; <see cref="Sha256Implementation.OpenSsl"/> throws when it is unavailable.</summary>
    public static Sha256Compressor Get(Sha256Implementation implementation) => implementation switch
    {
        Sha256Implementation.Auto => Default,
        Sha256Implementation.Managed => Managed,
        Sha256Implementation.OpenSsl => OpenSsl ?? throw new PlatformNotSupportedException(
            $"OpenSSL's SHA-256 ({OpenSslSha256Compressor.LibraryName}) could not be loaded or failed its self-test."),
        _ => throw new ArgumentOutOfRangeException(nameof(implementation), implementation, "Unknown SHA-256 implementation."),
    };

    /// <summary>Runs the block function over <paramref name="blocks"/>, whose length must be a multiple of 64.</summary>
    public abstract void Compress(ref Sha256State state, ReadOnlySpan<byte> blocks);

    /// <summary>SHA-256 of <paramref name="data"/> into the first 32 bytes of <paramref name="digest"/>.</summary>
    public void Hash(ReadOnlySpan<byte> data, Span<byte> digest)
    {
        var state = Sha256State.Initial;
        HashFrom(ref state, 0, data, digest);
    }

    /// <summary>
    /// Finishes a hash whose first <paramref name="absorbedLength"/> bytes (a multiple of 64) are already in
    /// <paramref name="state"/> (a midstate), absorbing <paramref name="rest"/> and the padding.
    /// </summary>
    public void HashFrom(ref Sha256State state, long absorbedLength, ReadOnlySpan<byte> rest, Span<byte> digest)
    {
        if (absorbedLength < 0 || absorbedLength % BlockSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(absorbedLength), absorbedLength, "Must be a non-negative multiple of 64.");
        }

        var whole = rest.Length & ~(BlockSize - 1);
        if (whole > 0)
        {
            Compress(ref state, rest[..whole]);
        }

        Span<byte> last = stackalloc byte[2 * BlockSize];
        var padded = WritePadded(rest[whole..], (ulong)(absorbedLength + rest.Length), last);
        Compress(ref state, last[..padded]);
        state.WriteDigest(digest);
    }

    /// <summary>SHA-256d (SHA-256 of the SHA-256) of <paramref name="data"/>.</summary>
    public void DoubleHash(ReadOnlySpan<byte> data, Span<byte> digest)
    {
        var state = Sha256State.Initial;
        DoubleHashFrom(ref state, 0, data, digest);
    }

    /// <summary>SHA-256d continuing from a midstate: the outer hash runs over the inner digest with fixed padding.</summary>
    public void DoubleHashFrom(ref Sha256State state, long absorbedLength, ReadOnlySpan<byte> rest, Span<byte> digest)
    {
        Span<byte> inner = stackalloc byte[BlockSize];
        HashFrom(ref state, absorbedLength, rest, inner);
        Sha256Padding.Pad32.CopyTo(inner[DigestSize..]);
        HashOneBlock(inner, digest);
    }

    /// <summary>SHA-256d of exactly 32 bytes: two compressions, both padding halves precomputed.</summary>
    public void DoubleHash32(ReadOnlySpan<byte> value32, Span<byte> digest)
    {
        CheckLength(value32, 32, nameof(value32));
        Span<byte> block = stackalloc byte[BlockSize];
        value32[..32].CopyTo(block);
        Sha256Padding.Pad32.CopyTo(block[DigestSize..]);
        HashOneBlock(block, block);
        HashOneBlock(block, digest);
    }

    /// <summary>SHA-256d of exactly 64 bytes (a merkle pair): three compressions, the padding block precomputed.</summary>
    public void DoubleHash64(ReadOnlySpan<byte> value64, Span<byte> digest)
    {
        CheckLength(value64, 64, nameof(value64));
        Span<byte> blocks = stackalloc byte[2 * BlockSize];
        value64[..64].CopyTo(blocks);
        Sha256Padding.Pad64.CopyTo(blocks[BlockSize..]);
        DoubleHashPadded(blocks, digest);
    }

    /// <summary>SHA-256d of exactly 80 bytes (a block header): three compressions, the padding precomputed.</summary>
    public void DoubleHash80(ReadOnlySpan<byte> header80, Span<byte> digest)
    {
        CheckLength(header80, 80, nameof(header80));
        Span<byte> blocks = stackalloc byte[2 * BlockSize];
        header80[..80].CopyTo(blocks);
        Sha256Padding.Pad80.CopyTo(blocks[80..]);
        DoubleHashPadded(blocks, digest);
    }

    /// <summary>
    /// The state after the whole 64-byte blocks of <paramref name="prefix"/>; <paramref name="absorbedLength"/> says
    /// how many bytes that is (the rest must be hashed with <see cref="HashFrom"/>).
    /// </summary>
    public Sha256State ComputeMidstate(ReadOnlySpan<byte> prefix, out int absorbedLength)
    {
        var state = Sha256State.Initial;
        absorbedLength = prefix.Length & ~(BlockSize - 1);
        if (absorbedLength > 0)
        {
            Compress(ref state, prefix[..absorbedLength]);
        }

        return state;
    }

    /// <summary>
    /// SHA-256d of a message already laid out with its padding (whole blocks): inner compressions, then one outer
    /// block over the 32-byte inner digest.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void DoubleHashPadded(ReadOnlySpan<byte> paddedBlocks, Span<byte> digest)
    {
        Span<byte> outer = stackalloc byte[BlockSize];
        Sha256Padding.Pad32.CopyTo(outer[DigestSize..]);
        DoubleHashPadded(paddedBlocks, outer, digest);
    }

    /// <summary>
    /// The same over a caller's outer block whose padding (from byte 32) is already in place; the inner digest is
    /// written into its first 32 bytes. <paramref name="digest"/> may overlap <paramref name="paddedBlocks"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void DoubleHashPadded(ReadOnlySpan<byte> paddedBlocks, Span<byte> paddedOuter, Span<byte> digest)
    {
        var state = Sha256State.Initial;
        Compress(ref state, paddedBlocks);
        state.WriteDigest(paddedOuter);
        HashOneBlock(paddedOuter, digest);
    }

    /// <summary>SHA-256 of one already padded block from the initial state; input and output may overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void HashOneBlock(ReadOnlySpan<byte> block, Span<byte> digest)
    {
        var state = Sha256State.Initial;
        Compress(ref state, block[..BlockSize]);
        state.WriteDigest(digest);
    }

    /// <summary>Copies a tail shorter than a block plus the FIPS padding into <paramref name="destination"/> (128 bytes); returns 64 or 128.</summary>
    internal static int WritePadded(ReadOnlySpan<byte> tail, ulong totalLength, Span<byte> destination)
    {
        var padded = tail.Length + 9 <= BlockSize ? BlockSize : 2 * BlockSize;
        tail.CopyTo(destination);
        destination[tail.Length] = 0x80;
        destination[(tail.Length + 1)..(padded - 8)].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(destination[(padded - 8)..], totalLength * 8);
        return padded;
    }

    /// <summary>Throws unless the length is a whole number of blocks; implementations call this first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static void CheckBlocks(int length)
    {
        if ((length & (BlockSize - 1)) != 0)
        {
            ThrowNotWholeBlocks(length, "blocks");
        }
    }

    private static void CheckLength(ReadOnlySpan<byte> value, int length, string name)
    {
        if (value.Length != length)
        {
            throw new ArgumentException($"Expected exactly {length} bytes, got {value.Length}.", name);
        }
    }

    private static void ThrowNotWholeBlocks(int length, string paramName) =>
        throw new ArgumentException($"SHA-256 compresses whole 64-byte blocks; got {length} bytes.", paramName);

    private static Sha256Compressor SelectDefault()
    {
        var forced = Environment.GetEnvironmentVariable(ImplementationEnvironmentVariable);
        if (string.Equals(forced, "managed", StringComparison.OrdinalIgnoreCase))
        {
            return Managed;
        }

        return OpenSsl ?? Managed;
    }
}
