using System.Globalization;
using System.Text;
using System.Text.Json;
using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Units;

namespace StratumProxy.Cli;

/// <summary>
/// <c>stratum-proxy economics</c>: the shutdown-price table for the rig catalog at given market inputs.
/// Exit 0 on success, 2 on a bad command line (one line on stderr).
/// </summary>
internal static class EconomicsCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the verb with its bound arguments (the root command's <c>economics</c>; see <see cref="EconomicsArguments.Options"/>).</summary>
    internal static int Execute(EconomicsArguments a, CliEnvironment environment)
    {
        var catalog = CliOption.Catalog(a.CatalogPath);
        var inputs = Inputs.From(a, environment.Time.GetUtcNow());
        var rows = Evaluate(a, catalog, inputs);
        if (a.Json)
        {
            environment.Out.WriteLine(JsonSerializer.Serialize(rows.Select(r => r.ToJson()).ToList(), EconomicsCliJsonContext.Default.ListEconomicsRow));
        }
        else
        {
            WriteTable(environment.Out, inputs, rows);
        }

        return StratumProxyCli.ExitOk;
    }

    private static List<Row> Evaluate(EconomicsArguments a, RigCatalog catalog, Inputs inputs)
    {
        var selected = new List<(string Label, PowerMode Mode)>();
        if (a.Models.Count == 0)
        {
            foreach (var m in catalog.Models)
            {
                AddModel(selected, m);
            }
        }
        else
        {
            foreach (var name in a.Models)
            {
                var model = catalog.Find(name) ?? throw new UsageException(
                    $"unknown model '{name}'; known models: {string.Join(", ", catalog.Models.Select(m => m.Name))}");
                AddModel(selected, model);
            }
        }

        foreach (var rig in a.Rigs)
        {
            selected.Add((rig.Name, new PowerMode("normal", Hashrate.FromTerahashes(rig.HashrateThs), new Power(rig.PowerW))));
        }

        var quote = PoolQuote.Create(inputs.Market, inputs.Pool);
        var rows = selected
            .Select(s => new Row(s.Label, MiningCalculator.Evaluate(s.Mode.Hashrate, s.Mode.Power, quote, inputs.Energy)))
            .OrderBy(r => r.Economics.ShutdownPrice.UsdPerCoin)
            .ThenBy(r => r.Label, StringComparer.Ordinal)
            .ToList();
        return rows;
    }

    private static void AddModel(List<(string, PowerMode)> selected, RigModel model)
    {
        foreach (var mode in model.Modes)
        {
            selected.Add((model.Modes.Count == 1 ? model.Name : $"{model.Name} ({mode.Name})", mode));
        }
    }

    private static void WriteTable(TextWriter w, Inputs inputs, List<Row> rows)
    {
        var m = inputs.Market;
        var network = m.Difficulty.ImpliedNetworkHashrate(m.Coin.TargetSpacing);
        w.WriteLine(string.Create(Inv, $"BTC price ${m.Price.UsdPerCoin:#,0.00}  difficulty {m.Difficulty.Value:0.####e+0} (network {network.Exahashes:0.0} EH/s)"));
        w.WriteLine(string.Create(Inv, $"block reward {m.Subsidy.Amount:0.########} BTC subsidy ({inputs.SubsidySource}) + {m.FeesPerBlock.Amount:0.########} BTC fees"));
        w.WriteLine(string.Create(Inv, $"pool fee {inputs.Pool.FeePercent:0.##}% (FPPS)  electricity ${inputs.Energy.Energy.Value:0.####}/kWh"));
        w.WriteLine(string.Create(Inv, $"hashprice ${MiningCalculator.HashpriceUsdPerPhDay(m, inputs.Pool):0.00}/PH/day  ({MiningCalculator.CoinsPerHashPerDay(m, inputs.Pool) * Hashrate.Peta:0.00000000} BTC/PH/day)"));
        w.WriteLine();

        string[] headers = ["Model", "TH/s", "W", "J/TH", "BTC/day", "Revenue $/d", "Power $/d", "Profit $/d", "Shutdown $/BTC", "Breakeven $/kWh"];
        var cells = rows.Select(r => new[]
        {
            r.Label,
            r.Economics.Hashrate.Terahashes.ToString("0.##", Inv),
            r.Economics.Power.Watts.ToString("0", Inv),
            r.Economics.EfficiencyJoulesPerTerahash.ToString("0.0", Inv),
            r.Economics.CoinsPerDay.Amount.ToString("0.00000000", Inv),
            r.Economics.RevenuePerDay.Amount.ToString("0.00", Inv),
            r.Economics.PowerCostPerDay.Amount.ToString("0.00", Inv),
            r.Economics.ProfitPerDay.Amount.ToString("0.00", Inv),
            double.IsFinite(r.Economics.ShutdownPrice.UsdPerCoin) ? r.Economics.ShutdownPrice.UsdPerCoin.ToString("#,0", Inv) : "n/a",
            r.Economics.BreakevenEnergyPrice.Value.ToString("0.0000", Inv),
        }).ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, cells.Count == 0 ? 0 : cells.Max(c => c[i].Length))).ToArray();
        w.WriteLine(Line(headers, widths));
        w.WriteLine(string.Join("  ", widths.Select(x => new string('-', x))));
        foreach (var c in cells)
        {
            w.WriteLine(Line(c, widths));
        }
    }

    private static string Line(string[] cells, int[] widths)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0)
            {
                sb.Append("  ");
            }

            // The model column reads left to right; numbers line up on the right.
            sb.Append(i == 0 ? cells[i].PadRight(widths[i]) : cells[i].PadLeft(widths[i]));
        }

        return sb.ToString().TrimEnd();
    }

    private sealed record Row(string Label, RigEconomics Economics)
    {
        public EconomicsRow ToJson() => new(
            Label,
            Economics.Hashrate.Terahashes,
            Economics.Power.Watts,
            Economics.EfficiencyJoulesPerTerahash,
            Economics.CoinsPerDay.Amount,
            Economics.RevenuePerDay.Amount,
            Economics.PowerCostPerDay.Amount,
            Economics.ProfitPerDay.Amount,
            double.IsFinite(Economics.ShutdownPrice.UsdPerCoin) ? Economics.ShutdownPrice.UsdPerCoin : null,
            Economics.BreakevenEnergyPrice.Value,
            Economics.HashpriceUsdPerPhDay);
    }

    private sealed record Inputs(MarketSnapshot Market, PoolTerms Pool, EnergyPrice Energy, string SubsidySource)
    {
        public static Inputs From(EconomicsArguments a, DateTimeOffset now)
        {
            var coin = Coin.Bitcoin;
            var difficulty = a.Difficulty is { } d
                ? new Difficulty(d)
                : Difficulty.FromNetworkHashrate(Hashrate.FromExahashes(a.HashrateEh!.Value), coin.TargetSpacing);
            Coins subsidy;
            string source;
            if (a.Subsidy is { } s)
            {
                subsidy = new Coins(s);
                source = "given";
            }
            else if (a.Height is { } h)
            {
                subsidy = coin.SubsidyAt(h);
                source = string.Create(Inv, $"height {h}");
            }
            else
            {
                var estimated = HeightEstimate.BitcoinHeightAt(now);
                subsidy = coin.SubsidyAt(estimated);
                source = string.Create(Inv, $"height ~{estimated}, estimated from the date");
            }

            var market = new MarketSnapshot(coin, new CoinPrice(a.Price), difficulty, subsidy, new Coins(a.Fees), now);
            return new Inputs(market, new PoolTerms("cli", a.PoolFeePercent), EnergyPrice.Flat(a.Electricity), source);
        }
    }
}
