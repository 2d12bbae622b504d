using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using StratumProxy.Rigs.Antminer;
using StratumProxy.Rigs.BraiinsOs;
using StratumProxy.Rigs.Tests.Infrastructure;

namespace StratumProxy.Rigs.Tests;

/// <summary>Braiins OS REST and stock Antminer CGI against a real HTTP server replaying the recorded JSON.</summary>
public sealed partial class HttpFamiliesTests
{
    private static string Json(string id) => RigVectors.Example(id)["response"]!["json"]!.ToJsonString();

    private static HttpResponseSpec BraiinsRoutes(HttpRequestRecord request) => (request.Method, request.Path) switch
    {
        ("POST", "/api/v1/auth/login") => HttpResponseSpec.Json("{\"token\":\"eUInGZBQ4yGyKiDe\",\"timeout_s\":3600}"),
        (_, _) when request.Headers.GetValueOrDefault("Authorization") != "eUInGZBQ4yGyKiDe" => new HttpResponseSpec(401, ""),
        ("GET", "/api/v1/miner/details") => HttpResponseSpec.Json(Json("bos.rest.miner_details")),
        ("GET", "/api/v1/miner/stats") => HttpResponseSpec.Json(Json("bos.rest.miner_stats")),
        ("GET", "/api/v1/pools/") => HttpResponseSpec.Json(Json("bos.rest.pools")),
        ("GET", "/api/v1/performance/tuner-state") => HttpResponseSpec.Json(Json("bos.rest.tuner_state")),
        ("PUT", "/api/v1/actions/pause") => HttpResponseSpec.Json("false"),
        ("PUT", "/api/v1/performance/power-target") => HttpResponseSpec.Json(Json("bos.rest.power_target")),
        _ => new HttpResponseSpec(404, ""),
    };

    [Fact]
    public async Task Braiins_Pause_LogsOnOnceAndSendsBareToken()
    {
        await using var server = new MiniHttpServer(BraiinsRoutes);
        using var client = new BraiinsOsRigClient(new RigEndpoint("127.0.0.1", server.Port) { User = "root", Password = "1234" }, new ObservableTime());

        var result = await client.SleepAsync(CancellationToken.None);
        await client.SetPowerTargetAsync(3730, CancellationToken.None);

        var login = server.Requests[0];
        Assert.Equal(("POST", "/api/v1/auth/login"), (login.Method, login.Path));
        Wire.JsonEqual(RigVectors.Example("bos.rest.login")["request"]!["json"]!.ToJsonString(), login.Body);
        Assert.Equal(("PUT", "/api/v1/actions/pause"), (server.Requests[1].Method, server.Requests[1].Path));
        Assert.Equal("eUInGZBQ4yGyKiDe", server.Requests[1].Headers["Authorization"]);
        Assert.Equal(RigMiningState.Asleep, Assert.IsType<RigUnconfirmed>(result).Expected.State);
        Wire.JsonEqual(RigVectors.Example("bos.rest.power_target")["request"]!["json"]!.ToJsonString(), server.Requests[2].Body);
        Assert.Equal(3, server.Requests.Count); // the token was reused
    }

    [Fact]
    public async Task Braiins_ReadStatus_Fixtures()
    {
        await using var server = new MiniHttpServer(BraiinsRoutes);
        using var client = new BraiinsOsRigClient(new RigEndpoint("127.0.0.1", server.Port) { Password = "1234" }, new ObservableTime());

        var status = Assert.IsType<RigStatus>((await client.ReadStatusAsync(CancellationToken.None)).Status);

        Assert.Equal(RigMiningState.Mining, status.State);
        Assert.Equal(248.18667720002498, status.HashrateThs!.Value, 9);
        Assert.Equal(3480.0, status.PowerWatts);
        Assert.Equal(3500, status.PowerLimitWatts);
        Assert.Equal("2026-04-14-0-912d084c-26.04-plus", status.Firmware);
        Assert.Equal("stratum+tcp://example.pool.com:3333", status.ActivePool?.Url);
        Assert.Equal(TimeSpan.FromSeconds(7039), status.Uptime);
    }

    [Fact]
    public async Task Braiins_LoginRefused_IsAccessDenied()
    {
        await using var server = new MiniHttpServer(_ => new HttpResponseSpec(401, ""));
        using var client = new BraiinsOsRigClient(new RigEndpoint("127.0.0.1", server.Port), new ObservableTime());

        Assert.Equal(RigFailureReason.AccessDenied, Assert.IsType<RigFailed>(await client.WakeAsync(CancellationToken.None)).Reason);
    }

    // Found by the rig-api fuzz target: a login answered 200 with JSON that is not an object (the bare `false` of the
    // pause reply, an array) threw InvalidOperationException out of every Braiins OS call instead of a result.
    [Theory]
    [InlineData("false")]
    [InlineData("[\"eUInGZBQ4yGyKiDe\"]")]
    [InlineData("\"eUInGZBQ4yGyKiDe\"")]
    public async Task Braiins_LoginReplyNotAnObject_IsInvalidReply(string body)
    {
        await using var server = new MiniHttpServer(_ => HttpResponseSpec.Json(body));
        using var client = new BraiinsOsRigClient(new RigEndpoint("127.0.0.1", server.Port), new ObservableTime());

        var read = await client.ReadStatusAsync(CancellationToken.None);
        var sleep = await client.SleepAsync(CancellationToken.None);

        Assert.Equal(RigFailureReason.InvalidReply, read.Failure?.Reason);
        Assert.Equal(RigFailureReason.InvalidReply, Assert.IsType<RigFailed>(sleep).Reason);
    }

    private static HttpResponseSpec? Digest(HttpRequestRecord request, Func<HttpRequestRecord, HttpResponseSpec?> then)
    {
        var challenge = new HttpResponseSpec(401, "", new Dictionary<string, string>
        {
            ["WWW-Authenticate"] = "Digest realm=\"antMiner Configuration\", nonce=\"8f3a9c\", qop=\"auth\"",
        });
        if (!request.Headers.TryGetValue("Authorization", out var auth) || !auth.StartsWith("Digest ", StringComparison.Ordinal))
        {
            return challenge;
        }

        var fields = DigestField().Matches(auth).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value);
#pragma warning disable CA5351 // HTTP Digest (RFC 2617) is MD5 by definition; the fake rig has to check it.
        static string Md5(string s) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(s)));
#pragma warning restore CA5351
        var ha1 = Md5("root:antMiner Configuration:root");
        var ha2 = Md5($"{request.Method}:{fields["uri"]}");
        var expected = Md5($"{ha1}:{fields["nonce"]}:{fields["nc"]}:{fields["cnonce"]}:{fields["qop"]}:{ha2}");
        return fields["username"] == "root" && fields["response"] == expected ? then(request) : challenge;
    }

    [GeneratedRegex("(\\w+)=(?:\"([^\"]*)\"|([^,\\s]+))")]
    private static partial Regex DigestField();

    [Fact]
    public async Task Antminer_Sleep_RewritesFullConfigWithMinerMode1OverDigest()
    {
        await using var http = new MiniHttpServer(r => Digest(r, req => req.Path switch
        {
            "/cgi-bin/get_miner_conf.cgi" => HttpResponseSpec.Json(Json("antminer.get_miner_conf")),
            "/cgi-bin/set_miner_conf.cgi" => HttpResponseSpec.Json(Json("antminer.set_miner_conf.sleep")),
            _ => new HttpResponseSpec(404, ""),
        }));
        using var client = new AntminerStockRigClient(new RigEndpoint("127.0.0.1", http.Port) { User = "root", Password = "root" }, new ObservableTime());

        var result = await client.SleepAsync(CancellationToken.None);

        var post = Assert.Single(http.Requests, r => r.Method == "POST" && r.Headers.ContainsKey("Authorization"));
        Assert.Equal("/cgi-bin/set_miner_conf.cgi", post.Path);
        Assert.Equal("XMLHttpRequest", post.Headers["X-Requested-With"]);
        Assert.StartsWith("text/plain", post.Headers["Content-Type"], StringComparison.Ordinal);
        var body = JsonNode.Parse(post.Body)!;
        var captured = RigVectors.Example("antminer.set_miner_conf.sleep")["request"]!["json"]!;
        Assert.Equal(
            captured.AsObject().Select(p => p.Key),
            body.AsObject().Select(p => p.Key));
        Assert.Equal(1, (int)body["miner-mode"]!);
        Assert.Equal("stratum+tcp://pool.example:3333", (string?)body["pools"]![0]!["url"]);
        Assert.Equal(3, body["pools"]!.AsArray().Count);
        Assert.True(Assert.IsType<RigUnconfirmed>(result).Acknowledged);
    }

    [Fact]
    public async Task Antminer_ConfigWriteNeverAnswers_IsUnknownAfterTheLongDeadline()
    {
        var time = new ObservableTime();
        await using var http = new MiniHttpServer(r => Digest(r, req => req.Path == "/cgi-bin/get_miner_conf.cgi"
            ? HttpResponseSpec.Json(Json("antminer.get_miner_conf"))
            : null));
        using var client = new AntminerStockRigClient(new RigEndpoint("127.0.0.1", http.Port), time);

        var run = client.WakeAsync(CancellationToken.None);
        for (var seen = 1; !http.Requests.Any(r => r.Method == "POST" && r.Headers.ContainsKey("Authorization")); seen++)
        {
            await http.WaitForRequestsAsync(seen);
        }

        time.Advance(TimeSpan.FromSeconds(39));
        Assert.False(run.IsCompleted); // a config write takes ~21 s on a real S19j Pro: no early give-up
        time.Advance(TimeSpan.FromSeconds(1));
        var result = await run;

        var unknown = Assert.IsType<RigUnconfirmed>(result);
        Assert.False(unknown.Acknowledged);
        Assert.Single(http.Requests, r => r.Method == "POST" && r.Headers.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task Antminer_SleepModeWhileStillHashing_IsNotAsleep()
    {
        var asleepConf = Json("antminer.get_miner_conf").Replace("\"bitmain-work-mode\":\"0\"", "\"bitmain-work-mode\":\"1\"", StringComparison.Ordinal);
        await using var http = new MiniHttpServer(r => Digest(r, _ => HttpResponseSpec.Json(asleepConf)));
        await using var rpc = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("antminer.rpc.summary")), ReplayStep.Reply(RigVectors.Reply("cgminer.pools.json")));
        using var client = new AntminerStockRigClient(new RigEndpoint("127.0.0.1", http.Port), new ObservableTime(), rpc.Port);

        var status = Assert.IsType<RigStatus>((await client.ReadStatusAsync(CancellationToken.None)).Status);

        // Captured on an S19j Pro: the mode was accepted but hashing went on until a reboot.
        Assert.Equal(RigMiningState.Mining, status.State);
        Assert.Equal(110.56689, status.HashrateThs!.Value, 5);
        Assert.Equal("cgminer 1.0.0", status.Firmware);
    }
}
