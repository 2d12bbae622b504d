using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Rigs;

/// <summary>One operating point of a rig: a maker's power mode or an operator's power target.</summary>
public readonly record struct PowerMode(string Name, Hashrate Hashrate, Power Power)
{
    /// <summary>Joules per terahash: W ÷ TH/s.</summary>
    public double EfficiencyJoulesPerTerahash => Power.Watts / Hashrate.Terahashes;
}

/// <summary>A catalog entry: the maker's published figures and where they came from.</summary>
/// <param name="Name">Model name as sold, e.g. "Antminer S21".</param>
/// <param name="Maker">Bitmain, MicroBT, Canaan, …</param>
/// <param name="Cooling">air, hydro or immersion.</param>
/// <param name="Modes">Operating points; the first is the nominal ("normal") one.</param>
/// <param name="Source">Where the figures come from.</param>
/// <param name="Confidence">high (maker's spec sheet), medium (maker announcement, resellers agree), low.</param>
public sealed record RigModel(string Name, string Maker, string Cooling, IReadOnlyList<PowerMode> Modes, string Source, string Confidence)
{
    public PowerMode Nominal => Modes[0];

    public PowerMode? FindMode(string name)
    {
        foreach (var mode in Modes)
        {
            if (string.Equals(mode.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return mode;
            }
        }

        return null;
    }
}

/// <summary>
/// One physical rig: its model plus what the proxy knows better than the catalog. Observed hash rate comes from
/// the share ledger, measured power from the rig's API; both apply to the mode the rig is running now.
/// </summary>
/// <param name="Id">Rig or worker name.</param>
/// <param name="Model">Catalog model.</param>
/// <param name="CurrentMode">Name of the mode the rig runs now (null = the model's nominal mode).</param>
/// <param name="ObservedHashrate">Hash rate measured from accepted shares.</param>
/// <param name="MeasuredPower">Power reported by the rig.</param>
/// <param name="ModeOverrides">Per-rig operating points that replace the catalog's mode of the same name or add new ones.</param>
public sealed record Rig(
    string Id,
    RigModel Model,
    string? CurrentMode = null,
    Hashrate? ObservedHashrate = null,
    Power? MeasuredPower = null,
    IReadOnlyList<PowerMode>? ModeOverrides = null)
{
    /// <summary>The operating points to evaluate, with overrides and live measurements applied.</summary>
    public PowerMode[] EffectiveModes()
    {
        var modes = new List<PowerMode>(Model.Modes);
        if (ModeOverrides is not null)
        {
            foreach (var o in ModeOverrides)
            {
                var index = modes.FindIndex(m => string.Equals(m.Name, o.Name, StringComparison.OrdinalIgnoreCase));
                if (index >= 0)
                {
                    modes[index] = o;
                }
                else
                {
                    modes.Add(o);
                }
            }
        }

        var current = CurrentMode ?? Model.Nominal.Name;
        var currentIndex = modes.FindIndex(m => string.Equals(m.Name, current, StringComparison.OrdinalIgnoreCase));
        if (currentIndex >= 0)
        {
            var m = modes[currentIndex];
            modes[currentIndex] = m with
            {
                Hashrate = ObservedHashrate ?? m.Hashrate,
                Power = MeasuredPower ?? m.Power,
            };
        }

        return [.. modes];
    }
}
