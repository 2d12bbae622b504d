using System.Text.Json;
using StratumProxy.Cli;
using StratumProxy.Files;

namespace StratumProxy.Host.Tests.Backtest;

/// <summary>
/// The policy is never worse than the plain strike price: every series shipped in config/backtest/ × every model of
/// config/rigs/catalog.json, one rig each, through the backtest verb with its defaults (docs/curtailment.md,
/// "Policy versus the strike price"). The build copies both beside the test assembly.
/// </summary>
public sealed class PolicyVersusStrikeTests
{
    private static string BacktestDirectory => Path.Combine(AppContext.BaseDirectory, "backtest");

    private static string CatalogPath => Path.Combine(AppContext.BaseDirectory, "rigs", "catalog.json");

    public static TheoryData<string, string> ShippedSeriesTimesCatalogModels()
    {
        var data = new TheoryData<string, string>();
        var catalog = EconomicsFiles.LoadCatalog(CatalogPath);
        foreach (var series in Directory.GetFiles(BacktestDirectory, "*.csv").Order(StringComparer.Ordinal))
        {
            foreach (var model in catalog.Models)
            {
                data.Add(Path.GetFileName(series), model.Name);
            }
        }

        return data;
    }

    [Fact]
    public void Shipped_series_and_catalog_are_beside_the_tests()
    {
        Assert.NotEmpty(Directory.GetFiles(BacktestDirectory, "*.csv"));
        Assert.True(EconomicsFiles.LoadCatalog(CatalogPath).Models.Count >= 10);
    }

    [Fact]
    public void Judging_a_power_cycle_over_one_hour_was_worse_than_the_strike_for_one_S21()
    {
        // The figures of the report (policy $24.38 < strike $24.54), and those of the independent reimplementation:
        // with a one-hour cycle horizon the S21 had to lose more than $2.50/day before it slept.
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, StratumProxyCli.InvokeVerb(
            "backtest",
            ["--series", SampleSeries.Path, "--model", "Antminer S21", "--cycle-horizon-hours", "1", "--json"], stdout, stderr));
        using var doc = JsonDocument.Parse(stdout.ToString());
        Assert.Equal(24.379873, doc.RootElement.GetProperty("policy").GetProperty("profit_usd").GetDouble(), 1e-5);
        Assert.Equal(24.539471, doc.RootElement.GetProperty("strike_price").GetProperty("profit_usd").GetDouble(), 1e-5);
    }

    [Theory]
    [MemberData(nameof(ShippedSeriesTimesCatalogModels))]
    public void Policy_is_never_worse_than_the_strike_price(string series, string model)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = StratumProxyCli.InvokeVerb(
            "backtest",
            ["--series", Path.Combine(BacktestDirectory, series), "--catalog", CatalogPath, "--model", model, "--json"], stdout, stderr);
        Assert.Equal("", stderr.ToString());
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout.ToString());
        var profit = (string s) => doc.RootElement.GetProperty(s).GetProperty("profit_usd").GetDouble();

        // Equal decisions give bit-identical totals; a hair of tolerance only for summation order.
        var policy = profit("policy");
        var strike = profit("strike_price");
        Assert.True(policy >= strike - 1e-9, $"{series}, one {model}: policy ${policy:0.000} < strike price ${strike:0.000}");
        Assert.True(policy >= profit("always_on") - 1e-9, $"{series}, one {model}: policy ${policy:0.000} < always-on");
    }
}
