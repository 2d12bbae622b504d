using System.Text.Json;
using StratumProxy.Stratum.Mining;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// The opening lines of real firmware sessions (tests/vectors/stratum-v1-transcripts.json), byte for byte, through
/// the proxy to a real test pool: ids echoed with their JSON type, the handshake order firmware expects, and the
/// quirks of PEERS.md (duplicate ids, id null before subscribe, get_transactions, a TLS probe on the plain port).
/// </summary>
public sealed class ReplayTests
{
    private const double PoolDifficulty = 1e-6;

    [Fact]
    public async Task Cpuminer_session_gets_ordered_answers_and_duplicate_submit_ids_each_get_one_answer()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = PoolDifficulty });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        const string session = "cpuminer-2.5.1 -> python test pool";
        await using var client = await WireClient.ConnectAsync(proxy.Port);

        await client.SendAsync(Transcripts.FirstCall(session, "mining.subscribe"));
        var subscribed = await client.ReadResponseAsync("1");
        await client.SendAsync(Transcripts.FirstCall(session, "mining.authorize"));
        await client.ReadResponseAsync("2");
        await client.ReadNotifyAsync();
        AssertHandshakeOrder(client, "1", "2");
        AssertSubscribeResult(subscribed, client);

        // cpuminer sends every submit with id 4; two in a row, pipelined, must both be answered.
        var submit = Transcripts.FirstCall(session, "mining.submit");
        var first = Share(client, 1);
        var second = Share(client, 2);
        await client.SendAsync(SubmitLike(submit, client, first));
        await client.SendAsync(SubmitLike(submit, client, second));
        Assert.True((await client.ReadResponseAsync("4")).GetProperty("result").GetBoolean());
        Assert.True((await client.ReadResponseAsync("4")).GetProperty("result").GetBoolean());
        await pool.WaitForAcceptedAsync(2, TimeSpan.FromSeconds(5), "acct.testworker");
        AssertWellFormed(client);
    }

    [Fact]
    public async Task Bfgminer_session_with_id_0_auth_suggest_target_first_and_get_transactions()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = PoolDifficulty });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        const string session = "bfgminer-5.5.0 -> python test pool (#tls=0";
        var lines = Transcripts.ClientLines(session);
        await using var client = await WireClient.ConnectAsync(proxy.Port);

        // suggest_target with id null comes before subscribe; it is a notification and gets no answer.
        Assert.Contains("\"id\": null", lines[0], StringComparison.Ordinal);
        Assert.Contains("mining.suggest_target", lines[0], StringComparison.Ordinal);
        await client.SendAsync(lines[0]);
        await client.SendAsync(Transcripts.FirstCall(session, "mining.subscribe"));
        var subscribed = await client.ReadResponseAsync("0");
        await client.SendAsync(Transcripts.FirstCall(session, "mining.authorize"));
        await client.ReadResponseAsync("\"auth\"");
        var job = await client.ReadNotifyAsync();
        AssertHandshakeOrder(client, "0", "\"auth\"");
        AssertSubscribeResult(subscribed, client);
        Assert.Equal(-1, client.IndexOf(WireClient.IsResponse("null")));

        // bfgminer asks for the transactions of every job; its id is a string built from the job id.
        var getTransactions = Transcripts.FirstCall(session, "mining.get_transactions");
        await client.SendAsync(getTransactions);
        // The proxy has merkle branches, not the transactions: an error under bfgminer's own id, never a made-up
        // empty list (bfgminer then only notes that the pool does not show block contents, and mines on).
        var transactions = await client.ReadResponseAsync("\"txlist1a1\"");
        Assert.Equal(JsonValueKind.Null, transactions.GetProperty("result").ValueKind);
        Assert.Equal(20, transactions.GetProperty("error")[0].GetInt32());
        Assert.Contains("not available", transactions.GetProperty("error")[1].GetString(), StringComparison.Ordinal);

        var submit = Transcripts.FirstCall(session, "mining.submit");
        Assert.Contains("\"id\": 1", submit, StringComparison.Ordinal);
        await client.SendAsync(SubmitLike(submit, client, Share(client, 7)));
        Assert.True((await client.ReadResponseAsync("1")).GetProperty("result").GetBoolean());
        Assert.Equal(job.JobId, client.LastNotify!.JobId);
        AssertWellFormed(client);
    }

    [Fact]
    public async Task Cgminer_session_with_subscribe_id_0()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = PoolDifficulty });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        const string session = "cgminer-4.11.1";
        await using var client = await WireClient.ConnectAsync(proxy.Port);

        await client.SendAsync(Transcripts.FirstCall(session, "mining.subscribe"));
        var subscribed = await client.ReadResponseAsync("0");
        await client.SendAsync(Transcripts.FirstCall(session, "mining.authorize"));
        await client.ReadResponseAsync("1");
        await client.ReadNotifyAsync();
        AssertHandshakeOrder(client, "0", "1");
        AssertSubscribeResult(subscribed, client);
        AssertWellFormed(client);
    }

    [Fact]
    public async Task Npm_stratum_client_session_with_method_name_ids()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = PoolDifficulty });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        const string session = "npm stratum-client";
        await using var client = await WireClient.ConnectAsync(proxy.Port);

        await client.SendAsync(Transcripts.FirstCall(session, "mining.subscribe"));
        var subscribed = await client.ReadResponseAsync("\"mining.subscribe\"");
        await client.SendAsync(Transcripts.FirstCall(session, "mining.authorize"));
        await client.ReadResponseAsync("\"mining.authorize\"");
        await client.ReadNotifyAsync();
        AssertHandshakeOrder(client, "\"mining.subscribe\"", "\"mining.authorize\"");
        AssertSubscribeResult(subscribed, client);

        await client.SendAsync(SubmitLike(Transcripts.FirstCall(session, "mining.submit"), client, Share(client, 3)));
        Assert.True((await client.ReadResponseAsync("\"mining.submit\"")).GetProperty("result").GetBoolean());
        AssertWellFormed(client);
    }

    [Fact]
    public async Task Configure_first_ckpool_probe_gets_the_mask_and_every_request_answered()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = PoolDifficulty });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        const string session = "scripted probe -> ckpool";
        var lines = Transcripts.ClientLines(session);
        await using var client = await WireClient.ConnectAsync(proxy.Port);

        Assert.Contains("mining.configure", lines[0], StringComparison.Ordinal);
        await client.SendAsync(lines[0]);
        var configured = await client.ReadResponseAsync("1");
        var result = configured.GetProperty("result");
        Assert.True(result.GetProperty("version-rolling").GetBoolean());

        // The miner asked for ffffffff; the pool grants BIP320's 1fffe000, and so does the proxy.
        Assert.Equal("1fffe000", result.GetProperty("version-rolling.mask").GetString());
        await client.SendAsync(lines[1]);
        var subscribed = await client.ReadResponseAsync("2");
        await client.SendAsync(lines[2]);
        await client.ReadResponseAsync("3");
        await client.ReadNotifyAsync();
        AssertHandshakeOrder(client, "2", "3");
        Assert.True(client.IndexOf(WireClient.IsResponse("1")) < client.IndexOf(WireClient.IsResponse("2")));
        AssertSubscribeResult(subscribed, client);

        Assert.Contains("mining.suggest_difficulty", lines[3], StringComparison.Ordinal);
        await client.SendAsync(lines[3]);
        await client.ReadResponseAsync("4");

        // The probe's bad shares, on this proxy's job: 8-byte extranonce2 (the proxy gives 4), an unknown job, a
        // 1-byte extranonce2.
        var jobId = client.LastNotify!.JobId;
        await client.SendAsync(lines[4].Replace("6b072d9e00000001", jobId, StringComparison.Ordinal));
        Assert.Equal(20, ErrorCode(await client.ReadResponseAsync("5")));
        await client.SendAsync(lines[5].Replace("6b072d9e00000001", jobId, StringComparison.Ordinal));
        Assert.Equal(20, ErrorCode(await client.ReadResponseAsync("6")));
        await client.SendAsync(lines[6]);
        Assert.Equal(21, ErrorCode(await client.ReadResponseAsync("7")));
        await client.SendAsync(lines[7].Replace("6b072d9e00000001", jobId, StringComparison.Ordinal));
        Assert.Equal(20, ErrorCode(await client.ReadResponseAsync("8")));

        // ckpool is silent on these two; the proxy answers them, and nothing waits for the pool.
        Assert.Contains("mining.extranonce.subscribe", lines[8], StringComparison.Ordinal);
        await client.SendAsync(lines[8]);
        Assert.True((await client.ReadResponseAsync("9")).GetProperty("result").GetBoolean());
        Assert.Contains("mining.ping", lines[9], StringComparison.Ordinal);
        await client.SendAsync(lines[9]);
        Assert.True((await client.ReadResponseAsync("10")).GetProperty("result").GetBoolean());

        // A version-rolled share inside the granted mask is carried to the pool and accepted there.
        var template = client.Template();
        const uint bits = 0x0e596000;
        var version = VersionRolling.Apply(template.Version, bits, 0x1fffe000);
        var extranonce2 = new byte[] { 9, 0, 0, 0 };
        var nonce = client.FindNonce(extranonce2, PoolDifficulty, version: version);
        await client.SendAsync($"{{\"id\":11,\"method\":\"mining.submit\",\"params\":[\"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa.probe\",\"{jobId}\",\"09000000\",\"{WireClient.Hex(template.NTime)}\",\"{WireClient.Hex(nonce)}\",\"{WireClient.Hex(bits)}\"]}}");
        Assert.True((await client.ReadResponseAsync("11")).GetProperty("result").GetBoolean());
        await pool.WaitForAcceptedAsync(1, TimeSpan.FromSeconds(5));
        Assert.Equal(version, Assert.Single(pool.AcceptedShares).Version);
        AssertWellFormed(client);
    }

    [Fact]
    public async Task A_tls_client_hello_on_the_plain_port_is_closed_at_once()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = PoolDifficulty });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        await using var client = await WireClient.ConnectAsync(proxy.Port);

        // The start of a TLS 1.2 ClientHello record, as bfgminer sends it first on a stratum+tcp URL.
        await client.SendBytesAsync([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, 0x5e, 0x1c]);
        Assert.True(await client.ClosedWithinAsync(TimeSpan.FromSeconds(2)), "the proxy kept a TLS probe open");
        Assert.Empty(client.Received);
        Assert.Equal(1, await proxy.MetricAsync("stratumproxy_protocol_errors_total{side=\"miner\",kind=\"not_stratum\"}"));

        // The fallback connection right after is served normally.
        await using var fallback = await WireClient.ConnectAsync(proxy.Port);
        await fallback.SendAsync(Transcripts.FirstCall("bfgminer-5.5.0 -> python test pool (default URL", "mining.subscribe"));
        await fallback.ReadResponseAsync("0");
    }

    /// <summary>subscribe result, then authorize result, then set_difficulty, then the first notify.</summary>
    private static void AssertHandshakeOrder(WireClient client, string subscribeId, string authorizeId)
    {
        var subscribe = client.IndexOf(WireClient.IsResponse(subscribeId));
        var authorize = client.IndexOf(WireClient.IsResponse(authorizeId));
        var difficulty = client.IndexOf(WireClient.IsMethod("mining.set_difficulty"));
        var notify = client.IndexOf(WireClient.IsMethod("mining.notify"));
        Assert.True(subscribe >= 0 && subscribe < authorize && authorize < difficulty && difficulty < notify, string.Join('\n', client.Received));
    }

    private static void AssertSubscribeResult(JsonElement subscribed, WireClient client)
    {
        Assert.Equal(JsonValueKind.Null, subscribed.GetProperty("error").ValueKind);
        var result = subscribed.GetProperty("result");
        Assert.Equal(JsonValueKind.Array, result.ValueKind);
        Assert.Equal(3, result.GetArrayLength());
        Assert.Equal(4, result[2].GetInt32());
        Assert.Equal(4, client.Extranonce2Size);
        Assert.NotEmpty(client.Extranonce1);
    }

    /// <summary>Every line parses; every response carries both result and error.</summary>
    private static void AssertWellFormed(WireClient client)
    {
        foreach (var line in client.Received)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.TryGetProperty("method", out var method) && method.ValueKind == JsonValueKind.String)
            {
                Assert.True(root.TryGetProperty("params", out _), line);
                continue;
            }

            Assert.True(root.TryGetProperty("result", out _) && root.TryGetProperty("error", out _) && root.TryGetProperty("id", out _), line);
        }
    }

    private static int ErrorCode(JsonElement response) => response.GetProperty("error")[0].GetInt32();

    private static (string JobId, byte[] Extranonce2, uint NTime, uint Nonce) Share(WireClient client, byte tag)
    {
        var extranonce2 = new byte[] { tag, 0, 0, 0 };
        var nonce = client.FindNonce(extranonce2, PoolDifficulty);
        return (client.LastNotify!.JobId, extranonce2, client.Template().NTime, nonce);
    }

    /// <summary>The firmware's own submit line with its four share values replaced by ours; spacing and id kept.</summary>
    private static string SubmitLike(string captured, WireClient client, (string JobId, byte[] Extranonce2, uint NTime, uint Nonce) share)
    {
        using var doc = JsonDocument.Parse(captured);
        var p = doc.RootElement.GetProperty("params");
        string[] values = [share.JobId, Convert.ToHexStringLower(share.Extranonce2), WireClient.Hex(share.NTime), WireClient.Hex(share.Nonce)];
        var result = captured;
        var cursor = result.IndexOf(p[0].GetString()!, StringComparison.Ordinal);
        for (var i = 0; i < 4; i++)
        {
            var old = "\"" + p[i + 1].GetString() + "\"";
            var at = result.IndexOf(old, cursor, StringComparison.Ordinal);
            result = string.Concat(result.AsSpan(0, at), "\"" + values[i] + "\"", result.AsSpan(at + old.Length));
            cursor = at + values[i].Length + 2;
        }

        Assert.Equal(client.Extranonce2Size, share.Extranonce2.Length);
        return result;
    }
}
