using System.Buffers;

namespace StratumProxy.Stratum.Protocol;

/// <summary>The outcome of looking for one line in a buffer: the three-way contract of STYLE.md §2 SE.Redis #4.</summary>
public enum FrameStatus
{
    /// <summary>A complete line was found and the buffer was advanced past its terminator.</summary>
    Line,

    /// <summary>No terminator yet and the unterminated tail is within the limit: wait for more bytes.</summary>
    NeedMoreData,

    /// <summary>The line (or the unterminated tail) is longer than the limit: the peer must be dropped.</summary>
    TooLong,
}

/// <summary>
/// Splits newline-delimited JSON-RPC off a pipe buffer without copying. Accepts <c>\n</c> and <c>\r\n</c>.
/// The length limit applies to each line and to the unterminated tail, never to the whole buffer, so a burst of
/// pipelined submits is fine while one endless line is not (STYLE.md §3 #8).
/// </summary>
public static class LineFramer
{
    /// <summary>Default maximum line length for miners (16 KiB).</summary>
    public const int DefaultMaxLineLength = 16 * 1024;

    /// <summary>
    /// Takes the next line from <paramref name="buffer"/>. On <see cref="FrameStatus.Line"/>, <paramref name="line"/>
    /// holds the line without its terminator and <paramref name="buffer"/> starts after it. Blank lines are returned as
    /// empty lines; callers skip them.
    /// </summary>
    public static FrameStatus TryReadLine(ref ReadOnlySequence<byte> buffer, int maxLineLength, out ReadOnlySequence<byte> line)
    {
        SequencePosition? newline;
        if (buffer.IsSingleSegment)
        {
            var index = buffer.FirstSpan.IndexOf((byte)'\n');
            newline = index < 0 ? null : buffer.GetPosition(index);
        }
        else
        {
            newline = buffer.PositionOf((byte)'\n');
        }

        if (newline is null)
        {
            line = default;
            return buffer.Length > maxLineLength ? FrameStatus.TooLong : FrameStatus.NeedMoreData;
        }

        line = buffer.Slice(0, newline.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        if (!line.IsEmpty && EndsWithCarriageReturn(line))
        {
            line = line.Slice(0, line.Length - 1);
        }

        return line.Length > maxLineLength ? FrameStatus.TooLong : FrameStatus.Line;
    }

    /// <summary>
    /// Returns the line as one span: the line's own memory when it sits in one segment, otherwise a copy into
    /// <paramref name="scratch"/> (which must be at least the maximum line length).
    /// </summary>
    public static ReadOnlySpan<byte> AsContiguous(in ReadOnlySequence<byte> line, Span<byte> scratch)
    {
        if (line.IsSingleSegment)
        {
            return line.FirstSpan;
        }

        var length = checked((int)line.Length);
        line.CopyTo(scratch);
        return scratch[..length];
    }

    private static bool EndsWithCarriageReturn(in ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment)
        {
            return line.FirstSpan[^1] == (byte)'\r';
        }

        var last = line.Slice(line.Length - 1);
        return last.FirstSpan[0] == (byte)'\r';
    }
}
