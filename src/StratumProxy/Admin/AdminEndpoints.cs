using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prometheus;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Routing;

namespace StratumProxy.Admin;

/// <summary>The admin HTTP surface: /metrics, /healthz, /api/status, /api/workers, /api/switch and the status page.</summary>
public static class AdminEndpoints
{
    /// <summary>The version string shown in the status.</summary>
    public static string Version { get; } =
        typeof(AdminEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0.0.0";

    /// <summary>Maps every endpoint.</summary>
    public static void Map(IEndpointRouteBuilder app, ProxyEngine engine, ProxyService service, AdminOptions admin, CollectorRegistry registry, DateTimeOffset startedAt, Farm.FarmEconomics? farm = null, Farm.CurtailmentLoop? curtailment = null, FarmHistory? history = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(engine);
        registry.AddBeforeCollectCallback(engine.Ledger.UpdateGauges);
        app.MapMetrics("/metrics", registry);

        app.MapGet("/healthz", () =>
        {
            var pools = engine.Pools;
            var ready = pools.Count(p => p.IsReady);
            return Results.Json(new HealthResponse(pools.Count == 0 ? "no_pool_configured" : ready > 0 ? "ok" : "no_pool_ready", ready, pools.Count, engine.MinerSessions.Count), AdminJson.Context.HealthResponse);
        });

        app.MapGet("/api/status", () => Results.Json(Status(engine, service, startedAt, admin.Notice), AdminJson.Context.StatusResponse));
        app.MapGet("/api/farm", () =>
        {
            var now = history?.Current();
            return Results.Json(
                new FarmResponse(now, FarmHistory.ShutdownPrice(now), history?.Interval.TotalSeconds ?? 0, history?.Ratings() ?? []),
                FarmHistoryJsonContext.Default.FarmResponse);
        });
        app.MapGet("/api/history", (int? max) => Results.Json(
            new HistoryResponse(history?.Interval.TotalSeconds ?? 0, history?.Points(Math.Clamp(max ?? 2000, 1, 100_000)) ?? []),
            FarmHistoryJsonContext.Default.HistoryResponse));
        app.MapGet("/api/economics", () => Results.Json(new EconomicsResponse(farm?.LastMarket, farm?.LastRigs ?? []), AdminJson.Context.EconomicsResponse));
        app.MapGet("/api/rigs", () => Results.Json(curtailment?.Rigs() ?? [], Farm.CurtailmentJsonContext.Default.IReadOnlyListRigView));
        app.MapGet("/api/decisions", (int? limit) =>
            Results.Text("[" + string.Join(",", curtailment?.Audit.ReadCurrent(Math.Clamp(limit ?? 200, 1, 5000)) ?? []) + "]", "application/json"));
        app.MapGet("/api/workers", () => Results.Json(Workers(engine), AdminJson.Context.IReadOnlyListWorkerStatus));

        app.MapPost("/api/switch", async (HttpRequest request) =>
        {
            if (!admin.AllowWrite)
            {
                return Results.Json(new ErrorResponse("the write API is off; set Admin:AllowWrite=true to enable it"), AdminJson.Context.ErrorResponse, statusCode: StatusCodes.Status403Forbidden);
            }

            SwitchRequest? body;
            try
            {
                body = await request.ReadFromJsonAsync(AdminJson.Context.SwitchRequest).ConfigureAwait(false);
            }
            catch (System.Text.Json.JsonException ex)
            {
                return Results.Json(new ErrorResponse($"bad JSON: {ex.Message}"), AdminJson.Context.ErrorResponse, statusCode: StatusCodes.Status400BadRequest);
            }

            if (body is null || string.IsNullOrWhiteSpace(body.Pool))
            {
                return Results.Json(new ErrorResponse("expected {\"pool\": NAME, \"workers\": [..] (optional), \"pin\": bool}"), AdminJson.Context.ErrorResponse, statusCode: StatusCodes.Status400BadRequest);
            }

            var workers = body.Workers is { Count: > 0 } list ? new HashSet<string>(list, StringComparer.Ordinal) : null;
            try
            {
                var moved = engine.Switch(body.Pool, s => workers is null || workers.Contains(s.Worker!), body.Pin);
                return Results.Json(new SwitchResponse(body.Pool, moved), AdminJson.Context.SwitchResponse);
            }
            catch (ArgumentException ex)
            {
                return Results.Json(new ErrorResponse(ex.Message), AdminJson.Context.ErrorResponse, statusCode: StatusCodes.Status404NotFound);
            }
        });

        app.MapGet("/", () => Results.Bytes(StatusPage.Html, "text/html; charset=utf-8"));
        app.MapGet("/status.css", () => Results.Bytes(StatusPage.Css, "text/css; charset=utf-8"));
        app.MapGet("/status.js", () => Results.Bytes(StatusPage.Script, "text/javascript; charset=utf-8"));
    }

    /// <summary>The status snapshot.</summary>
    public static StatusResponse Status(ProxyEngine engine, ProxyService service, DateTimeOffset startedAt, string? notice = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(service);
        var now = engine.Time.GetTimestamp();
        var sessions = engine.MinerSessions.ToList();
        var pools = engine.Pools.Select(p =>
        {
            var primary = p.Primary;
            var health = p.Health.Evaluate();
            return new PoolStatus(
                p.Options.Name,
                p.Url.ToString(),
                p.Options.Mode.ToString().ToLowerInvariant(),
                p.Options.Priority,
                p.Options.Group,
                p.IsReady,
                health.Score,
                health.LatencyEwmaSeconds,
                primary?.Difficulty ?? 0,
                primary?.Extranonce1Hex ?? string.Empty,
                primary?.Layout?.PoolExtranonce2Size ?? 0,
                (primary?.VersionMask ?? 0).ToString("x8", System.Globalization.CultureInfo.InvariantCulture),
                sessions.Count(s => s.PoolName == p.Options.Name),
                primary?.InFlight ?? 0,
                engine.Ledger.Pool(p.Options.Name).Hashrate(HashrateWindow.FiveMinutes, now).HashesPerSecond,
                p.LastError,
                Layout(engine, p));
        }).ToList();

        var miners = sessions.Select(s => new MinerStatus(
            s.Id,
            s.Worker,
            s.RemoteEndPoint?.ToString(),
            s.UserAgent,
            s.PoolName,
            s.Difficulty,
            s.ConnectedAt,
            Convert.ToHexStringLower(s.Extranonce1),
            s.Extranonce2Size)).ToList();

        return new StatusResponse(
            Version,
            startedAt,
            (engine.Time.GetUtcNow() - startedAt).TotalSeconds,
            [.. service.Endpoints.Select(e => e.ToString())],
            sessions.Count,
            pools.Sum(p => p.HashrateHashesPerSecond),
            pools,
            miners,
            pools.Count == 0 ? NoPoolNotice : notice);
    }

    /// <summary>What the status says while no pool is configured.</summary>
    public const string NoPoolNotice = "No pool is configured: miners can connect but get no work. Add a pool under Proxy:Pools (appsettings.json or --config FILE).";

    private static PoolLayoutStatus Layout(ProxyEngine engine, Proxy.Routing.PoolRuntime pool)
    {
        var group = engine.LayoutForGroup(pool.Options.Group);
        var miner = pool.Primary?.Layout?.Miner ?? group;
        return new PoolLayoutStatus(
            miner.PrefixSize,
            miner.Extranonce2Size,
            miner.MinersPerConnection,
            pool.Options.Mode == Proxy.Configuration.PoolMode.Passthrough ? pool.DedicatedCount : pool.Connections.Count,
            pool.Options.MaxConnections,
            pool.Options.Extranonce2SizeHint,
            engine.AdaptingPool(pool.Options.Group) == pool,
            group.ToString());
    }

    /// <summary>Every worker's books.</summary>
    public static IReadOnlyList<WorkerStatus> Workers(ProxyEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var now = engine.Time.GetTimestamp();
        return [.. engine.Ledger.Workers.OrderBy(w => w.Name, StringComparer.Ordinal).Select(w =>
        {
            var five = w.Hashrate(HashrateWindow.FiveMinutes, now);
            return new WorkerStatus(
                w.Name,
                w.Sessions,
                w.Count(ShareResult.Accepted),
                w.Count(ShareResult.Stale),
                w.Count(ShareResult.Duplicate),
                w.Count(ShareResult.LowDifficulty),
                w.Count(ShareResult.Invalid),
                w.Count(ShareResult.PoolRejected),
                w.Count(ShareResult.Lost),
                w.AcceptedDifficulty,
                w.Hashrate(HashrateWindow.OneMinute, now).HashesPerSecond,
                five.HashesPerSecond,
                w.Hashrate(HashrateWindow.OneHour, now).HashesPerSecond,
                double.IsFinite(five.RelativeUncertainty) ? five.RelativeUncertainty : -1,
                w.LastShareUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(w.LastShareUnixMs) : null,
                [.. w.Pools().Select(p => new WorkerPoolStatus(p.Pool, p.Accepted, p.Forwarded, p.PoolAccepted, p.PoolRejected, p.InFlight, p.Lost, p.Gap))]);
        })];
    }
}
