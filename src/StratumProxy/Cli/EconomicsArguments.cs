using System.Globalization;

namespace StratumProxy.Cli;

/// <summary>An ad-hoc rig from --rig NAME:THS:WATTS.</summary>
internal sealed record AdHocRig(string Name, double HashrateThs, double PowerW);

/// <summary>The parsed command line of <c>stratum-proxy economics</c>.</summary>
internal sealed class EconomicsArguments
{
    public double? Price { get; private set; }
    public double? Difficulty { get; private set; }
    public double? HashrateEh { get; private set; }
    public double? Subsidy { get; private set; }
    public long? Height { get; private set; }
    public double Fees { get; private set; }
    public double PoolFeePercent { get; private set; }
    public double? Electricity { get; private set; }
    public List<string> Models { get; } = [];
    public List<AdHocRig> Rigs { get; } = [];
    public bool Json { get; private set; }
    public bool Help { get; private set; }
    public string? CatalogPath { get; private set; }

    /// <summary>Parses and checks the arguments; throws <see cref="UsageException"/> with a one-line message.</summary>
    public static EconomicsArguments Parse(IReadOnlyList<string> args)
    {
        var a = new EconomicsArguments();
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
                case "--price":
                    a.Price = Number(arg, reader.Value(), min: 0, minInclusive: true, unit: "USD/BTC");
                    break;
                case "--difficulty":
                    a.Difficulty = Number(arg, reader.Value(), min: 0, minInclusive: false, unit: "");
                    break;
                case "--hashrate-eh":
                    a.HashrateEh = Number(arg, reader.Value(), min: 0, minInclusive: false, unit: "EH/s");
                    break;
                case "--subsidy":
                    a.Subsidy = Number(arg, reader.Value(), min: 0, minInclusive: true, unit: "BTC/block");
                    break;
                case "--height":
                    var h = reader.Value();
                    a.Height = long.TryParse(h, NumberStyles.None, CultureInfo.InvariantCulture, out var height)
                        ? height
                        : throw new UsageException($"--height must be a whole number ≥ 0 (got '{h}')");
                    break;
                case "--fees":
                    a.Fees = Number(arg, reader.Value(), min: 0, minInclusive: true, unit: "BTC/block");
                    break;
                case "--pool-fee-percent":
                    a.PoolFeePercent = Number(arg, reader.Value(), min: 0, minInclusive: true, unit: "%");
                    if (a.PoolFeePercent >= 100)
                    {
                        throw new UsageException("--pool-fee-percent must be below 100");
                    }

                    break;
                case "--electricity":
                    a.Electricity = Number(arg, reader.Value(), min: 0, minInclusive: true, unit: "USD/kWh");
                    break;
                case "--model":
                    a.Models.Add(reader.Value());
                    break;
                case "--rig":
                    a.Rigs.Add(ParseRig(reader.Value()));
                    break;
                case "--catalog":
                    a.CatalogPath = reader.Value();
                    break;
                default:
                    throw new UsageException($"unknown option '{arg}' (see --help)");
            }
        }

        if (a.Help)
        {
            return a;
        }

        if (a.Price is null)
        {
            throw new UsageException("--price (USD per BTC) is required");
        }

        if (a.Electricity is null)
        {
            throw new UsageException("--electricity (USD per kWh) is required");
        }

        if (a.Difficulty is null == a.HashrateEh is null)
        {
            throw new UsageException("give exactly one of --difficulty or --hashrate-eh");
        }

        if (a.Subsidy is not null && a.Height is not null)
        {
            throw new UsageException("give --subsidy or --height, not both");
        }

        return a;
    }

    /// <summary>NAME:THS:WATTS, read from the right so a name may contain ':'.</summary>
    internal static AdHocRig ParseRig(string spec)
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

    private static double Number(string flag, string text, double min, bool minInclusive, string unit)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
        {
            throw new UsageException($"{flag} must be a number (got '{text}')");
        }

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
