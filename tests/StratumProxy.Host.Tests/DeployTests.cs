using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using StratumProxy.Cli;
using StratumProxy.Hosting;

namespace StratumProxy.Host.Tests;

/// <summary>
/// The dashboard, the alert rules and the compose file in deploy/ against the proxy itself: every series they name
/// is on /metrics of a freshly started proxy, and every file the compose file mounts exists.
/// </summary>
public sealed partial class DeployTests : IDisposable
{
    /// <summary>A small farm: one listener, one pool, one rig with a model, live curtailment.</summary>
    internal const string FarmConfig = """
        { "Proxy": { "Listeners": [ { "Name": "hall-a", "Endpoint": "127.0.0.1:0" } ],
                     "Pools": [ { "Name": "main", "Url": "stratum+tcp://127.0.0.1:1", "User": "u" } ] },
          "Economics": { "Rigs": [ { "Worker": "u.rig1", "Model": "Antminer S21" } ] },
          "Curtailment": { "DryRun": false, "AuditLog": "data/d.jsonl", "Ledger": "data/e.db" },
          "Admin": { "Endpoint": "127.0.0.1:0" } }
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-deploy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Deploy(params string[] path) => Path.Combine([ConfigurationTests.RepositoryRoot(), "deploy", .. path]);

    /// <summary>The stratumproxy_ series names in PromQL expressions (comments left out).</summary>
    private static IEnumerable<string> Names(IEnumerable<string> expressions) =>
        expressions.SelectMany(e => SeriesName().Matches(e).Select(m => m.Value)).Distinct(StringComparer.Ordinal);

    private static List<string> DashboardExpressions()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Deploy("grafana", "dashboards", "stratumproxy.json")));
        var expressions = new List<string>();
        void Walk(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject())
                    {
                        if (p.Name is "expr" or "query" or "definition" && p.Value.ValueKind == JsonValueKind.String)
                        {
                            expressions.Add(p.Value.GetString()!);
                        }

                        Walk(p.Value);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray())
                    {
                        Walk(item);
                    }

                    break;
            }
        }

        Walk(dashboard.RootElement);
        return expressions;
    }

    private static List<string> RuleExpressions() =>
        [.. File.ReadAllLines(Deploy("prometheus", "rules", "stratumproxy.rules.yml")).Where(l => !l.TrimStart().StartsWith('#'))];

    [Fact]
    public async Task Every_series_the_dashboard_and_the_alert_rules_name_is_exported_from_start()
    {
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, FarmConfig);
        await using var app = ProxyHost.Build(CommandLine.Parse(["--config", file]), _directory, logging: l => l.ClearProviders());
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        await app.StopAsync();
        var exported = metrics.Split('\n')
            .Where(l => l.StartsWith("stratumproxy_", StringComparison.Ordinal))
            .Select(l => l[..l.IndexOfAny(['{', ' '])])
            .ToHashSet(StringComparer.Ordinal);

        var dashboard = Names(DashboardExpressions()).ToList();
        var rules = Names(RuleExpressions()).ToList();
        Assert.True(dashboard.Count >= 15, string.Join(", ", dashboard));
        Assert.True(rules.Count >= 7, string.Join(", ", rules));
        Assert.Empty(dashboard.Concat(rules).Where(n => !exported.Contains(n)).Distinct());
    }

    [Fact]
    public void The_dashboard_queries_the_provisioned_datasource_and_covers_money_rigs_pools_shares_and_the_process()
    {
        var text = File.ReadAllText(Deploy("grafana", "dashboards", "stratumproxy.json"));
        using var dashboard = JsonDocument.Parse(text);
        // Every panel queries the dashboard's Prometheus variable; provisioned, that is the default datasource.
        Assert.Contains("isDefault: true", File.ReadAllText(Deploy("grafana", "provisioning", "datasources", "prometheus.yml")), StringComparison.Ordinal);
        var variable = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray().First();
        Assert.Equal(("datasource", "datasource", "prometheus"), (variable.GetProperty("name").GetString(), variable.GetProperty("type").GetString(), variable.GetProperty("query").GetString()));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().ToList();
        foreach (var panel in panels.Where(p => p.GetProperty("type").GetString() != "row"))
        {
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.NotEmpty(panel.GetProperty("targets").EnumerateArray());
            Assert.All(panel.GetProperty("targets").EnumerateArray(), t => Assert.Equal("${datasource}", t.GetProperty("datasource").GetProperty("uid").GetString()));
        }

        var rows = panels.Where(p => p.GetProperty("type").GetString() == "row").Select(p => p.GetProperty("title").GetString()).ToList();
        Assert.Equal(["Farm money", "Rigs", "Pools", "Shares and miners", "Process"], rows);
        var names = Names(DashboardExpressions()).ToHashSet(StringComparer.Ordinal);
        foreach (var needed in new[] { "stratumproxy_farm_usd_per_day", "stratumproxy_rig_state", "stratumproxy_pool_up", "stratumproxy_shares_total", "stratumproxy_pool_submit_latency_seconds_bucket", "stratumproxy_process_resident_bytes", "stratumproxy_gc_committed_bytes", "stratumproxy_process_cpu_seconds_total" })
        {
            Assert.Contains(needed, names);
        }
    }

    [Fact]
    public void Every_file_the_compose_file_mounts_is_in_the_repository_and_the_proxy_admin_listens_on_all_interfaces_inside()
    {
        var root = ConfigurationTests.RepositoryRoot();
        var compose = File.ReadAllText(Path.Combine(root, "docker-compose.yml"));
        var mounts = HostMount().Matches(compose).Select(m => m.Groups[1].Value).ToList();
        Assert.True(mounts.Count >= 6, string.Join(", ", mounts));
        foreach (var mount in mounts)
        {
            var path = Path.GetFullPath(Path.Combine(root, mount));
            Assert.True(File.Exists(path) || Directory.Exists(path), $"docker-compose.yml mounts {mount}, which is not in the repository");
        }

        Assert.Contains("STRATUMPROXY_Admin__Endpoint: \"0.0.0.0:9100\"", compose, StringComparison.Ordinal);
        Assert.Contains("targets: [\"stratum-proxy:9100\"]", File.ReadAllText(Deploy("prometheus", "prometheus.yml")), StringComparison.Ordinal);
        Assert.Contains("ENV STRATUMPROXY_Admin__Endpoint=0.0.0.0:9100", File.ReadAllText(Path.Combine(root, "Dockerfile")), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\bstratumproxy_[a-z][a-z0-9_]*")]
    private static partial Regex SeriesName();

    [GeneratedRegex(@"-\s+(\./[^:\s]+):")]
    private static partial Regex HostMount();
}
