using System.Globalization;
using System.Text.Json;
using Prometheus;
using StratumProxy.Curtailment;
using StratumProxy.Economics.Policy;
using StratumProxy.Proxy.Control;
using StratumProxy.Store;

namespace StratumProxy.Farm;

/// <summary>
/// Closes the loop. Every evaluation reads every managed rig through its API (the rig is the truth), reconciles the
/// fleet's memory with what the rigs and the proxy's share ledger show, runs the curtailment policy over the rigs
/// whose state is known, acts on its changes (pool switches inside the proxy; sleep and wake through the rigs' own
/// APIs) unless in dry-run, records every change and every disagreement in the audit log, counts them in metrics, and
/// commits the energy booking and the fleet's memory to the ledger in one transaction. A rig's state moves when a
/// command is confirmed or when a read-back shows it moved (in dry-run, the simulated state moves so the log shows
/// the trajectory the policy would follow). The parts: <see cref="FleetState"/> (the one owner of the rigs' state),
/// <see cref="RigActuation"/> (reads and commands), <see cref="EnergyBooking"/> (energy and money per rig-hour).
/// </summary>
public sealed partial class CurtailmentLoop : IDisposable
{
    private const string StrikeAboveKey = "strike_above_since";
    private const string StrikeBelowKey = "strike_below_since";

    private readonly FarmEconomics _farm;
    private readonly IProxyControl _proxy;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly AuditLog _audit;
    private readonly IFarmStore _ledger;
    private readonly IFarmFence? _fence;
    private readonly RigActuation _actuation;
    private readonly List<AuditRecord> _pendingAudit = [];
    private volatile FleetState _fleet;
    private EnergyBooking _booking = new();
    private long _epoch;
    private readonly Counter _decisions;
    private readonly Gauge _state;
    private readonly Gauge _readBack;
    private readonly Counter _disagreements;
    private readonly Gauge _lastDisagreement;
    private readonly Gauge _plannedPower;
    private readonly Counter _warnings;
    private readonly PolicyResult _result = new();
    private readonly SemaphoreSlim _evaluating = new(1, 1);
    private readonly HashSet<string> _series = new(StringComparer.Ordinal);
    private volatile CurtailmentSettings _settings;
    private int _reconcileRequested = 1;

    /// <summary>
    /// Creates the loop; the fleet starts from the ledger's memory (from a shared store, when this instance starts to
    /// lead). Nothing runs until <see cref="EvaluateAsync"/>. With a <paramref name="fence"/> (many instances) every
    /// command is claimed in the store under the leader's epoch before it is sent.
    /// </summary>
    public CurtailmentLoop(CurtailmentSettings settings, FarmEconomics farm, IProxyControl proxy, TimeProvider time, IRigActuator actuator, IMetricFactory metrics, ILogger logger, AuditLog audit, IFarmStore ledger, IFarmFence? fence = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(ledger);
        _settings = settings;
        _farm = farm;
        _proxy = proxy;
        _time = time;
        _logger = logger;
        _audit = audit;
        _ledger = ledger;
        _fence = fence;
        _actuation = new RigActuation(actuator, proxy, time);
        _fleet = ledger.Shared ? new FleetState(new Dictionary<string, RigMemory>(), null) : Remembered(ledger);
        _decisions = metrics.CreateCounter("stratumproxy_decisions_total", "Curtailment decisions that changed a rig, by kind, reason, mode (live, dry_run) and outcome.", ["kind", "reason", "mode", "outcome"]);
        _state = metrics.CreateGauge("stratumproxy_rig_state", "1 for the state each configured rig is in after reconciling with its API (running, sleeping, unknown).", ["worker", "state"]);
        _readBack = metrics.CreateGauge("stratumproxy_rig_last_readback_timestamp_seconds", "When each configured rig last answered a status read (Unix seconds; 0 = never).", ["worker"]);
        _disagreements = metrics.CreateCounter("stratumproxy_rig_disagreements_total", "Read-backs that contradicted the loop's memory of a rig, by reason (found_awake, found_asleep, unreachable).", ["worker", "reason"]);
        _lastDisagreement = metrics.CreateGauge("stratumproxy_rig_last_disagreement_timestamp_seconds", "When the loop's memory of each rig was last contradicted by the rig (Unix seconds; 0 = never).", ["worker"]);
        _plannedPower = metrics.CreateGauge("stratumproxy_curtailment_planned_power_watts", "Power the farm's configured rigs draw under the policy's last plan.");
        _warnings = metrics.CreateCounter("stratumproxy_curtailment_warnings_total", "Rigs that did not do what they were told (e.g. still hashing after sleep), by kind.", ["kind"]);

        // Every configured rig has its series from the start, in the state the ledger remembers (unknown until read).
        FleetSnapshot? fleet = null;
        _fleet.Sync(_farm, settings, _actuation.PoolIndex, worker => _actuation.CurrentPool(fleet ??= Fleet(), worker), time.GetUtcNow());
        PublishRigSeries();

        // The farm's prices follow the states held here: one source for the metrics, /api/economics and /api/farm.
        farm.HeldRigs = HeldRigs;
    }

    /// <summary>
    /// The fleet as the loop reads it: the sessions and books of the rigs it manages (configured, or no longer
    /// configured and still remembered), not a copy of every miner's.
    /// </summary>
    private FleetSnapshot Fleet() =>
        _proxy.Snapshot(new HashSet<string>(_farm.Options.Rigs.Select(r => r.Worker).Concat(_fleet.Snapshot().Select(r => r.Worker)), StringComparer.Ordinal));

    /// <summary>The settings in force.</summary>
    public CurtailmentSettings Settings => _settings;

    /// <summary>The audit log.</summary>
    public AuditLog Audit => _audit;

    /// <summary>The energy ledger (the farm store).</summary>
    public IFarmStore Ledger => _ledger;

    /// <summary>The epoch this loop last evaluated under as the farm's leader (null: a single instance, or never led).</summary>
    public long? Epoch => Interlocked.Read(ref _epoch) is var e and > 0 ? e : null;

    /// <summary>True (once) when the rigs should be read and reconciled before the interval is up: at start and after a reload.</summary>
    public bool TakeReconcileRequest() => Interlocked.Exchange(ref _reconcileRequested, 0) == 1;

    /// <summary>
    /// Applies new settings (a reload). Nothing is reset: the fleet keeps every rig's state; rigs added or removed
    /// are taken in at the next evaluation, which runs at once and reads every rig first.
    /// </summary>
    public void Apply(CurtailmentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        Interlocked.Exchange(ref _reconcileRequested, 1);
    }

    /// <summary>
    /// The state each managed rig is held in, for pricing: asleep for real only when the loop holds it sleeping (a
    /// confirmed command or a read-back) and commands it (not in dry-run, where nothing is slept).
    /// </summary>
    public IReadOnlyDictionary<string, HeldRig> HeldRigs()
    {
        var live = !_settings.DryRun;
        return _fleet.Snapshot().Where(r => !r.Removed).ToDictionary(
            r => r.Worker,
            r => new HeldRig(View(r).State, live && r.Power == RigPower.Sleeping),
            StringComparer.Ordinal);
    }

    /// <summary>The rigs as the loop sees them (GET /api/rigs).</summary>
    public IReadOnlyList<RigView> Rigs() => [.. _fleet.Snapshot().Select(View)];

    /// <summary>One evaluation: read, reconcile, decide, act, log, book. Evaluations never overlap.</summary>
    public async Task EvaluateAsync(CancellationToken cancellationToken)
    {
        await _evaluating.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EvaluateCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _evaluating.Release();
        }
    }

    /// <summary>
    /// One evaluation as the leader of a farm of many instances, under <paramref name="epoch"/>. When the epoch is new
    /// (this instance just took the lead) the fleet is first loaded from the shared store, so it carries on from the
    /// previous leader's last commit; the first evaluation of an epoch books nothing (the previous leader booked up to
    /// its last commit). A refused epoch ends the evaluation with <see cref="StaleEpochException"/>: nothing of it is
    /// committed.
    /// </summary>
    public async Task EvaluateAsLeaderAsync(long epoch, CancellationToken cancellationToken)
    {
        await _evaluating.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Epoch != epoch)
            {
                _fleet = Remembered(_ledger);
                _booking = new EnergyBooking();
                _pendingAudit.Clear();
                Interlocked.Exchange(ref _epoch, epoch);
            }

            try
            {
                await EvaluateCoreAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (StaleEpochException)
            {
                Interlocked.Exchange(ref _epoch, 0);
                _fence?.Deposed();
                throw;
            }
            catch
            {
                // Whatever this evaluation did not commit is read again from the store when it next leads.
                Interlocked.Exchange(ref _epoch, 0);
                throw;
            }
        }
        finally
        {
            _evaluating.Release();
        }
    }

    /// <summary>
    /// At shutdown with <see cref="ShutdownAction.Wake"/> (and not in dry-run): wakes every rig the loop holds asleep,
    /// each with an audit line. With <see cref="ShutdownAction.Leave"/> nothing is commanded.
    /// </summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        var settings = _settings;
        if (settings.OnShutdown != ShutdownAction.Wake || settings.DryRun || (_ledger.Shared && Epoch is null))
        {
            return;
        }

        await _evaluating.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var sleeping = _fleet.Snapshot().Where(r => r.Current.IsOff && r.Options.Api is not null).ToList();
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, settings.MaxConcurrentReads), CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(sleeping, parallel, async (rig, token) =>
            {
                await WakeUnmanagedAsync(rig, "shutdown", "Curtailment:OnShutdown is wake: the proxy is stopping", now, token).ConfigureAwait(false);
            }).ConfigureAwait(false);
            Commit([], []);
        }
        finally
        {
            _evaluating.Release();
        }
    }

    private async Task EvaluateCoreAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var settings = _settings;
        FleetSnapshot? before = null;
        _fleet.Sync(_farm, settings, _actuation.PoolIndex, worker => _actuation.CurrentPool(before ??= Fleet(), worker), now);
        var held = HeldRigs();
        var entries = new List<CurtailmentEntry>();

        // 1. The rigs are the truth: read them all, then reconcile memory with what they and the share ledger show.
        var toRead = _fleet.ToRead();
        var readings = await _actuation.ReadAllAsync(toRead, settings, cancellationToken).ConfigureAwait(false);
        var fleet = Fleet();
        foreach (var rig in toRead)
        {
            DateTimeOffset? lastShare = null;
            if (fleet.Worker(rig.Worker) is { LastShareUnixMs: > 0 } stats)
            {
                lastShare = DateTimeOffset.FromUnixTimeMilliseconds(stats.LastShareUnixMs);
            }

            var model = _fleet.Get(rig.Worker)?.Model ?? 0;
            var disagreement = _fleet.Reconcile(rig.Worker, readings.GetValueOrDefault(rig.Worker), lastShare, now, settings.DryRun, _actuation.CurrentPool(fleet, rig.Worker), d =>
                Record(Note(rig.Worker, model, "reconcile", d.Reason, d.From, d.To, now, "the rig reports: " + d.Detail, null)));
            if (disagreement is not null)
            {
                _disagreements.WithLabels(rig.Worker, disagreement.Reason).Inc();
                LogDisagreement(_logger, rig.Worker, disagreement.Reason, disagreement.Detail);
            }
        }

        await ReleaseRemovedAsync(settings, now, cancellationToken).ConfigureAwait(false);

        // 2. Decide over the rigs whose state is known.
        var rows = new List<RigHour>();
        var elapsed = _booking.Elapsed(now);
        var (states, rigs) = _fleet.PolicyView();
        var known = new HashSet<string>(rigs.Select(r => r.Worker), StringComparer.Ordinal);
        foreach (var unknown in _fleet.Snapshot().Where(r => !r.Removed && !known.Contains(r.Worker)))
        {
            // Booked up to now at what it was last known to do; not booked while it stays unknown.
            _booking.Book(unknown.Worker, now, elapsed, rows);
            _booking.Forget(unknown.Worker);
        }

        var policy = _fleet.Policy(settings);
        if (states.Length > 0 && policy is not null)
        {
            await DecideAndActAsync(policy, states, rigs, settings, now, elapsed, entries, rows, cancellationToken).ConfigureAwait(false);
        }

        // 3. One transaction: the booking and the fleet's memory; before it, fsynced, the audit lines of reasons that
        // changed without a change of state (each change's line was written when its outcome was known).
        Commit(entries, rows, now);
        PublishRigSeries();
        CheckSleepers();
        RepriceIfChanged(held);
    }

    /// <summary>When a rig went to sleep or woke up, the farm's prices are brought up to date at once (not at the next economics tick).</summary>
    private void RepriceIfChanged(IReadOnlyDictionary<string, HeldRig> before)
    {
        var after = HeldRigs();
        if (after.Count == before.Count && after.All(a => before.TryGetValue(a.Key, out var b) && b == a.Value))
        {
            return;
        }

        try
        {
            _farm.Evaluate();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or ArithmeticException)
        {
            // Bad inputs: the economics timer logs them; the previous figures stay.
        }
    }

    private async Task DecideAndActAsync(CurtailmentPolicy policy, RigState[] states, RigOptions[] rigs, CurtailmentSettings settings, DateTimeOffset now, TimeSpan elapsed, List<CurtailmentEntry> entries, List<RigHour> rows, CancellationToken cancellationToken)
    {
        var market = _farm.Market(now, out _, out _);
        var pools = _proxy.Options.Pools.Select(p => _farm.Terms(p.Name)).ToList();
        var inputs = PolicyInputs.At(now, market, pools, _farm.Energy) with
        {
            Strike = _fleet.Strike ?? default,
            Outlook = _farm.Outlook.Current,
            NearTermFeesPerBlock = _farm.Estimator.Current?.LatestFees,
            PoolMarkets = [.. _proxy.Options.Pools.Select(p => _farm.CoinOfPool(p.Name) == "BTC" ? null : _farm.MarketFor(p.Name, now))],
        };
        var fleet = Fleet();
        for (var i = 0; i < rigs.Length; i++)
        {
            if (!states[i].Current.IsOff && fleet.Worker(rigs[i].Worker) is { } stats)
            {
                // Only time it was hashing: a window that still holds its sleep would make a woken rig look slow.
                var lastShare = stats.LastShareUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(stats.LastShareUnixMs) : (DateTimeOffset?)null;
                states[i].ObservedHashrate = _fleet.WeighedRate(rigs[i].Worker, now, lastShare, stats.AcceptedDifficulty, () =>
                    new Economics.Units.Hashrate(stats.Hashrate5m));
                _fleet.Observe(rigs[i].Worker, states[i].ObservedHashrate);
            }

            if (!states[i].Current.IsOff)
            {
                _booking.ObserveRunning(rigs[i].Worker, states[i].ObservedHashrate, states[i].Current.Pool);
            }
        }

        policy.Evaluate(states, inputs, _result);
        _fleet.Strike = _result.Strike;
        _plannedPower.Set(_result.PlannedPower.Watts);
        var energyPrice = inputs.Energy;
        for (var i = 0; i < rigs.Length; i++)
        {
            var rig = rigs[i];
            var decision = _result.Decisions[i];
            var reason = decision.Reason.Code();
            _booking.Book(rig.Worker, now, elapsed, rows);
            ActuationOutcome? outcome = null;
            if (decision.IsChange)
            {
                var kind = KindLabel(decision.Kind);
                var decisionId = await ClaimAsync(rig.Worker, kind, now, settings.DryRun, cancellationToken).ConfigureAwait(false);
                outcome = await _actuation.ActAsync(rig, decision, settings.DryRun, cancellationToken).ConfigureAwait(false);
                await CompleteAsync(decisionId, outcome, cancellationToken).ConfigureAwait(false);

                // The decision's line is on disk before the rig's state moves: /api/rigs never shows a state whose
                // decision /api/decisions does not list yet.
                Record(Entry(i, rig, states[i].Model, decision, now, market, energyPrice, settings.DryRun, outcome));
                _fleet.Applied(rig.Worker, decision, kind, outcome, settings.DryRun, _result.EvaluatedAt, _time.GetUtcNow());
                Count(kind, reason, settings.DryRun, outcome.Status);
                LogDecision(_logger, rig.Worker, kind, reason, outcome.Status, outcome.Detail);
            }

            var previousReason = _fleet.SetReason(rig.Worker, reason);
            if (!decision.IsChange && previousReason != reason)
            {
                entries.Add(Entry(i, rig, states[i].Model, decision, now, market, energyPrice, settings.DryRun, null));
            }

            // The interval up to the next evaluation is booked in the state this one leaves the rig in.
            var current = _fleet.Get(rig.Worker)!.Current;
            _booking.SetRate(rig.Worker, current, _fleet.Model(states[i].Model), market, pools, energyPrice);
        }
    }

    /// <summary>
    /// Rigs removed from the configuration go back to mining: one found (or remembered) asleep is woken, with an audit
    /// line; once it is awake (or cannot be commanded at all) the loop forgets it.
    /// </summary>
    /// <summary>
    /// Wakes a rig the proxy stops managing (it is stopping, or the rig left the configuration) back to mining on its
    /// pool, and records it like any decision: audit line (written before the state moves), fleet state, counter and
    /// log line.
    /// </summary>
    private async Task<ActuationOutcome> WakeUnmanagedAsync(
        RigSnapshot rig, string reason, string description, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var decisionId = await ClaimAsync(rig.Worker, "wake", now, false, cancellationToken).ConfigureAwait(false);
        var outcome = await _actuation.WakeAsync(rig.Options, cancellationToken).ConfigureAwait(false);
        await CompleteAsync(decisionId, outcome, cancellationToken).ConfigureAwait(false);
        var to = RigOption.Run(_actuation.CurrentPool(rig.Worker), 0);
        Record(Note(rig, "wake", reason, RigOption.Off, to, now, description, outcome));
        _fleet.Applied(rig.Worker, new CurtailmentDecision(to, RigOption.Off, CurtailmentReason.MostProfitable, 0, 0, to, 0), "wake", outcome, false, now, _time.GetUtcNow());
        Count("wake", reason, false, outcome.Status);
        LogDecision(_logger, rig.Worker, "wake", reason, outcome.Status, outcome.Detail);
        return outcome;
    }

    private async Task ReleaseRemovedAsync(CurtailmentSettings settings, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var rig in _fleet.Snapshot().Where(r => r.Removed))
        {
            _booking.Forget(rig.Worker);
            var asleep = rig.LastReading is { Kind: RigReadKind.Known, Awake: false }
                || (rig.LastReading?.Kind != RigReadKind.Known && rig.Current.IsOff);
            if (!asleep || settings.DryRun || rig.Options.Api is null)
            {
                var why = !asleep ? "it is awake" : settings.DryRun ? "dry-run: nothing was commanded" : "it has no management API to wake it";
                Record(Note(rig, "release", "removed_from_config", rig.Current, rig.Current, now, "no longer in Economics:Rigs; released: " + why, null));
                _fleet.Release(rig.Worker);
                continue;
            }

            if (rig.LastReading?.Kind == RigReadKind.Unreachable && rig.Trail.LastOutcome == "unreachable")
            {
                continue;
            }

            var outcome = await WakeUnmanagedAsync(
                rig, "removed_from_config", "no longer in Economics:Rigs: a rig the proxy does not manage goes back to mining", now, cancellationToken).ConfigureAwait(false);
            if (outcome.Confirmed || outcome.Status == "unsupported")
            {
                _fleet.Release(rig.Worker);
            }
        }
    }

    /// <summary>
    /// A rig told to sleep must stop hashing: shares through the proxy after the sleep, or a hashrate on its own API,
    /// mean it did not (or failed over to its own backup pool and still burns power). Reported, counted, never looped.
    /// </summary>
    private void CheckSleepers()
    {
        var fleet = Fleet();
        foreach (var rig in _fleet.Snapshot().Where(r => r.SleptAt is not null))
        {
            var at = rig.SleptAt!.Value;
            if (!rig.Current.IsOff || rig.Removed)
            {
                _fleet.SleeperChecked(rig.Worker, null);
                continue;
            }

            if (_time.GetUtcNow() - at < TimeSpan.FromMinutes(2))
            {
                continue;
            }

            string? warning = null;
            if (fleet.Worker(rig.Worker) is { } stats && stats.LastShareUnixMs > at.AddSeconds(30).ToUnixTimeMilliseconds())
            {
                warning = "still submitting shares through the proxy after it was put to sleep";
                _warnings.WithLabels("still_hashing").Inc();
            }
            else if (rig.LastReading is { Kind: RigReadKind.Known, HashrateThs: > 0.001 and var reported })
            {
                warning = $"reports {reported:0.##} TH/s on its own API after sleep: it may have failed over to its own backup pool and still burns power";
                _warnings.WithLabels("hashing_elsewhere").Inc();
            }

            if (warning is not null)
            {
                LogSleeperWarning(_logger, rig.Worker, warning);
            }

            _fleet.SleeperChecked(rig.Worker, warning);
        }
    }

    /// <summary>Writes one audit line at once (fsynced), for a change about to show in the rig's state.</summary>
    private void Record(CurtailmentEntry entry)
    {
        _audit.AppendBatch([entry], CurtailmentJsonContext.Default.CurtailmentEntry);
        KeepForStore([entry]);
    }

    /// <summary>In a shared store the audit lines go with the evaluation's commit too (the files stay per instance).</summary>
    private void KeepForStore(IEnumerable<CurtailmentEntry> entries)
    {
        if (_ledger.Shared)
        {
            _pendingAudit.AddRange(entries.Select(e => new AuditRecord(e.Rig, e.At, JsonSerializer.Serialize(e, CurtailmentJsonContext.Default.CurtailmentEntry))));
        }
    }

    /// <summary>
    /// With many instances: claims the command in the store under this leader's epoch (a decision id per rig and
    /// evaluation) before it is sent; a refused claim ends the evaluation (this instance no longer leads, or the store
    /// cannot be reached) before anything is commanded. Null when there is nothing to claim (one instance, dry-run).
    /// </summary>
    private async Task<string?> ClaimAsync(string worker, string kind, DateTimeOffset evaluatedAt, bool dryRun, CancellationToken cancellationToken)
    {
        if (_fence is null || dryRun || !_ledger.Shared)
        {
            return null;
        }

        var epoch = Epoch ?? throw new StaleEpochException("this instance does not lead");
        var decisionId = string.Create(CultureInfo.InvariantCulture, $"{epoch}/{evaluatedAt.ToUniversalTime():O}/{worker}");
        return await _fence.ClaimAsync(epoch, decisionId, worker, kind, cancellationToken).ConfigureAwait(false)
            ? decisionId
            : throw new StaleEpochException($"the store refused the command {kind} to {worker} under epoch {epoch}");
    }

    private async Task CompleteAsync(string? decisionId, ActuationOutcome outcome, CancellationToken cancellationToken)
    {
        if (decisionId is not null && _fence is not null)
        {
            await _fence.CompleteAsync(decisionId, outcome.Status, outcome.Detail, cancellationToken).ConfigureAwait(false);
        }
    }

    private static FleetState Remembered(IFarmStore ledger)
    {
        var values = ledger.LoadValues();
        return new FleetState(ledger.LoadMemory(), values.Count > 0 ? new StrikeWatch(Instant(values, StrikeAboveKey), Instant(values, StrikeBelowKey)) : null);
    }

    private void Commit(List<CurtailmentEntry> entries, List<RigHour> rows, DateTimeOffset? evaluatedAt = null)
    {
        if (entries.Count > 0)
        {
            _audit.AppendBatch(entries, CurtailmentJsonContext.Default.CurtailmentEntry);
            KeepForStore(entries);
        }

        var (memory, forget) = _fleet.ToMemory(_actuation.PoolName);
        var strike = _fleet.Strike;
        var values = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [StrikeAboveKey] = strike?.AboveSince is { } above ? EnergyLedger.InstantKey(above) : null,
            [StrikeBelowKey] = strike?.BelowSince is { } below ? EnergyLedger.InstantKey(below) : null,
        };
        var audit = _pendingAudit.ToList();
        _pendingAudit.Clear();
        _ledger.Commit(new FarmCommit(rows, memory, forget, values) { Epoch = Epoch, EvaluatedAt = evaluatedAt, Audit = audit });
    }

    private static DateTimeOffset? Instant(IReadOnlyDictionary<string, string?> values, string key) =>
        values.GetValueOrDefault(key) is { } stored ? EnergyLedger.Instant(stored) : null;

    /// <inheritdoc/>
    public void Dispose() => _evaluating.Dispose();

    [LoggerMessage(EventId = 960, Level = LogLevel.Information, Message = "Curtailment: {Worker} {Kind} ({Reason}) → {Outcome}: {Detail}")]
    private static partial void LogDecision(ILogger logger, string worker, string kind, string reason, string outcome, string detail);

    [LoggerMessage(EventId = 961, Level = LogLevel.Warning, Message = "Curtailment: {Worker} {Warning}")]
    private static partial void LogSleeperWarning(ILogger logger, string worker, string warning);

    [LoggerMessage(EventId = 963, Level = LogLevel.Warning, Message = "Curtailment: {Worker} is not what the loop remembered ({Reason}): {Detail}")]
    private static partial void LogDisagreement(ILogger logger, string worker, string reason, string detail);
}
