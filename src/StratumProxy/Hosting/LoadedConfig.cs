using StratumProxy.Economics.Feeds;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Tariffs;
using StratumProxy.Economics.Units;
using StratumProxy.Farm;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Hosting;

/// <summary>
/// Every section the proxy applies at start and on reload, bound and validated together so that one run lists every
/// problem, the rig catalog the Economics rigs are checked against, and the tariff file as it was read and checked
/// (<paramref name="Tariff"/>: its contents, so that the model built from it is the one that was validated).
/// </summary>
public sealed record LoadedConfig(ProxyOptions Proxy, FarmOptions Farm, CurtailmentSettings Curtailment, RigCatalog Catalog, byte[]? Tariff = null)
{
    /// <summary>
    /// The energy price model the Economics section names: its tariff (from the contents read at load, else the
    /// file), or the flat price. A live tariff's feed comes from <paramref name="liveFeed"/>.
    /// </summary>
    public EnergyCostModel EnergyModel(Func<HttpJsonFeedOptions, IFeedValueSource>? liveFeed) =>
        Farm.TariffFile is not { } path ? new EnergyCostModel(new FlatTariff(new UsdPerKwh(Farm.ElectricityUsdPerKwh)))
        : Tariff is { } contents ? Files.EconomicsFiles.ParseTariff(contents, path, liveFeed)
        : Files.EconomicsFiles.LoadTariff(path, liveFeed);
}

/// <summary>
/// The configuration the proxy runs: the last one that was valid. A reload replaces it only when the new one is
/// valid and its tariff loads; settings that take effect only at start (listeners, extranonce sizes) stay as they are.
/// </summary>
/// <param name="initial">The configuration the start loaded.</param>
/// <param name="loadedFrom">Every configuration key and value as they were when the start read them (see <see cref="ChangedSinceStart"/>).</param>
public sealed class LastGoodConfig(LoadedConfig initial, IReadOnlyDictionary<string, string?>? loadedFrom = null)
{
    /// <summary>The configuration in force.</summary>
    public LoadedConfig Current { get; private set; } = initial;

    /// <summary>Every key and value of <paramref name="configuration"/> now, to compare with later.</summary>
    public static IReadOnlyDictionary<string, string?> Snapshot(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return Microsoft.Extensions.Configuration.ConfigurationExtensions.AsEnumerable(configuration).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// True when <paramref name="configuration"/> reads differently now than when the start loaded it: a change made
    /// before the reload watch began (while a takeover ran, the new process's start can last seconds) fired no reload.
    /// </summary>
    public bool ChangedSinceStart(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        if (loadedFrom is null)
        {
            return false;
        }

        var now = Snapshot(configuration);
        return now.Count != loadedFrom.Count || now.Any(kv => !loadedFrom.TryGetValue(kv.Key, out var value) || !string.Equals(value, kv.Value, StringComparison.Ordinal));
    }

    /// <summary>
    /// The candidate made ready to apply: listeners kept from the running configuration (they are bound once), and
    /// whether its listeners, extranonce sizes or pool line limit differ from what runs (all need a restart; the proxy
    /// keeps the sizes and the limit it started with, <see cref="Proxy.Control.IProxyControl.ApplyOptions"/>). This is
    /// the one place that checks them.
    /// </summary>
    public (LoadedConfig Config, bool ListenersNeedRestart, bool ExtranonceNeedsRestart, bool PoolLineLimitNeedsRestart) Prepare(LoadedConfig candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var running = Current.Proxy;
        var proposed = candidate.Proxy;
        var listeners = !running.Listeners.SequenceEqual(proposed.Listeners);
        var extranonce = running.Miners.Extranonce1Size != proposed.Miners.Extranonce1Size
            || running.Miners.Extranonce2Size != proposed.Miners.Extranonce2Size;
        var prepared = listeners ? candidate with { Proxy = proposed with { Listeners = running.Listeners } } : candidate;
        var poolLine = running.Limits.MaxPoolLineLength != proposed.Limits.MaxPoolLineLength;
        return (prepared, listeners, extranonce, poolLine);
    }

    /// <summary>Makes <paramref name="config"/> the one in force.</summary>
    public void Commit(LoadedConfig config) => Current = config;
}
