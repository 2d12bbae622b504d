using System.Buffers;
using System.Reflection;
using Prometheus;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Control;

namespace StratumProxy.Admin;

/// <summary>The admin HTTP surface: /metrics, /healthz (live), /readyz (<see cref="Readiness"/>), /api/status, /api/workers, /api/switch and the status page.</summary>
public static class AdminEndpoints
{
    /// <summary>The version string shown in the status.</summary>
    public static string Version { get; } =
        typeof(AdminEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0.0.0";

    /// <summary>
    /// /metrics: the registry's series, then the per-worker series, which are written from the ledger's counters
    /// straight into the response for each scrape (<see cref="ProxyLifetime.WriteWorkerSeriesAsync"/>). Text format, or
    /// OpenMetrics (one <c># EOF</c>, last) when the scraper asks for it, as prometheus-net's exporter answers.
    /// </summary>
    private static void MapMetrics(IEndpointRouteBuilder app, CollectorRegistry registry)
    {
        var proxy = app.ServiceProvider.GetService<ProxyLifetime>();
        if (proxy is null)
        {
            app.MapMetrics("/metrics", registry);
            return;
        }

        app.MapGet("/metrics", async (HttpContext context) =>
        {
            var openMetrics = context.Request.Headers.Accept.Any(a => a?.Contains("application/openmetrics-text", StringComparison.Ordinal) == true);
            var format = openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText;
            var aborted = context.RequestAborted;
            using var main = new MemoryStream();
            try
            {
                await registry.CollectAndExportAsTextAsync(main, format, aborted).ConfigureAwait(false);
            }
            catch (ScrapeFailedException ex)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await context.Response.WriteAsync(ex.Message, aborted).ConfigureAwait(false);
                return;
            }

            context.Response.ContentType = openMetrics
                ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                : "text/plain; version=0.0.4; charset=utf-8";

            // OpenMetrics ends the exposition with "# EOF": only after the second part.
            var length = (int)main.Length;
            if (openMetrics && main.GetBuffer().AsSpan(0, length).EndsWith("# EOF\n"u8))
            {
                length -= "# EOF\n"u8.Length;
            }

            var body = context.Response.BodyWriter;
            await body.WriteAsync(main.GetBuffer().AsMemory(0, length), aborted).ConfigureAwait(false);
            await proxy.WriteWorkerSeriesAsync(body, format, aborted).ConfigureAwait(false);
            if (openMetrics)
            {
                body.Write("# EOF\n"u8);
            }

            await body.FlushAsync(aborted).ConfigureAwait(false);
        });
    }

    /// <summary>Maps every endpoint.</summary>
    public static void Map(IEndpointRouteBuilder app, IProxyControl proxy, ProxyService service, AdminOptions admin, CollectorRegistry registry, DateTimeOffset startedAt, Farm.FarmEconomics? farm = null, Farm.CurtailmentLoop? curtailment = null, FarmHistory? history = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(proxy);
        MapMetrics(app, registry);

        app.MapGet("/healthz", () =>
        {
            var fleet = proxy.Snapshot();
            var pools = fleet.Pools;
            var ready = pools.Count(p => p.IsReady);
            return Results.Json(new HealthResponse(pools.Count == 0 ? "no_pool_configured" : ready > 0 ? "ok" : "no_pool_ready", ready, pools.Count, fleet.Sessions.Count), AdminJson.Context.HealthResponse);
        });

        app.MapReadiness();
        app.MapGet("/api/status", () => Results.Json(Status(proxy.Snapshot(), service, startedAt, admin.Notice), AdminJson.Context.StatusResponse));
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
        app.MapGet("/api/workers", () => Results.Json(Workers(proxy.Snapshot()), AdminJson.Context.IReadOnlyListWorkerStatus));

        app.MapPost("/api/switch", async (HttpRequest request) =>
        {
            // Who may write (Admin:AllowWrite, the token, loopback) is decided in front of every endpoint: AdminAccess.
            if (!request.HasJsonContentType())
            {
                // curl -d sends a form's content type: say what to send instead of failing inside the reader.
                return Results.Json(new ErrorResponse("send the body as JSON, with Content-Type: application/json"), AdminJson.Context.ErrorResponse, statusCode: StatusCodes.Status415UnsupportedMediaType);
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
            catch (InvalidOperationException ex)
            {
                // A charset the reader does not know (application/json; charset=...).
                return Results.Json(new ErrorResponse(ex.Message), AdminJson.Context.ErrorResponse, statusCode: StatusCodes.Status415UnsupportedMediaType);
            }

            if (body is null || string.IsNullOrWhiteSpace(body.Pool))
            {
                return Results.Json(new ErrorResponse("expected {\"pool\": NAME, \"workers\": [..] (optional), \"pin\": bool}"), AdminJson.Context.ErrorResponse, statusCode: StatusCodes.Status400BadRequest);
            }

            if (body.Workers is { } named && named.Any(string.IsNullOrWhiteSpace))
            {
                // A pin for a blank name would wait for a rig that never comes.
                return Results.Json(new ErrorResponse("every worker must be a name, e.g. \"workers\": [\"farm.rig1\"]"), AdminJson.Context.ErrorResponse, statusCode: StatusCodes.Status400BadRequest);
            }

            var workers = body.Workers is { Count: > 0 } list ? list : null;
            try
            {
                var moved = proxy.Switch(body.Pool, workers, body.Pin);
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

    /// <summary>The status, from a snapshot of the fleet.</summary>
    public static StatusResponse Status(FleetSnapshot fleet, ProxyService service, DateTimeOffset startedAt, string? notice = null)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(service);
        var pools = fleet.Pools.Select(p => new PoolStatus(
            p.Name,
            p.Url,
            p.Mode,
            p.Priority,
            p.Group,
            p.IsReady,
            p.HealthScore,
            p.LatencySeconds,
            p.Difficulty,
            p.Extranonce1Hex,
            p.Extranonce2Size,
            p.VersionMask.ToString("x8", System.Globalization.CultureInfo.InvariantCulture),
            p.Miners,
            p.InFlight,
            p.HashesPerSecond,
            p.LastError,
            new PoolLayoutStatus(
                p.Layout.Miner.PrefixSize,
                p.Layout.Miner.Extranonce2Size,
                p.Layout.Miner.MinersPerConnection,
                p.Layout.Connections,
                p.Layout.MaxConnections,
                p.Layout.Extranonce2SizeHint,
                p.Layout.Adapting,
                p.Layout.GroupLayout.ToString()))).ToList();

        var miners = fleet.Sessions.Select(s => new MinerStatus(
            s.Id,
            s.Worker,
            s.Remote,
            s.UserAgent,
            s.Pool,
            s.Difficulty,
            s.ConnectedAt,
            s.Extranonce1Hex,
            s.Extranonce2Size)).ToList();

        return new StatusResponse(
            Version,
            startedAt,
            (fleet.At - startedAt).TotalSeconds,
            [.. service.Endpoints.Select(e => e.ToString())],
            fleet.Sessions.Count,
            pools.Sum(p => p.HashrateHashesPerSecond),
            pools,
            miners,
            pools.Count == 0 ? NoPoolNotice : notice);
    }

    /// <summary>What the status says while no pool is configured.</summary>
    public const string NoPoolNotice = "No pool is configured: miners can connect but get no work. Add a pool under Proxy:Pools (appsettings.json or --config FILE).";

    /// <summary>Every worker's books, from a snapshot of the fleet.</summary>
    public static IReadOnlyList<WorkerStatus> Workers(FleetSnapshot fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        return [.. fleet.Workers.OrderBy(w => w.Name, StringComparer.Ordinal).Select(w => new WorkerStatus(
            w.Name,
            w.Sessions,
            w.Accepted,
            w.Stale,
            w.Duplicate,
            w.LowDifficulty,
            w.Invalid,
            w.PoolRejected,
            w.Lost,
            w.AcceptedDifficulty,
            w.Hashrate1m,
            w.Hashrate5m,
            w.Hashrate1h,
            double.IsFinite(w.Hashrate5mRelativeUncertainty) ? w.Hashrate5mRelativeUncertainty : -1,
            w.LastShareUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(w.LastShareUnixMs) : null,
            w.Pools))];
    }
}
