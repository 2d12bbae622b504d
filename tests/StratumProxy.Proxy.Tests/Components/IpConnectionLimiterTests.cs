using System.Net;
using Microsoft.Extensions.Time.Testing;
using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.Components;

public sealed class IpConnectionLimiterTests
{
    private static readonly IPAddress Rig = IPAddress.Parse("10.0.0.7");
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void TryAcquire_OverTheLimit_RefusesAndBansUntilTheBanExpires()
    {
        var limiter = new IpConnectionLimiter(_time);
        var ban = TimeSpan.FromMinutes(5);
        Assert.Equal(IpAdmission.Admitted, limiter.TryAcquire(Rig, 2, ban));
        Assert.Equal(IpAdmission.Admitted, limiter.TryAcquire(Rig, 2, ban));
        Assert.Equal(IpAdmission.OverLimit, limiter.TryAcquire(Rig, 2, ban));
        Assert.Equal(1, limiter.BannedCount);

        // Under the limit again, but banned: refused until the ban ends; the open connections stay counted.
        limiter.Release(Rig);
        Assert.Equal(IpAdmission.Banned, limiter.TryAcquire(Rig, 2, ban));
        _time.Advance(ban - TimeSpan.FromSeconds(1));
        Assert.Equal(IpAdmission.Banned, limiter.TryAcquire(Rig, 2, ban));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, limiter.BannedCount);
        Assert.Equal(IpAdmission.Admitted, limiter.TryAcquire(Rig, 2, ban));
        Assert.Equal(2, limiter.OpenFrom(Rig));
    }

    [Fact]
    public void TryAcquire_WithoutBans_RefusesOnlyWhatIsOverTheLimit()
    {
        var limiter = new IpConnectionLimiter(_time);
        Assert.Equal(IpAdmission.Admitted, limiter.TryAcquire(Rig, 1, TimeSpan.Zero));
        Assert.Equal(IpAdmission.OverLimit, limiter.TryAcquire(Rig, 1, TimeSpan.Zero));
        Assert.Equal(IpAdmission.Admitted, limiter.TryAcquire(IPAddress.Parse("10.0.0.8"), 1, TimeSpan.Zero));
        limiter.Release(Rig);
        Assert.Equal(IpAdmission.Admitted, limiter.TryAcquire(Rig, 1, TimeSpan.Zero));
        Assert.Equal(0, limiter.BannedCount);
    }

    [Fact]
    public void TryAcquire_Ipv4MappedAddresses_CountAsTheirIpv4Address()
    {
        var limiter = new IpConnectionLimiter(_time);
        Assert.Equal(IpAdmission.Admitted, limiter.TryAcquire(Rig, 1, TimeSpan.Zero));
        Assert.Equal(IpAdmission.OverLimit, limiter.TryAcquire(Rig.MapToIPv6(), 1, TimeSpan.Zero));
        limiter.Release(Rig.MapToIPv6());
        Assert.Equal(0, limiter.OpenFrom(Rig));
    }

    [Fact]
    public void TryAcquire_NoLimit_AdmitsEveryConnection_AndReleaseForgetsTheAddress()
    {
        var limiter = new IpConnectionLimiter(_time);
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(IpAdmission.Admitted, limiter.TryAcquire(Rig, 0, TimeSpan.FromMinutes(5)));
        }

        for (var i = 0; i < 1000; i++)
        {
            limiter.Release(Rig);
        }

        Assert.Equal(0, limiter.OpenFrom(Rig));
    }

    [Fact]
    public void Bans_AreBoundedInNumber()
    {
        var limiter = new IpConnectionLimiter(_time);
        for (var i = 0; i < IpConnectionLimiter.MaxBans + 10; i++)
        {
            var address = new IPAddress(BitConverter.GetBytes(0x0a000000 + i));
            Assert.Equal(IpAdmission.Admitted, limiter.TryAcquire(address, 1, TimeSpan.FromHours(1)));
            Assert.Equal(IpAdmission.OverLimit, limiter.TryAcquire(address, 1, TimeSpan.FromHours(1)));
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(IpConnectionLimiter.MaxBans, limiter.BannedCount);
    }
}
