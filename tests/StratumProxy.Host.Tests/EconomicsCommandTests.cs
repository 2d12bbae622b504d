using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using StratumProxy.Cli;

namespace StratumProxy.Host.Tests;

public sealed class EconomicsCommandTests
{
    private static readonly string[] WorkedExample = ["--price", "60000", "--electricity", "0.08", "--difficulty", "1.1e14", "--fees", "0.02"];

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        // A fixed "today" so the height estimate (and so the subsidy) is reproducible: 2026-11-25 is in the 3.125 BTC epoch.
        var code = StratumProxyCli.InvokeVerb("economics", args, stdout, stderr, new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero)));
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Worked_example_table_lists_the_catalog_sorted_by_shutdown_price()
    {
        var (code, output, err) = Run(WorkedExample);
        Assert.Equal(0, code);
        Assert.Equal("", err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("hashprice $34.51/PH/day", output, StringComparison.Ordinal);
        Assert.Contains("(network 787.4 EH/s)", output, StringComparison.Ordinal);
        Assert.Contains("3.125 BTC subsidy (height ~977", output, StringComparison.Ordinal);
        var s21 = lines.Single(l => l.StartsWith("Antminer S21  ", StringComparison.Ordinal));
        // Hand-computed in docs/economics.md: 0.00011503 BTC, $6.90 revenue, $6.72 power, $0.18 profit, $58,419, $0.0822/kWh.
        Assert.Equal(
            ["Antminer", "S21", "200", "3500", "17.5", "0.00011503", "6.90", "6.72", "0.18", "58,419", "0.0822"],
            s21.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        var header = Array.FindIndex(lines, l => l.StartsWith("Model", StringComparison.Ordinal));
        var rows = lines.Skip(header + 2).ToList();
        Assert.Equal(14, rows.Count);
        var shutdowns = rows.Select(r => double.Parse(r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^2].Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(shutdowns.Order().ToList(), shutdowns);
        Assert.StartsWith("Antminer S23 Hyd", rows[0], StringComparison.Ordinal); // 9.5 J/TH, listed before the U3 by name
        Assert.StartsWith("Antminer S19j Pro", rows[^1], StringComparison.Ordinal); // 29.5 J/TH
    }

    [Fact]
    public void Json_has_one_object_per_rig_with_the_issue_keys()
    {
        var (code, output, _) = Run([.. WorkedExample, "--json", "--model", "S21", "--rig", "garage:rig:100:3000"]);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var items = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, items.Count);
        string[] keys =
        [
            "model", "hashrate_ths", "power_w", "efficiency_j_per_th", "btc_per_day", "revenue_usd_per_day", "power_cost_usd_per_day",
            "profit_usd_per_day", "shutdown_price_usd", "breakeven_usd_per_kwh", "hashprice_usd_per_ph_day",
        ];
        Assert.All(items, i => Assert.Equal(keys, i.EnumerateObject().Select(p => p.Name)));
        var s21 = items[0];
        Assert.Equal("Antminer S21", s21.GetProperty("model").GetString());
        Assert.Equal(0.000115030191, s21.GetProperty("btc_per_day").GetDouble(), 1e-12);
        Assert.Equal(58_419.4456, s21.GetProperty("shutdown_price_usd").GetDouble(), 1e-3);
        Assert.Equal(34.509057, s21.GetProperty("hashprice_usd_per_ph_day").GetDouble(), 1e-6);
        var garage = items[1];
        Assert.Equal("garage:rig", garage.GetProperty("model").GetString()); // the name may contain ':'
        Assert.Equal(30, garage.GetProperty("efficiency_j_per_th").GetDouble(), 9);
    }

    [Fact]
    public void Hashrate_height_subsidy_and_pool_fee_options()
    {
        // 787.41067 EH/s is difficulty 1.1e14; height 840,000 is the 3.125 epoch; 2.5 % pool fee scales revenue.
        var (code, output, _) = Run("--price", "60000", "--electricity", "0.08", "--hashrate-eh", "787.4106709333333", "--fees", "0.02",
            "--height", "840000", "--pool-fee-percent", "2.5", "--model", "S21", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(6.901811469685 * 0.975, doc.RootElement[0].GetProperty("revenue_usd_per_day").GetDouble(), 1e-6);

        (code, output, _) = Run("--price", "60000", "--electricity", "0.08", "--difficulty", "1.1e14", "--subsidy", "6.25", "--model", "S21", "--json");
        Assert.Equal(0, code);
        using var doc2 = JsonDocument.Parse(output);
        Assert.Equal(200e12 * 86_400 / (1.1e14 * 4_294_967_296.0) * 6.25, doc2.RootElement[0].GetProperty("btc_per_day").GetDouble(), 1e-15);
    }

    [Theory]
    [InlineData("--price -5 --electricity 0.08 --difficulty 1e14", "error: --price cannot be negative (got -5 USD/BTC)")]
    [InlineData("--price 60000 --electricity 0.08 --difficulty 0", "error: --difficulty must be > 0 (got 0)")]
    [InlineData("--price 60000 --electricity -0.01 --difficulty 1e14", "error: --electricity cannot be negative (got -0.01 USD/kWh)")]
    [InlineData("--price 60000 --electricity 0.08", "error: give exactly one of --difficulty or --hashrate-eh")]
    [InlineData("--price 60000 --electricity 0.08 --difficulty 1e14 --hashrate-eh 700", "error: give exactly one of --difficulty or --hashrate-eh")]
    [InlineData("--electricity 0.08 --difficulty 1e14", "error: --price (USD per BTC) is required")]
    [InlineData("--price 60000 --difficulty 1e14", "error: --electricity (USD per kWh) is required")]
    [InlineData("--price abc --electricity 0.08 --difficulty 1e14", "error: --price must be a number (got 'abc')")]
    [InlineData("--price 60000 --electricity 0.08 --difficulty 1e14 --rig S9:13.5", "error: --rig must be NAME:THS:WATTS (got 'S9:13.5')")]
    [InlineData("--price 60000 --electricity 0.08 --difficulty 1e14 --rig S9:x:1300", "error: --rig must be NAME:THS:WATTS with TH/s > 0 and watts > 0 (got 'S9:x:1300')")]
    [InlineData("--price 60000 --electricity 0.08 --difficulty 1e14 --rig S9:13.5:0", "error: --rig must be NAME:THS:WATTS with TH/s > 0 and watts > 0 (got 'S9:13.5:0')")]
    [InlineData("--price 60000 --electricity 0.08 --difficulty 1e14 --pool-fee-percent 100", "error: --pool-fee-percent must be below 100")]
    [InlineData("--price 60000 --electricity 0.08 --difficulty 1e14 --height 800000 --subsidy 3.125", "error: give --subsidy or --height, not both")]
    [InlineData("--price 60000 --electricity 0.08 --difficulty 1e14 --frobnicate", "error: unknown option '--frobnicate' (see --help)")]
    [InlineData("--price 60000 --electricity 0.08 --difficulty", "error: --difficulty needs a value")]
    public void Bad_input_exits_2_with_one_line(string args, string expected)
    {
        var (code, output, err) = Run(args.Split(' '));
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal(expected + Environment.NewLine, err);
    }

    [Fact]
    public void Unknown_model_lists_the_known_ones()
    {
        var (code, _, err) = Run([.. WorkedExample, "--model", "S99"]);
        Assert.Equal(2, code);
        Assert.StartsWith("error: unknown model 'S99'; known models: Antminer S19j Pro, Antminer S19 XP Hyd, Antminer S21,", err, StringComparison.Ordinal);
        Assert.Contains("Avalon A1466I", err, StringComparison.Ordinal);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Catalog_file_overrides_the_embedded_one_and_a_missing_file_is_an_error()
    {
        var path = Path.Combine(Path.GetTempPath(), $"econ-catalog-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{"models":[{"name":"Only","hashrate_ths":100,"power_w":2000,"source":"test"}]}""");
        try
        {
            var (code, output, _) = Run([.. WorkedExample, "--catalog", path, "--json"]);
            Assert.Equal(0, code);
            using var doc = JsonDocument.Parse(output);
            Assert.Equal("Only", doc.RootElement.EnumerateArray().Single().GetProperty("model").GetString());
        }
        finally
        {
            File.Delete(path);
        }

        var (missing, _, err) = Run([.. WorkedExample, "--catalog", "/nonexistent/catalog.json"]);
        Assert.Equal(2, missing);
        Assert.StartsWith("error: cannot read catalog '/nonexistent/catalog.json'", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_prints_usage_and_exits_0()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Matches(@"Usage:\s+\S+ economics \[options\]", output);
        foreach (var flag in new[] { "--price", "--difficulty", "--hashrate-eh", "--subsidy", "--height", "--fees", "--pool-fee-percent", "--electricity", "--model", "--rig", "--json", "--catalog" })
        {
            Assert.Contains(flag, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Equals_form_of_options_is_accepted()
    {
        var (code, output, _) = Run("--price=60000", "--electricity=0.08", "--difficulty=1.1e14", "--fees=0.02", "--model=S21", "--json");
        Assert.Equal(0, code);
        Assert.Contains("\"model\": \"Antminer S21\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Public_entry_point_runs_on_the_system_clock()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, StratumProxyCli.InvokeVerb("economics", [.. WorkedExample, "--model", "S21"], stdout, stderr));
        Assert.Contains("Antminer S21", stdout.ToString(), StringComparison.Ordinal);
    }
}
