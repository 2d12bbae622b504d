using System.Globalization;

namespace StratumProxy.LoadTest;

/// <summary>One reading of the process under test.</summary>
public sealed record ProcessSample(
    double CpuSeconds,
    long RssBytes,
    long RssAnonBytes,
    int Threads,
    long? ManagedHeapBytes,
    long? Gen0Collections,
    long? Gen2Collections,
    long? AllocatedBytes = null,
    double? GcPauseSeconds = null,
    long? GcCommittedBytes = null);

/// <summary>
/// Reads a process's CPU time and memory from /proc (any program: ckpool, another proxy, ours), plus the managed
/// heap and GC counts from a Prometheus endpoint when it is a .NET program that exports prometheus-net's
/// <c>dotnet_*</c> series (StratumProxy's admin <c>/metrics</c>), and the managed bytes allocated since start when it
/// exports <c>stratumproxy_managed_allocated_bytes_total</c> (and the time paused by collections,
/// <c>stratumproxy_gc_pause_seconds_total</c>, and the GC's committed memory, <c>stratumproxy_gc_committed_bytes</c>).
/// </summary>
public sealed class ProcessProbe(int pid, Uri? metrics, HttpClient? http)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ: 100 on every Linux ABI .NET runs on.

    public int Pid { get; } = pid;

    public async Task<ProcessSample?> SampleAsync(CancellationToken cancellationToken)
    {
        var proc = Read(Pid);
        if (proc is null)
        {
            return null;
        }

        long? managed = null, gen0 = null, gen2 = null, allocated = null, committed = null;
        double? paused = null;
        if (metrics is not null && http is not null)
        {
            try
            {
                var text = await http.GetStringAsync(metrics, cancellationToken);
                managed = (long?)Series(text, "dotnet_total_memory_bytes");
                gen0 = (long?)Series(text, "dotnet_collection_count_total{generation=\"0\"}");
                gen2 = (long?)Series(text, "dotnet_collection_count_total{generation=\"2\"}");
                allocated = (long?)Series(text, "stratumproxy_managed_allocated_bytes_total");
                paused = Series(text, "stratumproxy_gc_pause_seconds_total");
                committed = (long?)Series(text, "stratumproxy_gc_committed_bytes");
            }
            catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // The endpoint is optional (and a scrape of a starved process may time out): /proc figures stand alone.
            }
        }

        return proc with { ManagedHeapBytes = managed, Gen0Collections = gen0, Gen2Collections = gen2, AllocatedBytes = allocated, GcPauseSeconds = paused, GcCommittedBytes = committed };
    }

    /// <summary>CPU seconds (user + system) and memory of a process; null once it has gone.</summary>
    public static ProcessSample? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // Fields after the command name (which may hold spaces) start at state, field 3; utime and stime are 14 and 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var cpu = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            long rss = 0, anon = 0;
            var threads = 0;
            foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kilobytes(line);
                }
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                {
                    anon = Kilobytes(line);
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
                }
            }

            return new ProcessSample(cpu, rss, anon, threads, null, null, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// The thread pool's worker threads among a .NET process's threads (those named <c>.NET TP Worker</c> in
    /// /proc/PID/task/*/comm); null once the process has gone. The pool adds workers when its work items wait and
    /// retires them after about 20 s idle, so their count moves with the machine's load, unlike the process's own threads.
    /// </summary>
    public static int? PoolWorkerThreads(int pid)
    {
        try
        {
            var count = 0;
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == PoolWorkerThreadName)
                    {
                        count++;
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // The thread ended between the listing and the read.
                }
            }

            return count;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The name the .NET runtime gives its thread pool's worker threads.</summary>
    public const string PoolWorkerThreadName = ".NET TP Worker";

    /// <summary>Descriptors the process holds open (entries of /proc/PID/fd); null once it has gone.</summary>
    public static int? OpenFiles(int pid)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/fd").Count();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The sum of every series of one metric name, whatever its labels (null when none is exported).</summary>
    public static double? SeriesSum(string text, string name)
    {
        double? sum = null;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length <= name.Length || (line[name.Length] != ' ' && line[name.Length] != '{'))
            {
                continue;
            }

            var rest = line[name.Length..];
            if (rest[0] == '{')
            {
                var close = rest.LastIndexOf('}');
                if (close < 0)
                {
                    continue;
                }

                rest = rest[(close + 1)..];
            }

            rest = rest.Trim();
            var space = rest.IndexOf(' ');
            if (space > 0)
            {
                rest = rest[..space];
            }

            if (double.TryParse(rest, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                sum = (sum ?? 0) + value;
            }
        }

        return sum;
    }

    /// <summary>The value of one series (name with its exact label set) in Prometheus text format.</summary>
    public static double? Series(string text, string nameWithLabels)
    {
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (line.StartsWith(nameWithLabels, StringComparison.Ordinal) && line.Length > nameWithLabels.Length && line[nameWithLabels.Length] == ' ')
            {
                var value = line[(nameWithLabels.Length + 1)..].Trim();
                var space = value.IndexOf(' ');
                if (space > 0)
                {
                    value = value[..space];
                }

                return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
            }
        }

        return null;
    }

    private static long Kilobytes(string line)
    {
        var digits = new string([.. line.Where(char.IsAsciiDigit)]);
        return long.Parse(digits, CultureInfo.InvariantCulture) * 1024;
    }
}
