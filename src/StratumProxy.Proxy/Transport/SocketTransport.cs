using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Pipelines.Sockets.Unofficial;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// The only code that knows about Pipelines.Sockets.Unofficial (STYLE.md: referenced from one folder, behind our
/// own seam). Plain TCP: Socket → SocketConnection. TLS: Socket → NetworkStream → SslStream → StreamConnection.
/// </summary>
public static class SocketTransport
{
    /// <summary>Binds a listening socket; throws <see cref="SocketException"/> when the address is in use.</summary>
    public static Socket Bind(IPEndPoint endpoint, int backlog = 1024)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endpoint);
            socket.Listen(backlog);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Wraps an accepted miner socket.</summary>
    public static ProxyConnection WrapAccepted(Socket socket, int maxLineLength)
    {
        SocketConnection.SetRecommendedServerOptions(socket);
        var connection = SocketConnection.Create(
            socket,
            PipeOptionsFactory.MinerSend(),
            PipeOptionsFactory.MinerReceive(maxLineLength),
            SocketConnectionOptions.ZeroLengthReads);
        return new ProxyConnection(connection, socket.RemoteEndPoint, socket.LocalEndPoint, new DisposableConnection(connection));
    }

    /// <summary>Connects to a pool over TCP or TLS.</summary>
    public static async Task<ProxyConnection> ConnectAsync(PoolUrl url, bool allowInvalidCertificate, int maxLineLength, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            SocketConnection.SetRecommendedClientOptions(socket);
            await socket.ConnectAsync(url.Host, url.Port, cancellationToken).ConfigureAwait(false);
            if (!url.UseTls)
            {
                var connection = SocketConnection.Create(socket, PipeOptionsFactory.PoolSend(), PipeOptionsFactory.PoolReceive(maxLineLength));
                return new ProxyConnection(connection, socket.RemoteEndPoint, socket.LocalEndPoint, new DisposableConnection(connection));
            }

            var stream = new NetworkStream(socket, ownsSocket: true);
#pragma warning disable CA5359 // Opt-in per pool (AllowInvalidCertificate) for self-signed pool certificates; off by default.
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false, allowInvalidCertificate ? static (_, _, _, _) => true : null);
#pragma warning restore CA5359
            try
            {
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = url.Host,
                        EnabledSslProtocols = SslProtocols.None,
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            var duplex = StreamConnection.GetDuplex(ssl, PipeOptionsFactory.PoolSend(), PipeOptionsFactory.PoolReceive(maxLineLength));
            return new ProxyConnection(duplex, socket.RemoteEndPoint, socket.LocalEndPoint, ssl);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class DisposableConnection(SocketConnection connection) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            connection.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
