using System.Buffers.Binary;
using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.Components;

public sealed class DuplicateShareFilterTests
{
    private static readonly ShareKey Share = new(0x0001, 0x00000000DEADBEEF, 0x504E86B9, 0x7A3C1F00, 0x20000000);

    private static DuplicateShareFilter WithJob(ulong jobId, int maxSharesPerJob = 1000, int maxJobs = 4)
    {
        var filter = new DuplicateShareFilter(maxSharesPerJob, maxJobs, initialSharesPerJob: 16);
        filter.OpenJob(jobId, cleanJobs: true);
        return filter;
    }

    [Fact]
    public void TryAdd_SameShareTwice_SecondIsDuplicate()
    {
        var filter = WithJob(1);

        Assert.True(filter.TryAdd(1, Share));
        Assert.False(filter.TryAdd(1, Share));
        Assert.Equal(ShareFilterResult.Duplicate, filter.Add(1, Share));
        Assert.Equal(1, filter.ShareCount(1));
    }

    public static TheoryData<string, ShareKey> Variants => new()
    {
        { "other miner", new ShareKey(0x0002, Share.Extranonce2, Share.NTime, Share.Nonce, Share.Version) },
        { "other extranonce2", new ShareKey(Share.Extranonce1, 0x00000000DEADBEF0, Share.NTime, Share.Nonce, Share.Version) },
        { "rolled ntime", new ShareKey(Share.Extranonce1, Share.Extranonce2, Share.NTime + 1, Share.Nonce, Share.Version) },
        { "other nonce", new ShareKey(Share.Extranonce1, Share.Extranonce2, Share.NTime, Share.Nonce + 1, Share.Version) },
        { "rolled version", new ShareKey(Share.Extranonce1, Share.Extranonce2, Share.NTime, Share.Nonce, 0x20002000) },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void TryAdd_DiffersInOneField_NotADuplicate(string field, ShareKey variant)
    {
        var filter = WithJob(1);
        filter.TryAdd(1, Share);

        Assert.True(filter.TryAdd(1, variant), field);
    }

    [Fact]
    public void TryAdd_SameShareHexInOtherCase_Duplicate()
    {
        // The caller parses hex into numbers, so "DEADBEEF" and "deadbeef" are one key.
        static ShareKey Parse(string en2, string ntime, string nonce, string version) => new(
            1,
            BinaryPrimitives.ReadUInt64BigEndian(Convert.FromHexString(en2.PadLeft(16, '0'))),
            BinaryPrimitives.ReadUInt32BigEndian(Convert.FromHexString(ntime)),
            BinaryPrimitives.ReadUInt32BigEndian(Convert.FromHexString(nonce)),
            BinaryPrimitives.ReadUInt32BigEndian(Convert.FromHexString(version)));
        var filter = WithJob(7);

        Assert.True(filter.TryAdd(7, Parse("deadbeef", "504e86b9", "7a3c1f00", "2000a000")));
        Assert.False(filter.TryAdd(7, Parse("DEADBEEF", "504E86B9", "7A3C1F00", "2000A000")));
    }

    [Fact]
    public void TryAdd_SameShareOnTwoJobs_BothAdded()
    {
        var filter = WithJob(1);
        filter.OpenJob(2, cleanJobs: false);

        Assert.True(filter.TryAdd(1, Share));
        Assert.True(filter.TryAdd(2, Share));
    }

    [Fact]
    public void Add_JobNeverOpened_UnknownJob()
    {
        var filter = WithJob(1);

        Assert.Equal(ShareFilterResult.UnknownJob, filter.Add(99, Share));
        Assert.False(filter.TryAdd(99, Share));
    }

    [Fact]
    public void OpenJob_CleanJobs_RetiresEveryOtherJobInBulk()
    {
        var filter = WithJob(1);
        filter.OpenJob(2, cleanJobs: false);
        filter.OpenJob(3, cleanJobs: false);
        filter.TryAdd(1, Share);

        filter.OpenJob(4, cleanJobs: true);

        Assert.Equal(1, filter.JobCount);
        Assert.Equal(ShareFilterResult.UnknownJob, filter.Add(1, Share));
        Assert.Equal(ShareFilterResult.UnknownJob, filter.Add(3, Share));
        Assert.Equal(ShareFilterResult.Added, filter.Add(4, Share));
    }

    [Fact]
    public void OpenJob_AlreadyOpenWithCleanJobs_KeepsItsShares()
    {
        var filter = WithJob(1);
        filter.TryAdd(1, Share);

        filter.OpenJob(1, cleanJobs: true);

        Assert.Equal(ShareFilterResult.Duplicate, filter.Add(1, Share));
    }

    [Fact]
    public void OpenJob_BeyondMaxJobs_RetiresTheOldest()
    {
        var filter = WithJob(10, maxJobs: 2);
        filter.OpenJob(11, cleanJobs: false);

        filter.OpenJob(12, cleanJobs: false);

        Assert.False(filter.IsOpen(10));
        Assert.True(filter.IsOpen(11));
        Assert.True(filter.IsOpen(12));
        Assert.Equal(2, filter.JobCount);
    }

    [Fact]
    public void Add_JobAtCapacity_NewShareJobFullButRepeatStillDuplicate()
    {
        var filter = WithJob(1, maxSharesPerJob: 3);
        for (uint nonce = 0; nonce < 3; nonce++)
        {
            Assert.Equal(ShareFilterResult.Added, filter.Add(1, new ShareKey(1, 0, 0, nonce, 0)));
        }

        Assert.Equal(ShareFilterResult.JobFull, filter.Add(1, new ShareKey(1, 0, 0, 3, 0)));
        Assert.Equal(ShareFilterResult.Duplicate, filter.Add(1, new ShareKey(1, 0, 0, 2, 0)));
        Assert.Equal(3, filter.ShareCount(1));

        // The next job starts empty.
        filter.OpenJob(2, cleanJobs: true);
        Assert.Equal(ShareFilterResult.Added, filter.Add(2, new ShareKey(1, 0, 0, 3, 0)));
    }

    [Fact]
    public void Retire_OneJob_OthersStay()
    {
        var filter = WithJob(1);
        filter.OpenJob(2, cleanJobs: false);
        filter.TryAdd(2, Share);

        Assert.True(filter.Retire(1));
        Assert.False(filter.Retire(1));
        Assert.Equal(ShareFilterResult.Duplicate, filter.Add(2, Share));
    }

    [Fact]
    public void RetireAll_ThenReopen_StartsEmpty()
    {
        var filter = WithJob(1);
        filter.TryAdd(1, Share);

        filter.RetireAll();
        filter.OpenJob(1, cleanJobs: false);

        Assert.Equal(0, filter.ShareCount(1));
        Assert.True(filter.TryAdd(1, Share));
    }

    [Fact]
    public void TryAdd_ManyThreadsSameShares_EachAcceptedExactlyOnce()
    {
        var filter = WithJob(5, maxSharesPerJob: 100_000);
        var accepted = 0;

        Parallel.For(0, 4, _ =>
        {
            for (uint nonce = 0; nonce < 20_000; nonce++)
            {
                if (filter.TryAdd(5, new ShareKey(nonce % 64, nonce, 0x504E86B9, nonce, 0x20000000)))
                {
                    Interlocked.Increment(ref accepted);
                }
            }
        });

        Assert.Equal(20_000, accepted);
        Assert.Equal(20_000, filter.ShareCount(5));
    }

    [Fact]
    public void SteadyState_SharesAndCleanJobs_AllocateNothing()
    {
        const int SharesPerJob = 4000;
        var filter = new DuplicateShareFilter(maxSharesPerJob: 8192, maxJobs: 4, initialSharesPerJob: 8192);
        ulong job = 0;

        void RunJob()
        {
            job++;
            filter.OpenJob(job, cleanJobs: job % 3 == 0);
            for (uint i = 0; i < SharesPerJob; i++)
            {
                var key = new ShareKey(i & 0xFFFF, (ulong)job << 32 | i, 0x504E86B9, i * 2654435761u, 0x20000000);
                filter.TryAdd(job, key);
                filter.TryAdd(job, key); // the duplicate path too
            }
        }

        for (var warm = 0; warm < 12; warm++)
        {
            RunJob();
        }

        // Up to three measured rounds of 30 jobs: the runtime may allocate once on this thread while it moves these
        // methods to their optimized code (seen once in CI: 8,104 bytes in one round), but a per-share or per-job
        // allocation shows in every round.
        List<long> rounds = [];
        do
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var run = 0; run < 30; run++)
            {
                RunJob();
            }

            rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        while (rounds[^1] != 0 && rounds.Count < 3);

        Assert.True(rounds[^1] == 0, $"allocated in each round: {string.Join(", ", rounds)} bytes");
    }

    [Fact]
    public void ShareKey_EqualityAndHash_ByValue()
    {
        var copy = new ShareKey(Share.Extranonce1, Share.Extranonce2, Share.NTime, Share.Nonce, Share.Version);

        Assert.True(Share == copy);
        Assert.Equal(Share.GetHashCode(), copy.GetHashCode());
        Assert.True(Share != new ShareKey(0, 0, 0, 0, 0));
    }
}
