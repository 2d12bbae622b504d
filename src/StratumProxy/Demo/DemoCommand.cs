using System.CommandLine;
using System.Globalization;
using StratumProxy.Cli;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Simulators;

namespace StratumProxy.Demo;

/// <summary>
/// <c>stratum-proxy demo</c>: the real proxy host (listener, share validation, economics, curtailment, admin page)
/// built with a demo configuration, in front of a simulated farm on loopback: two validating pools with different
/// fees, a dozen rigs of catalog models hashing real SHA-256d shares, each with a cgminer-compatible management API
/// the curtailment loop sleeps and wakes them through, and a compressed-time market (BTC price, network difficulty and
/// a time-of-use electricity price that swing within minutes) served over HTTP to the proxy's live price feed and
/// live tariff. Data files go to a temporary folder that is removed on exit.
/// </summary>
public static class DemoCommand
{
    /// <summary>
    /// The simulated rigs hash at this fraction of their rated speed (a terahash of the model is a kilohash here),
    /// and the pools' network difficulty is scaled by the same factor, so that each rig earns in dollars what the real
    /// model would.
    /// </summary>
    public const double Scale = 1e-9;

    /// <summary>The pools: name, fee in percent, share difficulty.</summary>
    private static readonly (string Name, double FeePercent)[] Pools = [("pool-a", 2.5), ("pool-b", 0.5)];

    /// <summary>The simulated farm: worker name and catalog model.</summary>
    private static readonly (string Worker, string Model)[] Fleet =
    [
        ("s19jpro-01", "Antminer S19j Pro"),
        ("s19jpro-02", "Antminer S19j Pro"),
        ("m50s-01", "Whatsminer M50S"),
        ("s19xphyd-01", "Antminer S19 XP Hyd"),
        ("a1466i-01", "Avalon A1466I"),
        ("m60s-01", "Whatsminer M60S"),
        ("m66s-01", "Whatsminer M66S"),
        ("s21-01", "Antminer S21"),
        ("s21plus-01", "Antminer S21+"),
        ("s21pro-01", "Antminer S21 Pro"),
        ("s21xp-01", "Antminer S21 XP"),
        ("s23-01", "Antminer S23"),
    ];

    private const string Description =
        "the proxy in front of a simulated farm, pools and market, on this computer only: twelve rigs of catalog models hashing real shares " +
        "at a billionth of their rated speed through two pools, each rig's cgminer API for sleep and wake, one market day every six minutes; Ctrl+C stops it";

    /// <summary>The verb, for the root command.</summary>
    internal static Command Create(CliEnvironment environment)
    {
        var admin = CliOption.Single<string?>("--admin", "HOST:PORT", "the status page and admin API (default 127.0.0.1:9100; port 0 picks a free one)", text => Endpoint(text, "--admin"));
        var listen = CliOption.Single<string?>("--listen", "HOST:PORT", "the proxy's miner listener (default 127.0.0.1:0, a free port)", text => Endpoint(text, "--listen"));
        var command = new Command("demo", Description) { admin, listen };
        command.SetAction((result, _) => RunAsync(result.GetValue(admin) ?? "127.0.0.1:9100", result.GetValue(listen) ?? "127.0.0.1:0", environment.Out, environment.Error));
        return command;
    }

    private static string Endpoint(string value, string name) =>
        EndpointParser.TryParse(value, out _, out var reason) ? value : throw new ArgumentException($"demo: {name} '{value}': {reason}");

    /// <summary>Runs the demo until Ctrl+C. Exit codes: 0 stopped, 1 start-up error.</summary>
    /// <param name="admin">The admin endpoint (HOST:PORT).</param>
    /// <param name="listen">The miner listener (HOST:PORT).</param>
    /// <param name="output">Where the status page's address is printed.</param>
    /// <param name="error">Start-up errors.</param>
    public static async Task<int> RunAsync(string admin, string listen, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var time = TimeProvider.System;
        var directory = Directory.CreateTempSubdirectory("stratumproxy-demo-").FullName;
        var market = new SimulatedMarket(time, Scale);
        var rigs = new List<SimulatedRig>();
        var apis = new List<SimulatedCgminerApi>();
        var pools = new List<SimulatedPool>();
        MarketEndpoint? endpoint = null;
        try
        {
            endpoint = new MarketEndpoint(market);
            foreach (var (name, _) in Pools)
            {
                pools.Add(new SimulatedPool(name, shareDifficulty: 0.001, () => market.ScaledDifficulty, time));
            }

            var catalog = Economics.Rigs.RigCatalog.LoadEmbedded();
            var ratings = new List<(double Terahashes, double Watts)>();
            foreach (var (worker, model) in Fleet)
            {
                var rated = catalog.Find(model) ?? throw new InvalidOperationException($"demo: the catalog has no model '{model}'");
                ratings.Add((rated.Nominal.Hashrate.Terahashes, rated.Nominal.Power.Watts));
                var rig = new SimulatedRig(worker, rated.Nominal.Hashrate.HashesPerSecond * Scale, boards: 3, time);
                rigs.Add(rig);
                apis.Add(new SimulatedCgminerApi(rig, "stratum+tcp://" + listen, time));
            }

            var tariff = Path.Combine(directory, "demo-tariff.json");
            await File.WriteAllTextAsync(tariff, TariffJson(endpoint.Url)).ConfigureAwait(false);
            var commandLine = CommandLine.Parse([.. Arguments(admin, listen, endpoint.Url, tariff, pools, apis, ratings)]);
            await using var app = ProxyHost.Build(commandLine, directory);
            await app.StartAsync().ConfigureAwait(false);
            var proxy = app.Services.GetRequiredService<ProxyService>().Endpoints[0];

            // Rigs connect once the pools are up, so that their first minute is spent hashing, not waiting for work.
            var control = app.Services.GetRequiredService<Proxy.Control.IProxyControl>();
            for (var wait = 0; wait < 100 && !control.Snapshot().Pools.All(p => p.IsReady); wait++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), time).ConfigureAwait(false);
            }

            foreach (var rig in rigs)
            {
                rig.Start("127.0.0.1", proxy.Port);
            }

            var page = app.Urls.First().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/";
            await output.WriteLineAsync($"""

                StratumProxy demo: {rigs.Count} simulated rigs, pools {string.Join(" and ", Pools.Select(p => $"{p.Name} ({p.FeePercent.ToString(CultureInfo.InvariantCulture)} % fee)"))}, one market day every {SimulatedMarket.DayLength.TotalMinutes:0} minutes.
                Status page: {page}
                Miners connect to {proxy}; data files are in {directory} (removed on exit). Ctrl+C stops the demo.

                """).ConfigureAwait(false);
            await app.WaitForShutdownAsync().ConfigureAwait(false);
            return 0;
        }
        catch (OptionsException ex)
        {
            await error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 1;
        }
        catch (IOException ex)
        {
            await error.WriteLineAsync($"error: demo: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            foreach (var rig in rigs)
            {
                await rig.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var api in apis)
            {
                await api.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var pool in pools)
            {
                await pool.DisposeAsync().ConfigureAwait(false);
            }

            if (endpoint is not null)
            {
                await endpoint.DisposeAsync().ConfigureAwait(false);
            }

            TryDelete(directory);
        }
    }

    /// <summary>The demo configuration, as command-line overrides over the embedded default.</summary>
    private static List<string> Arguments(string admin, string listen, Uri market, string tariff, List<SimulatedPool> pools, List<SimulatedCgminerApi> apis, List<(double Terahashes, double Watts)> ratings)
    {
        var args = new List<string> { "--admin", admin, "--listen", listen };
        void Set(string key, object value) => args.Add(string.Create(CultureInfo.InvariantCulture, $"--{key}={value}"));

        Set("Admin:Notice", "Demo: a simulated farm. Rigs hash at a billionth of their rated speed and the network difficulty is scaled alike, so hash rates and difficulty read 10⁹ times low (hashprice 10⁹ high) while dollars per rig are real. One market day passes in six minutes.");
        Set("Logging:LogLevel:Default", "Warning");
        Set("Logging:LogLevel:StratumProxy.Curtailment", "Information");
        for (var i = 0; i < pools.Count; i++)
        {
            Set($"Proxy:Pools:{i}:Name", pools[i].Name);
            Set($"Proxy:Pools:{i}:Url", pools[i].Url);
            Set($"Proxy:Pools:{i}:User", "demo");
            Set($"Proxy:Pools:{i}:Password", "x");
            Set($"Proxy:Pools:{i}:Priority", i);
            Set($"Economics:Pools:{pools[i].Name}:FeePercent", Pools[i].FeePercent);
            Set($"Economics:Pools:{pools[i].Name}:Scheme", "Fpps");
        }

        // One process and nowhere else for the rigs to go: Ctrl+C stops at once instead of draining them.
        Set("Proxy:Drain:Period", "00:00:00");
        Set("Proxy:Drain:Grace", "00:00:00");
        Set("Proxy:Difficulty:Start", 0.0001);
        Set("Proxy:Difficulty:Min", 0.000001);
        Set("Proxy:Difficulty:Max", 1);
        Set("Proxy:Difficulty:TargetShareSeconds", 1);
        Set("Proxy:Difficulty:RetargetInterval", "00:00:15");
        Set("Economics:Interval", "00:00:05");
        Set("Economics:PriceFeed:Url", market);
        Set("Economics:PriceFeed:JsonPath", "$.btc_usd");
        Set("Economics:PriceFeed:Interval", "00:00:05");
        Set("Economics:PriceFeed:Timeout", "00:00:02");
        Set("Economics:PriceFeed:StalenessLimit", "00:01:00");
        Set("Economics:Difficulty", SimulatedMarket.StartDifficulty * Scale);
        Set("Economics:TariffFile", tariff);
        for (var i = 0; i < Fleet.Length; i++)
        {
            Set($"Economics:Rigs:{i}:Worker", Fleet[i].Worker);
            Set($"Economics:Rigs:{i}:Model", Fleet[i].Model);
            Set($"Economics:Rigs:{i}:Api", "cgminer");
            Set($"Economics:Rigs:{i}:Address", apis[i].Address);

            // The policy weighs a rig by its modes' hash rate against what it observes: here, the scaled rate it
            // really hashes at, at the model's real power (the pools' difficulty is scaled alike).
            Set($"Economics:Rigs:{i}:Modes:0:Name", "normal");
            Set($"Economics:Rigs:{i}:Modes:0:Terahashes", ratings[i].Terahashes * Scale);
            Set($"Economics:Rigs:{i}:Modes:0:Watts", ratings[i].Watts);
        }

        Set("Curtailment:Enabled", "true");
        Set("Curtailment:DryRun", "false");
        Set("Curtailment:Interval", "00:00:10");
        Set("Curtailment:MinOnDwell", "00:01:00");
        Set("Curtailment:MinOffDwell", "00:00:30");
        Set("Curtailment:PowerCycleCostUsd", 0.02);
        Set("Curtailment:MarginPercent", 2);
        Set("Curtailment:MaxMarketAge", "00:05:00");
        Set("Curtailment:MaxPowerChangesPerEvaluation", 4);
        Set("Curtailment:AuditLog", "data/decisions.jsonl");
        Set("Curtailment:Ledger", "data/energy.db");
        return args;
    }

    /// <summary>A live tariff reading the market's energy price (USD per MWh).</summary>
    private static string TariffJson(Uri market) => $$"""
        {
          "kind": "live",
          "description": "The demo market's time-of-use price, polled every 5 seconds.",
          "feed": { "url": "{{market}}", "json_path": "$.energy_usd_per_mwh", "interval_seconds": 5, "timeout_seconds": 2, "staleness_seconds": 60 },
          "fallback_usd_per_kwh": 0.06,
          "cap_usd_per_kwh": 0.5,
          "pue": 1.0,
          "hosting_usd_per_kwh": 0.0
        }
        """;

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A file still open on a slow file system: the temporary folder is left for the system to clean.
        }
    }
}
