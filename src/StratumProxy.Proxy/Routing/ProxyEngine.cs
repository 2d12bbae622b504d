using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Proxy.Upstream;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Proxy.Routing;

/// <summary>
/// The running proxy: pools and their connections, the miner sessions, and the routing between them (priority
/// failover and fail-back, weights and TH/s targets within a tier, pins, and the pool switch API). One periodic
/// tick drives timeouts, keepalives and moves, so nothing per share waits on routing.
/// </summary>
public sealed class ProxyEngine : IMinerRouter, IPoolSwitch, IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, MinerSession> _sessions = new();
    private readonly ConcurrentDictionary<string, string> _overrides = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PoolRuntime> _pools = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CancellationTokenSource> _poolStops = new(StringComparer.Ordinal);
    private readonly List<Task> _poolTasks = [];
    private readonly Lock _poolsLock = new();
    private readonly UpstreamContext _upstreamContext;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private readonly Dictionary<string, long> _noPoolLogged = new(StringComparer.Ordinal);
    private Task? _tick;
    private Action<string, Stratum.Protocol.NotifyMessage, int>? _jobReceived;
    private int _disposed;

    /// <summary>Creates the engine; nothing connects until <see cref="Start"/>.</summary>
    public ProxyEngine(ProxyOptions options, TimeProvider time, ILogger logger, ProxyMetrics metrics, ShareHasher? hasher = null, Transport.IUpstreamConnector? connector = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Time = time;
        _logger = logger;
        Metrics = metrics;
        Jobs = new JobRegistry();
        Ledger = new ShareLedger(time, metrics);
        _upstreamContext = new UpstreamContext(time, logger, metrics, Jobs, options.Miners.Extranonce1Size, options.Miners.Extranonce2Size, 256 * 1024)
        {
            Connector = connector ?? Transport.SocketConnector.Instance,
        };
        Configured = new MinerLayout(options.Miners.Extranonce1Size, options.Miners.Extranonce2Size);
        Sessions = new SessionContext(time, logger, metrics, Ledger, Jobs, new ExtranoncePrefixes(), hasher ?? ShareHasher.Default, this)
        {
            Options = options,
        };
    }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>The configured miner layout (Proxy:Miners:Extranonce1Size and Extranonce2Size, fixed for the process).</summary>
    public MinerLayout Configured { get; }

    private readonly Dictionary<string, MinerLayout> _groupLayouts = new(StringComparer.Ordinal);

    /// <summary>
    /// Every job any pool sends: (pool name, the notify, extranonce1 bytes + extranonce2 size of its connection).
    /// Set before <see cref="Start"/>; called on the connection's read loop, so keep it short.
    /// </summary>
    public Action<string, Stratum.Protocol.NotifyMessage, int>? JobReceived
    {
        get => _jobReceived;
        set
        {
            _jobReceived = value;
            _upstreamContext.JobObserved = value is null ? null : (upstream, notify) =>
                value(upstream.Pool.Name, notify, (upstream.Layout?.PoolExtranonce1.Length ?? 0) + (upstream.Layout?.PoolExtranonce2Size ?? 0));
        }
    }

    /// <summary>Metrics.</summary>
    public ProxyMetrics Metrics { get; }

    /// <summary>Per-rig books.</summary>
    public ShareLedger Ledger { get; }

    /// <summary>Live jobs.</summary>
    public JobRegistry Jobs { get; }

    /// <summary>What sessions share (including the current options).</summary>
    public SessionContext Sessions { get; }

    /// <summary>The options in force.</summary>
    public ProxyOptions Options => Sessions.Options;

    /// <summary>Open miner sessions.</summary>
    public ICollection<MinerSession> MinerSessions => _sessions.Values;

    /// <summary>The pools, by name.</summary>
    public IReadOnlyList<PoolRuntime> Pools
    {
        get
        {
            lock (_poolsLock)
            {
                return [.. _pools.Values];
            }
        }
    }

    /// <summary>Starts the pool connections and the tick.</summary>
    public void Start()
    {
        foreach (var pool in Options.Pools)
        {
            AddPool(pool);
        }

        _tick = TickLoopAsync(_stopping.Token);
    }

    /// <summary>Applies a validated configuration while running: limits, pins, difficulty bounds, pools added or removed.</summary>
    public void ApplyOptions(ProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var previous = Sessions.Options;
        Sessions.Options = options;
        var wanted = options.Pools.ToDictionary(p => p.Name, StringComparer.Ordinal);
        List<string> removed;
        lock (_poolsLock)
        {
            removed = [.. _pools.Keys.Where(name => !wanted.ContainsKey(name) || Changed(_pools[name].Options, wanted[name]))];
        }

        foreach (var name in removed)
        {
            RemovePool(name);
        }

        foreach (var pool in options.Pools)
        {
            bool exists;
            lock (_poolsLock)
            {
                exists = _pools.ContainsKey(pool.Name);
                if (exists)
                {
                    _pools[pool.Name].Failover = options.Failover;
                }
            }

            if (!exists)
            {
                AddPool(pool);
            }
        }

        if (previous.Miners.Extranonce1Size != options.Miners.Extranonce1Size || previous.Miners.Extranonce2Size != options.Miners.Extranonce2Size)
        {
            // Extranonce sizes are fixed for the process: a miner's m and n must not change under it.
            Sessions.Options.Miners.Extranonce1Size = previous.Miners.Extranonce1Size;
            Sessions.Options.Miners.Extranonce2Size = previous.Miners.Extranonce2Size;
        }
    }

    /// <inheritdoc/>
    public void OnAuthorized(MinerSession session)
    {
        _sessions[session.Id] = session;
        Assign(session, "assign");
    }

    /// <inheritdoc/>
    public MinerLayout LayoutFor(ListenerOptions listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        return LayoutForGroup(listener.PoolGroup);
    }

    /// <summary>
    /// The layout new miners of a pool group get now: fitted to the smallest extranonce2 size among the group's pools
    /// (seen from the pool, else its configured hint), the configured one while none is known or all leave room.
    /// </summary>
    public MinerLayout LayoutForGroup(string group)
    {
        var sizes = Pools.Where(p => string.Equals(p.Options.Group, group, StringComparison.Ordinal) && p.KnownExtranonce2Size is not null)
            .Select(p => p.KnownExtranonce2Size!.Value);
        return MinerLayout.ForGroup(sizes, Configured) ?? Configured;
    }

    /// <summary>The pool whose extranonce2 size forces the group's layout below the configured one, if any.</summary>
    public PoolRuntime? AdaptingPool(string group)
    {
        var layout = LayoutForGroup(group);
        if (layout == Configured)
        {
            return null;
        }

        return Pools.Where(p => string.Equals(p.Options.Group, group, StringComparison.Ordinal) && p.KnownExtranonce2Size is not null)
            .MinBy(p => p.KnownExtranonce2Size);
    }

    /// <summary>A pool told its extranonce2 size: say once when it changes the layout of its group's new miners.</summary>
    private void OnExtranonce2SizeSeen(PoolRuntime pool, int extranonce2Size)
    {
        var group = pool.Options.Group;
        var layout = LayoutForGroup(group);
        lock (_groupLayouts)
        {
            var previous = _groupLayouts.TryGetValue(group, out var last) ? last : Configured;
            _groupLayouts[group] = layout;
            if (layout == previous)
            {
                return;
            }
        }

        Log.LayoutAdapted(_logger, pool.Options.Name, extranonce2Size, group, layout.PrefixSize, layout.Extranonce2Size, layout.MinersPerConnection, pool.Options.MaxConnections, Configured.PrefixSize, Configured.Extranonce2Size);
    }

    /// <inheritdoc/>
    public void OnClosed(MinerSession session)
    {
        _sessions.TryRemove(session.Id, out _);
        lock (_poolsLock)
        {
            foreach (var pool in _pools.Values)
            {
                if (pool.Options.Mode == PoolMode.Passthrough)
                {
                    pool.CloseDedicated(session);
                }
            }
        }
    }

    /// <inheritdoc/>
    public int Switch(string poolName, Func<MinerSession, bool> select, bool pin)
    {
        ArgumentNullException.ThrowIfNull(select);
        PoolRuntime? pool;
        lock (_poolsLock)
        {
            _pools.TryGetValue(poolName, out pool);
        }

        if (pool is null)
        {
            throw new ArgumentException($"No pool is named '{poolName}'.", nameof(poolName));
        }

        var moved = 0;
        foreach (var session in _sessions.Values)
        {
            if (session.Worker is null || !select(session))
            {
                continue;
            }

            if (pin)
            {
                _overrides[session.Worker] = poolName;
            }

            if (pool.IsReady && Move(session, pool, "api"))
            {
                moved++;
            }
        }

        return moved;
    }

    /// <inheritdoc/>
    public void Unpin(string worker) => _overrides.TryRemove(worker, out _);

    /// <summary>The pool a worker is pinned to by the switch API or config, if any.</summary>
    public string? PinnedPool(string worker) =>
        _overrides.TryGetValue(worker, out var pool) ? pool : Options.Pins.TryGetValue(worker, out var configured) ? configured : null;

    /// <summary>Runs one tick now (tests drive it with a fake clock).</summary>
    public void Tick()
    {
        var now = Time.GetTimestamp();
        foreach (var session in _sessions.Values)
        {
            session.Tick(now);
        }

        foreach (var pool in Pools)
        {
            pool.Tick(now);
            Metrics.PoolHealth.WithLabels(pool.Options.Name).Set(pool.Health.Score);
        }

        Rebalance();
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var session in _sessions.Values)
        {
            if (session.PoolName is { } name)
            {
                counts[name] = counts.GetValueOrDefault(name) + 1;
            }
        }

        foreach (var pool in Pools)
        {
            Metrics.PoolMiners.WithLabels(pool.Options.Name).Set(counts.GetValueOrDefault(pool.Options.Name));
        }
    }

    /// <summary>Registers a session that has not authorized yet, so its timeouts are enforced.</summary>
    public void Track(MinerSession session) => _sessions[session.Id] = session;

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        List<Task> tasks;
        lock (_poolsLock)
        {
            foreach (var stop in _poolStops.Values)
            {
                stop.Cancel();
            }

            tasks = [.. _poolTasks];
        }

        if (_tick is not null)
        {
            tasks.Add(_tick);
        }

        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        lock (_poolsLock)
        {
            foreach (var stop in _poolStops.Values)
            {
                stop.Dispose();
            }
        }

        _stopping.Dispose();
    }

    private async Task TickLoopAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                Tick();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void Rebalance()
    {
        foreach (var session in _sessions.Values)
        {
            if (session.Worker is null)
            {
                continue;
            }

            var current = session.PoolName is { } name ? Find(name) : null;
            var desired = Choose(session, current);
            if (desired is null)
            {
                if (current is null || !current.IsReady)
                {
                    if (!Unfit(session))
                    {
                        NoPool(session.Listener.PoolGroup);
                    }
                }

                continue;
            }

            if (desired != current)
            {
                var reason = current is null ? "assign" : !current.IsReady ? "failover" : PinnedPool(session.Worker) is not null ? "pin" : "failback";
                MoveOrFallBack(session, desired, reason);
            }
            else if (session.Upstream is not { State: UpstreamState.Ready })
            {
                // Same pool, but the miner's connection to it is gone (the pool dropped it, or sent client.reconnect)
                // and the pool is ready again on a new one: carry the miner over, or it would hash a dead job forever.
                MoveOrFallBack(session, desired, "reconnect");
            }
        }
    }

    /// <summary>
    /// A miner whose layout (fixed at its subscribe) no ready pool of its group can carry any more (a pool with a
    /// smaller extranonce2 joined or replaced the others): it is never sent where its shares cannot fit. It gets
    /// mining.set_extranonce with a layout that fits when it subscribed to that, else it is closed so that it connects
    /// again and gets one at its subscribe. True when that was the case.
    /// </summary>
    private bool Unfit(MinerSession session)
    {
        if (session.Layout is not { } layout)
        {
            return false;
        }

        var group = session.Listener.PoolGroup;
        var ready = Pools.Where(p => string.Equals(p.Options.Group, group, StringComparison.Ordinal) && p.IsReady).ToList();
        if (ready.Count == 0 || ready.Any(p => p.Fits(layout)))
        {
            return false;
        }

        if (session.WantsExtranonceUpdates)
        {
            // It said mining.extranonce.subscribe: change its extranonce in place; the next tick places it.
            var fitting = LayoutForGroup(group);
            Log.MinerLayoutUnfit(_logger, session.Id, session.Worker, layout.PrefixSize, layout.Extranonce2Size, group, $"sending mining.set_extranonce with {fitting}");
            session.ChangeLayout(fitting);
            return true;
        }

        Log.MinerLayoutUnfit(_logger, session.Id, session.Worker, layout.PrefixSize, layout.Extranonce2Size, group, "closing it so that it reconnects with a layout that fits");
        session.Close($"extranonce layout {layout} fits no ready pool of group {group}: reconnect for a smaller one");
        return true;
    }

    private void Assign(MinerSession session, string reason)
    {
        var pool = Choose(session, null);
        if (pool is null)
        {
            NoPool(session.Listener.PoolGroup);
            return;
        }

        MoveOrFallBack(session, pool, reason);
    }

    /// <summary>
    /// Moves the session to <paramref name="desired"/>; when that pool has no place for it now (its connections
    /// carry another layout or are full, a new one is still opening or the cap is reached) and the session has no
    /// working upstream, it goes to the next ready pool of its group that fits, and fails back later.
    /// </summary>
    private void MoveOrFallBack(MinerSession session, PoolRuntime desired, string reason)
    {
        if (Move(session, desired, reason) || session.Upstream is { State: UpstreamState.Ready })
        {
            return;
        }

        var group = session.Listener.PoolGroup;
        var layout = session.Layout ?? Configured;
        foreach (var other in Pools.Where(p => p != desired && string.Equals(p.Options.Group, group, StringComparison.Ordinal) && p.IsReady && p.Fits(layout))
                     .OrderBy(p => p.Options.Priority))
        {
            if (Move(session, other, "failover"))
            {
                return;
            }
        }
    }

    /// <summary>
    /// The pool a session should be on. Sticky: a session stays where it is while that pool is ready, unless a pin
    /// says otherwise or a better-priority pool has been ready for the fail-back delay.
    /// </summary>
    private PoolRuntime? Choose(MinerSession session, PoolRuntime? current)
    {
        var pinned = session.Worker is { } worker ? PinnedPool(worker) : null;
        if (pinned is not null && Find(pinned) is { IsReady: true } pin && pin.Fits(session.Layout ?? Configured))
        {
            return pin;
        }

        var group = session.Listener.PoolGroup;
        var layout = session.Layout ?? Configured;
        var candidates = Pools.Where(p => string.Equals(p.Options.Group, group, StringComparison.Ordinal) && p.IsReady && p.Fits(layout)).ToList();
        if (candidates.Count == 0)
        {
            return current is { IsReady: true } && current.Fits(layout) ? current : null;
        }

        var bestPriority = candidates.Min(p => p.Options.Priority);
        if (current is { IsReady: true } && current.Options.Group == group && pinned is null && current.Fits(layout))
        {
            if (current.Options.Priority <= bestPriority || !Options.Failover.FailBack)
            {
                return current;
            }

            // Fail back only to a pool that has stayed up for the delay.
            var better = candidates.Where(p => p.Options.Priority < current.Options.Priority && p.ReadyFor >= Options.Failover.FailBackDelay).ToList();
            if (better.Count == 0)
            {
                return current;
            }

            candidates = better;
            bestPriority = candidates.Min(p => p.Options.Priority);
        }

        var tier = candidates.Where(p => p.Options.Priority == bestPriority).ToList();
        return tier.Count == 1 ? tier[0] : ByShare(tier);
    }

    /// <summary>Within one priority tier: the pool furthest below its share (TH/s target, else weight).</summary>
    private PoolRuntime ByShare(List<PoolRuntime> tier)
    {
        var now = Time.GetTimestamp();
        var load = tier.ToDictionary(p => p.Options.Name, _ => 0.0, StringComparer.Ordinal);
        foreach (var session in _sessions.Values)
        {
            if (session.PoolName is { } name && load.ContainsKey(name))
            {
                var rate = session.Stats?.Hashrate(HashrateWindow.FiveMinutes, now).HashesPerSecond ?? 0;
                load[name] += rate > 0 ? rate / 1e12 : 1e-6;
            }
        }

        var useTargets = tier.All(p => p.Options.TargetTerahashes > 0);
        var totalWeight = tier.Sum(p => p.Options.Weight);
        var totalLoad = load.Values.Sum();
        PoolRuntime best = tier[0];
        var bestDeficit = double.MinValue;
        foreach (var pool in tier)
        {
            var deficit = useTargets
                ? pool.Options.TargetTerahashes - load[pool.Options.Name]
                : (totalWeight <= 0 ? 0 : pool.Options.Weight / totalWeight) - (totalLoad <= 0 ? 0 : load[pool.Options.Name] / totalLoad);
            if (deficit > bestDeficit)
            {
                bestDeficit = deficit;
                best = pool;
            }
        }

        return best;
    }

    private bool Move(MinerSession session, PoolRuntime pool, string reason)
    {
        var from = session.PoolName ?? "none";
        if (!pool.Fits(session.Layout ?? Configured))
        {
            return false;
        }

        if (pool.Options.Mode == PoolMode.Passthrough)
        {
            if ((string.Equals(from, pool.Options.Name, StringComparison.Ordinal) && session.Upstream is { State: not UpstreamState.Closed })
                || !pool.TryBeginDedicated(session))
            {
                return false;
            }

            _ = pool.RunDedicatedAsync(session, _stopping.Token);
            Metrics.PoolSwitches.WithLabels(reason).Inc();
            return true;
        }

        if (!pool.TryAttach(session))
        {
            return false;
        }

        if (!string.Equals(from, pool.Options.Name, StringComparison.Ordinal))
        {
            Metrics.PoolSwitches.WithLabels(reason).Inc();
            if (reason != "assign")
            {
                Log.MinersMoved(_logger, 1, from, pool.Options.Name, reason);
            }
        }

        return true;
    }

    private void NoPool(string group)
    {
        var now = Time.GetTimestamp();
        lock (_noPoolLogged)
        {
            if (_noPoolLogged.TryGetValue(group, out var last) && Time.GetElapsedTime(last, now) < TimeSpan.FromSeconds(30))
            {
                return;
            }

            _noPoolLogged[group] = now;
        }

        var waiting = _sessions.Values.Count(s => s.Listener.PoolGroup == group && s.Worker is not null);
        Log.NoPoolReady(_logger, group, waiting);
    }

    private PoolRuntime? Find(string name)
    {
        lock (_poolsLock)
        {
            return _pools.GetValueOrDefault(name);
        }
    }

    private void AddPool(PoolOptions options)
    {
        if (!PoolUrl.TryParse(options.Url, out var url, out _))
        {
            return;
        }

        var runtime = new PoolRuntime(options, url, _upstreamContext, Options.Failover, LayoutForGroup, OnExtranonce2SizeSeen);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        lock (_poolsLock)
        {
            _pools[options.Name] = runtime;
            _poolStops[options.Name] = stop;
            _poolTasks.Add(Task.Run(() => runtime.RunAsync(stop.Token)));
        }

        Metrics.PoolUp.WithLabels(options.Name).Set(0);
    }

    private void RemovePool(string name)
    {
        CancellationTokenSource? stop;
        lock (_poolsLock)
        {
            _pools.Remove(name);
            _poolStops.Remove(name, out stop);
        }

        stop?.Cancel();
        Metrics.PoolUp.WithLabels(name).Set(0);
    }

    private static bool Changed(PoolOptions a, PoolOptions b) =>
        a.Url != b.Url || a.User != b.User || a.Password != b.Password || a.Mode != b.Mode
        || a.Group != b.Group || a.Priority != b.Priority || a.Weight.CompareTo(b.Weight) != 0 || a.TargetTerahashes.CompareTo(b.TargetTerahashes) != 0
        || a.WorkerNaming != b.WorkerNaming || a.AllowInvalidCertificate != b.AllowInvalidCertificate || a.VersionRolling != b.VersionRolling
        || a.Extranonce2SizeHint != b.Extranonce2SizeHint || a.MaxConnections != b.MaxConnections;
}

/// <summary>The pool switch API: move rigs to another pool now (the economics policy and the status API use it).</summary>
public interface IPoolSwitch
{
    /// <summary>Moves the selected sessions to the pool; with <paramref name="pin"/> they stay there until unpinned.</summary>
    /// <returns>How many miners moved now (a pool that is not ready yet takes pinned miners when it is).</returns>
    int Switch(string poolName, Func<MinerSession, bool> select, bool pin);

    /// <summary>Removes an API pin.</summary>
    void Unpin(string worker);
}
