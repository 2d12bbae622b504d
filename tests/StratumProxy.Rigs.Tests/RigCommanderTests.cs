using System.Net;
using System.Net.Sockets;
using NSubstitute;
using StratumProxy.Rigs.Cgminer;
using StratumProxy.Rigs.Tests.Infrastructure;

namespace StratumProxy.Rigs.Tests;

public sealed class RigCommanderTests
{
    private static RigEndpoint ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new RigEndpoint("127.0.0.1", port);
    }

    [Fact]
    public async Task ConnectRefused_RetriedWithBackoffThenMarkedUnreachableAndLeftAlone()
    {
        var time = new ObservableTime();
        var client = new CgminerRigClient(ClosedPort(), time);
        var rig = new RigHandle("rig-9", client, new RigTimingPolicy { ConnectAttempts = 3, ConnectBackoff = TimeSpan.FromSeconds(2) });
        var commander = new RigCommander(time);

        var run = commander.ExecuteAsync(rig, RigCommand.Sleep, CancellationToken.None);
        await time.AdvanceWhenWaitingAsync(TimeSpan.FromSeconds(2));
        await time.AdvanceWhenWaitingAsync(TimeSpan.FromSeconds(4));
        var report = await run;

        Assert.Equal(RigFailureReason.Unreachable, Assert.IsType<RigFailed>(report.Result).Reason);
        Assert.Equal(3, report.ConnectAttempts);
        Assert.True(commander.IsUnreachable("rig-9"));

        var second = await commander.ExecuteAsync(rig, RigCommand.ReadStatus, CancellationToken.None);
        Assert.Equal(RigFailureReason.Unreachable, Assert.IsType<RigFailed>(second.Result).Reason);
        Assert.Equal(0, second.ConnectAttempts);
    }

    [Fact]
    public async Task Unreachable_AfterHoldOff_OneAttemptIsAllowedAgain()
    {
        var time = new ObservableTime();
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("cgminer.joined.summary_pools_config")));
        var unreachable = new RigHandle("rig-9", new CgminerRigClient(ClosedPort(), time), new RigTimingPolicy { ConnectAttempts = 1, UnreachableHoldOff = TimeSpan.FromMinutes(15) });
        var commander = new RigCommander(time);
        Assert.Equal(RigFailureReason.Unreachable, Assert.IsType<RigFailed>((await commander.ExecuteAsync(unreachable, RigCommand.ReadStatus, CancellationToken.None)).Result).Reason);

        time.Advance(TimeSpan.FromMinutes(15));
        var back = new RigHandle("rig-9", new CgminerRigClient(server.Endpoint, time));
        var report = await commander.ExecuteAsync(back, RigCommand.ReadStatus, CancellationToken.None);

        Assert.IsType<RigConfirmed>(report.Result);
        Assert.False(commander.IsUnreachable("rig-9"));
    }

    [Fact]
    public async Task OneCommandAtATimePerRig()
    {
        var first = new TaskCompletionSource<RigReadResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = Substitute.For<IRigClient>();
        client.Capabilities.Returns(RigCapabilities.ReadStatus);
        client.ReadStatusAsync(Arg.Any<CancellationToken>()).Returns(first.Task, Task.FromResult(RigReadResult.Ok(new RigStatus { State = RigMiningState.Mining })));
        var commander = new RigCommander(new ObservableTime());
        var rig = new RigHandle("rig-1", client, new RigTimingPolicy());
        var other = new RigHandle("rig-2", client, new RigTimingPolicy());

        var a = commander.ExecuteAsync(rig, RigCommand.ReadStatus, CancellationToken.None);
        var b = commander.ExecuteAsync(rig, RigCommand.ReadStatus, CancellationToken.None);

        await client.Received(1).ReadStatusAsync(Arg.Any<CancellationToken>());
        Assert.False(b.IsCompleted);
        first.SetResult(RigReadResult.Ok(new RigStatus { State = RigMiningState.Idle }));
        Assert.Equal(RigMiningState.Idle, (await a).Status?.State);
        Assert.Equal(RigMiningState.Mining, (await b).Status?.State);

        // A different rig is not held up by this one's lock.
        await commander.ExecuteAsync(other, RigCommand.ReadStatus, CancellationToken.None);
        await client.Received(3).ReadStatusAsync(Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task UnsupportedCommand_NeverTouchesTheRig()
    {
        var client = Substitute.For<IRigClient>();
        client.Capabilities.Returns(RigCapabilities.ReadStatus | RigCapabilities.Sleep);
        var report = await new RigCommander(new ObservableTime()).ExecuteAsync(new RigHandle("rig-1", client, new RigTimingPolicy()), RigCommand.SetPowerTarget(3000), CancellationToken.None);

        Assert.IsType<RigUnsupported>(report.Result);
        await client.DidNotReceiveWithAnyArgs().SetPowerTargetAsync(default, default);
    }

    [Fact]
    public async Task ReadBack_FailedReadsAreBoundedAndReportedUnconfirmed()
    {
        var time = new ObservableTime();
        var client = Substitute.For<IRigClient>();
        client.Capabilities.Returns(RigCapabilities.Wake | RigCapabilities.ReadStatus);
        client.WakeAsync(Arg.Any<CancellationToken>()).Returns(new RigUnconfirmed(new RigExpectation { State = RigMiningState.Mining }, true, "power_on: S 131"));
        client.ReadStatusAsync(Arg.Any<CancellationToken>()).Returns(RigReadResult.Fail(new RigFailed(RigFailureReason.ConnectFailed, "restarting")));
        var rig = new RigHandle("rig-1", client, new RigTimingPolicy { ReadBackAttempts = 3, ReadBackDelay = TimeSpan.FromSeconds(10) });

        var run = new RigCommander(time).ExecuteAsync(rig, RigCommand.Wake, CancellationToken.None);
        for (var i = 0; i < 3; i++)
        {
            await time.AdvanceWhenWaitingAsync(TimeSpan.FromSeconds(10));
        }

        var report = await run;
        var unconfirmed = Assert.IsType<RigUnconfirmed>(report.Result);
        Assert.True(unconfirmed.Acknowledged);
        Assert.Equal(3, report.ReadBacks);
        await client.Received(1).WakeAsync(Arg.Any<CancellationToken>());
        Assert.Equal(TimeSpan.FromSeconds(30), report.FinishedAt - report.StartedAt);
    }
}
