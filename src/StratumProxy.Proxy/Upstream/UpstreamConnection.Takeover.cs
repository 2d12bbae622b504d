using System.Threading.Channels;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Upstream;

public sealed partial class UpstreamConnection
{
    private readonly bool _restored;
    private Channel<PoolParkCommand>? _park;
    private TaskCompletionSource<bool>? _parked;
    private TaskCompletionSource? _flushed;
    private TaskCompletionSource? _quiet;
    private Func<ProxyConnection, ValueTask>? _handedOver;

    /// <summary>
    /// Restores a pool connection another process handed over: subscribed, authorized and ready, with the pool's
    /// extranonce, difficulty, version mask and open jobs (under their old ids, so miners' submits on them count).
    /// </summary>
    internal UpstreamConnection(PoolConnectionState state, ProxyConnection connection, UpstreamContext context, PoolOptions pool, PoolUrl url)
        : this(connection, context, pool, url, resumeSessionId: null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!ExtranonceLayout.TryCreate(state.Extranonce1, state.Extranonce2Size, state.MinerPrefixSize, state.MinerExtranonce2Size, out var layout, out var reason))
        {
            throw new InvalidOperationException($"pool {pool.Name}: the handed-over extranonce layout is not valid: {reason}");
        }

        _restored = true;
        SetLayout(layout);
        Difficulty = state.Difficulty;
        _pendingDifficulty = state.PendingDifficulty;
        VersionMask = state.VersionMask;
        _nextRequestId = state.LastRequestId;
        foreach (var worker in state.AuthorizedWorkers)
        {
            _authorizedWorkers.Add(worker);
        }

        foreach (var request in state.PendingRequests)
        {
            _pendingRequests[request.Id] = new PendingRequest(Enum.Parse<RequestKind>(request.Kind, ignoreCase: true), request.Worker);
        }

        Span<byte> suffix = stackalloc byte[layout.MinerCoinbase1SuffixLength];
        layout.WriteMinerCoinbase1Suffix(suffix);
        var now = context.Time.GetTimestamp();
        foreach (var saved in state.Jobs)
        {
            var job = UpstreamJob.Create(this, saved.Notify, suffix, saved.PoolDifficulty, now, saved.NTime, saved.Id);
            _jobs.Enqueue(job);
            context.Jobs.Add(job);
            _duplicates.OpenJob(job.Id, cleanJobs: false);
            CurrentJob = job;
        }

        LastJobTimestamp = now;
        _subscribed = true;
        _authorized = true;
        _state = (int)UpstreamState.Ready;
        _ready.TrySetResult(true);
    }

    /// <summary>The connection (to hand over).</summary>
    internal ProxyConnection Connection => _connection;

    /// <summary>True when the connection ended because another process took it over.</summary>
    internal bool WasHandedOver => _handedOver is not null;

    private bool ParkRequested => Volatile.Read(ref _park) is not null;

    /// <summary>Completes once no forwarded share awaits the pool's verdict.</summary>
    internal Task WhenNoSharesPendingAsync()
    {
        lock (_lock)
        {
            if (_pendingShares.Count == 0)
            {
                return Task.CompletedTask;
            }

            _quiet ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _quiet.Task;
        }
    }

    /// <summary>Under the lock: the last pending share was answered or taken.</summary>
    private void SignalQuiet()
    {
        if (_pendingShares.Count == 0 && _quiet is { } quiet)
        {
            _quiet = null;
            quiet.TrySetResult();
        }
    }

    /// <summary>Asks the read loop to stop reading the pool and park: true once it has, false when the connection ended.</summary>
    internal Task<bool> ParkAsync(CancellationToken cancellationToken)
    {
        var parked = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _parked, parked);
        Volatile.Write(ref _park, Channel.CreateUnbounded<PoolParkCommand>(new UnboundedChannelOptions { SingleReader = true }));
        if (State == UpstreamState.Closed)
        {
            parked.TrySetResult(false);
        }
        else
        {
            _connection.Transport.Input.CancelPendingRead();
        }

        return parked.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Describes the parked connection (on its loop, once what was queued for the pool is flushed).</summary>
    internal Task<PoolConnectionState> ExportAsync(CancellationToken cancellationToken)
    {
        var park = Volatile.Read(ref _park) ?? throw new InvalidOperationException("The pool connection is not parked.");
        var exported = new TaskCompletionSource<PoolConnectionState>(TaskCreationOptions.RunContinuationsAsynchronously);
        park.Writer.TryWrite(new PoolParkCommand(PoolParkCommandKind.Export, exported));
        return exported.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The handover did not happen: read on.</summary>
    internal void Resume() => Volatile.Read(ref _park)?.Writer.TryWrite(new PoolParkCommand(PoolParkCommandKind.Resume));

    /// <summary>
    /// Another process serves the pool connection now (or a new connection object of this one, after a failed
    /// handover): end without writing or closing it. It is closed to miners from this call on, before its loop has
    /// ended, so that none attaches to it meanwhile.
    /// </summary>
    internal void HandedOver(Func<ProxyConnection, ValueTask> release)
    {
        if (Volatile.Read(ref _park) is { } park)
        {
            SetClosed("handed over to another process");
            park.Writer.TryWrite(new PoolParkCommand(PoolParkCommandKind.HandedOver, Release: release));
        }
    }

    private async Task<bool> ParkedLoopAsync()
    {
        var park = Volatile.Read(ref _park)!;
        Volatile.Read(ref _parked)?.TrySetResult(true);
        while (true)
        {
            var command = await park.Reader.ReadAsync().ConfigureAwait(false);
            switch (command.Kind)
            {
                case PoolParkCommandKind.Export:
                    try
                    {
                        await FlushQueuedAsync().ConfigureAwait(false);
                        command.Exported!.TrySetResult(Export());
                    }
                    catch (InvalidOperationException ex)
                    {
                        command.Exported!.TrySetException(ex);
                    }

                    break;
                case PoolParkCommandKind.Resume:
                    Volatile.Write(ref _park, null);
                    return State != UpstreamState.Closed;
                default:
                    _handedOver = command.Release;
                    return false;
            }
        }
    }

    private Task FlushQueuedAsync()
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _flushed, flushed);
        if (!_outbound.Writer.TryWrite(new Outbound(OutboundKind.Marker, 0, null)))
        {
            flushed.TrySetResult();
        }

        return flushed.Task;
    }

    private PoolConnectionState Export()
    {
        var layout = Layout ?? throw new InvalidOperationException($"pool {Pool.Name}: the connection has no extranonce yet");
        lock (_lock)
        {
            if (_pendingShares.Count > 0)
            {
                throw new InvalidOperationException($"pool {Pool.Name}: {_pendingShares.Count} shares still await the pool's verdict");
            }

            return new PoolConnectionState
            {
                Pool = Pool.Name,
                Url = Url.ToString(),
                Extranonce1 = layout.PoolExtranonce1.ToArray(),
                Extranonce2Size = layout.PoolExtranonce2Size,
                MinerPrefixSize = layout.PrefixSize,
                MinerExtranonce2Size = layout.MinerExtranonce2Size,
                Difficulty = Difficulty,
                PendingDifficulty = _pendingDifficulty,
                VersionMask = VersionMask,
                Jobs = [.. _jobs.Where(j => !j.IsStale).Select(j => new JobState(j.Id, j.Notify, j.NTime, j.PoolDifficulty))],
                LastRequestId = _nextRequestId,
                AuthorizedWorkers = [.. _authorizedWorkers],
                PendingRequests = [.. _pendingRequests.Select(r => new PendingRequestState(r.Key, r.Value.Kind.ToString(), r.Value.Worker))],
            };
        }
    }

    private enum PoolParkCommandKind
    {
        Export,
        Resume,
        HandedOver,
    }

    private sealed record PoolParkCommand(PoolParkCommandKind Kind, TaskCompletionSource<PoolConnectionState>? Exported = null, Func<ProxyConnection, ValueTask>? Release = null);
}
