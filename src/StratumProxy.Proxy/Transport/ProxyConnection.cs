using System.IO.Pipelines;
using System.Net;

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
