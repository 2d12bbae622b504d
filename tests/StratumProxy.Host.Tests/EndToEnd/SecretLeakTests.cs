using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// Issue 13's "a test greps every output for a planted secret": a unique secret in every secret field of a
/// configuration (pool password, admin token, TLS password, rig API password, a database connection string, a price
/// feed's API key in its URL), then the real executable as a child process: <c>check-config</c> (valid, strict and
/// invalid, the invalid one with a short password in a pool's URL), and a run at Debug level with a pool, a hashing miner, the price feed polled (failing and answering),
/// a rig API that cannot be reached, every admin read, writes with and without the token, and a /metrics scrape. Its
/// stdout, stderr, every file it wrote and every HTTP answer are searched: no secret may appear anywhere.
/// </summary>
public sealed class SecretLeakTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-secrets-").FullName;
    private readonly Dictionary<string, string> _secrets = new(StringComparer.Ordinal)
    {
        ["Proxy:Pools:0:Password"] = Plant("pool"),
        ["Admin:Token"] = Plant("token"),
        ["Admin:Tls:Password"] = Plant("tls"),
        ["Economics:Rigs:0:Password"] = Plant("rig"),
        ["Store:ConnectionString"] = Plant("db"),
        ["Economics:PriceFeed:Url (apikey)"] = Plant("apikey"),

        // Short, as a pool password often is: masked by where it stands (the URL's password), not by its value.
        ["Proxy:Pools:0:Url (password, invalid configuration)"] = "Zq_7",
    };

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task No_planted_secret_appears_in_any_output_file_or_http_answer()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var token = guard.Token;
        var outputs = new List<(string Where, string Text)>();

        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var price = await PriceServer.StartAsync();
        var config = Path.Combine(_directory, "farm.json");
        File.WriteAllText(config, Config(pool.Url, price.Port, validPool: true));

        var check = await StratumProxy.Host.Tests.ProxyProcess.RunAsync(_directory, ["check-config", "--config", config], token);
        Assert.Equal(0, check.ExitCode);
        outputs.Add(("check-config stdout", check.Stdout));
        outputs.Add(("check-config stderr", check.Stderr));
        var strict = await StratumProxy.Host.Tests.ProxyProcess.RunAsync(_directory, ["check-config", "--strict", "--config", config], token);
        outputs.Add(("check-config --strict", strict.Stdout + strict.Stderr));

        var invalid = Path.Combine(_directory, "invalid.json");
        File.WriteAllText(invalid, Config(pool.Url, price.Port, validPool: false));
        var bad = await StratumProxy.Host.Tests.ProxyProcess.RunAsync(_directory, ["check-config", "--config", invalid], token);
        Assert.Equal(1, bad.ExitCode);
        outputs.Add(("check-config (invalid)", bad.Stdout + bad.Stderr));
        File.Delete(invalid);

        var proxy = await ProxyProcess.StartAsync(_directory, ["--config", config, "--Logging:LogLevel:Default=Debug"], token);
        try
        {
            await using var miner = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = proxy.MinerPort, Worker = "farm.rig1" });
            await miner.StartAsync(token);
            await miner.WaitForAcceptedAsync(3, Patience, token);
            await price.WaitForRequestsAsync(PriceServer.Failures + 1);
            using (var logged = new CancellationTokenSource(Patience))
            {
                // The failed poll's log line (it names the feed's URL) is in the output the test searches.
                while (!proxy.Output.Contains("poll failed", StringComparison.Ordinal))
                {
                    await Task.Delay(50, logged.Token);
                }
            }

            using var http = new HttpClient { BaseAddress = proxy.Admin };
            foreach (var path in new[] { "/", "/status.js", "/healthz", "/metrics", "/api/status", "/api/workers", "/api/economics", "/api/rigs", "/api/decisions", "/api/farm", "/api/history" })
            {
                using var reply = await http.GetAsync(new Uri(path, UriKind.Relative), token);
                outputs.Add(($"GET {path} ({(int)reply.StatusCode})", Headers(reply) + await reply.Content.ReadAsStringAsync(token)));
            }

            foreach (var (name, authorization) in new[] { ("no token", (string?)null), ("wrong token", "not-the-admin-token-at-all"), ("token", _secrets["Admin:Token"]) })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/switch") { Content = new StringContent("""{"pool":"primary"}""", Encoding.UTF8, "application/json") };
                if (authorization is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", authorization);
                }

                using var reply = await http.SendAsync(request, token);
                outputs.Add(($"POST /api/switch with {name} ({(int)reply.StatusCode})", Headers(reply) + await reply.Content.ReadAsStringAsync(token)));
            }

            await miner.StopHashingAsync();
            await proxy.TerminateAsync(token);
        }
        finally
        {
            outputs.Add(("stdout and stderr of the run", proxy.Output));
            await proxy.DisposeAsync();
        }

        foreach (var file in Directory.EnumerateFiles(_directory, "*", SearchOption.AllDirectories).Where(f => f != config))
        {
            outputs.Add((Path.GetRelativePath(_directory, file), Encoding.UTF8.GetString(File.ReadAllBytes(file))));
        }

        // The run did what the test claims: it polled the feed, answered the writes and served the miner.
        var all = string.Join('\n', outputs.Select(o => o.Text));
        Assert.Contains("stratumproxy_admin_requests_refused_total{kind=\"write\",reason=\"missing_token\"} 0", outputs.Single(o => o.Where.StartsWith("GET /metrics", StringComparison.Ordinal)).Text, StringComparison.Ordinal);
        Assert.Contains(outputs, o => o.Where == "POST /api/switch with token (200)");
        Assert.Contains(outputs, o => o.Where == "POST /api/switch with wrong token (401)");
        Assert.Contains("Feed ", all, StringComparison.Ordinal);

        var leaks = (from secret in _secrets
                     from output in outputs
                     where output.Text.Contains(secret.Value, StringComparison.Ordinal)
                     select $"{secret.Key} appears in {output.Where}: …{Around(output.Text, secret.Value)}…").ToList();
        Assert.True(leaks.Count == 0, string.Join('\n', leaks));
    }

    private static string Plant(string field) => $"planted{field}{Guid.NewGuid():N}";

    private static string Headers(HttpResponseMessage reply) =>
        string.Join('\n', reply.Headers.Concat(reply.Content.Headers).Select(h => $"{h.Key}: {string.Join(", ", h.Value)}")) + "\n";

    private static string Around(string text, string secret)
    {
        var at = text.IndexOf(secret, StringComparison.Ordinal);
        var start = Math.Max(0, at - 120);
        return text[start..Math.Min(text.Length, at + secret.Length + 40)];
    }

    private string Config(string poolUrl, int pricePort, bool validPool)
    {
        var root = new JsonObject
        {
            ["Admin"] = new JsonObject
            {
                ["Endpoint"] = "127.0.0.1:0",
                ["AllowWrite"] = true,
                ["Token"] = _secrets["Admin:Token"],
                ["Tls"] = new JsonObject { ["Password"] = _secrets["Admin:Tls:Password"] },
            },
            ["Proxy"] = new JsonObject
            {
                ["Listeners"] = new JsonArray(new JsonObject { ["Endpoint"] = "127.0.0.1:0" }),
                ["Pools"] = new JsonArray(new JsonObject
                {
                    ["Name"] = "primary",
                    ["Url"] = validPool ? poolUrl : $"stratum+tcp://acct:{_secrets["Proxy:Pools:0:Url (password, invalid configuration)"]}@127.0.0.1:1",
                    ["User"] = "acct",
                    ["Password"] = _secrets["Proxy:Pools:0:Password"],
                }),
                ["Difficulty"] = new JsonObject { ["Start"] = 0.00001, ["Min"] = 0.0000001 },
            },
            ["Economics"] = new JsonObject
            {
                ["Interval"] = "00:00:01",
                ["DefaultModel"] = "Antminer S21",
                ["PriceFeed"] = new JsonObject
                {
                    ["Url"] = $"http://127.0.0.1:{pricePort}/price?apikey={_secrets["Economics:PriceFeed:Url (apikey)"]}",
                    ["JsonPath"] = "$.price",
                    ["Interval"] = "00:00:01",
                    ["Timeout"] = "00:00:01",
                    ["StalenessLimit"] = "00:01:00",
                },
                ["Rigs"] = new JsonArray(new JsonObject
                {
                    ["Worker"] = "farm.rig2",
                    ["Model"] = "Antminer S21",
                    ["Api"] = "antminer",
                    ["Address"] = "127.0.0.1:1",
                    ["User"] = "root",
                    ["Password"] = _secrets["Economics:Rigs:0:Password"],
                }),
            },
            ["Curtailment"] = new JsonObject { ["AuditLog"] = "data/decisions.jsonl", ["Ledger"] = "data/energy.db" },
            ["Store"] = new JsonObject { ["ConnectionString"] = $"Host=db.example;Username=proxy;Password={_secrets["Store:ConnectionString"]}" },
        };
        return root.ToJsonString();
    }

    /// <summary>
    /// A price API on 127.0.0.1:0 that fails its first <see cref="Failures"/> requests (one poll and every retry of the
    /// feed's resilience handler, so a failed poll is logged with its URL) and answers the rest.
    /// </summary>
    private sealed class PriceServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _requests;

        public const int Failures = 4;

        private PriceServer(WebApplication app) => _app = app;

        public int Port => new Uri(_app.Urls.Single()).Port;

        public static async Task<PriceServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var server = new PriceServer(app);
            app.MapGet("/price", () => Interlocked.Increment(ref server._requests) <= Failures
                ? Results.StatusCode(StatusCodes.Status503ServiceUnavailable)
                : Results.Text("""{"price": 60000}""", "application/json"));
            await app.StartAsync();
            return server;
        }

        public async Task WaitForRequestsAsync(int count)
        {
            using var guard = new CancellationTokenSource(Patience);
            while (Volatile.Read(ref _requests) < count)
            {
                await Task.Delay(50, guard.Token);
            }
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
