using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Control;

namespace StratumProxy.Admin;

/// <summary>
/// <c>GET /readyz</c>: 200 when this instance should get miners, 503 otherwise, with every check's verdict. It is the
/// standard health-check pipeline (<see cref="IHealthCheck"/>) filtered to the checks tagged <see cref="Tag"/>: at
/// least one pool ready, the instance not draining, and whatever else registers a check with that tag (a shared
/// store registers its own: <c>services.AddHealthChecks().AddCheck&lt;StoreCheck&gt;("store", tags: [Readiness.Tag])</c>).
/// Liveness is <c>/healthz</c>, which answers 200 while the process serves. Neither needs authentication.
/// A check answering <see cref="HealthStatus.Degraded"/> keeps the instance ready (200): a store that has answered
/// before and is down now should say so, so that a store outage does not take every instance out of the balancer
/// while they can still carry shares (docs/scaling.md, "Failure modes").
/// </summary>
public static class Readiness
{
    /// <summary>The tag of the checks <c>/readyz</c> runs.</summary>
    public const string Tag = "ready";

    /// <summary>The readiness path.</summary>
    public const string Path = "/readyz";

    /// <summary>Registers the proxy's own readiness checks.</summary>
    public static IHealthChecksBuilder AddProxyReadiness(this IServiceCollection services)
    {
        return services.AddHealthChecks()
            .AddCheck<PoolsReadyCheck>("pools", tags: [Tag])
            .AddCheck<NotDrainingCheck>("drain", tags: [Tag]);
    }

    /// <summary>Maps <c>/readyz</c>.</summary>
    public static IEndpointConventionBuilder MapReadiness(this IEndpointRouteBuilder app) =>
        app.MapHealthChecks(Path, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(Tag),
            ResponseWriter = WriteAsync,
            AllowCachingResponses = false,
        });

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var checks = report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => new ReadinessCheck(e.Key, Status(e.Value.Status), e.Value.Description))
            .ToList();
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsJsonAsync(new ReadinessResponse(Status(report.Status), checks), ReadinessJsonContext.Default.ReadinessResponse);
    }

    private static string Status(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "ready",
        HealthStatus.Degraded => "degraded",
        _ => "not_ready",
    };

    /// <summary>Ready when at least one configured pool can take miners now.</summary>
    internal sealed class PoolsReadyCheck(IProxyControl proxy) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var pools = proxy.Snapshot().Pools;
            var ready = pools.Count(p => p.IsReady);
            var description = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ready} of {pools.Count} pools ready");
            return Task.FromResult(ready > 0 ? HealthCheckResult.Healthy(description) : HealthCheckResult.Unhealthy(pools.Count == 0 ? "no pool configured" : description));
        }
    }

    /// <summary>
    /// The shared store (Store:Provider Postgres): not ready before it has answered once; degraded (still ready) while
    /// it is down after that, since the instance keeps proxying and validating while the policy holds still.
    /// </summary>
    internal sealed class StoreReadyCheck(Store.FarmCoordinator coordinator) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(coordinator.StoreReachable switch
            {
                true => HealthCheckResult.Healthy("store reachable"),
                false => HealthCheckResult.Degraded("store unreachable: proxying continues, the policy holds still"),
                null => HealthCheckResult.Unhealthy("store not reached yet"),
            });
    }

    /// <summary>Not ready once the stop has begun to drain miners (Proxy:Drain).</summary>
    internal sealed class NotDrainingCheck(ProxyService service) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(service.IsDraining ? HealthCheckResult.Unhealthy("draining: miners are asked to reconnect elsewhere") : HealthCheckResult.Healthy("accepting miners"));
    }
}

/// <summary>GET /readyz.</summary>
/// <param name="Status"><c>ready</c>, <c>degraded</c> or <c>not_ready</c>.</param>
/// <param name="Checks">Each check's verdict.</param>
public sealed record ReadinessResponse(string Status, IReadOnlyList<ReadinessCheck> Checks);

/// <summary>One readiness check's verdict.</summary>
/// <param name="Name">The check (<c>pools</c>, <c>drain</c>, <c>store</c>, …).</param>
/// <param name="Status"><c>ready</c>, <c>degraded</c> or <c>not_ready</c>.</param>
/// <param name="Description">What it found.</param>
public sealed record ReadinessCheck(string Name, string Status, string? Description);

/// <summary>Source-generated JSON for <c>/readyz</c> (snake_case, as the rest of the admin API).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false)]
[JsonSerializable(typeof(ReadinessResponse))]
public sealed partial class ReadinessJsonContext : JsonSerializerContext;
