using System.Text.Json.Nodes;
using StratumProxy.Rigs.Json;

namespace StratumProxy.Rigs.Cgminer;

internal readonly record struct CgminerDevice(string Kind, int Id, bool Enabled);

/// <summary>Field names shared by cgminer, bfgminer, bmminer, LuxOS, Avalon and Whatsminer v2 replies.</summary>
internal static class CgminerParsing
{
    // Most recent window first; MHS in MH/s, GHS in GH/s.
    private static readonly (string Key, double ToThs)[] HashrateKeys =
    [
        ("MHS 5s", 1e-6), ("GHS 5s", 1e-3), ("MHS 20s", 1e-6), ("MHS 1m", 1e-6), ("GHS 1m", 1e-3), ("MHS av", 1e-6), ("GHS av", 1e-3),
    ];

    public static double? HashrateThs(JsonObject? summary)
    {
        if (summary is null)
        {
            return null;
        }

        foreach (var (key, factor) in HashrateKeys)
        {
            if (JsonValues.Number(summary[key]) is { } value)
            {
                return value * factor;
            }
        }

        return null;
    }

    public static TimeSpan? Uptime(JsonObject? summary) =>
        JsonValues.Number(summary?["Elapsed"]) is { } seconds ? TimeSpan.FromSeconds(seconds) : null;

    /// <summary>
    /// Pools as the rig numbers them. The active pool is the best-priority one that is alive with its stratum connection
    /// up: right after switchpool cgminer already shows the new priorities while the old pool is still the one mining.
    /// </summary>
    public static IReadOnlyList<RigPoolInfo> Pools(JsonObject? reply)
    {
        if (reply?["POOLS"] is not JsonArray array)
        {
            return [];
        }

        var pools = new List<RigPoolInfo>(array.Count);
        foreach (var item in array.OfType<JsonObject>())
        {
            var status = JsonValues.String(item["Status"]);
            pools.Add(new RigPoolInfo(
                JsonValues.Int(item["POOL"]) ?? pools.Count,
                JsonValues.String(item["URL"]) ?? "",
                JsonValues.String(item["User"]),
                Alive: string.Equals(status, "Alive", StringComparison.OrdinalIgnoreCase),
                Active: JsonValues.Bool(item["Stratum Active"]) ?? false,
                JsonValues.Int(item["Priority"])));
        }

        return MarkActive(pools);
    }

    /// <summary>Keeps Active on one pool only: the alive, connected pool with the best (lowest) priority.</summary>
    public static IReadOnlyList<RigPoolInfo> MarkActive(List<RigPoolInfo> pools)
    {
        var active = pools
            .Where(p => p.Active && p.Alive)
            .OrderBy(p => p.Priority ?? int.MaxValue)
            .ThenBy(p => p.Index)
            .Select(p => (int?)p.Index)
            .FirstOrDefault();
        return pools.Select(p => p with { Active = p.Index == active }).ToList();
    }

    public static IReadOnlyList<CgminerDevice> Devices(JsonObject? reply)
    {
        if (reply?["DEVS"] is not JsonArray array)
        {
            return [];
        }

        var devices = new List<CgminerDevice>(array.Count);
        foreach (var item in array.OfType<JsonObject>())
        {
            foreach (var kind in (ReadOnlySpan<string>)["ASC", "PGA"])
            {
                if (JsonValues.Int(item[kind]) is { } id)
                {
                    devices.Add(new CgminerDevice(kind, id, JsonValues.Bool(item["Enabled"]) ?? true));
                    break;
                }
            }
        }

        return devices;
    }

    /// <summary>The firmware as the STATUS Description names it ("cgminer 4.11.1", "LUXminer 2025.4.8...").</summary>
    public static string? Description(JsonObject? reply) =>
        JsonValues.First(reply?["STATUS"]) is { } status ? JsonValues.String(status["Description"]) : null;

    /// <summary>One section of a joined reply ("summary+pools" answers {"summary":[{...}],"pools":[{...}]}).</summary>
    public static JsonObject? Section(JsonObject joined, string command) => JsonValues.First(joined[command]);
}
