using System.Globalization;
using System.Text.Json.Nodes;
using StratumProxy.Rigs.Cgminer;
using StratumProxy.Rigs.Http;
using StratumProxy.Rigs.Json;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.Antminer;

/// <summary>
/// Stock Bitmain Antminer firmware: modes are written through the web UI's CGI (<c>/cgi-bin/set_miner_conf.cgi</c>,
/// HTTP Digest, default root/root) by sending the full configuration read from <c>get_miner_conf.cgi</c> with only
/// <c>miner-mode</c> changed (0 normal, 1 sleep, 2 high, 3 low power). Hashrate and pools come from the read-only bmminer
/// API on TCP 4028. A config write answers after ~21 s and restarts bmminer, so the write gets a long deadline and
/// the read-back tolerates the API being away for a while.
/// </summary>
/// <remarks>
/// The sleep write and its M000 reply are captured from an S19j Pro; the configuration read is a vendor mock;
/// the 4028 summary/stats/version are library fixtures. The capture shows the mode accepted while hashing went on until
/// a reboot: the state counts as asleep only when the mode is sleep AND the hashrate has dropped, so such a write stays
/// unconfirmed instead of being reported as done. Mode 2 (high) comes from one client library and is unverified.
/// </remarks>
public sealed class AntminerStockRigClient : IRigClient, IDisposable
{
    private const double HashingThresholdThs = 0.001;
    private static readonly TimeSpan MinimumConfigWriteTimeout = TimeSpan.FromSeconds(40);

    private readonly RigHttp _http;
    private readonly CgminerApi _rpc;
    private readonly TimeSpan _writeTimeout;

    /// <param name="endpoint">The web UI (usually port 80) with the web user and password.</param>
    /// <param name="timeProvider">The clock for the web UI's and the API's timeouts.</param>
    /// <param name="rpcPort">The bmminer API port on the same host.</param>
    public AntminerStockRigClient(RigEndpoint endpoint, TimeProvider timeProvider, int rpcPort = 4028)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _http = new RigHttp(endpoint, timeProvider, digestAuth: true);
        _rpc = new CgminerApi(new TcpRpcTransport(endpoint with { Port = rpcPort }, timeProvider));
        _writeTimeout = endpoint.CommandTimeout > MinimumConfigWriteTimeout ? endpoint.CommandTimeout : MinimumConfigWriteTimeout;
    }

    public RigFamily Family => RigFamily.AntminerStock;

    public RigCapabilities Capabilities =>
        RigCapabilities.ReadStatus | RigCapabilities.Sleep | RigCapabilities.Wake | RigCapabilities.WorkMode;

    public RigEvidence Evidence => RigEvidence.CapturedReplies;

    public async Task<RigReadResult> ReadStatusAsync(CancellationToken cancellationToken)
    {
        var conf = await Outcomes.ReadFirstAsync(ReadConfigAsync(cancellationToken));
        if (conf.Failure is { } failure)
        {
            return RigReadResult.Fail(failure);
        }

        var mode = JsonValues.Int(conf.Value!["bitmain-work-mode"]);
        return await CgminerSummary.ReadStatusAsync(_rpc, summary =>
        {
            var hashing = summary.HashrateThs > HashingThresholdThs;
            return Task.FromResult(summary.Status(asleep: false) with
            {
                State = (mode, hashing) switch
                {
                    (_, true) => RigMiningState.Mining,
                    (1, false) => RigMiningState.Asleep,
                    _ => RigMiningState.Idle,
                },
                WorkMode = mode switch
                {
                    0 => RigWorkMode.Normal,
                    2 => RigWorkMode.HighPerformance,
                    3 => RigWorkMode.LowPower,
                    _ => null,
                },
            });
        }, cancellationToken);
    }

    public Task<RigCommandResult> SleepAsync(CancellationToken cancellationToken) =>
        WriteModeAsync(1, new RigExpectation { State = RigMiningState.Asleep }, cancellationToken);

    public Task<RigCommandResult> WakeAsync(CancellationToken cancellationToken) =>
        WriteModeAsync(0, new RigExpectation { State = RigMiningState.Mining }, cancellationToken);

    public Task<RigCommandResult> SetPowerTargetAsync(int watts, CancellationToken cancellationToken) =>
        Task.FromResult<RigCommandResult>(new RigUnsupported("stock Antminer firmware has no watt power limit, only modes"));

    public Task<RigCommandResult> SetWorkModeAsync(RigWorkMode mode, CancellationToken cancellationToken) =>
        WriteModeAsync(
            mode switch { RigWorkMode.LowPower => 3, RigWorkMode.HighPerformance => 2, _ => 0 },
            new RigExpectation { WorkMode = mode },
            cancellationToken);

    public Task<RigCommandResult> SwitchPoolAsync(int poolIndex, CancellationToken cancellationToken) =>
        Task.FromResult<RigCommandResult>(new RigUnsupported("stock Antminer 4028 API is read-only; pool order changes need a config rewrite and restart"));

    public void Dispose() => _http.Dispose();

    /// <summary>The set_miner_conf body: the current configuration with only miner-mode changed.</summary>
    internal static JsonObject BuildConfigBody(JsonObject conf, int minerMode)
    {
        var pools = new JsonArray();
        foreach (var pool in (conf["pools"] as JsonArray ?? []).OfType<JsonObject>())
        {
            pools.Add(new JsonObject
            {
                ["url"] = JsonValues.String(pool["url"]) ?? "",
                ["user"] = JsonValues.String(pool["user"]) ?? "",
                ["pass"] = JsonValues.String(pool["pass"]) ?? "",
            });
        }

        return new JsonObject
        {
            ["bitmain-fan-ctrl"] = JsonValues.Bool(conf["bitmain-fan-ctrl"]) ?? false,
            ["bitmain-fan-pwm"] = JsonValues.String(conf["bitmain-fan-pwm"]) ?? "100",
            ["miner-mode"] = minerMode,
            ["freq-level"] = JsonValues.String(conf["bitmain-freq-level"]) ?? "100",
            ["pools"] = pools,
        };
    }

    private async Task<(JsonObject? Json, RigFailed? Failure)> ReadConfigAsync(CancellationToken cancellationToken)
    {
        var reply = await _http.SendAsync(HttpMethod.Get, "/cgi-bin/get_miner_conf.cgi", null, null, null, null, cancellationToken);
        if (reply.IsAuthFailure)
        {
            return (null, new RigFailed(RigFailureReason.AccessDenied, $"get_miner_conf: HTTP {(int)reply.Status}"));
        }

        if (!reply.IsSuccess)
        {
            return (null, new RigFailed(RigFailureReason.Rejected, $"get_miner_conf: HTTP {(int)reply.Status}"));
        }

        return reply.Json() is JsonObject conf
            ? (conf, null)
            : (null, new RigFailed(RigFailureReason.InvalidReply, "get_miner_conf: not a JSON object"));
    }

    private async Task<RigCommandResult> WriteModeAsync(int minerMode, RigExpectation expected, CancellationToken cancellationToken)
    {
        var description = "set_miner_conf miner-mode=" + minerMode.ToString(CultureInfo.InvariantCulture);
        var read = await Outcomes.ReadFirstAsync(ReadConfigAsync(cancellationToken));
        if (read.Failure is { } failure)
        {
            return failure;
        }

        var conf = read.Value!;

        HttpReply reply;
        try
        {
            reply = await _http.SendAsync(
                HttpMethod.Post,
                "/cgi-bin/set_miner_conf.cgi",
                BuildConfigBody(conf, minerMode).ToJsonString(),
                "text/plain;charset=UTF-8",
                [new("X-Requested-With", "XMLHttpRequest"), new("Accept", "application/json, text/javascript, */*; q=0.01")],
                _writeTimeout,
                cancellationToken);
        }
        catch (RigTransportException ex)
        {
            return Outcomes.WriteFailure(ex, isWriteExchange: true, earlierWriteSent: false, expected, description);
        }

        if (reply.IsAuthFailure)
        {
            return new RigFailed(RigFailureReason.AccessDenied, $"{description}: HTTP {(int)reply.Status}");
        }

        JsonNode? json;
        try
        {
            json = reply.Json();
        }
        catch (RigTransportException)
        {
            json = null;
        }

        var code = JsonValues.String(JsonValues.At(json, "code"));
        return reply.IsSuccess && code == "M000"
            ? new RigUnconfirmed(expected, Acknowledged: true, $"{description}: {code} {JsonValues.String(JsonValues.At(json, "msg"))}")
            : new RigFailed(RigFailureReason.Rejected, $"{description}: HTTP {(int)reply.Status} {LenientJson.Preview(reply.Body)}");
    }
}
