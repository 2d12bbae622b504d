namespace StratumProxy.Host.Tests.Curtailment;

/// <summary>The rate the policy weighs for a rig covers only time it was hashing.</summary>
public sealed partial class CurtailmentLoopTests
{
    [Fact]
    public async Task A_woken_rig_is_weighed_at_its_running_rate_not_at_a_window_that_still_holds_its_sleep_and_is_not_slept_again()
    {
        var rigs = new FakeRigs();
        using var loop = Live(rigs, s => s with { MinOnDwell = TimeSpan.FromMinutes(1), MinOffDwell = TimeSpan.FromMinutes(1) });

        // Both rigs hash at their rated rates; at $45k the S19j Pro loses money and is slept.
        Hash(TimeSpan.FromMinutes(6), (S19, 100), (S21, 270));
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.False(rigs.IsAwake(S19));

        // Four minutes asleep; at $120k it earns about $3 a day at its rated 100 TH/s (and loses at a third of it).
        Hash(TimeSpan.FromMinutes(4), (S21, 270));
        _farm.Options = _farm.Options with { PriceUsd = 120_000 };
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.True(rigs.IsAwake(S19));

        // It hashes at 100 TH/s from the wake on. Ninety seconds later its 5-minute window is two-thirds sleep (about
        // 30 TH/s): weighed at that, it would be slept again as soon as the on-dwell allows. It is weighed at its
        // rating until it has hashed a minute, then at its rate since, then at the window once that is all hashing.
        var observed = new List<double>();
        for (var i = 0; i < 8; i++)
        {
            Hash(TimeSpan.FromSeconds(90), (S19, 100), (S21, 270));
            await loop.EvaluateAsync(CancellationToken.None);
            Assert.Equal("running", Rig(loop, S19).State);
            observed.Add(Rig(loop, S19).ObservedTerahashes);
        }

        Assert.Equal(["sleep farm.s19", "wake farm.s19"], rigs.Commands);
        Assert.Equal(0, observed[0]);                                 // rated: no span measured yet
        Assert.Equal(100, observed[1], 6);                            // its rate since it was first seen hashing
        Assert.All(observed.Skip(1), th => Assert.InRange(th, 90, 110)); // measured over hashing time only (the window's
                                                                          // shares fall on its bucket edges: ±1 share)
    }
}
