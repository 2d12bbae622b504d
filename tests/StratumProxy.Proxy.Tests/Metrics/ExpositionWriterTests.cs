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

    [Theory]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(double.NaN)]
    [InlineData(1.5)]
    [InlineData(0)]
    public async Task EndSample_OpenMetrics_IsWhatPrometheusNetWrites(double value)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        Prometheus.Metrics.WithCustomRegistry(registry).CreateGauge("g", "help", ["w"]).WithLabels("a").Set(value);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream, ExpositionFormat.OpenMetricsText);
        var expected = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').Single(l => l.StartsWith("g{", StringComparison.Ordinal));

        Assert.Equal(expected + "\n", Write(value, openMetrics: true));
    }

    /// <summary>Finite values and NaN as prometheus-net writes them (its infinities are .NET's "Infinity", not the format's).</summary>
    [Theory]
    [InlineData(double.NaN)]
    [InlineData(1.5)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1e-7)]
    [InlineData(123456789012345)]
    public async Task EndSample_PrometheusText_FiniteOrNaN_IsWhatPrometheusNetWrites(double value)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        Prometheus.Metrics.WithCustomRegistry(registry).CreateGauge("g", "help", ["w"]).WithLabels("a").Set(value);
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream, ExpositionFormat.PrometheusText);
        var expected = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').Single(l => l.StartsWith("g{", StringComparison.Ordinal));

        Assert.Equal(expected + "\n", Write(value, openMetrics: false));
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
