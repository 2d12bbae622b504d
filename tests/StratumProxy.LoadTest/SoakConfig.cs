using System.Globalization;
using System.Text.Json.Nodes;
using StratumProxy.Economics.Rigs;
using StratumProxy.Simulators;
using StratumProxy.TestKit;

namespace StratumProxy.LoadTest;

/// <summary>
/// The proxy's configuration file for a soak: its listener and admin ports, the two pools with their fees, the rigs
/// with their APIs and modes, the live price feed and tariff, curtailment acting for real. Each edit flips values the
/// proxy applies while running (the miners' share-rate target, the curtailment margin, the admin notice), so every
/// edit is a real reload, and writes the file whole under another name first, then renames it over the old one.
/// </summary>
internal sealed class SoakConfig(
    int listenPort,
    int adminPort,
    IReadOnlyList<TestPool> pools,
    IReadOnlyList<SimulatedCgminerApi> apis,
    IReadOnlyList<RigModel> models,
    Uri market,
    string tariff,
    SoakOptions options)
{
    /// <summary>The two pools: name and fee in percent (the curtailment loop prefers the cheaper).</summary>
    internal static readonly (string Name, double FeePercent)[] Fees = [("pool-a", 2.5), ("pool-b", 0.5)];

    public async Task WriteAsync(string path, int edit, CancellationToken cancellationToken)
    {
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, Build(edit).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), cancellationToken);
        File.Move(temporary, path, overwrite: true);
    }

    public JsonObject Build(int edit)
    {
        static string Port(int port) => "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
        var poolArray = new JsonArray();
        var economicsPools = new JsonObject();
        for (var i = 0; i < pools.Count; i++)
        {
            poolArray.Add(new JsonObject { ["Name"] = Fees[i].Name, ["Url"] = pools[i].Url, ["User"] = "soak", ["Password"] = "x", ["Priority"] = i });
            economicsPools[Fees[i].Name] = new JsonObject { ["FeePercent"] = Fees[i].FeePercent, ["Scheme"] = "Fpps" };
        }

        var rigs = new JsonArray();
        for (var i = 0; i < apis.Count; i++)
        {
            rigs.Add(new JsonObject
            {
                ["Worker"] = SoakRun.FleetWorker(i),
                ["Model"] = models[i].Name,
                ["Api"] = "cgminer",
                ["Address"] = apis[i].Address,
                ["Modes"] = new JsonArray(new JsonObject { ["Name"] = "normal", ["Terahashes"] = models[i].Nominal.Hashrate.Terahashes * options.RigScale, ["Watts"] = models[i].Nominal.Power.Watts }),
            });
        }

        var odd = edit % 2 == 1;
        return new JsonObject
        {
            ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning", ["StratumProxy.Curtailment"] = "Information" } },
            ["Admin"] = new JsonObject { ["Endpoint"] = Port(adminPort), ["AllowWrite"] = false, ["Notice"] = $"Soak: configuration edit {edit.ToString(CultureInfo.InvariantCulture)}" },
            ["Proxy"] = new JsonObject
            {
                ["Listeners"] = new JsonArray(new JsonObject { ["Name"] = "soak", ["Endpoint"] = Port(listenPort), ["PoolGroup"] = "default", ["ProxyProtocol"] = "None" }),
                ["Pools"] = poolArray,
                ["Difficulty"] = new JsonObject
                {
                    ["Start"] = options.MinerDifficulty,
                    ["Min"] = options.MinerDifficulty,
                    ["Max"] = 1,
                    ["TargetShareSeconds"] = odd ? 2 : 1,
                    ["RetargetInterval"] = "00:00:15",
                },
                ["Failover"] = new JsonObject { ["BackoffBase"] = "00:00:01", ["BackoffMax"] = "00:00:05", ["FailBackDelay"] = "00:00:20" },
            },
            ["Economics"] = new JsonObject
            {
                ["Interval"] = "00:00:05",
                ["PriceFeed"] = new JsonObject { ["Url"] = market.ToString(), ["JsonPath"] = "$.btc_usd", ["Interval"] = "00:00:05", ["Timeout"] = "00:00:02", ["StalenessLimit"] = "00:01:00" },
                ["Difficulty"] = SimulatedMarket.StartDifficulty * options.RigScale,
                ["TariffFile"] = tariff,
                ["Rigs"] = rigs,
                ["Pools"] = economicsPools,
            },
            ["Curtailment"] = new JsonObject
            {
                ["Enabled"] = true,
                ["DryRun"] = false,
                ["Interval"] = "00:00:10",
                ["MinOnDwell"] = "00:01:00",
                ["MinOffDwell"] = "00:00:30",
                ["PowerCycleCostUsd"] = 0.02,
                ["MarginPercent"] = odd ? 3 : 2,
                ["MaxMarketAge"] = "00:05:00",
                ["MaxPowerChangesPerEvaluation"] = 4,
                ["AuditLog"] = "data/decisions.jsonl",
                ["Ledger"] = "data/energy.db",
            },
        };
    }

}
