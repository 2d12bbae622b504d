using System.Buffers;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Fuzz.Harnesses;

/// <summary>
/// Feeds a byte stream through <see cref="LineFramer"/> as a session's read loop does, once as one segment and once cut
/// into small segments (a line split across reads), and hands each complete line to the caller's handler. A
/// too-long line ends the stream, as it drops the peer.
/// </summary>
internal static class Lines
{
    private const int SmallSegment = 7;

    [ThreadStatic]
    private static byte[]? t_scratch;

    public static void Feed(byte[] input, int maxLineLength, Action<ReadOnlySpan<byte>> handle)
    {
        Frame(new ReadOnlySequence<byte>(input), maxLineLength, handle);
        Frame(Segments.Split(input, SmallSegment), maxLineLength, handle);
    }

    private static void Frame(ReadOnlySequence<byte> buffer, int maxLineLength, Action<ReadOnlySpan<byte>> handle)
    {
        var scratch = t_scratch is { } s && s.Length >= maxLineLength ? s : t_scratch = new byte[maxLineLength];
        while (true)
        {
            var status = LineFramer.TryReadLine(ref buffer, maxLineLength, out var line);
            if (status != FrameStatus.Line)
            {
                return;
            }

            if (!line.IsEmpty)
            {
                handle(LineFramer.AsContiguous(line, scratch));
            }
        }
    }
}

/// <summary>Builds a multi-segment <see cref="ReadOnlySequence{T}"/> over an array.</summary>
internal static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] input, int segmentLength)
    {
        if (input.Length <= segmentLength)
        {
            return new ReadOnlySequence<byte>(input);
        }

        var first = new Segment(input.AsMemory(0, segmentLength), 0);
        var last = first;
        for (var offset = segmentLength; offset < input.Length; offset += segmentLength)
        {
            last = last.Append(input.AsMemory(offset, Math.Min(segmentLength, input.Length - offset)));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
