using System.Text.Json;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Stratum.Protocol;

/// <summary>
/// <c>mining.submit</c>: <c>[worker, job_id, extranonce2, ntime, nonce]</c> plus BIP310's optional
/// <c>version_bits</c>. The hot path: parsed without allocating; worker and job id stay in the line as ranges.
/// </summary>
public struct SubmitRequest
{
    /// <summary>Where the worker name's text sits in the line (a plain string).</summary>
    public JsonRange Worker;

    /// <summary>Where the job id's text sits in the line (a plain string).</summary>
    public JsonRange JobId;

    /// <summary>The extranonce2 bytes, as sent (any even number of hex digits up to 64).</summary>
    public SmallBytes Extranonce2;

    /// <summary>ntime, as the big-endian number the hex spells.</summary>
    public uint NTime;

    /// <summary>nonce, as the big-endian number the hex spells.</summary>
    public uint Nonce;

    /// <summary>The BIP310 version bits, when the sixth param was given.</summary>
    public uint VersionBits;

    /// <summary>True when the sixth param (version bits) was given.</summary>
    public bool HasVersionBits;

    /// <summary>Reads the params of a submit line. Never throws.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out SubmitRequest submit, out StratumParseError error)
    {
        submit = default;
        try
        {
            return TryParseCore(line, envelope, ref submit, out error);
        }
        catch (JsonException)
        {
            error = StratumParseError.Json("mining.submit params are not well-formed JSON");
            return false;
        }
    }

    private static bool TryParseCore(ReadOnlySpan<byte> line, in StratumEnvelope envelope, ref SubmitRequest submit, out StratumParseError error)
    {
        var p = new ParamsReader(line, envelope.Params);
        var start = envelope.Params.Start;
        if (!p.MoveNext() || !p.TryGetPlainString(out _))
        {
            return Guard.Refuse("mining.submit params[0] (worker) must be a string", out error);
        }

        submit.Worker = p.CurrentValueRange(start);

        if (!p.MoveNext() || !p.TryGetPlainString(out _))
        {
            return Guard.Refuse("mining.submit params[1] (job id) must be a string", out error);
        }

        submit.JobId = p.CurrentValueRange(start);

        if (!p.MoveNext() || !p.TryGetPlainString(out var en2) || (en2.Length & 1) != 0 || en2.Length / 2 > SmallBytes.Capacity
            || !Hex.TryDecode(en2, submit.Extranonce2.Resize(en2.Length / 2), out _))
        {
            return Guard.Refuse("mining.submit params[2] (extranonce2) must be an even-length hex string of at most 64 digits", out error);
        }

        if (!p.MoveNext() || !p.TryGetHexUInt32(out submit.NTime))
        {
            return Guard.Refuse("mining.submit params[3] (ntime) must be hex of at most 8 digits", out error);
        }

        if (!p.MoveNext() || !p.TryGetHexUInt32(out submit.Nonce))
        {
            return Guard.Refuse("mining.submit params[4] (nonce) must be hex of at most 8 digits", out error);
        }

        if (p.MoveNext() && p.TokenType != JsonTokenType.Null)
        {
            if (!p.TryGetHexUInt32(out submit.VersionBits))
            {
                return Guard.Refuse("mining.submit params[5] (version bits) must be hex of at most 8 digits", out error);
            }

            submit.HasVersionBits = true;
        }

        error = StratumParseError.None;
        return true;
    }
}

/// <summary><c>mining.subscribe</c>: <c>[user_agent?, session_id?, host?, port?]</c>, all optional.</summary>
public sealed record SubscribeRequest(string? UserAgent, string? SessionId)
{
    /// <summary>Reads a subscribe request; every param is optional (stratum-client sends <c>[]</c>).</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out SubscribeRequest request, out StratumParseError error)
    {
        request = new SubscribeRequest(null, null);
        error = StratumParseError.None;
        return Guard.Run(line, envelope, ref request, ref error, static (ReadOnlySpan<byte> l, in StratumEnvelope e, ref SubscribeRequest r, ref StratumParseError _) =>
        {
            var p = new ParamsReader(l, e.Params);
            string? agent = null, session = null;
            if (p.MoveNext())
            {
                agent = p.GetStringOrNull();
            }

            if (p.MoveNext())
            {
                session = p.GetStringOrNull();
            }

            r = new SubscribeRequest(agent, session);
            return true;
        });
    }
}

/// <summary><c>mining.authorize</c>: <c>[username, password?]</c>.</summary>
public sealed record AuthorizeRequest(string Username, string? Password)
{
    /// <summary>Reads an authorize request. The username is required; the password may be missing, null or a number.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out AuthorizeRequest request, out StratumParseError error)
    {
        request = new AuthorizeRequest(string.Empty, null);
        error = StratumParseError.None;
        return Guard.Run(line, envelope, ref request, ref error, static (ReadOnlySpan<byte> l, in StratumEnvelope e, ref AuthorizeRequest r, ref StratumParseError err) =>
        {
            var p = new ParamsReader(l, e.Params);
            if (!p.MoveNext() || p.TokenType != JsonTokenType.String)
            {
                err = StratumParseError.Params("mining.authorize params[0] (username) must be a string");
                return false;
            }

            var user = p.GetStringOrNull()!;
            var password = p.MoveNext() ? p.GetStringOrNull() : null;
            r = new AuthorizeRequest(user, password);
            return true;
        });
    }
}

/// <summary>
/// <c>mining.configure</c> (BIP310): <c>[[extension, …], {"extension.param": value, …}]</c>.
/// </summary>
public sealed record ConfigureRequest(
    IReadOnlyList<string> Extensions,
    uint? VersionRollingMask,
    int? VersionRollingMinBitCount,
    double? MinimumDifficulty)
{
    /// <summary>True when the miner asks for version rolling.</summary>
    public bool WantsVersionRolling => Extensions.Contains("version-rolling");

    /// <summary>True when the miner asks for a minimum difficulty.</summary>
    public bool WantsMinimumDifficulty => Extensions.Contains("minimum-difficulty");

    /// <summary>True when the miner asks for extranonce subscription through configure.</summary>
    public bool WantsSubscribeExtranonce => Extensions.Contains("subscribe-extranonce");

    private static readonly ConfigureRequest None = new([], null, null, null);

    /// <summary>Reads a configure request.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out ConfigureRequest request, out StratumParseError error)
    {
        request = None;
        error = StratumParseError.None;
        return Guard.Run(line, envelope, ref request, ref error, static (ReadOnlySpan<byte> l, in StratumEnvelope e, ref ConfigureRequest r, ref StratumParseError err) =>
        {
            var p = new ParamsReader(l, e.Params);
            if (!p.MoveNext() || !p.TryGetStringArray(out var extensions))
            {
                err = StratumParseError.Params("mining.configure params[0] must be a list of extension names");
                return false;
            }

            uint? mask = null;
            int? minBits = null;
            double? minDiff = null;
            if (p.MoveNext() && p.TokenType == JsonTokenType.StartObject && p.TryGetContainerRange(e.Params.Start, out var optionsRange))
            {
                ReadOptions(optionsRange.Of(l), ref mask, ref minBits, ref minDiff);
            }

            r = new ConfigureRequest(extensions, mask, minBits, minDiff);
            return true;
        });
    }

    /// <summary>
    /// Walks the option map in place, reading the three options the proxy uses; every other key is skipped unread
    /// (no dictionary, no strings). A key sent twice counts as its last value, as a map read whole would have it.
    /// </summary>
    private static void ReadOptions(ReadOnlySpan<byte> json, ref uint? mask, ref int? minBits, ref double? minDiff)
    {
        var reader = new Utf8JsonReader(json, StratumEnvelope.ReaderOptions);
        reader.Read(); // the StartObject the range begins with
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("version-rolling.mask"u8))
            {
                reader.Read();
                mask = reader.TokenType == JsonTokenType.String && TryParseHexString(ref reader, out var parsedMask) ? parsedMask : null;
            }
            else if (reader.ValueTextEquals("version-rolling.min-bit-count"u8))
            {
                reader.Read();
                minBits = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var bits) ? bits : null;
            }
            else if (reader.ValueTextEquals("minimum-difficulty.value"u8))
            {
                reader.Read();
                minDiff = reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var diff) ? diff : null;
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }
    }

    private static bool TryParseHexString(ref Utf8JsonReader reader, out uint value)
    {
        if (!reader.ValueIsEscaped)
        {
            return Hex.TryParseUInt32(reader.ValueSpan, out value);
        }

        // An escaped mask ("\u0031fffe000") is unheard of but legal JSON: unescape it first.
        Span<byte> text = stackalloc byte[64];
        value = 0;
        return reader.ValueSpan.Length <= text.Length && Hex.TryParseUInt32(text[..reader.CopyString(text)], out value);
    }
}

/// <summary>A request with one numeric param: <c>mining.suggest_difficulty</c>.</summary>
public static class SuggestDifficultyRequest
{
    /// <summary>Reads the suggested difficulty (a number or a numeric string).</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out double difficulty, out StratumParseError error)
    {
        difficulty = 0;
        var p = new ParamsReader(line, envelope.Params);
        if (p.MoveNext() && p.TryGetDouble(out difficulty) && difficulty > 0)
        {
            error = StratumParseError.None;
            return true;
        }

        error = StratumParseError.Params("mining.suggest_difficulty params[0] must be a positive number");
        return false;
    }
}

/// <summary>A request with one 256-bit hex target: <c>mining.suggest_target</c> and <c>mining.set_target</c>.</summary>
public static class TargetParam
{
    /// <summary>Reads a 64-digit big-endian hex target into <paramref name="targetBigEndian"/> (32 bytes).</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, Span<byte> targetBigEndian, out StratumParseError error)
    {
        var p = new ParamsReader(line, envelope.Params);
        if (p.MoveNext() && p.TryGetPlainString(out var text) && text.Length == 64 && Hex.TryDecode(text, targetBigEndian, out _))
        {
            error = StratumParseError.None;
            return true;
        }

        error = StratumParseError.Params("the target must be a 64-digit hex string");
        return false;
    }
}
