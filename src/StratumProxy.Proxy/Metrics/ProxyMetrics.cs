using Prometheus;

namespace StratumProxy.Proxy.Metrics;

/// <summary>
/// Every Prometheus series the proxy exports (prefix <c>stratumproxy_</c>, base units, <c>_total</c> counters).
/// Labelled children are resolved once per session or upstream and kept; nothing here is looked up per share.
/// Worker labels are capped (<see cref="WorkerLabel"/>): past the cap, new workers report as <c>other</c>.
/// </summary>
/// <remarks>
/// The per-worker families are not here: the sessions count into plain fields of the ledger, and
/// <c>ShareLedger.WriteWorkerSeriesAsync</c> writes them as exposition text for each scrape (<c>Accounting.WorkerSeriesExport</c>),
/// so 10,000 workers neither keep ~14 prometheus-net children each between scrapes nor have them built for one.
/// </remarks>
public sealed class ProxyMetrics
{
    private readonly int _maxWorkerSeries;
    private readonly HashSet<string> _workers = new(StringComparer.Ordinal);
    private readonly Lock _workersLock = new();
    private readonly long[] _unattributed = new long[ShareResultLabels.All.Count];
    private readonly HashSet<string> _seededWorkers = new(StringComparer.Ordinal);
    private double _unattributedDifficulty = double.NaN;
    private bool _seedUnattributed;

    /// <summary>Creates the series in the given factory (a fresh registry in tests, the default one in the host).</summary>
    public ProxyMetrics(IMetricFactory factory, int maxWorkerSeries = 10_000)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _maxWorkerSeries = maxWorkerSeries;
        MinerConnections = factory.CreateGauge("stratumproxy_miner_connections", "Miner connections open now.", ["listener"]);
        MinerConnectionsTotal = factory.CreateCounter("stratumproxy_miner_connections_total", "Miner connections accepted.", ["listener"]);
        Takeovers = factory.CreateCounter("stratumproxy_takeovers_total", "Takeovers, by role (old: handing over, new: taking over) and result (old: handed, refused, taken_back, take_back_failed; new: taken_over, taken_over_partly, refused by the running process, failed).", ["role", "result"]);
        foreach (var result in (ReadOnlySpan<string>)["handed", "refused", "taken_back", "take_back_failed"])
        {
            // Exported from the start, so an alert on an upgrade that did not happen sees the counter rise from 0.
            Takeovers.WithLabels("old", result);
        }

        TakeoverConnectionsClosed = factory.CreateCounter("stratumproxy_takeover_connections_closed_total", "Connections a takeover could not keep and closed (the peer reconnects), by role and kind (miner, pool, listener).", ["role", "kind"]);
        MinerDisconnects = factory.CreateCounter("stratumproxy_miner_disconnects_total", "Miner connections closed, by reason.", ["reason"]);
        MinerConnectionsRefused = factory.CreateCounter("stratumproxy_miner_connections_refused_total", "Miner connections refused before a session started, by reason.", ["listener", "reason"]);
        PoolUp = factory.CreateGauge("stratumproxy_pool_up", "1 when the pool connection is subscribed and authorized.", ["pool"]);
        PoolHealth = factory.CreateGauge("stratumproxy_pool_health_score", "Pool health from latency, rejects and errors (0..1).", ["pool"]);
        PoolDifficulty = factory.CreateGauge("stratumproxy_pool_difficulty", "The pool's share difficulty on its primary connection.", ["pool"]);
        PoolMiners = factory.CreateGauge("stratumproxy_pool_miners", "Miners routed to the pool now.", ["pool"]);
        PoolSubmitLatency = factory.CreateHistogram(
            "stratumproxy_pool_submit_latency_seconds",
            "Time from forwarding a share to the pool's verdict.",
            new HistogramConfiguration { LabelNames = ["pool"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 12) });
        PoolShares = factory.CreateCounter("stratumproxy_pool_shares_total", "Shares forwarded to the pool, by verdict (accepted, rejected, lost, resent).", ["pool", "result"]);
        UpstreamReconnects = factory.CreateCounter("stratumproxy_upstream_reconnects_total", "Upstream connections (re)established.", ["pool"]);
        UpstreamConnectFailures = factory.CreateCounter("stratumproxy_upstream_connect_failures_total", "Failed attempts to connect, subscribe or authorize upstream, by reason.", ["pool", "reason"]);
        UpstreamRefused = factory.CreateCounter("stratumproxy_upstream_refused_total", "Upstream sessions refused by the proxy (e.g. extranonce2 too small).", ["pool"]);
        ProtocolErrors = factory.CreateCounter("stratumproxy_protocol_errors_total", "Lines that could not be parsed or were not allowed, by peer side and kind.", ["side", "kind"]);
        BlocksFound = factory.CreateCounter("stratumproxy_block_candidates_total", "Shares that met the network target.", ["pool"]);
        PoolSwitches = factory.CreateCounter("stratumproxy_pool_switches_total", "Miners moved between pools, by reason (failover, failback, api, balance).", ["reason"]);
        MinerIpBans = factory.CreateCounter("stratumproxy_miner_ip_bans_total", "Addresses banned for going over Proxy:Limits:MaxConnectionsPerIp.");
        SlowConsumers = factory.CreateCounter("stratumproxy_miner_slow_consumer_total", "Miners disconnected because they did not read their jobs.");
        Draining = factory.CreateGauge("stratumproxy_draining", "1 while the instance drains on stop: it accepts no miner and asks its miners to reconnect elsewhere.");
        DrainReconnects = factory.CreateCounter("stratumproxy_drain_reconnects_total", "Miners asked to reconnect (client.reconnect) while the instance drained.");
        DrainRemaining = factory.CreateGauge("stratumproxy_drain_miners_remaining", "Miners still connected to the draining instance (0 when not draining).");
        GcPauseSeconds = factory.CreateCounter("stratumproxy_gc_pause_seconds_total", "Time the process has spent paused by garbage collections since it started (GC.GetTotalPauseDuration; read at each export).");
        WorkerNamesTooLong = factory.CreateCounter("stratumproxy_worker_names_too_long_total", "Workers whose name is longer than 256 characters: their series are reported under worker=\"other\".");
        AllocatedBytes = factory.CreateCounter("stratumproxy_managed_allocated_bytes_total", "Bytes the process has allocated on the managed heap since it started (GC.GetTotalAllocatedBytes; read at each export).");
        ResidentBytes = factory.CreateGauge("stratumproxy_process_resident_bytes", "Physical memory the process holds now (Environment.WorkingSet, the resident set on Linux; read at each export): divided by the miner connections, what a miner costs with the process's fixed share.");
        CpuSeconds = factory.CreateCounter("stratumproxy_process_cpu_seconds_total", "CPU time the process has used since it started, user and kernel (Environment.CpuUsage; read at each export).");
        GcCommittedBytes = factory.CreateGauge("stratumproxy_gc_committed_bytes", "Memory the GC keeps committed for the managed heap, live objects and free space alike, as of its last collection, 0 before the first (GC.GetGCMemoryInfo().TotalCommittedBytes; read at each export). Resident memory beyond it is the runtime's and the libraries' own.");
    }

    /// <summary>
    /// The longest worker name used as a label value. A longer one (a miner may send any string up to the line limit)
    /// reports as <c>other</c>: cut short, two names could meet on one label and write the same series twice.
    /// </summary>
    public const int MaxWorkerLabelLength = 256;

    /// <summary>The worker label of the workers past <c>Proxy:MaxWorkerSeries</c> and of names too long to be one.</summary>
    public const string OtherWorkerLabel = "other";

    /// <summary>The pool label of shares and switches that had no pool (a pool may not be named so).</summary>
    public const string NoPoolLabel = "none";

    /// <summary>Workers whose name was too long to be a label.</summary>
    public Counter WorkerNamesTooLong { get; }

    /// <summary>Open miner connections.</summary>
    public Gauge MinerConnections { get; }

    /// <summary>Accepted miner connections.</summary>
    public Counter MinerConnectionsTotal { get; }

    /// <summary>Takeovers by role and result.</summary>
    public Counter Takeovers { get; }

    /// <summary>Connections a takeover closed because it could not keep them, by role and kind.</summary>
    public Counter TakeoverConnectionsClosed { get; }

    /// <summary>Miner disconnects by reason.</summary>
    public Counter MinerDisconnects { get; }

    /// <summary>Addresses banned for going over the per-address connection limit.</summary>
    public Counter MinerIpBans { get; }

    /// <summary>Connections refused before a session (limit, PROXY header).</summary>
    public Counter MinerConnectionsRefused { get; }

    /// <summary>Pool connection state.</summary>
    public Gauge PoolUp { get; }

    /// <summary>Pool health score.</summary>
    public Gauge PoolHealth { get; }

    /// <summary>Pool difficulty.</summary>
    public Gauge PoolDifficulty { get; }

    /// <summary>Miners per pool.</summary>
    public Gauge PoolMiners { get; }

    /// <summary>Submit round trip to the pool.</summary>
    public Histogram PoolSubmitLatency { get; }

    /// <summary>Forwarded shares by verdict.</summary>
    public Counter PoolShares { get; }

    /// <summary>Upstream (re)connects.</summary>
    public Counter UpstreamReconnects { get; }

    /// <summary>Upstream connect failures by reason.</summary>
    public Counter UpstreamConnectFailures { get; }

    /// <summary>Upstream sessions the proxy refused.</summary>
    public Counter UpstreamRefused { get; }

    /// <summary>Protocol errors by side and kind.</summary>
    public Counter ProtocolErrors { get; }

    /// <summary>Block candidates.</summary>
    public Counter BlocksFound { get; }

    /// <summary>Pool switches by reason.</summary>
    public Counter PoolSwitches { get; }

    /// <summary>Slow-consumer disconnects.</summary>
    public Counter SlowConsumers { get; }

    /// <summary>1 while draining.</summary>
    public Gauge Draining { get; }

    /// <summary>Miners asked to reconnect by the drain.</summary>
    public Counter DrainReconnects { get; }

    /// <summary>Miners still connected while draining.</summary>
    public Gauge DrainRemaining { get; }

    /// <summary>Managed bytes allocated since start: divided by shares over a run, the allocation per share.</summary>
    public Counter AllocatedBytes { get; }

    /// <summary>Seconds paused by garbage collections since start: over a load run, the GC share of the latency tail.</summary>
    public Counter GcPauseSeconds { get; }

    /// <summary>The GC's committed memory as of its last collection (see <see cref="Routing.ProxyEngine.UpdateGauges"/>).</summary>
    public Gauge GcCommittedBytes { get; }

    /// <summary>The process's resident memory, read at each export.</summary>
    public Gauge ResidentBytes { get; }

    /// <summary>The process's CPU time since start, read at each export.</summary>
    public Counter CpuSeconds { get; }

    /// <summary>Counts a share result of a session that has no worker yet (worker <c>unknown</c>, pool <c>none</c>).</summary>
    public void CountUnattributed(ShareResult result) => Interlocked.Increment(ref _unattributed[(int)result]);

    /// <summary>The shares counted by <see cref="CountUnattributed"/>, by result.</summary>
    public long Unattributed(ShareResult result) => Volatile.Read(ref _unattributed[(int)result]);

    /// <summary>The difficulty last sent to a session with no worker (NaN until then).</summary>
    public double UnattributedDifficulty
    {
        get => Volatile.Read(ref _unattributedDifficulty);
        set => Volatile.Write(ref _unattributedDifficulty, value);
    }

    /// <summary>True once the <c>unknown</c>/<c>none</c> share series are to be exported even at zero.</summary>
    public bool SeedsUnattributed => Volatile.Read(ref _seedUnattributed);

    /// <summary>Exports the share series of worker <c>unknown</c> on pool <c>none</c> at zero from now on.</summary>
    public void SeedUnattributed() => Volatile.Write(ref _seedUnattributed, true);

    /// <summary>Exports the hashrate series of a worker label (a configured rig) at zero until the worker hashes.</summary>
    public void SeedWorker(string label)
    {
        lock (_workersLock)
        {
            _seededWorkers.Add(label);
        }
    }

    /// <summary>The labels given to <see cref="SeedWorker"/>.</summary>
    public IReadOnlyList<string> SeededWorkers()
    {
        lock (_workersLock)
        {
            return [.. _seededWorkers];
        }
    }

    /// <summary>
    /// The label value for a worker: its name while fewer than the configured maximum of distinct workers have been
    /// seen and it is at most <see cref="MaxWorkerLabelLength"/> characters long, else <c>other</c>. Called once per
    /// worker the ledger adds, not per share.
    /// </summary>
    public string WorkerLabel(string worker)
    {
        if (string.IsNullOrEmpty(worker))
        {
            return "unknown";
        }

        if (worker.Length > MaxWorkerLabelLength)
        {
            WorkerNamesTooLong.Inc();
            return OtherWorkerLabel;
        }

        lock (_workersLock)
        {
            if (_workers.Contains(worker))
            {
                return worker;
            }

            if (_workers.Count >= _maxWorkerSeries)
            {
                return OtherWorkerLabel;
            }

            _workers.Add(worker);
            return worker;
        }
    }
}
