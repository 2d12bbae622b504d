using System.Buffers;

namespace StratumProxy.TestKit;

/// <summary>
/// Turns one byte sample into every payload shape a pipe can hand a parser (STYLE.md §2 SE.Redis #9): one
/// right-sized segment, one segment inside a larger array with guard bytes around it, every two-segment split, and
/// one byte per segment. Every parser test over bytes runs over all of them.
/// </summary>
public static class Segmentations
{
    public static IEnumerable<string> Names(int length)
    {
        yield return "single";
        yield return "oversized";
        yield return "per-byte";
        for (var split = 1; split < length; split++)
        {
            yield return $"split:{split}";
        }
    }

    public static IEnumerable<(string Name, ReadOnlySequence<byte> Sequence)> All(byte[] data) =>
        Names(data.Length).Select(name => (name, Build(data, name)));

    public static ReadOnlySequence<byte> Build(byte[] data, string name)
    {
        switch (name)
        {
            case "single":
                return new ReadOnlySequence<byte>(data.ToArray());
            case "oversized":
                var padded = new byte[data.Length + 16];
                padded.AsSpan().Fill(0xEE);
                data.CopyTo(padded, 8);
                return new ReadOnlySequence<byte>(padded, 8, data.Length);
            case "per-byte":
                return FromChunks(data.Select(b => new[] { b }).ToArray());
            default:
                var split = int.Parse(name["split:".Length..], System.Globalization.CultureInfo.InvariantCulture);
                return FromChunks([data[..split], data[split..]]);
        }
    }

    public static ReadOnlySequence<byte> FromChunks(params byte[][] chunks)
    {
        if (chunks.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Chunk(chunks[0], 0);
        var last = first;
        for (var i = 1; i < chunks.Length; i++)
        {
            last = last.Append(chunks[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Chunk : ReadOnlySequenceSegment<byte>
    {
        public Chunk(byte[] data, long runningIndex)
        {
            Memory = data;
            RunningIndex = runningIndex;
        }

        public Chunk Append(byte[] data)
        {
            var next = new Chunk(data, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
