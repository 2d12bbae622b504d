using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Routing;

/// <summary>
/// A TLS front for a plain test pool, with a self-signed certificate made in memory: what a pool's
/// <c>stratum+ssl://</c> port looks like to the proxy.
/// </summary>
internal sealed class TlsTerminator : LoopbackServer<EndPoint>
{
    private readonly X509Certificate2 _certificate;
    private readonly int _backendPort;

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

    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        using (var backend = new TcpClient())
        {
            try
            {
                await using var ssl = new SslStream(client.GetStream());
                await ssl.AuthenticateAsServerAsync(_certificate);
                Interlocked.Increment(ref Handshakes);
                Record(client.Client.RemoteEndPoint!);
                await backend.ConnectAsync(IPAddress.Loopback, _backendPort);
                var plain = backend.GetStream();
                await Task.WhenAny(ssl.CopyToAsync(plain, Stopping), plain.CopyToAsync(ssl, Stopping));
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
}
