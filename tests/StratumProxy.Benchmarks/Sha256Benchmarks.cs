using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Validators;
using StratumProxy.Stratum.Crypto;

namespace StratumProxy.Benchmarks;

/// <summary>Config for the SHA-256 and share benchmarks: allocations, ops/s, and JIT-optimisation checks that fail the run.</summary>
public sealed class MiningBenchmarkConfig : ManualConfig
{
    public MiningBenchmarkConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.OperationsPerSecond);
        AddValidator(JitOptimizationsValidator.FailOnError);
    }
}

/// <summary>
/// One SHA-256 block compression through each implementation, against the BCL's one-shot hash of an 80-byte
/// header (the per-call cost of OpenSSL's EVP path), plus the double hash of a header both ways.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MiningBenchmarkConfig))]
public class Sha256Benchmarks
{
    private const int Chained = 16;

    private readonly byte[] _header = new byte[80];
    private readonly byte[] _block = new byte[64];
    private readonly byte[] _blocks = new byte[64 * Chained];
    private readonly byte[] _digest = new byte[32];
    private readonly byte[] _inner = new byte[32];
    private Sha256Compressor _openSsl = null!;
    private Sha256Compressor _managed = null!;
    private Sha256State _state;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        random.NextBytes(_header);
        random.NextBytes(_block);
        random.NextBytes(_blocks);
        _openSsl = Sha256Compressor.Get(Sha256Implementation.OpenSsl);
        _managed = Sha256Compressor.Managed;
        _state = Sha256State.Initial;
    }

    [Benchmark(Baseline = true, Description = "SHA256.HashData(80 B)")]
    public int HashData80() => SHA256.HashData(_header, _digest);

    [Benchmark(Description = "OpenSSL compress, 1 block/call")]
    public uint OpenSslCompress()
    {
        _openSsl.Compress(ref _state, _block);
        return _state[0];
    }

    [Benchmark(Description = "OpenSSL compress, 16 blocks/call (per block)", OperationsPerInvoke = Chained)]
    public uint OpenSslCompressChained()
    {
        _openSsl.Compress(ref _state, _blocks);
        return _state[0];
    }

    [Benchmark(Description = "Managed compress, 1 block")]
    public uint ManagedCompress()
    {
        _managed.Compress(ref _state, _block);
        return _state[0];
    }

    [Benchmark(Description = "SHA-256d(80 B) via HashData x2")]
    public int DoubleHashData80()
    {
        SHA256.HashData(_header, _inner);
        return SHA256.HashData(_inner, _digest);
    }

    [Benchmark(Description = "SHA-256d(80 B) via OpenSSL compress (3 blocks)")]
    public byte OpenSslDoubleHash80()
    {
        _openSsl.DoubleHash80(_header, _digest);
        return _digest[0];
    }

    [Benchmark(Description = "SHA-256d(80 B) via managed compress (3 blocks)")]
    public byte ManagedDoubleHash80()
    {
        _managed.DoubleHash80(_header, _digest);
        return _digest[0];
    }
}
