using System.Text;
using StratumProxy.Rigs.Tests.Infrastructure;
using StratumProxy.Rigs.Whatsminer;

namespace StratumProxy.Rigs.Tests;

/// <summary>Whatsminer API v3: frames and tokens computed from the vendor doc, replies from a vendor mock and fixtures.</summary>
public sealed class WhatsminerV3RigClientTests
{
    private static byte[] Framed(string id) => WhatsminerV3RigClient.Frame(RigVectors.Reply(id, nulTerminated: false));

    private static byte[] FramedRequest(string id) => WhatsminerV3RigClient.Frame(RigVectors.Request(id));

    private static RigEndpoint Super(ReplayServer server) => server.Endpoint with { User = "super", Password = "super" };

    [Theory]
    [InlineData("set.miner.pools", "t5VzZdBe")]
    [InlineData("set.miner.service", "Yv6N+zUq")]
    [InlineData("set.miner.power_limit", "2D/i/yNJ")]
    [InlineData("set.miner.power_mode", "pGwS7b8Z")]
    public void Token_MatchesVectors(string command, string expected) =>
        Assert.Equal(expected, WhatsminerV3RigClient.Token(command, "super", "5QAHiKMb", 1692685512));

    [Fact]
    public void SaltRequestFrame_MatchesVectorHex()
    {
        var hex = (string)RigVectors.Example("wm3.frame")["request"]!["frame_hex"]!;

        Assert.Equal(Convert.FromHexString(hex), WhatsminerV3RigClient.Frame(WhatsminerV3RigClient.BuildGet("get.device.info", "salt")));
    }

    [Fact]
    public async Task Sleep_FetchesSaltThenSendsExactServiceStop()
    {
        await using var server = new ReplayServer(true, ReplayStep.Reply(Framed("wm3.frame")), ReplayStep.Reply(Framed("wm3.set.miner.service.stop")));
        var time = new ObservableTime(DateTimeOffset.FromUnixTimeSeconds(1692685512));
        var result = await new WhatsminerV3RigClient(Super(server), time).SleepAsync(CancellationToken.None);

        Assert.Equal(Convert.FromHexString((string)RigVectors.Example("wm3.frame")["request"]!["frame_hex"]!), server.Requests[0]);
        Assert.Equal(FramedRequest("wm3.set.miner.service.stop"), server.Requests[1]);
        Assert.True(Assert.IsType<RigUnconfirmed>(result).Acknowledged);
    }

    [Fact]
    public async Task PowerLimit_SendsIntegerParamAndReusesTheSalt()
    {
        await using var server = new ReplayServer(
            true,
            ReplayStep.Reply(Framed("wm3.frame")),
            ReplayStep.Reply(Framed("wm3.set.miner.service.start")),
            ReplayStep.Reply(Framed("wm3.set.miner.power_limit.3000")));
        var time = new ObservableTime(DateTimeOffset.FromUnixTimeSeconds(1692685512));
        var client = new WhatsminerV3RigClient(Super(server), time);

        await client.WakeAsync(CancellationToken.None);
        var result = await client.SetPowerTargetAsync(3000, CancellationToken.None);

        Assert.Equal(FramedRequest("wm3.set.miner.service.start"), server.Requests[1]);
        Assert.Equal(FramedRequest("wm3.set.miner.power_limit.3000"), server.Requests[2]);
        Assert.Equal(3000, Assert.IsType<RigUnconfirmed>(result).Expected.PowerLimitWatts);
    }

    [Fact]
    public async Task WorkMode_NoPermission_IsAccessDenied()
    {
        await using var server = new ReplayServer(true, ReplayStep.Reply(Framed("wm3.frame")), ReplayStep.Reply(Framed("wm3.no_permission")));
        var time = new ObservableTime(DateTimeOffset.FromUnixTimeSeconds(1692685512));
        var result = await new WhatsminerV3RigClient(Super(server), time).SetWorkModeAsync(RigWorkMode.LowPower, CancellationToken.None);

        Assert.Equal(FramedRequest("wm3.set.miner.power_mode.low"), server.Requests[1]);
        Assert.Equal(RigFailureReason.AccessDenied, Assert.IsType<RigFailed>(result).Reason);
    }

    [Fact]
    public async Task ReadStatus_Fixtures()
    {
        await using var server = new ReplayServer(
            true,
            ReplayStep.Reply(Framed("wm3.device_info.m50")),
            ReplayStep.Reply(Framed("wm3.status.summary")),
            ReplayStep.Reply(Framed("wm3.status.pools")),
            ReplayStep.Reply(Framed("wm3.miner_setting")));
        var read = await new WhatsminerV3RigClient(Super(server), new ObservableTime()).ReadStatusAsync(CancellationToken.None);

        var status = Assert.IsType<RigStatus>(read.Status);
        Assert.Equal(FramedRequest("wm3.status.summary"), server.Requests[1]);
        Assert.Equal(FramedRequest("wm3.status.pools"), server.Requests[2]);
        Assert.Equal(RigMiningState.Mining, status.State);
        Assert.Equal(171.259, status.HashrateThs);
        Assert.Equal(3156.0, status.PowerWatts);
        Assert.Equal(3600, status.PowerLimitWatts);
        Assert.Equal(RigWorkMode.Normal, status.WorkMode);
        Assert.Equal("stratum+tcp://btc.example.pool:3333", status.ActivePool?.Url);
        Assert.Equal("20250915.16.Rel2", status.Firmware);
        Assert.Contains("get.device.info", Encoding.UTF8.GetString(server.Requests[0]), StringComparison.Ordinal);
    }

    [Fact]
    public void Capabilities_MarkThePartialProtocol()
    {
        var client = new WhatsminerV3RigClient(new RigEndpoint("127.0.0.1", 4433), new ObservableTime());

        Assert.True(client.Capabilities.HasFlag(RigCapabilities.PartialProtocol));
        Assert.False(client.Capabilities.HasFlag(RigCapabilities.SwitchPool));
    }
}
