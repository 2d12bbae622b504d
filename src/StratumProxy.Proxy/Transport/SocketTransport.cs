using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using Pipelines.Sockets.Unofficial;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// The only code that knows about Pipelines.Sockets.Unofficial (STYLE.md: referenced from one folder, behind our
/// own seam). Plain TCP: Socket → <see cref="TcpSocketDuplex"/> (loops that can stop without touching the connection,
/// so a live connection can be handed to another process). TLS: Socket → NetworkStream → SslStream →
/// Pipelines.Sockets.Unofficial's StreamConnection (over <see cref="TlsReceiveEndStream"/>, so a reset ends the input as
/// on plain TCP).
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
        socket.NoDelay = true;
        return Miner(socket, maxLineLength, ReadOnlyMemory<byte>.Empty);
    }

    /// <summary>
    /// A miner connection over a socket handed over from another process (<see cref="ProxyConnection.DetachAsync"/>):
    /// its Input yields <paramref name="unreadInput"/> first, then what the socket receives. Takes ownership of
    /// <paramref name="handle"/> (it is invalid afterwards; disposing it is harmless).
    /// </summary>
    public static ProxyConnection AdoptMiner(SafeHandle handle, ReadOnlyMemory<byte> unreadInput, int maxLineLength) =>
        Miner(Adopt(handle), maxLineLength, unreadInput);

    /// <summary>A pool connection (plain TCP) over a socket handed over from another process; as <see cref="AdoptMiner"/>.</summary>
    public static ProxyConnection AdoptPool(SafeHandle handle, ReadOnlyMemory<byte> unreadInput, int maxLineLength) =>
        Pool(Adopt(handle), maxLineLength, unreadInput);

    /// <summary>
    /// A socket object over a handed-over descriptor, which it now owns. A descriptor that is not a stream socket
    /// throws <see cref="IOException"/> and stays with <paramref name="handle"/> (its caller closes it).
    /// </summary>
    internal static Socket Adopt(SafeHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        HandoverChannel.EnsureSupported();
        ObjectDisposedException.ThrowIf(handle.IsClosed || handle.IsInvalid, handle);
        var descriptor = (int)handle.DangerousGetHandle().ToInt64();
        LinuxDescriptors.EnsureStreamSocket(descriptor);
        handle.SetHandleAsInvalid();
        return new Socket(new SafeSocketHandle(LinuxDescriptors.AvoidRetired(descriptor), ownsHandle: true));
    }

    private static ProxyConnection Miner(Socket socket, int maxLineLength, ReadOnlyMemory<byte> unreadInput)
    {
        // No send pipe: the session's write loop sends straight to the socket, a job's notify line from its shared bytes.
        var duplex = new TcpSocketDuplex(socket, sendOptions: null, PipeOptionsFactory.MinerReceive(maxLineLength), unreadInput, SocketPoller.Shared);
        return new ProxyConnection(duplex, socket.RemoteEndPoint, socket.LocalEndPoint, duplex);
    }

    private static ProxyConnection Pool(Socket socket, int maxLineLength, ReadOnlyMemory<byte> unreadInput)
    {
        var duplex = new TcpSocketDuplex(socket, PipeOptionsFactory.PoolSend(), PipeOptionsFactory.PoolReceive(maxLineLength), unreadInput);
        return new ProxyConnection(duplex, socket.RemoteEndPoint, socket.LocalEndPoint, duplex);
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
                return Pool(socket, maxLineLength, ReadOnlyMemory<byte>.Empty);
            }

            var network = new NetworkStream(socket, ownsSocket: true);
#pragma warning disable CA5359 // Opt-in per pool (AllowInvalidCertificate) for self-signed pool certificates; off by default.
            var ssl = new SslStream(network, leaveInnerStreamOpen: false, allowInvalidCertificate ? static (_, _, _, _) => true : null);
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

            var stream = new TlsReceiveEndStream(ssl);
            var duplex = StreamConnection.GetDuplex(stream, PipeOptionsFactory.PoolSend(), PipeOptionsFactory.PoolReceive(maxLineLength));
            return new ProxyConnection(duplex, socket.RemoteEndPoint, socket.LocalEndPoint, stream);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
