using System.Text.Json;
using StratumProxy.Economics.Backtest;
using StratumProxy.Economics.Rigs;

namespace StratumProxy.Economics.Tests.Backtest;

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
        var catalog = RigCatalog.LoadFile(CatalogPath);
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
        Assert.True(RigCatalog.LoadFile(CatalogPath).Models.Count >= 10);
    }

    [Theory]
    [MemberData(nameof(ShippedSeriesTimesCatalogModels))]
    public void Policy_is_never_worse_than_the_strike_price(string series, string model)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = BacktestCommand.Run(
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
