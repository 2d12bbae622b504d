using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StratumProxy.Rigs.Cgminer;
using StratumProxy.Rigs.Json;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.Whatsminer;

/// <summary>
/// MicroBT Whatsminer API v2 (TCP 4028, btminer). Reads are plain <c>{"cmd":...}</c>; writes are
/// <c>{"enc":1,"data":base64(AES-256-ECB(json))}</c> carrying a token derived from <c>get_token</c> with the admin
/// password (md5crypt). Tokens are cached for 25 minutes (valid 30; the firmware caps tokens per client IP, Code 136).
/// Sleep = <c>power_off</c> (respbefore), wake = <c>power_on</c>, power target = <c>adjust_power_limit</c> (btminer
/// restarts), work mode = <c>set_low_power</c>/<c>set_normal_power</c>/<c>set_high_power</c> (restart, no reply).
/// There is no switchpool in v2.
/// </summary>
/// <remarks>
/// The get_token reply is captured; the write requests are computed from the documented algorithm with the captured
/// salts and verified byte for byte against the vectors; the encrypted success reply is computed; summary/status/pools
/// are library fixtures. Writes need the admin password changed from its default and API writes enabled in WhatsMinerTool.
/// </remarks>
public sealed class WhatsminerV2RigClient : CgminerFamilyClient
{
    /// <summary>What it does beyond reading, sleeping and waking (<see cref="CgminerFamilyClient"/>).</summary>
    private const RigCapabilities FamilyCapabilities = RigCapabilities.PowerTarget | RigCapabilities.WorkMode | RigCapabilities.ReportsPower;

    private static readonly TimeSpan TokenReuse = TimeSpan.FromMinutes(25);

    private readonly string _password;
    private WhatsminerV2Token? _token;
    private DateTimeOffset _tokenObtainedAt;

    public WhatsminerV2RigClient(RigEndpoint endpoint, TimeProvider timeProvider)
        : base(endpoint, timeProvider, RigFamily.WhatsminerV2, FamilyCapabilities, RigEvidence.VendorDocumentation, "cmd")
    {
        _password = endpoint.Password ?? "admin";
    }

    private protected override async Task<RigStatus> ReadFamilyStatusAsync(CgminerSummary summary, CancellationToken cancellationToken)
    {
        var status = await Api.CallAsync("status", null, cancellationToken);
        var row = summary.Row;
        var msg = status["Msg"] as JsonObject;
        var off = JsonValues.Bool(msg?["mineroff"]) ?? JsonValues.Bool(msg?["btmineroff"]);
        return summary.Status(asleep: off == true) with
        {
            PowerWatts = JsonValues.Number(row?["Power"]),
            PowerLimitWatts = JsonValues.Int(row?["Power Limit"]) ?? JsonValues.Int(msg?["power_limit_set"]),
            WorkMode = ModeOf(JsonValues.String(msg?["power_mode"])),
            Firmware = (JsonValues.String(msg?["FirmwareVersion"]) ?? JsonValues.String(msg?["Firmware Version"])
                ?? JsonValues.String(row?["Firmware Version"]))?.Trim('\''),
        };
    }

    public override Task<RigCommandResult> SleepAsync(CancellationToken cancellationToken) =>
        WriteAsync("power_off", [("respbefore", "true")], new RigExpectation { State = RigMiningState.Asleep }, cancellationToken);

    public override Task<RigCommandResult> WakeAsync(CancellationToken cancellationToken) =>
        WriteAsync("power_on", [], new RigExpectation { State = RigMiningState.Mining }, cancellationToken);

    public override Task<RigCommandResult> SetPowerTargetAsync(int watts, CancellationToken cancellationToken) =>
        WriteAsync(
            "adjust_power_limit",
            [("power_limit", watts.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            new RigExpectation { PowerLimitWatts = watts },
            cancellationToken);

    public override Task<RigCommandResult> SetWorkModeAsync(RigWorkMode mode, CancellationToken cancellationToken) =>
        WriteAsync(
            mode switch
            {
                RigWorkMode.LowPower => "set_low_power",
                RigWorkMode.HighPerformance => "set_high_power",
                _ => "set_normal_power",
            },
            [],
            new RigExpectation { WorkMode = mode },
            cancellationToken);

    public override Task<RigCommandResult> SwitchPoolAsync(int poolIndex, CancellationToken cancellationToken) =>
        Task.FromResult<RigCommandResult>(new RigUnsupported("Whatsminer API v2 has no switchpool (only update_pools, which rewrites all slots)"));

    internal static string BuildPlaintext(string command, IReadOnlyList<(string Key, string Value)> fields, string sign)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, LenientJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("cmd", command);
            foreach (var (key, value) in fields)
            {
                writer.WriteString(key, value);
            }

            writer.WriteString("token", sign);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal static byte[] BuildEnvelope(string data)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, LenientJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("enc", 1);
            writer.WriteString("data", data);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static RigWorkMode? ModeOf(string? mode) => mode?.ToUpperInvariant() switch
    {
        "LOW" => RigWorkMode.LowPower,
        "NORMAL" => RigWorkMode.Normal,
        "HIGH" => RigWorkMode.HighPerformance,
        _ => null,
    };

    private async Task<RigCommandResult> WriteAsync(
        string command, IReadOnlyList<(string Key, string Value)> fields, RigExpectation expected, CancellationToken cancellationToken)
    {
        var obtained = await Outcomes.ReadFirstAsync(GetTokenAsync(cancellationToken));
        if (obtained.Failure is { } failure)
        {
            return failure;
        }

        var token = obtained.Value!;

        var envelope = BuildEnvelope(token.Encrypt(BuildPlaintext(command, fields, token.Sign)));
        JsonObject reply;
        try
        {
            var bytes = await Api.Transport.ExchangeAsync(envelope, ReplyFraming.NulOrClose, cancellationToken);
            reply = LenientJson.ParseObject(bytes);

            // Error replies to writes come back in clear; only successes are encrypted.
            if (JsonValues.String(reply["enc"]) is { } encrypted)
            {
                reply = DecryptReply(token, encrypted);
            }
        }
        catch (RigTransportException ex)
        {
            return Outcomes.WriteFailure(ex, isWriteExchange: true, earlierWriteSent: false, expected, command);
        }

        var status = CgminerStatus.Read(reply);
        if (status is { IsSuccess: true })
        {
            return new RigUnconfirmed(expected, Acknowledged: true, $"{command}: {status}");
        }

        if (status?.StatusCode is 135 or 45)
        {
            _token = null;
            return new RigFailed(RigFailureReason.AccessDenied, $"{command}: {status}");
        }

        return status?.StatusCode == 136
            ? new RigFailed(RigFailureReason.Busy, $"{command}: {status}")
            : new RigFailed(status is null ? RigFailureReason.InvalidReply : RigFailureReason.Rejected, $"{command}: {status}");
    }

    private static JsonObject DecryptReply(WhatsminerV2Token token, string encrypted)
    {
        string plain;
        try
        {
            plain = token.Decrypt(encrypted);
        }
        catch (Exception ex) when (ex is FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw new RigTransportException(TransportFault.InvalidReply, "encrypted reply could not be decrypted", ex);
        }

        return LenientJson.ParseObject(Encoding.UTF8.GetBytes(plain));
    }

    private async Task<(WhatsminerV2Token? Token, RigFailed? Failure)> GetTokenAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        if (_token is { } cached && now - _tokenObtainedAt < TokenReuse)
        {
            return (cached, null);
        }

        var reply = await Api.CallAsync("get_token", null, cancellationToken);
        var status = CgminerStatus.Read(reply);
        if (status is { IsSuccess: false, StatusCode: 136 })
        {
            return (null, new RigFailed(RigFailureReason.Busy, $"get_token: {status}"));
        }

        if (CgminerStatus.FailureOf(reply, "get_token") is { } failure)
        {
            return (null, failure);
        }

        if (reply["Msg"] is not JsonObject msg
            || JsonValues.String(msg["time"]) is not { } time
            || JsonValues.String(msg["salt"]) is not { } salt
            || JsonValues.String(msg["newsalt"]) is not { } newSalt)
        {
            return (null, new RigFailed(RigFailureReason.InvalidReply, "get_token reply lacks time/salt/newsalt"));
        }

        _token = WhatsminerV2Token.Derive(_password, salt, newSalt, time);
        _tokenObtainedAt = now;
        return (_token, null);
    }
}
