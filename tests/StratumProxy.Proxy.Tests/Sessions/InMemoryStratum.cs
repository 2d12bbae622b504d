using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Proxy.Transport;
using StratumProxy.Proxy.Upstream;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Proxy.Tests.Sessions;

/// <summary>Two cross-wired pipes: what one end writes, the other reads. No sockets.</summary>
internal sealed class InMemoryDuplex
{
    private readonly Pipe _aToB;
    private readonly Pipe _bToA = new();

    private readonly WatchedWriter _toPeer;

    /// <summary>Creates the pair; <paramref name="toPeer"/> sets the pipe the proxy writes into (its pause threshold is how much the peer's side takes unread).</summary>
    public InMemoryDuplex(PipeOptions? toPeer = null)
    {
        _aToB = new Pipe(toPeer ?? PipeOptions.Default);
        _toPeer = new WatchedWriter(_aToB.Writer);
        A = new End(_bToA.Reader, _toPeer);
        B = new End(_aToB.Reader, _bToA.Writer);
    }

    /// <summary>The proxy's end.</summary>
    public IDuplexPipe A { get; }

    /// <summary>The peer's end.</summary>
    public IDuplexPipe B { get; }

    /// <summary>
    /// Completes once a flush of the proxy's end to the peer waits (the pipe holds its pause threshold of bytes the
    /// peer has not examined). A pipe counts only what its reader has not examined: a peer that looks at its bytes
    /// without consuming them lets the writer on, so waiting at the peer for bytes to pile up does not prove this.
    /// </summary>
    public Task ProxyFlushWaits => _toPeer.Waits;

    /// <summary>The proxy's writer, passed through, noting the first flush that does not complete at once.</summary>
    private sealed class WatchedWriter(PipeWriter inner) : PipeWriter
    {
        private readonly TaskCompletionSource _waits = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Waits => _waits.Task;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            var flush = inner.FlushAsync(cancellationToken);
            if (!flush.IsCompleted)
            {
                _waits.TrySetResult();
            }

            return flush;
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
    }

    private sealed class End(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}

/// <summary>One end of a line-based Stratum conversation over a pipe (the miner's or the pool's side).</summary>
internal sealed class LinePeer(IDuplexPipe pipe, Task? otherSideFlushWaits = null)
{
    private readonly SemaphoreSlim _write = new(1, 1);

    public Task WriteAsync(string line, CancellationToken cancellationToken) => WriteRawAsync(line + "\n", cancellationToken);

    /// <summary>Writes bytes as they are (no line end added: a line can be left unfinished).</summary>
    public async Task WriteRawAsync(string text, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            pipe.Output.Write(Encoding.UTF8.GetBytes(text));
            await pipe.Output.FlushAsync(cancellationToken);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>
    /// Waits until the other side's flush to this one waits (a peer whose receive window is shut: it takes no more
    /// bytes). Only for a miner connected through <see cref="InMemoryTransport.ConnectMiner"/>; this side reads
    /// nothing meanwhile, nor may it have looked at what it left unread (looked-at bytes no longer hold the writer).
    /// </summary>
    public Task WaitUntilOtherSideWaitsAsync(CancellationToken cancellationToken) =>
        (otherSideFlushWaits ?? throw new InvalidOperationException("This peer's other side is not watched.")).WaitAsync(cancellationToken);

    /// <summary>Closes this side's output (the peer hangs up).</summary>
    public ValueTask CompleteAsync() => pipe.Output.CompleteAsync();

    /// <summary>Stops reading for good (the peer's receive side is gone): the other side's next flush finds its output done.</summary>
    public ValueTask StopReadingAsync() => pipe.Input.CompleteAsync();

    /// <summary>The next line, or null when the other side closed.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await pipe.Input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } end)
            {
                var line = Encoding.UTF8.GetString(buffer.Slice(0, end));
                pipe.Input.AdvanceTo(buffer.GetPosition(1, end));
                return line;
            }

            pipe.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    public async Task<string> ReadUntilAsync(Func<string, bool> match, CancellationToken cancellationToken)
    {
        while (await ReadLineAsync(cancellationToken) is { } line)
        {
            if (match(line))
            {
                return line;
            }
        }

        throw new InvalidOperationException("the other side closed");
    }
}

/// <summary>
/// A pool's side of one connection, in the shape a real pool answers (configure with a mask, subscribe with
/// extranonce1 and N = 6, authorize true, every submit true). Jobs carry the pool's marker and a sequence number in
/// prevhash, so a test can check their order at the miner.
/// </summary>
internal sealed class InMemoryPoolServer(LinePeer peer, int marker, bool jobAfterAuthorize)
{
    private readonly string _marker = marker.ToString("x8", CultureInfo.InvariantCulture);
    private int _sequence;
    private int _submits;

    public int Submits => Volatile.Read(ref _submits);

    /// <summary>The pool's share difficulty before the first job (2^-31: about two hashes a share).</summary>
    public double InitialDifficulty { get; init; } = Math.Pow(2, -31);

    public Task SendDifficultyAsync(double difficulty, CancellationToken cancellationToken) =>
        peer.WriteAsync($"{{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[{difficulty.ToString("R", CultureInfo.InvariantCulture)}]}}", cancellationToken);

    public Task SendLineAsync(string line, CancellationToken cancellationToken) => peer.WriteAsync(line, cancellationToken);

    public Task SendVersionMaskAsync(uint mask, CancellationToken cancellationToken) =>
        peer.WriteAsync($"{{\"id\":null,\"method\":\"mining.set_version_mask\",\"params\":[\"{mask:x8}\"]}}", cancellationToken);

    public Task SendExtranonceAsync(string extranonce1, CancellationToken cancellationToken) =>
        peer.WriteAsync($"{{\"id\":null,\"method\":\"mining.set_extranonce\",\"params\":[\"{extranonce1}\",6]}}", cancellationToken);

    public Task SendJobAsync(bool clean, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _sequence);
        var prevHash = n.ToString("x8", CultureInfo.InvariantCulture) + _marker + new string('0', 48);
        var ntime = ((uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds()).ToString("x8", CultureInfo.InvariantCulture);
        var line = $"{{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"j{n}\",\"{prevHash}\",\"{new string('1', 84)}\",\"{new string('2', 100)}\",[\"{new string('a', 64)}\"],\"20000000\",\"1d00ffff\",\"{ntime}\",{(clean ? "true" : "false")}]}}";
        return peer.WriteAsync(line, cancellationToken);
    }

    /// <summary>The sequence number and marker a job's prevhash carries.</summary>
    public static (int Sequence, string Marker) JobOrder(string prevHash) =>
        (int.Parse(prevHash[..8], NumberStyles.HexNumber, CultureInfo.InvariantCulture), prevHash[8..16]);

    public async Task ServeAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await peer.ReadLineAsync(cancellationToken) is { } line)
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                var id = root.GetProperty("id").GetRawText();
                var method = root.GetProperty("method").GetString();
                var answer = method switch
                {
                    "mining.configure" => $"{{\"id\":{id},\"result\":{{\"version-rolling\":true,\"version-rolling.mask\":\"1fffe000\"}},\"error\":null}}",
                    "mining.subscribe" => $"{{\"id\":{id},\"result\":[[[\"mining.notify\",\"s1\"]],\"0a0b0c0d\",6],\"error\":null}}",
                    _ => $"{{\"id\":{id},\"result\":true,\"error\":null}}",
                };
                if (method == "mining.submit")
                {
                    Interlocked.Increment(ref _submits);
                }

                await peer.WriteAsync(answer, cancellationToken);
                if (jobAfterAuthorize && method == "mining.authorize")
                {
                    await SendDifficultyAsync(InitialDifficulty, cancellationToken);
                    await SendJobAsync(clean: true, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Test over.
        }
    }
}

/// <summary>A real <see cref="UpstreamConnection"/> to an <see cref="InMemoryPoolServer"/> over an in-memory pipe.</summary>
internal sealed class InMemoryPool
{
    private readonly InMemoryDuplex _duplex = new();

    public InMemoryPool(SessionHarness harness, string name, int marker)
    {
        Server = new InMemoryPoolServer(new LinePeer(_duplex.B), marker, jobAfterAuthorize: false);
        var pool = new PoolOptions { Name = name, Url = "stratum+tcp://127.0.0.1:1", User = "acct.proxy" };
        Assert.True(PoolUrl.TryParse(pool.Url, out var url, out _));
        Upstream = new UpstreamConnection(new ProxyConnection(_duplex.A, null, null, null), harness.UpstreamContext, pool, url, null)
        {
            ChooseLayout = n => harness.Layout.FitsIn(n) ? harness.Layout : null,
        };
    }

    public UpstreamConnection Upstream { get; }

    public InMemoryPoolServer Server { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Server.ServeAsync(cancellationToken);
        _ = Upstream.RunAsync(cancellationToken);
        Assert.True(await Upstream.Ready.WaitAsync(cancellationToken));
        await Server.SendDifficultyAsync(Server.InitialDifficulty, cancellationToken);
        await Server.SendJobAsync(clean: true, cancellationToken);
        while (Upstream.CurrentJob is null)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}

/// <summary>
/// The transport seam in memory: miners "connect" to a bound listener through <see cref="ConnectMiner"/>, and every
/// pool connection the proxy opens is served by an <see cref="InMemoryPoolServer"/>. No sockets anywhere.
/// </summary>
internal sealed class InMemoryTransport : IConnectionListenerFactory, IUpstreamConnector
{
    private readonly Channel<InMemoryDuplex> _pending = Channel.CreateUnbounded<InMemoryDuplex>();
    private readonly CancellationTokenSource _stop = new();
    private int _pools;

    public int PoolConnections => Volatile.Read(ref _pools);

    public IConnectionListener Bind(EndPoint endpoint) => new Listener(this, endpoint);

    /// <summary>A miner connects; <paramref name="toMiner"/> sets how much of what the proxy sends it takes unread.</summary>
    public LinePeer ConnectMiner(PipeOptions? toMiner = null)
    {
        var duplex = new InMemoryDuplex(toMiner);
        Assert.True(_pending.Writer.TryWrite(duplex));
        return new LinePeer(duplex.B, duplex.ProxyFlushWaits);
    }

    public Task<ProxyConnection> ConnectAsync(PoolUrl url, bool allowInvalidCertificate, int maxLineLength, CancellationToken cancellationToken)
    {
        var duplex = new InMemoryDuplex();
        var server = new InMemoryPoolServer(new LinePeer(duplex.B), 0xc0 + Interlocked.Increment(ref _pools), jobAfterAuthorize: true);
        _ = server.ServeAsync(_stop.Token);
        return Task.FromResult(new ProxyConnection(duplex.A, null, null, null));
    }

    public void Stop()
    {
        _stop.Cancel();
        _pending.Writer.TryComplete();
    }

    private sealed class Listener(InMemoryTransport transport, EndPoint endpoint) : IConnectionListener
    {
        public EndPoint LocalEndPoint { get; } = endpoint;

        public async ValueTask<ProxyConnection?> AcceptAsync(int maxLineLength, IConnectionAdmission admission, CancellationToken cancellationToken)
        {
            try
            {
                while (await transport._pending.Reader.WaitToReadAsync(cancellationToken))
                {
                    if (transport._pending.Reader.TryRead(out var duplex) && admission.TryAdmit(null))
                    {
                        return new ProxyConnection(duplex.A, null, LocalEndPoint, null);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }

            return null;
        }

        public ValueTask DisposeAsync()
        {
            transport._pending.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>What a miner session needs around it, without an engine or sockets: a router that only hands out the layout.</summary>
internal sealed class SessionHarness : IMinerRouter
{
    public SessionHarness(ProxyOptions? options = null, TimeProvider? clock = null)
    {
        var time = clock ?? TimeProvider.System;
        var metrics = new ProxyMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var jobs = new JobRegistry();
        Options = options ?? new ProxyOptions();
        Context = new SessionContext(time, NullLogger.Instance, metrics, new ShareLedger(time, metrics), jobs, new ExtranoncePrefixes(), ShareHasher.Default, this)
        {
            Options = Options,
        };
        UpstreamContext = new UpstreamContext(time, NullLogger.Instance, metrics, jobs, Layout.PrefixSize, Layout.Extranonce2Size, 256 * 1024);
    }

    public MinerLayout Layout { get; } = new(2, 4);

    public ProxyOptions Options { get; }

    public SessionContext Context { get; }

    public UpstreamContext UpstreamContext { get; }

    public int Authorized;

    /// <summary>Opens a session over an in-memory pipe and returns it with the miner's end.</summary>
    public (MinerSession Session, LinePeer Miner) Open()
    {
        var duplex = new InMemoryDuplex();
        var session = new MinerSession(new ProxyConnection(duplex.A, null, null, null), new ListenerOptions(), Context);
        return (session, new LinePeer(duplex.B));
    }

    public void OnAuthorized(MinerSession session) => Interlocked.Increment(ref Authorized);

    public void OnClosed(MinerSession session, string? lastPool)
    {
    }

    public MinerLayout LayoutFor(ListenerOptions listener) => Layout;
}
