using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Routing;

/// <summary>How <see cref="TlsTerminator.DropAsync"/> ends a connection.</summary>
public enum TlsDrop
{
    /// <summary>A TCP reset, no TLS close_notify (the pool's host or balancer died).</summary>
    Reset,

    /// <summary>A TLS close_notify and a FIN (the balancer closed the connection in order).</summary>
    Close,
}

/// <summary>
/// A TLS front for a plain test pool, with a self-signed certificate made in memory: what a pool's
/// <c>stratum+ssl://</c> port looks like to the proxy. It relays whole lines, so a test can hold the pool's answers
/// back (<see cref="HoldAsync"/>), end the connections mid-flight (<see cref="DropAsync"/>) and keep the pool unreachable
/// (<see cref="Refuse"/>), as a TLS load balancer in front of a dying pool does.
/// </summary>
internal sealed class TlsTerminator : LoopbackServer<EndPoint>
{
    private readonly X509Certificate2 _certificate;
    private readonly int _backendPort;
    private readonly ConcurrentDictionary<Relay, byte> _relays = new();
    private int _acceptedVerdicts;
    private volatile bool _refuse;

    public TlsTerminator(int backendPort)
    {
        _backendPort = backendPort;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pool.test", key, HashAlgorithmName.SHA256);
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        _certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
        Start();
    }

    public int Handshakes;

    /// <summary>While true, a new connection is reset before its TLS handshake: the pool cannot be reached.</summary>
    public bool Refuse
    {
        get => _refuse;
        set => _refuse = value;
    }

    /// <summary>Submits on the open connections whose verdict has not gone out to the proxy.</summary>
    public int AwaitingVerdicts => _relays.Keys.Sum(r => r.Awaiting);

    /// <summary>Accepting verdicts on those submits that went out to the proxy, the injected ones included.</summary>
    public int AcceptedVerdicts => Volatile.Read(ref _acceptedVerdicts);

    /// <summary>
    /// From now on the pool's lines to the proxy on the open connections are read but not passed on (a line being
    /// passed on when this is called has gone out when it returns).
    /// </summary>
    public async Task HoldAsync()
    {
        foreach (var relay in _relays.Keys)
        {
            await relay.HoldAsync();
        }
    }

    /// <summary>
    /// Ends every open connection: sends the <paramref name="tail"/> made from the id of the last mining.submit on that
    /// connection (whole lines and perhaps a part of one) through TLS first, then a reset or an orderly close. What the
    /// pool sent that was held back is never delivered.
    /// </summary>
    public async Task DropAsync(TlsDrop how, Func<long, string>? tail = null)
    {
        foreach (var relay in _relays.Keys)
        {
            await relay.EndAsync(how, tail);
        }
    }

    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        using (var backend = new TcpClient())
        {
            if (_refuse)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                return;
            }

            try
            {
                client.NoDelay = true;
                await using var ssl = new SslStream(client.GetStream());
                await ssl.AuthenticateAsServerAsync(_certificate);
                Interlocked.Increment(ref Handshakes);
                Record(client.Client.RemoteEndPoint!);
                await backend.ConnectAsync(IPAddress.Loopback, _backendPort);
                var relay = new Relay(this, client, ssl, backend.GetStream());
                _relays.TryAdd(relay, 0);
                try
                {
                    await relay.RunAsync(Stopping);
                }
                finally
                {
                    _relays.TryRemove(relay, out _);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
            {
                // The test decides what a broken relay means.
            }
        }
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        await base.DisposeAsyncCore();
        _certificate.Dispose();
    }

    private sealed class Relay(TlsTerminator owner, TcpClient client, SslStream ssl, NetworkStream backend)
    {
        private readonly SemaphoreSlim _toProxy = new(1, 1);
        private readonly CancellationTokenSource _end = new();
        private readonly ConcurrentDictionary<long, byte> _submitIds = new();
        private readonly ConcurrentDictionary<long, byte> _awaiting = new();
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _ending;

        public volatile bool Held;

        /// <summary>Submits sent on this connection whose verdict has not gone out to the proxy.</summary>
        public int Awaiting => _awaiting.Count;

        public async Task RunAsync(CancellationToken stopping)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _end.Token);
            await Task.WhenAny(PumpAsync(ssl, backend, toPool: true, linked.Token), PumpAsync(backend, ssl, toPool: false, linked.Token));
            if (_ending)
            {
                // The connection stays until the drop under way is done with it.
                await _ended.Task;
            }

            await _end.CancelAsync();
        }

        public async Task HoldAsync()
        {
            await _toProxy.WaitAsync();
            Held = true;
            _toProxy.Release();
        }

        public async Task EndAsync(TlsDrop how, Func<long, string>? tail)
        {
            _ending = true;
            await _toProxy.WaitAsync();
            try
            {
                Held = true;
                if (tail is not null)
                {
                    var text = tail(_awaiting.Keys.Max());
                    foreach (var line in text.Split('\n')[..^1])
                    {
                        Inspect(line, toPool: false);
                    }

                    await ssl.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text));
                    await ssl.FlushAsync();
                }

                if (how == TlsDrop.Close)
                {
                    await ssl.ShutdownAsync();
                    client.Client.Shutdown(SocketShutdown.Send);
                }

                // A reset (also the close of a socket with unread input, as this one may have) throws away what has not
                // gone out yet: the proxy's side gets every byte sent before the end. After an orderly close the front
                // waits until the proxy acknowledged it all; a reset follows its last bytes at once, as when a host dies.
                await TcpInfoZeroAsync(client.Client, how == TlsDrop.Reset ? NotSentBytes : Unacknowledged);
                if (how == TlsDrop.Reset)
                {
                    client.Client.LingerState = new LingerOption(true, 0);
                    client.Client.Close();
                }
            }
            catch (Exception ex) when (ex is ObjectDisposedException or IOException or SocketException)
            {
                // The connection ended before this did (the proxy closed it first).
            }
            finally
            {
                _toProxy.Release();
                _ended.TrySetResult();
            }

            await _end.CancelAsync();
        }

        /// <summary>Offset of tcpi_unacked (segments sent and not acknowledged) in Linux's struct tcp_info.</summary>
        private const int Unacknowledged = 24;

        /// <summary>Offset of tcpi_notsent_bytes (bytes written and not sent yet) in Linux's struct tcp_info.</summary>
        private const int NotSentBytes = 144;

        /// <summary>Waits until a 32-bit field of the socket's TCP_INFO is 0.</summary>
        private static async Task TcpInfoZeroAsync(Socket socket, int offset)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var info = new byte[232];
            while (true)
            {
                int length;
                try
                {
                    length = socket.GetRawSocketOption(6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                if (length >= offset + 4 && BitConverter.ToUInt32(info, offset) == 0)
                {
                    return;
                }

                await Task.Delay(1, deadline.Token);
            }
        }

        /// <summary>Copies whole lines from one side to the other, noting submits and verdicts, until either side ends.</summary>
        private async Task PumpAsync(Stream from, Stream to, bool toPool, CancellationToken cancellationToken)
        {
            try
            {
                await CopyLinesAsync(from, to, toPool, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                // The relay ends with either side.
            }
        }

        private async Task CopyLinesAsync(Stream from, Stream to, bool toPool, CancellationToken cancellationToken)
        {
            var buffer = new byte[16 * 1024];
            var pending = new List<byte>();
            while (true)
            {
                var read = await from.ReadAsync(buffer, cancellationToken);
                if (read == 0)
                {
                    return;
                }

                pending.AddRange(buffer.AsSpan(0, read));
                var end = pending.LastIndexOf((byte)'\n');
                if (end < 0)
                {
                    continue;
                }

                var lines = pending.GetRange(0, end + 1).ToArray();
                pending.RemoveRange(0, end + 1);
                if (toPool)
                {
                    Forward(lines, toPool);
                    await to.WriteAsync(lines, cancellationToken);
                    continue;
                }

                await _toProxy.WaitAsync(cancellationToken);
                try
                {
                    if (!Held)
                    {
                        Forward(lines, toPool);
                        await to.WriteAsync(lines, cancellationToken);
                    }
                }
                finally
                {
                    _toProxy.Release();
                }
            }
        }

        private void Forward(byte[] lines, bool toPool)
        {
            foreach (var line in System.Text.Encoding.UTF8.GetString(lines).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Inspect(line, toPool);
            }
        }

        /// <summary>Notes a submit the proxy sent on this connection, or counts an accepting verdict on one going to the proxy.</summary>
        private void Inspect(string line, bool toPool)
        {
            try
            {
                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                if (!root.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number)
                {
                    return;
                }

                if (toPool)
                {
                    if (root.TryGetProperty("method", out var method) && method.GetString() == "mining.submit")
                    {
                        _submitIds.TryAdd(id.GetInt64(), 0);
                        _awaiting.TryAdd(id.GetInt64(), 0);
                    }
                }
                else if (_submitIds.ContainsKey(id.GetInt64()) && root.TryGetProperty("result", out var result))
                {
                    _awaiting.TryRemove(id.GetInt64(), out _);
                    if (result.ValueKind == JsonValueKind.True)
                    {
                        Interlocked.Increment(ref owner._acceptedVerdicts);
                    }
                }
            }
            catch (JsonException)
            {
                // A part of a line (injected on purpose) or not JSON: nothing to count.
            }
        }
    }
}
