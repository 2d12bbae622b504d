using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using StratumProxy.Admin;
using StratumProxy.Cli;
using StratumProxy.Hosting;

namespace StratumProxy.Host.Tests;

/// <summary>The admin endpoint's access rules: the token, loopback, TLS, and what a refused client sees.</summary>
public sealed class AdminAccessTests : IDisposable
{
    private const string Token = "t0k3n-for-the-admin-api-0123456789";
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-admin-").FullName;

    // Hang protection only: a run that outlives it fails, nothing is timed.
    private readonly CancellationTokenSource _hang = new(TimeSpan.FromMinutes(2));

    public void Dispose()
    {
        _hang.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private string Resolve(string key, string value) => Path.GetFullPath(value, _directory);

    private AdminAccess Load(AdminOptions options)
    {
        var access = AdminAccess.Load(options, Resolve, out var errors);
        Assert.Empty(errors);
        return access;
    }

    [Theory]
    [InlineData("GET", "/healthz", AdminRequestKind.Open)]
    [InlineData("GET", "/readyz", AdminRequestKind.Open)]
    [InlineData("HEAD", "/", AdminRequestKind.Open)]
    [InlineData("GET", "/status.js", AdminRequestKind.Open)]
    [InlineData("GET", "/metrics", AdminRequestKind.Metrics)]
    [InlineData("GET", "/api/status", AdminRequestKind.Read)]
    [InlineData("GET", "/api/decisions", AdminRequestKind.Read)]
    [InlineData("POST", "/api/switch", AdminRequestKind.Write)]
    [InlineData("DELETE", "/api/anything", AdminRequestKind.Write)]
    [InlineData("POST", "/healthz", AdminRequestKind.Write)]
    [InlineData("PUT", "/metrics", AdminRequestKind.Write)]
    public void Classify_ByMethodAndPath_AnythingButGetIsAWrite(string method, string path, AdminRequestKind expected) =>
        Assert.Equal(expected, AdminAccess.Classify(method, path));

    [Fact]
    public void Decide_NoTokenOnLoopback_WritesTakenWhenAllowed()
    {
        using var access = Load(new AdminOptions { Endpoint = "127.0.0.1:9100", AllowWrite = true });
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Write, null));
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Read, null));
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Metrics, null));
    }

    [Fact]
    public void Decide_NoTokenBeyondLoopback_WritesRefused()
    {
        using var access = Load(new AdminOptions { Endpoint = "0.0.0.0:9100", AllowWrite = true });
        Assert.Equal(AdminRefusal.TokenRequired, access.Decide(AdminRequestKind.Write, null));
        Assert.Equal(AdminRefusal.TokenRequired, access.Decide(AdminRequestKind.Write, "Bearer anything-at-all-here"));
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Read, null));
    }

    [Fact]
    public void Decide_WriteApiOff_RefusedEvenWithTheToken()
    {
        using var access = Load(new AdminOptions { Endpoint = "127.0.0.1:9100", Token = Token });
        Assert.Equal(AdminRefusal.WriteDisabled, access.Decide(AdminRequestKind.Write, $"Bearer {Token}"));
        Assert.Equal(AdminRefusal.MissingToken, access.Decide(AdminRequestKind.Write, null));
    }

    [Fact]
    public void Decide_WithAToken_OnlyTheExactTokenWrites()
    {
        using var access = Load(new AdminOptions { Endpoint = "0.0.0.0:9100", Token = Token, AllowWrite = true });
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Write, $"Bearer {Token}"));
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Write, $"bearer  {Token} "));
        Assert.Equal(AdminRefusal.MissingToken, access.Decide(AdminRequestKind.Write, null));
        Assert.Equal(AdminRefusal.MissingToken, access.Decide(AdminRequestKind.Write, $"Basic {Token}"));
        Assert.Equal(AdminRefusal.BadToken, access.Decide(AdminRequestKind.Write, $"Bearer {Token}x"));
        Assert.Equal(AdminRefusal.BadToken, access.Decide(AdminRequestKind.Write, $"Bearer {Token[..^1]}"));
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Read, null));
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Metrics, null));
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Open, null));
    }

    [Fact]
    public void Decide_ReadsAndMetricsCanAskForTheToken_HealthStaysOpen()
    {
        using var access = Load(new AdminOptions { Token = Token, RequireTokenForReads = true, RequireTokenForMetrics = true });
        Assert.Equal(AdminRefusal.MissingToken, access.Decide(AdminRequestKind.Read, null));
        Assert.Equal(AdminRefusal.BadToken, access.Decide(AdminRequestKind.Metrics, "Bearer wrong-wrong-wrong-wrong"));
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Read, $"Bearer {Token}"));
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Metrics, $"Bearer {Token}"));
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Open, null));
    }

    [Fact]
    public void Load_TokenFile_IsReadTrimmed()
    {
        File.WriteAllText(Path.Combine(_directory, "token"), Token + "\n");
        using var access = Load(new AdminOptions { TokenFile = "token", AllowWrite = true });
        Assert.True(access.HasToken);
        Assert.Equal(AdminRefusal.None, access.Decide(AdminRequestKind.Write, $"Bearer {Token}"));
    }

    [Fact]
    public void Load_BadSettings_AreNamedWithoutTheSecret()
    {
        const string Short = "short-s3cret";
        using var a = AdminAccess.Load(new AdminOptions { Token = Short }, Resolve, out var tooShort);
        using var b = AdminAccess.Load(new AdminOptions { Token = Token, TokenFile = "token" }, Resolve, out var both);
        using var c = AdminAccess.Load(new AdminOptions { TokenFile = "missing" }, Resolve, out var missing);
        using var d = AdminAccess.Load(new AdminOptions { RequireTokenForReads = true }, Resolve, out var noToken);
        using var e = AdminAccess.Load(new AdminOptions { Tls = new AdminTlsOptions { CertificateFile = "none.pem", Password = Short } }, Resolve, out var noCertificate);

        Assert.StartsWith("Admin:Token: the token must be at least 16", Assert.Single(tooShort), StringComparison.Ordinal);
        Assert.StartsWith("Admin:TokenFile: set either", Assert.Single(both), StringComparison.Ordinal);
        Assert.StartsWith("Admin:TokenFile 'missing': no such file", Assert.Single(missing), StringComparison.Ordinal);
        Assert.StartsWith("Admin:RequireTokenForReads", Assert.Single(noToken), StringComparison.Ordinal);
        Assert.StartsWith("Admin:Tls:CertificateFile 'none.pem': no such file", Assert.Single(noCertificate), StringComparison.Ordinal);
        foreach (var message in tooShort.Concat(both).Concat(missing).Concat(noCertificate))
        {
            Assert.DoesNotContain(Short, message, StringComparison.Ordinal);
            Assert.DoesNotContain(Token, message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Host_RefusedRequests_GetJsonErrorsAndAreCounted()
    {
        var cli = CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", $"--Admin:Token={Token}", "--Admin:AllowWrite=true", "--Admin:RequireTokenForReads=true"]);
        await using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
        await app.StartAsync(_hang.Token);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        using var anonymous = await http.PostAsync(new Uri("/api/switch", UriKind.Relative), Json("""{"pool":"none"}"""), _hang.Token);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("""{"error":"this endpoint needs the admin token: send Authorization: Bearer TOKEN"}""", await anonymous.Content.ReadAsStringAsync(_hang.Token));

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/status") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token-at-all") } };
        using var wrongReply = await http.SendAsync(wrong, _hang.Token);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongReply.StatusCode);

        using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative), _hang.Token);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        using var right = new HttpRequestMessage(HttpMethod.Post, "/api/switch") { Content = Json("""{"pool":"none"}"""), Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        using var rightReply = await http.SendAsync(right, _hang.Token);
        Assert.Equal(HttpStatusCode.NotFound, rightReply.StatusCode); // through to the switch itself: no such pool

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), _hang.Token);
        Assert.Contains("stratumproxy_admin_requests_refused_total{kind=\"write\",reason=\"missing_token\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("stratumproxy_admin_requests_refused_total{kind=\"read\",reason=\"bad_token\"} 1", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, metrics, StringComparison.Ordinal);
        await app.StopAsync(_hang.Token);
    }

    [Fact]
    public async Task Host_WritesBeyondLoopbackWithoutAToken_AreRefused()
    {
        var cli = CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "0.0.0.0:0", "--Admin:AllowWrite=true"]);
        await using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
        await app.StartAsync(_hang.Token);
        var port = new Uri(app.Urls.Single().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)).Port;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var reply = await http.PostAsync(new Uri("/api/switch", UriKind.Relative), Json("""{"pool":"none"}"""), _hang.Token);
        Assert.Equal(HttpStatusCode.Forbidden, reply.StatusCode);
        Assert.Contains("Admin:Token", await reply.Content.ReadAsStringAsync(_hang.Token), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/api/status", UriKind.Relative), _hang.Token)).StatusCode);
        await app.StopAsync(_hang.Token);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Host_Tls_ServesHttpsWithThePemOrPfxCertificate(bool pfx)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=stratum-proxy-admin", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UnixEpoch, new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero));
        List<string> args = ["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"];
        if (pfx)
        {
            File.WriteAllBytes(Path.Combine(_directory, "admin.pfx"), certificate.Export(X509ContentType.Pkcs12, "pfx-pass"));
            args.AddRange(["--Admin:Tls:CertificateFile=admin.pfx", "--Admin:Tls:Password=pfx-pass"]);
        }
        else
        {
            File.WriteAllText(Path.Combine(_directory, "admin.crt"), certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(_directory, "admin.key"), key.ExportPkcs8PrivateKeyPem());
            args.AddRange(["--Admin:Tls:CertificateFile=admin.crt", "--Admin:Tls:KeyFile=admin.key"]);
        }

        await using var app = ProxyHost.Build(CommandLine.Parse([.. args]), _directory, logging: l => l.ClearProviders());
        await app.StartAsync(_hang.Token);
        var url = new Uri(app.Urls.Single());
        Assert.Equal("https", url.Scheme);
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == certificate.Thumbprint };
        using var http = new HttpClient(handler) { BaseAddress = url };
        var health = await http.GetStringAsync(new Uri("/healthz", UriKind.Relative), _hang.Token);
        Assert.Contains("\"status\":\"no_pool_configured\"", health, StringComparison.Ordinal);
        await app.StopAsync(_hang.Token);
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");
}
