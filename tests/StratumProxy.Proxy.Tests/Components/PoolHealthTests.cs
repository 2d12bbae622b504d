using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.Components;

public sealed class PoolHealthTests
{
    private readonly FakeTimeProvider _time = new();

    private PoolHealth Connected(PoolHealthOptions? options = null)
    {
        var health = new PoolHealth(options ?? new PoolHealthOptions(), _time);
        health.OnConnected();
        return health;
    }

    [Fact]
    public void NeverConnected_ScoreZeroAndUnhealthy()
    {
        var health = new PoolHealth(new PoolHealthOptions(), _time);

        Assert.Equal(0, health.Score);
        Assert.False(health.IsHealthy);
    }

    [Fact]
    public void ConnectedWithoutSamples_Perfect()
    {
        var health = Connected();

        Assert.Equal(1, health.Score);
        Assert.True(health.IsHealthy);
        Assert.Null(health.Evaluate().LatencyEwmaSeconds);
    }

    [Fact]
    public void Latency_Ewma_HandComputed()
    {
        var health = Connected();
        health.OnSubmitResult(accepted: true, TimeSpan.FromSeconds(1));
        health.OnSubmitResult(accepted: true, TimeSpan.FromSeconds(10));

        var snapshot = health.Evaluate();

        // ewma = 0.2·10 + 0.8·1 = 2.8 s; latency factor = (10 − 2.8) / (10 − 1) = 0.8
        Assert.Equal(2.8, snapshot.LatencyEwmaSeconds!.Value, 12);
        Assert.Equal(0.8, snapshot.LatencyScore, 12);
        Assert.Equal(0.8, snapshot.Score, 12);
    }

    [Fact]
    public void RejectRate_TwoInTen_HandComputed()
    {
        var health = Connected();
        for (var i = 0; i < 10; i++)
        {
            health.OnSubmitResult(accepted: i >= 2, TimeSpan.FromMilliseconds(50));
        }

        var snapshot = health.Evaluate();

        // rate 0.2, factor 1 − 0.2 / 0.5 = 0.6
        Assert.Equal(0.6, snapshot.RejectScore, 12);
        Assert.Equal(0.6, snapshot.Score, 12);
        Assert.Equal(8, snapshot.Accepted);
        Assert.Equal(2, snapshot.Rejected);
    }

    [Fact]
    public void RejectRate_FewerVerdictsThanMinimum_NotJudged()
    {
        var health = Connected();
        for (var i = 0; i < 9; i++)
        {
            health.OnSubmitResult(accepted: false, TimeSpan.FromMilliseconds(50));
        }

        Assert.Equal(1, health.Evaluate().RejectScore);
    }

    [Fact]
    public void RejectsEverything_Unhealthy()
    {
        var health = Connected();
        Assert.True(health.IsHealthy);

        for (var i = 0; i < 20; i++)
        {
            health.OnSubmitResult(accepted: false, TimeSpan.FromMilliseconds(50));
        }

        Assert.Equal(0, health.Score);
        Assert.False(health.IsHealthy);
    }

    [Fact]
    public void OneDisconnectThenReconnect_HealthyAgainAtOnce()
    {
        var health = Connected();

        health.OnDisconnected();
        Assert.False(health.IsHealthy);
        health.OnConnected();

        // error factor 1 − 1/5
        Assert.Equal(0.8, health.Score, 12);
        Assert.True(health.IsHealthy);
    }

    [Fact]
    public void FiveErrorsInTheWindow_ScoreZero_ThenExpireAfterTheWindow()
    {
        var health = Connected();
        for (var i = 0; i < 3; i++)
        {
            health.OnError();
        }

        health.OnSubmitTimeout(TimeSpan.FromMilliseconds(500));
        health.OnDisconnected();
        health.OnConnected();
        Assert.Equal(0, health.Score);
        Assert.Equal(5, health.Evaluate().Errors);

        // 30 s buckets over 5 minutes: the errors at t = 0 still count at 299 s and are gone at 300 s.
        _time.Advance(TimeSpan.FromSeconds(299));
        Assert.Equal(0, health.Score);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, health.Score);
    }

    [Fact]
    public void IsHealthy_Hysteresis_BetweenThresholds_KeepsThePreviousDecision()
    {
        // α = 1 makes the EWMA the last round-trip, so latency factor = (10 − rtt) / 9 sets the score directly.
        var health = Connected(new PoolHealthOptions { LatencyEwmaAlpha = 1 });
        void ScoreBy(double rttSeconds) => health.OnSubmitResult(accepted: true, TimeSpan.FromSeconds(rttSeconds));

        ScoreBy(6.4); // 0.4: between 0.3 and 0.6, was healthy → stays healthy
        Assert.Equal(0.4, health.Score, 12);
        Assert.True(health.IsHealthy);

        ScoreBy(8.2); // 0.2 → unhealthy
        Assert.False(health.IsHealthy);

        ScoreBy(6.4); // 0.4 again, was unhealthy → stays unhealthy
        Assert.False(health.IsHealthy);

        ScoreBy(4.6); // 0.6 → healthy
        Assert.True(health.IsHealthy);
    }

    [Fact]
    public void SubmitTimeout_EntersLatencyAsTheTimeout()
    {
        var health = Connected();

        health.OnSubmitTimeout(TimeSpan.FromSeconds(30));

        var snapshot = health.Evaluate();
        Assert.Equal(30, snapshot.LatencyEwmaSeconds);
        Assert.Equal(0, snapshot.LatencyScore);
        Assert.False(snapshot.IsHealthy);
    }

    [Fact]
    public void Constructor_InvertedThresholds_Throws()
    {
        var options = new PoolHealthOptions { UnhealthyBelow = 0.7, HealthyAtOrAbove = 0.5 };

        Assert.Throws<ArgumentException>(() => new PoolHealth(options, _time));
    }
}
