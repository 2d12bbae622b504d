using StratumProxy.Rigs.Cgminer;
using StratumProxy.Rigs.Tests.Infrastructure;

namespace StratumProxy.Rigs.Tests;

/// <summary>cgminer 4.11.1, replayed from the captures in rig-api-examples.json.</summary>
public sealed class CgminerRigClientTests
{
    // Shaped after api.c's message table: no ASIC was attached when the captures were made, so these are synthetic.
    private const string DevsTwoAscs =
        "{\"STATUS\":[{\"STATUS\":\"S\",\"When\":1795634516,\"Code\":9,\"Msg\":\"2 ASC(s)\",\"Description\":\"cgminer 4.11.1\"}],"
        + "\"DEVS\":[{\"ASC\":0,\"Name\":\"ICA\",\"ID\":0,\"Enabled\":\"Y\",\"Status\":\"Alive\"},{\"ASC\":1,\"Name\":\"ICA\",\"ID\":1,\"Enabled\":\"Y\",\"Status\":\"Alive\"}],\"id\":1}\0";

    private const string DevsTwoAscsDisabled =
        "{\"STATUS\":[{\"STATUS\":\"S\",\"When\":1795634520,\"Code\":9,\"Msg\":\"2 ASC(s)\",\"Description\":\"cgminer 4.11.1\"}],"
        + "\"DEVS\":[{\"ASC\":0,\"Name\":\"ICA\",\"ID\":0,\"Enabled\":\"N\",\"Status\":\"Alive\"},{\"ASC\":1,\"Name\":\"ICA\",\"ID\":1,\"Enabled\":\"N\",\"Status\":\"Alive\"}],\"id\":1}\0";

    private static string AscDisabled(int id) =>
        $"{{\"STATUS\":[{{\"STATUS\":\"I\",\"When\":1795634517,\"Code\":64,\"Msg\":\"ASC {id} set disable flag\",\"Description\":\"cgminer 4.11.1\"}}],\"id\":1}}\0";

    [Fact]
    public async Task ReadStatus_JoinedCapture_SendsCapturedRequestAndReadsPools()
    {
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("cgminer.joined.summary_pools_config")));
        var client = new CgminerRigClient(server.Endpoint, new ObservableTime());

        var read = await client.ReadStatusAsync(CancellationToken.None);

        Assert.Equal(RigVectors.Request("cgminer.joined.summary_pools_config"), Assert.Single(server.Requests));
        var status = Assert.IsType<RigStatus>(read.Status);
        Assert.Equal(2, status.Pools.Count);
        Assert.Equal("stratum+tcp://127.0.0.1:3362", status.ActivePool?.Url); // priority 0 and stratum-active
        Assert.Equal(1, status.ActivePool?.Index);
        Assert.Equal(0.0, status.HashrateThs);
        Assert.Equal(RigMiningState.Idle, status.State); // no device attached, nothing hashing
        Assert.Equal(TimeSpan.FromSeconds(8), status.Uptime);
        Assert.Equal("cgminer 4.11.1", status.Firmware);
    }

    [Fact]
    public async Task SwitchPool_Captured_ConfirmedOnlyWhenReadBackShowsNewPoolActive()
    {
        var time = new ObservableTime();
        // Right after switchpool|1 cgminer still mined on pool 0 (captured): the first read-back must not confirm.
        var stillOnPool0 = Wire.Joined(
            ("summary", RigVectors.ReplyText("cgminer.summary.json")),
            ("pools", RigVectors.ReplyText("cgminer.pools.after_switchpool")),
            ("config", RigVectors.ReplyText("cgminer.config")));
        await using var server = new ReplayServer(
            ReplayStep.Reply(RigVectors.Reply("cgminer.switchpool.ok")),
            ReplayStep.Reply(stillOnPool0),
            ReplayStep.Reply(RigVectors.Reply("cgminer.joined.summary_pools_config")));
        var commander = new RigCommander(time);
        var rig = new RigHandle("rig-1", new CgminerRigClient(server.Endpoint, time));

        var run = commander.ExecuteAsync(rig, RigCommand.SwitchPool(1), CancellationToken.None);
        await time.AdvanceWhenWaitingAsync(rig.Timing.ReadBackDelay);
        await time.AdvanceWhenWaitingAsync(rig.Timing.ReadBackDelay);
        var report = await run;

        Assert.Equal(RigVectors.Request("cgminer.switchpool.ok"), server.Requests[0]);
        var confirmed = Assert.IsType<RigConfirmed>(report.Result);
        Assert.Equal(1, confirmed.Status.ActivePool?.Index);
        Assert.Equal(2, report.ReadBacks);
        Assert.Equal(1, report.ConnectAttempts);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task SwitchPool_ReadOnlyAccess_IsAccessDeniedAndNotReadBack()
    {
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("cgminer.access_denied.switchpool")));
        var time = new ObservableTime();
        var report = await new RigCommander(time).ExecuteAsync(
            new RigHandle("rig-1", new CgminerRigClient(server.Endpoint, time)), RigCommand.SwitchPool(0), CancellationToken.None);

        Assert.Equal(RigVectors.Request("cgminer.access_denied.switchpool"), Assert.Single(server.Requests));
        Assert.Equal(RigFailureReason.AccessDenied, Assert.IsType<RigFailed>(report.Result).Reason);
        Assert.Equal(0, report.ReadBacks);
    }

    [Fact]
    public async Task SwitchPool_InvalidPoolId_IsRejected()
    {
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("cgminer.switchpool.invalid_id")));
        var result = await new CgminerRigClient(server.Endpoint, new ObservableTime()).SwitchPoolAsync(7, CancellationToken.None);

        Assert.Equal(RigVectors.Request("cgminer.switchpool.invalid_id"), Assert.Single(server.Requests));
        var failed = Assert.IsType<RigFailed>(result);
        Assert.Equal(RigFailureReason.Rejected, failed.Reason);
        Assert.Contains("Invalid pool id 7", failed.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sleep_NoDevices_IsUnsupported()
    {
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("cgminer.devs.no_asc")));
        var result = await new CgminerRigClient(server.Endpoint, new ObservableTime()).SleepAsync(CancellationToken.None);

        Assert.Equal(RigVectors.Request("cgminer.devs.no_asc"), Assert.Single(server.Requests));
        Assert.IsType<RigUnsupported>(result);
    }

    [Fact]
    public async Task Sleep_DisablesEveryAscThenReadBackShowsAsleep()
    {
        var time = new ObservableTime();
        var joinedWithTwoAscs = RigVectors.ReplyText("cgminer.joined.summary_pools_config").Replace("\"ASC Count\":0", "\"ASC Count\":2", StringComparison.Ordinal) + "\0";
        await using var server = new ReplayServer(
            ReplayStep.Reply(DevsTwoAscs),
            ReplayStep.Reply(AscDisabled(0)),
            ReplayStep.Reply(AscDisabled(1)),
            ReplayStep.Reply(joinedWithTwoAscs),
            ReplayStep.Reply(DevsTwoAscsDisabled));
        var rig = new RigHandle("rig-1", new CgminerRigClient(server.Endpoint, time));

        var run = new RigCommander(time).ExecuteAsync(rig, RigCommand.Sleep, CancellationToken.None);
        await time.AdvanceWhenWaitingAsync(rig.Timing.ReadBackDelay);
        var report = await run;

        Assert.Equal(
            ["{\"command\":\"devs\"}", "{\"command\":\"ascdisable\",\"parameter\":\"0\"}", "{\"command\":\"ascdisable\",\"parameter\":\"1\"}",
             "{\"command\":\"summary+pools+config\"}", "{\"command\":\"devs\"}"],
            server.RequestTexts);
        Assert.Equal(RigMiningState.Asleep, Assert.IsType<RigConfirmed>(report.Result).Status.State);
    }

    [Fact]
    public async Task Sleep_DisableDenied_IsAccessDenied()
    {
        var denied = RigVectors.ReplyText("cgminer.access_denied.ascset").Replace("'ascset'", "'ascdisable'", StringComparison.Ordinal) + "\0";
        await using var server = new ReplayServer(ReplayStep.Reply(DevsTwoAscs), ReplayStep.Reply(denied));
        var result = await new CgminerRigClient(server.Endpoint, new ObservableTime()).SleepAsync(CancellationToken.None);

        Assert.Equal(RigFailureReason.AccessDenied, Assert.IsType<RigFailed>(result).Reason);
        Assert.Equal(2, server.Requests.Count); // stopped at the first refusal
    }

    [Fact]
    public async Task ReadStatus_ServerNeverAnswers_TimesOut()
    {
        var time = new ObservableTime();
        await using var server = new ReplayServer(ReplayStep.Silent());
        var endpoint = server.Endpoint with { CommandTimeout = TimeSpan.FromSeconds(7) };
        var read = new CgminerRigClient(endpoint, time).ReadStatusAsync(CancellationToken.None);

        await server.WaitForRequestsAsync(1);
        time.Advance(TimeSpan.FromSeconds(7));

        Assert.Equal(RigFailureReason.Timeout, (await read).Failure?.Reason);
    }

    [Fact]
    public async Task ReadStatus_ClosedWithoutReply_IsReported()
    {
        await using var server = new ReplayServer(ReplayStep.Close());
        var read = await new CgminerRigClient(server.Endpoint, new ObservableTime()).ReadStatusAsync(CancellationToken.None);

        Assert.Equal(RigFailureReason.ConnectionClosedWithoutReply, read.Failure?.Reason);
    }

    [Fact]
    public async Task ReadStatus_GarbageReply_IsInvalidReply()
    {
        await using var server = new ReplayServer(ReplayStep.Reply("HTTP/1.0 400 Bad Request\r\n\r\n<html>\0"));
        var read = await new CgminerRigClient(server.Endpoint, new ObservableTime()).ReadStatusAsync(CancellationToken.None);

        Assert.Equal(RigFailureReason.InvalidReply, read.Failure?.Reason);
    }

    [Fact]
    public async Task SwitchPool_NoReplyBeforeTimeout_IsUnknownAndNeverResent()
    {
        var time = new ObservableTime();
        var stillOnPool0 = Wire.Joined(
            ("summary", RigVectors.ReplyText("cgminer.summary.json")),
            ("pools", RigVectors.ReplyText("cgminer.pools.after_switchpool")),
            ("config", RigVectors.ReplyText("cgminer.config")));
        await using var server = new ReplayServer(ReplayStep.Silent());
        var rig = new RigHandle("rig-1", new CgminerRigClient(server.Endpoint, time), new RigTimingPolicy { ReadBackAttempts = 2, ReadBackDelay = TimeSpan.FromSeconds(3) });
        server.Enqueue(ReplayStep.Reply(stillOnPool0), ReplayStep.Reply(stillOnPool0));

        var run = new RigCommander(time).ExecuteAsync(rig, RigCommand.SwitchPool(1), CancellationToken.None);
        await server.WaitForRequestsAsync(1);
        time.Advance(server.Endpoint.CommandTimeout);
        await time.AdvanceWhenWaitingAsync(TimeSpan.FromSeconds(3));
        await time.AdvanceWhenWaitingAsync(TimeSpan.FromSeconds(3));
        var report = await run;

        var unconfirmed = Assert.IsType<RigUnconfirmed>(report.Result);
        Assert.False(unconfirmed.Acknowledged);
        Assert.Equal(0, unconfirmed.LastStatus?.ActivePool?.Index);
        Assert.Equal(1, server.RequestTexts.Count(r => r.Contains("switchpool", StringComparison.Ordinal)));
        Assert.Equal(2, report.ReadBacks);
    }
}
