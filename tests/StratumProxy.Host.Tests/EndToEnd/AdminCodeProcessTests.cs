using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// The real executable answers every admin endpoint without compiling a request delegate at run time: the delegates
/// are generated at build time, so a scrape never loads the expression compiler (about 2.5 MB of mapped code and the
/// JIT code of the compiled delegates in every running proxy; docs/benchmarks.md, "The first scrape's code").
/// </summary>
public sealed class AdminCodeProcessTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-admin-code-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Every_admin_endpoint_answers_and_none_loads_the_expression_compiler()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var token = guard.Token;
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyProcess.StartAsync(
            _directory,
            ["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", pool.Url, "--user", "acct", "--Admin:AllowWrite=true"],
            token);
        await proxy.WaitForLogAsync("ready at stratum", token);

        using var http = new HttpClient { BaseAddress = proxy.Admin };
        string[] gets =
        [
            "/metrics", "/healthz", "/readyz", "/api/status", "/api/farm", "/api/history?max=5", "/api/economics", "/api/rigs",
            "/api/decisions?limit=3", "/api/workers", "/", "/status.css", "/status.js",
        ];
        foreach (var path in gets)
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative), token);
            Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}");
        }

        // A switch naming no rig is refused with a reason: its body was read and bound.
        using (var refused = await http.PostAsync(new Uri("/api/switch", UriKind.Relative), new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), token))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
        }

        // So is one naming a blank worker, which would otherwise be pinned for a rig that never comes.
        using (var blank = await http.PostAsync(new Uri("/api/switch", UriKind.Relative), new StringContent("""{"pool":"primary","workers":["farm.rig1",""],"pin":true}""", System.Text.Encoding.UTF8, "application/json"), token))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, blank.StatusCode);
            Assert.Contains("every worker must be a name", await blank.Content.ReadAsStringAsync(token), StringComparison.Ordinal);
        }

        // A body that is not sent as JSON (curl -d sends a form's type), or in a charset the reader does not know, is
        // answered 415 with what to send, not a bare 500.
        using (var form = await http.PostAsync(new Uri("/api/switch", UriKind.Relative), new StringContent("""{"pool":"primary"}""", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"), token))
        {
            Assert.Equal(System.Net.HttpStatusCode.UnsupportedMediaType, form.StatusCode);
            Assert.Contains("Content-Type: application/json", await form.Content.ReadAsStringAsync(token), StringComparison.Ordinal);
        }

        using (var charset = new HttpRequestMessage(HttpMethod.Post, "/api/switch") { Content = new ByteArrayContent("""{"pool":"primary"}"""u8.ToArray()) })
        {
            charset.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=klingon");
            using var answer = await http.SendAsync(charset, token);
            Assert.Equal(System.Net.HttpStatusCode.UnsupportedMediaType, answer.StatusCode);
        }

        var mapped = await File.ReadAllLinesAsync($"/proc/{proxy.Id}/maps", token);
        Assert.DoesNotContain(mapped, line => line.EndsWith("/System.Linq.Expressions.dll", StringComparison.Ordinal));
    }
}
