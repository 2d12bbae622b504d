using System.Diagnostics;
using System.Globalization;
using System.IO.Enumeration;
using Prometheus;

namespace StratumProxy.Proxy.Metrics;

/// <summary>
/// The process's standard series, under the names prometheus-net's <c>DotNetStats</c> gives them
/// (<c>process_*</c>, <c>dotnet_collection_count_total</c>, <c>dotnet_total_memory_bytes</c>), read before each
/// export. The open descriptors are counted without a string for each: prometheus-net reads
/// <see cref="Process.HandleCount"/>, which on Linux lists <c>/proc/self/fd</c> into an array of paths, so each scrape
/// of a proxy holding 10,000 miners made 10,000 strings (about 2 MB) for one number.
/// </summary>
public sealed class ProcessStats
{
    private const string DescriptorDirectory = "/proc/self/fd";

    private static readonly EnumerationOptions Entries = new()
    {
        // No attributes asked (the entries are links to sockets, pipes and files), no recursion.
        AttributesToSkip = 0,
        IgnoreInaccessible = true,
        RecurseSubdirectories = false,
    };

    private readonly Process _process = Process.GetCurrentProcess();
    private readonly Lock _lock = new();
    private readonly Counter.Child[] _collections;
    private readonly Gauge _totalMemory;
    private readonly Gauge _virtualMemory;
    private readonly Gauge _workingSet;
    private readonly Gauge _privateMemory;
    private readonly Counter _cpu;
    private readonly Gauge _openHandles;
    private readonly Gauge _threads;

    private ProcessStats(IMetricFactory factory)
    {
        var collections = factory.CreateCounter("dotnet_collection_count_total", "GC collection count", ["generation"]);
        _collections = new Counter.Child[GC.MaxGeneration + 1];
        for (var generation = 0; generation < _collections.Length; generation++)
        {
            _collections[generation] = collections.WithLabels(generation.ToString(CultureInfo.InvariantCulture));
        }

        // The help texts are those of the Go client's process collector, as prometheus-net keeps them.
        var startTime = factory.CreateGauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
        _cpu = factory.CreateCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
        _virtualMemory = factory.CreateGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
        _workingSet = factory.CreateGauge("process_working_set_bytes", "Process working set");
        _privateMemory = factory.CreateGauge("process_private_memory_bytes", "Process private memory size");
        _openHandles = factory.CreateGauge("process_open_handles", "Number of open handles");
        _threads = factory.CreateGauge("process_num_threads", "Total number of threads");
        _totalMemory = factory.CreateGauge("dotnet_total_memory_bytes", "Total known allocated memory");
        startTime.Set(_process.StartTime.ToUniversalTime().Subtract(DateTime.UnixEpoch).TotalSeconds);
    }

    /// <summary>Creates the series in <paramref name="registry"/> and reads them before each of its exports.</summary>
    public static ProcessStats Register(CollectorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var stats = new ProcessStats(Prometheus.Metrics.WithCustomRegistry(registry));
        registry.AddBeforeCollectCallback(stats.Update);
        return stats;
    }

    /// <summary>
    /// The descriptors the process has open, counted from <c>/proc/self/fd</c> without allocating for each; like
    /// <see cref="Process.HandleCount"/>, which lists the files there, it leaves out the directories (the
    /// enumeration's own descriptor is one). Null where there is no such directory.
    /// </summary>
    public static int? OpenDescriptors()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            var count = 0;
            var entries = new FileSystemEnumerable<byte>(DescriptorDirectory, static (ref FileSystemEntry _) => (byte)0, Entries)
            {
                ShouldIncludePredicate = static (ref FileSystemEntry entry) => !entry.IsDirectory,
            };
            foreach (var _ in entries)
            {
                count++;
            }

            return count;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void Update()
    {
        // Process is not safe for two threads at once, and two scrapes may overlap.
        lock (_lock)
        {
            try
            {
                Read();
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or IOException or UnauthorizedAccessException or NotSupportedException)
            {
                // A /proc that cannot be read (a locked-down container) leaves these series at their last values; it
                // must not fail the export of every other series.
            }
        }
    }

    private void Read()
    {
        // The runtime's own readings first: they cannot fail, whatever /proc allows.
        for (var generation = 0; generation < _collections.Length; generation++)
        {
            _collections[generation].IncTo(GC.CollectionCount(generation));
        }

        _totalMemory.Set(GC.GetTotalMemory(forceFullCollection: false));
        _process.Refresh();
        _virtualMemory.Set(_process.VirtualMemorySize64);
        _workingSet.Set(_process.WorkingSet64);
        _privateMemory.Set(_process.PrivateMemorySize64);
        _cpu.IncTo(_process.TotalProcessorTime.TotalSeconds);
        _openHandles.Set(OpenDescriptors() ?? _process.HandleCount);
        _threads.Set(_process.Threads.Count);
    }
}
