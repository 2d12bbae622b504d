using System.Net;
using System.Threading.Channels;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Transport;
using StratumProxy.Proxy.Upstream;

namespace StratumProxy.Proxy.Sessions;

/// <summary>What the session's loop does while it is parked for a handover.</summary>
internal enum ParkCommandKind : byte
{
    /// <summary>Apply the events posted meanwhile, flush what is queued, and describe the session.</summary>
    Export,

    /// <summary>The handover did not happen: read on.</summary>
    Resume,

    /// <summary>Another process serves the miner now: end without writing or closing anything.</summary>
    HandedOver,

    /// <summary>The session was closed while parked.</summary>
    Closed,
}

/// <summary>A command to a parked session.</summary>
internal sealed record ParkCommand(ParkCommandKind Kind, TaskCompletionSource<SessionState>? Exported = null, Func<ProxyConnection, ValueTask>? Release = null)
{
    public static readonly ParkCommand Closed = new(ParkCommandKind.Closed);

    public static readonly ParkCommand Resume = new(ParkCommandKind.Resume);
}

/// <summary>A session parked for a handover: its loop waits on the commands.</summary>
internal sealed class SessionPark
{
    public TaskCompletionSource<bool> Parked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Channel<ParkCommand> Commands { get; } = Channel.CreateUnbounded<ParkCommand>(new UnboundedChannelOptions { SingleReader = true });
}

public sealed partial class MinerSession
{
    private SessionPark? _park;
    private TaskCompletionSource? _flushed;
    private Func<ProxyConnection, ValueTask>? _handedOver;

    /// <summary>
    /// Restores a session another process handed over (or this one, when a handover failed after the connections
    /// left their transports): the miner sees nothing but the next answers and jobs.
    /// </summary>
    internal MinerSession(ProxyConnection connection, ListenerOptions listener, SessionContext context, SessionState state, UpstreamConnection? upstream)
        : this(connection, listener, context)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Remote is { } remote && IPEndPoint.TryParse(remote, out var endpoint))
        {
            connection.RemoteEndPoint = endpoint;
        }

        _proxyHeaderDone = state.ProxyHeaderDone;
        _sawFirstByte = state.SawFirstByte;
        _badLines = state.BadLines;
        _protocol.Restore(state.Subscribed, state.UserAgent, state.Worker, state.ExtranonceSubscribe, state.VersionRolling, state.RequestedVersionMask, state.VersionMask, state.MinimumDifficulty);
        _vardiff = new VarDiffController(SharedVarDiff(context.Options.Difficulty), context.Time, state.VarDiff > 0 ? state.VarDiff : null);
        _validator.SetDifficulty(state.Difficulty);
        _validator.Restore(state.SentJobs.Select(j => (j.JobId, j.Difficulty)));
        _difficultyPending = state.DifficultyPending;
        _submitTokens = state.SubmitTokens;
        if (state.HasIdentity)
        {
            var layout = new MinerLayout(state.PrefixSize, state.Extranonce2Size);
            var prefix = new MinerExtranoncePrefix(state.Prefix, state.PrefixSize);
            var extranonce1 = new byte[prefix.Size];
            prefix.WriteTo(extranonce1);
            _identity = new MinerIdentity(layout, prefix, extranonce1);
            _prefixOwned = state.PrefixOwned;
            if (_prefixOwned)
            {
                context.Extranonces.Adopt(prefix);
            }
        }

        if (Worker is { } worker)
        {
            Stats = context.Ledger.Worker(worker);
            Stats.SessionOpened();
        }

        if (state.LastJob is { } last && context.Jobs.TryGet(last, out var job))
        {
            _lastJob = job;
        }

        if (upstream is not null && Worker is not null && _identity is not null && upstream.Layout is { } poolLayout && upstream.Attach(this))
        {
            _assigned = upstream;
            _current = CreateRoute(upstream, poolLayout);
        }
    }

    private bool ParkRequested => Volatile.Read(ref _park) is not null;

    /// <summary>
    /// Asks the session's loop to stop handling the miner's lines (they stay unread) and park: true once it has,
    /// false when the session ended instead. Events posted meanwhile wait in its queue.
    /// </summary>
    internal Task<bool> ParkAsync(CancellationToken cancellationToken)
    {
        var park = new SessionPark();
        if (Interlocked.CompareExchange(ref _park, park, null) is { } existing)
        {
            park = existing;
        }
        else if (_closing != 0)
        {
            park.Parked.TrySetResult(false);
        }
        else
        {
            Post(SessionEvent.Park());
        }

        return park.Parked.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Describes the parked session (on its own loop, after applying what was posted and flushing).</summary>
    internal Task<SessionState> ExportAsync(CancellationToken cancellationToken)
    {
        var park = Volatile.Read(ref _park) ?? throw new InvalidOperationException("The session is not parked.");
        var exported = new TaskCompletionSource<SessionState>(TaskCreationOptions.RunContinuationsAsynchronously);
        park.Commands.Writer.TryWrite(new ParkCommand(ParkCommandKind.Export, exported));
        return exported.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The upstream the session works on now (meaningful while parked).</summary>
    internal UpstreamConnection? CurrentUpstream => Volatile.Read(ref _current)?.Upstream;

    /// <summary>The session's connection (to hand over).</summary>
    internal ProxyConnection Connection => _connection;

    /// <summary>The handover did not happen: the parked session reads on.</summary>
    internal void Resume() => Volatile.Read(ref _park)?.Commands.Writer.TryWrite(ParkCommand.Resume);

    /// <summary>
    /// Another process serves the miner now (or a new session of this one, after a failed handover): the session ends
    /// without a word to the miner, leaves its upstream and keeps its extranonce1 reserved (the new owner has it);
    /// <paramref name="release"/> disposes the connection. It counts as closed from this call on, before its loop has
    /// ended: routing neither places nor moves it (its extranonce1 is the new owner's, so placing it would find every
    /// connection taken and open another).
    /// </summary>
    internal void HandedOver(Func<ProxyConnection, ValueTask> release)
    {
        if (Volatile.Read(ref _park) is { } park)
        {
            Interlocked.Exchange(ref _closing, 1);
            park.Commands.Writer.TryWrite(new ParkCommand(ParkCommandKind.HandedOver, Release: release));
        }
    }

    /// <summary>
    /// Closes a parked session whose miner takes no bytes (a handover cannot wait for it): the writer stops with
    /// what is still queued, which also ends the export that waited on it.
    /// </summary>
    internal void CloseStuck(string reason)
    {
        _context.Metrics.SlowConsumers.Inc();
        Close(reason);
        StopWriting();

        // A writer that had already ended (its miner's socket reset while the session was parked) will not run again
        // to release the export's flush.
        Interlocked.Exchange(ref _flushed, null)?.TrySetResult();
    }

    /// <summary>The parked loop: false ends the session (handed over or closed), true reads on.</summary>
    private async Task<bool> ParkedLoopAsync()
    {
        var park = Volatile.Read(ref _park)!;
        park.Parked.TrySetResult(true);
        while (true)
        {
            var command = await park.Commands.Reader.ReadAsync().ConfigureAwait(false);
            switch (command.Kind)
            {
                case ParkCommandKind.Export:
                    DrainEvents();
                    await FlushQueuedAsync().ConfigureAwait(false);
                    command.Exported!.TrySetResult(Export());
                    break;
                case ParkCommandKind.Resume:
                    Volatile.Write(ref _park, null);
                    return _closing == 0;
                case ParkCommandKind.HandedOver:
                    _handedOver = command.Release;
                    return false;
                default:
                    return false;
            }
        }
    }

    /// <summary>
    /// Completes once everything queued for the miner so far has been flushed to the transport, or the writer has
    /// ended (nothing more will be).
    /// </summary>
    private Task FlushQueuedAsync()
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _flushed, flushed);
        if (!_outbound.TryWrite(MinerOutbound.Marker()) || Volatile.Read(ref _writeEnded) is { Task.IsCompleted: true })
        {
            // Refused, or queued for a writer that has ended (its output failed) and will never read it.
            Interlocked.CompareExchange(ref _flushed, null, flushed);
            flushed.TrySetResult();
        }

        return flushed.Task;
    }

    private SessionState Export()
    {
        var identity = _identity;
        return new SessionState
        {
            Listener = Listener.Name,
            Remote = _connection.RemoteEndPoint?.ToString(),
            ProxyHeaderDone = _proxyHeaderDone,
            SawFirstByte = _sawFirstByte,
            BadLines = _badLines,
            Subscribed = _protocol.Subscribed,
            UserAgent = _protocol.UserAgent,
            Worker = _protocol.Worker,
            ExtranonceSubscribe = _protocol.WantsExtranonceUpdates,
            VersionRolling = _protocol.VersionRolling,
            RequestedVersionMask = _protocol.RequestedVersionMask,
            VersionMask = _protocol.VersionMask,
            MinimumDifficulty = _protocol.MinimumDifficulty,
            HasIdentity = identity is not null,
            PrefixSize = identity?.Layout.PrefixSize ?? 0,
            Extranonce2Size = identity?.Layout.Extranonce2Size ?? 0,
            Prefix = identity?.Prefix.Value ?? 0,
            PrefixOwned = _prefixOwned,
            Difficulty = _validator.Difficulty,
            DifficultyPending = _difficultyPending,
            VarDiff = _vardiff.Current,
            SentJobs = [.. _validator.SentJobs().Select(j => new SentJobState(j.JobId, j.Difficulty))],
            LastJob = _lastJob?.Id,
            SubmitTokens = _submitTokens,
        };
    }

    private async Task EndHandedOverAsync(Func<ProxyConnection, ValueTask> release)
    {
        // The writer is parked (everything was flushed before the connection left): ending its queue ends it. No
        // flush is cancelled: the connection's transport is the new owner's now.
        Volatile.Write(ref _stopWriting, 1);
        _outbound.TryComplete();
        await EndWriterAsync(WriterEnded()).ConfigureAwait(false);
        LeaveUpstreams();

        // The extranonce1 stays reserved: the session lives on in the process that took it over.
        Stats?.SessionClosed();
        await release(_connection).ConfigureAwait(false);
    }
}
