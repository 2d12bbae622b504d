using StratumProxy.Economics.Rigs;
using StratumProxy.Host.Tests;
using StratumProxy.Simulators;
using StratumProxy.TestKit;

namespace StratumProxy.LoadTest.Tests;

/// <summary>The soak's configuration file, checked by the real executable: every key is one the proxy knows.</summary>
public sealed class SoakConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("soak-config-").FullName;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task SoakConfig_EachEdit_PassesStrictCheckConfig(int edit)
    {
        await using var poolA = await TestPool.StartAsync();
        await using var poolB = await TestPool.StartAsync();
        var model = RigCatalog.LoadEmbedded().Find("Antminer S21") ?? throw new InvalidOperationException("no S21 in the catalog");
        await using var api = new SimulatedCgminerApi(new SimulatedRig(SoakRun.FleetWorker(0), 1e3, 3, TimeProvider.System), "stratum+tcp://127.0.0.1:3333", TimeProvider.System);
        var tariff = Path.Combine(_directory, "tariff.json");
        await File.WriteAllTextAsync(tariff, SoakRun.TariffJson(new Uri("http://127.0.0.1:9/market")));
        var options = new SoakOptions { ProxyPath = "stratum-proxy", WorkDirectory = _directory };
        var config = new SoakConfig(3333, 9100, [poolA, poolB], [api], [model], new Uri("http://127.0.0.1:9/market"), tariff, options);
        var path = Path.Combine(_directory, "soak.json");
        await config.WriteAsync(path, edit, CancellationToken.None);

        var (exitCode, stdout, stderr) = await ProxyProcess.RunAsync(_directory, ["check-config", "--config", path, "--strict"]);

        Assert.True(exitCode == 0, stdout + stderr);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void SoakConfig_Edits_FlipLiveValues()
    {
        var options = new SoakOptions { ProxyPath = "stratum-proxy", WorkDirectory = _directory };
        var config = new SoakConfig(3333, 9100, [], [], [], new Uri("http://127.0.0.1:9/market"), "tariff.json", options);

        var even = config.Build(2);
        var odd = config.Build(3);

        Assert.NotEqual(even["Proxy"]!["Difficulty"]!["TargetShareSeconds"]!.ToJsonString(), odd["Proxy"]!["Difficulty"]!["TargetShareSeconds"]!.ToJsonString());
        Assert.NotEqual(even["Curtailment"]!["MarginPercent"]!.ToJsonString(), odd["Curtailment"]!["MarginPercent"]!.ToJsonString());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
