using System.Text.Json.Serialization;

namespace StratumProxy.Admin;

/// <summary>GET /api/status.</summary>
public sealed record StatusResponse(
    string Version,
    DateTimeOffset StartedAt,
    double UptimeSeconds,
    IReadOnlyList<string> Listeners,
    int Miners,
    double HashrateHashesPerSecond,
    IReadOnlyList<PoolStatus> Pools,
    IReadOnlyList<MinerStatus> Sessions,
    string? Notice = null);

/// <summary>One pool in the status.</summary>
public sealed record PoolStatus(
    string Name,
    string Url,
    string Mode,
    int Priority,
    string Group,
    bool Ready,
    double HealthScore,
    double? LatencySeconds,
    double Difficulty,
    string Extranonce1,
    int Extranonce2Size,
    string VersionMask,
    int Miners,
    int InFlight,
    double HashrateHashesPerSecond,
    string? LastError,
    PoolLayoutStatus? MinerLayout = null);

/// <summary>
/// How miners fit in the pool's extranonce2 (docs/extranonce.md): the k and n of the miners its connections carry,
/// how many connections it uses, and whether its extranonce2 size forced its group below the configured layout.
/// </summary>
public sealed record PoolLayoutStatus(
    int Extranonce1Size,
    int Extranonce2Size,
    long MinersPerConnection,
    int Connections,
    int MaxConnections,
    int? Extranonce2SizeHint,
    bool Adapted,
    string GroupLayout);

/// <summary>One miner session in the status.</summary>
public sealed record MinerStatus(
    long Session,
    string? Worker,
    string? Remote,
    string? UserAgent,
    string? Pool,
    double Difficulty,
    DateTimeOffset ConnectedAt,
    string Extranonce1,
    int Extranonce2Size = 0);

/// <summary>GET /api/workers: the books of one worker.</summary>
public sealed record WorkerStatus(
    string Worker,
    int Sessions,
    long Accepted,
    long Stale,
    long Duplicate,
    long LowDifficulty,
    long Invalid,
    long PoolRejected,
    long Lost,
    double AcceptedDifficulty,
    double Hashrate1mHashesPerSecond,
    double Hashrate5mHashesPerSecond,
    double Hashrate1hHashesPerSecond,
    double Hashrate5mRelativeUncertainty,
    DateTimeOffset? LastShareAt,
    IReadOnlyList<Proxy.Control.WorkerPoolView> Pools);

/// <summary>POST /api/switch body.</summary>
public sealed record SwitchRequest(string Pool, IReadOnlyList<string>? Workers, bool Pin);

/// <summary>POST /api/switch answer.</summary>
public sealed record SwitchResponse(string Pool, int Moved);

/// <summary>GET /healthz.</summary>
public sealed record HealthResponse(string Status, int PoolsReady, int Pools, int Miners);

/// <summary>GET /api/economics.</summary>
public sealed record EconomicsResponse(Farm.MarketView? Market, IReadOnlyList<Farm.RigEconomicsView> Rigs);

/// <summary>An error answer.</summary>
public sealed record ErrorResponse(string Error);

/// <summary>The admin API's serializer: source-generated, snake_case, no HTML escaping of '+' and the like.</summary>
public static class AdminJson
{
    /// <summary>The context to pass to Results.Json.</summary>
    public static AdminJsonContext Context { get; } = new(new System.Text.Json.JsonSerializerOptions
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>Source-generated JSON for the admin API (snake_case).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(StatusResponse))]
[JsonSerializable(typeof(IReadOnlyList<WorkerStatus>))]
[JsonSerializable(typeof(SwitchRequest))]
[JsonSerializable(typeof(SwitchResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(EconomicsResponse))]
public sealed partial class AdminJsonContext : JsonSerializerContext;
