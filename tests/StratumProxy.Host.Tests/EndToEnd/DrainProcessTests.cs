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
    public async Task Sigterm_AsksEveryMinerToReconnectInTurn_CarriesTheRestMeanwhile_AndExitsCleanly()
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
        List<TestMiner> miners = [];
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var miner = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = proxy.MinerPort, Worker = $"farm.sigterm{i}", ReconnectOnDisconnect = false, HashesPerYield = 256 });
                miners.Add(miner);
                await miner.StartAsync(token);
                await miner.WaitUntilAsync(m => m.IsAuthorized, TimeSpan.FromSeconds(30), "authorized", token);
            }

            foreach (var miner in miners)
            {
                await miner.WaitForAcceptedAsync(2, TimeSpan.FromSeconds(30), token);
            }

            var exited = proxy.TerminateAsync(token);

            // Watch the requests arrive: when one does, note every miner's accepted shares at that moment.
            var seen = new long[miners.Count][];
            while (seen.Any(s => s is null) && !exited.IsCompleted)
            {
                for (var i = 0; i < miners.Count; i++)
                {
                    if (seen[i] is null && miners[i].ReconnectsReceived > 0)
                    {
                        seen[i] = [.. miners.Select(m => m.Accepted)];
                    }
                }

                await Task.Delay(10, token);
            }

            await exited;
            Assert.True(0 == proxy.ExitCode, proxy.Output);
            Assert.All(seen, s => Assert.NotNull(s));
            Assert.All(miners, m => Assert.Equal(1, m.ReconnectsReceived));

            // Spread over the period, oldest first: between one miner's request and the next one's, the next miner
            // was still connected and had more shares accepted through the draining proxy.
            for (var i = 0; i + 1 < miners.Count; i++)
            {
                Assert.True(seen[i + 1][i + 1] > seen[i][i + 1], $"miner {i + 1} had {seen[i][i + 1]} accepted when miner {i} was asked and {seen[i + 1][i + 1]} when it was asked itself");
            }

            // Every submit was answered; the only one a miner may miss is one it sent while the request was on the
            // wire (it closes on reading the request, as cgminer does).
            Assert.All(miners, m => Assert.True(m.Pending == 0 && m.Unanswered <= 1 && m.Rejected == 0 && m.UnexpectedAnswers == 0, m.ToString()));
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
