using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Tests.Sessions;

public sealed class ShareRefusalTests
{
    [Theory]
    [InlineData(ShareCheck.BadExtranonce2Size, StratumErrorCode.Other, "extranonce2 must be 4 bytes", ShareResult.Invalid)]
    [InlineData(ShareCheck.NTimeOutOfRange, StratumErrorCode.Other, "ntime out of range", ShareResult.Invalid)]
    [InlineData(ShareCheck.VersionOutsideMask, StratumErrorCode.Other, "version bits outside the negotiated mask", ShareResult.Invalid)]
    [InlineData(ShareCheck.Duplicate, StratumErrorCode.DuplicateShare, "Duplicate share", ShareResult.Duplicate)]
    [InlineData(ShareCheck.Stale, StratumErrorCode.JobNotFound, "Job not found (stale)", ShareResult.Stale)]
    [InlineData(ShareCheck.JobFull, StratumErrorCode.Other, "too many shares for this job", ShareResult.Invalid)]
    [InlineData(ShareCheck.LowDifficulty, StratumErrorCode.LowDifficulty, "Low difficulty share", ShareResult.LowDifficulty)]
    public void For_EachRefusingVerdict_GivesItsStratumErrorAndCount(ShareCheck check, StratumErrorCode code, string message, ShareResult result)
    {
        Assert.Equal(new ShareRefusal(code, message, result), ShareRefusal.For(check, "extranonce2 must be 4 bytes"));
    }

    [Fact]
    public void For_ValidShare_IsNotARefusal()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ShareRefusal.For(ShareCheck.Valid, "unused"));
    }
}
