using System.Net;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// Binds miner listeners (Kestrel's IConnectionListenerFactory, STYLE.md §2 Kestrel #3). The socket transport is
/// <see cref="SocketListenerFactory"/>; tests bind in-memory listeners so sessions run without sockets.
/// </summary>
public interface IConnectionListenerFactory
{
    /// <summary>Binds <paramref name="endpoint"/>; throws with the transport's error when it cannot (fail fast at start).</summary>
    IConnectionListener Bind(EndPoint endpoint);
}

/// <summary>One bound listener: accepts connections until disposed.</summary>
public interface IConnectionListener : IAsyncDisposable
{
    /// <summary>The address actually bound (port 0 resolved).</summary>
    EndPoint LocalEndPoint { get; }

    /// <summary>
    /// The next admitted connection, or null once the listener is stopped or disposed. <paramref name="admission"/>
    /// sees the peer's address before anything is allocated for it (connection cap, bans); a refused peer is closed
    /// and the next one is taken. Accepted connections get receive limits for <paramref name="maxLineLength"/>.
    /// </summary>
    ValueTask<ProxyConnection?> AcceptAsync(int maxLineLength, IConnectionAdmission admission, CancellationToken cancellationToken);
}

/// <summary>Who may connect: asked once per accepted peer, before the transport allocates anything for it.</summary>
public interface IConnectionAdmission
{
    /// <summary>True to take the peer (it then counts against the cap until the connection ends).</summary>
    bool TryAdmit(EndPoint? remote);

    /// <summary>An admitted peer was lost before it became a connection (it reset during set-up).</summary>
    void Release();
}

/// <summary>Opens connections to pools (Kestrel's IConnectionFactory): TCP or TLS for real pools, pipes in tests.</summary>
public interface IUpstreamConnector
{
    /// <summary>Connects to <paramref name="url"/>; throws the transport's error (socket, TLS) when it cannot.</summary>
    Task<ProxyConnection> ConnectAsync(PoolUrl url, bool allowInvalidCertificate, int maxLineLength, CancellationToken cancellationToken);
}

/// <summary>The socket transport's listeners (Pipelines.Sockets.Unofficial behind <see cref="SocketTransport"/>).</summary>
public sealed class SocketListenerFactory : IConnectionListenerFactory
{
    /// <summary>The one instance.</summary>
    public static SocketListenerFactory Instance { get; } = new();

    /// <inheritdoc/>
    public IConnectionListener Bind(EndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return new SocketConnectionListener(SocketTransport.Bind((IPEndPoint)endpoint));
    }

    private sealed class SocketConnectionListener(System.Net.Sockets.Socket socket) : IConnectionListener
    {
        public EndPoint LocalEndPoint { get; } = socket.LocalEndPoint!;

        public async ValueTask<ProxyConnection?> AcceptAsync(int maxLineLength, IConnectionAdmission admission, CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                System.Net.Sockets.Socket client;
                try
                {
                    client = await socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
                {
                    return null;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    // A connection reset between SYN and accept: nothing to do but take the next one.
                    continue;
                }

                if (!admission.TryAdmit(client.RemoteEndPoint))
                {
                    client.Dispose();
                    continue;
                }

                try
                {
                    return SocketTransport.WrapAccepted(client, maxLineLength);
                }
                catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                    admission.Release();
                    client.Dispose();
                }
            }

            return null;
        }

        public ValueTask DisposeAsync()
        {
            socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>The socket transport's pool connections: TCP, or TLS over TCP.</summary>
public sealed class SocketConnector : IUpstreamConnector
{
    /// <summary>The one instance.</summary>
    public static SocketConnector Instance { get; } = new();

    /// <inheritdoc/>
    public Task<ProxyConnection> ConnectAsync(PoolUrl url, bool allowInvalidCertificate, int maxLineLength, CancellationToken cancellationToken) =>
        SocketTransport.ConnectAsync(url, allowInvalidCertificate, maxLineLength, cancellationToken);
}
