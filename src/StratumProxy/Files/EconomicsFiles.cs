using StratumProxy.Economics.Feeds;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Tariffs;

namespace StratumProxy.Files;

/// <summary>
/// The economics files the host reads (a tariff file, a rig catalog): opened here, parsed by the readers of
/// StratumProxy.Economics, which take a stream and do no I/O of their own. The file's path names it in every message.
/// </summary>
public static class EconomicsFiles
{
    /// <summary>A tariff file (config/tariffs/*.json); a live tariff's feed comes from <paramref name="liveFeed"/>.</summary>
    public static EnergyCostModel LoadTariff(string path, Func<HttpJsonFeedOptions, IFeedValueSource>? liveFeed = null) =>
        ParseTariff(File.ReadAllBytes(path), path, liveFeed);

    /// <summary>A tariff file's contents, read before; <paramref name="path"/> names it in every message.</summary>
    public static EnergyCostModel ParseTariff(byte[] contents, string path, Func<HttpJsonFeedOptions, IFeedValueSource>? liveFeed = null)
    {
        using var stream = new MemoryStream(contents, writable: false);
        return TariffConfig.Parse(stream, path, liveFeed);
    }

    /// <summary>A rig catalog (config/rigs/catalog.json).</summary>
    public static RigCatalog LoadCatalog(string path)
    {
        using var stream = File.OpenRead(path);
        return RigCatalog.Parse(stream, path);
    }
}
