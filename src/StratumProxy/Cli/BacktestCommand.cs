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
internal static class BacktestCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the verb with its bound arguments (the root command's <c>backtest</c>; see <see cref="BacktestArguments.Options"/>).</summary>
    internal static int Execute(BacktestArguments a, CliEnvironment environment)
    {
        var (stdout, stderr, stderrIsTerminal) = (environment.Out, environment.Error, environment.StderrIsTerminal);
        try
        {
            var series = LoadSeries(a.Series);
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
                WriteTable(stdout, a.Series, setup, report);
            }

            return StratumProxyCli.ExitOk;
        }
        catch (SeriesFormatException e)
        {
            stderr.WriteLine("error: " + e.Message);
            return StratumProxyCli.ExitUsage;
        }
    }

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
            var catalog = CliOption.Catalog(a.CatalogPath);
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
        var step = TimeSpan.FromMinutes(a.StepMinutes);
        var evaluations = Backtester.Evaluations(series, step);
        var rigCount = rigs.Sum(r => (long)r.Count);
        if (evaluations > MaxEvaluations || evaluations > MaxRigEvaluations / rigCount)
        {
            // A series that spans centuries (a mistyped year) or a tiny step would replay for hours: say so at once.
            var days = (Backtester.End(series) - series[0].Time).TotalDays;
            throw new UsageException(string.Create(Inv,
                $"{a.Series}: the series spans {days:N0} days; evaluated every {a.StepMinutes:0.####} min that is {evaluations:N0} evaluations of {rigCount:N0} rigs, and a backtest makes at most {MaxEvaluations:N0} evaluations and {MaxRigEvaluations:N0} rig evaluations (a minute of replay at most); give a larger --step-minutes, fewer rigs or a shorter series"));
        }

        return new BacktestSetup(series, rigs, pools, options, strike, step);
    }

    /// <summary>The most evaluations of the farm a backtest makes in each scenario: 285 years of 15-minute steps.</summary>
    internal const long MaxEvaluations = 10_000_000;

    /// <summary>
    /// The most rig evaluations (evaluations of the farm × its rigs) a backtest makes in each scenario: a year of 15-minute
    /// steps for about 28,000 rigs. Together they keep a replay to a minute at most (measured: about 0.2 µs an
    /// evaluation and 18 ns a rig evaluation, three scenarios).
    /// </summary>
    internal const long MaxRigEvaluations = 1_000_000_000;

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
