using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Tests.Accounting;

/// <summary>A worker's per-pool counters: one per pool name, whoever asks first and however many ask at once.</summary>
public sealed class WorkerStatsTests
{
    private readonly WorkerStats _worker = new ShareLedger(
        new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000)),
        new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()))).Worker("farm.a");

    [Fact]
    public void EveryResult_HasItsOwnCounter_InTheWorkerAndOnItsPool()
    {
        // The counters are held inline, sized by ShareResultLabels.Count: one per result, each counted apart.
        Assert.Equal(ShareResultLabels.Count, Enum.GetValues<ShareResult>().Length);
        Assert.Equal(ShareResultLabels.Count, ShareResultLabels.All.Count);
        var pool = _worker.ForPool("pool0");
        foreach (var result in Enum.GetValues<ShareResult>())
        {
            for (var i = 0; i <= (int)result; i++)
            {
                _worker.Record(result, 1, 0, 0);
                pool.CountResult(result);
            }
        }

        foreach (var result in Enum.GetValues<ShareResult>())
        {
            Assert.Equal((int)result + 1, _worker.Count(result));
            if (result != ShareResult.Accepted)
            {
                Assert.Equal((int)result + 1, pool.Results(result));
            }
        }
    }

    [Fact]
    public void ForPool_SameName_SameCountersInFirstUseOrder()
    {
        var first = _worker.ForPool("pool0");
        var second = _worker.ForPool("pool1");

        Assert.Same(first, _worker.ForPool("pool0"));
        Assert.Same(second, _worker.ForPool("pool1"));
        Assert.Equal(["pool0", "pool1"], _worker.Pools().Select(p => p.Pool));
    }

    [Fact]
    public void Pools_TakenBeforeAPoolIsAdded_StaysAsItWas()
    {
        _worker.ForPool("pool0");
        var before = _worker.Pools();

        _worker.ForPool("pool1");

        Assert.Equal(["pool0"], before.Select(p => p.Pool));
        Assert.Equal(2, _worker.Pools().Count);
    }

    [Fact]
    public async Task ForPool_ManyThreadsAtOnce_OneCountersPerPool()
    {
        using var hang = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var start = new Barrier(8);
        var seen = await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            start.SignalAndWait(hang.Token);
            return Enumerable.Range(0, 200).Select(i => _worker.ForPool($"pool{(i + t) % 5}")).ToArray();
        }))).WaitAsync(hang.Token);

        Assert.Equal(5, _worker.Pools().Count);
        foreach (var counters in seen.SelectMany(s => s))
        {
            Assert.Same(_worker.Pools().Single(p => p.Pool == counters.Pool), counters);
        }
    }
}
