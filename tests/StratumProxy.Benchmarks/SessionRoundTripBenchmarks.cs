using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Proxy.Transport;
using StratumProxy.Proxy.Upstream;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Benchmarks;

/// <summary>
/// One share through a whole miner session over in-memory pipes (no sockets): the miner writes a mining.submit line,
/// the session frames and parses it, finds the job, checks ntime, duplicates and the SHA-256d of the rebuilt header,
/// credits it, and the miner reads the answer. The upstream connection is real too, over its own in-memory pipe to a
/// minimal pool that answers the handshake and sends jobs; the pool's difficulty is high, so every share is judged
/// and answered by the proxy (the pool is not part of the round trip).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MiningBenchmarkConfig))]
public class SessionRoundTripBenchmarks
{
    private const int SharesPerJob = 100_000;
    private const string Extranonce1Hex = "0a0b0c0d";

    private readonly byte[] _submit = new byte[256];
    private CancellationTokenSource _stop = null!;
    private Pipe _minerToProxy = null!;
    private Pipe _proxyToMiner = null!;
    private Pipe _poolToProxy = null!;
    private Pipe _proxyToPool = null!;
    private UpstreamConnection _upstream = null!;
    private MinerSession _session = null!;
    private Task _sessionRun = null!;
    private Task _upstreamRun = null!;
    private Task _pool = null!;
    private int _submitLength;
    private int _nonceOffset;
    private uint _nonce;
    private int _jobsSent;
    private int _sharesOnJob;

    [GlobalSetup]
    public void Setup()
    {
        _stop = new CancellationTokenSource();
        var time = TimeProvider.System;
        var metrics = new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var jobs = new JobRegistry();
        var options = new ProxyOptions
        {
            Miners = new MinerOptions { MaxSubmitsPerSecond = 1e12 },
            Difficulty = new DifficultyOptions { Start = 1e-70, Min = 1e-70, Max = 1e-70, PowerOfTwo = false },
        };
        var layout = new MinerLayout(2, 4);
        var context = new SessionContext(time, NullLogger.Instance, metrics, new ShareLedger(time, metrics), jobs, new ExtranoncePrefixes(), ShareHasher.Default, new Router(layout))
        {
            Options = options,
        };

        _poolToProxy = new Pipe();
        _proxyToPool = new Pipe();
        var pool = new PoolOptions { Name = "bench", Url = "stratum+tcp://127.0.0.1:1", User = "acct.proxy", VersionRolling = false };
        if (!PoolUrl.TryParse(pool.Url, out var url, out _))
        {
            throw new InvalidOperationException("bad pool URL");
        }

        var upstreamContext = new UpstreamContext(time, NullLogger.Instance, metrics, jobs, layout.PrefixSize, layout.Extranonce2Size, 256 * 1024);
        _upstream = new UpstreamConnection(new ProxyConnection(new Duplex(_poolToProxy.Reader, _proxyToPool.Writer), null, null, null), upstreamContext, pool, url, null)
        {
            ChooseLayout = n => layout.FitsIn(n) ? layout : null,
        };
        _pool = PoolAsync(_stop.Token);
        _upstreamRun = _upstream.RunAsync(_stop.Token);
        if (!_upstream.Ready.WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult())
        {
            throw new InvalidOperationException("the in-memory pool did not get ready");
        }

        _minerToProxy = new Pipe();
        _proxyToMiner = new Pipe();
        _session = new MinerSession(new ProxyConnection(new Duplex(_minerToProxy.Reader, _proxyToMiner.Writer), null, null, null), new ListenerOptions(), context);
        _sessionRun = _session.RunAsync(_stop.Token);
        WriteLine("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"bench/1.0\"]}");
        WriteLine("{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"farm.rig1\",\"x\"]}");
        ReadUntil(line => line.Contains("\"id\":2", StringComparison.Ordinal));
        if (!_session.AttachTo(_upstream))
        {
            throw new InvalidOperationException("the session did not attach");
        }

        UseJob(ReadUntil(line => line.Contains("mining.notify", StringComparison.Ordinal)));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Close("benchmark over");
        _upstream.Close("benchmark over");
        _stop.Cancel();
        _minerToProxy.Writer.Complete();
        _poolToProxy.Writer.Complete();
        try
        {
            Task.WhenAll(_sessionRun, _upstreamRun, _pool).Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    /// <summary>A submit written by the miner, validated by the session (hash included) and answered "true".</summary>
    [Benchmark]
    public bool SubmitRoundTrip()
    {
        if (++_sharesOnJob == SharesPerJob)
        {
            // A job holds a bounded number of shares (the duplicate filter): the pool sends the next one.
            NextJob();
        }

        while (!Submit())
        {
            // The job was replaced while the share was on its way (rare): send it again on the newest job.
        }

        return true;
    }

    /// <summary>True when accepted, false when stale (a newer job arrived); throws on any other answer.</summary>
    private bool Submit()
    {
        _nonce++;
        Utf8Hex(_nonce, _submit.AsSpan(_nonceOffset, 8));
        var writer = _minerToProxy.Writer;
        writer.Write(_submit.AsSpan(0, _submitLength));
        var flush = writer.FlushAsync();
        if (!flush.IsCompletedSuccessfully)
        {
            flush.AsTask().GetAwaiter().GetResult();
        }

        // Spin rather than await: the answer comes from the session's loop on another thread, and an await would
        // allocate a state machine here that is no part of the proxy's cost.
        var reader = _proxyToMiner.Reader;
        var spin = default(SpinWait);
        while (true)
        {
            ReadResult result;
            while (!reader.TryRead(out result))
            {
                spin.SpinOnce();
            }

            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } end)
            {
                var line = buffer.Slice(0, end);
                if (line.FirstSpan.IndexOf("\"method\""u8) >= 0)
                {
                    // A job or difficulty the proxy sent meanwhile (rare): follow the newest job, then read on.
                    var text = Encoding.UTF8.GetString(line);
                    reader.AdvanceTo(buffer.GetPosition(1, end));
                    if (text.Contains("mining.notify", StringComparison.Ordinal))
                    {
                        UseJob(text);
                    }

                    continue;
                }

                var accepted = line.FirstSpan.IndexOf("true"u8) >= 0 && line.FirstSpan.IndexOf("\"id\":7"u8) >= 0;
                var stale = !accepted && line.FirstSpan.IndexOf("[21,"u8) >= 0;
                if (!accepted && !stale)
                {
                    throw new InvalidOperationException("the share was not accepted: " + Encoding.UTF8.GetString(line));
                }

                reader.AdvanceTo(buffer.GetPosition(1, end));
                return accepted;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private void NextJob()
    {
        _sharesOnJob = 0;
        WritePoolJob();
        UseJob(ReadUntil(line => line.Contains("mining.notify", StringComparison.Ordinal)));
    }

    private void UseJob(string notify)
    {
        using var doc = JsonDocument.Parse(notify);
        var parameters = doc.RootElement.GetProperty("params");
        var jobId = parameters[0].GetString()!;
        var ntime = parameters[7].GetString()!;
        var line = $"{{\"id\":7,\"method\":\"mining.submit\",\"params\":[\"farm.rig1\",\"{jobId}\",\"00000001\",\"{ntime}\",\"";
        var bytes = Encoding.UTF8.GetBytes(line);
        bytes.CopyTo(_submit, 0);
        _nonceOffset = bytes.Length;
        var tail = "\"]}\n"u8;
        tail.CopyTo(_submit.AsSpan(_nonceOffset + 8));
        _submitLength = _nonceOffset + 8 + tail.Length;
    }

    private static void Utf8Hex(uint value, Span<byte> destination)
    {
        for (var i = 7; i >= 0; i--)
        {
            destination[i] = (byte)"0123456789abcdef"[(int)(value & 0xf)];
            value >>= 4;
        }
    }

    private void WriteLine(string line)
    {
        _minerToProxy.Writer.Write(Encoding.UTF8.GetBytes(line + "\n"));
        _minerToProxy.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
    }

    private string ReadUntil(Func<string, bool> match)
    {
        var reader = _proxyToMiner.Reader;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var result = reader.ReadAsync(timeout.Token).AsTask().GetAwaiter().GetResult();
            var buffer = result.Buffer;
            while (buffer.PositionOf((byte)'\n') is { } end)
            {
                var line = Encoding.UTF8.GetString(buffer.Slice(0, end));
                buffer = buffer.Slice(buffer.GetPosition(1, end));
                if (match(line))
                {
                    reader.AdvanceTo(buffer.Start);
                    return line;
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private void WritePoolJob()
    {
        var n = Interlocked.Increment(ref _jobsSent);
        var ntime = ((uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds()).ToString("x8", CultureInfo.InvariantCulture);
        var branches = string.Join(',', Enumerable.Range(0, 12).Select(i => "\"" + new string((char)('a' + (i % 6)), 64) + "\""));
        var line = $"{{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"j{n}\",\"{new string('0', 64)}\",\"{new string('1', 210)}\",\"{new string('2', 206)}\",[{branches}],\"20000000\",\"1705ae3a\",\"{ntime}\",true]}}\n";
        lock (_poolToProxy)
        {
            _poolToProxy.Writer.Write(Encoding.UTF8.GetBytes(line));
            _poolToProxy.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>The pool: answers configure/subscribe/authorize, then sets a high difficulty and sends the first job.</summary>
    private async Task PoolAsync(CancellationToken stop)
    {
        var reader = _proxyToPool.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(stop);
                var buffer = result.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    var line = Encoding.UTF8.GetString(buffer.Slice(0, end));
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                    using var doc = JsonDocument.Parse(line);
                    var root = doc.RootElement;
                    var id = root.GetProperty("id").GetRawText();
                    var answer = root.GetProperty("method").GetString() switch
                    {
                        "mining.subscribe" => $"{{\"id\":{id},\"result\":[[[\"mining.notify\",\"s1\"]],\"{Extranonce1Hex}\",6],\"error\":null}}\n",
                        _ => $"{{\"id\":{id},\"result\":true,\"error\":null}}\n",
                    };
                    lock (_poolToProxy)
                    {
                        _poolToProxy.Writer.Write(Encoding.UTF8.GetBytes(answer));
                        _poolToProxy.Writer.FlushAsync(stop).AsTask().GetAwaiter().GetResult();
                    }

                    if (root.GetProperty("method").GetString() == "mining.authorize")
                    {
                        lock (_poolToProxy)
                        {
                            _poolToProxy.Writer.Write("{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[1e15]}\n"u8);
                        }

                        WritePoolJob();
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    private sealed class Router(MinerLayout layout) : IMinerRouter
    {
        public void OnAuthorized(MinerSession session)
        {
        }

        public void OnClosed(MinerSession session, string? lastPool)
        {
        }

        public MinerLayout LayoutFor(ListenerOptions listener) => layout;
    }
}
