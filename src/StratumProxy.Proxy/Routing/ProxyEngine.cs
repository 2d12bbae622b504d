using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StratumProxy.Proxy.Accounting;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Sessions;
using StratumProxy.Proxy.Upstream;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Proxy.Routing;

/// <summary>
/// The running proxy: pools and their connections, the miner sessions, and the routing between them (priority
/// failover and fail-back, weights and TH/s targets within a tier, pins, and the pool switch API). One periodic
/// tick drives timeouts, keepalives and moves, so nothing per share waits on routing. The host constructs, starts and
/// disposes it and otherwise uses only <see cref="IProxyControl"/>; the choice of pool is <see cref="PoolSelector"/>'s.
/// </summary>
public sealed partial class ProxyEngine : IMinerRouter, IProxyControl, IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, MinerSession> _sessions = new();
    private Func<IReadOnlyList<PoolCandidate>, IReadOnlyDictionary<string, double>>? _loadOf;
    private RoutingView? _recentView;
    private Dictionary<string, double>? _load;
    private long _loadSummed;
    private readonly ConcurrentDictionary<string, string> _overrides = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PoolRuntime> _pools = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CancellationTokenSource> _poolStops = new(StringComparer.Ordinal);
    private readonly List<Task> _poolTasks = [];
    private readonly Lock _poolsLock = new();
    private int _poolsVersion; // bumped under _poolsLock whenever a pool is added or removed
    private readonly UpstreamContext _upstreamContext;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private readonly Dictionary<string, long> _noPoolLogged = new(StringComparer.Ordinal);
    private readonly Lock _loadLock = new();
    private Task? _tick;
    private long _authorizedSinceSummary;
    private long _summaryStarted;
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
        _upstreamContext = new UpstreamContext(time, logger, metrics, Jobs, options.Miners.Extranonce1Size, options.Miners.Extranonce2Size, options.Limits.MaxPoolLineLength)
        {
            Connector = connector ?? Transport.SocketConnector.Instance,
        };
        Configured = new MinerLayout(options.Miners.Extranonce1Size, options.Miners.Extranonce2Size);
        Sessions = new SessionContext(time, logger, metrics, Ledger, Jobs, new ExtranoncePrefixes(), hasher ?? ShareHasher.Default, this)
        {
            Options = options,
        };
        _summaryStarted = time.GetTimestamp();
    }

    /// <summary>How often the tick sums up the miners authorized (each miner's own line is at Debug).</summary>
    internal static readonly TimeSpan AuthorizedSummaryPeriod = TimeSpan.FromSeconds(10);

    /// <summary>The clock.</summary>
    internal TimeProvider Time { get; }

    /// <summary>The longest line accepted from a pool.</summary>
    internal int PoolMaxLineLength => _upstreamContext.MaxLineLength;

    /// <summary>The configured miner layout (Proxy:Miners:Extranonce1Size and Extranonce2Size, fixed for the process).</summary>
    internal MinerLayout Configured { get; }

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
    internal ProxyMetrics Metrics { get; }

    /// <summary>Per-rig books.</summary>
    internal ShareLedger Ledger { get; }

    /// <summary>Live jobs.</summary>
    internal JobRegistry Jobs { get; }

    /// <summary>What sessions share (including the current options).</summary>
    internal SessionContext Sessions { get; }

    /// <summary>The options in force.</summary>
    public ProxyOptions Options => Sessions.Options;

    /// <summary>Open miner sessions.</summary>
    internal ICollection<MinerSession> MinerSessions => _sessions.Values;

    /// <summary>The pools, by name.</summary>
    internal IReadOnlyList<PoolRuntime> Pools
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

        // Extranonce sizes are fixed for the process: a miner's m and n must not change under it. So is the pool line
        // limit: every pool connection's read buffer was sized by it.
        options = options with
        {
            Miners = options.Miners with { Extranonce1Size = Configured.PrefixSize, Extranonce2Size = Configured.Extranonce2Size },
            Limits = options.Limits with { MaxPoolLineLength = _upstreamContext.MaxLineLength },
        };
        Sessions.Options = options;
        var wanted = options.Pools.ToDictionary(p => p.Name, StringComparer.Ordinal);
        List<string> removed;
        lock (_poolsLock)
        {
            removed = [.. _pools.Keys.Where(name => !wanted.ContainsKey(name) || _pools[name].Options != wanted[name])];
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
    }

    /// <inheritdoc/>
    public void OnAuthorized(MinerSession session)
    {
        _sessions[session.Id] = session;
        Interlocked.Increment(ref _authorizedSinceSummary);
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
    internal MinerLayout LayoutForGroup(string group) => PoolSelector.LayoutFor(group, RecentView().Candidates, Configured);

    /// <summary>The pool whose extranonce2 size forces the group's layout below the configured one, if any.</summary>
    internal PoolRuntime? AdaptingPool(string group)
    {
        var view = View();
        return view.Runtime(PoolSelector.AdaptingPool(group, view.Candidates, Configured));
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
    public void OnClosed(MinerSession session, string? lastPool)
    {
        // Its load leaves before it does: whoever sees the session gone sees its load gone.
        if (lastPool is not null && _sessions.TryGetValue(session.Id, out var known) && ReferenceEquals(known, session))
        {
            Carry(session, lastPool, null);
        }

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

    /// <summary>Moves the selected sessions to the pool (<see cref="IProxyControl.Switch"/>).</summary>
    internal int Switch(string poolName, Func<MinerSession, bool> select, bool pin)
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
    internal string? PinnedPool(string worker) => PoolSelector.Pin(worker, _overrides, Options.Pins);

    /// <summary>Runs one tick now (tests drive it with a fake clock).</summary>
    internal void Tick()
    {
        if (Volatile.Read(ref _tickPaused) != 0)
        {
            // A handover is under way: nothing moves, nothing times out.
            return;
        }

        var now = Time.GetTimestamp();
        foreach (var (_, session) in _sessions)
        {
            session.Tick(now);
        }

        foreach (var pool in Pools)
        {
            pool.Tick(now);
            Metrics.PoolHealth.WithLabels(pool.Options.Name).Set(pool.Health.Score);
        }

        Rebalance();
        SummarizeAuthorized(now);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (_, session) in _sessions)
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

    /// <summary>
    /// Every <see cref="AuthorizedSummaryPeriod"/>, one line for the miners authorized since the last: a fleet that
    /// connects is one line every 10 s at Information instead of a line formatted per miner (event 104, at Debug).
    /// </summary>
    private void SummarizeAuthorized(long now)
    {
        var elapsed = Time.GetElapsedTime(_summaryStarted, now);
        if (elapsed < AuthorizedSummaryPeriod)
        {
            return;
        }

        _summaryStarted = now;
        var count = Interlocked.Exchange(ref _authorizedSinceSummary, 0);
        if (count > 0)
        {
            Log.MinersAuthorized(_logger, count, (int)Math.Round(elapsed.TotalSeconds), _sessions.Count);
        }
    }

    /// <summary>Registers a session that has not authorized yet, so its timeouts are enforced.</summary>
    internal void Track(MinerSession session) => _sessions[session.Id] = session;

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
        // One view for the tick, taken again only when a pool came, went, or changed readiness or extranonce2 size
        // since (a move can do that): each session compares against it instead of copying it.
        RoutingView? tickView = null;
        foreach (var (_, session) in _sessions)
        {
            if (session.Worker is null)
            {
                continue;
            }

            var view = tickView is { } seen && Current(seen) ? seen : View();
            tickView = view;
            var current = session.PoolName is { } name ? view.Find(name) : null;
            var desired = Choose(session, current, view);
            if (desired is null)
            {
                if (current is null || !current.IsReady)
                {
                    if (!Unfit(session, view))
                    {
                        NoPool(session.Listener.PoolGroup);
                    }
                }

                continue;
            }

            var pool = view.Runtime(desired)!;
            if (pool != current)
            {
                var reason = current is null ? "assign" : !current.IsReady ? "failover" : PinnedPool(session.Worker) is not null ? "pin" : "failback";
                MoveOrFallBack(session, desired, reason, view);
            }
            else if (session.Upstream is not { State: UpstreamState.Ready })
            {
                // Same pool, but the miner's connection to it is gone (the pool dropped it, or sent client.reconnect)
                // and the pool is ready again on a new one: carry the miner over, or it would hash a dead job forever.
                MoveOrFallBack(session, desired, "reconnect", view);
            }
        }
    }

    /// <summary>
    /// A miner whose layout (fixed at its subscribe) no ready pool of its group can carry any more (a pool with a
    /// smaller extranonce2 joined or replaced the others): it is never sent where its shares cannot fit. It gets
    /// mining.set_extranonce with a layout that fits when it subscribed to that, else it is closed so that it connects
    /// again and gets one at its subscribe. True when that was the case.
    /// </summary>
    private bool Unfit(MinerSession session, RoutingView view)
    {
        if (session.Layout is not { } layout)
        {
            return false;
        }

        var group = session.Listener.PoolGroup;
        if (!PoolSelector.FitsNoReadyPool(group, layout, view.Candidates))
        {
            return false;
        }

        if (session.WantsExtranonceUpdates)
        {
            // It said mining.extranonce.subscribe: change its extranonce in place; the next tick places it.
            var fitting = PoolSelector.LayoutFor(group, view.Candidates, Configured);
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
        var view = RecentView();
        var pool = Choose(session, null, view);
        if (pool is null)
        {
            NoPool(session.Listener.PoolGroup);
            return;
        }

        MoveOrFallBack(session, pool, reason, view);
    }

    /// <summary>
    /// Moves the session to <paramref name="desired"/>; when that pool has no place for it now (its connections
    /// carry another layout or are full, a new one is still opening or the cap is reached) and the session has no
    /// working upstream, it goes to the next ready pool of its group that fits, and fails back later.
    /// </summary>
    private void MoveOrFallBack(MinerSession session, PoolCandidate desired, string reason, RoutingView view)
    {
        if (Move(session, view.Runtime(desired)!, reason) || session.Upstream is { State: UpstreamState.Ready })
        {
            return;
        }

        foreach (var other in PoolSelector.Fallbacks(Route(session, null), desired, view.Candidates))
        {
            if (Move(session, view.Runtime(other)!, "failover"))
            {
                return;
            }
        }
    }

    /// <summary>The pool a session should be on (<see cref="PoolSelector.Choose"/>).</summary>
    private PoolCandidate? Choose(MinerSession session, PoolRuntime? current, RoutingView view) =>
        PoolSelector.Choose(Route(session, current), view.Candidates, new FailBackRule(Options.Failover.FailBack, Options.Failover.FailBackDelay), _loadOf ??= LoadOf);

    private MinerRoute Route(MinerSession session, PoolRuntime? current) =>
        new(session.Listener.PoolGroup, session.Layout ?? Configured, session.Worker is { } worker ? PinnedPool(worker) : null, current?.Options.Name);

    /// <summary>
    /// The TH/s the sessions on each pool of a tier carry now (5-minute rate; a miner without one counts a little). The
    /// sessions are summed at most once per <see cref="LoadAge"/>, and between sums the moves made since are carried
    /// (<see cref="Carry"/>): a burst of miners placed on a weighted tier (a pool's failover, the proxy's restart) costs
    /// one pass over the sessions a second instead of one for each miner, which at 10,000 miners was 50 million reads
    /// of a hashrate.
    /// </summary>
    private Dictionary<string, double> LoadOf(IReadOnlyList<PoolCandidate> tier)
    {
        var now = Time.GetTimestamp();
        lock (_loadLock)
        {
            if (_load is null || Time.GetElapsedTime(_loadSummed, now) >= LoadAge)
            {
                _load = SumLoad(now);
                _loadSummed = now;
            }

            var load = new Dictionary<string, double>(tier.Count, StringComparer.Ordinal);
            foreach (var pool in tier)
            {
                load[pool.Name] = _load.GetValueOrDefault(pool.Name);
            }

            return load;
        }
    }

    private Dictionary<string, double> SumLoad(long now)
    {
        var load = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var session in _sessions.Values)
        {
            if (session.PoolName is { } name)
            {
                load[name] = load.GetValueOrDefault(name) + LoadOf(session, now);
            }
        }

        return load;
    }

    private static double LoadOf(MinerSession session, long now)
    {
        var rate = session.Stats?.Hashrate(HashrateWindow.FiveMinutes, now).HashesPerSecond ?? 0;
        return rate > 0 ? rate / 1e12 : 1e-6;
    }

    /// <summary>A session moved from one pool to another (either may be none): its load goes with it until the next sum.</summary>
    private void Carry(MinerSession session, string? from, string? to)
    {
        lock (_loadLock)
        {
            if (_load is null || string.Equals(from, to, StringComparison.Ordinal))
            {
                return;
            }

            var load = LoadOf(session, Time.GetTimestamp());
            if (from is not null && _load.TryGetValue(from, out var carried))
            {
                _load[from] = Math.Max(0, carried - load);
            }

            if (to is not null)
            {
                _load[to] = _load.GetValueOrDefault(to) + load;
            }
        }
    }

    /// <summary>How long the pools' summed load is used before the sessions are summed again (<see cref="LoadOf(IReadOnlyList{PoolCandidate})"/>).</summary>
    internal static readonly TimeSpan LoadAge = TimeSpan.FromSeconds(1);

    private bool Move(MinerSession session, PoolRuntime pool, string reason)
    {
        var current = session.PoolName;
        var from = current ?? ProxyMetrics.NoPoolLabel;
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
            Carry(session, current, pool.Options.Name);
            Metrics.PoolSwitches.WithLabels(reason).Inc();
            return true;
        }

        if (!pool.TryAttach(session))
        {
            return false;
        }

        Carry(session, current, pool.Options.Name);

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

    /// <summary>The pools now, each with the routing view of it (read once, so one decision sees one state).</summary>
    private RoutingView View()
    {
        PoolRuntime[] runtimes;
        int version;
        lock (_poolsLock)
        {
            runtimes = [.. _pools.Values];
            version = _poolsVersion;
        }

        var candidates = new PoolCandidate[runtimes.Length];
        for (var i = 0; i < runtimes.Length; i++)
        {
            candidates[i] = runtimes[i].AsCandidate();
        }

        return new RoutingView(runtimes, candidates, version, Time.GetTimestamp());
    }

    /// <summary>
    /// The view for one miner's subscribe or authorize: the last one taken while it still shows the pools as they are
    /// and is under <see cref="RecentViewAge"/> old, else a new one. A burst of thousands of miners connecting (a
    /// pool's failover, the proxy's restart) so shares one view a second instead of copying the pools for each miner
    /// twice. What these decisions read of a view (the pools' set, options, readiness and extranonce2 size) is what
    /// <see cref="Current"/> compares; the age keeps the rest (how long each pool has been ready) from growing old.
    /// </summary>
    private RoutingView RecentView()
    {
        if (Volatile.Read(ref _recentView) is { } seen && Time.GetElapsedTime(seen.Taken) < RecentViewAge && Current(seen))
        {
            return seen;
        }

        var view = View();
        Volatile.Write(ref _recentView, view);
        return view;
    }

    /// <summary>How long a miner's decision may reuse a routing view (<see cref="RecentView"/>).</summary>
    internal static readonly TimeSpan RecentViewAge = TimeSpan.FromSeconds(1);

    /// <summary>Changes each time a pool is added or removed (a routing view of another number is out of date).</summary>
    internal int PoolsVersion => Volatile.Read(ref _poolsVersion);

    /// <summary>True when <paramref name="view"/> still shows the pools as they are (their set, options, readiness
    /// and extranonce2 size; how long each has been ready is as of the view).</summary>
    private bool Current(RoutingView view)
    {
        // The set of pools: one number, read without the lock (the tick takes it only when the set changed).
        if (PoolsVersion != view.Version)
        {
            return false;
        }

        for (var i = 0; i < view.Runtimes.Length; i++)
        {
            var runtime = view.Runtimes[i];
            var candidate = view.Candidates[i];
            if (runtime.IsReady != candidate.IsReady || runtime.KnownExtranonce2Size != candidate.KnownExtranonce2Size
                || !ReferenceEquals(runtime.Options.Name, candidate.Name) || runtime.Options.Priority != candidate.Priority)
            {
                return false;
            }
        }

        return true;
    }

    private sealed record RoutingView(PoolRuntime[] Runtimes, PoolCandidate[] Candidates, int Version, long Taken)
    {
        public PoolRuntime? Runtime(PoolCandidate? candidate)
        {
            for (var i = 0; candidate is not null && i < Candidates.Length; i++)
            {
                if (ReferenceEquals(Candidates[i], candidate))
                {
                    return Runtimes[i];
                }
            }

            return null;
        }

        public PoolRuntime? Find(string name)
        {
            foreach (var runtime in Runtimes)
            {
                if (string.Equals(runtime.Options.Name, name, StringComparison.Ordinal))
                {
                    return runtime;
                }
            }

            return null;
        }
    }

    private void AddPool(PoolOptions options)
    {
        if (!PoolUrl.TryParse(options.Url, out var url, out _))
        {
            return;
        }

        var runtime = new PoolRuntime(options, url, _upstreamContext, Options.Failover, LayoutForGroup, OnExtranonce2SizeSeen);
        TakeAdoptions(runtime);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        lock (_poolsLock)
        {
            _pools[options.Name] = runtime;
            _poolsVersion++;
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
            if (_pools.Remove(name))
            {
                _poolsVersion++;
            }
            _poolStops.Remove(name, out stop);
        }

        stop?.Cancel();
        Metrics.PoolUp.WithLabels(name).Set(0);
    }
}
