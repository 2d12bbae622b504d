using StratumProxy.Fuzz.Harnesses;

namespace StratumProxy.Fuzz;

/// <summary>Every fuzz target, by name.</summary>
internal static class Targets
{
    public static IReadOnlyList<Harness> All { get; } =
    [
        new MinerLinesHarness(),
        new PoolLinesHarness(),
        new ProxyHeaderHarness(),
        new RigApiHarness(),
        new ConfigFileHarness(),
        new TariffFileHarness(),
        new RigCatalogHarness(),
        new BacktestCsvHarness(),
        new PriceFeedHarness(),
    ];

    public static Harness? Find(string name) => All.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.Ordinal));
}
