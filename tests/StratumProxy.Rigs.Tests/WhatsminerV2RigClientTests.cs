using System.Text;
using StratumProxy.Rigs.Tests.Infrastructure;
using StratumProxy.Rigs.Whatsminer;

namespace StratumProxy.Rigs.Tests;

/// <summary>Whatsminer API v2: captured get_token reply, write requests computed from the documented algorithm.</summary>
public sealed class WhatsminerV2RigClientTests
{
    private static RigEndpoint WithPassword(ReplayServer server) => server.Endpoint with { Password = "admin" };

    [Fact]
    public void TokenDerivation_MatchesVector()
    {
        var derived = RigVectors.Example("wm2.token_vector")["response"]!["derived"]!;

        Assert.Equal((string?)derived["md5crypt(admin_password, salt)"], Md5Crypt.Hash("admin", "BQ5hoXV9"));
        var token = WhatsminerV2Token.Derive("admin", "BQ5hoXV9", "P5NTAcEp", "5039");
        Assert.Equal((string?)derived["sign (token)"], token.Sign);
        Assert.Equal((string?)derived["aes256_key_hex = sha256(key)"], Convert.ToHexStringLower(token.AesKey));
    }

    [Fact]
    public void EncryptedReply_DecryptsToTheRecordedPlaintext()
    {
        var example = RigVectors.Example("wm2.encrypted_reply.roundtrip");
        var token = WhatsminerV2Token.Derive("admin", "BQ5hoXV9", "P5NTAcEp", "5039");
        var envelope = System.Text.Json.Nodes.JsonNode.Parse((string)example["response"]!["payload"]!)!;

        Assert.Equal((string?)example["response"]!["decrypts_to"], token.Decrypt((string)envelope["enc"]!));
    }

    [Fact]
    public async Task Sleep_GetsTokenThenSendsTheExactEncryptedPowerOff()
    {
        await using var server = new ReplayServer(
            ReplayStep.Reply(RigVectors.Reply("wm2.get_token")),
            ReplayStep.Reply(RigVectors.Reply("wm2.encrypted_reply.roundtrip")));
        var result = await new WhatsminerV2RigClient(WithPassword(server), new ObservableTime()).SleepAsync(CancellationToken.None);

        Assert.Equal(RigVectors.Request("wm2.get_token"), server.Requests[0]);
        Assert.Equal(RigVectors.Request("wm2.power_off.request"), server.Requests[1]);
        var unconfirmed = Assert.IsType<RigUnconfirmed>(result);
        Assert.True(unconfirmed.Acknowledged);
        Assert.Contains("131", unconfirmed.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writes_ReuseTheTokenWithinItsLifetime()
    {
        var time = new ObservableTime();
        await using var server = new ReplayServer(
            ReplayStep.Reply(RigVectors.Reply("wm2.get_token")),
            ReplayStep.Reply(RigVectors.Reply("wm2.encrypted_reply.roundtrip")),
            ReplayStep.Close(), // adjust_power_limit restarts btminer: no reply
            ReplayStep.Reply(RigVectors.Reply("wm2.encrypted_reply.roundtrip")));
        var client = new WhatsminerV2RigClient(WithPassword(server), time);

        await client.WakeAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(5));
        var power = await client.SetPowerTargetAsync(3000, CancellationToken.None);

        Assert.Equal(RigVectors.Request("wm2.power_on.request"), server.Requests[1]);
        Assert.Equal(RigVectors.Request("wm2.adjust_power_limit.request"), server.Requests[2]);
        var unknown = Assert.IsType<RigUnconfirmed>(power);
        Assert.False(unknown.Acknowledged);
        Assert.Equal(3000, unknown.Expected.PowerLimitWatts);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task Write_CheckTokenError_IsAccessDenied()
    {
        const string tokenError = "{\"STATUS\":\"E\",\"When\":1678185100,\"Code\":135,\"Msg\":\"check token error\",\"Description\":\"\"}";
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("wm2.get_token")), ReplayStep.Reply(tokenError));
        var result = await new WhatsminerV2RigClient(WithPassword(server), new ObservableTime()).SleepAsync(CancellationToken.None);

        Assert.Equal(RigFailureReason.AccessDenied, Assert.IsType<RigFailed>(result).Reason);
    }

    [Fact]
    public async Task GetToken_OverMaxConnect_IsBusyAndNothingIsWritten()
    {
        await using var server = new ReplayServer(ReplayStep.Reply(RigVectors.Reply("wm2.get_token.limit")));
        var result = await new WhatsminerV2RigClient(WithPassword(server), new ObservableTime()).SleepAsync(CancellationToken.None);

        Assert.Equal(RigFailureReason.Busy, Assert.IsType<RigFailed>(result).Reason);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task ReadStatus_Fixtures()
    {
        await using var server = new ReplayServer(
            ReplayStep.Reply(RigVectors.Reply("wm2.summary.m30s")),
            ReplayStep.Reply(RigVectors.Reply("wm2.pools")),
            ReplayStep.Reply(RigVectors.Reply("wm2.status.new")));
        var read = await new WhatsminerV2RigClient(WithPassword(server), new ObservableTime()).ReadStatusAsync(CancellationToken.None);

        var status = Assert.IsType<RigStatus>(read.Status);
        Assert.Equal(["{\"cmd\":\"summary\"}", "{\"cmd\":\"pools\"}", "{\"cmd\":\"status\"}"], server.RequestTexts);
        Assert.Equal(RigMiningState.Mining, status.State);
        Assert.Equal(70.66811452, status.HashrateThs!.Value, 6);
        Assert.Equal(3417.0, status.PowerWatts);
        Assert.Equal(3500, status.PowerLimitWatts);
        Assert.Equal(RigWorkMode.LowPower, status.WorkMode);
        Assert.Equal(1, status.ActivePool?.Index); // Whatsminer numbers pools from 1
        Assert.Equal("20240624.18.REL", status.Firmware);
    }

    [Fact]
    public async Task ReadStatus_OldFirmwareBtmineroff()
    {
        var off = Encoding.UTF8.GetString(RigVectors.Reply("wm2.status.old")).Replace("\"btmineroff\":\"false\"", "\"btmineroff\":\"true\"", StringComparison.Ordinal);
        await using var server = new ReplayServer(
            ReplayStep.Reply(RigVectors.Reply("wm2.summary.m30s")),
            ReplayStep.Reply(RigVectors.Reply("wm2.pools")),
            ReplayStep.Reply(off));
        var read = await new WhatsminerV2RigClient(WithPassword(server), new ObservableTime()).ReadStatusAsync(CancellationToken.None);

        Assert.Equal(RigMiningState.Asleep, read.Status?.State);
        Assert.Equal("20220919.15.REL", read.Status?.Firmware);
    }
}
