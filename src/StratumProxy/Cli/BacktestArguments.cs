using System.Globalization;

namespace StratumProxy.Cli;

/// <summary>The parsed command line of <c>stratum-proxy backtest</c>.</summary>
internal sealed class BacktestArguments
{
    public string? Series { get; private set; }
    public List<AdHocRig> Rigs { get; } = [];
    public List<string> Models { get; } = [];
    public string? CatalogPath { get; private set; }
    public int Copies { get; private set; } = 1;
    public double PoolFeePercent { get; private set; }
    public double? StrikeSleep { get; private set; }
    public double? StrikeWake { get; private set; }
    public double StrikeSleepMinutes { get; private set; }
    public double StrikeWakeMinutes { get; private set; }
    public double? MarginUsdPerDay { get; private set; }
    public double? MarginPercent { get; private set; }
    public double? CycleCostUsd { get; private set; }
    public double? WakeSeconds { get; private set; }
    public double? MinOnMinutes { get; private set; }
    public double? MinOffMinutes { get; private set; }
    public int? MaxChanges { get; private set; }
    public double? PowerCapKw { get; private set; }
    public double? CycleHorizonHours { get; private set; }

    /// <summary>null: a progress line only when stderr is a terminal; true/false: <c>--progress</c> / <c>--no-progress</c>.</summary>
    public bool? Progress { get; private set; }
    public double StepMinutes { get; private set; } = 15;
    public bool Json { get; private set; }
    public bool Help { get; private set; }

    public static BacktestArguments Parse(IReadOnlyList<string> args)
    {
        var a = new BacktestArguments();
        var reader = new ArgumentReader(args);
        while (reader.MoveNext())
        {
            var arg = reader.Name;
            switch (arg)
            {
                case "--help" or "-h":
                    a.Help = true;
                    break;
                case "--json":
                    a.Json = true;
                    break;
                case "--progress":
                    a.Progress = true;
                    break;
                case "--no-progress":
                    a.Progress = false;
                    break;
                case "--series":
                    a.Series = reader.Value();
                    break;
                case "--rig":
                    a.Rigs.Add(EconomicsArguments.ParseRig(reader.Value()));
                    break;
                case "--model":
                    a.Models.Add(reader.Value());
                    break;
                case "--catalog":
                    a.CatalogPath = reader.Value();
                    break;
                case "--copies":
                    a.Copies = (int)Whole(arg, reader.Value(), min: 1, max: 10_000_000);
                    break;
                case "--pool-fee-percent":
                    a.PoolFeePercent = Number(arg, reader.Value(), min: 0, max: 99.999);
                    break;
                case "--strike-sleep-usd-per-mwh":
                    a.StrikeSleep = Number(arg, reader.Value(), min: double.MinValue);
                    break;
                case "--strike-wake-usd-per-mwh":
                    a.StrikeWake = Number(arg, reader.Value(), min: double.MinValue);
                    break;
                case "--strike-sleep-minutes":
                    a.StrikeSleepMinutes = Number(arg, reader.Value(), min: 0);
                    break;
                case "--strike-wake-minutes":
                    a.StrikeWakeMinutes = Number(arg, reader.Value(), min: 0);
                    break;
                case "--margin-usd-per-day":
                    a.MarginUsdPerDay = Number(arg, reader.Value(), min: 0);
                    break;
                case "--margin-percent":
                    a.MarginPercent = Number(arg, reader.Value(), min: 0);
                    break;
                case "--cycle-cost-usd":
                    a.CycleCostUsd = Number(arg, reader.Value(), min: 0);
                    break;
                case "--wake-seconds":
                    a.WakeSeconds = Number(arg, reader.Value(), min: 0);
                    break;
                case "--min-on-minutes":
                    a.MinOnMinutes = Number(arg, reader.Value(), min: 0);
                    break;
                case "--min-off-minutes":
                    a.MinOffMinutes = Number(arg, reader.Value(), min: 0);
                    break;
                case "--max-changes":
                    a.MaxChanges = (int)Whole(arg, reader.Value(), min: 1, max: int.MaxValue);
                    break;
                case "--power-cap-kw":
                    a.PowerCapKw = Number(arg, reader.Value(), min: 0, minExclusive: true);
                    break;
                case "--cycle-horizon-hours":
                    a.CycleHorizonHours = Number(arg, reader.Value(), min: 0, minExclusive: true);
                    break;
                case "--step-minutes":
                    a.StepMinutes = Number(arg, reader.Value(), min: 0, minExclusive: true);
                    break;
                default:
                    throw new UsageException($"unknown option '{arg}' (see --help)");
            }
        }

        if (a.Help)
        {
            return a;
        }

        if (a.Series is null)
        {
            throw new UsageException("--series FILE.csv is required");
        }

        if (a.Rigs.Count == 0 && a.Models.Count == 0)
        {
            throw new UsageException("give at least one --rig NAME:THS:WATTS or --model NAME (backtest needs a farm to replay)");
        }

        if (a.StrikeSleep is null != a.StrikeWake is null)
        {
            throw new UsageException("give both --strike-sleep-usd-per-mwh and --strike-wake-usd-per-mwh, or neither");
        }

        if (a.StrikeWake > a.StrikeSleep)
        {
            throw new UsageException("--strike-wake-usd-per-mwh must not be above --strike-sleep-usd-per-mwh");
        }

        return a;
    }

    private static double Number(string flag, string text, double min, double max = double.MaxValue, bool minExclusive = false)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
        {
            throw new UsageException($"{flag} must be a number (got '{text}')");
        }

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
