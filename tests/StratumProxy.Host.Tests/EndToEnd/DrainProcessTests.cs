using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// The real executable sent SIGTERM (as Kubernetes does when it stops a pod): it stops accepting, asks every miner to
/// reconnect one after the other over Proxy:Drain:Period while it carries the others' shares, then exits 0.
/// </summary>
public sealed class DrainProcessTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-drain-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Sigterm_AsksEveryMinerToReconnectInTurn_CarriesTheRestMeanwhile_StaysUpNotReady_AndExitsCleanly()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var token = guard.Token;
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        string[] arguments =
        [
            "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", pool.Url, "--user", "acct",
            "--start-difficulty", "0.00001", "--min-difficulty", "0.0000001",
            "--Proxy:Drain:Period=00:00:08", "--Proxy:Drain:Grace=00:00:20",
            "--Curtailment:Enabled=false", "--Economics:Enabled=false",
        ];
        await using var proxy = await ProxyProcess.StartAsync(_directory, arguments, token);

        // Four rigs, connected one after the other. After the request they dial the same address, which no longer
        // answers (there is no other instance here), and stay away.
        // The moment each rig reads its request, its own read loop notes whether each rig is still connected and its
        // accepted shares: a poll from the test's thread could come seconds late on a loaded machine, after the next
        // rig was asked too.
        List<TestMiner> miners = [];
        var seen = new (bool Connected, long Accepted)[4][];
        void Asked(int index, string line)
        {
            if (line.Contains("<- ", StringComparison.Ordinal) && line.Contains("client.reconnect", StringComparison.Ordinal))
            {
                Interlocked.CompareExchange(ref seen[index], [.. miners.Select(m => (m.IsConnected && m.Connections == 1, m.Accepted))], null);
            }
        }

        try
        {
            for (var i = 0; i < 4; i++)
            {
                var index = i;
                var miner = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = proxy.MinerPort, Worker = $"farm.sigterm{i}", ReconnectOnDisconnect = false, HashesPerYield = 256, Trace = line => Asked(index, line) });
                miners.Add(miner);
                await miner.StartAsync(token);
                await miner.WaitUntilAsync(m => m.IsAuthorized, TimeSpan.FromSeconds(30), "authorized", token);
            }

            foreach (var miner in miners)
            {
                await miner.WaitForAcceptedAsync(2, TimeSpan.FromSeconds(30), token);
            }

            using var http = new HttpClient { BaseAddress = proxy.Admin };
            var exited = proxy.TerminateAsync(token);

            // Wait for the requests to arrive. While the drain runs (it lasts the 8 s period, and the process exits
            // after it) the admin endpoint still answers: not ready, draining.
            string? readyz = null;
            string? metrics = null;
            while (seen.Any(s => s is null) && !exited.IsCompleted)
            {
                if (readyz is null && Volatile.Read(ref seen[0]) is not null)
                {
                    using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative), token);
                    readyz = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(token)}";
                    metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), token);
                }

                await Task.Delay(10, token);
            }

            await exited;
            Assert.True(0 == proxy.ExitCode, proxy.Output);
            Assert.All(seen, s => Assert.NotNull(s));
            Assert.All(miners, m => Assert.Equal(1, m.ReconnectsReceived));
            Assert.NotNull(readyz);
            Assert.StartsWith("503 ", readyz, StringComparison.Ordinal);
            Assert.Contains("{\"name\":\"drain\",\"status\":\"not_ready\"", readyz, StringComparison.Ordinal);
            Assert.Contains("\nstratumproxy_draining 1\n", metrics, StringComparison.Ordinal);

            // Spread over the period, oldest first: when one miner was asked, the next was still connected to the
            // draining proxy, not asked yet; and the last one had more shares accepted there after the first left.
            for (var i = 0; i + 1 < miners.Count; i++)
            {
                Assert.True(seen[i][i + 1].Connected, $"miner {i + 1} was no longer connected when miner {i} was asked");
            }

            var last = miners.Count - 1;
            Assert.True(seen[last][last].Accepted > seen[0][last].Accepted, $"the last miner had {seen[0][last].Accepted} accepted when the first was asked and {seen[last][last].Accepted} when it was asked itself");

            // No submit is left waiting and none got a wrong or stray answer. Submits a miner sent after the proxy wrote
            // its request, before the miner read it, cross it on the wire: the miner closes on reading the request, as
            // cgminer does, so those stay unanswered on its side however the proxy behaves, and on a loaded machine
            // they are many (the hashing goes on while the reader waits for a core). That the proxy answers everything
            // it received first is checked where the miners can be paused: MinerDrainTests in StratumProxy.Proxy.Tests.
            Assert.All(miners, m => Assert.True(m.Pending == 0 && m.Rejected == 0 && m.UnexpectedAnswers == 0 && m.Accepted > 0, m.ToString()));
            Assert.Contains("Draining: no new miners accepted; asking 4 miners to reconnect over 00:00:08", proxy.Output, StringComparison.Ordinal);
            Assert.Contains("Drain done: 4 miners asked to reconnect, 4 left, 0 still connected", proxy.Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var miner in miners)
            {
                await miner.DisposeAsync();
            }
        }
    }
}
