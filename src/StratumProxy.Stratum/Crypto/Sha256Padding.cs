namespace StratumProxy.Stratum.Crypto;

/// <summary>
/// FIPS 180-4 padding for the message lengths Bitcoin hashes over and over. Their lengths are fixed, so the padding
/// is a constant: no per-hash length arithmetic, and for 64-byte messages a whole constant block.
/// </summary>
internal static class Sha256Padding
{
    /// <summary>Bytes 32..63 of the single block of a 32-byte message (0x80, zeros, bit length 256).</summary>
    public static ReadOnlySpan<byte> Pad32 =>
    [
        0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
    ];

    /// <summary>The second block of a 64-byte message (0x80, zeros, bit length 512).</summary>
    public static ReadOnlySpan<byte> Pad64 =>
    [
        0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00,
    ];

    /// <summary>Bytes 80..127 of an 80-byte block header's two blocks (0x80, zeros, bit length 640).</summary>
    public static ReadOnlySpan<byte> Pad80 =>
    [
        0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x80,
    ];
}
