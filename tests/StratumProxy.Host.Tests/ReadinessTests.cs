using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using StratumProxy.Admin;
using StratumProxy.Cli;
using StratumProxy.Hosting;
using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests;

/// <summary>
/// <c>/readyz</c> (a pool ready, not draining, and any check a store adds) and <c>/healthz</c> (alive), as a
/// Kubernetes probe or a balancer's health check reads them.
/// </summary>
public sealed class ReadinessTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-ready-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Readyz_IsReadyWithAPoolReady_AndNotReadyOnceDraining_WhileHealthzStaysUp()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var cli = CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", pool.Url, "--user", "acct"]);
        await using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        var (code, body) = await GetAsync(http, Readiness.Path);
        for (var i = 0; i < 200 && code != HttpStatusCode.OK; i++)
        {
            await Task.Delay(25);
            (code, body) = await GetAsync(http, Readiness.Path);
        }

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("{\"status\":\"ready\",\"checks\":[{\"name\":\"drain\",\"status\":\"ready\",\"description\":\"accepting miners\"},{\"name\":\"pools\",\"status\":\"ready\",\"description\":\"1 of 1 pools ready\"}]}", body);

        // The stop's drain has begun: not ready for miners any more, but alive.
        var service = app.Services.GetRequiredService<ProxyService>();
        await service.StoppingAsync(CancellationToken.None);
        (code, body) = await GetAsync(http, Readiness.Path);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, code);
        Assert.Contains("{\"name\":\"drain\",\"status\":\"not_ready\",\"description\":\"draining: miners are asked to reconnect elsewhere\"}", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/healthz")).Code);
        await app.StopAsync();
    }

    [Fact]
    public async Task Readyz_IsNotReadyWhileNoPoolAnswers()
    {
        var cli = CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", "stratum+tcp://127.0.0.1:1", "--user", "acct"]);
        await using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        var (code, body) = await GetAsync(http, Readiness.Path);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, code);
        Assert.Contains("{\"name\":\"pools\",\"status\":\"not_ready\",\"description\":\"0 of 1 pools ready\"}", body, StringComparison.Ordinal);
        var (liveCode, live) = await GetAsync(http, "/healthz");
        Assert.Equal(HttpStatusCode.OK, liveCode);
        Assert.Contains("no_pool_ready", live, StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public async Task Readyz_RunsEveryCheckTaggedReady_SoAStoreCheckPlugsIn()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var reachable = true;
        builder.Services.AddHealthChecks()
            .AddCheck("store", () => reachable ? HealthCheckResult.Healthy("reachable") : HealthCheckResult.Unhealthy("unreachable"), tags: [Readiness.Tag])
            .AddCheck("not-for-readiness", () => HealthCheckResult.Unhealthy("ignored"));
        await using var app = builder.Build();
        app.MapReadiness();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        Assert.Equal((HttpStatusCode.OK, "{\"status\":\"ready\",\"checks\":[{\"name\":\"store\",\"status\":\"ready\",\"description\":\"reachable\"}]}"), await GetAsync(http, Readiness.Path));
        reachable = false;
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "{\"status\":\"not_ready\",\"checks\":[{\"name\":\"store\",\"status\":\"not_ready\",\"description\":\"unreachable\"}]}"), await GetAsync(http, Readiness.Path));
        await app.StopAsync();
    }

    private static async Task<(HttpStatusCode Code, string Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
