using System.Globalization;
using System.Text.Json;
using StratumProxy.Economics.Backtest;
using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Policy;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Units;

namespace StratumProxy.Cli;

/// <summary>
/// <c>stratum-proxy backtest</c>: replays a recorded series through the curtailment policy and compares it with
/// always-on and a plain strike price. Exit 0 on success, 2 on a bad command line or series (one line on stderr).
/// </summary>
public static class BacktestCommand
{
    public const int ExitOk = 0;
    public const int ExitUsage = 2;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the verb; the progress line is shown when <paramref name="stderr"/> is this process's own stderr on a terminal.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr) =>
        Run(args, stdout, stderr, stderrIsTerminal: ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected);

    /// <param name="args">The verb's arguments.</param>
    /// <param name="stdout">The result (table or JSON).</param>
    /// <param name="stderr">Errors and the progress line.</param>
    /// <param name="stderrIsTerminal">Whether <paramref name="stderr"/> is a terminal: the progress line's default.</param>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, bool stderrIsTerminal)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        try
        {
            var a = BacktestArguments.Parse(args);
            if (a.Help)
            {
                stdout.Write(HelpText);
                return ExitOk;
            }

            var series = LoadSeries(a.Series!);
            var setup = Setup(a, series);
            var progress = (a.Progress ?? stderrIsTerminal)
                ? new ProgressLine(stderr, stderrIsTerminal, setup.Rigs.Sum(r => r.Count))
                : null;
            var report = Backtester.Run(setup, progress);
            progress?.Done();
            if (a.Json)
            {
                var json = new BacktestJson(ScenarioJson.From(report.Policy), ScenarioJson.From(report.AlwaysOn), ScenarioJson.From(report.StrikePrice));
                stdout.WriteLine(JsonSerializer.Serialize(json, BacktestJsonContext.Default.BacktestJson));
            }
            else
            {
                WriteTable(stdout, a.Series!, setup, report);
            }

            return ExitOk;
        }
        catch (UsageException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitUsage;
        }
        catch (SeriesFormatException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return ExitUsage;
        }
    }

    internal const string HelpText =
        """
        Usage: stratum-proxy backtest --series FILE.csv (--rig NAME:THS:WATTS | --model NAME)... [options]

        Replays a series through the curtailment policy (docs/curtailment.md) and prints energy, revenue, power
        cost, profit and power cycles for the policy, for always-on and for a plain strike price. It needs the
        series and a farm: at least one --model or --rig.

        Series: CSV with a header row: time (ISO 8601 UTC), btc_price_usd, difficulty, fees_btc_per_block,
        electricity_usd_per_kwh (all-in), optional subsidy_btc. Each row holds until the next; the last row holds
        as long as the interval before it.

          --series FILE                 the series (required)
          --rig NAME:THS:WATTS          an ad-hoc rig (repeatable)
          --model NAME                  a catalog model (repeatable)
          --catalog FILE                rig catalog JSON (default: the built-in copy of config/rigs/catalog.json)
          --copies N                    every --rig and --model stands for N identical rigs (default 1)
          --pool-fee-percent P          pool fee in percent, FPPS (default 0)
          --strike-sleep-usd-per-mwh X  plain strike: sleep above X $/MWh ...
          --strike-wake-usd-per-mwh Y   ... wake below Y (default: both at the farm's breakeven on the first row)
          --strike-sleep-minutes N      ... once the price has held for N minutes (default 0)
          --strike-wake-minutes M       ... and M minutes (default 0)
          --margin-usd-per-day U        policy hysteresis margin per rig (default 0.10)
          --margin-percent P            ... or P % of the current profit, whichever is larger (default 5)
          --cycle-cost-usd C            cost charged per power cycle (default 0.10)
          --wake-seconds S              hashing lost while a rig wakes (default 300)
          --min-on-minutes M            minimum on-dwell (default 15)
          --min-off-minutes M           minimum off-dwell (default 15)
          --max-changes N               sleeps + wakes per evaluation (default unlimited)
          --power-cap-kw K              farm power cap (default none)
          --cycle-horizon-hours H       a sleep's wear and a wake's lost hashing are spread over H hours (default 24)
          --step-minutes M              evaluation interval (default 15; row boundaries always evaluate)
          --json                        print {"policy":…,"always_on":…,"strike_price":…}
          --progress | --no-progress    a progress line on stderr (never on stdout): by default only when stderr
                                        is a terminal, rewritten in place and erased at the end; with --progress
                                        elsewhere too, as a plain line per tenth done
          -h, --help                    this text

        """;

    /// <summary>Reads a series file; an unreadable file is a <see cref="SeriesFormatException"/> naming it.</summary>
    internal static IReadOnlyList<SeriesRow> LoadSeries(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new SeriesFormatException($"cannot read series '{path}': {e.Message}");
        }

        using var reader = new StringReader(text);
        return SeriesCsv.Read(reader, path);
    }

    private static BacktestSetup Setup(BacktestArguments a, IReadOnlyList<SeriesRow> series)
    {
        var defaults = new CurtailmentOptions();
        var transitions = RigTransitions.Default with
        {
            Wake = a.WakeSeconds is { } w ? TimeSpan.FromSeconds(w) : RigTransitions.Default.Wake,
        };
        var rigs = new List<BacktestRigs>();
        if (a.Models.Count > 0)
        {
            var catalog = LoadCatalog(a.CatalogPath);
            foreach (var name in a.Models)
            {
                var model = catalog.Find(name) ?? throw new UsageException(
                    $"unknown model '{name}'; known models: {string.Join(", ", catalog.Models.Select(m => m.Name))}");
                rigs.Add(new BacktestRigs(PolicyModel.FromCatalog(model, transitions), a.Copies));
            }
        }

        foreach (var rig in a.Rigs)
        {
            var mode = new PowerMode("normal", Hashrate.FromTerahashes(rig.HashrateThs), new Power(rig.PowerW));
            rigs.Add(new BacktestRigs(new PolicyModel(rig.Name, [mode], transitions), a.Copies));
        }

        var options = defaults with
        {
            MarginUsdPerDay = a.MarginUsdPerDay ?? defaults.MarginUsdPerDay,
            MarginPercent = a.MarginPercent ?? defaults.MarginPercent,
            PowerCycleCostUsd = a.CycleCostUsd ?? defaults.PowerCycleCostUsd,
            MinOnDwell = a.MinOnMinutes is { } on ? TimeSpan.FromMinutes(on) : defaults.MinOnDwell,
            MinOffDwell = a.MinOffMinutes is { } off ? TimeSpan.FromMinutes(off) : defaults.MinOffDwell,
            CycleHorizon = a.CycleHorizonHours is { } horizon ? TimeSpan.FromHours(horizon) : defaults.CycleHorizon,
            MaxPowerChangesPerEvaluation = a.MaxChanges ?? defaults.MaxPowerChangesPerEvaluation,
            PowerCapKw = a.PowerCapKw,
        };
        var pools = new[] { new PoolTerms("pool", a.PoolFeePercent) };
        var sleepAt = a.StrikeSleep ?? FarmBreakevenUsdPerMwh(series[0], rigs, pools[0]);
        var strike = new StrikePriceOptions(
            sleepAt,
            TimeSpan.FromMinutes(a.StrikeSleepMinutes),
            a.StrikeWake ?? sleepAt,
            TimeSpan.FromMinutes(a.StrikeWakeMinutes));
        return new BacktestSetup(series, rigs, pools, options, strike, TimeSpan.FromMinutes(a.StepMinutes));
    }

    /// <summary>The energy price at which the whole farm (first modes) breaks even on a row's market: revenue ÷ kWh.</summary>
    internal static double FarmBreakevenUsdPerMwh(SeriesRow row, IReadOnlyList<BacktestRigs> rigs, PoolTerms pool)
    {
        var market = new MarketSnapshot(Coin.Bitcoin, new CoinPrice(row.BtcPriceUsd), new Difficulty(row.Difficulty), new Coins(row.SubsidyBtc), new Coins(row.FeesBtcPerBlock), row.Time);
        var quote = PoolQuote.Create(market, pool);
        double revenue = 0, kwh = 0;
        foreach (var group in rigs)
        {
            var mode = group.Model.Modes[0];
            var e = MiningCalculator.Evaluate(mode.Hashrate, mode.Power, quote, EnergyPrice.Flat(0));
            revenue += e.RevenuePerDay.Amount * group.Count;
            kwh += e.EnergyPerDay.KilowattHours * group.Count;
        }

        return revenue / kwh * 1000.0;
    }

    private static RigCatalog LoadCatalog(string? path)
    {
        if (path is null)
        {
            return RigCatalog.LoadEmbedded();
        }

        try
        {
            return RigCatalog.LoadFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new UsageException($"cannot read catalog '{path}': {e.Message}");
        }
    }

    private static void WriteTable(TextWriter w, string path, BacktestSetup setup, BacktestReport report)
    {
        var series = setup.Series;
        var rigs = setup.Rigs.Sum(r => r.Count);
        w.WriteLine(string.Create(Inv, $"series {path}: {series.Count} rows, {series[0].Time:yyyy-MM-ddTHH:mmZ} → {Backtester.End(series):yyyy-MM-ddTHH:mmZ}; {rigs} rigs; evaluated every {setup.Step.TotalMinutes:0.##} min"));
        var s = setup.Strike;
        w.WriteLine(string.Create(Inv, $"strike price: sleep above {s.SleepAboveUsdPerMwh:0.##} $/MWh (held {s.SleepAfter.TotalMinutes:0} min), wake below {s.WakeBelowUsdPerMwh:0.##} $/MWh (held {s.WakeAfter.TotalMinutes:0} min)"));
        w.WriteLine();
        w.WriteLine("scenario       energy kWh    revenue $  power cost $     profit $  power cycles");
        w.WriteLine("------------  -----------  -----------  ------------  -----------  ------------");
        Row(w, "policy", report.Policy);
        Row(w, "always_on", report.AlwaysOn);
        Row(w, "strike_price", report.StrikePrice);
    }

    private static void Row(TextWriter w, string name, ScenarioTotals t) =>
        w.WriteLine(string.Create(Inv, $"{name,-12}  {t.EnergyKwh,11:0.0}  {t.RevenueUsd,11:0.00}  {t.PowerCostUsd,12:0.00}  {t.ProfitUsd,11:0.00}  {t.PowerCycles,12}"));
}
