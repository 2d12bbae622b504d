using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using StratumProxy.Stratum.Crypto;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Benchmarks;

/// <summary>
/// Validating one share of a realistic job: a 220-byte coinbase (105-byte coinbase1, 4-byte extranonce1, 8-byte
/// extranonce2, 103-byte coinbase2), 12 merkle branches, the header, and the target comparison.
/// The work is 44 SHA-256 compressions (1 coinbase1 block precomputed as the job's midstate, 3 for the rest of the
/// coinbase, 1 outer, 3 × 12 for the branches, 3 for the header); the last benchmark runs exactly 44 bare
/// single-block OpenSSL compressions, so the ratio of the fast path to it is measured in the same run.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MiningBenchmarkConfig))]
public class ShareValidationBenchmarks
{
    private const int Branches = 12;
    private const int CompressionsPerShare = 44;

    private readonly byte[] _extranonce1 = new byte[4];
    private readonly byte[] _extranonce2 = new byte[8];
    private readonly byte[] _hash = new byte[32];
    private readonly byte[] _block = new byte[64];
    private ShareJobTemplate _job = null!;
    private ShareHasher _openSsl = null!;
    private ShareHasher _managed = null!;
    private Sha256Compressor _openSslCompressor = null!;
    private UInt256 _shareTarget;
    private uint _nonce;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(2);
        var prevHash = new byte[32];
        var coinbase1 = new byte[105];
        var coinbase2 = new byte[103];
        var branches = new byte[32 * Branches];
        random.NextBytes(prevHash);
        random.NextBytes(coinbase1);
        random.NextBytes(coinbase2);
        random.NextBytes(branches);
        random.NextBytes(_extranonce1);
        random.NextBytes(_extranonce2);
        random.NextBytes(_block);
        _job = ShareJobTemplate.Create(prevHash, coinbase1, coinbase2, branches, 0x20000000, 0x1705ae3a, 0x647025b5);
        if (_job.CoinbaseLength(_extranonce1.Length, _extranonce2.Length) != 220 || _job.MidstateLength != 64)
        {
            throw new InvalidOperationException("The benchmark job is not the 220-byte coinbase it claims to be.");
        }

        _openSslCompressor = Sha256Compressor.Get(Sha256Implementation.OpenSsl);
        _openSsl = new ShareHasher(_openSslCompressor);
        _managed = new ShareHasher(Sha256Compressor.Managed);
        _shareTarget = Difficulty.ToTarget(65536);
    }

    [Benchmark(Baseline = true, Description = "share via SHA256.HashData")]
    public bool ViaHashData()
    {
        var job = _job;
        Span<byte> coinbase = stackalloc byte[256];
        var length = ShareHasher.WriteCoinbase(job, _extranonce1, _extranonce2, coinbase);
        Span<byte> pair = stackalloc byte[64];
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(coinbase[..length], digest);
        SHA256.HashData(digest, pair);
        var branches = job.MerkleBranches;
        for (var offset = 0; offset < branches.Length; offset += 32)
        {
            branches.Slice(offset, 32).CopyTo(pair[32..]);
            SHA256.HashData(pair, digest);
            SHA256.HashData(digest, pair);
        }

        Span<byte> header = stackalloc byte[80];
        BlockHeader.Write(header, job.Version, job.PrevHash, pair[..32], job.NTime, job.NBits, ++_nonce);
        SHA256.HashData(header, digest);
        SHA256.HashData(digest, _hash);
        return Difficulty.MeetsTarget(_hash, _shareTarget);
    }

    [Benchmark(Description = "share via ShareHasher + OpenSSL compress")]
    public bool ViaOpenSsl()
    {
        _openSsl.ComputeBlockHash(_job, _extranonce1, _extranonce2, _job.NTime, ++_nonce, _job.Version, _hash);
        return Difficulty.MeetsTarget(_hash, _shareTarget);
    }

    [Benchmark(Description = "share via ShareHasher + managed compress")]
    public bool ViaManaged()
    {
        _managed.ComputeBlockHash(_job, _extranonce1, _extranonce2, _job.NTime, ++_nonce, _job.Version, _hash);
        return Difficulty.MeetsTarget(_hash, _shareTarget);
    }

    [Benchmark(Description = "44 bare OpenSSL compressions (1 block/call)")]
    public uint FortyFourCompressions()
    {
        var state = Sha256State.Initial;
        for (var i = 0; i < CompressionsPerShare; i++)
        {
            _openSslCompressor.Compress(ref state, _block);
        }

        return state[0];
    }
}
