using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Prometheus;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Benchmarks;

/// <summary>
/// One /metrics scrape of the six per-worker families (shares by result, accepted difficulty, hashrate by window, last
/// share, difficulty, reconciliation gap) for a farm of 1,000 or 10,000 rigs, each on one pool with shares counted:
/// the bytes allocated per scrape are the figure.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MiningBenchmarkConfig))]
public class WorkerSeriesExportBenchmarks
{
    private ShareLedger _ledger = null!;

    [Params(1_000, 10_000)]
    public int Workers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var time = TimeProvider.System;
        var metrics = new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()), maxWorkerSeries: 10_000);
        _ledger = new ShareLedger(time, metrics);
        var now = time.GetTimestamp();
        var unixMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < Workers; i++)
        {
            var worker = _ledger.Worker($"farm.rack{i / 100:D3}-s21-{i % 100:D2}");
            var route = worker.ForPool("pool0");
            worker.SetDifficulty(65536);
            for (var s = 0; s < 3; s++)
            {
                worker.Record(ShareResult.Accepted, 65536, now, unixMs);
                route.OnAccepted(65536);
            }

            route.CountResult(ShareResult.Stale);
        }
    }

    /// <summary>The per-worker part of one scrape, written as Prometheus text.</summary>
    [Benchmark]
    public long Scrape()
    {
        using var sink = new CountingStream();
        var output = PipeWriter.Create(sink, new StreamPipeWriterOptions(leaveOpen: true));
        _ledger.WriteWorkerSeriesAsync(output, ExpositionFormat.PrometheusText).GetAwaiter().GetResult();
        output.Complete();
        return sink.Length;
    }

    /// <summary>Counts what is written and keeps nothing, so the figure is the export's own.</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => _length += count;

        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            _length += count;
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _length += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }
}
