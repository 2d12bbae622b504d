using System.Text.Json;

namespace StratumProxy.Stratum.Protocol;

/// <summary>
/// <c>mining.notify</c>: <c>[job_id, prevhash, coinb1, coinb2, merkle_branch[], version, nbits, ntime, clean_jobs]</c>.
/// Parsed once per job per upstream (not per miner), so it owns its bytes.
/// </summary>
public sealed record NotifyMessage(
    string JobId,
    byte[] PrevHash,
    byte[] Coinbase1,
    byte[] Coinbase2,
    byte[][] MerkleBranches,
    uint Version,
    uint NBits,
    uint NTime,
    bool CleanJobs)
{
    /// <summary>
    /// The most merkle branches a notify may carry. A block of 4 million weight units holds at most about 16,700
    /// transactions, a merkle tree about 15 deep; 32 branches would be 4 billion transactions.
    /// </summary>
    public const int MaxMerkleBranches = 32;

    /// <summary>Reads a notify. <c>clean_jobs</c> may be missing (treated as false).</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out NotifyMessage? notify, out StratumParseError error)
    {
        notify = null;
        try
        {
            return TryParseCore(line, envelope, out notify, out error);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            error = StratumParseError.Json("mining.notify params are not well-formed JSON");
            return false;
        }
    }

    private static bool TryParseCore(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out NotifyMessage? notify, out StratumParseError error)
    {
        notify = null;
        var p = new ParamsReader(line, envelope.Params);
        if (!p.MoveNext() || p.GetStringOrNull() is not { Length: > 0 } jobId)
        {
            return Guard.Refuse("mining.notify params[0] (job id) must be a non-empty string", out error);
        }

        var prevHash = new byte[32];
        if (!p.MoveNext() || !p.TryGetHexBytes(prevHash, out var prevLength) || prevLength != 32)
        {
            return Guard.Refuse("mining.notify params[1] (prevhash) must be 64 hex digits", out error);
        }

        if (!p.MoveNext() || !p.TryGetHexByteArray(out var coinbase1))
        {
            return Guard.Refuse("mining.notify params[2] (coinb1) must be hex", out error);
        }

        if (!p.MoveNext() || !p.TryGetHexByteArray(out var coinbase2))
        {
            return Guard.Refuse("mining.notify params[3] (coinb2) must be hex", out error);
        }

        var tooMany = false;
        if (!p.MoveNext() || !p.TryGetHexArray(32, MaxMerkleBranches, out var branches, out tooMany))
        {
            error = tooMany
                ? new StratumParseError(StratumParseErrorKind.TooManyMerkleBranches, $"mining.notify params[4] has more than {MaxMerkleBranches} merkle branches (a Bitcoin block's merkle tree is at most about 15 deep)")
                : StratumParseError.Params("mining.notify params[4] (merkle branches) must be a list of 64-digit hex strings");
            return false;
        }

        if (!p.MoveNext() || !p.TryGetHexUInt32(out var version))
        {
            return Guard.Refuse("mining.notify params[5] (version) must be hex of at most 8 digits", out error);
        }

        if (!p.MoveNext() || !p.TryGetHexUInt32(out var nbits))
        {
            return Guard.Refuse("mining.notify params[6] (nbits) must be hex of at most 8 digits", out error);
        }

        // A job is built on the network target: nbits that encode none (negative or overflowing) make no job.
        if (!Mining.Difficulty.TryTargetFromCompact(nbits, out _))
        {
            return Guard.Refuse("mining.notify params[6] (nbits) is not a valid compact target", out error);
        }

        if (!p.MoveNext() || !p.TryGetHexUInt32(out var ntime))
        {
            return Guard.Refuse("mining.notify params[7] (ntime) must be hex of at most 8 digits", out error);
        }

        var clean = false;
        if (p.MoveNext() && p.TokenType != JsonTokenType.Null && !p.TryGetBoolean(out clean))
        {
            return Guard.Refuse("mining.notify params[8] (clean_jobs) must be a boolean", out error);
        }

        notify = new NotifyMessage(jobId, prevHash, coinbase1, coinbase2, branches, version, nbits, ntime, clean);
        error = StratumParseError.None;
        return true;
    }
}

/// <summary>The result of <c>mining.subscribe</c>: <c>[subscriptions, extranonce1, extranonce2_size]</c>.</summary>
public sealed record SubscribeResult(byte[] Extranonce1, int Extranonce2Size)
{
    /// <summary>Reads a subscribe result. The subscription list's shape varies by pool and is not needed.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out SubscribeResult? result, out StratumParseError error) =>
        Guard.ReadOrRefuse(
            line, envelope.Result, Read, "the mining.subscribe result must be [subscriptions, extranonce1 hex, extranonce2 size 0..32]", out result, out error);

    private static bool Read(ref ParamsReader p, out SubscribeResult? result)
    {
        result = p.MoveNext() && p.TryGetExtranonce(out var extranonce1, out var size) ? new SubscribeResult(extranonce1, size) : null;
        return result is not null;
    }
}

/// <summary><c>mining.set_extranonce</c>: <c>[extranonce1, extranonce2_size]</c>.</summary>
public sealed record SetExtranonceMessage(byte[] Extranonce1, int Extranonce2Size)
{
    /// <summary>Reads a set_extranonce.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out SetExtranonceMessage? message, out StratumParseError error) =>
        Guard.ReadOrRefuse(
            line, envelope.Params, Read, "mining.set_extranonce params must be [extranonce1 hex, extranonce2 size 0..32]", out message, out error);

    private static bool Read(ref ParamsReader p, out SetExtranonceMessage? message)
    {
        message = p.TryGetExtranonce(out var extranonce1, out var size) ? new SetExtranonceMessage(extranonce1, size) : null;
        return message is not null;
    }
}

/// <summary><c>client.reconnect</c>: <c>[host?, port?, wait_seconds?]</c>; every param optional.</summary>
public sealed record ReconnectMessage(string? Host, int? Port, int WaitSeconds)
{
    /// <summary>Reads a reconnect request.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out ReconnectMessage message, out StratumParseError error)
    {
        message = new ReconnectMessage(null, null, 0);
        try
        {
            var p = new ParamsReader(line, envelope.Params);
            string? host = null;
            int? port = null;
            var wait = 0L;
            if (p.MoveNext())
            {
                host = p.GetStringOrNull();
            }

            if (p.MoveNext() && p.TryGetInt64(out var parsedPort))
            {
                if (parsedPort is < 1 or > 65535)
                {
                    return Guard.Refuse("client.reconnect port must be 1..65535", out error);
                }

                port = (int)parsedPort;
            }

            if (p.MoveNext() && p.TryGetInt64(out wait))
            {
                wait = Math.Clamp(wait, 0, 3600);
            }

            message = new ReconnectMessage(string.IsNullOrEmpty(host) ? null : host, port, (int)wait);
            error = StratumParseError.None;
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            error = StratumParseError.Json("client.reconnect params are not well-formed JSON");
            return false;
        }
    }
}

/// <summary>Single-value pool messages: set_difficulty, set_version_mask, show_message.</summary>
public static class PoolParams
{
    /// <summary><c>mining.set_difficulty</c>: <c>[difficulty]</c>, a number or numeric string, positive.</summary>
    public static bool TryParseDifficulty(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out double difficulty, out StratumParseError error) =>
        Guard.ReadOrRefuse(line, envelope.Params, ReadDifficulty, "mining.set_difficulty params[0] must be a positive number", out difficulty, out error);

    /// <summary><c>mining.set_version_mask</c>: <c>[mask hex]</c>.</summary>
    public static bool TryParseVersionMask(ReadOnlySpan<byte> line, in StratumEnvelope envelope, out uint mask, out StratumParseError error) =>
        Guard.ReadOrRefuse(line, envelope.Params, ReadVersionMask, "mining.set_version_mask params[0] must be hex of at most 8 digits", out mask, out error);

    /// <summary><c>client.show_message</c>: <c>[text]</c>.</summary>
    public static string? ReadMessageText(ReadOnlySpan<byte> line, in StratumEnvelope envelope)
    {
        try
        {
            var p = new ParamsReader(line, envelope.Params);
            return p.MoveNext() ? p.GetStringOrNull() : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private static bool ReadDifficulty(ref ParamsReader p, out double difficulty)
    {
        difficulty = 0;
        return p.MoveNext() && p.TryGetDouble(out difficulty) && difficulty > 0;
    }

    private static bool ReadVersionMask(ref ParamsReader p, out uint mask)
    {
        mask = 0;
        return p.MoveNext() && p.TryGetHexUInt32(out mask);
    }
}
