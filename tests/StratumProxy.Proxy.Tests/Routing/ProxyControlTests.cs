using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Tests.EndToEnd;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Routing;

/// <summary>The proxy as the host sees it: only <see cref="IProxyControl"/>.</summary>
public sealed class ProxyControlTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Snapshot_IsAFrozenCopy_SwitchAndUnpinByWorkerName()
    {
        await using var main = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var backup = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(main, backup));
        IProxyControl control = proxy.Engine;
        await proxy.WaitUntilAsync(() => control.Snapshot().Pools.All(p => p.IsReady), Patience, "both pools ready");

        await using var rig0 = new TestMiner(proxy.Miner("farm.rig0") with { HashesPerYield = 256 });
        await using var rig1 = new TestMiner(proxy.Miner("farm.rig1") with { HashesPerYield = 256 });
        await rig0.StartAsync();
        await rig1.StartAsync();
        await rig0.WaitForAcceptedAsync(2, Patience);
        await rig1.WaitForAcceptedAsync(2, Patience);

        var before = control.Snapshot();
        Assert.Equal(["pool0", "pool0"], before.Sessions.Select(s => s.Pool));
        Assert.Equal("pool0", before.PoolOf("farm.rig0"));
        Assert.Null(before.PoolOf("farm.nobody"));
        Assert.True(before.Worker("farm.rig0")!.Accepted >= 2);
        Assert.Null(before.Worker("farm.nobody"));
        var pool0 = Assert.Single(before.Pools, p => p.Name == "pool0");
        Assert.Equal((2, "aggregating", new MinerLayout(2, 4), false), (pool0.Miners, pool0.Mode, pool0.Layout.GroupLayout, pool0.Layout.Adapting));

        // Only the named worker moves; an empty list moves nobody; an unknown pool is refused.
        Assert.Equal(1, control.Switch("pool1", ["farm.rig1"], pin: true));
        Assert.Equal(0, control.Switch("pool1", [], pin: true));
        Assert.Throws<ArgumentException>(() => control.Switch("nope", null, pin: false));

        var after = control.Snapshot();
        Assert.Equal("pool1", after.PoolOf("farm.rig1"));
        Assert.Equal("pool0", after.PoolOf("farm.rig0"));
        Assert.Equal(1, Assert.Single(after.Pools, p => p.Name == "pool1").Miners);

        // The earlier snapshot is a copy: what happened since is not in it.
        Assert.Equal("pool0", before.PoolOf("farm.rig1"));
        Assert.Equal(2, Assert.Single(before.Pools, p => p.Name == "pool0").Miners);

        // Pinned, rig1 stays on pool1 through the engine's ticks; unpinned, it fails back to the priority pool.
        proxy.Engine.Tick();
        Assert.Equal("pool1", control.Snapshot().PoolOf("farm.rig1"));
        control.Unpin("farm.rig1");
        await proxy.WaitUntilAsync(
            () =>
            {
                proxy.Engine.Tick();
                return control.Snapshot().PoolOf("farm.rig1") == "pool0";
            },
            Patience,
            "rig1 back on pool0 after unpin");

        // Everyone, by a null list.
        Assert.Equal(2, control.Switch("pool1", null, pin: false));
        Assert.All(control.Snapshot().Sessions, s => Assert.Equal("pool1", s.Pool));
    }
}
