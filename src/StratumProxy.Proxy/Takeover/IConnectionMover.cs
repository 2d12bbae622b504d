using System.Runtime.InteropServices;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Takeover;

/// <summary>A connection taken out of its transport: a descriptor of the socket and the bytes received but not read.</summary>
/// <param name="Handle">The socket's descriptor (a duplicate; the transport's own is closed without touching the peer).</param>
/// <param name="UnreadInput">What the peer sent that the proxy had not read.</param>
public sealed record MovedConnection(SafeHandle Handle, byte[] UnreadInput);

/// <summary>
/// Takes connections and listeners out of one process's transport and into another's (sockets: SCM_RIGHTS; tests:
/// in-memory pipes). Only connections it <see cref="CanMove"/> travel; the others (TLS, pipes of another kind) are
/// closed by the old process as on a restart.
/// </summary>
public interface IConnectionMover
{
    /// <summary>True when the connection can be handed to another process.</summary>
    bool CanMove(ProxyConnection connection);

    /// <summary>
    /// Takes the connection out of its transport. Its reader must have stopped (advanced past what it handled) and
    /// its writer too; what was written reaches the peer before this returns.
    /// </summary>
    ValueTask<MovedConnection> DetachAsync(ProxyConnection connection, CancellationToken cancellationToken);

    /// <summary>Disposes a detached connection without disturbing its peer.</summary>
    ValueTask ReleaseAsync(ProxyConnection detached);

    /// <summary>A miner connection from a handed descriptor and the bytes still to read.</summary>
    ProxyConnection AdoptMiner(SafeHandle handle, ReadOnlyMemory<byte> unreadInput, int maxLineLength);

    /// <summary>A pool connection from a handed descriptor and the bytes still to read.</summary>
    ProxyConnection AdoptPool(SafeHandle handle, ReadOnlyMemory<byte> unreadInput, int maxLineLength);

    /// <summary>The listening socket's descriptor (a duplicate; the listener keeps its own until disposed).</summary>
    SafeHandle DetachListener(IConnectionListener listener);

    /// <summary>
    /// True when a handed descriptor is a listener this process can adopt (checked before the takeover is confirmed,
    /// so a wrong one is refused while the running process still serves).
    /// </summary>
    bool IsListener(SafeHandle handle);

    /// <summary>A listener from a handed descriptor.</summary>
    IConnectionListener AdoptListener(SafeHandle handle);
}

/// <summary>One end of the handover conversation: messages with descriptors attached.</summary>
public interface IHandoverChannel : IAsyncDisposable
{
    /// <summary>Sends a message and the descriptors that go with it.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> payload, IReadOnlyList<SafeHandle> handles, CancellationToken cancellationToken);

    /// <summary>The next message and its descriptors; throws when the other side has gone.</summary>
    ValueTask<(byte[] Payload, IReadOnlyList<SafeHandle> Handles)> ReceiveAsync(CancellationToken cancellationToken);
}
