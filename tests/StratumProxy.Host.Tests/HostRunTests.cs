using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StratumProxy.Cli;
using StratumProxy.Hosting;
using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests;

/// <summary>The whole executable's wiring, in-process: flags → proxy → real pool, then /metrics over HTTP.</summary>
public sealed partial class HostRunTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-host-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Quick_start_flags_carry_shares_and_metrics_match_what_the_pool_counted()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var cli = CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", pool.Url, "--user", "acct", "--start-difficulty", "0.00001", "--min-difficulty", "0.0000001"]);
        await using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
        await app.StartAsync();
        var service = app.Services.GetRequiredService<ProxyService>();
        var admin = new Uri(app.Urls.Single());
        using var http = new HttpClient { BaseAddress = admin };

        await using var miner = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = service.Endpoints[0].Port, Worker = "farm.rig1" });
        await miner.StartAsync();
        await miner.WaitForAcceptedAsync(5, TimeSpan.FromSeconds(30));
        await miner.StopHashingAsync();
        await miner.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        var health = await http.GetStringAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Contains("\"status\":\"ok\"", health, StringComparison.Ordinal);

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var accepted = Value(metrics, "stratumproxy_shares_total{worker=\"farm.rig1\",pool=\"primary\",result=\"accepted\"}");
        Assert.Equal(miner.Accepted, (long)accepted);

        // The per-worker series are written as text for each scrape, from the ledger: the host's registry holds
        // none of them, and the next scrape shows them again.
        using (var export = new MemoryStream())
        {
            await app.Services.GetRequiredService<Prometheus.CollectorRegistry>().CollectAndExportAsTextAsync(export);
            Assert.DoesNotContain("stratumproxy_shares_total", System.Text.Encoding.UTF8.GetString(export.ToArray()), StringComparison.Ordinal);
        }

        var again = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(accepted, Value(again, "stratumproxy_shares_total{worker=\"farm.rig1\",pool=\"primary\",result=\"accepted\"}"));

        // OpenMetrics, as Prometheus asks for it: one exposition with the worker series in it and one "# EOF", last.
        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/metrics", UriKind.Relative)))
        {
            request.Headers.Accept.ParseAdd("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
            using var response = await http.SendAsync(request);
            var open = await response.Content.ReadAsStringAsync();
            Assert.StartsWith("application/openmetrics-text", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
            Assert.Contains("stratumproxy_shares_total{worker=\"farm.rig1\",pool=\"primary\",result=\"accepted\"}", open, StringComparison.Ordinal);
            Assert.EndsWith("# EOF\n", open, StringComparison.Ordinal);
            Assert.Single(open.Split('\n'), l => l == "# EOF");
        }

        // Shares between the miner's (power-of-two) target and the pool's are accepted locally; the rest went to the
        // pool, and what the pool counted is exactly what the proxy says the pool accepted.
        var poolAccepted = Value(metrics, "stratumproxy_pool_shares_total{pool=\"primary\",result=\"accepted\"}");
        Assert.Equal(pool.Worker("acct.rig1").Accepted, (long)poolAccepted);
        Assert.True(poolAccepted <= accepted);
        var workers = await http.GetStringAsync(new Uri("/api/workers", UriKind.Relative));
        Assert.Contains($"\"pool\":\"primary\",\"accepted\":{miner.Accepted},\"forwarded\":{(long)poolAccepted},\"pool_accepted\":{(long)poolAccepted},\"pool_rejected\":0,\"in_flight\":0,\"lost\":0,\"gap\":0", workers, StringComparison.Ordinal);
        Assert.True(Value(metrics, "stratumproxy_worker_hashrate_hashes_per_second{worker=\"farm.rig1\",window=\"1m\"}") > 0);
        Assert.Equal(1, Value(metrics, "stratumproxy_pool_up{pool=\"primary\"}"));

        var status = await http.GetStringAsync(new Uri("/api/status", UriKind.Relative));
        Assert.Contains("\"worker\":\"farm.rig1\"", status, StringComparison.Ordinal);
        Assert.Contains("\"url\":\"stratum+tcp://127.0.0.1:", status, StringComparison.Ordinal);
        var page = await http.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.Contains("<title>StratumProxy</title>", page, StringComparison.Ordinal);

        var refused = await http.PostAsJsonAsync(new Uri("/api/switch", UriKind.Relative), new { pool = "primary" });
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task Rigs_are_priced_from_their_shares_and_the_pools_own_jobs()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        var cli = CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", pool.Url, "--user", "acct", "--start-difficulty", "0.00001",
            "--Economics:DefaultModel=Antminer S21", "--Economics:Interval=00:00:00.100", "--Economics:PriceUsd=60000", "--Economics:ElectricityUsdPerKwh=0.08"]);
        await using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
        await app.StartAsync();
        var service = app.Services.GetRequiredService<ProxyService>();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        await using var miner = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = service.Endpoints[0].Port, Worker = "farm.rig9" });
        await miner.StartAsync();
        await miner.WaitForAcceptedAsync(3, TimeSpan.FromSeconds(30));

        var farm = app.Services.GetRequiredService<StratumProxy.Farm.FarmEconomics>();
        for (var i = 0; i < 200 && (farm.LastRigs.Count == 0 || farm.LastRigs[0].HashrateTerahashes <= 0 || farm.LastMarket?.DifficultySource != "pool jobs"); i++)
        {
            await Task.Delay(25);
        }

        var market = farm.LastMarket!;
        Assert.Equal("pool jobs", market.DifficultySource);
        Assert.Equal(1.0, market.Difficulty, 6);
        var rig = Assert.Single(farm.LastRigs);
        Assert.Equal(("farm.rig9", "Antminer S21", "primary"), (rig.Worker, rig.Model, rig.Pool));

        // Power cost by hand: the S21's catalog watts × 24 h × $0.08.
        Assert.Equal(rig.PowerWatts / 1000 * 24 * 0.08, rig.PowerCostUsdPerDay, 9);
        Assert.True(rig.RevenueUsdPerDay > 0, $"hashrate {rig.HashrateTerahashes} TH/s, revenue {rig.RevenueUsdPerDay}, market {market}");

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("stratumproxy_rig_power_cost_usd_per_day{worker=\"farm.rig9\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("stratumproxy_model_shutdown_price_usd{model=\"Antminer S21\"}", metrics, StringComparison.Ordinal);
        Assert.Equal(60000, Value(metrics, "stratumproxy_market{input=\"price_usd\"}"));
        var economics = await http.GetStringAsync(new Uri("/api/economics", UriKind.Relative));
        Assert.Contains("\"worker\":\"farm.rig9\"", economics, StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public async Task It_starts_and_listens_with_no_pool_reachable_and_says_so()
    {
        var cli = CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", "stratum+tcp://127.0.0.1:1", "--user", "acct"]);
        await using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        var service = app.Services.GetRequiredService<ProxyService>();
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, service.Endpoints[0].Port);

        string metrics = string.Empty;
        for (var i = 0; i < 100 && !metrics.Contains("stratumproxy_upstream_connect_failures_total{pool=\"primary\"", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
            metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        }

        Assert.Contains("stratumproxy_upstream_connect_failures_total{pool=\"primary\",reason=\"refused\"}", metrics, StringComparison.Ordinal);
        Assert.Equal(0, Value(metrics, "stratumproxy_pool_up{pool=\"primary\"}"));
        Assert.Contains("no_pool_ready", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)), StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public async Task An_invalid_reload_is_refused_and_a_valid_one_applied()
    {
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, """{ "Proxy": { "Listeners": [ { "Endpoint": "127.0.0.1:0" } ], "Pools": [ { "Name": "p", "Url": "stratum+tcp://127.0.0.1:1", "User": "u" } ] }, "Admin": { "Endpoint": "127.0.0.1:0" } }""");
        await using var app = ProxyHost.Build(CommandLine.Parse(["--config", file]), _directory, logging: l => l.ClearProviders());
        await app.StartAsync();
        var service = app.Services.GetRequiredService<ProxyService>();
        var engine = app.Services.GetRequiredService<StratumProxy.Proxy.Control.IProxyControl>();

        File.WriteAllText(file, """{ "Proxy": { "Listeners": [ { "Endpoint": "127.0.0.1:0" } ], "Pools": [ { "Name": "p", "Url": "nonsense", "User": "u" } ] }, "Admin": { "Endpoint": "127.0.0.1:0" } }""");
        ((Microsoft.Extensions.Configuration.IConfigurationRoot)app.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()).Reload();
        Assert.False(service.Reload());
        Assert.Equal("stratum+tcp://127.0.0.1:1", engine.Options.Pools[0].Url);

        File.WriteAllText(file, """{ "Proxy": { "Listeners": [ { "Endpoint": "127.0.0.1:0" } ], "Pools": [ { "Name": "p", "Url": "stratum+tcp://127.0.0.1:2", "User": "u" } ], "Miners": { "MaxSubmitsPerSecond": 5 } }, "Admin": { "Endpoint": "127.0.0.1:0" } }""");
        ((Microsoft.Extensions.Configuration.IConfigurationRoot)app.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()).Reload();
        Assert.True(service.Reload());
        Assert.Equal("stratum+tcp://127.0.0.1:2", engine.Options.Pools[0].Url);
        Assert.Equal(5, engine.Options.Miners.MaxSubmitsPerSecond);

        // Economics and curtailment reload with the rest, refused as a whole when any part is wrong.
        var farm = app.Services.GetRequiredService<StratumProxy.Farm.FarmEconomics>();
        File.WriteAllText(file, """{ "Proxy": { "Listeners": [ { "Endpoint": "127.0.0.1:0" } ], "Pools": [ { "Name": "p", "Url": "stratum+tcp://127.0.0.1:2", "User": "u" } ] }, "Economics": { "ElectricityUsdPerKwh": 0.11 }, "Curtailment": { "Interval": "-00:00:01" }, "Admin": { "Endpoint": "127.0.0.1:0" } }""");
        ((Microsoft.Extensions.Configuration.IConfigurationRoot)app.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()).Reload();
        Assert.False(service.Reload());
        Assert.NotEqual(0.11, farm.Options.ElectricityUsdPerKwh);

        File.WriteAllText(file, """{ "Proxy": { "Listeners": [ { "Endpoint": "127.0.0.1:0" } ], "Pools": [ { "Name": "p", "Url": "stratum+tcp://127.0.0.1:2", "User": "u" } ] }, "Economics": { "ElectricityUsdPerKwh": 0.11 }, "Admin": { "Endpoint": "127.0.0.1:0" } }""");
        ((Microsoft.Extensions.Configuration.IConfigurationRoot)app.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()).Reload();
        Assert.True(service.Reload());
        Assert.Equal(0.11, farm.Options.ElectricityUsdPerKwh);
        Assert.Equal(0.11, farm.Energy.PriceAt(DateTimeOffset.UtcNow).Energy.Value, 9);
        await app.StopAsync();
    }

    [Fact]
    public async Task A_reload_whose_takeover_quiesce_outlasts_the_submit_timeout_is_refused_and_the_last_good_config_stays()
    {
        var file = Path.Combine(_directory, "farm.json");
        var socket = Path.Combine(_directory, "takeover.sock");
        string Config(string quiesce, string submit) =>
            $$"""{ "Proxy": { "Listeners": [ { "Endpoint": "127.0.0.1:0" } ], "Pools": [ { "Name": "p", "Url": "stratum+tcp://127.0.0.1:1", "User": "u" } ], "Takeover": { "SocketPath": "{{socket}}", "QuiesceTimeout": "{{quiesce}}" }, "Failover": { "SubmitTimeout": "{{submit}}" } }, "Admin": { "Endpoint": "127.0.0.1:0" } }""";
        File.WriteAllText(file, Config("00:00:20", "00:00:30"));
        var (app, logs) = await StartFromFileAsync(file);
        await using var _ = app;
        var (service, engine, root) = Parts(app);

        File.WriteAllText(file, Config("00:00:40", "00:00:30"));
        root.Reload();
        Assert.False(service.Reload());
        Assert.Equal((TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30)), (engine.Options.Takeover.QuiesceTimeout, engine.Options.Failover.SubmitTimeout));
        Assert.Contains(logs.Messages, m => m.Contains("Proxy:Takeover:QuiesceTimeout (00:00:40) must not be longer than Proxy:Failover:SubmitTimeout (00:00:30)", StringComparison.Ordinal));

        // The submit timeout lengthened with it: applied.
        File.WriteAllText(file, Config("00:00:40", "00:00:45"));
        root.Reload();
        Assert.True(service.Reload());
        Assert.Equal((TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(45)), (engine.Options.Takeover.QuiesceTimeout, engine.Options.Failover.SubmitTimeout));
        await app.StopAsync();
    }

    [Fact]
    public async Task A_reload_of_a_file_that_is_not_json_is_refused_logged_and_counted_and_the_fix_applies()
    {
        var file = Path.Combine(_directory, "farm.json");
        const string Valid = """{ "Proxy": { "Listeners": [ { "Endpoint": "127.0.0.1:0" } ], "Pools": [ { "Name": "p", "Url": "stratum+tcp://127.0.0.1:1", "User": "u" } ] }, "Admin": { "Endpoint": "127.0.0.1:0" } }""";
        File.WriteAllText(file, Valid);
        var (app, logs) = await StartFromFileAsync(file);
        await using var _ = app;
        var (service, engine, root) = Parts(app);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        // The file provider's own reload must not throw, and the reload it triggers is refused.
        File.WriteAllText(file, Valid.Replace("\"u\" }", "\"u\" ", StringComparison.Ordinal));
        root.Reload();
        Assert.False(service.Reload());
        Assert.Equal("stratum+tcp://127.0.0.1:1", Assert.Single(engine.Options.Pools).Url);
        Assert.Contains(logs.Messages, m => m.StartsWith($"Configuration reload refused, the running configuration stays: {file}:1:", StringComparison.Ordinal));
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.True(Value(metrics, "stratumproxy_config_reloads_total{result=\"refused\"}") >= 1);

        File.WriteAllText(file, Valid.Replace("127.0.0.1:1", "127.0.0.1:2", StringComparison.Ordinal));
        root.Reload();
        Assert.True(service.Reload());
        Assert.Equal("stratum+tcp://127.0.0.1:2", Assert.Single(engine.Options.Pools).Url);
        await app.StopAsync();
    }

    [Fact]
    public async Task A_reload_of_a_file_with_a_key_given_twice_or_of_a_config_file_gone_is_refused_and_the_pools_stay()
    {
        // The configuration's reader refuses a key given twice (its keys are not case-sensitive) and the file then
        // reads as empty: applied, that would have been the embedded default, with no pool at all.
        var file = Path.Combine(_directory, "farm.json");
        const string Valid = """{ "Proxy": { "Listeners": [ { "Endpoint": "127.0.0.1:0" } ], "Pools": [ { "Name": "p", "Url": "stratum+tcp://127.0.0.1:1", "User": "u" } ] }, "Admin": { "Endpoint": "127.0.0.1:0" } }""";
        File.WriteAllText(file, Valid);
        var (app, logs) = await StartFromFileAsync(file);
        await using var _ = app;
        var (service, engine, root) = Parts(app);

        File.WriteAllText(file, Valid.Replace("\"User\": \"u\"", "\"User\": \"u\", \"user\": \"v\"", StringComparison.Ordinal));
        root.Reload();
        Assert.False(service.Reload());
        Assert.Equal("stratum+tcp://127.0.0.1:1", Assert.Single(engine.Options.Pools).Url);
        Assert.Contains(logs.Messages, m => m.Contains($"{file}: Proxy:Pools:0:user is given twice (keys are not case-sensitive)", StringComparison.Ordinal));

        File.Delete(file);
        root.Reload();
        Assert.False(service.Reload());
        Assert.Equal("stratum+tcp://127.0.0.1:1", Assert.Single(engine.Options.Pools).Url);
        Assert.Contains(logs.Messages, m => m.Contains($"{file}: the file is gone (it was given with --config)", StringComparison.Ordinal));

        File.WriteAllText(file, Valid.Replace("127.0.0.1:1", "127.0.0.1:2", StringComparison.Ordinal));
        root.Reload();
        Assert.True(service.Reload());
        Assert.Equal("stratum+tcp://127.0.0.1:2", Assert.Single(engine.Options.Pools).Url);
        await app.StopAsync();
    }

    [Fact]
    public async Task With_no_pool_configured_it_starts_serves_the_admin_page_says_so_and_gives_miners_no_work()
    {
        var logs = new ListLoggerProvider();
        await using var app = ProxyHost.Build(CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]), _directory, logging: l => l.ClearProviders().AddProvider(logs));
        await app.StartAsync();
        var proxy = app.Services.GetRequiredService<StratumProxy.Proxy.Control.IProxyControl>();
        Assert.Empty(proxy.Snapshot().Pools);
        Assert.Contains(logs.Messages, m => m.StartsWith("No pool is configured: miners can connect but get no work until Proxy:Pools names one", StringComparison.Ordinal));

        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        Assert.Contains("\"status\":\"no_pool_configured\"", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Contains("\"notice\":\"No pool is configured", await http.GetStringAsync(new Uri("/api/status", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Contains("<title>StratumProxy</title>", await http.GetStringAsync(new Uri("/", UriKind.Relative)), StringComparison.Ordinal);

        // A miner is answered and authorized, and waits with no pool: nothing of it is sent anywhere.
        var service = app.Services.GetRequiredService<ProxyService>();
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, service.Endpoints[0].Port);
        var stream = client.GetStream();
        await stream.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"farm.rig1\",\"x\"]}\n"u8.ToArray());
        using var reader = new StreamReader(stream);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Contains("\"id\":1", await reader.ReadLineAsync(deadline.Token), StringComparison.Ordinal);
        Assert.Contains("\"id\":2,\"result\":true", await reader.ReadLineAsync(deadline.Token), StringComparison.Ordinal);
        var status = string.Empty;
        while (!status.Contains("\"worker\":\"farm.rig1\"", StringComparison.Ordinal))
        {
            deadline.Token.ThrowIfCancellationRequested();
            status = await http.GetStringAsync(new Uri("/api/status", UriKind.Relative), deadline.Token);
        }

        Assert.Contains("\"pool\":null", status, StringComparison.Ordinal);
        Assert.Contains("\"pools\":[]", status, StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public async Task Every_series_a_dashboard_needs_is_on_metrics_from_start()
    {
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, DeployTests.FarmConfig);
        await using var app = ProxyHost.Build(CommandLine.Parse(["--config", file]), _directory, logging: l => l.ClearProviders());
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        foreach (var series in StartSeries)
        {
            Assert.True(Value(metrics, series) >= 0, series);
        }

        await app.StopAsync();
    }

    internal static readonly string[] StartSeries =
    [
        "stratumproxy_miner_connections{listener=\"hall-a\"}",
        "stratumproxy_pool_up{pool=\"main\"}",
        "stratumproxy_pool_shares_total{pool=\"main\",result=\"rejected\"}",
        "stratumproxy_pool_submit_latency_seconds_count{pool=\"main\"}",
        "stratumproxy_hashprice_usd_per_ph_day{pool=\"main\"}",
        "stratumproxy_upstream_reconnects_total{pool=\"main\"}",
        "stratumproxy_shares_total{worker=\"unknown\",pool=\"none\",result=\"stale\"}",
        "stratumproxy_worker_hashrate_hashes_per_second{worker=\"u.rig1\",window=\"5m\"}",
        "stratumproxy_rig_state{worker=\"u.rig1\",state=\"sleeping\"}",
        "stratumproxy_rig_margin_usd_per_day{worker=\"u.rig1\"}",
        "stratumproxy_farm_usd_per_day{kind=\"margin\"}",
        "stratumproxy_config_reloads_total{result=\"refused\"}",
        "stratumproxy_decisions_total{kind=\"sleep\",reason=\"\",mode=\"live\",outcome=\"unconfirmed\"}",
        "stratumproxy_curtailment_warnings_total{kind=\"still_hashing\"}",
        "stratumproxy_pool_switches_total{reason=\"failover\"}",
    ];

    [Fact]
    public async Task Every_shipped_tariff_file_loads_in_the_host_and_a_live_one_gets_its_poller()
    {
        foreach (var tariff in Directory.GetFiles(Path.Combine(ConfigurationTests.RepositoryRoot(), "config", "tariffs"), "*.json"))
        {
            var cli = CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", "stratum+tcp://127.0.0.1:1", "--user", "u", $"--Economics:TariffFile={tariff}"]);
            await using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
            var farm = app.Services.GetRequiredService<StratumProxy.Farm.FarmEconomics>();
            var quote = farm.Energy.Tariff.QuoteAt(DateTimeOffset.UtcNow);
            Assert.True(quote.Price.Value >= 0, tariff);
            if (Path.GetFileName(tariff).Contains("live", StringComparison.Ordinal))
            {
                Assert.IsType<StratumProxy.Economics.Tariffs.LiveTariff>(farm.Energy.Tariff);
            }
        }
    }

    [Fact]
    public void A_busy_port_fails_start_up_with_the_endpoint_named()
    {
        using var busy = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        var port = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;
        var cli = CommandLine.Parse(["--listen", $"127.0.0.1:{port}", "--admin", "127.0.0.1:0", "--pool", "stratum+tcp://127.0.0.1:1", "--user", "u"]);
        using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
        var ex = Assert.ThrowsAny<InvalidOperationException>(() => app.StartAsync().GetAwaiter().GetResult());
        Assert.Contains($"cannot bind 127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
    }

    private static double Value(string metrics, string series)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException($"no series {series} in /metrics");
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>The host started on <paramref name="file"/>, its log lines recorded.</summary>
    private async Task<(Microsoft.AspNetCore.Builder.WebApplication App, ListLoggerProvider Logs)> StartFromFileAsync(string file)
    {
        var logs = new ListLoggerProvider();
        var app = ProxyHost.Build(CommandLine.Parse(["--config", file]), _directory, logging: l => l.ClearProviders().AddProvider(logs));
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return (app, logs);
    }

    /// <summary>What a reload test drives and reads: the service that reloads, the options in force, the configuration.</summary>
    private static (ProxyService Service, StratumProxy.Proxy.Control.IProxyControl Engine, Microsoft.Extensions.Configuration.IConfigurationRoot Root) Parts(Microsoft.AspNetCore.Builder.WebApplication app) =>
        (app.Services.GetRequiredService<ProxyService>(),
         app.Services.GetRequiredService<StratumProxy.Proxy.Control.IProxyControl>(),
         (Microsoft.Extensions.Configuration.IConfigurationRoot)app.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>());
}
