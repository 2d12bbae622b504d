using StratumProxy.Rigs.Avalon;
using StratumProxy.Rigs.LuxOs;
using StratumProxy.Rigs.Tests.Infrastructure;
using StratumProxy.Rigs.Whatsminer;

namespace StratumProxy.Rigs.Tests;

/// <summary>Each cgminer-family client's capabilities, in full: the ones every such client has and its family's own.</summary>
public sealed class CgminerFamilyCapabilitiesTests
{
    private const RigCapabilities Always = RigCapabilities.ReadStatus | RigCapabilities.Sleep | RigCapabilities.Wake;

    [Fact]
    public void Capabilities_AreTheFamilysAndReadSleepWake()
    {
        var endpoint = new RigEndpoint("127.0.0.1", 4028);
        var time = new ObservableTime();

        Assert.Equal(Always | RigCapabilities.PowerTarget | RigCapabilities.SwitchPool | RigCapabilities.ReportsPower, new LuxOsRigClient(endpoint, time).Capabilities);
        Assert.Equal(Always | RigCapabilities.PowerTarget | RigCapabilities.WorkMode | RigCapabilities.ReportsPower, new WhatsminerV2RigClient(endpoint, time).Capabilities);
        Assert.Equal(Always | RigCapabilities.WorkMode | RigCapabilities.SwitchPool | RigCapabilities.ReportsPower, new AvalonRigClient(endpoint, time).Capabilities);
    }
}
