using System.Net;
using System.Runtime.InteropServices;
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

    /// <summary>
    /// For the upgrade handover: a duplicate of the listening socket (owned by the caller, to send to the successor).
    /// After it this listener accepts nothing more (a pending <see cref="AcceptAsync"/> returns null, unless the
    /// connection it was taking had already arrived) and its dispose does not close the real socket, so connections
    /// not yet accepted wait in the kernel's queue for the successor. Only socket listeners support it.
    /// </summary>
    SafeHandle DetachListener() => throw new NotSupportedException("Only socket listeners can be handed over.");
}

/// <summary>Who may connect: asked once per accepted peer, before the transport allocates anything for it.</summary>
public interface IConnectionAdmission
{
    /// <summary>True to take the peer (it then counts against the cap until the connection ends).</summary>
    bool TryAdmit(EndPoint? remote);

    /// <summary>An admitted peer was lost before it became a connection (it reset during set-up).</summary>
    void Release();

    /// <summary>
    /// The listener could not accept (the process or the system is out of descriptors or memory): the peer waits in the
    /// kernel's queue, and an accept at once would fail the same way. Completes when the listener may try again.
    /// </summary>
    ValueTask AcceptFailedAsync(System.Net.Sockets.SocketException error, CancellationToken cancellationToken) => ValueTask.CompletedTask;
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

    /// <summary>
    /// A listener over a listening socket handed over from another process (<see cref="IConnectionListener.DetachListener"/>).
    /// Takes ownership of <paramref name="handle"/> (it is invalid afterwards).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Beside Bind on the factory the host holds.")]
    public IConnectionListener Adopt(SafeHandle handle) => new SocketConnectionListener(SocketTransport.Adopt(handle));

    private sealed class SocketConnectionListener(System.Net.Sockets.Socket socket) : IConnectionListener
    {
        private readonly CancellationTokenSource _detached = new();

        public EndPoint LocalEndPoint { get; } = socket.LocalEndPoint!;

        public SafeHandle DetachListener()
        {
            if (_detached.IsCancellationRequested)
            {
                throw new InvalidOperationException("The listener is already detached.");
            }

            HandoverChannel.EnsureSupported();
            var duplicate = -1;
            var added = false;
            socket.SafeHandle.DangerousAddRef(ref added);
            try
            {
                var fd = (int)socket.SafeHandle.DangerousGetHandle().ToInt64();
                duplicate = LinuxDescriptors.DuplicateCloseOnExec(fd);
                var dummy = LinuxDescriptors.CreateClosedDummy();

                // A pending accept is cancelled as an operation (the socket is untouched); then the number this
                // socket object holds is pointed at a dummy, so its dispose (which, with an accept pending, would
                // disconnect the socket and with it stop the listening) reaches only the dummy.
                _detached.Cancel();
                LinuxDescriptors.Retire(fd);
                LinuxDescriptors.ReplaceWithDummy(fd, dummy);
                return new DescriptorHandle(duplicate);
            }
            catch
            {
                if (duplicate >= 0 && !_detached.IsCancellationRequested)
                {
                    _ = LinuxDescriptors.Close(duplicate);
                }

                throw;
            }
            finally
            {
                socket.SafeHandle.DangerousRelease();
            }
        }

        public async ValueTask<ProxyConnection?> AcceptAsync(int maxLineLength, IConnectionAdmission admission, CancellationToken cancellationToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _detached.Token);
            while (!linked.IsCancellationRequested)
            {
                System.Net.Sockets.Socket client;
                try
                {
                    client = await socket.AcceptAsync(linked.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
                {
                    return null;
                }
                catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode is System.Net.Sockets.SocketError.ConnectionReset or System.Net.Sockets.SocketError.ConnectionAborted)
                {
                    // A connection reset between SYN and accept: nothing to do but take the next one.
                    continue;
                }
                catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode is System.Net.Sockets.SocketError.TooManyOpenSockets or System.Net.Sockets.SocketError.NoBufferSpaceAvailable)
                {
                    // Out of descriptors (EMFILE, ENFILE) or memory: retried at once, this loop would spin a core until they free up.
                    try
                    {
                        await admission.AcceptFailedAsync(ex, linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return null;
                    }

                    continue;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    // An error of that one connection (timed out, unreachable, protocol): take the next one.
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
