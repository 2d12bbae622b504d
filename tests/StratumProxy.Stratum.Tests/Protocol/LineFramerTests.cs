using System.Buffers;
using System.Text;
using StratumProxy.Stratum.Protocol;
using StratumProxy.TestKit;

namespace StratumProxy.Stratum.Tests.Protocol;

public sealed class LineFramerTests
{
    private static List<string> Frame(ReadOnlySequence<byte> buffer, int max, out FrameStatus last, out long remaining)
    {
        var lines = new List<string>();
        while ((last = LineFramer.TryReadLine(ref buffer, max, out var line)) == FrameStatus.Line)
        {
            lines.Add(Encoding.UTF8.GetString(line.ToArray()));
        }

        remaining = buffer.Length;
        return lines;
    }

    [Fact]
    public void Splits_many_messages_in_every_segmentation_with_lf_and_crlf()
    {
        var sample = "{\"id\":1}\n{\"id\":2}\r\n\n{\"id\":3}\r\n{\"partial"u8.ToArray();
        foreach (var (name, payload) in Segmentations.All(sample))
        {
            var lines = Frame(payload, 64, out var last, out var remaining);
            Assert.True(lines.SequenceEqual(["{\"id\":1}", "{\"id\":2}", string.Empty, "{\"id\":3}"]), name);
            Assert.Equal(FrameStatus.NeedMoreData, last);
            Assert.Equal("{\"partial".Length, remaining);
        }
    }

    [Fact]
    public void A_long_unterminated_tail_is_too_long_but_a_burst_of_short_lines_is_not()
    {
        var burst = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"id\":4,\"method\":\"mining.submit\"}\n", 100)));
        var lines = Frame(new ReadOnlySequence<byte>(burst), 64, out var status, out _);
        Assert.Equal(100, lines.Count);
        Assert.Equal(FrameStatus.NeedMoreData, status);

        var endless = new byte[65];
        endless.AsSpan().Fill((byte)'a');
        foreach (var (name, payload) in Segmentations.All(endless).Take(5))
        {
            var buffer = payload;
            Assert.True(LineFramer.TryReadLine(ref buffer, 64, out _) == FrameStatus.TooLong, name);
        }

        var exactly = new byte[64];
        exactly.AsSpan().Fill((byte)'a');
        var exactBuffer = new ReadOnlySequence<byte>(exactly);
        Assert.Equal(FrameStatus.NeedMoreData, LineFramer.TryReadLine(ref exactBuffer, 64, out _));
    }

    [Fact]
    public void A_terminated_line_over_the_limit_is_too_long()
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(new string('x', 70) + "\n"));
        Assert.Equal(FrameStatus.TooLong, LineFramer.TryReadLine(ref buffer, 64, out _));
    }

    [Fact]
    public void Contiguous_copy_of_a_split_line_matches_the_original()
    {
        var sample = "{\"method\":\"mining.submit\"}"u8.ToArray();
        var scratch = new byte[128];
        foreach (var (name, payload) in Segmentations.All(sample))
        {
            Assert.True(LineFramer.AsContiguous(payload, scratch).SequenceEqual(sample), name);
        }
    }
}
