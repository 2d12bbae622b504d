using StratumProxy.Rigs.LuxOs;
using StratumProxy.Rigs.Tests.Infrastructure;

namespace StratumProxy.Rigs.Tests;

/// <summary>LuxOS: session and curtail exchanges from the vendor docs, reads from library fixtures.</summary>
public sealed class LuxOsRigClientTests
{
    private static string Doc(string id) => (string)RigVectors.Example(id)["request"]!["payload"]!;

    [Fact]
    public async Task Sleep_LogsOnThenCurtailsWithTheSessionId()
    {
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("luxos.logon")), ReplayStep.Reply(RigVectors.Reply("luxos.curtail.sleep")));
        var result = await new LuxOsRigClient(server.Endpoint, new ObservableTime()).SleepAsync(CancellationToken.None);

        Wire.JsonEqual(Doc("luxos.logon"), server.RequestTexts[0]);
        Wire.JsonEqual(Doc("luxos.curtail.sleep"), server.RequestTexts[1]);
        var unconfirmed = Assert.IsType<RigUnconfirmed>(result);
        Assert.True(unconfirmed.Acknowledged);
        Assert.Equal(RigMiningState.Asleep, unconfirmed.Expected.State);
    }

    [Fact]
    public async Task Session_ReusedWithinItsLifetime_RenewedAfterExpiry()
    {
        var time = new ObservableTime();
        await using var server = new ReplayServer(
            ReplayStep.Reply(RigVectors.Reply("luxos.logon")),
            ReplayStep.Reply(RigVectors.Reply("luxos.curtail.sleep")),
            ReplayStep.Reply(RigVectors.Reply("luxos.curtail.wakeup")),
            ReplayStep.Reply(RigVectors.Reply("luxos.logon")),
            ReplayStep.Reply(RigVectors.Reply("luxos.curtail.sleep")));
        var client = new LuxOsRigClient(server.Endpoint, time);

        await client.SleepAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(40));
        await client.WakeAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(61)); // the firmware drops a session 60 s after its last use
        await client.SleepAsync(CancellationToken.None);

        var commands = server.RequestTexts.Select(t => (string?)System.Text.Json.Nodes.JsonNode.Parse(t)!["command"]).ToList();
        Assert.Equal(["logon", "curtail", "curtail", "logon", "curtail"], commands);
        Wire.JsonEqual(Doc("luxos.curtail.wakeup"), server.RequestTexts[2]);
    }

    [Fact]
    public async Task Logon_AnotherSessionActive_IsBusyAndNothingIsWritten()
    {
        // Only Code 402, its message and the missing SESSION section are recorded (library code); the rest is filled in.
        const string busy = "{\"STATUS\":[{\"STATUS\":\"E\",\"When\":1667917312,\"Code\":402,\"Msg\":\"Another session is active\",\"Description\":\"LUXminer 0.1.0-15436f7140\"}],\"id\":1}\0";
        await using var server = new ReplayServer(ReplayStep.Reply(busy));
        var result = await new LuxOsRigClient(server.Endpoint, new ObservableTime()).SleepAsync(CancellationToken.None);

        Assert.Equal(RigFailureReason.Busy, Assert.IsType<RigFailed>(result).Reason);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task ReadStatus_Fixtures_ReadHashratePowerProfileAndPools()
    {
        await using var server = new ReplayServer(
            ReplayStep.Reply(RigVectors.Reply("luxos.summary")),
            ReplayStep.Reply(RigVectors.Reply("luxos.pools")),
            ReplayStep.Reply(RigVectors.Reply("luxos.config")),
            ReplayStep.Reply(RigVectors.Reply("luxos.power")));
        var read = await new LuxOsRigClient(server.Endpoint, new ObservableTime()).ReadStatusAsync(CancellationToken.None);

        var status = Assert.IsType<RigStatus>(read.Status);
        Assert.Equal(RigMiningState.Mining, status.State);
        Assert.Equal(59.75606, status.HashrateThs!.Value, 6); // GHS 5s 59756.06
        Assert.Equal(1051.0, status.PowerWatts);
        Assert.Equal("290MHz", status.Profile);
        Assert.Equal(0, status.ActivePool?.Index);
        Assert.Equal(TimeSpan.FromSeconds(3453), status.Uptime);
        Assert.Equal(["{\"command\":\"summary\"}", "{\"command\":\"pools\"}", "{\"command\":\"config\"}", "{\"command\":\"power\"}"], server.RequestTexts);
    }

    [Fact]
    public async Task SetPowerTarget_ProfileSetUnderSession_ExpectsTheProfileTheReplyNames()
    {
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("luxos.logon")), ReplayStep.Reply(RigVectors.Reply("luxos.profileset")));
        var result = await new LuxOsRigClient(server.Endpoint, new ObservableTime()).SetPowerTargetAsync(3000, CancellationToken.None);

        Wire.JsonEqual("{\"command\":\"profileset\",\"parameter\":\"yJN2nlj1,3000W\"}", server.RequestTexts[1]);
        Assert.Equal("default", Assert.IsType<RigUnconfirmed>(result).Expected.Profile);
    }

    [Fact]
    public async Task Sleep_ConfirmedWhenConfigShowsCurtailment()
    {
        var time = new ObservableTime();
        var curtailedConfig = RigVectors.ReplyText("luxos.config")
            .Replace("\"CurtailMode\":\"None\"", "\"CurtailMode\":\"Sleep\"", StringComparison.Ordinal)
            .Replace("\"IsPowerSupplyOn\":true", "\"IsPowerSupplyOn\":false", StringComparison.Ordinal) + "\0";
        await using var server = new ReplayServer(
            ReplayStep.Reply(RigVectors.Reply("luxos.logon")),
            ReplayStep.Reply(RigVectors.Reply("luxos.curtail.sleep")),
            ReplayStep.Reply(RigVectors.Reply("luxos.summary")),
            ReplayStep.Reply(RigVectors.Reply("luxos.pools")),
            ReplayStep.Reply(curtailedConfig),
            ReplayStep.Reply(RigVectors.Reply("luxos.power")));
        var rig = new RigHandle("lux-1", new LuxOsRigClient(server.Endpoint, time));

        var run = new RigCommander(time).ExecuteAsync(rig, RigCommand.Sleep, CancellationToken.None);
        await time.AdvanceWhenWaitingAsync(rig.Timing.ReadBackDelay);
        var report = await run;

        Assert.True(report.Result is RigConfirmed, report.Result.Detail);
        Assert.Equal(RigMiningState.Asleep, Assert.IsType<RigConfirmed>(report.Result).Status.State);
    }
}
