using System.Diagnostics;
using System.Globalization;
using System.Text;
using Prometheus;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Proxy.Tests.Metrics;

public sealed class ProcessStatsTests
{
    [Fact]
    public async Task Exports_the_series_prometheus_net_named_with_this_process_readings()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        ProcessStats.Register(registry);
        var gen0 = GC.CollectionCount(0);
        // From /proc/self/stat, as the export reads it (whole clock ticks; getrusage would read more).
        var cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var threads = Process.GetCurrentProcess().Threads.Count;

        var text = await ExportAsync(registry);

        Assert.InRange(Value(text, "dotnet_collection_count_total{generation=\"0\"}"), gen0, GC.CollectionCount(0));
        Assert.InRange(Value(text, "dotnet_collection_count_total{generation=\"2\"}"), 0, GC.CollectionCount(2));
        Assert.InRange(Value(text, "process_cpu_seconds_total"), cpu, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);
        Assert.InRange(Value(text, "process_working_set_bytes"), Environment.WorkingSet / 2.0, Environment.WorkingSet * 2.0);
        Assert.True(Value(text, "process_virtual_memory_bytes") >= Value(text, "process_working_set_bytes"));
        Assert.True(Value(text, "process_private_memory_bytes") > 0);
        Assert.True(Value(text, "dotnet_total_memory_bytes") > 0);
        Assert.InRange(Value(text, "process_num_threads"), 1, threads * 4);
        var started = DateTimeOffset.FromUnixTimeMilliseconds((long)(Value(text, "process_start_time_seconds") * 1000));
        Assert.InRange(started, Process.GetCurrentProcess().StartTime.ToUniversalTime().AddSeconds(-1), DateTimeOffset.UtcNow);
        if (OperatingSystem.IsLinux())
        {
            Assert.InRange(Value(text, "process_open_handles"), 3, int.MaxValue);
        }
    }

    [Fact]
    public void Counts_each_descriptor_opened_without_allocating_for_it()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Null(ProcessStats.OpenDescriptors());
            return;
        }

        var path = Path.GetTempFileName();
        var opened = new List<FileStream>();
        try
        {
            var before = ProcessStats.OpenDescriptors()!.Value;
            var allocatedBefore = AllocatedByCount();
            for (var i = 0; i < 500; i++)
            {
                opened.Add(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            }

            var after = ProcessStats.OpenDescriptors()!.Value;
            var allocatedAfter = AllocatedByCount();

            // Other tests open and close descriptors meanwhile, hence the margin.
            Assert.InRange(after - before, 450, 550);

            // A path string for each would be at least 500 × 40 bytes more.
            Assert.InRange(allocatedAfter - allocatedBefore, -2_000, 2_000);
        }
        finally
        {
            foreach (var stream in opened)
            {
                stream.Dispose();
            }

            File.Delete(path);
        }

        static long AllocatedByCount()
        {
            var start = GC.GetAllocatedBytesForCurrentThread();
            _ = ProcessStats.OpenDescriptors();
            return GC.GetAllocatedBytesForCurrentThread() - start;
        }
    }

    private static async Task<string> ExportAsync(CollectorRegistry registry)
    {
        using var export = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(export);
        return Encoding.UTF8.GetString(export.ToArray());
    }

    private static double Value(string text, string series)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line.AsSpan(series.Length + 1), CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException($"{series} is not in the export:\n{text}");
    }
}
