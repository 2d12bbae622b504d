using System.Buffers.Binary;
using System.Security.Cryptography;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Tests.Crypto;

namespace StratumProxy.Stratum.Tests.Mining;

public sealed class ShareHasherTests
{
    public static TheoryData<string> Implementations => Sha256Implementations.Names;

    [Theory]
    [MemberData(nameof(Implementations))]
    public void ComputeBlockHash_RandomJobs_MatchesSystemSha256Reference(string implementation)
    {
        var hasher = new ShareHasher(Sha256Implementations.Get(implementation));
        var random = new Random(424242);
        for (var i = 0; i < 150; i++)
        {
            // coinbase1 of 0..300 bytes covers midstates of 0 to 4 blocks and every tail alignment.
            var job = RandomJob(random, coinbase1Length: random.Next(0, 300), coinbase2Length: random.Next(0, 300), branches: random.Next(0, 15));
            var extranonce1 = RandomBytes(random, random.Next(0, 9));
            var extranonce2 = RandomBytes(random, random.Next(0, 9));
            var ntime = (uint)random.NextInt64(0, 1L << 32);
            var nonce = (uint)random.NextInt64(0, 1L << 32);
            var version = (uint)random.NextInt64(0, 1L << 32);
            var hash = new byte[32];
            var header = new byte[80];

            hasher.ComputeBlockHash(job.Template, extranonce1, extranonce2, ntime, nonce, version, hash, header);

            var (expectedHeader, expectedHash) = Reference(job, extranonce1, extranonce2, ntime, nonce, version);
            Assert.Equal(Convert.ToHexStringLower(expectedHeader), Convert.ToHexStringLower(header));
            Assert.Equal(Convert.ToHexStringLower(expectedHash), Convert.ToHexStringLower(hash));
        }
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void ComputeBlockHash_CoinbaseLongerThanStackLimit_MatchesReference(string implementation)
    {
        var hasher = new ShareHasher(Sha256Implementations.Get(implementation));
        var random = new Random(1);
        var job = RandomJob(random, coinbase1Length: 130, coinbase2Length: ShareHasher.StackCoinbaseLimit + 500, branches: 3);
        var extranonce1 = RandomBytes(random, 4);
        var extranonce2 = RandomBytes(random, 8);
        var hash = new byte[32];

        hasher.ComputeBlockHash(job.Template, extranonce1, extranonce2, 1, 2, 3, hash);

        Assert.Equal(Convert.ToHexStringLower(Reference(job, extranonce1, extranonce2, 1, 2, 3).Hash), Convert.ToHexStringLower(hash));
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void ComputeBlockHash_AfterWarmUp_AllocatesNothing(string implementation)
    {
        var hasher = new ShareHasher(Sha256Implementations.Get(implementation));
        var random = new Random(2);
        var typical = RandomJob(random, coinbase1Length: 110, coinbase2Length: 98, branches: 12).Template;
        var huge = RandomJob(random, coinbase1Length: 110, coinbase2Length: 3000, branches: 12).Template;
        var extranonce1 = RandomBytes(random, 4);
        var extranonce2 = RandomBytes(random, 8);
        var hash = new byte[32];
        var header = new byte[80];
        hasher.ComputeBlockHash(typical, extranonce1, extranonce2, 1, 2, 3, hash, header);
        hasher.ComputeBlockHash(huge, extranonce1, extranonce2, 1, 2, 3, hash, header);

        // Tiered compilation (OSR, tier-up) allocates on this thread once while a method is promoted, so take the
        // best of several rounds: an allocation per share would show in every round.
        var fewest = long.MaxValue;
        for (var round = 0; round < 20 && fewest != 0; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var nonce = 0u; nonce < 100; nonce++)
            {
                hasher.ComputeBlockHash(typical, extranonce1, extranonce2, 1, nonce, 3, hash, header);
                hasher.ComputeBlockHash(huge, extranonce1, extranonce2, 1, nonce, 3, hash);
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
    }

    [Fact]
    public void ComputeMerkleRoot_EqualsMerkleRootOfCoinbaseTxid()
    {
        var random = new Random(3);
        var job = RandomJob(random, coinbase1Length: 90, coinbase2Length: 60, branches: 5);
        var extranonce1 = RandomBytes(random, 4);
        var extranonce2 = RandomBytes(random, 4);
        var coinbase = new byte[job.Template.CoinbaseLength(4, 4)];
        ShareHasher.WriteCoinbase(job.Template, extranonce1, extranonce2, coinbase);
        var txid = SHA256.HashData(SHA256.HashData(coinbase));
        var expected = new byte[32];
        MerkleRoot.Compute(ShareHasher.Default.Compressor, txid, job.Template.MerkleBranches, expected);
        var actual = new byte[32];

        ShareHasher.Default.ComputeMerkleRoot(job.Template, extranonce1, extranonce2, actual);

        Assert.Equal(expected, actual);
        Assert.Equal(Reference(job, extranonce1, extranonce2, 0, 0, 0).Header.AsSpan(36, 32).ToArray(), actual);
    }

    [Fact]
    public void ComputeBlockHash_ShortDestinations_Throw()
    {
        var job = RandomJob(new Random(4), 10, 10, 0).Template;

        Assert.Throws<ArgumentException>(() => ShareHasher.Default.ComputeBlockHash(job, [], [], 0, 0, 0, new byte[31]));
        Assert.Throws<ArgumentException>(() => ShareHasher.Default.ComputeBlockHash(job, [], [], 0, 0, 0, new byte[32], new byte[79]));
    }

    [Fact]
    public void Template_FromHex_RejectsBadFields()
    {
        var prev = new string('0', 64);
        string[] noBranches = [];

        Assert.Throws<FormatException>(() => ShareJobTemplate.FromHex(prev[..62], "00", "00", noBranches, "20000000", "1d00ffff", "00000000"));
        Assert.Throws<FormatException>(() => ShareJobTemplate.FromHex(prev, "0", "00", noBranches, "20000000", "1d00ffff", "00000000"));
        Assert.Throws<FormatException>(() => ShareJobTemplate.FromHex(prev, "00", "00", ["abcd"], "20000000", "1d00ffff", "00000000"));
        Assert.Throws<FormatException>(() => ShareJobTemplate.FromHex(prev, "00", "00", noBranches, "2000000", "1d00ffff", "00000000"));
        Assert.Throws<ArgumentException>(() => ShareJobTemplate.FromHex(prev, "00", "00", noBranches, "20000000", "1d80ffff", "00000000"));
        var ok = ShareJobTemplate.FromHex(prev, "00", "00", noBranches, "20000000", "1D00FFFF", "00000000");
        Assert.Equal(Difficulty.Diff1Target, ok.NetworkTarget);
    }

    [Fact]
    public void Template_Midstate_CoversWholeBlocksOfCoinbase1()
    {
        var random = new Random(5);

        Assert.Equal(0, RandomJob(random, 63, 10, 0).Template.MidstateLength);
        Assert.Equal(64, RandomJob(random, 64, 10, 0).Template.MidstateLength);
        Assert.Equal(128, RandomJob(random, 191, 10, 0).Template.MidstateLength);
    }

    private sealed record RandomJobData(ShareJobTemplate Template, byte[] PrevHashStratum, byte[] Coinbase1, byte[] Coinbase2, byte[][] Branches, uint NBits);

    private static RandomJobData RandomJob(Random random, int coinbase1Length, int coinbase2Length, int branches)
    {
        var prev = RandomBytes(random, 32);
        var coinbase1 = RandomBytes(random, coinbase1Length);
        var coinbase2 = RandomBytes(random, coinbase2Length);
        var branchList = Enumerable.Range(0, branches).Select(_ => RandomBytes(random, 32)).ToArray();
        const uint nbits = 0x1705ae3a;
        var template = ShareJobTemplate.Create(prev, coinbase1, coinbase2, branchList.SelectMany(b => b).ToArray(), 0x20000000, nbits, 0x6b072c1e);
        return new RandomJobData(template, prev, coinbase1, coinbase2, branchList, nbits);
    }

    // The textbook construction, straight from the definitions, with the BCL's SHA-256.
    private static (byte[] Header, byte[] Hash) Reference(RandomJobData job, byte[] extranonce1, byte[] extranonce2, uint ntime, uint nonce, uint version)
    {
        byte[] coinbase = [.. job.Coinbase1, .. extranonce1, .. extranonce2, .. job.Coinbase2];
        var root = SHA256.HashData(SHA256.HashData(coinbase));
        foreach (var branch in job.Branches)
        {
            root = SHA256.HashData(SHA256.HashData([.. root, .. branch]));
        }

        var header = new byte[80];
        BinaryPrimitives.WriteUInt32LittleEndian(header, version);
        for (var word = 0; word < 8; word++)
        {
            for (var b = 0; b < 4; b++)
            {
                header[4 + (word * 4) + b] = job.PrevHashStratum[(word * 4) + 3 - b];
            }
        }

        root.CopyTo(header, 36);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(68), ntime);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(72), job.NBits);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(76), nonce);
        return (header, SHA256.HashData(SHA256.HashData(header)));
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
