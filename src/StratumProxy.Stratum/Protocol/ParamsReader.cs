using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Stratum.Protocol;

/// <summary>
/// Walks the positional <c>params</c> array of a line, one element at a time, with the liberal reading rules real
/// peers need: numbers sent as strings, strings where numbers are expected, a missing or null params as an empty
/// list. Reads hex straight into caller spans; allocates only when asked for a <see cref="string"/>.
/// </summary>
public ref struct ParamsReader
{
    private Utf8JsonReader _reader;
    private readonly bool _isArray;
    private bool _done;

    /// <summary>Starts reading the params of <paramref name="line"/> found at <paramref name="range"/>.</summary>
    public ParamsReader(ReadOnlySpan<byte> line, JsonRange range)
    {
        _reader = new Utf8JsonReader(range.Of(line), StratumEnvelope.ReaderOptions);
        _isArray = !range.IsEmpty && _reader.Read() && _reader.TokenType == JsonTokenType.StartArray;
        _done = !_isArray;
        Index = -1;
    }

    /// <summary>True when params was a JSON array (false for a missing params, or an object).</summary>
    public readonly bool IsArray => _isArray;

    /// <summary>The index of the current element (−1 before the first).</summary>
    public int Index { get; private set; }

    /// <summary>The current element's JSON type.</summary>
    public readonly JsonTokenType TokenType => _reader.TokenType;

    /// <summary>Moves to the next element; false at the end of the list.</summary>
    public bool MoveNext()
    {
        if (_done)
        {
            return false;
        }

        if (Index >= 0 && _reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
        {
            _reader.Skip();
        }

        if (!_reader.Read() || _reader.TokenType == JsonTokenType.EndArray)
        {
            _done = true;
            return false;
        }

        Index++;
        return true;
    }

    /// <summary>The current element when it is a string without escapes (hex, job ids, worker names).</summary>
    public readonly bool TryGetPlainString(out ReadOnlySpan<byte> value)
    {
        if (_reader.TokenType == JsonTokenType.String && !_reader.ValueIsEscaped && !_reader.HasValueSequence)
        {
            value = _reader.ValueSpan;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>The current element as a string (unescaped); numbers and booleans give their text; null gives null.</summary>
    public readonly string? GetStringOrNull() => _reader.TokenType switch
    {
        JsonTokenType.String => _reader.GetString(),
        JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False => Encoding.UTF8.GetString(_reader.ValueSpan),
        _ => null,
    };

    /// <summary>Where the current element sits inside the params slice (for a plain string: its content).</summary>
    public readonly JsonRange CurrentValueRange(int paramsStart) =>
        new(paramsStart + (int)_reader.TokenStartIndex + (_reader.TokenType == JsonTokenType.String ? 1 : 0), _reader.ValueSpan.Length);

    /// <summary>The current element as a number: a JSON number or a string holding one (PEERS.md #9).</summary>
    public readonly bool TryGetDouble(out double value)
    {
        value = 0;
        if (_reader.TokenType == JsonTokenType.Number)
        {
            return _reader.TryGetDouble(out value) && double.IsFinite(value);
        }

        if (TryGetPlainString(out var text))
        {
            return Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length && double.IsFinite(value);
        }

        return false;
    }

    /// <summary>The current element as an integer: a JSON number or a decimal string.</summary>
    public readonly bool TryGetInt64(out long value)
    {
        value = 0;
        if (_reader.TokenType == JsonTokenType.Number)
        {
            return _reader.TryGetInt64(out value);
        }

        return TryGetPlainString(out var text)
            && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>The current element as a boolean (true/false, or 0/1, or "true"/"false").</summary>
    public readonly bool TryGetBoolean(out bool value)
    {
        switch (_reader.TokenType)
        {
            case JsonTokenType.True:
                value = true;
                return true;
            case JsonTokenType.False:
                value = false;
                return true;
            case JsonTokenType.Number when _reader.TryGetInt64(out var n) && n is 0 or 1:
                value = n == 1;
                return true;
            default:
                value = false;
                if (TryGetPlainString(out var text))
                {
                    if (text.SequenceEqual("true"u8))
                    {
                        value = true;
                        return true;
                    }

                    return text.SequenceEqual("false"u8);
                }

                return false;
        }
    }

    /// <summary>
    /// The current element as a big-endian hex number of 1–8 digits, as Stratum sends version, nbits, ntime and nonce.
    /// Case-insensitive.
    /// </summary>
    public readonly bool TryGetHexUInt32(out uint value)
    {
        value = 0;
        return TryGetPlainString(out var text) && Hex.TryParseUInt32(text, out value);
    }

    /// <summary>The current element as hex bytes (even length, any case) written into <paramref name="destination"/>.</summary>
    public readonly bool TryGetHexBytes(Span<byte> destination, out int written)
    {
        written = 0;
        return TryGetPlainString(out var text) && Hex.TryDecode(text, destination, out written);
    }

    /// <summary>The current element as hex bytes, allocated (cold paths: notify fields from a pool).</summary>
    public readonly bool TryGetHexByteArray(out byte[] value)
    {
        value = [];
        if (!TryGetPlainString(out var text) || (text.Length & 1) != 0)
        {
            return false;
        }

        var bytes = new byte[text.Length / 2];
        if (!Hex.TryDecode(text, bytes, out _))
        {
            return false;
        }

        value = bytes;
        return true;
    }

    /// <summary>
    /// Moves over the next two elements as a pool's extranonce: extranonce1 as hex and an extranonce2 size of 0..32
    /// bytes (how a subscribe result ends and what a set_extranonce carries).
    /// </summary>
    public bool TryGetExtranonce(out byte[] extranonce1, out int extranonce2Size)
    {
        extranonce2Size = 0;
        if (!MoveNext() || !TryGetHexByteArray(out extranonce1))
        {
            extranonce1 = [];
            return false;
        }

        if (MoveNext() && TryGetInt64(out var size) && size is >= 0 and <= 32)
        {
            extranonce2Size = (int)size;
            return true;
        }

        return false;
    }

    /// <summary>Reads the current element, which must be an array of hex strings (merkle branches).</summary>
    public bool TryGetHexArray(int itemLength, int maxItems, out byte[][] items, out bool tooMany)
    {
        items = [];
        tooMany = false;
        if (_reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        var list = new List<byte[]>();
        while (_reader.Read() && _reader.TokenType != JsonTokenType.EndArray)
        {
            if (list.Count == maxItems)
            {
                // Stop at the limit: nothing more of the list is decoded or kept.
                tooMany = true;
                return false;
            }

            if (_reader.TokenType != JsonTokenType.String || _reader.ValueIsEscaped || _reader.ValueSpan.Length != itemLength * 2)
            {
                _reader.Skip();
                return false;
            }

            var item = new byte[itemLength];
            if (!Hex.TryDecode(_reader.ValueSpan, item, out _))
            {
                return false;
            }

            list.Add(item);
        }

        items = [.. list];
        return true;
    }

    /// <summary>Reads the current element, which must be an array of strings.</summary>
    public bool TryGetStringArray(out string[] items)
    {
        items = [];
        if (_reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        var list = new List<string>();
        while (_reader.Read() && _reader.TokenType != JsonTokenType.EndArray)
        {
            if (_reader.TokenType != JsonTokenType.String)
            {
                _reader.Skip();
                return false;
            }

            list.Add(_reader.GetString()!);
        }

        items = [.. list];
        return true;
    }

    /// <summary>When the current element is an object or array: where it sits in the line (it is then skipped).</summary>
    public bool TryGetContainerRange(int paramsStart, out JsonRange range)
    {
        range = default;
        if (_reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return false;
        }

        var start = (int)_reader.TokenStartIndex;
        _reader.Skip();
        range = new JsonRange(paramsStart + start, (int)_reader.BytesConsumed - start);
        return true;
    }
}
