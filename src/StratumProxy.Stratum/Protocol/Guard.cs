using System.Text.Json;

namespace StratumProxy.Stratum.Protocol;

/// <summary>Runs a cold-path params reader, turning a malformed-JSON exception into a parse error.</summary>
internal static class Guard
{
    internal delegate bool Reader<T>(ReadOnlySpan<byte> line, in StratumEnvelope envelope, ref T result, ref StratumParseError error);

    internal delegate bool ValueReader<T>(ref ParamsReader p, out T value);

    internal static bool Run<T>(ReadOnlySpan<byte> line, in StratumEnvelope envelope, ref T result, ref StratumParseError error, Reader<T> reader)
    {
        try
        {
            return reader(line, envelope, ref result, ref error);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            error = StratumParseError.Json("the params are not well-formed JSON");
            return false;
        }
    }

    /// <summary>A refusal of malformed params: <paramref name="error"/> says why; always false, for <c>return Guard.Refuse(…)</c>.</summary>
    internal static bool Refuse(string reason, out StratumParseError error)
    {
        error = StratumParseError.Params(reason);
        return false;
    }

    /// <summary>
    /// Reads one value from the params (or result) at <paramref name="range"/> with <paramref name="reader"/>. A value
    /// the reader does not accept and JSON that is not well-formed are refused alike, with <paramref name="refusal"/>.
    /// </summary>
    internal static bool ReadOrRefuse<T>(
        ReadOnlySpan<byte> line, JsonRange range, ValueReader<T> reader, string refusal, out T value, out StratumParseError error)
    {
        try
        {
            var p = new ParamsReader(line, range);
            if (reader(ref p, out value))
            {
                error = StratumParseError.None;
                return true;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            value = default!;
        }

        return Refuse(refusal, out error);
    }
}
