using System.Globalization;
using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Policy;

namespace StratumProxy.Farm;

/// <summary>What the loop shows: the per-rig series, the /api/rigs view and the audit lines.</summary>
public sealed partial class CurtailmentLoop
{
    /// <summary>Sets every rig's state series (all three states, so each exists from the start), read-back and disagreement times.</summary>
    private void PublishRigSeries()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rig in _fleet.Snapshot().Where(r => !r.Removed))
        {
            seen.Add(rig.Worker);
            _series.Add(rig.Worker);
            _state.WithLabels(rig.Worker, "running").Set(rig.Power == RigPower.Running ? 1 : 0);
            _state.WithLabels(rig.Worker, "sleeping").Set(rig.Power == RigPower.Sleeping ? 1 : 0);
            _state.WithLabels(rig.Worker, "unknown").Set(rig.Power == RigPower.Unknown ? 1 : 0);
            _readBack.WithLabels(rig.Worker).Set(rig.Trail.LastReadAt?.ToUnixTimeMilliseconds() / 1000.0 ?? 0);
            _lastDisagreement.WithLabels(rig.Worker).Set(rig.Trail.LastDisagreementAt?.ToUnixTimeMilliseconds() / 1000.0 ?? 0);
            foreach (var reason in (ReadOnlySpan<string>)["found_awake", "found_asleep", "unreachable"])
            {
                _disagreements.WithLabels(rig.Worker, reason);
            }
        }

        foreach (var gone in _series.Where(w => !seen.Contains(w)).ToList())
        {
            foreach (var state in (ReadOnlySpan<string>)["running", "sleeping", "unknown"])
            {
                _state.RemoveLabelled(gone, state);
            }

            _readBack.RemoveLabelled(gone);
            _lastDisagreement.RemoveLabelled(gone);
            _series.Remove(gone);
        }
    }

    private RigView View(RigSnapshot r) => new(
        r.Worker,
        _fleet.Model(r.Model).Name,
        r.Power switch
        {
            RigPower.Running => "running",
            RigPower.Sleeping => "sleeping",
            _ => "unknown",
        },
        r.Current.IsOff || r.Power == RigPower.Unknown ? null : _actuation.PoolName(r.Current.Pool),
        r.Options.Pin,
        r.LastPowerChange,
        r.Observed.Terahashes,
        r.LastReason ?? (r.Removed ? "removed_from_config" : "not evaluated yet"),
        r.Warning)
    {
        Managed = !r.Removed,
        RigReports = r.LastReading?.Label,
        RigDetail = r.LastReading?.Detail,
        LastReadBack = r.Trail.LastReadAt,
        LastDisagreement = r.Trail.LastDisagreement,
        LastDisagreementAt = r.Trail.LastDisagreementAt,
        LastCommand = r.Trail.LastCommand,
        LastOutcome = r.Trail.LastOutcome,
        LastCommandAt = r.Trail.LastCommandAt,
        LastShareAt = r.LastShareAt,
    };

    private CurtailmentEntry Entry(int i, RigOptions rig, int model, CurtailmentDecision d, DateTimeOffset now, Economics.Market.MarketSnapshot market, EnergyPrice energy, bool dryRun, ActuationOutcome? outcome)
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
            _fleet.Model(model).Name,
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

    /// <summary>An audit line that is not a policy decision: a reconciliation, a release, a shutdown wake.</summary>
    private CurtailmentEntry Note(RigSnapshot rig, string kind, string reason, RigOption from, RigOption to, DateTimeOffset now, string description, ActuationOutcome? outcome) =>
        Note(rig.Worker, rig.Model, kind, reason, from, to, now, description, outcome);

    private CurtailmentEntry Note(string worker, int model, string kind, string reason, RigOption from, RigOption to, DateTimeOffset now, string description, ActuationOutcome? outcome)
    {
        var market = _farm.Market(now, out _, out _);
        return new CurtailmentEntry(
            now,
            worker,
            _fleet.Model(model).Name,
            kind,
            Describe(from),
            Describe(to),
            reason,
            description,
            0,
            0,
            0,
            [],
            market.Price.UsdPerCoin,
            market.Difficulty.Value,
            _farm.Energy.PriceAt(now).Energy.Value,
            market.PriceIsStale ? "stale" : "fresh",
            _settings.DryRun,
            outcome?.Status ?? "observed",
            outcome?.Detail);
    }

    private void Count(string kind, string reason, bool dryRun, string outcome) =>
        _decisions.WithLabels(kind, reason, dryRun ? "dry_run" : "live", outcome).Inc();

    private string Describe(RigOption option) => option.IsOff
        ? "off"
        : string.Create(CultureInfo.InvariantCulture, $"{_actuation.PoolName(option.Pool) ?? "pool" + option.Pool.ToString(CultureInfo.InvariantCulture)}/{(option.Mode < 0 ? "?" : option.Mode.ToString(CultureInfo.InvariantCulture))}");

    private static string KindLabel(ChangeKind kind) => kind switch
    {
        ChangeKind.Sleep => "sleep",
        ChangeKind.Wake => "wake",
        ChangeKind.PoolSwitch => "pool_switch",
        ChangeKind.ModeChange => "mode_change",
        _ => "none",
    };
}
