using StratumProxy.Rigs.Avalon;
using StratumProxy.Rigs.Tests.Infrastructure;

namespace StratumProxy.Rigs.Tests;

/// <summary>Avalon: softoff/softon/worklevel replies are library fixtures from an Avalon Q, workmode from the A10 docs.</summary>
public sealed class AvalonRigClientTests
{
    private static ObservableTime At(long unixSeconds) => new(DateTimeOffset.FromUnixTimeSeconds(unixSeconds));

    [Fact]
    public async Task Sleep_SchedulesSoftoffFiveSecondsAhead_AcceptsInfoSuccessReply()
    {
        // The recorded reply came at When=1753434816 and echoes softoff:1753434821.
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("avalon.softoff.q")));
        var result = await new AvalonRigClient(server.Endpoint, At(1753434816)).SleepAsync(CancellationToken.None);

        Assert.Equal(RigVectors.Request("avalon.softoff.q"), Assert.Single(server.Requests));
        var unconfirmed = Assert.IsType<RigUnconfirmed>(result);
        Assert.True(unconfirmed.Acknowledged);
        Assert.Equal(RigMiningState.Asleep, unconfirmed.Expected.State);
    }

    [Fact]
    public async Task Sleep_ReadOnlyApiAccess_CapturedCode45_IsAccessDenied()
    {
        // Captured from cgminer 4.11.1 with R: access, for exactly this ascset request.
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("cgminer.access_denied.ascset")));
        var result = await new AvalonRigClient(server.Endpoint, At(1699999995)).SleepAsync(CancellationToken.None);

        Assert.Equal(RigVectors.Request("cgminer.access_denied.ascset"), Assert.Single(server.Requests));
        Assert.Equal(RigFailureReason.AccessDenied, Assert.IsType<RigFailed>(result).Reason);
    }

    [Fact]
    public async Task Wake_SoftonClosesWithoutReply_ReadBackConfirms()
    {
        var time = At(1753434752);
        var hashingSummary = RigVectors.ReplyText("avalon.summary.q").Replace("\"MHS 5s\":0.0", "\"MHS 5s\":190000000.0", StringComparison.Ordinal);
        Assert.NotEqual(RigVectors.ReplyText("avalon.summary.q"), hashingSummary);
        await using var server = new ReplayServer(
            ReplayStep.Close(),
            ReplayStep.Reply(hashingSummary + "\0"),
            ReplayStep.Reply(RigVectors.Reply("avalon.pools.q")),
            ReplayStep.Reply(RigVectors.Reply("avalon.stats_mm.a1566")));
        var rig = new RigHandle("ava-1", new AvalonRigClient(server.Endpoint, time));

        var run = new RigCommander(time).ExecuteAsync(rig, RigCommand.Wake, CancellationToken.None);
        await time.AdvanceWhenWaitingAsync(rig.Timing.ReadBackDelay);
        var report = await run;

        Assert.Equal(RigVectors.Request("avalon.softon.q"), server.Requests[0]);
        var confirmed = Assert.IsType<RigConfirmed>(report.Result);
        Assert.Equal(RigMiningState.Mining, confirmed.Status.State);
        Assert.Equal(1, report.ConnectAttempts);
    }

    [Fact]
    public async Task ReadStatus_ReadsMmTokens()
    {
        await using var server = new ReplayServer(
            ReplayStep.Reply(RigVectors.Reply("avalon.summary.q")),
            ReplayStep.Reply(RigVectors.Reply("avalon.pools.q")),
            ReplayStep.Reply(RigVectors.Reply("avalon.stats_mm.a1566")));
        var read = await new AvalonRigClient(server.Endpoint, At(1753431516), AvalonWorkControl.WorkMode).ReadStatusAsync(CancellationToken.None);

        var status = Assert.IsType<RigStatus>(read.Status);
        Assert.Equal(3731.0, status.PowerWatts);        // WALLPOWER[3731]
        Assert.Equal(3515, status.PowerLimitWatts);     // MPO[3515]
        Assert.Equal(RigWorkMode.HighPerformance, status.WorkMode); // WORKMODE[1] on the A10-style control
        Assert.Equal(RigMiningState.Idle, status.State); // SoftOFF[0], MHS 5s 0.0
        Assert.Equal("15-194-24102401_25462b2_9ddf522", status.Firmware);
        Assert.Equal("stratum+tcp://pool.example.com:4444", status.ActivePool?.Url);
    }

    [Fact]
    public async Task SetWorkMode_WorkLevel_SendsFixtureRequestAndAcceptsSetOk()
    {
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("avalon.worklevel.q")));
        var result = await new AvalonRigClient(server.Endpoint, At(1753434997)).SetWorkModeAsync(RigWorkMode.Normal, CancellationToken.None);

        Assert.Equal(RigVectors.Request("avalon.worklevel.q"), Assert.Single(server.Requests));
        Assert.True(Assert.IsType<RigUnconfirmed>(result).Acknowledged);
    }

    [Fact]
    public async Task Sleep_HelpTextInsteadOfSuccess_IsRejected()
    {
        // Firmware without softoff answers I/118 with its option list (fixture avalon.ascset_help.q).
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("avalon.ascset_help.q")));
        var result = await new AvalonRigClient(server.Endpoint, At(1753431291)).SleepAsync(CancellationToken.None);

        Assert.Equal(RigFailureReason.Rejected, Assert.IsType<RigFailed>(result).Reason);
    }

    [Fact]
    public void Token_MatchesWholeKeysOnly()
    {
        const string mm = "Ver[1066] POWS[0] PS[0 1217 1279 221 2834 1280] SoftOFF[1] WORKMODE[1]";

        Assert.Equal("0 1217 1279 221 2834 1280", AvalonRigClient.Token(mm, "PS"));
        Assert.Equal("1", AvalonRigClient.Token(mm, "SoftOFF"));
        Assert.Null(AvalonRigClient.Token(mm, "WALLPOWER"));
    }
}
