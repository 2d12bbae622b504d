using System.Globalization;
using Microsoft.Extensions.Logging;
using Prometheus;
using StratumProxy.Curtailment;
using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Policy;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Units;
using StratumProxy.Proxy.Components;
using StratumProxy.Proxy.Routing;

namespace StratumProxy.Farm;

/// <summary>
/// Closes the loop: every evaluation runs the curtailment policy over the configured rigs, acts on its changes
/// (pool switches inside the proxy; sleep and wake through the rigs' own APIs) unless in dry-run, records every
/// change in the audit log, counts it in metrics, and books energy and money per rig-hour in the ledger.
/// A rig's state only moves when a command is confirmed (in dry-run, the simulated state moves so the log shows the
/// trajectory the policy would follow).
/// </summary>
public sealed partial class CurtailmentLoop : IDisposable
{
    private readonly FarmEconomics _farm;
    private readonly ProxyEngine _engine;
    private readonly TimeProvider _time;
    private readonly IRigActuator _actuator;
    private readonly ILogger _logger;
    private readonly AuditLog _audit;
    private readonly EnergyLedger _ledger;
    private readonly Counter _decisions;
    private readonly Gauge _state;
    private readonly Gauge _plannedPower;
    private readonly Counter _warnings;
    private readonly PolicyResult _result = new();
    private readonly SemaphoreSlim _evaluating = new(1, 1);
    private readonly Dictionary<string, string> _lastReason = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _warningsByRig = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private CurtailmentPolicy? _policy;
    private List<RigOptions> _rigs = [];
    private RigState[] _states = [];
    private List<PolicyModel> _models = [];
    private DateTimeOffset? _lastEvaluation;

    /// <summary>Creates the loop's state; nothing runs until <see cref="EvaluateAsync"/>.</summary>
    public CurtailmentLoop(CurtailmentSettings settings, FarmEconomics farm, ProxyEngine engine, TimeProvider time, IRigActuator actuator, IMetricFactory metrics, ILogger logger, string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(metrics);
        Settings = settings;
        _farm = farm;
        _engine = engine;
        _time = time;
        _actuator = actuator;
        _logger = logger;
        _audit = new AuditLog(Path.GetFullPath(settings.AuditLog, workingDirectory));
        _ledger = new EnergyLedger(Path.GetFullPath(settings.Ledger, workingDirectory));
        _decisions = metrics.CreateCounter("stratumproxy_decisions_total", "Curtailment decisions that changed a rig, by kind, reason, mode (live, dry_run) and outcome.", ["kind", "reason", "mode", "outcome"]);
        _state = metrics.CreateGauge("stratumproxy_rig_state", "1 for the state each configured rig is in (running, sleeping).", ["worker", "state"]);
        _plannedPower = metrics.CreateGauge("stratumproxy_curtailment_planned_power_watts", "Power the farm's configured rigs draw under the policy's last plan.");
        _warnings = metrics.CreateCounter("stratumproxy_curtailment_warnings_total", "Rigs that did not do what they were told (e.g. still hashing after sleep), by kind.", ["kind"]);
    }

    /// <summary>The settings in force.</summary>
    public CurtailmentSettings Settings { get; private set; }

    /// <summary>The audit log.</summary>
    public AuditLog Audit => _audit;

    /// <summary>The energy ledger.</summary>
    public EnergyLedger Ledger => _ledger;

    /// <summary>Applies new settings (a reload); the rig list is rebuilt at the next evaluation.</summary>
    public void Apply(CurtailmentSettings settings)
    {
        lock (_lock)
        {
            Settings = settings;
            _rigs = [];
        }
    }

    /// <summary>The rigs as the policy sees them.</summary>
    public IReadOnlyList<RigView> Rigs()
    {
        lock (_lock)
        {
            var views = new List<RigView>(_rigs.Count);
            for (var i = 0; i < _rigs.Count; i++)
            {
                var s = _states[i];
                views.Add(new RigView(
                    _rigs[i].Worker,
                    _models[s.Model].Name,
                    s.Current.IsOff ? "sleeping" : "running",
                    s.Current.IsOff ? null : PoolName(s.Current.Pool),
                    _rigs[i].Pin,
                    s.LastPowerChange,
                    s.ObservedHashrate.Terahashes,
                    _lastReason.GetValueOrDefault(_rigs[i].Worker, "not evaluated yet"),
                    _warningsByRig.GetValueOrDefault(_rigs[i].Worker)));
            }

            return views;
        }
    }

    /// <summary>One evaluation: decide, act, log, book. Evaluations never overlap.</summary>
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

    private async Task EvaluateCoreAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var settings = Settings;
        Prepare(now);
        if (_rigs.Count == 0 || _policy is not { } policy)
        {
            return;
        }

        var market = _farm.Market(now, out _, out _);
        var pools = _engine.Options.Pools.Select(p => _farm.Terms(p.Name)).ToList();
        var inputs = PolicyInputs.At(now, market, pools, _farm.Energy) with
        {
            Strike = _result.Count > 0 ? _result.Strike : default,
            Outlook = _farm.Outlook.Current,
            NearTermFeesPerBlock = _farm.Estimator.Current?.LatestFees,
            PoolMarkets = [.. _engine.Options.Pools.Select(p => _farm.CoinOfPool(p.Name) == "BTC" ? null : _farm.MarketFor(p.Name, now))],
        };
        var timestamp = _time.GetTimestamp();
        for (var i = 0; i < _rigs.Count; i++)
        {
            if (!_states[i].Current.IsOff && _engine.Ledger.TryGetWorker(_rigs[i].Worker, out var stats))
            {
                _states[i].ObservedHashrate = new Hashrate(stats.Hashrate(HashrateWindow.FiveMinutes, timestamp).HashesPerSecond);
            }

            if (!_states[i].Current.IsOff)
            {
                // What the rig earns while it runs, and so what a sleep forgoes: kept, since a sleep resets the measure.
                _runningBasis[_rigs[i].Worker] = (_states[i].ObservedHashrate, _states[i].Current.Pool);
            }
        }

        policy.Evaluate(_states, inputs, _result);
        _plannedPower.Set(_result.PlannedPower.Watts);
        var energyPrice = inputs.Energy;
        var entries = new List<CurtailmentEntry>();
        var rows = new List<RigHour>();
        var elapsed = _lastEvaluation is { } last ? Math.Clamp((now - last).TotalHours, 0, 1) : 0;
        _lastEvaluation = now;
        for (var i = 0; i < _rigs.Count; i++)
        {
            var rig = _rigs[i];
            var decision = _result.Decisions[i];
            var reason = decision.Reason.Code();
            if (_rates.TryGetValue(rig.Worker, out var rate))
            {
                rate.Book(rig.Worker, now, elapsed, rows);
            }

            var outcome = decision.IsChange
                ? await ActAsync(i, rig, decision, settings.DryRun, cancellationToken).ConfigureAwait(false)
                : null;
            if (decision.IsChange || _lastReason.GetValueOrDefault(rig.Worker) != reason)
            {
                entries.Add(Entry(i, rig, decision, now, market, energyPrice, settings.DryRun, outcome));
            }

            lock (_lock)
            {
                _lastReason[rig.Worker] = reason;
            }

            // The interval up to the next evaluation is booked in the state this one leaves the rig in, at this
            // evaluation's market, pool and energy price: the inputs its decision was made on.
            _rates[rig.Worker] = Rate(i, rig, market, pools, energyPrice);
            var running = _states[i].Current.IsOff ? 0 : 1;
            _state.WithLabels(rig.Worker, "running").Set(running);
            _state.WithLabels(rig.Worker, "sleeping").Set(1 - running);
        }

        if (entries.Count > 0)
        {
            _audit.AppendBatch(entries, CurtailmentJsonContext.Default.CurtailmentEntry);
        }

        if (elapsed > 0)
        {
            _ledger.Add(rows);
        }

        await CheckSleepersAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Carries one change out (or not, in dry-run) and moves the rig's state when it is confirmed.</summary>
    private async Task<ActuationOutcome> ActAsync(int i, RigOptions rig, CurtailmentDecision decision, bool dryRun, CancellationToken cancellationToken)
    {
        var kind = decision.Kind;
        ActuationOutcome outcome;
        if (dryRun)
        {
            outcome = new ActuationOutcome("dry_run", "dry-run: nothing was commanded");
        }
        else
        {
            switch (kind)
            {
                case ChangeKind.Sleep:
                    outcome = rig.Api is null ? ActuationOutcome.NoApi : await _actuator.SleepAsync(rig, cancellationToken).ConfigureAwait(false);
                    break;
                case ChangeKind.Wake:
                    outcome = rig.Api is null ? ActuationOutcome.NoApi : await _actuator.WakeAsync(rig, cancellationToken).ConfigureAwait(false);
                    if (outcome.Confirmed)
                    {
                        SwitchPool(rig, decision.Chosen.Pool);
                        if (decision.Chosen.Mode > 0 && decision.Chosen.Mode < rig.Modes.Count)
                        {
                            // Woken in its first mode; the chosen one follows (its own outcome is in the detail).
                            var mode = await _actuator.SetModeAsync(rig, rig.Modes[decision.Chosen.Mode], cancellationToken).ConfigureAwait(false);
                            outcome = outcome with { Detail = $"{outcome.Detail}; mode {rig.Modes[decision.Chosen.Mode].Name}: {mode.Status} ({mode.Detail})" };
                        }
                    }

                    break;
                case ChangeKind.PoolSwitch:
                    outcome = SwitchPool(rig, decision.Chosen.Pool)
                        ? new ActuationOutcome("confirmed", $"moved to {PoolName(decision.Chosen.Pool)} inside the proxy")
                        : new ActuationOutcome("unconfirmed", $"{PoolName(decision.Chosen.Pool)} is not ready or the rig is not connected; pinned, it moves when it can");
                    break;
                case ChangeKind.ModeChange when decision.Chosen.Mode >= 0 && decision.Chosen.Mode < rig.Modes.Count:
                    outcome = rig.Api is null ? ActuationOutcome.NoApi : await _actuator.SetModeAsync(rig, rig.Modes[decision.Chosen.Mode], cancellationToken).ConfigureAwait(false);
                    if (outcome.Confirmed && decision.Chosen.Pool != decision.Previous.Pool)
                    {
                        SwitchPool(rig, decision.Chosen.Pool);
                    }

                    break;
                default:
                    outcome = new ActuationOutcome("unsupported", "this rig has no configured power modes to move between (Economics:Rigs[].Modes)");
                    break;
            }
        }

        if (dryRun || outcome.Confirmed || (kind == ChangeKind.PoolSwitch && outcome.Status == "unconfirmed"))
        {
            ref var state = ref _states[i];
            if (decision.Chosen.IsOff != decision.Previous.IsOff)
            {
                state.LastPowerChange = _result.EvaluatedAt;
            }

            if (decision.Chosen.IsOff || decision.Chosen.Mode != decision.Previous.Mode)
            {
                state.ObservedHashrate = default;
            }

            state.Current = decision.Chosen;
            if (kind == ChangeKind.Sleep && !dryRun)
            {
                lock (_lock)
                {
                    _sleptAt[rig.Worker] = _time.GetUtcNow();
                }
            }
        }

        _decisions.WithLabels(KindLabel(kind), decision.Reason.Code(), dryRun ? "dry_run" : "live", outcome.Status).Inc();
        LogDecision(_logger, rig.Worker, KindLabel(kind), decision.Reason.Code(), outcome.Status, outcome.Detail);
        return outcome;
    }

    private readonly Dictionary<string, DateTimeOffset> _sleptAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BookingRate> _rates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (Hashrate Hashrate, int Pool)> _runningBasis = new(StringComparer.Ordinal);

    /// <summary>
    /// A rig told to sleep must stop hashing: shares through the proxy after the sleep, or a hashrate on its own API,
    /// mean it did not (or failed over to its own backup pool and still burns power). Reported, counted, never looped.
    /// </summary>
    private async Task CheckSleepersAsync(CancellationToken cancellationToken)
    {
        List<(string Worker, DateTimeOffset At)> sleepers;
        lock (_lock)
        {
            sleepers = [.. _sleptAt.Select(kv => (kv.Key, kv.Value))];
        }

        foreach (var (worker, at) in sleepers)
        {
            var index = _rigs.FindIndex(r => r.Worker == worker);
            if (index < 0 || !_states[index].Current.IsOff)
            {
                lock (_lock)
                {
                    _sleptAt.Remove(worker);
                    _warningsByRig.Remove(worker);
                }

                continue;
            }

            if (_time.GetUtcNow() - at < TimeSpan.FromMinutes(2))
            {
                continue;
            }

            string? warning = null;
            if (_engine.Ledger.TryGetWorker(worker, out var stats) && stats.LastShareUnixMs > at.AddSeconds(30).ToUnixTimeMilliseconds())
            {
                warning = "still submitting shares through the proxy after it was put to sleep";
                _warnings.WithLabels("still_hashing").Inc();
            }
            else if (await _actuator.ReadHashrateAsync(_rigs[index], cancellationToken).ConfigureAwait(false) is > 0.001 and var reported)
            {
                warning = $"reports {reported:0.##} TH/s on its own API after sleep: it may have failed over to its own backup pool and still burns power";
                _warnings.WithLabels("hashing_elsewhere").Inc();
            }

            lock (_lock)
            {
                if (warning is null)
                {
                    _warningsByRig.Remove(worker);
                }
                else
                {
                    _warningsByRig[worker] = warning;
                    LogSleeperWarning(_logger, worker, warning);
                }

                _sleptAt.Remove(worker);
            }
        }
    }

    private bool SwitchPool(RigOptions rig, int pool)
    {
        var name = PoolName(pool);
        if (name is null)
        {
            return false;
        }

        try
        {
            return _engine.Switch(name, s => s.Worker == rig.Worker, pin: true) > 0
                || _engine.MinerSessions.Any(s => s.Worker == rig.Worker && s.PoolName == name);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private BookingRate Rate(int i, RigOptions rig, Economics.Market.MarketSnapshot market, List<PoolTerms> pools, EnergyPrice energy)
    {
        var state = _states[i];
        // The policy model already carries the rig's own modes or its measured power.
        var modes = _models[state.Model].Modes;
        var nominal = modes[state.Current.IsOff ? 0 : Math.Clamp(state.Current.Mode, 0, modes.Count - 1)];
        var power = nominal.Power;
        var basis = _runningBasis.TryGetValue(rig.Worker, out var kept) ? kept : (Hashrate: default(Hashrate), Pool: 0);
        var hashrate = basis.Hashrate.HashesPerSecond > 0 ? basis.Hashrate : nominal.Hashrate;
        var pool = Math.Clamp(state.Current.IsOff ? basis.Pool : state.Current.Pool, 0, Math.Max(0, pools.Count - 1));
        var economics = MiningCalculator.Evaluate(hashrate, power, market, pools.Count > 0 ? pools[pool] : PoolTerms.NoFee, energy);
        return new BookingRate(state.Current.IsOff, power.Watts / 1000, economics.RevenuePerDay.Amount, economics.PowerCostPerDay.Amount, economics.ProfitPerDay.Amount);
    }

    /// <summary>A rig's energy and money per day in the state an evaluation left it in.</summary>
    private readonly record struct BookingRate(bool Off, double Kilowatts, double RevenuePerDay, double CostPerDay, double ProfitPerDay)
    {
        /// <summary>Books the <paramref name="hours"/> before <paramref name="now"/>, split at hour boundaries.</summary>
        public void Book(string worker, DateTimeOffset now, double hours, List<RigHour> rows)
        {
            var end = now;
            var start = now - TimeSpan.FromHours(hours);
            while (end > start)
            {
                var hourStart = new DateTimeOffset(end.UtcDateTime.Year, end.UtcDateTime.Month, end.UtcDateTime.Day, end.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);
                if (hourStart == end)
                {
                    hourStart = hourStart.AddHours(-1);
                }

                var sliceStart = hourStart > start ? hourStart : start;
                var slice = (end - sliceStart).TotalHours;
                var at = sliceStart;
                rows.Add(Off
                    ? new RigHour(worker, at, 0, Kilowatts * slice, 0, 0, -ProfitPerDay * slice / 24)
                    : new RigHour(worker, at, Kilowatts * slice, 0, RevenuePerDay * slice / 24, CostPerDay * slice / 24, 0));
                end = sliceStart;
            }
        }
    }

    private CurtailmentEntry Entry(int i, RigOptions rig, CurtailmentDecision d, DateTimeOffset now, Economics.Market.MarketSnapshot market, EnergyPrice energy, bool dryRun, ActuationOutcome? outcome)
    {
        var profits = _result.OptionProfits(i);
        var options = new List<OptionProfit>(profits.Length);
        for (var slot = 0; slot < profits.Length; slot++)
        {
            if (double.IsFinite(profits[slot]) || slot == 0)
            {
                options.Add(new OptionProfit(Describe(_result.OptionAt(slot)), profits[slot]));
            }
        }

        return new CurtailmentEntry(
            now,
            rig.Worker,
            _models[_states[i].Model].Name,
            KindLabel(d.Kind),
            Describe(d.Previous),
            Describe(d.Chosen),
            d.Reason.Code(),
            _result.Describe(i),
            d.ChosenProfitPerDay,
            d.CurrentProfitPerDay,
            d.GainPerDay,
            options,
            market.Price.UsdPerCoin,
            market.Difficulty.Value,
            energy.Energy.Value,
            _result.Market.ToString().ToLowerInvariant(),
            dryRun,
            outcome?.Status ?? "no_change",
            outcome?.Detail);
    }

    /// <summary>(Re)builds the rig list and state from the configuration: only rigs of a known model take part.</summary>
    private void Prepare(DateTimeOffset now)
    {
        lock (_lock)
        {
            var configured = _farm.Options.Rigs.Where(r => !string.IsNullOrWhiteSpace(r.Worker)).ToList();
            if (_rigs.Count == configured.Count && _rigs.Zip(configured).All(p => ReferenceEquals(p.First, p.Second)))
            {
                return;
            }

            var models = new List<PolicyModel>();
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            var rigs = new List<RigOptions>();
            var states = new List<RigState>();
            foreach (var rig in configured)
            {
                if (_farm.Describe(rig.Worker) is not { } described)
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

                var previous = _rigs.FindIndex(r => r.Worker == rig.Worker);
                var current = previous >= 0 ? _states[previous].Current : RigOption.Run(CurrentPool(rig.Worker), 0);
                var since = previous >= 0 ? _states[previous].LastPowerChange : now - Settings.MinOnDwell;
                var pin = rig.Pin?.ToLowerInvariant() switch
                {
                    "on" => RigPin.AlwaysOn,
                    "off" => RigPin.AlwaysOff,
                    _ => RigPin.None,
                };
                rigs.Add(rig);
                states.Add(new RigState(modelIndex, current, since, pin, rig.PriorityGroup));
            }

            _policy = models.Count == 0 ? null : new CurtailmentPolicy(Settings.ToPolicyOptions(), models);
            _models = models;
            _rigs = rigs;
            _states = [.. states];
        }
    }

    private int CurrentPool(string worker)
    {
        var name = _engine.MinerSessions.FirstOrDefault(s => s.Worker == worker)?.PoolName;
        var index = name is null ? 0 : _engine.Options.Pools.FindIndex(p => p.Name == name);
        return Math.Max(0, index);
    }

    private string? PoolName(int pool) => pool >= 0 && pool < _engine.Options.Pools.Count ? _engine.Options.Pools[pool].Name : null;

    private string Describe(RigOption option) => option.IsOff
        ? "off"
        : string.Create(CultureInfo.InvariantCulture, $"{PoolName(option.Pool) ?? "pool" + option.Pool.ToString(CultureInfo.InvariantCulture)}/{(option.Mode < 0 ? "?" : option.Mode.ToString(CultureInfo.InvariantCulture))}");

    private static string KindLabel(ChangeKind kind) => kind switch
    {
        ChangeKind.Sleep => "sleep",
        ChangeKind.Wake => "wake",
        ChangeKind.PoolSwitch => "pool_switch",
        ChangeKind.ModeChange => "mode_change",
        _ => "none",
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        _evaluating.Dispose();
        _audit.Dispose();
        _ledger.Dispose();
    }

    [LoggerMessage(EventId = 960, Level = LogLevel.Information, Message = "Curtailment: {Worker} {Kind} ({Reason}) → {Outcome}: {Detail}")]
    private static partial void LogDecision(ILogger logger, string worker, string kind, string reason, string outcome, string detail);

    [LoggerMessage(EventId = 961, Level = LogLevel.Warning, Message = "Curtailment: {Worker} {Warning}")]
    private static partial void LogSleeperWarning(ILogger logger, string worker, string warning);
}
