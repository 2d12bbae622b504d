using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Policy;

/// <summary>
/// One rig in the farm state. A mutable struct on purpose: the caller keeps one array for the whole farm and
/// updates it in place once a decision has been carried out (<see cref="PolicyResult.ApplyTo"/>).
/// </summary>
/// <param name="Model">Index into the policy's models.</param>
/// <param name="Current">What it runs now (pool × mode, or off).</param>
/// <param name="LastPowerChange">When it last went from off to running or back (pool and mode changes do not count): the dwell clock.</param>
/// <param name="Pin">Operator override.</param>
/// <param name="PriorityGroup">Lower is more important: sleeps last, wakes first. Within a group, J/TH decides.</param>
/// <param name="ObservedHashrate">Hash rate measured from the share ledger in the current mode; default = unknown.</param>
/// <param name="PoolMask">Bit p set = the rig may use pool p; 0 = every pool.</param>
public record struct RigState(
    int Model,
    RigOption Current,
    DateTimeOffset LastPowerChange,
    RigPin Pin = RigPin.None,
    int PriorityGroup = 0,
    Hashrate ObservedHashrate = default,
    ulong PoolMask = 0)
{
    public readonly bool MayUse(int pool) => PoolMask == 0 || (PoolMask & (1UL << pool)) != 0;
}
