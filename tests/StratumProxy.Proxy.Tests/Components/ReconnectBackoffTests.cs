using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.Components;

public sealed class ReconnectBackoffTests
{
    /// <summary>A Random whose NextDouble is scripted, so every delay can be computed by hand.</summary>
    private sealed class ScriptedRandom(params double[] values) : Random
    {
        private int _next;

        public override double NextDouble() => values[Math.Min(_next++, values.Length - 1)];
    }

    private static double[] Delays(ReconnectBackoff backoff, int count) =>
        Enumerable.Range(0, count).Select(_ => backoff.NextDelay().TotalSeconds).ToArray();

    private static ReconnectBackoffOptions Options(BackoffJitter jitter) =>
        new() { Base = TimeSpan.FromSeconds(1), Cap = TimeSpan.FromSeconds(60), Jitter = jitter };

    [Fact]
    public void Decorrelated_TopOfRange_TriplesUpToTheCap()
    {
        var backoff = new ReconnectBackoff(Options(BackoffJitter.Decorrelated), new ScriptedRandom(1.0));

        // uniform(1, 3·previous) at its top: 3, 9, 27, then 81 capped to 60, and it stays there.
        Assert.Equal([3, 9, 27, 60, 60], Delays(backoff, 5));
    }

    [Fact]
    public void Decorrelated_MiddleOfRange_HandComputed()
    {
        var backoff = new ReconnectBackoff(Options(BackoffJitter.Decorrelated), new ScriptedRandom(0.5));

        // 1 + 0.5·(3 − 1) = 2; 1 + 0.5·(6 − 1) = 3.5; 1 + 0.5·(10.5 − 1) = 5.75
        Assert.Equal([2, 3.5, 5.75], Delays(backoff, 3));
    }

    [Fact]
    public void Decorrelated_BottomOfRange_NeverBelowBase()
    {
        var backoff = new ReconnectBackoff(Options(BackoffJitter.Decorrelated), new ScriptedRandom(0.0));

        Assert.Equal([1, 1, 1], Delays(backoff, 3));
    }

    [Fact]
    public void Full_TopOfRange_DoublesUpToTheCap()
    {
        var backoff = new ReconnectBackoff(Options(BackoffJitter.Full), new ScriptedRandom(1.0));

        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60], Delays(backoff, 8));
    }

    [Fact]
    public void Full_ScalesTheCeilingByTheDraw()
    {
        var backoff = new ReconnectBackoff(Options(BackoffJitter.Full), new ScriptedRandom(0.25, 0.5, 0.0));

        Assert.Equal([0.25, 1, 0], Delays(backoff, 3));
    }

    [Theory]
    [InlineData(BackoffJitter.Decorrelated)]
    [InlineData(BackoffJitter.Full)]
    public void Reset_AfterSuccess_StartsFromBaseAgain(BackoffJitter jitter)
    {
        var backoff = new ReconnectBackoff(Options(jitter), new ScriptedRandom(1.0));
        var first = Delays(backoff, 4);

        backoff.Reset();

        Assert.Equal(0, backoff.Attempt);
        Assert.Equal(first, Delays(backoff, 4));
        Assert.Equal(4, backoff.Attempt);
    }

    [Theory]
    [InlineData(BackoffJitter.Decorrelated, 1)]
    [InlineData(BackoffJitter.Full, 0)]
    public void NextDelay_SeededRandom_DeterministicAndWithinBounds(BackoffJitter jitter, double floor)
    {
        var a = Delays(new ReconnectBackoff(Options(jitter), new Random(1234)), 1000);
        var b = Delays(new ReconnectBackoff(Options(jitter), new Random(1234)), 1000);

        Assert.Equal(a, b);
        Assert.All(a, d => Assert.InRange(d, floor, 60));
        Assert.True(a.Distinct().Count() > 100, "the delays are jittered");
    }

    [Fact]
    public void Full_AfterVeryManyAttempts_StaysFinite()
    {
        var backoff = new ReconnectBackoff(Options(BackoffJitter.Full), new ScriptedRandom(1.0));

        var last = Delays(backoff, 5000)[^1];

        Assert.Equal(60, last);
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(5, 1)]
    public void Constructor_InvalidOptions_Throws(int baseSeconds, int capSeconds)
    {
        var options = new ReconnectBackoffOptions { Base = TimeSpan.FromSeconds(baseSeconds), Cap = TimeSpan.FromSeconds(capSeconds) };

        Assert.Throws<ArgumentException>(() => new ReconnectBackoff(options));
    }
}
