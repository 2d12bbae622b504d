using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Routing;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>A connecting fleet is summed up at Information every 10 s; each miner's own line is at Debug.</summary>
public sealed class AuthorizedLogTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Miners_authorized_are_one_line_per_period_and_each_miners_line_is_at_debug()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logger = new RecordingLogger();
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyHarness.StartAsync(ProxyHarness.Options(pool), logger, time);
        await using var fleet = new MinerFleet(3, proxy.Miner("farm.rig", versionRolling: true) with { ShareLimit = 0 });
        await fleet.StartAsync();
        await fleet.WaitUntilAsync(f => f.Miners.All(m => m.JobsReceived > 0), Timeout, "a first job on every miner");

        var each = logger.Entries.Where(e => e.Event.Id == 104).ToArray();
        Assert.Equal(3, each.Length);
        Assert.All(each, e => Assert.Equal(LogLevel.Debug, e.Level));
        Assert.Contains(each, e => e.Message.StartsWith("Miner ", StringComparison.Ordinal) && e.Message.Contains("authorized as farm.rig", StringComparison.Ordinal));
        Assert.Empty(logger.Messages(108)); // the fake clock has not moved: no period is over

        time.Advance(ProxyEngine.AuthorizedSummaryPeriod);
        await proxy.WaitUntilAsync(() => logger.Messages(108).Count > 0, Timeout, "the summary line");
        var summary = Assert.Single(logger.Entries, e => e.Event.Id == 108);
        Assert.Equal(LogLevel.Information, summary.Level);
        Assert.Equal("3 miners authorized in the last 10 s; 3 miner connections open", summary.Message);

        // A period with nobody new writes nothing.
        time.Advance(ProxyEngine.AuthorizedSummaryPeriod);
        proxy.Engine.Tick();
        Assert.Single(logger.Messages(108));
    }
}
