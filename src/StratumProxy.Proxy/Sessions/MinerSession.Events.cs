using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Upstream;

namespace StratumProxy.Proxy.Sessions;

/// <summary>
/// What other threads ask of a session: the upstream's read loop (a job, a version mask, a new extranonce), routing's
/// tick and the admin API (attach, change layout, tick). They never write the session's fields: they post an event,
/// and the session's read loop applies it between two lines (docs/architecture.md, "Who owns what").
/// </summary>
internal readonly struct SessionEvent
{
    // 24 bytes: what an event carries is one object (an upstream or a job) and one number (a timestamp, a mask or a
    // layout), so an event holds one of each, not a field per kind. A session holds two of them in place.
    private readonly object? _target;
    private readonly long _value;

    private SessionEvent(SessionEventKind kind, object? target = null, long value = 0, bool clean = false)
    {
        Kind = kind;
        _target = target;
        _value = value;
        Clean = clean;
    }

    public SessionEventKind Kind { get; }

    public bool Clean { get; }

    public UpstreamConnection? Upstream => _target as UpstreamConnection;

    public UpstreamJob? Job => _target as UpstreamJob;

    public uint Mask => (uint)_value;

    public MinerLayout Layout => new((int)(_value >> 32), (int)_value);

    public long Now => _value;

    public static SessionEvent Attach(UpstreamConnection upstream) => new(SessionEventKind.Attach, upstream);

    public static SessionEvent NewJob(UpstreamJob job, bool clean) => new(SessionEventKind.Job, job, clean: clean);

    public static SessionEvent VersionMask(uint poolMask) => new(SessionEventKind.VersionMask, value: poolMask);

    public static SessionEvent UpstreamExtranonce(UpstreamConnection upstream) => new(SessionEventKind.UpstreamExtranonce, upstream);

    public static SessionEvent ChangeLayout(MinerLayout layout) =>
        new(SessionEventKind.ChangeLayout, value: ((long)layout.PrefixSize << 32) | (uint)layout.Extranonce2Size);

    public static SessionEvent Tick(long now) => new(SessionEventKind.Tick, value: now);

    public static SessionEvent Reconnect() => new(SessionEventKind.Reconnect);

    public static SessionEvent Park() => new(SessionEventKind.Park);
}

/// <summary>The kinds of <see cref="SessionEvent"/>.</summary>
internal enum SessionEventKind : byte
{
    Attach,
    Job,
    VersionMask,
    UpstreamExtranonce,
    ChangeLayout,
    Tick,
    Reconnect,
    Park,
}

/// <summary>
/// The events waiting for a session's loop, first in, first out. A session rarely has more than one or two waiting (a
/// job and the tick), so the first two wait in place and only more than that spill into a queue, made when first
/// needed. An event goes in place only while the spill queue is empty, so every event in place is older than every
/// spilled one, and taking from the places first keeps the order. A mutable struct held in the session's field and
/// guarded by the session's lock (a queue object of its own, two slots, cost every session 112 bytes).
/// </summary>
internal struct SessionEventQueue
{
    private SessionEvent _first;
    private SessionEvent _second;
    private Queue<SessionEvent>? _spilled;
    private byte _head;
    private byte _inPlace;

    /// <summary>How many events wait.</summary>
    public readonly int Count => _inPlace + (_spilled?.Count ?? 0);

    public void Enqueue(in SessionEvent message)
    {
        if (_inPlace < 2 && (_spilled is null || _spilled.Count == 0))
        {
            Place((_head + _inPlace) & 1) = message;
            _inPlace++;
        }
        else
        {
            (_spilled ??= new Queue<SessionEvent>(2)).Enqueue(message);
        }
    }

    public bool TryDequeue(out SessionEvent message)
    {
        if (_inPlace > 0)
        {
            ref var place = ref Place(_head);
            message = place;
            place = default;
            _head ^= 1;
            _inPlace--;
            return true;
        }

        if (_spilled is not null && _spilled.TryDequeue(out message))
        {
            return true;
        }

        message = default;
        return false;
    }

    /// <summary>Drops every waiting event (and what they reference).</summary>
    public void Clear()
    {
        _first = default;
        _second = default;
        _inPlace = 0;
        _spilled = null;
    }

    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    private ref SessionEvent Place(int index) => ref index == 0 ? ref _first : ref _second;
}

/// <summary>A miner's extranonce1 and layout, published as one immutable value (other threads read it whole).</summary>
internal sealed record MinerIdentity(MinerLayout Layout, MinerExtranoncePrefix Prefix, byte[] Extranonce1);

public sealed partial class MinerSession
{
    // The session's one lock is its protocol state's monitor (private, never handed out; one object less per session
    // than a lock of its own): it guards the events and the assignment (AttachTo, which posts under it; the monitor is
    // re-entrant).
    private SessionEventQueue _events;
    private int _eventCount;
    private int _wakePending;
    private int _tickPending;

    /// <summary>The lock of the session's events and assignment.</summary>
    private object Sync => _protocol;

    /// <summary>
    /// Queues an event for the session's loop and wakes it (a cancelled read, as Kestrel stops a connection). One
    /// wake-up covers every event posted before the loop drains.
    /// </summary>
    private void Post(in SessionEvent message)
    {
        lock (Sync)
        {
            _events.Enqueue(message);
            Volatile.Write(ref _eventCount, _events.Count);
        }

        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            try
            {
                _connection.Transport.Input.CancelPendingRead();
            }
            catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
            {
                // The transport is already completed: the session is ending and its events no longer matter.
            }
        }
    }

    /// <summary>Applies every posted event, in order (on the session's loop only).</summary>
    private void DrainEvents()
    {
        Volatile.Write(ref _wakePending, 0);
        while (TryTakeEvent(out var message))
        {
            switch (message.Kind)
            {
                case SessionEventKind.Attach:
                    ApplyAttach(message.Upstream!);
                    break;
                case SessionEventKind.Job:
                    ApplyJob(message.Job!, message.Clean);
                    break;
                case SessionEventKind.VersionMask:
                    ApplyVersionMask(message.Mask);
                    break;
                case SessionEventKind.UpstreamExtranonce:
                    ApplyUpstreamExtranonce(message.Upstream!);
                    break;
                case SessionEventKind.ChangeLayout:
                    ApplyChangeLayout(message.Layout);
                    break;
                case SessionEventKind.Tick:
                    Volatile.Write(ref _tickPending, 0);
                    ApplyTick(message.Now);
                    break;
                case SessionEventKind.Reconnect:
                    // Applied by the read loop once the lines already received are handled (ApplyReconnect).
                    break;
                case SessionEventKind.Park:
                    // Only wakes the loop: it parks once the lines it is handling are done (a handover).
                    break;
            }
        }
    }

    /// <summary>True when events wait (a hint read without the lock; a missed event still wakes the loop).</summary>
    private bool HasEvents => Volatile.Read(ref _eventCount) != 0;

    private bool TryTakeEvent(out SessionEvent message)
    {
        lock (Sync)
        {
            var taken = _events.TryDequeue(out message);
            Volatile.Write(ref _eventCount, _events.Count);
            return taken;
        }
    }

    /// <summary>Drops what is queued (teardown: no loop is left to apply it).</summary>
    private void ClearEvents()
    {
        lock (Sync)
        {
            _events.Clear();
            Volatile.Write(ref _eventCount, 0);
        }
    }
}
