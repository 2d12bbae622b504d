using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Metrics;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>What <c>/metrics</c> shows at the end of a run equals the books and what the miners and the pool counted.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Shares_hashrate_and_pool_state_at_the_end_of_a_run_match_the_ledger()
    {
        // The proxy's clock stands still while the fleet mines, then moves 10 s: every share sits in the first
        // 5-second bucket, so each worker's 1-minute hashrate is exactly Σdifficulty · 2³² / 10 s.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var primary = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var backup = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(primary, backup), time: time);
        await proxy.WaitUntilAsync(() => proxy.Engine.Pools.All(p => p.IsReady), TimeSpan.FromSeconds(5), "both pools ready");
        await using var fleet = new MinerFleet(2, proxy.Miner("farm.m"));
        await fleet.StartAsync();
        await fleet.WaitForEachAcceptedAsync(4, TimeSpan.FromSeconds(20));
        await fleet.StopHashingAsync();
        await fleet.WaitForAnswersAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(10));

        // The sessions count into the ledger: the registry holds no per-worker series, an export writes them.
        Assert.DoesNotContain("stratumproxy_shares_total", await ExportAsync(proxy.Registry), StringComparison.Ordinal);
        Assert.DoesNotContain("stratumproxy_worker_difficulty", await ExportAsync(proxy.Registry), StringComparison.Ordinal);
        var scrape = await proxy.ScrapeAsync();
        foreach (var miner in fleet.Miners)
        {
            Assert.True(proxy.Engine.Ledger.TryGetWorker(miner.Worker, out var stats));
            var accepted = Value(scrape, "stratumproxy_shares_total", miner.Worker, "pool0", "accepted");
            Assert.Equal(miner.Accepted, accepted);
            Assert.Equal(stats.Count(ShareResult.Accepted), accepted);
            Assert.Equal(primary.Worker("acct." + miner.Worker.Split('.')[1]).Accepted, accepted);
            foreach (var result in ShareResultLabels.All.Where(r => r != "accepted"))
            {
                Assert.Equal(0, Value(scrape, "stratumproxy_shares_total", miner.Worker, "pool0", result));
            }

            var expected = miner.AcceptedDifficulty * HashrateMeter.HashesPerDifficulty / 10;
            var hashrate = Value(scrape, "stratumproxy_worker_hashrate_hashes_per_second", miner.Worker, "1m");
            Assert.Equal(expected, hashrate, expected * 1e-9);
            Assert.Equal(stats.Hashrate(HashrateWindow.OneMinute, time.GetTimestamp()).HashesPerSecond, hashrate);
            Assert.Equal(miner.AcceptedDifficulty, Value(scrape, "stratumproxy_share_difficulty_total", miner.Worker, "pool0"), 1e-12);
            Assert.Equal(0, Value(scrape, "stratumproxy_share_reconciliation_gap", miner.Worker, "pool0"));
        }

        Assert.Equal(1, Value(scrape, "stratumproxy_pool_up", "pool0"));
        Assert.Equal(1, Value(scrape, "stratumproxy_pool_up", "pool1"));
        Assert.Equal(primary.Accepted, Value(scrape, "stratumproxy_pool_shares_total", "pool0", "accepted"));

        await backup.StopAsync();
        await proxy.WaitUntilAsync(() => proxy.Engine.Metrics.PoolUp.WithLabels("pool1").Value == 0, TimeSpan.FromSeconds(5), "the backup down");
        scrape = await proxy.ScrapeAsync();
        Assert.Equal(1, Value(scrape, "stratumproxy_pool_up", "pool0"));
        Assert.Equal(0, Value(scrape, "stratumproxy_pool_up", "pool1"));
    }

    [Fact]
    public async Task Managed_bytes_allocated_gc_pause_time_gc_committed_memory_resident_memory_and_cpu_time_are_exported_as_read_at_the_scrape()
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool));
        var before = GC.GetTotalAllocatedBytes();
        GC.Collect();
        var pausedBefore = GC.GetTotalPauseDuration().TotalSeconds;
        var committedBefore = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var residentBefore = Environment.WorkingSet;
        var cpuBefore = Environment.CpuUsage.TotalTime.TotalSeconds;

        var scrape = await proxy.ScrapeAsync();

        // The process's resident memory and CPU time (this process's: the proxy runs in it). CPU time only grows, so it
        // lies between the readings around the scrape; resident memory moves both ways, so within a factor of two of
        // them (in bytes, not pages or KiB).
        var cpu = ProxyHarness.MetricValue(scrape, "stratumproxy_process_cpu_seconds_total");
        Assert.NotNull(cpu);
        Assert.InRange(cpu.Value, cpuBefore, Environment.CpuUsage.TotalTime.TotalSeconds);
        var resident = ProxyHarness.MetricValue(scrape, "stratumproxy_process_resident_bytes");
        Assert.NotNull(resident);
        var residentAfter = Environment.WorkingSet;
        Assert.InRange(resident.Value, Math.Min(residentBefore, residentAfter) / 2.0, Math.Max(residentBefore, residentAfter) * 2.0);

        // Read inside the scrape: at least what this process had allocated (and been paused) just before it, and no
        // more than after.
        var exported = ProxyHarness.MetricValue(scrape, "stratumproxy_managed_allocated_bytes_total");
        Assert.NotNull(exported);
        Assert.InRange(exported.Value, before, GC.GetTotalAllocatedBytes());
        var paused = ProxyHarness.MetricValue(scrape, "stratumproxy_gc_pause_seconds_total");
        Assert.NotNull(paused);
        Assert.InRange(paused.Value, pausedBefore, GC.GetTotalPauseDuration().TotalSeconds);
        Assert.True(paused.Value > 0, "a collection ran before the scrape, so some pause time is exported");

        // The GC's committed memory as of its last collection (this process's: the proxy runs in it), read in the
        // scrape: between what the GC reported just before and just after it (a collection may run in between).
        var committed = ProxyHarness.MetricValue(scrape, "stratumproxy_gc_committed_bytes");
        Assert.NotNull(committed);
        var committedAfter = GC.GetGCMemoryInfo().TotalCommittedBytes;
        Assert.InRange(committed.Value, Math.Min(committedBefore, committedAfter), Math.Max(committedBefore, committedAfter));
        Assert.True(committed.Value > 0);
    }

    private static async Task<string> ExportAsync(Prometheus.CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>A series' value by its label values in declaration order; fails when the series is missing.</summary>
    private static double Value(string scrape, string name, params string[] labelValues)
    {
        foreach (var line in scrape.Split('\n'))
        {
            if (!line.StartsWith(name + "{", StringComparison.Ordinal))
            {
                continue;
            }

            var close = line.LastIndexOf('}');
            var labels = line[(name.Length + 1)..close].Split(',').Select(l => l[(l.IndexOf('=', StringComparison.Ordinal) + 2)..^1]).ToArray();
            if (labels.SequenceEqual(labelValues))
            {
                return double.Parse(line[(close + 2)..], CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail($"no series {name}{{{string.Join(',', labelValues)}}} in:\n{scrape}");
        return 0;
    }
}
