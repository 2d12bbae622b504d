using System.Collections.Concurrent;
using System.Globalization;
using StratumProxy.Economics.Policy;
using StratumProxy.Proxy.Control;

namespace StratumProxy.Farm;

/// <summary>
/// Carries the loop's decisions out and reads the rigs back: status reads of every rig concurrently (at most
/// <see cref="CurtailmentSettings.MaxConcurrentReads"/> at once, each bounded by
/// <see cref="CurtailmentSettings.ReadTimeout"/>), sleep, wake and power modes through the rigs' own APIs, and pool
/// switches inside the proxy. It holds no state of its own: what came of a command goes back to the fleet.
/// </summary>
public sealed class RigActuation(IRigActuator actuator, IProxyControl proxy, TimeProvider time)
{
    /// <summary>Reads every rig; a rig that does not answer within the timeout reads as unreachable.</summary>
    public async Task<IReadOnlyDictionary<string, RigReading>> ReadAllAsync(IReadOnlyList<RigOptions> rigs, CurtailmentSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rigs);
        ArgumentNullException.ThrowIfNull(settings);
        var readings = new ConcurrentDictionary<string, RigReading>(StringComparer.Ordinal);
        var timeout = settings.ReadTimeout > TimeSpan.Zero ? settings.ReadTimeout : TimeSpan.FromSeconds(10);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, settings.MaxConcurrentReads), CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(rigs, parallel, async (rig, token) =>
        {
            using var deadline = new CancellationTokenSource(timeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, deadline.Token);
            RigReading? reading;
            try
            {
                reading = await actuator.ReadAsync(rig, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !token.IsCancellationRequested)
            {
                reading = RigReading.Unreachable(string.Create(CultureInfo.InvariantCulture, $"no answer within {timeout.TotalSeconds:0.#} s"));
            }

            readings[rig.Worker] = reading ?? RigReading.NoApi;
        }).ConfigureAwait(false);

        // Stopping is not a rig failing to answer: the evaluation ends here, nothing of it is recorded.
        cancellationToken.ThrowIfCancellationRequested();
        return readings;
    }

    /// <summary>Carries one change out (or not, in dry-run); the fleet moves the rig's state from the outcome.</summary>
    public async Task<ActuationOutcome> ActAsync(RigOptions rig, CurtailmentDecision decision, bool dryRun, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rig);
        if (dryRun)
        {
            return new ActuationOutcome("dry_run", "dry-run: nothing was commanded");
        }

        switch (decision.Kind)
        {
            case ChangeKind.Sleep:
                return rig.Api is null ? ActuationOutcome.NoApi : await actuator.SleepAsync(rig, cancellationToken).ConfigureAwait(false);
            case ChangeKind.Wake:
                var outcome = rig.Api is null ? ActuationOutcome.NoApi : await actuator.WakeAsync(rig, cancellationToken).ConfigureAwait(false);
                if (outcome.Confirmed)
                {
                    SwitchPool(rig, decision.Chosen.Pool);
                    if (decision.Chosen.Mode > 0 && decision.Chosen.Mode < rig.Modes.Count)
                    {
                        // Woken in its first mode; the chosen one follows (its own outcome is in the detail).
                        var mode = await actuator.SetModeAsync(rig, rig.Modes[decision.Chosen.Mode], cancellationToken).ConfigureAwait(false);
                        outcome = outcome with { Detail = $"{outcome.Detail}; mode {rig.Modes[decision.Chosen.Mode].Name}: {mode.Status} ({mode.Detail})" };
                    }
                }

                return outcome;
            case ChangeKind.PoolSwitch:
                return SwitchPool(rig, decision.Chosen.Pool)
                    ? new ActuationOutcome("confirmed", $"moved to {PoolName(decision.Chosen.Pool)} inside the proxy")
                    : new ActuationOutcome("unconfirmed", $"{PoolName(decision.Chosen.Pool)} is not ready or the rig is not connected; pinned, it moves when it can");
            case ChangeKind.ModeChange when decision.Chosen.Mode >= 0 && decision.Chosen.Mode < rig.Modes.Count:
                var changed = rig.Api is null ? ActuationOutcome.NoApi : await actuator.SetModeAsync(rig, rig.Modes[decision.Chosen.Mode], cancellationToken).ConfigureAwait(false);
                if (changed.Confirmed && decision.Chosen.Pool != decision.Previous.Pool)
                {
                    SwitchPool(rig, decision.Chosen.Pool);
                }

                return changed;
            default:
                return new ActuationOutcome("unsupported", "this rig has no configured power modes to move between (Economics:Rigs[].Modes)");
        }
    }

    /// <summary>Wakes a rig outside a policy decision (released from management, or at shutdown).</summary>
    public Task<ActuationOutcome> WakeAsync(RigOptions rig, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rig);
        return rig.Api is null ? Task.FromResult(ActuationOutcome.NoApi) : actuator.WakeAsync(rig, cancellationToken);
    }

    /// <summary>Moves a rig's sessions to a pool inside the proxy (pinned): true when it is there.</summary>
    public bool SwitchPool(RigOptions rig, int pool)
    {
        ArgumentNullException.ThrowIfNull(rig);
        var name = PoolName(pool);
        if (name is null)
        {
            return false;
        }

        try
        {
            return proxy.Switch(name, [rig.Worker], pin: true) > 0
                || proxy.Snapshot(new HashSet<string>([rig.Worker], StringComparer.Ordinal)).Sessions.Any(s => s.Worker == rig.Worker && s.Pool == name);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The pool a rig's session is on now (index; 0 when it is not connected).</summary>
    public int CurrentPool(string worker) => CurrentPool(proxy.Snapshot(new HashSet<string>([worker], StringComparer.Ordinal)), worker);

    /// <summary>The pool a rig's session is on in <paramref name="fleet"/> (index; 0 when it is not connected).</summary>
    public int CurrentPool(FleetSnapshot fleet, string worker)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        return Math.Max(0, PoolIndex(fleet.PoolOf(worker)));
    }

    /// <summary>A pool's index by name (-1 when not configured).</summary>
    public int PoolIndex(string? name) => name is null ? -1 : proxy.Options.Pools.ToList().FindIndex(p => p.Name == name);

    /// <summary>A pool's name by index (null when out of range).</summary>
    public string? PoolName(int pool) => proxy.Options.Pools is var pools && pool >= 0 && pool < pools.Count ? pools[pool].Name : null;
}
