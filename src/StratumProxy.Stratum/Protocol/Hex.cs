namespace StratumProxy.Stratum.Protocol;

/// <summary>Hex as Stratum writes it: UTF-8 text, case-insensitive on the way in, lower case on the way out.</summary>
public static class Hex
{
    /// <summary>Parses 1–8 hex digits as a big-endian number (Stratum's version, nbits, ntime, nonce).</summary>
    public static bool TryParseUInt32(ReadOnlySpan<byte> text, out uint value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 8)
        {
            return false;
        }

        foreach (var c in text)
        {
            var nibble = Nibble(c);
            if (nibble < 0)
            {
                value = 0;
                return false;
            }

            value = (value << 4) | (uint)nibble;
        }

        return true;
    }

    /// <summary>Decodes an even-length hex string into <paramref name="destination"/>.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> text, Span<byte> destination, out int written)
    {
        written = 0;
        if ((text.Length & 1) != 0 || text.Length / 2 > destination.Length)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i += 2)
        {
            var hi = Nibble(text[i]);
            var lo = Nibble(text[i + 1]);
            if ((hi | lo) < 0)
            {
                return false;
            }

            destination[i / 2] = (byte)((hi << 4) | lo);
        }

        written = text.Length / 2;
        return true;
    }

    /// <summary>Writes <paramref name="bytes"/> as lower-case hex into <paramref name="destination"/> (twice the length).</summary>
    public static void Encode(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        if (destination.Length < bytes.Length * 2)
        {
            throw new ArgumentException("The destination is too short for the hex text.", nameof(destination));
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = Digits[bytes[i] >> 4];
            destination[(2 * i) + 1] = Digits[bytes[i] & 0xF];
        }
    }

    /// <summary>Writes <paramref name="value"/> as exactly 8 lower-case hex digits, big-endian.</summary>
    public static void EncodeUInt32(uint value, Span<byte> destination)
    {
        for (var i = 7; i >= 0; i--)
        {
            destination[i] = Digits[(int)(value & 0xF)];
            value >>= 4;
        }
    }

    private static ReadOnlySpan<byte> Digits => "0123456789abcdef"u8;

    private static int Nibble(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
