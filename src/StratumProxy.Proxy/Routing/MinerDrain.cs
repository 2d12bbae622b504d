using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Proxy.Routing;

/// <summary>What a drain did.</summary>
/// <param name="Miners">Miners connected when it began.</param>
/// <param name="Sent">Miners asked to reconnect.</param>
/// <param name="Remaining">Miners still connected when it ended (the stop closes them).</param>
/// <param name="Elapsed">How long it took.</param>
public sealed record DrainResult(int Miners, int Sent, int Remaining, TimeSpan Elapsed);

/// <summary>
/// The drain on stop, so that a farm behind several instances moves off a stopping one without a hashrate cliff: the
/// instance stops accepting (its listening sockets close, so a balancer's health check and new connections go
/// elsewhere), then asks its miners to reconnect (<c>client.reconnect</c> without parameters: to the address they
/// dialled, which the balancer maps to another instance) one after the other, spread evenly over
/// <see cref="DrainOptions.Period"/> (all at once when it is zero); a connection that has not authorized yet is
/// closed at once. It keeps carrying every miner's shares until the
/// miner leaves or <see cref="DrainOptions.Total"/> has passed; the stop then closes whoever is left. Runs once; the
/// host's stop path calls <see cref="RunAsync"/> before it disposes the listener and the engine.
/// </summary>
public sealed class MinerDrain
{
    private readonly ProxyEngine _engine;
    private readonly MinerListener _listener;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _started;
    private int _sent;
    private int _waits;

    /// <summary>Creates the drain of an engine and its listener.</summary>
    public MinerDrain(ProxyEngine engine, MinerListener listener, TimeProvider time, ILogger logger)
    {
        _engine = engine;
        _listener = listener;
        _time = time;
        _logger = logger;
    }

    /// <summary>True once the drain has begun (the instance is no longer ready for miners).</summary>
    public bool IsDraining => Volatile.Read(ref _started) != 0;

    /// <summary>Miners asked to reconnect so far.</summary>
    public int Sent => Volatile.Read(ref _sent);

    /// <summary>How many times the drain has started waiting on its clock (tests advance a fake clock after it does).</summary>
    internal int Waits => Volatile.Read(ref _waits);

    /// <summary>
    /// Drains (once; a second call returns at once). Cancelling <paramref name="cancellationToken"/> (the host's
    /// shutdown timeout) cuts it short; it never throws for that.
    /// </summary>
    public async Task<DrainResult> RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return new DrainResult(0, 0, _engine.MinerSessions.Count, TimeSpan.Zero);
        }

        var metrics = _engine.Metrics;
        var options = _engine.Options.Drain;
        var began = _time.GetTimestamp();
        metrics.Draining.Set(1);
        await _listener.StopAcceptingAsync().ConfigureAwait(false);

        // A connection that has not authorized is not mining yet (or is no miner: a probe, a scanner): closed now.
        foreach (var pending in _engine.MinerSessions.Where(s => !s.IsAuthorized))
        {
            pending.Close("proxy stopping: draining");
        }

        // Oldest first; nobody new arrives now. A miner that leaves on its own keeps its slot, so the pace stays even.
        var sessions = _engine.MinerSessions.Where(s => s.IsAuthorized).OrderBy(s => s.Id).ToList();
        var ended = _listener.SessionsEndedAsync();
        metrics.DrainRemaining.Set(sessions.Count);
        Log.DrainStarted(_logger, sessions.Count, options.Period, options.Grace);
        var step = sessions.Count > 0 ? options.Period / sessions.Count : TimeSpan.Zero;
        var progressEvery = Math.Max(1, sessions.Count / 10);
        try
        {
            for (var i = 0; i < sessions.Count && !ended.IsCompleted; i++)
            {
                if (i > 0 && step > TimeSpan.Zero)
                {
                    var slot = Task.Delay(step, _time, cancellationToken);
                    Interlocked.Increment(ref _waits);
                    await slot.ConfigureAwait(false);
                }

                sessions[i].RequestReconnect();
                Interlocked.Increment(ref _sent);
                metrics.DrainReconnects.Inc();
                var remaining = _engine.MinerSessions.Count;
                metrics.DrainRemaining.Set(remaining);
                if ((i + 1) % progressEvery == 0 && i + 1 < sessions.Count)
                {
                    Log.DrainProgress(_logger, i + 1, sessions.Count, remaining);
                }
            }

            var left = options.Total - _time.GetElapsedTime(began);
            if (left > TimeSpan.Zero)
            {
                var last = ended.WaitAsync(left, _time, cancellationToken);
                Interlocked.Increment(ref _waits);
                await last.ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            // Period and grace are over: whoever is still connected is closed by the stop.
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout: stop now.
        }

        var still = _engine.MinerSessions.Count;
        var elapsed = _time.GetElapsedTime(began);
        metrics.DrainRemaining.Set(still);
        Log.DrainDone(_logger, Sent, sessions.Count - still, still, elapsed);
        return new DrainResult(sessions.Count, Sent, still, elapsed);
    }
}
