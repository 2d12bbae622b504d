using System.Buffers;

namespace StratumProxy.Stratum.Tests.Protocol;

/// <summary>
/// Turns one sample into the payload shapes a pipe can hand a parser (STYLE.md §2 SE.Redis #9): right-sized, inside
/// a larger array with guard bytes, every two-segment split, and one byte per segment.
/// </summary>
internal static class Segmentation
{
    public static IEnumerable<(string Name, ReadOnlySequence<byte> Payload)> All(byte[] sample)
    {
        yield return ("right-sized", new ReadOnlySequence<byte>(sample));

        var oversized = new byte[sample.Length + 16];
        oversized.AsSpan().Fill(0xCC);
        sample.CopyTo(oversized, 8);
        yield return ("oversized", new ReadOnlySequence<byte>(oversized, 8, sample.Length));

        for (var split = 1; split < sample.Length; split++)
        {
            yield return ($"split:{split}", Build([sample[..split], sample[split..]]));
        }

        yield return ("chunk-per-byte", Build(sample.Select(b => new[] { b }).ToArray()));
    }

    public static ReadOnlySequence<byte> Build(byte[][] chunks)
    {
        if (chunks.Length == 1)
        {
            return new ReadOnlySequence<byte>(chunks[0]);
        }

        var first = new Segment(chunks[0], 0);
        var last = first;
        for (var i = 1; i < chunks.Length; i++)
        {
            last = last.Append(chunks[i]);
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
