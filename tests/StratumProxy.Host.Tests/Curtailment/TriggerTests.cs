using StratumProxy.Farm;

namespace StratumProxy.Host.Tests.Curtailment;

public sealed class TriggerTests
{
    private static readonly CurtailmentService.Inputs Base = new(60_000, 1.1e14, 0.06, "off-peak", false);

    [Fact]
    public void The_policy_runs_again_at_once_when_an_input_moves_and_not_for_noise()
    {
        Assert.True(CurtailmentService.Moved(null, Base));
        Assert.False(CurtailmentService.Moved(Base, Base));
        Assert.False(CurtailmentService.Moved(Base, Base with { Price = 60_600 }));   // 1 %: noise
        Assert.True(CurtailmentService.Moved(Base, Base with { Price = 61_300 }));    // 2.2 %
        Assert.True(CurtailmentService.Moved(Base, Base with { Price = 58_700 }));
        Assert.True(CurtailmentService.Moved(Base, Base with { Difficulty = 1.12e14 })); // a retarget
        Assert.True(CurtailmentService.Moved(Base, Base with { Band = "peak" }));
        Assert.True(CurtailmentService.Moved(Base, Base with { Energy = 0.09 }));
        Assert.False(CurtailmentService.Moved(Base, Base with { Energy = 0.0601 }));
        Assert.True(CurtailmentService.Moved(Base, Base with { DemandResponse = true }));
    }
}
