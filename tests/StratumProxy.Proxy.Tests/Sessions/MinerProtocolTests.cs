using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Tests.Sessions;

/// <summary>The miner-side protocol state on its own: no session, no pipe.</summary>
public sealed class MinerProtocolTests
{
    private static readonly IDifficultyClamp Unclamped = new CappedAt(double.MaxValue);

    private readonly MinerProtocol _protocol = new();

    [Fact]
    public void SubmitPermission_FollowsSubscribeThenAuthorize()
    {
        Assert.Equal(SubmitPermission.NotSubscribed, _protocol.SubmitPermission);
        _protocol.Authorize("farm.rig1");
        Assert.Equal(SubmitPermission.NotSubscribed, _protocol.SubmitPermission);
        _protocol.Subscribe("cgminer/4.11.1");

        Assert.Equal(SubmitPermission.Allowed, _protocol.SubmitPermission);
    }

    [Fact]
    public void SubmitPermission_SubscribedButNotAuthorized_IsUnauthorized()
    {
        _protocol.Subscribe(null);

        Assert.Equal(SubmitPermission.Unauthorized, _protocol.SubmitPermission);
    }

    [Fact]
    public void Authorize_FirstNameIsKeptAndLaterOnesAreAnsweredWithoutChangingIt()
    {
        var first = _protocol.Authorize("  farm.rig1 ");
        var second = _protocol.Authorize("farm.rig2");

        Assert.Equal(new AuthorizeOutcome(true, true, null), first);
        Assert.Equal(new AuthorizeOutcome(true, false, null), second);
        Assert.Equal("farm.rig1", _protocol.Worker);
    }

    [Theory]
    [InlineData("farm.rig\u0000x")]
    [InlineData("farm.rig1\nfarm.rig2")]
    [InlineData("farm.rig\u007f")]
    public void Authorize_NameWithAControlCharacterOrABrokenSurrogate_IsRefusedAndLeavesNoWorker(string name)
    {
        // Such a name would reach log lines, metric labels and the farm store (PostgreSQL refuses a NUL in text).
        var outcome = _protocol.Authorize(name);

        Assert.False(outcome.Accepted);
        Assert.Contains("printable", outcome.Error, StringComparison.Ordinal);
        Assert.Null(_protocol.Worker);
    }

    [Fact]
    public void Authorize_NameWithALoneSurrogate_IsRefused()
    {
        // In the test's own code: a theory's data would reach the test with the surrogate already replaced.
        foreach (var name in (string[])["farm.rig\ud800", "farm.\udc00rig", "\udfff"])
        {
            Assert.False(new MinerProtocol().Authorize(name).Accepted, $"{name.Length} chars ending {(int)name[^1]:x4}");
        }
    }

    [Fact]
    public void Authorize_NameOutsideAscii_IsAccepted()
    {
        Assert.True(_protocol.Authorize("ферма.rig-😀").First);
        Assert.Equal("ферма.rig-😀", _protocol.Worker);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Authorize_EmptyOrTooLongName_IsRefusedAndLeavesNoWorker(string name)
    {
        Assert.False(_protocol.Authorize(name).Accepted);
        Assert.False(_protocol.Authorize(new string('w', MinerProtocol.MaxWorkerLength + 1)).Accepted);
        Assert.Null(_protocol.Worker);
        Assert.True(_protocol.Authorize(new string('w', MinerProtocol.MaxWorkerLength)).First);
    }

    [Fact]
    public void Subscribe_TheSameUserAgentFromManyAuthorizedMiners_IsHeldOnce()
    {
        // Each miner's subscribe parses its own string; once they are authorized, the sessions keep one copy of it
        // between them (in either order of subscribe and authorize). The name is this test's own, so no other test
        // has shared it first.
        var first = new MinerProtocol();
        var second = new MinerProtocol();
        var third = new MinerProtocol();
        first.Subscribe(new string("bmminer/2.0.0 (MinerProtocolTests)".AsSpan()));
        second.Subscribe(new string("bmminer/2.0.0 (MinerProtocolTests)".AsSpan()));
        third.Subscribe(new string("bmminer/2.0.0 (MinerProtocolTests)".AsSpan()));
        Assert.NotSame(first.UserAgent, second.UserAgent);

        first.Authorize("farm.rig1");
        second.Authorize("farm.rig2");
        Assert.Equal("bmminer/2.0.0 (MinerProtocolTests)", second.UserAgent);
        Assert.Same(first.UserAgent, second.UserAgent);

        // Not authorized: its own copy, which the table never saw.
        Assert.NotSame(first.UserAgent, third.UserAgent);
    }

    [Fact]
    public void Subscribe_LongUserAgent_IsCut()
    {
        _protocol.Subscribe(new string('u', 100));

        Assert.Equal(MinerProtocol.MaxUserAgentLength, _protocol.UserAgent!.Length);
    }

    [Fact]
    public void Configure_VersionRolling_NarrowsTheMinersMaskToThePools()
    {
        var outcome = _protocol.Configure(new ConfigureRequest(["version-rolling"], 0x1fffe000, 2, null), 0x00ffe000, Unclamped);

        Assert.Equal(new ConfigureOutcome(true, 0x00ffe000, null), outcome);
        Assert.True(_protocol.VersionRolling);
    }

    [Fact]
    public void Configure_MasksWithNoBitInCommon_RefuseRolling()
    {
        var outcome = _protocol.Configure(new ConfigureRequest(["version-rolling"], 0x00000fff, 2, null), 0x1fffe000, Unclamped);

        Assert.False(outcome.VersionRolling);
        Assert.False(_protocol.VersionRolling);
    }

    [Fact]
    public void Configure_WithoutAMask_AsksForTheBip320Default()
    {
        _protocol.Configure(new ConfigureRequest(["version-rolling"], null, null, null), 0xffffffff, Unclamped);

        Assert.Equal(MinerSession.DefaultVersionMask, _protocol.VersionMask);
    }

    [Fact]
    public void Configure_MinimumDifficulty_IsClampedAndOnlyAnsweredWhenAsked()
    {
        var none = _protocol.Configure(new ConfigureRequest(["version-rolling"], 0x1fffe000, null, 512), 0x1fffe000, Unclamped);
        Assert.Null(none.MinimumDifficulty);
        Assert.Equal(0, _protocol.MinimumDifficulty);

        var asked = _protocol.Configure(new ConfigureRequest(["minimum-difficulty"], null, null, 512), 0x1fffe000, new CappedAt(256));

        Assert.True(asked.MinimumDifficulty);
        Assert.Null(asked.VersionRolling);
        Assert.Equal(256, _protocol.MinimumDifficulty);
    }

    [Fact]
    public void OnPoolMask_WithoutRolling_TellsNothing()
    {
        Assert.False(_protocol.OnPoolMask(0x1fffe000, out _));
    }

    [Fact]
    public void OnPoolMask_WithRolling_NarrowsAndAlwaysTells()
    {
        _protocol.Configure(new ConfigureRequest(["version-rolling"], 0x1fffe000, null, null), 0x1fffe000, Unclamped);

        Assert.True(_protocol.OnPoolMask(0x0000e000, out var mask));
        Assert.Equal(0x0000e000u, mask);
        Assert.True(_protocol.OnPoolMask(0x0000e000, out _));
    }

    [Fact]
    public void OnAttach_TellsOnlyAChangedMask()
    {
        _protocol.Configure(new ConfigureRequest(["version-rolling"], 0x1fffe000, null, null), 0x1fffe000, Unclamped);

        Assert.False(_protocol.OnAttach(0x1fffe000, out _));
        Assert.False(_protocol.OnAttach(0, out _));
        Assert.True(_protocol.OnAttach(0x00ffe000, out var mask));
        Assert.Equal(0x00ffe000u, mask);
    }

    [Fact]
    public void SubscribeExtranonce_IsRemembered()
    {
        Assert.False(_protocol.WantsExtranonceUpdates);
        _protocol.SubscribeExtranonce();

        Assert.True(_protocol.WantsExtranonceUpdates);
    }

    [Fact]
    public void SuggestedDifficulty_ZeroTargetIsIgnoredAndADifficultyOneTargetIsOne()
    {
        Assert.Null(MinerProtocol.SuggestedDifficulty(UInt256.Zero));
        Assert.Equal(1, MinerProtocol.SuggestedDifficulty(Difficulty.ToTarget(1))!.Value, 9);
    }

    private sealed class CappedAt(double max) : IDifficultyClamp
    {
        public double Clamp(double difficulty) => Math.Min(difficulty, max);
    }
}
