using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Takeover;

namespace StratumProxy.Hosting;

/// <summary>
/// The upgrade handover as the host runs it (docs/upgrades.md): with <c>run --takeover</c> the proxy starts on the
/// running process's connections; with <c>Proxy:Takeover:SocketPath</c> set it listens there for the next one, and
/// once it has handed over, the host stops (exit code 0) without closing any handed connection.
/// </summary>
public sealed class TakeoverHost : IAsyncDisposable
{
    private readonly TakeoverEndpoint _endpoint;

    /// <summary>Creates the host's side of the handover.</summary>
    public TakeoverHost(TakeoverEndpoint endpoint, bool takeOver, IHostApplicationLifetime lifetime)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(lifetime);
        _endpoint = endpoint;
        TakeOver = takeOver;
        endpoint.HandedOver = lifetime.StopApplication;
    }

    /// <summary>True when this process starts by taking over (<c>run --takeover</c>).</summary>
    public bool TakeOver { get; }

    /// <summary>Takes over from the running process (and waits until it has exited).</summary>
    public Task<TakeoverResult> TakeOverAsync(CancellationToken cancellationToken) => _endpoint.TakeOverAsync(cancellationToken);

    /// <summary>Listens for the next process, when a socket path is configured.</summary>
    public void Listen() => _endpoint.Listen();

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _endpoint.DisposeAsync();
}

/// <summary>Completes once the proxy runs (started, or taken over): the curtailment loop begins after it.</summary>
public sealed class ProxyStarted
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the proxy runs.</summary>
    public Task Task => _started.Task;

    /// <summary>The proxy runs.</summary>
    public void Set() => _started.TrySetResult();
}
