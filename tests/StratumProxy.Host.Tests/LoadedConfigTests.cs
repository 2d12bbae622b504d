using Microsoft.Extensions.Configuration;
using StratumProxy.Cli;
using StratumProxy.Hosting;

namespace StratumProxy.Host.Tests;

/// <summary>The tariff is read once, by the load that checks it; the running model is built from what was checked.</summary>
public sealed class LoadedConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-loaded-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void EnergyModel_TariffFileChangedAfterTheLoad_IsBuiltFromTheContentsThatWereChecked()
    {
        var tariff = Path.Combine(_directory, "tariff.json");
        File.WriteAllText(tariff, """{ "kind": "flat", "usd_per_kwh": 0.08 }""");
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, """{ "Economics": { "TariffFile": "tariff.json" } }""");
        var cli = CommandLine.Parse(["--config", file]);
        var builder = new ConfigurationBuilder();
        ProxyHost.AddLayers(builder, cli, _directory);

        var config = new ConfigLoader(builder.Build(), cli, _directory).LoadAll(out var errors);
        Assert.Empty(errors);

        // Broken after it was checked: the proxy applies the tariff it checked, not a second read of the file.
        File.WriteAllText(tariff, "not json");
        var model = config.EnergyModel(liveFeed: null);

        Assert.Equal(0.08, model.PriceAt(DateTimeOffset.UnixEpoch).Energy.Value, 9);
    }
}
