using System.Buffers;
using System.Text;
using Prometheus;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Tests.Metrics;

/// <summary>The values the exposition formats spell out: infinities and NaN, whatever the format.</summary>
public sealed class ExpositionWriterTests
{
    [Theory]
    [InlineData(double.PositiveInfinity, "+Inf", false)]
    [InlineData(double.NegativeInfinity, "-Inf", false)]
    [InlineData(double.NaN, "NaN", false)]
    [InlineData(double.PositiveInfinity, "+Inf", true)]
    [InlineData(double.NegativeInfinity, "-Inf", true)]
    [InlineData(double.NaN, "NaN", true)]
    public void EndSample_InfinityOrNaN_IsWrittenAsTheFormatSpellsIt(double value, string expected, bool openMetrics)
    {
        Assert.Equal($"g{{w=\"a\"}} {expected}\n", Write(value, openMetrics));
    }

    /// <summary>
    /// Every value as prometheus-net writes it, but for infinities in the Prometheus text format (prometheus-net writes
    /// .NET's "Infinity" there, not the format's "+Inf").
    /// </summary>
    [Theory]
    [InlineData(double.PositiveInfinity, true)]
    [InlineData(double.NegativeInfinity, true)]
    [InlineData(double.NaN, true)]
    [InlineData(double.NaN, false)]
    [InlineData(1.5, true)]
    [InlineData(1.5, false)]
    [InlineData(0, true)]
    [InlineData(0, false)]
    [InlineData(-1, true)]
    [InlineData(-1, false)]
    [InlineData(1e-7, false)]
    [InlineData(123456789012345, true)]
    [InlineData(123456789012345, false)]
    public async Task EndSample_IsWhatPrometheusNetWrites(double value, bool openMetrics)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        Prometheus.Metrics.WithCustomRegistry(registry).CreateGauge("g", "help", ["w"]).WithLabels("a").Set(value);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText);
        var expected = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').Single(l => l.StartsWith("g{", StringComparison.Ordinal));

        Assert.Equal(expected + "\n", Write(value, openMetrics));
    }

    private static string Write(double value, bool openMetrics)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new ExpositionWriter(buffer, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText);
        writer.BeginSample("g"u8);
        writer.Label("w"u8, "a"u8);
        writer.EndSample(value);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
