using System.Text.Json.Nodes;
using StratumProxy.Rigs.Json;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.Cgminer;

/// <summary>
/// The part of a status read every cgminer-derived firmware shares (cgminer, Antminer, LuxOS, Avalon, Whatsminer v2):
/// the summary reply with its pools, and the status fields read the same way from them.
/// </summary>
internal sealed record CgminerSummary(JsonObject Reply, JsonObject? PoolsReply)
{
    /// <summary>The first SUMMARY row.</summary>
    public JsonObject? Row { get; } = JsonValues.First(Reply["SUMMARY"]);

    public double? HashrateThs => CgminerParsing.HashrateThs(Row);

    /// <summary>
    /// Reads <c>summary</c> (refused when its STATUS says so), then <c>pools</c>, then lets the family read the rest.
    /// A transport fault on any call is a read failure.
    /// </summary>
    public static async Task<RigReadResult> ReadStatusAsync(
        CgminerApi api, Func<CgminerSummary, Task<RigStatus>> readRest, CancellationToken cancellationToken)
    {
        try
        {
            var summary = await api.CallAsync("summary", null, cancellationToken);
            if (CgminerStatus.FailureOf(summary, "summary") is { } failure)
            {
                return RigReadResult.Fail(failure);
            }

            var pools = await api.CallAsync("pools", null, cancellationToken);
            return RigReadResult.Ok(await readRest(new CgminerSummary(summary, pools)));
        }
        catch (RigTransportException ex)
        {
            return RigReadResult.Fail(Outcomes.ReadFailure(ex));
        }
    }

    /// <summary>
    /// The shared fields: asleep when the family says so, otherwise mining while it hashes and idle when not; hashrate,
    /// pools, uptime and the firmware the STATUS names. The family adds or overrides its own fields with <c>with</c>.
    /// </summary>
    public RigStatus Status(bool asleep) => new()
    {
        State = asleep ? RigMiningState.Asleep : HashrateThs > 0 ? RigMiningState.Mining : RigMiningState.Idle,
        HashrateThs = HashrateThs,
        Pools = CgminerParsing.Pools(PoolsReply),
        Uptime = CgminerParsing.Uptime(Row),
        Firmware = CgminerParsing.Description(Reply),
    };
}
