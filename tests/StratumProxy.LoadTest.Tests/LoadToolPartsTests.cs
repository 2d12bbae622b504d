namespace StratumProxy.LoadTest.Tests;

public sealed class LoadToolPartsTests
{
    [Fact]
    public void ShareMix_Schedule_HoldsTheWeightsExactlyAndInterleaves()
    {
        var mix = ShareMix.Parse("valid=10,bad-nonce=80,stale=5,duplicate=5");

        var kinds = Enumerable.Range(0, 100).Select(i => mix.KindOf(i)).ToList();

        Assert.Equal(10, kinds.Count(k => k == ShareKind.Valid));
        Assert.Equal(80, kinds.Count(k => k == ShareKind.BadNonce));
        Assert.Equal(5, kinds.Count(k => k == ShareKind.Stale));
        Assert.Equal(5, kinds.Count(k => k == ShareKind.Duplicate));
        Assert.Contains(ShareKind.Valid, kinds.Take(20));
        Assert.Equal(mix.KindOf(7), mix.KindOf(107));
    }

    [Theory]
    [InlineData("valid=1,bogus=2")]
    [InlineData("valid")]
    [InlineData("valid=0")]
    public void ShareMix_Invalid_IsRefused(string text) => Assert.Throws<ArgumentException>(() => ShareMix.Parse(text));

    [Fact]
    public void LatencyHistogram_Percentiles_WithinOneBucket()
    {
        var histogram = new LatencyHistogram();
        for (var i = 1; i <= 1000; i++)
        {
            histogram.Record(i * 100); // 0.1 ms … 100 ms
        }

        var summary = histogram.Summarize();

        Assert.Equal(1000, summary.Count);
        Assert.InRange(summary.P50Ms, 50, 50 * 1.04);
        Assert.InRange(summary.P99Ms, 99, 99 * 1.04);
        Assert.Equal(100, summary.MaxMs);
    }

    [Fact]
    public void ProcessProbe_Series_ReadsPrometheusText()
    {
        const string text = """
            # HELP dotnet_total_memory_bytes Total known allocated memory
            # TYPE dotnet_total_memory_bytes gauge
            dotnet_total_memory_bytes 12345678
            dotnet_collection_count_total{generation="0"} 17
            dotnet_collection_count_total{generation="2"} 3
            """;

        Assert.Equal(12345678, ProcessProbe.Series(text, "dotnet_total_memory_bytes"));
        Assert.Equal(3, ProcessProbe.Series(text, "dotnet_collection_count_total{generation=\"2\"}"));
        Assert.Null(ProcessProbe.Series(text, "dotnet_total_memory"));
    }

    [Fact]
    public void ProcessProbe_Read_OwnProcess_HasCpuAndRss()
    {
        var sample = ProcessProbe.Read(Environment.ProcessId);

        Assert.NotNull(sample);
        Assert.True(sample.RssBytes > 0);
        Assert.True(sample.Threads > 0);
    }

    [Fact]
    public async Task ProcessProbe_PoolWorkerThreads_CountsTheRuntimesPoolWorkersByName()
    {
        // A work item on the thread pool runs on a worker the runtime names ".NET TP Worker".
        var onWorker = await Task.Run(() => File.ReadAllText($"/proc/thread-self/comm").TrimEnd('\n'));

        var workers = ProcessProbe.PoolWorkerThreads(Environment.ProcessId);

        Assert.Equal(ProcessProbe.PoolWorkerThreadName, onWorker);
        Assert.NotNull(workers);
        Assert.InRange(workers.Value, 1, ProcessProbe.Read(Environment.ProcessId)!.Threads);
        Assert.Null(ProcessProbe.PoolWorkerThreads(int.MaxValue));
    }

    [Theory]
    [InlineData("--target 10.0.0.1:3333")]
    [InlineData("--target 127.0.0.1:3333 --sessionz 5")]
    [InlineData("--sessions 5")]
    public void ParseRun_NonLoopbackTypoOrMissingTarget_IsRefused(string args) =>
        Assert.Throws<ArgumentException>(() => Program.ParseRun(new Arguments(args.Split(' '))));

    [Fact]
    public void ParseRun_Options_AreRead()
    {
        var options = Program.ParseRun(new Arguments("--target 127.0.0.1:3333 --sessions 1000 --window 8 --rate 2000 --mix valid=1,bad-nonce=9 --proxy-pid 42".Split(' ')));

        Assert.Equal(3333, options.Target.Port);
        Assert.Equal(1000, options.Sessions);
        Assert.Equal(2000, options.Rate);
        Assert.Equal(42, options.ProxyPid);
        Assert.Equal("valid=1,bad-nonce=9", options.Mix.ToString());
    }
}
