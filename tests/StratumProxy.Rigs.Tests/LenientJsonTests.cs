using System.Text;
using StratumProxy.Rigs.Json;
using StratumProxy.Rigs.Tests.Infrastructure;

namespace StratumProxy.Rigs.Tests;

/// <summary>The broken JSON rig firmware is documented to send (bmminer stats, Avalon, Whatsminer), built from real replies.</summary>
public sealed class LenientJsonTests
{
    [Fact]
    public void BmminerStats_MissingCommaBetweenSections_IsRepaired()
    {
        // The vector notes bmminer's "}{" between STATS entries; the recorded stats reply itself was well-formed.
        var good = RigVectors.ReplyText("antminer.rpc.stats");
        var broken = good.Replace("},{\"Calls\"", "}{\"Calls\"", StringComparison.Ordinal);
        Assert.NotEqual(good, broken);

        var parsed = LenientJson.ParseObject(Encoding.UTF8.GetBytes(broken + "\0"));

        Assert.Equal(2, parsed["STATS"]!.AsArray().Count);
        Assert.Equal("BTM_SOC0", (string?)parsed["STATS"]![1]!["ID"]);
    }

    // Found by the rig-api fuzz target: a reply naming a member twice ({"Code":1,"Code":2}) parsed, then threw
    // ArgumentException out of the client on the first lookup. The last value wins, as cgminer-style clients read it.
    [Fact]
    public void DuplicateMemberNames_LastValueWins()
    {
        const string reply = "{\"STATUS\":[{\"STATUS\":\"S\",\"Code\":11,\"Code\":12,\"Msg\":\"Summary\"}],\"id\":1,\"id\":2}\0";

        var parsed = LenientJson.ParseObject(Encoding.UTF8.GetBytes(reply));

        Assert.Equal(2, (int?)parsed["id"]);
        Assert.Equal(12, (int?)parsed["STATUS"]![0]!["Code"]);
        Assert.Equal("Summary", (string?)parsed["STATUS"]![0]!["Msg"]);
    }

    [Fact]
    public void AvalonInfNanAndLeadingComma_AreRepaired()
    {
        const string broken = "{\"STATUS\":[{\"STATUS\":\"S\",\"Code\":70}],\"STATS\":[{\"GHSmm\":inf,\"Temp\":nan}],,\"id\":1}";

        var parsed = LenientJson.ParseObject(Encoding.UTF8.GetBytes(broken));

        Assert.Null(parsed["STATS"]![0]!["GHSmm"]);
        Assert.Equal(1, (int)parsed["id"]!);
    }

    [Fact]
    public void WhatsminerRawNewlineInStringAndTrailingComma_AreRepaired()
    {
        var parsed = LenientJson.ParseObject("{\"Msg\":\"line1\nline2\",\"Code\":131,}\0"u8);

        Assert.Equal("line1\nline2", (string?)parsed["Msg"]);
    }

    [Fact]
    public void Garbage_IsInvalidReply()
    {
        var ex = Assert.ThrowsAny<Exception>(() => LenientJson.ParseObject("<html>busy</html>"u8));

        Assert.Contains("not JSON", ex.Message, StringComparison.Ordinal);
    }
}
