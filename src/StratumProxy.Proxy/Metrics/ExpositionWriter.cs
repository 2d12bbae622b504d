using System.Buffers;
using System.Globalization;
using System.Text;
using Prometheus;

namespace StratumProxy.Proxy.Metrics;

/// <summary>
/// Writes metric families as Prometheus text (0.0.4) or OpenMetrics text straight into an <see cref="IBufferWriter{T}"/>,
/// byte for byte as prometheus-net's exporter writes them: <c># HELP</c> and <c># TYPE</c> once per family (in
/// OpenMetrics a counter's family name drops its <c>_total</c>), then one line per sample, its label values escaped
/// (<c>\</c>, <c>"</c> and line feed), its value a double in .NET's <c>g</c> format (OpenMetrics adds <c>.0</c> to a
/// whole number). Nothing is allocated per sample.
/// </summary>
/// <remarks>
/// One deliberate difference: infinities are <c>+Inf</c> and <c>-Inf</c> in both formats, as the formats spell them
/// (prometheus-net writes .NET's <c>Infinity</c> in the Prometheus text format, which only Go-style parsers read).
/// </remarks>
/// <remarks>A sample is written in three steps: <see cref="BeginSample"/>, a <see cref="Label(ReadOnlySpan{byte}, string)"/> per label, <see cref="EndSample"/>.</remarks>
public sealed class ExpositionWriter
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private readonly IBufferWriter<byte> _output;
    private readonly bool _openMetrics;
    private bool _inLabels;

    /// <summary>Writes into <paramref name="output"/> in <paramref name="format"/>.</summary>
    public ExpositionWriter(IBufferWriter<byte> output, ExpositionFormat format)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _openMetrics = format == ExpositionFormat.OpenMetricsText;
    }

    /// <summary>Bytes written since the last <see cref="ResetWritten"/> (the caller flushes by this).</summary>
    public long Written { get; private set; }

    /// <summary>Starts counting <see cref="Written"/> from zero again.</summary>
    public void ResetWritten() => Written = 0;

    /// <summary>The family's <c># HELP</c> and <c># TYPE</c> lines. <paramref name="name"/> and <paramref name="help"/> are ASCII and need no escaping.</summary>
    public void Family(ReadOnlySpan<byte> name, ReadOnlySpan<byte> help, FamilyType type)
    {
        if (_openMetrics && type == FamilyType.Counter && name.EndsWith("_total"u8))
        {
            name = name[..^"_total"u8.Length];
        }

        var kind = type == FamilyType.Counter ? "counter"u8 : "gauge"u8;
        Raw("# HELP "u8);
        Raw(name);
        Raw(" "u8);
        Raw(help);
        Raw("\n# TYPE "u8);
        Raw(name);
        Raw(" "u8);
        Raw(kind);
        Raw("\n"u8);
    }

    /// <summary>Starts a sample line with the series name.</summary>
    public void BeginSample(ReadOnlySpan<byte> name)
    {
        Raw(name);
        _inLabels = false;
    }

    /// <summary>A label whose value is written escaped (UTF-8; <c>\</c> → <c>\\</c>, <c>"</c> → <c>\"</c>, line feed → <c>\n</c>).</summary>
    public void Label(ReadOnlySpan<byte> name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        LabelName(name);
        var rest = value.AsSpan();
        while (!rest.IsEmpty)
        {
            // The escaped characters are ASCII, so a run between two of them never splits a surrogate pair.
            var special = rest.IndexOfAny('\\', '"', '\n');
            var run = special < 0 ? rest : rest[..special];
            if (!run.IsEmpty)
            {
                var span = _output.GetSpan(Utf8.GetMaxByteCount(run.Length));
                Advance(Utf8.GetBytes(run, span));
            }

            if (special < 0)
            {
                break;
            }

            Raw(rest[special] switch
            {
                '\\' => @"\\"u8,
                '"' => "\\\""u8,
                _ => @"\n"u8,
            });
            rest = rest[(special + 1)..];
        }

        Raw("\""u8);
    }

    /// <summary>A label whose value is a known ASCII text that needs no escaping.</summary>
    public void Label(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        LabelName(name);
        Raw(value);
        Raw("\""u8);
    }

    /// <summary>Ends the sample with its value and the line feed.</summary>
    public void EndSample(double value)
    {
        Raw(_inLabels ? "} "u8 : " "u8);
        _inLabels = false;
        // The spellings both formats define (.NET's invariant text for an infinity is "Infinity"); OpenMetrics also
        // writes the common whole numbers with their ".0".
        ReadOnlySpan<byte> canonical = value switch
        {
            double.PositiveInfinity => "+Inf"u8,
            double.NegativeInfinity => "-Inf"u8,
            _ when double.IsNaN(value) => "NaN"u8,
            0 when _openMetrics => "0.0"u8,
            1 when _openMetrics => "1.0"u8,
            -1 when _openMetrics => "-1.0"u8,
            _ => default,
        };
        if (!canonical.IsEmpty)
        {
            Raw(canonical);
            Raw("\n"u8);
            return;
        }

        var span = _output.GetSpan(32);
        if (!value.TryFormat(span, out var length, "g", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("a double did not fit in 32 bytes");
        }

        var dotZero = _openMetrics && span[..length].IndexOfAny((byte)'.', (byte)'e') < 0;
        Advance(length);
        if (dotZero)
        {
            Raw(".0"u8);
        }

        Raw("\n"u8);
    }

    private void LabelName(ReadOnlySpan<byte> name)
    {
        Raw(_inLabels ? ","u8 : "{"u8);
        _inLabels = true;
        Raw(name);
        Raw("=\""u8);
    }

    private void Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_output.GetSpan(bytes.Length));
        Advance(bytes.Length);
    }

    private void Advance(int count)
    {
        _output.Advance(count);
        Written += count;
    }
}

/// <summary>The type of a family written by <see cref="ExpositionWriter"/>.</summary>
public enum FamilyType
{
    /// <summary>A counter (in OpenMetrics its family name drops the <c>_total</c> of its samples).</summary>
    Counter,

    /// <summary>A gauge.</summary>
    Gauge,
}
