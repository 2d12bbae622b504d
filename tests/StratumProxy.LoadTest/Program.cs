using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace StratumProxy.LoadTest;

/// <summary>
/// <c>stratum-loadtest run</c> drives many miner sessions against any Stratum V1 endpoint and prints a JSON report;
/// <c>stratum-loadtest pool</c> runs the validating test pool as its own process.
/// </summary>
public static class Program
{
    public const string Usage = """
        stratum-loadtest run --target HOST:PORT [options]     miner sessions against a Stratum endpoint (loopback only)
          --sessions N          sessions (100)                --window N         submits in flight per session (8)
          --rate R              submits/s over all sessions; 0 = as fast as answers come back (0)
          --connect-rate R      connects/s (2000)             --connect-timeout S   wait for all sessions ready (120)
          --settle S            idle seconds before submits (2)
          --warmup S            submits before the window (0) --duration S       measured window (10)
          --submits N           stop after N submits          --drain S          wait for answers after the last (10)
          --mix K=W,...         valid, bad-nonce, stale, duplicate weights (bad-nonce=1)
          --user NAME           account; sessions authorize as NAME.wN (loadtest)   --password P (x)
          --no-version-rolling  do not send mining.configure
          --max-valid-search N  nonces tried for one valid share before it goes as a bad nonce (4194304)
          --proxy-pid PID       CPU seconds and RSS of the process under test, from /proc
          --proxy-metrics URL   its Prometheus endpoint, for the managed heap (dotnet_total_memory_bytes)
          --tick MS             pacing timer period (5)       --out FILE         also write the report here
        stratum-loadtest soak --proxy PATH [options]          the real proxy under churn, pool drops, reloads and
                                                              curtailment for a while; samples every 10 s and judges
          --duration S (180)    --sessions N (500)            --rate R           submits/s over all sessions (100)
          --churn R             sessions/s that disconnect and reconnect (2)   --connect-rate R (500)
          --window N (4)        --mix K=W,... (valid=2,bad-nonce=6,stale=1,duplicate=1)
          --pool-drop-every S   one pool drops every connection, in turns (60)
          --reload-every S      edit the proxy's configuration file (60)       --sample S (10)
          --rigs N              simulated rigs for the curtailment loop, 0-8 (4)
          --dir DIR             configuration, proxy.log, soak.csv and soak.json (artifacts/soak/run)
          --warmup-fraction F   the part of the run left out of the trends (0.5)
          --rss-allowance MIB   RSS growth allowed over the judged part, at least (16; 5 % of RSS if more)
        stratum-loadtest pool [options]                       the validating test pool on 127.0.0.1
          --port N (3334)       --difficulty D (1e-7)         --job-interval S   a new job every S seconds (5; 0 = none)
          --clean-every N       every Nth job is clean (1)    --stamp            stamp each job's send time into coinbase2
          --branches N          merkle branches per job (12)  --duration S       stop after S seconds (0 = on SIGINT/SIGTERM)
        """;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "help";
            var rest = new Arguments(args.Skip(1));
            switch (verb)
            {
                case "run":
                    return await RunAsync(rest);
                case "soak":
                    return await SoakAsync(ParseSoak(rest));
                case "pool":
                    return await PoolCommand.RunAsync(PoolCommand.Parse(rest), Console.Out, Console.Error);
                default:
                    Console.Out.WriteLine(Usage);
                    return verb is "help" ? 0 : 2;
            }
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 2;
        }
    }

    public static LoadOptions ParseRun(Arguments a)
    {
        var options = new LoadOptions
        {
            Target = ParseEndPoint(a.Text("--target") ?? throw new ArgumentException("run needs --target HOST:PORT")),
            Sessions = (int)(a.Int("--sessions") ?? 100),
            Window = (int)(a.Int("--window") ?? 8),
            Rate = a.Double("--rate") ?? 0,
            ConnectRate = a.Double("--connect-rate") ?? 2000,
            ConnectTimeout = a.Seconds("--connect-timeout") ?? TimeSpan.FromSeconds(120),
            Settle = a.Seconds("--settle") ?? TimeSpan.FromSeconds(2),
            Warmup = a.Seconds("--warmup") ?? TimeSpan.Zero,
            Duration = a.Seconds("--duration") ?? TimeSpan.FromSeconds(10),
            MaxSubmits = a.Int("--submits"),
            Drain = a.Seconds("--drain") ?? TimeSpan.FromSeconds(10),
            Mix = a.Text("--mix") is { } mix ? ShareMix.Parse(mix) : ShareMix.Create(new Dictionary<ShareKind, int> { [ShareKind.BadNonce] = 1 }),
            User = a.Text("--user") ?? "loadtest",
            Password = a.Text("--password") ?? "x",
            VersionRolling = !a.Flag("--no-version-rolling"),
            MaxValidSearch = a.Int("--max-valid-search") ?? (1L << 22),
            ProxyPid = a.Int("--proxy-pid") is { } pid ? (int)pid : null,
            ProxyMetrics = a.Text("--proxy-metrics") is { } url ? new Uri(url) : null,
            Tick = TimeSpan.FromMilliseconds(a.Double("--tick") ?? 5),
        };
        a.ThrowOnUnknown();
        options.Validate();
        return options;
    }

    public static SoakOptions ParseSoak(Arguments a)
    {
        var options = new SoakOptions
        {
            ProxyPath = a.Text("--proxy") ?? throw new ArgumentException("soak needs --proxy PATH (a published stratum-proxy)"),
            WorkDirectory = a.Text("--dir") ?? Path.Combine("artifacts", "soak", "run"),
            Duration = a.Seconds("--duration") ?? TimeSpan.FromMinutes(3),
            Sessions = (int)(a.Int("--sessions") ?? 500),
            Rate = a.Double("--rate") ?? 100,
            Churn = a.Double("--churn") ?? 2,
            ConnectRate = a.Double("--connect-rate") ?? 500,
            Window = (int)(a.Int("--window") ?? 4),
            Mix = ShareMix.Parse(a.Text("--mix") ?? "valid=2,bad-nonce=6,stale=1,duplicate=1"),
            PoolDropEvery = a.Seconds("--pool-drop-every") ?? TimeSpan.FromMinutes(1),
            ReloadEvery = a.Seconds("--reload-every") ?? TimeSpan.FromMinutes(1),
            SampleEvery = a.Seconds("--sample") ?? TimeSpan.FromSeconds(10),
            Rigs = (int)(a.Int("--rigs") ?? 4),
            Thresholds = new SoakThresholds
            {
                WarmupFraction = a.Double("--warmup-fraction") ?? 0.5,
                Rss = new TrendLimit((a.Double("--rss-allowance") ?? 16) * 1024 * 1024, 0.05),
            },
        };
        a.ThrowOnUnknown();
        options.Validate();
        return options;
    }

    private static async Task<int> SoakAsync(SoakOptions options)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        SoakReport report;
        try
        {
            report = await new SoakRun(options, Console.Error).RunAsync(cancel.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            await Console.Out.WriteLineAsync("soak FAIL: " + ex.Message);
            return 1;
        }

        await File.WriteAllTextAsync(Path.Combine(options.WorkDirectory, "soak.json"), JsonSerializer.Serialize(report, ReportJsonContext.Default.SoakReport) + "\n");
        await Console.Out.WriteLineAsync(SoakRun.Summary(report));
        return report.Verdict.Passed ? 0 : 1;
    }

    private static async Task<int> RunAsync(Arguments arguments)
    {
        var options = ParseRun(arguments);
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        var report = await new LoadRun(options, progress: Console.Error).RunAsync(cancel.Token);
        var json = JsonSerializer.Serialize(report, ReportJsonContext.Default.LoadReport);
        await Console.Out.WriteLineAsync(json);
        if (arguments.Text("--out") is { } file)
        {
            await File.WriteAllTextAsync(file, json + "\n");
        }

        return 0;
    }

    public static IPEndPoint ParseEndPoint(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var port))
        {
            throw new ArgumentException($"'{text}' is not HOST:PORT");
        }

        var host = text[..colon].Trim('[', ']');
        var address = host is "localhost" ? IPAddress.Loopback : IPAddress.TryParse(host, out var parsed) ? parsed : throw new ArgumentException($"'{host}': give a loopback IP address");
        return new IPEndPoint(address, port);
    }
}

/// <summary><c>--name value</c> and <c>--flag</c> arguments; every one must be read once, so typos are refused.</summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public Arguments(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            if (!list[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{list[i]}'");
            }

            var hasValue = i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal);
            _values[list[i]] = hasValue ? list[++i] : null;
        }
    }

    public string? Text(string name)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var value) ? value ?? throw new ArgumentException($"{name} needs a value") : null;
    }

    public bool Flag(string name)
    {
        _read.Add(name);
        return _values.ContainsKey(name);
    }

    public long? Int(string name) => Text(name) is { } text
        ? long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : throw new ArgumentException($"{name}: '{text}' is not an integer")
        : null;

    public double? Double(string name) => Text(name) is { } text
        ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : throw new ArgumentException($"{name}: '{text}' is not a number")
        : null;

    public TimeSpan? Seconds(string name) => Double(name) is { } seconds ? TimeSpan.FromSeconds(seconds) : null;

    public void ThrowOnUnknown()
    {
        var unknown = _values.Keys.Where(k => !_read.Contains(k) && k != "--out").ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown option {string.Join(", ", unknown)}");
        }
    }
}

/// <summary>What the pool command saw, printed when it stops.</summary>
public sealed record PoolSummary(
    int Port,
    double Difficulty,
    long Jobs,
    long Accepted,
    long Rejected,
    IReadOnlyDictionary<string, long> RejectedByReason,
    int TotalConnections);

/// <summary>Settings of the pool command.</summary>
public sealed record PoolCommandOptions(int Port, double Difficulty, TimeSpan JobInterval, int CleanEvery, bool Stamp, int Branches, TimeSpan? Duration);

/// <summary>The TestKit's validating pool as a process, with a job every few seconds.</summary>
public static class PoolCommand
{
    public static PoolCommandOptions Parse(Arguments a)
    {
        var options = new PoolCommandOptions(
            (int)(a.Int("--port") ?? 3334),
            a.Double("--difficulty") ?? 1e-7,
            a.Seconds("--job-interval") ?? TimeSpan.FromSeconds(5),
            (int)(a.Int("--clean-every") ?? 1),
            a.Flag("--stamp"),
            (int)(a.Int("--branches") ?? 12),
            a.Seconds("--duration") is { } d && d > TimeSpan.Zero ? d : null);
        a.ThrowOnUnknown();
        return options;
    }

    public static async Task<int> RunAsync(PoolCommandOptions options, TextWriter output, TextWriter progress)
    {
        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        if (options.Duration is { } duration)
        {
            stop.CancelAfter(duration);
        }

        await using var pool = await TestKit.TestPool.StartAsync(new TestKit.TestPoolOptions
        {
            Port = options.Port,
            Difficulty = options.Difficulty,
            StampJobs = options.Stamp,
            MerkleBranchCount = options.Branches,
            KeepAcceptedShares = false,
        });
        await progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"pool listening on {pool.Host}:{pool.Port} at difficulty {options.Difficulty}"));
        long jobs = 1;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (options.JobInterval <= TimeSpan.Zero)
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, stop.Token);
                }

                await Task.Delay(options.JobInterval, TimeProvider.System, stop.Token);
                jobs++;
                await pool.BroadcastJobAsync(cleanJobs: options.CleanEvery > 0 && jobs % options.CleanEvery == 0);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped by a signal or the duration.
        }

        var reasons = Enum.GetValues<TestKit.ShareRejectReason>()
            .Select(r => (Name: r.ToString(), Count: pool.RejectedFor(r)))
            .Where(r => r.Count > 0)
            .ToDictionary(r => r.Name, r => r.Count, StringComparer.Ordinal);
        var summary = new PoolSummary(pool.Port, options.Difficulty, jobs, pool.Accepted, pool.Rejected, reasons, pool.TotalConnections);
        await output.WriteLineAsync(JsonSerializer.Serialize(summary, ReportJsonContext.Default.PoolSummary));
        return 0;
    }
}
