using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StratumProxy.Rigs.Json;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.Whatsminer;

/// <summary>
/// MicroBT Whatsminer API v3 (TCP 4433, firmware from 2024 on): JSON framed by a uint32 little-endian length both ways.
/// <c>get.*</c> needs no auth; every <c>set.*</c> carries <c>ts</c>, <c>account</c> and
/// token = base64(sha256(cmd + password + salt + ts))[0..8], with the salt from <c>get.device.info</c> "salt".
/// Sleep = <c>set.miner.service stop</c>, wake = <c>start</c>, power target = <c>set.miner.power_limit</c> (the miner
/// restarts), work mode = <c>set.miner.power_mode</c> low/normal/high.
/// </summary>
/// <remarks>
/// PARTIAL (see <see cref="RigCapabilities.PartialProtocol"/>): only what the recorded examples allow. The frames and
/// tokens are verified against vectors computed from the vendor documentation; the replies come from a vendor mock and
/// library fixtures, not from a captured device. Pool changes (<c>set.miner.pools</c>, AES-encrypted param) are not
/// implemented. Whether <c>get.device.info</c> reports "working":"false" after a service stop is not recorded: the
/// asleep state is read from it as the best available signal, so a sleep may stay unconfirmed on real firmware.
/// </remarks>
public sealed class WhatsminerV3RigClient : IRigClient
{
    private readonly TcpRpcTransport _transport;
    private readonly TimeProvider _timeProvider;
    private readonly string _password;
    private readonly string _account;
    private string? _salt;

    public WhatsminerV3RigClient(RigEndpoint endpoint, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _timeProvider = timeProvider;
        _password = endpoint.Password ?? "super";
        _account = endpoint.User ?? "super";
        _transport = new TcpRpcTransport(endpoint, timeProvider);
    }

    public RigFamily Family => RigFamily.WhatsminerV3;

    public RigCapabilities Capabilities =>
        RigCapabilities.ReadStatus | RigCapabilities.Sleep | RigCapabilities.Wake | RigCapabilities.PowerTarget
        | RigCapabilities.WorkMode | RigCapabilities.ReportsPower | RigCapabilities.PartialProtocol;

    public RigEvidence Evidence => RigEvidence.MockOnly;

    public async Task<RigReadResult> ReadStatusAsync(CancellationToken cancellationToken)
    {
        try
        {
            var info = await CallAsync(BuildGet("get.device.info", null), cancellationToken);
            if (FailureOf(info, "get.device.info") is { } failure)
            {
                return RigReadResult.Fail(failure);
            }

            var msg = info["msg"] as JsonObject;
            var working = JsonValues.Bool(JsonValues.At(msg, "miner", "working"));
            var firmware = JsonValues.String(JsonValues.At(msg, "system", "fwversion"));
            if (working == false)
            {
                return RigReadResult.Ok(new RigStatus { State = RigMiningState.Asleep, HashrateThs = 0, Firmware = firmware });
            }

            var summary = await CallAsync(BuildGet("get.miner.status", "summary"), cancellationToken);
            if (FailureOf(summary, "get.miner.status summary") is { } summaryFailure)
            {
                return RigReadResult.Fail(summaryFailure);
            }

            var pools = await CallAsync(BuildGet("get.miner.status", "pools"), cancellationToken);
            var setting = await CallAsync(BuildGet("get.miner.setting", null), cancellationToken);
            var row = JsonValues.At(summary, "msg", "summary") as JsonObject;
            var hashrate = JsonValues.Number(row?["hash-realtime"]);
            return RigReadResult.Ok(new RigStatus
            {
                State = hashrate > 0 ? RigMiningState.Mining : RigMiningState.Idle,
                HashrateThs = hashrate,
                PowerWatts = JsonValues.Number(row?["power-realtime"]),
                PowerLimitWatts = JsonValues.Int(row?["power-limit"]) ?? JsonValues.Int(JsonValues.At(setting, "msg", "power-limit")),
                WorkMode = JsonValues.String(JsonValues.At(setting, "msg", "power-mode"))?.ToUpperInvariant() switch
                {
                    "LOW" => RigWorkMode.LowPower,
                    "NORMAL" => RigWorkMode.Normal,
                    "HIGH" => RigWorkMode.HighPerformance,
                    _ => null,
                },
                Pools = PoolsOf(JsonValues.At(pools, "msg", "pools") as JsonArray),
                Uptime = JsonValues.Number(row?["elapsed"]) is { } s ? TimeSpan.FromSeconds(s) : null,
                Firmware = firmware,
            });
        }
        catch (RigTransportException ex)
        {
            return RigReadResult.Fail(Outcomes.ReadFailure(ex));
        }
    }

    public Task<RigCommandResult> SleepAsync(CancellationToken cancellationToken) =>
        SetAsync("set.miner.service", w => w.WriteString("param", "stop"), new RigExpectation { State = RigMiningState.Asleep }, cancellationToken);

    public Task<RigCommandResult> WakeAsync(CancellationToken cancellationToken) =>
        SetAsync("set.miner.service", w => w.WriteString("param", "start"), new RigExpectation { State = RigMiningState.Mining }, cancellationToken);

    public Task<RigCommandResult> SetPowerTargetAsync(int watts, CancellationToken cancellationToken) =>
        SetAsync("set.miner.power_limit", w => w.WriteNumber("param", watts), new RigExpectation { PowerLimitWatts = watts }, cancellationToken);

    public Task<RigCommandResult> SetWorkModeAsync(RigWorkMode mode, CancellationToken cancellationToken) =>
        SetAsync(
            "set.miner.power_mode",
            w => w.WriteString("param", mode switch { RigWorkMode.LowPower => "low", RigWorkMode.HighPerformance => "high", _ => "normal" }),
            new RigExpectation { WorkMode = mode },
            cancellationToken);

    public Task<RigCommandResult> SwitchPoolAsync(int poolIndex, CancellationToken cancellationToken) =>
        Task.FromResult<RigCommandResult>(new RigUnsupported("Whatsminer API v3 pool changes (set.miner.pools) are not implemented"));

    /// <summary>token = base64(sha256(cmd + password + salt + ts)), first 8 characters.</summary>
    internal static string Token(string command, string password, string salt, long ts)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(command + password + salt + ts.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return Convert.ToBase64String(digest)[..8];
    }

    internal static byte[] Frame(byte[] json)
    {
        var frame = new byte[json.Length + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)json.Length);
        json.CopyTo(frame, 4);
        return frame;
    }

    internal static byte[] BuildGet(string command, string? param) => Json(w =>
    {
        w.WriteString("cmd", command);
        if (param is not null)
        {
            w.WriteString("param", param);
        }
    });

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, LenientJson.WriterOptions))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static RigFailed? FailureOf(JsonObject reply, string command) => JsonValues.Int(reply["code"]) switch
    {
        0 => null,
        -4 => new RigFailed(RigFailureReason.AccessDenied, $"{command}: {reply.ToJsonString()}"),
        null => new RigFailed(RigFailureReason.InvalidReply, $"{command}: reply has no code"),
        _ => new RigFailed(RigFailureReason.Rejected, $"{command}: {reply.ToJsonString()}"),
    };

    private static IReadOnlyList<RigPoolInfo> PoolsOf(JsonArray? pools)
    {
        if (pools is null)
        {
            return [];
        }

        var list = pools.OfType<JsonObject>().Select((p, i) => new RigPoolInfo(
            i,
            JsonValues.String(p["url"]) ?? "",
            JsonValues.String(p["account"]),
            Alive: string.Equals(JsonValues.String(p["status"]), "alive", StringComparison.OrdinalIgnoreCase),
            Active: JsonValues.Bool(p["stratum-active"]) ?? false,
            JsonValues.Int(p["pool-priority"]))).ToList();
        return Cgminer.CgminerParsing.MarkActive(list);
    }

    private async Task<JsonObject> CallAsync(byte[] json, CancellationToken cancellationToken) =>
        LenientJson.ParseObject(await _transport.ExchangeAsync(Frame(json), ReplyFraming.LengthPrefixed, cancellationToken));

    private async Task<RigCommandResult> SetAsync(
        string command, Action<Utf8JsonWriter> writeParam, RigExpectation expected, CancellationToken cancellationToken)
    {
        string salt;
        try
        {
            if (_salt is null)
            {
                var info = await CallAsync(BuildGet("get.device.info", "salt"), cancellationToken);
                if (FailureOf(info, "get.device.info salt") is { } failure)
                {
                    return failure;
                }

                _salt = JsonValues.String(JsonValues.At(info, "msg", "salt"));
                if (_salt is null)
                {
                    return new RigFailed(RigFailureReason.InvalidReply, "get.device.info reply has no salt");
                }
            }

            salt = _salt;
        }
        catch (RigTransportException ex)
        {
            return Outcomes.ReadFailure(ex);
        }

        var ts = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        var request = Json(w =>
        {
            w.WriteString("cmd", command);
            w.WriteNumber("ts", ts);
            w.WriteString("token", Token(command, _password, salt, ts));
            w.WriteString("account", _account);
            writeParam(w);
        });

        JsonObject reply;
        try
        {
            reply = await CallAsync(request, cancellationToken);
        }
        catch (RigTransportException ex)
        {
            return Outcomes.WriteFailure(ex, isWriteExchange: true, earlierWriteSent: false, expected, command);
        }

        if (FailureOf(reply, command) is { } refused)
        {
            if (refused.Reason == RigFailureReason.AccessDenied)
            {
                // A changed password or salt shows up as "no permission": fetch the salt again next time.
                _salt = null;
            }

            return refused;
        }

        return new RigUnconfirmed(expected, Acknowledged: true, $"{command}: {JsonValues.String(reply["msg"]) ?? reply["msg"]?.ToJsonString()}");
    }
}
