using System.Runtime.InteropServices;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Takeover;

/// <summary>
/// Moves plain-TCP sockets between processes: a detached connection is a duplicate of its descriptor and the bytes
/// received but not read; adopting one resumes reading with those bytes first. TLS connections and in-memory pipes do
/// not move. Linux only.
/// </summary>
public sealed class SocketMover : IConnectionMover
{
    /// <summary>The one instance.</summary>
    public static SocketMover Instance { get; } = new();

    /// <inheritdoc/>
    public bool CanMove(ProxyConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.CanHandOver;
    }

    /// <inheritdoc/>
    public async ValueTask<MovedConnection> DetachAsync(ProxyConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var detached = await connection.DetachAsync(cancellationToken).ConfigureAwait(false);
        return new MovedConnection(detached.Handle, detached.UnreadInput);
    }

    /// <inheritdoc/>
    public ValueTask ReleaseAsync(ProxyConnection detached)
    {
        ArgumentNullException.ThrowIfNull(detached);
        return detached.DisposeAsync();
    }

    /// <inheritdoc/>
    public ProxyConnection AdoptMiner(SafeHandle handle, ReadOnlyMemory<byte> unreadInput, int maxLineLength) =>
        SocketTransport.AdoptMiner(handle, unreadInput, maxLineLength);

    /// <inheritdoc/>
    public ProxyConnection AdoptPool(SafeHandle handle, ReadOnlyMemory<byte> unreadInput, int maxLineLength) =>
        SocketTransport.AdoptPool(handle, unreadInput, maxLineLength);

    /// <inheritdoc/>
    public SafeHandle DetachListener(IConnectionListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        return listener.DetachListener();
    }

    /// <inheritdoc/>
    public bool IsListener(SafeHandle handle) => LinuxDescriptors.IsListeningSocket(handle);

    /// <inheritdoc/>
    public IConnectionListener AdoptListener(SafeHandle handle) => SocketListenerFactory.Instance.Adopt(handle);
}
