namespace StratumProxy.Fuzz.Tests;

/// <summary>Every committed corpus input through its harness, as `--replay` runs them: no finding, ever.</summary>
public sealed class CorpusReplayTests
{
    private static string CorpusRoot => Path.Combine(AppContext.BaseDirectory, "corpus");

    public static TheoryData<string> TargetNames() => new(Targets.All.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Corpus_EveryCommittedInput_RunsWithoutAFinding(string target)
    {
        var harness = Targets.Find(target)!;
        var files = Directory.GetFiles(Path.Combine(CorpusRoot, target)).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);

        var findings = files
            .Select(file => (Name: Path.GetFileName(file), Error: Corpus.ReplayOne(harness, File.ReadAllBytes(file))))
            .Where(r => r.Error is not null)
            .Select(r => $"{r.Name}: {r.Error!.GetType().Name}: {r.Error.Message}")
            .ToList();

        Assert.Empty(findings);
    }

    [Fact]
    public void Corpus_FoldersAndTargets_MatchOneToOne()
    {
        var folders = Directory.GetDirectories(CorpusRoot).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToList();
        var targets = Targets.All.Select(t => t.Name).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(targets, folders);
    }

    [Fact]
    public void Corpus_RegressionInputsOfFixedCrashes_AreCommitted()
    {
        // One input per crash the fuzzers found (docs/fuzzing.md); each is a finding again if its fix is undone.
        string[] expected =
        [
            "pool-lines/regress-notify-nbits-no-target",
            "backtest-csv/regress-end-past-9999",
            "tariff-file/regress-name-not-utf8",
            "tariff-file/regress-interval-overflow",
            "tariff-file/regress-duplicate-name",
            "tariff-file/regress-zone-is-a-folder",
            "price-feed/regress-string-not-utf8",
            "rig-api/regress-braiins-login-not-object",
            "rig-api/regress-duplicate-member",
            "rig-api/regress-braiins-status-not-object",
            "rig-api/regress-antminer-write-reply-not-object",
            "rig-api/regress-whatsminer-v3-msg-not-object",
        ];

        Assert.All(expected, name => Assert.True(File.Exists(Path.Combine(CorpusRoot, name)), name));
    }
}
