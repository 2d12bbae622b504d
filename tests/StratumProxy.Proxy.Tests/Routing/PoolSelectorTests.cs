using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Routing;

namespace StratumProxy.Proxy.Tests.Routing;

public sealed class PoolSelectorTests
{
    private static readonly MinerLayout Configured = new(2, 4);
    private static readonly FailBackRule FailBack = new(true, TimeSpan.FromSeconds(60));
    private static readonly Dictionary<string, double> NoLoad = new(StringComparer.Ordinal);

    [Fact]
    public void Choose_NewMiner_GoesToBestReadyPriority()
    {
        PoolCandidate[] pools = [Pool("backup", priority: 1), Pool("main", priority: 0), Pool("down", priority: -1, ready: false)];

        var chosen = PoolSelector.Choose(Miner(), pools, FailBack, _ => NoLoad);

        Assert.Equal("main", chosen?.Name);
    }

    [Fact]
    public void Choose_NewMiner_OneReadyPoolOfItsGroup_IsChosenWithoutAllocating()
    {
        PoolCandidate[] pools = [Pool("main", priority: 0), Pool("down", priority: -1, ready: false), Pool("elsewhere", group: "b")];
        var miner = Miner();
        Func<IReadOnlyList<PoolCandidate>, IReadOnlyDictionary<string, double>> loadOf = _ => NoLoad;
        PoolSelector.Choose(miner, pools, FailBack, loadOf);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var chosen = PoolSelector.Choose(miner, pools, FailBack, loadOf);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal("main", chosen?.Name);
        Assert.Equal(0, allocated);
        Assert.Equal("main", PoolSelector.Choose(Miner(pinned: "down"), pools, FailBack, loadOf)?.Name);
    }

    [Fact]
    public void Choose_OtherGroupOnly_NoPool()
    {
        PoolCandidate[] pools = [Pool("elsewhere", group: "b")];

        Assert.Null(PoolSelector.Choose(Miner(), pools, FailBack, _ => NoLoad));
    }

    [Fact]
    public void Choose_OnLowerPriority_StaysUntilBetterPoolReadyForDelay()
    {
        PoolCandidate[] fresh = [Pool("main", priority: 0, readyFor: TimeSpan.FromSeconds(59)), Pool("backup", priority: 1)];
        PoolCandidate[] settled = [Pool("main", priority: 0, readyFor: TimeSpan.FromSeconds(60)), Pool("backup", priority: 1)];

        Assert.Equal("backup", PoolSelector.Choose(Miner(current: "backup"), fresh, FailBack, _ => NoLoad)?.Name);
        Assert.Equal("main", PoolSelector.Choose(Miner(current: "backup"), settled, FailBack, _ => NoLoad)?.Name);
    }

    [Fact]
    public void Choose_FailBackOff_StaysOnReadyCurrent()
    {
        PoolCandidate[] pools = [Pool("main", priority: 0, readyFor: TimeSpan.FromHours(1)), Pool("backup", priority: 1)];

        var chosen = PoolSelector.Choose(Miner(current: "backup"), pools, FailBack with { Enabled = false }, _ => NoLoad);

        Assert.Equal("backup", chosen?.Name);
    }

    [Fact]
    public void Choose_CurrentNotReady_FailsOver()
    {
        PoolCandidate[] pools = [Pool("main", priority: 0, ready: false), Pool("backup", priority: 1)];

        Assert.Equal("backup", PoolSelector.Choose(Miner(current: "main"), pools, FailBack, _ => NoLoad)?.Name);
    }

    [Fact]
    public void Choose_PinnedToReadyPool_GoesThereWhateverItsPriorityOrGroup()
    {
        PoolCandidate[] pools = [Pool("main", priority: 0), Pool("other", priority: 5, group: "b")];

        var chosen = PoolSelector.Choose(Miner(current: "main", pinned: "other"), pools, FailBack, _ => NoLoad);

        Assert.Equal("other", chosen?.Name);
    }

    [Fact]
    public void Choose_PinnedPoolNotReady_BestOfGroupInstead()
    {
        PoolCandidate[] pools = [Pool("main", priority: 0), Pool("backup", priority: 1), Pool("pinned", priority: 2, ready: false)];

        // A pinned miner is not sticky: it takes the best tier, not the pool it happens to be on.
        var chosen = PoolSelector.Choose(Miner(current: "backup", pinned: "pinned"), pools, FailBack, _ => NoLoad);

        Assert.Equal("main", chosen?.Name);
    }

    [Fact]
    public void Choose_PoolTooSmallForLayout_NeverChosen()
    {
        // k + n = 6: a pool with N = 5 cannot hold it, even pinned, even when it is the only better one.
        PoolCandidate[] pools = [Pool("small", priority: 0, extranonce2Size: 5), Pool("wide", priority: 1, extranonce2Size: 8)];

        Assert.Equal("wide", PoolSelector.Choose(Miner(), pools, FailBack, _ => NoLoad)?.Name);
        Assert.Equal("wide", PoolSelector.Choose(Miner(pinned: "small"), pools, FailBack, _ => NoLoad)?.Name);
        Assert.Equal("wide", PoolSelector.Choose(Miner(current: "wide"), pools, FailBack, _ => NoLoad)?.Name);
    }

    [Fact]
    public void Choose_OnlyPoolTooSmall_NoPoolEvenWhenCurrent()
    {
        PoolCandidate[] pools = [Pool("small", extranonce2Size: 5)];

        Assert.Null(PoolSelector.Choose(Miner(current: "small"), pools, FailBack, _ => NoLoad));
    }

    [Fact]
    public void Choose_SmallerLayoutFitsTheSmallPool()
    {
        PoolCandidate[] pools = [Pool("small", priority: 0, extranonce2Size: 4), Pool("wide", priority: 1)];

        var chosen = PoolSelector.Choose(Miner(layout: new MinerLayout(1, 3)), pools, FailBack, _ => NoLoad);

        Assert.Equal("small", chosen?.Name);
    }

    [Fact]
    public void Choose_UnknownExtranonce2Size_AssumedToFit()
    {
        PoolCandidate[] pools = [Pool("unknown", extranonce2Size: null)];

        Assert.Equal("unknown", PoolSelector.Choose(Miner(layout: new MinerLayout(3, 8)), pools, FailBack, _ => NoLoad)?.Name);
    }

    [Fact]
    public void Choose_OneCandidate_DoesNotAskForLoad()
    {
        PoolCandidate[] pools = [Pool("main", priority: 0), Pool("backup", priority: 1)];

        var chosen = PoolSelector.Choose(Miner(), pools, FailBack, _ => throw new InvalidOperationException("load asked for one pool"));

        Assert.Equal("main", chosen?.Name);
    }

    [Fact]
    public void Choose_TierOfTwo_GoesToThePoolFurthestBelowItsWeight()
    {
        PoolCandidate[] pools = [Pool("a", weight: 1), Pool("b", weight: 3)];
        IReadOnlyList<PoolCandidate>? asked = null;

        var chosen = PoolSelector.Choose(Miner(), pools, FailBack, tier =>
        {
            asked = tier;
            return new Dictionary<string, double>(StringComparer.Ordinal) { ["a"] = 10, ["b"] = 20 };
        });

        // a: 1/4 - 10/30 < 0; b: 3/4 - 20/30 > 0.
        Assert.Equal("b", chosen?.Name);
        Assert.Equal(["a", "b"], asked!.Select(p => p.Name));
    }

    [Fact]
    public void ByShare_AllTargetsSet_FurthestBelowTarget()
    {
        PoolCandidate[] tier = [Pool("a", target: 100), Pool("b", target: 50)];
        var load = new Dictionary<string, double>(StringComparer.Ordinal) { ["a"] = 90, ["b"] = 20 };

        Assert.Equal("b", PoolSelector.ByShare(tier, load).Name);
    }

    [Fact]
    public void ByShare_OneTargetMissing_UsesWeights()
    {
        PoolCandidate[] tier = [Pool("a", target: 100, weight: 1), Pool("b", target: 0, weight: 1)];
        var load = new Dictionary<string, double>(StringComparer.Ordinal) { ["a"] = 1, ["b"] = 3 };

        Assert.Equal("a", PoolSelector.ByShare(tier, load).Name);
    }

    [Fact]
    public void ByShare_NoLoadYet_FirstPoolOfTheTier()
    {
        PoolCandidate[] tier = [Pool("a"), Pool("b")];

        Assert.Equal("a", PoolSelector.ByShare(tier, NoLoad).Name);
    }

    [Fact]
    public void Pin_ApiPinBeatsConfiguredPin()
    {
        var api = new Dictionary<string, string>(StringComparer.Ordinal) { ["rig1"] = "api" };
        var configured = new Dictionary<string, string>(StringComparer.Ordinal) { ["rig1"] = "config", ["rig2"] = "config" };

        Assert.Equal("api", PoolSelector.Pin("rig1", api, configured));
        Assert.Equal("config", PoolSelector.Pin("rig2", api, configured));
        Assert.Null(PoolSelector.Pin("rig3", api, configured));
    }

    [Fact]
    public void Fallbacks_OtherReadyFittingPoolsOfTheGroup_ByPriority()
    {
        PoolCandidate[] pools =
        [
            Pool("desired", priority: 0),
            Pool("third", priority: 3),
            Pool("second", priority: 2),
            Pool("small", priority: 1, extranonce2Size: 5),
            Pool("down", priority: 1, ready: false),
            Pool("foreign", priority: 1, group: "b"),
        ];

        var fallbacks = PoolSelector.Fallbacks(Miner(), pools[0], pools);

        Assert.Equal(["second", "third"], fallbacks.Select(p => p.Name));
    }

    [Fact]
    public void FitsNoReadyPool_TrueOnlyWhenReadyPoolsExistAndNoneFits()
    {
        PoolCandidate[] small = [Pool("small", extranonce2Size: 4), Pool("wide-but-down", ready: false)];
        PoolCandidate[] none = [Pool("down", ready: false)];

        Assert.True(PoolSelector.FitsNoReadyPool("a", Configured, small));
        Assert.False(PoolSelector.FitsNoReadyPool("a", new MinerLayout(1, 3), small));
        Assert.False(PoolSelector.FitsNoReadyPool("a", Configured, none));
        Assert.False(PoolSelector.FitsNoReadyPool("b", Configured, small));
    }

    [Theory]
    [InlineData(null, 2, 4)]
    [InlineData(8, 2, 4)]
    [InlineData(5, 2, 3)]
    [InlineData(4, 1, 3)]
    [InlineData(2, 0, 2)]
    public void LayoutFor_SmallestKnownSizeOfTheGroup(int? smallest, int k, int n)
    {
        PoolCandidate[] pools = [Pool("wide", extranonce2Size: 8), Pool("other", extranonce2Size: smallest), Pool("foreign", group: "b", extranonce2Size: 2)];

        Assert.Equal(new MinerLayout(k, n), PoolSelector.LayoutFor("a", pools, Configured));
    }

    [Fact]
    public void AdaptingPool_ThePoolThatShrinksTheLayout()
    {
        PoolCandidate[] pools = [Pool("wide", extranonce2Size: 8), Pool("small", extranonce2Size: 4), Pool("smaller", group: "b", extranonce2Size: 3)];

        Assert.Equal("small", PoolSelector.AdaptingPool("a", pools, Configured)?.Name);
        Assert.Null(PoolSelector.AdaptingPool("a", [Pool("wide", extranonce2Size: 8)], Configured));
    }

    [Theory]
    [InlineData(2, 4, 6, true)]
    [InlineData(2, 4, 5, false)]
    [InlineData(1, 3, 4, true)]
    [InlineData(0, 2, 1, false)]
    public void Fits_PoolExtranonce2MustHoldKPlusN(int k, int n, int poolSize, bool fits)
    {
        Assert.Equal(fits, PoolSelector.Fits(poolSize, new MinerLayout(k, n)));
        Assert.True(PoolSelector.Fits(null, new MinerLayout(k, n)));
    }

    private static MinerRoute Miner(string? current = null, string? pinned = null, MinerLayout? layout = null) =>
        new("a", layout ?? Configured, pinned, current);

    private static PoolCandidate Pool(
        string name,
        int priority = 0,
        string group = "a",
        bool ready = true,
        TimeSpan? readyFor = null,
        int? extranonce2Size = 8,
        double weight = 1,
        double target = 0) =>
        new(name, group, priority, weight, target, ready, readyFor ?? TimeSpan.FromHours(1), extranonce2Size);
}
