using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Routing;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Transport;
using StratumProxy.TestKit;

namespace StratumProxy.Benchmarks;

/// <summary>
/// One routing tick (timeouts, pool health, the pool each authorized miner should be on, the miner counts) over
/// <see cref="Sessions"/> miners placed on one ready pool (a loopback test pool); the miners sit on in-memory pipes and
/// do not run, so the tick is all that is measured.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MiningBenchmarkConfig))]
public class RoutingTickBenchmarks
{
    private TestPool _pool = null!;
    private ProxyEngine _engine = null!;

    [Params(1_000, 10_000)]
    public int Sessions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pool = TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 }).GetAwaiter().GetResult();
        var listener = new ListenerOptions { Name = "bench", Endpoint = "127.0.0.1:0", PoolGroup = "default" };
        var options = new ProxyOptions
        {
            Listeners = [listener],
            Pools = [new PoolOptions { Name = "pool0", Url = _pool.Url, User = "acct", Group = "default" }],
        };
        var metrics = new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        _engine = new ProxyEngine(options, TimeProvider.System, NullLogger.Instance, metrics);
        _engine.Start();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!_engine.Pools.All(p => p.IsReady))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("the test pool did not become ready");
            }

            Thread.Sleep(10);
        }

        for (var i = 0; i < Sessions; i++)
        {
            var pipe = new Pipe();
            var state = new SessionState
            {
                Listener = listener.Name, ProxyHeaderDone = true, SawFirstByte = true, Subscribed = true,
                Worker = $"farm.rig{i}", HasIdentity = true, PrefixSize = 2, Extranonce2Size = 4, Difficulty = 1,
            };
            _engine.ImportSession(state, new ProxyConnection(new Duplex(pipe.Reader, pipe.Writer), null, null, null), listener);
        }

        _engine.Tick();
        _engine.Tick();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _pool.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public void Tick() => _engine.Tick();

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
