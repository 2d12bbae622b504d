using StratumProxy.Economics.Rigs;

namespace StratumProxy.Economics.Policy;

/// <summary>
/// How long a rig of a model hashes nothing after a change: waking from sleep (boot, fans, ramp), switching pool
/// inside the proxy (the next job), and changing power mode (re-tune). Power is drawn during all three.
/// </summary>
public readonly record struct RigTransitions(TimeSpan Wake, TimeSpan PoolSwitch, TimeSpan ModeChange)
{
    /// <summary>5 min to wake (a typical ASIC boot and ramp), 2 s to switch pool, 2 min to re-tune.</summary>
    public static readonly RigTransitions Default = new(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(2));
}

/// <summary>
/// A rig model as the policy sees it: its power modes (off is implicit) and its transition times. Many rigs share
/// one model; the farm state refers to it by index.
/// </summary>
public sealed class PolicyModel
{
    public PolicyModel(string name, IReadOnlyList<PowerMode> modes, RigTransitions transitions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(modes);
        if (modes.Count == 0)
        {
            throw new ArgumentException($"model '{name}' needs at least one power mode", nameof(modes));
        }

        if (transitions.Wake < TimeSpan.Zero || transitions.PoolSwitch < TimeSpan.Zero || transitions.ModeChange < TimeSpan.Zero)
        {
            throw new ArgumentException($"model '{name}': transition times cannot be negative", nameof(transitions));
        }

        Name = name;
        var count = modes.Count;
        Modes = [.. modes];
        HashesPerSecond = new double[count];
        Kilowatts = new double[count];
        for (var m = 0; m < count; m++)
        {
            var mode = modes[m];
            if (!(mode.Hashrate.HashesPerSecond > 0) || !(mode.Power.Watts > 0) ||
                !double.IsFinite(mode.Hashrate.HashesPerSecond) || !double.IsFinite(mode.Power.Watts))
            {
                throw new ArgumentException($"model '{name}' mode '{mode.Name}': hash rate and power must be finite and > 0", nameof(modes));
            }

            HashesPerSecond[m] = mode.Hashrate.HashesPerSecond;
            Kilowatts[m] = mode.Power.Kilowatts;
        }

        Transitions = transitions;
    }

    public string Name { get; }

    public IReadOnlyList<PowerMode> Modes { get; }

    public RigTransitions Transitions { get; }

    // Flat copies so the hot loop reads two arrays instead of records.
    internal double[] HashesPerSecond { get; }

    internal double[] Kilowatts { get; }

    /// <summary>A catalog model with the given (or default) transition times.</summary>
    public static PolicyModel FromCatalog(RigModel model, RigTransitions? transitions = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new PolicyModel(model.Name, model.Modes, transitions ?? RigTransitions.Default);
    }
}
