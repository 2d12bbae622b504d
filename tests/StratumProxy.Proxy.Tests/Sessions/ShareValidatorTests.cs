using System.Text;
using System.Text.Json;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Tests.Sessions;

/// <summary>
/// The share validator on its own: no session, no socket, no clock. The real shares come from
/// tests/vectors/stratum-v1-vectors.json (MiningCore's regtest block candidate and the rejections from the same test).
/// </summary>
public sealed class ShareValidatorTests
{
    private const ulong JobId = 7;
    private const uint MaxRoll = 7200;

    private static readonly Lazy<JsonElement> Vector = new(() =>
    {
        using var stream = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "vectors", "stratum-v1-vectors.json"));
        using var doc = JsonDocument.Parse(stream);
        return doc.RootElement.GetProperty("vectors").EnumerateArray().Single(v => v.GetProperty("id").GetString() == "miningcore-regtest-valid-share").Clone();
    });

    private readonly DuplicateShareFilter _duplicates = new();
    private readonly ShareValidator _validator = new(ShareHasher.Default);
    private readonly ShareJob _job;
    private readonly byte[] _extranonce1;
    private readonly uint _jobNTime;

    public ShareValidatorTests()
    {
        var job = Vector.Value.GetProperty("job");
        var template = ShareJobTemplate.FromHex(
            job.GetProperty("prevhash").GetString()!,
            job.GetProperty("coinb1").GetString()!,
            job.GetProperty("coinb2").GetString()!,
            [.. job.GetProperty("merkle_branch").EnumerateArray().Select(b => b.GetString()!)],
            job.GetProperty("version").GetString()!,
            job.GetProperty("nbits").GetString()!,
            job.GetProperty("ntime").GetString()!);
        _jobNTime = template.NTime;
        _job = new ShareJob(JobId, template, template.NTime, Difficulty.ToTarget(Vector.Value.GetProperty("pool_difficulty").GetDouble()));
        _extranonce1 = Convert.FromHexString(Vector.Value.GetProperty("extranonce1").GetString()!);
        _duplicates.OpenJob(JobId, cleanJobs: true);
        _validator.SetDifficulty(0.5);
        _validator.JobSent(JobId);
    }

    [Fact]
    public void Validate_RegtestBlockCandidateBelowTheShareTarget_IsValidForThePoolCreditedNothing()
    {
        var verdict = Validate("01000000", "59ef86f2", "8d84ae6a");

        Assert.Equal(ShareCheck.Valid, verdict.Check);
        Assert.True(verdict.IsBlock);
        Assert.True(verdict.ForPool);
        Assert.Equal(0, verdict.Credited);
        Assert.True(verdict.HashDifficulty is > 0 and < 1e-9);
    }

    [Fact]
    public void Validate_SameShareWithTheNonceInUpperCase_IsADuplicate()
    {
        Assert.Equal(ShareCheck.Valid, Validate("01000000", "59ef86f2", "8d84ae6a").Check);

        Assert.Equal(ShareCheck.Duplicate, Validate("01000000", "59ef86f2", "8D84AE6A").Check);
    }

    [Fact]
    public void Validate_OtherExtranonce2_MissesEveryTarget()
    {
        var verdict = Validate("02000000", "59ef86f2", "8d84ae6a");

        Assert.Equal(ShareCheck.LowDifficulty, verdict.Check);
        Assert.False(verdict.ForPool);
    }

    [Fact]
    public void Validate_NTimeFarInTheFutureWhoseHashWouldBeABlock_IsRefusedByTheNTimeCheck()
    {
        Assert.Equal(ShareCheck.NTimeOutOfRange, Validate("01000000", "69ef86f2", "8d84ae6a").Check);
    }

    [Theory]
    [InlineData(-601, false)]
    [InlineData(-600, true)]
    [InlineData(7200, true)]
    [InlineData(7201, false)]
    public void Validate_NTimeAroundTheJobs_IsJudgedByTheRollBounds(int offset, bool inRange)
    {
        var ntime = ((uint)(_jobNTime + offset)).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

        var check = Validate("02000000", ntime, "00000000", now: _jobNTime + 7200).Check;

        Assert.Equal(inRange, check != ShareCheck.NTimeOutOfRange);
    }

    [Fact]
    public void Validate_NTimePastTheWallClockPlusTheRoll_IsRefused()
    {
        Assert.Equal(ShareCheck.NTimeOutOfRange, Validate("01000000", "59ef86f2", "8d84ae6a", now: _jobNTime - MaxRoll - 1).Check);
    }

    [Fact]
    public void Validate_WrongExtranonce2Size_IsRefusedBeforeAnythingIsRecorded()
    {
        Assert.Equal(ShareCheck.BadExtranonce2Size, Validate("0100000000", "59ef86f2", "8d84ae6a").Check);

        Assert.Equal(ShareCheck.Valid, Validate("01000000", "59ef86f2", "8d84ae6a").Check);
    }

    [Fact]
    public void Validate_VersionBitsWithoutRollingOrOutsideTheMask_AreRefused()
    {
        Assert.Equal(ShareCheck.VersionOutsideMask, Validate("01000000", "59ef86f2", "8d84ae6a", versionBits: "00002000").Check);
        Assert.Equal(ShareCheck.VersionOutsideMask, Validate("01000000", "59ef86f2", "8d84ae6a", versionBits: "00000001", rolling: true).Check);

        var rolled = Validate("01000000", "59ef86f2", "8d84ae6a", versionBits: "00002000", rolling: true);

        Assert.NotEqual(ShareCheck.VersionOutsideMask, rolled.Check);
        Assert.Equal(0x20002000u, rolled.Version);
    }

    [Fact]
    public void Validate_JobNotOpenInTheFilter_IsStale()
    {
        _duplicates.Retire(JobId);

        Assert.Equal(ShareCheck.Stale, Validate("01000000", "59ef86f2", "8d84ae6a").Check);
    }

    [Fact]
    public void Validate_AnyHashUnderTheEasiestTarget_IsCreditedTheJobsDifficulty()
    {
        var validator = new ShareValidator(ShareHasher.Default);
        validator.SetDifficulty(1e-70);
        validator.JobSent(JobId);

        var verdict = Validate("02000000", "59ef86f2", "8d84ae6a", validator: validator);

        Assert.Equal(ShareCheck.Valid, verdict.Check);
        Assert.Equal(1e-70, verdict.Credited);
        Assert.False(verdict.IsBlock);
    }

    [Fact]
    public void TryCredit_HashMeetingTheJobsDifficultyAfterARaise_IsCreditedTheJobs()
    {
        var validator = new ShareValidator(ShareHasher.Default);
        validator.SetDifficulty(1);
        validator.JobSent(1);
        validator.SetDifficulty(4);
        validator.JobSent(2);
        var meetsOne = Difficulty.ToTarget(1);
        var meetsFour = Difficulty.ToTarget(4);

        Assert.True(validator.TryCredit(1, meetsOne, out var credited));
        Assert.Equal(1, credited);
        Assert.True(validator.TryCredit(1, meetsFour, out credited));
        Assert.Equal(4, credited);
        Assert.False(validator.TryCredit(2, meetsOne, out credited));
        Assert.Equal(0, credited);
    }

    [Fact]
    public void TryCredit_JobOlderThanTheHistory_IsJudgedAtTheCurrentDifficulty()
    {
        var validator = new ShareValidator(ShareHasher.Default);
        validator.SetDifficulty(1);
        validator.JobSent(1);
        validator.SetDifficulty(8);
        for (ulong job = 2; job < 2 + ShareValidator.SentJobHistory; job++)
        {
            validator.JobSent(job);
        }

        Assert.False(validator.TryCredit(1, Difficulty.ToTarget(1), out _));
        Assert.True(validator.TryCredit(1, Difficulty.ToTarget(8), out var credited));
        Assert.Equal(8, credited);
    }

    [Fact]
    public void SetDifficulty_SameValue_ReportsNoChange()
    {
        var validator = new ShareValidator(ShareHasher.Default);

        Assert.True(validator.SetDifficulty(2));
        Assert.False(validator.SetDifficulty(2));
        Assert.Equal(Difficulty.ToTarget(2), validator.Target);
    }

    private ShareVerdict Validate(string extranonce2, string ntime, string nonce, uint? now = null, string? versionBits = null, bool rolling = false, ShareValidator? validator = null)
    {
        var bits = versionBits is null ? string.Empty : $",\"{versionBits}\"";
        var line = Encoding.UTF8.GetBytes($"{{\"id\":1,\"method\":\"mining.submit\",\"params\":[\"w\",\"1\",\"{extranonce2}\",\"{ntime}\",\"{nonce}\"{bits}]}}");
        Assert.True(StratumEnvelope.TryParse(line, out var envelope, out _));
        Assert.True(SubmitRequest.TryParse(line, envelope, out var submit, out _));
        var miner = new ShareMiner(_extranonce1, 0x58000001, 4, rolling, MinerSession.DefaultVersionMask);
        return (validator ?? _validator).Validate(_job, miner, submit, now ?? _jobNTime, MaxRoll, _duplicates);
    }
}
