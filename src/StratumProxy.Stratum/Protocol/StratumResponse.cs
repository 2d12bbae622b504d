using System.Text.Json;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Stratum.Protocol;

/// <summary>A pool's answer to a request, as the proxy needs it: accepted, or rejected with a code and a reason.</summary>
public readonly record struct ResponseVerdict(bool Accepted, int ErrorCode, string? Reason)
{
    /// <summary>An accepted verdict.</summary>
    public static ResponseVerdict Ok => new(true, 0, null);
}

/// <summary>Reads responses in every shape real pools send (PEERS.md #3).</summary>
public static class StratumResponse
{
    /// <summary>
    /// Accepted when <c>result</c> is <c>true</c> (or a non-false, non-null value) and <c>error</c> is null or absent.
    /// Rejected when <c>error</c> is set (<c>[code, msg, data]</c>, <c>{code, message}</c> or a string), or
    /// <c>result</c> is false/null — with ckpool's <c>reject-reason</c> as the reason when present.
    /// Allocates only for a rejection's reason text.
    /// </summary>
    public static ResponseVerdict ReadVerdict(ReadOnlySpan<byte> line, in StratumEnvelope envelope)
    {
        try
        {
            return ReadVerdictCore(line, envelope);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return new ResponseVerdict(false, (int)StratumErrorCode.Other, "malformed response");
        }
    }

    private static ResponseVerdict ReadVerdictCore(ReadOnlySpan<byte> line, in StratumEnvelope envelope)
    {
        if (!envelope.Error.IsEmpty && !envelope.Error.Of(line).SequenceEqual("null"u8))
        {
            return ReadError(envelope.Error.Of(line), envelope, line);
        }

        var result = envelope.Result.Of(line);
        if (result.IsEmpty || result.SequenceEqual("false"u8) || result.SequenceEqual("null"u8))
        {
            var reason = envelope.RejectReason.IsEmpty ? "rejected" : ReadString(envelope.RejectReason.Of(line));
            return new ResponseVerdict(false, (int)StratumErrorCode.Other, reason);
        }

        return ResponseVerdict.Ok;
    }

    /// <summary>True when <c>result</c> is exactly <c>true</c>.</summary>
    public static bool IsResultTrue(ReadOnlySpan<byte> line, in StratumEnvelope envelope) =>
        envelope.Result.Of(line).SequenceEqual("true"u8);

    private static ResponseVerdict ReadError(ReadOnlySpan<byte> error, in StratumEnvelope envelope, ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(error, StratumEnvelope.ReaderOptions);
        reader.Read();
        var code = (int)StratumErrorCode.Other;
        string? message = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.StartArray:
                if (reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var c))
                {
                    code = c;
                }

                if (reader.TokenType != JsonTokenType.EndArray && reader.Read() && reader.TokenType == JsonTokenType.String)
                {
                    message = reader.GetString();
                }

                break;
            case JsonTokenType.StartObject:
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isCode = reader.ValueTextEquals("code"u8);
                    var isMessage = reader.ValueTextEquals("message"u8);
                    reader.Read();
                    if (isCode && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var oc))
                    {
                        code = oc;
                    }
                    else if (isMessage && reader.TokenType == JsonTokenType.String)
                    {
                        message = reader.GetString();
                    }

                    reader.Skip();
                }

                break;
            case JsonTokenType.String:
                message = reader.GetString();
                break;
        }

        if (message is null && !envelope.RejectReason.IsEmpty)
        {
            message = ReadString(envelope.RejectReason.Of(line));
        }

        return new ResponseVerdict(false, code, message ?? "rejected");
    }

    private static string? ReadString(ReadOnlySpan<byte> token)
    {
        var reader = new Utf8JsonReader(token, StratumEnvelope.ReaderOptions);
        return reader.Read() && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
    }
}

/// <summary>A pool's answer to <c>mining.configure</c>: whether version rolling was granted, and the mask.</summary>
public readonly record struct ConfigureResult(bool VersionRolling, uint VersionRollingMask, bool MinimumDifficulty)
{
    /// <summary>Reads a configure result object; missing keys mean "not granted" (ckpool omits minimum-difficulty).</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out ConfigureResult result)
    {
        result = default;
        try
        {
            var reader = new Utf8JsonReader(envelope.Result.Of(line), StratumEnvelope.ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            bool rolling = false, minDiff = false;
            uint mask = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.ValueTextEquals("version-rolling"u8) ? 1
                    : reader.ValueTextEquals("version-rolling.mask"u8) ? 2
                    : reader.ValueTextEquals("minimum-difficulty"u8) ? 3 : 0;
                reader.Read();
                switch (key)
                {
                    case 1:
                        rolling = reader.TokenType == JsonTokenType.True;
                        break;
                    case 2 when reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped:
                        mask = Hex.TryParseUInt32(reader.ValueSpan, out var parsed) ? parsed : 0;
                        break;
                    case 3:
                        minDiff = reader.TokenType == JsonTokenType.True;
                        break;
                }

                reader.Skip();
            }

            result = new ConfigureResult(rolling, rolling ? mask : 0, minDiff);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
