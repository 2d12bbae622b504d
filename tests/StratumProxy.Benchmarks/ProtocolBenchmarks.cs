using System.Buffers;
using BenchmarkDotNet.Attributes;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Benchmarks;

/// <summary>The wire hot path: framing + parsing a submit, and writing the lines a miner gets per share and per job.</summary>
[MemoryDiagnoser]
public class ProtocolBenchmarks
{
    private static readonly byte[] SubmitLine = "{\"id\":6,\"method\":\"mining.submit\",\"params\":[\"farm.rack12-s21xp-07\",\"1a2b3c\",\"0000a1b2\",\"6b073194\",\"1deb7e89\",\"0e596000\"]}\n"u8.ToArray();
    private static readonly byte[][] Branches = Enumerable.Range(0, 12).Select(i => Enumerable.Repeat((byte)i, 32).ToArray()).ToArray();
    private static readonly byte[] PrevHash = new byte[32];
    private static readonly byte[] Coinbase1 = new byte[105];
    private static readonly byte[] Coinbase2 = new byte[103];
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private readonly StratumWriter _writer = new();
    private readonly JsonRpcId _id = JsonRpcId.FromNumber(6);

    /// <summary>Frame one line off a buffer, parse its envelope and the submit params.</summary>
    [Benchmark]
    public uint ParseSubmitLine()
    {
        var buffer = new ReadOnlySequence<byte>(SubmitLine);
        LineFramer.TryReadLine(ref buffer, LineFramer.DefaultMaxLineLength, out var line);
        var span = line.FirstSpan;
        if (!StratumEnvelope.TryParse(span, out var envelope, out _) || !SubmitRequest.TryParse(span, envelope, out var submit, out _))
        {
            throw new InvalidOperationException("the benchmark's submit line no longer parses");
        }

        return submit.Nonce;
    }

    /// <summary>The answer to an accepted share.</summary>
    [Benchmark]
    public int WriteResult()
    {
        _output.ResetWrittenCount();
        _writer.WriteResult(_output, _id, true);
        return _output.WrittenCount;
    }

    /// <summary>A notify with a 220-byte coinbase and 12 branches (rendered once per job per upstream).</summary>
    [Benchmark]
    public int WriteNotify()
    {
        _output.ResetWrittenCount();
        _writer.WriteNotify(_output, "1a2b3c"u8, PrevHash, Coinbase1, Coinbase2, Branches, 0x20000000, 0x17029a8a, 0x679ac169, true);
        return _output.WrittenCount;
    }
}
