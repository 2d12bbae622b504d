using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace StratumProxy.Stratum.Protocol;

/// <summary>
/// Up to 32 bytes held inline (an extranonce, a short binary field): lets per-share values travel by value
/// without a heap allocation.
/// </summary>
public struct SmallBytes : IEquatable<SmallBytes>
{
    /// <summary>The most bytes a value can hold.</summary>
    public const int Capacity = 32;

    private Buffer _bytes;
    private byte _length;

    /// <summary>Copies <paramref name="value"/> (at most <see cref="Capacity"/> bytes).</summary>
    public SmallBytes(ReadOnlySpan<byte> value)
    {
        if (value.Length > Capacity)
        {
            throw new ArgumentException($"At most {Capacity} bytes fit in a SmallBytes value.", nameof(value));
        }

        value.CopyTo(_bytes);
        _length = (byte)value.Length;
    }

    /// <summary>The number of bytes held.</summary>
    public readonly int Length => _length;

    /// <summary>The bytes.</summary>
    [UnscopedRef]
    public readonly ReadOnlySpan<byte> Span => ((ReadOnlySpan<byte>)_bytes)[.._length];

    /// <summary>The bytes, writable, after setting the length.</summary>
    [UnscopedRef]
    public Span<byte> Resize(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Capacity);
        _length = (byte)length;
        return ((Span<byte>)_bytes)[..length];
    }

    /// <inheritdoc/>
    public readonly bool Equals(SmallBytes other) => Span.SequenceEqual(other.Span);

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is SmallBytes other && Equals(other);

    /// <inheritdoc/>
    public override readonly int GetHashCode()
    {
        var hash = default(HashCode);
        hash.AddBytes(Span);
        return hash.ToHashCode();
    }

    /// <summary>Lower-case hex, for logs and tests.</summary>
    public override readonly string ToString() => Convert.ToHexStringLower(Span);

    /// <summary>Value equality.</summary>
    public static bool operator ==(SmallBytes left, SmallBytes right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(SmallBytes left, SmallBytes right) => !left.Equals(right);

    [InlineArray(Capacity)]
    private struct Buffer
    {
        private byte _element0;
    }
}
