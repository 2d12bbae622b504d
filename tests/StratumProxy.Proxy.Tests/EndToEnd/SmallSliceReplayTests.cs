using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// Pools with small extranonce2 slices, played from <c>tests/vectors/stratum-v1-small-slice-transcripts-written-from-docs.json</c>
/// (written from the protocol documents: no capture of these pools exists): the proxy adapts the miners' layout, and
/// every share it forwards checks out at the pool, before and after a mining.set_extranonce.
/// </summary>
public sealed class SmallSliceReplayTests
{
    public static TheoryData<string> Sessions => [.. ScriptedPool.SessionNames()];

    [Theory]
    [MemberData(nameof(Sessions))]
    public async Task A_pool_written_from_the_protocol_docs_replays_cleanly_through_the_proxy(string session)
    {
        await using var pool = ScriptedPool.Start(session);
        var options = ProxyHarness.Options();
        options = ProxyHarness.WithPool(options, new Configuration.PoolOptions { Name = "pool0", Url = pool.Url, User = "acct" });
        await using var proxy = await ProxyHarness.StartAsync(options);
        await using var client = await WireClient.ConnectAsync(proxy.Port);
        await client.HandshakeAsync("farm.replay");

        var layout = MinerLayout.Fit(pool.Extranonce2Size, new MinerLayout(2, 4))!.Value;
        Assert.Equal(layout.Extranonce2Size, client.Extranonce2Size);
        Assert.Equal(layout.PrefixSize, client.Extranonce1.Length);

        await SubmitOneAsync(client, 10);
        await proxy.WaitUntilAsync(() => pool.Accepted >= 1, TimeSpan.FromSeconds(10), "the pool's verdict");

        if (session.Contains("set_extranonce", StringComparison.Ordinal))
        {
            // The pool changes its extranonce1 and sends a clean job: the miner keeps its own and works on.
            var before = client.LastNotify!.JobId;
            var job = await client.ReadNotifyAsync();
            Assert.NotEqual(before, job.JobId);
            await SubmitOneAsync(client, 11);
            await proxy.WaitUntilAsync(() => pool.Accepted >= 2, TimeSpan.FromSeconds(10), "the verdict after set_extranonce");
        }

        Assert.Equal(0, pool.Rejected);
        Assert.All(pool.SubmittedExtranonce2, e => Assert.Equal(pool.Extranonce2Size * 2, e.Length));
        Assert.Equal(0, await proxy.MetricAsync("stratumproxy_upstream_refused_total{pool=\"pool0\"}"));
    }

    private static async Task SubmitOneAsync(WireClient client, int id)
    {
        var extranonce2 = new byte[client.Extranonce2Size];
        extranonce2[0] = (byte)id;
        var nonce = client.FindNonce(extranonce2, 0.0001);
        var response = await client.SubmitAsync(id, "farm.replay", client.LastNotify!.JobId, extranonce2, client.LastNotify.NTime, nonce);
        Assert.Null(WireClient.ErrorCode(response));
    }
}
