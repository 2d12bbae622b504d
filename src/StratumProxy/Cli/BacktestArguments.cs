using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace StratumProxy.Cli;

/// <summary>The command line of <c>stratum-proxy backtest</c>, as its <see cref="Options"/> bind it.</summary>
/// <param name="Progress">null: a progress line only when stderr is a terminal; true/false: <c>--progress</c> / <c>--no-progress</c>.</param>
internal sealed record BacktestArguments(
    string Series,
    IReadOnlyList<AdHocRig> Rigs,
    IReadOnlyList<string> Models,
    string? CatalogPath,
    int Copies,
    double PoolFeePercent,
    double? StrikeSleep,
    double? StrikeWake,
    double StrikeSleepMinutes,
    double StrikeWakeMinutes,
    double? MarginUsdPerDay,
    double? MarginPercent,
    double? CycleCostUsd,
    double? WakeSeconds,
    double? MinOnMinutes,
    double? MinOffMinutes,
    int? MaxChanges,
    double? PowerCapKw,
    double? CycleHorizonHours,
    bool? Progress,
    double StepMinutes,
    bool Json)
{
    /// <summary>The verb's options; a bad value is a parse error with the message below.</summary>
    internal sealed class Options : IVerbOptions<BacktestArguments>
    {
        /// <inheritdoc/>
        public string Name => "backtest";

        /// <inheritdoc/>
        public string Description =>
            "replay a price/difficulty/electricity series through the curtailment policy (docs/curtailment.md), always-on and a plain strike price, " +
            "and print energy, revenue, power cost, profit and power cycles of each; needs the series and a farm: at least one --model or --rig";

        public Option<string?> Series { get; } = CliOption.Text(
            "--series",
            "FILE",
            "the series (required): CSV with a header row: time (ISO 8601 UTC), btc_price_usd, difficulty, fees_btc_per_block, " +
            "electricity_usd_per_kwh (all-in), optional subsidy_btc; each row holds until the next, the last as long as the interval before it");
        public Option<List<AdHocRig>> Rig { get; } = CliOption.Repeated("--rig", "NAME:THS:WATTS", "an ad-hoc rig (repeatable)", AdHocRig.Parse);
        public Option<List<string>> Model { get; } = CliOption.Repeated("--model", "NAME", "a catalog model (repeatable)", t => t);
        public Option<string?> Catalog { get; } = CliOption.Text("--catalog", "FILE", "rig catalog JSON (default: the built-in copy of config/rigs/catalog.json)");
        public Option<int?> Copies { get; } = CliOption.Single<int?>("--copies", "N", "every --rig and --model stands for N identical rigs (default 1)", t => (int)Whole("--copies", t, min: 1, max: 10_000_000));
        public Option<double?> PoolFeePercent { get; } = CliOption.Single<double?>("--pool-fee-percent", "P", "pool fee in percent, FPPS (default 0)", t => Number("--pool-fee-percent", t, min: 0, max: 99.999));
        public Option<double?> StrikeSleep { get; } = CliOption.Single<double?>("--strike-sleep-usd-per-mwh", "X", "plain strike: sleep above X $/MWh ...", t => Number("--strike-sleep-usd-per-mwh", t, min: double.MinValue));
        public Option<double?> StrikeWake { get; } = CliOption.Single<double?>("--strike-wake-usd-per-mwh", "Y", "... wake below Y (default: both at the farm's breakeven on the first row)", t => Number("--strike-wake-usd-per-mwh", t, min: double.MinValue));
        public Option<double?> StrikeSleepMinutes { get; } = CliOption.Single<double?>("--strike-sleep-minutes", "N", "... once the price has held for N minutes (default 0)", t => Number("--strike-sleep-minutes", t, min: 0, max: TenYearsInMinutes));
        public Option<double?> StrikeWakeMinutes { get; } = CliOption.Single<double?>("--strike-wake-minutes", "M", "... and M minutes (default 0)", t => Number("--strike-wake-minutes", t, min: 0, max: TenYearsInMinutes));
        public Option<double?> MarginUsdPerDay { get; } = CliOption.Single<double?>("--margin-usd-per-day", "U", "policy hysteresis margin per rig (default 0.10)", t => Number("--margin-usd-per-day", t, min: 0));
        public Option<double?> MarginPercent { get; } = CliOption.Single<double?>("--margin-percent", "P", "... or P % of the current profit, whichever is larger (default 5)", t => Number("--margin-percent", t, min: 0));
        public Option<double?> CycleCostUsd { get; } = CliOption.Single<double?>("--cycle-cost-usd", "C", "cost charged per power cycle (default 0.10)", t => Number("--cycle-cost-usd", t, min: 0));
        public Option<double?> WakeSeconds { get; } = CliOption.Single<double?>("--wake-seconds", "S", "hashing lost while a rig wakes (default 300)", t => Number("--wake-seconds", t, min: 0, max: TenYearsInMinutes * 60));
        public Option<double?> MinOnMinutes { get; } = CliOption.Single<double?>("--min-on-minutes", "M", "minimum on-dwell (default 15)", t => Number("--min-on-minutes", t, min: 0, max: TenYearsInMinutes));
        public Option<double?> MinOffMinutes { get; } = CliOption.Single<double?>("--min-off-minutes", "M", "minimum off-dwell (default 15)", t => Number("--min-off-minutes", t, min: 0, max: TenYearsInMinutes));
        public Option<int?> MaxChanges { get; } = CliOption.Single<int?>("--max-changes", "N", "sleeps + wakes per evaluation (default unlimited)", t => (int)Whole("--max-changes", t, min: 1, max: int.MaxValue));
        public Option<double?> PowerCapKw { get; } = CliOption.Single<double?>("--power-cap-kw", "K", "farm power cap (default none)", t => Number("--power-cap-kw", t, min: 0, minExclusive: true));
        public Option<double?> CycleHorizonHours { get; } = CliOption.Single<double?>("--cycle-horizon-hours", "H", "a sleep's wear and a wake's lost hashing are spread over H hours (default 24)", t => Number("--cycle-horizon-hours", t, min: 0, max: TenYearsInMinutes / 60, minExclusive: true));
        public Option<double?> StepMinutes { get; } = CliOption.Single<double?>("--step-minutes", "M", "evaluation interval (default 15; row boundaries always evaluate)", t => Number("--step-minutes", t, min: 0.001, max: TenYearsInMinutes));
        public Option<bool> Json { get; } = CliOption.Flag("--json", "print {\"policy\":…,\"always_on\":…,\"strike_price\":…}");

        public Option<bool> Progress { get; } = CliOption.Flag(
            "--progress",
            "a progress line on stderr (never on stdout); by default only when stderr is a terminal, rewritten in place and erased at the end; with --progress elsewhere too, as a plain line per tenth done");

        public Option<bool> NoProgress { get; } = CliOption.Flag("--no-progress", "no progress line, even on a terminal");

        /// <summary>Every option of the verb, in help order.</summary>
        public IEnumerable<Option> All =>
        [
            Series, Rig, Model, Catalog, Copies, PoolFeePercent, StrikeSleep, StrikeWake, StrikeSleepMinutes, StrikeWakeMinutes, MarginUsdPerDay,
            MarginPercent, CycleCostUsd, WakeSeconds, MinOnMinutes, MinOffMinutes, MaxChanges, PowerCapKw, CycleHorizonHours, StepMinutes, Json,
            Progress, NoProgress,
        ];

        /// <summary>The arguments, checked across options; throws <see cref="UsageException"/> with a one-line message.</summary>
        public BacktestArguments Bind(ParseResult result)
        {
            var series = result.GetValue(Series) ?? throw new UsageException("--series FILE.csv is required");
            var rigs = result.GetValue(Rig) ?? [];
            var models = result.GetValue(Model) ?? [];
            if (rigs.Count == 0 && models.Count == 0)
            {
                throw new UsageException("give at least one --rig NAME:THS:WATTS or --model NAME (backtest needs a farm to replay)");
            }

            var strikeSleep = result.GetValue(StrikeSleep);
            var strikeWake = result.GetValue(StrikeWake);
            if (strikeSleep is null != strikeWake is null)
            {
                throw new UsageException("give both --strike-sleep-usd-per-mwh and --strike-wake-usd-per-mwh, or neither");
            }

            if (strikeWake > strikeSleep)
            {
                throw new UsageException("--strike-wake-usd-per-mwh must not be above --strike-sleep-usd-per-mwh");
            }

            return new BacktestArguments(
                series,
                rigs,
                models,
                result.GetValue(Catalog),
                result.GetValue(Copies) ?? 1,
                result.GetValue(PoolFeePercent) ?? 0,
                strikeSleep,
                strikeWake,
                result.GetValue(StrikeSleepMinutes) ?? 0,
                result.GetValue(StrikeWakeMinutes) ?? 0,
                result.GetValue(MarginUsdPerDay),
                result.GetValue(MarginPercent),
                result.GetValue(CycleCostUsd),
                result.GetValue(WakeSeconds),
                result.GetValue(MinOnMinutes),
                result.GetValue(MinOffMinutes),
                result.GetValue(MaxChanges),
                result.GetValue(PowerCapKw),
                result.GetValue(CycleHorizonHours),
                LastOf(result, Progress, NoProgress),
                result.GetValue(StepMinutes) ?? 15,
                result.GetValue(Json));
        }

        /// <summary>--progress / --no-progress: the later one wins; neither is null.</summary>
        private static bool? LastOf(ParseResult result, Option<bool> on, Option<bool> off)
        {
            var onAt = LastIndex(result, on);
            var offAt = LastIndex(result, off);
            return onAt < 0 && offAt < 0 ? null : onAt > offAt;
        }

        private static int LastIndex(ParseResult result, Option option)
        {
            var last = -1;
            for (var i = 0; i < result.Tokens.Count; i++)
            {
                if (result.Tokens[i].Type == TokenType.Option && option.Name == result.Tokens[i].Value)
                {
                    last = i;
                }
            }

            return last;
        }
    }

    // The longest duration an option takes: past it (1e300 minutes, say) a duration no longer fits a TimeSpan, and no
    // farm's question needs it. The shortest step is 0.001 minutes (60 ms), so a step is never rounded to nothing.
    private const double TenYearsInMinutes = 3650 * 24 * 60;

    private static double Number(string flag, string text, double min, double max = double.MaxValue, bool minExclusive = false)
    {
        var v = CliOption.Number(flag, text);
        if (minExclusive ? !(v > min) : !(v >= min))
        {
            throw new UsageException($"{flag} must be {(minExclusive ? ">" : "≥")} {min.ToString(CultureInfo.InvariantCulture)} (got {text})");
        }

        if (v > max)
        {
            throw new UsageException($"{flag} must be ≤ {max.ToString(CultureInfo.InvariantCulture)} (got {text})");
        }

        return v;
    }

    private static long Whole(string flag, string text, long min, long max) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw new UsageException($"{flag} must be a whole number from {min} to {max} (got '{text}')");
}
