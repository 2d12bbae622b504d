using System.Text.Json.Nodes;
using StratumProxy.Rigs.Http;
using StratumProxy.Rigs.Json;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.BraiinsOs;

/// <summary>
/// Braiins OS through its public REST API (Braiins OS 25.07+, HTTP <c>/api/v1/</c>): login for a session token
/// (sent bare in <c>Authorization</c>, refreshed by every request), <c>PUT actions/pause</c> / <c>actions/resume</c>
/// for sleep and wake (bosminer and its API stay up), <c>PUT performance/power-target</c> for the power target.
/// </summary>
/// <remarks>
/// PARTIAL: the gRPC API (port 50051, Braiins OS 23.03+) and the legacy 4028 pause/resume are not implemented; older
/// firmware without the REST API is not covered. The read replies (details, stats, pools, tuner state) are library
/// fixtures recorded from an S21 Pro on 26.04; login, pause, resume and power-target exchanges come from the vendor's
/// OpenAPI examples only. Pool switching has no REST operation short of replacing every pool group, so it is unsupported.
/// </remarks>
public sealed class BraiinsOsRigClient : IRigClient, IDisposable
{
    private static readonly TimeSpan TokenMargin = TimeSpan.FromSeconds(60);

    private readonly RigHttp _http;
    private readonly RigEndpoint _endpoint;
    private readonly TimeProvider _timeProvider;
    private string? _token;
    private TimeSpan _tokenLifetime;
    private DateTimeOffset _tokenLastUsed;

    public BraiinsOsRigClient(RigEndpoint endpoint, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _endpoint = endpoint;
        _timeProvider = timeProvider;
        _http = new RigHttp(endpoint, timeProvider, digestAuth: false);
    }

    public RigFamily Family => RigFamily.BraiinsOs;

    public RigCapabilities Capabilities =>
        RigCapabilities.ReadStatus | RigCapabilities.Sleep | RigCapabilities.Wake | RigCapabilities.PowerTarget
        | RigCapabilities.ReportsPower | RigCapabilities.PartialProtocol;

    public RigEvidence Evidence => RigEvidence.VendorDocumentation;

    public async Task<RigReadResult> ReadStatusAsync(CancellationToken cancellationToken)
    {
        try
        {
            var details = await AuthorizedAsync(HttpMethod.Get, "/api/v1/miner/details", null, cancellationToken);
            if (details.Failure is { } failure)
            {
                return RigReadResult.Fail(failure);
            }

            var stats = await AuthorizedAsync(HttpMethod.Get, "/api/v1/miner/stats", null, cancellationToken);
            if (stats.Failure is { } statsFailure)
            {
                return RigReadResult.Fail(statsFailure);
            }

            var pools = await AuthorizedAsync(HttpMethod.Get, "/api/v1/pools/", null, cancellationToken);
            var tuner = await AuthorizedAsync(HttpMethod.Get, "/api/v1/performance/tuner-state", null, cancellationToken);
            var hashrateGhs = JsonValues.Number(JsonValues.At(stats.Json, "miner_stats", "real_hashrate", "last_5s", "gigahash_per_second"));
            var status = JsonValues.At(details.Json, "status");
            var state = (JsonValues.Int(status), JsonValues.String(status)) switch
            {
                (3 or 4, _) or (_, "MINER_STATUS_PAUSED" or "MINER_STATUS_SUSPENDED") => RigMiningState.Asleep,
                (2, _) or (_, "MINER_STATUS_NORMAL") => hashrateGhs > 0 ? RigMiningState.Mining : RigMiningState.Idle,
                (1, _) or (_, "MINER_STATUS_NOT_STARTED") => RigMiningState.Idle,
                _ => RigMiningState.Unknown,
            };
            return RigReadResult.Ok(new RigStatus
            {
                State = state,
                HashrateThs = hashrateGhs / 1000,
                PowerWatts = JsonValues.Number(JsonValues.At(stats.Json, "power_stats", "approximated_consumption", "watt")),
                PowerLimitWatts = JsonValues.Int(JsonValues.At(tuner.Json, "mode_state", "powertargetmodestate", "current_target", "watt")),
                Pools = PoolsOf(pools.Json as JsonArray),
                Uptime = JsonValues.Number(JsonValues.At(details.Json, "bosminer_uptime_s")) is { } s ? TimeSpan.FromSeconds(s) : null,
                Firmware = JsonValues.String(JsonValues.At(details.Json, "bos_version", "current")),
            });
        }
        catch (RigTransportException ex)
        {
            return RigReadResult.Fail(Outcomes.ReadFailure(ex));
        }
    }

    public Task<RigCommandResult> SleepAsync(CancellationToken cancellationToken) =>
        WriteAsync(HttpMethod.Put, "/api/v1/actions/pause", null, new RigExpectation { State = RigMiningState.Asleep }, cancellationToken);

    public Task<RigCommandResult> WakeAsync(CancellationToken cancellationToken) =>
        WriteAsync(HttpMethod.Put, "/api/v1/actions/resume", null, new RigExpectation { State = RigMiningState.Mining }, cancellationToken);

    public Task<RigCommandResult> SetPowerTargetAsync(int watts, CancellationToken cancellationToken) =>
        WriteAsync(
            HttpMethod.Put,
            "/api/v1/performance/power-target",
            new JsonObject { ["watt"] = watts }.ToJsonString(),
            new RigExpectation { PowerLimitWatts = watts },
            cancellationToken);

    public Task<RigCommandResult> SetWorkModeAsync(RigWorkMode mode, CancellationToken cancellationToken) =>
        Task.FromResult<RigCommandResult>(Outcomes.Unsupported(Family, "work mode (use the power target)"));

    public Task<RigCommandResult> SwitchPoolAsync(int poolIndex, CancellationToken cancellationToken) =>
        Task.FromResult<RigCommandResult>(new RigUnsupported("Braiins OS REST has no pool switch short of replacing every pool group"));

    public void Dispose() => _http.Dispose();

    private static List<RigPoolInfo> PoolsOf(JsonArray? groups)
    {
        var list = new List<RigPoolInfo>();
        foreach (var pool in (groups ?? []).OfType<JsonObject>().SelectMany(g => (g["pools"] as JsonArray ?? []).OfType<JsonObject>()))
        {
            list.Add(new RigPoolInfo(
                list.Count,
                JsonValues.String(pool["url"]) ?? "",
                JsonValues.String(pool["user"]),
                Alive: JsonValues.Bool(pool["alive"]) ?? false,
                Active: JsonValues.Bool(pool["active"]) ?? false,
                list.Count));
        }

        return list;
    }

    private async Task<RigCommandResult> WriteAsync(
        HttpMethod method, string path, string? body, RigExpectation expected, CancellationToken cancellationToken)
    {
        var description = $"{method} {path}";
        try
        {
            var login = await EnsureTokenAsync(cancellationToken);
            if (login is not null)
            {
                return login;
            }
        }
        catch (RigTransportException ex)
        {
            return Outcomes.ReadFailure(ex);
        }

        HttpReply reply;
        try
        {
            reply = await SendWithTokenAsync(method, path, body, cancellationToken);
        }
        catch (RigTransportException ex)
        {
            return Outcomes.WriteFailure(ex, isWriteExchange: true, earlierWriteSent: false, expected, description);
        }

        if (reply.IsAuthFailure)
        {
            _token = null;
            return new RigFailed(RigFailureReason.AccessDenied, $"{description}: HTTP {(int)reply.Status}");
        }

        return reply.IsSuccess
            ? new RigUnconfirmed(expected, Acknowledged: true, $"{description}: HTTP {(int)reply.Status} {LenientJson.Preview(reply.Body)}")
            : new RigFailed(RigFailureReason.Rejected, $"{description}: HTTP {(int)reply.Status} {LenientJson.Preview(reply.Body)}");
    }

    private async Task<(JsonNode? Json, RigFailed? Failure)> AuthorizedAsync(
        HttpMethod method, string path, string? body, CancellationToken cancellationToken)
    {
        if (await EnsureTokenAsync(cancellationToken) is { } failure)
        {
            return (null, failure);
        }

        var reply = await SendWithTokenAsync(method, path, body, cancellationToken);
        if (reply.IsAuthFailure)
        {
            _token = null;
            return (null, new RigFailed(RigFailureReason.AccessDenied, $"{method} {path}: HTTP {(int)reply.Status}"));
        }

        return reply.IsSuccess
            ? (reply.Json(), null)
            : (null, new RigFailed(RigFailureReason.Rejected, $"{method} {path}: HTTP {(int)reply.Status}"));
    }

    private async Task<HttpReply> SendWithTokenAsync(HttpMethod method, string path, string? body, CancellationToken cancellationToken)
    {
        var reply = await _http.SendAsync(method, path, body, "application/json", [new("Authorization", _token!)], null, cancellationToken);
        _tokenLastUsed = _timeProvider.GetUtcNow();
        return reply;
    }

    private async Task<RigFailed?> EnsureTokenAsync(CancellationToken cancellationToken)
    {
        if (_token is not null && _timeProvider.GetUtcNow() - _tokenLastUsed < _tokenLifetime - TokenMargin)
        {
            return null;
        }

        var credentials = new JsonObject { ["username"] = _endpoint.User ?? "root", ["password"] = _endpoint.Password ?? "" };
        var reply = await _http.SendAsync(HttpMethod.Post, "/api/v1/auth/login", credentials.ToJsonString(), "application/json", null, null, cancellationToken);
        if (reply.IsAuthFailure)
        {
            return new RigFailed(RigFailureReason.AccessDenied, $"login refused: HTTP {(int)reply.Status}");
        }

        var json = reply.IsSuccess ? reply.Json() as JsonObject : null;
        if (JsonValues.String(json?["token"]) is not { Length: > 0 } token)
        {
            return new RigFailed(reply.IsSuccess ? RigFailureReason.InvalidReply : RigFailureReason.Rejected, $"login: HTTP {(int)reply.Status}");
        }

        _token = token;
        _tokenLifetime = TimeSpan.FromSeconds(JsonValues.Number(json?["timeout_s"]) ?? 3600);
        _tokenLastUsed = _timeProvider.GetUtcNow();
        return null;
    }
}
