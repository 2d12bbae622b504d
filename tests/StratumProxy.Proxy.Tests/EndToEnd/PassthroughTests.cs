using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

public sealed class PassthroughTests
{
    [Fact]
    public async Task Each_miner_gets_its_own_upstream_and_the_pool_sees_only_valid_unique_shares()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(PoolMode.Passthrough, pool));
        await using var fleet = new MinerFleet(3, proxy.Miner("farm.solo"), (i, o) => o with
        {
            VersionRolling = i == 1,
            IdStyle = (MinerIdStyle)(i + 1),
        });
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(4, TimeSpan.FromSeconds(30));
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));

        Assert.True(fleet.EverySubmitAnsweredOnce);
        Assert.Empty(pool.AuditAcceptedShares());
        Assert.Equal(0, pool.Rejected);

        // One upstream connection per miner, each authorized as that rig only.
        Assert.Equal(3, pool.TotalConnections);
        Assert.Equal(3, pool.OpenConnections);
        var sessions = pool.Sessions;
        foreach (var miner in fleet.Miners)
        {
            var upstreamWorker = "acct." + miner.Worker.Split('.')[1];
            var session = Assert.Single(sessions, s => s.AuthorizedWorkers.Contains(upstreamWorker));
            Assert.Equal([upstreamWorker], session.AuthorizedWorkers);
            Assert.All(pool.AcceptedShares.Where(s => s.Worker == upstreamWorker), s => Assert.Equal(session.ConnectionId, s.ConnectionId));

            Assert.True(proxy.Engine.Ledger.TryGetWorker(miner.Worker, out var stats));
            Assert.Equal(miner.Accepted, stats.Count(ShareResult.Accepted));
            var counters = Assert.Single(stats.Pools());
            Assert.Equal(counters.Forwarded, counters.PoolAccepted);
            Assert.Equal(0, counters.Gap);
            Assert.Equal(pool.Worker(upstreamWorker).Accepted, counters.PoolAccepted);
            Assert.Equal(1, miner.Connections);
        }

        Assert.Equal(3, proxy.Engine.Pools[0].DedicatedCount);
    }

    [Fact]
    public async Task A_pool_slow_to_answer_gets_one_connection_per_miner_however_many_routing_ticks_pass()
    {
        // A pool that accepts TCP and never answers: the miner's dedicated connection stays in its handshake.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var accepted = new List<Socket>();
        using var stop = new CancellationTokenSource();
        var acceptLoop = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var socket = await silent.AcceptSocketAsync(stop.Token);
                    lock (accepted)
                    {
                        accepted.Add(socket);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Test over.
            }
        });

        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stand = await TestPool.StartAsync();
        var options = ProxyHarness.Options(PoolMode.Passthrough, stand);
        options = ProxyHarness.WithPool(options, 0, p => p with { Url = $"stratum+tcp://127.0.0.1:{port}" });
        await using var proxy = await ProxyHarness.StartAsync(options, time: time);
        await using var client = await WireClient.ConnectAsync(proxy.Port);
        await client.SendAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}");
        await client.ReadResponseAsync("1");
        await client.SendAsync("{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"farm.slow\",\"x\"]}");
        await client.ReadResponseAsync("2");
        await proxy.WaitUntilAsync(() => Count(accepted) == 1, TimeSpan.FromSeconds(5), "the dedicated connection");

        // Routing ticks while the handshake is pending must not open more connections for the same miner.
        for (var i = 0; i < 5; i++)
        {
            proxy.Engine.Tick();
        }

        // A second miner after the ticks: its connection goes through the same path, so once it has been accepted
        // any connection the ticks opened has been too.
        await using var second = await WireClient.ConnectAsync(proxy.Port);
        await second.SendAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}");
        await second.ReadResponseAsync("1");
        await second.SendAsync("{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"farm.slow2\",\"x\"]}");
        await second.ReadResponseAsync("2");
        await proxy.WaitUntilAsync(() => Count(accepted) >= 2 && proxy.Engine.Pools[0].DedicatedCount == 2, TimeSpan.FromSeconds(5), "the second miner's connection");
        proxy.Engine.Tick();
        Assert.Equal(2, Count(accepted));

        await stop.CancelAsync();
        await acceptLoop;
        lock (accepted)
        {
            accepted.ForEach(s => s.Dispose());
        }
    }

    private static int Count(List<Socket> sockets)
    {
        lock (sockets)
        {
            return sockets.Count;
        }
    }
}
