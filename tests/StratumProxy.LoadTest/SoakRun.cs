using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StratumProxy.Economics.Rigs;
using StratumProxy.Simulators;
using StratumProxy.Stratum.Mining;
using StratumProxy.TestKit;

namespace StratumProxy.LoadTest;

/// <summary>
/// A soak: the real proxy executable as a child process, for a long while, under everything a farm does to it at
/// once. Two validating pools (the TestKit's) that take turns dropping every connection; miner sessions at a steady
/// submit rate that disconnect and reconnect (churn) under their worker names; the configuration file edited every
/// minute; simulated rigs of catalog models with cgminer APIs, slept and woken by the curtailment loop as the
/// simulated market's price moves. Every few seconds it samples the proxy's RSS, descriptors, threads, managed heap
/// and the submit latency, and at the end judges them (<see cref="SoakJudge"/>).
/// </summary>
public sealed class SoakRun(SoakOptions options, TextWriter progress)
{
    /// <summary>The simulated rigs (worker name, catalog model), as many as asked from the top.</summary>
    private static readonly (string Worker, string Model)[] Fleet =
    [
        ("s19jpro-01", "Antminer S19j Pro"),
        ("m50s-01", "Whatsminer M50S"),
        ("s21-01", "Antminer S21"),
        ("s21xp-01", "Antminer S21 XP"),
        ("m60s-01", "Whatsminer M60S"),
        ("a1466i-01", "Avalon A1466I"),
        ("s19xphyd-01", "Antminer S19 XP Hyd"),
        ("s23-01", "Antminer S23"),
    ];

    public const int MaxRigs = 8;

    private readonly TimeProvider _time = TimeProvider.System;
    private readonly List<SoakSample> _samples = [];
    private long _reconnects;
    private long _poolDrops;
    private long _reloadsWritten;
    private long _abandoned;

    public SoakOptions Options { get; } = options;

    /// <summary>Runs the soak; the report's verdict says whether it passed.</summary>
    public async Task<SoakReport> RunAsync(CancellationToken cancellationToken)
    {
        Options.Validate();
        var dir = Directory.CreateDirectory(Options.WorkDirectory).FullName;
        File.Delete(Path.Combine(dir, "soak.csv"));
        var market = new SimulatedMarket(_time, Options.RigScale);
        await using var marketEndpoint = new MarketEndpoint(market);
        var pools = new List<TestPool>();
        var rigs = new List<SimulatedRig>();
        var apis = new List<SimulatedCgminerApi>();
        Process? proxy = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            foreach (var _ in SoakConfig.Fees)
            {
                // Share difficulty below the miners' floor, so every valid share goes upstream; the network difficulty in
                // nbits is the simulated market's, which the proxy's economics read from the jobs.
                pools.Add(await TestPool.StartAsync(new TestPoolOptions
                {
                    Difficulty = Options.MinerDifficulty / 10,
                    NBits = Difficulty.ToCompact(Difficulty.ToTarget(market.ScaledDifficulty)),
                    KeepAcceptedShares = false,
                    MerkleBranchCount = 12,
                }));
            }

            var listenPort = FreePort();
            var adminPort = FreePort();
            var catalog = RigCatalog.LoadEmbedded();
            var ratings = new List<RigModel>();
            foreach (var (worker, model) in Fleet.Take(Options.Rigs))
            {
                var rated = catalog.Find(model) ?? throw new InvalidOperationException($"soak: the catalog has no model '{model}'");
                ratings.Add(rated);
                var rig = new SimulatedRig(worker, rated.Nominal.Hashrate.HashesPerSecond * Options.RigScale, boards: 3, _time);
                rigs.Add(rig);
                apis.Add(new SimulatedCgminerApi(rig, $"stratum+tcp://127.0.0.1:{listenPort.ToString(CultureInfo.InvariantCulture)}", _time));
            }

            var tariff = Path.Combine(dir, "tariff.json");
            await File.WriteAllTextAsync(tariff, TariffJson(marketEndpoint.Url), cancellationToken);
            var configPath = Path.Combine(dir, "soak.json");
            var config = new SoakConfig(listenPort, adminPort, pools, apis, ratings, marketEndpoint.Url, tariff, Options);
            await config.WriteAsync(configPath, edit: 0, cancellationToken);

            proxy = StartProxy(configPath, dir);
            var admin = new Uri($"http://127.0.0.1:{adminPort.ToString(CultureInfo.InvariantCulture)}/metrics");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            await WaitForProxyAsync(proxy, http, admin, cancellationToken);
            Progress($"proxy {proxy.Id} up: miners on 127.0.0.1:{listenPort}, metrics {admin}");
            foreach (var rig in rigs)
            {
                rig.Start("127.0.0.1", listenPort);
            }

            var load = new LoadRun(new LoadOptions
            {
                Target = new IPEndPoint(IPAddress.Loopback, listenPort),
                Sessions = Options.Sessions,
                Window = Options.Window,
                Rate = Options.Rate,
                Mix = Options.Mix,
                User = "soak",
                Duration = Options.Duration,
            })
            {
                IntervalLatency = new LatencyHistogram(),
            };
            load.SetPhase(sending: true, inWindow: true);

            var start = _time.GetTimestamp();
            var slots = new LoadSession?[Options.Sessions];
            var retiring = new List<(LoadSession Session, long Since)>();
            var sessionTasks = new List<Task>();
            using var loops = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            var background = new[]
            {
                JobsAsync(pools, loops.Token),
                PoolDropsAsync(pools, loops.Token),
                ReloadsAsync(config, configPath, loops.Token),
            };

            var opened = 0;
            var tokens = 0.0;
            var connectTokens = 1.0;
            var churnTokens = 0.0;
            var cursor = 0;
            var last = start;
            var nextSample = start;
            var tick = TimeSpan.FromMilliseconds(10);
            var random = new Random(1);
            while (_time.GetElapsedTime(start) < Options.Duration)
            {
                if (proxy.HasExited)
                {
                    Progress($"the proxy exited with code {proxy.ExitCode}");
                    break;
                }

                var now = _time.GetTimestamp();
                var dt = _time.GetElapsedTime(last, now).TotalSeconds;
                last = now;

                // Open (or reopen) empty and closed slots at the connect rate.
                connectTokens = Math.Min(connectTokens + (dt * Options.ConnectRate), Math.Max(1, Options.ConnectRate));
                for (var i = 0; i < slots.Length && connectTokens >= 1; i++)
                {
                    if (slots[i] is null || (slots[i]!.IsClosed && !slots[i]!.IsRetiring))
                    {
                        if (opened++ >= slots.Length)
                        {
                            _reconnects++;
                        }

                        var session = new LoadSession(load, i + 1);
                        slots[i] = session;
                        sessionTasks.Add(Task.Run(() => session.RunAsync(stop.Token), CancellationToken.None));
                        connectTokens--;
                    }
                }

                // Churn: ready sessions stop submitting, and close once their answers are in (or after 10 s).
                churnTokens = Math.Min(churnTokens + (dt * Options.Churn), Math.Max(1, Options.Churn));
                while (churnTokens >= 1)
                {
                    churnTokens--;
                    var i = random.Next(slots.Length);
                    if (slots[i] is { IsReady: true, IsRetiring: false } session)
                    {
                        session.Retire();
                        retiring.Add((session, now));
                        slots[i] = null;
                    }
                }

                retiring.RemoveAll(r =>
                {
                    var waited = _time.GetElapsedTime(r.Since, now);
                    if (r.Session.InFlight > 0 && waited < TimeSpan.FromSeconds(10))
                    {
                        return false;
                    }

                    _abandoned += r.Session.InFlight;
                    r.Session.Close();
                    return true;
                });

                tokens = Math.Min(tokens + (dt * Options.Rate), Math.Max(1, Options.Rate));
                LoadRun.SendPaced(slots, ref tokens, ref cursor);

                if (now >= nextSample)
                {
                    sessionTasks.RemoveAll(t => t.IsCompleted);
                    _samples.Add(await SampleAsync(proxy.Id, http, admin, load, slots, start, cancellationToken));
                    await File.AppendAllTextAsync(Path.Combine(dir, "soak.csv"), (_samples.Count == 1 ? SoakSample.CsvHeader + "\n" : "") + _samples[^1].ToCsv() + "\n", cancellationToken);
                    var s = _samples[^1];
                    Progress($"{s.Seconds,6:F0} s  rss {s.RssBytes / 1048576.0:F1} MiB  fds {s.OpenFiles}  threads {s.Threads} (pool {s.PoolThreads})  heap {(s.HeapBytes ?? 0) / 1048576.0:F1} MiB  ready {s.SessionsReady}  sent {s.Sent}  answered {s.Answered}  p50 {s.P50Ms:F2} ms  p99 {s.P99Ms:F2} ms  drops {s.PoolDrops}  reloads {s.ReloadsApplied}  decisions {s.CurtailmentDecisions}");
                    nextSample += (long)(Options.SampleEvery.TotalSeconds * Stopwatch.Frequency);
                }

                await Task.Delay(tick, _time, cancellationToken);
            }

            // Drain: no new submits, drops or edits; wait for every answer (bounded), take the last sample, close.
            load.SetPhase(sending: false, inWindow: true);
            await loops.CancelAsync();
            await Task.WhenAll(background).ContinueWith(_ => { }, TaskScheduler.Default);
            var drainStart = _time.GetTimestamp();
            while (_time.GetElapsedTime(drainStart) < TimeSpan.FromSeconds(30) && (slots.Any(s => s is { IsClosed: false, InFlight: > 0 }) || retiring.Any(r => r.Session.InFlight > 0)))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), _time, cancellationToken);
            }

            // The last edit may be moments old: give the proxy a few seconds to apply it before the last sample.
            while (!proxy.HasExited && _time.GetElapsedTime(drainStart) < TimeSpan.FromSeconds(45) && await ReloadsAppliedAsync(http, admin, cancellationToken) < Interlocked.Read(ref _reloadsWritten))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken);
            }

            var exited = proxy.HasExited;
            if (!exited)
            {
                _samples.Add(await SampleAsync(proxy.Id, http, admin, load, slots, start, cancellationToken));
                await File.AppendAllTextAsync(Path.Combine(dir, "soak.csv"), _samples[^1].ToCsv() + "\n", cancellationToken);
            }

            foreach (var session in slots.Concat(retiring.Select(r => r.Session)))
            {
                session?.Close();
            }

            await stop.CancelAsync();
            await Task.WhenAll(sessionTasks).WaitAsync(TimeSpan.FromSeconds(30), _time, CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);

            var lastSample = _samples.Count > 0 ? _samples[^1] : null;
            var totals = new SoakTotals(
                load.Counters.TotalSent,
                load.Counters.TotalAnswered,
                _abandoned,
                exited,
                lastSample?.ReloadsApplied ?? 0,
                lastSample?.ReloadsRefused ?? 0,
                Interlocked.Read(ref _reloadsWritten));
            var verdict = SoakJudge.Judge(_samples, totals, Options.Thresholds);
            var tally = LoadRun.Tally(load.Counters);
            return new SoakReport(
                Math.Round(_time.GetElapsedTime(start).TotalSeconds, 1),
                Options.Sessions,
                Options.Rate,
                Options.Churn,
                _reconnects,
                load.Counters.ClosedByPeerCount,
                totals,
                load.Latency.Summarize(),
                tally.Mismatched,
                tally.ByKind,
                pools.Sum(p => p.Accepted),
                rigs.Sum(r => r.Accepted),
                _poolDrops,
                verdict,
                _samples);
        }
        finally
        {
            await stop.CancelAsync();
            if (proxy is not null)
            {
                await StopProxyAsync(proxy);
            }

            foreach (var rig in rigs)
            {
                await rig.DisposeAsync();
            }

            foreach (var api in apis)
            {
                await api.DisposeAsync();
            }

            foreach (var pool in pools)
            {
                await pool.DisposeAsync();
            }
        }
    }

    internal static string FleetWorker(int index) => Fleet[index].Worker;

    /// <summary>The one-line summary printed at the end.</summary>
    public static string Summary(SoakReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        string Trend(string name, double scale, string unit)
        {
            var t = report.Verdict.Trends.FirstOrDefault(x => x.Name == name);
            return t is null ? $"{name} n/a" : string.Create(CultureInfo.InvariantCulture, $"{name} {t.Start / scale:F1}→{t.End / scale:F1}{unit} ({t.SlopePerHour / scale:+0.0;-0.0}{unit}/h)");
        }

        var verdict = report.Verdict.Passed ? "PASS" : "FAIL: " + string.Join("; ", report.Verdict.Failures);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"soak {verdict} | {report.Seconds:F0} s, {report.Sessions} sessions, {report.Reconnects} reconnects, {report.PoolDrops} pool drops, {report.Totals.ReloadsApplied}/{report.Totals.ReloadsWritten} reloads | submits {report.Totals.Answered}/{report.Totals.Sent} answered, p50 {report.LatencyMs.P50Ms:F2} ms p99 {report.LatencyMs.P99Ms:F2} ms | ") +
            string.Join(", ", Trend("rss_bytes", 1048576, " MiB"), Trend("open_files", 1, ""), Trend("threads", 1, ""), Trend("pool_threads", 1, ""), Trend("heap_bytes", 1048576, " MiB"));
    }

    private async Task<SoakSample> SampleAsync(int pid, HttpClient http, Uri metrics, LoadRun load, LoadSession?[] slots, long start, CancellationToken cancellationToken)
    {
        var proc = ProcessProbe.Read(pid);
        var files = ProcessProbe.OpenFiles(pid) ?? 0;
        var poolThreads = ProcessProbe.PoolWorkerThreads(pid) ?? 0;
        string text = string.Empty;
        try
        {
            text = await http.GetStringAsync(metrics, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Progress($"/metrics did not answer: {ex.Message}");
        }

        var interval = load.IntervalLatency!;
        load.IntervalLatency = new LatencyHistogram();
        var latency = interval.Summarize();
        long Metric(string name) => (long)(ProcessProbe.SeriesSum(text, name) ?? 0);
        return new SoakSample(
            _time.GetElapsedTime(start).TotalSeconds,
            proc?.RssBytes ?? 0,
            files,
            proc?.Threads ?? 0,
            poolThreads,
            (long?)ProcessProbe.Series(text, "dotnet_total_memory_bytes"),
            proc?.CpuSeconds ?? 0,
            slots.Count(s => s is { IsReady: true }),
            load.Counters.TotalSent,
            load.Counters.TotalAnswered,
            latency.Count,
            latency.P50Ms,
            latency.P99Ms,
            _reconnects,
            load.Counters.ClosedByPeerCount,
            Interlocked.Read(ref _poolDrops),
            (long)(ProcessProbe.Series(text, "stratumproxy_config_reloads_total{result=\"applied\"}") ?? 0),
            (long)(ProcessProbe.Series(text, "stratumproxy_config_reloads_total{result=\"refused\"}") ?? 0),
            Metric("stratumproxy_decisions_total"),
            Metric("stratumproxy_upstream_reconnects_total"));
    }

    private static async Task<long> ReloadsAppliedAsync(HttpClient http, Uri metrics, CancellationToken cancellationToken)
    {
        try
        {
            var text = await http.GetStringAsync(metrics, cancellationToken);
            return (long)(ProcessProbe.Series(text, "stratumproxy_config_reloads_total{result=\"applied\"}") ?? 0);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return -1;
        }
    }

    /// <summary>A new job on both pools every 5 s, every 4th clean (as the pool command does).</summary>
    private async Task JobsAsync(List<TestPool> pools, CancellationToken cancellationToken)
    {
        long jobs = 0;
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(5), _time, cancellationToken);
                jobs++;
                foreach (var pool in pools)
                {
                    await pool.BroadcastJobAsync(cleanJobs: jobs % 4 == 0);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The end of the run.
        }
    }

    /// <summary>The pools take turns dropping every connection (the proxy reconnects or fails over).</summary>
    private async Task PoolDropsAsync(List<TestPool> pools, CancellationToken cancellationToken)
    {
        try
        {
            for (var turn = 0; ; turn++)
            {
                await Task.Delay(Options.PoolDropEvery, _time, cancellationToken);
                var pool = pools[turn % pools.Count];
                await pool.DropConnectionsAsync();
                Interlocked.Increment(ref _poolDrops);
                Progress($"pool {SoakConfig.Fees[turn % pools.Count].Name} dropped its connections");
            }
        }
        catch (OperationCanceledException)
        {
            // The end of the run.
        }
    }

    /// <summary>Edits the configuration file every so often (a value the proxy applies live).</summary>
    private async Task ReloadsAsync(SoakConfig config, string path, CancellationToken cancellationToken)
    {
        try
        {
            for (var edit = 1; ; edit++)
            {
                await Task.Delay(Options.ReloadEvery, _time, cancellationToken);
                await config.WriteAsync(path, edit, cancellationToken);
                Interlocked.Increment(ref _reloadsWritten);
            }
        }
        catch (OperationCanceledException)
        {
            // The end of the run.
        }
    }

    /// <summary>The proxy as a child process; its output goes to proxy.log beside the configuration.</summary>
    private Process StartProxy(string configPath, string dir)
    {
        var info = new ProcessStartInfo("/bin/sh", ["-c", "exec \"$0\" run --config \"$1\" >proxy.log 2>&1", Path.GetFullPath(Options.ProxyPath), configPath])
        {
            WorkingDirectory = dir,
            UseShellExecute = false,
        };
        return Process.Start(info) ?? throw new InvalidOperationException("soak: the proxy did not start");
    }

    private async Task WaitForProxyAsync(Process proxy, HttpClient http, Uri metrics, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        while (_time.GetElapsedTime(start) < TimeSpan.FromSeconds(60))
        {
            if (proxy.HasExited)
            {
                throw new InvalidOperationException($"soak: the proxy exited at start with code {proxy.ExitCode} (see proxy.log)");
            }

            try
            {
                var text = await http.GetStringAsync(metrics, cancellationToken);
                if (ProcessProbe.SeriesSum(text, "stratumproxy_pool_up") >= 1)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken);
        }

        throw new TimeoutException("soak: the proxy had no pool up within 60 s (see proxy.log)");
    }

    private static async Task StopProxyAsync(Process proxy)
    {
        try
        {
            if (!proxy.HasExited)
            {
                using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", proxy.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
                if (term is not null)
                {
                    await term.WaitForExitAsync();
                }

                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await proxy.WaitForExitAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    proxy.Kill(entireProcessTree: true);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            proxy.Dispose();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static string TariffJson(Uri market) => $$"""
        {
          "kind": "live",
          "description": "The simulated market's time-of-use price, polled every 5 seconds.",
          "feed": { "url": "{{market}}", "json_path": "$.energy_usd_per_mwh", "interval_seconds": 5, "timeout_seconds": 2, "staleness_seconds": 60 },
          "fallback_usd_per_kwh": 0.06,
          "cap_usd_per_kwh": 0.5,
          "pue": 1.0,
          "hosting_usd_per_kwh": 0.0
        }
        """;

    private void Progress(string text) => progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{_time.GetUtcNow():HH:mm:ss}] {text}"));
}
