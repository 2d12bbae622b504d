using System.Globalization;
using StratumProxy.Curtailment;
using StratumProxy.Economics.Policy;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Units;

namespace StratumProxy.Farm;

/// <summary>The state of a rig as the curtailment loop holds it after reconciling its memory with the rig.</summary>
public enum RigPower
{
    /// <summary>Awake (hashing, or up and not put to sleep).</summary>
    Running,

    /// <summary>Put to sleep.</summary>
    Sleeping,

    /// <summary>Its API did not answer: neither running nor asleep for the policy (see docs/curtailment.md).</summary>
    Unknown,
}

/// <summary>A reconciliation that changed what the loop believed: the rig is the truth.</summary>
/// <param name="Worker">The rig.</param>
/// <param name="Reason">found_awake, found_asleep or unreachable.</param>
/// <param name="From">The memory before.</param>
/// <param name="To">The state after.</param>
/// <param name="Detail">What the rig said.</param>
public sealed record Disagreement(string Worker, string Reason, RigOption From, RigOption To, string Detail);

/// <summary>An immutable copy of one rig's record (the views, metrics and the ledger's memory are built from these).</summary>
public sealed record RigSnapshot(
    string Worker,
    RigOptions Options,
    int Model,
    bool Removed,
    RigOption Current,
    DateTimeOffset LastPowerChange,
    Hashrate Observed,
    RigPower Power,
    RigReading? LastReading,
    RigTrail Trail,
    DateTimeOffset? LastShareAt,
    string? LastReason,
    string? Warning,
    DateTimeOffset? SleptAt);

/// <summary>
/// The farm as the curtailment loop knows it: one record per rig (by worker name), the policy models, and the
/// loop-wide strike-price timers. This class is the only owner of that state; every read and every write takes its
/// one lock, and nothing outside gets a mutable reference (readers get <see cref="RigSnapshot"/>s). A reload never
/// resets a record: records are keyed by worker, a rig added to the configuration starts from its persisted memory
/// (or from an assumption that the first read-back corrects), and a rig removed from it is kept, flagged, until the
/// loop has released it (woken it when it was asleep).
/// </summary>
public sealed class FleetState
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Rig> _rigs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RigMemory> _memory;
    private readonly HashSet<string> _forgotten = new(StringComparer.Ordinal);
    private List<string> _order = [];
    private List<PolicyModel> _models = [];
    private List<RigOptions>? _configured;
    private CurtailmentSettings? _settingsOfPolicy;
    private double _unknownKwOfPolicy = double.NaN;
    private CurtailmentPolicy? _policy;
    private StrikeWatch? _strike;

    /// <summary>Creates the fleet from what the ledger remembers (rigs appear once the configuration lists them).</summary>
    public FleetState(IReadOnlyDictionary<string, RigMemory> memory, StrikeWatch? strike)
    {
        ArgumentNullException.ThrowIfNull(memory);
        _memory = new Dictionary<string, RigMemory>(memory, StringComparer.Ordinal);
        _strike = strike;
    }

    /// <summary>The strike-price timers the last evaluation left (or the persisted ones before the first).</summary>
    public StrikeWatch? Strike
    {
        get
        {
            lock (_lock)
            {
                return _strike;
            }
        }

        set
        {
            lock (_lock)
            {
                _strike = value;
            }
        }
    }

    /// <summary>
    /// Brings the rig list in line with the configuration (only rigs of a known model take part). Existing records keep
    /// their state; new ones start from memory; rigs no longer configured are flagged for release.
    /// </summary>
    public void Sync(FarmEconomics farm, CurtailmentSettings settings, Func<string?, int> poolIndex, Func<string, int> currentPool, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(farm);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(poolIndex);
        ArgumentNullException.ThrowIfNull(currentPool);
        lock (_lock)
        {
            var configured = farm.Options.Rigs;
            if (_configured is not null && _configured.Count == configured.Count && _configured.Zip(configured).All(p => ReferenceEquals(p.First, p.Second)))
            {
                return;
            }

            var models = new List<PolicyModel>();
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            var order = new List<string>();
            var managed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var rig in configured.Where(r => !string.IsNullOrWhiteSpace(r.Worker)))
            {
                if (managed.Contains(rig.Worker) || farm.Describe(rig.Worker) is not { } described)
                {
                    continue;
                }

                // A rig with its own modes or a measured power gets its own model, so the policy weighs what it draws.
                var key = rig.Modes.Count > 0 ? $"{described.Model.Name}#{rig.Worker}"
                    : rig.PowerW is { } measured ? $"{described.Model.Name}@{measured.ToString(CultureInfo.InvariantCulture)}W"
                    : described.Model.Name;
                if (!index.TryGetValue(key, out var modelIndex))
                {
                    modelIndex = models.Count;
                    index[key] = modelIndex;
                    models.Add(rig.Modes.Count > 0
                        ? new PolicyModel(key, [.. rig.Modes.Select(m => new PowerMode(m.Name, Hashrate.FromTerahashes(m.Terahashes), new Power(m.Watts)))], RigTransitions.Default)
                        : rig.PowerW is { } watts
                        ? new PolicyModel(key, [.. described.Model.Modes.Select(m => m with { Power = new Power(watts * m.Power.Watts / described.Model.Nominal.Power.Watts) })], RigTransitions.Default)
                        : PolicyModel.FromCatalog(described.Model));
                }

                var pin = rig.Pin?.ToLowerInvariant() switch
                {
                    "on" => RigPin.AlwaysOn,
                    "off" => RigPin.AlwaysOff,
                    _ => RigPin.None,
                };
                if (!_rigs.TryGetValue(rig.Worker, out var record))
                {
                    record = New(rig, modelIndex, models[modelIndex], settings, poolIndex, currentPool, now);
                    _rigs[rig.Worker] = record;
                }

                record.Options = rig;
                record.Model = modelIndex;
                record.Pin = pin;
                record.PriorityGroup = rig.PriorityGroup;
                record.Removed = false;
                if (!record.Current.IsOff && record.Current.Mode >= models[modelIndex].Modes.Count)
                {
                    record.Current = RigOption.Run(Math.Max(0, record.Current.Pool), 0);
                }

                _forgotten.Remove(rig.Worker);
                order.Add(rig.Worker);
                managed.Add(rig.Worker);
            }

            foreach (var (worker, record) in _rigs)
            {
                if (!managed.Contains(worker))
                {
                    record.Removed = true;
                }
            }

            _models = models;
            _order = order;
            _configured = [.. configured];
            _policy = null;
        }
    }

    /// <summary>The rigs to read this evaluation: the managed ones in configuration order, then those awaiting release.</summary>
    public IReadOnlyList<RigOptions> ToRead()
    {
        lock (_lock)
        {
            return [.. _order.Select(w => _rigs[w].Options), .. _rigs.Values.Where(r => r.Removed).Select(r => r.Options)];
        }
    }

    /// <summary>
    /// Reconciles one rig's memory with what it reported (and what the proxy's share ledger shows). The rig is the
    /// truth: a rig found awake (asleep) that the loop believed asleep (awake) now is, and its dwell clock starts at
    /// the last read that still agreed with memory (the change happened after it). In dry-run the loop follows its
    /// own simulated state and only records the reading. Returns what changed, if anything did; a change is passed to
    /// <paramref name="beforeChange"/> (under the fleet's lock) before the record moves, so its audit line is written
    /// before any reader can see the new state.
    /// </summary>
    public Disagreement? Reconcile(string worker, RigReading? reading, DateTimeOffset? lastShareAt, DateTimeOffset now, bool dryRun, int currentPool, Action<Disagreement>? beforeChange = null)
    {
        reading ??= RigReading.NoApi;
        lock (_lock)
        {
            if (!_rigs.TryGetValue(worker, out var r))
            {
                return null;
            }

            var wasUnreachable = r.LastReading?.Kind == RigReadKind.Unreachable;
            switch (reading.Kind)
            {
                case RigReadKind.NoApi:
                    r.LastReading = reading;
                    r.LastShareAt = lastShareAt;
                    r.Unknown = false;
                    return null;
                case RigReadKind.Unreachable:
                    Disagreement? lost = null;
                    if (!wasUnreachable)
                    {
                        lost = new Disagreement(worker, "unreachable", r.Current, r.Current, reading.Detail);
                        beforeChange?.Invoke(lost);
                        r.Trail = r.Trail with { LastDisagreement = "unreachable", LastDisagreementAt = now };
                    }

                    r.LastReading = reading;
                    r.LastShareAt = lastShareAt;
                    r.Unknown = true;
                    return lost;
            }

            var awake = reading.Awake == true;
            if (dryRun || awake == !r.Current.IsOff)
            {
                r.LastReading = reading;
                r.LastShareAt = lastShareAt;
                r.Unknown = false;
                r.Trail = r.Trail with { LastReadAt = now, LastAgreedAt = now };
                return null;
            }

            var before = r.Current;
            var since = r.Trail.LastAgreedAt is { } agreed && agreed > r.LastPowerChange ? agreed : r.LastPowerChange;
            var after = awake ? RigOption.Run(Math.Max(0, currentPool), ModeOf(r, reading)) : RigOption.Off;
            var reason = awake ? "found_awake" : "found_asleep";
            var late = r.Trail.LastOutcome == "unconfirmed" && r.Trail.LastCommand == (awake ? "wake" : "sleep")
                ? string.Create(CultureInfo.InvariantCulture, $" (the {r.Trail.LastCommand} sent at {r.Trail.LastCommandAt:O} took effect after its read-backs)")
                : "";
            var found = new Disagreement(worker, reason, before, after, reading.Detail + late);
            beforeChange?.Invoke(found);
            r.LastReading = reading;
            r.LastShareAt = lastShareAt;
            r.Unknown = false;
            r.Current = after;
            r.LastPowerChange = since;
            r.Observed = default;
            r.CameUpAt = awake ? now : null;
            r.HashingFrom = null;
            r.Trail = r.Trail with { LastReadAt = now, LastAgreedAt = now, LastDisagreement = reason, LastDisagreementAt = now };
            return found;
        }
    }

    /// <summary>
    /// The managed rigs whose state is known, as the policy takes them (a copy: the policy never sees this class's
    /// records), with their workers in the same order.
    /// </summary>
    public (RigState[] States, RigOptions[] Rigs) PolicyView()
    {
        lock (_lock)
        {
            var known = _order.Select(w => _rigs[w]).Where(r => !r.Unknown).ToList();
            return ([.. known.Select(r => new RigState(r.Model, r.Current, r.LastPowerChange, r.Pin, r.PriorityGroup, r.Observed))], [.. known.Select(r => r.Options)]);
        }
    }

    /// <summary>
    /// The policy for this evaluation. Rigs whose state is unknown are left out of the decision; a power cap is then
    /// lowered by their first mode's power, since such a rig may well be drawing it.
    /// </summary>
    public CurtailmentPolicy? Policy(CurtailmentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        lock (_lock)
        {
            if (_models.Count == 0)
            {
                return null;
            }

            var unknownKw = _order.Select(w => _rigs[w]).Where(r => r.Unknown).Sum(r => _models[r.Model].Modes[0].Power.Watts / 1000);
            if (_policy is null || !ReferenceEquals(settings, _settingsOfPolicy) || unknownKw != _unknownKwOfPolicy)
            {
                var options = settings.ToPolicyOptions();
                if (options.PowerCapKw is { } cap && unknownKw > 0)
                {
                    options = options with { PowerCapKw = Math.Max(1e-6, cap - unknownKw) };
                }

                _policy = new CurtailmentPolicy(options, _models);
                _settingsOfPolicy = settings;
                _unknownKwOfPolicy = unknownKw;
            }

            return _policy;
        }
    }

    /// <summary>A policy model by index.</summary>
    public PolicyModel Model(int index)
    {
        lock (_lock)
        {
            return _models[index];
        }
    }

    /// <summary>The hash rate the proxy measured for a running rig, and what the proxy saw of it.</summary>
    public void Observe(string worker, Hashrate hashrate)
    {
        lock (_lock)
        {
            if (_rigs.TryGetValue(worker, out var r) && !r.Current.IsOff)
            {
                r.Observed = hashrate;
            }
        }
    }

    /// <summary>How long a rig must have hashed since it came up before its measured rate is weighed.</summary>
    public static readonly TimeSpan MinRunningToMeasure = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The hash rate the policy weighs for a running rig: measured over time it was hashing only. A rig that came up
    /// (woken, found awake, or moved to another mode) is weighed at its mode's rated rate (default) until it has
    /// hashed <see cref="MinRunningToMeasure"/> since the first evaluation that saw a share from it after it came up;
    /// then at the rate over that span (its accepted difficulty since); once the span covers the whole 5-minute
    /// window, at the window's rate. A rig running since before the loop saw it come up is weighed at the window's rate.
    /// </summary>
    /// <param name="worker">The rig.</param>
    /// <param name="now">The evaluation's time.</param>
    /// <param name="lastShareAt">Its last accepted share through the proxy, if any.</param>
    /// <param name="acceptedDifficulty">The sum of the difficulty of its accepted shares so far.</param>
    /// <param name="window">Its 5-minute rate.</param>
    public Hashrate WeighedRate(string worker, DateTimeOffset now, DateTimeOffset? lastShareAt, double acceptedDifficulty, Func<Hashrate> window)
    {
        ArgumentNullException.ThrowIfNull(window);
        lock (_lock)
        {
            if (!_rigs.TryGetValue(worker, out var r) || r.Current.IsOff)
            {
                return default;
            }

            if (r.CameUpAt is not { } cameUp)
            {
                return window();
            }

            if (r.HashingFrom is not { } from)
            {
                if (lastShareAt is { } share && share > cameUp)
                {
                    r.HashingFrom = (now, acceptedDifficulty);
                }

                return default;
            }

            var span = now - from.At;
            if (span >= WindowSpan)
            {
                r.CameUpAt = null;
                r.HashingFrom = null;
                return window();
            }

            return span >= MinRunningToMeasure
                ? new Hashrate(Math.Max(0, acceptedDifficulty - from.Difficulty) * Proxy.Components.HashrateMeter.HashesPerDifficulty / span.TotalSeconds)
                : default;
        }
    }

    private static readonly TimeSpan WindowSpan = TimeSpan.FromSeconds(Proxy.Components.HashrateMeter.WindowSeconds(Proxy.Components.HashrateWindow.FiveMinutes));

    /// <summary>
    /// Records a command and its outcome; moves the rig's state when the change took effect (confirmed by read-back,
    /// or simulated in dry-run, or a pool switch that the proxy carries out when it can).
    /// </summary>
    public void Applied(string worker, CurtailmentDecision decision, string kind, ActuationOutcome outcome, bool dryRun, DateTimeOffset evaluatedAt, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        lock (_lock)
        {
            if (!_rigs.TryGetValue(worker, out var r))
            {
                return;
            }

            r.Trail = r.Trail with { LastCommand = kind, LastOutcome = outcome.Status, LastCommandAt = now };
            if (!(dryRun || outcome.Confirmed || (decision.Kind == ChangeKind.PoolSwitch && outcome.Status == "unconfirmed")))
            {
                return;
            }

            if (decision.Chosen.IsOff != decision.Previous.IsOff)
            {
                r.LastPowerChange = evaluatedAt;
            }

            if (decision.Chosen.IsOff || decision.Chosen.Mode != decision.Previous.Mode || decision.Previous.IsOff)
            {
                r.Observed = default;
                r.CameUpAt = decision.Chosen.IsOff ? null : now;
                r.HashingFrom = null;
            }

            r.Current = decision.Chosen;
            if (!dryRun && outcome.Confirmed && decision.Chosen.IsOff != decision.Previous.IsOff)
            {
                // A confirmation is a read-back that shows the new state: memory and rig agree as of now.
                r.Trail = r.Trail with { LastAgreedAt = now, LastReadAt = now };
                r.LastReading = new RigReading(RigReadKind.Known, !decision.Chosen.IsOff, null, null, null, "read back after " + kind + ": " + outcome.Detail);
                r.Unknown = false;
            }

            if (decision.Kind == ChangeKind.Sleep && !dryRun)
            {
                r.SleptAt = now;
            }
        }
    }

    /// <summary>Records the reason of the latest decision; returns the previous one.</summary>
    public string? SetReason(string worker, string reason)
    {
        lock (_lock)
        {
            if (!_rigs.TryGetValue(worker, out var r))
            {
                return null;
            }

            var previous = r.LastReason;
            r.LastReason = reason;
            return previous;
        }
    }

    /// <summary>Sets (or clears) a rig's warning and forgets when it was put to sleep (the check is done).</summary>
    public void SleeperChecked(string worker, string? warning)
    {
        lock (_lock)
        {
            if (_rigs.TryGetValue(worker, out var r))
            {
                r.Warning = warning;
                r.SleptAt = null;
            }
        }
    }

    /// <summary>Forgets a released rig (it is no longer managed; its memory leaves the ledger at the next commit).</summary>
    public void Release(string worker)
    {
        lock (_lock)
        {
            if (_rigs.TryGetValue(worker, out var r) && r.Removed)
            {
                _rigs.Remove(worker);
                _memory.Remove(worker);
                _forgotten.Add(worker);
            }
        }
    }

    /// <summary>A copy of one rig's record (null when the fleet does not hold it).</summary>
    public RigSnapshot? Get(string worker)
    {
        lock (_lock)
        {
            return _rigs.TryGetValue(worker, out var r) ? r.Snapshot() : null;
        }
    }

    /// <summary>Copies of every record: managed rigs in configuration order, then rigs awaiting release.</summary>
    public IReadOnlyList<RigSnapshot> Snapshot()
    {
        lock (_lock)
        {
            return [.. _order.Select(w => _rigs[w]).Concat(_rigs.Values.Where(r => r.Removed)).Select(r => r.Snapshot())];
        }
    }

    /// <summary>What the ledger should remember of every rig, and the rigs it should forget.</summary>
    public (IReadOnlyList<RigMemory> Memory, IReadOnlyList<string> Forget) ToMemory(Func<int, string?> poolName)
    {
        ArgumentNullException.ThrowIfNull(poolName);
        lock (_lock)
        {
            var memory = _rigs.Values.Select(r => new RigMemory(
                r.Options.Worker,
                r.Current.IsOff ? "sleeping" : "running",
                r.Current.IsOff ? null : poolName(r.Current.Pool),
                r.Current.IsOff ? 0 : r.Current.Mode,
                r.LastPowerChange,
                r.Trail)).ToList();
            var forget = _forgotten.ToList();
            _forgotten.Clear();
            return (memory, forget);
        }
    }

    private Rig New(RigOptions rig, int model, PolicyModel policyModel, CurtailmentSettings settings, Func<string?, int> poolIndex, Func<string, int> currentPool, DateTimeOffset now)
    {
        if (_memory.TryGetValue(rig.Worker, out var m))
        {
            var running = m.State != "sleeping";
            var mode = Math.Clamp(m.Mode, 0, policyModel.Modes.Count - 1);
            return new Rig(rig)
            {
                Current = running ? RigOption.Run(Math.Max(0, m.Pool is null ? currentPool(rig.Worker) : poolIndex(m.Pool)), mode) : RigOption.Off,
                LastPowerChange = m.Since,
                Trail = m.Trail,
                Unknown = true,
                Model = model,
            };
        }

        // Nothing remembered: assume running and free of dwell; the first read-back says what it really is.
        var dwell = settings.MinOnDwell > settings.MinOffDwell ? settings.MinOnDwell : settings.MinOffDwell;
        return new Rig(rig)
        {
            Current = RigOption.Run(Math.Max(0, currentPool(rig.Worker)), 0),
            LastPowerChange = now - dwell,
            Unknown = true,
            Model = model,
        };
    }

    private static int ModeOf(Rig r, RigReading reading)
    {
        var modes = r.Options.Modes;
        var watts = reading.PowerLimitW;
        for (var i = 0; watts is not null && i < modes.Count; i++)
        {
            if (modes[i].PowerTargetW == watts)
            {
                return i;
            }
        }

        return 0;
    }

    /// <summary>One rig's mutable record; touched only under the fleet's lock.</summary>
    private sealed class Rig(RigOptions options)
    {
        public RigOptions Options { get; set; } = options;

        public int Model { get; set; }

        public RigPin Pin { get; set; }

        public int PriorityGroup { get; set; }

        public bool Removed { get; set; }

        public RigOption Current { get; set; }

        public DateTimeOffset LastPowerChange { get; set; }

        public Hashrate Observed { get; set; }

        /// <summary>When the loop last saw the rig come up (a wake, a mode change, found awake); null when it has run since before that.</summary>
        public DateTimeOffset? CameUpAt { get; set; }

        /// <summary>The first evaluation after <see cref="CameUpAt"/> that saw a share, and the rig's accepted difficulty then.</summary>
        public (DateTimeOffset At, double Difficulty)? HashingFrom { get; set; }

        /// <summary>True until the first answer after start, and while the rig's API does not answer.</summary>
        public bool Unknown { get; set; }

        public RigReading? LastReading { get; set; }

        public RigTrail Trail { get; set; } = RigTrail.None;

        public DateTimeOffset? LastShareAt { get; set; }

        public string? LastReason { get; set; }

        public string? Warning { get; set; }

        public DateTimeOffset? SleptAt { get; set; }

        public RigSnapshot Snapshot() => new(
            Options.Worker,
            Options,
            Model,
            Removed,
            Current,
            LastPowerChange,
            Observed,
            Unknown ? RigPower.Unknown : Current.IsOff ? RigPower.Sleeping : RigPower.Running,
            LastReading,
            Trail,
            LastShareAt,
            LastReason,
            Warning,
            SleptAt);
    }
}
