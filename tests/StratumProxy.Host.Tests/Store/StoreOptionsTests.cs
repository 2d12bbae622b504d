using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using StratumProxy.Cli;
using StratumProxy.Hosting;
using StratumProxy.Store;

namespace StratumProxy.Host.Tests.Store;

/// <summary>The Store section: SQLite by default, Postgres validated, and the connection string never echoed.</summary>
public sealed class StoreOptionsTests : IDisposable
{
    private const string Secret = "hunter2-not-for-logs";
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-store-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_default_is_the_embedded_sqlite_ledger()
    {
        var store = Load([], out var errors);
        Assert.Empty(errors);
        Assert.Equal(StoreProvider.Sqlite, store.Provider);
    }

    [Fact]
    public void Postgres_needs_a_connection_string()
    {
        Load(["--Store:Provider=Postgres"], out var errors);
        Assert.Contains(errors, e => e.StartsWith("Store:ConnectionString:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_malformed_connection_string_is_reported_by_its_key_without_its_value()
    {
        Load(["--Store:Provider=Postgres", $"--Store:ConnectionString=Host=db;Password={Secret};Bogus Key=1"], out var errors);
        var error = Assert.Single(errors);
        Assert.StartsWith("Store:ConnectionString:", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_poll_interval_longer_than_half_the_lease_is_refused()
    {
        Load(["--Store:Provider=Postgres", $"--Store:ConnectionString=Host=db;Password={Secret}", "--Store:LeaderLease=00:00:10", "--Store:PollInterval=00:00:06"], out var errors);
        var error = Assert.Single(errors);
        Assert.StartsWith("Store:PollInterval", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_retention_under_one_day_is_refused_with_its_key()
    {
        Load(["--Store:Provider=Postgres", $"--Store:ConnectionString=Host=db;Password={Secret}", "--Store:Retention=12:00:00"], out var errors);
        var error = Assert.Single(errors);
        Assert.StartsWith("Store:Retention (12:00:00) must be at least one day", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_postgres_store_loads_and_its_keys_are_known()
    {
        var cli = CommandLine.Parse(["--Store:Provider=Postgres", $"--Store:ConnectionString=Host=db;Username=proxy;Password={Secret}", "--Store:InstanceName=hall-a-1", "--Store:Retention=30.00:00:00"]);
        var loader = Loader(cli);
        var store = loader.LoadStore(out var errors);
        Assert.Empty(errors);
        Assert.Equal(("hall-a-1", StoreProvider.Postgres, TimeSpan.FromDays(30)), (store.Instance, store.Provider, store.Retention));
        Assert.DoesNotContain(loader.UnknownKeys(), k => k.StartsWith("Store:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_running_proxy_never_shows_the_connection_string()
    {
        // The store is not reachable (port 1): the proxy still starts, proxies and serves its admin endpoint.
        var cli = CommandLine.Parse([
            "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
            "--Store:Provider=Postgres", $"--Store:ConnectionString=Host=127.0.0.1;Port=1;Username=proxy;Password={Secret}",
            "--Curtailment:AuditLog=data/decisions.jsonl"]);
        var logs = new ListLoggerProvider();
        await using var app = ProxyHost.Build(cli, _directory, logging: l => l.AddProvider(logs));
        await app.StartAsync();
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (!logs.Messages.Any(m => m.StartsWith("Store unreachable", StringComparison.Ordinal)))
            {
                await Task.Delay(50, deadline.Token);
            }

            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
            foreach (var path in new[] { "/metrics", "/healthz", "/api/status", "/api/rigs", "/" })
            {
                Assert.DoesNotContain(Secret, await http.GetStringAsync(new Uri(path, UriKind.Relative)), StringComparison.Ordinal);
            }
        }
        finally
        {
            await app.StopAsync();
        }

        Assert.DoesNotContain(logs.Messages, l => l.Contains(Secret, StringComparison.Ordinal));
    }

    private StoreOptions Load(string[] arguments, out IReadOnlyList<string> errors) => Loader(CommandLine.Parse(arguments)).LoadStore(out errors);

    private ConfigLoader Loader(CommandLine cli)
    {
        var builder = new ConfigurationBuilder();
        ProxyHost.AddLayers(builder, cli, _directory);
        return new ConfigLoader(builder.Build(), cli, _directory);
    }
}
