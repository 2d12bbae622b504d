namespace StratumProxy.Stratum.Protocol;

/// <summary>A slice of a line: where a JSON value sits, so it can be read again without copying.</summary>
public readonly record struct JsonRange(int Start, int Length)
{
    /// <summary>True when the member was absent.</summary>
    public bool IsEmpty => Length == 0;

    /// <summary>The slice of <paramref name="line"/> this range covers.</summary>
    public ReadOnlySpan<byte> Of(ReadOnlySpan<byte> line) => line.Slice(Start, Length);
}
