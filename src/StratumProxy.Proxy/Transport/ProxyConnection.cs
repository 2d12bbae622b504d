using System.IO.Pipelines;
using System.Net;
using System.Runtime.InteropServices;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// One byte stream, as the protocol layer sees it: a duplex pipe and the peer's address, nothing transport-specific
/// (the shape of Kestrel's ConnectionContext, STYLE.md §2 Kestrel #2). A session ends by completing both pipe ends
/// and disposing the connection; nothing else closes sockets.
/// </summary>
public sealed class ProxyConnection : IAsyncDisposable
{
    private readonly IAsyncDisposable? _owner;
    private int _disposed;

    /// <summary>Wraps a transport.</summary>
    public ProxyConnection(IDuplexPipe transport, EndPoint? remoteEndPoint, EndPoint? localEndPoint, IAsyncDisposable? owner)
    {
        Transport = transport;
        RemoteEndPoint = remoteEndPoint;
        LocalEndPoint = localEndPoint;
        _owner = owner;
    }

    /// <summary>The bytes in and out.</summary>
    public IDuplexPipe Transport { get; }

    /// <summary>The peer (replaced by the PROXY protocol's source address when a trusted balancer sends one).</summary>
    public EndPoint? RemoteEndPoint { get; set; }

    /// <summary>The local address the peer connected to.</summary>
    public EndPoint? LocalEndPoint { get; }

    /// <summary>
    /// True when <see cref="DetachAsync"/> can hand this connection to another process: plain TCP sockets (miners and
    /// pools) on Linux; false for TLS and in-memory pipes.
    /// </summary>
    public bool CanHandOver => _owner is TcpSocketDuplex && LinuxDescriptors.IsSupported;

    /// <summary>
    /// Why the peer's stream ended, when it ended by a socket error (a reset) rather than a FIN; null otherwise or while
    /// it is open. The input itself ends cleanly either way, after every byte received before the error.
    /// </summary>
    public IOException? ReceiveError => _owner switch
    {
        TcpSocketDuplex tcp => tcp.ReceiveError,
        TlsReceiveEndStream tls => tls.ReceiveError,
        _ => null,
    };

    /// <summary>
    /// Takes the live connection away from this process without the peer noticing, for the upgrade handover.
    /// Precondition: the session above has stopped reading <see cref="IDuplexPipe.Input"/> (its loop is not inside
    /// ReadAsync and has advanced past what it processed) and stopped writing <see cref="IDuplexPipe.Output"/>.
    /// Waits until every byte written to Output has been handed to the kernel (cancelling <paramref name="cancellationToken"/>
    /// during that wait, e.g. for a peer that stopped reading, leaves the connection as it was), then duplicates the
    /// socket, points this process's socket object at a dummy (so its dispose, or any late I/O, never sends a FIN or
    /// RST), which ends a pending receive without taking another byte, and returns the duplicate with every byte received
    /// from the peer that the session has not consumed. Afterwards disposing this connection does not disturb the peer.
    /// </summary>
    public ValueTask<DetachedSocket> DetachAsync(CancellationToken cancellationToken) =>
        CanHandOver && _owner is TcpSocketDuplex duplex
            ? duplex.DetachAsync(cancellationToken)
            : throw new NotSupportedException("Only plain TCP connections on Linux can be handed over.");

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Transport.Input.CompleteAsync().ConfigureAwait(false);
        await Transport.Output.CompleteAsync().ConfigureAwait(false);
        if (_owner is not null)
        {
            await _owner.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// A connection taken from this process by <see cref="ProxyConnection.DetachAsync"/>: its socket (owned by the caller)
/// and the bytes the peer sent that the session had not read, which the adopting side reads first.
/// </summary>
public sealed record DetachedSocket(SafeHandle Handle, byte[] UnreadInput);
