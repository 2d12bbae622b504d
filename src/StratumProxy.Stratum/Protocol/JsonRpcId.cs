using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;

namespace StratumProxy.Stratum.Protocol;

/// <summary>The JSON type of a JSON-RPC id as the peer sent it.</summary>
public enum JsonRpcIdKind : byte
{
    /// <summary>No id member at all.</summary>
    Missing,

    /// <summary><c>"id": null</c> (notifications).</summary>
    Null,

    /// <summary>A JSON number (cpuminer, cgminer).</summary>
    Number,

    /// <summary>A JSON string (bfgminer's "auth", stratum-client's method names).</summary>
    String,
}

/// <summary>
/// A JSON-RPC id kept as its raw JSON token so that it is echoed back byte for byte with its exact type
/// (PEERS.md #1). Ids up to <see cref="InlineCapacity"/> bytes live inline: no allocation for any id a real miner
/// sends; a longer one is copied to the heap.
/// </summary>
public readonly struct JsonRpcId : IEquatable<JsonRpcId>
{
    /// <summary>The longest raw id kept without allocating.</summary>
    public const int InlineCapacity = 48;

    private static ReadOnlySpan<byte> NullLiteral => "null"u8;

    private readonly InlineBytes _inline;
    private readonly byte[]? _overflow;
    private readonly byte _length;

    private JsonRpcId(JsonRpcIdKind kind, ReadOnlySpan<byte> raw)
    {
        Kind = kind;
        if (raw.Length <= InlineCapacity)
        {
            raw.CopyTo(_inline);
            _length = (byte)raw.Length;
        }
        else
        {
            _overflow = raw.ToArray();
        }
    }

    /// <summary>The id's JSON type.</summary>
    public JsonRpcIdKind Kind { get; }

    /// <summary>The missing id.</summary>
    public static JsonRpcId Missing => default;

    /// <summary>The null id.</summary>
    public static JsonRpcId Null => new(JsonRpcIdKind.Null, NullLiteral);

    /// <summary>True for ids that ask for no response (missing or null).</summary>
    public bool IsNullOrMissing => Kind is JsonRpcIdKind.Missing or JsonRpcIdKind.Null;

    /// <summary>
    /// The raw JSON text of the id (a string id includes its quotes and escapes); <c>null</c> for a missing id.
    /// </summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> RawJson => Kind == JsonRpcIdKind.Missing
        ? NullLiteral
        : _overflow ?? ((ReadOnlySpan<byte>)_inline)[.._length];

    /// <summary>Builds an id from the raw JSON token text.</summary>
    public static JsonRpcId FromRaw(JsonRpcIdKind kind, ReadOnlySpan<byte> rawJson) =>
        kind == JsonRpcIdKind.Missing ? default : new JsonRpcId(kind, rawJson);

    /// <summary>A numeric id, as the proxy uses for its own upstream requests.</summary>
    public static JsonRpcId FromNumber(long value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
        return new JsonRpcId(JsonRpcIdKind.Number, digits[..written]);
    }

    /// <summary>Reads a numeric id back, when it is one and fits in a long.</summary>
    public bool TryGetNumber(out long value)
    {
        value = 0;
        return Kind == JsonRpcIdKind.Number
            && System.Buffers.Text.Utf8Parser.TryParse(RawJson, out value, out var consumed)
            && consumed == RawJson.Length;
    }

    /// <inheritdoc/>
    public bool Equals(JsonRpcId other) => Kind == other.Kind && RawJson.SequenceEqual(other.RawJson);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is JsonRpcId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        hash.Add(Kind);
        hash.AddBytes(RawJson);
        return hash.ToHashCode();
    }

    /// <summary>The raw JSON text, for logs and tests.</summary>
    public override string ToString() => Kind == JsonRpcIdKind.Missing ? "(missing)" : Encoding.UTF8.GetString(RawJson);

    /// <summary>Value equality.</summary>
    public static bool operator ==(JsonRpcId left, JsonRpcId right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(JsonRpcId left, JsonRpcId right) => !left.Equals(right);

    [InlineArray(InlineCapacity)]
    private struct InlineBytes
    {
        private byte _element0;
    }
}
