using StratumProxy.Economics.Rigs;
using StratumProxy.Farm;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Host.Tests;

public sealed class LastGoodConfigTests
{
    [Fact]
    public void Prepare_SameListenersAndSizes_NothingNeedsRestart()
    {
        var lastGood = new LastGoodConfig(Config("0.0.0.0:3333", 4));

        var (config, listeners, extranonce, poolLine) = lastGood.Prepare(Config("0.0.0.0:3333", 4));

        Assert.False(listeners);
        Assert.False(extranonce);
        Assert.False(poolLine);
        Assert.Equal("0.0.0.0:3333", Assert.Single(config.Proxy.Listeners).Endpoint);
    }

    [Fact]
    public void Prepare_ChangedListener_KeepsTheRunningOneAndSaysRestart()
    {
        var lastGood = new LastGoodConfig(Config("0.0.0.0:3333", 4));

        var (config, listeners, extranonce, poolLine) = lastGood.Prepare(Config("0.0.0.0:4444", 4));

        Assert.True(listeners);
        Assert.False(extranonce);
        Assert.False(poolLine);
        Assert.Equal("0.0.0.0:3333", Assert.Single(config.Proxy.Listeners).Endpoint);
    }

    [Fact]
    public void Prepare_ChangedExtranonceSize_SaysRestart()
    {
        var lastGood = new LastGoodConfig(Config("0.0.0.0:3333", 4));

        Assert.True(lastGood.Prepare(Config("0.0.0.0:3333", 3)).ExtranonceNeedsRestart);
    }

    [Fact]
    public void Prepare_ChangedPoolLineLimit_SaysRestart()
    {
        var lastGood = new LastGoodConfig(Config("0.0.0.0:3333", 4));
        var larger = Config("0.0.0.0:3333", 4);
        larger = larger with { Proxy = larger.Proxy with { Limits = new LimitOptions { MaxPoolLineLength = 1024 * 1024 } } };

        var (_, listeners, extranonce, poolLine) = lastGood.Prepare(larger);

        Assert.True(poolLine);
        Assert.False(listeners);
        Assert.False(extranonce);
    }

    [Fact]
    public void Commit_MakesTheConfigCurrent_LaterChecksCompareWithIt()
    {
        var lastGood = new LastGoodConfig(Config("0.0.0.0:3333", 4));
        var next = Config("0.0.0.0:3333", 3);

        lastGood.Commit(lastGood.Prepare(next).Config);

        Assert.Same(next, lastGood.Current);
        Assert.False(lastGood.Prepare(Config("0.0.0.0:3333", 3)).ExtranonceNeedsRestart);
    }

    private static LoadedConfig Config(string endpoint, int extranonce1Size) => new(
        new ProxyOptions
        {
            Listeners = [new ListenerOptions { Endpoint = endpoint }],
            Miners = new MinerOptions { Extranonce1Size = extranonce1Size },
        },
        new FarmOptions(),
        new CurtailmentSettings(),
        RigCatalog.LoadEmbedded());
}
