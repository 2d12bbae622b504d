using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace StratumProxy.TestKit;

/// <summary>
/// A test server on 127.0.0.1 port 0: the accept loop, the record of requests and a wait for them; subclasses say
/// how one connection is served (a rig API, an HTTP server, a TLS front).
/// </summary>
public abstract class LoopbackServer<TRequest> : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentQueue<TRequest> _requests = new();
    private readonly SemaphoreSlim _received = new(0);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public IReadOnlyList<TRequest> Requests => [.. _requests];

    protected CancellationToken Stopping => _stop.Token;

    /// <summary>Waits until <paramref name="count"/> requests in total have arrived (real-time guard against hangs).</summary>
    public async Task WaitForRequestsAsync(int count)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (_requests.Count < count)
        {
            await _received.WaitAsync(guard.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncCore();
        GC.SuppressFinalize(this);
    }

    /// <summary>Stops accepting and waits for the accept loop; a subclass adds what it owns.</summary>
    protected virtual async ValueTask DisposeAsyncCore()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _received.Dispose();
    }

    /// <summary>Starts listening; called by the subclass once its own fields are set.</summary>
    protected void Start()
    {
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    protected void Record(TRequest request)
    {
        _requests.Enqueue(request);
        _received.Release();
    }

    protected abstract Task ServeAsync(TcpClient client);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }
}
