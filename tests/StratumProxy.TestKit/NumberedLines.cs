using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;

namespace StratumProxy.TestKit;

/// <summary>
/// Numbered test lines (<c>c0001</c> from a client, <c>s0001 ....</c> from a server: 505 bytes each) and the pipe
/// helpers that write, read and count them, for tests that move a live stream and check that no line is lost,
/// repeated or reordered.
/// </summary>
public static class NumberedLines
{
    public static string[] Of(string prefix, int first, int last) =>
        [.. Enumerable.Range(first, last - first + 1).Select(i => Line(prefix, i))];

    public static string Line(string prefix, int i) =>
        prefix.StartsWith('s') || prefix.StartsWith('u')
            ? string.Create(CultureInfo.InvariantCulture, $"{prefix}{i:D4} {new string('.', 500)}")
            : string.Create(CultureInfo.InvariantCulture, $"{prefix}{i:D4}");

    public static async Task WriteAsync(PipeWriter writer, string prefix, int first, int last, CancellationToken ct, int flushEvery = 50)
    {
        for (var i = first; i <= last; i++)
        {
            var bytes = Encoding.ASCII.GetBytes(Line(prefix, i) + "\n");
            bytes.CopyTo(writer.GetSpan(bytes.Length));
            writer.Advance(bytes.Length);
            if (i % flushEvery == 0 || i == last)
            {
                await writer.FlushAsync(ct);
            }
        }
    }

    /// <summary>Reads and consumes exactly <paramref name="count"/> lines, leaving anything after them in the pipe.</summary>
    public static async Task<string[]> ReadAsync(PipeReader reader, int count, CancellationToken ct)
    {
        var lines = new List<string>();
        while (lines.Count < count)
        {
            var result = await reader.ReadAsync(ct);
            var buffer = result.Buffer;
            while (lines.Count < count && buffer.PositionOf((byte)'\n') is { } end)
            {
                lines.Add(Encoding.ASCII.GetString(buffer.Slice(0, end)));
                buffer = buffer.Slice(buffer.GetPosition(1, end));
            }

            reader.AdvanceTo(buffer.Start, lines.Count < count ? buffer.End : buffer.Start);
            if (lines.Count < count && result.IsCompleted)
            {
                throw new EndOfStreamException($"The stream ended after {lines.Count} of {count} lines.");
            }
        }

        return [.. lines];
    }

    /// <summary>Waits until the pipe holds <paramref name="lines"/> complete lines, consuming none.</summary>
    public static Task WaitUntilBufferedAsync(PipeReader reader, int lines, CancellationToken ct) =>
        WaitUntilUnreadAsync(reader, buffer => Count(buffer, (byte)'\n') >= lines, ct);

    /// <summary>
    /// Waits until what the pipe holds unread is <paramref name="enough"/>, consuming none of it; returns its length.
    /// Throws when the writer completes first.
    /// </summary>
    public static async Task<long> WaitUntilUnreadAsync(PipeReader reader, Func<ReadOnlySequence<byte>, bool> enough, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(enough);
        while (true)
        {
            var result = await reader.ReadAsync(ct);
            var done = enough(result.Buffer);
            var length = result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.Start, done ? result.Buffer.Start : result.Buffer.End);
            if (done)
            {
                return length;
            }

            if (result.IsCompleted)
            {
                throw new EndOfStreamException($"The stream ended with {length} bytes unread, not enough.");
            }
        }
    }

    private static int Count(ReadOnlySequence<byte> buffer, byte value)
    {
        var count = 0;
        foreach (var segment in buffer)
        {
            count += segment.Span.Count(value);
        }

        return count;
    }
}
