using System.CommandLine;
using System.Globalization;

namespace StratumProxy.Cli;

/// <summary>An ad-hoc rig from --rig NAME:THS:WATTS.</summary>
internal sealed record AdHocRig(string Name, double HashrateThs, double PowerW)
{
    /// <summary>NAME:THS:WATTS, read from the right so a name may contain ':'.</summary>
    public static AdHocRig Parse(string spec)
    {
        var last = spec.LastIndexOf(':');
        var middle = last > 0 ? spec.LastIndexOf(':', last - 1) : -1;
        if (middle <= 0)
        {
            throw new UsageException($"--rig must be NAME:THS:WATTS (got '{spec}')");
        }

        var name = spec[..middle].Trim();
        var ths = spec[(middle + 1)..last];
        var watts = spec[(last + 1)..];
        if (name.Length == 0 ||
            !double.TryParse(ths, NumberStyles.Float, CultureInfo.InvariantCulture, out var th) || !(th > 0) || !double.IsFinite(th) ||
            !double.TryParse(watts, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) || !(w > 0) || !double.IsFinite(w))
        {
            throw new UsageException($"--rig must be NAME:THS:WATTS with TH/s > 0 and watts > 0 (got '{spec}')");
        }

        return new AdHocRig(name, th, w);
    }
}

/// <summary>The command line of <c>stratum-proxy economics</c>, as its <see cref="Options"/> bind it.</summary>
internal sealed record EconomicsArguments(
    double Price,
    double Electricity,
    double? Difficulty,
    double? HashrateEh,
    double? Subsidy,
    long? Height,
    double Fees,
    double PoolFeePercent,
    IReadOnlyList<string> Models,
    IReadOnlyList<AdHocRig> Rigs,
    bool Json,
    string? CatalogPath)
{
    /// <summary>The verb's options; a bad value is a parse error with the message below.</summary>
    internal sealed class Options : IVerbOptions<EconomicsArguments>
    {
        /// <inheritdoc/>
        public string Name => "economics";

        /// <inheritdoc/>
        public string Description =>
            "revenue, cost and shutdown price per rig model (the BTC price at which its profit is zero), sorted by shutdown price; " +
            "needs --price, --electricity and one of --difficulty or --hashrate-eh (formulas: docs/economics.md)";

        public Option<double?> Price { get; } = CliOption.Single<double?>("--price", "USD", "BTC price in USD (required, ≥ 0)", t => Number("--price", t, min: 0, minInclusive: true, unit: "USD/BTC"));
        public Option<double?> Electricity { get; } = CliOption.Single<double?>("--electricity", "USD", "all-in electricity price in USD per kWh (required, ≥ 0)", t => Number("--electricity", t, min: 0, minInclusive: true, unit: "USD/kWh"));
        public Option<double?> Difficulty { get; } = CliOption.Single<double?>("--difficulty", "D", "network difficulty (> 0), or", t => Number("--difficulty", t, min: 0, minInclusive: false, unit: ""));
        public Option<double?> HashrateEh { get; } = CliOption.Single<double?>("--hashrate-eh", "EH", "network hash rate in EH/s (> 0); difficulty = EH × 1e18 × 600 ÷ 2^32", t => Number("--hashrate-eh", t, min: 0, minInclusive: false, unit: "EH/s"));
        public Option<double?> Subsidy { get; } = CliOption.Single<double?>("--subsidy", "BTC", "block subsidy (default: from --height)", t => Number("--subsidy", t, min: 0, minInclusive: true, unit: "BTC/block"));

        public Option<long?> Height { get; } = CliOption.Single<long?>(
            "--height",
            "N",
            "block height for the subsidy (default: estimated from today's date, anchored at block 881423 of 2025-01-30 plus one block per 10 minutes)",
            t => long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var height) ? height : throw new UsageException($"--height must be a whole number ≥ 0 (got '{t}')"));

        public Option<double?> Fees { get; } = CliOption.Single<double?>("--fees", "BTC", "average transaction fees per block (default 0)", t => Number("--fees", t, min: 0, minInclusive: true, unit: "BTC/block"));

        public Option<double?> PoolFeePercent { get; } = CliOption.Single<double?>(
            "--pool-fee-percent",
            "P",
            "pool fee in percent, FPPS (default 0)",
            t => Number("--pool-fee-percent", t, min: 0, minInclusive: true, unit: "%") is var fee && fee >= 100 ? throw new UsageException("--pool-fee-percent must be below 100") : fee);

        public Option<List<string>> Model { get; } = CliOption.Repeated("--model", "NAME", "a catalog model (repeatable; default: the whole catalog)", t => t);
        public Option<List<AdHocRig>> Rig { get; } = CliOption.Repeated("--rig", "NAME:THS:WATTS", "an ad-hoc rig, added to the models shown (repeatable)", AdHocRig.Parse);
        public Option<string?> Catalog { get; } = CliOption.Text("--catalog", "FILE", "rig catalog JSON (default: the built-in copy of config/rigs/catalog.json)");
        public Option<bool> Json { get; } = CliOption.Flag("--json", "print a JSON array, one object per rig");

        /// <summary>Every option of the verb, in help order.</summary>
        public IEnumerable<Option> All => [Price, Electricity, Difficulty, HashrateEh, Subsidy, Height, Fees, PoolFeePercent, Model, Rig, Catalog, Json];

        /// <summary>The arguments, checked across options; throws <see cref="UsageException"/> with a one-line message.</summary>
        public EconomicsArguments Bind(ParseResult result)
        {
            var price = result.GetValue(Price) ?? throw new UsageException("--price (USD per BTC) is required");
            var electricity = result.GetValue(Electricity) ?? throw new UsageException("--electricity (USD per kWh) is required");
            var difficulty = result.GetValue(Difficulty);
            var hashrate = result.GetValue(HashrateEh);
            if (difficulty is null == hashrate is null)
            {
                throw new UsageException("give exactly one of --difficulty or --hashrate-eh");
            }

            var subsidy = result.GetValue(Subsidy);
            var height = result.GetValue(Height);
            if (subsidy is not null && height is not null)
            {
                throw new UsageException("give --subsidy or --height, not both");
            }

            return new EconomicsArguments(
                price,
                electricity,
                difficulty,
                hashrate,
                subsidy,
                height,
                result.GetValue(Fees) ?? 0,
                result.GetValue(PoolFeePercent) ?? 0,
                result.GetValue(Model) ?? [],
                result.GetValue(Rig) ?? [],
                result.GetValue(Json),
                result.GetValue(Catalog));
        }
    }

    private static double Number(string flag, string text, double min, bool minInclusive, string unit)
    {
        var v = CliOption.Number(flag, text);
        var ok = minInclusive ? v >= min : v > min;
        if (!ok)
        {
            var bound = minInclusive ? "≥ 0" : "> 0";
            var what = v < 0 ? "cannot be negative" : $"must be {bound}";
            throw new UsageException($"{flag} {what} (got {text}{(unit.Length > 0 ? " " + unit : "")})");
        }

        return v;
    }
}

/// <summary>A bad command line: the message is shown as one line and the exit code is 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
