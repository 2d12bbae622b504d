using System.Text.Json;
using StratumProxy.Admin;
using StratumProxy.Proxy.Control;

namespace StratumProxy.Host.Tests;

/// <summary>
/// GET /api/workers, word for word: the public JSON is the admin API's own (<see cref="WorkerStatus"/>), not the
/// fleet view it is made from (the worker's name under <c>worker</c>, no metric label, −1 for an uncertainty with no
/// shares, the last share as a time).
/// </summary>
public sealed class WorkersJsonTests
{
    [Fact]
    public void Workers_AreWrittenInTheirPublicShape()
    {
        var pool = new WorkerPoolView("main", 10, 11, 9, 1, 1, 0, 1);
        var fleet = new FleetSnapshot(
            DateTimeOffset.UnixEpoch,
            [],
            [],
            [
                new WorkerView("farm.rig2", "other", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, double.PositiveInfinity, 0, []),
                new WorkerView("farm.rig1", "farm.rig1", 2, 10, 1, 2, 3, 4, 1, 0, 40960.5, 1.5e12, 1.25e12, 1e12, 0.25, 1_700_000_000_123, [pool]),
            ]);

        var json = JsonSerializer.Serialize(AdminEndpoints.Workers(fleet), AdminJson.Context.IReadOnlyListWorkerStatus);

        Assert.Equal(
            "[{\"worker\":\"farm.rig1\",\"sessions\":2,\"accepted\":10,\"stale\":1,\"duplicate\":2,\"low_difficulty\":3,\"invalid\":4,\"pool_rejected\":1,\"lost\":0,"
            + "\"accepted_difficulty\":40960.5,\"hashrate1m_hashes_per_second\":1500000000000,\"hashrate5m_hashes_per_second\":1250000000000,\"hashrate1h_hashes_per_second\":1000000000000,"
            + "\"hashrate5m_relative_uncertainty\":0.25,\"last_share_at\":\"2023-11-14T22:13:20.123+00:00\","
            + "\"pools\":[{\"pool\":\"main\",\"accepted\":10,\"forwarded\":11,\"pool_accepted\":9,\"pool_rejected\":1,\"in_flight\":1,\"lost\":0,\"gap\":1}]},"
            + "{\"worker\":\"farm.rig2\",\"sessions\":0,\"accepted\":0,\"stale\":0,\"duplicate\":0,\"low_difficulty\":0,\"invalid\":0,\"pool_rejected\":0,\"lost\":0,"
            + "\"accepted_difficulty\":0,\"hashrate1m_hashes_per_second\":0,\"hashrate5m_hashes_per_second\":0,\"hashrate1h_hashes_per_second\":0,"
            + "\"hashrate5m_relative_uncertainty\":-1,\"last_share_at\":null,\"pools\":[]}]",
            json);
    }
}
