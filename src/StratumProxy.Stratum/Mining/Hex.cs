using System.Globalization;
using System.Runtime.CompilerServices;

namespace StratumProxy.Stratum.Mining;

/// <summary>
/// Hex as Stratum uses it: case-insensitive on input (miners differ), lower case on output. Works on UTF-8 bytes
/// straight from the JSON reader and on chars, into caller buffers.
/// </summary>
public static class Hex
{
    private const byte Invalid = 0xFF;

    // Value of each byte as a hex digit, 0xFF for anything else. Indexing by the byte avoids branches per digit.
    private static ReadOnlySpan<byte> DigitValues =>
    [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ];

    private static ReadOnlySpan<byte> LowerDigits => "0123456789abcdef"u8;

    /// <summary>
    /// Decodes hex (either case) into the start of <paramref name="destination"/>. False for an odd length, a
    /// non-hex character or a destination shorter than half the input; <paramref name="bytesWritten"/> is then 0.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> utf8Hex, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if ((utf8Hex.Length & 1) != 0 || destination.Length < utf8Hex.Length / 2)
        {
            return false;
        }

        var values = DigitValues;
        for (var i = 0; i < utf8Hex.Length; i += 2)
        {
            var hi = values[utf8Hex[i]];
            var lo = values[utf8Hex[i + 1]];
            if ((hi | lo) == Invalid)
            {
                return false;
            }

            destination[i >> 1] = (byte)((hi << 4) | lo);
        }

        bytesWritten = utf8Hex.Length / 2;
        return true;
    }

    /// <inheritdoc cref="TryDecode(ReadOnlySpan{byte}, Span{byte}, out int)"/>
    public static bool TryDecode(ReadOnlySpan<char> hex, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if ((hex.Length & 1) != 0 || destination.Length < hex.Length / 2)
        {
            return false;
        }

        for (var i = 0; i < hex.Length; i += 2)
        {
            var hi = DigitValue(hex[i]);
            var lo = DigitValue(hex[i + 1]);
            if ((hi | lo) == Invalid)
            {
                return false;
            }

            destination[i >> 1] = (byte)((hi << 4) | lo);
        }

        bytesWritten = hex.Length / 2;
        return true;
    }

    /// <summary>Decodes hex that must fill <paramref name="destination"/> exactly (a fixed-size field).</summary>
    public static bool TryDecodeExact(ReadOnlySpan<byte> utf8Hex, Span<byte> destination) =>
        utf8Hex.Length == destination.Length * 2 && TryDecode(utf8Hex, destination, out _);

    /// <inheritdoc cref="TryDecodeExact(ReadOnlySpan{byte}, Span{byte})"/>
    public static bool TryDecodeExact(ReadOnlySpan<char> hex, Span<byte> destination) =>
        hex.Length == destination.Length * 2 && TryDecode(hex, destination, out _);

    /// <summary>Decodes hex into a new array (cold paths: job templates, tests). Throws <see cref="FormatException"/> on bad input.</summary>
    public static byte[] Decode(ReadOnlySpan<char> hex)
    {
        var bytes = new byte[hex.Length / 2];
        if ((hex.Length & 1) != 0 || !TryDecode(hex, bytes, out _))
        {
            throw new FormatException("The value is not an even-length hex string.");
        }

        return bytes;
    }

    /// <summary>
    /// Parses Stratum's 8-digit big-endian hex of a 32-bit field (version, nbits, ntime, nonce, version bits).
    /// Exactly 8 digits, either case.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryParseUInt32BigEndianHex(ReadOnlySpan<byte> utf8Hex, out uint value)
    {
        if (utf8Hex.Length == 8)
        {
            return TryParseUInt32(utf8Hex, out value);
        }

        value = 0;
        return false;
    }

    /// <summary>
    /// Parses 1–8 hex digits as a big-endian number: the liberal reading of a peer's 32-bit field (some send a nonce
    /// without its leading zeros). Either case.
    /// </summary>
    public static bool TryParseUInt32(ReadOnlySpan<byte> utf8Hex, out uint value)
    {
        value = 0;
        if (utf8Hex.IsEmpty || utf8Hex.Length > 8)
        {
            return false;
        }

        var values = DigitValues;
        uint result = 0;
        uint invalid = 0;
        foreach (var c in utf8Hex)
        {
            uint digit = values[c];
            invalid |= digit;
            result = (result << 4) | (digit & 0xF);
        }

        if ((invalid & 0xF0) != 0)
        {
            return false;
        }

        value = result;
        return true;
    }

    /// <inheritdoc cref="TryParseUInt32BigEndianHex(ReadOnlySpan{byte}, out uint)"/>
    public static bool TryParseUInt32BigEndianHex(ReadOnlySpan<char> hex, out uint value)
    {
        value = 0;
        return hex.Length == 8 && uint.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Writes <paramref name="value"/> as 8 lower-case hex digits, most significant first (Stratum's form).</summary>
    public static bool TryWriteUInt32BigEndianHex(uint value, Span<byte> utf8Destination)
    {
        if (utf8Destination.Length < 8)
        {
            return false;
        }

        var digits = LowerDigits;
        for (var i = 7; i >= 0; i--)
        {
            utf8Destination[i] = digits[(int)(value & 0xF)];
            value >>= 4;
        }

        return true;
    }

    /// <summary>Writes lower-case hex of <paramref name="source"/> (2 bytes per input byte); false if it does not fit.</summary>
    public static bool TryEncodeLower(ReadOnlySpan<byte> source, Span<byte> utf8Destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (utf8Destination.Length < source.Length * 2)
        {
            return false;
        }

        var digits = LowerDigits;
        for (var i = 0; i < source.Length; i++)
        {
            var b = source[i];
            utf8Destination[2 * i] = digits[b >> 4];
            utf8Destination[(2 * i) + 1] = digits[b & 0xF];
        }

        bytesWritten = source.Length * 2;
        return true;
    }

    /// <inheritdoc cref="TryEncodeLower(ReadOnlySpan{byte}, Span{byte}, out int)"/>
    public static bool TryEncodeLower(ReadOnlySpan<byte> source, Span<char> destination, out int charsWritten) =>
        Convert.TryToHexStringLower(source, destination, out charsWritten);

    /// <summary>Lower-case hex string (cold paths and logs).</summary>
    public static string EncodeLower(ReadOnlySpan<byte> source) => Convert.ToHexStringLower(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte DigitValue(char c) => c < 256 ? DigitValues[c] : Invalid;
}
