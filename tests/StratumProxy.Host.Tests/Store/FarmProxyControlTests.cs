using NSubstitute;
using Prometheus;
using StratumProxy.Proxy.Control;
using StratumProxy.Store;

namespace StratumProxy.Host.Tests.Store;

/// <summary>The leader's view of the farm: its own sessions and books, with the other instances' reports added.</summary>
public sealed class FarmProxyControlTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private readonly PostgresFarmStore _store = new(new StoreOptions { Provider = StoreProvider.Postgres, ConnectionString = "Host=127.0.0.1;Port=1", InstanceName = "a" });

    public void Dispose() => _store.Dispose();

    [Fact]
    public void Remote_sessions_and_hashrates_are_added_and_a_rig_connected_here_is_taken_from_here()
    {
        var local = Substitute.For<IProxyControl>();
        local.Snapshot().Returns(new FleetSnapshot(
            At,
            [],
            [new SessionView(1, "farm.here", "10.0.0.1:1", "cgminer", "primary", 1, At, "0001", 4)],
            [Worker("farm.here", sessions: 1, rate: 5e12, lastShare: 1000)]));
        var coordinator = new FarmCoordinator(_store, new StoreOptions(), Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)
        {
            Remote = new RemoteFleet(
                [new RemoteSession("b", 7, "farm.there", "pool2", "10.0.0.2:1", At), new RemoteSession("b", 8, "farm.here", "pool2", "10.0.0.3:1", At)],
                [new RemoteWorker("farm.there", "b", 7e12, 40, 123.5, 2000), new RemoteWorker("farm.here", "b", 1, 1, 1, 1)]),
        };

        var fleet = new FarmProxyControl(local, coordinator).Snapshot();

        Assert.Equal("pool2", fleet.PoolOf("farm.there"));
        Assert.Equal((7e12, 123.5, 2000L, 1), (fleet.Worker("farm.there")!.Hashrate5m, fleet.Worker("farm.there")!.AcceptedDifficulty, fleet.Worker("farm.there")!.LastShareUnixMs, fleet.Worker("farm.there")!.Sessions));

        // A rig whose miner is connected here is what this instance sees (a stale report elsewhere does not count).
        Assert.Equal("primary", fleet.PoolOf("farm.here"));
        Assert.Equal(5e12, fleet.Worker("farm.here")!.Hashrate5m);
        Assert.Equal(2, fleet.Sessions.Count);
    }

    private static WorkerView Worker(string name, int sessions, double rate, long lastShare) =>
        new(name, name, sessions, 10, 0, 0, 0, 0, 0, 0, 10, rate, rate, rate, 0.1, lastShare, []);
}
