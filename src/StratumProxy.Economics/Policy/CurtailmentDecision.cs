namespace StratumProxy.Economics.Policy;

/// <summary>One rig's decision. Profits are USD per day at the evaluation's inputs (NaN when market data was not usable).</summary>
/// <param name="Chosen">What the rig should run.</param>
/// <param name="Previous">What it ran (the input state).</param>
/// <param name="Reason">Why.</param>
/// <param name="ChosenProfitPerDay">Profit of <paramref name="Chosen"/> (0 when off).</param>
/// <param name="CurrentProfitPerDay">Profit of <paramref name="Previous"/> (0 when off).</param>
/// <param name="Alternative">The option the policy wanted but did not take (dwell, cap, hysteresis), or the best running option when off; else <paramref name="Chosen"/>.</param>
/// <param name="GainPerDay">Gain of <paramref name="Alternative"/> over <paramref name="Previous"/> after change costs, USD/day.</param>
public readonly record struct CurtailmentDecision(
    RigOption Chosen,
    RigOption Previous,
    CurtailmentReason Reason,
    double ChosenProfitPerDay,
    double CurrentProfitPerDay,
    RigOption Alternative,
    double GainPerDay)
{
    public bool IsChange => Chosen != Previous;

    public ChangeKind Kind => ClassifyChange(Previous, Chosen);

    public static ChangeKind ClassifyChange(RigOption from, RigOption to)
    {
        if (from == to)
        {
            return ChangeKind.None;
        }

        if (from.IsOff)
        {
            return ChangeKind.Wake;
        }

        if (to.IsOff)
        {
            return ChangeKind.Sleep;
        }

        return from.Mode == to.Mode ? ChangeKind.PoolSwitch : ChangeKind.ModeChange;
    }
}
