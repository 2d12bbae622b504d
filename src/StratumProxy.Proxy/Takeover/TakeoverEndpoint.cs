using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Takeover;

/// <summary>
/// The process side of an upgrade without dropping a rig: a running proxy listens on
/// <see cref="TakeoverOptions.SocketPath"/> and hands everything to the first new process that asks and agrees; a
/// new process (<c>run --takeover</c>) connects there instead of binding and dialling. Linux only (SCM_RIGHTS).
/// </summary>
public sealed class TakeoverEndpoint : IAsyncDisposable
{
    /// <summary>How long either side waits for the other's next message.</summary>
    public static readonly TimeSpan MessageTimeout = TimeSpan.FromSeconds(30);

    private readonly ProxyLifetime _proxy;
    private readonly TakeoverOptions _options;
    private readonly IConnectionMover _mover;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private HandoverListener? _listener;
    private Task? _serving;
    private readonly Func<bool> _supported;
    private int _disposed;

    /// <summary>Creates the endpoint for a proxy; nothing listens until <see cref="Listen"/>.</summary>
    public TakeoverEndpoint(ProxyLifetime proxy, TakeoverOptions options, IConnectionMover mover, TimeProvider time, ILogger logger, Func<bool>? supported = null)
    {
        _supported = supported ?? OperatingSystem.IsLinux;
        _proxy = proxy;
        _options = options;
        _mover = mover;
        _time = time;
        _logger = logger;
    }

    /// <summary>Called once this process has handed over (the host stops: the process exits 0).</summary>
    public Action? HandedOver { get; set; }

    /// <summary>
    /// Takes over from the process listening on the socket path, then waits until that process has exited (its admin
    /// endpoint is free then). Throws <see cref="TakeoverException"/> when it cannot (the running process serves on).
    /// </summary>
    public async Task<TakeoverResult> TakeOverAsync(CancellationToken cancellationToken)
    {
        var path = _options.SocketPath ?? throw new TakeoverException("--takeover needs Proxy:Takeover:SocketPath: the running process's takeover socket");
        HandoverChannel channel;
        try
        {
            channel = await HandoverChannel.ConnectAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException)
        {
            throw new TakeoverException($"no running process takes questions on {path}: {ex.Message}", ex);
        }

        TakeoverResult result;
        await using (var handover = new SocketHandoverChannel(channel))
        {
            try
            {
                result = await _proxy.TakeOverAsync(handover, _mover, MessageTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or TimeoutException or System.Text.Json.JsonException or System.Net.Sockets.SocketException)
            {
                throw new TakeoverException($"the takeover from {path} failed: {ex.Message}", ex);
            }
        }

        Log.TakeoverWaitingForExit(_logger, result.ProcessId);
        await WaitForExitAsync(result.ProcessId, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Listens on the socket path (when set) for a new process to hand over to.</summary>
    public void Listen()
    {
        if (_options.SocketPath is not { } path)
        {
            return;
        }

        if (!_supported())
        {
            // The validator's warning said so at start; the process serves on without a takeover socket.
            Log.TakeoverUnsupported(_logger, path);
            return;
        }

        _listener = HandoverChannel.Listen(path);
        Log.TakeoverListening(_logger, path);
        _serving = ServeAsync(_listener, _stop.Token);
    }

    private async Task ServeAsync(HandoverListener listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            HandoverChannel channel;
            try
            {
                channel = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                if (stopping.IsCancellationRequested || ex is ObjectDisposedException)
                {
                    return;
                }

                Log.TakeoverConnectionRefused(_logger, ex.Message);
                continue;
            }

            bool handed;
            await using (var handover = new SocketHandoverChannel(channel))
            {
                handed = await _proxy.HandOverAsync(handover, _mover, _options.QuiesceTimeout, MessageTimeout, stopping).ConfigureAwait(false);
            }

            if (handed)
            {
                // The path is the new process's from now on (it listens there once this process has exited).
                await listener.DisposeAsync().ConfigureAwait(false);
                HandedOver?.Invoke();
                return;
            }
        }
    }

    /// <summary>Waits (bounded) until the process has exited: then every descriptor it held, the admin port's too, is closed.</summary>
    private async Task WaitForExitAsync(int processId, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(MessageTimeout);
        try
        {
            while (IsRunning(processId))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), _time, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Still there: the admin endpoint may fail to bind; everything else already runs here.
        }
    }

    /// <summary>True while the process exists and is not a zombie (a zombie holds no descriptors).</summary>
    private static bool IsRunning(int processId)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{processId}/stat");
            var close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] != 'Z';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        if (_serving is not null)
        {
            await _serving.ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
