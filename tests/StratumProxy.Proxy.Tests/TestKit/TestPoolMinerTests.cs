using StratumProxy.Stratum.Mining;
using StratumProxy.TestKit;
using Xunit.Abstractions;

namespace StratumProxy.Proxy.Tests.TestKit;

/// <summary>The kit's pool and miners straight against each other (no proxy): both sides must agree on every share.</summary>
public sealed class TestPoolMinerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // At 1e-5 a share costs ~43k hashes: dozens per second per miner on one core.
    private const double TestDifficulty = 1e-5;

    public static TheoryData<PoolReplyStyle, PoolWorkOrdering, MinerIdStyle, bool> Pairings => new()
    {
        { PoolReplyStyle.Standard, PoolWorkOrdering.AfterAuthorizeResult, MinerIdStyle.Numeric, false },
        { PoolReplyStyle.Standard, PoolWorkOrdering.BeforeSubscribeResult, MinerIdStyle.CpuMiner, true },
        { PoolReplyStyle.Ckpool, PoolWorkOrdering.BeforeAuthorizeResult, MinerIdStyle.BfgMiner, false },
        { PoolReplyStyle.Ckpool, PoolWorkOrdering.BeforeAuthorizeResult, MinerIdStyle.StringMethod, true },
    };

    [Theory]
    [MemberData(nameof(Pairings))]
    public async Task Miner_AgainstPool_BothSidesCountTheSameValidShares(PoolReplyStyle style, PoolWorkOrdering ordering, MinerIdStyle idStyle, bool versionRolling)
    {
        await using var pool = await TestPool.StartAsync(new TestPoolOptions
        {
            Difficulty = TestDifficulty,
            ReplyStyle = style,
            WorkOrdering = ordering,
            SilentOnExtranonceSubscribeAndPing = style == PoolReplyStyle.Ckpool,
        });
        await using var miner = new TestMiner(new TestMinerOptions
        {
            Host = pool.Host,
            Port = pool.Port,
            Worker = "acct.rig1",
            IdStyle = idStyle,
            VersionRolling = versionRolling,
            SubscribeExtranonce = true,
            ShareLimit = 20,
        });

        await miner.StartAsync();
        await miner.WaitForSubmittedAsync(20, Timeout);
        await miner.WaitForAnswersAsync(Timeout);
        output.WriteLine($"{miner} | pool accepted={pool.Accepted} hashes={miner.Hashes}");

        Assert.Equal(20, miner.Accepted);
        Assert.True(miner.EverySubmitAnsweredOnce, miner.ToString());
        var worker = pool.Worker("acct.rig1");
        Assert.Equal(20, worker.Accepted);
        Assert.Equal(0, worker.RejectedTotal);
        Assert.Equal(20 * TestDifficulty, worker.AcceptedDifficulty, 12);
        Assert.Equal(miner.AcceptedDifficulty, worker.AcceptedDifficulty, 12);
        Assert.Empty(pool.AuditAcceptedShares());

        var shares = pool.AcceptedShares;
        Assert.All(shares, s => Assert.Equal(miner.Extranonce1, s.Extranonce1));
        if (versionRolling)
        {
            Assert.Equal(VersionRolling.Bip320Mask, miner.VersionMask);
            Assert.All(shares, s => Assert.Equal(0u, (s.Version ^ 0x20000000u) & ~VersionRolling.Bip320Mask));
            Assert.All(shares, s => Assert.NotEqual(0x20000000u, s.Version));
        }
        else
        {
            Assert.All(shares, s => Assert.Equal(0x20000000u, s.Version));
        }
    }
}
